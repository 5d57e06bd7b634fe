// cgroup v2 code paths against this host's real cgroup2 mount (hybrid: /sys/fs/cgroup/unified, which has the
// core files but no controllers bound). Placement (cgroup.procs), freezing (cgroup.freeze / cgroup.events),
// cgroup.kill, populated events, removal, and the eBPF device program enforced by the kernel.
import CCorralHost
import XCTest
import Glibc
import CCorral
import CorralSpec
@testable import CorralRuntime

final class CgroupV2LiveTests: XCTestCase {
    var base = ""
    var children: [pid_t] = []

    override func setUpWithError() throws {
        if getuid() != 0 { throw XCTSkip("needs root") }
        let host = CgroupHost.detect()
        guard let v2 = host.v2 else { throw XCTSkip("no cgroup2 mount on this host") }
        var bytes = [UInt8](repeating: 0, count: 6)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 97...122) }
        base = v2.mountPoint + "/corral-it-unit-" + String(decoding: bytes, as: UTF8.self)
    }

    override func tearDown() {
        for pid in children {
            kill(pid, SIGKILL)
            var s: Int32 = 0
            waitpid(pid, &s, 0)
        }
        if !base.isEmpty { _ = CgroupFS.remove(base) }
        XCTAssertFalse(Files.exists(base), "left \(base) behind")
        super.tearDown()
    }

    func makeSet(_ name: String) throws -> CgroupSet {
        let d = base + "/" + name
        try Files.mkdirAll(d, mode: 0o755)
        var set = CgroupSet()
        set.add("", d)
        return set
    }

    /// Spawns `/bin/sh -c script` with stdin and stdout on pipes; the script should `read` before doing work, so
    /// the test can place it first. Returns (pid, stdin writer, stdout reader).
    func spawn(_ script: String) throws -> (pid_t, Int32, Int32) {
        var inp: [Int32] = [-1, -1], out: [Int32] = [-1, -1]
        guard pipe(&inp) == 0, pipe(&out) == 0 else { throw XCTSkip("pipe failed") }
        for fd in inp + out { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inp[0], 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, out[1], 2)
        let words: [String] = ["/bin/sh", "-c", script]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = argv.withUnsafeBufferPointer { posix_spawn(&pid, "/bin/sh", &actions, nil, UnsafeMutablePointer(mutating: $0.baseAddress!), environ) }
        close(inp[0]); close(out[1])
        guard rc == 0 else { throw XCTSkip("spawn failed: \(rc)") }
        children.append(pid)
        return (pid, inp[1], out[0])
    }

    func readAll(_ fd: Int32) -> String {
        let bytes = Subprocess.readAll(fd)
        close(fd)
        return String(decoding: bytes, as: UTF8.self)
    }

    func wait(_ pid: pid_t) -> Int32 {
        var s: Int32 = 0
        waitpid(pid, &s, 0)
        children.removeAll { $0 == pid }
        return s
    }

    func testPlaceFreezeThawKillAndRemove() throws {
        let set = try makeSet("c")
        let m = CgroupManager(set)
        let (pid, stdin, stdout) = try spawn("read x; while :; do :; done")
        try m.place(pid)
        XCTAssertEqual(m.pids, [pid])
        XCTAssertEqual(CgroupFS.value(set.v2!, "cgroup.events", key: "populated"), 1)
        XCTAssertTrue(Files.readString("/proc/\(pid)/cgroup")?.contains("0::" + String(set.v2!.dropFirst(CgroupHost.detect().v2!.mountPoint.count))) ?? false)
        _ = write(stdin, "go\n", 3)

        try m.freeze()
        XCTAssertTrue(m.isFrozen)
        XCTAssertEqual(CgroupFS.value(set.v2!, "cgroup.events", key: "frozen"), 1)
        // A frozen busy loop accumulates no CPU time.
        let before = cpuTicks(pid)
        usleep(300_000)
        XCTAssertEqual(cpuTicks(pid), before)
        try m.thaw()
        XCTAssertFalse(m.isFrozen)
        XCTAssertEqual(CgroupFS.value(set.v2!, "cgroup.events", key: "frozen"), 0)

        // No v1 freezer in this set: killAll uses cgroup.kill.
        m.killAll()
        let status = wait(pid)
        XCTAssertEqual(status & 0x7f, SIGKILL)
        XCTAssertEqual(CgroupFS.value(set.v2!, "cgroup.events", key: "populated"), 0)
        XCTAssertTrue(m.pids.isEmpty)
        close(stdin); close(stdout)
        XCTAssertNil(m.destroy())
        XCTAssertFalse(m.exists)
    }

    func testSignalAllKeepsAPausedCgroupPaused() throws {
        let set = try makeSet("s")
        let m = CgroupManager(set)
        let (pid, stdin, stdout) = try spawn("trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done")
        try m.place(pid)
        // Freeze only once the trap is in place, or SIGUSR1 would kill the shell when it is thawed.
        var buf = [UInt8](repeating: 0, count: 6)
        XCTAssertEqual(read(stdout, &buf, 6), 6)
        try m.freeze()
        m.signalAll(SIGUSR1)
        XCTAssertTrue(m.isFrozen, "a non-KILL signal leaves a paused container paused")
        m.signalAll(SIGKILL)
        XCTAssertFalse(m.isFrozen, "SIGKILL thaws so the processes can die")
        XCTAssertEqual(wait(pid) & 0x7f, SIGKILL)
        close(stdin); close(stdout)
    }

    /// The device program, attached to a real cgroup2 directory, decides what the processes in it may open.
    func runUnderDevicePolicy(_ rules: [DeviceCgroup], name: String) throws -> String {
        let set = try makeSet(name)
        let d = try DeviceRules.build(rules, field: "linux.resources.devices")
        try d.applyV2(set.v2!, field: "linux.resources.devices")
        let fd = open(set.v2!, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        var ids = [UInt32](repeating: 0, count: 8)
        XCTAssertEqual(corral_devices_bpf_query(fd, &ids, 8), 1)
        close(fd)
        let script = """
            read x
            for dev in null full kmsg; do if (: < /dev/$dev) 2>/dev/null; then echo "$dev open"; else echo "$dev denied"; fi; done
            """
        let (pid, stdin, stdout) = try spawn(script)
        try CgroupManager(set).place(pid)
        _ = write(stdin, "go\n", 3)
        close(stdin)
        let out = readAll(stdout)
        XCTAssertEqual(wait(pid), 0)
        return out
    }

    func testDeviceProgramDenyListWithRuncDefaults() throws {
        // deny all; runc's defaults allow /dev/null and /dev/full (1:3, 1:7) but not /dev/kmsg (1:11).
        let out = try runUnderDevicePolicy([DeviceCgroup(allow: false, access: "rwm")], name: "deny")
        XCTAssertEqual(out, "null open\nfull open\nkmsg denied\n")
    }

    func testDeviceProgramAllowListWithAnException() throws {
        // allow all but c 1:11 (/dev/kmsg). A deny of /dev/full would be undone by runc's defaults, which come last.
        let out = try runUnderDevicePolicy([DeviceCgroup(allow: true, access: "rwm"),
                                            DeviceCgroup(allow: false, type: .c, major: 1, minor: 11, access: "rw")], name: "allow")
        XCTAssertEqual(out, "null open\nfull open\nkmsg denied\n")
    }

    func testDeviceProgramReadOnlyAccess() throws {
        // c 1:11 r: reading is allowed, opening for writing is not.
        let set = try makeSet("ro")
        try DeviceRules.build([DeviceCgroup(allow: false, access: "rwm"), DeviceCgroup(allow: true, type: .c, major: 1, minor: 11, access: "r")],
                              field: "f").applyV2(set.v2!, field: "f")
        let (pid, stdin, stdout) = try spawn("read x; (: < /dev/kmsg) 2>/dev/null && echo r-ok; (: >> /dev/kmsg) 2>/dev/null || echo w-denied")
        try CgroupManager(set).place(pid)
        _ = write(stdin, "go\n", 3)
        close(stdin)
        XCTAssertEqual(readAll(stdout), "r-ok\nw-denied\n")
        XCTAssertEqual(wait(pid), 0)
    }

    /// utime+stime of a process (fields 14 and 15 of /proc/<pid>/stat).
    func cpuTicks(_ pid: pid_t) -> UInt64 {
        guard let text = Files.readString("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let f = text[text.index(after: close)...].split(separator: " ")
        return (UInt64(f[11]) ?? 0) + (UInt64(f[12]) ?? 0)
    }
}
