import Glibc

/// Wall-clock times in the forms runc prints (Go's time formats), without Foundation formatters and without
/// gmtime_r: glibc's reads the time zone (/etc/localtime) on its first call even for UTC, one more file per command.
enum Clock {
    static func now() -> timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts
    }

    /// RFC 3339 in UTC, seconds precision: `2026-11-21T20:43:48Z` (logrus' default, which the shim parses).
    static func rfc3339(_ ts: timespec = now()) -> String {
        var b = dateTime(ts.tv_sec)
        b.append(UInt8(ascii: "Z"))
        return String(decoding: b, as: UTF8.self)
    }

    /// RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano, used in `state`'s "created").
    static func rfc3339Nano(_ ts: timespec) -> String {
        var b = dateTime(ts.tv_sec)
        if ts.tv_nsec > 0 {
            b.append(UInt8(ascii: "."))
            var digits = 9, nsec = ts.tv_nsec
            while nsec % 10 == 0 { nsec /= 10; digits -= 1 }
            append(&b, nsec, width: digits)
        }
        b.append(UInt8(ascii: "Z"))
        return String(decoding: b, as: UTF8.self)
    }

    /// "YYYY-MM-DDTHH:MM:SS" of a Unix time in UTC.
    private static func dateTime(_ sec: Int) -> [UInt8] {
        let days = sec >= 0 ? sec / 86_400 : (sec - 86_399) / 86_400   // floor, also before 1970
        let (y, m, d) = civil(days)
        let s = sec - days * 86_400
        var b: [UInt8] = []
        b.reserveCapacity(32)
        append(&b, y, width: 4); b.append(UInt8(ascii: "-"))
        append(&b, m, width: 2); b.append(UInt8(ascii: "-"))
        append(&b, d, width: 2); b.append(UInt8(ascii: "T"))
        append(&b, s / 3600, width: 2); b.append(UInt8(ascii: ":"))
        append(&b, s / 60 % 60, width: 2); b.append(UInt8(ascii: ":"))
        append(&b, s % 60, width: 2)
        return b
    }

    /// Proleptic Gregorian year, month, day of a day count from 1970-01-01. Counted in 400-year eras from
    /// 0000-03-01, so that the leap day ends each year and every era has the same 146 097 days.
    static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468                                   // days from 0000-03-01
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097                         // 0 ... 146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)   // from March 1st
        let m5 = (5 * dayOfYear + 2) / 153                       // 0 = March ... 11 = February
        let day = dayOfYear - (153 * m5 + 2) / 5 + 1
        let month = m5 < 10 ? m5 + 3 : m5 - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Decimal digits of a non-negative `v`, zero-padded to at least `width`.
    private static func append(_ b: inout [UInt8], _ v: Int, width: Int) {
        var n = 1, t = v / 10
        while t > 0 { n += 1; t /= 10 }
        let start = b.count
        b.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(n, width)))
        var i = b.count, v = v
        repeat { i -= 1; b[i] = UInt8(48 + v % 10); v /= 10 } while v > 0 && i > start
    }

    /// Seconds on CLOCK_MONOTONIC (interval timing: `events --interval`).
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
