import CorralSpec
import Glibc

/// The command-line process flags of `exec` (used only without --process, as in runc 1.1).
struct ExecFlags {
    var cwd: String? = nil
    var env: [String] = []
    /// --tty; without it the process gets no terminal, whatever the container's config says (runc).
    var tty = false
    var user: String? = nil
    var additionalGids: [String] = []
    var processLabel: String? = nil
    var apparmor: String? = nil
    /// --no-new-privs when given; nil keeps the config's value.
    var noNewPrivs: Bool? = nil
    var caps: [String] = []
}

/// What the planner needs to know about the running container, read from /proc after its init's pidfd was
/// verified (see `Exec`).
struct ExecTarget {
    /// CLONE_NEW* types entered through the init's pidfd: the types of the container's config.
    var enterFlags: UInt64
    /// Where the image's /etc/passwd and /etc/group are read: the init's root, /proc/<pid>/root, so the lookup sees
    /// what the container sees (bind mounts over /etc included), resolved inside it.
    var accountsRoot: String
    /// False in a user namespace whose setgroups(2) is denied.
    var setGroupsAllowed: Bool
}

/// Plans `exec`: a process that enters a running (or created) container. The process comes from --process or from
/// the container's saved config.json with runc's flag overrides; namespaces, seccomp, LSM defaults and rlimit
/// defaults come from that saved config. No rootfs work at all: the container's mount namespace is joined as is.
enum ExecPlanner {
    /// runc's `getProcess` for the flag form: the config's process with args from the command line and the flags
    /// applied, in runc's order and with its error texts.
    static func processFromFlags(_ config: Spec, args: [String], flags f: ExecFlags) throws(RuntimeError) -> Process {
        guard var p = config.process else { throw RuntimeError(.config, "process: required field is missing") }
        p.args = args
        if let cwd = f.cwd, !cwd.isEmpty { p.cwd = cwd }
        if let ap = f.apparmor, !ap.isEmpty { p.apparmorProfile = ap }
        if let label = f.processLabel, !label.isEmpty { p.selinuxLabel = label }
        if !f.caps.isEmpty {
            // runc adds each --cap to the bounding, effective, permitted and ambient sets.
            var c = p.capabilities ?? Capabilities()
            c.bounding = (c.bounding ?? []) + f.caps
            c.effective = (c.effective ?? []) + f.caps
            c.permitted = (c.permitted ?? []) + f.caps
            c.ambient = (c.ambient ?? []) + f.caps
            p.capabilities = c
        }
        p.env = (p.env ?? []) + f.env
        p.terminal = f.tty
        if let nnp = f.noNewPrivs { p.noNewPrivileges = nnp }
        if let user = f.user, !user.isEmpty {
            let parts = user.splitASCII(":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count > 1 { p.user.gid = try atoi(parts[1], what: "gid") }
            p.user.uid = try atoi(parts[0], what: "uid")
        }
        for g in f.additionalGids {
            guard let v = Int64(g) else {
                throw RuntimeError(.usage, "invalid value \"\(g)\" for flag -additional-gids: parse error")
            }
            guard v >= 0, v <= Int64(UInt32.max) else {
                throw RuntimeError(.invalidArgument, "additional-gids must be a positive number \(v)")
            }
            p.user.additionalGids = (p.user.additionalGids ?? []) + [UInt32(v)]
        }
        return p
    }

    /// Go's strconv.Atoi as runc reports it for --user.
    private static func atoi(_ s: String, what: String) throws(RuntimeError) -> UInt32 {
        guard let v = Int64(s), let id = UInt32(exactly: v) else {
            let why = Int64(s) == nil ? "invalid syntax" : "value out of range"
            throw RuntimeError(.invalidArgument, "parsing \(s) as int for \(what) failed: strconv.Atoi: parsing \(JSONValue.quoted(s)): \(why)")
        }
        return id
    }

    /// runc's validateProcessSpec, for both forms (the decoder already requires an absolute cwd in a file).
    static func validate(_ p: Process) throws(RuntimeError) {
        if p.cwd.isEmpty { throw RuntimeError(.config, "Cwd property must not be empty") }
        if !p.cwd.hasBytePrefix("/") { throw RuntimeError(.config, "Cwd must be an absolute path") }
        guard let args = p.args, !args.isEmpty, !args[0].isEmpty else {
            throw RuntimeError(.config, "args must not be empty")
        }
    }

    /// runc's checkTerminal: a terminal needs a console socket when we detach, and a console socket is only used
    /// by a detached process with a terminal.
    /// `name` is the program's (`Context.programName`), as runc's texts name runc.
    static func checkTerminal(terminal: Bool, detach: Bool, consoleSocket: Bool, name: String = "corral") throws(RuntimeError) {
        if detach && terminal && !consoleSocket {
            throw RuntimeError(.usage, "cannot allocate tty if \(name) will detach without setting console socket")
        }
        if (!detach || !terminal) && consoleSocket {
            throw RuntimeError(.usage, "cannot use console socket if \(name) will not detach or allocate tty")
        }
    }

    /// The CLONE_NEW* flags of every namespace type in the container's config, new or joined by path: the init is
    /// in all of them, so entering its namespaces reaches each one.
    static func namespaceFlags(_ config: Spec) -> UInt64 {
        var flags: UInt64 = 0
        for ns in config.linux?.namespaces ?? [] { flags |= Planner.namespaceFlags[ns.type]! }
        return flags
    }

    /// The cgroups to place the process in: the container's, or sub-cgroups of them with `--cgroup
    /// [<controller>[,<controller>]:]<path>` (runc's rules; the path must stay below the container's cgroup). A
    /// controller co-mounted with others (cpu,cpuacct) moves with its whole hierarchy.
    static func cgroups(_ set: CgroupSet?, sub args: [String]) throws(RuntimeError) -> CgroupSet? {
        guard !args.isEmpty else { return set }
        guard let set, !set.isEmpty else {
            throw RuntimeError(.unsupported, "--cgroup: the container has no cgroups recorded")
        }
        var subs: [String: String] = [:]
        for a in args {
            let parts = a.splitASCII(":", omittingEmptySubsequences: false).map(String.init)
            if parts.count > 2 { throw RuntimeError(.invalidArgument, "invalid --cgroup argument: \(a)") }
            if parts.count == 1 {
                if args.count != 1 {
                    throw RuntimeError(.invalidArgument, "invalid --cgroup argument: \(a) (missing <controller>: prefix)")
                }
                subs[""] = a
            } else {
                for c in parts[0].splitASCII(",", omittingEmptySubsequences: false) {
                    if c.isEmpty { throw RuntimeError(.invalidArgument, "invalid --cgroup argument: \(a) (empty <controller> prefix)") }
                    subs[String(c)] = parts[1]
                }
            }
        }
        func below(_ base: String, _ sub: String) throws(RuntimeError) -> String {
            let joined = Files.clean(base + "/" + sub)
            guard joined == base || joined.hasBytePrefix(base + "/") else {
                // runc main says "bad sub cgroup path: ..", runc 1.1 "<sub> is not a sub cgroup path": both match this.
                throw RuntimeError(.invalidArgument, "bad sub cgroup path: \(sub) is not a sub cgroup path")
            }
            return joined
        }
        // Old directory → new one: every key of a hierarchy (co-mounted controllers) follows.
        var moved: [String: String] = [:]
        if let all = subs[""] {
            for p in set.paths { moved[p.dir] = try below(p.dir, all) }
        } else {
            for (ctrl, sub) in subs.sorted(by: { $0.key < $1.key }) {
                guard let base = set.paths.first(where: { $0.key == ctrl })?.dir else {
                    throw RuntimeError(.invalidArgument, "unknown controller \(ctrl) in --cgroup")
                }
                moved[base] = try below(base, sub)
            }
        }
        var out = CgroupSet()
        for p in set.paths { out.add(p.key, moved[p.dir] ?? p.dir) }
        return out
    }

    /// The launch plan. `process` is the exec'd process (validated); rlimits, AppArmor profile, SELinux label,
    /// scheduler, I/O priority and execCPUAffinity default to the container's when the process has none (runc's
    /// newInitConfig); seccomp, memory policy and personality are always the container's (runc applies both to
    /// exec'd processes since 1.2). The umask is the process's, else 0022; oom_score_adj is inherited, as with
    /// runc 1.1.
    static func plan(config: Spec, process: Process, target: ExecTarget, id: String, noNewKeyring: Bool,
                     preserveFDs: Int, seccompCacheDir: String?, warn: (String) -> Void,
                     note: (String) -> Void = { _ in }) throws(RuntimeError) -> LaunchPlan {
        try validate(process)
        var p = process
        let saved = config.process
        if (p.rlimits ?? []).isEmpty { p.rlimits = saved?.rlimits }
        if (p.apparmorProfile ?? "").isEmpty { p.apparmorProfile = saved?.apparmorProfile }
        if (p.selinuxLabel ?? "").isEmpty { p.selinuxLabel = saved?.selinuxLabel }
        if p.scheduler == nil { p.scheduler = saved?.scheduler }
        if p.ioPriority == nil { p.ioPriority = saved?.ioPriority }
        if p.execCPUAffinity == nil { p.execCPUAffinity = saved?.execCPUAffinity }

        var plan = LaunchPlan()
        // A joined pid or time namespace applies to children only. The pid namespace the parent enters for its
        // child around clone3; a time namespace (rare) still takes a second fork in the child.
        plan.enterFlags = target.enterFlags
        plan.mustFork = target.enterFlags & Planner.cloneNewTime != 0
        plan.pidNamespaceInParent = !plan.mustFork && target.enterFlags & Planner.namespaceFlags[.pid]! != 0
        plan.mountNS = false          // no rootfs work: the container's mount namespace is entered as it is
        plan.args = p.args ?? []
        plan.terminal = p.terminal ?? false
        try Planner.planProcessAttributes(p, accountsRoot: target.accountsRoot, &plan, warn: warn, note: note)
        plan.setGroups = target.setGroupsAllowed
        plan.memoryPolicy = try MemoryPolicyPlanner.plan(config.linux?.memoryPolicy)
        plan.personality = try Planner.personality(config.linux?.personality)
        plan.keyringName = noNewKeyring ? nil : "_ses.\(id)"
        plan.preserveFDs = preserveFDs
        var lsm = config
        lsm.process = p
        lsm.linux?.mountLabel = nil   // mounts are the init's; only the process labels matter here
        try LSM.plan(lsm, &plan)
        // The container's sandbox holds for every process in it: an exec'd one gets the same ruleset (a domain of its
        // own, so scopes also separate it from the init's).
        plan.landlock = try LandlockPlanner.plan(config.annotations, noNewPrivileges: plan.noNewPrivileges, note: note)
        plan.seccomp = try SeccompPlanner.plan(config.linux?.seccomp, cacheDir: seccompCacheDir, note: note)
        return plan
    }
}
