// Resource control against this host's real cgroup v1 hierarchies (hybrid layout: v1 controllers, name=systemd,
// cgroup2 at /sys/fs/cgroup/unified): placement and cgroupsPath forms, every limit written and read back, OOM
// kill + the "oom" event, a fork bomb held at the pids limit, pause/resume, update on a running container,
// device rules enforced on mknod/open, ps, kill --all, events, and cleanup. Written to pass against runc too
// (CORRAL_TEST_RUNTIME=/usr/sbin/runc); corral-only assertions say why.
import XCTest
import Glibc
import CorralSpec

/// Mount points of the host's cgroup hierarchies by /proc/<pid>/cgroup key ("memory", "name=systemd", "" for v2).
func hostCgroupMounts() -> [String: String] {
    var out: [String: String] = [:]
    let procKeys = (readFile("/proc/self/cgroup") ?? "").nonEmptyLines.compactMap { l -> String? in
        let p = l.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        return p.count == 3 ? String(p[1]) : nil
    }
    for line in (readFile("/proc/self/mountinfo") ?? "").nonEmptyLines {
        let f = line.split(separator: " ")
        guard let sep = f.firstIndex(of: "-"), f.count > sep + 3 else { continue }
        if f[sep + 1] == "cgroup2" { if out[""] == nil { out[""] = String(f[4]) }; continue }
        guard f[sep + 1] == "cgroup" else { continue }
        let opts = Set(f[sep + 3].split(separator: ",").map(String.init))
        if let key = procKeys.first(where: { !$0.isEmpty && Set($0.split(separator: ",").map(String.init)).isSubset(of: opts) }), out[key] == nil {
            out[key] = String(f[4])
        }
    }
    return out
}

/// The directory of `pid`'s cgroup in the hierarchy holding `controller` (or "name=systemd", "" for cgroup2).
func cgroupDir(pid: Int, _ controller: String) -> String? {
    let mounts = hostCgroupMounts()
    for line in (readFile("/proc/\(pid)/cgroup") ?? "").nonEmptyLines {
        let p = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard p.count == 3 else { continue }
        let matches = controller.isEmpty ? p[1].isEmpty : p[1].split(separator: ",").contains(Substring(controller))
        if matches, let mp = mounts[p[1]] { return mp + (p[2] == "/" ? "" : p[2]) }
    }
    return nil
}

func cgroupFile(_ dir: String?, _ file: String) -> String? {
    guard let dir, var s = readFile(dir + "/" + file) else { return nil }
    while s.hasSuffix("\n") { s.removeLast() }
    return s
}

final class CgroupTests: IsolationTestCase {
    /// A unique absolute parent ("/corral-it-<hex>") for this test's cgroupsPaths; removed from every hierarchy
    /// in tearDown (runc and corral remove only the container's own directory, as engines expect).
    private var parentName = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        let mounts = hostCgroupMounts()
        guard mounts["memory"] != nil, mounts["pids"] != nil, mounts["freezer"] != nil, mounts["devices"] != nil else {
            throw XCTSkip("these tests need the cgroup v1 memory, pids, freezer and devices hierarchies (this host: \(mounts.keys.sorted()))")
        }
        parentName = "/corral-it-" + randomHex(8)
        let name = parentName
        onTeardown {
            for mp in Set(hostCgroupMounts().values) { removeCgroupTree(mp + name) }
        }
    }

    /// cgroupsPath below this test's parent.
    func path(_ leaf: String) -> String { parentName + "/" + leaf }

    func setResources(_ r: JSONValue, cgroupsPath: String? = nil) {
        var res = r
        if res["devices"] == nil { res["devices"] = [["allow": false, "access": "rwm"]] }
        bundle.setLinux("resources", res)
        if let cgroupsPath { bundle.setLinux("cgroupsPath", .string(cgroupsPath)) }
    }

    // MARK: placement

    func testPlacementInEveryHierarchyForEachPathForm() throws {
        bundle.setShell("sleep 60")
        let mine = readFile("/proc/self/cgroup") ?? ""
        let ownMemory = mine.nonEmptyLines.first { $0.contains(":memory:") }.map { String($0.split(separator: ":", maxSplits: 2)[2]) } ?? "/"
        let cases: [(String?, (String) -> String)] = [
            (path("abs"), { _ in self.path("abs") }),
            ("corral-it-rel-" + randomHex(4) + "/x", { _ in "" }),
            (nil, { id in "/" + id }),
        ]
        for (cgPath, expected) in cases {
            let id = runtime.id("cg")
            if let cgPath { bundle.setLinux("cgroupsPath", .string(cgPath)) } else { bundle.setLinux("cgroupsPath", nil) }
            let pid = try startDetached(bundle, id: id)
            let lines = (readFile("/proc/\(pid)/cgroup") ?? "").nonEmptyLines
            let keys = Set(hostCgroupMounts().keys)
            for key in keys {
                guard let line = lines.first(where: { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)[1] == Substring(key) }) else {
                    XCTFail("\(id): no line for \(key) in \(lines)"); continue
                }
                let p = String(line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)[2])
                if let cgPath, !cgPath.hasPrefix("/") {
                    // Relative: below our own cgroup in each hierarchy (memory differs here: /process_api/…).
                    XCTAssertTrue(p.hasSuffix("/" + cgPath), "\(key): \(p)")
                    if key == "memory" { XCTAssertEqual(p, (ownMemory == "/" ? "" : ownMemory) + "/" + cgPath) }
                } else if cgPath == nil {
                    XCTAssertTrue(p.hasSuffix(expected(id)), "default path ends with the id in \(key): \(p)")
                } else {
                    XCTAssertEqual(p, expected(id), "absolute path in \(key)")
                }
            }
            let dirs = keys.compactMap { cgroupDir(pid: pid, $0.split(separator: ",").first.map(String.init) ?? $0) }
            XCTAssertEqual(runtime("delete", "-f", id).status, 0)
            for d in dirs { XCTAssertFalse(pathExists(d), "\(d) left after delete") }
            if let cgPath, !cgPath.hasPrefix("/") {
                let top = String(cgPath.split(separator: "/")[0])
                for (key, mp) in hostCgroupMounts() {
                    let own = mine.nonEmptyLines.first { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)[1] == Substring(key) }
                        .map { String($0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)[2]) } ?? "/"
                    removeCgroupTree(mp + (own == "/" ? "" : own) + "/" + top)
                }
            }
        }
    }

    // MARK: limits

    func testEveryV1LimitIsWrittenAndReadBack() throws {
        bundle.setShell("sleep 60")
        var resources: JSONValue = [
            "memory": ["limit": 268435456, "reservation": 134217728, "swap": 536870912, "swappiness": 20, "disableOOMKiller": true],
            "cpu": ["shares": 512, "quota": 30000, "period": 150000, "cpus": "0", "mems": "0"],
            "pids": ["limit": 40],
            "devices": [["allow": false, "access": "rwm"], ["allow": true, "type": "c", "major": 240, "minor": 1, "access": "rw"]],
        ]
        resources["blockIO"] = ["throttleReadBpsDevice": [["major": 254, "minor": 0, "rate": 10485760]],
                                "throttleWriteIOPSDevice": [["major": 254, "minor": 0, "rate": 100]]]
        if RuntimeUnderTest.isCorral {
            // runc 1.1 ignores these two; corral writes them (and checks the kernel kept them).
            resources["memory"]?["kernelTCP"] = 16777216
            resources["cpu"]?["burst"] = 10000
        }
        setResources(resources, cgroupsPath: path("limits"))
        let id = runtime.id("lim")
        let pid = try startDetached(bundle, id: id)
        let mem = cgroupDir(pid: pid, "memory"), cpu = cgroupDir(pid: pid, "cpu")
        XCTAssertEqual(mem, hostCgroupMounts()["memory"]! + path("limits"))
        XCTAssertEqual(cgroupFile(mem, "memory.limit_in_bytes"), "268435456")
        XCTAssertEqual(cgroupFile(mem, "memory.soft_limit_in_bytes"), "134217728")
        XCTAssertEqual(cgroupFile(mem, "memory.memsw.limit_in_bytes"), "536870912")
        XCTAssertEqual(cgroupFile(mem, "memory.swappiness"), "20")
        XCTAssertTrue(cgroupFile(mem, "memory.oom_control")?.contains("oom_kill_disable 1") ?? false)
        XCTAssertEqual(cgroupFile(cpu, "cpu.shares"), "512")
        XCTAssertEqual(cgroupFile(cpu, "cpu.cfs_quota_us"), "30000")
        XCTAssertEqual(cgroupFile(cpu, "cpu.cfs_period_us"), "150000")
        XCTAssertEqual(cgroupFile(cgroupDir(pid: pid, "cpuset"), "cpuset.cpus"), "0")
        XCTAssertEqual(cgroupFile(cgroupDir(pid: pid, "cpuset"), "cpuset.mems"), "0")
        XCTAssertEqual(cgroupFile(cgroupDir(pid: pid, "pids"), "pids.max"), "40")
        let blk = cgroupDir(pid: pid, "blkio")
        XCTAssertEqual(cgroupFile(blk, "blkio.throttle.read_bps_device"), "254:0 10485760")
        XCTAssertEqual(cgroupFile(blk, "blkio.throttle.write_iops_device"), "254:0 100")
        let devices = cgroupFile(cgroupDir(pid: pid, "devices"), "devices.list")?.nonEmptyLines ?? []
        XCTAssertEqual(Set(devices), ["b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                      "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm", "c 240:1 rw"])
        if RuntimeUnderTest.isCorral {
            // The spec's "in the listed order" (runc 1.1.5 sorts them): the config's rule, then runc's defaults.
            XCTAssertEqual(devices.first, "c 240:1 rw", "\(devices)")
            XCTAssertEqual(cgroupFile(mem, "memory.kmem.tcp.limit_in_bytes"), "16777216")
            XCTAssertEqual(cgroupFile(cpu, "cpu.cfs_burst_us"), "10000")
        }
    }

    func testBlkioWeightUsesBFQWhenThatIsWhatTheHostHas() throws {
        bundle.setShell("sleep 60")
        setResources(["blockIO": ["weight": 300, "weightDevice": [["major": 254, "minor": 0, "weight": 200]]]], cgroupsPath: path("bfq"))
        let id = runtime.id("bfq")
        let c = runtime.create(bundle, id: id)
        guard let probe = hostCgroupMounts()["blkio"], c.status == 0 else {
            // No BFQ anywhere: neither blkio.weight nor blkio.bfq.weight; the error names the field.
            XCTAssertNotEqual(c.status, 0)
            if RuntimeUnderTest.isCorral { XCTAssertTrue(c.stderr.contains("linux.resources.blockIO.weight"), c.stderr) }
            return
        }
        let dir = probe + path("bfq")
        if pathExists(dir + "/blkio.weight") {
            XCTAssertEqual(cgroupFile(dir, "blkio.weight"), "300")
        } else {
            XCTAssertTrue(cgroupFile(dir, "blkio.bfq.weight")?.contains("300") ?? false, cgroupFile(dir, "blkio.bfq.weight") ?? "")
            XCTAssertTrue(cgroupFile(dir, "blkio.bfq.weight_device")?.contains("254:0 200") ?? false)
        }
    }

    /// hugetlb is bound to no v1 hierarchy here; cgroup2 offers it, so corral enables it there and writes
    /// hugetlb.<size>.max (runc 1.1 cannot: "cannot set hugetlb limit: container could not join or create cgroup").
    func testHugepageLimitLandsInCgroup2OnThisHybridHost() throws {
        guard let unified = hostCgroupMounts()[""], !(hostCgroupMounts().keys.contains("hugetlb")),
              (cgroupFile(unified, "cgroup.controllers") ?? "").contains("hugetlb") else {
            throw XCTSkip("needs hugetlb offered by cgroup2 and not bound to v1")
        }
        let before = cgroupFile(unified, "cgroup.subtree_control") ?? ""
        onTeardown {
            if !before.contains("hugetlb") { try? writeFile(unified + "/cgroup.subtree_control", "-hugetlb") }
        }
        bundle.setShell("sleep 60")
        setResources(["hugepageLimits": [["pageSize": "2MB", "limit": 8388608]]], cgroupsPath: path("huge"))
        let id = runtime.id("huge")
        let c = runtime.create(bundle, id: id)
        if RuntimeUnderTest.isRunc {
            XCTAssertNotEqual(c.status, 0, "runc 1.1 cannot set hugetlb on this layout: \(c)")
            return
        }
        XCTAssertEqual(c.status, 0, "\(c)")
        XCTAssertEqual(cgroupFile(unified + path("huge"), "hugetlb.2MB.max"), "8388608")
        let stats = runtime("events", "--stats", id)
        XCTAssertTrue(stats.stdout.contains(#""hugetlb":{"1GB":{"failcnt":0},"2MB":{"failcnt":0}}"#), stats.stdout)
    }

    func testLimitsTheHostCannotHonourFailCreateAndLeaveNothing() throws {
        var cases: [(JSONValue, String)] = [
            (["network": ["classID": 1048577]], "linux.resources.network.classID: the net_cls cgroup controller is not available"),
            (["cpu": ["cpus": "63"]], "linux.resources.cpu.cpus: write "),   // no such CPU: the kernel refuses, after mkdir
        ]
        if RuntimeUnderTest.isCorral {
            // This kernel accepts memory.kmem.limit_in_bytes and keeps "max"; runc 1.1 only warns.
            cases.append((["memory": ["kernel": 67108864]], "linux.resources.memory.kernel: kernel memory limits are not supported by this kernel"))
            cases.append((["unified": ["memory.high": "1000000"]], "not available (it is bound to a cgroup v1 hierarchy on this host)"))
        }
        for (r, message) in cases {
            let id = runtime.id("bad")
            setResources(r, cgroupsPath: path(id))
            let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
            let c = runtime.create(bundle, id: id)
            XCTAssertNotEqual(c.status, 0, "\(r) must fail: \(c)")
            if RuntimeUnderTest.isCorral { XCTAssertTrue(c.stderr.contains(message), "expected \(message): \(c.stderr)") }
            XCTAssertEqual(HostSnapshot.take(root: runtime.root, bundle: bundle.dir), before)
            for mp in Set(hostCgroupMounts().values) { XCTAssertFalse(pathExists(mp + path(id)), "\(mp + path(id)) left behind") }
        }
    }

    /// runc's text for unified (cgroup v2) resources of a controller this host binds to v1 starts with
    /// "invalid configuration" (cgroups.ErrV1NoUnified), which its bats test matches.
    func testUnifiedResourcesOfAV1ControllerAreAnInvalidConfiguration() throws {
        let id = runtime.id("unified")
        setResources(["unified": ["memory.min": "131072"]], cgroupsPath: path(id))
        let c = runtime.create(bundle, id: id)
        XCTAssertNotEqual(c.status, 0, "\(c)")
        XCTAssertTrue(c.stderr.contains("invalid configuration"), c.stderr)
    }

    /// runc 1.2+: pids.limit 0 is a limit of 1 (systemd cannot say TasksMax=0, and runc keeps its drivers alike),
    /// a negative one is "max"; `update --pids-limit` and an update document alike.
    func testPidsLimitZeroIsOne() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 reads pids.limit 0 as unset; runc 1.2 made it a limit of 1") }
        bundle.setArgs(["sleep", "60"])   // the init alone: a shell would need a second pid
        let id = runtime.id("pids0")
        setResources(["pids": ["limit": 0]], cgroupsPath: path(id))
        let pid = try startDetached(bundle, id: id)
        let pids = cgroupDir(pid: pid, "pids")
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "1")
        XCTAssertEqual(runtime("update", "--pids-limit", "-1", id).status, 0)
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "max")
        XCTAssertEqual(runtime("update", "--pids-limit", "0", id).status, 0)
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "1")
        XCTAssertEqual(runtime.call(["update", "-r", "-", id], stdin: Array(#"{"pids": {"limit": 7}}"#.utf8)).status, 0)
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "7")
        XCTAssertEqual(runtime.call(["update", "-r", "-", id], stdin: Array(#"{"pids": {}}"#.utf8)).status, 0)
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "7", "an absent limit leaves it")
    }

    /// exec --cgroup: runc's texts for a path above the container's cgroup and for a sub-cgroup that is not there
    /// ("bad sub cgroup path" in runc main, "<sub> is not a sub cgroup path" in runc 1.1; "adding pid N").
    func testExecIntoSubCgroupsThatAreNotAllowedOrNotThere() throws {
        bundle.setArgs(["sleep", "60"])
        let id = runtime.id("subcg")
        setResources([:], cgroupsPath: path(id))
        _ = try startDetached(bundle, id: id)
        var r = runtime("exec", "--cgroup", "..", id, "true")
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains(" .. is not a sub cgroup path"), r.stderr)
        if RuntimeUnderTest.isCorral { XCTAssertTrue(r.stderr.contains("bad sub cgroup path"), r.stderr) }
        for sub in ["nonexistent", "pids:nonexistent"] {
            r = runtime("exec", "--cgroup", sub, id, "true")
            XCTAssertNotEqual(r.status, 0, "\(r)")
            XCTAssertTrue(r.stderr.contains(" adding pid "), r.stderr)
            XCTAssertTrue(r.stderr.contains("/nonexistent/cgroup.procs: no such file or directory"), r.stderr)
        }
    }

    func testSystemdCgroupFlagFailsWithoutSystemd() throws {
        guard !isDirectory("/run/systemd/system") else { throw XCTSkip("systemd is running here") }
        bundle.setLinux("cgroupsPath", "system.slice:corral-it:x")
        try bundle.writeConfig()
        let id = runtime.id("sd")
        let r = runtime.call(["--systemd-cgroup", "create", "--bundle", bundle.dir, id])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("systemd not running on this host, cannot use systemd cgroups manager"), r.stderr)
        // Other verbs take the flag (CRI-O passes it everywhere) and work on a cgroupfs container.
        bundle.setLinux("cgroupsPath", .string(path("sd")))
        bundle.setShell("sleep 30")
        _ = try startDetached(bundle, id: id)
        XCTAssertEqual(runtime.call(["--systemd-cgroup", "state", id]).status, 0)
        XCTAssertEqual(runtime.call(["--systemd-cgroup", "delete", "-f", id]).status, 0)
    }

    // MARK: OOM, pids

    func testOOMKillIsReportedByEvents() throws {
        // 32 MiB and no swap; a 64 MiB dd buffer a second after start is OOM-killed, the shell survives.
        bundle.setShell("sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?; sleep 30")
        setResources(["memory": ["limit": 33554432, "swap": 33554432]], cgroupsPath: path("oom"))
        let id = runtime.id("oom")
        let pid = try startDetached(bundle, id: id)
        let ev = runtime.call(["events", "--interval", "300ms", id], timeout: 4)
        let lines = ev.stdout.nonEmptyLines
        XCTAssertTrue(lines.contains("{\"type\":\"oom\",\"id\":\"\(id)\"}"), "events: \(ev)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("{\"type\":\"stats\",\"id\":\"\(id)\",\"data\":{") }, "\(ev)")
        let mem = cgroupDir(pid: pid, "memory")
        XCTAssertTrue(cgroupFile(mem, "memory.oom_control")?.contains("oom_kill 1") ?? false, cgroupFile(mem, "memory.oom_control") ?? "")
        XCTAssertTrue(processIsAlive(pid), "only the dd is killed")
    }

    func testForkBombStopsAtThePidsLimit() throws {
        bundle.setShell("b() { b | b & }; b; sleep 30")
        setResources(["pids": ["limit": 16], "cpu": ["quota": 20000, "period": 100000]], cgroupsPath: path("bomb"))
        let id = runtime.id("bomb")
        let pid = try startDetached(bundle, id: id)
        let pidsDir = cgroupDir(pid: pid, "pids")
        XCTAssertTrue(waitUntil(timeout: 10) { (UInt64(cgroupFile(pidsDir, "pids.events")?.split(separator: " ").last ?? "0") ?? 0) > 0 },
                      "the limit was hit: \(cgroupFile(pidsDir, "pids.events") ?? "")")
        for _ in 0..<10 {
            let current = Int(cgroupFile(pidsDir, "pids.current") ?? "") ?? 99
            XCTAssertLessThanOrEqual(current, 16)
            usleep(100_000)
        }
        // delete -f freezes, kills everything and removes the cgroups even under fork pressure.
        let d = runtime("delete", "-f", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        XCTAssertFalse(pathExists(pidsDir ?? "/nonexistent"))
    }

    // MARK: pause / resume

    func testPauseFreezesAndResumeContinues() throws {
        let shared = try bundle.addSharedDir()
        bundle.setShell("i=0; while :; do i=$((i+1)); echo $i > /shared/count; done")
        bundle.setLinux("cgroupsPath", .string(path("pause")))
        let id = runtime.id("pause")
        let pid = try startDetached(bundle, id: id)
        func count() -> Int { Int(readFile(shared + "/count")?.nonEmptyLines.first ?? "") ?? -1 }
        XCTAssertTrue(waitUntil(timeout: 5) { count() > 0 })

        XCTAssertEqual(runtime("pause", id).status, 0)
        XCTAssertEqual(runtime.status(id), "paused")
        XCTAssertEqual(cgroupFile(cgroupDir(pid: pid, "freezer"), "freezer.state"), "FROZEN")
        let frozenAt = count()
        usleep(500_000)
        XCTAssertEqual(count(), frozenAt, "no progress while paused")
        // runc's answers around a paused container.
        let again = runtime("pause", id)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("container not running"), again.stderr)
        let del = runtime("delete", id)
        XCTAssertTrue(del.stderr.contains("cannot delete container \(id) that is not stopped: paused"), del.stderr)
        XCTAssertEqual(runtime.call(["ps", "--format", "json", id]).stdout, "[\(pid)]\n")

        XCTAssertEqual(runtime("resume", id).status, 0)
        XCTAssertEqual(runtime.status(id), "running")
        XCTAssertTrue(waitUntil(timeout: 5) { count() > frozenAt + 100 }, "progress after resume")
        let notPaused = runtime("resume", id)
        XCTAssertTrue(notPaused.stderr.contains("container not paused"), notPaused.stderr)

        // SIGKILL of a paused container thaws it so it can die.
        XCTAssertEqual(runtime("pause", id).status, 0)
        XCTAssertEqual(runtime("kill", id, "KILL").status, 0)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
    }

    /// `state` and `list` report "paused" from the freezer, whoever froze it, and only from the freezer: a stopped
    /// (SIGSTOP) init in a thawed cgroup is running, a stopped init in a frozen one is paused.
    func testPausedStatusComesFromTheFreezerWhateverTheInitShows() throws {
        bundle.setShell("sleep 60")
        bundle.setLinux("cgroupsPath", .string(path("frz")))
        let id = runtime.id("frz")
        let pid = try startDetached(bundle, id: id)
        let freezer = try XCTUnwrap(cgroupDir(pid: pid, "freezer"))
        func listed() -> String? {
            let arr = (try? JSONValue.parse(runtime.call(["list", "--format", "json"]).stdout))?.arrayValue ?? []
            return arr.first { $0["id"]?.stringValue == id }?["status"]?.stringValue
        }
        func both(_ want: String, _ why: String) {
            XCTAssertEqual(runtime.status(id), want, "state: \(why)")
            XCTAssertEqual(listed(), want, "list: \(why)")
        }
        both("running", "a sleeping init")
        XCTAssertEqual(kill(pid_t(pid), SIGSTOP), 0)
        XCTAssertTrue(waitUntil(timeout: 5) { (readFile("/proc/\(pid)/stat") ?? "").contains(") T ") })
        both("running", "a stopped init in a thawed cgroup")
        // Frozen by someone else, not through pause.
        try writeFile(freezer + "/freezer.state", "FROZEN")
        XCTAssertTrue(waitUntil(timeout: 5) { cgroupFile(freezer, "freezer.state") == "FROZEN" })
        both("paused", "a stopped init in a frozen cgroup")
        try writeFile(freezer + "/freezer.state", "THAWED")
        XCTAssertEqual(kill(pid_t(pid), SIGCONT), 0)
        try writeFile(freezer + "/freezer.state", "FROZEN")
        XCTAssertTrue(waitUntil(timeout: 5) { cgroupFile(freezer, "freezer.state") == "FROZEN" })
        both("paused", "a sleeping init in a frozen cgroup")
        try writeFile(freezer + "/freezer.state", "THAWED")
        both("running", "thawed again")
    }

    // MARK: update

    func testUpdateChangesLimitsOfARunningContainer() throws {
        bundle.setShell("sleep 60")
        setResources(["memory": ["limit": 268435456], "pids": ["limit": 64], "cpu": ["shares": 1024]], cgroupsPath: path("upd"))
        let id = runtime.id("upd")
        let pid = try startDetached(bundle, id: id)
        let mem = cgroupDir(pid: pid, "memory"), cpu = cgroupDir(pid: pid, "cpu"), pids = cgroupDir(pid: pid, "pids")

        var r = runtime("update", "--memory", "128m", "--memory-swap", "256m", "--pids-limit", "32", "--cpu-quota", "30000",
                        "--cpu-period", "100000", "--cpu-share", "256", id)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(cgroupFile(mem, "memory.limit_in_bytes"), "134217728")
        XCTAssertEqual(cgroupFile(mem, "memory.memsw.limit_in_bytes"), "268435456")
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "32")
        XCTAssertEqual(cgroupFile(cpu, "cpu.cfs_quota_us"), "30000")
        XCTAssertEqual(cgroupFile(cpu, "cpu.shares"), "256")

        // Docker's document on stdin: zeros mean "unchanged" (shares stays 256).
        let docker = readFile(sharedDataDir + "/engines/update-resources.docker-stdin.json")
            ?? #"{"memory":{"limit":268435456,"reservation":0,"swap":268435456,"kernel":0},"cpu":{"shares":0,"quota":100000,"period":100000},"pids":{"limit":100},"blockIO":{"weight":0}}"#
        r = runtime.call(["update", "-r", "-", id], stdin: Array(docker.utf8))
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(cgroupFile(mem, "memory.limit_in_bytes"), "268435456")
        XCTAssertEqual(cgroupFile(mem, "memory.memsw.limit_in_bytes"), "268435456")
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "100")
        XCTAssertEqual(cgroupFile(cpu, "cpu.cfs_quota_us"), "100000")
        XCTAssertEqual(cgroupFile(cpu, "cpu.shares"), "256")

        // podman's: only what was asked, from a file.
        let file = bundle.dir + "/update.json"
        try writeFile(file, #"{"memory":{"limit":201326592,"swap":402653184}}"#)
        r = runtime("update", "--resources", file, id)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(cgroupFile(mem, "memory.limit_in_bytes"), "201326592")
        XCTAssertEqual(cgroupFile(mem, "memory.memsw.limit_in_bytes"), "402653184")
        XCTAssertEqual(cgroupFile(pids, "pids.max"), "100")

        r = runtime("update", "--memory", "lots", id)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("invalid value for memory"), r.stderr)

        XCTAssertEqual(runtime("kill", id, "KILL").status, 0)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        r = runtime("update", "--pids-limit", "10", id)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("container not running"), r.stderr)
    }

    // MARK: devices

    /// CAP_MKNOD in the bounding, effective and permitted sets.
    private func grantMknod() {
        var caps = bundle.config["process"]?["capabilities"]?["bounding"]?.arrayValue ?? []
        caps.append("CAP_MKNOD")
        for set in ["bounding", "effective", "permitted"] { bundle.config["process"]?["capabilities"]?[set] = .array(caps) }
    }

    func testDeviceRulesDecideOpenAndMknod() throws {
        // c 240:* has no driver: an allowed open fails with ENXIO, a denied one with EPERM.
        grantMknod()
        setResources(["devices": [["allow": false, "access": "rwm"], ["allow": true, "type": "c", "major": 240, "minor": 1, "access": "rw"]]],
                     cgroupsPath: path("dev1"))
        guard let out = runScript("""
            mknod /dev/x1 c 240 1 && mknod /dev/x2 c 240 2 && echo mknod-ok
            (: < /dev/x1) 2>&1 | sed 's/.*: //'
            (: < /dev/x2) 2>&1 | sed 's/.*: //'
            """) else { return }
        XCTAssertEqual(out.nonEmptyLines, ["mknod-ok", "No such device or address", "Operation not permitted"])

        // Allow-list default with a deny exception: mknod of the denied node is refused.
        bundle.setLinux("cgroupsPath", .string(path("dev2")))
        setResources(["devices": [["allow": true, "access": "rwm"], ["allow": false, "type": "c", "major": 240, "minor": 3, "access": "m"]]])
        guard let out2 = runScript("mknod /dev/x3 c 240 3 2>&1 | sed 's/.*: //'; mknod /dev/x4 c 240 4 && echo x4-ok") else { return }
        XCTAssertEqual(out2.nonEmptyLines, ["Operation not permitted", "x4-ok"])
    }

    /// runc's update.bats denies {"access": "rwa"} after a deny-all: runc and crun run it, and so does corral, which
    /// reads a deny rule's unknown letters as "deny everything". The device stays closed.
    func testADenyRuleWithAnUnknownAccessLetterIsRunAndDenies() throws {
        grantMknod()
        setResources(["devices": [["allow": false, "access": "rwm"], ["allow": false, "type": "c", "major": 240, "minor": 5, "access": "rwa"]]],
                     cgroupsPath: path("dev3"))
        guard let out = runScript("mknod /dev/x5 c 240 5 && (: < /dev/x5) 2>&1 | sed 's/.*: //'") else { return }
        XCTAssertEqual(out.nonEmptyLines, ["Operation not permitted"])
    }

    // MARK: ps, kill --all, events, delete

    func testPsKillAllAndStats() throws {
        bundle.setShell("sleep 100 & sleep 100 & wait")
        setResources(["memory": ["limit": 67108864], "pids": ["limit": 20]], cgroupsPath: path("ps"))
        let id = runtime.id("ps")
        let pid = try startDetached(bundle, id: id)
        XCTAssertTrue(waitUntil(timeout: 5) {
            (try? JSONValue.parse(self.runtime("ps", "--format", "json", id).stdout))?.arrayValue?.count == 3
        })
        let json = try JSONValue.parse(runtime("ps", "-f", "json", id).stdout)
        let pids = (json.arrayValue ?? []).compactMap { $0.int64Value }
        XCTAssertTrue(pids.contains(Int64(pid)), "\(pids)")
        let table = runtime("ps", id)
        XCTAssertEqual(table.status, 0, "\(table)")
        XCTAssertTrue(table.stdout.nonEmptyLines.first?.contains("PID") ?? false)
        XCTAssertEqual(table.stdout.nonEmptyLines.count, 4, table.stdout)
        let custom = runtime("ps", id, "-o", "pid,comm")
        XCTAssertTrue(custom.stdout.contains("sleep"), custom.stdout)
        XCTAssertTrue(runtime("ps", "--format", "xml", id).stderr.contains("invalid format option"))

        let stats = runtime("events", "--stats", id)
        XCTAssertEqual(stats.status, 0, "\(stats)")
        let ev = try JSONValue.parse(stats.stdout)
        XCTAssertEqual(ev["type"]?.stringValue, "stats")
        XCTAssertEqual(ev["id"]?.stringValue, id)
        XCTAssertEqual(ev["data"]?["memory"]?["usage"]?["limit"]?.int64Value, 67108864)
        XCTAssertEqual(ev["data"]?["pids"]?["limit"]?.int64Value, 20)
        XCTAssertNotNil(ev["data"]?["cpu"]?["usage"]?["kernel"])
        XCTAssertNotNil(ev["data"]?["memory"]?["raw"]?["rss"])
        XCTAssertEqual(ev["data"]?["network_interfaces"], .null)
        XCTAssertTrue(runtime("events", "--interval", "0s", id).stderr.contains("duration interval must be greater than 0"))

        let k = runtime("kill", "--all", id, "KILL")
        XCTAssertEqual(k.status, 0, "\(k)")
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        XCTAssertEqual(runtime("ps", "--format", "json", id).stdout, "null\n")
        XCTAssertTrue(runtime("events", "--stats", id).stderr.contains("container with id \(id) is not running"))
        XCTAssertEqual(runtime("kill", "--all", id, "KILL").status, 0, "kill --all of a stopped container succeeds")
    }

    func testDeleteKillsWhatOutlivesTheInitAndRemovesTheCgroups() throws {
        // No pid namespace: the init's background child outlives it and stays in the cgroup.
        bundle.removeNamespace("pid")
        bundle.setShell("sleep 300 & echo started")
        bundle.setLinux("cgroupsPath", .string(path("orphan")))
        let id = runtime.id("orphan")
        let pid = try startDetached(bundle, id: id)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        let dir = hostCgroupMounts()["pids"]! + path("orphan")
        let left = (cgroupFile(dir, "cgroup.procs") ?? "").nonEmptyLines.compactMap { Int($0) }
        XCTAssertEqual(left.count, 1, "the background sleep is still in the cgroup")
        runtime.pidsToKill += left
        XCTAssertFalse(left.contains(pid))
        let d = runtime("delete", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        for p in left { XCTAssertTrue(waitUntil(timeout: 5) { !processIsAlive(p) }, "pid \(p) survived delete") }
        for mp in Set(hostCgroupMounts().values) { XCTAssertFalse(pathExists(mp + path("orphan"))) }
    }

    func testNoCorralCgroupsAreLeftBehind() throws {
        // Runs the small life cycle once more and then looks at the whole tree for this test's names.
        bundle.setShell("true")
        bundle.setLinux("cgroupsPath", .string(path("once")))
        XCTAssertEqual(runtime.run(bundle).status, 0)
        var found: [String] = []
        for mp in Set(hostCgroupMounts().values) where pathExists(mp + path("once")) { found.append(mp + path("once")) }
        XCTAssertEqual(found, [])
    }
}

/// rmdir of a cgroup tree, deepest first (cgroup directories can only be removed empty of sub-cgroups).
func removeCgroupTree(_ dir: String) {
    guard isDirectory(dir) else { return }
    for name in directoryEntries(dir) where isDirectory(dir + "/" + name) { removeCgroupTree(dir + "/" + name) }
    for _ in 0..<50 {
        if rmdir(dir) == 0 || errno == ENOENT { return }
        usleep(20_000)
    }
}
