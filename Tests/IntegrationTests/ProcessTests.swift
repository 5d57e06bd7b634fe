// The container process's attributes: user/groups, umask, rlimits, cwd, env, PATH lookup,
// oom_score_adj.
import XCTest
import Glibc
import CorralSpec

final class ProcessTests: IsolationTestCase {
    func testUserGroupAndAdditionalGids() throws {
        bundle.setProcess("user", ["uid": 1001, "gid": 1001, "additionalGids": [10, 20]])
        guard let out = runScript("""
            echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G)
            grep -E '^(Uid|Gid|Groups):' /proc/self/status
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["uid"], "1001", out)
        XCTAssertEqual(kv["gid"], "1001", out)
        XCTAssertEqual(Set((kv["groups"] ?? "").split(separator: " ").map(String.init)), ["1001", "10", "20"], out)
        let status = Dictionary(out.nonEmptyLines.compactMap { l -> (String, String)? in
            guard let c = l.firstIndex(of: ":"), !l.contains("=") else { return nil }
            return (String(l[..<c]), squeezeSpaces(String(l[l.index(after: c)...])))
        }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(status["Uid"], "1001 1001 1001 1001", out)
        XCTAssertEqual(status["Gid"], "1001 1001 1001 1001", out)
        XCTAssertEqual(status["Groups"], "10 20", "supplementary groups must be exactly additionalGids: \(out)")
    }

    /// Without additionalGids root has no supplementary groups (the host's are not inherited).
    func testNoAdditionalGidsMeansNoSupplementaryGroups() throws {
        guard let out = runScript("grep '^Groups:' /proc/self/status") else { return }
        XCTAssertEqual(squeezeSpaces(out), "Groups:", out)
    }

    func testUmask() throws {
        bundle.addTmpfsTmp()
        bundle.config["process"]?["user"]?["umask"] = 0o077
        guard let out = runScript("echo umask=$(umask); touch /tmp/f; echo mode=$(stat -c %a /tmp/f)") else { return }
        XCTAssertEqual(keyValueLines(out)["umask"], "0077", out)
        XCTAssertEqual(keyValueLines(out)["mode"], "600", out)
    }

    /// Absent umask: runc applies 0022.
    func testDefaultUmaskIs0022() throws {
        bundle.addTmpfsTmp()
        XCTAssertNil(bundle.config["process"]?["user"]?["umask"])
        guard let out = runScript("echo umask=$(umask); touch /tmp/f; echo mode=$(stat -c %a /tmp/f)") else { return }
        XCTAssertEqual(keyValueLines(out)["umask"], "0022", out)
        XCTAssertEqual(keyValueLines(out)["mode"], "644", out)
    }

    /// Soft/hard exactly as configured (hard stays below the host's 20000: no CAP_SYS_RESOURCE here).
    func testRlimits() throws {
        bundle.setProcess("rlimits", [
            ["type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048],
            ["type": "RLIMIT_CORE", "soft": 0, "hard": 0],
        ])
        guard let out = runScript("""
            echo soft=$(ulimit -n); echo hard=$(ulimit -Hn)
            grep -E '^Max (open files|core file size)' /proc/self/limits
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["soft"], "1024", out)
        XCTAssertEqual(kv["hard"], "2048", out)
        let limits = Set(out.nonEmptyLines.filter { $0.hasPrefix("Max ") }.map(squeezeSpaces))
        XCTAssertTrue(limits.contains("Max open files 1024 2048 files"), out)
        XCTAssertTrue(limits.contains("Max core file size 0 0 bytes"), out)
    }

    func testCwd() throws {
        bundle.setProcess("cwd", "/tmp")
        guard let out = runArgs(["pwd"]) else { return }
        XCTAssertEqual(out.trimmed, "/tmp")
    }

    /// A cwd that does not exist is created (runc does so, even with a read-only root).
    func testMissingCwdIsCreated() throws {
        let cwd = "/work/deep/\(randomHex(6))"
        XCTAssertFalse(pathExists(bundle.rootfs + cwd))
        bundle.setProcess("cwd", .string(cwd))
        guard let out = runArgs(["pwd"]) else { return }
        XCTAssertEqual(out.trimmed, cwd)
        XCTAssertTrue(isDirectory(bundle.rootfs + cwd), "cwd not created in the rootfs")
    }

    /// The environment is exactly process.env, plus HOME when absent (runc takes it from the
    /// container's /etc/passwd entry of the user, "/" if the user has none).
    func testEnvIsExactlyConfigPlusHome() throws {
        bundle.setProcess("env", ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="])
        guard let out = runArgs(["env"]) else { return }
        XCTAssertEqual(out.nonEmptyLines.sorted(), ["EMPTY=", "FOO=bar baz", "HOME=/root", "PATH=/bin:/usr/bin"])
    }

    func testEnvHomeIsNotOverridden() throws {
        bundle.setProcess("env", ["PATH=/usr/bin:/bin", "HOME=/custom"])
        guard let out = runArgs(["env"]) else { return }
        XCTAssertEqual(out.nonEmptyLines.sorted(), ["HOME=/custom", "PATH=/usr/bin:/bin"])
    }

    func testEnvHomeFollowsTheUser() throws {
        bundle.setProcess("env", ["PATH=/usr/bin:/bin"])
        bundle.setProcess("user", ["uid": 1001, "gid": 1001])
        guard let agent = runArgs(["env"]) else { return }
        XCTAssertEqual(agent.nonEmptyLines.sorted(), ["HOME=/home/agent", "PATH=/usr/bin:/bin"])
        bundle.setProcess("user", ["uid": 4242, "gid": 4242])  // not in /etc/passwd
        guard let unknown = runArgs(["env"]) else { return }
        XCTAssertEqual(unknown.nonEmptyLines.sorted(), ["HOME=/", "PATH=/usr/bin:/bin"])
    }

    /// args[0] without a slash is looked up in the container's PATH from process.env.
    func testArgsPathLookup() throws {
        bundle.setProcess("env", ["PATH=/nonexistent:/bin"])
        guard let out = runArgs(["sh", "-c", "echo hi"]) else { return }
        XCTAssertEqual(out, "hi\n")
    }

    /// No PATH in process.env: a bare command name cannot be found and the run fails, naming it.
    func testArgsWithoutPathInEnvFail() throws {
        bundle.setProcess("env", ["FOO=bar"])
        bundle.setArgs(["sh", "-c", "echo hi"])
        let r = runtime.run(bundle)
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertFalse(r.stdout.contains("hi"), "\(r)")
        XCTAssertTrue(r.stderr.contains("executable file not found"), "runc's wording: \(r)")
    }

    func testMissingExecutableFailsNamingIt() throws {
        bundle.setArgs(["no-such-binary-\(randomHex(4))"])
        let name = bundle.config["process"]?["args"]?[0]?.stringValue ?? ""
        let r = runtime.run(bundle)
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains(name), "error should name \(name): \(r)")
        XCTAssertTrue(r.stderr.contains("executable file not found"), "\(r)")
    }

    func testOomScoreAdjIsSet() throws {
        bundle.setProcess("oomScoreAdj", 100)
        guard let out = runArgs(["cat", "/proc/self/oom_score_adj"]) else { return }
        XCTAssertEqual(out.trimmed, "100")
    }

    /// Absent oomScoreAdj: the value is inherited from the caller, untouched. The caller raises its
    /// own value to 7 first (raising needs no privilege), so "untouched" is distinguishable from 0.
    func testOomScoreAdjAbsentIsInherited() throws {
        XCTAssertNil(bundle.config["process"]?["oomScoreAdj"])
        bundle.setArgs(["cat", "/proc/self/oom_score_adj"])
        let r = runWrapped(bundle, prelude: "echo 7 > /proc/self/oom_score_adj")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "7", "\(r)")
    }

    func testAHostDevNullStdinIsReplacedByTheContainersOwn() throws {
        // runc's reOpenDevNull: the harness gives create the host's /dev/null as stdin (as engines do for a
        // detached container); the init then holds the container's /dev/null, a file of one of its own mounts
        // (criu cannot checkpoint a file on a mount the container does not have).
        bundle.setShell("sleep 30")
        let pid = try startDetached(bundle, id: runtime.id("devnull"))
        XCTAssertEqual(readLink("/proc/\(pid)/fd/0"), "/dev/null")
        let fdinfo = readFile("/proc/\(pid)/fdinfo/0") ?? ""
        let mnt = fdinfo.nonEmptyLines.first { $0.hasPrefix("mnt_id:") }?.split(separator: "\t").last.map(String.init)
        let mounts = (readFile("/proc/\(pid)/mountinfo") ?? "").nonEmptyLines.compactMap { $0.split(separator: " ").first.map(String.init) }
        XCTAssertTrue(mnt.map { mounts.contains($0) } ?? false, "fd 0 is on one of the container's mounts: \(fdinfo)")
    }
}
