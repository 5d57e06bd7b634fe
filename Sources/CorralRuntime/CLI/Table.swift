import Glibc

/// Go's text/tabwriter as runc uses it for `list` (minwidth 12, padding 3, spaces).
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let cols = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: cols)
        for r in rows { for (i, c) in r.enumerated() where i < cols - 1 { widths[i] = max(widths[i], max(c.count + 3, 12)) } }
        var out = ""
        for r in rows {
            for (i, c) in r.enumerated() { out += i < cols - 1 ? c.padding(toExactly: widths[i]) : c }
            out += "\n"
        }
        return out
    }
}

extension String {
    func padding(toExactly n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
