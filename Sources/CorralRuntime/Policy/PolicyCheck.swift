import CorralSpec
import Glibc

/// A policy rule's verdict on one config: passed, or the first value that breaks it, with its JSON path.
struct PolicyVerdict: Equatable {
    var rule: String
    var violation: (path: String, value: String)?

    var passed: Bool { violation == nil }

    static func == (a: PolicyVerdict, b: PolicyVerdict) -> Bool {
        a.rule == b.rule && a.violation?.path == b.violation?.path && a.violation?.value == b.violation?.value
    }

    /// What `create` says when the rule is broken, and `check` prints for it.
    var text: String {
        guard let v = violation else { return "ok   \(rule)" }
        return "FAIL \(rule): \(v.path): \(v.value)"
    }
}

/// Evaluates a policy against a decoded config.json, before anything exists.
enum PolicyCheck {
    /// Every rule of `policy` that applies, in a fixed order, with its verdict.
    static func evaluate(_ policy: Policy, _ spec: Spec, bundle: String) -> [PolicyVerdict] {
        var out: [PolicyVerdict] = []
        func verdict(_ rule: String, _ violation: (String, String)?) {
            out.append(PolicyVerdict(rule: rule, violation: violation.map { (path: $0.0, value: $0.1) }))
        }
        let process = spec.process
        let linux = spec.linux
        if let allowed = policy.capabilities {
            var found: (String, String)?
            let caps = process?.capabilities
            let sets: [(String, [String]?)] = [("bounding", caps?.bounding), ("effective", caps?.effective),
                                               ("inheritable", caps?.inheritable), ("permitted", caps?.permitted),
                                               ("ambient", caps?.ambient)]
            outer: for (name, list) in sets {
                for (i, c) in (list ?? []).enumerated() where !allowed.contains(c) {
                    found = ("process.capabilities.\(name)[\(i)]", JSONValue.quoted(c))
                    break outer
                }
            }
            verdict("capabilities", found)
        }
        if policy.hostNamespaces == false {
            var found: (String, String)?
            let list = linux?.namespaces ?? []
            for (i, ns) in list.enumerated() {
                if let p = ns.path, !p.isEmpty { found = ("linux.namespaces[\(i)].path", JSONValue.quoted(p)); break }
            }
            if found == nil {
                for t in [NamespaceType.pid, .network, .ipc, .uts, .mount] where !list.contains(where: { $0.type == t }) {
                    found = ("linux.namespaces", "no \(t.rawValue) namespace of its own (the host's is shared)")
                    break
                }
            }
            verdict("hostNamespaces", found)
        }
        if let forbidden = policy.forbiddenBindSources {
            var found: (String, String)?
            for (i, m) in (spec.mounts ?? []).enumerated() {
                let isBind = m.type == "bind" || (m.options ?? []).contains { $0 == "bind" || $0 == "rbind" }
                guard isBind, let src = m.source, !src.isEmpty else { continue }
                let source = Files.clean(src.hasBytePrefix("/") ? src : bundle + "/" + src)
                let hit = forbidden.first { f in
                    source == f || (f != "/" && source.hasBytePrefix(f + "/"))
                }
                if hit != nil { found = ("mounts[\(i)].source", JSONValue.quoted(src)); break }
            }
            verdict("forbiddenBindSources", found)
        }
        if policy.readonlyRoot == true {
            verdict("readonlyRoot", spec.root?.readonly == true ? nil : ("root.readonly", spec.root?.readonly.map { "\($0)" } ?? "absent"))
        }
        if policy.noNewPrivileges == true {
            let v = process?.noNewPrivileges
            verdict("noNewPrivileges", v == true ? nil : ("process.noNewPrivileges", v.map { "\($0)" } ?? "absent"))
        }
        if policy.seccomp == true {
            let s = linux?.seccomp
            let violation: (String, String)? = switch s?.defaultAction {
            case nil: ("linux.seccomp", "absent")
            case .SCMP_ACT_ALLOW?, .SCMP_ACT_LOG?: ("linux.seccomp.defaultAction", JSONValue.quoted(s!.defaultAction.rawValue))
            default: nil
            }
            verdict("seccomp", violation)
        }
        if let required = policy.limits {
            var found: (String, String)?
            let r = linux?.resources
            for l in required.sorted() {
                switch l {
                case "memory" where (r?.memory?.limit ?? 0) <= 0:
                    found = ("linux.resources.memory.limit", r?.memory?.limit.map { "\($0)" } ?? "absent")
                case "pids" where (r?.pids?.limit ?? -1) < 0:   // 0 is a limit of 1 (runc 1.2+)
                    found = ("linux.resources.pids.limit", r?.pids?.limit.map { "\($0)" } ?? "absent")
                case "cpu" where (r?.cpu?.quota ?? 0) <= 0:
                    found = ("linux.resources.cpu.quota", r?.cpu?.quota.map { "\($0)" } ?? "absent")
                default: continue
                }
                break
            }
            verdict("limits", found)
        }
        if policy.nonRootUser == true {
            let uid = process?.user.uid ?? 0
            verdict("nonRootUser", uid != 0 ? nil : ("process.user.uid", "0"))
        }
        return out
    }

    /// For `create`: the policy in force (file, then annotations), and an error naming the first broken rule.
    /// Returns that policy (nil without one) for what the runtime does on its behalf (`SandboxSettings`).
    @discardableResult
    static func enforce(policyPath: String?, _ spec: Spec, bundle: String) throws(RuntimeError) -> Policy? {
        guard let base = try Policy.load(path: policyPath) else { return nil }
        let policy = try base.tightened(by: spec.annotations ?? [:])
        if let broken = evaluate(policy, spec, bundle: bundle).first(where: { !$0.passed }), let v = broken.violation {
            throw RuntimeError(.config, "policy rule \"\(broken.rule)\" refuses \(v.path): \(v.value)")
        }
        return policy
    }
}
