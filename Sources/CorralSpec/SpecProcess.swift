// `process` (also the whole document of `exec --process`).

/// The container process.
public struct Process: Equatable, Sendable {
    public var terminal: Bool?
    /// Ignored unless `terminal` is true.
    public var consoleSize: Box?
    public var user: User
    /// At least one entry is needed to start (checked by the planner, not here: `exec` may
    /// merge args from the command line).
    public var args: [String]?
    /// Windows only; decoded for completeness.
    public var commandLine: String?
    public var env: [String]?
    /// Absolute path inside the container (checked at decode).
    public var cwd: String
    /// Capability names stay strings: unknown names are a warning per spec, decided later.
    public var capabilities: Capabilities?
    public var rlimits: [POSIXRlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var scheduler: Scheduler?
    public var selinuxLabel: String?
    public var ioPriority: IOPriority?
    public var execCPUAffinity: CPUAffinity?

    public init(
        terminal: Bool? = nil, consoleSize: Box? = nil, user: User, args: [String]? = nil,
        commandLine: String? = nil, env: [String]? = nil, cwd: String, capabilities: Capabilities? = nil,
        rlimits: [POSIXRlimit]? = nil, noNewPrivileges: Bool? = nil, apparmorProfile: String? = nil,
        oomScoreAdj: Int? = nil, scheduler: Scheduler? = nil, selinuxLabel: String? = nil,
        ioPriority: IOPriority? = nil, execCPUAffinity: CPUAffinity? = nil
    ) {
        self.terminal = terminal
        self.consoleSize = consoleSize
        self.user = user
        self.args = args
        self.commandLine = commandLine
        self.env = env
        self.cwd = cwd
        self.capabilities = capabilities
        self.rlimits = rlimits
        self.noNewPrivileges = noNewPrivileges
        self.apparmorProfile = apparmorProfile
        self.oomScoreAdj = oomScoreAdj
        self.scheduler = scheduler
        self.selinuxLabel = selinuxLabel
        self.ioPriority = ioPriority
        self.execCPUAffinity = execCPUAffinity
    }
}

/// `process.consoleSize`.
public struct Box: Equatable, Sendable {
    public var height: UInt32
    public var width: UInt32
    public init(height: UInt32, width: UInt32) {
        self.height = height
        self.width = width
    }
}

/// `process.user`.
public struct User: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?
    /// Windows only; decoded for completeness.
    public var username: String?
    public init(uid: UInt32, gid: UInt32, umask: UInt32? = nil, additionalGids: [UInt32]? = nil, username: String? = nil) {
        self.uid = uid
        self.gid = gid
        self.umask = umask
        self.additionalGids = additionalGids
        self.username = username
    }
}

/// `process.capabilities`: the five sets, names as written (e.g. "CAP_NET_BIND_SERVICE").
public struct Capabilities: Equatable, Sendable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?
    public init(
        bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
        permitted: [String]? = nil, ambient: [String]? = nil
    ) {
        self.bounding = bounding
        self.effective = effective
        self.inheritable = inheritable
        self.permitted = permitted
        self.ambient = ambient
    }
}

/// `process.rlimits[]`.
public struct POSIXRlimit: Equatable, Sendable {
    public var type: RlimitType
    public var hard: UInt64
    public var soft: UInt64
    public init(type: RlimitType, hard: UInt64, soft: UInt64) {
        self.type = type
        self.hard = hard
        self.soft = soft
    }
}

public typealias Rlimit = POSIXRlimit

/// `process.scheduler` (sched_setattr), runtime-spec 1.2.
public struct Scheduler: Equatable, Sendable {
    public var policy: SchedulerPolicy
    public var nice: Int32?
    public var priority: Int32?
    public var flags: [SchedulerFlag]?
    public var runtime: UInt64?
    public var deadline: UInt64?
    public var period: UInt64?
    public init(
        policy: SchedulerPolicy, nice: Int32? = nil, priority: Int32? = nil, flags: [SchedulerFlag]? = nil,
        runtime: UInt64? = nil, deadline: UInt64? = nil, period: UInt64? = nil
    ) {
        self.policy = policy
        self.nice = nice
        self.priority = priority
        self.flags = flags
        self.runtime = runtime
        self.deadline = deadline
        self.period = period
    }
}

/// `process.ioPriority` (ioprio_set), runtime-spec 1.2.
public struct IOPriority: Equatable, Sendable {
    public var `class`: IOPriorityClass
    public var priority: Int
    public init(class: IOPriorityClass, priority: Int) {
        self.class = `class`
        self.priority = priority
    }
}

/// `process.execCPUAffinity` (cpu lists like "0-3,7"), runtime-spec 1.2.
public struct CPUAffinity: Equatable, Sendable {
    public var initial: String?
    public var `final`: String?
    public init(initial: String? = nil, final: String? = nil) {
        self.initial = initial
        self.final = `final`
    }
}

// MARK: - Decoding

extension Process {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        terminal = try d.optBool(o, "terminal")
        consoleSize = try d.optObject(o, "consoleSize") { (b) throws(SpecError) in
            Box(height: try d.reqUInt32(b, "height"), width: try d.reqUInt32(b, "width"))
        }
        // runc (Go's zero values) runs a process without `user` as 0:0, and a user without `gid` with gid 0:
        // exec's process.json often has none.
        user = try d.optObject(o, "user") { (u) throws(SpecError) in try User(d, u) } ?? User(uid: 0, gid: 0)
        args = try d.optStringArray(o, "args")
        commandLine = try d.optString(o, "commandLine")
        env = try d.optStringArray(o, "env")
        cwd = try d.reqString(o, "cwd")
        if !isAbsolutePath(cwd) {
            throw d.error("cwd", "must be an absolute path, got \(JSONValue.quoted(cwd))")
        }
        capabilities = try d.optObject(o, "capabilities") { (c) throws(SpecError) in
            Capabilities(
                bounding: try d.optStringArray(c, "bounding"),
                effective: try d.optStringArray(c, "effective"),
                inheritable: try d.optStringArray(c, "inheritable"),
                permitted: try d.optStringArray(c, "permitted"),
                ambient: try d.optStringArray(c, "ambient"))
        }
        var seen: [String] = []   // raw names: see Linux.namespaces
        rlimits = try d.optObjects(o, "rlimits") { (r) throws(SpecError) in
            let type = try d.reqEnum(r, "type", RlimitType.self)
            if seen.contains(type.rawValue) {
                throw d.error("type", "duplicate rlimit type \(JSONValue.quoted(type.rawValue))")
            }
            seen.append(type.rawValue)
            return POSIXRlimit(type: type, hard: try d.reqUInt64(r, "hard"), soft: try d.reqUInt64(r, "soft"))
        }
        noNewPrivileges = try d.optBool(o, "noNewPrivileges")
        apparmorProfile = try d.optString(o, "apparmorProfile")
        oomScoreAdj = try d.optInt(o, "oomScoreAdj")
        scheduler = try d.optObject(o, "scheduler") { (s) throws(SpecError) in
            Scheduler(
                policy: try d.reqEnum(s, "policy", SchedulerPolicy.self),
                nice: try d.optInt32(s, "nice"),
                priority: try d.optInt32(s, "priority"),
                flags: try d.optArray(s, "flags") { (f) throws(SpecError) in try d.enumValue(f, SchedulerFlag.self) },
                runtime: try d.optUInt64(s, "runtime"),
                deadline: try d.optUInt64(s, "deadline"),
                period: try d.optUInt64(s, "period"))
        }
        selinuxLabel = try d.optString(o, "selinuxLabel")
        // A missing "priority" is 0, as runc and crun read it (the spec's Go struct has no omitempty to tell).
        ioPriority = try d.optObject(o, "ioPriority") { (p) throws(SpecError) in
            IOPriority(class: try d.reqEnum(p, "class", IOPriorityClass.self), priority: try d.optInt(p, "priority") ?? 0)
        }
        execCPUAffinity = try d.optObject(o, "execCPUAffinity") { (a) throws(SpecError) in
            CPUAffinity(initial: try d.optString(a, "initial"), final: try d.optString(a, "final"))
        }
    }
}

extension User {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        uid = try d.reqUInt32(o, "uid")
        gid = try d.optUInt32(o, "gid") ?? 0
        umask = try d.optUInt32(o, "umask")
        additionalGids = try d.optArray(o, "additionalGids") { (g) throws(SpecError) in try d.uint32(g) }
        username = try d.optString(o, "username")
    }
}
