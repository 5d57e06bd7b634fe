// Regression tests for the defects an adversarial review found (ids that become root, sysctls written into the
// host's namespaces, tenants sharing a cgroup, a killed create that left cgroups behind, NUL bytes, CLI leniency,
// unbounded configs). Each runs against runc too; where runc 1.1.5 differs, the test says so and skips.
import XCTest
import Glibc
import CorralSpec

final class SecurityRegressionTests: RuntimeTestCase {

    // MARK: ids

    /// uid/gid 4294967295 is (uid_t)-1: setresuid(-1) changes nothing, so the process would stay root.
    func testIDsOutsideTheRangeAreRefused() throws {
        for user: JSONValue in [["uid": 4294967295, "gid": 0], ["uid": 0, "gid": 4294967295],
                                ["uid": 2147483648, "gid": 0], ["uid": 0, "gid": 0, "additionalGids": [4294967295]]] {
            bundle.config["process"]?["user"] = user
            try bundle.writeConfig()
            rt.expectCleanFailure(bundle: bundle, id: rt.id("uid"), message: "uids and gids must be in range 0-2147483647")
        }
    }

    func testExecAsUidMinusOneIsRefused() throws {
        bundle.setShell("sleep 30")
        let id = rt.id("execuid")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        for user in ["4294967295", "0:4294967295", "2147483648"] {
            let r = rt.call(["exec", "-u", user, id, "/bin/id", "-u"])
            XCTAssertNotEqual(r.status, 0, "exec -u \(user) must fail: \(r)")
            XCTAssertFalse(r.stdout.contains("0"), "nothing ran as root: \(r)")
            if RuntimeUnderTest.isCorral {
                XCTAssertEqual(r.status, 255, "\(r)")
                XCTAssertTrue(r.stderr.contains("uids and gids must be in range 0-2147483647"), r.stderr)
            }
        }
        let r = rt.call(["exec", "--additional-gids", "4294967295", id, "/bin/id"])
        XCTAssertNotEqual(r.status, 0, "\(r)")
    }

    // MARK: sysctl

    /// A network namespace joined by path can be the host's own: no sysctl may be written into it.
    func testSysctlIsRefusedInTheHostsNetworkNamespace() throws {
        let before = readFile("/proc/sys/net/ipv4/ip_default_ttl")
        XCTAssertNotNil(before)
        XCTAssertNotEqual(before?.trimmed, "13", "the test needs a host ttl other than 13")
        var namespaces = bundle.config["linux"]?["namespaces"]?.arrayValue ?? []
        namespaces = namespaces.map { $0["type"]?.stringValue == "network"
            ? ["type": "network", "path": .string("/proc/\(getpid())/ns/net")] : $0 }
        bundle.config["linux"]?["namespaces"] = .array(namespaces)
        bundle.config["linux"]?["sysctl"] = ["net.ipv4.ip_default_ttl": "13"]
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("hostnet"),
                              message: "not allowed in host network namespace")
        XCTAssertEqual(readFile("/proc/sys/net/ipv4/ip_default_ttl"), before, "the host's sysctl is unchanged")

        // The same sysctl in a namespace the container owns is written there, not on the host.
        bundle.config["linux"]?["namespaces"] = TestBundle.defaultConfig()["linux"]?["namespaces"]
        bundle.setShell("cat /proc/sys/net/ipv4/ip_default_ttl")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "13")
        XCTAssertEqual(readFile("/proc/sys/net/ipv4/ip_default_ttl"), before)
    }

    // MARK: cgroups

    /// Two containers naming one cgroupsPath: the second is refused, so deleting it cannot kill the first.
    func testASharedCgroupIsRefusedAndTheFirstContainerSurvives() throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 only warns about a non-empty cgroup (refused from runc 1.2 on)")
        }
        let path = "/corral-shared-\(randomHex(8))"
        bundle.config["linux"]?["cgroupsPath"] = .string(path)
        bundle.setShell("sleep 60")
        let first = rt.id("first"), second = rt.id("second")
        XCTAssertEqual(rt.create(bundle, id: first).status, 0)
        XCTAssertEqual(rt("start", first).status, 0)
        let r = rt.expectCleanFailure(bundle: bundle, id: second, message: "container's cgroup is not empty: 1 process(es) found")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(rt("delete", "--force", second).status, 0)
        XCTAssertEqual(rt.status(first), "running", "the first container is untouched")
        XCTAssertEqual(rt("delete", "--force", first).status, 0)
    }

    /// A cgroup that is already frozen would hold the new init for ever: refused with runc's text.
    func testAFrozenCgroupIsRefused() throws {
        let name = "corral-frozen-\(randomHex(8))"
        let freezer = "/sys/fs/cgroup/freezer"
        guard isDirectory(freezer) else { throw XCTSkip("no v1 freezer hierarchy at \(freezer)") }
        try makeDirectories(freezer + "/" + name)
        defer { _ = rmdir(freezer + "/" + name) }
        try writeFile(freezer + "/" + name + "/freezer.state", "FROZEN")
        defer { try? writeFile(freezer + "/" + name + "/freezer.state", "THAWED") }
        bundle.config["linux"]?["cgroupsPath"] = .string("/" + name)
        try bundle.writeConfig()
        let id = rt.id("frozen")
        let r = rt.call(["create", "--bundle", bundle.dir, id], timeout: 30)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertFalse(r.timedOut, "create must not hang on a frozen cgroup")
        XCTAssertTrue(r.stderr.contains("container's cgroup unexpectedly frozen"), r.stderr)
        XCTAssertNil(rt.stateJSON(id))
    }

    /// SIGKILL of create while it runs its createRuntime hook (the container's cgroups exist and its init waits):
    /// `delete --force` removes everything, and a new create of the same id works.
    func testAKilledCreateLeavesWhatDeleteRemoves() throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 leaves the cgroups of a killed create behind (delete --force: container does not exist)")
        }
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        bundle.config["hooks"] = ["createRuntime": [["path": "/bin/sleep", "args": ["sleep", "30"]]]]
        try bundle.writeConfig()
        let id = rt.id("killed")
        let pid = try spawnBackground([RuntimeUnderTest.path, "--root", rt.root, "create", "--bundle", bundle.dir, id])
        XCTAssertTrue(waitUntil(timeout: 10) { processesMentioning([self.bundle.dir]).count >= 2 },
                      "the init is parked while the hook runs")
        // The hook (sleep) is a child of create: the kill lands in the middle of the create.
        usleep(300_000)
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        for p in processesMentioning(["sleep 30"]) where processCmdline(p.pid) == "sleep 30" { killIfAlive(p.pid) }
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(rt.status(id), "stopped", "a create that died before committing is a stopped container")
        }
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        XCTAssertTrue(waitUntil(timeout: 10) { HostSnapshot.take(root: self.rt.root, bundle: self.bundle.dir) == before },
                      "delete --force leaves nothing: \(HostSnapshot.take(root: rt.root, bundle: bundle.dir))")

        bundle.config["hooks"] = nil
        bundle.setShell("true")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0, "the id can be created again")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    /// A create killed after its record exists: a later create of the same id cleans up and proceeds.
    func testACreateOfTheSameIdReclaimsAKilledCreate() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc keeps the half-created state until delete") }
        bundle.config["hooks"] = ["createRuntime": [["path": "/bin/sleep", "args": ["sleep", "30"]]]]
        try bundle.writeConfig()
        let id = rt.id("reclaim")
        let pid = try spawnBackground([RuntimeUnderTest.path, "--root", rt.root, "create", "--bundle", bundle.dir, id])
        XCTAssertTrue(waitUntil(timeout: 10) { self.rt.status(id) == "creating" }, "state says creating meanwhile")
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        for p in processesMentioning(["sleep 30"]) where processCmdline(p.pid) == "sleep 30" { killIfAlive(p.pid) }
        bundle.config["hooks"] = nil
        bundle.setShell("true")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt.status(id), "created")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    // MARK: strings, CLI, bounds

    func testNULInCwdIsRefused() throws {
        bundle.config["process"]?["cwd"] = "/tmp\u{0}/../../etc"
        try bundle.writeConfig()
        // runc fails later, when Go refuses the string at the chdir/mkdir syscall.
        rt.expectCleanFailure(bundle: bundle, id: rt.id("nul"),
                              message: RuntimeUnderTest.isRunc ? "invalid argument" : "process.cwd: string contains a NUL byte")
    }

    func testExtraArgumentsAreAUsageError() throws {
        try bundle.writeConfig()
        let a = rt.id("extra"), b = rt.id("extra")
        let r = rt.call(["create", "--bundle", bundle.dir, a, b])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("requires exactly 1 argument(s)"), r.stderr)
        XCTAssertNil(rt.stateJSON(a))
        XCTAssertNil(rt.stateJSON(b))
    }

    func testARootThatIsNotADirectoryIsAnError() throws {
        let file = rt.root + "/not-a-dir"
        try writeFile(file, "")
        let r = rt.callRaw(["--root", file, "list"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("not a directory"), r.stderr)
        // A --root that does not exist: runc main's list fails naming it (runc 1.1.5 lists nothing).
        let missing = rt.callRaw(["--root", rt.root + "/missing", "list", "-q"])
        if !(RuntimeUnderTest.isRunc && missing.status == 0) {
            XCTAssertEqual(missing.status, 1, "\(missing)")
            XCTAssertTrue(missing.stderr.contains("/missing: no such file or directory"), missing.stderr)
        }
        // Other verbs treat it as a root without containers.
        let state = rt.callRaw(["--root", rt.root + "/missing", "state", "nope"])
        XCTAssertTrue(state.stderr.contains("container does not exist"), state.stderr)
    }

    func testAnOversizedConfigIsRefused() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc reads a config of any size") }
        var env = ["PATH=/bin"]
        for i in 0..<3000 { env.append("V\(i)=" + String(repeating: "x", count: 6000)) }
        bundle.config["process"]?["env"] = JSONValue(env)
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("big"), message: "larger than the limit of 16777216 bytes")
    }

    // MARK: foreground run

    /// A foreground `run` does not hold the container's lock while it runs: kill and pause from elsewhere work.
    func testForegroundRunDoesNotBlockOtherVerbs() throws {
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let id = rt.id("fg")
        let pid = try spawnBackground([RuntimeUnderTest.path, "--root", rt.root, "run", "--bundle", bundle.dir, id])
        XCTAssertTrue(waitUntil(timeout: 10) { self.rt.status(id) == "running" })
        let pause = rt.call(["pause", id], timeout: 10)
        XCTAssertEqual(pause.status, 0, "\(pause)")
        XCTAssertEqual(rt.call(["resume", id], timeout: 10).status, 0)
        let kill = rt.call(["kill", id, "KILL"], timeout: 10)
        XCTAssertFalse(kill.timedOut, "kill must not wait for the foreground run")
        XCTAssertEqual(kill.status, 0, "\(kill)")
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        XCTAssertEqual((status >> 8) & 0xff, 137, "run reports the SIGKILL")
        XCTAssertTrue(waitUntil(timeout: 5) { self.rt.stateJSON(id) == nil }, "run removed its container")
    }
}
