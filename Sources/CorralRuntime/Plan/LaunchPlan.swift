import CorralSpec

/// One mount operation for the C executor (see `struct corral_mount`).
struct MountOp: Equatable {
    enum Kind: Int32 { case fs = 1, bind = 2, remount = 3, symlink = 4, mkdir = 5 }
    var kind: Kind
    var dest: String
    var source: String? = nil
    var fstype: String? = nil
    var data: [String] = []
    var recursive = false
    var destIsFile = false
    var attrSet: UInt64 = 0
    var attrClr: UInt64 = 0
    var rattrSet: UInt64 = 0
    var rattrClr: UInt64 = 0
    var propagation: UInt64 = 0
    var propagationRecursive = false
    var mode: UInt32 = 0o755
    /// The target may be on procfs (lxcfs-style overlays, remounts); any other mount onto procfs is refused.
    var allowOnProc = false
    /// FS (tmpfs) only: fill the new filesystem with a copy of the destination directory before attaching it.
    var copyUp = false
    /// Bind only: `source` lies in the rootfs; the child resolves it there (the part below the rootfs) when the
    /// mount's turn comes, after the mounts before it, and takes the destination's kind (file or directory) from it.
    var sourceInRoot = false
    /// Bind only: the MS_* lockable flags the options clear explicitly, and the atime flags they set. In a user
    /// namespace the kernel refuses to clear a flag the source mount had (MNT_LOCK_*); the child then keeps the
    /// source's ro/nosuid/nodev/noexec, and fails when these say that cannot be what was asked for (runc's rule).
    var msCleared: UInt64 = 0
    var msAtime: UInt64 = 0
    /// Bind only: an idmapped mount through a user namespace with these maps (containerID, hostID, size), made by
    /// the parent, which also opens the source (the child could not, from inside a user namespace).
    var idmap: IDMap? = nil
    /// Applied at the end of the rootfs setup (after devices, sysctls and masks), not in list order: runc makes
    /// read-only tmpfs mounts and /dev read-only only then, so what is created below them still can be.
    var deferred = false
    /// For error messages: the config's type ("bind" for binds) and index in `mounts`, -1 for implicit ones.
    var label: String
    var configIndex: Int
}

/// A device node to create (see `struct corral_device`).
struct DeviceOp: Equatable {
    var path: String
    var mode: UInt32
    var major: UInt32
    var minor: UInt32
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var bindFromHost = false
}

/// A namespace to join: the path from the config and its CLONE_NEW* flag (the fd is opened at launch).
struct NamespaceJoin: Equatable {
    var path: String
    var flag: UInt64
    var type: String
}

/// Everything a launch needs, validated and resolved: the immutable result of planning. Nothing in here is
/// checked again later; the launcher only opens fds and hands it to C. The top-level fields are what the C
/// executor reads (CPlan.swift copies them into `struct corral_plan`); `host` is what the parent keeps and acts
/// on itself, which C never sees.
struct LaunchPlan {
    /// The parent's part of the plan: done from the host, around the child's setup.
    struct HostSide {
        /// The container's cgroups: paths and limits, made by `create` before the launch.
        var cgroups: CgroupPlan? = nil
        /// A new user namespace's maps, written to /proc/<child>/uid_map and gid_map when the child asks (MAPS).
        var uidMappings: [(UInt32, UInt32, UInt32)] = []
        var gidMappings: [(UInt32, UInt32, UInt32)] = []
        /// linux.netDevices: host interface → its name in the container; moved once the init is parked.
        var netDevices: [(host: String, name: String)] = []
        /// process.oomScoreAdj, written to the parked init's /proc/<pid>/oom_score_adj.
        var oomScoreAdj: Int? = nil
    }
    var host = HostSide()

    var cloneFlags: UInt64 = 0
    var unshareFlags: UInt64 = 0
    var mustFork = false
    var joins: [NamespaceJoin] = []
    /// exec: the CLONE_NEW* namespaces of the container entered through its init's pidfd in one setns(2); 0: none.
    var enterFlags: UInt64 = 0
    /// exec without a time namespace to enter: the parent enters the container's pid namespace for its children
    /// around clone3, so the child is born in it and does not fork again (`mustFork` is then false).
    var pidNamespaceInParent = false
    var newUserNS = false
    var newNamespaces: UInt64 = 0
    /// A new pid namespace of its own (cloned, or unshared when the child forks again), not the host's or a
    /// joined one: only then do the container's processes die with its init.
    var ownPidNamespace: Bool { newNamespaces & Planner.namespaceFlags[.pid]! != 0 }
    var timeOffsets: [Int64]? = nil

    var hostname: String? = nil
    var domainname: String? = nil

    var rootfs = ""
    var mountNS = false
    var rootPropagation: UInt64 = Propagation.slave | Propagation.rec
    var rootPropagationAfter: UInt64 = 0
    var mounts: [MountOp] = []
    /// The config mounts a procfs at /proc (without one, the child reaches its exec fifo through the runtime's).
    var hasProcMount = false
    var devices: [DeviceOp] = []
    var noPivot = false
    var readonlyRoot = false
    var sysctl: [SysctlOp] = []
    var maskedPaths: [String] = []
    var readonlyPaths: [String] = []
    var cwd = "/"

    var rlimits: [(Int32, UInt64, UInt64)] = []
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var groups: [UInt32] = []
    /// setgroups(2) may be called: false in a joined user namespace whose /proc/<pid>/setgroups is "deny".
    var setGroups = true
    var umask: Int32 = -1
    /// Always applied: a config without capabilities gets empty sets.
    var capabilities = CapabilitySets()
    var noNewPrivileges = false
    /// Compiled BPF for the child to load, nil without linux.seccomp.
    var seccomp: SeccompProgram? = nil
    var keyringName: String? = nil
    /// personality(2) persona (domain | flags), nil to leave it.
    var personality: Int32? = nil
    /// process.scheduler, nil to leave the runtime's.
    var scheduler: SchedulerPlan? = nil
    /// process.ioPriority, nil to leave the runtime's.
    var ioPriority: IOPriorityPlan? = nil
    /// process.execCPUAffinity: exec only (the spec exempts the container's init; create validates it).
    var cpuAffinity: CPUAffinityPlan? = nil
    /// linux.memoryPolicy, nil to leave the runtime's.
    var memoryPolicy: MemoryPolicyPlan? = nil
    var appArmorExec: String? = nil
    var seLinuxExec: String? = nil

    var args: [String] = []
    var env: [String] = []
    var terminal = false
    var consoleSize: (rows: UInt16, cols: UInt16) = (0, 0)
    var preserveFDs = 0
    /// config.json `hooks`, validated.
    var hooks = HookPlan()
    /// The io.corral.landlock.* annotations (LandlockPlanner), nil without them.
    var landlock: LandlockPlan? = nil
}

/// The five capability sets as bit masks (bit n = capability number n).
struct CapabilitySets: Equatable {
    var bounding: UInt64 = 0
    var effective: UInt64 = 0
    var inheritable: UInt64 = 0
    var permitted: UInt64 = 0
    var ambient: UInt64 = 0
}

/// A seccomp filter compiled in the parent: `struct sock_filter` records (8 bytes each) and SECCOMP_FILTER_FLAG_*.
struct SeccompProgram: Equatable {
    var filter: [UInt8]
    var flags: UInt32
    /// linux.seccomp.listenerPath when the profile has SCMP_ACT_NOTIFY rules.
    var listenerPath: String? = nil
    var listenerMetadata: String? = nil
}

/// One sysctl to write: its path below /proc/sys, the value, the dotted name (for messages) and the namespace
/// type (CLONE_NEW*) it belongs to. The child refuses to write it when it finds itself in the host's namespace of
/// that type (a namespace joined by path can be the host's).
struct SysctlOp: Equatable {
    var path: String
    var value: String
    var name: String
    var namespace: UInt64
}

/// The id maps of an idmapped mount and whether they apply to its submounts too (`ridmap`).
struct IDMap: Equatable {
    var uid: [IDMapping]
    var gid: [IDMapping]
    var recursive: Bool
}
