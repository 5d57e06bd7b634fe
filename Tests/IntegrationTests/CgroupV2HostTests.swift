// Resource control on a real pure cgroup v2 host (the scripts/guest lane: Debian 12, systemd, every controller on
// the unified hierarchy), with the cgroupfs driver: every limit the spec maps to v2 written and read back, the
// `unified` map, update, the eBPF device program, pause through cgroup.freeze, an OOM kill in memory.events and in
// `events`, the pids limit, and delete removing the cgroup. This project's usual host is hybrid: there these skip,
// and CgroupTests/CgroupV2Tests cover v1 and the v2 paths that need no controller. Written to pass against runc too.
import XCTest
import Glibc
import CorralSpec

final class CgroupV2HostTests: IsolationTestCase {
    /// "/corral-it-v2h-<hex>": the parent of this test's cgroupsPaths, removed in tearDown.
    private var parentName = ""
    private let mount = "/sys/fs/cgroup"

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard hostCgroupMounts()[""] == mount else {
            throw XCTSkip("these tests need a pure cgroup v2 host (\(mount) is not cgroup2 here; scripts/guest runs them on one)")
        }
        let offered = Set((cgroupFile(mount, "cgroup.controllers") ?? "").split(separator: " ").map(String.init))
        let needed: Set = ["cpu", "cpuset", "io", "memory", "pids"]
        guard needed.isSubset(of: offered) else {
            throw XCTSkip("this cgroup v2 host offers \(offered.sorted()); the tests need \(needed.sorted())")
        }
        parentName = "/corral-it-v2h-" + randomHex(8)
        let dir = mount + parentName
        onTeardown { removeCgroupTree(dir) }
    }

    private func path(_ leaf: String) -> String { parentName + "/" + leaf }
    private func dir(_ leaf: String) -> String { mount + path(leaf) }

    private func setResources(_ r: JSONValue, leaf: String) {
        var res = r
        if res["devices"] == nil { res["devices"] = [["allow": false, "access": "rwm"]] }
        bundle.setLinux("resources", res)
        bundle.setLinux("cgroupsPath", .string(path(leaf)))
    }

    /// The whole disk the root filesystem is on, as "major:minor" (io.max takes disks, not partitions).
    private func rootDisk() -> String? {
        var st = stat()
        guard stat("/", &st) == 0 else { return nil }
        let major = (st.st_dev >> 8) & 0xfff, minor = (st.st_dev & 0xff) | ((st.st_dev >> 12) & 0xfff00)
        let sys = "/sys/dev/block/\(major):\(minor)"
        if pathExists(sys + "/partition"), let parent = cgroupFile(sys + "/..", "dev") { return parent }
        return pathExists(sys) ? "\(major):\(minor)" : nil
    }

    func testEveryV2LimitIsWrittenAndReadBack() throws {
        bundle.setShell("sleep 60")
        var resources: JSONValue = [
            "memory": ["limit": 268435456, "reservation": 134217728, "swap": 536870912],
            "cpu": ["shares": 512, "quota": 30000, "period": 150000, "cpus": "0", "mems": "0"],
            "pids": ["limit": 40],
            "unified": ["memory.high": "201326592"],
        ]
        let disk = rootDisk()
        if let disk {
            let mm = disk.split(separator: ":").compactMap { Int($0) }
            resources["blockIO"] = ["throttleReadBpsDevice": [["major": JSONValue(mm[0]), "minor": JSONValue(mm[1]), "rate": 10485760]],
                                    "throttleWriteIOPSDevice": [["major": JSONValue(mm[0]), "minor": JSONValue(mm[1]), "rate": 100]]]
        }
        setResources(resources, leaf: "limits")
        let id = runtime.id("v2lim")
        let pid = try startDetached(bundle, id: id)
        let d = dir("limits")
        XCTAssertEqual(cgroupDir(pid: pid, ""), d, "the init is in the cgroupsPath")
        XCTAssertEqual(cgroupFile(d, "memory.max"), "268435456")
        XCTAssertEqual(cgroupFile(d, "memory.low"), "134217728")
        if pathExists(d + "/memory.swap.max") {
            XCTAssertEqual(cgroupFile(d, "memory.swap.max"), "268435456", "v1's memory+swap becomes swap alone")
        }
        XCTAssertEqual(cgroupFile(d, "memory.high"), "201326592")
        XCTAssertEqual(cgroupFile(d, "cpu.weight"), "20", "shares 512 as runc converts them")
        XCTAssertEqual(cgroupFile(d, "cpu.max"), "30000 150000")
        XCTAssertEqual(cgroupFile(d, "cpuset.cpus"), "0")
        XCTAssertEqual(cgroupFile(d, "cpuset.mems"), "0")
        XCTAssertEqual(cgroupFile(d, "pids.max"), "40")
        if let disk {
            XCTAssertEqual(cgroupFile(d, "io.max"), "\(disk) rbps=10485760 wbps=max riops=max wiops=100")
        }
        XCTAssertEqual(runtime("delete", "-f", id).status, 0)
        XCTAssertFalse(pathExists(d), "delete removed the cgroup")
    }

    func testUpdateChangesTheV2Files() throws {
        bundle.setShell("sleep 60")
        setResources(["memory": ["limit": 268435456], "pids": ["limit": 64], "cpu": ["shares": 1024]], leaf: "upd")
        let id = runtime.id("v2upd")
        _ = try startDetached(bundle, id: id)
        let d = dir("upd")
        let u = runtime("update", "--memory", "314572800", "--pids-limit", "32", "--cpu-quota", "50000",
                        "--cpu-period", "100000", id)
        XCTAssertEqual(u.status, 0, "\(u)")
        XCTAssertEqual(cgroupFile(d, "memory.max"), "314572800")
        XCTAssertEqual(cgroupFile(d, "pids.max"), "32")
        XCTAssertEqual(cgroupFile(d, "cpu.max"), "50000 100000")
        XCTAssertEqual(cgroupFile(d, "cpu.weight"), "39", "shares 1024 unchanged by the update")
    }

    func testDeviceProgramPauseAndDelete() throws {
        // /dev/kmsg (1:11) is not among the default nodes: make it, and let the device program decide.
        var caps = bundle.config["process"]?["capabilities"]?["bounding"]?.arrayValue ?? []
        caps.append("CAP_MKNOD")
        for set in ["bounding", "effective", "permitted"] { bundle.config["process"]?["capabilities"]?[set] = .array(caps) }
        let shared = try bundle.addSharedDir()
        bundle.setShell("""
            mknod /dev/kmsg c 1 11
            for dev in null full kmsg; do if (: < /dev/$dev) 2>/dev/null; then echo "$dev open"; else echo "$dev denied"; fi; done > /shared/devices
            i=0; while :; do i=$((i+1)); echo $i > /shared/count; done
            """)
        setResources(["pids": ["limit": 100]], leaf: "dev")
        let id = runtime.id("v2dev")
        _ = try startDetached(bundle, id: id)
        let d = dir("dev")
        XCTAssertTrue(waitUntil(timeout: 10) { (readFile(shared + "/devices") ?? "").nonEmptyLines.count == 3 })
        XCTAssertEqual(readFile(shared + "/devices")?.nonEmptyLines, ["null open", "full open", "kmsg denied"])
        func count() -> Int { Int(readFile(shared + "/count")?.nonEmptyLines.first ?? "") ?? -1 }
        XCTAssertTrue(waitUntil(timeout: 10) { count() > 0 })
        XCTAssertEqual(runtime("pause", id).status, 0)
        XCTAssertEqual(runtime.status(id), "paused")
        XCTAssertTrue(waitUntil(timeout: 5) { cgroupFile(d, "cgroup.events")?.contains("frozen 1") ?? false },
                      cgroupFile(d, "cgroup.events") ?? "")
        let frozenAt = count()
        usleep(500_000)
        XCTAssertEqual(count(), frozenAt, "no progress while paused")
        XCTAssertEqual(runtime("resume", id).status, 0)
        XCTAssertTrue(cgroupFile(d, "cgroup.events")?.contains("frozen 0") ?? false)
        XCTAssertTrue(waitUntil(timeout: 10) { count() > frozenAt + 10 }, "progress after resume")
        // delete -f of a paused container: everything in the cgroup dies and the cgroup goes.
        XCTAssertEqual(runtime("pause", id).status, 0)
        XCTAssertEqual(runtime("delete", "-f", id).status, 0)
        XCTAssertFalse(pathExists(d), "delete -f removed the cgroup")
    }

    func testOOMKillIsInMemoryEventsAndEvents() throws {
        // 32 MiB and no swap; a 64 MiB dd buffer a second after start is OOM-killed, the shell survives.
        bundle.setShell("sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?; sleep 30")
        setResources(["memory": ["limit": 33554432, "swap": 33554432]], leaf: "oom")
        let id = runtime.id("v2oom")
        let pid = try startDetached(bundle, id: id)
        let ev = runtime.call(["events", "--interval", "300ms", id], timeout: 8)
        XCTAssertTrue(ev.stdout.nonEmptyLines.contains("{\"type\":\"oom\",\"id\":\"\(id)\"}"), "events: \(ev)")
        let events = cgroupFile(dir("oom"), "memory.events") ?? ""
        XCTAssertTrue(events.nonEmptyLines.contains { $0.hasPrefix("oom_kill ") && !$0.hasSuffix(" 0") }, events)
        XCTAssertTrue(processIsAlive(pid), "only the dd is killed")
    }

    func testWithoutCgroupsPathTheContainerGetsACgroupBesideOurOwnWithItsLimits() throws {
        // No cgroupsPath: the cgroup is named after the id, beside the caller's own cgroup (which holds the caller:
        // a child of it could have no controllers), as runc's fs2 driver places it; the limits work there.
        let own = cgroupDir(pid: Int(getpid()), "") ?? ""
        guard own != mount else { throw XCTSkip("the test runs in the root cgroup: the container's cgroup has no sibling to take") }
        bundle.setShell("sleep 60")
        bundle.setLinux("resources", ["pids": ["limit": 30], "memory": ["limit": 67108864]])
        let id = runtime.id("v2def")
        let pid = try startDetached(bundle, id: id)
        let d = String(own[..<(own.lastIndex(of: "/") ?? own.endIndex)]) + "/" + id
        onTeardown { removeCgroupTree(d) }
        XCTAssertEqual(cgroupDir(pid: pid, ""), d)
        XCTAssertEqual(cgroupFile(d, "pids.max"), "30")
        XCTAssertEqual(cgroupFile(d, "memory.max"), "67108864")
        XCTAssertEqual(runtime("delete", "-f", id).status, 0)
        XCTAssertFalse(pathExists(d), "delete -f removed the cgroup")
    }

    func testTheCgroupMountIsNoPropagationSlaveOfTheHosts() throws {
        // With a cgroup namespace of its own the container's /sys/fs/cgroup stands for a new cgroup2 mount (runc
        // mounts one; corral binds the container's cgroup): no peer of the host's cgroup2 mount, which criu could not
        // restore. Seen from inside, in mountinfo's optional fields.
        bundle.addNamespace("cgroup")
        let line = try XCTUnwrap(runScript("grep ' /sys/fs/cgroup ' /proc/self/mountinfo"))
        XCTAssertTrue(line.contains(" cgroup2 "), line)
        XCTAssertFalse(line.contains("master:") || line.contains("shared:"), "the cgroup mount's propagation: \(line)")
    }

    func testForkBombStopsAtThePidsLimit() throws {
        bundle.setShell("b() { b | b & }; b; sleep 30")
        setResources(["pids": ["limit": 16], "cpu": ["quota": 20000, "period": 100000]], leaf: "bomb")
        let id = runtime.id("v2bomb")
        _ = try startDetached(bundle, id: id)
        let d = dir("bomb")
        XCTAssertTrue(waitUntil(timeout: 20) { (UInt64(cgroupFile(d, "pids.events")?.split(separator: " ").last ?? "0") ?? 0) > 0 },
                      "the limit was hit: \(cgroupFile(d, "pids.events") ?? "")")
        XCTAssertLessThanOrEqual(Int(cgroupFile(d, "pids.current") ?? "") ?? 99, 16)
        let del = runtime("delete", "-f", id)
        XCTAssertEqual(del.status, 0, "\(del)")
        XCTAssertFalse(pathExists(d), "delete -f removed the cgroup under fork pressure")
    }
}
