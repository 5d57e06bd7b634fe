/// One option a verb (or the global level) accepts. The first long name is the canonical key.
struct OptionSpec {
    let names: [String]        // without dashes: ["b", "bundle"]
    let takesValue: Bool
    let help: String
    var key: String { names.first(where: { $0.count > 1 }) ?? names[0] }

    init(_ names: [String], value: Bool = false, _ help: String) {
        self.names = names
        self.takesValue = value
        self.help = help
    }
}

/// Options and positionals of one command line, after parsing.
struct ParsedOptions {
    /// Key, value, key, value, ... in command-line order: a plain [String], not a [String: [String]], whose
    /// generic metadata and conformances every command would look up at run time before doing anything else.
    private var pairs: [String] = []
    var positional: [String] = []

    mutating func add(_ key: String, _ value: String) { pairs.append(key); pairs.append(value) }

    func string(_ key: String) -> String? {
        var i = pairs.count - 2
        while i >= 0 { if pairs[i] == key { return pairs[i + 1] }; i -= 2 }
        return nil
    }
    func strings(_ key: String) -> [String] {
        var out: [String] = []
        var i = 0
        while i < pairs.count { if pairs[i] == key { out.append(pairs[i + 1]) }; i += 2 }
        return out
    }
    func has(_ key: String) -> Bool { string(key) != nil }

    /// Boolean flags: present without value, or `--flag=true|false` (Go's flag package rules).
    func bool(_ key: String) -> Bool {
        guard let v = string(key) else { return false }
        return v != "false" && v != "0"
    }

    func int(_ key: String, default def: Int) throws(RuntimeError) -> Int {
        guard let s = string(key) else { return def }
        guard let v = Int(s) else { throw RuntimeError(.usage, "invalid value \"\(s)\" for flag -\(key): parse error") }
        return v
    }
}

/// Parses urfave/cli-style arguments: `--name=value`, `--name value`, `-name value`, `-n value`; boolean flags
/// take no separate value. `--` ends the options. With `stopAtPositional` the first positional ends the options
/// (so `exec ID cmd --flag` passes `--flag` to cmd), otherwise flags may follow positionals.
enum ArgParser {
    static func parse(_ args: ArraySlice<String>, _ specs: [OptionSpec], stopAtPositional: Bool = false)
        throws(RuntimeError) -> ParsedOptions
    {
        var out = ParsedOptions()
        var i = args.startIndex
        while i < args.endIndex {
            let arg = args[i]
            i += 1
            if arg == "--" {
                out.positional.append(contentsOf: args[i...])
                break
            }
            guard arg.hasBytePrefix("-"), arg != "-" else {
                out.positional.append(arg)
                if stopAtPositional {
                    out.positional.append(contentsOf: args[i...])
                    break
                }
                continue
            }
            var body = arg.dropFirst(arg.hasBytePrefix("--") ? 2 : 1)
            var inline: String?
            if let eq = body.utf8.firstIndex(of: UInt8(ascii: "=")) {
                inline = String(body[body.index(after: eq)...])
                body = body[..<eq]
            }
            let name = String(body)
            guard let spec = specs.first(where: { $0.names.contains(name) }) else {
                throw RuntimeError(.usage, "flag provided but not defined: -\(name)")
            }
            if spec.takesValue {
                if let inline {
                    out.add(spec.key, inline)
                } else if i < args.endIndex {
                    out.add(spec.key, args[i])
                    i += 1
                } else {
                    throw RuntimeError(.usage, "flag needs an argument: -\(name)")
                }
            } else {
                if let inline, !["true", "false", "1", "0"].contains(inline) {
                    throw RuntimeError(.usage, "invalid boolean value \"\(inline)\" for -\(name)")
                }
                out.add(spec.key, inline ?? "true")
            }
        }
        return out
    }

    /// Help text for a list of options, aligned like urfave/cli's.
    static func describe(_ specs: [OptionSpec]) -> String {
        var lines: [String] = []
        for s in specs {
            let names = s.names.map { $0.count == 1 ? "-\($0)" : "--\($0)" }.joined(separator: ", ")
            let left = names + (s.takesValue ? " value" : "")
            lines.append("   " + left.padding(to: 32) + s.help)
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(to n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
