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
        planOptions.programName = ctx.programName
        var plan = try Planner.plan(spec, options: planOptions, warn: { ctx.log.warn($0) }, note: { ctx.log.debug($0) })
        guard let cgroupPlan = plan.host.cgroups else { throw RuntimeError(.system, "internal error: no cgroup plan") }
        if let ll = plan.landlock { throw LandlockPlanner.notRestorable(ll, verb: "restore") }
        // Run limits, seccomp audit mode and the audit trail live in the monitor `create` starts, which cannot be
        // resumed mid-run: a container restored without them would run unwatched, so it is refused.
        if try SandboxLaunch.prepare(spec, rawConfig: raw, policy: policy, plan: &plan, root: ctx.store.root, id: id) != nil {
            throw RuntimeError(.unsupported, "restore of a container with run limits, seccomp audit mode or an audit trail (io.corral.* annotations or the policy) is not supported by this version of corral: its monitor cannot be resumed")
        }
        let binary = try CriuInvocation.resolveBinary(ctx.globals.criu)
        // runc's rule: a terminal goes to --console-socket when detached, to our own relay in the foreground.
        try ExecPlanner.checkTerminal(terminal: plan.terminal, detach: detach, consoleSocket: consoleSocket != nil,
                                      name: ctx.programName)
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

        var criu = CriuInvocation(binary: binary, request: .restore, logPath: opts.logPath(CriuInvocation.restoreLog))
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
                criu.opts.pair(.inheritFD, Checkpoint.externalKey(join.type), fd)
            case "cgroup":
                throw RuntimeError(.unsupported, "Do not know how to handle namespace cgroup")
            default:
                criu.opts.pair(.joinNs, join.type == "mount" ? "mnt" : join.type, join.path)
            }
        }
        // Our stdio replaces the pipes the init had at dump (runc's descriptors.json).
        for (fd, what) in descriptors.enumerated() where fd < 3 && what.containsBytes("pipe:") {
            criu.opts.pair(.inheritFD, what, Int32(fd))
        }
        for (key, value) in CriuInvocation.externalMounts(plan, maskedFiles: [], dump: false) {
            criu.external(mount: key, value)
        }
        // The restored tree goes where this container's cgroups are (criu's cgroup roots, per controller).
        for h in cgroupPlan.hierarchies {
            guard let dir = cgroupPlan.directory(mountedAt: h.mountPoint) else { continue }
            let inHierarchy = Files.clean(h.root + "/" + String(Substring(dir.utf8.dropFirst(h.mountPoint.utf8.count))))
            let keys = h.isV2 ? [""] : h.key.splitASCII(",").map(String.init)
            for k in keys { criu.opts.pair(.cgRoot, k, inHierarchy) }
        }
        if let p = opts.lsmProfile { criu.opts.string(.lsmProfile, p) }
        if let c = opts.lsmMountContext { criu.opts.string(.lsmMountContext, c) }

        if !detach && !o.bool("no-subreaper") { _ = corral_set_child_subreaper() }
        let store = ctx.store
        let dir = store.dir(id)
        let lockFD = try store.claim(id, log: ctx.log)
        var lockHandedOver = false
        defer { if !lockHandedOver { close(lockFD) } }
        var cgroupsMade: CgroupManager?
        let criuRoot = dir + "/criu-root"
        criu.opts.string(.root, criuRoot)
        criu.opts.flag(.rstSibling)
        criu.opts.flag(.evasiveDevices)
        // prestart and createRuntime hooks run when criu has made the namespaces (its setup-namespaces
        // notification, runc's moment), with the restored init's pid.
        let hooks = plan.hooks
        let runsHooks = !hooks[.prestart].isEmpty || !hooks[.createRuntime].isEmpty
        if runsHooks || plan.terminal { criu.opts.flag(.notifyScripts) }
        let annotations = spec.annotations ?? [:]
        // The terminal: criu keeps the pty slave the process had and makes a new master (orphan-pts-master),
        // which goes to --console-socket, or in the foreground to our own relay as with `run`.
        var consoleFD: Int32 = -1
        defer { if consoleFD >= 0 { close(consoleFD) } }
        if let path = consoleSocket {
            consoleFD = corral_connect_unix(Files.absolute(path))
            if consoleFD < 0 { throw .system("connect to console socket \(path)", -consoleFD) }
        }
        var master: Int32 = -1
        defer { if master >= 0 { close(master) } }
        let notified = { (script: String, pid: Int32, fd: Int32) throws(RuntimeError) -> Void in
            switch script {
            case "setup-namespaces" where runsHooks:
                let state = ContainerState.specState(id: id, status: .creating, pid: pid, bundle: bundle,
                                                     annotations: annotations)
                try HookRunner.run(.prestart, hooks[.prestart], state: state, cwd: bundle)
                try HookRunner.run(.createRuntime, hooks[.createRuntime], state: state, cwd: bundle)
            case "orphan-pts-master":
                if fd < 0 { throw RuntimeError(.system, "criu sent no pty master with orphan-pts-master") }
                if consoleFD >= 0 {
                    var n: UInt32 = 0   // TIOCGPTN: the pty's number, for the payload create sends
                    let name = ioctl(fd, UInt(0x8004_5430), &n) == 0 ? "/dev/pts/\(n)" : "/dev/ptmx"
                    let r = corral_send_fd(consoleFD, fd, name)
                    if r < 0 { throw .system("send pty master to console socket", -r) }
                } else {
                    master = fcntl(fd, F_DUPFD_CLOEXEC, 3)
                    if master < 0 { throw .system("keep the restored terminal's master", errno) }
                }
            default:
                break
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
            // A failed hook is what makes criu fail: that error is thrown, as create does.
            let resp = try criu.run(root: (plan.rootfs, criuRoot), log: ctx.log, placed: { pid throws(RuntimeError) in
                try cgroups.place(pid)
            }, notify: notified)
            rmdir(criuRoot)
            guard let pid = resp.message(CriuRPC.Resp.restore)?.int(1), pid > 0,
                  let st = Proc.stat(pid), st.state != "Z" else {
                throw RuntimeError(.system, "criu restored no running init\nlog file: \(criu.logPath)")
            }
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
        let code = ForegroundWait.wait(initPid: state.pid, relaySocket: -1, master: master, signalFD: signals)
        master = -1   // the relay closed it
        if flock(h.fd, LOCK_EX) == 0, let now = try? store.open(id, lock: false),
           now.state.pid == state.pid, now.state.pidStartTime == state.pidStartTime {
            h.state = now.state   // removed through our own locked fd: the directory we made
            try? Commands.destroy(h, force: true, log: ctx.log)
        }
        return code
    }
}

/// criu mounts the external (bind) mounts on mount points that must exist in the root it restores into; on a fresh
/// copy of the rootfs they may not (create made them in the old one). As runc does, they are made again, except
/// below a tmpfs of the config (criu restores a tmpfs with its contents, mount points included). A bind nested in
/// an earlier bind has its mount point in that bind's source, where create made it (runc mounts the outer bind for
/// the moment to make it). Every component is resolved inside its root (openat2 RESOLVE_IN_ROOT), so a symlink in
/// the image or the source cannot lead out.
enum RestoreMountpoints {
    static func create(_ plan: LaunchPlan) throws(RuntimeError) {
        let tmpfs = plan.mounts.filter { $0.kind == .fs && $0.fstype == "tmpfs" }.map(\.dest)
        let binds = plan.mounts.filter { m in
            m.kind == .bind && !tmpfs.contains { m.dest.hasBytePrefix($0 == "/" ? "/" : $0 + "/") }
        }
        if binds.isEmpty { return }
        for (i, m) in binds.enumerated() {
            // The innermost earlier bind of a directory that this one lies below.
            let outer = binds[..<i].filter { o in
                o.dest != "/" && !o.destIsFile && o.source != nil && m.dest.hasBytePrefix(o.dest + "/")
            }.max { $0.dest.utf8.count < $1.dest.utf8.count }
            let base = outer?.source ?? plan.rootfs
            let path = outer.map { String(Substring(m.dest.utf8.dropFirst($0.dest.utf8.count))) } ?? m.dest
            let root = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if root < 0 { throw .system("create criu restore mountpoint for \(m.dest) mount: open \(base)", errno) }
            defer { close(root) }
            try make(path, in: root, file: m.destIsFile, for: m.dest)
        }
    }

    /// Makes every missing component of `path` below `root`: directories, and a file last when `file`.
    private static func make(_ full: String, in root: Int32, file: Bool, for dest: String) throws(RuntimeError) {
        let parts = full.splitASCII("/").map(String.init)
        var path = ""
        for (i, name) in parts.enumerated() {
            let parent = path.isEmpty ? "/" : path
            path += "/" + name
            let existing = corral_openat2(root, path, CORRAL_O_PATH | O_CLOEXEC, 0, Files.resolveInRoot)
            if existing >= 0 { close(existing); continue }
            if -existing != ENOENT { throw .system("create criu restore mountpoint for \(dest) mount: open \(path)", -existing) }
            let dir = corral_openat2(root, parent, CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC, 0, Files.resolveInRoot)
            if dir < 0 { throw .system("create criu restore mountpoint for \(dest) mount: open \(parent)", -dir) }
            defer { close(dir) }
            if i == parts.count - 1 && file {
                let f = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                if f < 0 && errno != EEXIST { throw .system("create criu restore mountpoint for \(dest) mount", errno) }
                if f >= 0 { close(f) }
            } else if mkdirat(dir, name, 0o755) != 0 && errno != EEXIST {
                throw .system("create criu restore mountpoint for \(dest) mount", errno)
            }
        }
    }
}
