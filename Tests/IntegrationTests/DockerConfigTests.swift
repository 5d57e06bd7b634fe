// Issue 3's acceptance check: the hardened config.json that Docker really wrote (--read-only --tmpfs /tmp --user
// 1001:1001 --cap-drop ALL --cap-add NET_BIND_SERVICE --security-opt no-new-privileges, Docker's default seccomp
// profile, memory/cpu/pids limits, masked and read-only paths) runs under the runtime under test with the same
// /proc/self/status as under runc. Only what names Docker's host is changed: root.path points at a busybox rootfs,
// the bind mounts of Docker's resolv.conf/hostname/hosts files are dropped, the libnetwork prestart hook is
// dropped (it execs the dockerd that wrote it: neither runtime can run it here; HookTests has a Docker-like one),
// and cgroupsPath gets a test name (see EngineConfig).
import XCTest
import Glibc
import CorralSpec

final class DockerConfigTests: XCTestCase {
    static let engine = EngineConfig(file: "hardened-config.docker.pretty.json", engine: "docker")

    func testDockerHardenedConfigMatchesRunc() throws {
        let config = try DockerConfigTests.engine.load()
        let probe = "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' "
            + "/proc/self/status; unshare -U true 2>&1 | sed 's/^/unshare: /'; touch /x 2>&1 | sed 's/^/root: /'; echo done"
        let (runc, subject) = try DockerConfigTests.engine.runUnderBoth(config, probe: probe) { c, bundle in
            c["root"]?["path"] = .string(bundle.rootfs)
            let mounts = c["mounts"]?.arrayValue ?? []
            c["mounts"] = .array(mounts.filter { !($0["source"]?.stringValue ?? "").hasPrefix("/var/lib/docker/") })
            XCTAssertEqual(mounts.count - (c["mounts"]?.arrayValue?.count ?? 0), 3, "only Docker's three file binds go")
        }
        XCTAssertEqual(runc.status, 0, "runc runs Docker's hardened config: \(runc)")
        XCTAssertEqual(subject.status, 0, "the runtime under test runs Docker's hardened config: \(subject)")
        let theirs = runc.stdout
        XCTAssertTrue(theirs.contains("NoNewPrivs:\t1") && theirs.contains("Seccomp:\t2"), "runc's view: \(theirs)")
        XCTAssertTrue(theirs.contains("CapBnd:\t0000000000000400"), "only NET_BIND_SERVICE is bounded: \(theirs)")
        XCTAssertTrue(theirs.contains("unshare: unshare: unshare(0x10000000): Operation not permitted"), theirs)
        XCTAssertTrue(theirs.contains("Read-only file system"), theirs)
        XCTAssertEqual(subject.stdout, theirs, "the same /proc/self/status and the same refusals as under runc")
    }
}
