import CorralSpec
import Glibc

/// Seccomp audit mode (`io.corral.seccomp.audit=true`, or the policy's `seccompAudit`): what the profile refuses
/// with an errno is reported, not only refused.
///
/// The compiled program is rewritten, not recompiled: every `ret SECCOMP_RET_ERRNO|e` instruction becomes
/// `ret SECCOMP_RET_USER_NOTIF`, and the filter is loaded with a listener. Every other instruction stays as it
/// was, so an allowed syscall runs exactly the instructions it ran before and takes the same time; only a denied
/// one goes through the monitor. The notification carries the syscall's `seccomp_data` but not the errno the rule
/// meant (the kernel does not pass a USER_NOTIF's data bits on), so the monitor runs the *original* program on that
/// data (`evaluate`, a classic BPF interpreter: a filter depends on nothing else) and answers with its errno. The
/// answer is therefore the profile's own, rule for rule, including runc's ENOSYS stub for syscalls newer than the
/// profile.
///
/// A profile with a `listenerPath` (with or without `SCMP_ACT_NOTIFY` rules) has its one listener promised to an
/// agent: audit mode refuses it, as it refuses a profile that denies what the container's first process needs to
/// hand the listener over (it would wait for an answer nobody can give yet).
enum SeccompAudit {
    static let retActionFull: UInt32 = 0xffff_0000
    static let retData: UInt32 = 0x0000_ffff

    /// The audit form of `program`: ERRNO returns notify, and the listener flag is set (with TSYNC_ESRCH when
    /// TSYNC is there: the kernel cannot return a thread id and a listener fd at once). Also returns how many
    /// returns were rewritten.
    static func notifying(_ program: SeccompProgram) -> (program: SeccompProgram, rewritten: Int) {
        var bpf = program.filter
        var count = 0
        var i = 0
        while i + 8 <= bpf.count {
            let code = UInt16(bpf[i]) | UInt16(bpf[i + 1]) << 8
            if code == 0x06 {   // BPF_RET | BPF_K
                let k = UInt32(bpf[i + 4]) | UInt32(bpf[i + 5]) << 8 | UInt32(bpf[i + 6]) << 16 | UInt32(bpf[i + 7]) << 24
                if k & retActionFull == SeccompProfile.retErrno {
                    let n = SeccompProfile.retUserNotif
                    bpf[i + 4] = UInt8(n & 0xff); bpf[i + 5] = UInt8((n >> 8) & 0xff)
                    bpf[i + 6] = UInt8((n >> 16) & 0xff); bpf[i + 7] = UInt8(n >> 24)
                    count += 1
                }
            }
            i += 8
        }
        var out = program
        out.filter = bpf
        out.flags |= SeccompProfile.flagNewListener
        if out.flags & SeccompProfile.flagTsync != 0 { out.flags |= SeccompProfile.flagTsyncESRCH }
        return (out, count)
    }

    /// Syscalls the container's first process makes between loading the filter and handing the listener to the
    /// runtime (`load_seccomp` → `child_exchange`): they must not be denied, or they would wait for an answer.
    static let handOverSyscalls = ["sendmsg", "sendto", "recvfrom", "recvmsg", "poll", "ppoll", "close"]

    /// The audit form of a planned filter, or an error naming `field` when the profile cannot be audited.
    static func plan(_ program: SeccompProgram, field: String) throws(RuntimeError) -> SeccompProgram {
        if program.flags & SeccompProfile.flagNewListener != 0 {
            throw RuntimeError(.config, "\(field): the profile already gives its listener to linux.seccomp.listenerPath; audit mode needs it")
        }
        for name in handOverSyscalls {
            guard let nr = SeccompCompiler.syscallNumber(name), nr >= 0 else { continue }
            let ret = evaluate(program.filter, nr: nr, arch: nativeAuditArch, args: [])
            if ret & retActionFull == SeccompProfile.retErrno {
                throw RuntimeError(.config, "\(field): the profile denies \(name), which the container's first process needs to hand the audit listener over")
            }
        }
        return notifying(program).program
    }

    /// AUDIT_ARCH_* of this machine, as `seccomp_data.arch` carries it.
    static var nativeAuditArch: UInt32 {
        #if arch(x86_64)
        return 0xC000_003E
        #elseif arch(arm64)
        return 0xC000_00B7
        #else
        return 0
        #endif
    }

    /// Runs a classic BPF seccomp program on one `seccomp_data` and returns its SECCOMP_RET_* value (see
    /// `SeccompBPF`).
    static func evaluate(_ bpf: [UInt8], nr: Int32, arch: UInt32, ip: UInt64 = 0, args: [UInt64]) -> UInt32 {
        SeccompBPF(bpf).run(nr: nr, arch: arch, ip: ip, args: args)
    }
}

/// A classic BPF seccomp program decoded once, run on `seccomp_data` (nr, arch, instruction pointer, six
/// arguments) as the kernel would. Implements what the kernel's seccomp_check_filter admits; a malformed program (a
/// jump or load out of range) answers SECCOMP_RET_KILL_PROCESS, as the kernel would never have loaded it. The
/// monitor runs it for every denied syscall in audit mode, so a run allocates nothing.
struct SeccompBPF {
    /// One `struct sock_filter`.
    struct Instruction { var code: UInt16; var jt: UInt8; var jf: UInt8; var k: UInt32 }
    let program: [Instruction]

    init(_ bpf: [UInt8]) {
        var p: [Instruction] = []
        p.reserveCapacity(bpf.count / 8)
        var o = 0
        while o + 8 <= bpf.count {
            p.append(Instruction(code: UInt16(bpf[o]) | UInt16(bpf[o + 1]) << 8, jt: bpf[o + 2], jf: bpf[o + 3],
                                 k: UInt32(bpf[o + 4]) | UInt32(bpf[o + 5]) << 8 | UInt32(bpf[o + 6]) << 16 | UInt32(bpf[o + 7]) << 24))
            o += 8
        }
        program = p
    }

    func run(nr: Int32, arch: UInt32, ip: UInt64, args: [UInt64]) -> UInt32 {
        var a6: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &a6) { b in
            for (i, v) in args.prefix(6).enumerated() { b.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self) }
        }
        return run(nr: nr, arch: arch, ip: ip, args: a6)
    }

    func run(nr: Int32, arch: UInt32, ip: UInt64, args: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) -> UInt32 {
        // struct seccomp_data as 16 words, and the 16 scratch words, on the stack.
        var data: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                   UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (UInt32(bitPattern: nr), arch, UInt32(truncatingIfNeeded: ip), UInt32(truncatingIfNeeded: ip >> 32),
             UInt32(truncatingIfNeeded: args.0), UInt32(truncatingIfNeeded: args.0 >> 32),
             UInt32(truncatingIfNeeded: args.1), UInt32(truncatingIfNeeded: args.1 >> 32),
             UInt32(truncatingIfNeeded: args.2), UInt32(truncatingIfNeeded: args.2 >> 32),
             UInt32(truncatingIfNeeded: args.3), UInt32(truncatingIfNeeded: args.3 >> 32),
             UInt32(truncatingIfNeeded: args.4), UInt32(truncatingIfNeeded: args.4 >> 32),
             UInt32(truncatingIfNeeded: args.5), UInt32(truncatingIfNeeded: args.5 >> 32))
        var mem = data
        return withUnsafeBytes(of: &data) { d in
            withUnsafeMutableBytes(of: &mem) { m in
                execute(d.bindMemory(to: UInt32.self), m.bindMemory(to: UInt32.self))
            }
        }
    }

    private func execute(_ data: UnsafeBufferPointer<UInt32>, _ mem: UnsafeMutableBufferPointer<UInt32>) -> UInt32 {
        let bad = SeccompProfile.retKillProcess
        for i in 0..<16 { mem[i] = 0 }
        var a: UInt32 = 0, x: UInt32 = 0
        var pc = 0
        let count = program.count
        while pc < count {
            let ins = program[pc]
            let code = ins.code, k = ins.k
            pc += 1
            switch code & 0x07 {
            case 0x00:   // BPF_LD
                switch code {
                case 0x20: guard k % 4 == 0, k < 64 else { return bad }; a = data[Int(k / 4)]   // W | ABS
                case 0x80: a = 64                                                                  // W | LEN
                case 0x00: a = k                                                                   // IMM
                case 0x60: guard k < 16 else { return bad }; a = mem[Int(k)]                       // MEM
                default: return bad
                }
            case 0x01:   // BPF_LDX
                switch code {
                case 0x81: x = 64
                case 0x01: x = k
                case 0x61: guard k < 16 else { return bad }; x = mem[Int(k)]
                default: return bad
                }
            case 0x02: guard k < 16 else { return bad }; mem[Int(k)] = a   // BPF_ST
            case 0x03: guard k < 16 else { return bad }; mem[Int(k)] = x   // BPF_STX
            case 0x04:   // BPF_ALU
                let src = code & 0x08 != 0 ? x : k
                switch code & 0xf0 {
                case 0x00: a = a &+ src
                case 0x10: a = a &- src
                case 0x20: a = a &* src
                case 0x30: guard src != 0 else { return bad }; a /= src
                case 0x40: a |= src
                case 0x50: a &= src
                case 0x60: a = src >= 32 ? 0 : a << src
                case 0x70: a = src >= 32 ? 0 : a >> src
                case 0x80: a = 0 &- a
                case 0x90: guard src != 0 else { return bad }; a %= src
                case 0xa0: a ^= src
                default: return bad
                }
            case 0x05:   // BPF_JMP
                let src = code & 0x08 != 0 ? x : k
                let taken: Bool
                switch code & 0xf0 {
                case 0x00: pc += Int(k); continue   // JA
                case 0x10: taken = a == src
                case 0x20: taken = a > src
                case 0x30: taken = a >= src
                case 0x40: taken = a & src != 0
                default: return bad
                }
                pc += Int(taken ? ins.jt : ins.jf)
            case 0x06:   // BPF_RET
                return code & 0x18 == 0x10 ? a : k
            case 0x07:   // BPF_MISC
                switch code {
                case 0x07: x = a   // TAX
                case 0x87: a = x   // TXA
                default: return bad
                }
            default:
                return bad
            }
        }
        return bad
    }
}
