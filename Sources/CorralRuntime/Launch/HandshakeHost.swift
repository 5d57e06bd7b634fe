import CCorralHost
import Glibc

/// The parent's side of the handshake (the order of the messages is drawn once, in Handshake.swift): what the
/// parent does for each request of the child. create and exec say it as data — where the child's cgroups come
/// from, where a seccomp listener goes, which hooks run — and `Launcher` carries it out, so every answer can be
/// read in this one file. `Handshake` refuses a request the launch does not expect before it gets here.
struct HandshakeHost {
    /// How the first child comes into the container's cgroups, before any namespace work.
    enum CgroupPlacement {
        /// Nothing to enter (an exec into a container recorded without cgroups).
        case none
        /// The child enters them itself: v1 `tasks`, cgroup2 by clone3 (`CgroupEntry`). The parent places it only
        /// in a cgroup2 directory clone3 could not use.
        case childEnters(CgroupSet)
        /// The child says HELLO and the parent writes its pid to every cgroup.procs (an exec into sub-cgroups that
        /// are not all there, which then fails with runc's text).
        case parentPlaces(CgroupSet)
        /// The systemd driver: the waiting child is handed to systemd in a transient unit, then the cgroupfs
        /// driver's work is done on the unit's directories. The unit is already in the container's record.
        case systemd(SystemdCgroups.Start, CgroupPlan)
    }

    /// Where a seccomp notify listener goes; the fd is closed here once it is handed over.
    enum ListenerDestination {
        /// `linux.seccomp.listenerPath`: runc's seccomp agent protocol, the fd with the process state.
        case agent(path: String, metadata: String?, id: String, bundle: String, annotations: [String: String],
                   status: ContainerState.Status)
        /// seccomp audit mode at create: the container's monitor, over create's control socket to it.
        case monitor(control: Int32)
        /// seccomp audit mode at exec: the running monitor, over `<state dir>/monitor.sock`.
        case monitorSocket(path: String)
    }

    /// prestart, createRuntime and createContainer hooks: run while the init waits before pivot_root (runc's
    /// "procHooks" point), with the state of a creating container.
    struct CreateHooks {
        var hooks: HookPlan
        var id: String
        var bundle: String
        var annotations: [String: String]
        var rootfs: String
    }

    /// startContainer hooks: the init runs them after the commit, from a state file the parent writes.
    struct StartHooks {
        var id: String
        var bundle: String
        var annotations: [String: String]
    }

    var cgroups: CgroupPlacement = .none
    var listener: ListenerDestination? = nil
    var createHooks: CreateHooks? = nil
    var startHooks: StartHooks? = nil

    /// The child waits at HELLO until the parent has placed it (cgroup_sync in the C plan).
    var parentPlacesChild: Bool {
        switch cgroups {
        case .parentPlaces, .systemd: return true
        case .none, .childEnters: return false
        }
    }

    /// The cgroups the child enters by itself (opened as fds for it), nil when the parent places it.
    var cgroupsChildEnters: CgroupSet? {
        if case .childEnters(let set) = cgroups { return set }
        return nil
    }

    /// HELLO: puts the first child (host pid) in the container's cgroups.
    func placeInCgroups(_ pid: Int32) throws(RuntimeError) {
        switch cgroups {
        case .none: return
        case .childEnters(let set): try CgroupManager(set).place(pid, v2Only: true)
        case .parentPlaces(let set): try CgroupManager(set).place(pid)
        case .systemd(let start, let plan): _ = try SystemdCgroups.place(start, plan: plan, pid: pid)
        }
    }

    /// HOOKS: runs the create-time hooks against the init (host pid).
    func runCreateHooks(initPid pid: Int32) throws(RuntimeError) {
        guard let c = createHooks else {
            throw RuntimeError(.childSetup, "unexpected hooks request from the container process")
        }
        let state = ContainerState.specState(id: c.id, status: .creating, pid: pid, bundle: c.bundle,
                                             annotations: c.annotations)
        try HookRunner.run(.prestart, c.hooks[.prestart], state: state, cwd: c.bundle)
        try HookRunner.run(.createRuntime, c.hooks[.createRuntime], state: state, cwd: c.bundle)
        guard !c.hooks[.createContainer].isEmpty else { return }
        let pidfd = corral_pidfd_open(pid)
        if pidfd < 0 { throw .system("pidfd_open of the container init", -pidfd) }
        defer { close(pidfd) }
        let join = HookRunner.Join(pidfd: pidfd, flags: HookRunner.containerNamespaces(of: pid))
        // runc starts createContainer hooks in the rootfs (seen from the container's mount namespace before
        // pivot_root, which still holds the host's tree).
        try HookRunner.run(.createContainer, c.hooks[.createContainer], state: state, cwd: c.rootfs, join: join)
    }

    /// SECCOMP: hands the listener `fd` (owned here) to its destination; `pid` is the process it belongs to.
    func handOverListener(_ fd: Int32, pid: Int32) throws(RuntimeError) {
        guard let listener else {
            close(fd)
            throw RuntimeError(.childSetup, "seccomp listener announced, but nobody takes it")
        }
        switch listener {
        case .agent(let path, let metadata, let id, let bundle, let annotations, let status):
            let state = SeccompNotify.processState(pid: pid, metadata: metadata, id: id, bundle: bundle,
                                                   annotations: annotations, status: status)
            try SeccompNotify.handOver(listener: fd, path: path, state: state)
        case .monitor(let control):
            defer { close(fd) }
            let r = MonitorMessage.send(control, MonitorMessage.listener, fd: fd)
            if r < 0 { throw .system("hand the seccomp listener to the monitor", -r) }
        case .monitorSocket(let path):
            defer { close(fd) }
            try MonitorClient.handOver(listener: fd, path: path)
        }
    }

    /// COMMIT: the state fd the init reads for its startContainer hooks, nil when there are none.
    func startHookStateFD(initPid pid: Int32) throws(RuntimeError) -> Int32? {
        guard let s = startHooks else { return nil }
        return try HookRunner.stateFile(ContainerState.specState(id: s.id, status: .created, pid: pid, bundle: s.bundle,
                                                                 annotations: s.annotations))
    }
}
