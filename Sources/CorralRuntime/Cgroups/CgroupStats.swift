import CorralSpec
import Glibc

/// `events` data in runc 1.1's JSON shape (types.Stats: field names, omitempty rules and Go's key order), read
/// from the v1 files where a controller is bound to v1 and from the cgroup2 files otherwise.
enum CgroupStats {
    static func collect(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        o["cpu"] = cpu(set)
        o["cpuset"] = cpuset(set)
        o["memory"] = memory(set)
        o["pids"] = pids(set)
        o["blkio"] = blkio(set)
        o["hugetlb"] = hugetlb(set)
        o["intel_rdt"] = .object(JSONObject())
        o["network_interfaces"] = .null
        return .object(o)
    }

    /// `{"type":..,"id":..,"data":..}` as one line.
    static func event(type: String, id: String, data: JSONValue?) -> String {
        var o = JSONObject()
        o["type"] = .string(type)
        o["id"] = .string(id)
        if let data { o["data"] = data }
        return JSONValue.object(o).serialized() + "\n"
    }

    // MARK: helpers

    private static func num(_ v: UInt64) -> JSONValue { JSONValue(v) }
    private static func put(_ o: inout JSONObject, _ key: String, _ v: UInt64, omitEmpty: Bool) {
        if v != 0 || !omitEmpty { o[key] = num(v) }
    }
    private static func putList(_ o: inout JSONObject, _ key: String, _ v: [UInt64]) {
        if !v.isEmpty { o[key] = .array(v.map(num)) }
    }

    /// v1 controller dir, or the cgroup2 dir when that controller's v2 file exists there.
    private static func v2(_ set: CgroupSet, probe: String) -> String? {
        guard let d = set.v2, CgroupFS.exists(d, probe) else { return nil }
        return d
    }

    // MARK: cpu

    private static func cpu(_ set: CgroupSet) -> JSONValue {
        var usage = JSONObject()
        var throttling = JSONObject()
        var total: UInt64 = 0, kernel: UInt64 = 0, user: UInt64 = 0
        var percpu: [UInt64] = [], percpuKernel: [UInt64] = [], percpuUser: [UInt64] = []
        var periods: UInt64 = 0, throttled: UInt64 = 0, throttledTime: UInt64 = 0
        if let d = set.v1("cpuacct") {
            total = CgroupFS.readUInt(d, "cpuacct.usage") ?? 0
            // cpuacct.stat counts USER_HZ ticks.
            let hz = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
            for (k, v) in CgroupFS.keyValues(d, "cpuacct.stat") ?? [] {
                if k == "user" { user = v * 1_000_000_000 / hz }
                if k == "system" { kernel = v * 1_000_000_000 / hz }
            }
            percpu = (CgroupFS.read(d, "cpuacct.usage_percpu") ?? "").splitASCII(" ").compactMap { UInt64($0.cgTrimmed) }
            for line in (CgroupFS.read(d, "cpuacct.usage_all") ?? "").splitASCII("\n").dropFirst() {
                let f = line.splitASCII(" ")
                if f.count == 3, let u = UInt64(f[1]), let s = UInt64(f[2]) { percpuUser.append(u); percpuKernel.append(s) }
            }
        } else if let d = v2(set, probe: "cpu.stat") {
            for (k, v) in CgroupFS.keyValues(d, "cpu.stat") ?? [] {
                switch k {
                case "usage_usec": total = v * 1000
                case "user_usec": user = v * 1000
                case "system_usec": kernel = v * 1000
                case "nr_periods": periods = v
                case "nr_throttled": throttled = v
                case "throttled_usec": throttledTime = v * 1000
                default: break
                }
            }
        }
        if let d = set.v1("cpu") {
            for (k, v) in CgroupFS.keyValues(d, "cpu.stat") ?? [] {
                switch k {
                case "nr_periods": periods = v
                case "nr_throttled": throttled = v
                case "throttled_time": throttledTime = v
                default: break
                }
            }
        }
        put(&usage, "total", total, omitEmpty: true)
        putList(&usage, "percpu", percpu)
        putList(&usage, "percpu_kernel", percpuKernel)
        putList(&usage, "percpu_user", percpuUser)
        put(&usage, "kernel", kernel, omitEmpty: false)
        put(&usage, "user", user, omitEmpty: false)
        put(&throttling, "periods", periods, omitEmpty: true)
        put(&throttling, "throttledPeriods", throttled, omitEmpty: true)
        put(&throttling, "throttledTime", throttledTime, omitEmpty: true)
        return .object(JSONObject([("usage", .object(usage)), ("throttling", .object(throttling))]))
    }

    /// "0-2,4" → [0, 1, 2, 4].
    static func parseList(_ s: String) -> [UInt64] {
        var out: [UInt64] = []
        for part in s.cgTrimmed.splitASCII(",") {
            let r = part.splitASCII("-")
            if r.count == 2, let a = UInt64(r[0]), let b = UInt64(r[1]), a <= b { out += Array(a...b) } else if let v = UInt64(part) { out.append(v) }
        }
        return out
    }

    private static func cpuset(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        let d = set.v1("cpuset") ?? v2(set, probe: "cpuset.cpus.effective")
        func u(_ f: String) -> UInt64 { d.flatMap { CgroupFS.readUInt($0, f) } ?? 0 }
        let cpus = d.flatMap { CgroupFS.read($0, set.v1("cpuset") != nil ? "cpuset.cpus" : "cpuset.cpus.effective") }.map(parseList) ?? []
        let mems = d.flatMap { CgroupFS.read($0, set.v1("cpuset") != nil ? "cpuset.mems" : "cpuset.mems.effective") }.map(parseList) ?? []
        putList(&o, "cpus", cpus)
        o["cpu_exclusive"] = num(u("cpuset.cpu_exclusive"))
        putList(&o, "mems", mems)
        o["mem_hardwall"] = num(u("cpuset.mem_hardwall"))
        o["mem_exclusive"] = num(u("cpuset.mem_exclusive"))
        o["memory_migrate"] = num(u("cpuset.memory_migrate"))
        o["memory_spread_page"] = num(u("cpuset.memory_spread_page"))
        o["memory_spread_slab"] = num(u("cpuset.memory_spread_slab"))
        o["memory_pressure"] = num(u("cpuset.memory_pressure"))
        o["sched_load_balance"] = num(u("cpuset.sched_load_balance"))
        let level = d.flatMap { CgroupFS.read($0, "cpuset.sched_relax_domain_level") }.flatMap { Int64($0.cgTrimmed) } ?? 0
        o["sched_relax_domain_level"] = JSONValue(level)
        return .object(o)
    }

    // MARK: memory

    private static func entry(limit: UInt64, usage: UInt64, max: UInt64, failcnt: UInt64) -> JSONValue {
        var o = JSONObject()
        o["limit"] = num(limit)
        put(&o, "usage", usage, omitEmpty: true)
        put(&o, "max", max, omitEmpty: true)
        o["failcnt"] = num(failcnt)
        return .object(o)
    }

    private static func memory(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        var raw: [(String, UInt64)] = []
        if let d = set.v1("memory") {
            raw = CgroupFS.keyValues(d, "memory.stat") ?? []
            func data(_ prefix: String) -> JSONValue {
                entry(limit: CgroupFS.readUInt(d, prefix + ".limit_in_bytes") ?? 0, usage: CgroupFS.readUInt(d, prefix + ".usage_in_bytes") ?? 0,
                      max: CgroupFS.readUInt(d, prefix + ".max_usage_in_bytes") ?? 0, failcnt: CgroupFS.readUInt(d, prefix + ".failcnt") ?? 0)
            }
            let cache = raw.first { $0.0 == "cache" }?.1 ?? 0
            put(&o, "cache", cache, omitEmpty: true)
            o["usage"] = data("memory")
            o["swap"] = data("memory.memsw")
            o["kernel"] = data("memory.kmem")
            o["kernelTCP"] = data("memory.kmem.tcp")
        } else if let d = v2(set, probe: "memory.current") {
            raw = CgroupFS.keyValues(d, "memory.stat") ?? []
            let cache = raw.first { $0.0 == "file" }?.1 ?? 0
            let usage = CgroupFS.readUInt(d, "memory.current") ?? 0
            let limit = CgroupFS.readUInt(d, "memory.max") ?? UInt64.max
            let peak = CgroupFS.readUInt(d, "memory.peak") ?? 0
            let failcnt = CgroupFS.value(d, "memory.events", key: "max") ?? 0
            put(&o, "cache", cache, omitEmpty: true)
            o["usage"] = entry(limit: limit, usage: usage, max: peak, failcnt: failcnt)
            // v1 reports swap as memory+swap; runc does the same on v2 for compatibility.
            let swapUsage = (CgroupFS.readUInt(d, "memory.swap.current") ?? 0) &+ usage
            var swapLimit = CgroupFS.readUInt(d, "memory.swap.max") ?? UInt64.max
            if swapLimit != UInt64.max && limit != UInt64.max { swapLimit &+= limit }
            o["swap"] = entry(limit: swapLimit, usage: swapUsage, max: 0, failcnt: 0)
            o["kernel"] = entry(limit: 0, usage: 0, max: 0, failcnt: 0)
            o["kernelTCP"] = entry(limit: 0, usage: 0, max: 0, failcnt: 0)
        } else {
            for k in ["usage", "swap", "kernel", "kernelTCP"] { o[k] = entry(limit: 0, usage: 0, max: 0, failcnt: 0) }
        }
        if !raw.isEmpty {
            var r = JSONObject()
            for (k, v) in raw.sorted(by: { $0.0 < $1.0 }) { r[k] = num(v) }
            o["raw"] = .object(r)
        }
        return .object(o)
    }

    // MARK: pids, blkio, hugetlb

    private static func pids(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        let d = set.v1("pids") ?? v2(set, probe: "pids.current")
        if let d {
            put(&o, "current", CgroupFS.readUInt(d, "pids.current") ?? 0, omitEmpty: true)
            let limit = CgroupFS.readUInt(d, "pids.max") ?? 0
            put(&o, "limit", limit == UInt64.max ? 0 : limit, omitEmpty: true)
        }
        return .object(o)
    }

    /// "8:0 Read 4096" lines (lines without a device, such as "Total 123", are skipped).
    private static func blkioEntries(_ text: String) -> [JSONValue] {
        var out: [JSONValue] = []
        for line in text.splitASCII("\n") {
            let f = line.splitASCII(" ")
            guard f.count >= 2 else { continue }
            let dev = f[0].splitASCII(":")
            guard dev.count == 2, let major = UInt64(dev[0]), let minor = UInt64(dev[1]) else { continue }
            var o = JSONObject()
            put(&o, "major", major, omitEmpty: true)
            put(&o, "minor", minor, omitEmpty: true)
            let value: UInt64
            if f.count == 3 {
                o["op"] = .string(String(f[1]))
                value = UInt64(f[2]) ?? 0
            } else {
                value = UInt64(f[1]) ?? 0
            }
            put(&o, "value", value, omitEmpty: true)
            out.append(.object(o))
        }
        return out
    }

    private static func blkio(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        if let d = set.v1("blkio") {
            // runc's order of preference: BFQ debug, BFQ, CFQ, throttle (recursive), throttle; the first group
            // whose first file has entries wins.
            let groups: [[(String, String)]] = [
                [("blkio.bfq.sectors_recursive", "sectorsRecursive"), ("blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"),
                 ("blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"), ("blkio.bfq.io_merged_recursive", "ioMergedRecursive"),
                 ("blkio.bfq.io_queued_recursive", "ioQueueRecursive"), ("blkio.bfq.time_recursive", "ioTimeRecursive"),
                 ("blkio.bfq.io_serviced_recursive", "ioServicedRecursive"), ("blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive")],
                [("blkio.bfq.io_serviced_recursive", "ioServicedRecursive"), ("blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive")],
                [("blkio.sectors_recursive", "sectorsRecursive"), ("blkio.io_service_time_recursive", "ioServiceTimeRecursive"),
                 ("blkio.io_wait_time_recursive", "ioWaitTimeRecursive"), ("blkio.io_merged_recursive", "ioMergedRecursive"),
                 ("blkio.io_queued_recursive", "ioQueueRecursive"), ("blkio.time_recursive", "ioTimeRecursive"),
                 ("blkio.io_serviced_recursive", "ioServicedRecursive"), ("blkio.io_service_bytes_recursive", "ioServiceBytesRecursive")],
                [("blkio.throttle.io_serviced_recursive", "ioServicedRecursive"), ("blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive")],
                [("blkio.throttle.io_serviced", "ioServicedRecursive"), ("blkio.throttle.io_service_bytes", "ioServiceBytesRecursive")],
            ]
            for g in groups {
                var found: [(String, [JSONValue])] = []
                for (file, key) in g {
                    let e = blkioEntries(CgroupFS.read(d, file) ?? "")
                    if e.isEmpty { break }
                    found.append((key, e))
                }
                if found.count == g.count {
                    let order = ["ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive", "ioServiceTimeRecursive",
                                 "ioWaitTimeRecursive", "ioMergedRecursive", "ioTimeRecursive", "sectorsRecursive"]
                    for k in order { if let e = found.first(where: { $0.0 == k }) { o[k] = .array(e.1) } }
                    break
                }
            }
        } else if let d = v2(set, probe: "io.stat") {
            var bytes: [JSONValue] = [], ios: [JSONValue] = []
            for line in (CgroupFS.read(d, "io.stat") ?? "").splitASCII("\n") {
                let f = line.splitASCII(" ")
                guard let dev = f.first?.splitASCII(":"), dev.count == 2, let major = UInt64(dev[0]), let minor = UInt64(dev[1]) else { continue }
                for kv in f.dropFirst() {
                    let p = kv.splitASCII("=")
                    guard p.count == 2, let v = UInt64(p[1]) else { continue }
                    let op: String, isBytes: Bool
                    switch p[0] {
                    case "rbytes": (op, isBytes) = ("Read", true)
                    case "wbytes": (op, isBytes) = ("Write", true)
                    case "rios": (op, isBytes) = ("Read", false)
                    case "wios": (op, isBytes) = ("Write", false)
                    default: continue
                    }
                    var o = JSONObject()
                    put(&o, "major", major, omitEmpty: true)
                    put(&o, "minor", minor, omitEmpty: true)
                    o["op"] = .string(op)
                    put(&o, "value", v, omitEmpty: true)
                    if isBytes { bytes.append(.object(o)) } else { ios.append(.object(o)) }
                }
            }
            if !bytes.isEmpty { o["ioServiceBytesRecursive"] = .array(bytes) }
            if !ios.isEmpty { o["ioServicedRecursive"] = .array(ios) }
        }
        return .object(o)
    }

    private static func hugetlb(_ set: CgroupSet) -> JSONValue {
        var o = JSONObject()
        if let d = set.v1("hugetlb") {
            for size in sizes(d, suffix: ".limit_in_bytes") {
                var e = JSONObject()
                put(&e, "usage", CgroupFS.readUInt(d, "hugetlb.\(size).usage_in_bytes") ?? 0, omitEmpty: true)
                put(&e, "max", CgroupFS.readUInt(d, "hugetlb.\(size).max_usage_in_bytes") ?? 0, omitEmpty: true)
                e["failcnt"] = num(CgroupFS.readUInt(d, "hugetlb.\(size).failcnt") ?? 0)
                o[size] = .object(e)
            }
        } else if let d = set.v2 {
            for size in sizes(d, suffix: ".max") {
                var e = JSONObject()
                put(&e, "usage", CgroupFS.readUInt(d, "hugetlb.\(size).current") ?? 0, omitEmpty: true)
                e["failcnt"] = num(CgroupFS.value(d, "hugetlb.\(size).events", key: "max") ?? 0)
                o[size] = .object(e)
            }
        }
        return .object(o)
    }

    /// Page sizes that have hugetlb.<size><suffix> files in dir ("hugetlb.2MB.max" → "2MB"), sorted.
    private static func sizes(_ dir: String, suffix: String) -> [String] {
        CgroupFS.entries(dir).compactMap { name in
            guard name.hasBytePrefix("hugetlb."), name.hasByteSuffix(suffix) else { return nil }
            let mid = name.dropFirst("hugetlb.".count).dropLast(suffix.count)
            return mid.contains(".") ? nil : String(mid)
        }
    }
}
