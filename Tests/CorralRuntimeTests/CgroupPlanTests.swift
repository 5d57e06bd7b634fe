// Pure cgroup logic: host detection from mountinfo, cgroupsPath resolution, the device-rule emulator and the
// BPF program it compiles to, and the validation of linux.resources against a host layout.
import XCTest
import Glibc
import CorralSpec
@testable import CorralRuntime

/// This host's layout (Debian 12 VM, hybrid): cpu and cpuacct apart, name=systemd, cgroup2 at /unified.
let hybridMountinfo = """
    31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
    33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
    34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
    37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
    38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
    39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
    """
let hybridProcCgroup = """
    9:name=systemd:/
    8:pids:/
    7:blkio:/
    6:freezer:/
    5:devices:/
    4:memory:/process_api/f38f
    3:cpuset:/
    2:cpuacct:/
    1:cpu:/
    0::/
    """

func hybridHost() -> CgroupHost {
    var h = CgroupHost.parse(mountinfo: hybridMountinfo, procCgroup: hybridProcCgroup)
    h.v2Controllers = ["hugetlb"]
    h.hugepageSizes = ["1GB", "2MB"]
    return h
}

func v2Host() -> CgroupHost {
    var h = CgroupHost.parse(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
                             procCgroup: "0::/user.slice/user-0.slice/session-1.scope\n")
    h.v2Controllers = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]
    h.hugepageSizes = ["2MB"]
    return h
}

func spec(_ linux: JSONValue) throws -> Spec {
    let doc: JSONValue = ["ociVersion": "1.0.2", "root": ["path": "rootfs"], "process": ["cwd": "/", "args": ["/bin/true"], "user": ["uid": 0, "gid": 0]],
                          "linux": linux]
    return try Spec.decode(doc)
}

final class CgroupHostTests: XCTestCase {
    func testHybridLayout() {
        let h = hybridHost()
        XCTAssertEqual(h.mode, .hybrid)
        XCTAssertEqual(h.v1.map { $0.key }, ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "name=systemd"])
        XCTAssertEqual(h.v2?.mountPoint, "/sys/fs/cgroup/unified")
        XCTAssertEqual(h.own["memory"], "/process_api/f38f")
        XCTAssertEqual(h.holder("memory"), .v1(h.v1Hierarchy("memory")!))
        XCTAssertEqual(h.holder("hugetlb"), .v2)
        XCTAssertNil(h.holder("net_cls"))
        XCTAssertEqual(h.v1.first { $0.key == "name=systemd" }?.controllers, [])
    }

    func testCoMountedControllersAndEscapedMountPoints() {
        let mi = """
            25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            26 20 0:23 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
            27 20 0:24 / /sys/fs/cgroup/with\\040space rw - cgroup cgroup rw,xattr,name=systemd
            """
        let h = CgroupHost.parse(mountinfo: mi, procCgroup: "3:cpu,cpuacct:/a\n2:net_cls,net_prio:/\n1:name=systemd:/b\n")
        XCTAssertEqual(h.mode, .v1)
        XCTAssertEqual(h.v1.map { $0.key }, ["cpu,cpuacct", "net_cls,net_prio", "name=systemd"])
        XCTAssertEqual(h.v1Hierarchy("cpuacct")?.mountPoint, "/sys/fs/cgroup/cpu,cpuacct")
        XCTAssertEqual(h.v1Hierarchy("net_prio")?.controllers, ["net_cls", "net_prio"])
        XCTAssertEqual(h.v1.last?.mountPoint, "/sys/fs/cgroup/with space")
    }

    func testPureV2() {
        let h = v2Host()
        XCTAssertEqual(h.mode, .v2)
        XCTAssertEqual(h.holder("memory"), .v2)
        XCTAssertTrue(h.v1.isEmpty)
    }

    func testHugepageSizeNames() {
        XCTAssertEqual(CgroupHost.hugepageSizes(["hugepages-1048576kB", "hugepages-2048kB", "hugepages-64kB", "other"]), ["1GB", "2MB", "64KB"])
    }

    func testLiveDetectionFindsThisHost() throws {
        let h = CgroupHost.detect()
        guard h.mode != .none else { throw XCTSkip("no cgroups mounted") }
        // Whatever the layout, every hierarchy has our own path.
        for x in h.v1 { XCTAssertNotNil(h.own[x.key], x.key) }
        if h.mode == .hybrid { XCTAssertFalse(h.v2Controllers.contains("memory") && h.v1Hierarchy("memory") != nil) }
    }
}

final class CgroupPathTests: XCTestCase {
    func testCleanKeepsRelativePathsBelowTheStart() {
        XCTAssertEqual(CgroupPath.clean("/docker/abc/"), "/docker/abc")
        XCTAssertEqual(CgroupPath.clean("../../x"), "x")
        XCTAssertEqual(CgroupPath.clean("a/./b/../c"), "a/c")
        XCTAssertEqual(CgroupPath.clean(""), "")
    }

    func testAbsoluteRelativeAndDefault() throws {
        let h = hybridHost()
        let abs = try CgroupPath.resolve(cgroupsPath: "/docker/c1", id: "c1", host: h, systemd: false)
        XCTAssertEqual(abs.v1("memory"), "/sys/fs/cgroup/memory/docker/c1")
        XCTAssertEqual(abs.v1("name=systemd"), "/sys/fs/cgroup/systemd/docker/c1")
        XCTAssertEqual(abs.v2, "/sys/fs/cgroup/unified/docker/c1")
        // Relative and default start at our own cgroup (memory is /process_api/f38f here), as runc's do.
        let rel = try CgroupPath.resolve(cgroupsPath: "corral/x", id: "c1", host: h, systemd: false)
        XCTAssertEqual(rel.v1("memory"), "/sys/fs/cgroup/memory/process_api/f38f/corral/x")
        XCTAssertEqual(rel.v1("cpu"), "/sys/fs/cgroup/cpu/corral/x")
        let def = try CgroupPath.resolve(cgroupsPath: nil, id: "c1", host: h, systemd: false)
        XCTAssertEqual(def.v1("memory"), "/sys/fs/cgroup/memory/process_api/f38f/c1")
        XCTAssertEqual(def.v2, "/sys/fs/cgroup/unified/c1")
        XCTAssertEqual(def.directories.count, 10)
        // Without --systemd-cgroup the slice form is a plain relative name (runc 1.1.5 does the same).
        let slice = try CgroupPath.resolve(cgroupsPath: "system.slice:docker:c1", id: "c1", host: h, systemd: false)
        XCTAssertEqual(slice.v1("pids"), "/sys/fs/cgroup/pids/system.slice:docker:c1")
    }

    func testRelativePathOnAPureV2HostStartsBesideOurOwnCgroup() throws {
        // Our own cgroup holds us: on cgroup v2 its children could have no controllers (no internal processes),
        // so a relative path starts at its parent, as runc's fs2 driver does. Absolute paths are unchanged.
        let h = v2Host()
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: nil, id: "c1", host: h, systemd: false).v2,
                       "/sys/fs/cgroup/user.slice/user-0.slice/c1")
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: "corral/x", id: "c1", host: h, systemd: false).v2,
                       "/sys/fs/cgroup/user.slice/user-0.slice/corral/x")
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: "/docker/c1", id: "c1", host: h, systemd: false).v2,
                       "/sys/fs/cgroup/docker/c1")
        // In the root cgroup there is no parent: the path starts at the root.
        let root = CgroupHost.parse(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw", procCgroup: "0::/\n")
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: nil, id: "c1", host: root, systemd: false).v2, "/sys/fs/cgroup/c1")
    }

    func testSystemdDriverFailsWithoutSystemd() {
        var h = hybridHost()
        XCTAssertThrowsError(try CgroupPath.resolve(cgroupsPath: "system.slice:docker:c1", id: "c1", host: h, systemd: true)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "systemd not running on this host, cannot use systemd cgroups manager")
        }
        // With systemd the slice form names the unit whose cgroups these are (SystemdDriverTests has the rest).
        h.systemdRunning = true
        h.initCgroup = [:]
        XCTAssertEqual(try CgroupPath.resolve(cgroupsPath: "system.slice:docker:c1", id: "c1", host: h, systemd: true).v1("pids"),
                       "/sys/fs/cgroup/pids/system.slice/docker-c1.scope")
    }

    func testRootCgroupIsRefused() {
        XCTAssertThrowsError(try CgroupPath.resolve(cgroupsPath: "/", id: "c1", host: hybridHost(), systemd: false)) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.hasPrefix("linux.cgroupsPath:") ?? false)
        }
    }

    func testStateRoundTripKeepsRuncShape() throws {
        let set = try CgroupPath.resolve(cgroupsPath: "/x/y", id: "c", host: hybridHost(), systemd: false)
        let json = set.json()
        XCTAssertEqual(json[""]?.stringValue, "/sys/fs/cgroup/unified/x/y")
        XCTAssertEqual(json["cpuacct"]?.stringValue, "/sys/fs/cgroup/cpuacct/x/y")
        XCTAssertEqual(CgroupSet(json: try JSONValue.parse(json.serialized())), set)
        XCTAssertEqual(set.procsDir, "/sys/fs/cgroup/devices/x/y")
    }

    func testCgroupMountBindsTheContainersCgroups() throws {
        let plan = try CgroupPlan.make(try spec(["cgroupsPath": "/docker/c1"]), id: "c1", host: hybridHost(), systemd: false)
        let opts = try MountOptions.classify(["nosuid", "ro"], path: "mounts[3].options")
        let ops = CgroupMount.plan(dest: "/sys/fs/cgroup", opts: opts, index: 3, cgroups: plan)
        let binds = Dictionary(uniqueKeysWithValues: ops.filter { $0.kind == .bind }.map { ($0.dest, $0.source ?? "") })
        XCTAssertEqual(binds["/sys/fs/cgroup/memory"], "/sys/fs/cgroup/memory/docker/c1")
        XCTAssertEqual(binds["/sys/fs/cgroup/cpuacct"], "/sys/fs/cgroup/cpuacct/docker/c1")
        XCTAssertNil(binds["/sys/fs/cgroup/unified"], "hybrid: only v1 hierarchies, as runc")
        XCTAssertEqual(ops.first?.fstype, "tmpfs")
        XCTAssertEqual(ops.last?.kind, .remount, "ro: the tmpfs is made read-only after the binds")
    }

    /// On a cgroup2-only host the container's cgroup namespace shows its own cgroup: bound from the host instead of
    /// a new cgroup2 mount (which waits for an RCU grace period on Linux 6.18); without one, a real cgroup2 mount.
    func testCgroupMountOnV2BindsTheCgroupInItsOwnNamespace() throws {
        let plan = try CgroupPlan.make(try spec(["cgroupsPath": "/docker/c1"]), id: "c1", host: v2Host(), systemd: false)
        let opts = try MountOptions.classify(["nosuid", "ro"], path: "mounts[3].options")
        let own = CgroupMount.plan(dest: "/sys/fs/cgroup", opts: opts, index: 3, cgroups: plan, ownNamespace: true)
        XCTAssertEqual(own.count, 1)
        XCTAssertEqual(own.first?.kind, .bind)
        XCTAssertEqual(own.first?.source, "/sys/fs/cgroup/docker/c1")
        XCTAssertEqual(own.first?.recursive, false)
        XCTAssertNotEqual((own.first?.attrSet ?? 0) & MountAttr.rdonly, 0, "ro stays on the bind")
        XCTAssertEqual(own.first?.propagation, Propagation.private, "a new mount's propagation, not a slave of the host's")
        let shared = CgroupMount.plan(dest: "/sys/fs/cgroup", opts: opts, index: 3, cgroups: plan)
        XCTAssertEqual(shared.map { $0.kind }, [.fs])
        XCTAssertEqual(shared.first?.fstype, "cgroup2")
        // The config's propagation option holds for every cgroup mount (podman passes "rprivate").
        let rslave = try MountOptions.classify(["rslave", "ro"], path: "mounts[3].options")
        for ops in [CgroupMount.plan(dest: "/sys/fs/cgroup", opts: rslave, index: 3, cgroups: plan, ownNamespace: true),
                    CgroupMount.plan(dest: "/sys/fs/cgroup", opts: rslave, index: 3, cgroups: plan)] {
            XCTAssertEqual(ops.first?.propagation, Propagation.slave)
            XCTAssertEqual(ops.first?.propagationRecursive, true)
        }
        let hybrid = try CgroupPlan.make(try spec(["cgroupsPath": "/docker/c1"]), id: "c1", host: hybridHost(), systemd: false)
        let v1 = CgroupMount.plan(dest: "/sys/fs/cgroup", opts: rslave, index: 3, cgroups: hybrid)
        XCTAssertTrue(v1.filter { $0.kind != .symlink && $0.kind != .remount }.allSatisfy { $0.propagation == Propagation.slave }, "\(v1)")
    }
}

final class DeviceRulesTests: XCTestCase {
    func rule(_ allow: Bool, _ type: DeviceCgroupType?, _ major: Int64?, _ minor: Int64?, _ access: String?) -> DeviceCgroup {
        DeviceCgroup(allow: allow, type: type, major: major, minor: minor, access: access)
    }

    /// devices.list for `runc spec`'s deny-all: runc's defaults in the order they are applied (runc 1.1.5 lists
    /// the same entries sorted; the spec asks for the listed order, and crun and the kernel keep it).
    static let runcDefaultList = ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm",
                                  "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"]

    func testDenyAllPlusRuncDefaults() throws {
        let d = try DeviceRules.build([rule(false, nil, nil, nil, "rwm")], field: "linux.resources.devices")
        XCTAssertFalse(d.defaultAllow)
        XCTAssertEqual(d.v1List, Self.runcDefaultList)
        XCTAssertEqual(d.v1Writes.first?.file, "devices.deny")
        XCTAssertEqual(d.v1Writes.first?.line, "a")
        XCTAssertTrue(d.v1Writes.dropFirst().allSatisfy { $0.file == "devices.allow" })
        // No list at all: runc's emulator starts from deny-all too.
        XCTAssertEqual(try DeviceRules.build(nil, field: "x").v1List, Self.runcDefaultList)
    }

    func testConfigRulesAndDefaultsInOrder() throws {
        // Observed with runc on this host: the spec's denies of 1:5 and 1:3 w are undone by the defaults that
        // follow; b 4:* r stays.
        let d = try DeviceRules.build([rule(false, nil, nil, nil, "rwm"), rule(true, .c, 1, 3, "rw"), rule(true, .b, 4, nil, "r"),
                                       rule(false, .c, 1, 5, "rwm"), rule(false, .c, 1, 3, "w")], field: "f")
        // In the order applied: c 1:3 keeps the place it got first (the default only adds access to it).
        XCTAssertEqual(d.v1List, ["c 1:3 rwm", "b 4:* r", "c *:* m", "b *:* m", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm",
                                  "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"])
    }

    /// runtime-tools linux_cgroups_devices: the config's allow rules come first in devices.list, in their order.
    func testConfigRulesAreListedInTheirOrder() throws {
        let d = try DeviceRules.build([rule(false, nil, nil, nil, "rwm"), rule(true, .c, 10, 229, "rwm"), rule(true, .b, 8, 20, "rw"),
                                       rule(true, .b, 10, 200, "r")], field: "f")
        XCTAssertEqual(Array(d.v1List.prefix(3)), ["c 10:229 rwm", "b 8:20 rw", "b 10:200 r"])
    }

    func testTypeAResetsWhateverItsNumbers() throws {
        // {"allow": true, "major": 4} has type "a": the kernel and runc read only the "a" — allow everything.
        let d = try DeviceRules.build([rule(false, nil, nil, nil, "rwm"), rule(true, nil, 4, nil, "r"), rule(false, .c, 1, 11, "rwm")], field: "f")
        XCTAssertTrue(d.defaultAllow)
        XCTAssertEqual(d.v1List, ["a *:* rwm"])
        XCTAssertEqual(d.v1Writes.map { $0.line }, ["a", "c 1:11 rwm"])
        XCTAssertEqual(d.v1Writes.map { $0.file }, ["devices.allow", "devices.deny"])
    }

    func testDockerList() throws {
        let docker = [rule(false, nil, nil, nil, "rwm"), rule(true, .c, 1, 5, "rwm"), rule(true, .c, 1, 3, "rwm"), rule(true, .c, 1, 9, "rwm"),
                      rule(true, .c, 1, 8, "rwm"), rule(true, .c, 5, 0, "rwm"), rule(true, .c, 5, 1, "rwm"), rule(false, .c, 10, 229, "rwm")]
        let d = try DeviceRules.build(docker, field: "f")
        XCTAssertTrue(d.v1List.contains("c 5:1 rwm"))
        XCTAssertTrue(d.v1List.contains("c 136:* rwm"), "runc's defaults give docker -t its /dev/pts")
        XCTAssertFalse(d.v1List.contains { $0.hasPrefix("c 10:229") })
    }

    func testPunchingAHoleInAWildcardIsAnError() {
        XCTAssertThrowsError(try DeviceRules.build([rule(false, nil, nil, nil, "rwm"), rule(true, .c, 240, nil, "rw"), rule(false, .c, 240, 1, "r")],
                                                   field: "linux.resources.devices")) { e in
            let m = (e as? RuntimeError)?.message ?? ""
            XCTAssertTrue(m.hasPrefix("linux.resources.devices[2]: "), m)
            XCTAssertTrue(m.contains("c 240:* rw"), m)
        }
    }

    /// runc's update.bats denies "rwa": a deny rule with a letter beyond r, w, m denies all three; an allow rule with
    /// one is refused (the decoder refuses it first; the emulator again for lists built in code).
    func testUnknownAccessLettersDenyAllButNeverAllow() throws {
        let d = try DeviceRules.build([rule(true, nil, nil, nil, "rwm"), rule(false, .c, 1, 11, "rwa"), rule(false, .c, 1, 12, "a")], field: "f")
        XCTAssertTrue(d.defaultAllow)
        XCTAssertEqual(d.v1Writes.map { $0.line }, ["a", "c 1:11 rwm", "c 1:12 rwm"])
        XCTAssertEqual(d.v1Writes.map { $0.file }, ["devices.allow", "devices.deny", "devices.deny"])
        XCTAssertThrowsError(try DeviceRules.build([rule(true, .c, 1, 11, "rwa")], field: "linux.resources.devices")) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, #"linux.resources.devices[0].access: unknown access "rwa""#)
        }
    }

    func testEmptyAccessIsAnError() {
        XCTAssertThrowsError(try DeviceRules.build([rule(true, .c, 1, 3, nil)], field: "linux.resources.devices")) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.hasPrefix("linux.resources.devices[0].access") ?? false)
        }
    }

    /// Decodes struct bpf_insn from the packed UInt64s: (code, dst, src, off, imm).
    func decode(_ prog: [UInt64]) -> [(UInt8, UInt8, UInt8, Int16, Int32)] {
        prog.map { v in
            let code = UInt8(v & 0xff), regs = UInt8((v >> 8) & 0xff)
            return (code, regs & 0xf, regs >> 4, Int16(truncatingIfNeeded: v >> 16), Int32(truncatingIfNeeded: v >> 32))
        }
    }

    func testBPFProgramLayout() throws {
        let d = try DeviceRules.build([rule(false, nil, nil, nil, "rwm")], field: "f")
        let insns = decode(try d.bpfProgram())
        // 6 loads; per exception: type check, [access check: 3], [major], [minor], mov+exit; then default mov+exit.
        // b/c *:* m: 6 each; eight fixed devices: 5 each; c 136:*: 4.
        XCTAssertEqual(insns.count, 6 + 6 + 6 + 8 * 5 + 4 + 2)
        XCTAssertEqual(insns[0].0, 0x61)   // ldx w r2 = *(u32 *)(r1 + 0)
        XCTAssertEqual(insns[0].1, 2)
        XCTAssertEqual(insns[1].4, 0xffff)
        XCTAssertEqual(insns[3].4, 16)
        XCTAssertEqual(insns[4].3, 4)      // major at offset 4
        XCTAssertEqual(insns[5].3, 8)      // minor at offset 8
        // Ends with "r0 = 0 (deny by default); exit".
        XCTAssertEqual(insns[insns.count - 2].0, 0xb4)
        XCTAssertEqual(insns[insns.count - 2].4, 0)
        XCTAssertEqual(insns.last?.0, 0x95)
        // Every jump lands on the first instruction of the next block (a type check) or on the final default.
        for (i, ins) in insns.enumerated() where ins.0 == 0x56 || ins.0 == 0x5e {
            let target = i + 1 + Int(ins.3)
            XCTAssertTrue(target < insns.count)
            let t = insns[target]
            XCTAssertTrue((t.0 == 0x56 && t.1 == 2) || (target == insns.count - 2), "jump at \(i) lands on \(t)")
        }
        // The first exception in runc's order is "b *:* m": type block, access check, accept.
        XCTAssertEqual(insns[6].0, 0x56)   // jmp32 jne r2, BPF_DEVCG_DEV_BLOCK
        XCTAssertEqual(insns[6].4, 1)
        XCTAssertEqual(insns[8].4, 1)      // and r1, BPF_DEVCG_ACC_MKNOD
        XCTAssertEqual(insns[10].0, 0xb4)  // r0 = 1
        XCTAssertEqual(insns[10].4, 1)
    }

    func testBPFAllowAllIsTwoInstructionsAfterTheLoads() throws {
        let d = try DeviceRules.build([rule(true, nil, nil, nil, "rwm")], field: "f")
        // Defaults are allow rules: in an allow-all list they remove nothing and add nothing.
        XCTAssertTrue(d.defaultAllow)
        XCTAssertEqual(try d.bpfProgram().count, 8)
    }
}

final class CgroupLimitsTests: XCTestCase {
    func limits(_ resources: JSONValue) throws -> CgroupLimits {
        try CgroupLimits(try spec(["resources": resources]).linux?.resources, prefix: "linux.resources", includeDevices: true)
    }

    func testZeroMeansUnsetLikeRunc() throws {
        // Docker's create: cpu.shares 0 and blockIO.weight 0 must not be written.
        let l = try limits(["memory": ["limit": 536870912, "swap": 1073741824, "disableOOMKiller": false],
                            "cpu": ["shares": 0, "quota": 50000, "period": 100000], "pids": ["limit": 64], "blockIO": ["weight": 0]])
        XCTAssertNil(l.cpuShares)
        XCTAssertNil(l.blkioWeight)
        XCTAssertEqual(l.cpuQuota?.value, 50000)
        XCTAssertEqual(l.memorySwap?.field, "linux.resources.memory.swap")
        XCTAssertEqual(l.needs.map { $0.controller }, ["memory", "cpu", "pids"])
        XCTAssertNoThrow(try l.validate(on: hybridHost()))
    }

    func testWhatThisHostCannotHonourIsAnErrorNamingTheField() throws {
        func message(_ r: JSONValue, _ host: CgroupHost = hybridHost()) throws -> String {
            do { try limits(r).validate(on: host) } catch let e as RuntimeError { return e.message }
            return ""
        }
        XCTAssertTrue(try message(["network": ["classID": 42]]).hasPrefix("linux.resources.network.classID: the net_cls cgroup controller is not available"))
        XCTAssertTrue(try message(["network": ["priorities": [["name": "eth0", "priority": 3]]]]).hasPrefix("linux.resources.network.priorities[0]: the net_prio"))
        XCTAssertTrue(try message(["rdma": ["mlx5_0": ["hcaHandles": 3]]]).hasPrefix("linux.resources.rdma[\"mlx5_0\"]: the rdma cgroup controller"))
        XCTAssertTrue(try message(["hugepageLimits": [["pageSize": "16KB", "limit": 0]]]).hasPrefix("linux.resources.hugepageLimits[0].pageSize: huge page size \"16KB\""))
        XCTAssertTrue(try message(["unified": ["memory.high": "1"]]).contains("controller \"memory\" not available (it is bound to a cgroup v1 hierarchy"))
        XCTAssertTrue(try message(["unified": ["a/b": "1"]]).contains("no slashes"))
        // hugetlb is not bound to v1 here but offered by cgroup2: honoured there.
        XCTAssertEqual(try message(["hugepageLimits": [["pageSize": "2MB", "limit": 4194304]]]), "")
        XCTAssertEqual(try message(["unified": ["hugetlb.2MB.max": "4194304"]]), "")
        // On cgroup2 some v1 knobs have no equivalent.
        XCTAssertTrue(try message(["memory": ["swappiness": 10]], v2Host()).hasPrefix("linux.resources.memory.swappiness: swappiness are not supported on cgroup v2"))
        XCTAssertTrue(try message(["memory": ["disableOOMKiller": true]], v2Host()).contains("not supported on cgroup v2"))
        XCTAssertTrue(try message(["cpu": ["realtimeRuntime": 1000]], v2Host()).contains("realtime"))
        XCTAssertTrue(try message(["memory": ["swap": 100]], v2Host()).contains("unable to set swap limit without memory limit"))
        XCTAssertEqual(try message(["memory": ["disableOOMKiller": false]], v2Host()), "")
        XCTAssertThrowsError(try limits(["memory": ["swappiness": 101]]))
    }

    func testSwapConversionForV2() throws {
        typealias V = CgroupLimits.V<Int64>
        XCTAssertEqual(try CgroupLimits.swapV2(swap: V(value: 2048, field: "s"), limit: V(value: 1024, field: "l")), "1024")
        XCTAssertEqual(try CgroupLimits.swapV2(swap: V(value: -1, field: "s"), limit: V(value: 1024, field: "l")), "max")
        XCTAssertEqual(try CgroupLimits.swapV2(swap: nil, limit: V(value: -1, field: "l")), "max")
        XCTAssertNil(try CgroupLimits.swapV2(swap: nil, limit: V(value: 1024, field: "l")))
        XCTAssertThrowsError(try CgroupLimits.swapV2(swap: V(value: 512, field: "s"), limit: V(value: 1024, field: "l")))
    }

    func testWeightConversions() {
        XCTAssertEqual(CgroupWriter.cpuWeight(shares: 1024), 39)
        XCTAssertEqual(CgroupWriter.cpuWeight(shares: 2), 1)
        XCTAssertEqual(CgroupWriter.cpuWeight(shares: 262144), 10000)
        XCTAssertEqual(CgroupWriter.ioWeight(blkio: 10), 1)
        XCTAssertEqual(CgroupWriter.ioWeight(blkio: 1000), 10000)
        XCTAssertEqual(CgroupWriter.ioWeight(blkio: 500), 4950)
    }

    func testUnitsAsRuncParsesThem() {
        XCTAssertEqual(Units.ramInBytes("512m"), 536870912)
        XCTAssertEqual(Units.ramInBytes("1.5g"), 1610612736)
        XCTAssertEqual(Units.ramInBytes("64MiB"), 67108864)
        XCTAssertEqual(Units.ramInBytes("100"), 100)
        XCTAssertEqual(Units.ramInBytes("2 kb"), 2048)
        XCTAssertNil(Units.ramInBytes("x12"))
        XCTAssertNil(Units.ramInBytes("12q"))
        XCTAssertEqual(Units.duration("5s"), 5)
        XCTAssertEqual(Units.duration("100ms"), 0.1)
        XCTAssertEqual(Units.duration("1m30s"), 90)
        XCTAssertEqual(Units.duration("1.5s"), 1.5)
        XCTAssertNil(Units.duration("5"))
        XCTAssertNil(Units.duration("abc"))
    }
}
