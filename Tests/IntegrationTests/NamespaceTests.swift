// New and inherited namespaces, seen from inside the container (readlink /proc/self/ns/*) and
// compared with the test process's own namespaces.
import XCTest
import Glibc
import CorralSpec

final class NamespaceTests: IsolationTestCase {
    /// Runs the namespace printer and returns procname → link (e.g. "net" → "net:[4026532181]").
    private func containerNamespaces(file: StaticString = #filePath, line: UInt = #line) -> [String: String]? {
        guard let out = runScript(printNamespacesScript, file: file, line: line) else { return nil }
        let d = keyValueLines(out)
        XCTAssertEqual(d.count, 8, "expected 8 namespace links, got: \(out)", file: file, line: line)
        return d
    }

    /// Every type in the config gets a namespace of its own; user and time (absent) are inherited.
    func testNewNamespacesDifferFromHost() throws {
        bundle.setNamespaces(["pid", "network", "mount", "ipc", "uts", "cgroup"])
        guard let ns = containerNamespaces() else { return }
        for type in ["pid", "network", "mount", "ipc", "uts", "cgroup"] {
            let p = nsProcName[type]!
            XCTAssertTrue(ns[p]?.hasPrefix("\(p):[") == true, "\(p) link looks wrong: \(ns[p] ?? "nil")")
            XCTAssertNotEqual(ns[p], hostNamespace(p), "\(type) namespace should be new")
        }
        for p in ["user", "time"] {
            XCTAssertEqual(ns[p], hostNamespace(p), "\(p) namespace is absent from the config and must be inherited")
        }
    }

    /// Types absent from the config are inherited: only the mount namespace is new here.
    func testAbsentNamespacesAreInherited() throws {
        bundle.setNamespaces(["mount"])
        bundle.setTop("hostname", nil)  // a hostname needs a private UTS namespace
        guard let ns = containerNamespaces() else { return }
        XCTAssertNotEqual(ns["mnt"], hostNamespace("mnt"))
        for p in ["pid", "net", "ipc", "uts", "cgroup", "user", "time"] {
            XCTAssertEqual(ns[p], hostNamespace(p), "\(p) namespace must be inherited from the caller")
        }
    }

    /// Without a mount namespace the container shares the caller's. The runtime is run inside a
    /// private `unshare -m` so whatever it mounts (runc still bind-mounts the rootfs onto itself in
    /// the caller's namespace) dies with that namespace instead of landing on the host.
    func testAbsentMountNamespaceIsInherited() throws {
        guard let unshare = findHostTool(["/usr/bin/unshare", "/bin/unshare"]) else {
            throw XCTSkip("unshare(1) not installed on the host")
        }
        bundle.setNamespaces(["pid", "network", "ipc", "uts"])
        // Masked/readonly paths and ro root need a private mount namespace (runc: "unable to
        // restrict sys entries without a private MNT namespace"); keep only /proc.
        bundle.setLinux("maskedPaths", nil)
        bundle.setLinux("readonlyPaths", nil)
        bundle.config["mounts"] = [["destination": "/proc", "type": "proc", "source": "proc"]]
        bundle.setRootReadonly(false)
        bundle.setShell("readlink /proc/self/ns/mnt")
        if !RuntimeUnderTest.isRunc {
            // Deliberate difference: without a mount namespace runc chroots and mounts into the caller's
            // namespace. corral refuses the config instead of touching the caller's mounts.
            let snap = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
            let r = runtime.run(bundle)
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains("linux.namespaces: a mount namespace is required"), r.stderr)
            XCTAssertEqual(HostSnapshot.take(root: runtime.root, bundle: bundle.dir), snap)
            return
        }
        let before = readFile("/proc/self/mountinfo")?.nonEmptyLines.count
        let r = runWrapped(bundle, prelude: "readlink /proc/self/ns/mnt",
                           wrapper: [unshare, "-m", "--propagation", "private"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let lines = r.stdout.nonEmptyLines
        XCTAssertEqual(lines.count, 2, "\(r)")
        guard lines.count == 2 else { return }
        XCTAssertTrue(lines[0].hasPrefix("mnt:["), "\(r)")
        XCTAssertEqual(lines[1], lines[0], "container must be in the caller's mount namespace")
        XCTAssertNotEqual(lines[1], hostNamespace("mnt"))
        XCTAssertEqual(readFile("/proc/self/mountinfo")?.nonEmptyLines.count, before, "host mount table changed")
    }

    func testPidNamespaceInitIsPid1AndSeesOnlyItsProcesses() throws {
        bundle.setNamespaces(["pid", "network", "mount", "ipc", "uts"])
        guard let out = runScript("echo self=$$; echo procs=$(cd /proc && echo [0-9]*)") else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["self"], "1", "the container's first process must be pid 1: \(out)")
        let pids = (kv["procs"] ?? "").split(separator: " ").compactMap { Int($0) }
        XCTAssertFalse(pids.isEmpty, out)
        XCTAssertTrue(pids.contains(1), out)
        // sh (pid 1) and the $(...) subshell; no host process is visible.
        XCTAssertLessThanOrEqual(pids.count, 3, "host processes visible in the pid namespace: \(pids)")
    }

    /// A new network namespace has only `lo`, and the runtime brings it up (runc does:
    /// /sys/class/net/lo/flags is 0x9 = IFF_UP|IFF_LOOPBACK, 127.0.0.1 assigned).
    func testNetworkNamespaceHasOnlyLoopbackAndItIsUp() throws {
        bundle.setNamespaces(["pid", "network", "mount", "ipc", "uts"])
        let script = """
            echo ifaces=$(awk -F: 'NR>2 {gsub(/ /,"",$1); print $1}' /proc/net/dev)
            echo flags=$(cat /sys/class/net/lo/flags); echo sysnet=$(ls /sys/class/net)
            ip addr show lo
            """
        guard let out = runScript(script) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["ifaces"], "lo", "only lo expected in /proc/net/dev:\n\(out)")
        XCTAssertEqual(kv["flags"], "0x9", "lo must be up (IFF_UP|IFF_LOOPBACK):\n\(out)")
        XCTAssertEqual(kv["sysnet"], "lo", out)
        XCTAssertTrue(out.contains("<LOOPBACK,UP,LOWER_UP>"), out)
        XCTAssertTrue(out.contains("inet 127.0.0.1/8"), out)
    }

    func testUTSNamespaceSetsHostnameWithoutTouchingTheHost() throws {
        let hostBefore = hostNamespaceHostname()
        let name = "corral-uts-\(randomHex(6))"
        bundle.setTop("hostname", .string(name))
        guard let out = runScript("hostname; cat /proc/sys/kernel/hostname") else { return }
        XCTAssertEqual(out.nonEmptyLines, [name, name])
        XCTAssertEqual(hostNamespaceHostname(), hostBefore, "the host's hostname changed")
    }

    /// `domainname` → /proc/sys/kernel/domainname. runc 1.1.5 silently ignores the field (the
    /// container still reads "(none)"), so for runc the test skips when it sees exactly that.
    func testUTSNamespaceSetsDomainname() throws {
        bundle.setTop("domainname", "corral.example")
        guard let out = runScript("cat /proc/sys/kernel/domainname") else { return }
        if RuntimeUnderTest.isRunc && out.trimmed == "(none)" {
            throw XCTSkip("runc 1.1.x ignores process domainname (container reads \"(none)\"); corral must set it")
        }
        XCTAssertEqual(out.trimmed, "corral.example")
        XCTAssertNotEqual(readFile("/proc/sys/kernel/domainname")?.trimmed, "corral.example", "host domainname changed")
    }

    /// A private cgroup namespace roots every hierarchy at the container's cgroup.
    func testCgroupNamespaceHidesHostCgroupPaths() throws {
        bundle.addNamespace("cgroup")
        guard let out = runScript("readlink /proc/self/ns/cgroup; cat /proc/self/cgroup") else { return }
        let lines = out.nonEmptyLines
        XCTAssertNotEqual(lines.first, hostNamespace("cgroup"))
        let cg = lines.dropFirst()
        XCTAssertFalse(cg.isEmpty, out)
        for l in cg {
            XCTAssertTrue(l.hasSuffix(":/"), "cgroup path not virtualised: \(l)")
        }
    }

    /// A new user namespace (with maps) differs from the host's.
    func testUserNamespaceIsNew() throws {
        bundle.addUserNamespace()
        guard let ns = containerNamespaces() else { return }
        XCTAssertNotEqual(ns["user"], hostNamespace("user"))
        XCTAssertTrue(ns["user"]?.hasPrefix("user:[") == true)
        XCTAssertEqual(ns["time"], hostNamespace("time"))
    }

    /// Time namespace with offsets: /proc/self/timens_offsets and /proc/uptime (boottime) show them.
    func testTimeNamespaceAppliesOffsets() throws {
        bundle.addNamespace("time")
        bundle.setLinux("timeOffsets", [
            "monotonic": ["secs": 3600, "nanosecs": 0],
            "boottime": ["secs": 86400, "nanosecs": 0],
        ])
        bundle.setShell("readlink /proc/self/ns/time; cat /proc/self/timens_offsets; echo uptime=$(cat /proc/uptime)")
        let hostUptimeBefore = hostUptime()
        let r = runtime.run(bundle)
        let hostUptimeAfter = hostUptime()
        if RuntimeUnderTest.isRunc && r.status != 0 {
            // runc 1.1.5: `namespace {"time" ""} does not exist` (time namespaces arrived in runc 1.2).
            throw XCTSkip("runc 1.1.x does not support time namespaces: \(r.stderr.trimmed)")
        }
        XCTAssertEqual(r.status, 0, "\(r)")
        let lines = r.stdout.nonEmptyLines
        XCTAssertNotEqual(lines.first, hostNamespace("time"), "time namespace must be new")
        let offsets = Set(lines.map(squeezeSpaces))
        XCTAssertTrue(offsets.contains("monotonic 3600 0"), r.stdout)
        XCTAssertTrue(offsets.contains("boottime 86400 0"), r.stdout)
        let up = keyValueLines(r.stdout)["uptime"].flatMap { $0.split(separator: " ").first }.flatMap { Double($0) }
        guard let up, let b = hostUptimeBefore, let a = hostUptimeAfter else {
            return XCTFail("cannot read uptimes: \(r.stdout)")
        }
        XCTAssertGreaterThanOrEqual(up, b + 86400 - 1, "boottime offset not visible in /proc/uptime")
        XCTAssertLessThanOrEqual(up, a + 86400 + 1, "boottime offset too large")
    }

    private func hostUptime() -> Double? {
        readFile("/proc/uptime")?.split(separator: " ").first.flatMap { Double($0) }
    }

    private func hostNamespaceHostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(cString: buf)
    }
}
