// CVE-2014-8989 (kernel): an unprivileged user who creates a user namespace could drop supplementary groups
// with setgroups(2) inside it and so bypass "negative" group permissions (a file mode that denies a group).
// Since Linux 3.19 an unprivileged writer of gid_map must first write "deny" to /proc/<pid>/setgroups.
//
// runc's rule, which corral follows: when the gid map is written by a process that holds CAP_SETGID in the
// parent user namespace (a runtime running as root, as here), setgroups stays "allow": the mapping was granted
// by root, and the container's process needs setgroups to apply `process.user.additionalGids`. Only a rootless
// runtime mapping its own single gid writes "deny". (The rootless case cannot be tested in this root-only
// suite.)
import XCTest
import Glibc
import CorralSpec

final class CVESetgroupsTests: CVETestCase {
    func testRootCreatedUserNamespaceAllowsSetgroups() throws {
        bundle.addUserNamespace(hostID: 300000, size: 65536)
        bundle.setProcess("user", ["uid": 0, "gid": 0, "additionalGids": [5, 1001]])
        bundle.setArgs(["/bin/sh", "-c", "cat /proc/self/setgroups; grep Groups /proc/self/status; sleep 30"])
        let pid = try startDetached(bundle, id: runtime.id("setgroups"))
        XCTAssertEqual(readFile("/proc/\(pid)/setgroups")?.trimmed, "allow", "host view of /proc/<pid>/setgroups")
        XCTAssertEqual(procStatusField(pid, "Groups"), ["300005", "301001"], "additionalGids, as host ids")
        XCTAssertEqual(readFile("/proc/\(pid)/gid_map").map(squeezeSpaces), "0 300000 65536")
    }

    /// The same seen from inside, and setgroups really usable there (the process applied additionalGids).
    func testSetgroupsInsideUserNamespace() throws {
        bundle.addUserNamespace(hostID: 300000, size: 65536)
        bundle.setProcess("user", ["uid": 0, "gid": 0, "additionalGids": [5]])
        guard let out = runScript("echo setgroups=$(cat /proc/self/setgroups); echo groups=$(id -G)") else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["setgroups"], "allow", out)
        XCTAssertEqual(kv["groups"], "0 5", out)
    }
}
