// The create/exec handshake with the C child, transition by transition: every order the child can produce is
// accepted with the right action, and every message that is off, repeated or out of order is refused.
import XCTest
@testable import CorralRuntime
import CCorral

final class HandshakeTests: XCTestCase {
    private let hello = Int32(CORRAL_MSG_HELLO.rawValue), maps = Int32(CORRAL_MSG_MAPS_PLEASE.rawValue)
    private let pidMsg = Int32(CORRAL_MSG_PID.rawValue), hooks = Int32(CORRAL_MSG_HOOKS.rawValue)
    private let listener = Int32(CORRAL_MSG_SECCOMP_FD.rawValue), ready = Int32(CORRAL_MSG_READY.rawValue)
    private let timens = Int32(CORRAL_MSG_TIMENS_PLEASE.rawValue)

    private func expect(cgroups: Bool = false, userns: Bool = false, fork: Bool = false, hooks: Bool = false,
                        listener: Bool = false, timens: Bool = false) -> Handshake.Expectations {
        Handshake.Expectations(cgroupPlacement: cgroups, userNamespace: userns, intermediate: fork, hooks: hooks,
                               listener: listener, timeOffsets: timens)
    }

    /// Feeds `steps` (message, pid, wanted action) and returns the machine.
    @discardableResult
    private func run(_ e: Handshake.Expectations, _ steps: [(Int32, Int32, Handshake.Action)],
                     file: StaticString = #filePath, line: UInt = #line) throws -> Handshake {
        var h = Handshake(e, firstChild: 100)
        for (type, pid, want) in steps {
            XCTAssertFalse(h.complete, "complete before \(Handshake.name(type))", file: file, line: line)
            XCTAssertEqual(try h.receive(type, pid: pid), want, Handshake.name(type), file: file, line: line)
        }
        XCTAssertTrue(h.complete, "complete at the end", file: file, line: line)
        return h
    }

    func testTheOrdersTheChildProduces() throws {
        // The plainest create: one clone, no cgroups, hooks or listener.
        let plain = try run(expect(), [(ready, 0, .none)])
        XCTAssertEqual(plain.initPid, 100, "without an intermediate the first child is the init")
        // create with cgroups, a user namespace, hooks and a listener.
        try run(expect(cgroups: true, userns: true, hooks: true, listener: true), [
            (hello, 0, .placeInCgroups), (maps, 0, .writeIDMaps), (hooks, 0, .runHooks),
            (listener, 0, .handOverListener), (ready, 0, .none)])
        // must_fork (a joined namespace): PID first, then the init's messages.
        let forked = try run(expect(cgroups: true, fork: true, hooks: true), [
            (hello, 0, .placeInCgroups), (pidMsg, 200, .initPid(200)), (hooks, 0, .runHooks), (ready, 0, .none)])
        XCTAssertEqual(forked.initPid, 200)
        // must_fork where the init's HOOKS overtakes the intermediate's PID: held, run once the pid is known.
        try run(expect(cgroups: true, fork: true, hooks: true), [
            (hello, 0, .placeInCgroups), (hooks, 0, .holdHooks), (pidMsg, 200, .runHooks), (ready, 0, .none)])
        // exec: placement, fork, READY before PID (two processes race), with a listener.
        try run(expect(cgroups: true, fork: true, listener: true), [
            (hello, 0, .placeInCgroups), (listener, 0, .handOverListener), (ready, 0, .none), (pidMsg, 300, .initPid(300))])
        // A new user namespace through unshare in the intermediate (must_fork): maps before PID.
        try run(expect(userns: true, fork: true), [(maps, 0, .writeIDMaps), (pidMsg, 5, .initPid(5)), (ready, 0, .none)])
        // A new time namespace with offsets (user namespace too): the intermediate asks after its maps, before it
        // forks the init.
        try run(expect(cgroups: true, userns: true, fork: true, hooks: true, timens: true), [
            (hello, 0, .placeInCgroups), (maps, 0, .writeIDMaps), (timens, 0, .writeTimeOffsets),
            (pidMsg, 6, .initPid(6)), (hooks, 0, .runHooks), (ready, 0, .none)])
    }

    func testMessagesThatAreOffRepeatedOrOutOfOrderAreRefused() throws {
        let cases: [(String, Handshake.Expectations, [Int32], Int32, String)] = [
            ("HELLO without cgroups", expect(), [], hello, "no cgroup placement was asked for"),
            ("HELLO twice", expect(cgroups: true), [hello], hello, "a second time"),
            ("HELLO after maps", expect(cgroups: true, userns: true), [], maps, "before the cgroup placement"),
            ("maps without a user namespace", expect(), [], maps, "no new user namespace"),
            ("maps twice", expect(userns: true), [maps], maps, "a second time"),
            ("PID without an intermediate", expect(), [], pidMsg, "there is no intermediate process"),
            ("PID twice", expect(fork: true), [pidMsg], pidMsg, "a second time"),
            ("PID before maps", expect(userns: true, fork: true), [], pidMsg, "before the id maps"),
            ("hooks not configured", expect(), [], hooks, "no create-time hooks are configured"),
            ("hooks twice", expect(hooks: true), [hooks], hooks, "a second time"),
            ("hooks before maps", expect(userns: true, hooks: true), [], hooks, "before the id maps"),
            ("listener not configured", expect(), [], listener, "no seccomp listener is configured"),
            ("listener twice", expect(listener: true), [listener], listener, "a second time"),
            ("listener before hooks", expect(hooks: true, listener: true), [], listener, "before the create-time hooks"),
            ("READY before hooks", expect(hooks: true), [], ready, "before the create-time hooks"),
            ("READY before the listener", expect(listener: true), [], ready, "before the seccomp listener"),
            ("READY before GO", expect(cgroups: true), [], ready, "before the cgroup placement"),
            ("anything after READY", expect(), [ready], ready, "it is already ready"),
            ("HELLO after READY", expect(cgroups: true), [hello, ready], hello, "it is already ready"),
            ("not a child's message", expect(), [], Int32(CORRAL_MSG_GO.rawValue), "not a message the child sends"),
            ("time offsets not configured", expect(fork: true), [], timens, "no time offsets are configured"),
            ("time offsets twice", expect(fork: true, timens: true), [timens], timens, "a second time"),
            ("time offsets before maps", expect(userns: true, fork: true, timens: true), [], timens, "before the id maps"),
            ("PID before time offsets", expect(fork: true, timens: true), [], pidMsg, "before the time offsets"),
            ("READY before time offsets", expect(fork: true, timens: true), [], ready, "before the time offsets"),
        ]
        for (name, e, before, type, why) in cases {
            var h = Handshake(e, firstChild: 100)
            for t in before { _ = try h.receive(t, pid: t == pidMsg ? 7 : 0) }
            XCTAssertThrowsError(try h.receive(type, pid: type == pidMsg ? 8 : 0), name) { error in
                let message = (error as? RuntimeError)?.message ?? ""
                XCTAssertTrue(message.hasSuffix(why), "\(name): \(message)")
                XCTAssertEqual((error as? RuntimeError)?.code, .childSetup, name)
            }
        }
        var zero = Handshake(expect(fork: true), firstChild: 100)
        XCTAssertThrowsError(try zero.receive(pidMsg, pid: 0), "a PID message without a pid")
    }

    func testCompleteNeedsBothReadyAndThePid() throws {
        var h = Handshake(expect(fork: true), firstChild: 100)
        _ = try h.receive(ready)
        XCTAssertFalse(h.complete, "READY alone, the init's pid still unknown")
        _ = try h.receive(pidMsg, pid: 9)
        XCTAssertTrue(h.complete)
    }
}
