import CCorral
import Glibc

/// Facts about host processes read from /proc.
enum Proc {
    /// State letter and start time (field 3 and field 22 of /proc/<pid>/stat), nil when the pid does not exist.
    /// The start time is what makes a (pid, start) pair unique: a recycled pid never matches it. `initName`: the
    /// name (field 2) is CORRAL_INIT_COMM, the one a container init carries until it execs.
    /// Parsed as bytes: this runs on every state/kill/delete/start, and Character-wise String work costs more
    /// than the read itself.
    /// `proc`: an fd of /proc to read `<pid>/stat` under (see `Files.readSmall`), or AT_FDCWD.
    static func stat(_ pid: Int32, proc: Int32 = AT_FDCWD) -> (state: Character, startTime: UInt64, initName: Bool)? {
        let path = proc == AT_FDCWD ? "/proc/" + pid.decimal + "/stat" : pid.decimal + "/stat"
        guard pid > 0, let b = Files.readSmall(path, at: proc) else { return nil }
        // comm (field 2) may contain spaces and parentheses: fields after it start after the LAST ')'.
        guard let close = b.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let open = b.firstIndex(of: UInt8(ascii: "(")) ?? close
        let initName = open < close && b[(open + 1)..<close].elementsEqual(CORRAL_INIT_COMM.utf8)
        // After ") ": field 3 is the state; field 22 is 19 fields further on.
        var i = close + 1
        var field = 2
        var state: UInt8 = 0
        while i < b.count {
            while i < b.count && b[i] == 0x20 { i += 1 }
            guard i < b.count else { break }
            field += 1
            if field == 3 { state = b[i] }
            if field == 22 {
                var v: UInt64 = 0
                var digits = 0
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                    v = v &* 10 &+ UInt64(b[i] - 0x30)
                    i += 1
                    digits += 1
                }
                guard digits > 0, state != 0 else { return nil }
                return (Character(Unicode.Scalar(state)), v, initName)
            }
            while i < b.count && b[i] != 0x20 { i += 1 }
        }
        return nil
    }
}
