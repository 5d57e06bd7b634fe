import CCorralHost
import CorralSpec
import Glibc

/// What state.json records about a container's monitor (`"monitor"`), so that later verbs find it without the
/// config or the policy: its process (pid and start time, for `delete`), its cgroup directories, and what it does.
/// Verbs of a container without a monitor see nil and do nothing more than before.
struct MonitorRecord: Equatable {
    var pid: Int32 = 0
    var startTime: UInt64 = 0
    /// The monitor's own cgroups (`<container cgroup>@monitor` in every hierarchy), made by create.
    var cgroups: [String] = []
    var wallLimit: Double?
    var cpuLimit: Double?
    var seccompAudit = false
    var audit = false
    var auditSink: String?

    init(_ s: SandboxSettings) {
        wallLimit = s.wallLimit
        cpuLimit = s.cpuLimit
        seccompAudit = s.seccompAudit
        audit = s.audit
        auditSink = s.auditSink
    }

    func json() -> JSONValue {
        var o = JSONObject()
        o["pid"] = JSONValue(Int(pid))
        o["startTime"] = JSONValue(startTime)
        o["cgroups"] = JSONValue(cgroups)
        if let wallLimit { o["wallLimit"] = .number("\(wallLimit)") }
        if let cpuLimit { o["cpuLimit"] = .number("\(cpuLimit)") }
        if seccompAudit { o["seccompAudit"] = .bool(true) }
        if audit { o["audit"] = .bool(true) }
        if let auditSink { o["auditSink"] = .string(auditSink) }
        return .object(o)
    }

    init?(json: JSONValue?) {
        guard let json, case .object(let o) = json else { return nil }
        pid = Int32(truncatingIfNeeded: o["pid"]?.int64Value ?? 0)
        startTime = o["startTime"]?.uint64Value ?? 0
        cgroups = o["cgroups"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        wallLimit = o["wallLimit"]?.numberText.flatMap { Double($0) }
        cpuLimit = o["cpuLimit"]?.numberText.flatMap { Double($0) }
        seccompAudit = o["seccompAudit"]?.boolValue ?? false
        audit = o["audit"]?.boolValue ?? false
        auditSink = o["auditSink"]?.stringValue
    }

    /// The audit trail of container `id` under `root`, nil when the container has none.
    func trail(root: String, id: String) -> AuditTrail? {
        audit ? AuditTrail(root: root, id: id, sink: auditSink) : nil
    }

    /// True while the recorded monitor process runs (same pid, same start time, not a zombie).
    var alive: Bool { ContainerState.alive(pid, startTime) }

    /// Ends the monitor: waits up to `graceMS` for it to finish on its own (it writes result.json and the
    /// `exited` line once the init is gone), then SIGKILLs it, and removes its cgroups.
    func stop(graceMS: Int32) {
        if pid > 0 {
            let fd = corral_pidfd_open(pid)
            if fd >= 0 {
                defer { close(fd) }
                // The pidfd is the monitor's only if the process behind the pid is still the recorded one.
                if ContainerState.alive(pid, startTime) {
                    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let finished = graceMS > 0 && poll(&p, 1, graceMS) > 0
                    if !finished {
                        _ = corral_pidfd_send_signal(fd, SIGKILL)
                        p.revents = 0
                        _ = poll(&p, 1, 2000)
                    }
                }
            }
        }
        for d in cgroups.reversed() { _ = CgroupFS.remove(d) }
    }
}
