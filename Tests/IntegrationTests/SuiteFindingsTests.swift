// What a second run of the public OCI suites (runtime-tools, runc's bats 1.1.5 and main, crun's tests) found
// corral doing differently from runc main and crun: each case fails on the old behaviour. Where runc 1.1.5 (the
// runc this host has) differs from runc main, the test says so and skips under it.
import XCTest
import Glibc
import CorralSpec

final class SuiteFindingsTests: RuntimeTestCase {

    /// Runs `command` (a shell line) with a fresh pseudo-terminal as its controlling terminal, through script(1), as
    /// the bats suites run the runtime (runc's relay needs a terminal of the caller's, /dev/tty at least).
    private func underATerminal(_ command: String, timeout: Double = 30) throws -> ProcResult {
        guard access("/usr/bin/script", X_OK) == 0 else { throw XCTSkip("script(1) from util-linux is not installed") }
        return runCommand(["/usr/bin/script", "-qec", command, "/dev/null"], timeout: timeout)
    }

    /// runc's relay clears ONLCR on the pty (console.ClearONLCR): what a foreground `run -t` or `exec -t` relays
    /// ends lines in "\n", as the process wrote them, not in the terminal's "\r\n".
    func testTheTerminalRelayPassesNewlinesUnchanged() throws {
        bundle.setTerminal(true)
        bundle.setShell("echo one; echo two")
        try bundle.writeConfig()
        let out = bundle.dir + "/run.out"
        let r = try underATerminal("\(RuntimeUnderTest.path) --root \(rt.root) run --bundle \(bundle.dir) \(rt.id("onlcr")) < /dev/null > \(out)")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(readFile(out), "one\ntwo\n")

        bundle.setTerminal(false)
        bundle.setArgs(["sleep", "60"])
        let id = rt.id("onlcrx")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        let execOut = bundle.dir + "/exec.out"
        // The pause lets runc's relay, which clears ONLCR from its own goroutine, get there first.
        let e = try underATerminal("\(RuntimeUnderTest.path) --root \(rt.root) exec -t \(id) sh -c 'sleep 1; echo a; echo b' < /dev/null > \(execOut)")
        XCTAssertEqual(e.status, 0, "\(e)")
        XCTAssertEqual(readFile(execOut), "a\nb\n")
    }

    /// An id map is not a process identity: the full map (crun's userns-full-mapping) is valid.
    func testTheFullIDMapIsAccepted() throws {
        bundle.addNamespace("user")
        let full: JSONValue = [["containerID": 0, "hostID": 0, "size": 4294967295]]
        bundle.config["linux"]?["uidMappings"] = full
        bundle.config["linux"]?["gidMappings"] = full
        bundle.setShell("cat /proc/self/uid_map /proc/self/gid_map")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines.map(squeezeSpaces), ["0 0 4294967295", "0 0 4294967295"])
    }

    /// runc's prepareEnv: an empty HOME (the last of its entries) is replaced by the user's home.
    func testAnEmptyHomeIsTheUsersHome() throws {
        for env: JSONValue in [["PATH=/bin", "HOME="], ["PATH=/bin", "HOME=/override", "HOME="]] {
            bundle.config["process"]?["env"] = env
            bundle.setShell("echo \"HOME=$HOME\"")
            let r = rt.run(bundle)
            XCTAssertEqual(r.status, 0, "\(r)")
            XCTAssertEqual(r.stdout.nonEmptyLines, ["HOME=/root"], "\(env)")
        }
    }

    /// runc main's init gives startContainer hooks without `env` the container process's environment; the
    /// runtime's own environment does not reach them.
    func testStartContainerHooksWithoutEnvGetTheProcessEnvironment() throws {
        let shared = try bundle.addSharedDir(at: "/shared")
        bundle.config["process"]?["env"] = ["PATH=/bin", "FROM_PROCESS=yes"]
        bundle.config["hooks"] = ["startContainer": [["path": "/bin/sh", "args": ["sh", "-c", "env > /shared/hook.env"]]]]
        bundle.setArgs(["/bin/true"])
        try bundle.writeConfig()
        let r = rt.call(["run", "--bundle", bundle.dir, rt.id("hookenv")], env: ["CORRAL_HOOK_PROBE": "runtime"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let env = (readFile(shared + "/hook.env") ?? "").nonEmptyLines
        XCTAssertTrue(env.contains("FROM_PROCESS=yes"), "\(env)")
        XCTAssertFalse(env.contains { $0.hasPrefix("CORRAL_HOOK_PROBE=") }, "\(env)")
    }

    /// runc main's text for an execve that fails after the runtime let go: one line, Go's PathError.
    func testAFailedExecveIsOneLineNamingThePath() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 words it \"exec user process caused\"; runc 1.2 as tested") }
        try writeFile(bundle.rootfs + "/run.sh", "#!/mmnnttbb foo bar\nsh\n", mode: 0o755)
        bundle.setArgs(["/run.sh"])
        let r = rt.run(bundle)
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertEqual((r.stdout + r.stderr).nonEmptyLines, ["exec /run.sh: no such file or directory"])
    }

    /// The working directory is verified (CVE-2024-21626) before a profile loaded without noNewPrivileges can
    /// refuse getcwd (runtime-tools' linux_seccomp blocks it).
    func testAProfileThatRefusesGetcwdStillRuns() throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc verifies the working directory with getcwd after it loaded such a profile and fails")
        }
        bundle.config["process"]?["noNewPrivileges"] = false
        bundle.config["linux"]?["seccomp"] = [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [["names": ["getcwd"], "action": "SCMP_ACT_ERRNO"]],
        ]
        bundle.setShell("echo ran")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "ran")
    }

    /// An unbindable "/" cannot be bound onto itself: it is made unbindable after pivot_root (crun's
    /// mount-propagation-unbindable).
    func testAnUnbindableRootfs() throws {
        bundle.config["linux"]?["rootfsPropagation"] = "unbindable"
        bundle.setShell("cat /proc/self/mountinfo")
        let r = rt.run(bundle)
        if RuntimeUnderTest.isRunc && r.status != 0 {
            throw XCTSkip("runc makes \"/\" unbindable before it binds the rootfs onto itself, which then fails: \(r.stderr.trimmed)")
        }
        XCTAssertEqual(r.status, 0, "\(r)")
        let root = r.stdout.nonEmptyLines.first { $0.split(separator: " ").dropFirst(4).first == "/" }
        XCTAssertTrue(root?.split(separator: " ").contains("unbindable") ?? false, r.stdout)
    }

    /// Time offsets in a container with its own user namespace: the runtime writes them (runc's parent does);
    /// the child's /proc files belong to the host's root, which the new user namespace does not map.
    func testTimeOffsetsWithAUserNamespace() throws {
        let c = runCommand(["chown", "-R", "100000:100000", bundle.rootfs], timeout: 60)
        guard c.status == 0 else { throw XCTSkip("cannot chown the rootfs to 100000: \(c.stderr)") }
        bundle.addUserNamespace()
        bundle.addNamespace("time")
        bundle.config["linux"]?["timeOffsets"] = ["monotonic": ["secs": 7881, "nanosecs": 2245],
                                                   "boottime": ["secs": 1337, "nanosecs": 3141519]]
        bundle.setShell("cat /proc/self/timens_offsets")
        let r = rt.run(bundle)
        if RuntimeUnderTest.isRunc && r.status != 0 {
            throw XCTSkip("runc 1.1.x does not support time namespaces: \(r.stderr.trimmed)")
        }
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(Set(r.stdout.nonEmptyLines.map(squeezeSpaces)), ["monotonic 7881 2245", "boottime 1337 3141519"])
    }

    /// runc main (bats kill.bats "kill KILL [host pidns]"): without a pid namespace of its own a container does not
    /// die with its init, so `kill ID KILL` reaches every process in its cgroup, also once the init is gone.
    func testKillKILLWithoutAPidNamespaceReachesEveryProcess() throws {
        bundle.removeNamespace("pid")
        bundle.setArgs(["sleep", "600"])
        for initGone in [false, true] {
            let id = rt.id(initGone ? "hpidgone" : "hpid")
            XCTAssertEqual(rt.create(bundle, id: id).status, 0)
            XCTAssertEqual(rt("start", id).status, 0)
            let initPid = Int(try XCTUnwrap(rt.stateJSON(id)?["pid"]?.int64Value))
            var pids = [initPid]
            for _ in 0..<3 {
                let pidFile = bundle.dir + "/exec-\(pids.count).pid"
                XCTAssertEqual(rt("exec", "-d", "--pid-file", pidFile, id, "sleep", "600").status, 0)
                pids.append(try XCTUnwrap(Int(readFile(pidFile) ?? "")))
            }
            rt.pidsToKill += pids
            if initGone {
                XCTAssertEqual(Glibc.kill(pid_t(initPid), SIGKILL), 0)
                XCTAssertTrue(waitUntil(timeout: 5) { !processIsAlive(initPid) })
                XCTAssertEqual(rt.status(id), "stopped")
            }
            let k = rt("kill", id, "KILL")
            if RuntimeUnderTest.isRunc && (k.status != 0 || !waitUntil(timeout: 3, { pids.allSatisfy { !processIsAlive($0) } })) {
                throw XCTSkip("runc 1.1.5 signals the init only; runc main reaches every process (\(k.stderr.trimmed))")
            }
            XCTAssertEqual(k.status, 0, "\(k)")
            XCTAssertTrue(waitUntil(timeout: 5) { pids.allSatisfy { !processIsAlive($0) } },
                          "still alive: \(pids.filter { processIsAlive($0) })")
            XCTAssertEqual(rt("delete", "-f", id).status, 0)
        }
    }
}
