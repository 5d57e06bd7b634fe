// Joining existing namespaces by path: a named netns (ip netns), another container's
// /proc/<pid>/ns/*, and the failures (not a namespace, wrong type, missing path) which must leave
// nothing behind.
import XCTest
import Glibc
import CorralSpec

final class NamespaceJoinTests: IsolationTestCase {
    /// `ip netns add` a fresh namespace (deleted in tearDown); returns (name, /run/netns path).
    private func makeNamedNetns() throws -> (String, String) {
        guard let ip = findHostTool(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]) else {
            throw XCTSkip("iproute2 `ip` not installed on the host")
        }
        let name = "corral-it-\(randomHex(8))"
        let r = runCommand([ip, "netns", "add", name], timeout: 10)
        guard r.status == 0 else { throw XCTSkip("ip netns add failed here: \(r)") }
        onTeardown { _ = runCommand([ip, "netns", "del", name], timeout: 10) }
        return (name, "/run/netns/\(name)")
    }

    func testJoinNamedNetworkNamespaceByPath() throws {
        let (name, path) = try makeNamedNetns()
        let ip = findHostTool(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"])!
        // A marker only this namespace has: lo's MTU.
        let m = runCommand([ip, "-n", name, "link", "set", "lo", "mtu", "1234"], timeout: 10)
        XCTAssertEqual(m.status, 0, "\(m)")
        var sb = stat()
        guard stat(path, &sb) == 0 else { return XCTFail("cannot stat \(path): \(errnoString())") }
        bundle.addNamespace("network", path: path)
        guard let out = runScript("""
            readlink /proc/self/ns/net; echo mtu=$(cat /sys/class/net/lo/mtu); echo flags=$(cat /sys/class/net/lo/flags)
            """) else { return }
        let lines = out.nonEmptyLines
        XCTAssertEqual(lines.first, "net:[\(sb.st_ino)]", "container is not in the named netns")
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["mtu"], "1234", out)
        // runc configures lo only in namespaces it creates: a joined one is left as it was (down).
        XCTAssertEqual(kv["flags"], "0x8", "a joined network namespace must not be reconfigured: \(out)")
        let after = runCommand([ip, "-n", name, "link", "show", "lo"], timeout: 10)
        XCTAssertTrue(after.stdout.contains("mtu 1234"), "\(after)")
        XCTAssertFalse(after.stdout.contains(",UP"), "lo was brought up in the joined namespace: \(after)")
    }

    /// A second container joins the first's ipc/uts/net/pid namespaces through /proc/<pid>/ns/*:
    /// it sees the first's hostname and its `sleep`, and its namespace links equal the first's.
    func testJoinAnotherContainersNamespaces() throws {
        let firstName = "first-\(randomHex(6))"
        bundle.setTop("hostname", .string(firstName))
        bundle.setArgs(["sleep", "30"])
        let firstID = runtime.id("first")
        let pid = try startDetached(bundle, id: firstID)

        let second = try makeExtraBundle()
        second.setTop("hostname", nil)  // setting one would rename the FIRST container's UTS namespace
        var paths: [String: String] = [:]
        for t in ["ipc", "uts", "network", "pid"] { paths[t] = "/proc/\(pid)/ns/\(nsProcName[t]!)" }
        second.setNamespaces(["pid", "network", "ipc", "uts", "mount"], paths: paths)
        guard let out = runScript("""
            echo host=$(hostname); echo self=$$
            for n in ipc uts net pid mnt; do echo "$n=$(readlink /proc/self/ns/$n)"; done
            ps -o pid,args
            """, in: second) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["host"], firstName, "uts namespace not shared:\n\(out)")
        XCTAssertNotEqual(kv["self"], "1", "joined pid namespace already has a pid 1:\n\(out)")
        XCTAssertTrue(out.contains("sleep 30"), "first container's process not visible:\n\(out)")
        for p in ["ipc", "uts", "net", "pid"] {
            XCTAssertEqual(kv[p], readLink("/proc/\(pid)/ns/\(p)"), "\(p) not joined")
        }
        XCTAssertNotEqual(kv["mnt"], readLink("/proc/\(pid)/ns/mnt"), "mount namespace was not asked to be shared")
        XCTAssertTrue(processIsAlive(pid), "the first container died")
    }

    /// create with a join path that fails: non-zero exit, no state, nothing left on the host.
    private func assertCreateFailsCleanly(_ what: String, stderrContains: String? = nil,
                                          file: StaticString = #filePath, line: UInt = #line) {
        bundle.setArgs(["echo", "SHOULD-NOT-RUN"])
        try? bundle.writeConfig()
        let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        let id = runtime.id("bad")
        let r = runtime.create(bundle, id: id)
        XCTAssertNotEqual(r.status, 0, "create with \(what) must fail: \(r)", file: file, line: line)
        XCTAssertFalse(r.stdout.contains("SHOULD-NOT-RUN"), file: file, line: line)
        XCTAssertFalse(r.stderr.trimmed.isEmpty, "no error message for \(what)", file: file, line: line)
        if let s = stderrContains {
            XCTAssertTrue(r.stderr.contains(s), "error should mention \(s): \(r.stderr)", file: file, line: line)
        }
        XCTAssertNotEqual(runtime("state", id).status, 0, "state exists after failed create", file: file, line: line)
        let after = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        XCTAssertEqual(after, before, "failed create left something behind", file: file, line: line)
    }

    func testJoinPathThatIsNotANamespaceFails() throws {
        try bundle.writeConfig()
        bundle.addNamespace("network", path: bundle.configPath)  // a regular file
        assertCreateFailsCleanly("a regular file as network namespace")
    }

    func testJoinPathOfWrongNamespaceTypeFails() throws {
        bundle.addNamespace("ipc", path: "/proc/\(getpid())/ns/net")  // a net namespace for type ipc
        assertCreateFailsCleanly("a net namespace file for type ipc")
    }

    func testJoinMissingPathFails() throws {
        let missing = "/tmp/corral-it/no-such-ns-\(randomHex(8))"
        bundle.addNamespace("uts", path: missing)
        assertCreateFailsCleanly("a missing namespace path", stderrContains: missing)
    }
}
