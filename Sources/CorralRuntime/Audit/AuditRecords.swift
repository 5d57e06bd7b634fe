import CCorralHost
import CorralSpec
import Glibc

/// The fields of each audit event (the chain's own keys come first, see `AuditTrail`):
///
/// | event       | written by   | fields                                                                          |
/// |-------------|--------------|---------------------------------------------------------------------------------|
/// | `created`   | create, run  | `bundle`, `pid`, `isolation` (below), `resources`, `policy`, `sandbox`           |
/// | `started`   | the monitor  | `pid`                                                                           |
/// | `exec`      | exec         | `pid`, `args`, `uid`, `gid`, `envKeys` (names only, never values), `cwd`         |
/// | `signalled` | kill         | `signal`, `signalName`, `all`                                                   |
/// | `paused`, `resumed` | pause, resume | —                                                                      |
/// | `updated`   | update       | `before`, `after`: the cgroup limits read back from the cgroup files              |
/// | `denied`    | the monitor  | as in denials.jsonl (`kind` syscall, oom, pids-limit, suppressed), rate-limited  |
/// | `exited`    | the monitor  | result.json's fields                                                            |
/// | `deleted`   | delete       | `force`, or `reason` for a create that failed after `created`                    |
///
/// `isolation` is what the runtime applied: namespaces (new or joined by path), id maps, the five capability sets,
/// `noNewPrivileges`, the seccomp profile's SHA-256 (of `linux.seccomp` as given) and that of the loaded filter,
/// Landlock rules when state.json records them, the root and every mount with `ro`/`rw`, masked and read-only paths.
enum AuditRecords {
    static func created(spec: Spec, plan: LaunchPlan, policy: Policy?, bundle: String, state: ContainerState,
                        settings: SandboxSettings, profileHash: String?) -> JSONObject {
        var f = JSONObject()
        f["bundle"] = .string(bundle)
        f["pid"] = JSONValue(Int(state.pid))
        var iso = JSONObject()
        iso["namespaces"] = .array((spec.linux?.namespaces ?? []).map { ns in
            var o = JSONObject()
            o["type"] = .string(ns.type.rawValue)
            if let p = ns.path, !p.isEmpty { o["path"] = .string(p) } else { o["new"] = .bool(true) }
            return .object(o)
        })
        func maps(_ m: [(UInt32, UInt32, UInt32)]) -> JSONValue {
            .array(m.map { .array([JSONValue($0.0), JSONValue($0.1), JSONValue($0.2)]) })
        }
        if !plan.host.uidMappings.isEmpty || !plan.host.gidMappings.isEmpty {
            iso["uidMappings"] = maps(plan.host.uidMappings)
            iso["gidMappings"] = maps(plan.host.gidMappings)
        }
        var user = JSONObject()
        user["uid"] = JSONValue(plan.uid)
        user["gid"] = JSONValue(plan.gid)
        user["additionalGids"] = .array(plan.groups.map { JSONValue($0) })
        iso["user"] = .object(user)
        var caps = JSONObject()
        let c = plan.capabilities
        for (name, mask) in [("bounding", c.bounding), ("effective", c.effective), ("inheritable", c.inheritable),
                             ("permitted", c.permitted), ("ambient", c.ambient)] {
            caps[name] = JSONValue((0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map { CapabilityNames.name($0) })
        }
        iso["capabilities"] = .object(caps)
        iso["noNewPrivileges"] = .bool(plan.noNewPrivileges)
        if let sc = plan.seccomp {
            var s = JSONObject()
            if let profileHash { s["profileSHA256"] = .string(profileHash) }
            s["filterSHA256"] = .string(SHA256.hex(SHA256.digest(sc.filter)))
            s["instructions"] = JSONValue(sc.filter.count / 8)
            s["auditMode"] = .bool(settings.seccompAudit)
            iso["seccomp"] = .object(s)
        } else {
            iso["seccomp"] = .null
        }
        // Landlock is recorded in state.json by its own code; whatever it wrote is copied as it is.
        if let landlock = state.json()["landlock"] { iso["landlock"] = landlock }
        var rootFS = JSONObject()
        rootFS["path"] = .string(plan.rootfs)
        rootFS["readonly"] = .bool(plan.readonlyRoot)
        iso["root"] = .object(rootFS)
        iso["mounts"] = .array((spec.mounts ?? []).map { m in
            var o = JSONObject()
            o["destination"] = .string(m.destination)
            if let t = m.type { o["type"] = .string(t) }
            if let s = m.source { o["source"] = .string(s) }
            let ro = (m.options ?? []).last { $0 == "ro" || $0 == "rw" } == "ro"
            o["mode"] = .string(ro ? "ro" : "rw")
            return .object(o)
        })
        iso["maskedPaths"] = JSONValue(plan.maskedPaths)
        iso["readonlyPaths"] = JSONValue(plan.readonlyPaths)
        f["isolation"] = .object(iso)
        f["resources"] = resourcesJSON(spec.linux?.resources)
        if let policy {
            f["policy"] = .array(PolicyCheck.evaluate(policy, spec, bundle: bundle).map { .string($0.text) })
        }
        var sb = JSONObject()
        if let w = settings.wallLimit { sb["wallLimit"] = .number(RunResult.seconds(w)) }
        if let c = settings.cpuLimit { sb["cpuLimit"] = .number(RunResult.seconds(c)) }
        sb["seccompAudit"] = .bool(settings.seccompAudit)
        if let s = settings.auditSink { sb["auditSink"] = .string(s) }
        f["sandbox"] = .object(sb)
        return f
    }

    /// The cgroup limits of the config: memory, CPU, pids, block I/O weight, hugepages and the device rules.
    static func resourcesJSON(_ r: Resources?) -> JSONValue {
        guard let r else { return .null }
        var o = JSONObject()
        if let m = r.memory {
            var mo = JSONObject()
            if let v = m.limit { mo["limit"] = JSONValue(v) }
            if let v = m.reservation { mo["reservation"] = JSONValue(v) }
            if let v = m.swap { mo["swap"] = JSONValue(v) }
            o["memory"] = .object(mo)
        }
        if let c = r.cpu {
            var co = JSONObject()
            if let v = c.shares { co["shares"] = JSONValue(v) }
            if let v = c.quota { co["quota"] = JSONValue(v) }
            if let v = c.period { co["period"] = JSONValue(v) }
            if let v = c.cpus { co["cpus"] = .string(v) }
            if let v = c.mems { co["mems"] = .string(v) }
            o["cpu"] = .object(co)
        }
        if let p = r.pids { o["pids"] = ["limit": p.limit.map { JSONValue($0) } ?? .null] }
        if let w = r.blockIO?.weight { o["blockIOWeight"] = JSONValue(Int(w)) }
        if let d = r.devices {
            o["devices"] = .array(d.map { rule in
                var x = JSONObject()
                x["allow"] = .bool(rule.allow)
                if let t = rule.type { x["type"] = .string(t.rawValue) }
                if let a = rule.major { x["major"] = JSONValue(a) }
                if let b = rule.minor { x["minor"] = JSONValue(b) }
                if let a = rule.access { x["access"] = .string(a) }
                return .object(x)
            })
        }
        return .object(o)
    }

    /// `exec`: the process, with the names of its environment only (values are secrets often enough).
    static func exec(pid: Int32, process: Process) -> JSONObject {
        var f = JSONObject()
        f["pid"] = JSONValue(Int(pid))
        f["args"] = JSONValue(process.args ?? [])
        f["uid"] = JSONValue(process.user.uid)
        f["gid"] = JSONValue(process.user.gid)
        f["envKeys"] = JSONValue((process.env ?? []).map { e in
            String(e.utf8.prefix { $0 != UInt8(ascii: "=") })!
        })
        f["cwd"] = .string(process.cwd)
        f["terminal"] = .bool(process.terminal ?? false)
        return f
    }

    static func signalled(_ sig: Int32, all: Bool) -> JSONObject {
        var f = JSONObject()
        f["signal"] = JSONValue(sig)
        f["signalName"] = .string(sig == 0 ? "0" : RunResult.signalName(sig))
        f["all"] = .bool(all)
        return f
    }

    /// The limits a cgroup enforces now, read back from its files (for `updated`'s before and after).
    static func limits(of set: CgroupSet) -> JSONObject {
        var o = JSONObject()
        func put(_ key: String, _ dir: String?, _ file: String) {
            guard let dir, let v = CgroupFS.read(dir, file)?.cgTrimmed else { return }
            o[key] = .string(v)
        }
        if let v2 = set.v2, CgroupFS.exists(v2, "memory.max") {
            put("memory.max", v2, "memory.max")
            put("memory.swap.max", v2, "memory.swap.max")
            put("memory.low", v2, "memory.low")
        } else {
            put("memory.limit_in_bytes", set.v1("memory"), "memory.limit_in_bytes")
            put("memory.memsw.limit_in_bytes", set.v1("memory"), "memory.memsw.limit_in_bytes")
            put("memory.soft_limit_in_bytes", set.v1("memory"), "memory.soft_limit_in_bytes")
        }
        if let v2 = set.v2, CgroupFS.exists(v2, "cpu.max") {
            put("cpu.max", v2, "cpu.max")
            put("cpu.weight", v2, "cpu.weight")
        } else {
            put("cpu.cfs_quota_us", set.v1("cpu"), "cpu.cfs_quota_us")
            put("cpu.cfs_period_us", set.v1("cpu"), "cpu.cfs_period_us")
            put("cpu.shares", set.v1("cpu"), "cpu.shares")
        }
        let cpuset = set.v1("cpuset") ?? set.v2
        put("cpuset.cpus", cpuset, "cpuset.cpus")
        put("cpuset.mems", cpuset, "cpuset.mems")
        put("pids.max", set.v1("pids") ?? set.v2, "pids.max")
        return o
    }

    /// Appends `event` to the container's trail when it has one; a failure is a warning (the verb has acted).
    static func record(_ h: StateStore.Handle, _ event: String, _ fields: JSONObject = JSONObject(), log: Logger) {
        guard let m = h.state.monitor, m.audit else { return }
        let root = String(h.dir.utf8.prefix(upTo: h.dir.utf8.lastIndex(of: UInt8(ascii: "/"))!))!
        guard let trail = m.trail(root: root, id: h.id) else { return }
        do { try trail.append(event, fields, warn: { log.warn($0) }) } catch {
            log.warn("audit trail: \(error.message)")
        }
    }
}

extension ContainerState {
    /// The cleanup of a create that died before committing: when it had already written its `created` line (it
    /// died between that line and its committed state), the trail gets the `deleted` line that closes it; a create
    /// that died earlier never appeared in the trail and leaves nothing there.
    func closeAbandonedTrail(dir: String) {
        guard let m = monitor, m.audit else { return }
        let root = String(dir.utf8.prefix(upTo: dir.utf8.lastIndex(of: UInt8(ascii: "/"))!))!
        guard let trail = m.trail(root: root, id: id), trail.lastEvent() == "created" else { return }
        _ = try? trail.append("deleted", JSONObject([("reason", "create did not finish")]), warn: { _ in })
    }
}
