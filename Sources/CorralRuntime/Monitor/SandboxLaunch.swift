import CCorralHost
import CorralSpec
import Glibc

/// `create`'s side of the agent-sandbox features: settings from annotations and policy, the audit form of the
/// seccomp filter, the monitor process, and the `created` line of the audit trail. `prepare` returns nil for a
/// container that asks for none of them, and `create` then does exactly what it did before.
///
/// The monitor is started after the container's cgroups exist and before the init is cloned, so it can answer
/// seccomp notifications from the first one (with `noNewPrivileges` false the filter goes on before the uid
/// switch, and the child's own remaining setup syscalls are filtered). It lives in cgroups of its own,
/// `<container cgroup>@monitor` in every hierarchy (`@` is not in runc's id alphabet, so no container named after
/// its id collides): outside the container's limits, never killed by `kill --all`, removed by `delete`.
final class SandboxLaunch {
    let settings: SandboxSettings
    let root: String
    let id: String
    let dir: String
    /// The filter as compiled, before the audit rewrite (the monitor evaluates it for the errno).
    private let originalFilter: [UInt8]
    /// The hash of the config's `linux.seccomp` as given (for the audit trail).
    private let profileHash: String?
    private var record: MonitorRecord
    private var control: Int32 = -1
    private var madeCgroups: [String] = []
    private var createdLogged = false

    private init(_ settings: SandboxSettings, root: String, id: String, originalFilter: [UInt8], profileHash: String?) {
        self.settings = settings
        self.root = root
        self.id = id
        self.dir = root + "/" + id
        self.originalFilter = originalFilter
        self.profileHash = profileHash
        self.record = MonitorRecord(settings)
    }

    deinit { if control >= 0 { close(control) } }

    /// Resolves the settings and, in audit mode, turns the plan's filter into its audit form. Before anything
    /// exists: every error here leaves nothing behind.
    static func prepare(_ spec: Spec, rawConfig: [UInt8], policy: Policy?, plan: inout LaunchPlan, root: String,
                        id: String) throws(RuntimeError) -> SandboxLaunch? {
        let annotations = spec.annotations ?? [:]
        // The common case costs a scan of the annotations in memory.
        if policy == nil && !annotations.keys.contains(where: { $0.hasBytePrefix("io.corral.") && !$0.hasBytePrefix(Policy.annotationPrefix) }) {
            return nil
        }
        let settings = try SandboxSettings.resolve(annotations: annotations, policy: policy, hasSeccomp: plan.seccomp != nil)
        guard settings.needsMonitor else { return nil }
        if settings.wallLimit != nil || settings.cpuLimit != nil,
           !(spec.linux?.namespaces ?? []).contains(where: { $0.type == .pid && $0.path == nil }) {
            // In the host's pid namespace (or one joined by path) a container process could kill the monitor, and
            // with it the limits: fail closed instead.
            let key = [SandboxSettings.wallKey, SandboxSettings.cpuKey].first { annotations[$0] != nil }
            let field = key.map { "annotations[\(JSONValue.quoted($0))]" } ?? "policy rule \"runLimits\""
            throw RuntimeError(.config, "\(field): run limits need a new pid namespace (linux.namespaces): in another one a container process could kill the monitor that enforces them")
        }
        let original = plan.seccomp?.filter ?? []
        if settings.seccompAudit, let sc = plan.seccomp {
            let field = annotations[SandboxSettings.seccompAuditKey] != nil
                ? "annotations[\(JSONValue.quoted(SandboxSettings.seccompAuditKey))]" : "policy rule \"seccompAudit\""
            plan.seccomp = try SeccompAudit.plan(sc, field: field)
        }
        var hash: String?
        if settings.audit, let raw = try? JSONValue.parse(rawConfig), let s = raw["linux"]?["seccomp"] {
            hash = SHA256.hex(SHA256.digest(Array(s.serialized().utf8)))
        }
        return SandboxLaunch(settings, root: Files.absolute(root), id: id, originalFilter: original, profileHash: hash)
    }

    /// The record state.json carries while create runs: the monitor's cgroups are listed before they are made,
    /// so that the cleanup of a create killed half-way finds them.
    func plannedRecord(_ set: CgroupSet) -> MonitorRecord {
        record.cgroups = set.directories.map { $0 + "@monitor" }
        return record
    }

    /// Makes the monitor's cgroups and starts it (`corral --root R monitor ID`, detached), then sends it the
    /// config. It waits for the init's listener and the go.
    func startMonitor(_ set: CgroupSet, globals: GlobalOptions, log: Logger) throws(RuntimeError) {
        for d in record.cgroups {
            if mkdir(d, 0o755) == 0 { madeCgroups.append(d); continue }
            let e = errno
            if e != EEXIST { throw .system("mkdir \(d)", e) }
            // Left by a container of this id whose delete never ran: reuse it when nothing lives there.
            if !CgroupFS.pids(d).isEmpty { throw RuntimeError(.invalidState, "monitor cgroup \(d) is in use") }
            madeCgroups.append(d)
        }
        if let cpuset = set.v1("cpuset") { try CgroupManager.prepareCpuset(cpuset + "@monitor") }
        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
            throw .system("socketpair", errno)
        }
        control = pair[0]
        defer { close(pair[1]) }
        var args = ["corral", "--root", root]
        if let l = globals.logPath { args += ["--log", Files.absolute(l), "--log-format", globals.logFormat.rawValue] }
        if globals.debug { args.append("--debug") }
        args += ["monitor", id]
        let cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var report: Int32 = -1
        // The monitor joins its cgroups itself, after create has its answer: the first cgroup migration after a
        // while waits for an RCU grace period (~10 ms here), which create need not wait for.
        let pid = cArgs.withUnsafeBufferPointer { ap in
            corral_monitor_spawn("/proc/self/exe", ap.baseAddress, pair[1], &report)
        }
        if pid < 0 { throw .system("start the container's monitor", -pid) }
        var step: Int32 = 0, err: Int32 = 0
        let failed = corral_monitor_report(report, &step, &err) == 1
        close(report)
        if failed {
            var s: Int32 = 0
            waitpid(pid, &s, 0)
            let what = ["setsid", "set up its descriptors and directory", "exec"][Int(max(1, min(step, 3))) - 1]
            throw RuntimeError(.system, "start the container's monitor: \(what): \(errnoText(err))")
        }
        record.pid = pid
        record.startTime = Proc.stat(pid)?.startTime ?? 0
        var config = MonitorConfig()
        config.cgroups = set
        config.wallLimit = settings.wallLimit
        config.cpuLimit = settings.cpuLimit
        config.seccompAudit = settings.seccompAudit
        config.filter = settings.seccompAudit ? originalFilter : []
        config.audit = settings.audit
        config.auditSink = settings.auditSink
        config.ownCgroups = record.cgroups
        let r = MonitorMessage.send(control, MonitorMessage.config, config.json().serialized())
        if r < 0 { throw .system("send the monitor its configuration", -r) }
        log.debug("monitor \(pid) started for \(id)")
    }

    /// Audit mode: the init's listener goes to the monitor (once `startMonitor` has started it); nil without.
    var listenerDestination: HandshakeHost.ListenerDestination? {
        settings.seccompAudit ? .monitor(control: control) : nil
    }

    /// The init is parked and about to be recorded: the monitor takes its pidfd and arms its watches; create
    /// goes on only once it has (a `start` right after create must be seen). Returns the record for state.json.
    func commit(pid: Int32, startTime: UInt64) throws(RuntimeError) -> MonitorRecord {
        var go = JSONObject()
        go["pid"] = JSONValue(Int(pid))
        go["startTime"] = JSONValue(startTime)
        let r = MonitorMessage.send(control, MonitorMessage.go, JSONValue.object(go).serialized())
        if r < 0 { throw .system("start watching the container", -r) }
        guard let answer = MonitorMessage.receive(control, timeoutMS: 10_000) else {
            throw RuntimeError(.system, "the container's monitor did not answer")
        }
        if answer.fd >= 0 { close(answer.fd) }
        if answer.type != MonitorMessage.ack {
            throw RuntimeError(.system, "the container's monitor: " + String(decoding: answer.payload, as: UTF8.self))
        }
        close(control)
        control = -1
        return record
    }

    /// The `created` line, just before the committed state is written: a committed container always has one, and
    /// an audited container that cannot be recorded does not run.
    func recordCreated(spec: Spec, plan: LaunchPlan, policy: Policy?, bundle: String, state: ContainerState,
                       log: Logger) throws(RuntimeError) {
        guard let trail = record.trail(root: root, id: id) else { return }
        let fields = AuditRecords.created(spec: spec, plan: plan, policy: policy, bundle: bundle, state: state,
                                          settings: settings, profileHash: profileHash)
        try trail.append("created", fields, warn: { log.warn($0) })
        createdLogged = true
    }

    /// A failed create: the monitor is killed and reaped (it is still our child), its cgroups removed, and a
    /// `created` line already written is followed by `deleted`.
    func abort(reason: String, log: Logger) {
        if control >= 0 { close(control); control = -1 }
        if record.pid > 0 {
            Glibc.kill(record.pid, SIGKILL)
            var s: Int32 = 0
            waitpid(record.pid, &s, 0)
        }
        for d in madeCgroups.reversed() { _ = CgroupFS.remove(d) }
        if createdLogged, let trail = record.trail(root: root, id: id) {
            var f = JSONObject()
            f["reason"] = .string(reason)
            _ = try? trail.append("deleted", f, warn: { log.warn($0) })
        }
    }
}
