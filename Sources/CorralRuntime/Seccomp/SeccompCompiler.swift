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
        return bytes
    }

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
