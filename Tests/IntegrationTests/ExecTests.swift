// `exec`: a new process in a running (or created) container, checked from inside and from the host: output, exit
// codes, every namespace and cgroup equal to the init's, the process attributes of Docker's and podman's process
// JSON, runc's flag form, the state texts, --detach with a pid file and reparenting to the caller's subreaper, a
// console socket, user and joined namespaces, --preserve-fds, --cgroup, and that a failed exec leaves nothing.
// Written to pass against runc 1.1 too (CORRAL_TEST_RUNTIME=/usr/sbin/runc); the time namespace is corral's only.
import XCTest
import Glibc
import CorralSpec

final class ExecTests: IsolationTestCase {
    // MARK: helpers

    /// create + start the bundle (default: the test's) running `sleep 300`; returns its id and init pid.
    private func startSleeper(_ b: TestBundle? = nil, prefix: String = "exec") throws -> (id: String, pid: Int) {
        let target = b ?? bundle!
        target.setArgs(["sleep", "300"])
        let id = runtime.id(prefix)
        return (id, try startDetached(target, id: id))
    }

    /// `exec [extra...] <id> [args...]` in the foreground.
    private func exec(_ id: String, _ args: [String], extra: [String] = [], stdin: [UInt8]? = nil,
                      timeout: Double = 20) -> ProcResult {
        runtime.call(["exec"] + extra + [id] + args, stdin: stdin, timeout: timeout)
    }

    /// Writes a process JSON document into the bundle directory and returns its path.
    private func processFile(_ process: JSONValue, name: String = "process.json") throws -> String {
        let path = bundle.dir + "/" + name
        try writeFile(path, process.serialized())
        return path
    }

    /// One of the recorded engine process documents (shared data), or a skip.
    private func engineProcess(_ name: String) throws -> JSONValue {
        let path = sharedDataDir + "/engines/" + name
        guard let text = readFile(path) else { throw XCTSkip("\(path) is not available") }
        return try JSONValue.parse(text)
    }

    /// `Name:\tvalue` lines of /proc/self/status printed by the container → [Name: value].
    private func statusFields(_ out: String) -> [String: String] {
        var d: [String: String] = [:]
        for line in out.nonEmptyLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            d[String(line[..<colon])] = squeezeSpaces(String(line[line.index(after: colon)...]))
        }
        return d
    }

    /// A detached exec of `args` with a pid file; returns the host pid of the exec'd process.
    private func execDetached(_ id: String, _ args: [String], extra: [String] = [],
                              file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let pidFile = bundle.dir + "/exec-\(randomHex(6)).pid"
        let r = exec(id, args, extra: ["--detach", "--pid-file", pidFile] + extra)
        guard r.status == 0, let text = readFile(pidFile), let pid = Int(text) else {
            XCTFail("detached exec failed: \(r)", file: file, line: line)
            throw HarnessError("detached exec failed")
        }
        runtime.pidsToKill.append(pid)
        return pid
    }

    // MARK: basics

    func testExecPrintsOutputAndReturnsExitCodes() throws {
        let (id, _) = try startSleeper()
        let ok = exec(id, ["sh", "-c", "echo hello from exec"])
        XCTAssertEqual(ok.status, 0, "\(ok)")
        XCTAssertEqual(ok.stdout, "hello from exec\n", "\(ok)")
        XCTAssertEqual(exec(id, ["sh", "-c", "exit 3"]).status, 3)
        XCTAssertEqual(exec(id, ["sh", "-c", "kill -9 $$"]).status, 137, "killed by SIGKILL: 128+9")
        // Options end at the container id: what follows the command belongs to it.
        let args = exec(id, ["sh", "-c", "echo \"$1 $2\"", "sh", "--foo", "-e"])
        XCTAssertEqual(args.stdout, "--foo -e\n", "\(args)")
        // stdin is the caller's.
        let cat = exec(id, ["cat"], stdin: Array("through stdin\n".utf8))
        XCTAssertEqual(cat.stdout, "through stdin\n", "\(cat)")
        XCTAssertEqual(runtime.status(id), "running", "the container is untouched")
    }

    /// Every namespace of the exec'd process is the init's (pid, net, ipc, uts, mnt, cgroup, and time where the
    /// runtime has it); it sees the init's processes, hostname and cgroups.
    func testNamespacesAndCgroupsEqualTheInits() throws {
        var types = ["pid", "network", "ipc", "uts", "mount", "cgroup"]
        if RuntimeUnderTest.isCorral { types.append("time") }   // runc 1.1 has no time namespaces
        bundle.setNamespaces(types)
        let (id, pid) = try startSleeper()
        let r = exec(id, ["sh", "-c", printNamespacesScript + "; echo host=$(hostname); echo self=$$; ps -o pid,args; "
                          + "echo ---; cat /proc/1/cgroup; echo ---; cat /proc/self/cgroup"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let kv = keyValueLines(r.stdout)
        for t in types {
            let n = nsProcName[t]!
            XCTAssertEqual(kv[n], readLink("/proc/\(pid)/ns/\(n)"), "\(n) namespace differs from the init's:\n\(r.stdout)")
        }
        XCTAssertEqual(kv["user"], readLink("/proc/\(pid)/ns/user"))
        XCTAssertEqual(kv["host"], "runc", r.stdout)
        XCTAssertNotEqual(kv["self"], "1", "the init is pid 1, not the exec'd process")
        XCTAssertTrue(r.stdout.contains("sleep 300"), "the init's processes are visible:\n\(r.stdout)")
        // In the cgroup namespace both read the same paths: the exec'd process is in the init's cgroups.
        let lines = r.stdout.nonEmptyLines
        let marks = lines.indices.filter { lines[$0] == "---" }
        XCTAssertEqual(marks.count, 2, r.stdout)
        if marks.count == 2 {
            XCTAssertEqual(Array(lines[(marks[0] + 1)..<marks[1]]), Array(lines[(marks[1] + 1)...]),
                           "cgroups of the init vs the exec'd process")
        }
    }

    /// From the host: the exec'd process is in every cgroup of the init.
    func testCgroupsFromTheHost() throws {
        let (id, pid) = try startSleeper()
        let execPid = try execDetached(id, ["sleep", "60"])
        let mine = readFile("/proc/\(execPid)/cgroup")
        XCTAssertNotNil(mine)
        XCTAssertEqual(mine, readFile("/proc/\(pid)/cgroup"))
        let ps = runtime("ps", "--format", "json", id)
        XCTAssertTrue(ps.stdout.contains(String(execPid)), "ps lists the exec'd process: \(ps)")
    }

    /// In the foreground, signals sent to the runtime reach the exec'd process, and its status comes back.
    func testSignalsAreForwarded() throws {
        let (id, _) = try startSleeper()
        let script = """
            "$0" --root "$1" exec "$2" sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done' &
            child=$!; sleep 1; kill -TERM $child; wait $child; echo rc=$?
            """
        let r = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, id], timeout: 30)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.contains("ready\n"), "\(r)")
        XCTAssertTrue(r.stdout.contains("got-term\n"), "SIGTERM reached the process: \(r)")
        XCTAssertEqual(keyValueLines(r.stdout)["rc"], "7", "\(r)")
    }

    /// --tty in the foreground without a console socket: the runtime relays a pty of the container's devpts.
    /// (runc insists on a controlling terminal of its own for this, /dev/tty, which a test has not got.)
    func testForegroundTerminalIsRelayed() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("runc needs a controlling terminal (/dev/tty) to relay one") }
        let (id, _) = try startSleeper()
        let r = exec(id, ["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; tty"], extra: ["--tty"])
        XCTAssertEqual(r.status, 0, "\(r)")
        // A terminal (test -t), whose ONLCR the relay cleared as runc does: lines come out as written.
        XCTAssertTrue(r.stdout.hasPrefix("on-a-tty\n"), "output went through a terminal: \(r.stdout.debugDescription)")
        XCTAssertFalse(r.stdout.contains("\r"), r.stdout.debugDescription)
        XCTAssertTrue(r.stdout.contains("/dev/pts/"), r.stdout.debugDescription)
    }

    // MARK: process attributes

    /// Docker's process JSON: its capabilities, uid 0 with additionalGids, no NoNewPrivs of its own (so 0 even
    /// though the container has it), the container's seccomp filter and, lacking rlimits, the container's.
    func testDockerProcessJSON() throws {
        var p = try engineProcess("exec-process.docker.json")
        bundle.addTmpfsTmp()
        bundle.setLinux("seccomp", ["defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1]]])
        let (id, _) = try startSleeper()
        p["args"] = JSONValue(["sh", "-c", "grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs|Seccomp):' /proc/self/status; "
                               + "grep 'open files' /proc/self/limits; mkdir /tmp/d 2>/dev/null; echo mkdir=$?; echo HOME=$HOME; pwd"])
        let path = try processFile(p)
        let r = exec(id, [], extra: ["--process", path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let f = statusFields(r.stdout)
        XCTAssertEqual(f["Uid"], "0 0 0 0", r.stdout)
        XCTAssertEqual(f["Gid"], "0 0 0 0", r.stdout)
        XCTAssertEqual(f["Groups"], "0", r.stdout)
        // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD
        // AUDIT_WRITE SETFCAP: Docker's well-known default set.
        XCTAssertEqual(f["CapBnd"], "00000000a80425fb", r.stdout)
        XCTAssertEqual(f["CapEff"], "00000000a80425fb", r.stdout)
        XCTAssertEqual(f["CapPrm"], "00000000a80425fb", r.stdout)
        XCTAssertEqual(f["CapInh"], "0000000000000000", r.stdout)
        XCTAssertEqual(f["CapAmb"], "0000000000000000", r.stdout)
        XCTAssertEqual(f["NoNewPrivs"], "0", r.stdout)
        XCTAssertEqual(f["Seccomp"], "2", "the container's filter applies to exec'd processes: \(r.stdout)")
        XCTAssertEqual(keyValueLines(r.stdout)["mkdir"], "1", r.stdout)
        if RuntimeUnderTest.isCorral {
            // Deliberate difference: runc 1.1.5 leaves the caller's limits on a process without rlimits, although
            // libcontainer's newInitConfig defaults them to the container's; corral applies the container's.
            XCTAssertTrue(r.stdout.contains("Max open files            1024                 1024"),
                          "the container's rlimits when the process has none: \(r.stdout)")
        }
        XCTAssertEqual(keyValueLines(r.stdout)["HOME"], "/root", "HOME from the image's /etc/passwd")
        XCTAssertEqual(r.stdout.nonEmptyLines.last, "/")
    }

    /// podman's process JSON: its rlimits (20000/32768, within this VM's hard limits), env and cwd.
    func testPodmanProcessJSON() throws {
        var nofile = rlimit(), nproc = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &nofile)
        getrlimit(__rlimit_resource_t(6 /* RLIMIT_NPROC */), &nproc)
        if nofile.rlim_max < 20000 || nproc.rlim_max < 32768 {
            throw XCTSkip("the hard limits here (nofile \(nofile.rlim_max), nproc \(nproc.rlim_max)) are below podman's rlimits")
        }
        var p = try engineProcess("exec-process.podman.json")
        let (id, _) = try startSleeper()
        p["args"] = JSONValue(["sh", "-c", "grep -E 'open files|processes' /proc/self/limits; echo container=$container; "
                               + "echo TERM=$TERM; echo HOME=$HOME; echo cwd=$(pwd); grep -E '^Cap(Bnd|Eff)' /proc/self/status"])
        let r = exec(id, [], extra: ["--process", try processFile(p)])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.contains("Max open files            20000                20000"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Max processes             32768                32768"), r.stdout)
        let kv = keyValueLines(r.stdout)
        XCTAssertEqual(kv["container"], "podman", r.stdout)
        XCTAssertEqual(kv["TERM"], "xterm", r.stdout)
        XCTAssertEqual(kv["HOME"], "/root", r.stdout)
        XCTAssertEqual(kv["cwd"], "/", r.stdout)
        XCTAssertEqual(statusFields(r.stdout)["CapBnd"], "00000000a80425fb", r.stdout)
    }

    /// runc's flag form: the container's process with --user, -g, -e, --cwd, --cap applied.
    func testFlagForm() throws {
        let (id, _) = try startSleeper()
        let r = exec(id, ["sh", "-c", "echo uid=$(id -u) gid=$(id -g); echo groups=$(id -G); echo FOO=$FOO; echo TERM=$TERM; "
                          + "echo HOME=$HOME; echo cwd=$(pwd); grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status"],
                     extra: ["--user", "1001:1001", "-g", "5", "-g=7", "-e", "FOO=bar", "--cwd", "/tmp",
                             "--cap", "CAP_NET_RAW"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let kv = keyValueLines(r.stdout)
        XCTAssertTrue(r.stdout.contains("uid=1001 gid=1001"), r.stdout)
        XCTAssertEqual(kv["groups"], "1001 5 7", r.stdout)
        XCTAssertEqual(kv["FOO"], "bar", r.stdout)
        XCTAssertEqual(kv["TERM"], "xterm", "the config's env stays: \(r.stdout)")
        XCTAssertEqual(kv["HOME"], "/home/agent", "HOME of uid 1001 from the image's /etc/passwd")
        XCTAssertEqual(kv["cwd"], "/tmp", r.stdout)
        // The default config bounds AUDIT_WRITE, KILL, NET_BIND_SERVICE; --cap adds NET_RAW (bit 13).
        XCTAssertEqual(statusFields(r.stdout)["CapBnd"], "0000000020002420", r.stdout)
        XCTAssertEqual(statusFields(r.stdout)["NoNewPrivs"], "1", "the config's noNewPrivileges: \(r.stdout)")
    }

    /// --preserve-fds N hands the caller's fds 3.. on; without it they are closed.
    func testPreserveFDs() throws {
        let (id, _) = try startSleeper()
        let marker = bundle.dir + "/marker"
        try writeFile(marker, "preserved-fd-content\n")
        let script = "exec 3<\"$3\"; exec \"$0\" --root \"$1\" exec \"$4\" \"$2\" sh -c 'cat <&3 && ls /proc/self/fd'"
        let with = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, id, marker, "--preserve-fds=1"])
        XCTAssertEqual(with.status, 0, "\(with)")
        XCTAssertTrue(with.stdout.hasPrefix("preserved-fd-content\n"), "\(with)")
        let without = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, id, marker, "--cwd=/"])
        XCTAssertNotEqual(without.status, 0, "fd 3 must not reach the process: \(without)")
        XCTAssertFalse(without.stdout.contains("preserved-fd-content"), "\(without)")
        // fds the caller does not have cannot be preserved (runc's check and text).
        let missing = exec(id, ["true"], extra: ["--preserve-fds", "5"])
        XCTAssertEqual(missing.status, 255, "\(missing)")
        XCTAssertTrue(missing.stderr.contains("unable to stat preserved-fd ") && missing.stderr.contains(" (of 5): "), missing.stderr)
    }

    // MARK: failures

    /// A missing binary: runc's exit status 255 and Go's wording (Docker maps it to 127); nothing is left behind.
    func testMissingBinaryFailsCleanly() throws {
        let (id, _) = try startSleeper()
        let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        let r = exec(id, ["no-such-binary"])
        XCTAssertEqual(r.status, 255, "\(r)")
        XCTAssertTrue(r.stderr.contains("exec failed: "), r.stderr)
        // (stderr is a logfmt record: the quotes inside the message come escaped)
        XCTAssertTrue(r.stderr.contains("no-such-binary") && r.stderr.contains("executable file not found in $PATH"), r.stderr)
        let abs = exec(id, ["/no/such/path"])
        XCTAssertEqual(abs.status, 255, "\(abs)")
        XCTAssertTrue(abs.stderr.contains("stat /no/such/path: no such file or directory"), abs.stderr)
        let cwd = exec(id, ["true"], extra: ["--cwd", "/nonexistent"])
        XCTAssertEqual(cwd.status, 255, "\(cwd)")
        XCTAssertTrue(cwd.stderr.contains("chdir to cwd") && cwd.stderr.contains("/nonexistent")
                      && cwd.stderr.contains("set in config.json failed: no such file or directory"), cwd.stderr)
        let pidFile = bundle.dir + "/failed.pid"
        let detached = exec(id, ["no-such-binary"], extra: ["--detach", "--pid-file", pidFile])
        XCTAssertEqual(detached.status, 255, "\(detached)")
        XCTAssertFalse(pathExists(pidFile), "a failed exec writes no pid file")
        XCTAssertEqual(before, HostSnapshot.take(root: runtime.root, bundle: bundle.dir), "a failed exec left something behind")
        let ps = runtime("ps", "--format", "json", id)
        XCTAssertEqual(ps.stdout.trimmed.split(separator: ",").count, 1, "only the init is in the cgroup: \(ps)")
        XCTAssertEqual(runtime.status(id), "running")
    }

    func testStateChecks() throws {
        let none = exec("no-such-container-\(randomHex(6))", ["true"])
        XCTAssertEqual(none.status, 255, "\(none)")
        XCTAssertTrue(none.stderr.contains("container does not exist"), none.stderr)

        // created: allowed (the init is parked, its namespaces exist).
        bundle.setArgs(["sleep", "300"])
        let id = runtime.id("exec")
        XCTAssertEqual(runtime.create(bundle, id: id).status, 0)
        let created = exec(id, ["sh", "-c", "echo in-created"])
        XCTAssertEqual(created.status, 0, "\(created)")
        XCTAssertEqual(created.stdout, "in-created\n")
        XCTAssertEqual(runtime.status(id), "created", "exec does not start the container")
        let noArgs = exec(id, [])
        XCTAssertEqual(noArgs.status, 255, "\(noArgs)")
        XCTAssertTrue(noArgs.stderr.contains("process args cannot be empty"), noArgs.stderr)

        XCTAssertEqual(runtime("start", id).status, 0)
        XCTAssertEqual(runtime("pause", id).status, 0)
        let paused = exec(id, ["true"])
        XCTAssertEqual(paused.status, 255, "\(paused)")
        XCTAssertTrue(paused.stderr.contains("cannot exec in a paused container (use --ignore-paused to override)"), paused.stderr)
        // --ignore-paused: the process starts once the container is resumed (here a second later).
        let script = "(sleep 1; \"$0\" --root \"$1\" resume \"$2\") & exec \"$0\" --root \"$1\" exec --ignore-paused \"$2\" echo after-resume"
        let ignored = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, id], timeout: 30)
        XCTAssertEqual(ignored.status, 0, "\(ignored)")
        XCTAssertEqual(ignored.stdout, "after-resume\n", "\(ignored)")
        XCTAssertTrue(runtime.waitForStatus(id, "running"))

        XCTAssertEqual(runtime("kill", id, "KILL").status, 0)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        let stopped = exec(id, ["true"])
        XCTAssertEqual(stopped.status, 255, "\(stopped)")
        XCTAssertTrue(stopped.stderr.contains("cannot exec in a stopped container"), stopped.stderr)
    }

    /// runc's checkTerminal texts (corral names itself where runc does).
    func testTerminalAndConsoleSocketChecks() throws {
        let (id, _) = try startSleeper()
        let detachedTTY = exec(id, ["true"], extra: ["--detach", "--tty"])
        XCTAssertEqual(detachedTTY.status, 255)
        XCTAssertTrue(detachedTTY.stderr.contains("cannot allocate tty if \(RuntimeUnderTest.name) will detach without setting console socket"),
                      detachedTTY.stderr)
        let sock = try ConsoleSocket(path: bundle.dir + "/unused.sock")
        defer { sock.close() }
        for extra in [["--console-socket", sock.path], ["--console-socket", sock.path, "--detach"]] {
            let r = exec(id, ["true"], extra: extra)
            XCTAssertEqual(r.status, 255, "\(extra): \(r)")
            XCTAssertTrue(r.stderr.contains("cannot use console socket if \(RuntimeUnderTest.name) will not detach or allocate tty"), r.stderr)
        }
    }

    /// The container is running untrusted code when exec reads its /etc/passwd: a FIFO planted there must not hang
    /// the runtime (runc 1.1.5 blocks on it for good); the lookup is skipped and HOME falls back to "/".
    func testFifoAsEtcPasswdDoesNotHangExec() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("runc 1.1.5 blocks forever opening a FIFO /etc/passwd") }
        bundle.setRootReadonly(false)
        let (id, _) = try startSleeper()
        let plant = exec(id, ["sh", "-c", "rm /etc/passwd && mkfifo /etc/passwd"])
        XCTAssertEqual(plant.status, 0, "\(plant)")
        let r = exec(id, ["sh", "-c", "echo HOME=$HOME"], extra: ["--user", "1001"], timeout: 10)
        XCTAssertFalse(r.timedOut, "exec hung on the FIFO")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(keyValueLines(r.stdout)["HOME"], "/", "\(r)")
    }

    // MARK: detach, console

    /// --detach: bare digits in the pid file, the process alive after the runtime exited, and re-parented to the
    /// caller (a child subreaper, as containerd's shim and conmon are): we can reap it ourselves.
    func testDetachedProcessIsReparentedToTheCallersSubreaper() throws {
        let (id, _) = try startSleeper()
        let pidFile = bundle.dir + "/exec.pid"
        XCTAssertTrue(setChildSubreaper(true), "prctl(PR_SET_CHILD_SUBREAPER): \(errnoString())")
        let r = exec(id, ["sleep", "60"], extra: ["--detach", "--pid-file", pidFile])
        _ = setChildSubreaper(false)   // only what was orphaned meanwhile comes to us
        XCTAssertEqual(r.status, 0, "\(r)")
        let text = try XCTUnwrap(readFile(pidFile))
        XCTAssertTrue(!text.isEmpty && text.allSatisfy { $0.isNumber }, "bare digits, no newline: \(text.debugDescription)")
        let pid = try XCTUnwrap(Int(text))
        runtime.pidsToKill.append(pid)
        XCTAssertTrue(processIsAlive(pid))
        XCTAssertEqual(procStatusField(pid, "PPid"), ["\(getpid())"], "the exec'd process is the subreaper's child")
        XCTAssertTrue(processCmdline(pid)?.hasPrefix("sleep 60") == true, processCmdline(pid) ?? "")
        XCTAssertEqual(kill(pid_t(pid), SIGKILL), 0)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid_t(pid), &status, 0), pid_t(pid), "we can reap it: it is our child")
        XCTAssertEqual(status & 0x7f, SIGKILL)
    }

    /// Docker's form with a terminal: the process JSON says terminal, the pty master arrives on the console
    /// socket (exactly one fd, named /dev/pts/N as the process sees it) and stdio is that terminal.
    func testConsoleSocketGetsThePtyMaster() throws {
        let (id, _) = try startSleeper()
        var p = try engineProcess("exec-process.docker.json")
        p["terminal"] = true
        p["consoleSize"] = ["height": 33, "width": 99]
        p["args"] = ["sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2 && echo stdio-is-tty; stty size; read x; echo got:$x"]
        let sock = try ConsoleSocket(path: bundle.dir + "/exec-console.sock")
        defer { sock.close() }
        let pidFile = bundle.dir + "/tty.pid"
        let r = exec(id, [], extra: ["--process", try processFile(p), "--console-socket", sock.path, "--detach",
                                     "--pid-file", pidFile])
        XCTAssertEqual(r.status, 0, "\(r)")
        if let pid = readFile(pidFile).flatMap({ Int($0) }) { runtime.pidsToKill.append(pid) }
        let got = try sock.receive()
        defer { for fd in got.fds { close(fd) } }
        XCTAssertEqual(got.fds.count, 1, "exactly one fd via SCM_RIGHTS")
        let master = try XCTUnwrap(got.fds.first)
        _ = Array("hi\n".utf8).withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("got:hi") }
        if RuntimeUnderTest.isCorral {
            // corral names the pty as the process sees it; runc sends the master's own path, "/dev/ptmx" (go-runc
            // ignores the name either way).
            XCTAssertTrue(got.payload.hasPrefix("/dev/pts/") && Int(got.payload.dropFirst(9)) != nil, got.payload.debugDescription)
            XCTAssertTrue(out.contains(got.payload + "\r\n"), "tty names the pty that was sent: \(out.debugDescription)")
        } else {
            XCTAssertFalse(got.payload.isEmpty)
            XCTAssertTrue(out.contains("/dev/pts/"), out.debugDescription)
        }
        XCTAssertTrue(out.contains("stdio-is-tty"), out.debugDescription)
        XCTAssertTrue(out.contains("33 99"), "consoleSize applies: \(out.debugDescription)")
        XCTAssertTrue(out.contains("got:hi"), out.debugDescription)
    }

    // MARK: user and joined namespaces

    func testUserNamespaceContainer() throws {
        let hostBase = 100000
        let chown = runCommand(["chown", "-R", "\(hostBase):\(hostBase)", bundle.rootfs], timeout: 60)
        guard chown.status == 0 else { throw XCTSkip("cannot chown the rootfs: \(chown.stderr)") }
        bundle.addUserNamespace(hostID: hostBase, size: 65536)
        let (id, pid) = try startSleeper()
        let r = exec(id, ["sh", "-c", printNamespacesScript + "; echo uid=$(id -u); echo map=$(cat /proc/self/uid_map)"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let kv = keyValueLines(r.stdout)
        for n in ["user", "mnt", "pid", "net", "ipc", "uts"] {
            XCTAssertEqual(kv[n], readLink("/proc/\(pid)/ns/\(n)"), "\(n):\n\(r.stdout)")
        }
        XCTAssertNotEqual(kv["user"], hostNamespace("user"))
        XCTAssertEqual(kv["uid"], "0", r.stdout)
        XCTAssertEqual(kv["map"].map(squeezeSpaces), "0 100000 65536", r.stdout)
        let execPid = try execDetached(id, ["sleep", "60"])
        XCTAssertEqual(procStatusField(execPid, "Uid"), Array(repeating: "\(hostBase)", count: 4), "root inside is 100000 outside")
    }

    /// A container that joined another one's ipc/uts/net namespaces by path: exec reaches the same ones.
    func testContainerWithJoinedNamespaces() throws {
        let (_, firstPid) = try startSleeper(prefix: "first")
        let second = try makeExtraBundle()
        second.setTop("hostname", nil)
        var paths: [String: String] = [:]
        for t in ["ipc", "uts", "network"] { paths[t] = "/proc/\(firstPid)/ns/\(nsProcName[t]!)" }
        second.setNamespaces(["pid", "network", "ipc", "uts", "mount"], paths: paths)
        let (id, pid) = try startSleeper(second, prefix: "second")
        let r = exec(id, ["sh", "-c", printNamespacesScript])
        XCTAssertEqual(r.status, 0, "\(r)")
        let kv = keyValueLines(r.stdout)
        for n in ["ipc", "uts", "net"] {
            XCTAssertEqual(kv[n], readLink("/proc/\(firstPid)/ns/\(n)"), "\(n) is the first container's:\n\(r.stdout)")
        }
        for n in ["pid", "mnt"] {
            XCTAssertEqual(kv[n], readLink("/proc/\(pid)/ns/\(n)"), "\(n) is the second container's own:\n\(r.stdout)")
            XCTAssertNotEqual(kv[n], readLink("/proc/\(firstPid)/ns/\(n)"), n)
        }
    }

    // MARK: --cgroup

    /// --cgroup memory:<sub> puts the process in an existing sub-cgroup of the container's memory cgroup only.
    func testSubCgroup() throws {
        let (id, pid) = try startSleeper()
        guard let line = readFile("/proc/\(pid)/cgroup")?.nonEmptyLines.first(where: { $0.contains(":memory:") }),
              let path = line.split(separator: ":", maxSplits: 2).last.map(String.init),
              isDirectory("/sys/fs/cgroup/memory" + path) else {
            throw XCTSkip("no v1 memory hierarchy here")
        }
        let sub = "/sys/fs/cgroup/memory" + path + "/exec-sub"
        XCTAssertEqual(mkdir(sub, 0o755), 0, errnoString())
        defer { rmdir(sub) }
        let r = exec(id, ["cat", "/proc/self/cgroup"], extra: ["--cgroup", "memory:exec-sub"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let mine = r.stdout.nonEmptyLines
        XCTAssertTrue(mine.contains(where: { $0.hasSuffix(":memory:" + path + "/exec-sub") }), r.stdout)
        let others = { (lines: [String]) in lines.filter { !$0.contains(":memory:") } }
        XCTAssertEqual(others(mine), others(readFile("/proc/\(pid)/cgroup")?.nonEmptyLines ?? []), "other hierarchies unchanged")
        let escape = exec(id, ["true"], extra: ["--cgroup", "memory:../.."])
        XCTAssertNotEqual(escape.status, 0, "a path above the container's cgroup is refused: \(escape)")
    }

    // MARK: seccomp notify

    /// SCMP_ACT_NOTIFY in the container's profile: the exec'd process's listener goes to listenerPath too, with
    /// the container's status and the exec'd process's pid.
    func testSeccompListenerOfTheExecdProcess() throws {
        let sockDir = try makeHostDir("notify")
        let agent = try ConsoleSocket(path: sockDir + "/agent.sock")
        defer { agent.close() }
        bundle.setLinux("seccomp", ["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": .string(agent.path),
                                    "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]]])
        bundle.setArgs(["sleep", "300"])
        let id = runtime.id("exec")
        XCTAssertEqual(runtime.create(bundle, id: id).status, 0)
        let initListener = try agent.receive()
        for fd in initListener.fds { close(fd) }
        XCTAssertEqual(runtime("start", id).status, 0)
        let execPid = try execDetached(id, ["sleep", "60"])
        let got = try agent.receive()
        defer { for fd in got.fds { close(fd) } }
        XCTAssertEqual(got.fds.count, 1, "the exec'd process's listener")
        let state = try JSONValue.parse(got.payload)
        XCTAssertEqual(state["pid"]?.int64Value, Int64(execPid), got.payload)
        XCTAssertEqual(state["state"]?["id"]?.stringValue, id, got.payload)
        XCTAssertEqual(state["state"]?["status"]?.stringValue, "running", got.payload)
    }
}

/// prctl(PR_SET_CHILD_SUBREAPER) for the test process (prctl is variadic, so Swift reaches it through dlsym; with
/// integer arguments the call is the same on Linux's ABIs).
@discardableResult
func setChildSubreaper(_ on: Bool) -> Bool {
    typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "prctl") else { return false }
    let prctl = unsafeBitCast(sym, to: Prctl.self)
    return prctl(36 /* PR_SET_CHILD_SUBREAPER */, on ? 1 : 0, 0, 0, 0) == 0
}
