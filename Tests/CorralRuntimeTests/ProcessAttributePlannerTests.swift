// Planner unit tests (no root) for the scheduling and memory attributes: process.scheduler, process.ioPriority,
// process.execCPUAffinity, linux.memoryPolicy and linux.personality.flags, at create (Planner) and at exec
// (ExecPlanner). Every refusal is checked by its exact text and code. The memory policy and CPU affinity rules
// depend on the host's nodes and CPUs: the expectations are built from /sys, as the planner reads it.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class ProcessAttributePlannerTests: XCTestCase {
    private var bundle: UnitBundle!

    override func setUp() {
        super.setUp()
        bundle = UnitBundle()
    }

    override func tearDown() {
        bundle = nil
        super.tearDown()
    }

    private func plan(_ edits: [(String, String?)], file: StaticString = #filePath, line: UInt = #line) -> LaunchPlan? {
        PlanFixture.plan(PlanFixture.config(edits), bundle: bundle, file: file, line: line)
    }

    private func expect(_ edits: [(String, String?)], _ code: RuntimeError.Code, _ message: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        PlanFixture.expectError(PlanFixture.config(edits), bundle: bundle, code, message, file: file, line: line)
    }

    private func scheduler(_ json: String) -> [(String, String?)] { [("process.scheduler", json)] }

    // MARK: process.scheduler

    func testSchedulerPlansSchedAttr() throws {
        let other = try XCTUnwrap(plan(scheduler(#"{"policy": "SCHED_OTHER", "nice": -5}"#))?.scheduler)
        XCTAssertEqual([other.policy, UInt32(bitPattern: other.nice), other.priority], [0, UInt32(bitPattern: -5), 0])
        XCTAssertEqual(other.text, "SCHED_OTHER nice -5")
        let fifo = try XCTUnwrap(plan(scheduler(#"{"policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}"#))?.scheduler)
        XCTAssertEqual(fifo.policy, 1)
        XCTAssertEqual(fifo.priority, 10)
        XCTAssertEqual(fifo.flags, 0x01)
        XCTAssertTrue(fifo.isRealTime)
        XCTAssertEqual(fifo.text, "SCHED_FIFO priority 10 flags SCHED_FLAG_RESET_ON_FORK")
        let rr = try XCTUnwrap(plan(scheduler(#"{"policy": "SCHED_RR", "priority": 99}"#))?.scheduler)
        XCTAssertEqual([rr.policy, rr.priority], [2, 99])
        for (name, number) in [("SCHED_BATCH", 3), ("SCHED_IDLE", 5)] {
            XCTAssertEqual(plan(scheduler("{\"policy\": \"\(name)\"}"))?.scheduler?.policy, UInt32(number), name)
        }
        let dl = try XCTUnwrap(plan(scheduler(#"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 2000000, "period": 4000000, "flags": ["SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RESET_ON_FORK"]}"#))?.scheduler)
        XCTAssertEqual([UInt64(dl.policy), dl.runtime, dl.deadline, dl.period, dl.flags], [6, 1_000_000, 2_000_000, 4_000_000, 0x07])
        XCTAssertTrue(dl.isDeadline)
        // Period 0 means "the deadline" (sched(7)).
        XCTAssertEqual(plan(scheduler(#"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 2000000}"#))?.scheduler?.period, 0)
        XCTAssertNil(plan([])?.scheduler, "no scheduler member: the runtime's stays")
    }

    func testSchedulerRefusalsNameTheFieldAndValue() {
        let cases: [(String, RuntimeError.Code, String)] = [
            (#"{"policy": "SCHED_ISO"}"#, .unsupported, #"process.scheduler.policy: unsupported value "SCHED_ISO" (Linux does not implement it)"#),
            (#"{"policy": "SCHED_OTHER", "nice": 20}"#, .config, "process.scheduler.nice: 20 is outside -20..19"),
            (#"{"policy": "SCHED_BATCH", "nice": -21}"#, .config, "process.scheduler.nice: -21 is outside -20..19"),
            (#"{"policy": "SCHED_FIFO", "priority": 5, "nice": 3}"#, .config,
             "process.scheduler.nice: only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE take a nice value (got 3 with SCHED_FIFO)"),
            (#"{"policy": "SCHED_FIFO"}"#, .config, "process.scheduler.priority: SCHED_FIFO needs a priority in 1..99 (got 0)"),
            (#"{"policy": "SCHED_RR", "priority": 100}"#, .config, "process.scheduler.priority: SCHED_RR needs a priority in 1..99 (got 100)"),
            (#"{"policy": "SCHED_OTHER", "priority": 5}"#, .config,
             "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority (got 5 with SCHED_OTHER)"),
            (#"{"policy": "SCHED_IDLE", "period": 1000000}"#, .config,
             "process.scheduler.period: only SCHED_DEADLINE takes runtime, deadline and period (got 1000000 with SCHED_IDLE)"),
            (#"{"policy": "SCHED_DEADLINE", "deadline": 1000000}"#, .config,
             "process.scheduler.runtime: SCHED_DEADLINE needs a runtime of at least 1024 ns (got 0)"),
            (#"{"policy": "SCHED_DEADLINE", "runtime": 1000, "deadline": 1000000}"#, .config,
             "process.scheduler.runtime: SCHED_DEADLINE needs a runtime of at least 1024 ns (got 1000)"),
            (#"{"policy": "SCHED_DEADLINE", "runtime": 2000000}"#, .config,
             "process.scheduler.deadline: SCHED_DEADLINE needs runtime <= deadline (runtime 2000000, deadline 0)"),
            (#"{"policy": "SCHED_DEADLINE", "runtime": 2000000, "deadline": 1000000}"#, .config,
             "process.scheduler.deadline: SCHED_DEADLINE needs runtime <= deadline (runtime 2000000, deadline 1000000)"),
            (#"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 3000000, "period": 2000000}"#, .config,
             "process.scheduler.period: SCHED_DEADLINE needs deadline <= period (deadline 3000000, period 2000000)"),
            (#"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 3000000, "period": 9223372036854775808}"#, .config,
             "process.scheduler.period: 9223372036854775808 is above 2^63-1 ns"),
            (#"{"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_UTIL_CLAMP_MAX"]}"#, .unsupported,
             #"process.scheduler.flags[0]: unsupported value "SCHED_FLAG_UTIL_CLAMP_MAX" (the spec gives no utilization value to clamp to)"#),
            (#"{"policy": "SCHED_FIFO", "priority": 1, "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"]}"#, .config,
             "process.scheduler.flags[1]: SCHED_FLAG_RECLAIM applies to SCHED_DEADLINE only (policy SCHED_FIFO)"),
        ]
        for (json, code, message) in cases { expect(scheduler(json), code, message) }
    }

    /// The SCHED_DEADLINE period must lie within kernel.sched_deadline_period_min_us..max_us of this host.
    func testDeadlinePeriodWithinTheHostsBounds() throws {
        func sysctl(_ n: String) -> UInt64? { Files.readString("/proc/sys/kernel/" + n).flatMap { UInt64(String($0.trimmingBlanks())) } }
        guard let minUS = sysctl("sched_deadline_period_min_us"), let maxUS = sysctl("sched_deadline_period_max_us"), minUS > 1 else {
            throw XCTSkip("this kernel has no kernel.sched_deadline_period_min_us/max_us")
        }
        let short = minUS * 1000 - 1
        expect(scheduler("{\"policy\": \"SCHED_DEADLINE\", \"runtime\": 1024, \"deadline\": \(short)}"), .config,
               "process.scheduler.deadline: a SCHED_DEADLINE period of \(short) ns is outside this host's \(minUS * 1000)..\(maxUS * 1000) ns (kernel.sched_deadline_period_min_us, kernel.sched_deadline_period_max_us)")
        expect(scheduler("{\"policy\": \"SCHED_DEADLINE\", \"runtime\": 1024, \"deadline\": 2048, \"period\": \(maxUS * 1000 + 1)}"), .config,
               "process.scheduler.period: a SCHED_DEADLINE period of \(maxUS * 1000 + 1) ns is outside this host's \(minUS * 1000)..\(maxUS * 1000) ns (kernel.sched_deadline_period_min_us, kernel.sched_deadline_period_max_us)")
    }

    /// A SCHED_DEADLINE init cannot fork its startContainer hooks unless its children are reset to SCHED_OTHER.
    func testDeadlineInitWithStartContainerHooksNeedsResetOnFork() {
        let hooks = ("hooks", Optional(#"{"startContainer": [{"path": "/bin/true"}]}"#))
        let dl = #"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 2000000}"#
        expect(scheduler(dl) + [hooks], .config,
               "process.scheduler.policy: SCHED_DEADLINE without SCHED_FLAG_RESET_ON_FORK cannot run startContainer hooks (a SCHED_DEADLINE process cannot fork)")
        let reset = #"{"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 2000000, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}"#
        XCTAssertNotNil(plan(scheduler(reset) + [hooks])?.scheduler)
        XCTAssertNotNil(plan(scheduler(dl) + [("hooks", #"{"poststart": [{"path": "/bin/true"}]}"#)])?.scheduler,
                        "other hooks are run by the runtime, not by the init")
    }

    // MARK: process.ioPriority

    func testIOPriority() {
        for (cls, number) in [("IOPRIO_CLASS_RT", 1), ("IOPRIO_CLASS_BE", 2), ("IOPRIO_CLASS_IDLE", 3)] {
            let p = plan([("process.ioPriority", "{\"class\": \"\(cls)\", \"priority\": 7}")])?.ioPriority
            XCTAssertEqual(p?.value, Int32(number << 13 | 7), cls)
            XCTAssertEqual(p?.text, "\(cls) priority 7")
        }
        XCTAssertEqual(plan([("process.ioPriority", #"{"class": "IOPRIO_CLASS_BE", "priority": 0}"#)])?.ioPriority?.value, 2 << 13)
        // runc and crun read a missing priority as 0 (crun's io-priority tests send the class alone).
        XCTAssertEqual(plan([("process.ioPriority", #"{"class": "IOPRIO_CLASS_IDLE"}"#)])?.ioPriority?.value, 3 << 13)
        expect([("process.ioPriority", #"{"class": "IOPRIO_CLASS_BE", "priority": 8}"#)], .config,
               "process.ioPriority.priority: 8 is outside 0..7")
        expect([("process.ioPriority", #"{"class": "IOPRIO_CLASS_RT", "priority": -1}"#)], .config,
               "process.ioPriority.priority: -1 is outside 0..7")
    }

    // MARK: CPU lists and process.execCPUAffinity

    func testCPUListParsing() throws {
        func ids(_ s: String) throws -> [Int]? { try CPUList.parse(s, field: "f")?.ids }
        XCTAssertEqual(try ids("0-3,7"), [0, 1, 2, 3, 7])
        XCTAssertEqual(try ids(" 7 , 1-2,,1 "), [1, 2, 7], "blanks, empty elements and repeats are runc's")
        XCTAssertEqual(try ids("5"), [5])
        XCTAssertNil(try ids(""), "empty means not given")
        XCTAssertEqual(try CPUList.parse("3,0-1,2,9", field: "f")?.description, "0-3,9")
        XCTAssertEqual(try CPUList.parse("0,2,64", field: "f")?.words(), [0b101, 1])
        XCTAssertEqual(try CPUList.parse("1", field: "f")?.words(minBits: 1024).count, 16)
        let bad: [(String, String)] = [
            (",", #"f: invalid list ",": no members"#), (" ", #"f: invalid list " ": no members"#),
            ("0-x", #"f: invalid list "0-x": "x" is not a number"#), ("-1", #"f: invalid list "-1": "" is not a number"#),
            ("3-1", #"f: invalid list "3-1": range "3-1" goes backwards"#), ("0-1-2", #"f: invalid list "0-1-2": "1-2" is not a number"#),
            ("65536", #"f: invalid list "65536": 65536 is above 65535"#),
            ("0-99999999999999999999", #"f: invalid list "0-99999999999999999999": 99999999999999999999 is above 65535"#), ("1 2", #"f: invalid list "1 2": "1 2" is not a number"#),
        ]
        for (text, message) in bad {
            do throws(RuntimeError) { _ = try CPUList.parse(text, field: "f"); XCTFail("accepted \"\(text)\"") } catch {
                XCTAssertEqual(error.message, message)
                XCTAssertEqual(error.code, .config)
            }
        }
    }

    /// Create validates execCPUAffinity but leaves the init alone (the spec exempts it); exec plans both masks.
    func testExecCPUAffinityIsValidatedAtCreateAndPlannedForExec() throws {
        let affinity = ("process.execCPUAffinity", Optional(#"{"initial": "0", "final": "0"}"#))
        let created = try XCTUnwrap(plan([affinity]))
        XCTAssertNil(created.cpuAffinity, "not applicable to the container's init")
        expect([("process.execCPUAffinity", #"{"initial": "0-"}"#)], .config,
               #"process.execCPUAffinity.initial: invalid list "0-": "" is not a number"#)
        if let online = CPUList.host("/sys/devices/system/cpu/online") {
            expect([("process.execCPUAffinity", #"{"final": "65000-65001"}"#)], .config,
                   "process.execCPUAffinity.final: no CPU of \"65000-65001\" is online on this host (online: \(online))")
        }

        let config = try Spec.decode(PlanFixture.config([affinity]))
        let exec = try execPlan(config, try XCTUnwrap(config.process))
        let a = try XCTUnwrap(exec.cpuAffinity, "exec takes the container's execCPUAffinity")
        XCTAssertEqual(a.initial.first, 1)
        XCTAssertEqual(a.final.first, 1)
        XCTAssertEqual([a.initialText, a.finalText], ["0", "0"])
        let possible = CPUList.host("/sys/devices/system/cpu/possible")?.max ?? 1023
        XCTAssertEqual(a.final.count, (possible + 1 + 63) / 64, "a mask covers every possible CPU")
        XCTAssertNil(try execPlan(config, withAffinity(config, #"{"initial": ""}"#)).cpuAffinity, "empty lists: not given")
        let initialOnly = try XCTUnwrap(execPlan(config, withAffinity(config, #"{"initial": "0"}"#)).cpuAffinity)
        XCTAssertTrue(initialOnly.final.isEmpty, "no final: the child resets to every CPU at the end of the setup")
    }

    private func withAffinity(_ config: Spec, _ json: String) throws -> CorralSpec.Process {
        var p = try XCTUnwrap(config.process)
        p.execCPUAffinity = try Spec.decode(PlanFixture.config([("process.execCPUAffinity", json)])).process?.execCPUAffinity
        return p
    }

    private func execPlan(_ config: Spec, _ process: CorralSpec.Process) throws -> LaunchPlan {
        let target = ExecTarget(enterFlags: 0x6c02_0000, accountsRoot: "/nonexistent-corral-unit", setGroupsAllowed: true)
        return try ExecPlanner.plan(config: config, process: process, target: target, id: "c1", noNewKeyring: false,
                                    preserveFDs: 0, seccompCacheDir: nil, warn: { _ in })
    }

    /// exec: scheduler, ioPriority and execCPUAffinity default to the container's, the process's own win;
    /// memoryPolicy and personality are the container's (runc's setns init applies both).
    func testExecDefaultsAndOverrides() throws {
        var edits: [(String, String?)] = [
            ("process.scheduler", #"{"policy": "SCHED_BATCH", "nice": 4}"#),
            ("process.ioPriority", #"{"class": "IOPRIO_CLASS_IDLE", "priority": 0}"#),
            ("linux.personality", #"{"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}"#),
        ]
        let node = CPUList.host(MemoryPolicyPlanner.onlineNodesFile)?.ids.first
        if let node { edits.append(("linux.memoryPolicy", "{\"mode\": \"MPOL_BIND\", \"nodes\": \"\(node)\"}")) }
        let config = try Spec.decode(PlanFixture.config(edits))
        var process = try XCTUnwrap(config.process)
        process.scheduler = nil
        process.ioPriority = nil
        let inherited = try execPlan(config, process)
        XCTAssertEqual(inherited.scheduler?.text, "SCHED_BATCH nice 4")
        XCTAssertEqual(inherited.ioPriority?.value, 3 << 13)
        XCTAssertEqual(inherited.personality, 0x40008)
        if let node { XCTAssertEqual(inherited.memoryPolicy?.text, "MPOL_BIND nodes \(node)") }

        process.scheduler = Scheduler(policy: .SCHED_IDLE)
        process.ioPriority = IOPriority(class: .IOPRIO_CLASS_BE, priority: 6)
        let own = try execPlan(config, process)
        XCTAssertEqual(own.scheduler?.policy, 5)
        XCTAssertEqual(own.ioPriority?.value, 2 << 13 | 6)

        process.ioPriority = IOPriority(class: .IOPRIO_CLASS_BE, priority: 9)
        XCTAssertThrowsError(try execPlan(config, process)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "process.ioPriority.priority: 9 is outside 0..7")
        }
    }

    // MARK: linux.memoryPolicy

    func testMemoryPolicyAgainstThisHost() throws {
        func mp(_ json: String) -> [(String, String?)] { [("linux.memoryPolicy", json)] }
        guard let online = CPUList.host(MemoryPolicyPlanner.onlineNodesFile), let node = online.ids.first else {
            expect(mp(#"{"mode": "MPOL_LOCAL"}"#), .unsupported,
                   "linux.memoryPolicy: this host has no NUMA memory policy support (no /sys/devices/system/node/online)")
            return
        }
        let bind = try XCTUnwrap(plan(mp("{\"mode\": \"MPOL_BIND\", \"nodes\": \"\(node)\", \"flags\": [\"MPOL_F_STATIC_NODES\"]}"))?.memoryPolicy)
        XCTAssertEqual(bind.mode, 2 | 1 << 15)
        XCTAssertEqual(bind.nodes, [1 << UInt64(node)])
        XCTAssertEqual(bind.text, "MPOL_BIND nodes \(node) flags MPOL_F_STATIC_NODES")
        XCTAssertEqual(plan(mp(#"{"mode": "MPOL_DEFAULT"}"#))?.memoryPolicy, MemoryPolicyPlan(mode: 0, nodes: [], text: "MPOL_DEFAULT"))
        XCTAssertEqual(plan(mp(#"{"mode": "MPOL_LOCAL", "nodes": ""}"#))?.memoryPolicy?.mode, 4, "empty nodes: none")
        XCTAssertEqual(plan(mp(#"{"mode": "MPOL_PREFERRED"}"#))?.memoryPolicy?.nodes, [], "no nodes: local allocation")
        // Relative node numbers are positions within the allowed nodes, not host nodes.
        XCTAssertEqual(plan(mp(#"{"mode": "MPOL_INTERLEAVE", "nodes": "0-7", "flags": ["MPOL_F_RELATIVE_NODES"]}"#))?.memoryPolicy?.nodes, [0xff])
        XCTAssertEqual(plan(mp("{\"mode\": \"MPOL_BIND\", \"nodes\": \"\(node)\", \"flags\": [\"MPOL_F_NUMA_BALANCING\"]}"))?.memoryPolicy?.mode,
                       2 | 1 << 13)

        let missing = (online.max ?? 0) + 1
        let cases: [([(String, String?)], String)] = [
            (mp(#"{"mode": "MPOL_BIND"}"#), "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"),
            (mp(#"{"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": ""}"#), "linux.memoryPolicy.nodes: MPOL_WEIGHTED_INTERLEAVE needs at least one node"),
            (mp(#"{"mode": "MPOL_DEFAULT", "nodes": "0"}"#), #"linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes: mode requires 0 nodes but got 1 ("0")"#),
            (mp(#"{"mode": "MPOL_LOCAL", "flags": ["MPOL_F_STATIC_NODES"]}"#), "linux.memoryPolicy.flags[0]: MPOL_LOCAL takes no flags (got MPOL_F_STATIC_NODES)"),
            (mp(#"{"mode": "MPOL_PREFERRED", "flags": ["MPOL_F_RELATIVE_NODES"]}"#), "linux.memoryPolicy.flags[0]: MPOL_F_RELATIVE_NODES needs nodes"),
            (mp("{\"mode\": \"MPOL_BIND\", \"nodes\": \"\(node)\", \"flags\": [\"MPOL_F_RELATIVE_NODES\", \"MPOL_F_STATIC_NODES\"]}"),
             "linux.memoryPolicy.flags[1]: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"),
            (mp("{\"mode\": \"MPOL_INTERLEAVE\", \"nodes\": \"\(node)\", \"flags\": [\"MPOL_F_NUMA_BALANCING\"]}"),
             "linux.memoryPolicy.flags[0]: MPOL_F_NUMA_BALANCING applies to MPOL_BIND and MPOL_PREFERRED_MANY only (mode MPOL_INTERLEAVE)"),
            (mp("{\"mode\": \"MPOL_INTERLEAVE\", \"nodes\": \"\(node),\(missing)\"}"),
             "linux.memoryPolicy.nodes: node \(missing) of \"\(node),\(missing)\" is not online on this host (online: \(online))"),
            (mp(#"{"mode": "MPOL_BIND", "nodes": "1024", "flags": ["MPOL_F_RELATIVE_NODES"]}"#),
             "linux.memoryPolicy.nodes: relative node 1024 is above 1023"),
            (mp(#"{"mode": "MPOL_BIND", "nodes": "zero"}"#), #"linux.memoryPolicy.nodes: invalid memory policy node: invalid list "zero": "zero" is not a number"#),
        ]
        for (edits, message) in cases { expect(edits, .config, message) }
    }

    // MARK: linux.personality

    func testPersonalityFlagsAreORedIntoTheDomain() {
        XCTAssertEqual(plan([("linux.personality", #"{"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}"#)])?.personality, 0x0040000)
        XCTAssertEqual(plan([("linux.personality", #"{"domain": "LINUX32", "flags": ["UNAME26", "ADDR_LIMIT_3GB", "UNAME26"]}"#)])?.personality,
                       0x8020008)
        XCTAssertEqual(plan([("linux.personality", #"{"domain": "LINUX", "flags": []}"#)])?.personality, 0)
        XCTAssertNil(plan([])?.personality)
        expect([("linux.personality", #"{"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE", "PER_BSD"]}"#)], .unsupported,
               #"linux.personality.flags[1]: unsupported value "PER_BSD" (supported: UNAME26, ADDR_NO_RANDOMIZE, FDPIC_FUNCPTRS, MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT, READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT, SHORT_INODE, WHOLE_SECONDS, STICKY_TIMEOUTS, ADDR_LIMIT_3GB)"#)
    }
}
