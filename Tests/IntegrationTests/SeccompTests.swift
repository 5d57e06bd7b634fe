// linux.seccomp from inside the container: the filter is loaded (Seccomp: 2), denied syscalls fail with the configured
// errno, defaultErrnoRet, argument conditions (AND), flags, NNP on and off, SCMP_ACT_NOTIFY with a listener in the
// test, Docker's default profile (converted as moby does) and the hardened Docker config's profile, and the compiled
// filter cache (proved by corral's --debug lines, not by timing). Passes against runc too, except the cache test,
// which is corral's own.
import XCTest
import Glibc
import CorralSpec

final class SeccompTests: IsolationTestCase {
    // MARK: helpers

    private func setSeccomp(_ s: JSONValue, in b: TestBundle? = nil) {
        (b ?? bundle!).setLinux("seccomp", s)
    }

    /// `linux.seccomp` with default ALLOW and `rules`.
    private func allowExcept(_ rules: [JSONValue]) -> JSONValue {
        ["defaultAction": "SCMP_ACT_ALLOW", "syscalls": .array(rules)]
    }

    private func seccompStatus(_ out: String) -> String? {
        out.nonEmptyLines.first(where: { $0.hasPrefix("Seccomp:") }).map { squeezeSpaces(String($0.dropFirst(8))) }
    }

    /// The bundle's bounding set (what moby checks `includes.caps` against).
    private func boundingSet(_ b: TestBundle) -> [String] {
        b.config["process"]?["capabilities"]?["bounding"]?.arrayValue?.compactMap { $0.stringValue } ?? []
    }

    // MARK: basics

    func testFilterIsLoadedAndDeniedSyscallReturnsConfiguredErrno() throws {
        bundle.addTmpfsTmp()
        setSeccomp(allowExcept([
            ["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1],
            ["names": ["unlink", "unlinkat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28],
            ["names": ["getcwd"], "action": "SCMP_ACT_ERRNO"],   // no errnoRet: EPERM
            ["names": ["no_such_syscall_xyz"], "action": "SCMP_ACT_ERRNO"],
        ]))
        guard let out = runScript("""
            grep '^Seccomp:' /proc/self/status
            mkdir /tmp/d 2>&1; echo mkdir=$?
            touch /tmp/f; rm /tmp/f 2>&1; echo rm=$?
            /bin/pwd 2>&1; echo pwd=$?
            echo still-alive
            """) else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertTrue(out.contains("mkdir: can't create directory '/tmp/d': Operation not permitted"), out)
        XCTAssertEqual(keyValueLines(out)["mkdir"], "1", out)
        XCTAssertTrue(out.contains("No space left on device"), "rm must fail with errnoRet 28 (ENOSPC): \(out)")
        XCTAssertEqual(keyValueLines(out)["rm"], "1", out)
        XCTAssertTrue(out.contains("Operation not permitted") && keyValueLines(out)["pwd"] == "1",
                      "getcwd without errnoRet must fail with EPERM: \(out)")
        XCTAssertTrue(out.contains("still-alive"), out)
    }

    /// The same filter loaded before the capability drop (noNewPrivileges false, as in Docker's privileged-less
    /// default without --security-opt no-new-privileges).
    func testWithoutNoNewPrivileges() throws {
        bundle.setProcess("noNewPrivileges", false)
        bundle.addTmpfsTmp()
        setSeccomp(allowExcept([["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1]]))
        guard let out = runScript("""
            grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
            mkdir /tmp/d 2>&1; echo mkdir=$?
            """) else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertTrue(out.contains("NoNewPrivs:\t0"), out)
        XCTAssertTrue(out.contains("Operation not permitted"), out)
    }

    /// The runtime names the init before the config's filter goes on: under a profile that refuses
    /// prctl(PR_SET_NAME) the parked init still has its name (so `state` finds the fifo's answer the cheap way),
    /// with and without noNewPrivileges. (busybox renames its applets itself, so the rule answers EPERM, not KILL.)
    func testInitIsNamedBeforeTheProfileGoesOn() throws {
        for nnp in [true, false] {
            let b = try makeExtraBundle()
            b.setProcess("noNewPrivileges", .bool(nnp))
            b.setShell("sleep 30")
            setSeccomp(allowExcept([["names": ["prctl"], "action": "SCMP_ACT_ERRNO",
                                     "args": [["index": 0, "value": 15, "op": "SCMP_CMP_EQ"]]]]), in: b)   // PR_SET_NAME
            let id = runtime.id("kname\(nnp)")
            let pid = try runtime.createParked(b, id: id)
            if RuntimeUnderTest.isCorral {
                XCTAssertEqual(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8), "corral:[INIT]\n",
                               "noNewPrivileges \(nnp)")
            }
            XCTAssertEqual(runtime.status(id), "created", "noNewPrivileges \(nnp)")
            XCTAssertEqual(runtime("start", id).status, 0, "noNewPrivileges \(nnp)")
            XCTAssertEqual(runtime.status(id), "running", "noNewPrivileges \(nnp)")
            XCTAssertEqual(runtime("delete", "-f", id).status, 0)
        }
    }

    func testDefaultErrnoRet() throws {
        bundle.addTmpfsTmp()
        // Docker's allow-list with mkdir taken out, and a default errno of ENOSPC: mkdir and every syscall the
        // list does not name (unshare) return 28.
        var profile = try DockerSeccomp.defaultProfile(bounding: boundingSet(bundle))
        profile["defaultErrnoRet"] = 28
        let calls = (profile["syscalls"]?.arrayValue ?? []).map { c -> JSONValue in
            var c = c
            let names = (c["names"]?.arrayValue ?? []).filter { $0.stringValue != "mkdir" && $0.stringValue != "mkdirat" }
            c["names"] = .array(names)
            return c
        }.filter { ($0["names"]?.arrayValue ?? []).count > 0 }
        profile["syscalls"] = .array(calls)
        setSeccomp(profile)
        guard let out = runScript("""
            grep '^Seccomp:' /proc/self/status
            mkdir /tmp/d 2>&1; echo mkdir=$?
            unshare -U true 2>&1; echo unshare=$?
            ls / >/dev/null; echo ls=$?
            """) else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertTrue(out.contains("mkdir: can't create directory '/tmp/d': No space left on device"), out)
        XCTAssertTrue(out.contains("No space left on device") && keyValueLines(out)["unshare"] != "0", out)
        XCTAssertEqual(keyValueLines(out)["ls"], "0", out)
    }

    /// Two conditions on different arguments must both hold (AND): kill(1, 0) is denied, kill(<other>, 0) and
    /// kill(1, <other signal>) are not. One condition on personality's argument: linux32 (PER_LINUX32) fails,
    /// linux64 (PER_LINUX) works.
    func testArgumentConditions() throws {
        setSeccomp(allowExcept([
            ["names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
             "args": [["index": 0, "value": 1, "op": "SCMP_CMP_EQ"], ["index": 1, "value": 0, "op": "SCMP_CMP_EQ"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [["index": 0, "value": 0xff, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"]]],
        ]))
        guard let out = runScript("""
            kill -0 1 2>&1; echo kill1=$?
            sleep 5 & k=$!
            kill -0 $k 2>&1; echo killother=$?
            kill -CONT 1 2>&1; echo cont1=$?
            kill $k
            linux32 true 2>&1; echo linux32=$?
            linux64 true 2>&1; echo linux64=$?
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["kill1"], "1", out)
        XCTAssertTrue(out.contains("Operation not permitted"), out)
        XCTAssertEqual(kv["killother"], "0", out)
        XCTAssertEqual(kv["cont1"], "0", out)
        XCTAssertNotEqual(kv["linux32"], "0", out)
        XCTAssertTrue(out.contains("Invalid argument"), "personality(PER_LINUX32) must fail with errnoRet 22: \(out)")
        XCTAssertEqual(kv["linux64"], "0", out)
    }

    /// KILL_PROCESS and TRAP end the process with SIGSYS (the shell reports 128+31); TRACE without a tracer fails
    /// the syscall with ENOSYS; LOG lets it through.
    func testKillTrapTraceAndLogActions() throws {
        bundle.addTmpfsTmp()
        setSeccomp(allowExcept([
            ["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"],
            ["names": ["rmdir"], "action": "SCMP_ACT_TRAP"],
            ["names": ["unlink", "unlinkat"], "action": "SCMP_ACT_TRACE", "errnoRet": 5],
            ["names": ["symlink", "symlinkat"], "action": "SCMP_ACT_LOG"],
        ]))
        guard let out = runScript("""
            (mkdir /tmp/d); echo mkdir=$?
            (rmdir /tmp); echo rmdir=$?
            touch /tmp/f; rm /tmp/f 2>&1; echo rm=$?
            ln -s /x /tmp/l && echo ln=$?
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["mkdir"], "159", "SCMP_ACT_KILL_PROCESS: \(out)")
        XCTAssertEqual(kv["rmdir"], "159", "SCMP_ACT_TRAP: \(out)")
        XCTAssertEqual(kv["rm"], "1", out)
        XCTAssertTrue(out.contains("Function not implemented"), "SCMP_ACT_TRACE without a tracer: \(out)")
        XCTAssertEqual(kv["ln"], "0", "SCMP_ACT_LOG allows: \(out)")
    }

    /// Docker's default run: its profile and no no_new_privileges, so the filter goes in before the uid switch and
    /// the capability drop, which the profile must (and does) allow.
    func testDockerDefaultProfileWithoutNoNewPrivilegesAndANonRootUser() throws {
        bundle.setProcess("noNewPrivileges", false)
        bundle.setProcess("user", ["uid": 1001, "gid": 1001, "additionalGids": [10]])
        setSeccomp(try DockerSeccomp.defaultProfile(bounding: boundingSet(bundle)))
        guard let out = runScript("""
            grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
            echo id=$(id -u):$(id -g):$(id -G)
            unshare -U true 2>&1; echo unshare=$?
            """) else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertTrue(out.contains("NoNewPrivs:\t0"), out)
        XCTAssertEqual(keyValueLines(out)["id"], "1001:1001:1001 10", out)
        XCTAssertNotEqual(keyValueLines(out)["unshare"], "0", out)
    }

    /// Every flag the kernel supports is accepted and the filter loads with it.
    func testFlags() throws {
        if RuntimeUnderTest.isRunc && runtimeVersionLine().contains("runc version 1.1.") {
            throw XCTSkip("runc 1.1 refuses every seccomp flag (\"seccomp flags are not yet supported by runc\")")
        }
        setSeccomp(["defaultAction": "SCMP_ACT_ALLOW",
                    "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                    "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1],
                                 ["names": ["getpid"], "action": "SCMP_ACT_LOG"]]])
        guard let out = runScript("grep '^Seccomp:' /proc/self/status; mkdir /d 2>&1; echo mkdir=$?") else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertTrue(out.contains("Operation not permitted"), out)
    }

    /// A profile the kernel would refuse fails `run` before anything starts, naming the config path.
    func testInvalidProfileFailsWithThePath() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("corral's own error text") }
        setSeccomp(allowExcept([["names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                 "args": [["index": 6, "value": 1, "op": "SCMP_CMP_EQ"]]]]))
        bundle.setArgs(["/bin/true"])
        let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("linux.seccomp.syscalls[0].args[0].index: 6 is not a syscall argument (0-5)"), "\(r)")
        var after = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        after.stateEntries = after.stateEntries.filter { $0 != ".cache" }
        XCTAssertEqual(before, after)
    }

    // MARK: Docker's default profile

    /// moby's conversion for this container's capabilities (no CAP_SYS_ADMIN): ordinary work goes on, `unshare`
    /// is refused even though the kernel alone would allow an unprivileged user namespace.
    func testDockerDefaultProfileBlocksUnshareForAnUnprivilegedContainer() throws {
        bundle.addTmpfsTmp()
        let script = """
            grep '^Seccomp:' /proc/self/status
            unshare -U true 2>&1; echo unshare=$?
            mount -t tmpfs none /tmp 2>&1; echo mount=$?
            mkdir /tmp/d && echo hi > /tmp/d/f && cat /tmp/d/f && rm -r /tmp/d; echo work=$?
            ls /proc/self/fd >/dev/null; echo ls=$?
            """
        // Baseline without seccomp: the user namespace works (so a failure below is the profile's doing).
        guard let base = runScript(script) else { return }
        let baseUnshare = keyValueLines(base)["unshare"]
        let profile = try DockerSeccomp.defaultProfile(bounding: boundingSet(bundle))
        XCTAssertFalse((profile["syscalls"]?.arrayValue ?? []).contains { c in
            (c["names"]?.arrayValue ?? []).contains { $0.stringValue == "unshare" || $0.stringValue == "mount" }
        }, "the converted profile must not allow unshare/mount without CAP_SYS_ADMIN")
        setSeccomp(profile)
        guard let out = runScript(script) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertNotEqual(kv["unshare"], "0", out)
        XCTAssertTrue(out.contains("unshare(0x10000000): Operation not permitted"), out)
        XCTAssertNotEqual(kv["mount"], "0", out)
        XCTAssertEqual(kv["work"], "0", out)
        XCTAssertEqual(kv["ls"], "0", out)
        if baseUnshare != "0" {
            print("note: unshare -U also fails without seccomp here (\(base)); the blocked call is still shown above")
        }
    }

    /// The profile itself blocks mount and unshare: the container holds CAP_SYS_ADMIN (so without seccomp both
    /// work), the profile is converted as for a container without it.
    func testDockerDefaultProfileBlocksMountAndUnshareEvenWithCapSysAdmin() throws {
        let profile = try DockerSeccomp.defaultProfile(bounding: boundingSet(bundle))
        let caps: JSONValue = ["CAP_SYS_ADMIN", "CAP_KILL", "CAP_AUDIT_WRITE"]
        bundle.setProcess("capabilities", ["bounding": caps, "effective": caps, "permitted": caps])
        let script = """
            mount -t tmpfs none /tmp 2>&1; echo mount=$?
            unshare -m true 2>&1; echo unshare=$?
            """
        guard let base = runScript(script) else { return }
        XCTAssertEqual(keyValueLines(base)["mount"], "0", "baseline: CAP_SYS_ADMIN must allow mount: \(base)")
        XCTAssertEqual(keyValueLines(base)["unshare"], "0", "baseline: CAP_SYS_ADMIN must allow unshare: \(base)")
        setSeccomp(profile)
        guard let out = runScript(script) else { return }
        XCTAssertEqual(keyValueLines(out)["mount"], "1", out)
        XCTAssertTrue(out.contains("mount: permission denied (are you root?)"), "busybox's words for EPERM: \(out)")
        XCTAssertNotEqual(keyValueLines(out)["unshare"], "0", out)
        XCTAssertTrue(out.contains("unshare(0x20000): Operation not permitted"), out)
    }

    /// Docker's hardened config (its seccomp section exactly as Docker wrote it) compiles and loads.
    func testHardenedDockerConfigProfile() throws {
        let path = sharedDataDir + "/engines/hardened-config.docker.pretty.json"
        guard let text = readFile(path) else { throw XCTSkip("\(path) not available") }
        let seccomp = try XCTUnwrap(JSONValue.parse(text)["linux"]?["seccomp"])
        setSeccomp(seccomp)
        guard let out = runScript("""
            grep '^Seccomp:' /proc/self/status
            unshare -U true 2>&1; echo unshare=$?
            linux32 true; echo linux32=$?
            echo ok
            """) else { return }
        XCTAssertEqual(seccompStatus(out), "2", out)
        XCTAssertNotEqual(keyValueLines(out)["unshare"], "0", out)
        XCTAssertTrue(out.contains("Operation not permitted"), out)
        XCTAssertEqual(keyValueLines(out)["linux32"], "0", "personality(PER_LINUX32) is allowed by the profile: \(out)")
        XCTAssertTrue(out.contains("ok"), out)
    }

    // MARK: cache

    func testSecondCreateUsesTheCache() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("the compiled-filter cache and its debug lines are corral's") }
        setSeccomp(try DockerSeccomp.defaultProfile(bounding: boundingSet(bundle)))
        bundle.setArgs(["/bin/true"])
        try bundle.writeConfig()
        // create (and delete) only: the debug lines come from create; the filter is loaded before the init parks.
        func debugCreate() -> ProcResult {
            let id = runtime.id("cache")
            let r = runtime.call(["--debug", "create", "--bundle", bundle.dir, id])
            if r.status == 0 {
                XCTAssertEqual(procStatusField(Int(runtime.stateJSON(id)?["pid"]?.int64Value ?? 0), "Seccomp"), ["2"])
            }
            runtime.call(["delete", "--force", id])
            return r
        }
        let first = debugCreate()
        XCTAssertEqual(first.status, 0, "\(first)")
        let compiled = first.stderr.nonEmptyLines.first { $0.contains("seccomp: compiled ") }
        XCTAssertNotNil(compiled, "first create must compile: \(first)")
        XCTAssertFalse(first.stderr.contains("seccomp: cache hit"), "\(first)")
        let entries = directoryEntries(runtime.root + "/.cache/seccomp").filter { !$0.hasPrefix(".") }
        XCTAssertEqual(entries.count, 1, "\(entries)")

        let second = debugCreate()
        XCTAssertEqual(second.status, 0, "\(second)")
        let hit = second.stderr.nonEmptyLines.first { $0.contains("seccomp: cache hit ") }
        XCTAssertNotNil(hit, "second create must hit the cache: \(second)")
        XCTAssertTrue(hit?.contains(entries.first ?? "?") == true, "\(hit ?? "")")
        XCTAssertFalse(second.stderr.contains("seccomp: compiled "), "\(second)")
        print("seccomp timings: \(compiled ?? "-") | \(hit ?? "-")")

        // A corrupt entry is ignored (compiled again) and rewritten.
        let entry = runtime.root + "/.cache/seccomp/" + (entries.first ?? "?")
        try writeFile(entry, "garbage", mode: 0o600)
        let third = debugCreate()
        XCTAssertEqual(third.status, 0, "\(third)")
        XCTAssertTrue(third.stderr.contains("seccomp: compiled "), "\(third)")
        let fourth = debugCreate()
        XCTAssertTrue(fourth.stderr.contains("seccomp: cache hit "), "\(fourth)")

        // `list` does not mistake the cache for a container.
        let list = runtime("list", "-q")
        XCTAssertFalse(list.stdout.contains(".cache"), "\(list)")
    }

    // MARK: SCMP_ACT_NOTIFY

    /// The listener fd and the container process state arrive on listenerPath; the test answers the container's
    /// mkdir with EXDEV, which the container then sees.
    func testNotifyHandsListenerAndStateToTheAgent() throws {
        try notifyRoundTrip()
    }

    /// The same with an extra fork in the child (a new time namespace): the state carries the init's pid, not the
    /// intermediate's.
    func testNotifyWithIntermediateProcess() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("runc 1.1 has no time namespace") }
        bundle.addNamespace("time")
        try notifyRoundTrip()
    }

    private func notifyRoundTrip() throws {
        let shared = try bundle.addSharedDir()
        let sockDir = try makeHostDir("notify")
        let sockPath = sockDir + "/agent.sock"
        let agent = try ConsoleSocket(path: sockPath)
        defer { agent.close() }
        setSeccomp(["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": .string(sockPath),
                    "listenerMetadata": "agent-metadata",
                    "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]]])
        bundle.setTop("annotations", ["org.example.key": "value"])
        bundle.setShell("mkdir /shared/d 2>/shared/err; echo rc=$? > /shared/out")
        let id = runtime.id("notify")
        guard let received = try createReceivingTheListener(id, agent) else { return }
        guard let listener = received.fds.first else { return }
        defer { close(listener) }
        let pid = runtime.stateJSON(id)?["pid"]?.int64Value
        runtime.pidsToKill.append(Int(pid ?? 0))

        let state = try JSONValue.parse(received.payload)
        XCTAssertEqual(state["fds"], ["seccompFd"], received.payload)
        XCTAssertEqual(state["pid"]?.int64Value, pid, received.payload)
        XCTAssertEqual(state["metadata"]?.stringValue, "agent-metadata", received.payload)
        XCTAssertNotNil(state["ociVersion"]?.stringValue, received.payload)
        XCTAssertEqual(state["state"]?["id"]?.stringValue, id, received.payload)
        XCTAssertEqual(state["state"]?["status"]?.stringValue, "creating", received.payload)
        XCTAssertEqual(state["state"]?["pid"]?.int64Value, pid, received.payload)
        XCTAssertEqual(state["state"]?["bundle"]?.stringValue, bundle.dir, received.payload)
        XCTAssertEqual(state["state"]?["annotations"]?["org.example.key"]?.stringValue, "value", received.payload)

        let start = runtime("start", id)
        XCTAssertEqual(start.status, 0, "\(start)")
        // Answer the one notification: mkdir fails with EXDEV.
        var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&pfd, 1, 10_000), 1, "no notification within 10 s")
        var notif = [UInt8](repeating: 0, count: 80)   // struct seccomp_notif
        XCTAssertEqual(notif.withUnsafeMutableBytes { ioctl(listener, SeccompIoctl.notifRecv, $0.baseAddress!) }, 0,
                       "SECCOMP_IOCTL_NOTIF_RECV: \(errnoString())")
        let nr = notif.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
        XCTAssertTrue(nr == 83 || nr == 258, "notification for syscall \(nr), not mkdir/mkdirat")
        var resp = [UInt8](repeating: 0, count: 24)        // struct seccomp_notif_resp
        resp.withUnsafeMutableBytes { r in
            r.storeBytes(of: notif.withUnsafeBytes { $0.load(as: UInt64.self) }, toByteOffset: 0, as: UInt64.self)
            r.storeBytes(of: -EXDEV, toByteOffset: 16, as: Int32.self)
        }
        XCTAssertEqual(resp.withUnsafeMutableBytes { ioctl(listener, SeccompIoctl.notifSend, $0.baseAddress!) }, 0,
                       "SECCOMP_IOCTL_NOTIF_SEND: \(errnoString())")
        XCTAssertTrue(runtime.waitForStatus(id, "stopped", timeout: 10))
        XCTAssertEqual(readFile(shared + "/out")?.trimmed, "rc=1")
        XCTAssertTrue(readFile(shared + "/err")?.contains("Invalid cross-device link") == true, readFile(shared + "/err") ?? "")
        XCTAssertFalse(pathExists(shared + "/d"))
    }

    /// Creates container `id` and returns what its seccomp agent received: exactly one fd (the listener) and the
    /// state. nil when create failed (asserted).
    private func createReceivingTheListener(_ id: String, _ agent: ConsoleSocket) throws -> ConsoleSocket.Received? {
        let created = runtime.create(bundle, id: id)
        XCTAssertEqual(created.status, 0, "\(created)")
        guard created.status == 0 else { return nil }
        let received = try agent.receive()
        XCTAssertEqual(received.fds.count, 1, "exactly the listener fd")
        return received
    }

    /// crun's test_seccomp_listener: a listenerPath gets the listener and the state even when no rule notifies.
    func testAListenerPathWithoutNotifyRulesStillGetsTheListener() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc sends a listener only for SCMP_ACT_NOTIFY rules; crun as tested") }
        let sockDir = try makeHostDir("listener")
        let agent = try ConsoleSocket(path: sockDir + "/agent.sock")
        defer { agent.close() }
        setSeccomp(["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": .string(sockDir + "/agent.sock"),
                    "listenerMetadata": "SOME-METADATA"])
        bundle.setArgs(["true"])
        let id = runtime.id("listener")
        guard let received = try createReceivingTheListener(id, agent) else { return }
        received.fds.forEach { close($0) }
        let state = try JSONValue.parse(received.payload)
        XCTAssertEqual(state["metadata"]?.stringValue, "SOME-METADATA", received.payload)
        XCTAssertEqual(state["state"]?["id"]?.stringValue, id, received.payload)
        XCTAssertEqual(state["state"]?["status"]?.stringValue, "creating", received.payload)
        XCTAssertEqual(runtime("start", id).status, 0)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped", timeout: 10))
    }

    /// NOTIFY without anyone listening on listenerPath: create fails and leaves nothing behind.
    func testNotifyWithoutListenerFailsCleanly() throws {
        let sockDir = try makeHostDir("notify")
        setSeccomp(["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": .string(sockDir + "/nobody.sock"),
                    "syscalls": [["names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"]]])
        bundle.setArgs(["/bin/true"])
        let id = runtime.id("notify")
        let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        let r = runtime.create(bundle, id: id)
        XCTAssertNotEqual(r.status, 0, "\(r)")
        var after = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        after.stateEntries = after.stateEntries.filter { $0 != ".cache" }
        XCTAssertEqual(before, after)
        // runc's words, which its bats test (seccomp-notify "no seccompagent") looks for.
        XCTAssertTrue(r.stderr.contains("failed to connect with seccomp agent"), "\(r)")
        if RuntimeUnderTest.isCorral {
            XCTAssertTrue(r.stderr.contains("linux.seccomp.listenerPath: connect to \(sockDir)/nobody.sock: no such file or directory"), "\(r)")
        }
    }
}

/// First line of `<runtime> --version`.
private func runtimeVersionLine() -> String {
    runCommand([RuntimeUnderTest.path, "--version"], timeout: 10).stdout.nonEmptyLines.first ?? ""
}

/// SECCOMP_IOCTL_NOTIF_RECV / _SEND (`_IOWR('!', 0, struct seccomp_notif)` / `_IOWR('!', 1, struct
/// seccomp_notif_resp)`): macros Swift cannot import.
enum SeccompIoctl {
    static let notifRecv: UInt = 0xC050_2100
    static let notifSend: UInt = 0xC018_2101
}

/// bundles/agent carries Docker's default profile converted for the agent's capabilities (no CAP_SYS_ADMIN & co).
/// `CORRAL_WRITE_AGENT_SECCOMP=<file>` writes the conversion (pretty JSON) to regenerate the bundle's section.
final class SeccompAgentBundleTests: XCTestCase {
    func testAgentBundleHasDockersDefaultProfile() throws {
        #if !arch(x86_64)
        throw XCTSkip("the bundle's profile is the amd64 conversion")
        #endif
        guard let text = readFile(packageRoot + "/bundles/agent/config.json") else { throw XCTSkip("no bundles/agent") }
        guard readFile(DockerSeccomp.defaultProfilePath) != nil else { throw XCTSkip("no Docker profile in shared data") }
        let config = try JSONValue.parse(text)
        let bounding = config["process"]?["capabilities"]?["bounding"]?.arrayValue?.compactMap { $0.stringValue }
            ?? ["CAP_NET_BIND_SERVICE"]
        var want = try DockerSeccomp.defaultProfile(bounding: bounding)
        // The agent profile drops what an agent never needs from Docker's list: tracing other processes.
        let dropped: Set<String> = ["ptrace", "process_vm_readv", "process_vm_writev"]
        let rules = (want["syscalls"]?.arrayValue ?? []).compactMap { rule -> JSONValue? in
            var r = rule
            let names = (rule["names"]?.arrayValue ?? []).filter { !dropped.contains($0.stringValue ?? "") }
            if names.isEmpty { return nil }
            r["names"] = .array(names)
            return r
        }
        want["syscalls"] = .array(rules)
        if let out = getenv("CORRAL_WRITE_AGENT_SECCOMP") {
            try writeFile(String(cString: out), want.serialized(indent: "\t"))
        }
        XCTAssertEqual(config["linux"]?["seccomp"], want)
        // Nothing gated on a capability the agent lacks slipped in.
        let names = Set((want["syscalls"]?.arrayValue ?? []).flatMap { $0["names"]?.arrayValue ?? [] }.compactMap { $0.stringValue })
        for blocked in ["unshare", "mount", "keyctl", "bpf", "setns", "umount2", "init_module", "reboot", "ptrace",
                        "process_vm_readv", "io_uring_setup", "userfaultfd", "perf_event_open"] {
            XCTAssertFalse(names.contains(blocked), blocked)
        }
        XCTAssertTrue(names.contains("read") && names.contains("execve") && names.contains("clone"))
    }
}
