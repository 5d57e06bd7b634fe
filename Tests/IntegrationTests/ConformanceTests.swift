// What the public OCI suites (runtime-tools validation, runc's bats, crun's tests, critest) found corral doing
// differently from runc and crun: each case here fails on the old behaviour and passes on runc 1.1.5 too, unless
// the test says why runc 1.1.5 differs.
import XCTest
import Glibc
import CorralSpec

final class ConformanceTests: RuntimeTestCase {

    /// With noNewPrivileges false the filter goes on before the uid switch; the runtime's own fd sweep must not
    /// depend on the profile allowing close_range.
    func testAProfileThatRefusesCloseRangeStillRuns() throws {
        bundle.config["process"]?["noNewPrivileges"] = false
        bundle.config["linux"]?["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [["names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1]],
        ]
        bundle.setShell("echo ran")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "ran")
    }

    /// runc's stub: a syscall newer than everything the profile names gets ENOSYS (programs probe for new syscalls
    /// and fall back), not the default action's EPERM.
    func testSyscallsNewerThanTheProfileGetENOSYS() throws {
        let probe = try EscapeProbes.binaries().probe
        XCTAssertEqual(runCommand(["cp", probe, bundle.rootfs + "/probe"]).status, 0)
        let bounding = bundle.config["process"]?["capabilities"]?["bounding"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        bundle.config["linux"]?["seccomp"] = try DockerSeccomp.defaultProfile(bounding: bounding)
        bundle.setArgs(["/probe", "syscall", "1000"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "syscall 1000: ENOSYS")
    }

    /// runc enters the working directory before dropping privileges (and again after, if refused).
    func testCwdOnlyTheRuntimeMayEnter() throws {
        try makeDirectories(bundle.rootfs + "/secret")
        XCTAssertEqual(chown(bundle.rootfs + "/secret", 4242, 4242), 0)
        XCTAssertEqual(chmod(bundle.rootfs + "/secret", 0o700), 0)
        bundle.config["process"]?["capabilities"] = [:]
        bundle.config["process"]?["cwd"] = "/secret"
        bundle.setShell("pwd")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "/secret")
    }

    /// A hook without `env` gets the runtime's environment (Go's exec with a nil Env); an empty one gets none.
    func testHooksWithoutEnvInheritTheRuntimesEnvironment() throws {
        let out = try bundle.addSharedDir(at: "/unused")
        bundle.config["hooks"] = [
            "prestart": [["path": "/bin/sh", "args": ["sh", "-c", .string("env > \(out)/inherited")]],
                         ["path": "/bin/sh", "args": ["sh", "-c", .string("env > \(out)/empty")], "env": []]],
        ]
        try bundle.writeConfig()
        let r = rt.call(["run", "--bundle", bundle.dir, rt.id("hookenv")], env: ["CORRAL_HOOK_PROBE": "seen"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(readFile(out + "/inherited")?.contains("CORRAL_HOOK_PROBE=seen") ?? false, "\(readFile(out + "/inherited") ?? "")")
        XCTAssertFalse(readFile(out + "/empty")?.contains("CORRAL_HOOK_PROBE") ?? true)
    }

    /// --no-pivot leaves the host's mounts in the container's mount namespace; a full procfs among them would let
    /// `unshare -mrpf` mount a fresh one inside. runc hides them, and so must we.
    func testNoPivotLeavesNoWayToAFreshProcfs() throws {
        bundle.addTmpfsTmp()
        bundle.config["process"]?["capabilities"] = nil
        bundle.setShell("mkdir /tmp/p && unshare -mrpf sh -c 'mount -t proc proc /tmp/p && echo MOUNTED' 2>&1; echo done")
        try bundle.writeConfig()
        let r = rt.call(["run", "--no-pivot", "--bundle", bundle.dir, rt.id("nopivot")])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.contains("done"), r.stdout)
        XCTAssertFalse(r.stdout.contains("MOUNTED"), "a fresh procfs could be mounted: \(r.stdout)")
    }

    func testKillWithSignalZeroProbesLiveness() throws {
        bundle.setShell("sleep 30")
        let id = rt.id("kill0")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("kill", id, "0").status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertEqual(rt("kill", id, "0").status, 0)
        XCTAssertEqual(rt.status(id), "running", "signal 0 sends nothing")
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        let r = rt("kill", id, "0")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("container not running"), r.stderr)
    }

    /// The terminal belongs to the process's user (runc's fixStdioPermissions), so it can reopen /dev/stdout.
    func testTheTerminalIsOwnedByTheProcessUser() throws {
        bundle.setTerminal(true)
        bundle.config["process"]?["user"] = ["uid": 1001, "gid": 1001]
        bundle.setShell("stat -c %u $(readlink /proc/self/fd/0); echo reopened > /dev/stdout && echo ok")
        let id = rt.id("ttyown")
        let got = try rt.createWithConsole(bundle, id: id)
        defer { for fd in got.fds { close(fd) } }
        let master = try XCTUnwrap(got.fds.first)
        XCTAssertEqual(rt("start", id).status, 0)
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("ok") || $0.contains("denied") }
        XCTAssertTrue(out.contains("1001"), out)
        XCTAssertTrue(out.contains("reopened") && out.contains("ok"), out)
    }

    /// /dev/ptmx listed as a device (5:2) is the devpts link all the same, and a read-only /dev still gets its
    /// /dev/pts and nodes (runc makes tmpfs and /dev read-only last).
    func testPtmxDeviceEntryAndAReadOnlyDev() throws {
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        for (i, m) in mounts.enumerated() where m["destination"]?.stringValue == "/dev" {
            mounts[i]["options"] = ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]
        }
        bundle.config["mounts"] = .array(mounts)
        bundle.config["linux"]?["devices"] = [["path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2]]
        bundle.setTerminal(true)
        bundle.setShell("readlink /dev/ptmx; test -c /dev/null && echo null-ok; touch /dev/x 2>&1 || echo dev-ro; echo end")
        let id = rt.id("ptmx")
        let got = try rt.createWithConsole(bundle, id: id)
        defer { for fd in got.fds { close(fd) } }
        let master = try XCTUnwrap(got.fds.first)
        XCTAssertEqual(rt("start", id).status, 0)
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("end") }
        XCTAssertTrue(out.contains("pts/ptmx"), out)
        XCTAssertTrue(out.contains("null-ok"), out)
        XCTAssertTrue(out.contains("dev-ro"), out)
    }

    /// A tmpfs on an existing directory takes that directory's mode unless the options give one (runc).
    func testTmpfsTakesTheModeOfTheDirectoryItCovers() throws {
        try makeDirectories(bundle.rootfs + "/data")
        XCTAssertEqual(chmod(bundle.rootfs + "/data", 0o750), 0)
        bundle.addMount(destination: "/data", type: "tmpfs", source: "tmpfs", options: ["nosuid"])
        bundle.addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["mode=700"])
        bundle.setShell("stat -c %a /data /tmp")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        // runc 1.1.5 puts the directory's mode before the options and still shows 1777 for /tmp; an explicit
        // mode= wins here (and in crun).
        XCTAssertEqual(r.stdout.nonEmptyLines, RuntimeUnderTest.isRunc ? ["750", "1777"] : ["750", "700"])
    }

    func testDuplicateEnvironmentEntriesLastWins() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 passes duplicates on (de-duplicated from runc 1.2)") }
        bundle.config["process"]?["env"] = ["PATH=/bin", "A=1", "B=2", "A=3"]
        bundle.setShell("env | grep -E '^(A|B)=' | sort")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["A=3", "B=2"])
    }

    func testAnUnknownCapabilityIsRefused() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 warns about an unknown capability and ignores it") }
        bundle.config["process"]?["capabilities"]?["bounding"] = ["CAP_KILL", "CAP_FROB"]
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("cap"), message: "unknown capability")
    }

    /// An image whose /proc is a symlink: procfs is never mounted through it (runc's rule).
    func testASymlinkedProcIsRefused() throws {
        _ = rmdir(bundle.rootfs + "/proc")
        try makeDirectories(bundle.rootfs + "/elsewhere")
        XCTAssertEqual(symlink("elsewhere", bundle.rootfs + "/proc"), 0)
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("procsym"), message: "must be mounted on ordinary directory")
    }

    /// additionalGids is the whole list of supplementary groups: the image's /etc/group memberships are the
    /// engine's to resolve (critest "primary UID belongs to some groups").
    func testSupplementaryGroupsAreAdditionalGidsExactly() throws {
        try bundle.writeRootfsFile("/etc/group", "root:x:0:\nagent:x:1001:\nstaff:x:50:agent\nwheel:x:10:agent\n", mode: 0o644)
        bundle.config["process"]?["user"] = ["uid": 1001, "gid": 1001, "additionalGids": [1234, 50000]]
        bundle.setShell("grep Groups /proc/self/status")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed.split(separator: "\t").last.map(String.init)?.trimmed, "1234 50000")
    }

    /// runc runs a user without gid with gid 0, and an exec'd process without user as 0:0.
    func testUserWithoutGidAndExecWithoutUser() throws {
        bundle.config["process"]?["user"] = ["uid": 1001]
        bundle.setShell("id -u; id -g; sleep 30")
        let id = rt.id("nogid")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        try writeFile(bundle.dir + "/p.json", #"{"args": ["/bin/sh", "-c", "id -u; id -g"], "cwd": "/", "env": ["PATH=/bin"]}"#)
        let r = rt("exec", "--process", bundle.dir + "/p.json", id)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["0", "0"])
    }

    /// Device nodes may be created outside /dev, and a bind may carry filesystem options, which mean nothing to it.
    func testDeviceOutsideDevAndFilesystemOptionsOnABind() throws {
        bundle.addMount(destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        bundle.config["linux"]?["devices"] = [["path": "/mnt/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438]]
        var devices = bundle.config["linux"]?["resources"]?["devices"]?.arrayValue ?? []
        devices.append(["allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"])
        bundle.config["linux"]?["resources"]?["devices"] = .array(devices)
        let shared = try bundle.addSharedDir(at: "/shared")
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        mounts[mounts.count - 1]["options"] = ["rbind", "rw", "mode=755", "size=10m"]
        bundle.config["mounts"] = .array(mounts)
        bundle.setShell("test -c /mnt/null && echo x > /mnt/null && echo dev-ok; echo hi > /shared/f && echo bind-ok")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["dev-ok", "bind-ok"])
        XCTAssertEqual(readFile(shared + "/f"), "hi\n")
    }

    /// A container without a procfs at /proc runs (the exec fifo is reached through the runtime's procfs).
    func testAContainerWithoutProcRuns() throws {
        let mounts = (bundle.config["mounts"]?.arrayValue ?? []).filter { $0["destination"]?.stringValue != "/proc" }
        bundle.config["mounts"] = .array(mounts)
        bundle.config["linux"]?["maskedPaths"] = []
        bundle.config["linux"]?["readonlyPaths"] = []
        bundle.setShell("test -e /proc/self || echo no-proc")
        let r = rt.run(bundle)
        if RuntimeUnderTest.isRunc && r.status != 0 {
            throw XCTSkip("runc 1.1.5 reopens its exec fifo through the container's /proc: \(r.stderr)")
        }
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "no-proc")
    }

    /// Huge page sizes in the forms the kernel and engines write ("2048kB", "2M", "2MiB") are one size.
    func testHugepageSizesInEveryForm() throws {
        guard isDirectory("/sys/kernel/mm/hugepages/hugepages-2048kB") else { throw XCTSkip("no 2 MB huge pages on this host") }
        // The controller is a v1 hierarchy or lives in cgroup2 (this hybrid host offers it there).
        let v1 = (readFile("/proc/self/mountinfo") ?? "").nonEmptyLines.contains { $0.contains(" - cgroup ") && $0.contains("hugetlb") }
        let v2 = (readFile("/sys/fs/cgroup/unified/cgroup.controllers") ?? readFile("/sys/fs/cgroup/cgroup.controllers") ?? "")
            .split(whereSeparator: { $0 == " " || $0 == "\n" }).contains { $0 == "hugetlb" }
        guard v1 || v2 else { throw XCTSkip("no hugetlb cgroup controller on this host") }
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 takes only the \"2MB\" spelling") }
        for size in ["2048kB", "2M", "2MiB", "2MB"] {
            bundle.config["linux"]?["resources"]?["hugepageLimits"] = [["pageSize": .string(size), "limit": 4194304]]
            bundle.setShell("sleep 30")
            let id = rt.id("huge")
            XCTAssertEqual(rt.create(bundle, id: id).status, 0, size)
            let unified = isDirectory("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup"
            let file = v1 ? "/sys/fs/cgroup/hugetlb/\(id)/hugetlb.2MB.limit_in_bytes" : "\(unified)/\(id)/hugetlb.2MB.max"
            XCTAssertEqual(readFile(file)?.trimmed, "4194304", "\(size): \(file)")
            XCTAssertEqual(rt("delete", "--force", id).status, 0)
        }
    }
}

/// `--pidfd-socket` (runc 1.2) and socket activation (LISTEN_FDS), the two hand-overs runc makes besides stdio.
final class ProcessHandOverTests: RuntimeTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no --pidfd-socket (added in runc 1.2)") }
    }

    /// create sends a pidfd of the init ("standard"), exec one of the exec'd process ("setns"); signalling through
    /// them reaches exactly those processes.
    func testPidfdSocketHandsOverTheProcess() throws {
        bundle.setShell("sleep 60")
        try bundle.writeConfig()
        let id = rt.id("pidfd")
        let sock = try ConsoleSocket(path: bundle.dir + "/pidfd.sock")
        defer { sock.close() }
        XCTAssertEqual(rt.call(["create", "--bundle", bundle.dir, "--pidfd-socket", sock.path, id]).status, 0)
        let got = try sock.receive(timeout: 10)
        defer { for fd in got.fds { close(fd) } }
        XCTAssertEqual(got.payload, "standard")
        let initPidfd = try XCTUnwrap(got.fds.first)
        let pid = try XCTUnwrap(rt.stateJSON(id)?["pid"]?.int64Value)
        XCTAssertEqual(readFile("/proc/self/fdinfo/\(initPidfd)")?.nonEmptyLines.first { $0.hasPrefix("Pid:") }?
                        .split(separator: "\t").last.map(String.init), String(pid), "the pidfd names the init")
        XCTAssertEqual(rt("start", id).status, 0)

        let execSock = try ConsoleSocket(path: bundle.dir + "/exec.sock")
        defer { execSock.close() }
        XCTAssertEqual(rt.call(["exec", "--detach", "--pidfd-socket", execSock.path, id, "sleep", "50"]).status, 0)
        let execGot = try execSock.receive(timeout: 10)
        defer { for fd in execGot.fds { close(fd) } }
        XCTAssertEqual(execGot.payload, "setns")
        XCTAssertEqual(execGot.fds.count, 1)

        var p = pollfd(fd: initPidfd, events: Int16(POLLIN), revents: 0)
        XCTAssertEqual(poll(&p, 1, 0), 0, "a live process's pidfd is not readable")
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertEqual(poll(&p, 1, 5000), 1, "the pidfd becomes readable when the init exits")
    }

    /// LISTEN_FDS/LISTEN_PID naming the runtime: fds 3.. go to the container (before --preserve-fds), with
    /// LISTEN_FDS=n and LISTEN_PID=1 in its environment.
    func testSocketActivationFdsReachTheContainer() throws {
        try writeFile(bundle.dir + "/listen.txt", "activated\n")
        try writeFile(bundle.dir + "/preserved.txt", "preserved\n")
        bundle.setShell("echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4")
        try bundle.writeConfig()
        let script = "exec 3<\"$4/listen.txt\" 4<\"$4/preserved.txt\"; export LISTEN_PID=$$ LISTEN_FDS=1; " +
            "exec \"$0\" --root \"$1\" run --preserve-fds 1 --bundle \"$2\" \"$3\""
        let r = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, rt.root, bundle.dir, rt.id("listen"), bundle.dir])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["1 1", "activated", "preserved"])
    }

    func testAPidfdSocketThatCannotBeDialedLeavesNothing() throws {
        try bundle.writeConfig()
        let id = rt.id("nodial")
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let r = rt.call(["create", "--bundle", bundle.dir, "--pidfd-socket", bundle.dir + "/missing.sock", id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("failed to dial"), r.stderr)
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before)
        XCTAssertNil(rt.stateJSON(id))
    }
}
