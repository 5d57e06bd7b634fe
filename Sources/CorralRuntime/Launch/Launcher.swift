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

    /// The fds the child gets besides its plan (what it does at each request is the `HandshakeHost`).
    struct Channels {
        /// O_PATH fd of exec.fifo, -1 for none.
        var fifoFD: Int32 = -1
        /// Connected console socket (or our own relay socket), -1 for none.
        var consoleSocketFD: Int32 = -1
        /// `consoleSocketFD` is our own relay (foreground run/exec -t): the pty is made to pass "\n" unchanged.
        var relaysTerminal = false
        /// exec: verified pidfd of the container's init, whose namespaces (`plan.enterFlags`) the child enters.
        var initPidFD: Int32 = -1
    }

    static let messageTimeoutMS: Int32 = 60_000

    /// `commit` runs once the init is parked (READY): it records the container (state, pid file). Only when it
    /// returns does the init stop dying with us; when it throws, the init is killed and the error rethrown.
    static func launch(_ plan: LaunchPlan, channels: Channels, host: HandshakeHost, log: Logger,
                       commit: (Launched) throws(RuntimeError) -> Void) throws(RuntimeError) -> Launched {
        let fds = try ChildFDs.prepare(plan, channels: channels, entering: host.cgroupsChildEnters)
        defer { fds.close() }
        let arena = PlanArena()
        var c = plan.cPlan(fds, arena: arena)
        c.clear_onlcr = channels.relaysTerminal && plan.terminal ? 1 : 0
        c.cgroup_sync = host.parentPlacesChild ? 1 : 0
        let startHooks = plan.hooks[.startContainer]
        let childEnd = fds.childEnd
        let parentEnd = fds.parentEnd
        var childEndOpen = true
        defer { if childEndOpen { close(childEnd) } }

        var result = corral_spawn_result()
        let rc = withUnsafePointer(to: &c) { corral_spawn($0, &result) }
        if rc < 0 { throw .system("clone3", -rc) }
        close(childEnd)
        childEndOpen = false
        let child = result.child_pid
        let childPidfd = result.child_pidfd
        defer { close(childPidfd) }
        // --debug milestones carry runc's words for the same moments (its tests and people who read runc's debug
        // output look for them): the set-up child exists, the init is set up, and it has signalled completion.
        let joining = channels.initPidFD >= 0
        log.debug("nsexec container setup: child \(child) cloned\(joining ? " to join the container" : "")")

        var expect = Handshake.Expectations()
        // The parent places the child when asked to, or in a cgroup2 directory that clone3 could not put it in.
        expect.cgroupPlacement = host.parentPlacesChild || (fds.cgroups?.v2Dir != nil && result.in_cgroup == 0)
        expect.userNamespace = plan.newUserNS
        expect.intermediate = plan.mustFork
        expect.hooks = plan.hooks.runsBeforePivot
        expect.listener = (plan.seccomp?.flags ?? 0) & SeccompProfile.flagNewListener != 0
        expect.timeOffsets = plan.timeOffsets != nil && plan.unshareFlags & Planner.cloneNewTime != 0
        var handshake = Handshake(expect, firstChild: child)
        var initPid: Int32 { handshake.initPid }
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
                    if m.stage == Int32(CORRAL_STAGE_CGROUP.rawValue), let entry = fds.cgroups {
                        throw entry.error(index: m.index, err: m.err)
                    }
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
                    try host.placeInCgroups(child)
                    try reply(parentEnd, CORRAL_MSG_GO)
                case .writeIDMaps:
                    try writeIDMaps(plan, pid: child)
                    try reply(parentEnd, CORRAL_MSG_MAPS_DONE)
                case .writeTimeOffsets:
                    try writeTimeOffsets(plan, pid: child)
                    try reply(parentEnd, CORRAL_MSG_TIMENS_DONE)
                case .runHooks:
                    try host.runCreateHooks(initPid: initPid)
                    try reply(parentEnd, CORRAL_MSG_HOOKS_DONE)
                case .handOverListener:
                    guard passed >= 0 else { throw RuntimeError(.childSetup, "seccomp listener announced without an fd") }
                    try host.handOverListener(passed, pid: initPid == 0 ? child : initPid)
                    try reply(parentEnd, CORRAL_MSG_SECCOMP_DONE)
                case .initPid, .holdHooks, .none:
                    break
                }
            }
            if plan.mustFork { var s: Int32 = 0; waitpid(child, &s, 0) }  // the intermediate exits after forking
            log.debug("child process in init(): process \(initPid) is set up")
            guard let st = Proc.stat(initPid) else { throw RuntimeError(.childSetup, "container init exited unexpectedly") }
            let launched = Launched(pid: initPid, startTime: st.startTime)
            try commit(launched)
            if !startHooks.isEmpty, let stateFD = try host.startHookStateFD(initPid: initPid) {
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
            if joining {
                log.debug("setns_init: about to exec (process \(initPid))")
            } else {
                log.debug("init: closing the pipe to signal completion (init \(initPid) parked)")
            }
            return launched
        } catch {
            _ = corral_pidfd_send_signal(childPidfd, SIGKILL)
            if initPid > 0 && initPid != child { Glibc.kill(initPid, SIGKILL); var s: Int32 = 0; waitpid(initPid, &s, 0) }
            var s: Int32 = 0
            waitpid(child, &s, 0)
            throw error
        }
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

    /// "<clockid> <secs> <nsecs>" for CLOCK_MONOTONIC (1) and CLOCK_BOOTTIME (7), into the time namespace the child
    /// unshared for its children (one write: the kernel takes the offsets once, before any process is in it).
    private static func writeTimeOffsets(_ plan: LaunchPlan, pid: Int32) throws(RuntimeError) {
        guard let o = plan.timeOffsets, o.count == 4 else { return }
        let text = "1 \(o[0]) \(o[1])\n7 \(o[2]) \(o[3])\n"
        let r = corral_write_proc(pid, "timens_offsets", text)
        if r < 0 { throw RuntimeError(.childSetup, "linux.timeOffsets: write /proc/\(pid)/timens_offsets: \(errnoText(-r))") }
    }

    private static func writeIDMaps(_ plan: LaunchPlan, pid: Int32) throws(RuntimeError) {
        func text(_ maps: [(UInt32, UInt32, UInt32)]) -> String { maps.map { "\($0.0) \($0.1) \($0.2)\n" }.joined() }
        for (file, maps) in [("uid_map", plan.host.uidMappings), ("gid_map", plan.host.gidMappings)] {
            let r = corral_write_proc(pid, file, text(maps))
            if r < 0 { throw RuntimeError(.childSetup, "failed to write \(file) for the user namespace: \(errnoText(-r))") }
        }
    }
}
