import Glibc

/// Signal names and numbers as runc's `kill` accepts them: "9", "KILL", "SIGKILL".
enum Signals {
    static let names: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
        "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
        "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
    ]

    static func parse(_ s: String) throws(RuntimeError) -> Int32 {
        if let n = Int32(s) {
            // 0 sends nothing and only checks that the init is alive: the usual liveness probe.
            guard n >= 0 && n < 65 else { throw RuntimeError(.invalidArgument, "invalid signal: \(s)") }
            return n
        }
        var name = s.uppercased()
        if name.hasBytePrefix("SIG") { name.removeFirst(3) }
        if name.hasBytePrefix("RTMIN") || name.hasBytePrefix("RTMAX") {
            let base: Int32 = name.hasBytePrefix("RTMIN") ? 34 : 64
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            // The offset is checked before it is added: "RTMIN+2147483647" must not overflow Int32 (fuzz finding).
            if let off = Int32(rest), off >= 34 - base, off <= 64 - base { return base + off }
        }
        guard let n = names[name] else { throw RuntimeError(.invalidArgument, "unknown signal \"\(s)\"") }
        return n
    }
}
