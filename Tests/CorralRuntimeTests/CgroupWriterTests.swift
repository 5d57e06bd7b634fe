// The file-writing logic against a temporary directory tree (for controllers this host binds to cgroup v2 or
// does not have at all: net_cls, net_prio, rdma, hugetlb on v1, and every cgroup2 file name and conversion),
// and the stats reader on the same kind of tree.
import XCTest
import Glibc
import CorralSpec
@testable import CorralRuntime

/// A scratch tree under /tmp/corral-it-unit-<random>, removed in tearDown.
class CgroupTreeTestCase: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/corral-it-unit-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw XCTSkip("mkdtemp failed") }
        root = String(cString: p)
    }

    override func tearDown() {
        Files.removeAll(root)
        super.tearDown()
    }

    /// Creates dir (and parents) with the given files and their initial contents.
    @discardableResult
    func dir(_ rel: String, _ files: [String: String]) throws -> String {
        let d = root + "/" + rel
        try Files.mkdirAll(d, mode: 0o755)
        for (name, content) in files { try Files.writeAtomic(d + "/" + name, content) }
        return d
    }

    func read(_ d: String, _ f: String) -> String? { CgroupFS.read(d, f) }

    func limits(_ resources: JSONValue, devices: Bool = false) throws -> CgroupLimits {
        try CgroupLimits(try spec(["resources": resources]).linux?.resources, prefix: "linux.resources", includeDevices: devices)
    }
}

final class CgroupWriterTests: CgroupTreeTestCase {
    func testMkdirAllReportsWhatItCreatedAndUndoesAFailure() throws {
        XCTAssertEqual(try Files.mkdirAll(root + "/a/b/c/", mode: 0o755), [root + "/a", root + "/a/b", root + "/a/b/c"])
        XCTAssertEqual(try Files.mkdirAll(root + "/a/b/c", mode: 0o755), [], "existing directories are not reported")
        XCTAssertEqual(try Files.mkdirAll(root + "/a/b/d", mode: 0o755), [root + "/a/b/d"])
        try Files.writeAtomic(root + "/file", "x")
        XCTAssertThrowsError(try Files.mkdirAll(root + "/file", mode: 0o755)) { XCTAssertTrue("\($0)".contains("file exists"), "\($0)") }
        XCTAssertThrowsError(try Files.mkdirAll(root + "/file/z", mode: 0o755)) { XCTAssertTrue("\($0)".contains("not a directory"), "\($0)") }
        // x is created, then the leaf fails (name too long): x must be gone again.
        XCTAssertThrowsError(try Files.mkdirAll(root + "/x/" + String(repeating: "n", count: 300), mode: 0o755))
        XCTAssertFalse(Files.isDirectory(root + "/x"), "a failed mkdirAll removes what it created")
    }

    /// remove() tries one rmdir first and lists sub-directories only when that fails; both paths must leave nothing.
    func testRemoveTakesSubCgroupsFirst() throws {
        try Files.mkdirAll(root + "/cg/a/b", mode: 0o755)
        try Files.mkdirAll(root + "/cg/c", mode: 0o755)
        try Files.mkdirAll(root + "/leaf", mode: 0o755)
        XCTAssertEqual(CgroupFS.remove(root + "/leaf"), 0)
        XCTAssertEqual(CgroupFS.remove(root + "/cg"), 0)
        XCTAssertFalse(Files.isDirectory(root + "/leaf"))
        XCTAssertFalse(Files.isDirectory(root + "/cg"))
        XCTAssertEqual(CgroupFS.remove(root + "/cg"), 0, "a missing directory counts as removed")
    }

    func v1Set() throws -> CgroupSet {
        var set = CgroupSet()
        let memory = try dir("memory/c", ["memory.limit_in_bytes": "9223372036854771712", "memory.memsw.limit_in_bytes": "9223372036854771712",
                                          "memory.soft_limit_in_bytes": "", "memory.swappiness": "60", "memory.oom_control": "",
                                          "memory.kmem.tcp.limit_in_bytes": "", "memory.use_hierarchy": "1"])
        set.add("memory", memory)
        set.add("cpu", try dir("cpu/c", ["cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.cfs_burst_us": "0",
                                         "cpu.rt_period_us": "", "cpu.rt_runtime_us": "", "cpu.idle": "0"]))
        set.add("cpuset", try dir("cpuset/c", ["cpuset.cpus": "", "cpuset.mems": ""]))
        set.add("pids", try dir("pids/c", ["pids.max": "max"]))
        set.add("blkio", try dir("blkio/c", ["blkio.bfq.weight": "100", "blkio.bfq.weight_device": "", "blkio.throttle.read_bps_device": "",
                                             "blkio.throttle.write_iops_device": ""]))
        set.add("hugetlb", try dir("hugetlb/c", ["hugetlb.2MB.limit_in_bytes": "", "hugetlb.1GB.limit_in_bytes": ""]))
        let net = try dir("net_cls,net_prio/c", ["net_cls.classid": "0", "net_prio.ifpriomap": ""])
        set.add("net_cls", net)
        set.add("net_prio", net)
        set.add("rdma", try dir("rdma/c", ["rdma.max": ""]))
        set.add("devices", try dir("devices/c", ["devices.allow": "", "devices.deny": ""]))
        return set
    }

    func testV1FilesAndValues() throws {
        let set = try v1Set()
        let l = try limits([
            "memory": ["limit": 104857600, "reservation": 52428800, "swap": 209715200, "swappiness": 10, "disableOOMKiller": true, "kernelTCP": 8388608],
            "cpu": ["shares": 512, "quota": 50000, "period": 200000, "burst": 1000, "realtimeRuntime": 950, "realtimePeriod": 1000, "idle": 1,
                    "cpus": "0", "mems": "0"],
            "pids": ["limit": -1],
            "blockIO": ["weight": 300, "weightDevice": [["major": 8, "minor": 0, "weight": 200]],
                        "throttleReadBpsDevice": [["major": 8, "minor": 0, "rate": 1048576]], "throttleWriteIOPSDevice": [["major": 8, "minor": 16, "rate": 50]]],
            "hugepageLimits": [["pageSize": "2MB", "limit": 4194304]],
            "network": ["classID": 1048577, "priorities": [["name": "eth0", "priority": 5]]],
            "rdma": ["mlx5_0": ["hcaHandles": 3, "hcaObjects": 100]],
            "devices": [["allow": false, "access": "rwm"]],
        ], devices: true)
        try CgroupWriter.apply(l, to: set, update: false)
        let m = set.v1("memory")!, c = set.v1("cpu")!
        XCTAssertEqual(read(m, "memory.limit_in_bytes"), "104857600")
        XCTAssertEqual(read(m, "memory.memsw.limit_in_bytes"), "209715200")
        XCTAssertEqual(read(m, "memory.soft_limit_in_bytes"), "52428800")
        XCTAssertEqual(read(m, "memory.swappiness"), "10")
        XCTAssertEqual(read(m, "memory.oom_control"), "1")
        XCTAssertEqual(read(m, "memory.kmem.tcp.limit_in_bytes"), "8388608")
        XCTAssertEqual(read(c, "cpu.shares"), "512")
        XCTAssertEqual(read(c, "cpu.cfs_quota_us"), "50000")
        XCTAssertEqual(read(c, "cpu.cfs_period_us"), "200000")
        XCTAssertEqual(read(c, "cpu.cfs_burst_us"), "1000")
        XCTAssertEqual(read(c, "cpu.rt_period_us"), "1000")
        XCTAssertEqual(read(c, "cpu.rt_runtime_us"), "950")
        XCTAssertEqual(read(c, "cpu.idle"), "1")
        XCTAssertEqual(read(set.v1("cpuset")!, "cpuset.cpus"), "0")
        XCTAssertEqual(read(set.v1("pids")!, "pids.max"), "max")
        // runc 1.2+: a present limit of 0 is 1 (systemd has no TasksMax=0), an absent one leaves the file alone.
        try CgroupWriter.apply(try limits(["pids": ["limit": 0]], devices: false), to: set, update: true)
        XCTAssertEqual(read(set.v1("pids")!, "pids.max"), "1")
        try CgroupWriter.apply(try limits(["pids": [:]], devices: false), to: set, update: true)
        XCTAssertEqual(read(set.v1("pids")!, "pids.max"), "1")
        XCTAssertEqual(CgroupWriter.pidsMax(-5), "max")
        XCTAssertEqual(CgroupWriter.pidsMax(7), "7")
        let b = set.v1("blkio")!
        XCTAssertEqual(read(b, "blkio.bfq.weight_device"), "8:0 200")
        XCTAssertEqual(read(b, "blkio.bfq.weight"), "300")
        XCTAssertEqual(read(b, "blkio.throttle.read_bps_device"), "8:0 1048576")
        XCTAssertEqual(read(b, "blkio.throttle.write_iops_device"), "8:16 50")
        XCTAssertEqual(read(set.v1("hugetlb")!, "hugetlb.2MB.limit_in_bytes"), "4194304")
        XCTAssertEqual(read(set.v1("net_cls")!, "net_cls.classid"), "1048577")
        XCTAssertEqual(read(set.v1("net_prio")!, "net_prio.ifpriomap"), "eth0 5")
        XCTAssertEqual(read(set.v1("rdma")!, "rdma.max"), "mlx5_0 hca_handle=3 hca_object=100")
        // devices: "a" to devices.deny, then one allow line per exception in the order applied (a plain file keeps
        // the last: runc's last default).
        XCTAssertEqual(read(set.v1("devices")!, "devices.deny"), "a")
        XCTAssertEqual(read(set.v1("devices")!, "devices.allow"), "c 10:200 rwm")
    }

    func testV1SwapOrderWhenShrinking() throws {
        let set = try v1Set()
        let m = set.v1("memory")!
        // Current limit 512M: shrinking to 64M/128M writes the limit first (memsw must stay >= limit).
        try Files.writeAtomic(m + "/memory.limit_in_bytes", "536870912")
        let l = try limits(["memory": ["limit": 67108864, "swap": 134217728]])
        try CgroupWriter.apply(l, to: set, update: true)
        XCTAssertEqual(read(m, "memory.limit_in_bytes"), "67108864")
        XCTAssertEqual(read(m, "memory.memsw.limit_in_bytes"), "134217728")
        // Unlimited memory without a swap value lifts swap too (runc).
        try CgroupWriter.apply(try limits(["memory": ["limit": -1]]), to: set, update: true)
        XCTAssertEqual(read(m, "memory.memsw.limit_in_bytes"), "-1")
    }

    func testMissingFileNamesTheField() throws {
        var set = CgroupSet()
        set.add("memory", try dir("m2", ["memory.limit_in_bytes": "0"]))
        XCTAssertThrowsError(try CgroupWriter.apply(try limits(["memory": ["limit": 1048576, "swap": 2097152]]), to: set, update: false)) { e in
            let msg = (e as? RuntimeError)?.message ?? ""
            XCTAssertTrue(msg.hasPrefix("linux.resources.memory.swap: this kernel does not account swap"), msg)
        }
        set.add("blkio", try dir("b2", [:]))
        XCTAssertThrowsError(try CgroupWriter.apply(try limits(["blockIO": ["weight": 100]]), to: set, update: false)) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.hasPrefix("linux.resources.blockIO.weight: proportional I/O weights") ?? false)
        }
    }

    func testKernelMemoryIsReadBack() throws {
        // A plain file keeps what was written, so the limit counts as honoured; this host's kernel (which keeps
        // "max") is covered by the integration tests.
        var set = CgroupSet()
        let m = try dir("m3", ["memory.kmem.limit_in_bytes": ""])
        set.add("memory", m)
        XCTAssertNoThrow(try CgroupWriter.apply(try limits(["memory": ["kernel": 10485760]]), to: set, update: false))
        XCTAssertEqual(read(m, "memory.kmem.limit_in_bytes"), "10485760")
    }

    func testV2FileNamesAndConversions() throws {
        var set = CgroupSet()
        let d = try dir("unified/c", ["memory.max": "max", "memory.swap.max": "max", "memory.low": "0", "memory.current": "1000",
                                      "cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
                                      "cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max", "io.weight": "default 100", "io.max": "",
                                      "hugetlb.2MB.max": "max", "rdma.max": "", "memory.high": "max"])
        set.add("", d)
        let l = try limits([
            "memory": ["limit": 104857600, "reservation": 52428800, "swap": 209715200],
            "cpu": ["shares": 1024, "quota": 50000, "burst": 2000, "idle": 0, "cpus": "0-1", "mems": "0"],
            "pids": ["limit": 64],
            "blockIO": ["weight": 500, "throttleWriteBpsDevice": [["major": 254, "minor": 0, "rate": 1048576]]],
            "hugepageLimits": [["pageSize": "2MB", "limit": 8388608]],
            "unified": ["memory.high": "94371840"],
        ])
        try CgroupWriter.apply(l, to: set, update: false)
        XCTAssertEqual(read(d, "memory.max"), "104857600")
        XCTAssertEqual(read(d, "memory.swap.max"), "104857600", "v2 swap = (memory+swap) - memory")
        XCTAssertEqual(read(d, "memory.low"), "52428800")
        XCTAssertEqual(read(d, "cpu.weight"), "39")
        XCTAssertEqual(read(d, "cpu.max"), "50000")
        XCTAssertEqual(read(d, "cpu.max.burst"), "2000")
        XCTAssertEqual(read(d, "cpu.idle"), "0")
        XCTAssertEqual(read(d, "cpuset.cpus"), "0-1")
        XCTAssertEqual(read(d, "pids.max"), "64")
        XCTAssertEqual(read(d, "io.weight"), "4950")
        XCTAssertEqual(read(d, "io.max"), "254:0 wbps=1048576")
        XCTAssertEqual(read(d, "hugetlb.2MB.max"), "8388608")
        XCTAssertEqual(read(d, "memory.high"), "94371840")

        // update: only the period changes, the quota in force is kept; zeros leave the rest alone.
        try Files.writeAtomic(d + "/cpu.max", "50000 100000")
        var u = try CgroupLimits(try Spec.parseResources(Array(#"{"cpu":{"period":200000,"shares":0},"memory":{"limit":0}}"#.utf8)),
                                 prefix: "", includeDevices: false)
        try CgroupWriter.apply(u, to: set, update: true)
        XCTAssertEqual(read(d, "cpu.max"), "50000 200000")
        XCTAssertEqual(read(d, "memory.max"), "104857600")
        // update: swap alone converts against the memory limit in force.
        u = try CgroupLimits(try Spec.parseResources(Array(#"{"memory":{"swap":157286400}}"#.utf8)), prefix: "", includeDevices: false)
        try CgroupWriter.apply(u, to: set, update: true)
        XCTAssertEqual(read(d, "memory.swap.max"), "52428800")
        // checkBeforeUpdate refuses a limit below the current usage.
        try Files.writeAtomic(d + "/memory.current", "99999999")
        u = try CgroupLimits(try Spec.parseResources(Array(#"{"memory":{"limit":1048576,"checkBeforeUpdate":true}}"#.utf8)), prefix: "", includeDevices: false)
        XCTAssertThrowsError(try CgroupWriter.apply(u, to: set, update: true)) { e in
            XCTAssertTrue((e as? RuntimeError)?.message.contains("below usage 99999999") ?? false)
        }
    }

    func testV2WithBFQUsesItsWeights() throws {
        var set = CgroupSet()
        let d = try dir("unified/bfq", ["io.bfq.weight": "default 100", "io.weight": "default 100"])
        set.add("", d)
        try CgroupWriter.apply(try limits(["blockIO": ["weight": 300]]), to: set, update: false)
        XCTAssertEqual(read(d, "io.bfq.weight"), "300")
        XCTAssertEqual(read(d, "io.weight"), "default 100")
    }

    func testCpusetParentsAreFilledFromTheHierarchyRoot() throws {
        let top = try dir("cpuset", ["cgroup.sane_behavior": "0", "cpuset.cpus": "0-3", "cpuset.mems": "0"])
        try dir("cpuset/a", ["cpuset.cpus": "", "cpuset.mems": ""])
        let leaf = try dir("cpuset/a/b", ["cpuset.cpus": "", "cpuset.mems": "0"])
        try CgroupManager.prepareCpuset(leaf)
        XCTAssertEqual(read(top + "/a", "cpuset.cpus"), "0-3")
        XCTAssertEqual(read(top + "/a", "cpuset.mems"), "0")
        XCTAssertEqual(read(leaf, "cpuset.cpus"), "0-3")
    }

    func testEnablingV2ControllersOnTheWayDown() throws {
        let r = try dir("unified", ["cgroup.subtree_control": ""])
        try dir("unified/a", ["cgroup.subtree_control": "memory"])
        let leaf = try dir("unified/a/b", [:])
        CgroupManager.enableV2(["hugetlb"], from: r, to: leaf)
        XCTAssertEqual(read(r, "cgroup.subtree_control"), "+hugetlb")
        XCTAssertEqual(read(r + "/a", "cgroup.subtree_control"), "+hugetlb")
    }
}

final class CgroupStatsTests: CgroupTreeTestCase {
    func testV1ShapeMatchesRunc() throws {
        var set = CgroupSet()
        set.add("cpuacct", try dir("cpuacct", ["cpuacct.usage": "12289981", "cpuacct.stat": "user 1\nsystem 0\n",
                                               "cpuacct.usage_percpu": "10457672 1832309 \n", "cpuacct.usage_all": "cpu user system\n0 4000000 0\n1 0 0\n"]))
        set.add("cpu", try dir("cpu", ["cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"]))
        set.add("pids", try dir("pids", ["pids.current": "5", "pids.max": "max"]))
        set.add("memory", try dir("memory", ["memory.stat": "cache 0\nrss 1798144\n", "memory.usage_in_bytes": "2256896",
                                             "memory.max_usage_in_bytes": "2813952", "memory.failcnt": "0", "memory.limit_in_bytes": "9223372036854771712",
                                             "memory.kmem.tcp.limit_in_bytes": "9223372036854771712", "memory.kmem.tcp.usage_in_bytes": "0",
                                             "memory.kmem.tcp.max_usage_in_bytes": "0", "memory.kmem.tcp.failcnt": "0"]))
        set.add("blkio", try dir("blkio", ["blkio.throttle.io_serviced_recursive": "8:0 Read 3\n8:0 Write 1\nTotal 4\n",
                                           "blkio.throttle.io_service_bytes_recursive": "8:0 Read 12288\nTotal 12288\n"]))
        let line = CgroupStats.event(type: "stats", id: "c", data: CgroupStats.collect(set))
        let expectCPU = #"{"cpu":{"usage":{"total":12289981,"percpu":[10457672,1832309],"percpu_kernel":[0,0],"percpu_user":[4000000,0],"kernel":0,"user":10000000},"throttling":{}}"#
        XCTAssertTrue(line.hasPrefix(#"{"type":"stats","id":"c","data":"# + expectCPU), line)
        XCTAssertTrue(line.contains(#""pids":{"current":5}"#), line)
        XCTAssertTrue(line.contains(#""kernelTCP":{"limit":9223372036854771712,"failcnt":0}"#), line)
        XCTAssertTrue(line.contains(#""raw":{"cache":0,"rss":1798144}"#), line)
        XCTAssertTrue(line.contains(#""blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":12288}],"ioServicedRecursive":[{"major":8,"op":"Read","value":3},{"major":8,"op":"Write","value":1}]}"#), line)
        XCTAssertTrue(line.hasSuffix(#""hugetlb":{},"intel_rdt":{},"network_interfaces":null}}"# + "\n"), line)
    }

    func testV2Readers() throws {
        var set = CgroupSet()
        set.add("", try dir("unified", ["cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30\n",
                                        "memory.current": "4096", "memory.max": "max", "memory.stat": "anon 4096\nfile 8192\n",
                                        "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n", "memory.swap.current": "0", "memory.swap.max": "0",
                                        "pids.current": "2", "pids.max": "64", "io.stat": "254:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
                                        "hugetlb.2MB.max": "max", "hugetlb.2MB.current": "0", "hugetlb.2MB.events": "max 0\n"]))
        let line = CgroupStats.event(type: "stats", id: "c", data: CgroupStats.collect(set))
        XCTAssertTrue(line.contains(#""usage":{"total":1500000,"kernel":500000,"user":1000000},"throttling":{"periods":10,"throttledPeriods":2,"throttledTime":30000}"#), line)
        XCTAssertTrue(line.contains(#""memory":{"cache":8192,"usage":{"limit":18446744073709551615,"usage":4096,"failcnt":3}"#), line)
        XCTAssertTrue(line.contains(#""pids":{"current":2,"limit":64}"#), line)
        XCTAssertTrue(line.contains(#""ioServiceBytesRecursive":[{"major":254,"op":"Read","value":4096},{"major":254,"op":"Write"}]"#), line)
        XCTAssertTrue(line.contains(#""hugetlb":{"2MB":{"failcnt":0}}"#), line)
    }

    func testCpusetListParsing() {
        XCTAssertEqual(CgroupStats.parseList("0-2,4\n"), [0, 1, 2, 4])
        XCTAssertEqual(CgroupStats.parseList(""), [])
    }
}
