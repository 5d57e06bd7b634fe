// The details engines break on when a runtime gets them wrong (../shared/reference/engines.md), driven with the
// argv the engines really use: `--version`'s layout, silence on success (the shim reads combined output; podman's
// `start` writes to the user's terminal), podman's `--log-format=json --log F` and the shim's
// `--log F --log-format json` with every record JSON and the error also on stderr, pid files of bare digits, the
// default root when no --root is given (podman), a root directory that does not exist yet, a `-t` container under
// Docker's device list (runc's default device rules add /dev/ptmx and /dev/pts/*), the pty master's payload, and the
// shim's kill/delete sequence on a container that already exited. All pass against runc too.
import XCTest
import Glibc
import CorralSpec

final class EngineContractTests: RuntimeTestCase {

    func testVersionLayout() throws {
        let r = rt.callRaw(["--version"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stderr, "")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // go-runc's parseVersion: line 1 "<name> version X", then "commit: X" and "spec: X" (runc's order; runc's
        // version.bats checks lines 2 and 3).
        let prefix = "\(RuntimeUnderTest.name) version "
        XCTAssertTrue(lines[0].hasPrefix(prefix) && lines[0].count > prefix.count, r.stdout)
        XCTAssertFalse(lines[0].dropFirst(prefix.count).contains(" "), "the version is one word: \(lines[0])")
        XCTAssertTrue(r.stdout.hasSuffix("\n"), r.stdout)
        XCTAssertTrue(lines.count > 2 && lines[1].hasPrefix("commit: ") && lines[1].count > 8, "line 2 is the commit: \(r.stdout)")
        XCTAssertTrue(lines.count > 2 && lines[2].hasPrefix("spec: 1."), "line 3 is the spec version: \(r.stdout)")
    }

    /// create, start, pause, resume, update, kill, delete: nothing on stdout or stderr when they succeed, with the
    /// log on stderr (no --log) and with podman's JSON log file.
    func testSuccessfulVerbsPrintNothing() throws {
        bundle.setShell("exec sleep 30")
        try bundle.writeConfig()
        let log = bundle.dir + "/oci-log"
        for globals in [[], ["--log-format=json", "--log", log]] {
            let id = rt.id("quiet")
            let steps: [[String]] = [
                ["create", "--bundle", bundle.dir, "--pid-file", bundle.dir + "/\(id).pid", id],
                ["start", id], ["pause", id], ["resume", id], ["update", "--pids-limit", "40", id],
                ["kill", id, "9"],
            ]
            for args in steps {
                let r = rt.call(globals + args)
                XCTAssertEqual(r.status, 0, "\(globals) \(args): \(r)")
                XCTAssertEqual(r.stdout, "", "\(globals) \(args): stdout")
                XCTAssertEqual(r.stderr, "", "\(globals) \(args): stderr")
            }
            XCTAssertTrue(rt.waitForStatus(id, "stopped"))
            let d = rt.call(globals + ["delete", id])
            XCTAssertEqual(d.status, 0, "\(d)")
            XCTAssertEqual(d.stdout + d.stderr, "", "delete")
        }
        for line in (readFile(log) ?? "").nonEmptyLines {
            XCTAssertNotEqual((try? JSONValue.parse(line))?["level"]?.stringValue, "error", "no error record on success: \(line)")
        }
    }

    /// podman (conmon) and the containerd shim argv, on success and on failure.
    func testEngineArgvLogAndPidFile() throws {
        bundle.setShell("exec sleep 30")
        try bundle.writeConfig()
        let podmanLog = bundle.dir + "/oci-log", shimLog = bundle.dir + "/log.json"
        let forms: [(String, [String])] = [("podman", ["--log-format=json", "--log", podmanLog]),
                                           ("shim", ["--log", shimLog, "--log-format", "json"])]
        for (engine, globals) in forms {
            let id = rt.id(engine)
            let pidFile = bundle.dir + "/\(engine).pid"
            let ok = rt.call(globals + ["create", "--bundle", bundle.dir, "--pid-file", pidFile, id])
            XCTAssertEqual(ok.status, 0, "\(engine): \(ok)")
            XCTAssertEqual(ok.stdout + ok.stderr, "", "\(engine): create prints nothing")
            let pid = try XCTUnwrap(readFile(pidFile), "\(engine): pid file written")
            XCTAssertTrue(!pid.isEmpty && pid.allSatisfy { $0.isASCII && $0.isNumber }, "bare digits, no newline: \(pid.debugDescription)")
            XCTAssertEqual(Int64(pid), rt.stateJSON(id)?["pid"]?.int64Value)
            rt("delete", "--force", id)
        }
        // Failing create: a missing rootfs.
        bundle.config["root"]?["path"] = "no-such-rootfs"
        try bundle.writeConfig()
        for (engine, globals) in forms {
            let pidFile = bundle.dir + "/\(engine)-fail.pid"
            let r = rt.call(globals + ["create", "--bundle", bundle.dir, "--pid-file", pidFile, rt.id(engine)])
            XCTAssertEqual(r.status, 1, "\(engine): \(r)")
            XCTAssertEqual(r.stdout, "")
            XCTAssertFalse(pathExists(pidFile), "\(engine): no pid file for a failed create")
            let log = engine == "podman" ? podmanLog : shimLog
            let lines = try XCTUnwrap(readFile(log), "\(engine): log file").nonEmptyLines
            var lastError: String?
            for line in lines {
                let obj = try XCTUnwrap((try? JSONValue.parse(line))?.objectValue, "\(engine): every line is JSON: \(line)")
                XCTAssertTrue(isRFC3339(obj["time"]?.stringValue ?? ""), "\(engine): RFC 3339 time: \(line)")
                XCTAssertNotNil(obj["msg"]?.stringValue, line)
                if obj["level"]?.stringValue == "error" { lastError = obj["msg"]?.stringValue }
            }
            let msg = try XCTUnwrap(lastError, "\(engine): an error record")
            XCTAssertTrue(msg.contains("no such file or directory"), "Go's lowercase errno text: \(msg)")
            XCTAssertTrue(r.stderr.contains(msg), "\(engine): the error is also on stderr: \(r.stderr)")
        }
    }

    /// podman passes no --root: the default root serves the whole lifecycle.
    func testDefaultRootWhenNoneIsPassed() throws {
        let defaultRoot = RuntimeUnderTest.isRunc ? "/run/runc" : "/run/corral"
        let id = "engine-default-root-\(randomHex(8))"
        defer { _ = rt.callRaw(["delete", "--force", id]) }
        bundle.setShell("exec sleep 30")
        try bundle.writeConfig()
        let c = rt.callRaw(["create", "--bundle", bundle.dir, "--pid-file", bundle.dir + "/pidfile", id])
        XCTAssertEqual(c.status, 0, "\(c)")
        XCTAssertTrue(isDirectory(defaultRoot + "/" + id), "state under \(defaultRoot)")
        XCTAssertFalse(pathExists(rt.root + "/" + id))
        // podman's stop after its timeout: kill 9 (sleep as pid 1 ignores SIGTERM).
        for args in [["start", id], ["pause", id], ["resume", id], ["kill", id, "9"]] {
            let r = rt.callRaw(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r)")
            XCTAssertEqual(r.stdout + r.stderr, "", "\(args)")
        }
        XCTAssertTrue(waitUntil(timeout: 10) {
            (try? JSONValue.parse(self.rt.callRaw(["state", id]).stdout))?["status"]?.stringValue == "stopped"
        })
        let d = rt.callRaw(["delete", id])
        XCTAssertEqual(d.status, 0, "\(d)")
        XCTAssertFalse(pathExists(defaultRoot + "/" + id), "delete removed the state")
        let again = rt.callRaw(["delete", "--force", id])
        XCTAssertEqual(again.status, 0, "podman's cleanup deletes once more: \(again)")
    }

    /// The shim's --root may not exist yet (a fresh namespace directory).
    func testRootDirectoryIsCreatedWhenMissing() throws {
        let root = rt.root + "/not/there/yet"
        let id = rt.id("fresh")
        bundle.setShell("exec sleep 30")
        try bundle.writeConfig()
        let c = rt.callRaw(["--root", root, "create", "--bundle", bundle.dir, id])
        XCTAssertEqual(c.status, 0, "\(c)")
        let s = rt.callRaw(["--root", root, "state", id])
        XCTAssertEqual((try? JSONValue.parse(s.stdout))?["status"]?.stringValue, "created", "\(s)")
        let d = rt.callRaw(["--root", root, "delete", "--force", id])
        XCTAssertEqual(d.status, 0, "\(d)")
    }

    /// `docker run -t`: terminal true, Docker's device list (no pts or ptmx entry). runc's default rules, added after
    /// the config's, let the container open /dev/ptmx and its /dev/pts/N; the list's own deny still holds.
    func testTerminalContainerUnderDockersDeviceListOpensPtmxAndPts() throws {
        bundle.setTerminal(true)
        var rules: [JSONValue] = [["allow": false, "access": "rwm"]]
        for minor in [5, 3, 9, 8] {
            rules.append(["allow": true, "type": "c", "major": 1, "minor": .number(String(minor)), "access": "rwm"])
        }
        rules.append(["allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"])
        rules.append(["allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"])
        rules.append(["allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"])
        bundle.config["linux"]?["resources"] = ["devices": .array(rules)]
        let caps: JSONValue = ["CAP_MKNOD"]
        bundle.config["process"]?["capabilities"] = ["bounding": caps, "effective": caps, "permitted": caps]
        bundle.setShell("""
            exec 3<>/dev/ptmx && echo ptmx-opened; exec 3>&-
            echo hello > /dev/pts/0 && echo pts-opened
            mknod /dev/fuse-test c 10 229 && { echo x > /dev/fuse-test; } 2>&1 | sed 's/^/fuse: /'
            echo end
            """)
        let id = rt.id("tty")
        let got = try rt.createWithConsole(bundle, id: id)
        defer { for fd in got.fds { close(fd) } }
        let master = try XCTUnwrap(got.fds.first)
        XCTAssertEqual(rt("start", id).status, 0)
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("end") }
        XCTAssertTrue(out.contains("ptmx-opened"), "/dev/ptmx (c 5:2) is allowed: \(out.debugDescription)")
        XCTAssertTrue(out.contains("pts-opened"), "/dev/pts/0 (c 136:0) is allowed: \(out.debugDescription)")
        XCTAssertTrue(out.contains("fuse: ") && out.contains("Operation not permitted"),
                      "the config's deny of c 10:229 holds: \(out.debugDescription)")
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
    }

    /// The pty master travels with a name as payload (go-runc and conmon take the fd, the name is informational):
    /// runc sends the path it opened the master by ("/dev/ptmx"); corral names the terminal, "/dev/pts/<n>".
    func testPtyMasterArrivesWithItsName() throws {
        bundle.setTerminal(true)
        bundle.setShell("true")
        let id = rt.id("ptyname")
        let got = try rt.createWithConsole(bundle, id: id)
        defer { for fd in got.fds { close(fd) } }
        XCTAssertEqual(got.fds.count, 1)
        let master = try XCTUnwrap(got.fds.first)
        var n: UInt32 = 0
        XCTAssertEqual(ioctl(master, ioctlTIOCGPTN, &n), 0, "a pty master: \(errnoString())")
        XCTAssertEqual(got.payload, RuntimeUnderTest.isRunc ? "/dev/ptmx" : "/dev/pts/\(n)")
    }

    /// What the shim and podman do once the process has exited by itself: stop (kill 15, then 9) says "container not
    /// running", delete succeeds, the second `delete --force` of an id that is gone succeeds too.
    func testExitedContainerKillAndDeleteAsTheEnginesCallThem() throws {
        bundle.setShell("exit 3")
        let id = rt.id("exited")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        for sig in ["15", "9"] {
            let k = rt("kill", id, sig)
            XCTAssertEqual(k.status, 1, "\(k)")
            XCTAssertTrue(k.stderr.contains("container not running"), k.stderr)
            XCTAssertEqual(k.stdout, "")
        }
        let d = rt("delete", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        let f = rt("delete", "--force", id)
        XCTAssertEqual(f.status, 0, "\(f)")
        XCTAssertEqual(f.stdout + f.stderr, "")
        let plain = rt("delete", id)
        XCTAssertEqual(plain.status, 1, "\(plain)")
        XCTAssertTrue(plain.stderr.contains("container does not exist"), plain.stderr)
    }
}
