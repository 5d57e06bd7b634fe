import Glibc

/// Value syntaxes of runc's flags: docker/go-units sizes and Go durations.
enum Units {
    /// go-units RAMInBytes: "512", "512k", "1.5g", "64MiB", "2 GB" (binary multiples, case-insensitive).
    static func ramInBytes(_ s: String) -> Int64? {
        var chars = Array(s)
        var number = ""
        while let c = chars.first, c.isNumber || c == "." { number.append(c); chars.removeFirst() }
        guard !number.isEmpty, !number.hasBytePrefix("."), !number.hasByteSuffix("."), let value = Double(number) else { return nil }
        if chars.first == " " { chars.removeFirst() }
        var rest = String(chars).lowercased()
        var mul: Double = 1
        if let u = rest.first, let m = ["k": 1024.0, "m": 1048576.0, "g": 1073741824.0, "t": 1099511627776.0, "p": 1125899906842624.0][u] {
            mul = m
            rest.removeFirst()
        }
        if rest.hasBytePrefix("i") { rest.removeFirst() }
        if rest.hasBytePrefix("b") { rest.removeFirst() }
        guard rest.isEmpty else { return nil }
        let bytes = value * mul
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }

    /// Go's time.ParseDuration, in seconds: "5s", "1.5s", "100ms", "1m30s", "250us"/"250µs", "10ns", "2h".
    static func duration(_ s: String) -> Double? {
        var rest = Substring(s)
        var sign = 1.0
        if rest.first == "-" || rest.first == "+" { if rest.first == "-" { sign = -1 }; rest.removeFirst() }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !rest.isEmpty {
            var number = ""
            while let c = rest.first, c.isNumber || c == "." { number.append(c); rest.removeFirst() }
            guard let v = Double(number) else { return nil }
            guard let unit = units.first(where: { rest.hasBytePrefix($0.0) && !(($0.0 == "m") && rest.hasBytePrefix("ms")) }) else { return nil }
            rest.removeFirst(unit.0.count)
            total += v * unit.1
        }
        return sign * total
    }
}
