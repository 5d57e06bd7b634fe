import CorralSpec
import Glibc

/// A set of CPU or NUMA node numbers in the list form the kernel and the spec write ("0-3,7"), parsed as runc
/// parses `execCPUAffinity` and `memoryPolicy.nodes`: comma-separated numbers and ranges, blanks around an
/// element and empty elements allowed. Parsed on bytes (the create path avoids Unicode-aware string work).
struct CPUList: Equatable, CustomStringConvertible {
    /// The members, ascending, each once.
    private(set) var ids: [Int]

    /// runc's bound (configs.MaxCPU): a bogus number must not size a huge mask.
    static let maxID = 65535

    init(_ ids: [Int]) { self.ids = Array(Set(ids)).sorted() }

    /// nil for an empty text (the spec's "omitted or empty"); a text without members, a malformed element, a
    /// backward range or a number above `maxID` is an error naming `field` and the text.
    static func parse(_ text: String, field: String) throws(RuntimeError) -> CPUList? {
        if text.isEmpty { return nil }
        func fail(_ why: String) -> RuntimeError {
            RuntimeError(.config, "\(field): invalid list \(JSONValue.quoted(text)): \(why)")
        }
        func number(_ s: Substring) throws(RuntimeError) -> Int {
            let b = Array(s.utf8)
            guard !b.isEmpty, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw fail("\(JSONValue.quoted(String(s))) is not a number")
            }
            let v = b.count > 9 ? Int.max : b.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            if v > maxID { throw fail("\(String(s)) is above \(maxID)") }
            return v
        }
        var ids: [Int] = []
        for raw in text.splitASCII(",", omittingEmptySubsequences: false) {
            let element = raw.trimmingBlanks()
            if element.isEmpty { continue }
            let ends = element.splitASCII("-", maxSplits: 1, omittingEmptySubsequences: false)
            let first = try number(ends[0])
            let last = ends.count == 2 ? try number(ends[1]) : first
            if last < first { throw fail("range \(JSONValue.quoted(String(element))) goes backwards") }
            ids += first...last
        }
        if ids.isEmpty { throw fail("no members") }
        return CPUList(ids)
    }

    /// The kernel's bitmap (bit n of word n/64 is member n), at least `minBits` bits long.
    func words(minBits: Int = 64) -> [UInt64] {
        let bits = Swift.max(minBits, (ids.last ?? 0) + 1)
        var w = [UInt64](repeating: 0, count: (bits + 63) / 64)
        for id in ids { w[id / 64] |= 1 << UInt64(id % 64) }
        return w
    }

    var isEmpty: Bool { ids.isEmpty }
    var max: Int? { ids.last }

    func contains(_ id: Int) -> Bool { ids.contains(id) }

    /// The canonical list form: "0-3,7".
    var description: String {
        var parts: [String] = []
        var i = 0
        while i < ids.count {
            var j = i
            while j + 1 < ids.count && ids[j + 1] == ids[j] + 1 { j += 1 }
            parts.append(i == j ? ids[i].decimal : ids[i].decimal + "-" + ids[j].decimal)
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// A list file of the host such as /sys/devices/system/cpu/online; nil when it is missing or unreadable.
    static func host(_ path: String) -> CPUList? {
        guard let text = Files.readString(path) else { return nil }
        return try? parse(String(text.trimmingBlanks()), field: path)
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and newlines (bytes; see Text.swift).
    func trimmingBlanks() -> Substring {
        let u = utf8
        func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        guard let start = u.firstIndex(where: { !blank($0) }), let end = u.lastIndex(where: { !blank($0) }) else {
            return self[endIndex...]
        }
        return self[start...end]
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines (bytes; see Text.swift).
    func trimmingBlanks() -> Substring { self[...].trimmingBlanks() }
}
