// What the compiled filters return: every action, every operator, AND/OR of conditions, architectures, errno
// defaults, skipped names, flags. Filters are compiled by libseccomp and run by the BPF interpreter in
// SeccompTestSupport.swift.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class SeccompCompileTests: XCTestCase {
    override func setUpWithError() throws {
        #if !arch(x86_64)
        throw XCTSkip("the tables use x86_64 syscall numbers and audit arches")
        #endif
    }

    func testEveryActionAndErrnoDefaults() throws {
        let table: [(Syscall, UInt32)] = [
            (rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1), Ret.errno(1)),
            (rule(["mkdir"], .SCMP_ACT_ERRNO), Ret.errno(EPERM)),
            (rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 0), Ret.errno(0)),
            (rule(["mkdir"], .SCMP_ACT_TRACE, errno: 7), Ret.trace(7)),
            (rule(["mkdir"], .SCMP_ACT_TRACE), Ret.trace(UInt32(EPERM))),
            (rule(["mkdir"], .SCMP_ACT_KILL), Ret.killThread),
            (rule(["mkdir"], .SCMP_ACT_KILL_THREAD), Ret.killThread),
            (rule(["mkdir"], .SCMP_ACT_KILL_PROCESS), Ret.killProcess),
            (rule(["mkdir"], .SCMP_ACT_TRAP), Ret.trap),
            (rule(["mkdir"], .SCMP_ACT_LOG), Ret.log),
        ]
        for (r, want) in table {
            let (bpf, _, _) = try compileProfile(Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [r]))
            XCTAssertEqual(bpf.run(nr: nr("mkdir")), want, "\(r)")
            XCTAssertEqual(bpf.run(nr: nr("getpid")), Ret.allow, "\(r)")
        }
        let notify = Seccomp(defaultAction: .SCMP_ACT_ALLOW, listenerPath: "/run/agent.sock",
                             syscalls: [rule(["mkdir"], .SCMP_ACT_NOTIFY)])
        let (bpf, prog, _) = try compileProfile(notify)
        XCTAssertEqual(bpf.run(nr: nr("mkdir")), Ret.notify)
        XCTAssertEqual(prog.flags, 8, "NOTIFY needs SECCOMP_FILTER_FLAG_NEW_LISTENER")
        XCTAssertEqual(prog.listenerPath, "/run/agent.sock")
    }

    /// runc's stub: numbers above the highest syscall the profile names get ENOSYS (programs fall back on it),
    /// per architecture; x32 numbers and everything the profile covers go to libseccomp's program unchanged.
    func testSyscallsNewerThanTheProfileGetENOSYS() throws {
        let allow = [rule(["read", "getpid", "mkdir"], .SCMP_ACT_ALLOW)]
        let (bpf, _, _) = try compileProfile(Seccomp(defaultAction: .SCMP_ACT_ERRNO, architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86],
                                                     syscalls: allow))
        let highest = nr("mkdir")   // 83: the highest of the three on x86_64
        XCTAssertEqual(bpf.run(nr: highest + 1), Ret.errno(ENOSYS))
        XCTAssertEqual(bpf.run(nr: 1000), Ret.errno(ENOSYS))
        XCTAssertEqual(bpf.run(nr: highest - 1), Ret.errno(EPERM), "below the highest: the default action")
        XCTAssertEqual(bpf.run(nr: highest), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("read")), Ret.allow)
        XCTAssertEqual(bpf.run(nr: 0x4000_0000 | 2000), Ret.killThread, "x32 numbers: libseccomp's bad-arch answer")
        // i386: getpid 20, read 3, mkdir 39.
        XCTAssertEqual(bpf.run(nr: 40, arch: AuditArch.i386), Ret.errno(ENOSYS))
        XCTAssertEqual(bpf.run(nr: 38, arch: AuditArch.i386), Ret.errno(EPERM))
        XCTAssertEqual(bpf.run(nr: 39, arch: AuditArch.i386), Ret.allow)
        // A default that lets everything through needs no stub; nor does a default that already says ENOSYS.
        for s in [Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)]),
                  Seccomp(defaultAction: .SCMP_ACT_LOG, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)])] {
            let (b, _, _) = try compileProfile(s)
            XCTAssertNotEqual(b.run(nr: 1000), Ret.errno(ENOSYS), "\(s.defaultAction)")
        }
    }

    func testDefaultActions() throws {
        // exit_group (231) is the highest: mkdir (83) below it gets the default action, not the ENOSYS stub's.
        let allow = [rule(["getpid", "read", "exit_group"], .SCMP_ACT_ALLOW)]
        let table: [(Seccomp, UInt32)] = [
            (Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 38, syscalls: allow), Ret.errno(38)),
            (Seccomp(defaultAction: .SCMP_ACT_ERRNO, syscalls: allow), Ret.errno(EPERM)),
            (Seccomp(defaultAction: .SCMP_ACT_TRACE, defaultErrnoRet: 3, syscalls: allow), Ret.trace(3)),
            (Seccomp(defaultAction: .SCMP_ACT_KILL_PROCESS, syscalls: allow), Ret.killProcess),
            (Seccomp(defaultAction: .SCMP_ACT_KILL, syscalls: allow), Ret.killThread),
            (Seccomp(defaultAction: .SCMP_ACT_TRAP, syscalls: allow), Ret.trap),
            (Seccomp(defaultAction: .SCMP_ACT_LOG, syscalls: allow), Ret.log),
            (Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: []), Ret.allow),
            (Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 1), Ret.errno(1)),
        ]
        for (s, want) in table {
            let (bpf, _, _) = try compileProfile(s)
            XCTAssertEqual(bpf.run(nr: nr("mkdir")), want, "\(s)")
            if s.syscalls?.isEmpty == false {
                XCTAssertEqual(bpf.run(nr: nr("getpid")), Ret.allow, "\(s)")
                XCTAssertEqual(bpf.run(nr: nr("read")), Ret.allow, "\(s)")
            }
        }
    }

    func testEveryOperator() throws {
        let big: UInt64 = 0x1_0000_0005
        // (operator, value, valueTwo, argument -> denied?)
        let table: [(SeccompOperator, UInt64, UInt64?, [(UInt64, Bool)])] = [
            (.SCMP_CMP_EQ, 5, nil, [(5, true), (4, false), (big, false)]),
            (.SCMP_CMP_NE, 5, nil, [(5, false), (4, true), (big, true)]),
            (.SCMP_CMP_LT, 5, nil, [(4, true), (5, false), (6, false), (0, true)]),
            (.SCMP_CMP_LE, 5, nil, [(4, true), (5, true), (6, false)]),
            (.SCMP_CMP_GT, 5, nil, [(4, false), (5, false), (6, true), (big, true)]),
            (.SCMP_CMP_GE, 5, nil, [(4, false), (5, true), (6, true)]),
            (.SCMP_CMP_EQ, big, nil, [(big, true), (5, false)]),
            (.SCMP_CMP_GT, big, nil, [(big + 1, true), (big, false), (0xffff_ffff, false)]),
            // MASKED_EQ: (arg & value) == valueTwo
            (.SCMP_CMP_MASKED_EQ, 0xf0, 0x30, [(0x31, true), (0x3f, true), (0x41, false), (0x130, true)]),
            (.SCMP_CMP_MASKED_EQ, 0x7e02_0000, 0, [(0x11, true), (0x1000_0011, false)]),
        ]
        for (op, value, two, cases) in table {
            let s = Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                            syscalls: [rule(["personality"], .SCMP_ACT_ERRNO, errno: 22, args: [arg(0, op, value, two)])])
            let (bpf, _, _) = try compileProfile(s)
            for (a, denied) in cases {
                XCTAssertEqual(bpf.run(nr: nr("personality"), args: [a]), denied ? Ret.errno(22) : Ret.allow,
                               "\(op.rawValue) \(value) \(two.map(String.init) ?? "-") on \(a)")
            }
        }
    }

    func testConditionsOnDifferentArgumentsAreANDed() throws {
        // kill(pid, sig): deny only SIGKILL to pid 1.
        let s = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [
            rule(["kill"], .SCMP_ACT_ERRNO, errno: 1, args: [arg(0, .SCMP_CMP_EQ, 1), arg(1, .SCMP_CMP_EQ, 9)]),
        ])
        let (bpf, _, _) = try compileProfile(s)
        XCTAssertEqual(bpf.run(nr: nr("kill"), args: [1, 9]), Ret.errno(1))
        XCTAssertEqual(bpf.run(nr: nr("kill"), args: [1, 15]), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("kill"), args: [2, 9]), Ret.allow)
        // Three arguments, one of them masked.
        let s3 = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [
            rule(["socket"], .SCMP_ACT_ERRNO, errno: 97,
                 args: [arg(0, .SCMP_CMP_EQ, 16), arg(1, .SCMP_CMP_MASKED_EQ, 0xf, 3), arg(2, .SCMP_CMP_NE, 0)]),
        ])
        let (b3, _, _) = try compileProfile(s3)
        XCTAssertEqual(b3.run(nr: nr("socket"), args: [16, 0x80003, 9]), Ret.errno(97))
        XCTAssertEqual(b3.run(nr: nr("socket"), args: [16, 0x80003, 0]), Ret.allow)
        XCTAssertEqual(b3.run(nr: nr("socket"), args: [16, 2, 9]), Ret.allow)
        XCTAssertEqual(b3.run(nr: nr("socket"), args: [2, 3, 9]), Ret.allow)
    }

    func testConditionsOnTheSameArgumentAreORed() throws {
        // runc: when an argument is tested twice, every condition becomes a rule of its own.
        let s = Seccomp(defaultAction: .SCMP_ACT_ERRNO, syscalls: [
            rule(["personality"], .SCMP_ACT_ALLOW, args: [arg(0, .SCMP_CMP_EQ, 0), arg(0, .SCMP_CMP_EQ, 8)]),
            rule(["getpid", "exit_group"], .SCMP_ACT_ALLOW),
        ])
        let (bpf, _, _) = try compileProfile(s)
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [0]), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [8]), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [1]), Ret.errno(EPERM))
    }

    func testArchitectures() throws {
        let rules = [rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1)]
        let i386Mkdir: Int32 = 39, x32Mkdir: Int32 = AuditArch.x32Bit | 83
        // Native only: other architectures hit libseccomp's bad-arch action (kill).
        let (native, _, _) = try compileProfile(Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: rules))
        XCTAssertEqual(native.run(nr: nr("mkdir")), Ret.errno(1))
        XCTAssertEqual(native.run(nr: i386Mkdir, arch: AuditArch.i386), Ret.killThread)
        // x86_64 + x86 + x32 as Docker configures amd64.
        let multi = Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                            architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86, .SCMP_ARCH_X32], syscalls: rules)
        let (bpf, _, _) = try compileProfile(multi)
        XCTAssertEqual(bpf.run(nr: nr("mkdir")), Ret.errno(1))
        XCTAssertEqual(bpf.run(nr: i386Mkdir, arch: AuditArch.i386), Ret.errno(1))
        XCTAssertEqual(bpf.run(nr: 20, arch: AuditArch.i386), Ret.allow)   // getpid on i386
        XCTAssertEqual(bpf.run(nr: x32Mkdir), Ret.errno(1))
        XCTAssertEqual(bpf.run(nr: nr("getpid")), Ret.allow)
        // A name that exists only on x86 (socketcall) is placed there and not on x86_64.
        let sc = Seccomp(defaultAction: .SCMP_ACT_ALLOW, architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86],
                         syscalls: [rule(["socketcall"], .SCMP_ACT_ERRNO, errno: 1)])
        let (scb, _, _) = try compileProfile(sc)
        XCTAssertEqual(scb.run(nr: 102, arch: AuditArch.i386), Ret.errno(1))
        XCTAssertEqual(scb.run(nr: 102), Ret.allow)   // 102 is getuid on x86_64
    }

    func testUnknownNamesAreSkippedWithANoteAndDefaultActionRulesAreSkipped() throws {
        let s = Seccomp(defaultAction: .SCMP_ACT_ERRNO, syscalls: [
            rule(["getpid", "no_such_syscall", "read"], .SCMP_ACT_ALLOW),
            rule(["mkdir"], .SCMP_ACT_ERRNO),          // same as the default: skipped, not an error
            rule(["rmdir"], .SCMP_ACT_ERRNO, errno: 2),
        ])
        let (bpf, _, notes) = try compileProfile(s)
        XCTAssertEqual(bpf.run(nr: nr("getpid")), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("read")), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("mkdir")), Ret.errno(EPERM))
        XCTAssertEqual(bpf.run(nr: nr("rmdir")), Ret.errno(2))
        XCTAssertTrue(notes.contains("seccomp: unknown syscall \"no_such_syscall\" ignored (linux.seccomp.syscalls[0].names[1])"), "\(notes)")
        XCTAssertTrue(notes.contains { $0.hasPrefix("seccomp: compiled ") && $0.hasSuffix(" ms") }, "\(notes)")
    }

    func testFlags() throws {
        func flags(_ f: [SeccompFlag], notify: Bool = false) throws -> UInt32 {
            let r = notify ? rule(["mkdir"], .SCMP_ACT_NOTIFY) : rule(["mkdir"], .SCMP_ACT_ERRNO)
            let s = Seccomp(defaultAction: .SCMP_ACT_ALLOW, flags: f, listenerPath: notify ? "/run/x.sock" : nil, syscalls: [r])
            return try compileProfile(s).1.flags
        }
        XCTAssertEqual(try flags([]), 0)
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_TSYNC]), 1)
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_LOG]), 2)
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_SPEC_ALLOW]), 4)
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_LOG, .SECCOMP_FILTER_FLAG_SPEC_ALLOW, .SECCOMP_FILTER_FLAG_LOG]), 6)
        XCTAssertEqual(try flags([], notify: true), 8)
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_TSYNC], notify: true), 1 | 8 | 16, "TSYNC with a listener needs TSYNC_ESRCH")
        XCTAssertEqual(try flags([.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV], notify: true), 8 | 32)
    }

    /// A listenerPath gets a listener even without NOTIFY rules (crun's test_seccomp_listener); no listenerPath, none.
    func testAListenerPathAlwaysGetsItsListener() throws {
        let s = Seccomp(defaultAction: .SCMP_ACT_ALLOW, listenerPath: "/run/x.sock", listenerMetadata: "m",
                        syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)])
        let p = try compileProfile(s).1
        XCTAssertEqual(p.flags, SeccompProfile.flagNewListener)
        XCTAssertEqual(p.listenerPath, "/run/x.sock")
        XCTAssertEqual(p.listenerMetadata, "m")
        let none = try compileProfile(Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)])).1
        XCTAssertEqual(none.flags, 0)
        XCTAssertNil(none.listenerPath)
    }

    /// Docker's hardened config (OCI form): a big allow-list, the personality and clone argument rules, three
    /// architectures. Also proves the binary tree is on (range jumps over syscall numbers).
    func testDockerHardenedConfigProfile() throws {
        let path = sharedDataDir + "/engines/hardened-config.docker.pretty.json"
        guard let bytes = readBytes(path) else { throw XCTSkip("\(path) not available") }
        let spec = try Spec.parse(bytes)
        let s = try XCTUnwrap(spec.linux?.seccomp)
        let (bpf, prog, notes) = try compileProfile(s)
        XCTAssertEqual(prog.flags, 0)
        XCTAssertLessThanOrEqual(bpf.insns.count, 4096)
        let eperm = Ret.errno(EPERM)
        XCTAssertEqual(bpf.run(nr: nr("read")), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("getpid")), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("unshare")), eperm)
        XCTAssertEqual(bpf.run(nr: nr("mount")), eperm)
        XCTAssertEqual(bpf.run(nr: nr("keyctl")), eperm)
        XCTAssertEqual(bpf.run(nr: nr("clone3")), Ret.errno(ENOSYS))
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [0]), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [0xffff_ffff]), Ret.allow)
        XCTAssertEqual(bpf.run(nr: nr("personality"), args: [1]), eperm)
        XCTAssertEqual(bpf.run(nr: nr("clone"), args: [0x1200011]), Ret.allow)        // fork-like flags
        XCTAssertEqual(bpf.run(nr: nr("clone"), args: [0x1000_0000 | 0x11]), eperm)   // CLONE_NEWUSER
        XCTAssertEqual(bpf.run(nr: 20, arch: AuditArch.i386), Ret.allow)              // getpid on x86
        XCTAssertEqual(bpf.run(nr: 21, arch: AuditArch.i386), eperm)                  // mount on x86
        // The binary tree splits syscall numbers with JGT/JGE; a linear libseccomp filter has none without
        // range operators, and this profile has none.
        XCTAssertTrue(bpf.codes.contains(0x25) || bpf.codes.contains(0x35), "no range jumps: binary tree off?")
        XCTAssertTrue(notes.contains { $0.hasPrefix("seccomp: compiled ") })
    }

    func testBinaryTreeForALongAllowList() throws {
        let names = ["read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap", "mprotect",
                     "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "pwrite64", "readv",
                     "writev", "access", "pipe", "select", "sched_yield", "mremap", "msync", "mincore", "madvise",
                     "dup", "dup2", "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile"]
        let s = Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 38, syscalls: [rule(names, .SCMP_ACT_ALLOW)])
        let (bpf, _, _) = try compileProfile(s)
        XCTAssertTrue(bpf.codes.contains(0x25) || bpf.codes.contains(0x35), "no range jumps: binary tree off?")
        for n in names { XCTAssertEqual(bpf.run(nr: nr(n)), Ret.allow, n) }
        for n in ["mkdir", "socket", "clone", "execve", "exit_group"] { XCTAssertEqual(bpf.run(nr: nr(n)), Ret.errno(38), n) }
        XCTAssertEqual(bpf.run(nr: 999), Ret.errno(38))
    }

    private func readBytes(_ path: String) -> [UInt8]? {
        try? Spec.readFile(path)
    }
}
