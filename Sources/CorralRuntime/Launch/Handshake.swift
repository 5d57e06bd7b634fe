import CCorral

/// The parent's side of the conversation with the C child on the sync socket, as a state machine: which message
/// may come when, what the parent must do for it, and when the launch is complete. A message that is not expected
/// (its feature is off), comes twice, or comes out of order is a protocol error that ends the launch.
///
/// The protocol, child (→) and parent (←), each pair only when its feature is on:
///
///     HELLO →        ← GO              the parent writes the cgroup2 cgroup.procs, before any namespace work: only
///                                      when clone3 could not start the child there (CLONE_INTO_CGROUP refused);
///                                      v1 hierarchies the child enters by itself before it, without a message
///     MAPS_PLEASE →  ← MAPS_DONE       a new user namespace: the parent writes its id maps
///     TIMENS_PLEASE → ← TIMENS_DONE    a new time namespace with offsets: the parent writes them (intermediate)
///     PID →                            must_fork: the intermediate names the init (host pid), then exits
///     HOOKS →        ← HOOKS_DONE      prestart/createRuntime/createContainer hooks, mounts done, before pivot_root
///     SECCOMP_FD →   ← SECCOMP_DONE    a notify listener (SCM_RIGHTS) for listenerPath
///     READY →                          set up and parked (on exec.fifo for create)
///                    ← COMMIT          the parent has recorded the container
///     COMMIT_ACK →                     the init no longer dies with the parent
///     ERROR →                          at any point: the launch failed (stage, errno, item)
///
/// HELLO comes first and MAPS_PLEASE before anything of the init. With must_fork the intermediate's PID and the
/// init's own messages (HOOKS, SECCOMP_FD, READY) come from two processes, so PID may arrive after them: hooks are
/// held until the init's pid is known, and the launch is complete when both READY and the pid are there.
struct Handshake {
    /// What the launch expects, from the plan and the host's part.
    struct Expectations: Equatable {
        /// The parent places the child in its cgroup2 directory (HELLO/GO): clone3 could not.
        var cgroupPlacement = false
        var userNamespace = false
        var intermediate = false
        var hooks = false
        var listener = false
        var timeOffsets = false
    }

    /// What the parent must do for a message.
    enum Action: Equatable {
        case placeInCgroups       // the cgroup2 directory; then reply GO
        case writeIDMaps          // then reply MAPS_DONE
        case writeTimeOffsets     // then reply TIMENS_DONE
        case initPid(Int32)       // remember it; run held hooks if `runHeldHooks`
        case runHooks             // the init's pid is known: run them, then reply HOOKS_DONE
        case holdHooks            // the pid is not known yet: run them when it is
        case handOverListener     // then reply SECCOMP_DONE
        case none
    }

    let expect: Expectations
    private(set) var sawHello = false
    private(set) var sawMaps = false
    private(set) var sawTimens = false
    private(set) var initPid: Int32 = 0
    private(set) var hooksState = HooksState.pending
    private(set) var sawListener = false
    private(set) var ready = false

    enum HooksState: Equatable { case pending, held, done }

    init(_ expect: Expectations, firstChild: Int32) {
        self.expect = expect
        // Without an intermediate the first child is the init.
        if !expect.intermediate { initPid = firstChild }
    }

    /// True once the init is parked and known: the parent may record it and COMMIT.
    var complete: Bool { ready && initPid > 0 && (hooksState == .done || !expect.hooks) }

    /// Advances on one message from the child; throws on anything the protocol does not allow.
    mutating func receive(_ type: Int32, pid: Int32 = 0) throws(RuntimeError) -> Action {
        func unexpected(_ why: String) -> RuntimeError {
            RuntimeError(.childSetup, "unexpected \(Handshake.name(type)) from the container process: \(why)")
        }
        // After READY only the intermediate's PID may still be on its way (the init can overtake it).
        let latePid = type == Int32(CORRAL_MSG_PID.rawValue) && expect.intermediate && initPid == 0
        if ready && !latePid { throw unexpected("it is already ready") }
        switch type {
        case Int32(CORRAL_MSG_HELLO.rawValue):
            guard expect.cgroupPlacement else { throw unexpected("no cgroup placement was asked for") }
            guard !sawHello else { throw unexpected("a second time") }
            let begun = sawMaps || sawTimens || hooksState != .pending || sawListener || (expect.intermediate && initPid > 0)
            guard !begun else { throw unexpected("after the setup began") }
            sawHello = true
            return .placeInCgroups
        case Int32(CORRAL_MSG_MAPS_PLEASE.rawValue):
            guard expect.userNamespace else { throw unexpected("no new user namespace") }
            guard !sawMaps else { throw unexpected("a second time") }
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard hooksState == .pending, !sawListener, !sawTimens else { throw unexpected("after the init's setup began") }
            sawMaps = true
            return .writeIDMaps
        case Int32(CORRAL_MSG_TIMENS_PLEASE.rawValue):
            guard expect.timeOffsets else { throw unexpected("no time offsets are configured") }
            guard !sawTimens else { throw unexpected("a second time") }
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard sawMaps || !expect.userNamespace else { throw unexpected("before the id maps") }
            // The intermediate asks before it forks the init: nothing of the init can have come yet.
            guard initPid == 0 || !expect.intermediate, hooksState == .pending, !sawListener else {
                throw unexpected("after the init's setup began")
            }
            sawTimens = true
            return .writeTimeOffsets
        case Int32(CORRAL_MSG_PID.rawValue):
            guard expect.intermediate else { throw unexpected("there is no intermediate process") }
            guard initPid == 0 else { throw unexpected("a second time") }
            guard pid > 0 else { throw unexpected("pid \(pid)") }
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard sawMaps || !expect.userNamespace else { throw unexpected("before the id maps") }
            guard sawTimens || !expect.timeOffsets else { throw unexpected("before the time offsets") }
            initPid = pid
            if hooksState == .held {
                hooksState = .done
                return .runHooks
            }
            return .initPid(pid)
        case Int32(CORRAL_MSG_HOOKS.rawValue):
            guard expect.hooks else { throw unexpected("no create-time hooks are configured") }
            guard hooksState == .pending else { throw unexpected("a second time") }
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard sawMaps || !expect.userNamespace else { throw unexpected("before the id maps") }
            guard sawTimens || !expect.timeOffsets else { throw unexpected("before the time offsets") }
            guard !sawListener else { throw unexpected("after the seccomp listener") }
            if initPid == 0 {
                hooksState = .held
                return .holdHooks
            }
            hooksState = .done
            return .runHooks
        case Int32(CORRAL_MSG_SECCOMP_FD.rawValue):
            guard expect.listener else { throw unexpected("no seccomp listener is configured") }
            guard !sawListener else { throw unexpected("a second time") }
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard sawTimens || !expect.timeOffsets else { throw unexpected("before the time offsets") }
            guard hooksState != .held || initPid > 0 else { throw unexpected("while the hooks wait for the init's pid") }
            guard hooksState == .done || !expect.hooks else { throw unexpected("before the create-time hooks") }
            sawListener = true
            return .handOverListener
        case Int32(CORRAL_MSG_READY.rawValue):
            guard sawHello || !expect.cgroupPlacement else { throw unexpected("before the cgroup placement") }
            guard sawMaps || !expect.userNamespace else { throw unexpected("before the id maps") }
            guard sawTimens || !expect.timeOffsets else { throw unexpected("before the time offsets") }
            guard hooksState == .done || !expect.hooks else { throw unexpected("before the create-time hooks") }
            guard sawListener || !expect.listener else { throw unexpected("before the seccomp listener") }
            ready = true
            return .none
        default:
            throw unexpected("not a message the child sends")
        }
    }

    /// The message's name for errors.
    static func name(_ type: Int32) -> String {
        switch type {
        case Int32(CORRAL_MSG_HELLO.rawValue): "HELLO"
        case Int32(CORRAL_MSG_MAPS_PLEASE.rawValue): "MAPS_PLEASE"
        case Int32(CORRAL_MSG_TIMENS_PLEASE.rawValue): "TIMENS_PLEASE"
        case Int32(CORRAL_MSG_PID.rawValue): "PID"
        case Int32(CORRAL_MSG_HOOKS.rawValue): "HOOKS"
        case Int32(CORRAL_MSG_SECCOMP_FD.rawValue): "SECCOMP_FD"
        case Int32(CORRAL_MSG_READY.rawValue): "READY"
        case Int32(CORRAL_MSG_ERROR.rawValue): "ERROR"
        default: "message \(type)"
        }
    }
}
