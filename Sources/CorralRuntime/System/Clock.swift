import Glibc

/// Wall-clock times in the forms runc prints (Go's time formats), without Foundation formatters.
enum Clock {
    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// RFC 3339 in UTC, seconds precision: `2026-11-21T20:43:48Z` (logrus' default, which the shim parses).
    static func rfc3339(_ ts: timespec = now()) -> String {
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        return "\(pad(Int(tm.tm_year) + 1900, 4))-\(pad(Int(tm.tm_mon) + 1, 2))-\(pad(Int(tm.tm_mday), 2))T"
            + "\(pad(Int(tm.tm_hour), 2)):\(pad(Int(tm.tm_min), 2)):\(pad(Int(tm.tm_sec), 2))Z"
    }

    /// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano, used in `state`'s "created").
    static func rfc3339Nano(_ ts: timespec) -> String {
        let base = rfc3339(ts)
        guard ts.tv_nsec > 0 else { return base }
        var frac = pad(Int(ts.tv_nsec), 9)
        while frac.hasSuffix("0") { frac.removeLast() }
        return String(base.dropLast()) + "." + frac + "Z"
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
