// Hooks without root: planning (argv/env defaults, refusals by JSON path), hooks.json round trips, the state
// document, and the C runner itself on host commands (exit status, captured output, timeout, exec errors, the
// state on stdin) with runc's error texts.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class HookPlanTests: XCTestCase {
    func testPlannedHooksKeepArgsEnvAndTimeoutAsGiven() throws {
        let bundle = UnitBundle()
        let c = PlanFixture.config([("hooks", """
            {"prestart": [{"path": "/usr/bin/netns-setup"}],
             "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "x"], "env": ["A=1", "A=2"], "timeout": 7}],
             "poststop": [{"path": "/bin/true", "args": []}, {"path": "/bin/false", "env": []}]}
            """)])
        let p = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle))
        XCTAssertEqual(p.hooks[.prestart], [PlannedHook(path: "/usr/bin/netns-setup", argv: ["/usr/bin/netns-setup"], env: nil, timeout: nil)],
                       "no args: argv is [path]; no env: nil, the runtime's own environment (as runc)")
        XCTAssertEqual(p.hooks[.poststop].map(\.env), [nil, []], "an empty env stays empty")
        XCTAssertEqual(p.hooks[.createContainer], [PlannedHook(path: "/bin/sh", argv: ["sh", "-c", "x"], env: ["A=1", "A=2"], timeout: 7)])
        XCTAssertEqual(p.hooks[.poststop].map(\.argv), [["/bin/true"], ["/bin/false"]], "empty args: argv is [path], as Go's exec")
        XCTAssertTrue(p.hooks[.createRuntime].isEmpty)
        XCTAssertTrue(p.hooks.runsBeforePivot)
    }

    func testOnlyCreateTimeHooksNeedTheSyncBeforePivot() throws {
        let bundle = UnitBundle()
        for kind in HookKind.allCases {
            let c = PlanFixture.config([("hooks", "{\"\(kind.rawValue)\": [{\"path\": \"/bin/true\"}]}")])
            let p = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle))
            XCTAssertEqual(p.hooks[kind].count, 1, kind.rawValue)
            XCTAssertEqual(p.hooks.runsBeforePivot, [.prestart, .createRuntime, .createContainer].contains(kind), kind.rawValue)
        }
        let none = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("hooks", "{\"prestart\": [], \"poststop\": []}")]), bundle: bundle))
        XCTAssertTrue(none.hooks.isEmpty)
        XCTAssertFalse(none.hooks.runsBeforePivot)
    }

    func testInvalidHooksAreRefusedNamingTheField() {
        let bundle = UnitBundle()
        PlanFixture.expectError(PlanFixture.config([("hooks", "{\"poststart\": [{\"path\": \"/bin/true\"}, {\"path\": \"hook.sh\"}]}")]),
                                bundle: bundle, .config, "hooks.poststart[1].path: must be an absolute path, got \"hook.sh\"")
        // A zero or negative timeout is refused when config.json is decoded, with the same path and value...
        for t in [0, -3] {
            let text = PlanFixture.config([("hooks", "{\"createRuntime\": [{\"path\": \"/bin/true\", \"timeout\": \(t)}]}")]).serialized()
            XCTAssertThrowsError(try Spec.parse(Array(text.utf8))) { e in
                XCTAssertEqual((e as? SpecError)?.description, "hooks.createRuntime[0].timeout: must be greater than zero, got \(t)")
            }
        }
        // ...and again by the planner, for a Spec built in code.
        for t in [0, -1] {
            let hooks = Hooks(startContainer: [Hook(path: "/bin/true"), Hook(path: "/bin/true", timeout: t)])
            XCTAssertThrowsError(try HookPlan.plan(hooks)) { e in
                XCTAssertEqual((e as? RuntimeError)?.message, "hooks.startContainer[1].timeout: must be greater than zero, got \(t)")
                XCTAssertEqual((e as? RuntimeError)?.code, .config)
            }
        }
    }

    func testHookFileKeepsOnlyWhatRunsAfterCreate() throws {
        var plan = HookPlan()
        plan[.prestart] = [PlannedHook(path: "/p", argv: ["/p"], env: [], timeout: nil)]
        XCTAssertNil(HookFile.contents(plan), "no hooks.json when nothing runs after create")
        plan[.startContainer] = [PlannedHook(path: "/s", argv: ["s", "a b"], env: ["X=1"], timeout: 3)]
        plan[.poststop] = [PlannedHook(path: "/q", argv: ["/q"], env: [], timeout: nil),
                           PlannedHook(path: "/r", argv: ["r"], env: ["Y=\"quoted\""], timeout: 1)]
        let bytes = try XCTUnwrap(HookFile.contents(plan))
        let bundle = UnitBundle()
        bundle.file(HookFile.name, String(decoding: bytes, as: UTF8.self))
        let loaded = try HookFile.load(dir: bundle.dir)
        XCTAssertEqual(loaded[.startContainer], plan[.startContainer])
        XCTAssertEqual(loaded[.poststop], plan[.poststop])
        XCTAssertTrue(loaded[.prestart].isEmpty, "create-time hooks are not kept")
        XCTAssertTrue(loaded[.poststart].isEmpty)
        XCTAssertTrue(try HookFile.load(dir: bundle.dir + "/rootfs").isEmpty, "no file: no hooks")
        bundle.file("rootfs/" + HookFile.name, "{\"poststop\": [{\"path\": 1}]}")
        XCTAssertThrowsError(try HookFile.load(dir: bundle.rootfs))
    }

    func testSpecStateIsRuncsStateDocument() {
        let running = ContainerState.specState(id: "c1", status: .running, pid: 42, bundle: "/b", annotations: ["z": "1", "a": "2"])
        XCTAssertEqual(JSONValue.object(running).serialized(),
                       #"{"ociVersion":"\#(Version.spec)","id":"c1","status":"running","pid":42,"bundle":"/b","annotations":{"a":"2","z":"1"}}"#)
        let stopped = ContainerState.specState(id: "c1", status: .stopped, pid: 0, bundle: "/b", annotations: [:])
        XCTAssertEqual(JSONValue.object(stopped).serialized(),
                       #"{"ociVersion":"\#(Version.spec)","id":"c1","status":"stopped","bundle":"/b"}"#, "no pid once stopped (omitempty)")
    }

    // MARK: the runner on host commands

    private func sh(_ script: String, timeout: Int? = nil, env: [String] = []) -> PlannedHook {
        PlannedHook(path: "/bin/sh", argv: ["sh", "-c", script], env: env, timeout: timeout)
    }

    private let state = ContainerState.specState(id: "unit", status: .creating, pid: 7, bundle: "/b", annotations: [:])

    private func failure(_ kind: HookKind, _ hooks: [PlannedHook], cwd: String? = nil) -> String? {
        do { try HookRunner.run(kind, hooks, state: state, cwd: cwd); return nil } catch { return error.message }
    }

    func testExitStatusAndOutputAreReportedAsRuncDoes() {
        XCTAssertNil(failure(.prestart, [sh("exit 0"), sh("true")]))
        XCTAssertEqual(failure(.prestart, [sh("true"), sh("echo out; echo err >&2; exit 3")]),
                       "error running prestart hook #1: error running hook: exit status 3, stdout: out\n, stderr: err\n")
        XCTAssertEqual(failure(.createRuntime, [sh("kill -9 $$")]),
                       "error running createRuntime hook #0: error running hook: signal: killed, stdout: , stderr: ")
        // Go's names for every signal (bats seccomp.bats looks for "bad system call"); a core dump is said.
        // (" (core dumped)" follows the name where the host's core_pattern dumps it, e.g. through a pipe.)
        XCTAssertEqual(failure(.poststart, [sh("kill -SYS $$")])?.hasPrefix("error running poststart hook #0: error running hook: signal: bad system call"), true)
        XCTAssertEqual(failure(.poststart, [sh("kill -XCPU $$")])?.hasPrefix("error running poststart hook #0: error running hook: signal: CPU time limit exceeded"), true)
    }

    func testLaterHooksDoNotRunAfterAFailure() throws {
        let bundle = UnitBundle()
        let marker = bundle.dir + "/ran"
        XCTAssertNotNil(failure(.createRuntime, [sh("exit 1"), sh("touch \(marker)")]))
        XCTAssertFalse(Files.exists(marker))
    }

    func testTimeoutKillsTheHook() {
        func monotonic() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let start = monotonic()
        XCTAssertEqual(failure(.createRuntime, [sh("sleep 30", timeout: 1)]),
                       "error running createRuntime hook #0: hook ran past specified timeout of 1.0s")
        let elapsed = monotonic() - start
        XCTAssertLessThan(elapsed, 10, "the sleeping hook was killed at its timeout")
        XCTAssertGreaterThanOrEqual(elapsed, 0.9)
        XCTAssertNil(failure(.createRuntime, [sh("exit 0", timeout: 5)]), "a hook within its timeout succeeds")
    }

    func testExecErrorsUseGosWording() {
        XCTAssertEqual(failure(.poststop, [PlannedHook(path: "/nonexistent-hook", argv: ["x"], env: [], timeout: nil)]),
                       "error running poststop hook #0: fork/exec /nonexistent-hook: no such file or directory")
        XCTAssertEqual(failure(.poststop, [PlannedHook(path: "/etc/passwd", argv: ["x"], env: [], timeout: nil)]),
                       "error running poststop hook #0: fork/exec /etc/passwd: permission denied")
        XCTAssertEqual(failure(.prestart, [sh("true")], cwd: "/nonexistent-dir"),
                       "error running prestart hook #0: chdir: no such file or directory")
    }

    func testStateArgsEnvAndCwdReachTheHook() throws {
        let bundle = UnitBundle()
        let out = bundle.dir + "/out"
        // Two hooks read the same state: each starts at offset 0 of the sealed memfd.
        let script = "cat > \(out).$1; echo \"$0|$1|$(env | sort | tr '\\n' ' ')|$(pwd)\" >> \(out)"
        let hooks = [PlannedHook(path: "/bin/sh", argv: ["sh", "-c", script, "zero", "1"], env: ["B=2", "A=1"], timeout: nil),
                     PlannedHook(path: "/bin/sh", argv: ["sh", "-c", script, "zero", "2"], env: [], timeout: nil)]
        try HookRunner.run(.createRuntime, hooks, state: state, cwd: bundle.dir)
        let expected = JSONValue.object(state).serialized()
        XCTAssertEqual(Files.readString(out + ".1"), expected)
        XCTAssertEqual(Files.readString(out + ".2"), expected)
        let lines = (Files.readString(out) ?? "").split(separator: "\n").map(String.init)
        // sh adds PWD (and SHLVL for some shells) itself; nothing of the runtime's environment gets in.
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.first?.hasPrefix("zero|1|A=1 B=2 ") == true, lines.first ?? "")
        XCTAssertTrue(lines.first?.hasSuffix("|\(bundle.dir)") == true, lines.first ?? "")
        XCTAssertFalse(lines.joined().contains("PATH="), "env is exactly as configured: \(lines)")
        XCTAssertTrue(lines.last?.hasPrefix("zero|2|") == true)
    }

    func testHookCannotChangeTheStateLaterHooksRead() throws {
        let bundle = UnitBundle()
        let out = bundle.dir + "/seen"
        try HookRunner.run(.poststart, [sh("(echo tampered >&0) 2>/dev/null || echo refused > \(out).1; (echo x > /dev/stdin) 2>/dev/null || echo refused >> \(out).1; true"),
                                             sh("cat > \(out)")], state: state, cwd: nil)
        XCTAssertEqual(Files.readString(out), JSONValue.object(state).serialized())
        XCTAssertEqual(Files.readString(out + ".1"), "refused\nrefused\n", "the state memfd is sealed against writes")
    }

    func testChattyHookIsCappedAndDoesNotBlock() {
        // 1 MiB on stdout: far past the pipe size and the 4 KiB kept for the message.
        let text = failure(.prestart, [sh("head -c 1048576 /dev/zero | tr '\\0' a; exit 2")])
        XCTAssertNotNil(text)
        XCTAssertTrue(text?.hasPrefix("error running prestart hook #0: error running hook: exit status 2, stdout: aaaa") == true)
        XCTAssertTrue(text?.contains("[\(1_048_576 - HookRunner.captureBytes) more bytes], stderr: ") == true, String(text?.suffix(80) ?? ""))
    }

    func testWarningsDoNotStopTheRemainingHooks() throws {
        let bundle = UnitBundle()
        let marker = bundle.dir + "/ran"
        var warnings: [String] = []
        HookRunner.runWarning(.poststop, [sh("exit 5"), sh("touch \(marker)")], state: state, cwd: nil) { warnings.append($0) }
        XCTAssertEqual(warnings, ["error running poststop hook #0: error running hook: exit status 5, stdout: , stderr: "])
        XCTAssertTrue(Files.exists(marker), "the hook after the failed one still ran")
    }
}
