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
        printOut(JSONValue.object(h.state.ociState(status: h.status)).serialized(indent: "  "))  // no newline, as runc
        return 0
    }

    static let kill = Verb(name: "kill", usage: "[command options] <container-id> [signal]",
                           summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
                           options: [OptionSpec(["a", "all"], "send the specified signal to all processes inside the container")],
                           arity: 1...2) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        let sig = try Signals.parse(o.positional.count > 1 ? o.positional[1] : "SIGTERM")
        let status = h.status
        if o.bool("all"), let set = h.state.cgroups, !set.isEmpty {
            // runc: every process in the container's cgroup, whatever the status; nothing to do once it is gone.
            let m = CgroupManager(set)
            if m.exists { m.signalAll(sig) }
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
        // What outlives the init (no pid namespace of its own) is killed, then the cgroups are removed (a systemd
        // unit is stopped first: systemd removes an empty scope by itself, and a gone unit is no error).
        let cgroupFailure = cgroups?.destroy(warn: { log.warn($0) })
        StateStore.removeContainerDir(h.dir, lockFD: h.fd)
        if let cgroupFailure { throw cgroupFailure }
    }

    static let list = Verb(name: "list", usage: "[command options]", summary: "lists containers started by corral with the given root",
                           options: [OptionSpec(["f", "format"], value: true, "select one of: table or json (default: \"table\")"),
                                     OptionSpec(["q", "quiet"], "display only container IDs")],
                           arity: 0...0) { ctx, o throws(RuntimeError) in
        let store = ctx.store
        var rows: [JSONObject] = []
        for id in try store.ids() {
            guard let h = try? store.open(id, lock: false) else { continue }
            rows.append(h.state.ociState(status: h.status, withOwner: true))
        }
        if o.bool("quiet") {
            printOut(rows.map { ($0["id"]?.stringValue ?? "") + "\n" }.joined())
            return 0
        }
        switch o.string("format") ?? "table" {
        case "json":
            // Go encodes an empty slice that was never appended to as null; runc prints exactly that.
            printOut((rows.isEmpty ? "null" : JSONValue.array(rows.map { .object($0) }).serialized()) + "\n")
        case "table":
            var table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
            for r in rows {
                table.append(["id", "pid", "status", "bundle", "created", "owner"].map { k in
                    r[k]?.stringValue ?? r[k]?.int64Value.map { String($0) } ?? ""
                })
            }
            printOut(Table.render(table))
        default:
            throw RuntimeError(.usage, "invalid format option")
        }
        return 0
    }

    static let spec = Verb(name: "spec", usage: "[command options]", summary: "create a new specification file",
                           options: [OptionSpec(["b", "bundle"], value: true, "path to the root of the bundle directory"),
                                     OptionSpec(["rootless"], "generate a configuration for a rootless container")],
                           arity: 0...0) { ctx, o throws(RuntimeError) in
        let dir = o.string("bundle") ?? "."
        let path = dir + "/config.json"
        if Files.exists(path) { throw RuntimeError(.exists, "File \(path) exists. Remove it first") }
        if !Files.isDirectory(dir) { throw .system("stat \(dir)", ENOENT) }
        try Files.writeAtomic(path, DefaultSpec.json(rootless: o.bool("rootless")), mode: 0o666 & ~0o022)
        return 0
    }
}

/// Go's text/tabwriter as runc uses it for `list` (minwidth 12, padding 3, spaces).
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let cols = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: cols)
        for r in rows { for (i, c) in r.enumerated() where i < cols - 1 { widths[i] = max(widths[i], max(c.count + 3, 12)) } }
        var out = ""
        for r in rows {
            for (i, c) in r.enumerated() { out += i < cols - 1 ? c.padding(toExactly: widths[i]) : c }
            out += "\n"
        }
        return out
    }
}

extension String {
    func padding(toExactly n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

/// Signal names and numbers as runc's `kill` accepts them: "9", "KILL", "SIGKILL".
enum Signals {
    static let names: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
        "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
        "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
        "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
    ]

    static func parse(_ s: String) throws(RuntimeError) -> Int32 {
        if let n = Int32(s) {
            // 0 sends nothing and only checks that the init is alive: the usual liveness probe.
            guard n >= 0 && n < 65 else { throw RuntimeError(.invalidArgument, "invalid signal: \(s)") }
            return n
        }
        var name = s.uppercased()
        if name.hasBytePrefix("SIG") { name.removeFirst(3) }
        if name.hasBytePrefix("RTMIN") || name.hasBytePrefix("RTMAX") {
            let base: Int32 = name.hasBytePrefix("RTMIN") ? 34 : 64
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            if let off = Int32(rest), base + off >= 34, base + off <= 64 { return base + off }
        }
        guard let n = names[name] else { throw RuntimeError(.invalidArgument, "unknown signal \"\(s)\"") }
        return n
    }
}
