// ExecPlanner unit tests (no root): runc's flag form of `exec`, the process checks and texts, --cgroup sub-paths and
// the plan's defaults from the container's saved config.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class ExecPlannerTests: XCTestCase {
    private func spec(_ edits: [(String, String?)] = []) throws -> Spec {
        try Spec.decode(PlanFixture.config(edits))
    }

    private func message(_ body: () throws(RuntimeError) -> Void) -> String? {
        do throws(RuntimeError) { try body(); return nil } catch { return error.message }
    }

    // MARK: flag form

    func testFlagFormStartsFromTheConfigProcess() throws {
        let config = try spec([("process.terminal", "true"), ("process.noNewPrivileges", "true"),
                               ("process.capabilities", "{\"bounding\": [\"CAP_KILL\"]}")])
        var f = ExecFlags()
        f.cwd = "/tmp"
        f.env = ["A=1", "B=2"]
        f.user = "1001:5"
        f.additionalGids = ["7", "8"]
        f.caps = ["CAP_NET_RAW"]
        let p = try ExecPlanner.processFromFlags(config, args: ["sh", "-c", "x", "--foo"], flags: f)
        XCTAssertEqual(p.args, ["sh", "-c", "x", "--foo"])
        XCTAssertEqual(p.cwd, "/tmp")
        XCTAssertEqual(p.env, ["PATH=/bin", "A=1", "B=2"], "flags append to the config's env")
        XCTAssertEqual(p.user.uid, 1001)
        XCTAssertEqual(p.user.gid, 5)
        XCTAssertEqual(p.user.additionalGids, [7, 8])
        XCTAssertEqual(p.terminal, false, "without --tty there is no terminal, whatever the config says (runc)")
        XCTAssertEqual(p.noNewPrivileges, true, "the config's value stays without --no-new-privs")
        XCTAssertEqual(p.capabilities?.bounding, ["CAP_KILL", "CAP_NET_RAW"])
        XCTAssertEqual(p.capabilities?.effective, ["CAP_NET_RAW"])
        XCTAssertEqual(p.capabilities?.permitted, ["CAP_NET_RAW"])
        XCTAssertEqual(p.capabilities?.ambient, ["CAP_NET_RAW"])
        XCTAssertNil(p.capabilities?.inheritable)

        f = ExecFlags()
        f.tty = true
        f.noNewPrivs = false
        f.user = "42"
        let q = try ExecPlanner.processFromFlags(config, args: ["true"], flags: f)
        XCTAssertEqual(q.terminal, true)
        XCTAssertEqual(q.noNewPrivileges, false)
        XCTAssertEqual(q.user.uid, 42)
        XCTAssertEqual(q.user.gid, 0, "the config's gid stays when --user has none")
        XCTAssertEqual(q.cwd, "/")
    }

    func testFlagFormErrorsAreRuncs() throws {
        let config = try spec()
        func fail(_ edit: (inout ExecFlags) -> Void) -> String? {
            var f = ExecFlags()
            edit(&f)
            return message { () throws(RuntimeError) in _ = try ExecPlanner.processFromFlags(config, args: ["true"], flags: f) }
        }
        XCTAssertEqual(fail { $0.user = "x" }, "parsing x as int for uid failed: strconv.Atoi: parsing \"x\": invalid syntax")
        XCTAssertEqual(fail { $0.user = "1:abc" }, "parsing abc as int for gid failed: strconv.Atoi: parsing \"abc\": invalid syntax")
        XCTAssertEqual(fail { $0.user = "-1" }, "parsing -1 as int for uid failed: strconv.Atoi: parsing \"-1\": value out of range")
        XCTAssertEqual(fail { $0.additionalGids = ["-1"] }, "additional-gids must be a positive number -1")
        XCTAssertEqual(fail { $0.additionalGids = ["x"] }, "invalid value \"x\" for flag -additional-gids: parse error")
        XCTAssertEqual(message { () throws(RuntimeError) in
            _ = try ExecPlanner.processFromFlags(try! spec([("process", nil)]), args: ["true"], flags: ExecFlags())
        }, "process: required field is missing")
    }

    func testValidateAndTerminalChecks() throws {
        var p = try XCTUnwrap(try spec().process)
        XCTAssertNil(message { () throws(RuntimeError) in try ExecPlanner.validate(p) })
        p.cwd = "rel"
        XCTAssertEqual(message { () throws(RuntimeError) in try ExecPlanner.validate(p) }, "Cwd must be an absolute path")
        p.cwd = ""
        XCTAssertEqual(message { () throws(RuntimeError) in try ExecPlanner.validate(p) }, "Cwd property must not be empty")
        p.cwd = "/"
        p.args = []
        XCTAssertEqual(message { () throws(RuntimeError) in try ExecPlanner.validate(p) }, "args must not be empty")

        // runc's checkTerminal: (terminal, detach, console socket) → error or none.
        let detachNoSocket = "cannot allocate tty if corral will detach without setting console socket"
        let uselessSocket = "cannot use console socket if corral will not detach or allocate tty"
        let cases: [(Bool, Bool, Bool, String?)] = [
            (false, false, false, nil), (true, false, false, nil), (false, true, false, nil), (true, true, true, nil),
            (true, true, false, detachNoSocket), (false, true, true, uselessSocket), (true, false, true, uselessSocket),
            (false, false, true, uselessSocket),
        ]
        for (tty, detach, socket, want) in cases {
            XCTAssertEqual(message { () throws(RuntimeError) in
                try ExecPlanner.checkTerminal(terminal: tty, detach: detach, consoleSocket: socket)
            }, want, "tty \(tty) detach \(detach) socket \(socket)")
        }
    }

    // MARK: --cgroup

    func testSubCgroups() throws {
        var set = CgroupSet()
        set.add("cpu", "/sys/fs/cgroup/cpu,cpuacct/c1")
        set.add("cpuacct", "/sys/fs/cgroup/cpu,cpuacct/c1")
        set.add("memory", "/sys/fs/cgroup/memory/c1")
        set.add("", "/sys/fs/cgroup/unified/c1")
        XCTAssertEqual(try ExecPlanner.cgroups(set, sub: []), set)

        let all = try XCTUnwrap(try ExecPlanner.cgroups(set, sub: ["sub/x"]))
        XCTAssertEqual(all.v1("memory"), "/sys/fs/cgroup/memory/c1/sub/x")
        XCTAssertEqual(all.v2, "/sys/fs/cgroup/unified/c1/sub/x")

        // One controller of a co-mounted pair moves its whole hierarchy; the others stay.
        let cpu = try XCTUnwrap(try ExecPlanner.cgroups(set, sub: ["cpu:s"]))
        XCTAssertEqual(cpu.v1("cpu"), "/sys/fs/cgroup/cpu,cpuacct/c1/s")
        XCTAssertEqual(cpu.v1("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/c1/s")
        XCTAssertEqual(cpu.v1("memory"), "/sys/fs/cgroup/memory/c1")
        XCTAssertEqual(cpu.v2, "/sys/fs/cgroup/unified/c1")

        let two = try XCTUnwrap(try ExecPlanner.cgroups(set, sub: ["memory,cpu:a", "cpuacct:a"]))
        XCTAssertEqual(two.v1("memory"), "/sys/fs/cgroup/memory/c1/a")

        func fail(_ args: [String]) -> String? { message { () throws(RuntimeError) in _ = try ExecPlanner.cgroups(set, sub: args) } }
        XCTAssertEqual(fail(["../c2"]), "bad sub cgroup path: ../c2 is not a sub cgroup path")
        XCTAssertEqual(fail(["memory:../../x"]), "bad sub cgroup path: ../../x is not a sub cgroup path")
        XCTAssertEqual(fail(["a:b:c"]), "invalid --cgroup argument: a:b:c")
        XCTAssertEqual(fail(["x", "memory:y"]), "invalid --cgroup argument: x (missing <controller>: prefix)")
        XCTAssertEqual(fail(["pids:x"]), "unknown controller pids in --cgroup")
        XCTAssertEqual(fail([":x"]), "invalid --cgroup argument: :x (empty <controller> prefix)")
        XCTAssertEqual(message { () throws(RuntimeError) in _ = try ExecPlanner.cgroups(nil, sub: ["x"]) },
                       "--cgroup: the container has no cgroups recorded")
    }

    // MARK: the plan

    private func plan(_ config: Spec, _ process: CorralSpec.Process, flags: UInt64 = 0x6c02_0000) throws -> LaunchPlan {
        let target = ExecTarget(enterFlags: flags, accountsRoot: "/nonexistent-corral-unit", setGroupsAllowed: false)
        return try ExecPlanner.plan(config: config, process: process, target: target, id: "c1", noNewKeyring: false,
                                    preserveFDs: 2, seccompCacheDir: nil, warn: { _ in })
    }

    func testPlanJoinsWithoutRootfsWorkAndTakesDefaultsFromTheConfig() throws {
        let config = try spec([("process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 100, \"hard\": 200}]"),
                               ("process.noNewPrivileges", "true"),
                               ("process.user.umask", "63")])
        var process = try XCTUnwrap(config.process)
        process.args = ["id"]
        process.rlimits = nil
        process.noNewPrivileges = nil
        process.user.umask = nil
        let p = try plan(config, process)
        XCTAssertEqual(ExecPlanner.namespaceFlags(config), 0x6c02_0000, "pid, network, ipc, uts, mount")
        XCTAssertEqual(p.enterFlags, 0x6c02_0000)
        // A joined pid namespace applies to children only: the parent enters it for its child around clone3, and
        // only a time namespace still makes the child fork once more.
        XCTAssertFalse(p.mustFork, "no second fork for a pid namespace")
        XCTAssertTrue(p.pidNamespaceInParent)
        let timed = try plan(config, process, flags: 0x6c02_0000 | Planner.cloneNewTime)
        XCTAssertTrue(timed.mustFork, "a joined time namespace applies to children only")
        XCTAssertFalse(timed.pidNamespaceInParent)
        let hostPid = try plan(config, process, flags: 0x4c02_0000)   // the container shares the host's pid namespace
        XCTAssertFalse(hostPid.mustFork || hostPid.pidNamespaceInParent)
        XCTAssertFalse(p.mountNS, "no rootfs work")
        XCTAssertTrue(p.mounts.isEmpty && p.devices.isEmpty && p.joins.isEmpty)
        XCTAssertEqual(p.cloneFlags, 0)
        XCTAssertEqual(p.unshareFlags, 0)
        XCTAssertNil(p.hostname)
        XCTAssertEqual(p.args, ["id"])
        XCTAssertEqual(p.rlimits.count, 1, "no rlimits in the process: the container's apply (runc)")
        XCTAssertEqual(p.rlimits.first?.1, 100)
        XCTAssertFalse(p.noNewPrivileges, "an absent noNewPrivileges is false, as Go decodes it")
        XCTAssertEqual(p.umask, -1, "0022 unless the process sets one")
        XCTAssertFalse(p.setGroups)
        XCTAssertEqual(p.keyringName, "_ses.c1")
        XCTAssertEqual(p.preserveFDs, 2)
        XCTAssertEqual(p.env, ["PATH=/bin", "HOME=/"])
        XCTAssertNil(p.host.oomScoreAdj, "oom_score_adj is inherited, as with runc 1.1")
        XCTAssertNil(p.personality, "no linux.personality in the config")
        XCTAssertNil(p.scheduler)
        XCTAssertNil(p.ioPriority)
        XCTAssertNil(p.cpuAffinity)
        XCTAssertNil(p.memoryPolicy)

        process.rlimits = [POSIXRlimit(type: .RLIMIT_NPROC, hard: 9, soft: 8)]
        process.noNewPrivileges = true
        let q = try plan(config, process)
        XCTAssertEqual(q.rlimits.count, 1)
        XCTAssertEqual(q.rlimits.first?.1, 8, "the process's own rlimits replace the container's")
        XCTAssertTrue(q.noNewPrivileges)
    }

    func testPlanRefusesWhatCreateRefuses() throws {
        let config = try spec()
        var process = try XCTUnwrap(config.process)
        process.scheduler = Scheduler(policy: .SCHED_RR)
        XCTAssertThrowsError(try plan(config, process)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "process.scheduler.priority: SCHED_RR needs a priority in 1..99 (got 0)")
        }
        process.scheduler = nil
        process.rlimits = [POSIXRlimit(type: .RLIMIT_NOFILE, hard: 1, soft: 2)]
        XCTAssertThrowsError(try plan(config, process)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "process.rlimits: RLIMIT_NOFILE: soft limit 2 is above the hard limit 1")
        }
    }
}
