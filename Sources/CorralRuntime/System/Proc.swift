import Glibc

/// Facts about host processes read from /proc.
enum Proc {
    /// State letter and start time (field 3 and field 22 of /proc/<pid>/stat), nil when the pid does not exist.
    /// The start time is what makes a (pid, start) pair unique: a recycled pid never matches it.
    static func stat(_ pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = Files.readString("/proc/\(pid)/stat") else { return nil }
        // comm (field 2) may contain spaces and parentheses: fields after it start after the LAST ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: close)...].split(separator: " ")
        guard rest.count > 19, let st = rest[0].first, let start = UInt64(rest[19]) else { return nil }
        return (st, start)
    }
}
