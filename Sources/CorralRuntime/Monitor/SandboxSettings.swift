import CorralSpec

/// What a container asks of its monitor and of the audit trail, from its `io.corral.*` annotations and the
/// administrator's policy:
///
/// | annotation                  | value                 | policy                                   |
/// |-----------------------------|-----------------------|------------------------------------------|
/// | `io.corral.limits.wall`     | Go duration (`2s`)    | `runLimits.wall`: default and maximum    |
/// | `io.corral.limits.cpu`      | Go duration (`10s`)   | `runLimits.cpu`: default and maximum     |
/// | `io.corral.seccomp.audit`   | `true` / `false`      | `seccompAudit: true` forces it           |
/// | `io.corral.audit`           | `true` / `false`      | `audit.enabled: true` forces it          |
///
/// An annotation may tighten what the policy sets (a shorter limit, audit switched on); one that loosens it (a
/// longer limit, audit switched off) is refused unless the policy allows loosening annotations. With none of
/// them, `needsMonitor` is false and `create` does nothing more than before: no process, no file, no syscall.
struct SandboxSettings: Equatable {
    /// Wall-clock seconds from `start` until the container is killed (reason `timeout`).
    var wallLimit: Double?
    /// CPU seconds of the container's cgroup until it is killed (reason `cpu-timeout`).
    var cpuLimit: Double?
    /// The seccomp profile's errno denials go through the monitor and are reported (`SeccompAudit`).
    var seccompAudit = false
    /// The container has a hash-chained audit trail (`AuditTrail`).
    var audit = false
    /// The policy's copy of every audit line: a file or `unix:PATH`.
    var auditSink: String?

    static let wallKey = "io.corral.limits.wall"
    static let cpuKey = "io.corral.limits.cpu"
    static let seccompAuditKey = "io.corral.seccomp.audit"
    static let auditKey = "io.corral.audit"

    /// A monitor process runs for this container (limits, audit mode or an audit trail need one).
    var needsMonitor: Bool { wallLimit != nil || cpuLimit != nil || seccompAudit || audit }

    /// The settings of a container. `hasSeccomp`: the config has a profile (audit mode needs one; a policy that
    /// forces it leaves a container without one alone, an annotation that asks for it is an error).
    static func resolve(annotations: [String: String], policy: Policy?, hasSeccomp: Bool) throws(RuntimeError) -> SandboxSettings {
        var s = SandboxSettings()
        s.wallLimit = policy?.wallLimit
        s.cpuLimit = policy?.cpuLimit
        s.seccompAudit = hasSeccomp && policy?.seccompAudit == true
        s.audit = policy?.auditEnabled == true
        let loosening = policy?.allowLooseningAnnotations ?? false
        func field(_ key: String) -> String { "annotations[" + JSONValue.quoted(key) + "]" }
        func loosens(_ key: String, _ value: String, _ rule: String) throws(RuntimeError) {
            if !loosening {
                throw RuntimeError(.config, "\(field(key)): \(JSONValue.quoted(value)) loosens the policy's \(rule) (the policy does not allow that)")
            }
        }
        func flag(_ key: String, _ value: String) throws(RuntimeError) -> Bool {
            switch value {
            case "true": return true
            case "false": return false
            default: throw RuntimeError(.config, "\(field(key)): expected \"true\" or \"false\", got \(JSONValue.quoted(value))")
            }
        }
        func duration(_ key: String, _ value: String) throws(RuntimeError) -> Double {
            guard let d = Units.duration(value), d > 0, d < 1e9 else {
                throw RuntimeError(.config, "\(field(key)): expected a positive duration such as \"30s\" or \"2m\", got \(JSONValue.quoted(value))")
            }
            return d
        }
        if let v = annotations[wallKey] {
            let d = try duration(wallKey, v)
            if let max = policy?.wallLimit, d > max { try loosens(wallKey, v, "runLimits.wall") }
            s.wallLimit = d
        }
        if let v = annotations[cpuKey] {
            let d = try duration(cpuKey, v)
            if let max = policy?.cpuLimit, d > max { try loosens(cpuKey, v, "runLimits.cpu") }
            s.cpuLimit = d
        }
        if let v = annotations[seccompAuditKey] {
            let on = try flag(seccompAuditKey, v)
            if on && !hasSeccomp {
                throw RuntimeError(.config, "\(field(seccompAuditKey)): the container has no linux.seccomp profile to audit")
            }
            if !on && s.seccompAudit { try loosens(seccompAuditKey, v, "seccompAudit") }
            s.seccompAudit = on
        }
        if let v = annotations[auditKey] {
            let on = try flag(auditKey, v)
            if !on && s.audit { try loosens(auditKey, v, "audit.enabled") }
            s.audit = on
        }
        if s.audit { s.auditSink = policy?.auditSink }
        return s
    }
}
