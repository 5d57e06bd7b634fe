// `linux`: namespaces, id mappings, devices, paths, sysctl and the other Linux-only sections.
// Resources and seccomp live in SpecResources.swift / SpecSeccomp.swift.

/// The `linux` section.
public struct Linux: Equatable, Sendable {
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public var sysctl: [String: String]?
    public var resources: Resources?
    /// cgroupfs path or systemd `slice:prefix:name`, interpreted by the cgroup manager.
    public var cgroupsPath: String?
    /// Order preserved; duplicate types are rejected at decode.
    public var namespaces: [Namespace]?
    public var devices: [Device]?
    /// runtime-spec 1.3: host interface name → settings inside the container.
    public var netDevices: [String: NetDevice]?
    public var seccomp: Seccomp?
    public var rootfsPropagation: RootfsPropagation?
    /// Absolute paths (checked at decode).
    public var maskedPaths: [String]?
    /// Absolute paths (checked at decode).
    public var readonlyPaths: [String]?
    public var mountLabel: String?
    public var intelRdt: IntelRdt?
    public var personality: Personality?
    /// Keyed by clock (see `TimeOffsetClock`); keys are validated at decode.
    public var timeOffsets: [String: TimeOffset]?
    /// runtime-spec 1.3.
    public var memoryPolicy: MemoryPolicy?

    public init(
        uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil, sysctl: [String: String]? = nil,
        resources: Resources? = nil, cgroupsPath: String? = nil, namespaces: [Namespace]? = nil,
        devices: [Device]? = nil, netDevices: [String: NetDevice]? = nil, seccomp: Seccomp? = nil,
        rootfsPropagation: RootfsPropagation? = nil, maskedPaths: [String]? = nil,
        readonlyPaths: [String]? = nil, mountLabel: String? = nil, intelRdt: IntelRdt? = nil,
        personality: Personality? = nil, timeOffsets: [String: TimeOffset]? = nil,
        memoryPolicy: MemoryPolicy? = nil
    ) {
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
        self.sysctl = sysctl
        self.resources = resources
        self.cgroupsPath = cgroupsPath
        self.namespaces = namespaces
        self.devices = devices
        self.netDevices = netDevices
        self.seccomp = seccomp
        self.rootfsPropagation = rootfsPropagation
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.mountLabel = mountLabel
        self.intelRdt = intelRdt
        self.personality = personality
        self.timeOffsets = timeOffsets
        self.memoryPolicy = memoryPolicy
    }
}

/// `linux.namespaces[]`: create (no path) or join (path) a namespace.
public struct Namespace: Equatable, Sendable {
    public var type: NamespaceType
    public var path: String?
    public init(type: NamespaceType, path: String? = nil) {
        self.type = type
        self.path = path
    }
}

/// `linux.devices[]`: a device node to create in the container.
public struct Device: Equatable, Sendable {
    public var type: DeviceType
    public var path: String
    /// Required for c/b/u; 0 when absent for a FIFO (p).
    public var major: Int64
    public var minor: Int64
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public init(
        type: DeviceType, path: String, major: Int64 = 0, minor: Int64 = 0, fileMode: UInt32? = nil,
        uid: UInt32? = nil, gid: UInt32? = nil
    ) {
        self.type = type
        self.path = path
        self.major = major
        self.minor = minor
        self.fileMode = fileMode
        self.uid = uid
        self.gid = gid
    }
}

/// `linux.netDevices[<host name>]`.
public struct NetDevice: Equatable, Sendable {
    /// Name inside the container; nil keeps the host name.
    public var name: String?
    public init(name: String? = nil) { self.name = name }
}

/// `linux.intelRdt`. Carries both the 1.3 fields (`schemata`, `enableMonitoring`) and the
/// older `enableCMT`/`enableMBM` flags.
public struct IntelRdt: Equatable, Sendable {
    public var closID: String?
    public var l3CacheSchema: String?
    public var memBwSchema: String?
    public var schemata: [String]?
    public var enableMonitoring: Bool?
    public var enableCMT: Bool?
    public var enableMBM: Bool?
    public init(
        closID: String? = nil, l3CacheSchema: String? = nil, memBwSchema: String? = nil, schemata: [String]? = nil,
        enableMonitoring: Bool? = nil, enableCMT: Bool? = nil, enableMBM: Bool? = nil
    ) {
        self.closID = closID
        self.l3CacheSchema = l3CacheSchema
        self.memBwSchema = memBwSchema
        self.schemata = schemata
        self.enableMonitoring = enableMonitoring
        self.enableCMT = enableCMT
        self.enableMBM = enableMBM
    }
}

/// `linux.personality`.
public struct Personality: Equatable, Sendable {
    public var domain: PersonalityDomain
    /// No flags are defined by the spec; kept as strings.
    public var flags: [String]?
    public init(domain: PersonalityDomain, flags: [String]? = nil) {
        self.domain = domain
        self.flags = flags
    }
}

/// `linux.timeOffsets[<clock>]`.
public struct TimeOffset: Equatable, Sendable {
    public var secs: Int64?
    public var nanosecs: UInt32?
    public init(secs: Int64? = nil, nanosecs: UInt32? = nil) {
        self.secs = secs
        self.nanosecs = nanosecs
    }
}

/// `linux.memoryPolicy` (set_mempolicy for the container process), runtime-spec 1.3.
public struct MemoryPolicy: Equatable, Sendable {
    public var mode: MemoryPolicyMode
    /// Node list like "0-3,7"; required by most modes (checked by the planner).
    public var nodes: String?
    public var flags: [MemoryPolicyFlag]?
    public init(mode: MemoryPolicyMode, nodes: String? = nil, flags: [MemoryPolicyFlag]? = nil) {
        self.mode = mode
        self.nodes = nodes
        self.flags = flags
    }
}

// MARK: - Decoding

extension Linux {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        uidMappings = try d.optObjects(o, "uidMappings") { (m) throws(SpecError) in try IDMapping(d, m) }
        gidMappings = try d.optObjects(o, "gidMappings") { (m) throws(SpecError) in try IDMapping(d, m) }
        sysctl = try d.optStringMap(o, "sysctl")
        resources = try d.optObject(o, "resources") { (r) throws(SpecError) in try Resources(d, r) }
        cgroupsPath = try d.optString(o, "cgroupsPath")
        // Raw names in a plain array, not a Set of the enum: that Set's metadata and Hashable conformance are found
        // at run time on first use (~20 µs of demangling and conformance lookup in every command that parses).
        var seen: [String] = []
        namespaces = try d.optObjects(o, "namespaces") { (n) throws(SpecError) in
            let type = try d.reqEnum(n, "type", NamespaceType.self)
            if seen.contains(type.rawValue) {
                throw d.error("type", "duplicate namespace type \(JSONValue.quoted(type.rawValue))")
            }
            seen.append(type.rawValue)
            return Namespace(type: type, path: try d.optString(n, "path"))
        }
        devices = try d.optObjects(o, "devices") { (v) throws(SpecError) in try Device(d, v) }
        netDevices = try d.optMap(o, "netDevices") { (v) throws(SpecError) in
            NetDevice(name: try d.optString(try d.object(v), "name"))
        }
        seccomp = try d.optObject(o, "seccomp") { (s) throws(SpecError) in try Seccomp(d, s) }
        rootfsPropagation = try d.optEnum(o, "rootfsPropagation", RootfsPropagation.self)
        maskedPaths = try Linux.absolutePaths(d, o, "maskedPaths")
        readonlyPaths = try Linux.absolutePaths(d, o, "readonlyPaths")
        mountLabel = try d.optString(o, "mountLabel")
        intelRdt = try d.optObject(o, "intelRdt") { (r) throws(SpecError) in
            IntelRdt(
                closID: try d.optString(r, "closID"),
                l3CacheSchema: try d.optString(r, "l3CacheSchema"),
                memBwSchema: try d.optString(r, "memBwSchema"),
                schemata: try d.optStringArray(r, "schemata"),
                enableMonitoring: try d.optBool(r, "enableMonitoring"),
                enableCMT: try d.optBool(r, "enableCMT"),
                enableMBM: try d.optBool(r, "enableMBM"))
        }
        personality = try d.optObject(o, "personality") { (p) throws(SpecError) in
            Personality(
                domain: try d.reqEnum(p, "domain", PersonalityDomain.self),
                flags: try d.optStringArray(p, "flags"))
        }
        timeOffsets = try d.optMap(o, "timeOffsets") { (v) throws(SpecError) in
            let t = try d.object(v)
            return TimeOffset(secs: try d.optInt64(t, "secs"), nanosecs: try d.optUInt32(t, "nanosecs"))
        }
        if let offsets = timeOffsets {
            for clock in offsets.keys.sorted() where TimeOffsetClock(rawValue: clock) == nil {
                throw d.error(
                    "timeOffsets",
                    "unsupported value \(JSONValue.quoted(clock)) (supported: \(TimeOffsetClock.supportedList))")
            }
        }
        memoryPolicy = try d.optObject(o, "memoryPolicy") { (m) throws(SpecError) in
            // runc main's words lead the messages ("invalid memory policy mode"; bats memorypolicy.bats).
            func runcWords<T>(_ words: String, _ body: () throws(SpecError) -> T) throws(SpecError) -> T {
                do { return try body() } catch { throw SpecError(path: error.path, message: "\(words): \(error.message)") }
            }
            return MemoryPolicy(
                mode: try runcWords("invalid memory policy mode") { () throws(SpecError) in try d.reqEnum(m, "mode", MemoryPolicyMode.self) },
                nodes: try d.optString(m, "nodes"),
                flags: try runcWords("invalid memory policy flag") { () throws(SpecError) in
                    try d.optArray(m, "flags") { (f) throws(SpecError) in try d.enumValue(f, MemoryPolicyFlag.self) }
                })
        }
    }

    static func absolutePaths(_ d: SpecDecoder, _ o: JSONObject, _ key: String) throws(SpecError) -> [String]? {
        try d.optArray(o, key) { (v) throws(SpecError) in
            let s = try d.string(v)
            if !isAbsolutePath(s) { throw d.error("must be an absolute path, got \(JSONValue.quoted(s))") }
            return s
        }
    }
}

extension Device {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        type = try d.reqEnum(o, "type", DeviceType.self)
        path = try d.reqString(o, "path")
        if type == .p {
            major = try d.optInt64(o, "major") ?? 0
            minor = try d.optInt64(o, "minor") ?? 0
        } else {
            major = try d.reqInt64(o, "major")
            minor = try d.reqInt64(o, "minor")
        }
        fileMode = try d.optUInt32(o, "fileMode")
        uid = try d.optUInt32(o, "uid")
        gid = try d.optUInt32(o, "gid")
    }
}
