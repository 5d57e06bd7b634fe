import CCorral
import CorralSpec
import Glibc

/// Options of `create`/`run` that shape the plan.
struct PlanOptions {
    var id: String
    var bundle: String
    var noPivot = false
    var noNewKeyring = false
    var hasConsoleSocket = false
    /// `run` in the foreground relays a terminal itself; create/detached runs need a console socket.
    var terminalRelay = false
    var preserveFDs = 0
    /// Socket activation (runc's LISTEN_FDS): fds 3 .. 3+listenFDs-1 of the caller go to the container before the
    /// --preserve-fds ones, with LISTEN_FDS=n and LISTEN_PID=1 in its environment.
    var listenFDs = 0
    /// `--systemd-cgroup`, for the cgroupsPath rules.
    var systemdCgroup = false
    /// The host's cgroup layout; nil reads the live one (tests describe other layouts).
    var cgroupHost: CgroupHost? = nil
    /// Directory of the compiled seccomp filter cache (`<root>/.cache/seccomp`); nil compiles every time.
    var seccompCacheDir: String? = nil
    /// The name the runtime was run by, for runc's texts that name the program ("if runc will detach").
    var programName = "corral"
}

/// Turns a decoded config.json into a `LaunchPlan`, validating everything first: an invalid or unsupported value
/// is an error naming the JSON path and the value, raised before anything exists on the host.
enum Planner {
    /// CLONE_NEW* per namespace type (corral.h's `enum corral_clone_flag`).
    static let namespaceFlags: [NamespaceType: UInt64] = [
        .pid: kernelConstant(CORRAL_CLONE_NEWPID), .network: kernelConstant(CORRAL_CLONE_NEWNET),
        .mount: kernelConstant(CORRAL_CLONE_NEWNS), .ipc: kernelConstant(CORRAL_CLONE_NEWIPC),
        .uts: kernelConstant(CORRAL_CLONE_NEWUTS), .user: kernelConstant(CORRAL_CLONE_NEWUSER),
        .cgroup: kernelConstant(CORRAL_CLONE_NEWCGROUP), .time: kernelConstant(CORRAL_CLONE_NEWTIME),
    ]
    static let cloneNewUser = kernelConstant(CORRAL_CLONE_NEWUSER)
    static let cloneNewTime = kernelConstant(CORRAL_CLONE_NEWTIME)

    /// `warn` gets problems the spec says to warn about (unknown capabilities); `note` gets debug-level facts
    /// (stdout/stderr are the container's own during create and run, so only real problems go there).
    static func plan(_ spec: Spec, options: PlanOptions, warn: (String) -> Void, note: (String) -> Void = { _ in }) throws(RuntimeError) -> LaunchPlan {
        var plan = LaunchPlan()
        try checkBounds(spec)
        try planRoot(spec, options, &plan)
        try planNamespaces(spec, &plan)
        try planProcess(spec, options, &plan, warn: warn, note: note)
        // Where the container's cgroups go and what is written there (validated, nothing created yet): the
        // `type: cgroup` mount binds these very directories.
        let cgroups = try CgroupPlan.make(spec, id: options.id, host: options.cgroupHost ?? CgroupHost.detect(),
                                          systemd: options.systemdCgroup)
        plan.host.cgroups = cgroups
        try planFilesystem(spec, options, cgroups, &plan, note: note)
        try LSM.plan(spec, &plan)
        plan.personality = try personality(spec.linux?.personality)
        plan.memoryPolicy = try MemoryPolicyPlanner.plan(spec.linux?.memoryPolicy)
        plan.hooks = try HookPlan.plan(spec.hooks)
        plan.host.netDevices = try planNetDevices(spec)
        if let s = plan.scheduler, s.isDeadline, s.flags & SchedulingPlanner.resetOnFork == 0,
           !plan.hooks[.startContainer].isEmpty {
            throw RuntimeError(.config, "process.scheduler.policy: SCHED_DEADLINE without SCHED_FLAG_RESET_ON_FORK cannot run startContainer hooks (a SCHED_DEADLINE process cannot fork)")
        }
        try planUnsupported(spec)
        plan.landlock = try LandlockPlanner.plan(spec.annotations, noNewPrivileges: plan.noNewPrivileges, note: note)
        // Last: the only expensive step (libseccomp, unless cached) runs once everything else is known to be valid.
        plan.seccomp = try SeccompPlanner.plan(spec.linux?.seccomp, cacheDir: options.seccompCacheDir, note: note)
        return plan
    }

    // MARK: bounds

    /// Lists that cost the kernel a mount (or a device node) per entry: 20,000 read-only paths take the kernel
    /// ~40 s. No real container comes near these bounds; a hostile config fails at once instead.
    static let maxMountEntries = 4096
    /// The kernel's own limit on the lines of uid_map / gid_map (UID_GID_MAP_MAX_EXTENTS).
    static let maxIDMappings = 340

    private static func checkBounds(_ spec: Spec) throws(RuntimeError) {
        let l = spec.linux
        let lists: [(String, Int, Int)] = [
            ("mounts", spec.mounts?.count ?? 0, maxMountEntries),
            ("linux.maskedPaths", l?.maskedPaths?.count ?? 0, maxMountEntries),
            ("linux.readonlyPaths", l?.readonlyPaths?.count ?? 0, maxMountEntries),
            ("linux.devices", l?.devices?.count ?? 0, maxMountEntries),
            ("linux.uidMappings", l?.uidMappings?.count ?? 0, maxIDMappings),
            ("linux.gidMappings", l?.gidMappings?.count ?? 0, maxIDMappings),
        ]
        for (field, count, limit) in lists where count > limit {
            throw RuntimeError(.config, "\(field): too many entries: \(count) (at most \(limit))")
        }
    }

    // MARK: root

    private static func planRoot(_ spec: Spec, _ o: PlanOptions, _ plan: inout LaunchPlan) throws(RuntimeError) {
        guard let root = spec.root else { throw RuntimeError(.config, "root: required field is missing") }
        let path = root.path.hasBytePrefix("/") ? Files.clean(root.path) : Files.clean(o.bundle + "/" + root.path)
        var st = stat()
        if stat(path, &st) != 0 {
            throw RuntimeError(.config, "invalid rootfs: stat \(path): \(errnoText(errno))")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            throw RuntimeError(.config, "invalid rootfs: \(path) is not a directory")
        }
        plan.rootfs = path
        plan.readonlyRoot = root.readonly ?? false
        plan.noPivot = o.noPivot
    }

    // MARK: namespaces

    private static func planNamespaces(_ spec: Spec, _ plan: inout LaunchPlan) throws(RuntimeError) {
        let linux = spec.linux
        var newFlags: UInt64 = 0
        var present: Set<NamespaceType> = []
        for ns in linux?.namespaces ?? [] {
            let flag = namespaceFlags[ns.type]!
            present.insert(ns.type)
            if let path = ns.path, !path.isEmpty {
                plan.joins.append(NamespaceJoin(path: path, flag: flag, type: ns.type.rawValue))
            } else {
                newFlags |= flag
            }
        }
        // The user namespace is joined first so that the others are entered with its credentials.
        plan.joins.sort { a, b in a.flag == cloneNewUser && b.flag != cloneNewUser }
        plan.newNamespaces = newFlags
        plan.newUserNS = newFlags & cloneNewUser != 0
        plan.mustFork = !plan.joins.isEmpty || newFlags & cloneNewTime != 0
        // A new cgroup namespace is always unshared by the child after it has been placed in its cgroups, so that
        // the namespace's root is the container's cgroup.
        let cgroupNS = namespaceFlags[.cgroup]!
        if plan.mustFork { plan.unshareFlags = newFlags } else {
            plan.cloneFlags = newFlags & ~cgroupNS
            plan.unshareFlags = newFlags & cgroupNS
        }
        plan.mountNS = present.contains(.mount)
        if !plan.mountNS {
            throw RuntimeError(.config, "linux.namespaces: a mount namespace is required")
        }

        let uidMaps = linux?.uidMappings ?? [], gidMaps = linux?.gidMappings ?? []
        if plan.newUserNS {
            if uidMaps.isEmpty { throw RuntimeError(.config, "linux.uidMappings: required with a new user namespace") }
            if gidMaps.isEmpty { throw RuntimeError(.config, "linux.gidMappings: required with a new user namespace") }
        } else if !uidMaps.isEmpty || !gidMaps.isEmpty {
            let field = uidMaps.isEmpty ? "linux.gidMappings" : "linux.uidMappings"
            let why = present.contains(.user) ? "cannot be set when joining an existing user namespace"
                : "id mappings need a new user namespace"
            throw RuntimeError(.config, "\(field): \(why)")
        }
        for (field, maps) in [("linux.uidMappings", uidMaps), ("linux.gidMappings", gidMaps)] {
            for (i, m) in maps.enumerated() { try checkIDRange(m, field: "\(field)[\(i)]") }
        }
        plan.host.uidMappings = uidMaps.map { ($0.containerID, $0.hostID, $0.size) }
        plan.host.gidMappings = gidMaps.map { ($0.containerID, $0.hostID, $0.size) }

        if let host = spec.hostname, !host.isEmpty {
            if !present.contains(.uts) { throw RuntimeError(.config, "hostname: unable to set hostname without a private UTS namespace") }
            plan.hostname = host
        }
        if let dom = spec.domainname, !dom.isEmpty {
            if !present.contains(.uts) { throw RuntimeError(.config, "domainname: unable to set domainname without a private UTS namespace") }
            plan.domainname = dom
        }
        if let offsets = linux?.timeOffsets, !offsets.isEmpty {
            if newFlags & cloneNewTime == 0 {
                throw RuntimeError(.config, "linux.timeOffsets: time offsets need a new time namespace")
            }
            let mono = offsets["monotonic"], boot = offsets["boottime"]
            plan.timeOffsets = [mono?.secs ?? 0, Int64(mono?.nanosecs ?? 0), boot?.secs ?? 0, Int64(boot?.nanosecs ?? 0)]
        }

        if let sysctl = linux?.sysctl {
            for key in sysctl.keys.sorted() {
                // Keys come as "net.ipv4.ip_forward" or "net/ipv4/ip_forward"; with slashes, dots are part of a name
                // (an interface "eth0.1"), so the path keeps them.
                let dotted = key.contains("/") ? String(key.map { $0 == "/" ? "." : $0 }) : key
                let ns = try checkSysctl(dotted, present: present)
                plan.sysctl.append(SysctlOp(path: key.contains("/") ? key : key.replacingDots(), value: sysctl[key]!,
                                            name: dotted, namespace: namespaceFlags[ns]!))
            }
        }
    }

    /// The largest uid or gid a container may use: runc's range (user.maxID). 4294967295 is (uid_t)-1, which
    /// set*id(2) reads as "leave unchanged" (a process meant to run as it would stay root); from 2^31 up, tools
    /// that treat ids as signed see negative ones.
    static let maxID: UInt32 = 2_147_483_647
    static let idRangeText = "uids and gids must be in range 0-2147483647"

    static func checkID(_ id: UInt32, field: String) throws(RuntimeError) {
        if id > maxID { throw RuntimeError(.config, "\(field): \(idRangeText) (got \(id))") }
    }

    /// The largest id an id mapping may cover, inside or outside: 4294967295 is (uid_t)-1, which the kernel never
    /// maps. A map is not a process identity, so the full range "0 0 4294967295" is valid (crun and runc take it);
    /// `maxID` applies to the ids a process runs as.
    static let maxMappedID: UInt64 = 4_294_967_294
    static let mapRangeText = "an id mapping must cover ids in range 0-4294967294"

    /// Both ends of an id mapping, inside and outside, must be ids the kernel maps, and the range must not be empty.
    static func checkIDRange(_ m: IDMapping, field: String) throws(RuntimeError) {
        if m.size == 0 { throw RuntimeError(.config, "\(field).size: must be at least 1") }
        for (name, start) in [("containerID", m.containerID), ("hostID", m.hostID)] {
            let last = UInt64(start) + UInt64(m.size) - 1   // 64-bit: cannot overflow
            if last > maxMappedID {
                throw RuntimeError(.config, "\(field).\(name): \(mapRangeText) (got \(start)..\(last))")
            }
        }
    }

    /// Only sysctls that belong to a namespace the container owns may be set: runc's rule and runc's texts.
    /// `key` is in dotted form (slash-separated keys are converted before). Returns the namespace type the key
    /// belongs to; whether a namespace joined by path is the host's is checked by the child, on the namespace it
    /// is actually in (`SysctlOp.namespace`).
    private static func checkSysctl(_ key: String, present: Set<NamespaceType>) throws(RuntimeError) -> NamespaceType {
        let ipc = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                   "kernel.shmmni", "kernel.shm_rmid_forced"]
        if ipc.contains(key) || key.hasBytePrefix("fs.mqueue.") {
            if present.contains(.ipc) { return .ipc }
            throw RuntimeError(.config, "linux.sysctl: sysctl \"\(key)\" is not allowed in the hosts ipc namespace")
        }
        if key.hasBytePrefix("net.") {
            if present.contains(.network) { return .network }
            throw RuntimeError(.config, "linux.sysctl: sysctl \"\(key)\" not allowed in host network namespace")
        }
        if present.contains(.uts) {
            if key == "kernel.domainname" { return .uts }
            if key == "kernel.hostname" {
                throw RuntimeError(.config, "linux.sysctl: sysctl \"\(key)\" is not allowed as it conflicts with the OCI \"hostname\" field")
            }
        }
        throw RuntimeError(.config, "linux.sysctl: sysctl \"\(key)\" is not in a separate kernel namespace")
    }

    // MARK: process

    private static func planProcess(_ spec: Spec, _ o: PlanOptions, _ plan: inout LaunchPlan, warn: (String) -> Void,
                                    note: (String) -> Void) throws(RuntimeError) {
        guard let process = spec.process else { throw RuntimeError(.config, "process: required field is missing") }
        guard let args = process.args, !args.isEmpty, !args[0].isEmpty else {
            throw RuntimeError(.config, "process.args: args must not be empty")
        }
        plan.args = args
        plan.terminal = process.terminal ?? false
        if plan.terminal && !o.hasConsoleSocket && !o.terminalRelay {
            throw RuntimeError(.config, "process.terminal: cannot allocate tty if \(o.programName) will detach without setting console socket")
        }
        if !plan.terminal && o.hasConsoleSocket {
            throw RuntimeError(.config, "process.terminal: cannot use console socket if \(o.programName) will not allocate tty")
        }
        try planProcessAttributes(process, accountsRoot: plan.rootfs, &plan, warn: warn, note: note)
        plan.host.oomScoreAdj = process.oomScoreAdj
        if let adj = process.oomScoreAdj, adj < -1000 || adj > 1000 {
            throw RuntimeError(.config, "process.oomScoreAdj: \(adj) is outside -1000..1000")
        }
        plan.keyringName = o.noNewKeyring ? nil : "_ses.\(o.id)"
        plan.preserveFDs = o.listenFDs + o.preserveFDs
        if o.listenFDs > 0 { plan.env += ["LISTEN_FDS=" + o.listenFDs.decimal, "LISTEN_PID=1"] }
        // The spec exempts the container's init from execCPUAffinity: validated above, it is the default of the
        // processes `exec` starts (runc's rule).
        plan.cpuAffinity = nil
    }

    /// The process attributes `create` and `exec` plan alike: cwd, user, umask, console size, rlimits, the five
    /// capability sets, no_new_privs, scheduler, I/O priority and CPU affinity, and the supplementary groups and
    /// HOME from the image's /etc/passwd and /etc/group, read below `accountsRoot` (the rootfs at create, the
    /// init's /proc/<pid>/root at exec).
    static func planProcessAttributes(_ process: Process, accountsRoot: String, _ plan: inout LaunchPlan,
                                      warn: (String) -> Void, note: (String) -> Void) throws(RuntimeError) {
        plan.cwd = Files.clean(process.cwd)
        try checkID(process.user.uid, field: "process.user.uid")
        try checkID(process.user.gid, field: "process.user.gid")
        for (i, g) in (process.user.additionalGids ?? []).enumerated() {
            try checkID(g, field: "process.user.additionalGids[\(i)]")
        }
        plan.uid = process.user.uid
        plan.gid = process.user.gid
        plan.umask = process.user.umask.map { Int32($0 & 0o777) } ?? -1
        if let size = process.consoleSize { plan.consoleSize = (UInt16(clamping: size.height), UInt16(clamping: size.width)) }
        for r in process.rlimits ?? [] {
            if r.soft > r.hard {
                throw RuntimeError(.config, "process.rlimits: \(r.type.rawValue): soft limit \(r.soft) is above the hard limit \(r.hard)")
            }
            plan.rlimits.append((r.type.resource, r.soft, r.hard))
        }
        // No capabilities member means no capabilities at all (runc applies empty sets too).
        let caps = process.capabilities ?? Capabilities()
        let last = CapabilityNames.lastCap
        var sets = try CapabilityNames.sets(caps, lastCap: last, warn: warn)
        // The kernel raises an ambient capability only if it is permitted and inheritable; runc leaves the
        // others out (runc spec's own default lists ambient caps it cannot raise). Decide it here, not in
        // the child, and say so at debug level.
        let raisable = sets.ambient & sets.permitted & sets.inheritable
        if raisable != sets.ambient {
            let dropped = (0..<64).filter { sets.ambient & ~raisable & (1 << UInt64($0)) != 0 }
                .map { CapabilityNames.name($0) }
            note("process.capabilities.ambient: cannot raise \(dropped.joined(separator: ", ")): not in both the permitted and inheritable sets")
            sets.ambient = raisable
        }
        plan.capabilities = sets
        plan.noNewPrivileges = process.noNewPrivileges ?? false
        plan.scheduler = try SchedulingPlanner.scheduler(process.scheduler)
        plan.ioPriority = try SchedulingPlanner.ioPriority(process.ioPriority)
        plan.cpuAffinity = try SchedulingPlanner.cpuAffinity(process.execCPUAffinity)

        // The supplementary groups are additionalGids exactly: engines resolve the image's /etc/group into it
        // (containerd, CRI), and adding memberships they left out would defeat Kubernetes'
        // supplementalGroupsPolicy: Strict. runc does the same (its user is always "uid:gid").
        plan.groups = process.user.additionalGids ?? []
        var env = try environment(process.env ?? [])
        // An empty HOME (the last of its entries) counts as none: runc's prepareEnv drops it for the passwd home.
        env.removeAll { $0 == "HOME=" }
        if !env.contains(where: { $0.hasBytePrefix("HOME=") }) {
            // runc looks the user up in the container's /etc/passwd for HOME when the config has none.
            env.append("HOME=" + ContainerAccounts.home(rootfs: accountsRoot, uid: plan.uid))
        }
        plan.env = env
    }

    /// process.env as the process gets it (runc's prepareEnv): every entry must be NAME=value with a non-empty
    /// name, and of several entries for one name the last wins, in its own position.
    static func environment(_ env: [String]) throws(RuntimeError) -> [String] {
        var seen = Set<[UInt8]>()   // names as bytes: no Unicode-aware comparison on the create path
        var out: [String] = []
        out.reserveCapacity(env.count)
        for i in env.indices.reversed() {
            let kv = env[i]
            guard let eq = kv.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw RuntimeError(.config, "process.env[\(i)]: invalid environment variable: missing '='")
            }
            if eq == kv.startIndex {
                throw RuntimeError(.config, "process.env[\(i)]: invalid environment variable: name cannot be empty")
            }
            if kv.utf8.contains(0) {
                throw RuntimeError(.config, "process.env[\(i)]: invalid environment variable: contains a NUL byte")
            }
            if seen.insert(Array(kv.utf8[..<eq])).inserted { out.append(kv) }
        }
        out.reverse()
        return out
    }

    // MARK: filesystem

    private static func planFilesystem(_ spec: Spec, _ o: PlanOptions, _ cgroups: CgroupPlan,
                                       _ plan: inout LaunchPlan, note: (String) -> Void) throws(RuntimeError) {
        if let prop = spec.linux?.rootfsPropagation {
            let (flag, rec): (UInt64, Bool) = switch prop {
            case .shared: (Propagation.shared, false)
            case .rshared: (Propagation.shared, true)
            case .slave: (Propagation.slave, false)
            case .rslave: (Propagation.slave, true)
            case .private: (Propagation.private, false)
            case .rprivate: (Propagation.private, true)
            case .unbindable: (Propagation.unbindable, false)
            case .runbindable: (Propagation.unbindable, true)
            }
            let wanted = flag | (rec ? Propagation.rec : 0)
            if flag == Propagation.unbindable {
                // An unbindable "/" could not be bound onto itself for pivot_root (EINVAL): the setup runs with the
                // default propagation and the new root is made unbindable after pivot_root, as crun does.
                plan.rootPropagationAfter = wanted
            } else {
                plan.rootPropagation = wanted
                if flag == Propagation.shared { plan.rootPropagationAfter = wanted }
            }
        }
        var devIsBind = false
        for (i, m) in (spec.mounts ?? []).enumerated() {
            let userNS = plan.newUserNS ? (uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? []) : nil
            let ops = try MountPlanner.plan(m, index: i, bundle: o.bundle, rootfs: plan.rootfs, cgroups: cgroups,
                                            userNS: userNS, cgroupNS: plan.newNamespaces & namespaceFlags[.cgroup]! != 0,
                                            note: note)
            if Files.clean(m.destination) == "/dev", ops.contains(where: { $0.kind == .bind }) { devIsBind = true }
            plan.mounts += ops
        }
        if !devIsBind {
            let inUserNS = plan.newUserNS || plan.joins.contains { $0.flag == cloneNewUser }
            plan.devices = try DevicePlanner.devices(spec.linux?.devices ?? [], inUserNS: inUserNS, note: note)
            plan.mounts += DevicePlanner.symlinks()
        } else if let devs = spec.linux?.devices, !devs.isEmpty {
            throw RuntimeError(.config, "linux.devices: cannot create devices when /dev is a bind mount")
        }
        plan.hasProcMount = plan.mounts.contains { $0.dest == "/proc" && ($0.fstype == "proc" || $0.kind == .bind) }
        // A path listed twice is masked (or made read-only) once: runc's bats "mask paths [duplicate paths]".
        plan.maskedPaths = uniquePaths(spec.linux?.maskedPaths ?? [])
        plan.readonlyPaths = uniquePaths(spec.linux?.readonlyPaths ?? [])
        // runc creates a missing working directory inside the rootfs.
        plan.mounts.append(MountOp(kind: .mkdir, dest: plan.cwd, label: "cwd", configIndex: -1))
    }

    /// The paths in order, each once: "/a", "/a/" and "/a/./" name the same one.
    static func uniquePaths(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        return paths.filter { seen.insert(Files.clean($0)).inserted }
    }

    // MARK: network devices

    /// linux.netDevices: host interfaces moved into the container's network namespace, a new one or one joined by
    /// path as runc main allows (NetDevices.move refuses a path that is the host's own namespace); without a
    /// network namespace they are refused, as runc does. Names as the kernel takes them: at most 15 bytes, not "."
    /// or "..", no "/", ":" or whitespace.
    static func planNetDevices(_ spec: Spec) throws(RuntimeError) -> [(host: String, name: String)] {
        guard let devices = spec.linux?.netDevices, !devices.isEmpty else { return [] }
        guard spec.linux?.namespaces?.contains(where: { $0.type == .network }) ?? false else {
            throw RuntimeError(.config, "linux.netDevices: moving network devices needs a network namespace")
        }
        func valid(_ n: String) -> Bool {
            !n.isEmpty && n.utf8.count <= 15 && n != "." && n != ".." &&
                !n.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7f }
        }
        var out: [(host: String, name: String)] = []
        var names = Set<String>()
        for host in devices.keys.sorted() {
            let field = "linux.netDevices[" + JSONValue.quoted(host) + "]"
            if !valid(host) { throw RuntimeError(.config, "\(field): invalid network device name") }
            let name = devices[host]?.name.flatMap { $0.isEmpty ? nil : $0 } ?? host
            if !valid(name) { throw RuntimeError(.config, "\(field).name: invalid network device name \(JSONValue.quoted(name))") }
            if !names.insert(name).inserted {
                throw RuntimeError(.config, "\(field).name: \(JSONValue.quoted(name)) is given to two devices")
            }
            out.append((host, name))
        }
        return out
    }

    // MARK: personality

    /// The flag names of linux.personality.flags: the kernel's (uapi/linux/personality.h). The spec defines none
    /// yet ("currently no flag values are supported"); runc ignores the list with a warning and crun ignores it.
    /// corral applies them rather than ignore a field: a process may set any of them itself with personality(2)
    /// unless its seccomp profile says no (Docker's allows only UNAME26 of these), and the kernel clears the
    /// address-space ones (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT) when an
    /// execve gains privileges.
    static let personalityFlags: [(name: String, bit: Int32)] = [
        ("UNAME26", 0x0020000), ("ADDR_NO_RANDOMIZE", 0x0040000), ("FDPIC_FUNCPTRS", 0x0080000),
        ("MMAP_PAGE_ZERO", 0x0100000), ("ADDR_COMPAT_LAYOUT", 0x0200000), ("READ_IMPLIES_EXEC", 0x0400000),
        ("ADDR_LIMIT_32BIT", 0x0800000), ("SHORT_INODE", 0x1000000), ("WHOLE_SECONDS", 0x2000000),
        ("STICKY_TIMEOUTS", 0x4000000), ("ADDR_LIMIT_3GB", 0x8000000),
    ]

    /// linux.personality as personality(2)'s persona: PER_LINUX (0) or PER_LINUX32 (8), ORed with the flags.
    static func personality(_ p: Personality?) throws(RuntimeError) -> Int32? {
        guard let p else { return nil }
        var persona: Int32 = p.domain == .LINUX32 ? 0x0008 : 0x0000
        for (i, f) in (p.flags ?? []).enumerated() {
            guard let bit = personalityFlags.first(where: { $0.name == f })?.bit else {
                throw RuntimeError(.unsupported, "linux.personality.flags[\(i)]: unsupported value \(JSONValue.quoted(f)) (supported: \(personalityFlags.map(\.name).joined(separator: ", ")))")
            }
            persona |= bit
        }
        return persona
    }

    // MARK: not yet implemented

    /// Fields this version cannot honour yet are refused, never ignored.
    private static func planUnsupported(_ spec: Spec) throws(RuntimeError) {
        func refuse(_ path: String) -> RuntimeError {
            RuntimeError(.unsupported, "\(path): not supported by this version of corral")
        }
        let l = spec.linux
        if l?.intelRdt != nil { throw refuse("linux.intelRdt") }
    }
}

extension String {
    /// sysctl names use dots; their /proc/sys paths use slashes.
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
