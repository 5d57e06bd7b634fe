// Closed value sets of runtime-spec v1.3 (Linux). Case names are the spec spelling itself, so
// `.RLIMIT_NOFILE`, `.SCMP_ACT_ERRNO`, `.pid` read exactly like config.json. An unknown value
// is a decode error naming the JSON path (spec: unsupported values MUST be rejected).

/// `linux.namespaces[].type`.
public enum NamespaceType: String, SpecEnum {
    case pid, network, mount, ipc, uts, user, cgroup, time
}

/// `process.rlimits[].type`: the 16 Linux resource limits.
public enum RlimitType: String, SpecEnum {
    case RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_FSIZE, RLIMIT_LOCKS, RLIMIT_MEMLOCK
    case RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_RSS, RLIMIT_RTPRIO
    case RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK

    /// The Linux resource number (asm-generic/resource.h; identical on all Linux architectures
    /// we build for).
    public var resource: Int32 {
        switch self {
        case .RLIMIT_CPU: return 0
        case .RLIMIT_FSIZE: return 1
        case .RLIMIT_DATA: return 2
        case .RLIMIT_STACK: return 3
        case .RLIMIT_CORE: return 4
        case .RLIMIT_RSS: return 5
        case .RLIMIT_NPROC: return 6
        case .RLIMIT_NOFILE: return 7
        case .RLIMIT_MEMLOCK: return 8
        case .RLIMIT_AS: return 9
        case .RLIMIT_LOCKS: return 10
        case .RLIMIT_SIGPENDING: return 11
        case .RLIMIT_MSGQUEUE: return 12
        case .RLIMIT_NICE: return 13
        case .RLIMIT_RTPRIO: return 14
        case .RLIMIT_RTTIME: return 15
        }
    }
}

/// `linux.devices[].type`: c (char), b (block), u (unbuffered char), p (FIFO).
public enum DeviceType: String, SpecEnum {
    case c, b, u, p
}

/// `linux.resources.devices[].type`: a (all), c, b.
public enum DeviceCgroupType: String, SpecEnum {
    case a, c, b
}

/// `linux.rootfsPropagation`. The spec lists the first four; runc also accepts the recursive
/// r* forms, so they are accepted here too.
public enum RootfsPropagation: String, SpecEnum {
    case shared, slave, `private`, unbindable, rshared, rslave, rprivate, runbindable
}

/// Seccomp actions (`defaultAction`, `syscalls[].action`).
public enum SeccompAction: String, SpecEnum {
    case SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO
    case SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY

    /// Actions that carry an errno (`errnoRet` / `defaultErrnoRet` are only legal with these).
    public var takesErrno: Bool { self == .SCMP_ACT_ERRNO || self == .SCMP_ACT_TRACE }
}

/// Seccomp argument comparison operators (`syscalls[].args[].op`).
public enum SeccompOperator: String, SpecEnum {
    case SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ
}

/// Seccomp architectures (`linux.seccomp.architectures`), libseccomp spelling.
public enum SeccompArch: String, SpecEnum {
    case SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64
    case SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64
    case SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390
    case SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64
    case SCMP_ARCH_M68K, SCMP_ARCH_SH, SCMP_ARCH_SHEB
}

/// Seccomp filter flags (`linux.seccomp.flags`).
public enum SeccompFlag: String, SpecEnum {
    case SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW
    case SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
}

/// `linux.personality.domain`.
public enum PersonalityDomain: String, SpecEnum {
    case LINUX, LINUX32
}

/// `process.scheduler.policy` (sched_setattr).
public enum SchedulerPolicy: String, SpecEnum {
    case SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE
}

/// `process.scheduler.flags[]`.
public enum SchedulerFlag: String, SpecEnum {
    case SCHED_FLAG_RESET_ON_FORK, SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_KEEP_POLICY
    case SCHED_FLAG_KEEP_PARAMS, SCHED_FLAG_UTIL_CLAMP_MIN, SCHED_FLAG_UTIL_CLAMP_MAX
}

/// `process.ioPriority.class`.
public enum IOPriorityClass: String, SpecEnum {
    case IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE
}

/// `linux.memoryPolicy.mode` (set_mempolicy), runtime-spec 1.3.
public enum MemoryPolicyMode: String, SpecEnum {
    case MPOL_DEFAULT, MPOL_BIND, MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, MPOL_PREFERRED
    case MPOL_PREFERRED_MANY, MPOL_LOCAL
}

/// `linux.memoryPolicy.flags[]`.
public enum MemoryPolicyFlag: String, SpecEnum {
    case MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES
}

/// Keys of `linux.timeOffsets` (the clocks a time namespace can offset).
public enum TimeOffsetClock: String, SpecEnum {
    case monotonic, boottime
}
