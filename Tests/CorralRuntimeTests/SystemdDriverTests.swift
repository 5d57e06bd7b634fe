// The systemd cgroup driver without systemd (this machine has none; the scripts/guest lane runs the real one):
// runc's reading of `slice:prefix:name` with its error texts, the unit's cgroup paths on v2, hybrid and v1 hosts,
// the mapping of resources to unit properties (checked value for value against what runc sent systemd in the
// recordings), and SystemdClient's conversations with a scripted systemd: job waits, failed and missing jobs,
// leftover units, NoSuchUnit.
import XCTest
import Glibc
import CorralSpec
@testable import CorralRuntime

/// A slice of this VM's /proc/devices (pts is major 136).
let procDevicesSample = """
    Character devices:
      1 mem
      4 /dev/vc/0
      4 tty
      5 /dev/tty
      5 /dev/console
      5 /dev/ptmx
     10 misc
    136 pts

    Block devices:
      7 loop
    254 virtblk
    """

final class SystemdUnitTests: XCTestCase {
    func testEnginesCgroupsPaths() throws {
        let docker = try SystemdUnit.parse(cgroupsPath: "system.slice:docker:abc", id: "abc")
        XCTAssertEqual(docker, SystemdUnit(name: "docker-abc.scope", parent: "system.slice",
                                           cgroupPath: "/system.slice/docker-abc.scope", description: "corral container abc"))
        let podman = try SystemdUnit.parse(cgroupsPath: "machine.slice:libpod:f00", id: "f00")
        XCTAssertEqual(podman.name, "libpod-f00.scope")
        XCTAssertEqual(podman.cgroupPath, "/machine.slice/libpod-f00.scope")
        XCTAssertFalse(podman.isSlice)
    }

    func testDefaultsAndNesting() throws {
        // No cgroupsPath: runc's ":runc:<id>"; an empty slice is system.slice.
        let none = try SystemdUnit.parse(cgroupsPath: nil, id: "c1")
        XCTAssertEqual([none.name, none.parent, none.cgroupPath], ["runc-c1.scope", "system.slice", "/system.slice/runc-c1.scope"])
        XCTAssertEqual(try SystemdUnit.parse(cgroupsPath: "", id: "c1"), none)
        XCTAssertEqual(try SystemdUnit.parse(cgroupsPath: ":p:n", id: "c1").cgroupPath, "/system.slice/p-n.scope")
        XCTAssertEqual(try SystemdUnit.parse(cgroupsPath: "a-b-c.slice:p:n", id: "c1").cgroupPath,
                       "/a.slice/a-b.slice/a-b-c.slice/p-n.scope")
        XCTAssertEqual(try SystemdUnit.parse(cgroupsPath: "-.slice:p:n", id: "c1").cgroupPath, "/p-n.scope", "the root slice")
        // An empty prefix still joins with "-" (runc: ScopePrefix + "-" + Name).
        XCTAssertEqual(try SystemdUnit.parse(cgroupsPath: "system.slice::n", id: "c1").name, "-n.scope")
        // A name ending in .slice is the unit itself (no prefix); its place follows from its own name.
        let slice = try SystemdUnit.parse(cgroupsPath: "system.slice:ignored:kube-pod1.slice", id: "c1")
        XCTAssertEqual([slice.name, slice.parent, slice.cgroupPath], ["kube-pod1.slice", "system.slice", "/kube.slice/kube-pod1.slice"])
        XCTAssertTrue(slice.isSlice)
    }

    func testExpandSliceAsSystemdDoes() throws {
        XCTAssertEqual(try SystemdUnit.expandSlice("system.slice"), "/system.slice")
        XCTAssertEqual(try SystemdUnit.expandSlice("user-1000.slice"), "/user.slice/user-1000.slice")
        XCTAssertEqual(try SystemdUnit.expandSlice("a-b.slice"), "/a.slice/a-b.slice")
        XCTAssertEqual(try SystemdUnit.expandSlice("-.slice"), "/")
        for bad in ["", ".slice", "system", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "system.slice/x.slice", "x.scope"] {
            XCTAssertThrowsError(try SystemdUnit.expandSlice(bad), bad) { e in
                XCTAssertEqual((e as? RuntimeError)?.message, "linux.cgroupsPath: invalid slice name: \(bad)")
            }
        }
    }

    func testRuncErrorTexts() {
        for bad in ["docker", "a:b", "a:b:c:d", "/docker/abc"] {
            XCTAssertThrowsError(try SystemdUnit.parse(cgroupsPath: bad, id: "c1"), bad) { e in
                XCTAssertEqual((e as? RuntimeError)?.message,
                               "linux.cgroupsPath: expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \(JSONValue.quoted(bad)) instead")
                XCTAssertEqual((e as? RuntimeError)?.code, .config)
            }
        }
        XCTAssertThrowsError(try SystemdUnit.parse(cgroupsPath: "docker:p:n", id: "c1")) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "linux.cgroupsPath: invalid slice name: docker")
        }
        XCTAssertThrowsError(try SystemdUnit.parse(cgroupsPath: "system.slice:p:a-.slice", id: "c1")) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "linux.cgroupsPath: invalid slice name: a-.slice")
        }
        // A unit name systemd would refuse, and one that would leave the slice's directory, fail before anything.
        for bad in ["system.slice:p:../../etc", "system.slice:p:a b", "system.slice:p:" + String(repeating: "x", count: 250)] {
            XCTAssertThrowsError(try SystemdUnit.parse(cgroupsPath: bad, id: "c1"), bad) { e in
                XCTAssertTrue((e as? RuntimeError)?.message.hasSuffix("which is not a valid systemd unit name") ?? false,
                              "\(String(describing: e))")
            }
        }
    }

    func testCgroupDirectoriesOnEachLayout() throws {
        var v2 = v2Host()
        v2.systemdRunning = true
        let (unit, set) = try CgroupPath.resolveSystemd(cgroupsPath: "system.slice:docker:c1", id: "c1", host: v2)
        XCTAssertEqual(unit.name, "docker-c1.scope")
        XCTAssertEqual(set.v2, "/sys/fs/cgroup/system.slice/docker-c1.scope")
        XCTAssertEqual(set.directories, ["/sys/fs/cgroup/system.slice/docker-c1.scope"])
        // Through the plan, as create gets it.
        let plan = try CgroupPlan.make(try spec(["cgroupsPath": "machine.slice:libpod:p1"]), id: "p1", host: v2, systemd: true)
        XCTAssertEqual(plan.systemd?.name, "libpod-p1.scope")
        XCTAssertEqual(plan.set.v2, "/sys/fs/cgroup/machine.slice/libpod-p1.scope")
        XCTAssertTrue(plan.unified)

        // Hybrid and v1: each hierarchy's mount, PID 1's cgroup there without init.scope, then the unit's path.
        var hy = hybridHost()
        hy.systemdRunning = true
        hy.initCgroup = ["name=systemd": "/init.scope", "memory": "/", "cpu": "/", "": "/init.scope", "pids": "/host/init.scope"]
        let (_, hset) = try CgroupPath.resolveSystemd(cgroupsPath: "system.slice:docker:c1", id: "c1", host: hy)
        XCTAssertEqual(hset.v1("name=systemd"), "/sys/fs/cgroup/systemd/system.slice/docker-c1.scope")
        XCTAssertEqual(hset.v1("memory"), "/sys/fs/cgroup/memory/system.slice/docker-c1.scope", "not below our own /process_api")
        XCTAssertEqual(hset.v1("pids"), "/sys/fs/cgroup/pids/host/system.slice/docker-c1.scope")
        XCTAssertEqual(hset.v1("freezer"), "/sys/fs/cgroup/freezer/system.slice/docker-c1.scope", "no entry: the root")
        XCTAssertEqual(hset.v2, "/sys/fs/cgroup/unified/system.slice/docker-c1.scope")
        let hplan = try CgroupPlan.make(try spec(["cgroupsPath": "system.slice:docker:c1"]), id: "c1", host: hy, systemd: true)
        XCTAssertFalse(hplan.unified, "systemd's v1 properties on a hybrid host")
    }

    func testWithoutSystemdRuncsErrorStays() {
        XCTAssertThrowsError(try CgroupPath.resolve(cgroupsPath: "system.slice:docker:c1", id: "c1", host: v2Host(), systemd: true)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "systemd not running on this host, cannot use systemd cgroups manager")
        }
        // Without the flag the slice form is a relative directory name (beside our own cgroup on pure v2, as runc).
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: "system.slice:docker:c1", id: "c1", host: v2Host(), systemd: false).v2,
                       "/sys/fs/cgroup/user.slice/user-0.slice/system.slice:docker:c1")
    }

    func testStateRecordsTheUnit() throws {
        var s = ContainerState(id: "c", pid: 1, pidStartTime: 2, bundle: "/b", rootfs: "/b/r", created: "t", owner: "root",
                               annotations: [:], ociVersion: "1.2.0")
        s.systemdUnit = "docker-c.scope"
        let back = try ContainerState(json: s.json())
        XCTAssertEqual(back.systemdUnit, "docker-c.scope")
        XCTAssertNil(try ContainerState(json: ContainerState(id: "c", pid: 1, pidStartTime: 2, bundle: "/b", rootfs: "", created: "",
                                                             owner: "", annotations: [:], ociVersion: "1").json()).systemdUnit)
    }
}

final class SystemdPropertiesTests: XCTestCase {
    static func host(version: Int = 252, unified: Bool = true) -> SystemdProperties.Host {
        SystemdProperties.Host(version: { version }, procDevices: { procDevicesSample }, unified: unified)
    }

    static func limits(_ json: String, devices: Bool = true, prefix: String = "linux.resources") throws -> CgroupLimits {
        try CgroupLimits(try Spec.parseResources(Array(json.utf8)), prefix: prefix, includeDevices: devices)
    }

    /// Docker's resources for `docker run --memory 64m --cpus 0.5 --pids-limit 32` (the recorded container).
    static let dockerResources = """
        {"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
          {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
          {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"}, {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
          {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"}, {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}],
         "memory": {"limit": 67108864, "swap": 134217728, "disableOOMKiller": false},
         "cpu": {"shares": 0, "quota": 50000, "period": 100000}, "pids": {"limit": 32}, "blockIO": {"weight": 0}}
        """

    /// StartTransientUnit as corral sends it for the recorded Docker container is runc's call byte for byte, but for
    /// the Description text.
    func testStartTransientUnitMatchesRuncsRecordedBody() throws {
        let rec = try DBusRecording("runc-create.conn1.hex")
        let runc = rec.client.messages[1]
        let unit = try SystemdUnit.parse(cgroupsPath: "system.slice:docker:8dce127cdf74ade23a950796ab7eb91b3ce83071a2ffab42c4d0992a0d89d09a",
                                         id: "8dce127cdf74ade23a950796ab7eb91b3ce83071a2ffab42c4d0992a0d89d09a")
        var props = SystemdProperties.unit(unit, pid: 2248, unified: true)
        XCTAssertEqual(props[0], SystemdProperty("Description", .string("corral container 8dce127cdf74ade23a950796ab7eb91b3ce83071a2ffab42c4d0992a0d89d09a")))
        props[0].value = .string("libcontainer container 8dce127cdf74ade23a950796ab7eb91b3ce83071a2ffab42c4d0992a0d89d09a")
        let body: [DBusValue] = [.string(unit.name), .string("replace"), SystemdProperty.list(props), .array(element: "(sa(sv))", [])]
        XCTAssertEqual(body, runc.body)
        var w = DBusWriter()
        for v in body { w.write(v) }
        XCTAssertEqual(w.bytes, DBusRecording.body(rec.client.raw[1]))
    }

    /// The resources runc gave systemd for that container (its SetUnitProperties; corral sends them with
    /// StartTransientUnit), value for value. One deliberate difference: runc drops /dev/char/10:200 (/dev/net/tun)
    /// because the node is missing until the tun module loads, which makes systemd's device program deny what the
    /// config allows; corral lists it (systemd parses /dev/char/M:m paths without the node).
    func testResourcesMatchRuncsRecordedProperties() throws {
        let rec = try DBusRecording("runc-create.conn1.hex")
        let runcProps = try XCTUnwrap(Self.properties(rec.client.messages[3].body[2]))
        let ours = try SystemdProperties.resources(try Self.limits(Self.dockerResources), host: Self.host())
        var expected = runcProps
        let tun = DBusValue.structure([.string("/dev/char/10:200"), .string("rwm")])
        guard case .array(let e, var list) = expected[2].value else { return XCTFail("DeviceAllow") }
        list.insert(tun, at: list.firstIndex(of: .structure([.string("char-pts"), .string("rwm")]))!)
        expected[2].value = .array(element: e, list)
        XCTAssertEqual(ours, expected)
        XCTAssertEqual(ours.map(\.name), ["DevicePolicy", "DeviceAllow", "DeviceAllow", "MemoryMax", "MemorySwapMax",
                                          "CPUQuotaPeriodUSec", "CPUQuotaPerSecUSec", "TasksMax"])
        // A terminal container needs /dev/pts/* and /dev/ptmx: both in systemd's list as in corral's program.
        XCTAssertTrue(list.contains(.structure([.string("char-pts"), .string("rwm")])))
        XCTAssertTrue(list.contains(.structure([.string("/dev/char/5:2"), .string("rwm")])))
    }

    /// runc's update (Docker `update --memory 128m --memory-swap 128m --pids-limit 64`): MemoryMax and TasksMax as
    /// recorded; corral adds MemorySwapMax=0 (swap equal to the limit), which runc leaves out although it writes
    /// memory.swap.max 0, so systemd would give the swap back when it re-realises the unit.
    func testUpdateMatchesRuncsRecordedProperties() throws {
        let rec = try DBusRecording("runc-update.conn1.hex")
        let call = rec.client.messages[1]
        let runcProps = try XCTUnwrap(Self.properties(call.body[2]))
        let doc = #"{"memory":{"limit":134217728,"reservation":0,"swap":134217728,"kernel":0},"cpu":{"shares":0,"quota":0,"period":0},"pids":{"limit":64},"blockIO":{"weight":0}}"#
        let ours = try SystemdProperties.resources(try Self.limits(doc, devices: false, prefix: ""), host: Self.host(),
                                                   current: .init(memoryLimit: 67108864, cpuQuota: 50000, cpuPeriod: 100000))
        XCTAssertEqual(ours, [runcProps[0], SystemdProperty("MemorySwapMax", .uint64(0)), runcProps[1]])
        // The call itself, encoded by us, is runc's body once the extra property is left out.
        var w = DBusWriter()
        for v in [DBusValue.string(call.body[0].stringValue!), .bool(true), SystemdProperty.list(ours.filter { $0.name != "MemorySwapMax" })] { w.write(v) }
        XCTAssertEqual(w.bytes, DBusRecording.body(rec.client.raw[1]))
    }

    func testUpdateKeepsTheOtherHalfOfAPair() throws {
        // Only the swap: converted against the limit in force (as the files are).
        let swapOnly = try SystemdProperties.resources(try Self.limits(#"{"memory":{"swap":201326592}}"#, devices: false, prefix: ""),
                                                       host: Self.host(), current: .init(memoryLimit: 67108864))
        XCTAssertEqual(swapOnly, [SystemdProperty("MemorySwapMax", .uint64(134217728))])
        // Only the quota: the period in force decides the per-second value.
        let quotaOnly = try SystemdProperties.resources(try Self.limits(#"{"cpu":{"quota":25000}}"#, devices: false, prefix: ""),
                                                        host: Self.host(), current: .init(cpuQuota: 50000, cpuPeriod: 50000))
        XCTAssertEqual(quotaOnly, [SystemdProperty("CPUQuotaPeriodUSec", .uint64(50000)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(500000))])
    }

    func testV2Mapping() throws {
        let l = try Self.limits("""
            {"memory": {"limit": -1, "reservation": 1048576}, "cpu": {"shares": 1024, "cpus": "0-3,8", "mems": "0"},
             "pids": {"limit": -1}, "blockIO": {"weight": 500},
             "unified": {"memory.high": "max", "memory.min": " 4096 ", "pids.max": "100", "cpu.weight": "50", "io.max": "8:0 rbps=1"}}
            """, devices: false)
        let p = try SystemdProperties.resources(l, host: Self.host())
        XCTAssertEqual(p, [
            SystemdProperty("MemoryMax", .uint64(UInt64.max)),
            SystemdProperty("MemoryLow", .uint64(1048576)),
            SystemdProperty("MemorySwapMax", .uint64(UInt64.max)),   // unlimited memory lifts swap too (runc)
            SystemdProperty("CPUWeight", .uint64(39)),               // shares 1024 → weight 39
            SystemdProperty("TasksMax", .uint64(UInt64.max)),
            SystemdProperty("AllowedCPUs", .array(element: "y", [.byte(0x0f), .byte(0x01)])),
            SystemdProperty("AllowedMemoryNodes", .array(element: "y", [.byte(0x01)])),
            SystemdProperty("IOWeight", .uint64(4950)),              // blkio 500 → io.weight 4950
            SystemdProperty("CPUWeight", .uint64(50)),
            SystemdProperty("MemoryHigh", .uint64(UInt64.max)),
            SystemdProperty("MemoryMin", .uint64(4096)),
            SystemdProperty("TasksMax", .uint64(100)),
        ])
        // systemd before 244 has no AllowedCPUs; the files still get the cpuset.
        var notes: [String] = []
        let old = try SystemdProperties.resources(l, host: Self.host(version: 241), note: { notes.append($0) })
        XCTAssertFalse(old.contains { $0.name == "AllowedCPUs" || $0.name == "AllowedMemoryNodes" })
        XCTAssertTrue(notes.contains { $0.contains("systemd v241 is too old to support AllowedCPUs/AllowedMemoryNodes") }, "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("\"io.max\"") }, "unknown unified keys are left to the files")
    }

    func testV1Mapping() throws {
        let l = try Self.limits(#"{"memory": {"limit": 1048576}, "cpu": {"shares": 512, "quota": 20000}, "pids": {"limit": 9}, "blockIO": {"weight": 300}}"#,
                                devices: false)
        let p = try SystemdProperties.resources(l, host: Self.host(unified: false))
        XCTAssertEqual(p, [
            SystemdProperty("MemoryLimit", .uint64(1048576)),
            SystemdProperty("CPUShares", .uint64(512)),
            SystemdProperty("CPUQuotaPerSecUSec", .uint64(200000)),
            SystemdProperty("BlockIOWeight", .uint64(300)),
            SystemdProperty("TasksMax", .uint64(9)),
        ])
        let unit = SystemdProperties.unit(try SystemdUnit.parse(cgroupsPath: nil, id: "x"), pid: 7, unified: false)
        XCTAssertTrue(unit.contains(SystemdProperty("BlockIOAccounting", .bool(true))))
        XCTAssertFalse(unit.contains { $0.name == "IOAccounting" })
    }

    func testSliceUnitHasWantsAndNoPIDs() throws {
        let u = try SystemdUnit.parse(cgroupsPath: "system.slice:x:pod-a.slice", id: "x")
        XCTAssertEqual(SystemdProperties.unit(u, pid: 42, unified: true).map(\.name),
                       ["Description", "Wants", "MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting", "DefaultDependencies"])
        XCTAssertEqual(SystemdProperties.unit(u, pid: 42, unified: true)[1].value, .array(element: "s", [.string("system.slice")]))
    }

    func testCPUQuotaPerSecond() {
        let v252 = { 252 }, v241 = { 241 }
        // runc rounds up to whole percents: 33.333% → 34%.
        XCTAssertEqual(SystemdProperties.cpuQuota(quota: 33333, period: 100000, version: v252),
                       [SystemdProperty("CPUQuotaPeriodUSec", .uint64(100000)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(340000))])
        XCTAssertEqual(SystemdProperties.cpuQuota(quota: 50000, period: 100000, version: v241),
                       [SystemdProperty("CPUQuotaPerSecUSec", .uint64(500000))], "no CPUQuotaPeriodUSec before 242")
        XCTAssertEqual(SystemdProperties.cpuQuota(quota: 150000, period: 0, version: v252),
                       [SystemdProperty("CPUQuotaPerSecUSec", .uint64(1500000))], "the default period 100ms")
        XCTAssertEqual(SystemdProperties.cpuQuota(quota: -1, period: 100000, version: v252).last,
                       SystemdProperty("CPUQuotaPerSecUSec", .uint64(UInt64.max)), "no quota: infinity")
        XCTAssertEqual(SystemdProperties.cpuQuota(quota: 0, period: 0, version: v252), [])
    }

    func testAllowedCPUsBytes() throws {
        func bits(_ s: String) throws -> DBusValue { SystemdProperties.bits(try XCTUnwrap(CPUList.parse(s, field: "f"))) }
        XCTAssertEqual(try bits("0"), .array(element: "y", [.byte(1)]))
        XCTAssertEqual(try bits("9"), .array(element: "y", [.byte(0), .byte(2)]), "the lowest CPUs in the first byte")
        XCTAssertEqual(try bits("0-3, 8,,"), .array(element: "y", [.byte(0x0f), .byte(1)]))
        XCTAssertThrowsError(try SystemdProperties.resources(try Self.limits(#"{"cpu": {"cpus": "3-1"}}"#, devices: false), host: Self.host()))
    }

    func testDevicePolicies() throws {
        func props(_ devices: String) throws -> (properties: [SystemdProperty], note: String?) {
            let r = try Spec.parseResources(Array(#"{"devices": \#(devices)}"#.utf8))
            return SystemdProperties.devices(try DeviceRules.build(r.devices, field: "d"), procDevices: procDevicesSample)
        }
        let auto = [SystemdProperty("DevicePolicy", .string("auto")), SystemdProperty("DeviceAllow", .array(element: "(ss)", []))]
        // Allow all (privileged): systemd is told nothing.
        let all = try props(#"[{"allow": true, "access": "rwm"}]"#)
        XCTAssertEqual(all.properties, auto)
        XCTAssertNil(all.note)
        // A deny list systemd cannot express: no program of its own (runc would make systemd deny everything).
        let deny = try props(#"[{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]"#)
        XCTAssertEqual(deny.properties, auto)
        XCTAssertNotNil(deny.note)
        // A rule for one minor of every major: the same.
        XCTAssertEqual(try props(#"[{"allow": true, "type": "c", "minor": 3, "access": "r"}]"#).properties, auto)
        // Group names from /proc/devices, a bare major when none is listed, block devices, access letters in order.
        let list = try props(#"[{"allow": true, "type": "c", "major": 4, "access": "mw"}, {"allow": true, "type": "c", "major": 240, "access": "r"}, "# +
                             #"{"allow": true, "type": "b", "major": 254, "minor": 0, "access": "rw"}]"#)
        XCTAssertEqual(list.properties[0], SystemdProperty("DevicePolicy", .string("strict")))
        guard case .array(_, let entries) = list.properties[2].value else { return XCTFail() }
        XCTAssertTrue(entries.contains(.structure([.string("char-tty"), .string("wm")])), "\(entries)")
        XCTAssertTrue(entries.contains(.structure([.string("char-240"), .string("r")])))
        XCTAssertTrue(entries.contains(.structure([.string("/dev/block/254:0"), .string("rw")])))
        XCTAssertEqual(SystemdProperties.deviceGroup(type: "b", major: 7, procDevices: procDevicesSample), "loop")
        XCTAssertNil(SystemdProperties.deviceGroup(type: "b", major: 136, procDevices: procDevicesSample))
        XCTAssertNil(SystemdProperties.deviceGroup(type: "c", major: 5, procDevices: procDevicesSample), "only path names")
    }

    func testUnifiedConversionErrors() throws {
        for (key, value) in [("cpu.weight", "x"), ("memory.high", "12k"), ("cpu.max", "1 2 3"), ("pids.max", "-1")] {
            let l = try Self.limits(#"{"unified": {"\#(key)": "\#(value)"}}"#, devices: false)
            XCTAssertThrowsError(try SystemdProperties.resources(l, host: Self.host()), key) { e in
                XCTAssertTrue((e as? RuntimeError)?.message.hasPrefix("linux.resources.unified[\"\(key)\"]: unified resource \"\(key)\" value") ?? false,
                              "\(String(describing: e))")
            }
        }
        let cpuMax = try SystemdProperties.resources(try Self.limits(#"{"unified": {"cpu.max": "max 50000"}}"#, devices: false), host: Self.host())
        XCTAssertEqual(cpuMax, [SystemdProperty("CPUQuotaPeriodUSec", .uint64(50000)), SystemdProperty("CPUQuotaPerSecUSec", .uint64(UInt64.max))])
    }

    func testVersionText() {
        XCTAssertEqual(SystemdProperties.version("252.39-1~deb12u2"), 252)
        XCTAssertEqual(SystemdProperties.version("v245.4-1.fc32"), 245)
        XCTAssertEqual(SystemdProperties.version("245"), 245)
        XCTAssertNil(SystemdProperties.version("unknown"))
    }

    static func properties(_ v: DBusValue) -> [SystemdProperty]? {
        guard case .array(_, let items) = v else { return nil }
        return items.compactMap {
            guard case .structure(let f) = $0, f.count == 2, let name = f[0].stringValue, case .variant(let inner) = f[1] else { return nil }
            return SystemdProperty(name, inner)
        }
    }
}

/// SystemdClient against a scripted systemd: the replies it would send, in order, with the serials our client
/// uses (on systemd's private socket there is no Hello and no AddMatch, so our first call is serial 1).
final class SystemdClientTests: XCTestCase {
    static var serverSerial: UInt32 = 1000

    static func reply(to serial: UInt32, _ body: [DBusValue] = []) -> [UInt8] {
        serverSerial += 1
        var m = DBusMessage(kind: .methodReturn, serial: serverSerial, replySerial: serial, body: body)
        m.sender = "org.freedesktop.systemd1"
        return m.encoded()
    }

    static func error(to serial: UInt32, _ name: String, _ text: String) -> [UInt8] {
        serverSerial += 1
        return DBusMessage(kind: .error, serial: serverSerial, errorName: name, replySerial: serial, body: [.string(text)]).encoded()
    }

    static func jobRemoved(_ id: UInt32, unit: String, result: String) -> [UInt8] {
        serverSerial += 1
        return DBusMessage(kind: .signal, serial: serverSerial, path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager",
                           member: "JobRemoved", body: [.uint32(id), .objectPath("/org/freedesktop/systemd1/job/\(id)"), .string(unit), .string(result)]).encoded()
    }

    static func job(_ id: UInt32) -> [DBusValue] { [.objectPath("/org/freedesktop/systemd1/job/\(id)")] }

    /// A client on the private socket (sd-bus's DATA-then-OK greeting) with `script` after it.
    static func client(_ script: [[UInt8]]) throws -> (SystemdClient, ScriptedPeer) {
        let peer = try ScriptedPeer(Array("DATA\r\nOK 0123456789abcdef0123456789abcdef\r\n".utf8) + script.flatMap { $0 })
        let c = try SystemdClient(connection: DBusConnection(connected: peer.client, bus: false, timeoutMS: 2000), path: "test")
        return (c, peer)
    }

    static func calls(_ peer: ScriptedPeer) throws -> [DBusMessage] { try DBusRecording.split(peer.sent()).messages }

    func testStartWaitsForItsJob() throws {
        // A JobRemoved of another job first (on the private socket systemd sends every signal to everyone).
        let (c, peer) = try Self.client([Self.jobRemoved(5, unit: "other.scope", result: "done"),
                                         Self.reply(to: 1, Self.job(7)), Self.jobRemoved(7, unit: "x.scope", result: "done")])
        defer { peer.close() }
        let props = [SystemdProperty("Description", .string("d")), SystemdProperty("PIDs", .array(element: "u", [.uint32(9)]))]
        try c.startTransientUnit("x.scope", props, timeoutMS: 2000)
        let sent = try Self.calls(peer)
        XCTAssertEqual(sent.map { $0.member ?? "" }, ["StartTransientUnit"])
        XCTAssertEqual(sent[0].destination, "org.freedesktop.systemd1")
        XCTAssertEqual(sent[0].path, "/org/freedesktop/systemd1")
        XCTAssertEqual(sent[0].interface, "org.freedesktop.systemd1.Manager")
        XCTAssertEqual(sent[0].body, [.string("x.scope"), .string("replace"), SystemdProperty.list(props), .array(element: "(sa(sv))", [])])
    }

    func testFailedJobIsResetAndReported() throws {
        let (c, peer) = try Self.client([Self.reply(to: 1, Self.job(8)), Self.jobRemoved(8, unit: "x.scope", result: "failed"), Self.reply(to: 2)])
        defer { peer.close() }
        XCTAssertThrowsError(try c.startTransientUnit("x.scope", [], timeoutMS: 2000)) { e in
            guard case .failed(let r)? = e as? SystemdClient.StartFailure else { return XCTFail("\(e)") }
            XCTAssertEqual(r.message, "error creating systemd unit `x.scope`: got `failed`")
        }
        XCTAssertEqual(try Self.calls(peer).map { $0.member ?? "" }, ["StartTransientUnit", "ResetFailedUnit"])
    }

    func testJobThatNeverEndsTimesOut() throws {
        let (c, peer) = try Self.client([Self.reply(to: 1, Self.job(9)), Self.reply(to: 2)])
        defer { peer.close() }
        XCTAssertThrowsError(try c.startTransientUnit("x.scope", [], timeoutMS: 200)) { e in
            guard case .failed(let r)? = e as? SystemdClient.StartFailure else { return XCTFail("\(e)") }
            XCTAssertEqual(r.message, "Timeout waiting for systemd to create x.scope")
        }
        XCTAssertEqual(try Self.calls(peer).map { $0.member ?? "" }, ["StartTransientUnit", "ResetFailedUnit"])
    }

    /// A unit of that name exists: reset (a failed leftover goes), retried once; still there → someone else's.
    func testExistingUnitIsResetAndRetriedOnce() throws {
        let exists = "org.freedesktop.systemd1.UnitExists"
        let (c, peer) = try Self.client([Self.error(to: 1, exists, "Unit x.scope already exists."), Self.reply(to: 2),
                                         Self.error(to: 3, exists, "Unit x.scope already exists."), Self.reply(to: 4)])
        defer { peer.close() }
        XCTAssertThrowsError(try c.startTransientUnit("x.scope", [SystemdProperty("Delegate", .bool(true))], timeoutMS: 500)) { e in
            guard case .exists(let r)? = e as? SystemdClient.StartFailure else { return XCTFail("\(e)") }
            XCTAssertEqual(r.message, "unable to start unit \"x.scope\" (properties [Delegate=true]): Unit x.scope already exists.")
        }
        XCTAssertEqual(try Self.calls(peer).map { $0.member ?? "" }, ["StartTransientUnit", "ResetFailedUnit", "StartTransientUnit"])

        // A leftover that the reset removed: the retry succeeds.
        let (c2, peer2) = try Self.client([Self.error(to: 1, exists, "Unit x.scope already exists."), Self.reply(to: 2),
                                           Self.reply(to: 3, Self.job(4)), Self.jobRemoved(4, unit: "x.scope", result: "done")])
        defer { peer2.close() }
        try c2.startTransientUnit("x.scope", [], timeoutMS: 1000)
    }

    func testRefusedPropertyIsAnError() throws {
        let (c, peer) = try Self.client([Self.error(to: 1, "org.freedesktop.DBus.Error.PropertyReadOnly", "Cannot set property Bogus, or unknown property.")])
        defer { peer.close() }
        XCTAssertThrowsError(try c.startTransientUnit("x.scope", [SystemdProperty("Bogus", .uint64(1))], timeoutMS: 500)) { e in
            guard case .failed(let r)? = e as? SystemdClient.StartFailure else { return XCTFail("\(e)") }
            XCTAssertEqual(r.message, "unable to start unit \"x.scope\" (properties [Bogus=1]): Cannot set property Bogus, or unknown property.")
        }
    }

    /// delete: runc's recorded StopUnit got NoSuchUnit (systemd had removed the empty scope): no error, and the
    /// reset of a unit that is gone neither.
    func testStopOfAGoneUnitIsFine() throws {
        let rec = try DBusRecording("runc-delete.conn1.hex")
        let recorded = try XCTUnwrap(rec.server.messages.first { $0.kind == .error })
        var again = recorded
        again.replySerial = 1
        let (c, peer) = try Self.client([again.encoded(), Self.error(to: 2, "org.freedesktop.systemd1.NoSuchUnit", "Unit x not loaded.")])
        defer { peer.close() }
        var warnings: [String] = []
        try c.stopUnit("docker-8dce127cdf74ade23a950796ab7eb91b3ce83071a2ffab42c4d0992a0d89d09a.scope", warn: { warnings.append($0) })
        XCTAssertEqual(warnings, [])
        let sent = try Self.calls(peer)
        XCTAssertEqual(sent.map { $0.member ?? "" }, ["StopUnit", "ResetFailedUnit"])
        XCTAssertEqual(sent[0].body, rec.client.messages[1].body, "runc's StopUnit body")
    }

    func testStopWaitsForItsJob() throws {
        let (c, peer) = try Self.client([Self.reply(to: 1, Self.job(11)), Self.jobRemoved(11, unit: "x.scope", result: "canceled"), Self.reply(to: 2)])
        defer { peer.close() }
        var warnings: [String] = []
        try c.stopUnit("x.scope", warn: { warnings.append($0) })
        XCTAssertEqual(warnings, ["error removing unit `x.scope`: got `canceled`. Continuing..."])
        let (c2, peer2) = try Self.client([Self.reply(to: 1, Self.job(12))])
        defer { peer2.close() }
        XCTAssertThrowsError(try c2.stopUnit("x.scope", timeoutMS: 200, warn: { _ in })) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "Timed out while waiting for systemd to remove x.scope")
        }
    }

    /// No reply at all to StopUnit: an error whose text says so (SystemdCgroups.stop then asks once more on a
    /// new connection).
    func testStopWithoutAReplyIsATimeout() throws {
        let (c, peer) = try Self.client([])
        defer { peer.close() }
        XCTAssertThrowsError(try c.stopUnit("x.scope", replyTimeoutMS: 200, warn: { _ in })) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "stop unit x.scope: " + DBusConnection.timeoutText)
        }
    }

    /// SystemdCgroups.stop: no reply twice; when the scope's cgroup is gone the scope has stopped (a warning),
    /// while it is there the timeout is the error.
    func testStopWithoutAReplyTwiceLooksAtTheCgroup() throws {
        var peers: [ScriptedPeer] = []
        defer { for p in peers { p.close() } }
        let connect = { () throws(RuntimeError) -> SystemdClient in
            do {
                let (c, peer) = try Self.client([])
                peers.append(peer)
                return c
            } catch {
                throw RuntimeError(.system, "\(error)")
            }
        }
        var warnings: [String] = []
        XCTAssertNil(SystemdCgroups.stop("x.scope", cgroup: "/nonexistent/x.scope", replyTimeoutMS: 100, connect: connect,
                                         warn: { warnings.append($0) }))
        XCTAssertEqual(warnings.count, 2, "\(warnings)")
        XCTAssertTrue(warnings.last?.hasSuffix("the scope's cgroup /nonexistent/x.scope is gone, so it has stopped") ?? false, "\(warnings)")
        let dir = "/tmp"   // a directory that exists: the scope is still there
        let e = SystemdCgroups.stop("x.scope", cgroup: dir, replyTimeoutMS: 100, connect: connect, warn: { _ in })
        XCTAssertEqual(e?.message, "stop unit x.scope: " + DBusConnection.timeoutText)
        XCTAssertEqual(peers.count, 4, "each attempt on a connection of its own")
    }

    func testSetPropertiesAndVersion() throws {
        let (c, peer) = try Self.client([Self.reply(to: 1, [.variant(.string("252.39-1~deb12u2"))]), Self.reply(to: 2),
                                         Self.error(to: 3, "org.freedesktop.systemd1.NoSuchUnit", "Unit y.scope not loaded.")])
        defer { peer.close() }
        XCTAssertEqual(c.version(), 252)
        XCTAssertEqual(c.version(), 252, "asked once")
        try c.setUnitProperties("x.scope", [SystemdProperty("MemoryMax", .uint64(1))])
        XCTAssertThrowsError(try c.setUnitProperties("y.scope", [])) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "unable to set unit properties: Unit y.scope not loaded.")
        }
        let sent = try Self.calls(peer)
        XCTAssertEqual(sent.map { $0.member ?? "" }, ["Get", "SetUnitProperties", "SetUnitProperties"])
        XCTAssertEqual(sent[0].body, [.string("org.freedesktop.systemd1.Manager"), .string("Version")])
        XCTAssertEqual(sent[1].body, [.string("x.scope"), .bool(true), SystemdProperty.list([SystemdProperty("MemoryMax", .uint64(1))])])
    }

    /// On the bus: Hello, then the JobRemoved match (go-systemd's rule, byte for byte) before any call.
    func testOnTheBusTheMatchComesFirst() throws {
        let peer = try ScriptedPeer(Array("OK 0123\r\n".utf8) + Self.reply(to: 1, [.string(":1.42")]) + Self.reply(to: 2))
        defer { peer.close() }
        _ = try SystemdClient(connection: DBusConnection(connected: peer.client, bus: true), path: "bus")
        let sent = try Self.calls(peer)
        XCTAssertEqual(sent.map { $0.member ?? "" }, ["Hello", "AddMatch"])
        let recorded = try DBusRecording("runc-create.conn2.hex").client.messages[1]
        XCTAssertEqual(sent[1].body, recorded.body)
    }

    func testConnectNamesBothSockets() {
        XCTAssertThrowsError(try SystemdClient.connect(bus: "/nonexistent/bus", privateSocket: "/nonexistent/private")) { e in
            let m = (e as? RuntimeError)?.message ?? ""
            XCTAssertTrue(m.hasPrefix("failed to connect to dbus: connect to /nonexistent/bus: no such file or directory"), m)
            XCTAssertTrue(m.contains("/nonexistent/private"), m)
        }
    }
}

final class SystemdAnnotationTests: XCTestCase {
    func testRuncsDocumentedExamples() throws {
        let p = try SystemdProperties.fromAnnotations([
            "org.systemd.property.TimeoutStopUSec": "uint64 123456789",
            "org.systemd.property.CollectMode": "'inactive-or-failed'",
            "org.systemd.property.TimeoutStopSec": "5",          // seconds: sent as microseconds
            "org.systemd.property.After": "['a.service', \"b.service\"]",
            "org.systemd.property.IgnoreOnIsolate": "true",
            "org.systemd.property.CPUWeight": "@t 10",
            "com.example.other": "ignored",
        ])
        XCTAssertEqual(p, [
            SystemdProperty("After", .array(element: "s", [.string("a.service"), .string("b.service")])),
            SystemdProperty("CPUWeight", .uint64(10)),
            SystemdProperty("CollectMode", .string("inactive-or-failed")),
            SystemdProperty("IgnoreOnIsolate", .bool(true)),
            SystemdProperty("TimeoutStopUSec", .uint64(5_000_000)),
            SystemdProperty("TimeoutStopUSec", .uint64(123456789)),
        ])
    }

    func testGVariantScalars() {
        XCTAssertEqual(GVariantText.parse("42"), .int32(42), "a bare number is an int32")
        XCTAssertEqual(GVariantText.parse("-7"), .int32(-7))
        XCTAssertEqual(GVariantText.parse("int64 -9223372036854775808"), .int64(Int64.min))
        XCTAssertEqual(GVariantText.parse("byte 0x10"), .byte(16))
        XCTAssertEqual(GVariantText.parse("@as []"), .array(element: "s", []))
        XCTAssertEqual(GVariantText.parse("'it\\'s'"), .string("it's"))
        for bad in ["uint32 -1", "byte 256", "2147483648", "'open", "[1, 2]", "{'a': 1}", "uint64 x", ""] {
            XCTAssertNil(GVariantText.parse(bad), bad)
        }
    }

    func testRuncsErrorTexts() {
        XCTAssertThrowsError(try SystemdProperties.fromAnnotations(["org.systemd.property.Ab": "1"])) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "annotations[\"org.systemd.property.Ab\"]: annotation org.systemd.property.Ab name incorrect: too short")
        }
        XCTAssertThrowsError(try SystemdProperties.fromAnnotations(["org.systemd.property.Foo1": "1"])) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.hasSuffix("name incorrect: contains non-alphabetic character") ?? false)
        }
        XCTAssertThrowsError(try SystemdProperties.fromAnnotations(["org.systemd.property.TimeoutSec": "'x'"])) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "annotations[\"org.systemd.property.TimeoutSec\"]: annotation org.systemd.property.TimeoutSec='x' value parse error: not a number")
        }
        // Only the systemd driver reads them (runc too): a bad one fails create with it, and only with it.
        let doc: JSONValue = ["ociVersion": "1.0.2", "root": ["path": "rootfs"], "annotations": ["org.systemd.property.X": "1"],
                              "process": ["cwd": "/", "args": ["/bin/true"], "user": ["uid": 0, "gid": 0]],
                              "linux": ["cgroupsPath": "system.slice:p:x"]]
        var host = v2Host()
        host.systemdRunning = true
        XCTAssertNoThrow(try CgroupPlan.make(try Spec.decode(doc), id: "x", host: host, systemd: false))
        XCTAssertThrowsError(try CgroupPlan.make(try Spec.decode(doc), id: "x", host: host, systemd: true)) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.hasSuffix("name incorrect: too short") ?? false, "\(e)")
        }
    }
}
