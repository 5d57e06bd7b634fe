import CSeccomp
import CorralSpec
import Glibc

/// `linux.seccomp` → `SeccompProgram`: validate, check the running kernel, then take the compiled filter from the
/// cache or compile it with libseccomp (and cache it). Called by the planner, so every error comes before anything
/// exists on the host.
enum SeccompPlanner {
    /// Bumped whenever the compiled output for the same profile would change (part of the cache key).
    static let formatVersion = "corral-seccomp-2"

    /// `cacheDir` nil compiles every time (unit tests). `note` gets the debug lines "seccomp: cache hit <key> (N
    /// instructions in X ms)" or "seccomp: compiled N instructions in X ms" (tests rely on these words); both times
    /// cover validation, the kernel checks and hashing too.
    static func plan(_ s: Seccomp?, cacheDir: String?, note: (String) -> Void) throws(RuntimeError) -> SeccompProgram? {
        guard let s else { return nil }
        let start = monotonicNanos()
        func elapsed() -> String { "\(Double((monotonicNanos() - start) / 1000) / 1000) ms" }
        let profile = try SeccompProfile.resolve(s)
        try SeccompKernel.check(profile)
        let key = cacheKey(profile)
        let cache = cacheDir.map { SeccompCache(dir: $0) }
        if let cache, let bpf = cache.load(key) {
            note("seccomp: cache hit \(key) (\(bpf.count / 8) instructions in \(elapsed()))")
            return program(profile, bpf)
        }
        let bpf = try SeccompCompiler.compile(profile, note: note)
        note("seccomp: compiled \(bpf.count / 8) instructions in \(elapsed())")
        if let cache, let problem = cache.store(key, bpf) { note("seccomp: not cached: \(problem)") }
        return program(profile, bpf)
    }

    /// Hex SHA-256 of the canonical profile, the architecture, the libseccomp version and `formatVersion`.
    static func cacheKey(_ p: SeccompProfile) -> String {
        var h = SHA256()
        h.update(p.canonicalJSON)
        h.update("\n" + SeccompProfile.nativeArch + "\nlibseccomp " + SeccompCompiler.libseccompVersion + "\n" + formatVersion)
        return SHA256.hex(h.finish())
    }

    private static func program(_ p: SeccompProfile, _ bpf: [UInt8]) -> SeccompProgram {
        SeccompProgram(filter: bpf, flags: p.flags, listenerPath: p.listenerPath, listenerMetadata: p.listenerMetadata)
    }

    private static func monotonicNanos() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }
}

/// What the running kernel supports, asked directly (flags and actions are not cached: they cost a syscall each).
enum SeccompKernel {
    /// Refuses flags and actions this kernel does not implement, naming the config path.
    static func check(_ p: SeccompProfile) throws(RuntimeError) {
        // One probe with exactly the flags the child will pass; on failure find the config entry to blame.
        if p.flags != 0 && !flagSupported(p.flags) {
            for (flag, name, path) in p.flagPaths where !supports(flag: flag) {
                throw RuntimeError(.config, "\(path): \(name) is not supported by the running kernel")
            }
            throw RuntimeError(.config, "linux.seccomp: the running kernel refuses the filter flags 0x\(String(p.flags, radix: 16))"
                + (p.notifies ? " (SCMP_ACT_NOTIFY needs a seccomp listener, Linux 5.0; with TSYNC, Linux 5.7)" : ""))
        }
        for (action, name, path) in p.actionPaths {
            let r = corral_seccomp_action_avail(action)
            if r != 0 {
                throw RuntimeError(.config, "\(path): \(name) is not supported by the running kernel: \(errnoText(r))")
            }
        }
    }

    static func flagSupported(_ flags: UInt32) -> Bool {
        corral_seccomp_probe_flags(flags) == EFAULT
    }

    /// Whether the kernel takes the single config flag `flag` (a SECCOMP_FILTER_FLAG_* bit). WAIT_KILLABLE_RECV is
    /// only accepted together with NEW_LISTENER (resolve() makes sure a profile using it has a listener).
    static func supports(flag: UInt32) -> Bool {
        flagSupported(flag == SeccompProfile.flagWaitKillableRecv ? flag | SeccompProfile.flagNewListener : flag)
    }

    /// Whether the kernel implements `action` (SECCOMP_GET_ACTION_AVAIL on its SECCOMP_RET_* value; NOTIFY also
    /// needs the listener flag): what `check` refuses for a profile, `corral features` leaves out.
    static func supports(action: SeccompAction) -> Bool {
        guard let value = try? SeccompProfile.action(action, errno: nil, errnoPath: "") else { return false }
        if action == .SCMP_ACT_NOTIFY && !flagSupported(SeccompProfile.flagNewListener) { return false }
        return corral_seccomp_action_avail(value & 0xffff_0000) == 0
    }
}
