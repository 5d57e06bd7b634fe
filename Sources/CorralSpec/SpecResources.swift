// `linux.resources` (also the document of `update --resources`): cgroup limits.

/// `linux.resources`.
public struct Resources: Equatable, Sendable {
    /// Ordered allow/deny device rules.
    public var devices: [DeviceCgroup]?
    public var memory: Memory?
    public var cpu: CPU?
    public var pids: Pids?
    public var blockIO: BlockIO?
    public var hugepageLimits: [HugepageLimit]?
    public var network: Network?
    public var rdma: [String: Rdma]?
    /// Raw cgroup v2 file → value.
    public var unified: [String: String]?
    public init(
        devices: [DeviceCgroup]? = nil, memory: Memory? = nil, cpu: CPU? = nil, pids: Pids? = nil,
        blockIO: BlockIO? = nil, hugepageLimits: [HugepageLimit]? = nil, network: Network? = nil,
        rdma: [String: Rdma]? = nil, unified: [String: String]? = nil
    ) {
        self.devices = devices
        self.memory = memory
        self.cpu = cpu
        self.pids = pids
        self.blockIO = blockIO
        self.hugepageLimits = hugepageLimits
        self.network = network
        self.rdma = rdma
        self.unified = unified
    }
}

/// `linux.resources.devices[]`. nil major/minor mean wildcard; nil type means "a".
public struct DeviceCgroup: Equatable, Sendable {
    public var allow: Bool
    public var type: DeviceCgroupType?
    public var major: Int64?
    public var minor: Int64?
    /// Any combination of r, w, m (checked at decode).
    public var access: String?
    public init(allow: Bool, type: DeviceCgroupType? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access
    }
}

/// `linux.resources.memory`. Values in bytes; -1 means unlimited.
public struct Memory: Equatable, Sendable {
    public var limit: Int64?
    public var reservation: Int64?
    public var swap: Int64?
    /// Deprecated (not supported on cgroup v2 nor kernels ≥ 5.4).
    public var kernel: Int64?
    public var kernelTCP: Int64?
    public var swappiness: UInt64?
    public var disableOOMKiller: Bool?
    public var useHierarchy: Bool?
    public var checkBeforeUpdate: Bool?
    public init(
        limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil, kernel: Int64? = nil,
        kernelTCP: Int64? = nil, swappiness: UInt64? = nil, disableOOMKiller: Bool? = nil,
        useHierarchy: Bool? = nil, checkBeforeUpdate: Bool? = nil
    ) {
        self.limit = limit
        self.reservation = reservation
        self.swap = swap
        self.kernel = kernel
        self.kernelTCP = kernelTCP
        self.swappiness = swappiness
        self.disableOOMKiller = disableOOMKiller
        self.useHierarchy = useHierarchy
        self.checkBeforeUpdate = checkBeforeUpdate
    }
}

/// `linux.resources.cpu`.
public struct CPU: Equatable, Sendable {
    public var shares: UInt64?
    /// Microseconds per period; -1 means unlimited.
    public var quota: Int64?
    public var burst: UInt64?
    public var period: UInt64?
    public var realtimeRuntime: Int64?
    public var realtimePeriod: UInt64?
    public var cpus: String?
    public var mems: String?
    public var idle: Int64?
    public init(
        shares: UInt64? = nil, quota: Int64? = nil, burst: UInt64? = nil, period: UInt64? = nil,
        realtimeRuntime: Int64? = nil, realtimePeriod: UInt64? = nil, cpus: String? = nil, mems: String? = nil,
        idle: Int64? = nil
    ) {
        self.shares = shares
        self.quota = quota
        self.burst = burst
        self.period = period
        self.realtimeRuntime = realtimeRuntime
        self.realtimePeriod = realtimePeriod
        self.cpus = cpus
        self.mems = mems
        self.idle = idle
    }
}

/// `linux.resources.pids`.
public struct Pids: Equatable, Sendable {
    /// Maximum number of pids: negative (conventionally -1) means unlimited, 0 a limit of 1 (runc 1.2+).
    public var limit: Int64?
    public init(limit: Int64? = nil) { self.limit = limit }
}

/// `linux.resources.blockIO`.
public struct BlockIO: Equatable, Sendable {
    public var weight: UInt16?
    public var leafWeight: UInt16?
    public var weightDevice: [WeightDevice]?
    public var throttleReadBpsDevice: [ThrottleDevice]?
    public var throttleWriteBpsDevice: [ThrottleDevice]?
    public var throttleReadIOPSDevice: [ThrottleDevice]?
    public var throttleWriteIOPSDevice: [ThrottleDevice]?
    public init(
        weight: UInt16? = nil, leafWeight: UInt16? = nil, weightDevice: [WeightDevice]? = nil,
        throttleReadBpsDevice: [ThrottleDevice]? = nil, throttleWriteBpsDevice: [ThrottleDevice]? = nil,
        throttleReadIOPSDevice: [ThrottleDevice]? = nil, throttleWriteIOPSDevice: [ThrottleDevice]? = nil
    ) {
        self.weight = weight
        self.leafWeight = leafWeight
        self.weightDevice = weightDevice
        self.throttleReadBpsDevice = throttleReadBpsDevice
        self.throttleWriteBpsDevice = throttleWriteBpsDevice
        self.throttleReadIOPSDevice = throttleReadIOPSDevice
        self.throttleWriteIOPSDevice = throttleWriteIOPSDevice
    }
}

/// `blockIO.weightDevice[]`.
public struct WeightDevice: Equatable, Sendable {
    public var major: Int64
    public var minor: Int64
    public var weight: UInt16?
    public var leafWeight: UInt16?
    public init(major: Int64, minor: Int64, weight: UInt16? = nil, leafWeight: UInt16? = nil) {
        self.major = major
        self.minor = minor
        self.weight = weight
        self.leafWeight = leafWeight
    }
}

/// `blockIO.throttle*Device[]`.
public struct ThrottleDevice: Equatable, Sendable {
    public var major: Int64
    public var minor: Int64
    public var rate: UInt64
    public init(major: Int64, minor: Int64, rate: UInt64) {
        self.major = major
        self.minor = minor
        self.rate = rate
    }
}

/// `linux.resources.hugepageLimits[]`.
public struct HugepageLimit: Equatable, Sendable {
    /// e.g. "2MB", "1GB".
    public var pageSize: String
    public var limit: UInt64
    public init(pageSize: String, limit: UInt64) {
        self.pageSize = pageSize
        self.limit = limit
    }
}

/// `linux.resources.network` (cgroup v1 net_cls / net_prio).
public struct Network: Equatable, Sendable {
    public var classID: UInt32?
    public var priorities: [InterfacePriority]?
    public init(classID: UInt32? = nil, priorities: [InterfacePriority]? = nil) {
        self.classID = classID
        self.priorities = priorities
    }
}

/// `linux.resources.network.priorities[]`: a net_prio priority for one interface.
public struct InterfacePriority: Equatable, Sendable {
    public var name: String
    public var priority: UInt32
    public init(name: String, priority: UInt32) {
        self.name = name
        self.priority = priority
    }
}

/// `linux.resources.rdma[<device>]`.
public struct Rdma: Equatable, Sendable {
    public var hcaHandles: UInt32?
    public var hcaObjects: UInt32?
    public init(hcaHandles: UInt32? = nil, hcaObjects: UInt32? = nil) {
        self.hcaHandles = hcaHandles
        self.hcaObjects = hcaObjects
    }
}

// MARK: - Decoding

extension Resources {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        devices = try d.optObjects(o, "devices") { (r) throws(SpecError) in
            let allow = try d.reqBool(r, "allow")
            let access = try d.optString(r, "access")
            // A deny rule may carry other letters (runc's own tests deny "rwa"): the planner then denies all of
            // r, w and m, more than any reading of it asks. An allow rule must say exactly what it grants.
            if allow, let a = access, !a.utf8.allSatisfy({ $0 == UInt8(ascii: "r") || $0 == UInt8(ascii: "w") || $0 == UInt8(ascii: "m") }) {
                throw d.error("access", "unsupported value \(JSONValue.quoted(a)) (supported: a combination of r, w, m)")
            }
            return DeviceCgroup(
                allow: allow,
                type: try d.optEnum(r, "type", DeviceCgroupType.self),
                major: try d.optInt64(r, "major"),
                minor: try d.optInt64(r, "minor"),
                access: access)
        }
        memory = try d.optObject(o, "memory") { (m) throws(SpecError) in
            Memory(
                limit: try d.optInt64(m, "limit"),
                reservation: try d.optInt64(m, "reservation"),
                swap: try d.optInt64(m, "swap"),
                kernel: try d.optInt64(m, "kernel"),
                kernelTCP: try d.optInt64(m, "kernelTCP"),
                swappiness: try d.optUInt64(m, "swappiness"),
                disableOOMKiller: try d.optBool(m, "disableOOMKiller"),
                useHierarchy: try d.optBool(m, "useHierarchy"),
                checkBeforeUpdate: try d.optBool(m, "checkBeforeUpdate"))
        }
        cpu = try d.optObject(o, "cpu") { (c) throws(SpecError) in
            CPU(
                shares: try d.optUInt64(c, "shares"),
                quota: try d.optInt64(c, "quota"),
                burst: try d.optUInt64(c, "burst"),
                period: try d.optUInt64(c, "period"),
                realtimeRuntime: try d.optInt64(c, "realtimeRuntime"),
                realtimePeriod: try d.optUInt64(c, "realtimePeriod"),
                cpus: try d.optString(c, "cpus"),
                mems: try d.optString(c, "mems"),
                idle: try d.optInt64(c, "idle"))
        }
        pids = try d.optObject(o, "pids") { (p) throws(SpecError) in Pids(limit: try d.optInt64(p, "limit")) }
        blockIO = try d.optObject(o, "blockIO") { (b) throws(SpecError) in
            func throttle(_ key: String) throws(SpecError) -> [ThrottleDevice]? {
                try d.optObjects(b, key) { (t) throws(SpecError) in
                    ThrottleDevice(
                        major: try d.reqInt64(t, "major"), minor: try d.reqInt64(t, "minor"),
                        rate: try d.reqUInt64(t, "rate"))
                }
            }
            return BlockIO(
                weight: try d.optUInt16(b, "weight"),
                leafWeight: try d.optUInt16(b, "leafWeight"),
                weightDevice: try d.optObjects(b, "weightDevice") { (w) throws(SpecError) in
                    WeightDevice(
                        major: try d.reqInt64(w, "major"), minor: try d.reqInt64(w, "minor"),
                        weight: try d.optUInt16(w, "weight"), leafWeight: try d.optUInt16(w, "leafWeight"))
                },
                throttleReadBpsDevice: try throttle("throttleReadBpsDevice"),
                throttleWriteBpsDevice: try throttle("throttleWriteBpsDevice"),
                throttleReadIOPSDevice: try throttle("throttleReadIOPSDevice"),
                throttleWriteIOPSDevice: try throttle("throttleWriteIOPSDevice"))
        }
        hugepageLimits = try d.optObjects(o, "hugepageLimits") { (h) throws(SpecError) in
            HugepageLimit(pageSize: try d.reqString(h, "pageSize"), limit: try d.reqUInt64(h, "limit"))
        }
        network = try d.optObject(o, "network") { (n) throws(SpecError) in
            Network(
                classID: try d.optUInt32(n, "classID"),
                priorities: try d.optObjects(n, "priorities") { (p) throws(SpecError) in
                    InterfacePriority(name: try d.reqString(p, "name"), priority: try d.reqUInt32(p, "priority"))
                })
        }
        rdma = try d.optMap(o, "rdma") { (v) throws(SpecError) in
            let r = try d.object(v)
            return Rdma(hcaHandles: try d.optUInt32(r, "hcaHandles"), hcaObjects: try d.optUInt32(r, "hcaObjects"))
        }
        unified = try d.optStringMap(o, "unified")
    }
}
