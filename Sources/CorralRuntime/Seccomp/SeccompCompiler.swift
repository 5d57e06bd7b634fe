import CSeccomp
import Glibc

/// Compiles a `SeccompProfile` to classic BPF (`struct sock_filter` records) with libseccomp, in the parent. The child
/// only hands the bytes to seccomp(2).
///
/// Syscall names libseccomp does not know are skipped with a debug note, as runc does: profiles such as Docker's list
/// syscalls of every architecture and of kernels newer than the library, and such a syscall simply falls to the default
/// action. A name libseccomp knows for another architecture only (a negative "pseudo" number on this one) is added
/// and libseccomp places it on the architectures that have it.
enum SeccompCompiler {
    /// libseccomp's version, fixed at build time (the library is linked statically); part of the cache key.
    static let libseccompVersion = "\(SCMP_VER_MAJOR).\(SCMP_VER_MINOR).\(SCMP_VER_MICRO)"
    /// BPF_MAXINSNS: the kernel refuses longer classic BPF programs.
    static let maxInstructions = 4096

    /// The BPF bytes (8 per instruction). `note` gets debug facts (skipped names).
    static func compile(_ p: SeccompProfile, note: (String) -> Void) throws(RuntimeError) -> [UInt8] {
        guard let ctx = seccomp_init(p.defaultAction) else {
            throw RuntimeError(.config, "linux.seccomp.defaultAction: libseccomp \(libseccompVersion) cannot create a filter with this action")
        }
        defer { seccomp_release(ctx) }
        func attr(_ a: scmp_filter_attr, _ v: UInt32, _ what: String) throws(RuntimeError) {
            let r = seccomp_attr_set(ctx, a, v)
            if r < 0 { throw RuntimeError(.system, "seccomp: set \(what): \(errnoText(-r))") }
        }
        // The filter is loaded by corral's child, not libseccomp: no NO_NEW_PRIVS from here.
        try attr(SCMP_FLTATR_CTL_NNP, 0, "no_new_privs attribute")

        for (name, path) in p.architectures {
            let token = archToken(name)
            if token == 0 {
                throw RuntimeError(.config, "\(path): SCMP_ARCH_\(name.uppercased()) is not supported by libseccomp \(libseccompVersion)")
            }
            let r = seccomp_arch_add(ctx, token)
            if r < 0 && r != -EEXIST {
                throw RuntimeError(.config, "\(path): adding architecture SCMP_ARCH_\(name.uppercased()): \(errnoText(-r))")
            }
        }

        var added = 0
        for rule in p.rules {
            // libseccomp refuses a rule with the default action; it would change nothing anyway (runc skips it too).
            if rule.action == p.defaultAction { continue }
            // Conditions on the same argument twice cannot be ANDed by libseccomp: they become one rule each (ORed),
            // runc's long-standing interpretation.
            var seen = Set<UInt32>()
            let repeated = rule.conditions.contains { !seen.insert($0.index).inserted }
            let sets: [[SeccompProfile.Condition]] = repeated ? rule.conditions.map { [$0] } : [rule.conditions]
            for (j, name) in rule.names.enumerated() {
                let nr = name.withCString { seccomp_syscall_resolve_name($0) }
                if nr == -1 {   // __NR_SCMP_ERROR
                    note("seccomp: unknown syscall \"\(name)\" ignored (\(rule.path).names[\(j)])")
                    continue
                }
                for conds in sets {
                    let cmps = conds.map { c in
                        scmp_arg_cmp(arg: c.index, op: scmp_compare(rawValue: c.op), datum_a: c.a, datum_b: c.b)
                    }
                    let r = cmps.withUnsafeBufferPointer { buf in
                        seccomp_rule_add_array(ctx, rule.action, nr, UInt32(buf.count), buf.baseAddress)
                    }
                    if r < 0 {
                        throw RuntimeError(.config, "\(rule.path).names[\(j)]: error adding seccomp filter rule for syscall \(name): \(errnoText(-r))")
                    }
                    added += 1
                }
            }
        }
        // Binary-tree dispatch over syscall numbers: O(log n) compares per syscall instead of a linear scan. Not for a
        // filter without rules: runc found libseccomp <= 2.5.4 misbehaving there, and there is nothing to dispatch.
        if added > 0 { try attr(SCMP_FLTATR_CTL_OPTIMIZE, 2, "binary tree optimization") }

        let fd = corral_seccomp_memfd()
        if fd < 0 { throw .system("seccomp: memfd_create", -fd) }
        defer { close(fd) }
        let r = seccomp_export_bpf(ctx, fd)
        if r < 0 { throw RuntimeError(.system, "seccomp: export BPF: \(errnoText(-r))") }
        let size = lseek(fd, 0, SEEK_END)
        if size < 0 || size % 8 != 0 { throw RuntimeError(.system, "seccomp: libseccomp exported \(size) bytes, not whole instructions") }
        let count = Int(size) / 8
        if count == 0 || count > maxInstructions {
            throw RuntimeError(.config, "linux.seccomp: the compiled filter has \(count) instructions; the kernel takes 1 to \(maxInstructions)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if n != Int(size) { throw .system("seccomp: read exported BPF", n < 0 ? errno : EIO) }
        let stub = enosysStub(p)
        if count + stub.count / 8 > maxInstructions {
            throw RuntimeError(.config, "linux.seccomp: the compiled filter has \(count + stub.count / 8) instructions; the kernel takes 1 to \(maxInstructions)")
        }
        return stub + bytes
    }

    /// runc's -ENOSYS stub, put in front of libseccomp's program: a syscall newer than every syscall the profile
    /// names (for that architecture) gets ENOSYS instead of the default action. Programs probe for new syscalls
    /// (clone3, openat2, close_range, ...) and fall back on ENOSYS; an EPERM default would make them fail instead.
    /// Not added when the default action lets everything through anyway. x32 numbers (bit 30) are left to the
    /// program behind, which knows whether the profile allows that ABI.
    static func enosysStub(_ p: SeccompProfile) -> [UInt8] {
        let d = p.defaultAction
        if d == SeccompProfile.retAllow || d == SeccompProfile.retLog || d == SeccompProfile.retErrno | UInt32(ENOSYS) {
            return []
        }
        let native = seccomp_arch_native()
        var arches: [UInt32] = [native]
        for (name, _) in p.architectures {
            let t = archToken(name)
            if t != 0 && !arches.contains(t) && t != SCMP_ARCH_X32_TOKEN { arches.append(t) }
        }
        let names = Set(p.rules.flatMap { $0.names })
        var blocks: [(arch: UInt32, max: UInt32)] = []
        for a in arches {
            let numbers = names.compactMap { n -> Int32? in
                let nr = n.withCString { seccomp_syscall_resolve_name_arch(a, $0) }
                return nr >= 0 ? nr : nil
            }
            if let m = numbers.max() { blocks.append((a, UInt32(m))) }
        }
        guard !blocks.isEmpty else { return [] }
        // Classic BPF: code, jt, jf, k. Offsets are relative to the next instruction.
        var prog: [(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)] = [(0x20, 0, 0, 4)]   // ld [4] (arch)
        let blockLength = { (a: UInt32) -> Int in a == SCMP_ARCH_X86_64_TOKEN ? 4 : 3 }
        let total = 1 + blocks.reduce(0) { $0 + blockLength($1.arch) } + 1   // + ret ENOSYS
        let ret = total - 1, end = total
        for b in blocks {
            let start = prog.count, next = start + blockLength(b.arch)
            func off(_ target: Int, from pc: Int) -> UInt8 { UInt8(target - pc - 1) }
            prog.append((0x15, 0, off(next == ret ? end : next, from: start), b.arch))   // jeq arch, fall, next/end
            prog.append((0x20, 0, 0, 0))                                                   // ld [0] (nr)
            if b.arch == SCMP_ARCH_X86_64_TOKEN {
                prog.append((0x45, off(end, from: prog.count), 0, 0x4000_0000))           // jset x32 bit: to end
            }
            prog.append((0x25, off(ret, from: prog.count), off(end, from: prog.count), b.max))  // jgt max: ENOSYS
        }
        prog.append((0x06, 0, 0, SeccompProfile.retErrno | UInt32(ENOSYS)))
        var out: [UInt8] = []
        out.reserveCapacity(prog.count * 8)
        for i in prog {
            out += [UInt8(i.code & 0xff), UInt8(i.code >> 8), i.jt, i.jf,
                    UInt8(i.k & 0xff), UInt8((i.k >> 8) & 0xff), UInt8((i.k >> 16) & 0xff), UInt8(i.k >> 24)]
        }
        return out
    }

    /// AUDIT_ARCH_X86_64 and the x32 token (EM_X86_64 | LE), as libseccomp defines them.
    static let SCMP_ARCH_X86_64_TOKEN: UInt32 = 0xC000_003E
    static let SCMP_ARCH_X32_TOKEN: UInt32 = 0x4000_003E

    /// libseccomp's token for an architecture name ("x86_64"), 0 when this libseccomp does not know it.
    static func archToken(_ name: String) -> UInt32 {
        name.withCString { seccomp_arch_resolve_name($0) }
    }

    /// Whether a profile listing the architecture `name` compiles: libseccomp knows it, and it can join a filter
    /// for this machine (a filter has one byte order: on x86_64 the big-endian s390x, ppc64, mips, ... are refused
    /// with EDOM). `corral features` lists exactly these.
    static func supports(arch name: String) -> Bool {
        let token = archToken(name)
        guard token != 0, let ctx = seccomp_init(SeccompProfile.retAllow) else { return false }
        defer { seccomp_release(ctx) }
        let r = seccomp_arch_add(ctx, token)
        return r == 0 || r == -EEXIST
    }

    /// The number of `name` on this architecture, nil when libseccomp does not know it (tests, diagnostics).
    static func syscallNumber(_ name: String) -> Int32? {
        let nr = name.withCString { seccomp_syscall_resolve_name($0) }
        return nr == -1 ? nil : nr
    }
}
