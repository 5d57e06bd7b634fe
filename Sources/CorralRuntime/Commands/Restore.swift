import CCorral
import CCorralHost
import CorralSpec
import Glibc

extension Commands {
    static let restoreOptions: [OptionSpec] = [
        OptionSpec(["console-socket"], value: true, "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
        OptionSpec(["image-path"], value: true, "path to criu image files for restoring"),
        OptionSpec(["work-path"], value: true, "path for saving work files and logs"),
        OptionSpec(["tcp-established"], "allow open tcp connections"),
        OptionSpec(["ext-unix-sk"], "allow external unix sockets"),
        OptionSpec(["shell-job"], "allow shell jobs"),
        OptionSpec(["file-locks"], "handle file locks, for safety"),
        OptionSpec(["manage-cgroups-mode"], value: true, "cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'"),
        OptionSpec(["b", "bundle"], value: true, "path to the root of the bundle directory"),
        OptionSpec(["d", "detach"], "detach from the container's process"),
        OptionSpec(["pid-file"], value: true, "specify the file to write the process id to"),
        OptionSpec(["no-subreaper"], "disable the use of the subreaper used to reap reparented processes"),
        OptionSpec(["no-pivot"], "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"),
        OptionSpec(["empty-ns"], value: true, "create a namespace, but don't restore its properties"),
        OptionSpec(["auto-dedup"], "enable auto deduplication of memory images"),
        OptionSpec(["lazy-pages"], "use userfaultfd to lazily restore memory pages"),
        OptionSpec(["lsm-profile"], value: true, "Specify an LSM profile to be used during restore in the form of TYPE:NAME."),
        OptionSpec(["lsm-mount-context"], value: true, "Specify an LSM mount context to be used during restore."),
    ]

    static let restore = Verb(name: "restore", usage: "[command options] <container-id>",
                              summary: "restore a container from a previous checkpoint", options: restoreOptions) { ctx, o throws(RuntimeError) in
        try Restore.run(ctx, id: try containerID(o), o)
    }
}

/// `restore`: a new container (this id, the bundle's config.json) whose processes criu brings back from the
/// images. It is recorded and placed exactly as `create` records and places a container (state, cgroups with
/// the config's limits, the saved config), so every other verb treats it as any running container. criu runs
/// with --restore-sibling, so the restored init is our child: `--detach` leaves it to our parent's reaper, in the
/// foreground we wait for it as `run` does and delete the container after it exits.
enum Restore {
    static func run(_ ctx: Context, id: String, _ o: ParsedOptions) throws(RuntimeError) -> Int32 {
        let opts = try CriuOptions.parse(o, creatingImages: false)
        let detach = o.bool("detach")
        let bundle = Files.absolute(o.string("bundle") ?? ".")
        let raw = try Files.read(bundle + "/config.json", limit: Spec.maxDocumentBytes)
        let spec: Spec
        do { spec = try Spec.parse(raw) } catch { throw RuntimeError.config(error) }
        // The administrator's policy holds for a restored container as for a created one.
        let policy = try PolicyCheck.enforce(policyPath: ctx.globals.policyPath, spec, bundle: bundle)
        let consoleSocket = o.string("console-socket")
        var planOptions = PlanOptions(id: id, bundle: bundle, noPivot: o.bool("no-pivot"),
                                      hasConsoleSocket: consoleSocket != nil, terminalRelay: !detach)
        planOptions.systemdCgroup = ctx.globals.systemdCgroup
        planOptions.seccompCacheDir = ctx.store.root + "/.cache/seccomp"
        var plan = try Planner.plan(spec, options: planOptions, warn: { ctx.log.warn($0) }, note: { ctx.log.debug($0) })
        guard let cgroupPlan = plan.host.cgroups else { throw RuntimeError(.system, "internal error: no cgroup plan") }
        if let ll = plan.landlock { throw LandlockPlanner.notRestorable(ll, verb: "restore") }
        // Run limits, seccomp audit mode and the audit trail live in the monitor `create` starts, which cannot be
        // resumed mid-run: a container restored without them would run unwatched, so it is refused.
        if try SandboxLaunch.prepare(spec, rawConfig: raw, policy: policy, plan: &plan, root: ctx.store.root, id: id) != nil {
            throw RuntimeError(.unsupported, "restore of a container with run limits, seccomp audit mode or an audit trail (io.corral.* annotations or the policy) is not supported by this version of corral: its monitor cannot be resumed")
        }
        let binary = try CriuInvocation.resolveBinary(ctx.globals.criu)
        if (plan.terminal && !opts.shellJob) || consoleSocket != nil {
            // The new pty master would come from criu's RPC (orphan-pts-master); its command line cannot hand it over.
            throw RuntimeError(.unsupported, "restore of a container with a terminal (process.terminal, --console-socket) is not supported by this version of corral")
        }
        if !plan.hooks[.createContainer].isEmpty {
            ctx.log.warn("createContainer hooks are not run on restore (as with runc)")
        }
        let imageFD = open(opts.imagePath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if imageFD < 0 { throw .system("open \(opts.imagePath)", errno) }
        close(imageFD)
        let descriptorsPath = opts.imagePath + "/" + CriuInvocation.descriptorsFile
        let descriptors: [String]
        do {
            descriptors = (try JSONValue.parse(try Files.read(descriptorsPath)).arrayValue ?? []).map { $0.stringValue ?? "" }
        } catch let e as RuntimeError {
            throw e
        } catch {
            throw RuntimeError(.system, "\(descriptorsPath): invalid JSON")
        }
        if let w = opts.workPath { try Files.mkdirAll(w, mode: 0o700) }

        var criu = CriuInvocation(binary: binary, logPath: opts.logPath(CriuInvocation.restoreLog))
        criu.args = ["restore"]
        criu.common(opts, config: spec, log: CriuInvocation.restoreLog)
        // Namespaces the config joins: network and pid ones by the key the dump gave them, the others by path.
        var inherited: [Int32] = []
        defer { for fd in inherited { close(fd) } }
        for join in plan.joins {
            switch join.type {
            case "network", "pid":
                let fd = open(join.path, O_RDONLY)   // no CLOEXEC: criu's own fd
                if fd < 0 { throw RuntimeError(.system, "Requested \(join.type) namespace \(join.path) does not exist") }
                inherited.append(fd)
                criu.args += ["--inherit-fd", "fd[\(fd)]:\(Checkpoint.externalKey(join.type))"]
            case "cgroup":
                throw RuntimeError(.unsupported, "Do not know how to handle namespace cgroup")
            default:
                criu.args += ["--join-ns", "\(join.type == "mount" ? "mnt" : join.type):\(join.path)"]
            }
        }
        // Our stdio replaces the pipes the init had at dump (runc's descriptors.json).
        for (fd, what) in descriptors.enumerated() where fd < 3 && what.containsBytes("pipe:") {
            criu.args += ["--inherit-fd", "fd[\(fd)]:\(what)"]
        }
        for (key, value) in CriuInvocation.externalMounts(plan, maskedFiles: [], dump: false) {
            criu.external(mount: key, value)
        }
        // The restored tree goes where this container's cgroups are (criu's cgroup roots, per controller).
        for h in cgroupPlan.hierarchies {
            guard let dir = cgroupPlan.directory(mountedAt: h.mountPoint) else { continue }
            let inHierarchy = Files.clean(h.root + "/" + String(Substring(dir.utf8.dropFirst(h.mountPoint.utf8.count))))
            let keys = h.isV2 ? [""] : h.key.splitASCII(",").map(String.init)
            for k in keys { criu.args += ["--cgroup-root", k + ":" + inHierarchy] }
        }
        if let p = opts.lsmProfile { criu.args += ["--lsm-profile", p] }
        if let c = opts.lsmMountContext { criu.args += ["--lsm-mount-context", c] }

        if !detach && !o.bool("no-subreaper") { _ = corral_set_child_subreaper() }
        let store = ctx.store
        let dir = store.dir(id)
        let lockFD = try store.claim(id, log: ctx.log)
        var lockHandedOver = false
        defer { if !lockHandedOver { close(lockFD) } }
        var cgroupsMade: CgroupManager?
        let criuRoot = dir + "/criu-root"
        let pidFile = dir + "/criu.pid"
        criu.args += ["--root", criuRoot, "--restore-detached", "--restore-sibling", "--pidfile", pidFile, "--evasive-devices"]
        // prestart and createRuntime hooks run when criu has made the namespaces (its setup-namespaces action, runc's
        // moment): criu runs this binary as its action script, which asks us over a socket in the state directory.
        var service: CriuInvocation.Service?
        var hookFailure: RuntimeError?
        var listener: Int32 = -1
        defer { if listener >= 0 { close(listener) } }
        let hooks = plan.hooks
        let hookSocket = store.dir(id) + "/" + RestoreHooks.socketName
        if !hooks[.prestart].isEmpty || !hooks[.createRuntime].isEmpty {
            guard let me = Files.readLink("/proc/self/exe") else { throw .system("readlink /proc/self/exe", errno) }
            criu.args += ["--action-script", me]
            criu.environment = ["\(RestoreHooks.socketVariable)=\(hookSocket)"]
            let annotations = spec.annotations ?? [:]
            service = CriuInvocation.Service(fd: -1) { fd in
                RestoreHooks.answer(fd) { pid throws(RuntimeError) in
                    let state = ContainerState.specState(id: id, status: .creating, pid: pid, bundle: bundle,
                                                         annotations: annotations)
                    do throws(RuntimeError) {
                        try HookRunner.run(.prestart, hooks[.prestart], state: state, cwd: bundle)
                        try HookRunner.run(.createRuntime, hooks[.createRuntime], state: state, cwd: bundle)
                    } catch {
                        hookFailure = error
                        throw error
                    }
                }
            }
        }
        let state: ContainerState
        do throws(RuntimeError) {
            // As in create: the record first, so a restore that is killed leaves something delete can remove.
            var record = ContainerState(id: id, pid: 0, pidStartTime: 0, bundle: bundle, rootfs: plan.rootfs,
                                        created: Clock.rfc3339Nano(Clock.now()), owner: Owner.name(getuid()),
                                        annotations: spec.annotations ?? [:], ociVersion: Version.spec)
            record.cgroups = cgroupPlan.set
            record.creator = try StateStore.creatorIdentity()
            try store.writeState(dir, record)
            let cgroups = try CgroupManager.create(cgroupPlan)
            cgroupsMade = cgroups
            record.cgroupsCreated = cgroups.created
            try store.writeState(dir, record)
            if mkdir(criuRoot, 0o755) != 0 { throw .system("mkdir \(criuRoot)", errno) }
            try RestoreMountpoints.create(plan)
            if service != nil {
                // In the state directory (root-only), bound only now that the id is ours.
                listener = corral_listen_unix_type(hookSocket, Int32(SOCK_STREAM.rawValue))
                if listener < 0 { throw .system("listen on \(hookSocket)", -listener) }
                service!.fd = listener
            }
            do throws(RuntimeError) {
                try criu.run(root: (plan.rootfs, criuRoot), log: ctx.log, service: service) { pid throws(RuntimeError) in
                    try cgroups.place(pid)
                }
            } catch {
                // A failed hook is what made criu fail: say that, as create does.
                throw hookFailure ?? error
            }
            rmdir(criuRoot)
            if listener >= 0 { close(listener); listener = -1; unlink(hookSocket) }
            guard let text = Files.readString(pidFile), let pid = Int32(text.cgTrimmed), pid > 0,
                  let st = Proc.stat(pid), st.state != "Z" else {
                throw RuntimeError(.system, "criu restored no running init (pid file \(pidFile))\nlog file: \(criu.logPath)")
            }
            unlink(pidFile)
            var s = ContainerState(id: id, pid: pid, pidStartTime: st.startTime, bundle: bundle, rootfs: plan.rootfs,
                                   created: Clock.rfc3339Nano(Clock.now()), owner: Owner.name(getuid()),
                                   annotations: spec.annotations ?? [:], ociVersion: Version.spec)
            s.cgroups = cgroupPlan.set
            s.sharedPidNamespace = !plan.ownPidNamespace
            if let file = HookFile.contents(plan.hooks) {
                try Files.writeAtomic(dir + "/" + HookFile.name, file, mode: 0o600)
            }
            try Files.writeAtomic(dir + "/" + ContainerState.configName, raw, mode: 0o600)
            try store.writeState(dir, s)
            if let path = o.string("pid-file") { try Files.writeAtomic(Files.absolute(path), String(pid)) }
            state = s
        } catch {
            // criu kills what it restored when it fails; whatever is still in the cgroups dies with them.
            cgroupsMade?.removeCreated()
            rmdir(criuRoot)
            StateStore.removeContainerDir(dir, lockFD: lockFD)
            throw error.context("corral restore failed")
        }
        lockHandedOver = true
        let h = StateStore.Handle(id: id, dir: dir, fd: lockFD, state: state)
        if detach { return 0 }
        // In the foreground: forward signals, wait for the init, then remove the container (runc's restore).
        let signals = corral_signalfd_all()
        flock(h.fd, LOCK_UN)
        Glibc.kill(getpid(), SIGCHLD)   // the init may have exited before the signalfd existed
        let code = ForegroundWait.wait(initPid: state.pid, relaySocket: -1, signalFD: signals)
        if flock(h.fd, LOCK_EX) == 0, let now = try? store.open(id, lock: false),
           now.state.pid == state.pid, now.state.pidStartTime == state.pidStartTime {
            h.state = now.state   // removed through our own locked fd: the directory we made
            try? Commands.destroy(h, force: true, log: ctx.log)
        }
        return code
    }
}

/// The two ends of restore's hooks: criu runs the corral binary as its action script (no arguments; criu's
/// environment with CRTOOLS_SCRIPT_ACTION, CRTOOLS_INIT_PID and our socket's fd number), and on
/// "setup-namespaces" it sends the restored init's pid to the restoring runtime, which runs the hooks and answers
/// "0" or the hook's error text (criu then fails the restore).
enum RestoreHooks {
    static let socketName = "hooks.sock"
    static let socketVariable = "CORRAL_RESTORE_HOOK_SOCKET"

    /// When this process is criu's action script: its exit status; nil otherwise. criu closes every inherited fd
    /// but stdio before it runs a script, hence a socket by path.
    static func actionScript() -> Int32? {
        guard let a = getenv("CRTOOLS_SCRIPT_ACTION"), let path = getenv(socketVariable) else { return nil }
        guard String(cString: a) == "setup-namespaces" else { return 0 }
        let pid = getenv("CRTOOLS_INIT_PID").map { String(cString: $0) } ?? ""
        let fd = corral_connect_unix(path)
        if fd < 0 { printErr("restore hooks: connect to \(String(cString: path)): \(errnoText(-fd))"); return 1 }
        defer { close(fd) }
        let sent = Array(pid.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if sent <= 0 { printErr("restore hooks: write: \(errnoText(errno))"); return 1 }
        var reply: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { reply += buf[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        if reply == [UInt8(ascii: "0")] { return 0 }
        printErr(reply.isEmpty ? "restore hooks: no answer from corral" : String(decoding: reply, as: UTF8.self))
        return 1
    }

    /// The runtime's side: accept one connection, read the pid, run the hooks, answer "0" or the error text.
    static func answer(_ listener: Int32, _ run: (Int32) throws(RuntimeError) -> Void) {
        let fd = accept(listener, nil, nil)
        if fd < 0 { return }
        _ = corral_fcntl_setfd(fd, 1)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        var reply = "0"
        if let pid = Int32(String(decoding: buf[0..<n], as: UTF8.self)), pid > 0 {
            do throws(RuntimeError) { try run(pid) } catch { reply = error.message }
        } else {
            reply = "restore hooks: bad request"
        }
        _ = Array(reply.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// criu mounts the external (bind) mounts on mount points that must exist in the root it restores into; on a fresh
/// copy of the rootfs they may not (create made them in the old one). As runc does, they are made again, except
/// below a tmpfs of the config (criu restores a tmpfs with its contents, mount points included). Every component
/// is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so a symlink in the image cannot lead out.
enum RestoreMountpoints {
    static let resolveInRoot: UInt64 = 0x10 | 0x02   // RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS

    static func create(_ plan: LaunchPlan) throws(RuntimeError) {
        let tmpfs = plan.mounts.filter { $0.kind == .fs && $0.fstype == "tmpfs" }.map(\.dest)
        let binds = plan.mounts.filter { m in
            m.kind == .bind && !tmpfs.contains { m.dest.hasBytePrefix($0 == "/" ? "/" : $0 + "/") }
        }
        if binds.isEmpty { return }
        let root = open(plan.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if root < 0 { throw .system("open rootfs \(plan.rootfs)", errno) }
        defer { close(root) }
        for m in binds {
            let parts = m.dest.splitASCII("/").map(String.init)
            var path = ""
            for (i, name) in parts.enumerated() {
                let parent = path.isEmpty ? "/" : path
                path += "/" + name
                let existing = corral_openat2(root, path, CORRAL_O_PATH | O_CLOEXEC, 0, resolveInRoot)
                if existing >= 0 { close(existing); continue }
                if -existing != ENOENT { throw .system("create criu restore mountpoint for \(m.dest) mount: open \(path)", -existing) }
                let dir = corral_openat2(root, parent, CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolveInRoot)
                if dir < 0 { throw .system("create criu restore mountpoint for \(m.dest) mount: open \(parent)", -dir) }
                defer { close(dir) }
                if i == parts.count - 1 && m.destIsFile {
                    let f = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                    if f < 0 && errno != EEXIST { throw .system("create criu restore mountpoint for \(m.dest) mount", errno) }
                    if f >= 0 { close(f) }
                } else if mkdirat(dir, name, 0o755) != 0 && errno != EEXIST {
                    throw .system("create criu restore mountpoint for \(m.dest) mount", errno)
                }
            }
        }
    }
}
