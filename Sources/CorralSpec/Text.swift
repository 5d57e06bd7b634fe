// Byte-level text splitting for what corral parses: paths, /proc and cgroup files, mountinfo, passwd and group,
// cgroup controller lists, versions. Their separators are ASCII, so walking UTF-8 code units finds the same pieces
// as `split(separator: Character)`, which instead walks grapheme clusters: on the `create` path that was ~2000
// grapheme-break checks, and the Unicode code and tables behind them were a good part of the binary that a
// command pulls into memory. The one difference: a separator that a grapheme cluster swallows ("\r\n", or "/"
// followed by a combining mark) is still a separator here, as it is for the kernel and libc that wrote the text.

extension Substring {
    /// `split(separator:maxSplits:omittingEmptySubsequences:)` for an ASCII separator, on UTF-8 bytes.
    public func splitASCII(_ separator: Unicode.Scalar, maxSplits: Int = .max,
                           omittingEmptySubsequences: Bool = true) -> [Substring] {
        precondition(separator.isASCII && maxSplits >= 0, "splitASCII: ASCII separator and maxSplits >= 0")
        let sep = UInt8(separator.value)
        let u = utf8
        var out: [Substring] = []
        var start = u.startIndex
        var i = start
        if maxSplits > 0 {
            while i != u.endIndex {
                if u[i] != sep {
                    u.formIndex(after: &i)
                    continue
                }
                let appended = !(omittingEmptySubsequences && start == i)
                if appended { out.append(self[start..<i]) }
                u.formIndex(after: &i)
                start = i
                if appended && out.count == maxSplits { break }
            }
        }
        if start != u.endIndex || !omittingEmptySubsequences { out.append(self[start..<u.endIndex]) }
        return out
    }
}

extension String {
    /// `split(separator:maxSplits:omittingEmptySubsequences:)` for an ASCII separator, on UTF-8 bytes.
    public func splitASCII(_ separator: Unicode.Scalar, maxSplits: Int = .max,
                           omittingEmptySubsequences: Bool = true) -> [Substring] {
        self[...].splitASCII(separator, maxSplits: maxSplits, omittingEmptySubsequences: omittingEmptySubsequences)
    }
}

extension StringProtocol {
    /// `hasPrefix` on UTF-8 bytes. The stdlib's also checks that the prefix ends on a grapheme cluster boundary,
    /// which pulls in the Unicode break tables; for paths, option names and /proc text the bytes are the answer.
    @inlinable public func hasBytePrefix(_ prefix: some StringProtocol) -> Bool {
        utf8.starts(with: prefix.utf8)
    }

    /// Whether `other` occurs in the UTF-8 bytes. `contains(_: some StringProtocol)` lives in _StringProcessing:
    /// calling it links the regex engine and the Unicode name tables into the binary (2.5 MiB, measured).
    @inlinable public func containsBytes(_ other: some StringProtocol) -> Bool {
        let hay = Array(utf8), needle = Array(other.utf8)
        guard !needle.isEmpty else { return true }
        guard hay.count >= needle.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    /// `hasSuffix` on UTF-8 bytes (see `hasBytePrefix`).
    @inlinable public func hasByteSuffix(_ suffix: some StringProtocol) -> Bool {
        let u = utf8, n = suffix.utf8.count
        guard u.count >= n else { return false }
        return u[u.index(u.endIndex, offsetBy: -n)...].elementsEqual(suffix.utf8)
    }
}

extension BinaryInteger {
    /// The value in decimal, as `String(self)` writes it. Integer interpolation goes through the stdlib's generic
    /// radix formatter; the pids, sizes and counts a command prints or writes do not need it. Written in place:
    /// `String(decoding:)` of a reversed or other non-array collection would cost a protocol-conformance scan.
    @inlinable public var decimal: String {
        let negative = self < (0 as Self)
        var count = negative ? 1 : 0
        var t = magnitude
        repeat { count += 1; t /= 10 } while t != 0
        return String(unsafeUninitializedCapacity: count) { buf in
            var m = magnitude, i = count
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: m % 10) &+ UInt8(ascii: "0")
                m /= 10
            } while m != 0
            if negative { buf[0] = UInt8(ascii: "-") }
            return count
        }
    }
}
