// CVE-2016-9962: the runtime's process inside the container's namespaces (the parked init between `create` and
// `start`, an exec'd process during setup) still holds host resources; if it is dumpable, a container process
// with the same uid can ptrace it or open its /proc/<pid>/{mem,environ,fd,exe} and take them. The rule: the
// child is non-dumpable from clone until execve; after execve the kernel decides (a readable, non-setuid binary
// makes it dumpable again, which is what every runtime gets).
//
// Checked two ways: from the host, with a user namespace, where /proc/<pid> of a non-dumpable process belongs
// to global root instead of the container's mapped root (reading it as the mapped host uid is no test: the
// capability check of ptrace access refuses a process of another user namespace whether dumpable or not); and
// from a sibling container (root, no CAP_SYS_PTRACE) sharing the pid namespace, which may not read the parked
// init's environ, fd links or maps but may read them once the container process runs.
import XCTest
import Glibc
import CorralSpec

final class CVEDumpableTests: CVETestCase {
    private let hostID = 200000

    func testParkedInitIsNotDumpableStartedProcessIs() throws {
        bundle.addUserNamespace(hostID: hostID, size: 65536)
        bundle.setArgs(["/bin/sleep", "30"])
        let id = runtime.id("dumpable")
        let pid = try runtime.createParked(bundle, id: id)

        // Parked: non-dumpable, so /proc/<pid> belongs to root of the user namespace its memory was created
        // in (the host's: the runtime cloned it), not to the container's root.
        XCTAssertEqual(hostStat("/proc/\(pid)/environ")?.st_uid, 0, "parked init: /proc/<pid> owner (dumpable?)")

        XCTAssertEqual(runtime("start", id).status, 0)
        XCTAssertTrue(waitUntil(timeout: 5) { (processCmdline(pid) ?? "").hasPrefix("/bin/sleep") }, "start did not exec")
        // Started: busybox is readable and not setuid, so the kernel made the process dumpable again: its
        // /proc files belong to its own euid, the container's root (host uid hostID).
        XCTAssertEqual(hostStat("/proc/\(pid)/environ")?.st_uid, uid_t(hostID), "started process: /proc/<pid> owner")
    }

    /// Without a user namespace: a sibling container (root, default capabilities: no CAP_SYS_PTRACE) in the
    /// same pid namespace cannot read the parked init's environ, fds or memory map; once started it can.
    func testParkedInitIsOpaqueToSiblingThenDumpable() throws {
        let shared = try makeHostDir("dumpable")
        _ = chmod(shared, 0o777)
        let script = siblingPrelude + """
            waitfor go1
            P=$(cat $S/pid)
            record parked-environ cat /proc/$P/environ
            record parked-fd readlink /proc/$P/fd/0
            record parked-maps cat /proc/$P/maps
            touch $S/done1
            waitfor go2
            record started-environ cat /proc/$P/environ
            record started-maps cat /proc/$P/maps
            touch $S/done
            """
        let sibling = try startSibling(script: script, shared: shared)
        joinPidNamespace(of: sibling, in: bundle)
        bundle.setArgs(["/bin/sleep", "30"])
        let id = runtime.id("parked")
        let p = try runtime.createParked(bundle, id: id)
        try writeFile(shared + "/pid", "\(innerPid(p) ?? 0)\n")
        try writeFile(shared + "/go1", "")
        XCTAssertTrue(waitForFile(shared, "done1"), dumpDir(shared))
        XCTAssertEqual(runtime("start", id).status, 0)
        XCTAssertTrue(waitUntil(timeout: 5) { (processCmdline(p) ?? "").hasPrefix("/bin/sleep") })
        try writeFile(shared + "/go2", "")
        XCTAssertTrue(waitForFile(shared, "done"), dumpDir(shared))
        let report = dumpDir(shared)
        for name in ["parked-environ", "parked-fd", "parked-maps"] {
            XCTAssertEqual(sharedValue(shared, name), "fail", "\(name): the parked init is dumpable\n\(report)")
        }
        for name in ["started-environ", "started-maps"] {
            XCTAssertEqual(sharedValue(shared, name), "ok", "\(name): the started process is not dumpable\n\(report)")
        }
    }
}
