// Issue 3's acceptance check: the hardened config.json that Docker really wrote (--read-only --tmpfs /tmp --user
// 1001:1001 --cap-drop ALL --cap-add NET_BIND_SERVICE --security-opt no-new-privileges, Docker's default seccomp
// profile, memory/cpu/pids limits, masked and read-only paths) runs under the runtime under test with the same
// /proc/self/status as under runc. Only what names Docker's host is changed: root.path points at a busybox rootfs,
// the bind mounts of Docker's resolv.conf/hostname/hosts files are dropped, the libnetwork prestart hook is
// dropped (it execs the dockerd that wrote it: neither runtime can run it here; HookTests has a Docker-like one),
// and cgroupsPath gets a test name.
import XCTest
import Glibc
import CorralSpec

final class DockerConfigTests: XCTestCase {
    static let configPath = sharedDataDir + "/engines/hardened-config.docker.pretty.json"

    func testDockerHardenedConfigMatchesRunc() throws {
        try requireIntegrationEnvironment()
        guard access(RuncComparisonTests.runcPath, X_OK) == 0 else {
            throw XCTSkip("\(RuncComparisonTests.runcPath) is absent: there is no runc to compare with")
        }
        if RuntimeUnderTest.isRunc { throw XCTSkip("the runtime under test is runc itself: nothing to compare") }
        guard let text = readFile(DockerConfigTests.configPath) else {
            throw XCTSkip("\(DockerConfigTests.configPath) is absent (it comes from the project's shared reference data)")
        }
        let bundle = try TestBundle()
        let subject = try Runtime()
        let runc = try RuncCLI()
        defer { runc.cleanup(); subject.cleanup(); bundle.remove() }

        var config = try JSONValue.parse(text)
        config["root"]?["path"] = .string(bundle.rootfs)
        config["hooks"] = nil
        let mounts = config["mounts"]?.arrayValue ?? []
        config["mounts"] = .array(mounts.filter { !($0["source"]?.stringValue ?? "").hasPrefix("/var/lib/docker/") })
        XCTAssertEqual(mounts.count - (config["mounts"]?.arrayValue?.count ?? 0), 3, "only Docker's three file binds go")
        let probe = "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' "
            + "/proc/self/status; unshare -U true 2>&1 | sed 's/^/unshare: /'; touch /x 2>&1 | sed 's/^/root: /'; echo done"
        config["process"]?["args"] = .array([.string("sh"), .string("-c"), .string(probe)])

        var outputs: [String] = []
        for (name, call) in [("runc", { (a: [String]) in runc.call(a, timeout: 30) }),
                             ("subject", { (a: [String]) in subject.call(a, timeout: 30) })] {
            let id = subject.id("dock")
            config["linux"]?["cgroupsPath"] = .string("/corral-it-docker-\(name)-\(id)")
            bundle.config = config
            try bundle.writeConfig()
            let r = call(["run", "--bundle", bundle.dir, id])
            if name == "runc" { runc.forget(id) }
            XCTAssertEqual(r.status, 0, "\(name) runs Docker's hardened config: \(r)")
            outputs.append(r.stdout)
        }
        XCTAssertTrue(outputs[0].contains("NoNewPrivs:\t1") && outputs[0].contains("Seccomp:\t2"), "runc's view: \(outputs[0])")
        XCTAssertTrue(outputs[0].contains("CapBnd:\t0000000000000400"), "only NET_BIND_SERVICE is bounded: \(outputs[0])")
        XCTAssertTrue(outputs[0].contains("unshare: unshare: unshare(0x10000000): Operation not permitted"), outputs[0])
        XCTAssertTrue(outputs[0].contains("Read-only file system"), outputs[0])
        XCTAssertEqual(outputs[1], outputs[0], "the same /proc/self/status and the same refusals as under runc")
    }
}
