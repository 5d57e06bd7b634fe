import CorralSpec
import Glibc

/// The administrator's policy: named rules every container must meet, read from `/etc/corral/policy.json` (or the
/// global `--policy FILE`, which engines can pass through Docker's `runtimeArgs` and containerd's options). `create`
/// and `run` refuse a config that breaks a rule, naming the rule, the JSON path and the value; `corral check` prints
/// every rule's verdict. A container's annotations (`io.corral.policy.<rule>`) may only tighten a rule: one that
/// loosens it is refused unless the policy sets `"allowLooseningAnnotations": true`.
///
///     {
///       "capabilities": ["CAP_NET_BIND_SERVICE"],        // no capability beyond these, in any of the five sets
///       "hostNamespaces": false,                         // every namespace new, and pid/network/ipc/uts/mount there
///       "forbiddenBindSources": ["/", "/proc", "/sys", "/var/run/docker.sock"],  // nor anything below /proc, /sys
///       "readonlyRoot": true,
///       "noNewPrivileges": true,
///       "seccomp": true,                                 // a profile whose default action is not SCMP_ACT_ALLOW
///       "limits": ["memory", "pids", "cpu"],
///       "nonRootUser": true,                             // process.user.uid is not 0
///       "allowLooseningAnnotations": false,
///       "audit": {"enabled": true, "sink": "/var/log/corral/audit.jsonl"},   // or "unix:/run/audit.sock"
///       "seccompAudit": true,                            // denials of the seccomp profile are reported
///       "runLimits": {"wall": "1h", "cpu": "10m"}        // defaults and maxima of io.corral.limits.*
///     }
///
/// A rule that is absent does not apply. `audit`, `seccompAudit` and `runLimits` are not checks but what the
/// runtime does for every container (see `SandboxSettings`); annotations may tighten them like the rules.
struct Policy: Equatable {
    var capabilities: [String]?
    var hostNamespaces: Bool?
    var forbiddenBindSources: [String]?
    var readonlyRoot: Bool?
    var noNewPrivileges: Bool?
    var seccomp: Bool?
    var limits: [String]?
    var nonRootUser: Bool?
    var allowLooseningAnnotations = false
    /// `audit.enabled`: every container gets an audit trail (else only those asking with `io.corral.audit`).
    var auditEnabled: Bool?
    /// `audit.sink`: where every audited container's lines also go: a file (appended) or `unix:PATH` (a socket).
    var auditSink: String?
    /// Every container with a seccomp profile runs it in audit mode.
    var seccompAudit: Bool?
    /// `runLimits.wall` / `runLimits.cpu` in seconds: the default and the most an annotation may ask for.
    var wallLimit: Double?
    var cpuLimit: Double?

    static let defaultPath = "/etc/corral/policy.json"
    static let annotationPrefix = "io.corral.policy."
    static let limitNames: Set<String> = ["memory", "pids", "cpu"]

    /// The policy in force: `path` (which must exist) or the default file when present; nil for none.
    static func load(path: String?) throws(RuntimeError) -> Policy? {
        let file = path ?? defaultPath
        guard path != nil || Files.exists(file) else { return nil }
        let bytes = try Files.read(file, limit: Spec.maxDocumentBytes)
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch {
            throw RuntimeError(.config, "policy \(file): \(error.description)")
        }
        return try parse(json, source: file)
    }

    static func parse(_ json: JSONValue, source: String) throws(RuntimeError) -> Policy {
        guard case .object(let o) = json else { throw RuntimeError(.config, "policy \(source): expected an object") }
        func fail(_ key: String, _ why: String) -> RuntimeError { RuntimeError(.config, "policy \(source): \(key): \(why)") }
        func bool(_ key: String) throws(RuntimeError) -> Bool? {
            guard let v = o[key] else { return nil }
            guard case .bool(let b) = v else { throw fail(key, "expected a boolean") }
            return b
        }
        func strings(_ key: String) throws(RuntimeError) -> [String]? {
            guard let v = o[key] else { return nil }
            guard case .array(let a) = v else { throw fail(key, "expected an array of strings") }
            var out: [String] = []
            for e in a {
                guard case .string(let s) = e, !s.utf8.contains(0) else { throw fail(key, "expected an array of strings") }
                out.append(s)
            }
            return out
        }
        let known: Set<String> = ["capabilities", "hostNamespaces", "forbiddenBindSources", "readonlyRoot", "noNewPrivileges",
                                  "seccomp", "limits", "nonRootUser", "allowLooseningAnnotations", "audit",
                                  "seccompAudit", "runLimits"]
        for (k, _) in o where !known.contains(k) {
            // A rule we do not know could be one the administrator relies on: refuse rather than ignore it.
            throw fail(k, "unknown rule (known: \(known.sorted().joined(separator: ", ")))")
        }
        var p = Policy()
        p.capabilities = try strings("capabilities")
        if let caps = p.capabilities {
            for c in caps where CapabilityNames.number(c) == nil { throw fail("capabilities", "unknown capability \"\(c)\"") }
        }
        p.hostNamespaces = try bool("hostNamespaces")
        p.forbiddenBindSources = try strings("forbiddenBindSources")?.map { Files.clean($0) }
        p.readonlyRoot = try bool("readonlyRoot")
        p.noNewPrivileges = try bool("noNewPrivileges")
        p.seccomp = try bool("seccomp")
        p.limits = try strings("limits")
        for l in p.limits ?? [] where !limitNames.contains(l) {
            throw fail("limits", "unknown limit \"\(l)\" (known: cpu, memory, pids)")
        }
        p.nonRootUser = try bool("nonRootUser")
        p.allowLooseningAnnotations = try bool("allowLooseningAnnotations") ?? false
        p.seccompAudit = try bool("seccompAudit")
        if let a = o["audit"] {
            guard case .object(let audit) = a else { throw fail("audit", "expected an object") }
            for (k, v) in audit {
                switch (k, v) {
                case ("enabled", .bool(let b)): p.auditEnabled = b
                case ("sink", .string(let s)) where !s.isEmpty && !s.utf8.contains(0):
                    if !AuditSink.isValid(s) {
                        throw fail("audit.sink", "\(JSONValue.quoted(s)) is neither an absolute file path nor unix:/path")
                    }
                    p.auditSink = s
                case ("enabled", _): throw fail("audit.enabled", "expected a boolean")
                case ("sink", _): throw fail("audit.sink", "expected a file path or unix:/path")
                default: throw fail("audit.\(k)", "unknown setting (known: enabled, sink)")
                }
            }
        }
        if let l = o["runLimits"] {
            guard case .object(let limits) = l else { throw fail("runLimits", "expected an object") }
            for (k, v) in limits {
                guard k == "wall" || k == "cpu" else { throw fail("runLimits.\(k)", "unknown limit (known: cpu, wall)") }
                guard case .string(let text) = v, let d = Units.duration(text), d > 0 else {
                    throw fail("runLimits.\(k)", "expected a positive duration such as \"30s\" or \"1h\"")
                }
                if k == "wall" { p.wallLimit = d } else { p.cpuLimit = d }
            }
        }
        return p
    }

    // MARK: annotations

    /// The policy with the container's `io.corral.policy.*` annotations applied. A tightening one always applies;
    /// a loosening one only when the policy allows it, and is otherwise an error naming the annotation.
    func tightened(by annotations: [String: String]) throws(RuntimeError) -> Policy {
        var p = self
        for key in annotations.keys.sorted() where key.hasBytePrefix(Policy.annotationPrefix) {
            let rule = String(key.utf8.dropFirst(Policy.annotationPrefix.utf8.count))!
            let value = annotations[key]!
            let field = "annotations[" + JSONValue.quoted(key) + "]"
            func loosens() throws(RuntimeError) {
                if !allowLooseningAnnotations {
                    throw RuntimeError(.config, "\(field): \(JSONValue.quoted(value)) loosens the policy's rule \"\(rule)\" (the policy does not allow that)")
                }
            }
            func flag() throws(RuntimeError) -> Bool {
                switch value {
                case "true": return true
                case "false": return false
                default: throw RuntimeError(.config, "\(field): expected \"true\" or \"false\", got \(JSONValue.quoted(value))")
                }
            }
            func list() -> [String] { value.splitASCII(",").map { String($0).cgTrimmed }.filter { !$0.isEmpty } }
            switch rule {
            case "hostNamespaces":
                let v = try flag()
                if v && p.hostNamespaces == false { try loosens() }
                p.hostNamespaces = v
            case "readonlyRoot", "noNewPrivileges", "seccomp", "nonRootUser":
                let v = try flag()
                let current: Bool? = switch rule {
                case "readonlyRoot": p.readonlyRoot
                case "noNewPrivileges": p.noNewPrivileges
                case "seccomp": p.seccomp
                default: p.nonRootUser
                }
                if !v && current == true { try loosens() }
                switch rule {
                case "readonlyRoot": p.readonlyRoot = v
                case "noNewPrivileges": p.noNewPrivileges = v
                case "seccomp": p.seccomp = v
                default: p.nonRootUser = v
                }
            case "capabilities":
                let caps = list()
                for c in caps where CapabilityNames.number(c) == nil {
                    throw RuntimeError(.config, "\(field): unknown capability \"\(c)\"")
                }
                if let allowed = p.capabilities, caps.contains(where: { !allowed.contains($0) }) { try loosens() }
                p.capabilities = caps
            case "limits":
                let l = list()
                for x in l where !Policy.limitNames.contains(x) {
                    throw RuntimeError(.config, "\(field): unknown limit \"\(x)\" (known: cpu, memory, pids)")
                }
                if let required = p.limits, required.contains(where: { !l.contains($0) }) { try loosens() }
                p.limits = l
            case "forbiddenBindSources":
                let l = list().map { Files.clean($0) }
                if let forbidden = p.forbiddenBindSources, forbidden.contains(where: { !l.contains($0) }) { try loosens() }
                p.forbiddenBindSources = l
            default:
                throw RuntimeError(.config, "\(field): unknown policy rule \"\(rule)\"")
            }
        }
        return p
    }
}
