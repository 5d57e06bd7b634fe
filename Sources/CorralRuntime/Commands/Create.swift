import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// `create`: everything up to the parked init; the shared core of `create` and `run`.
extension Commands {
    static let createOptions: [OptionSpec] = [
        OptionSpec(["b", "bundle"], value: true, "path to the root of the bundle directory, defaults to the current directory"),
        OptionSpec(["console-socket"], value: true, "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal"),
        OptionSpec(["pid-file"], value: true, "specify the file to write the process id to"),
        OptionSpec(["no-pivot"], "do not use pivot root to jail process inside rootfs"),
        OptionSpec(["no-new-keyring"], "do not create a new session keyring for the container"),
        OptionSpec(["preserve-fds"], value: true, "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"),
        OptionSpec(["pidfd-socket"], value: true, "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"),
    ]

    static let create = Verb(name: "create", usage: "[command options] <container-id>",
                             summary: "create a container", options: createOptions) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        _ = try createContainer(ctx, id: id, o, verb: "create", relayTerminal: false)
        return 0
    }

    static func containerID(_ o: ParsedOptions) throws(RuntimeError) -> String {
        guard let id = o.positional.first, !id.isEmpty else {
            throw RuntimeError(.usage, "container id cannot be empty")
        }
        try StateStore.validate(id: id)
        return id
    }

    /// --preserve-fds of create, run and exec. The container keeps fds 3..<3+N, and no fd can reach 2^31 - 64 (the
    /// kernel's ceiling for fs.nr_open), so a larger N names fds that cannot exist; refusing it here keeps `3 + N`
    /// and the Int32 fd arithmetic after it (Launcher, exec's fd floor) from trapping.
    static func preserveFDs(_ o: ParsedOptions) throws(RuntimeError) -> Int {
        let n = try o.int("preserve-fds", default: 0)
        if n < 0 { throw RuntimeError(.usage, "--preserve-fds: must be a non-negative number") }
        if n > maxPreserveFDs { throw RuntimeError(.usage, "--preserve-fds: \(n) is more file descriptors than a process can have") }
        return n
    }

    static let maxPreserveFDs = Int(Int32.max) - 64 - 3

    /// What `createContainer` hands back to `run`.
    struct Created {
        var handle: StateStore.Handle
        var relaySocket: Int32
    }

    /// Plans, launches and records a container. Any failure removes everything made so far (state dir, fifo,
    /// processes; the mount namespace dies with the process) and is rethrown as "<verb> failed: …".
    static func createContainer(_ ctx: Context, id: String, _ o: ParsedOptions, verb: String, relayTerminal: Bool) throws(RuntimeError) -> Created {
        let bundle = Files.absolute(o.string("bundle") ?? ".")
        let preserve = try preserveFDs(o)
        let raw = try Files.read(bundle + "/config.json", limit: Spec.maxDocumentBytes)
        let spec: Spec
        do { spec = try Spec.parse(raw) } catch { throw RuntimeError.config(error) }
        // The administrator's policy, before anything exists: a broken rule leaves nothing behind.
        let policy = try PolicyCheck.enforce(policyPath: ctx.globals.policyPath, spec, bundle: bundle)
        let consoleSocketPath = o.string("console-socket")
        var options = PlanOptions(id: id, bundle: bundle, noPivot: o.bool("no-pivot"), noNewKeyring: o.bool("no-new-keyring"),
                                  hasConsoleSocket: consoleSocketPath != nil, terminalRelay: relayTerminal, preserveFDs: preserve)
        options.listenFDs = ProcessIO.listenFDs()
        options.seccompCacheDir = ctx.store.root + "/.cache/seccomp"
        options.systemdCgroup = ctx.globals.systemdCgroup
        options.programName = ctx.programName
        var plan = try Planner.plan(spec, options: options, warn: { ctx.log.warn($0) }, note: { ctx.log.debug($0) })
        // Run limits, seccomp audit mode, audit trail (io.corral.* annotations, the policy): nil when none is asked.
        let sandbox = try SandboxLaunch.prepare(spec, rawConfig: raw, policy: policy, plan: &plan, root: ctx.store.root, id: id)
        guard let cgroupPlan = plan.host.cgroups else { throw RuntimeError(.system, "internal error: no cgroup plan") }

        // runc dials the pidfd socket before it creates anything: a wrong path fails with nothing made.
        let pidfdSocket = try ProcessIO.connectPidfdSocket(o.string("pidfd-socket"))
        defer { if pidfdSocket >= 0 { close(pidfdSocket) } }
        let store = ctx.store
        let dir = store.dir(id)
        let lockFD = try store.claim(id, log: ctx.log)
        var lockHandedOver = false
        defer { if !lockHandedOver { close(lockFD) } }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var cgroupsMade: CgroupManager?
        var systemdStart: SystemdCgroups.Start?
        do throws(RuntimeError) {
            // The record comes before anything the container owns: if we are killed from here on, `delete` (or a
            // new create of this id) finds what to remove. It is replaced by the real state at commit.
            var record = ContainerState(id: id, pid: 0, pidStartTime: 0, bundle: bundle, rootfs: plan.rootfs,
                                        created: Clock.rfc3339Nano(Clock.now()), owner: Owner.name(getuid()),
                                        annotations: spec.annotations ?? [:], ociVersion: Version.spec)
            record.cgroups = cgroupPlan.set
            record.creator = try StateStore.creatorIdentity()
            try store.writeState(dir, record)
            // The child says HELLO before any namespace work and waits until it is in every hierarchy. The
            // cgroupfs driver makes the directories now; with systemd they come into being when the waiting init
            // is handed to systemd, and only the connection and the properties are readied here.
            var host = HandshakeHost()
            if let unit = cgroupPlan.systemd {
                let start = try SystemdCgroups.prepare(cgroupPlan, unit: unit, note: { ctx.log.debug($0) })
                systemdStart = start
                // Recorded before systemd is asked: a create killed from here on leaves a unit `delete` stops (a
                // unit that never came is no error there). systemd removes the unit's own directories with it.
                record.systemdUnit = start.unit.name
                // systemd owns the slice the unit lives in: the monitor stays in the caller's cgroups.
                record.monitor = sandbox?.plannedRecord(CgroupSet())
                try store.writeState(dir, record)
                try sandbox?.startMonitor(CgroupSet(), globals: ctx.globals, log: ctx.log)
                host.cgroups = .systemd(start, cgroupPlan)
            } else {
                let cgroups = try CgroupManager.create(cgroupPlan)
                cgroupsMade = cgroups
                record.cgroupsCreated = cgroups.created
                record.monitor = sandbox?.plannedRecord(cgroupPlan.set)
                try store.writeState(dir, record)
                try sandbox?.startMonitor(cgroupPlan.set, globals: ctx.globals, log: ctx.log)
                host.cgroups = .childEnters(cgroups.set)
            }
            // The child gets an O_PATH fd on the fifo itself: never a directory fd (CVE-2024-21626), and never the
            // locked fd (flock belongs to the open file description; the parked init lives until `start`).
            if mkfifoat(lockFD, ContainerState.fifoName, 0o622) != 0 || fchmodat(lockFD, ContainerState.fifoName, 0o622, 0) != 0 {
                throw .system("mkfifo \(dir)/\(ContainerState.fifoName)", errno)
            }
            let fifo = openat(lockFD, ContainerState.fifoName, CORRAL_O_PATH | O_CLOEXEC)
            if fifo < 0 { throw .system("open \(dir)/\(ContainerState.fifoName)", errno) }
            fds.append(fifo)
            var channels = Launcher.Channels(fifoFD: fifo)
            let annotations = spec.annotations ?? [:]
            if let sc = plan.seccomp, let listenerPath = sc.listenerPath {
                // SCMP_ACT_NOTIFY: the child hands its listener over; it goes on to the agent with the state.
                host.listener = .agent(path: listenerPath, metadata: sc.listenerMetadata, id: id, bundle: bundle,
                                       annotations: annotations, status: .creating)
            }
            if let toMonitor = sandbox?.listenerDestination { host.listener = toMonitor }   // seccomp audit mode
            let hooks = plan.hooks
            if hooks.runsBeforePivot {
                host.createHooks = .init(hooks: hooks, id: id, bundle: bundle, annotations: annotations, rootfs: plan.rootfs)
            }
            if !hooks[.startContainer].isEmpty {
                host.startHooks = .init(id: id, bundle: bundle, annotations: annotations)
            }
            var relay: Int32 = -1
            if let path = consoleSocketPath {
                let fd = corral_connect_unix(Files.absolute(path))
                if fd < 0 { throw .system("connect to console socket \(path)", -fd) }
                fds.append(fd)
                channels.consoleSocketFD = fd
            } else if plan.terminal && relayTerminal {
                var pair: [Int32] = [-1, -1]
                if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
                    throw .system("socketpair", errno)
                }
                fds.append(pair[1])
                channels.consoleSocketFD = pair[1]
                channels.relaysTerminal = true
                relay = pair[0]
            }
            // Recording happens inside the launch: until it is done the parked init dies with us (PDEATHSIG),
            // and if it fails the launcher kills it.
            var recorded: ContainerState?
            _ = try Launcher.launch(plan, channels: channels, host: host, log: ctx.log) { launched throws(RuntimeError) in
                // Before anything is recorded: a device that cannot be moved fails create, and the namespace dies
                // with the init (a physical device returns to the host, a virtual one goes with it).
                try NetDevices.move(plan.host.netDevices, into: launched.pid)
                if let adj = plan.host.oomScoreAdj {
                    let r = corral_write_proc(launched.pid, "oom_score_adj", String(adj))
                    if r < 0 { throw RuntimeError(.system, "write oom_score_adj \(adj): \(errnoText(-r))") }
                }
                var state = ContainerState(id: id, pid: launched.pid, pidStartTime: launched.startTime, bundle: bundle,
                                           rootfs: plan.rootfs, created: Clock.rfc3339Nano(Clock.now()),
                                           owner: Owner.name(getuid()), annotations: spec.annotations ?? [:],
                                           ociVersion: Version.spec)
                state.cgroups = cgroupPlan.set
                state.systemdUnit = cgroupPlan.systemd?.name
                if let file = HookFile.contents(hooks) {
                    try Files.writeAtomic(dir + "/" + HookFile.name, file, mode: 0o600)
                }
                state.noNewKeyring = o.bool("no-new-keyring")
                state.sharedPidNamespace = !plan.ownPidNamespace
                state.initNamed = true
                state.landlock = plan.landlock?.record()
                state.monitor = try sandbox?.commit(pid: launched.pid, startTime: launched.startTime)
                // The config as it was at create: later edits of the bundle must not change this container.
                try Files.writeAtomic(dir + "/" + ContainerState.configName, raw, mode: 0o600)
                try sandbox?.recordCreated(spec: spec, plan: plan, policy: policy, bundle: bundle, state: state, log: ctx.log)
                try store.writeState(dir, state)
                if let pidFile = o.string("pid-file") {
                    // Bare digits, no newline: containerd's shim parses it with strconv.Atoi.
                    try Files.writeAtomic(Files.absolute(pidFile), String(launched.pid))
                }
                try ProcessIO.sendPidfd(of: launched.pid, to: pidfdSocket, kind: "standard")
                recorded = state
            }
            lockHandedOver = true
            return Created(handle: StateStore.Handle(id: id, dir: dir, fd: lockFD, state: recorded!), relaySocket: relay)
        } catch {
            sandbox?.abort(reason: error.message, log: ctx.log)
            cgroupsMade?.removeCreated()
            // A unit systemd made (or may have made) is stopped and reset, and its cgroups removed.
            if let start = systemdStart { SystemdCgroups.removeFailed(start, set: cgroupPlan.set, warn: { ctx.log.warn($0) }) }
            StateStore.removeContainerDir(dir, lockFD: lockFD)
            // As runc does when create fails: poststop hooks may undo what earlier hooks set up (warnings only).
            let state = ContainerState.specState(id: id, status: .stopped, pid: 0, bundle: bundle,
                                                 annotations: spec.annotations ?? [:])
            HookRunner.runWarning(.poststop, plan.hooks[.poststop], state: state, cwd: bundle, warn: { ctx.log.warn($0) })
            throw error.context("\(ctx.programName) \(verb) failed")
        }
    }
}
