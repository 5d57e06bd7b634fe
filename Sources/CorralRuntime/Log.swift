import CorralSpec
import Glibc

/// The one place that formats log records. Like runc (logrus): `--log-format json` writes
/// `{"level":"error","msg":"…","time":"<RFC 3339>"}` per line; text writes `time="…" level=error msg="…"`.
/// Records go to the `--log` file (O_APPEND) or, without one, to stderr. Fatal errors are additionally
/// printed plainly on stderr when the log is a file, because engines classify failures by that output.
public final class Logger {
    public enum Format: String { case text, json }
    public enum Level: String { case debug, info, warning, error }

    let format: Format
    let fd: Int32
    let ownsFD: Bool
    let debugEnabled: Bool

    public init(path: String?, format: Format, debug: Bool) throws(RuntimeError) {
        self.format = format
        self.debugEnabled = debug
        if let path, !path.isEmpty, path != "/dev/stderr" {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { throw .system("open log file \(path)", errno) }
            self.fd = fd
            self.ownsFD = true
        } else {
            self.fd = 2
            self.ownsFD = false
        }
    }

    deinit { if ownsFD { close(fd) } }

    /// True when records already go to stderr (then a fatal error is not printed twice).
    public var logsToStderr: Bool { !ownsFD }

    public func log(_ level: Level, _ msg: String) {
        if level == .debug && !debugEnabled { return }
        let line = Logger.format(level: level, msg: msg, time: Clock.rfc3339(), format: format) + "\n"
        _ = Array(line.utf8).withUnsafeBytes { Files.writeAll(fd, $0) }
    }

    public func error(_ msg: String) { log(.error, msg) }
    public func warn(_ msg: String) { log(.warning, msg) }
    public func debug(_ msg: @autoclosure () -> String) { if debugEnabled { log(.debug, msg()) } }

    /// One record, without the newline. Key order follows logrus (sorted: level, msg, time).
    static func format(level: Level, msg: String, time: String, format: Format) -> String {
        switch format {
        case .json:
            var o = JSONObject()
            o["level"] = .string(level.rawValue)
            o["msg"] = .string(msg)
            o["time"] = .string(time)
            return JSONValue.object(o).serialized()
        case .text:
            return "time=\"\(time)\" level=\(level.rawValue) msg=\(quote(msg))"
        }
    }

    /// logrus' text formatter: a value made only of `[A-Za-z0-9-._/@^+]` is written bare, anything else with Go's
    /// `%q` (strconv.Quote: \a \b \f \n \r \t \v escapes, \xNN for other control bytes).
    static func quote(_ s: String) -> String {
        let bare = s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
                || c == "-" || c == "." || c == "_" || c == "/" || c == "@" || c == "^" || c == "+"
        }
        if bare { return s }
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if ch.value < 0x20 || ch.value == 0x7f {
                    out += "\\x" + String(ch.value, radix: 16).leftPad(2)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func leftPad(_ n: Int, _ c: Character = "0") -> String {
        count >= n ? self : String(repeating: c, count: n - count) + self
    }
}
