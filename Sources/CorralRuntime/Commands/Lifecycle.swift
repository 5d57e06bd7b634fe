import CCorralHost
import CCorral
import CorralSpec
import Glibc

extension Commands {
    static let start = Verb(name: "start", usage: "<container-id>", summary: "executes the user defined process in a created container",
                            options: []) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        try startContainer(h, log: ctx.log)
        return 0
    }

    /// Releases a created container: opening exec.fifo for reading unblocks the parked init, which runs the
    /// startContainer hooks (if any), writes "0" and execve()s. A dead init (pidfd readable, nothing in the fifo)
    /// is an error, not a hang; a failed startContainer hook writes its error text instead of "0", which is
    /// reported here (the process never ran). poststart hooks follow; their failures are warnings.
    static func startContainer(_ h: StateStore.Handle, log: Logger) throws(RuntimeError) {
        switch h.status {
        case .created: break
        case .stopped: throw RuntimeError(.invalidState, "cannot start a container that has stopped")
        default: throw RuntimeError(.invalidState, "cannot start an already running container")
        }
        let hooks = try HookFile.load(dir: h.dir)
        // The pidfd first: opening the fifo releases the init, which may exec and exit at once.
        let pidfd = try openInit(h.state)
        defer { close(pidfd) }
        let fifoPath = h.dir + "/" + ContainerState.fifoName
        let fifo = open(fifoPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fifo < 0 { throw .system("open exec fifo \(fifoPath)", errno) }
        defer { close(fifo) }
        // startContainer hooks run before the "0" and may take as long as their timeouts allow (or forever
        // without one, as with runc): then only the init's death or its answer ends the wait.
        let timeout: Int32 = hooks[.startContainer].isEmpty ? 60_000 : -1
        var answer: [UInt8] = []
        var fds = [pollfd(fd: fifo, events: Int16(POLLIN), revents: 0), pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        var buf = [UInt8](repeating: 0, count: 4096)
        reading: while true {
            let r = poll(&fds, 2, timeout)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { throw RuntimeError(.system, "timed out waiting for the container init to start") }
            if fds[0].revents & Int16(POLLIN | POLLHUP) != 0 {
                // Everything there is: "0", or a hook's error text followed by EOF.
                while true {
                    let n = buf.withUnsafeMutableBytes { read(fifo, $0.baseAddress, $0.count) }
                    if n > 0 { answer += buf[0..<n]; if answer.first == UInt8(ascii: "0") { break reading }; continue }
                    if n == 0 || errno != EINTR { break }
                }
                if fds[0].revents & Int16(POLLHUP) != 0 { break }
            }
            if fds[1].revents != 0 {
                // The init is gone: whatever it wrote before dying is still in the fifo.
                while true {
                    let n = buf.withUnsafeMutableBytes { read(fifo, $0.baseAddress, $0.count) }
                    if n > 0 { answer += buf[0..<n] } else { break }
                }
                break
            }
        }
        if answer.first != UInt8(ascii: "0") {
            if answer.isEmpty { throw RuntimeError(.invalidState, "cannot start a container that has stopped") }
            throw RuntimeError(.system, String(decoding: answer, as: UTF8.self))
        }
        unlink(fifoPath)
        if h.state.monitor != nil { MonitorClient.notifyStarted(dir: h.dir) }   // the wall clock starts
        let poststart = hooks[.poststart]
        if !poststart.isEmpty {
            // runc kills the container when a poststart hook fails; the spec says warn and go on, and so do we.
            let state = ContainerState.specState(id: h.id, status: .running, pid: h.state.pid, bundle: h.state.bundle,
                                                 annotations: h.state.annotations, ociVersion: h.state.ociVersion)
            HookRunner.runWarning(.poststart, poststart, state: state, cwd: h.state.bundle, warn: { log.warn($0) })
        }
    }

    /// pidfd of the recorded init, verified after opening to be the same process (pid + start time).
    static func openInit(_ s: ContainerState) throws(RuntimeError) -> Int32 {
        let fd = corral_pidfd_open(s.pid)
        if fd < 0 { throw .notRunning }
        guard s.initAlive else { close(fd); throw .notRunning }
        return fd
    }

    static let state = Verb(name: "state", usage: "<container-id>", summary: "output the state of a container",
                            options: []) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o), lock: false)
        var o = h.state.ociState(status: h.status)
        if h.state.monitor != nil { o["result"] = RunResult.load(dir: h.dir) }   // how it ended, once it has
        printOut(JSONValue.object(o).serialized(indent: "  "))  // no newline, as runc
        return 0
    }

    static let kill = Verb(name: "kill", usage: "[command options] <container-id> [signal]",
                           summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
                           options: [OptionSpec(["a", "all"], "send the specified signal to all processes inside the container")],
                           arity: 1...2) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        let sig = try Signals.parse(o.positional.count > 1 ? o.positional[1] : "SIGTERM")
        let status = h.status
        // runc: without a pid namespace of its own the container does not die with its init, so SIGKILL goes to
        // every process in its cgroup, whatever the status (the init may be gone while the rest lives on).
        let everyone = o.bool("all") || (sig == SIGKILL && h.state.sharedPidNamespace)
        if everyone, let set = h.state.cgroups, !set.isEmpty {
            // runc: every process in the container's cgroup, whatever the status; nothing to do once it is gone.
            let m = CgroupManager(set)
            if m.exists { m.signalAll(sig) }
            AuditRecords.record(h, "signalled", AuditRecords.signalled(sig, all: true), log: ctx.log)
            return 0
        }
        switch status {
        case .created, .running, .paused: break
        default:
            if o.bool("all") { return 0 }  // runc: kill --all of a stopped container succeeds
            throw .notRunning
        }
        let fd = try openInit(h.state)
        defer { close(fd) }
        let r = corral_pidfd_send_signal(fd, sig)
        if r < 0 { throw r == -ESRCH ? .notRunning : .system("kill", -r) }
        AuditRecords.record(h, "signalled", AuditRecords.signalled(sig, all: false), log: ctx.log)
        // A frozen process cannot die: runc thaws a paused container for SIGKILL (and only for it).
        if status == .paused && sig == SIGKILL, let set = h.state.cgroups { try? CgroupManager(set).thaw() }
        return 0
    }

    static let delete = Verb(name: "delete", usage: "[command options] <container-id>",
                             summary: "delete any resources held by the container often used with detached container",
                             options: [OptionSpec(["f", "force"], "forcibly deletes the container if it is still running (uses SIGKILL)")]) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        let force = o.bool("force")
        let h: StateStore.Handle
        do throws(RuntimeError) {
            h = try ctx.store.open(id)
        } catch {
            if error.code == .notFound && force {
                // A leftover directory without state (a create that died before writing its record) is removed
                // too, once nobody holds its lock.
                let d = ctx.store.dir(id)
                let fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd >= 0 {
                    if flock(fd, LOCK_EX) == 0, !Files.exists(d + "/" + ContainerState.fileName) {
                        StateStore.removeContainerDir(d, lockFD: fd)
                    }
                    close(fd)
                }
                return 0
            }
            throw error
        }
        try destroy(h, force: force, log: ctx.log)
        return 0
    }

    /// Removes a container: a created one is killed first (its init never ran user code), a running one only
    /// with `force`. poststop hooks run once everything is gone; their failures are warnings.
    static func destroy(_ h: StateStore.Handle, force: Bool, log: Logger) throws(RuntimeError) {
        let status = h.status
        if h.state.creator != nil {
            // A create that died before committing (we hold the lock, so it is not running): nothing of it ran,
            // no hooks were recorded.
            h.state.removeAbandonedCgroups()
            h.state.closeAbandonedTrail(dir: h.dir)
            StateStore.removeContainerDir(h.dir, lockFD: h.fd)
            return
        }
        if (status == .running || status == .paused) && !force {
            throw RuntimeError(.invalidState, "cannot delete container \(h.id) that is not stopped: \(status.rawValue)")
        }
        // Read before the state directory goes; a container without hooks has no file (one failed open).
        let poststop: [PlannedHook]
        do { poststop = try HookFile.load(dir: h.dir)[.poststop] } catch {
            log.warn("poststop hooks not run: \(error.message)")
            poststop = []
        }
        defer {
            let state = ContainerState.specState(id: h.id, status: .stopped, pid: 0, bundle: h.state.bundle,
                                                 annotations: h.state.annotations, ociVersion: h.state.ociVersion)
            HookRunner.runWarning(.poststop, poststop, state: state, cwd: h.state.bundle, warn: { log.warn($0) })
        }
        let cgroups = h.state.cgroups.map { CgroupManager($0, systemdUnit: h.state.systemdUnit) }
        if status != .stopped, let fd = try? openInit(h.state) {
            _ = corral_pidfd_send_signal(fd, SIGKILL)
            if status == .paused { try? cgroups?.thaw() }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 10_000)
            close(fd)
        }
        // The monitor writes result.json and its last lines once the init is gone: it gets a moment for that.
        h.state.monitor?.stop(graceMS: 2000)
        // What outlives the init (no pid namespace of its own) is killed, then the cgroups are removed (a systemd
        // unit is stopped first: systemd removes an empty scope by itself, and a gone unit is no error).
        let cgroupFailure = cgroups?.destroy(warn: { log.warn($0) })
        StateStore.removeContainerDir(h.dir, lockFD: h.fd)
        AuditRecords.record(h, "deleted", JSONObject([("force", .bool(force))]), log: log)
        if let cgroupFailure { throw cgroupFailure }
    }

    static let list = Verb(name: "list", usage: "[command options]", summary: "lists containers started by corral with the given root",
                           options: [OptionSpec(["f", "format"], value: true, "select one of: table or json (default: \"table\")"),
                                     OptionSpec(["q", "quiet"], "display only container IDs")],
                           arity: 0...0) { ctx, o throws(RuntimeError) in
        let store = ctx.store
        let format = o.string("format") ?? "table"
        if !o.bool("quiet") && format != "json" && format != "table" { throw RuntimeError(.usage, "invalid format option") }
        // The root and /proc held open: each container's state.json and its init's stat are then looked up from
        // there instead of from "/" (2% of list's CPU with 200 running). O_PATH, closed before returning; list
        // starts no process that could inherit them. Without them (-1) the full paths are used.
        let rootFD = Glibc.open(store.root, CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        let procFD = Glibc.open("/proc", CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        defer {
            if rootFD >= 0 { close(rootFD) }
            if procFD >= 0 { close(procFD) }
        }
        let proc = procFD >= 0 ? procFD : AT_FDCWD
        var states: [ContainerState] = []
        for id in try store.ids(missingIsError: ctx.globals.rootGiven) {
            guard let h = try? store.open(id, lock: false, rootFD: rootFD >= 0 ? rootFD : AT_FDCWD) else { continue }
            states.append(h.state)
        }
        if o.bool("quiet") {
            // Only the ids: no status, so none of the per-container /proc and cgroup reads.
            printOut(states.map { $0.id + "\n" }.joined())
            return 0
        }
        let dirs = states.map { store.dir($0.id) }
        if format == "json" {
            // Go encodes an empty slice that was never appended to as null; runc prints exactly that.
            let rows = zip(states, dirs).map { JSONValue.object($0.ociState(status: $0.status(in: $1, proc: proc), withOwner: true)) }
            printOut((rows.isEmpty ? "null" : JSONValue.array(rows).serialized()) + "\n")
            return 0
        }
        // The table's columns straight from the state, without building each container's JSON document first.
        var table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        for (st, dir) in zip(states, dirs) {
            let status = st.status(in: dir, proc: proc)
            table.append([st.id, (status == .stopped ? 0 : st.pid).decimal, status.rawValue, st.bundle, st.created, st.owner])
        }
        printOut(Table.render(table))
        return 0
    }
}
