import CCorral
import CorralSpec
import Glibc

/// The plan as the C executor reads it (`struct corral_plan`): every field copied into memory `arena` keeps alive
/// until the launch is over, with the fds the child gets (`ChildFDs`). Nothing of `host` is copied (cgroups, id
/// maps, network devices, the OOM score: the parent's work); of the hooks only startContainer's, which the init
/// runs, and of seccomp only the filter (its listener's path is the parent's, see `HandshakeHost`).
extension LaunchPlan {
    func cPlan(_ fds: ChildFDs, arena: PlanArena) -> corral_plan {
        var c = corral_plan()
        c.clone_flags = cloneFlags
        c.unshare_flags = unshareFlags
        c.must_fork = mustFork ? 1 : 0
        c.joins = arena.copy(fds.joins)
        c.njoins = Int32(fds.joins.count)
        c.join_pidfd = fds.initPidFD
        c.join_pidfd_flags = enterFlags
        c.pid_ns_in_parent = pidNamespaceInParent ? 1 : 0
        c.new_userns = newUserNS ? 1 : 0
        c.loopback_up = newNamespaces & Planner.namespaceFlags[.network]! != 0 ? 1 : 0
        c.sync_fd = fds.childEnd
        let tasks = fds.cgroups?.tasksFDs ?? []
        c.cgroup_tasks_fds = tasks.isEmpty ? nil : arena.copy(tasks)
        c.ncgroup_tasks = Int32(tasks.count)
        c.cgroup_dir_fd = fds.cgroups?.v2FD ?? -1
        c.exec_fifo_fd = fds.fifo
        c.fifo_via_host_proc = hasProcMount ? 0 : 1
        c.console_socket_fd = fds.console
        c.terminal = terminal ? 1 : 0
        c.console_rows = consoleSize.rows
        c.console_cols = consoleSize.cols
        c.timens_offsets = timeOffsets.map { arena.copy($0) }
        c.pdeathsig = SIGKILL
        c.keyring_name = arena.string(keyringName)
        c.hostname = arena.string(hostname)
        c.domainname = arena.string(domainname)
        c.rootfs = arena.string(rootfs)
        c.new_mountns = mountNS ? 1 : 0
        c.root_propagation = rootPropagation
        c.root_propagation_after = rootPropagationAfter
        c.mounts = arena.copy(mounts.enumerated().map { (i, m) in
            var cm = corral_mount()
            cm.kind = m.kind.rawValue
            cm.recursive = m.recursive ? 1 : 0
            cm.dest_is_file = m.destIsFile ? 1 : 0
            cm.propagation_recursive = m.propagationRecursive ? 1 : 0
            cm.source = arena.string(m.source)
            cm.fstype = arena.string(m.fstype)
            cm.dest = arena.string(m.dest)
            cm.data = m.data.isEmpty ? nil : arena.strings(m.data)
            cm.attr_set = m.attrSet
            cm.attr_clr = m.attrClr
            cm.rattr_set = m.rattrSet
            cm.rattr_clr = m.rattrClr
            cm.propagation = m.propagation
            cm.mode = m.mode
            cm.source_fd = fds.sources[i] ?? -1
            cm.source_fd_only = m.idmap != nil ? 1 : 0
            cm.source_in_root = m.sourceInRoot ? 1 : 0
            cm.ms_cleared = m.msCleared
            cm.ms_atime = m.msAtime
            cm.allow_on_proc = m.allowOnProc ? 1 : 0
            cm.copy_up = m.copyUp ? 1 : 0
            cm.deferred = m.deferred ? 1 : 0
            cm.label = arena.string(m.label)
            cm.config_index = Int32(m.configIndex)
            return cm
        })
        c.nmounts = Int32(mounts.count)
        c.devices = arena.copy(devices.map { d in
            corral_device(path: arena.string(d.path), mode: d.mode, major: d.major, minor: d.minor, uid: d.uid,
                          gid: d.gid, bind_from_host: d.bindFromHost ? 1 : 0)
        })
        c.ndevices = Int32(devices.count)
        c.no_pivot = noPivot ? 1 : 0
        c.readonly_root = readonlyRoot ? 1 : 0
        c.sysctl_keys = arena.strings(sysctl.map { $0.path })
        c.sysctl_values = arena.strings(sysctl.map { $0.value })
        c.sysctl_nstypes = arena.copy(sysctl.map { $0.namespace })
        c.nsysctl = Int32(sysctl.count)
        if !sysctl.isEmpty { c.host_ns_ino = LaunchPlan.hostNamespaceInodes() }
        c.masked_paths = arena.strings(maskedPaths)
        c.nmasked = Int32(maskedPaths.count)
        c.readonly_paths = arena.strings(readonlyPaths)
        c.nreadonly = Int32(readonlyPaths.count)
        c.cwd = arena.string(cwd)
        c.rlimits = arena.copy(rlimits.map { corral_rlimit(resource: $0.0, soft: $0.1, hard: $0.2) })
        c.nrlimits = Int32(rlimits.count)
        c.uid = uid
        c.gid = gid
        c.groups = arena.copy(groups)
        c.ngroups = Int32(groups.count)
        c.set_groups = setGroups ? 1 : 0
        c.umask = umask
        c.cap_bounding = capabilities.bounding
        c.cap_effective = capabilities.effective
        c.cap_inheritable = capabilities.inheritable
        c.cap_permitted = capabilities.permitted
        c.cap_ambient = capabilities.ambient
        c.last_cap = Int32(CapabilityNames.lastCap)
        c.no_new_privs = noNewPrivileges ? 1 : 0
        if let sc = seccomp {
            c.seccomp_filter = UnsafeRawPointer(arena.copy(sc.filter))
            c.seccomp_len = UInt32(sc.filter.count / 8)   // struct sock_filter is 8 bytes
            c.seccomp_flags = sc.flags
        }
        c.preserve_fds = Int32(preserveFDs)
        c.argv = arena.strings(args)
        c.envp = arena.strings(env)
        let path = env.last(where: { $0.hasBytePrefix("PATH=") }).map { String($0.dropFirst(5)) }
        c.path_env = arena.string(path)
        c.personality = personality ?? -1
        if let s = scheduler {
            c.set_scheduler = 1
            c.scheduler = corral_sched(policy: s.policy, flags: s.flags, nice: s.nice, priority: s.priority,
                                       runtime: s.runtime, deadline: s.deadline, period: s.period)
        }
        c.ioprio = ioPriority?.value ?? -1
        if let a = cpuAffinity {
            if !a.initial.isEmpty { c.cpus_initial = arena.copy(a.initial); c.ncpus_initial = Int32(a.initial.count) }
            if !a.final.isEmpty { c.cpus_final = arena.copy(a.final); c.ncpus_final = Int32(a.final.count) }
        }
        if let m = memoryPolicy {
            c.set_mempolicy = 1
            c.mempolicy_mode = m.mode
            if !m.nodes.isEmpty { c.mempolicy_nodes = arena.copy(m.nodes); c.nmempolicy_words = Int32(m.nodes.count) }
        }
        c.apparmor_exec = arena.string(appArmorExec)
        c.selinux_exec = arena.string(seLinuxExec)
        c.hooks_sync = hooks.runsBeforePivot ? 1 : 0
        // startContainer hooks without `env` get the container process's environment, as runc's init gives them
        // (runc 1.2+); the hooks the runtime runs on the host inherit the runtime's.
        let processEnv = c.envp
        c.start_hooks = arena.copy(hooks[.startContainer].map { h in
            corral_hook(path: arena.string(h.path), argv: arena.strings(h.argv), envp: h.env.map { arena.strings($0) } ?? processEnv,
                        timeout: Int32(clamping: h.timeout ?? 0))
        })
        c.nstart_hooks = Int32(hooks[.startContainer].count)
        if let l = landlock, l.enforced {
            c.landlock = 1
            c.landlock_fs = l.handledFS
            c.landlock_net = l.handledNet
            c.landlock_scoped = l.scoped
            c.landlock_paths = arena.copy(l.paths.map { corral_landlock_path(path: arena.string($0.path), access: $0.access) })
            c.nlandlock_paths = Int32(l.paths.count)
            c.landlock_ports = arena.copy(l.ports.map { corral_landlock_port(port: UInt64($0.port), access: $0.access) })
            c.nlandlock_ports = Int32(l.ports.count)
        }
        var me = stat()
        if stat("/proc/self/exe", &me) == 0 {
            c.self_dev = UInt64(me.st_dev)
            c.self_ino = UInt64(me.st_ino)
        }
        return c
    }

    /// Inodes of the host's network, ipc and uts namespaces, as the runtime and pid 1 see them (0 where
    /// unreadable), for the child's sysctl check.
    static func hostNamespaceInodes() -> ((UInt64, UInt64), (UInt64, UInt64), (UInt64, UInt64)) {
        func ino(_ who: String, _ ns: String) -> UInt64 {
            var st = stat()
            return stat("/proc/\(who)/ns/\(ns)", &st) == 0 ? UInt64(st.st_ino) : 0
        }
        return ((ino("self", "net"), ino("1", "net")), (ino("self", "ipc"), ino("1", "ipc")),
                (ino("self", "uts"), ino("1", "uts")))
    }
}
