// Shared by every fuzz target (scripts/fuzz compiles it into each one): the fixed bundle, the fixed cgroup host
// layouts and the fixed container config, so that what a target does depends on its input alone, not on this
// machine. Nothing here writes outside the fixture bundle, and the targets call nothing that has a side effect.
import Glibc
import CorralSpec
@testable import CorralRuntime

enum FuzzFixture {
    /// A bundle with an empty-ish rootfs (etc/passwd and etc/group, so the account lookup has something to read)
    /// and one regular file for relative bind sources. Created once per process; CORRAL_FUZZ_BUNDLE overrides the
    /// default /tmp path (scripts/fuzz points it into .build-fuzz).
    static let bundle: String = {
        let dir = getenv("CORRAL_FUZZ_BUNDLE").map { String(cString: $0) } ?? "/tmp/corral-fuzz-bundle"
        for d in [dir, dir + "/rootfs", dir + "/rootfs/etc"] {
            if mkdir(d, 0o755) != 0 && errno != EEXIST { fatalError("fuzz fixture: mkdir \(d): errno \(errno)") }
        }
        write(dir + "/rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nagent:x:1001:1001::/home/agent:/bin/sh\n")
        write(dir + "/rootfs/etc/group", "root:x:0:\nwheel:x:10:agent\nagent:x:1001:\n")
        write(dir + "/hosts", "127.0.0.1 localhost\n")
        return dir
    }()

    static var rootfs: String { bundle + "/rootfs" }

    private static func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { fatalError("fuzz fixture: open \(path): errno \(errno)") }
        _ = Array(text.utf8).withUnsafeBytes { Files.writeAll(fd, $0) }
        close(fd)
    }

    /// This machine's kind of layout (hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified), as
    /// CgroupPlanTests describes it.
    static let hybridHost: CgroupHost = {
        var h = CgroupHost.parse(mountinfo: """
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
            """, procCgroup: "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n")
        h.v2Controllers = ["hugetlb"]
        h.hugepageSizes = ["1GB", "2MB"]
        return h
    }()

    /// A pure cgroup2 host with every controller offered.
    static let v2Host: CgroupHost = {
        var h = CgroupHost.parse(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate",
                                 procCgroup: "0::/user.slice/user-0.slice/session-1.scope\n")
        h.v2Controllers = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"]
        h.hugepageSizes = ["2MB"]
        return h
    }()

    /// The container config that `exec` and the CLI targets plan against (no seccomp, so exec stays cheap).
    static let config: Spec = {
        let text = """
            {"ociVersion": "1.0.2",
             "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/sh"], "cwd": "/", "env": ["PATH=/bin"],
                         "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}],
                         "capabilities": {"bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"]}},
             "root": {"path": "rootfs"},
             "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                                      {"type": "mount"}, {"type": "cgroup"}]}}
            """
        do { return try Spec.parse(Array(text.utf8)) } catch { fatalError("fuzz fixture: \(error)") }
    }()

    /// The cgroups a created container records (hybrid host), for `exec --cgroup`.
    static let cgroupSet: CgroupSet = {
        var s = CgroupSet()
        for c in ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "name=systemd"] {
            s.add(c, "/sys/fs/cgroup/\(c == "name=systemd" ? "systemd" : c)/corral/fuzz")
        }
        s.add("", "/sys/fs/cgroup/unified/corral/fuzz")
        return s
    }()

    /// Sinks for warnings and notes: the texts are built (that code runs too) and dropped.
    static func ignore(_: String) {}
}

/// The input as one byte array (libFuzzer hands a pointer that may be nil for an empty input).
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
