import CCorral
import CorralSpec
import Glibc

/// Runs hooks in the runtime process through the C runner (`corral_run_hook`), which the parked init shares for
/// startContainer. Each kind gets the state JSON once, in a sealed memfd that every hook reads from offset 0.
enum HookRunner {
    /// Up to this much of a hook's stdout and of its stderr goes into the error text.
    static let captureBytes = 4096

    /// Namespaces of a running container to execute createContainer hooks in.
    struct Join {
        var pidfd: Int32
        var flags: Int32
    }

    /// Runs `hooks` in order; the first failure is thrown as runc words it (`error running <kind> hook #<i>: ...`).
    static func run(_ kind: HookKind, _ hooks: [PlannedHook], state: JSONObject, cwd: String?,
                    join: Join? = nil) throws(RuntimeError) {
        guard !hooks.isEmpty else { return }
        let stateFD = try stateFile(state)
        defer { close(stateFD) }
        for (i, h) in hooks.enumerated() {
            if let failure = runOne(kind, index: i, h, stateFD: stateFD, cwd: cwd, join: join) {
                throw RuntimeError(.system, failure)
            }
        }
    }

    /// poststart and poststop: the spec says a failing hook is a warning and the remaining hooks and the
    /// lifecycle go on as if it had succeeded.
    static func runWarning(_ kind: HookKind, _ hooks: [PlannedHook], state: JSONObject, cwd: String?,
                           warn: (String) -> Void) {
        guard !hooks.isEmpty else { return }
        let stateFD: Int32
        do { stateFD = try stateFile(state) } catch {
            warn("\(kind.rawValue) hooks not run: \(error.message)")
            return
        }
        defer { close(stateFD) }
        for (i, h) in hooks.enumerated() {
            if let failure = runOne(kind, index: i, h, stateFD: stateFD, cwd: cwd, join: nil) { warn(failure) }
        }
    }

    /// The state for the hooks' stdin as a sealed memfd (also what COMMIT hands the init for startContainer).
    static func stateFile(_ state: JSONObject) throws(RuntimeError) -> Int32 {
        let bytes = JSONValue.object(state).serializedBytes()
        let fd = bytes.withUnsafeBytes { corral_sealed_memfd("corral-state", $0.baseAddress, $0.count) }
        if fd < 0 { throw .system("memfd for the hook state", -fd) }
        return fd
    }

    /// The error text of a failed hook, nil when it exited 0.
    private static func runOne(_ kind: HookKind, index: Int, _ h: PlannedHook, stateFD: Int32, cwd: String?,
                               join: Join?) -> String? {
        let arena = PlanArena()
        var hook = corral_hook()
        hook.path = arena.string(h.path)
        hook.argv = arena.strings(h.argv)
        hook.envp = h.env.map { arena.strings($0) } ?? nil
        hook.timeout = Int32(clamping: h.timeout ?? 0)
        var how = corral_hook_run()
        how.state_fd = stateFD
        how.cwd = arena.string(cwd)
        how.join_pidfd = join?.pidfd ?? -1
        how.join_flags = join?.flags ?? 0
        var out = [CChar](repeating: 0, count: captureBytes)
        var err = [CChar](repeating: 0, count: captureBytes)
        var text = [CChar](repeating: 0, count: Int(CORRAL_HOOK_TEXT_MAX))
        let textCap = text.count
        return out.withUnsafeMutableBufferPointer { o in
            err.withUnsafeMutableBufferPointer { e in
                var r = corral_hook_result()
                r.out = o.baseAddress; r.out_cap = Int32(o.count)
                r.errout = e.baseAddress; r.err_cap = Int32(e.count)
                if corral_run_hook(&hook, &how, &r) == 0 { return nil }
                _ = corral_hook_describe(kind.rawValue, Int32(index), &hook, &r, &text, textCap)
                return String(cString: text)
            }
        }
    }

    /// createContainer: the namespaces of the init that differ from ours (joining one we are already in is an
    /// error for a user namespace and pointless for the others).
    static func containerNamespaces(of pid: Int32) -> Int32 {
        let types: [(String, Int32)] = [
            ("user", CORRAL_CLONE_NEWUSER), ("mnt", CORRAL_CLONE_NEWNS), ("pid", CORRAL_CLONE_NEWPID),
            ("net", CORRAL_CLONE_NEWNET), ("ipc", CORRAL_CLONE_NEWIPC), ("uts", CORRAL_CLONE_NEWUTS),
            ("cgroup", CORRAL_CLONE_NEWCGROUP), ("time", CORRAL_CLONE_NEWTIME),
        ].map { ($0.0, Int32($0.1.rawValue)) }
        var flags: Int32 = 0
        for (name, flag) in types {
            var mine = stat(), theirs = stat()
            guard stat("/proc/self/ns/\(name)", &mine) == 0, stat("/proc/\(pid)/ns/\(name)", &theirs) == 0 else { continue }
            if mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino { flags |= flag }
        }
        return flags
    }
}
