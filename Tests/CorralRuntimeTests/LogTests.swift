// Log records (logrus-compatible, as runc writes them and containerd's shim reads them) and the clock formats.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class LogTests: XCTestCase {
    let t = "2026-11-21T20:43:48Z"

    // MARK: format

    func testJSONRecords() throws {
        XCTAssertEqual(Logger.format(level: .error, msg: "container does not exist", time: t, format: .json),
                       "{\"level\":\"error\",\"msg\":\"container does not exist\",\"time\":\"2026-11-21T20:43:48Z\"}")
        XCTAssertEqual(Logger.format(level: .warning, msg: "w", time: t, format: .json),
                       "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"2026-11-21T20:43:48Z\"}")
        // Go's encoding/json escaping (HTML-safe, \u00XX for control characters).
        XCTAssertEqual(Logger.format(level: .debug, msg: "a \"q\" <b> & c\\d\n\te\u{1}", time: t, format: .json),
                       "{\"level\":\"debug\",\"msg\":\"a \\\"q\\\" \\u003cb\\u003e \\u0026 c\\\\d\\n\\te\\u0001\",\"time\":\"2026-11-21T20:43:48Z\"}")
        for level in [Logger.Level.debug, .info, .warning, .error] {
            for msg in ["", "x", "unable to start: \"/bin/x\": no such file", "multi\nline", "ünïcödé ✓"] {
                let line = Logger.format(level: level, msg: msg, time: t, format: .json)
                let obj = try XCTUnwrap(JSONValue.parse(line).objectValue, line)
                XCTAssertEqual(obj.keys, ["level", "msg", "time"], line)
                XCTAssertEqual(obj["level"]?.stringValue, level.rawValue)
                XCTAssertEqual(obj["msg"]?.stringValue, msg)
                XCTAssertEqual(obj["time"]?.stringValue, t)
                XCTAssertFalse(line.contains("\n"), "one record per line")
            }
        }
    }

    func testTextRecords() {
        XCTAssertEqual(Logger.format(level: .error, msg: "container does not exist", time: t, format: .text),
                       "time=\"2026-11-21T20:43:48Z\" level=error msg=\"container does not exist\"")
        XCTAssertEqual(Logger.format(level: .warning, msg: "unknown signal \"X\"", time: t, format: .text),
                       "time=\"2026-11-21T20:43:48Z\" level=warning msg=\"unknown signal \\\"X\\\"\"")
        XCTAssertEqual(Logger.format(level: .debug, msg: "a\\b\nc\td\r", time: t, format: .text),
                       "time=\"2026-11-21T20:43:48Z\" level=debug msg=\"a\\\\b\\nc\\td\\r\"")
        XCTAssertEqual(Logger.quote("\u{1}\u{1f}ü"), "\"\\x01\\x1fü\"")
    }

    /// logrus' TextFormatter quotes a value only when it holds a character outside [A-Za-z0-9-._/@^+]
    /// (`needsQuoting`), and quotes with Go's %q (strconv.Quote: \a \b \f \v short forms, \x7f for DEL).
    func testTextQuotingFollowsLogrus() {
        XCTAssertEqual(Logger.format(level: .error, msg: "EOF", time: t, format: .text),
                       "time=\"2026-11-21T20:43:48Z\" level=error msg=EOF")
        XCTAssertEqual(Logger.format(level: .error, msg: "/run/x@1.0+y^z_w-v", time: t, format: .text),
                       "time=\"2026-11-21T20:43:48Z\" level=error msg=/run/x@1.0+y^z_w-v")
        XCTAssertEqual(Logger.quote("\u{7}\u{8}\u{c}\u{b}\u{7f}"), "\"\\a\\b\\f\\v\\x7f\"")
    }

    // MARK: the logger

    func testLoggerWritesParseableRecordsToItsFile() throws {
        let b = UnitBundle()
        let path = b.dir + "/log.json"
        do {
            let log = try Logger(path: path, format: .json, debug: false)
            XCTAssertFalse(log.logsToStderr)
            log.error("first")
            log.debug("hidden without --debug")
            log.warn("second")
            log.log(.info, "third")
        }
        do {
            let log = try Logger(path: path, format: .json, debug: true)
            log.debug("shown with --debug")
        }
        let lines = (Files.readString(path) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.last, "", "every record ends with a newline")
        var got: [String] = []
        for line in lines.dropLast() {
            let obj = try XCTUnwrap(JSONValue.parse(String(line)).objectValue)
            XCTAssertEqual(obj.keys, ["level", "msg", "time"])
            let time = try XCTUnwrap(obj["time"]?.stringValue)
            XCTAssertTrue(isRFC3339Seconds(time), time)
            got.append("\(obj["level"]!.stringValue!) \(obj["msg"]!.stringValue!)")
        }
        XCTAssertEqual(got, ["error first", "warning second", "info third", "debug shown with --debug"])
        // The file is appended to, never truncated, and created 0644.
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o644 & ~currentUmask())
    }

    func testLoggerToStderrAndBadPath() {
        XCTAssertTrue((try? Logger(path: nil, format: .text, debug: false))?.logsToStderr ?? false)
        XCTAssertTrue((try? Logger(path: "", format: .text, debug: false))?.logsToStderr ?? false)
        XCTAssertTrue((try? Logger(path: "/dev/stderr", format: .text, debug: false))?.logsToStderr ?? false)
        do {
            _ = try Logger(path: "/nonexistent-corral-unit/log.json", format: .json, debug: false)
            XCTFail("opened a log in a missing directory")
        } catch {
            XCTAssertEqual(error.message, "open log file /nonexistent-corral-unit/log.json: no such file or directory")
            XCTAssertEqual(error.code, .system)
        }
    }

    // MARK: clock

    func testRFC3339() {
        let cases: [(Int, String)] = [
            (0, "1970-01-01T00:00:00Z"), (1_700_000_000, "2023-11-14T22:13:20Z"), (951_782_400, "2000-02-29T00:00:00Z"),
            (1_798_761_599, "2026-12-31T23:59:59Z"), (4_102_444_800, "2100-01-01T00:00:00Z"), (86_399, "1970-01-01T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"), (-86_400, "1969-12-31T00:00:00Z"), (253_402_300_799, "9999-12-31T23:59:59Z"),
        ]
        for (sec, want) in cases {
            XCTAssertEqual(Clock.rfc3339(timespec(tv_sec: sec, tv_nsec: 999_999_999)), want, "\(sec)")
        }
    }

    /// The civil-date arithmetic against glibc's gmtime_r, day by day over four centuries around 1970.
    func testCivilDateMatchesGmtime() {
        for days in stride(from: -80_000, through: 80_000, by: 1) {
            var t = days * 86_400
            var tm = Glibc.tm()
            gmtime_r(&t, &tm)
            let c = Clock.civil(days)
            if c.year != Int(tm.tm_year) + 1900 || c.month != Int(tm.tm_mon) + 1 || c.day != Int(tm.tm_mday) {
                XCTFail("day \(days): \(c) vs gmtime \(tm.tm_year + 1900)-\(tm.tm_mon + 1)-\(tm.tm_mday)")
                return
            }
        }
    }

    func testRFC3339NanoTrimsTrailingZeros() {
        let cases: [(Int, String)] = [
            (0, "2023-11-14T22:13:20Z"), (500_000_000, "2023-11-14T22:13:20.5Z"), (123_456_789, "2023-11-14T22:13:20.123456789Z"),
            (120_000_000, "2023-11-14T22:13:20.12Z"), (1_000, "2023-11-14T22:13:20.000001Z"), (1, "2023-11-14T22:13:20.000000001Z"),
            (100, "2023-11-14T22:13:20.0000001Z"), (399_454_668, "2023-11-14T22:13:20.399454668Z"),
            (999_999_990, "2023-11-14T22:13:20.99999999Z"),
        ]
        for (nsec, want) in cases {
            XCTAssertEqual(Clock.rfc3339Nano(timespec(tv_sec: 1_700_000_000, tv_nsec: nsec)), want, "\(nsec)")
        }
    }

    func testNowIsUTC() {
        let s = Clock.rfc3339()
        XCTAssertTrue(isRFC3339Seconds(s), s)
        XCTAssertTrue(s.hasPrefix("20"), s)
    }

    private func isRFC3339Seconds(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 20 else { return false }
        for (i, c) in b.enumerated() {
            switch i {
            case 4, 7: if c != UInt8(ascii: "-") { return false }
            case 10: if c != UInt8(ascii: "T") { return false }
            case 13, 16: if c != UInt8(ascii: ":") { return false }
            case 19: if c != UInt8(ascii: "Z") { return false }
            default: if c < 0x30 || c > 0x39 { return false }
            }
        }
        return true
    }

    private func currentUmask() -> mode_t {
        let m = umask(0)
        umask(m)
        return m
    }
}
