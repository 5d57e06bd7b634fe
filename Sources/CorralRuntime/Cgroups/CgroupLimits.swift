import CorralSpec

/// `linux.resources` (or an `update` document) reduced to the values that are to be written, each remembered
/// with its JSON path so every error names the field. Zero means "leave as it is" for the same fields as in runc
/// (memory limit/reservation/swap/kernel, cpu shares/quota/period/realtime, blkio weights, net_cls classid),
/// which is also what Docker and containerd rely on when they send zeros to `update`; the other fields count when
/// present (pids.limit 0 is a limit of 1, as in runc 1.2+).
struct CgroupLimits {
    /// A value and the JSON path it came from.
    struct V<T> {
        var value: T
        var field: String
    }

    var memoryLimit: V<Int64>?
    var memoryReservation: V<Int64>?
    var memorySwap: V<Int64>?
    var kernelMemory: V<Int64>?
    var kernelTCP: V<Int64>?
    var swappiness: V<UInt64>?
    var disableOOMKiller: V<Bool>?
    var useHierarchy: V<Bool>?
    var checkBeforeUpdate = false

    var cpuShares: V<UInt64>?
    var cpuQuota: V<Int64>?
    var cpuPeriod: V<UInt64>?
    var cpuBurst: V<UInt64>?
    var realtimeRuntime: V<Int64>?
    var realtimePeriod: V<UInt64>?
    var cpuIdle: V<Int64>?
    var cpusetCPUs: V<String>?
    var cpusetMems: V<String>?

    var pidsLimit: V<Int64>?

    var blkioWeight: V<UInt16>?
    var blkioLeafWeight: V<UInt16>?
    var weightDevices: [V<WeightDevice>] = []
    /// (file suffix, device): "read_bps", "write_bps", "read_iops", "write_iops".
    var throttles: [(kind: String, device: V<ThrottleDevice>)] = []

    var hugepages: [V<HugepageLimit>] = []
    var netClassID: V<UInt32>?
    var netPriorities: [V<InterfacePriority>] = []
    var rdma: [(device: String, limit: V<Rdma>)] = []
    var unified: [V<(key: String, value: String)>] = []
    var devices: V<DeviceRules>?

    init() {}

    /// `prefix` is where the document sits: "linux.resources" for config.json, "" for an update document.
    init(_ r: Resources?, prefix: String, includeDevices: Bool) throws(RuntimeError) {
        func f(_ path: String) -> String { prefix.isEmpty ? path : prefix + "." + path }
        func nz<T: BinaryInteger>(_ v: T?, _ path: String) -> V<T>? {
            guard let v, v != 0 else { return nil }
            return V(value: v, field: f(path))
        }
        guard let r else {
            if includeDevices { devices = V(value: try DeviceRules.build(nil, field: f("devices")), field: f("devices")) }
            return
        }
        if let m = r.memory {
            memoryLimit = nz(m.limit, "memory.limit")
            memoryReservation = nz(m.reservation, "memory.reservation")
            memorySwap = nz(m.swap, "memory.swap")
            kernelMemory = nz(m.kernel, "memory.kernel")
            kernelTCP = nz(m.kernelTCP, "memory.kernelTCP")
            if let s = m.swappiness {
                if s > 100 {
                    throw RuntimeError(.config, "\(f("memory.swappiness")): invalid value:\(s). valid memory swappiness range is 0-100")
                }
                swappiness = V(value: s, field: f("memory.swappiness"))
            }
            if let d = m.disableOOMKiller { disableOOMKiller = V(value: d, field: f("memory.disableOOMKiller")) }
            if let u = m.useHierarchy { useHierarchy = V(value: u, field: f("memory.useHierarchy")) }
            checkBeforeUpdate = m.checkBeforeUpdate ?? false
            for (name, v) in [("memory.limit", m.limit), ("memory.reservation", m.reservation), ("memory.swap", m.swap)] {
                if let v, v < -1 { throw RuntimeError(.config, "\(f(name)): invalid value \(v) (bytes, or -1 for unlimited)") }
            }
        }
        if let c = r.cpu {
            cpuShares = nz(c.shares, "cpu.shares")
            cpuQuota = nz(c.quota, "cpu.quota")
            cpuPeriod = nz(c.period, "cpu.period")
            if let b = c.burst { cpuBurst = V(value: b, field: f("cpu.burst")) }
            realtimeRuntime = nz(c.realtimeRuntime, "cpu.realtimeRuntime")
            realtimePeriod = nz(c.realtimePeriod, "cpu.realtimePeriod")
            if let i = c.idle { cpuIdle = V(value: i, field: f("cpu.idle")) }
            if let s = c.cpus, !s.isEmpty { cpusetCPUs = V(value: s, field: f("cpu.cpus")) }
            if let s = c.mems, !s.isEmpty { cpusetMems = V(value: s, field: f("cpu.mems")) }
        }
        // pids.limit counts when present, as in runc 1.2+: 0 is a limit of 1 (systemd has no TasksMax=0, and runc
        // keeps its drivers alike), a negative value is "max".
        if let l = r.pids?.limit { pidsLimit = V(value: l, field: f("pids.limit")) }
        if let b = r.blockIO {
            blkioWeight = nz(b.weight, "blockIO.weight")
            blkioLeafWeight = nz(b.leafWeight, "blockIO.leafWeight")
            for (i, w) in (b.weightDevice ?? []).enumerated() {
                weightDevices.append(V(value: w, field: f("blockIO.weightDevice[\(i)]")))
            }
            let lists: [(String, String, [ThrottleDevice]?)] = [
                ("read_bps", "throttleReadBpsDevice", b.throttleReadBpsDevice),
                ("write_bps", "throttleWriteBpsDevice", b.throttleWriteBpsDevice),
                ("read_iops", "throttleReadIOPSDevice", b.throttleReadIOPSDevice),
                ("write_iops", "throttleWriteIOPSDevice", b.throttleWriteIOPSDevice),
            ]
            for (kind, key, list) in lists {
                for (i, t) in (list ?? []).enumerated() {
                    throttles.append((kind, V(value: t, field: f("blockIO.\(key)[\(i)]"))))
                }
            }
        }
        for (i, h) in (r.hugepageLimits ?? []).enumerated() {
            // Spelled as the cgroup files name it ("2048kB" and "2M" are both "2MB"); what is no size at all stays
            // as given, and validation names it.
            var limit = h
            if let name = CgroupHost.canonicalHugepageSize(h.pageSize) { limit.pageSize = name }
            hugepages.append(V(value: limit, field: f("hugepageLimits[\(i)]")))
        }
        if let n = r.network {
            netClassID = nz(n.classID, "network.classID")
            for (i, p) in (n.priorities ?? []).enumerated() {
                netPriorities.append(V(value: p, field: f("network.priorities[\(i)]")))
            }
        }
        for dev in (r.rdma ?? [:]).keys.sorted() {
            rdma.append((dev, V(value: r.rdma![dev]!, field: f("rdma[\(JSONValue.quoted(dev))]"))))
        }
        for key in (r.unified ?? [:]).keys.sorted() {
            let field = f("unified[\(JSONValue.quoted(key))]")
            if key.contains("/") {
                throw RuntimeError(.config, "\(field): unified resource \(JSONValue.quoted(key)) must be a file name (no slashes)")
            }
            if !key.contains(".") || key.hasBytePrefix(".") {
                throw RuntimeError(.config, "\(field): unified resource \(JSONValue.quoted(key)) must be in the form CONTROLLER.PARAMETER")
            }
            if ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill", "cgroup.freeze"].contains(key) {
                throw RuntimeError(.config, "\(field): \(key) is managed by the runtime and cannot be set")
            }
            unified.append(V(value: (key, r.unified![key]!), field: field))
        }
        if includeDevices {
            devices = V(value: try DeviceRules.build(r.devices, field: f("devices")), field: f("devices"))
        }
    }

    /// The controller a `unified` key belongs to ("memory.high" → "memory").
    static func unifiedController(_ key: String) -> String { String(key.splitASCII(".", maxSplits: 1)[0]) }

    /// The v1 controllers / v2 controllers these limits need, each with the first field that needs it.
    var needs: [(controller: String, field: String)] {
        var out: [(String, String)] = []
        func need(_ c: String, _ field: String?) {
            guard let field, !out.contains(where: { $0.0 == c }) else { return }
            out.append((c, field))
        }
        need("memory", memoryLimit?.field ?? memoryReservation?.field ?? memorySwap?.field ?? kernelMemory?.field
             ?? kernelTCP?.field ?? swappiness?.field ?? (disableOOMKiller?.value == true ? disableOOMKiller?.field : nil)
             ?? useHierarchy?.field)
        need("cpu", cpuShares?.field ?? cpuQuota?.field ?? cpuPeriod?.field ?? cpuBurst?.field ?? realtimeRuntime?.field
             ?? realtimePeriod?.field ?? cpuIdle?.field)
        need("cpuset", cpusetCPUs?.field ?? cpusetMems?.field)
        need("pids", pidsLimit?.field)
        need("blkio", blkioWeight?.field ?? blkioLeafWeight?.field ?? weightDevices.first?.field ?? throttles.first?.device.field)
        need("hugetlb", hugepages.first?.field)
        need("net_cls", netClassID?.field)
        need("net_prio", netPriorities.first?.field)
        need("rdma", rdma.first?.limit.field)
        return out
    }

    /// Checks, before anything exists on the host, that every limit can be honoured here: its controller is
    /// mounted (v1) or offered (v2), the value has a v2 equivalent when it lands on v2, hugepage sizes exist.
    /// For `update` the current values stand in for absent ones (a swap limit alone keeps the memory limit).
    func validate(on host: CgroupHost, update: Bool = false) throws(RuntimeError) {
        for (controller, field) in needs {
            let v2Name = controller == "blkio" ? "io" : controller
            if host.v1Hierarchy(controller) != nil { continue }
            if host.v2 != nil && host.v2Controllers.contains(v2Name) && !["net_cls", "net_prio"].contains(controller) { continue }
            throw RuntimeError(.unsupported, "\(field): the \(controller) cgroup controller is not available on this host (\(describe(host)))")
        }
        func onV2(_ controller: String) -> Bool { host.v1Hierarchy(controller) == nil }
        if onV2("memory") {
            for (v, what) in [(kernelMemory?.field, "kernel memory limits"), (kernelTCP?.field, "kernel TCP memory limits"),
                              (swappiness?.field, "swappiness"), (useHierarchy?.field, "useHierarchy")] {
                if let v { throw RuntimeError(.unsupported, "\(v): \(what) are not supported on cgroup v2") }
            }
            if let d = disableOOMKiller, d.value { throw RuntimeError(.unsupported, "\(d.field): disabling the OOM killer is not supported on cgroup v2") }
            if !update || memoryLimit != nil { _ = try CgroupLimits.swapV2(swap: memorySwap, limit: memoryLimit) }
        }
        if onV2("cpu") {
            if let v = realtimeRuntime?.field ?? realtimePeriod?.field {
                throw RuntimeError(.unsupported, "\(v): realtime scheduling limits are not supported on cgroup v2")
            }
        }
        if onV2("blkio"), let l = blkioLeafWeight {
            throw RuntimeError(.unsupported, "\(l.field): leaf weights are not supported on cgroup v2")
        }
        if onV2("blkio"), let w = weightDevices.first(where: { $0.value.leafWeight != nil }) {
            throw RuntimeError(.unsupported, "\(w.field).leafWeight: leaf weights are not supported on cgroup v2")
        }
        let pageSizes = hugepages.isEmpty ? [] : host.supportedHugepageSizes
        for h in hugepages where !pageSizes.contains(h.value.pageSize) {
            throw RuntimeError(.unsupported, "\(h.field).pageSize: huge page size \(JSONValue.quoted(h.value.pageSize)) is not supported by this host (supported: \(pageSizes.joined(separator: ", ")))")
        }
        // runc's text starts "invalid configuration: " (cgroups.ErrV1NoUnified); engines and tests match on it.
        if let u = unified.first {
            guard host.v2 != nil else {
                throw RuntimeError(.unsupported, "invalid configuration: \(u.field): cannot use unified on cgroup v1 (unified resources need a cgroup2 hierarchy, and this host has none)")
            }
            for u in unified {
                let c = CgroupLimits.unifiedController(u.value.key)
                if c != "cgroup" && !host.v2Controllers.contains(c) {
                    let bound = host.v1Hierarchy(c) != nil ? " (it is bound to a cgroup v1 hierarchy on this host)" : ""
                    throw RuntimeError(.unsupported, "invalid configuration: \(u.field): unified resource \(JSONValue.quoted(u.value.key)) can't be set: controller \(JSONValue.quoted(c)) not available\(bound)")
                }
            }
        }
        if let d = devices, host.v1Hierarchy("devices") == nil && host.v2 == nil {
            throw RuntimeError(.unsupported, "\(d.field): the devices cgroup controller is not available on this host")
        }
    }

    private func describe(_ host: CgroupHost) -> String {
        var parts = ["cgroup \(host.mode.rawValue)"]
        let v1 = host.v1.flatMap { $0.controllers }
        if !v1.isEmpty { parts.append("v1: " + v1.joined(separator: ",")) }
        if host.v2 != nil { parts.append("v2: " + (host.v2Controllers.isEmpty ? "no controllers" : host.v2Controllers.joined(separator: ","))) }
        return parts.joined(separator: "; ")
    }

    /// runc's ConvertMemorySwapToCgroupV2Value: v1 swap is memory+swap, v2's memory.swap.max is swap alone.
    /// nil: leave memory.swap.max alone.
    static func swapV2(swap: V<Int64>?, limit: V<Int64>?) throws(RuntimeError) -> String? {
        let memory = limit?.value ?? 0
        guard let swap else { return memory == -1 ? "max" : nil }
        if swap.value == -1 { return "max" }
        if memory == 0 || memory == -1 {
            throw RuntimeError(.config, "\(swap.field): unable to set swap limit without memory limit")
        }
        if swap.value < memory {
            throw RuntimeError(.config, "\(swap.field): memory+swap limit should be >= memory limit")
        }
        return String(swap.value - memory)
    }

    /// Controllers the cgroup2 side must have enabled for these limits (in every ancestor's subtree_control).
    func v2Controllers(on host: CgroupHost) -> [String] {
        var out: [String] = []
        for (c, _) in needs {
            let name = c == "blkio" ? "io" : c
            if host.v1Hierarchy(c) == nil && host.v2Controllers.contains(name) && !out.contains(name) { out.append(name) }
        }
        for u in unified {
            let c = CgroupLimits.unifiedController(u.value.key)
            if c != "cgroup" && !out.contains(c) { out.append(c) }
        }
        return out
    }
}
