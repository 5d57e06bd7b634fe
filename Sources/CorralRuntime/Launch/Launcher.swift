import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// The parent side of starting a container process: opens what the child needs, clone3()s it through the C
/// executor, writes its id maps when asked, and waits until it is parked (READY) or reports a structured error.
/// On any failure the child is killed and reaped before the error is thrown, so nothing is left running.
enum Launcher {
    /// A container process that is set up and parked before execve (on exec.fifo when there is one).
    struct Launched {
        var pid: Int32
        var startTime: UInt64
    }

    struct Channels {
        /// O_PATH fd of exec.fifo, -1 for none.
        var fifoFD: Int32 = -1
        /// Connected console socket (or our own relay socket), -1 for none.
        var consoleSocketFD: Int32 = -1
        /// Places the first child (host pid) in the container's cgroups before it does any namespace work.
        var placeInCgroups: ((Int32) throws(RuntimeError) -> Void)? = nil
        /// Receives the seccomp notify listener fd (owned by the callee) and the init's host pid.
        var seccompListener: ((Int32, Int32) throws(RuntimeError) -> Void)? = nil
        /// Runs prestart, createRuntime and createContainer hooks (given the init's host pid) while the init waits
        /// before pivot_root.
        var createHooks: ((Int32) throws(RuntimeError) -> Void)? = nil
        /// The state fd for startContainer hooks (given the init's host pid), sent to the init with COMMIT and
        /// closed here.
        var startHookState: ((Int32) throws(RuntimeError) -> Int32)? = nil
        /// exec: verified pidfd of the container's init, whose namespaces (`plan.enterFlags`) the child enters.
        var initPidFD: Int32 = -1
    }

    static let messageTimeoutMS: Int32 = 60_000

    /// `commit` runs once the init is parked (READY): it records the container (state, pid file). Only when it
    /// returns does the init stop dying with us; when it throws, the init is killed and the error rethrown.
    static func launch(_ plan: LaunchPlan, channels: Channels, log: Logger,
                       commit: (Launched) throws(RuntimeError) -> Void) throws(RuntimeError) -> Launched {
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        // Our own fds must not sit in the range the container keeps (--preserve-fds); move them above it.
        let floor = Int32(3 + plan.preserveFDs)
        func high(_ fd: Int32) -> Int32 {
            guard fd < floor + 10 && plan.preserveFDs > 0 else { return fd }
            let n = fcntl(fd, F_DUPFD_CLOEXEC, floor + 10)
            close(fd)
            return n
        }

        var joinFDs: [corral_join] = []
        for j in plan.joins {
            let fd = open(j.path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw RuntimeError(.config, "linux.namespaces: open \(j.path): \(errnoText(errno))") }
            fds.append(fd)
            let t = corral_ns_type(fd)
            if t < 0 || UInt64(t) != j.flag {
                throw RuntimeError(.config, "linux.namespaces: \(j.path) is not a \(j.type) namespace")
            }
            let h = high(fd)
            fds[fds.count - 1] = h
            joinFDs.append(corral_join(fd: h, nstype: Int32(j.flag)))
        }

        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
            throw .system("socketpair", errno)
        }
        let parentEnd = pair[0]
        let childEnd = high(pair[1])
        defer { close(parentEnd) }
        var childEndOpen = true
        defer { if childEndOpen { close(childEnd) } }
        let fifo = channels.fifoFD >= 0 ? high(channels.fifoFD) : -1
        let console = channels.consoleSocketFD >= 0 ? high(channels.consoleSocketFD) : -1
        // Last of our fds, so they form one block above all the others (the child keeps that block).
        let sourceFDs = try BindSources.prepare(plan)
        defer { for fd in sourceFDs.values { close(fd) } }

        let arena = PlanArena()
        var c = corral_plan()
        c.clone_flags = plan.cloneFlags
        c.unshare_flags = plan.unshareFlags
        c.must_fork = plan.mustFork ? 1 : 0
        c.joins = arena.copy(joinFDs)
        c.njoins = Int32(joinFDs.count)
        c.join_pidfd = plan.enterFlags != 0 ? high(channels.initPidFD) : -1
        c.join_pidfd_flags = plan.enterFlags
        c.new_userns = plan.newUserNS ? 1 : 0
        c.loopback_up = plan.newNamespaces & Planner.namespaceFlags[.network]! != 0 ? 1 : 0
        c.sync_fd = childEnd
        c.cgroup_sync = channels.placeInCgroups != nil ? 1 : 0
        c.exec_fifo_fd = fifo
        c.fifo_via_host_proc = plan.hasProcMount ? 0 : 1
        c.console_socket_fd = console
        c.terminal = plan.terminal ? 1 : 0
        c.console_rows = plan.consoleSize.rows
        c.console_cols = plan.consoleSize.cols
        c.timens_offsets = plan.timeOffsets.map { arena.copy($0) }
        c.pdeathsig = SIGKILL
        c.keyring_name = arena.string(plan.keyringName)
        c.hostname = arena.string(plan.hostname)
        c.domainname = arena.string(plan.domainname)
        c.rootfs = arena.string(plan.rootfs)
        c.new_mountns = plan.mountNS ? 1 : 0
        c.root_propagation = plan.rootPropagation
        c.root_propagation_after = plan.rootPropagationAfter
        c.mounts = arena.copy(plan.mounts.enumerated().map { (i, m) in
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
            cm.source_fd = sourceFDs[i] ?? -1
            cm.allow_on_proc = m.allowOnProc ? 1 : 0
            cm.copy_up = m.copyUp ? 1 : 0
            cm.deferred = m.deferred ? 1 : 0
            cm.label = arena.string(m.label)
            cm.config_index = Int32(m.configIndex)
            return cm
        })
        c.nmounts = Int32(plan.mounts.count)
        c.devices = arena.copy(plan.devices.map { d in
            corral_device(path: arena.string(d.path), mode: d.mode, major: d.major, minor: d.minor, uid: d.uid,
                          gid: d.gid, bind_from_host: d.bindFromHost ? 1 : 0)
        })
        c.ndevices = Int32(plan.devices.count)
        c.no_pivot = plan.noPivot ? 1 : 0
        c.readonly_root = plan.readonlyRoot ? 1 : 0
        c.sysctl_keys = arena.strings(plan.sysctl.map { $0.path })
        c.sysctl_values = arena.strings(plan.sysctl.map { $0.value })
        c.sysctl_nstypes = arena.copy(plan.sysctl.map { $0.namespace })
        c.nsysctl = Int32(plan.sysctl.count)
        if !plan.sysctl.isEmpty { c.host_ns_ino = hostNamespaceInodes() }
        c.masked_paths = arena.strings(plan.maskedPaths)
        c.nmasked = Int32(plan.maskedPaths.count)
        c.readonly_paths = arena.strings(plan.readonlyPaths)
        c.nreadonly = Int32(plan.readonlyPaths.count)
        c.cwd = arena.string(plan.cwd)
        c.rlimits = arena.copy(plan.rlimits.map { corral_rlimit(resource: $0.0, soft: $0.1, hard: $0.2) })
        c.nrlimits = Int32(plan.rlimits.count)
        c.uid = plan.uid
        c.gid = plan.gid
        c.groups = arena.copy(plan.groups)
        c.ngroups = Int32(plan.groups.count)
        c.set_groups = plan.setGroups ? 1 : 0
        c.umask = plan.umask
        c.cap_bounding = plan.capabilities.bounding
        c.cap_effective = plan.capabilities.effective
        c.cap_inheritable = plan.capabilities.inheritable
        c.cap_permitted = plan.capabilities.permitted
        c.cap_ambient = plan.capabilities.ambient
        c.last_cap = Int32(CapabilityNames.lastCap)
        c.no_new_privs = plan.noNewPrivileges ? 1 : 0
        if let sc = plan.seccomp {
            c.seccomp_filter = UnsafeRawPointer(arena.copy(sc.filter))
            c.seccomp_len = UInt32(sc.filter.count / 8)   // struct sock_filter is 8 bytes
            c.seccomp_flags = sc.flags
        }
        c.preserve_fds = Int32(plan.preserveFDs)
        c.argv = arena.strings(plan.args)
        c.envp = arena.strings(plan.env)
        let path = plan.env.last(where: { $0.hasBytePrefix("PATH=") }).map { String($0.dropFirst(5)) }
        c.path_env = arena.string(path)
        c.personality = plan.personality ?? -1
        if let s = plan.scheduler {
            c.set_scheduler = 1
            c.scheduler = corral_sched(policy: s.policy, flags: s.flags, nice: s.nice, priority: s.priority,
                                       runtime: s.runtime, deadline: s.deadline, period: s.period)
        }
        c.ioprio = plan.ioPriority?.value ?? -1
        if let a = plan.cpuAffinity {
            if !a.initial.isEmpty { c.cpus_initial = arena.copy(a.initial); c.ncpus_initial = Int32(a.initial.count) }
            if !a.final.isEmpty { c.cpus_final = arena.copy(a.final); c.ncpus_final = Int32(a.final.count) }
        }
        if let m = plan.memoryPolicy {
            c.set_mempolicy = 1
            c.mempolicy_mode = m.mode
            if !m.nodes.isEmpty { c.mempolicy_nodes = arena.copy(m.nodes); c.nmempolicy_words = Int32(m.nodes.count) }
        }
        c.apparmor_exec = arena.string(plan.appArmorExec)
        c.selinux_exec = arena.string(plan.seLinuxExec)
        c.hooks_sync = plan.hooks.runsBeforePivot ? 1 : 0
        let startHooks = plan.hooks[.startContainer]
        c.start_hooks = arena.copy(startHooks.map { h in
            corral_hook(path: arena.string(h.path), argv: arena.strings(h.argv), envp: h.env.map { arena.strings($0) } ?? nil,
                        timeout: Int32(clamping: h.timeout ?? 0))
        })
        c.nstart_hooks = Int32(startHooks.count)
        var me = stat()
        if stat("/proc/self/exe", &me) == 0 {
            c.self_dev = UInt64(me.st_dev)
            c.self_ino = UInt64(me.st_ino)
        }

        var result = corral_spawn_result()
        let rc = withUnsafePointer(to: &c) { corral_spawn($0, &result) }
        if rc < 0 { throw .system("clone3", -rc) }
        close(childEnd)
        childEndOpen = false
        let child = result.child_pid
        let childPidfd = result.child_pidfd
        defer { close(childPidfd) }

        var expect = Handshake.Expectations()
        expect.cgroupPlacement = channels.placeInCgroups != nil
        expect.userNamespace = plan.newUserNS
        expect.intermediate = plan.mustFork
        expect.hooks = plan.hooks.runsBeforePivot
        expect.listener = (plan.seccomp?.flags ?? 0) & SeccompProfile.flagNewListener != 0
        var handshake = Handshake(expect, firstChild: child)
        var initPid: Int32 { handshake.initPid }
        func runCreateHooks() throws(RuntimeError) {
            guard let run = channels.createHooks else {
                throw RuntimeError(.childSetup, "unexpected hooks request from the container process")
            }
            try run(initPid)
            try reply(parentEnd, CORRAL_MSG_HOOKS_DONE)
        }
        do throws(RuntimeError) {
            while !handshake.complete {
                var m = corral_msg()
                var passed: Int32 = -1
                let r = corral_recv_msg_fd(parentEnd, &m, &passed, messageTimeoutMS)
                if r == -ETIMEDOUT { throw RuntimeError(.childSetup, "timed out waiting for the container process") }
                if r < 0 {
                    throw RuntimeError(.childSetup, "container init exited unexpectedly" + exitText(child, plan.mustFork))
                }
                if m.type == Int32(CORRAL_MSG_ERROR.rawValue) {
                    if passed >= 0 { close(passed) }
                    throw ChildError.describe(m, plan: plan)
                }
                let action: Handshake.Action
                do throws(RuntimeError) {
                    action = try handshake.receive(m.type, pid: m.pid)
                } catch {
                    if passed >= 0 { close(passed) }
                    throw error
                }
                if passed >= 0 && action != .handOverListener { close(passed); passed = -1 }
                switch action {
                case .placeInCgroups:
                    try channels.placeInCgroups?(child)
                    try reply(parentEnd, CORRAL_MSG_GO)
                case .writeIDMaps:
                    try writeIDMaps(plan, pid: child)
                    try reply(parentEnd, CORRAL_MSG_MAPS_DONE)
                case .runHooks:
                    try runCreateHooks()
                case .handOverListener:
                    guard passed >= 0, let hand = channels.seccompListener else {
                        if passed >= 0 { close(passed) }
                        throw RuntimeError(.childSetup, "seccomp listener announced without an fd, or nobody to take it")
                    }
                    try hand(passed, initPid == 0 ? child : initPid)
                    try reply(parentEnd, CORRAL_MSG_SECCOMP_DONE)
                case .initPid, .holdHooks, .none:
                    break
                }
            }
            if plan.mustFork { var s: Int32 = 0; waitpid(child, &s, 0) }  // the intermediate exits after forking
            guard let st = Proc.stat(initPid) else { throw RuntimeError(.childSetup, "container init exited unexpectedly") }
            let launched = Launched(pid: initPid, startTime: st.startTime)
            try commit(launched)
            if !startHooks.isEmpty, let stateFD = try channels.startHookState?(initPid) {
                var m = corral_msg()
                m.type = Int32(CORRAL_MSG_COMMIT.rawValue)
                let r = corral_send_msg_fd(parentEnd, &m, stateFD)
                close(stateFD)
                if r < 0 { throw RuntimeError(.childSetup, "container init exited unexpectedly") }
            } else {
                try reply(parentEnd, CORRAL_MSG_COMMIT)
            }
            var ack = corral_msg()
            if corral_recv_msg(parentEnd, &ack, messageTimeoutMS) < 0 || ack.type != Int32(CORRAL_MSG_COMMIT_ACK.rawValue) {
                throw RuntimeError(.childSetup, "container init exited unexpectedly")
            }
            log.debug("container init \(initPid) parked")
            return launched
        } catch {
            _ = corral_pidfd_send_signal(childPidfd, SIGKILL)
            if initPid > 0 && initPid != child { Glibc.kill(initPid, SIGKILL); var s: Int32 = 0; waitpid(initPid, &s, 0) }
            var s: Int32 = 0
            waitpid(child, &s, 0)
            throw error
        }
    }

    /// Inodes of the host's network, ipc and uts namespaces, as the runtime and pid 1 see them (0 where
    /// unreadable), for the child's sysctl check.
    private static func hostNamespaceInodes() -> ((UInt64, UInt64), (UInt64, UInt64), (UInt64, UInt64)) {
        func ino(_ who: String, _ ns: String) -> UInt64 {
            var st = stat()
            return stat("/proc/\(who)/ns/\(ns)", &st) == 0 ? UInt64(st.st_ino) : 0
        }
        return ((ino("self", "net"), ino("1", "net")), (ino("self", "ipc"), ino("1", "ipc")),
                (ino("self", "uts"), ino("1", "uts")))
    }

    private static func reply(_ fd: Int32, _ type: corral_msg_type) throws(RuntimeError) {
        var m = corral_msg()
        m.type = Int32(type.rawValue)
        if corral_send_msg(fd, &m) < 0 { throw RuntimeError(.childSetup, "container init exited unexpectedly") }
    }

    private static func exitText(_ pid: Int32, _ intermediate: Bool) -> String {
        var s: Int32 = 0
        guard waitpid(pid, &s, WNOHANG) == pid else { return "" }
        if s & 0x7f == 0 { return ": exit status \((s >> 8) & 0xff)" }
        return ": signal: \(s & 0x7f)"
    }

    private static func writeIDMaps(_ plan: LaunchPlan, pid: Int32) throws(RuntimeError) {
        func text(_ maps: [(UInt32, UInt32, UInt32)]) -> String { maps.map { "\($0.0) \($0.1) \($0.2)\n" }.joined() }
        for (file, maps) in [("uid_map", plan.uidMappings), ("gid_map", plan.gidMappings)] {
            let r = corral_write_proc(pid, file, text(maps))
            if r < 0 { throw RuntimeError(.childSetup, "failed to write \(file) for the user namespace: \(errnoText(-r))") }
        }
    }
}

/// Renders the child's fixed-size error message as runc words it.
enum ChildError {
    static func describe(_ m: corral_msg, plan: LaunchPlan) -> RuntimeError {
        let detail = withUnsafePointer(to: m.detail) {
            $0.withMemoryRebound(to: CChar.self, capacity: 512) { String(cString: $0) }
        }
        let err = errnoText(m.err)
        let stage = corral_stage(rawValue: UInt32(m.stage))
        switch stage {
        case CORRAL_STAGE_EXEC_LOOKUP:
            // Go's exec.LookPath wording; Docker maps "executable file not found" / "no such file" to exit 127.
            switch corral_exec_lookup(rawValue: UInt32(bitPattern: m.index)) {
            case CORRAL_EXEC_NOT_IN_PATH: return RuntimeError(.childSetup, "exec: \"\(detail)\": executable file not found in $PATH")
            case CORRAL_EXEC_NOT_EXECUTABLE: return RuntimeError(.childSetup, "exec: \"\(detail)\": permission denied")
            case CORRAL_EXEC_RUNTIME_BINARY: return RuntimeError(.childSetup, "exec: \"\(detail)\": refusing to run the container runtime's own binary inside the container (CVE-2019-5736)")
            default: return RuntimeError(.childSetup, "exec: \"\(detail)\": stat \(detail): \(err)")
            }
        case CORRAL_STAGE_MOUNT:
            var what = "mount"
            if m.index >= 0 && Int(m.index) < plan.mounts.count {
                let op = plan.mounts[Int(m.index)]
                let source = op.source ?? op.fstype ?? op.label
                what = "error mounting \"\(source)\" to rootfs at \"\(op.dest)\""
            }
            return RuntimeError(.childSetup, "error during container init: \(what): \(detail): \(err)")
        case CORRAL_STAGE_SYSCTL_HOST_NS:
            // runc's texts for a sysctl whose namespace is the host's.
            let op = m.index >= 0 && Int(m.index) < plan.sysctl.count ? plan.sysctl[Int(m.index)] : nil
            let name = op?.name ?? detail
            switch op?.namespace {
            case Planner.namespaceFlags[.ipc]:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" is not allowed in the hosts ipc namespace")
            case Planner.namespaceFlags[.uts]:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" is not allowed in the hosts uts namespace")
            default:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" not allowed in host network namespace")
            }
        case CORRAL_STAGE_SCHEDULER:
            var hint = ""
            if m.err == EPERM, let s = plan.scheduler, s.isRealTime || s.isDeadline {
                hint = s.isRealTime
                    ? " (a real-time policy needs CAP_SYS_NICE outside a user namespace, and real-time runtime in the container's cpu cgroup where the kernel has RT group scheduling: linux.resources.cpu.realtimeRuntime)"
                    : " (SCHED_DEADLINE needs CAP_SYS_NICE outside a user namespace and a CPU affinity spanning its whole scheduling domain)"
            } else if m.err == EBUSY, plan.scheduler?.isDeadline == true {
                hint = " (the kernel's SCHED_DEADLINE admission control: not enough deadline bandwidth left)"
            }
            return RuntimeError(.childSetup, "error during container init: process.scheduler: sched_setattr \(plan.scheduler?.text ?? ""): \(err)\(hint)")
        case CORRAL_STAGE_IOPRIO:
            return RuntimeError(.childSetup, "error during container init: process.ioPriority: ioprio_set \(plan.ioPriority?.text ?? ""): \(err)")
        case CORRAL_STAGE_CPU_AFFINITY:
            let a = plan.cpuAffinity
            let what = switch m.index {
            case 0: "process.execCPUAffinity.initial: sched_setaffinity \(JSONValue.quoted(a?.initialText ?? ""))"
            case 1: "process.execCPUAffinity.final: sched_setaffinity \(JSONValue.quoted(a?.finalText ?? ""))"
            default: "process.execCPUAffinity: resetting the CPU affinity after execCPUAffinity.initial"
            }
            // The kernel intersects the mask with the cpuset of the cgroup the process is in: the runtime's for
            // `initial`, the container's for `final`.
            let hint = m.err == EINVAL && m.index < 2
                ? " (no CPU of the list is in the cpuset of \(m.index == 0 ? "the runtime's cgroup" : "the container's cgroup"))" : ""
            return RuntimeError(.childSetup, "error during container init: \(what): \(err)\(hint)")
        case CORRAL_STAGE_MEMPOLICY:
            let hint = m.err == EINVAL ? " (are the nodes in the container's cpuset.mems?)" : ""
            return RuntimeError(.childSetup, "error during container init: linux.memoryPolicy: set_mempolicy \(plan.memoryPolicy?.text ?? ""): \(err)\(hint)")
        case CORRAL_STAGE_PERSONALITY:
            return RuntimeError(.childSetup, "error during container init: linux.personality: personality 0x\(String(UInt32(bitPattern: plan.personality ?? 0), radix: 16)): \(err)")
        case CORRAL_STAGE_CWD:
            return RuntimeError(.childSetup, "error during container init: chdir to cwd (\"\(plan.cwd)\") set in config.json failed: \(err)")
        default:
            return RuntimeError(.childSetup, "error during container init: \(detail): \(err)")
        }
    }
}
