import CCorralHost
import CCorral
import CorralSpec
import Glibc

extension Commands {
    static let execOptions: [OptionSpec] = [
        OptionSpec(["console-socket"], value: true, "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
        OptionSpec(["pidfd-socket"], value: true, "path to an AF_UNIX socket which will receive a file descriptor referencing the exec'd process"),
        OptionSpec(["cwd"], value: true, "current working directory in the container"),
        OptionSpec(["e", "env"], value: true, "set environment variables"),
        OptionSpec(["t", "tty"], "allocate a pseudo-TTY"),
        OptionSpec(["u", "user"], value: true, "UID (format: <uid>[:<gid>])"),
        OptionSpec(["g", "additional-gids"], value: true, "additional gids"),
        OptionSpec(["p", "process"], value: true, "path to the process.json"),
        OptionSpec(["d", "detach"], "detach from the container's process"),
        OptionSpec(["pid-file"], value: true, "specify the file to write the process id to"),
        OptionSpec(["process-label"], value: true, "set the asm process label for the process commonly used with selinux"),
        OptionSpec(["apparmor"], value: true, "set the apparmor profile for the process"),
        OptionSpec(["no-new-privs"], "set the no new privileges value for the process"),
        OptionSpec(["c", "cap"], value: true, "add a capability to the bounding set for the process"),
        OptionSpec(["preserve-fds"], value: true, "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"),
        OptionSpec(["cgroup"], value: true, "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."),
        OptionSpec(["ignore-paused"], "allow exec in a paused container"),
    ]

    /// Options end at the container id (`exec ID sh -c x --foo` passes `--foo` to sh). A failure exits 255 with
    /// "exec failed: …", as runc does, so a caller can tell it from the exec'd process's own exit status.
    static let exec = Verb(name: "exec", usage: "[command options] <container-id> <command> [command options]  || -p process.json <container-id>",
                           summary: "execute new process inside the container", options: execOptions,
                           stopAtPositional: true, arity: 1...Int.max) { ctx, o throws(RuntimeError) in
        do throws(RuntimeError) {
            return try Exec.run(ctx, o)
        } catch {
            _ = Corral.fail(ctx, error.context("exec failed"))
            return 255
        }
    }
}

/// `exec`: a new process in an existing container. It enters every namespace of the container through the
/// verified pidfd of the init, is placed in the container's cgroups before that, and is forked once more so the
/// container's pid and time namespaces apply to it; it becomes a child of this process (CLONE_PARENT), which waits
/// for it in the foreground or leaves it to the caller's subreaper with --detach.
enum Exec {
    static func run(_ ctx: Context, _ o: ParsedOptions) throws(RuntimeError) -> Int32 {
        let id = try Commands.containerID(o)
        let preserve = try Commands.preserveFDs(o)
        // Before we open anything ourselves: the preserved fds must be the caller's.
        for fd in 3..<(3 + preserve) {
            var st = stat()
            if stat("/proc/self/fd/\(fd)", &st) != 0 {
                throw RuntimeError(.invalidArgument, "unable to stat preserved-fd \(fd - 3) (of \(preserve)): stat /proc/self/fd/\(fd): \(errnoText(errno))")
            }
        }
        // No lock: a paused container must stay resumable while --ignore-paused waits for it; the init itself is
        // verified through its pidfd below, and a concurrent delete kills whatever entered its cgroups.
        let h = try ctx.store.open(id, lock: false)
        let status = h.status
        if status == .stopped { throw RuntimeError(.invalidState, "cannot exec in a stopped container") }
        if status == .paused && !o.bool("ignore-paused") {
            throw RuntimeError(.invalidState, "cannot exec in a paused container (use --ignore-paused to override)")
        }
        let processPath = o.string("process")
        if processPath == nil && o.positional.count < 2 { throw RuntimeError(.usage, "process args cannot be empty") }

        // The config as it was at create: namespaces, seccomp and the defaults of the process come from it.
        let raw = try Files.read(h.dir + "/" + ContainerState.configName)
        let config: Spec
        do { config = try Spec.parse(raw) } catch { throw RuntimeError.config(error) }
        let process: Process
        if let path = processPath {
            // The whole process object, as Docker, containerd and podman write it; the flags do not apply (runc 1.1).
            do { process = try Spec.parseProcess(try Spec.readFile(Files.absolute(path), limit: Spec.maxDocumentBytes)) } catch {
                throw error.path == "config.json" ? RuntimeError(.invalidArgument, error.message) : RuntimeError.config(error)
            }
        } else {
            process = try ExecPlanner.processFromFlags(config, args: Array(o.positional.dropFirst()), flags: flags(o))
        }
        try ExecPlanner.validate(process)
        let subCgroups = o.strings("cgroup")
        let cgroups = try ExecPlanner.cgroups(h.state.cgroups, sub: subCgroups)
        let detach = o.bool("detach")
        let consoleSocketPath = o.string("console-socket")
        let terminal = process.terminal ?? false
        try ExecPlanner.checkTerminal(terminal: terminal, detach: detach, consoleSocket: consoleSocketPath != nil,
                                      name: ctx.programName)

        // From here on we act on the init we verified (pid and start time), through its pidfd.
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        let floor = Int32(3 + preserve + 10)
        func keep(_ fd: Int32) -> Int32 {
            // Above the preserved range, so the launcher never has to move (and close) one of ours.
            var f = fd
            if fd < floor { f = fcntl(fd, F_DUPFD_CLOEXEC, floor); close(fd) }
            fds.append(f)
            return f
        }
        let pidfd = keep(try Commands.openInit(h.state))
        let dialed = try ProcessIO.connectPidfdSocket(o.string("pidfd-socket"))
        let pidfdSocket = dialed >= 0 ? keep(dialed) : -1
        let target = try self.target(h.state.pid, pidfd: pidfd, config: config)
        var plan = try ExecPlanner.plan(config: config, process: process, target: target, id: id,
                                        noNewKeyring: h.state.noNewKeyring, preserveFDs: preserve,
                                        seccompCacheDir: ctx.store.root + "/.cache/seccomp",
                                        warn: { ctx.log.warn($0) }, note: { ctx.log.debug($0) })

        var channels = Launcher.Channels()
        channels.initPidFD = pidfd
        var host = HandshakeHost()
        if let set = cgroups {
            // Sub-cgroups that are not all there: the parent's cgroup.procs write fails with runc's text. The
            // container's own directories are the ones create made and checked: no lookup of each.
            host.cgroups = subCgroups.isEmpty || CgroupEntry.isComplete(set) ? .childEnters(set) : .parentPlaces(set)
        }
        if let sc = plan.seccomp, let listenerPath = sc.listenerPath {
            host.listener = .agent(path: listenerPath, metadata: sc.listenerMetadata, id: id, bundle: h.state.bundle,
                                   annotations: h.state.annotations, status: status)
        }
        try MonitorClient.prepareExec(h.state, dir: h.dir, plan: &plan, host: &host)   // seccomp audit mode
        var relay: Int32 = -1
        if let path = consoleSocketPath {
            let fd = corral_connect_unix(Files.absolute(path))
            if fd < 0 { throw .system("connect to console socket \(path)", -fd) }
            channels.consoleSocketFD = keep(fd)
        } else if terminal {
            // Foreground with a terminal: we relay it, like `run`.
            var pair: [Int32] = [-1, -1]
            if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
                throw .system("socketpair", errno)
            }
            relay = pair[0]
            channels.consoleSocketFD = keep(pair[1])
            channels.relaysTerminal = true
        }
        // Orphans of the process (a container without its own pid namespace) come to us and are reaped.
        if !detach { _ = corral_set_child_subreaper() }

        var pidFileWritten: String?
        let launched: Launcher.Launched
        do throws(RuntimeError) {
            launched = try Launcher.launch(plan, channels: channels, host: host, log: ctx.log) { launched throws(RuntimeError) in
                if let pidFile = o.string("pid-file") {
                    // Bare digits, no newline: containerd's shim parses it with strconv.Atoi.
                    let path = Files.absolute(pidFile)
                    try Files.writeAtomic(path, String(launched.pid))
                    pidFileWritten = path
                }
                try ProcessIO.sendPidfd(of: launched.pid, to: pidfdSocket, kind: "setns")
            }
        } catch {
            if let path = pidFileWritten { unlink(path) }
            if relay >= 0 { close(relay) }
            throw error
        }
        ctx.log.debug("exec: process \(launched.pid) started in container \(id)")
        AuditRecords.record(h, "exec", AuditRecords.exec(pid: launched.pid, process: process), log: ctx.log)
        if detach {
            if relay >= 0 { close(relay) }
            return 0
        }
        // The process may already have exited (its SIGCHLD came before the signalfd blocked it): a SIGCHLD of our
        // own makes the wait loop look once. The signalfd comes only now because the process inherits our mask.
        let signals = corral_signalfd_all()
        Glibc.kill(getpid(), SIGCHLD)
        return ForegroundWait.wait(initPid: launched.pid, relaySocket: relay, signalFD: signals)
    }

    private static func flags(_ o: ParsedOptions) -> ExecFlags {
        ExecFlags(cwd: o.string("cwd"), env: o.strings("env"), tty: o.bool("tty"), user: o.string("user"),
                  additionalGids: o.strings("additional-gids"), processLabel: o.string("process-label"),
                  apparmor: o.string("apparmor"), noNewPrivs: o.has("no-new-privs") ? o.bool("no-new-privs") : nil,
                  caps: o.strings("cap"))
    }

    /// Facts about the init read from /proc/<pid>; they are the verified init's because its pidfd still shows it
    /// alive afterwards (a live process keeps its pid).
    private static func target(_ pid: Int32, pidfd: Int32, config: Spec) throws(RuntimeError) -> ExecTarget {
        var flags = ExecPlanner.namespaceFlags(config)
        // setns refuses (EINVAL) a user namespace that is already ours, e.g. one joined by path to the host's.
        if flags & Planner.cloneNewUser != 0, sameNamespace("/proc/\(pid)/ns/user", "/proc/self/ns/user") {
            flags &= ~Planner.cloneNewUser
        }
        // criu restores a tree into a time namespace of its own (its clocks continue from the dump) even when the
        // config has none: processes exec'd later join it too (runc adds it to the restored container's config).
        if flags & Planner.cloneNewTime == 0, !sameNamespace("/proc/\(pid)/ns/time", "/proc/self/ns/time") {
            flags |= Planner.cloneNewTime
        }
        let setgroups = Files.readString("/proc/\(pid)/setgroups") ?? "allow"
        if corral_pidfd_send_signal(pidfd, 0) != 0 { throw .notRunning }
        return ExecTarget(enterFlags: flags, accountsRoot: "/proc/\(pid)/root", setGroupsAllowed: !setgroups.hasBytePrefix("deny"))
    }

    private static func sameNamespace(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
