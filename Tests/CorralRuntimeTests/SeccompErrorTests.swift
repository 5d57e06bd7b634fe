// Invalid or unsupported linux.seccomp sections: every error names the JSON path (exact texts).
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class SeccompErrorTests: XCTestCase {
    private func planError(_ s: Seccomp, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try SeccompPlanner.plan(s, cacheDir: nil, note: { _ in })
            XCTFail("planned without error", file: file, line: line)
            return nil
        } catch {
            XCTAssertEqual(error.code, .config, file: file, line: line)
            return error.message
        }
    }

    func testValidationErrors() {
        let ok = rule(["getpid"], .SCMP_ACT_ALLOW)
        let table: [(Seccomp, String)] = [
            (Seccomp(defaultAction: .SCMP_ACT_NOTIFY, listenerPath: "/x", syscalls: [ok]),
             "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action"),
            (Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 4096, syscalls: [ok]),
             "linux.seccomp.defaultErrnoRet: 4096 is above the largest errno a seccomp filter can return (4095)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [ok, rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 70000)]),
             "linux.seccomp.syscalls[1].errnoRet: 70000 is above the largest errno a seccomp filter can return (4095)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [ok, ok, rule([], .SCMP_ACT_ERRNO)]),
             "linux.seccomp.syscalls[2].names: must list at least one syscall"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir", ""], .SCMP_ACT_ERRNO)]),
             "linux.seccomp.syscalls[0].names[1]: empty string is not a valid syscall"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [ok, ok, ok,
                rule(["kill"], .SCMP_ACT_ERRNO, args: [arg(0, .SCMP_CMP_EQ, 1), arg(6, .SCMP_CMP_EQ, 1)])]),
             "linux.seccomp.syscalls[3].args[1].index: 6 is not a syscall argument (0-5)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, listenerPath: "/x", syscalls: [rule(["mkdir", "write"], .SCMP_ACT_NOTIFY)]),
             "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, listenerPath: "/x", syscalls: [rule(["sendmsg"], .SCMP_ACT_NOTIFY)]),
             "linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [ok, rule(["mkdir"], .SCMP_ACT_NOTIFY)]),
             "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used (linux.seccomp.syscalls[1].action)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, listenerPath: "/" + String(repeating: "s", count: 120),
                     syscalls: [rule(["mkdir"], .SCMP_ACT_NOTIFY)]),
             "linux.seccomp.listenerPath: \"/\(String(repeating: "s", count: 120))\" is too long for a unix socket address (at most 107 bytes)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                     flags: [.SECCOMP_FILTER_FLAG_LOG, .SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV], syscalls: [ok]),
             "linux.seccomp.flags[1]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a listener (linux.seccomp.listenerPath; the kernel refuses it without one)"),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_LOONGARCH64],
                     syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)]),
             "linux.seccomp.architectures[1]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp \(SeccompCompiler.libseccompVersion)"),
        ]
        for (s, want) in table {
            XCTAssertEqual(planError(s), want)
        }
    }

    /// Two unconditional rules for one syscall with different actions are not an error: libseccomp 2.5.4 keeps the
    /// first one, and corral (like runc, which hands the same rules to the same library) does not second-guess it.
    func testConflictingRulesFirstWins() throws {
        let table: [(Syscall, Syscall, UInt32)] = [
            (rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1), rule(["rmdir", "mkdir"], .SCMP_ACT_ERRNO, errno: 2), Ret.errno(1)),
            (rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 2), rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1), Ret.errno(2)),
            (rule(["mkdir"], .SCMP_ACT_ERRNO), rule(["mkdir"], .SCMP_ACT_KILL), Ret.errno(EPERM)),
            (rule(["mkdir"], .SCMP_ACT_KILL), rule(["mkdir"], .SCMP_ACT_ERRNO), Ret.killThread),
            (rule(["mkdir"], .SCMP_ACT_LOG), rule(["mkdir"], .SCMP_ACT_TRAP), Ret.log),
        ]
        for (a, b, want) in table {
            let (bpf, _, _) = try compileProfile(Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [a, b]))
            XCTAssertEqual(bpf.run(nr: nr("mkdir")), want, "\(a) then \(b)")
        }
    }

    /// Errors found while decoding config.json (operators, actions, errnoRet on the wrong action) carry the
    /// full path too.
    func testDecodeErrorsNameThePath() {
        func decode(_ seccomp: String) -> String? {
            let text = #"{"ociVersion":"1.0.2","linux":{"seccomp":"# + seccomp + "}}"
            do {
                _ = try Spec.parse(Array(text.utf8))
                return nil
            } catch {
                return RuntimeError.config(error).message
            }
        }
        let ops = SeccompOperator.supportedList
        XCTAssertEqual(
            decode(#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO"},{"names":["a"],"action":"SCMP_ACT_ERRNO"},{"names":["a"],"action":"SCMP_ACT_ERRNO"},{"names":["kill"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_XX"}]}]}"#),
            "invalid configuration: linux.seccomp.syscalls[3].args[0].op: unsupported value \"SCMP_CMP_XX\" (supported: \(ops))")
        XCTAssertEqual(
            decode(#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}"#),
            "invalid configuration: linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW")
        XCTAssertEqual(
            decode(#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}"#),
            "invalid configuration: linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW")
    }
}
