import CCorralHost
import CorralSpec
import Glibc

/// The container monitor: a small long-lived process per container that asks for run limits, seccomp audit mode
/// or an audit trail (`SandboxSettings`); containers that ask for none have none.
///
/// **What it is.** The hidden verb `corral --root R monitor ID` of the same static binary, started by `create`
/// through fork + execve of /proc/self/exe (the sealed read-only view `create` runs from: same inode, same page
/// cache, so it costs one exec and ~1.5 MiB of resident memory, most of it shared text). A separate verb and not a
/// C loop forked off `create`: the monitor writes JSON, hashes audit lines and evaluates BPF, which Swift already
/// does here, and a forked child must never run Swift; exec'ing the binary gives it a clean single-threaded Swift
/// process. The fork runs only C (`corral_monitor_spawn`) until execve.
///
/// **Where it lives.** Its own session (setsid), stdio on /dev/null and no other descriptor of the caller's, cwd
/// `/`, and cgroups of its own (`<container cgroup>@monitor`, see `SandboxLaunch`). When `create` exits, the
/// monitor is re-parented like the container's init, to the engine's shim when the shim is a subreaper
/// (containerd's is): the shim reaps it when it ends and ignores its exit, because exit events are matched
/// against the pids the shim started or read from `--pid-file` (the init's). The shim never waits for it either:
/// go-runc waits for `create` and for EOF on the pipes it gave `create`, and the monitor holds none of them.
///
/// **What it watches**, in one poll loop: the init's pidfd (its exit), the seccomp listeners of the init and of
/// exec'd processes (audit mode), `<state dir>/monitor.sock` (exec hands listeners over there, and `start` says
/// "started" there: the wall clock starts), the memory cgroup's OOM notification (v1: an eventfd on
/// memory.oom_control; cgroup2: POLLPRI on memory.events), pids.events (POLLPRI on cgroup2, read once a second on
/// v1, which does not notify), and timers for the wall limit and the CPU check. The CPU limit is checked when it
/// could first be crossed: after (limit − used) / online CPUs seconds, so an idle container costs a wake-up per
/// several seconds and a busy one a handful near its limit. A `start` that died before it said so is caught by a
/// look for exec.fifo once a second while the container is `created`. No inotify: tearing an instance down waits
/// for an SRCU grace period (6-15 ms here), which would delay the monitor's exit and so `delete`.
///
/// **Ending.** A limit kills the whole container through its cgroup (`CgroupManager.killAll`). When the init is
/// gone the monitor reads its exit status without being its parent: pidfs keeps it for a pidfd holder once the
/// parent reaped it (PIDFD_GET_INFO with PIDFD_INFO_EXIT, Linux 6.15), and /proc/<pid>/stat's exit_code shows it
/// while the init is a zombie; between the two nothing is missed (see `corral_exit_status`). The kernel's proc
/// connector (NETLINK_CONNECTOR, PROC_EVENT_EXIT) would also work on older kernels, but it needs CAP_NET_ADMIN in
/// the host's user namespace and delivers every exit on the host to every listener (a filter can cut that down,
/// not the kernel's work), and identifies processes by a pid that may be reused; the pidfd is exact and free.
/// Then result.json, the audit trail's `exited` line, and exit. `delete` waits briefly for it, then kills it.
final class MonitorLoop {
    let ctx: Context
    let id: String
    let root: String
    let dir: String
    private var config = MonitorConfig()
    /// The profile's program as compiled, decoded once (audit mode).
    private var program = SeccompBPF([])
    private var control: Int32 = 3
    private var listeners: [Int32] = []
    /// `<state dir>/monitor.sock`: exec's listeners, start's word.
    private var clientSocket: Int32 = -1
    private var initPid: Int32 = 0
    private var initStart: UInt64 = 0
    private var pidfd: Int32 = -1
    /// While the container is `created` and a wall limit or a trail waits for its start: the next look for exec.fifo.
    private var nextFifoCheck: Double?
    /// cgroup2's memory.events and pids.events, polled for POLLPRI (kernfs notifies a changed file that way).
    private var memoryEvents: Int32 = -1
    private var pidsEvents: Int32 = -1
    private var oom: OOMWatch?
    private var denials: DenialLog?
    private var trail: AuditTrail?
    private var startedAt: Double?
    private var killedFor: RunResult.Reason?
    private var nextCPUCheck: Double?
    private var nextPidsPoll: Double?
    private var oomKills: UInt64 = 0
    private var pidsHits: UInt64 = 0
    private var oomBase: UInt64 = 0
    private var pidsBase: UInt64 = 0

    init(ctx: Context, id: String) {
        self.ctx = ctx
        self.id = id
        self.root = ctx.globals.root
        self.dir = ctx.globals.root + "/" + id
    }

    static func now() -> Double { Clock.monotonicSeconds() }

    /// The monitor's life: configuration, the launch (listeners, go), watching, the result.
    func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        guard let first = MonitorMessage.receive(control, timeoutMS: 30_000), first.type == MonitorMessage.config,
              let json = try? JSONValue.parse(first.payload) else { return 1 }
        config = MonitorConfig(json: json)
        program = SeccompBPF(config.filter)
        if config.audit { trail = AuditTrail(root: root, id: id, sink: config.auditSink) }
        if config.seccompAudit {
            let fd = open(dir + "/" + DenialLog.fileName, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            if fd >= 0 {
                let log = DenialLog(fd: fd, now: MonitorLoop.now())
                if let trail {
                    log.onLine = { [ctx] line in
                        var f = line
                        f["time"] = nil
                        _ = try? trail.append("denied", f, warn: { ctx.log.warn($0) })
                    }
                }
                denials = log
            } else {
                ctx.log.warn("monitor: open \(dir)/\(DenialLog.fileName): \(errnoText(errno))")
            }
        }
        let path = dir + "/" + MonitorMessage.socketName
        unlink(path)
        clientSocket = corral_listen_unix_type(path, Int32(SOCK_SEQPACKET.rawValue))
        if clientSocket < 0 { ctx.log.warn("monitor: listen on \(path): \(errnoText(-clientSocket))"); clientSocket = -1 }
        // Until the go: the init's own setup may already notify.
        while control >= 0 {
            var fds = [pollfd(fd: control, events: Int16(POLLIN), revents: 0)]
            fds += listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; return 1 }
            serviceListeners(Array(fds.dropFirst()))
            if fds[0].revents == 0 { continue }
            guard let m = MonitorMessage.receive(control, timeoutMS: 0) else { return 0 }   // create failed or died
            switch m.type {
            case MonitorMessage.listener where m.fd >= 0:
                addListener(m.fd)
            case MonitorMessage.go:
                if let why = arm(m.payload) {
                    _ = MonitorMessage.send(control, MonitorMessage.error, why)
                    return 1
                }
                _ = MonitorMessage.send(control, MonitorMessage.ack)
                close(control)
                control = -1
                joinOwnCgroups()
            default:
                if m.fd >= 0 { close(m.fd) }
            }
        }
        watch()
        finish()
        return 0
    }

    /// Takes the init (pidfd, verified by its start time) and sets up every watch; the reason when it cannot.
    private func arm(_ payload: [UInt8]) -> String? {
        guard let go = try? JSONValue.parse(payload), let pid = go["pid"]?.int64Value, let start = go["startTime"]?.uint64Value
        else { return "malformed go message" }
        initPid = Int32(truncatingIfNeeded: pid)
        initStart = start
        pidfd = corral_pidfd_open(initPid)
        guard pidfd >= 0, ContainerState.alive(initPid, initStart) else { return "the container init \(initPid) is gone" }
        if config.wallLimit != nil || trail != nil { nextFifoCheck = MonitorLoop.now() + 1 }
        oomBase = currentOOMKills()
        pidsBase = currentPidsHits()
        if denials != nil || trail != nil {
            if config.cgroups.v1("memory") != nil {
                oom = OOMWatch(config.cgroups)   // an eventfd on v1
            } else if let v2 = config.cgroups.v2 {
                memoryEvents = MonitorLoop.openEvents(v2 + "/memory.events")
            }
            if let v2 = config.cgroups.v2, config.cgroups.v1("pids") == nil {
                pidsEvents = MonitorLoop.openEvents(v2 + "/pids.events")
            } else if let d = config.cgroups.v1("pids"), (CgroupFS.readUInt(d, "pids.max") ?? UInt64.max) != UInt64.max {
                nextPidsPoll = MonitorLoop.now() + 1
            }
        }
        if config.cpuLimit != nil { nextCPUCheck = MonitorLoop.now() }
        return nil
    }

    /// Into `<container cgroup>@monitor` in every hierarchy (made by create); a failure leaves the monitor where
    /// it was started, the caller's cgroups, and is a warning.
    private func joinOwnCgroups() {
        let me = getpid().decimal
        for d in config.ownCgroups {
            let e = CgroupFS.write(d, "cgroup.procs", me)
            if e != 0 { ctx.log.warn("monitor: join \(d): \(errnoText(e))") }
        }
    }

    /// The loop, until the init is gone.
    private func watch() {
        while true {
            let now = MonitorLoop.now()
            if let d = wallDeadline, now >= d, killedFor == nil { kill(for: .timeout) }
            if let c = nextCPUCheck, now >= c { checkCPU() }
            if let p = nextPidsPoll, now >= p { checkPids(); nextPidsPoll = now + 1 }
            if let f = nextFifoCheck, now >= f {
                if Files.exists(dir + "/" + ContainerState.fifoName) { nextFifoCheck = now + 1 } else { started() }
            }
            if let log = denials, log.hasSuppressed, now - log.lastFlush >= 1 { log.flushSuppressed(now: now) }
            var deadlines: [Double] = []
            if let d = wallDeadline, killedFor == nil { deadlines.append(d) }
            if let c = nextCPUCheck { deadlines.append(c) }
            if let p = nextPidsPoll { deadlines.append(p) }
            if let f = nextFifoCheck { deadlines.append(f) }
            if let log = denials, log.hasSuppressed { deadlines.append(log.lastFlush + 1) }
            let timeout: Int32 = deadlines.min().map { Int32(max(0, min(($0 - now) * 1000, 3_600_000)).rounded(.up)) } ?? -1

            var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
            let fixed = [-1, oom?.fd ?? -1, clientSocket]
            fds += fixed.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds += [memoryEvents, pidsEvents].map { pollfd(fd: $0, events: Int16(POLLPRI), revents: 0) }
            fds += listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let r = poll(&fds, nfds_t(fds.count), timeout)
            if r < 0 { if errno == EINTR { continue }; return }
            if r == 0 { continue }
            serviceListeners(Array(fds[6...]))
            if fds[2].revents & Int16(POLLIN) != 0, let oom {
                if oom.consume() == .oom { noteOOM() }
            }
            if fds[3].revents & Int16(POLLIN) != 0 { acceptClient() }
            if fds[4].revents != 0 { MonitorLoop.rearm(memoryEvents); noteOOM() }
            if fds[5].revents != 0 { MonitorLoop.rearm(pidsEvents); checkPids() }
            if fds[0].revents != 0 { return }
        }
    }

    private var wallDeadline: Double? {
        guard let s = startedAt, let w = config.wallLimit else { return nil }
        return s + w
    }

    // MARK: seccomp notifications

    /// Answers every pending notification of the listeners whose poll entries are given (same order), and drops
    /// listeners whose processes are all gone.
    private func serviceListeners(_ entries: [pollfd]) {
        var dead: [Int32] = []
        for e in entries {
            if e.revents & Int16(POLLIN) != 0 {
                answer(e.fd)
            } else if e.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                dead.append(e.fd)
            }
        }
        for fd in dead {
            close(fd)
            listeners.removeAll { $0 == fd }
        }
    }

    private func addListener(_ fd: Int32) {
        // A denied syscall is a synchronous round trip: ask the scheduler to treat it as one (Linux 6.6).
        _ = corral_notif_sync_wakeup(fd)
        listeners.append(fd)
    }

    /// One notification: the errno the original program gives for this syscall, the answer, and the log line.
    private func answer(_ listener: Int32) {
        var n = corral_notif()
        guard corral_notif_recv(listener, &n) == 0 else { return }   // -ENOENT: the caller died meanwhile
        let ret = program.run(nr: n.nr, arch: n.arch, ip: n.ip, args: n.args)
        // Only ERRNO returns were rewritten, so the original answers ERRNO here; EPERM if the two ever disagree.
        let e: Int32 = ret & SeccompAudit.retActionFull == SeccompProfile.retErrno ? Int32(ret & SeccompAudit.retData) : EPERM
        let now = MonitorLoop.now()
        let logged = denials?.admit(now: now) ?? false
        var command: String?
        if logged {
            // Read while the caller waits for us: its pid cannot be reused before the answer.
            command = Files.readString("/proc/\(n.pid)/comm")?.cgTrimmed
            if corral_notif_id_valid(listener, n.id) != 0 { command = nil }
        }
        _ = corral_notif_answer_errno(listener, n.id, e)
        guard let denials else { return }
        if logged {
            denials.write(DenialLog.syscall(n, errno: e, command: command))
        } else {
            denials.suppress(arch: n.arch, nr: n.nr)
        }
    }

    /// A client on monitor.sock: exec handing over a listener ('L'), or start saying the container runs ('S').
    private func acceptClient() {
        let conn = accept(clientSocket, nil, nil)
        if conn < 0 { return }
        _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
        defer { close(conn) }
        guard let m = MonitorMessage.receive(conn, timeoutMS: 1000) else { return }
        if m.type == MonitorMessage.listener && m.fd >= 0 {
            addListener(m.fd)
            _ = MonitorMessage.send(conn, MonitorMessage.ack)
            return
        }
        if m.fd >= 0 { close(m.fd) }
        if m.type == MonitorMessage.started && startedAt == nil { started() }
    }

    // MARK: start, limits, events

    /// A cgroup2 events file opened and read once (kernfs reports a change since the last read as POLLPRI).
    static func openEvents(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { rearm(fd) }
        return fd
    }

    static func rearm(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 512)
        _ = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    }

    /// `start` released the init: the container runs; the wall clock starts.
    private func started() {
        nextFifoCheck = nil
        startedAt = MonitorLoop.now()
        var f = JSONObject()
        f["pid"] = JSONValue(Int(initPid))
        audit("started", f)
    }

    private func kill(for reason: RunResult.Reason) {
        killedFor = reason
        ctx.log.debug("monitor: \(id) reached its \(reason == .timeout ? "wall-clock" : "CPU") limit; killing it")
        CgroupManager(config.cgroups).killAll()
    }

    /// CPU seconds of the container's cgroup: cgroup2's cpu.stat (there even without the cpu controller), else
    /// v1 cpuacct.usage.
    private func cpuSeconds() -> Double? {
        if let v2 = config.cgroups.v2, let us = CgroupFS.value(v2, "cpu.stat", key: "usage_usec") { return Double(us) / 1e6 }
        if let d = config.cgroups.v1("cpuacct"), let ns = CgroupFS.readUInt(d, "cpuacct.usage") { return Double(ns) / 1e9 }
        return nil
    }

    private func checkCPU() {
        guard let limit = config.cpuLimit, killedFor == nil, let used = cpuSeconds() else { nextCPUCheck = nil; return }
        if used >= limit {
            nextCPUCheck = nil
            kill(for: .cpuTimeout)
            return
        }
        // The soonest the limit can be crossed: every online CPU busy for the container.
        let cpus = Double(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        nextCPUCheck = MonitorLoop.now() + max(0.02, (limit - used) / cpus)
    }

    private func currentOOMKills() -> UInt64 {
        if let v2 = config.cgroups.v2, config.cgroups.v1("memory") == nil, let k = CgroupFS.value(v2, "memory.events", key: "oom_kill") {
            return k
        }
        if let d = config.cgroups.v1("memory") { return CgroupFS.value(d, "memory.oom_control", key: "oom_kill") ?? 0 }
        return 0
    }

    private func currentPidsHits() -> UInt64 {
        let d = config.cgroups.v1("pids") ?? config.cgroups.v2
        guard let d else { return 0 }
        return CgroupFS.value(d, "pids.events", key: "max") ?? 0
    }

    private func noteOOM() {
        oomKills = noteIncrease(currentOOMKills(), base: oomBase, seen: oomKills, kind: "oom", key: "oomKills")
    }

    private func checkPids() {
        pidsHits = noteIncrease(currentPidsHits(), base: pidsBase, seen: pidsHits, kind: "pids-limit", key: "hits")
    }

    /// A cgroup counter (`total`, which stood at `base` when the watch began) went past what was `seen`: one line
    /// of `kind` with the increase under `key`. Returns what is seen now.
    private func noteIncrease(_ total: UInt64, base: UInt64, seen: UInt64, kind: String, key: String) -> UInt64 {
        guard total > base + seen else { return seen }
        var o = DenialLog.header(kind)
        o[key] = JSONValue(total - base - seen)
        emit(o)
        return total - base
    }

    /// An OOM kill or a pids-limit hit: in denials.jsonl when there is one (its line also reaches the trail),
    /// else only in the trail.
    private func emit(_ o: JSONObject) {
        if let denials {
            if denials.admit(now: MonitorLoop.now()) { denials.write(o) } else { denials.suppress(kind: o["kind"]?.stringValue ?? "") }
        } else {
            var f = o
            f["time"] = nil
            audit("denied", f)
        }
    }

    private func audit(_ event: String, _ fields: JSONObject) {
        guard let trail else { return }
        do { try trail.append(event, fields, warn: { ctx.log.warn($0) }) } catch {
            ctx.log.warn("monitor: audit trail: \(error.message)")
        }
    }

    // MARK: the end

    /// The init is gone: its status, the reason, result.json, the `exited` line.
    private func finish() {
        var status: Int32 = 0
        var known = false
        for _ in 0..<200 {
            let r = corral_exit_status(pidfd, initPid, initStart, &status)
            if r == 1 { known = true; break }
            if r < 0 { break }
            usleep(5000)
        }
        // Late events: an OOM kill is counted before the victim's exit is visible.
        noteOOM()
        checkPids()
        var result = RunResult.decide(status: known ? status : nil, killedFor: killedFor, oomKills: oomKills, pidsLimitHits: pidsHits)
        result.finished = Clock.rfc3339Nano(Clock.now())
        if let s = startedAt { result.wallSeconds = MonitorLoop.now() - s }
        result.cpuSeconds = cpuSeconds()
        result.wallLimit = config.wallLimit
        result.cpuLimit = config.cpuLimit
        let json = JSONValue.object(result.json())
        if Files.isDirectory(dir) {
            do { try Files.writeAtomic(dir + "/" + RunResult.fileName, json.serialized(), mode: 0o600) } catch {
                ctx.log.warn("monitor: \(error.message)")
            }
        }
        denials?.flushSuppressed(now: MonitorLoop.now())
        // A create that died after arming the monitor never committed (state.json still names its creator): the
        // container never existed for the trail either.
        let committed = (try? Files.read(dir + "/" + ContainerState.fileName)).flatMap { try? JSONValue.parse($0) }.map { $0["creator"] == nil } ?? false
        if committed { audit("exited", result.json()) }
        if clientSocket >= 0 { unlink(dir + "/" + MonitorMessage.socketName) }
    }
}

extension Commands {
    /// The hidden verb `create` starts for a container with a monitor (see `MonitorLoop`); not in `help`.
    static let monitor = Verb(name: "monitor", usage: "<container-id>", summary: "internal: the container's monitor",
                              options: []) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        return MonitorLoop(ctx: ctx, id: id).run()
    }
}
