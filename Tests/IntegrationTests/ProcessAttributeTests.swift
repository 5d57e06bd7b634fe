// Scheduling and memory attributes of the container process, read from inside the container: process.scheduler
// (/proc/self/stat fields 19 nice, 40 rt_priority, 41 policy, and sched_getattr), process.ioPriority (ioprio_get),
// process.execCPUAffinity (Cpus_allowed_list of /proc/<pid>/status), linux.memoryPolicy (get_mempolicy) and
// linux.personality.flags (/proc/self/personality). The kernel's getters busybox has no applet for are called by
// Tests/Probes/attr_probe.c, installed in the rootfs as /probe/attr_probe.
//
// runc 1.1.5 (runtime-spec 1.0.2-dev) implements none of these fields and ignores them silently: every test skips
// under it, naming the field.
import XCTest
import Glibc
import CorralSpec

final class ProcessAttributeTests: IsolationTestCase {
    private var probePath = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        probePath = try EscapeProbes.attrProbe()
        try installProbe(in: bundle)
    }

    /// Copies attr_probe into `b`'s rootfs as /probe/attr_probe (before the container makes the root read-only).
    private func installProbe(in b: TestBundle) throws {
        try makeDirectories(b.rootfs + "/probe")
        let r = runCommand(["install", "-m", "0755", probePath, b.rootfs + "/probe/attr_probe"])
        guard r.status == 0 else { throw HarnessError("install attr_probe: \(r)") }
    }

    /// runc 1.1.5 decodes config.json with runtime-spec 1.0.2-dev types, which lack `field` (added in runtime-spec
    /// `spec`): it runs the container as if the field were absent.
    private func skipUnderRunc(_ field: String, spec: String) throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 ignores \(field): its runtime-spec types (1.0.2-dev) predate the field (runtime-spec \(spec))")
        }
    }

    /// Runs /probe/attr_probe as the container process and returns its key=value report.
    private func probe(file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        keyValueLines(runArgs(["/probe/attr_probe"], file: file, line: line) ?? "")
    }

    /// Fields 19 (nice), 40 (rt_priority) and 41 (policy) of a /proc/<pid>/stat line (after the comm's ")").
    private func statFields(_ line: String) -> (nice: Int?, rtPriority: Int?, policy: Int?) {
        guard let close = line.lastIndex(of: ")") else { return (nil, nil, nil) }
        let f = line[line.index(after: close)...].split(separator: " ").map { Int($0) }
        // f[0] is field 3 (state), so field n is f[n - 3].
        func at(_ n: Int) -> Int? { f.count > n - 3 ? f[n - 3] : nil }
        return (at(19), at(40), at(41))
    }

    /// The kernel has RT group scheduling (cpu.rt_runtime_us in the v1 cpu hierarchy): a new cpu cgroup gives its
    /// real-time tasks no runtime unless linux.resources.cpu.realtimeRuntime says so. Sets that (10 ms a second)
    /// when it can, skips when the test's own cpu cgroup has no real-time runtime to hand down.
    private func allowRealTime(in b: TestBundle) throws {
        let rt = Int((readFile("/proc/sys/kernel/sched_rt_runtime_us") ?? "").trimmed) ?? -1
        if rt == 0 { throw XCTSkip("kernel.sched_rt_runtime_us is 0 on this host: no real-time runtime at all") }
        guard pathExists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") else { return }
        let own = (readFile("/proc/self/cgroup") ?? "").nonEmptyLines
            .first { $0.split(separator: ":", maxSplits: 2).dropFirst().first?.split(separator: ",").contains("cpu") ?? false }
            .map { String($0.split(separator: ":", maxSplits: 2)[2]) } ?? "/"
        let dir = "/sys/fs/cgroup/cpu" + (own == "/" ? "" : own)
        let available = Int((readFile(dir + "/cpu.rt_runtime_us") ?? "").trimmed) ?? 0
        // What sibling cgroups (other containers, other test suites) already hold of it.
        let used = directoryEntries(dir).filter { isDirectory(dir + "/" + $0) }
            .compactMap { Int((readFile(dir + "/" + $0 + "/cpu.rt_runtime_us") ?? "").trimmed) }.reduce(0, +)
        if available != -1 && available - used < 10_000 {
            throw XCTSkip("this test's cpu cgroup (\(own)) has \(available) µs of real-time runtime, \(used) µs of it held by other cgroups: none to give a container")
        }
        b.config["linux"]?["resources"]?["cpu"] = ["realtimeRuntime": 10_000, "realtimePeriod": 1_000_000]
    }

    // MARK: process.scheduler

    func testSchedBatchWithNice() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        bundle.setProcess("scheduler", ["policy": "SCHED_BATCH", "nice": 7])
        let p = probe()
        XCTAssertEqual(p["sched_policy"], "3", "SCHED_BATCH: \(p)")
        XCTAssertEqual(p["sched_nice"], "7", "\(p)")
        // The same through procfs, in a child of the shell (not the last command, which busybox sh would exec in
        // place): the attributes are inherited.
        let stat = statFields(runScript("cat /proc/self/stat; exit 0") ?? "")
        XCTAssertEqual(stat.policy, 3)
        XCTAssertEqual(stat.nice, 7)
        XCTAssertEqual(stat.rtPriority, 0)
    }

    func testSchedIdle() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        bundle.setProcess("scheduler", ["policy": "SCHED_IDLE"])
        XCTAssertEqual(statFields(runScript("cat /proc/self/stat; exit 0") ?? "").policy, 5, "SCHED_IDLE")
    }

    /// SCHED_FIFO with a priority; with SCHED_FLAG_RESET_ON_FORK the process keeps it and its children do not.
    func testSchedFIFOAndResetOnFork() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        try allowRealTime(in: bundle)
        bundle.setProcess("scheduler", ["policy": "SCHED_FIFO", "priority": 10])
        let p = probe()
        XCTAssertEqual(p["sched_policy"], "1", "SCHED_FIFO: \(p)")
        XCTAssertEqual(p["sched_priority"], "10", "\(p)")
        let inherited = statFields(runScript("cat /proc/self/stat; exit 0") ?? "")
        XCTAssertEqual(inherited.policy, 1, "children inherit the policy")
        XCTAssertEqual(inherited.rtPriority, 10)

        bundle.setProcess("scheduler", ["policy": "SCHED_RR", "priority": 3, "flags": ["SCHED_FLAG_RESET_ON_FORK"]])
        // The shell's own stat (read by a builtin), then a forked child's.
        let out = (runScript("read -r l < /proc/self/stat; echo \"$l\"; cat /proc/self/stat; exit 0") ?? "").nonEmptyLines
        XCTAssertEqual(out.count, 2, "\(out)")
        let shell = statFields(out.first ?? ""), child = statFields(out.last ?? "")
        XCTAssertEqual(shell.policy, 2, "the process: SCHED_RR")
        XCTAssertEqual(shell.rtPriority, 3)
        XCTAssertEqual(child.policy, 0, "reset on fork: SCHED_OTHER in the child")
        XCTAssertEqual(child.rtPriority, 0)
    }

    func testSchedDeadline() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        bundle.setProcess("scheduler", ["policy": "SCHED_DEADLINE", "runtime": 1_000_000, "deadline": 10_000_000,
                                        "period": 20_000_000])
        let p = probe()
        XCTAssertEqual(p["sched_policy"], "6", "SCHED_DEADLINE: \(p)")
        XCTAssertEqual(p["sched_runtime"], "1000000", "\(p)")
        XCTAssertEqual(p["sched_deadline"], "10000000", "\(p)")
        XCTAssertEqual(p["sched_period"], "20000000", "\(p)")
    }

    /// A policy the kernel refuses in the child fails `create` with a text naming the field and the value, and
    /// leaves nothing behind: with RT group scheduling, a new cpu cgroup without linux.resources.cpu.realtimeRuntime
    /// has no real-time runtime, and sched_setattr(SCHED_FIFO) fails with EPERM even for root.
    func testRefusedPolicyFailsCreateNamingTheField() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        guard pathExists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us") else {
            throw XCTSkip("no RT group scheduling (cpu.rt_runtime_us) on this host: nothing refuses SCHED_FIFO to root")
        }
        bundle.setProcess("scheduler", ["policy": "SCHED_FIFO", "priority": 10])
        bundle.setArgs(["/bin/true"])
        try bundle.writeConfig()
        runtime.expectCleanFailure(bundle: bundle, id: runtime.id("fifo"),
                                   message: "error during container init: process.scheduler: sched_setattr SCHED_FIFO priority 10: operation not permitted (a real-time policy needs CAP_SYS_NICE outside a user namespace, and real-time runtime in the container's cpu cgroup where the kernel has RT group scheduling: linux.resources.cpu.realtimeRuntime)")
    }

    /// The planner's refusals reach the user unchanged, before anything exists.
    func testInvalidSchedulerIsRefusedBeforeAnythingRuns() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        bundle.setProcess("scheduler", ["policy": "SCHED_RR"])
        bundle.setArgs(["/bin/true"])
        try bundle.writeConfig()
        runtime.expectCleanFailure(bundle: bundle, id: runtime.id("rr"),
                                   message: "process.scheduler.priority: SCHED_RR needs a priority in 1..99 (got 0)")
    }

    // MARK: process.ioPriority

    func testIOPriority() throws {
        try skipUnderRunc("process.ioPriority", spec: "1.1")
        for (cls, number, level) in [("IOPRIO_CLASS_BE", "2", 6), ("IOPRIO_CLASS_RT", "1", 3), ("IOPRIO_CLASS_IDLE", "3", 0)] {
            bundle.setProcess("ioPriority", ["class": .string(cls), "priority": .number(String(level))])
            let p = probe()
            XCTAssertEqual(p["ioprio_class"], number, "\(cls): \(p)")
            XCTAssertEqual(p["ioprio_level"], String(level), "\(cls): \(p)")
        }
        // busybox's ionice reads it back too, in a forked child of the shell.
        bundle.setProcess("ioPriority", ["class": "IOPRIO_CLASS_BE", "priority": 6])
        XCTAssertEqual(runScript("ionice; exit 0")?.trimmed, "best-effort: prio 6")
    }

    /// A class without "priority" is priority 0, as runc and crun read it (crun's io-priority tests send that).
    func testIOPriorityWithoutPriorityIsZero() throws {
        try skipUnderRunc("process.ioPriority", spec: "1.1")
        bundle.setProcess("ioPriority", ["class": "IOPRIO_CLASS_BE"])
        XCTAssertEqual(runScript("ionice; exit 0")?.trimmed, "best-effort: prio 0")
    }

    // MARK: linux.memoryPolicy

    func testMemoryPolicy() throws {
        try skipUnderRunc("linux.memoryPolicy", spec: "1.3")
        guard let online = (readFile("/sys/devices/system/node/online") ?? "").trimmed.split(separator: ",").first,
              let node = Int(online.split(separator: "-")[0]) else {
            throw XCTSkip("this host has no NUMA memory policy support (no /sys/devices/system/node/online)")
        }
        bundle.setLinux("memoryPolicy", ["mode": "MPOL_BIND", "nodes": .string(String(node)), "flags": ["MPOL_F_STATIC_NODES"]])
        var p = probe()
        XCTAssertEqual(p["mempolicy_mode"], "2", "MPOL_BIND: \(p)")
        XCTAssertEqual(p["mempolicy_flags"], "0x8000", "MPOL_F_STATIC_NODES: \(p)")
        XCTAssertEqual(p["mempolicy_nodes"], String(node), "\(p)")

        bundle.setLinux("memoryPolicy", ["mode": "MPOL_INTERLEAVE", "nodes": .string(String(node))])
        p = probe()
        XCTAssertEqual(p["mempolicy_mode"], "3", "MPOL_INTERLEAVE: \(p)")
        XCTAssertEqual(p["mempolicy_flags"], "0x0", "\(p)")
        XCTAssertEqual(p["mempolicy_nodes"], String(node), "\(p)")

        bundle.setLinux("memoryPolicy", ["mode": "MPOL_LOCAL"])
        XCTAssertEqual(probe()["mempolicy_mode"], "4", "MPOL_LOCAL")
    }

    /// A node this host does not have is refused by `create` before anything exists.
    func testMemoryPolicyNodeMissingOnTheHost() throws {
        try skipUnderRunc("linux.memoryPolicy", spec: "1.3")
        guard let text = readFile("/sys/devices/system/node/online")?.trimmed, !text.isEmpty else {
            throw XCTSkip("this host has no NUMA memory policy support (no /sys/devices/system/node/online)")
        }
        bundle.setLinux("memoryPolicy", ["mode": "MPOL_INTERLEAVE", "nodes": "0-4095"])
        bundle.setArgs(["/bin/true"])
        try bundle.writeConfig()
        let r = runtime.expectCleanFailure(bundle: bundle, id: runtime.id("mpol"),
                                           message: "is not online on this host (online: \(text))")
        XCTAssertTrue(r.stderr.contains("linux.memoryPolicy.nodes: node "), r.stderr)
    }

    // MARK: linux.personality.flags

    func testPersonalityFlags() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 ignores linux.personality: it decodes the field but never applies it") }
        bundle.setLinux("personality", ["domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]])
        XCTAssertEqual(probe()["personality"], "0x40008", "PER_LINUX32 | ADDR_NO_RANDOMIZE")
        let out = (runScript("cat /proc/self/personality; uname -m; exit 0") ?? "").nonEmptyLines
        XCTAssertEqual(out, ["00040008", "i686"], "inherited by the shell's children")
        bundle.setLinux("personality", ["domain": "LINUX", "flags": ["UNAME26"]])
        XCTAssertEqual(runScript("cat /proc/self/personality")?.trimmed, "00020000")
    }

    // MARK: exec

    /// exec: the container's scheduler, I/O priority, memory policy and personality apply to the exec'd process;
    /// a process.json scheduler replaces the container's.
    func testExecGetsTheContainersAttributes() throws {
        try skipUnderRunc("process.scheduler", spec: "1.1")
        bundle.setProcess("scheduler", ["policy": "SCHED_BATCH", "nice": 3])
        bundle.setProcess("ioPriority", ["class": "IOPRIO_CLASS_BE", "priority": 5])
        bundle.setLinux("personality", ["domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]])
        let numa = pathExists("/sys/devices/system/node/online")
        if numa { bundle.setLinux("memoryPolicy", ["mode": "MPOL_INTERLEAVE", "nodes": "0"]) }
        bundle.setArgs(["sleep", "300"])
        let id = runtime.id("execattr")
        _ = try startDetached(bundle, id: id)

        let r = runtime.call(["exec", id, "/probe/attr_probe"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let p = keyValueLines(r.stdout)
        XCTAssertEqual(p["sched_policy"], "3", "\(p)")
        XCTAssertEqual(p["sched_nice"], "3", "\(p)")
        XCTAssertEqual(p["ioprio_class"], "2", "\(p)")
        XCTAssertEqual(p["ioprio_level"], "5", "\(p)")
        XCTAssertEqual(p["personality"], "0x40008", "\(p)")
        if numa { XCTAssertEqual(p["mempolicy_mode"], "3", "\(p)") }

        var process = bundle.config["process"]!
        process["args"] = ["/probe/attr_probe"]
        process["scheduler"] = ["policy": "SCHED_IDLE"]
        let path = bundle.dir + "/process.json"
        try writeFile(path, process.serialized())
        let q = runtime.call(["exec", "--process", path, id])
        XCTAssertEqual(q.status, 0, "\(q)")
        XCTAssertEqual(keyValueLines(q.stdout)["sched_policy"], "5", "process.json's own scheduler: \(q.stdout)")
        XCTAssertEqual(keyValueLines(q.stdout)["ioprio_level"], "5", "the container's I/O priority: \(q.stdout)")
    }

    /// The CPUs allowed to `pid`, from the host's /proc.
    private func cpusAllowed(_ pid: Int) -> String? {
        (readFile("/proc/\(pid)/status") ?? "").nonEmptyLines.first { $0.hasPrefix("Cpus_allowed_list:") }
            .map { String($0.dropFirst("Cpus_allowed_list:".count)).trimmed }
    }

    private func requireTwoCPUs() throws {
        let online = (readFile("/sys/devices/system/cpu/online") ?? "").trimmed
        if online != "0-1" && !online.hasPrefix("0-") {
            throw XCTSkip("needs CPUs 0 and 1 online (online: \(online))")
        }
    }

    /// execCPUAffinity: the exec'd process runs on `final`; with `initial` alone it gets the container's cpuset
    /// back; the container's init is never touched (the spec exempts it).
    func testExecCPUAffinityFinal() throws {
        try skipUnderRunc("process.execCPUAffinity", spec: "1.2.1")
        try requireTwoCPUs()
        bundle.setProcess("execCPUAffinity", ["initial": "1", "final": "0"])
        bundle.setArgs(["sleep", "300"])
        let id = runtime.id("aff")
        let initPid = try startDetached(bundle, id: id)
        let initCPUs = cpusAllowed(initPid)
        XCTAssertNotNil(initCPUs)
        XCTAssertNotEqual(initCPUs, "0", "the init keeps the cgroup's CPUs")

        let r = runtime.call(["exec", id, "sh", "-c", "grep Cpus_allowed_list /proc/self/status"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.split(separator: ":").last.map { String($0).trimmed }, "0", "final: \(r.stdout)")

        var process = bundle.config["process"]!
        process["args"] = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"]
        process["execCPUAffinity"] = ["initial": "1"]
        let path = bundle.dir + "/process.json"
        try writeFile(path, process.serialized())
        let q = runtime.call(["exec", "--process", path, id])
        XCTAssertEqual(q.status, 0, "\(q)")
        XCTAssertEqual(q.stdout.split(separator: ":").last.map { String($0).trimmed }, initCPUs,
                       "initial only: the cgroup's CPUs again, as the init has them: \(q.stdout)")
        XCTAssertEqual(cpusAllowed(initPid), initCPUs)
    }

    /// A `final` list outside the container's cpuset: the kernel refuses the mask, and exec fails naming the field.
    func testExecCPUAffinityOutsideTheCpusetFails() throws {
        try skipUnderRunc("process.execCPUAffinity", spec: "1.2.1")
        try requireTwoCPUs()
        bundle.setLinux("resources", ["cpu": ["cpus": "1"]])
        bundle.setProcess("execCPUAffinity", ["final": "0"])
        bundle.setArgs(["sleep", "300"])
        let id = runtime.id("affbad")
        _ = try startDetached(bundle, id: id)
        let r = runtime.call(["exec", id, "true"])
        XCTAssertEqual(r.status, 255, "\(r)")
        // (stderr is a logfmt record: the quotes inside the message come escaped)
        XCTAssertTrue(r.stderr.contains("exec failed: error during container init: process.execCPUAffinity.final: sched_setaffinity ")
                      && r.stderr.contains(": invalid argument (no CPU of the list is in the cpuset of the container's cgroup)"), r.stderr)
    }

    /// execCPUAffinity.initial covers the whole setup of the exec'd process, from before its cgroup placement: an
    /// exec into a paused container is frozen right after that placement, with the initial CPUs; once resumed it
    /// runs on `final`.
    func testExecCPUAffinityInitialDuringTheSetup() throws {
        try skipUnderRunc("process.execCPUAffinity", spec: "1.2.1")
        try requireTwoCPUs()
        bundle.setArgs(["sleep", "300"])
        let shared = try bundle.addSharedDir()
        let id = runtime.id("affinit")
        let initPid = try startDetached(bundle, id: id)
        guard let freezerLine = (readFile("/proc/\(initPid)/cgroup") ?? "").nonEmptyLines.first(where: { $0.contains(":freezer:") }) else {
            throw XCTSkip("no v1 freezer hierarchy on this host")
        }
        let procs = "/sys/fs/cgroup/freezer" + String(freezerLine.split(separator: ":", maxSplits: 2)[2]) + "/cgroup.procs"

        var process = bundle.config["process"]!
        process["args"] = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status > /shared/final"]
        process["execCPUAffinity"] = ["initial": "1", "final": "0"]
        let path = bundle.dir + "/process.json"
        try writeFile(path, process.serialized())
        XCTAssertEqual(runtime("pause", id).status, 0)
        let exec = try spawnBackground([RuntimeUnderTest.path, "--root", runtime.root, "exec", "--ignore-paused",
                                        "--process", path, id])
        var setup: Int?
        XCTAssertTrue(waitUntil(timeout: 15) {
            setup = (readFile(procs) ?? "").nonEmptyLines.compactMap { Int($0) }.first { $0 != initPid }
            return setup != nil
        }, "the exec'd process never reached the container's cgroup")
        if let setup {
            // Frozen after its placement: still in the runtime's setup, on the initial CPUs.
            XCTAssertEqual(cpusAllowed(setup), "1", "initial during the setup")
        }
        XCTAssertEqual(runtime("resume", id).status, 0)
        var status: Int32 = 0
        _ = waitUntil(timeout: 30) { waitpid(exec, &status, WNOHANG) == exec }
        XCTAssertEqual(status, 0, "exec exit status")
        XCTAssertEqual(readFile(shared + "/final")?.split(separator: ":").last.map { String($0).trimmed }, "0", "final after the setup")
    }
}
