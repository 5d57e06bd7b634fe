import XCTest

@testable import CorralSpec

/// `splitASCII` must give exactly what the stdlib's Character-wise `split(separator:)` gives, on the inputs corral
/// splits (paths, /proc lines, passwd entries) and on awkward ones (empty pieces, multi-byte text), except where a
/// grapheme cluster swallows the separator: there it splits on the byte, as the kernel and libc do.
final class TextTests: XCTestCase {
    let inputs = ["", "/", "//", "/a/b/c", "a//b/", "/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct", ",,x,,", "root:x:0:0::/root:/bin/sh",
                  "agent:x:1001:1001:Agent:/home/agent:", "a\nb\nc\n\n", "é/ü/\u{1F600}/x", "e\u{301}/x", "x", "::", "1.3.0-rc.1+dev"]
    let separators: [Unicode.Scalar] = ["/", ",", ":", "\n", ".", "x"]

    func testMatchesStdlibSplit() {
        for s in inputs {
            for sep in separators {
                for omit in [true, false] {
                    for maxSplits in [0, 1, 2, Int.max] {
                        let want = s.split(separator: Character(sep), maxSplits: maxSplits, omittingEmptySubsequences: omit)
                        let got = s.splitASCII(sep, maxSplits: maxSplits, omittingEmptySubsequences: omit)
                        XCTAssertEqual(got, want, "\(s.debugDescription) split on \(sep.escaped(asASCII: true)) max \(maxSplits) omit \(omit)")
                        let sub = s.dropFirst(min(1, s.count))
                        XCTAssertEqual(sub.splitASCII(sep, maxSplits: maxSplits, omittingEmptySubsequences: omit),
                                       sub.split(separator: Character(sep), maxSplits: maxSplits, omittingEmptySubsequences: omit))
                    }
                }
            }
        }
    }

    func testSplitsWhereAGraphemeClusterSwallowsTheSeparator() {
        XCTAssertEqual("a\r\nb".split(separator: "\n"), ["a\r\nb"])
        XCTAssertEqual("a\r\nb".splitASCII("\n"), ["a\r", "b"])
        XCTAssertEqual("x/\u{301}y".splitASCII("/"), ["x", "\u{301}y"])
    }

    func testDecimalMatchesString() {
        for v: Int64 in [0, 1, -1, 9, 10, -10, 4_194_304, .max, .min] { XCTAssertEqual(v.decimal, String(v)) }
        for v: UInt64 in [0, 7, 1_000_000_007, .max] { XCTAssertEqual(v.decimal, String(v)) }
        for v: Int32 in [0, 12_345, -32_768, .min, .max] { XCTAssertEqual(v.decimal, String(v)) }
        XCTAssertEqual(UInt8.max.decimal, "255")
        XCTAssertEqual(Int8.min.decimal, "-128")
    }
}
