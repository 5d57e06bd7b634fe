import CorralSpec
import Glibc

/// Writes `CgroupLimits` into a container's cgroup directories, each controller into the v1 directory that holds
/// it, or into the cgroup2 one with the v2 file names and value conversions (runc's fs and fs2 drivers). Write
/// order and retries follow runc where the kernel cares (memory before/after swap, cpu period after quota).
enum CgroupWriter {
    /// pids.max for linux.resources.pids.limit as runc 1.2+ writes it: the limit, "1" for 0 (systemd cannot say
    /// TasksMax=0, and runc keeps its drivers alike), "max" for a negative value.
    static func pidsMax(_ limit: Int64) -> String {
        limit > 0 ? String(limit) : limit == 0 ? "1" : "max"
    }

    static func apply(_ l: CgroupLimits, to set: CgroupSet, update: Bool) throws(RuntimeError) {
        func dir(_ controller: String) -> (String, Bool)? {
            if let d = set.v1(controller) { return (d, false) }
            if let d = set.v2 { return (d, true) }
            return nil
        }
        // Validation already ensured every needed controller has a home; a missing one here means the set was
        // recorded on a different host layout.
        func home(_ controller: String, _ field: String) throws(RuntimeError) -> (String, Bool) {
            guard let h = dir(controller) else {
                throw RuntimeError(.unsupported, "\(field): the container has no \(controller) cgroup")
            }
            return h
        }
        for (controller, field) in l.needs {
            let (d, v2) = try home(controller, field)
            switch (controller, v2) {
            case ("memory", false): try memoryV1(l, d)
            case ("memory", true): try memoryV2(l, d, update: update)
            case ("cpu", false): try cpuV1(l, d)
            case ("cpu", true): try cpuV2(l, d, update: update)
            case ("cpuset", _):
                if let c = l.cpusetCPUs { try CgroupFS.set(d, "cpuset.cpus", c.value, field: c.field) }
                if let m = l.cpusetMems { try CgroupFS.set(d, "cpuset.mems", m.value, field: m.field) }
            case ("pids", _):
                if let p = l.pidsLimit { try CgroupFS.set(d, "pids.max", CgroupWriter.pidsMax(p.value), field: p.field) }
            case ("blkio", false): try blkioV1(l, d)
            case ("blkio", true): try ioV2(l, d)
            case ("hugetlb", _):
                for h in l.hugepages {
                    let file = v2 ? "hugetlb.\(h.value.pageSize).max" : "hugetlb.\(h.value.pageSize).limit_in_bytes"
                    try CgroupFS.set(d, file, String(h.value.limit), field: h.field)
                }
            case ("net_cls", _):
                if let c = l.netClassID { try CgroupFS.set(d, "net_cls.classid", String(c.value), field: c.field) }
            case ("net_prio", _):
                for p in l.netPriorities {
                    try CgroupFS.set(d, "net_prio.ifpriomap", "\(p.value.name) \(p.value.priority)", field: p.field)
                }
            case ("rdma", _):
                for (dev, r) in l.rdma {
                    var parts = [dev]
                    if let h = r.value.hcaHandles { parts.append("hca_handle=\(h)") }
                    if let o = r.value.hcaObjects { parts.append("hca_object=\(o)") }
                    if parts.count > 1 { try CgroupFS.set(d, "rdma.max", parts.joined(separator: " "), field: r.field) }
                }
            default: break
            }
        }
        if let first = l.unified.first {
            guard let d = set.v2 else {
                throw RuntimeError(.unsupported, "\(first.field): the container has no cgroup2 directory")
            }
            for u in l.unified { try CgroupFS.set(d, u.value.key, u.value.value, field: u.field) }
        }
        if let dev = l.devices, !update {
            if let d = set.v1("devices") {
                try dev.value.applyV1(d, field: dev.field)
            } else if let d = set.v2 {
                try dev.value.applyV2(d, field: dev.field)
            } else {
                throw RuntimeError(.unsupported, "\(dev.field): the container has no devices cgroup")
            }
        }
    }

    // MARK: memory

    private static func memoryV1(_ l: CgroupLimits, _ dir: String) throws(RuntimeError) {
        var swap = l.memorySwap
        // runc: an unlimited memory limit without a swap value also lifts the swap limit (when swap is accounted).
        if let lim = l.memoryLimit, lim.value == -1, swap == nil, CgroupFS.exists(dir, "memory.memsw.limit_in_bytes") {
            swap = CgroupLimits.V(value: -1, field: lim.field)
        }
        if let lim = l.memoryLimit, let sw = swap {
            // memsw must stay >= limit at every step: raise swap first when growing, limit first when shrinking.
            let cur = CgroupFS.readUInt(dir, "memory.limit_in_bytes") ?? 0
            if sw.value == -1 || cur < UInt64(sw.value) {
                try swapV1(sw, dir)
                try limitV1(lim, dir)
            } else {
                try limitV1(lim, dir)
                try swapV1(sw, dir)
            }
        } else {
            if let lim = l.memoryLimit { try limitV1(lim, dir) }
            if let sw = swap { try swapV1(sw, dir) }
        }
        if let k = l.kernelMemory { try checkedWrite(dir, "memory.kmem.limit_in_bytes", k, what: "kernel memory limits") }
        if let k = l.kernelTCP { try checkedWrite(dir, "memory.kmem.tcp.limit_in_bytes", k, what: "kernel TCP memory limits") }
        if let r = l.memoryReservation { try CgroupFS.set(dir, "memory.soft_limit_in_bytes", String(r.value), field: r.field) }
        if let d = l.disableOOMKiller, d.value { try CgroupFS.set(dir, "memory.oom_control", "1", field: d.field) }
        if let s = l.swappiness { try CgroupFS.set(dir, "memory.swappiness", String(s.value), field: s.field) }
        if let u = l.useHierarchy {
            let want = u.value ? "1" : "0"
            if CgroupFS.read(dir, "memory.use_hierarchy") != want {
                try CgroupFS.set(dir, "memory.use_hierarchy", want, field: u.field)
            }
        }
    }

    private static func limitV1(_ lim: CgroupLimits.V<Int64>, _ dir: String) throws(RuntimeError) {
        let e = CgroupFS.write(dir, "memory.limit_in_bytes", String(lim.value))
        if e == 0 { return }
        if e == EBUSY {
            // The kernel could not reclaim down to the new limit.
            let usage = CgroupFS.readUInt(dir, "memory.usage_in_bytes") ?? 0
            let peak = CgroupFS.readUInt(dir, "memory.max_usage_in_bytes") ?? 0
            throw RuntimeError(.system, "\(lim.field): unable to set memory limit to \(lim.value) (current usage: \(usage), peak usage: \(peak))")
        }
        throw CgroupFS.writeError(dir, "memory.limit_in_bytes", String(lim.value), e, field: lim.field)
    }

    private static func swapV1(_ sw: CgroupLimits.V<Int64>, _ dir: String) throws(RuntimeError) {
        let e = CgroupFS.write(dir, "memory.memsw.limit_in_bytes", String(sw.value))
        if e == ENOENT {
            throw RuntimeError(.unsupported, "\(sw.field): this kernel does not account swap (memory.memsw.limit_in_bytes is missing; boot with swapaccount=1)")
        }
        if e != 0 { throw CgroupFS.writeError(dir, "memory.memsw.limit_in_bytes", String(sw.value), e, field: sw.field) }
    }

    /// Writes a limit and reads it back: kernels ≥ 5.16 accept memory.kmem.limit_in_bytes and ignore it.
    private static func checkedWrite(_ dir: String, _ file: String, _ v: CgroupLimits.V<Int64>, what: String) throws(RuntimeError) {
        let e = CgroupFS.write(dir, file, String(v.value))
        if e == ENOENT || e == EOPNOTSUPP {
            throw RuntimeError(.unsupported, "\(v.field): \(what) are not supported by this kernel (\(file): \(errnoText(e)))")
        }
        if e != 0 { throw CgroupFS.writeError(dir, file, String(v.value), e, field: v.field) }
        let page = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        guard let back = CgroupFS.readUInt(dir, file) else { return }
        let honoured = v.value < 0 ? back >= UInt64(Int64.max) - page * 2 : back == UInt64(v.value) / page * page
        if !honoured {
            throw RuntimeError(.unsupported, "\(v.field): \(what) are not supported by this kernel (it accepted \(v.value) in \(file) but kept \(back))")
        }
    }

    private static func memoryV2(_ l: CgroupLimits, _ dir: String, update: Bool) throws(RuntimeError) {
        var limit = l.memoryLimit
        if update, limit == nil, let sw = l.memorySwap, sw.value > 0 {
            // Only the swap changes: convert against the memory limit in force.
            if let cur = CgroupFS.read(dir, "memory.max") {
                limit = CgroupLimits.V(value: cur == "max" ? -1 : Int64(cur) ?? 0, field: sw.field)
            }
        }
        if update, let lim = l.memoryLimit, l.checkBeforeUpdate, lim.value > 0,
           let usage = CgroupFS.readUInt(dir, "memory.current"), usage > UInt64(lim.value) {
            throw RuntimeError(.invalidArgument, "\(lim.field): rejecting memory limit \(lim.value) below usage \(usage)")
        }
        if let swap = try CgroupLimits.swapV2(swap: l.memorySwap, limit: limit) {
            let field = l.memorySwap?.field ?? limit?.field ?? "memory.swap"
            let e = CgroupFS.write(dir, "memory.swap.max", swap)
            // Without swap there is no memory.swap.max; "no swap" or "unlimited swap" then hold anyway (runc).
            if e != 0 && !(e == ENOENT && (swap == "max" || swap == "0")) {
                throw CgroupFS.writeError(dir, "memory.swap.max", swap, e, field: field)
            }
        }
        if let lim = l.memoryLimit {
            try CgroupFS.set(dir, "memory.max", lim.value == -1 ? "max" : String(lim.value), field: lim.field)
        }
        if let r = l.memoryReservation {
            try CgroupFS.set(dir, "memory.low", r.value == -1 ? "max" : String(r.value), field: r.field)
        }
    }

    // MARK: cpu

    private static func cpuV1(_ l: CgroupLimits, _ dir: String) throws(RuntimeError) {
        if let s = l.cpuShares {
            try CgroupFS.set(dir, "cpu.shares", String(s.value), field: s.field)
            // The kernel clamps shares silently; say so instead (runc's check and words).
            if let back = CgroupFS.readUInt(dir, "cpu.shares"), back != s.value {
                throw RuntimeError(.invalidArgument, "\(s.field): the \(s.value > back ? "maximum" : "minimum") allowed cpu-shares is \(back)")
            }
        }
        var retryPeriod: CgroupLimits.V<UInt64>?
        if let p = l.cpuPeriod {
            let e = CgroupFS.write(dir, "cpu.cfs_period_us", String(p.value))
            // A shorter period can be refused while the old quota would exceed the parent's; retry after the quota.
            if e == EINVAL && l.cpuQuota != nil { retryPeriod = p } else if e != 0 {
                throw CgroupFS.writeError(dir, "cpu.cfs_period_us", String(p.value), e, field: p.field)
            }
        }
        if let q = l.cpuQuota { try CgroupFS.set(dir, "cpu.cfs_quota_us", String(q.value), field: q.field) }
        if let p = retryPeriod { try CgroupFS.set(dir, "cpu.cfs_period_us", String(p.value), field: p.field) }
        if let b = l.cpuBurst { try CgroupFS.set(dir, "cpu.cfs_burst_us", String(b.value), field: b.field) }
        if let p = l.realtimePeriod { try CgroupFS.set(dir, "cpu.rt_period_us", String(p.value), field: p.field) }
        if let r = l.realtimeRuntime { try CgroupFS.set(dir, "cpu.rt_runtime_us", String(r.value), field: r.field) }
        if let i = l.cpuIdle { try CgroupFS.set(dir, "cpu.idle", String(i.value), field: i.field) }
    }

    /// runc's ConvertCPUSharesToCgroupV2Value: shares 2..262144 → weight 1..10000.
    static func cpuWeight(shares: UInt64) -> UInt64 {
        shares == 0 ? 0 : 1 + ((shares &- 2) &* 9999) / 262142
    }

    private static func cpuV2(_ l: CgroupLimits, _ dir: String, update: Bool) throws(RuntimeError) {
        if let s = l.cpuShares { try CgroupFS.set(dir, "cpu.weight", String(cpuWeight(shares: s.value)), field: s.field) }
        if l.cpuQuota != nil || l.cpuPeriod != nil {
            var quota = l.cpuQuota.map { $0.value > 0 ? String($0.value) : "max" }
            var period = l.cpuPeriod.map { String($0.value) }
            if update, let cur = CgroupFS.read(dir, "cpu.max")?.splitASCII(" "), cur.count == 2 {
                // cpu.max holds both; keep the half the update does not mention.
                if quota == nil { quota = String(cur[0]) }
                if period == nil { period = String(cur[1]) }
            }
            let value = (quota ?? "max") + (period.map { " " + $0 } ?? "")
            try CgroupFS.set(dir, "cpu.max", value, field: (l.cpuQuota?.field ?? l.cpuPeriod?.field)!)
        }
        if let b = l.cpuBurst { try CgroupFS.set(dir, "cpu.max.burst", String(b.value), field: b.field) }
        if let i = l.cpuIdle { try CgroupFS.set(dir, "cpu.idle", String(i.value), field: i.field) }
    }

    // MARK: block I/O

    private static func blkioV1(_ l: CgroupLimits, _ dir: String) throws(RuntimeError) {
        // CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight instead (runc picks the same way).
        let bfq = !CgroupFS.exists(dir, "blkio.weight") && CgroupFS.exists(dir, "blkio.bfq.weight")
        let weightFile = bfq ? "blkio.bfq.weight" : "blkio.weight"
        let weightDeviceFile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device"
        func noWeights(_ field: String) -> RuntimeError {
            RuntimeError(.unsupported, "\(field): proportional I/O weights need the BFQ (or CFQ) I/O scheduler; this host's blkio cgroup has neither blkio.weight nor blkio.bfq.weight")
        }
        if let w = l.blkioWeight {
            if !CgroupFS.exists(dir, weightFile) { throw noWeights(w.field) }
            try CgroupFS.set(dir, weightFile, String(w.value), field: w.field)
        }
        if let w = l.blkioLeafWeight { try CgroupFS.set(dir, "blkio.leaf_weight", String(w.value), field: w.field) }
        for wd in l.weightDevices {
            let dev = "\(wd.value.major):\(wd.value.minor)"
            if let w = wd.value.weight, w != 0 {
                if !CgroupFS.exists(dir, weightDeviceFile) { throw noWeights(wd.field + ".weight") }
                try CgroupFS.set(dir, weightDeviceFile, "\(dev) \(w)", field: wd.field + ".weight")
            }
            if let w = wd.value.leafWeight, w != 0 {
                try CgroupFS.set(dir, "blkio.leaf_weight_device", "\(dev) \(w)", field: wd.field + ".leafWeight")
            }
        }
        for t in l.throttles {
            try CgroupFS.set(dir, "blkio.throttle.\(t.kind)_device", "\(t.device.value.major):\(t.device.value.minor) \(t.device.value.rate)",
                             field: t.device.field)
        }
    }

    /// runc's ConvertBlkIOToIOWeightValue: blkio weight 10..1000 → io.weight 1..10000.
    static func ioWeight(blkio: UInt16) -> UInt64 {
        blkio == 0 ? 0 : 1 + (UInt64(blkio) &- 10) &* 9999 / 990
    }

    private static func ioV2(_ l: CgroupLimits, _ dir: String) throws(RuntimeError) {
        let bfq = CgroupFS.exists(dir, "io.bfq.weight")
        if let w = l.blkioWeight {
            if bfq {
                try CgroupFS.set(dir, "io.bfq.weight", String(w.value), field: w.field)
            } else {
                try CgroupFS.set(dir, "io.weight", String(ioWeight(blkio: w.value)), field: w.field)
            }
        }
        for wd in l.weightDevices {
            guard let w = wd.value.weight, w != 0 else { continue }
            let dev = "\(wd.value.major):\(wd.value.minor)"
            if bfq {
                try CgroupFS.set(dir, "io.bfq.weight", "\(dev) \(w)", field: wd.field + ".weight")
            } else {
                try CgroupFS.set(dir, "io.weight", "\(dev) \(ioWeight(blkio: w))", field: wd.field + ".weight")
            }
        }
        let names = ["read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"]
        for t in l.throttles {
            try CgroupFS.set(dir, "io.max", "\(t.device.value.major):\(t.device.value.minor) \(names[t.kind]!)=\(t.device.value.rate)",
                             field: t.device.field)
        }
    }
}
