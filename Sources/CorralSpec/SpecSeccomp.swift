// `linux.seccomp`: the filter description (compiled to BPF elsewhere).

/// `linux.seccomp`.
public struct Seccomp: Equatable, Sendable {
    public var defaultAction: SeccompAction
    /// Only legal with an ERRNO/TRACE default action (checked at decode).
    public var defaultErrnoRet: UInt32?
    public var architectures: [SeccompArch]?
    public var flags: [SeccompFlag]?
    /// AF_UNIX socket that receives the notify fd (SCMP_ACT_NOTIFY).
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [Syscall]?
    public init(
        defaultAction: SeccompAction, defaultErrnoRet: UInt32? = nil, architectures: [SeccompArch]? = nil,
        flags: [SeccompFlag]? = nil, listenerPath: String? = nil, listenerMetadata: String? = nil,
        syscalls: [Syscall]? = nil
    ) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.flags = flags
        self.listenerPath = listenerPath
        self.listenerMetadata = listenerMetadata
        self.syscalls = syscalls
    }
}

/// `linux.seccomp.syscalls[]`: a rule for one or more syscall names.
public struct Syscall: Equatable, Sendable {
    /// Syscall names stay strings: names unknown to the running kernel/libseccomp are skipped
    /// by runtimes (Docker's profile lists syscalls of every architecture).
    public var names: [String]
    public var action: SeccompAction
    /// Only legal with SCMP_ACT_ERRNO / SCMP_ACT_TRACE (checked at decode).
    public var errnoRet: UInt32?
    public var args: [SeccompArg]?
    public init(names: [String], action: SeccompAction, errnoRet: UInt32? = nil, args: [SeccompArg]? = nil) {
        self.names = names
        self.action = action
        self.errnoRet = errnoRet
        self.args = args
    }
}

/// `linux.seccomp.syscalls[].args[]`.
public struct SeccompArg: Equatable, Sendable {
    /// Argument position, 0-5.
    public var index: UInt32
    public var value: UInt64
    /// Second operand (the mask value's comparand for SCMP_CMP_MASKED_EQ).
    public var valueTwo: UInt64?
    public var op: SeccompOperator
    public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: SeccompOperator) {
        self.index = index
        self.value = value
        self.valueTwo = valueTwo
        self.op = op
    }
}

// MARK: - Decoding

extension Seccomp {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        defaultAction = try d.reqEnum(o, "defaultAction", SeccompAction.self)
        defaultErrnoRet = try d.optUInt32(o, "defaultErrnoRet")
        if defaultErrnoRet != nil && !defaultAction.takesErrno {
            throw d.error("defaultErrnoRet", Seccomp.errnoMessage(defaultAction))
        }
        architectures = try d.optArray(o, "architectures") { (a) throws(SpecError) in
            try d.enumValue(a, SeccompArch.self)
        }
        flags = try d.optArray(o, "flags") { (f) throws(SpecError) in try d.enumValue(f, SeccompFlag.self) }
        listenerPath = try d.optString(o, "listenerPath")
        listenerMetadata = try d.optString(o, "listenerMetadata")
        syscalls = try d.optObjects(o, "syscalls") { (s) throws(SpecError) in try Syscall(d, s) }
    }

    static func errnoMessage(_ action: SeccompAction) -> String {
        "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not \(action.rawValue)"
    }
}

extension Syscall {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        names = try d.reqStringArray(o, "names")
        action = try d.reqEnum(o, "action", SeccompAction.self)
        errnoRet = try d.optUInt32(o, "errnoRet")
        if errnoRet != nil && !action.takesErrno {
            throw d.error("errnoRet", Seccomp.errnoMessage(action))
        }
        args = try d.optObjects(o, "args") { (a) throws(SpecError) in
            SeccompArg(
                index: try d.reqUInt32(a, "index"),
                value: try d.reqUInt64(a, "value"),
                valueTwo: try d.optUInt64(a, "valueTwo"),
                op: try d.reqEnum(a, "op", SeccompOperator.self))
        }
    }
}
