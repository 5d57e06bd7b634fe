// "A failed operation MUST leave no trace": every failing create/run below is checked with a
// HostSnapshot before/after (mounts, state root, processes, cgroups) and the id is unknown after.
import XCTest
import Glibc
import CorralSpec

final class FailureTests: RuntimeTestCase {

    /// Runs `create` (and then `run`) with the bundle as configured (or `rawConfig` written
    /// verbatim), expects exit 1 with all `expected` substrings (any of each inner list) in stderr,
    /// and checks that nothing was left behind.
    private func assertFailsCleanly(rawConfig: String? = nil, extra: [String] = [], expected: [[String]],
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        if let rawConfig {
            try writeFile(bundle.configPath, rawConfig)
        } else {
            try bundle.writeConfig()
        }
        for verb in ["create", "run"] {
            let id = rt.id("fail")
            let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
            let r = rt.call([verb, "--bundle", bundle.dir] + extra + [id], timeout: 20)
            XCTAssertEqual(r.status, 1, "\(verb) must fail with exit 1: \(r)", file: file, line: line)
            XCTAssertFalse(r.timedOut, file: file, line: line)
            let err = r.stderr.lowercased()
            for alternatives in expected {
                XCTAssertTrue(alternatives.contains { err.contains($0.lowercased()) },
                              "\(verb): stderr mentions one of \(alternatives): \(r.stderr)", file: file, line: line)
            }
            let after = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
            XCTAssertEqual(before, after, "\(verb) left something behind", file: file, line: line)
            let s = rt("state", id)
            XCTAssertEqual(s.status, 1, file: file, line: line)
            XCTAssertTrue(s.stderr.contains("container does not exist"), "\(verb): id unknown afterwards: \(s)",
                          file: file, line: line)
            XCTAssertFalse(pathExists(rt.root + "/" + id), file: file, line: line)
        }
    }

    func testSnapshotDetectsALiveContainer() throws {
        // Self-test of the leak detector: a container that does exist must show up, or every
        // "leaves nothing" assertion above would be vacuous.
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let id = rt.id("live")
        XCTAssertEqual(rt.call(["create", "--bundle", bundle.dir, id]).status, 0)
        let after = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(after.stateEntries.filter { !$0.hasPrefix(".") }, [id], "\(after)")
        XCTAssertFalse(after.processes.isEmpty, "the parked init is found by the process scan: \(after)")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        XCTAssertTrue(waitUntil { HostSnapshot.take(root: self.rt.root, bundle: self.bundle.dir) == before },
                      "delete --force returns the host to the snapshot")
    }

    func testInvalidJSON() throws {
        try assertFailsCleanly(rawConfig: "{\"ociVersion\": \"1.0.2\", bad json", expected: [["invalid character"]])
    }

    func testConfigNotAnObject() throws {
        try assertFailsCleanly(rawConfig: "[1, 2, 3]", expected: [["json", "config"]])
    }

    func testMissingConfig() throws {
        _ = unlink(bundle.configPath)
        let id = rt.id("nocfg")
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let r = rt.call(["create", "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("config.json"), r.stderr)
        // runc: "JSON specification file config.json not found"
        XCTAssertTrue(r.stderr.contains("no such file or directory") || r.stderr.contains("not found"), r.stderr)
        XCTAssertEqual(before, HostSnapshot.take(root: rt.root, bundle: bundle.dir))
        XCTAssertNil(rt.stateJSON(id))
    }

    func testMissingBundleDirectory() throws {
        let id = rt.id("nobundle")
        let r = rt.call(["create", "--bundle", bundle.dir + "/does-not-exist", id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("no such file or directory"), r.stderr)
        XCTAssertEqual(directoryEntries(rt.root), [])
    }

    func testUnknownNamespaceType() throws {
        var ns = bundle.config["linux"]?["namespaces"]?.arrayValue ?? []
        ns.append(["type": "foo"])
        bundle.config["linux"]?["namespaces"] = .array(ns)
        try assertFailsCleanly(expected: [["foo"]])
    }

    func testMissingRootfsDirectory() throws {
        bundle.config["root"]?["path"] = "missing-rootfs"
        try assertFailsCleanly(expected: [["missing-rootfs"], ["no such file or directory"]])
    }

    func testBindMountSourceMissing() throws {
        bundle.addMount(destination: "/mnt", type: "bind", source: "/nonexistent-corral-src", options: ["rbind"])
        try assertFailsCleanly(expected: [["/nonexistent-corral-src"], ["no such file or directory"]])
    }

    func testExecutableMissing() throws {
        bundle.setArgs(["/bin/does-not-exist"])
        try assertFailsCleanly(expected: [["no such file or directory", "executable file not found"]])
    }

    func testExecutableNotInPath() throws {
        bundle.setArgs(["no-such-command-xyz"])
        try assertFailsCleanly(expected: [["no-such-command-xyz"],
                                          ["executable file not found", "no such file or directory"]])
    }

    func testUnknownTmpfsOptionRejectedByKernel() throws {
        bundle.addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["bogus=1"])
        try assertFailsCleanly(expected: [["/tmp"], ["invalid argument", "bogus"]])
    }

    func testHostnameWithoutUTSNamespace() throws {
        bundle.removeNamespace("uts")
        bundle.config["hostname"] = "no-uts"
        try assertFailsCleanly(expected: [["uts namespace"]])
        // The host's hostname is untouched.
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        XCTAssertNotEqual(String(cString: buf), "no-uts")
    }

    func testPidFileInMissingDirectory() throws {
        bundle.setShell("sleep 30")
        try assertFailsCleanly(extra: ["--pid-file", bundle.dir + "/no-such-dir/init.pid"],
                               expected: [["no such file or directory"]])
    }

    func testFailedCreateKeepsOtherContainersIntact() throws {
        // A failure for one id must not disturb an existing container in the same root.
        let good = rt.id("good")
        bundle.setShell("sleep 30")
        XCTAssertEqual(rt.create(bundle, id: good).status, 0)
        let pid = try XCTUnwrap(rt.stateJSON(good)?["pid"]?.int64Value)
        let broken = try TestBundle()
        defer { broken.remove() }
        broken.config["root"]?["path"] = "missing-rootfs"
        try broken.writeConfig()
        let bad = rt.id("bad")
        let r = rt.call(["create", "--bundle", broken.dir, bad])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertEqual(directoryEntries(rt.root).filter { !$0.hasPrefix(".") }, [good])
        XCTAssertEqual(rt.status(good), "created")
        XCTAssertEqual(rt.stateJSON(good)?["pid"]?.int64Value, pid)
        XCTAssertTrue(processIsAlive(Int(pid)))
    }
}
