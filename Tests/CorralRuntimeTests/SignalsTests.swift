// Signals.parse: the spellings `kill` accepts (runc: a number, or a name with or without SIG, any case).
import XCTest
import Glibc
@testable import CorralRuntime

final class SignalsTests: XCTestCase {
    func testGoodSpellings() {
        let cases: [(String, Int32)] = [
            ("9", 9), ("15", 15), ("1", 1), ("64", 64), ("+9", 9),
            ("KILL", SIGKILL), ("SIGKILL", SIGKILL), ("sigkill", SIGKILL), ("kill", SIGKILL), ("SigKill", SIGKILL),
            ("TERM", SIGTERM), ("SIGTERM", SIGTERM), ("HUP", SIGHUP), ("SIGINT", SIGINT), ("QUIT", SIGQUIT),
            ("USR1", SIGUSR1), ("SIGUSR2", SIGUSR2), ("WINCH", SIGWINCH), ("CHLD", SIGCHLD), ("CONT", SIGCONT),
            ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("SYS", SIGSYS), ("PWR", SIGPWR),
            ("IOT", SIGABRT), ("ABRT", SIGABRT), ("POLL", SIGIO), ("IO", SIGIO), ("STKFLT", 16), ("SEGV", SIGSEGV),
            ("RTMIN", 34), ("SIGRTMIN", 34), ("RTMIN+3", 37), ("rtmin+3", 37), ("SIGRTMIN+30", 64),
            ("RTMAX", 64), ("RTMAX-1", 63), ("SIGRTMAX-30", 34),
        ]
        for (text, want) in cases {
            do { let n = try Signals.parse(text); XCTAssertEqual(n, want, text) } catch { XCTFail("\(text): \(error.message)") }
        }
    }

    func testEveryStandardSignalHasAName() throws {
        XCTAssertEqual(Set(Signals.names.values), Set(1...31), "names cover exactly the 31 standard signals")
        for (name, number) in Signals.names {
            XCTAssertEqual(try Signals.parse("SIG" + name), number, name)
            XCTAssertEqual(try Signals.parse(name.lowercased()), number, name)
        }
    }

    /// 0 checks that the init is alive and sends nothing (the usual liveness probe).
    func testZeroIsTheLivenessProbe() throws {
        XCTAssertEqual(try Signals.parse("0"), 0)
    }

    func testBadSpellings() {
        let cases: [(String, String)] = [
            ("65", "invalid signal: 65"), ("-1", "invalid signal: -1"),
            ("-9", "invalid signal: -9"), ("99999999999", "unknown signal \"99999999999\""),
            ("FOO", "unknown signal \"FOO\""), ("SIGFOO", "unknown signal \"SIGFOO\""), ("", "unknown signal \"\""),
            ("SIG", "unknown signal \"SIG\""), ("9x", "unknown signal \"9x\""), ("KILL ", "unknown signal \"KILL \""),
            ("RTMIN+31", "unknown signal \"RTMIN+31\""), ("RTMIN-1", "unknown signal \"RTMIN-1\""),
            ("RTMAX+1", "unknown signal \"RTMAX+1\""), ("RTMIN+", "unknown signal \"RTMIN+\""),
            ("RTMINX", "unknown signal \"RTMINX\""),
            // scripts/fuzz (args target): the offset overflowed Int32 when added to the base and trapped.
            ("RTMIN+2147483647", "unknown signal \"RTMIN+2147483647\""),
            ("SIGRTMAX-2147483648", "unknown signal \"SIGRTMAX-2147483648\""),
            ("RTMAX+2147483647", "unknown signal \"RTMAX+2147483647\""),
        ]
        for (text, message) in cases {
            do {
                let n = try Signals.parse(text)
                XCTFail("\"\(text)\" accepted as \(n)")
            } catch {
                XCTAssertEqual(error.message, message, "\"\(text)\"")
                XCTAssertEqual(error.code, .invalidArgument, text)
            }
        }
    }
}
