// The runc command-line contract: flag spellings, globals before the verb, help/version output,
// error sentinels and exit codes that containerd/CRI-O string-match.
import XCTest
import Glibc
import CorralSpec

final class CLITests: RuntimeTestCase {

    // MARK: flag spellings

    func testRootFlagBothSpellings() throws {
        // --root R and --root=R address the same state directory.
        let id = rt.id("root")
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let c = rt.callRaw(["--root=\(rt.root)", "create", "--bundle=\(bundle.dir)", id])
        XCTAssertEqual(c.status, 0, "\(c)")
        let s1 = rt.callRaw(["--root", rt.root, "state", id])
        XCTAssertEqual(s1.status, 0, "\(s1)")
        XCTAssertEqual((try? JSONValue.parse(s1.stdout))?["id"]?.stringValue, id)
        let s2 = rt.callRaw(["--root=\(rt.root)", "state", id])
        XCTAssertEqual(s2.status, 0, "\(s2)")
        XCTAssertEqual((try? JSONValue.parse(s2.stdout))?["status"]?.stringValue, "created")
        XCTAssertTrue(isDirectory(rt.root + "/" + id), "state lives under the given --root")
    }

    func testBundleFlagSpellings() throws {
        try bundle.writeConfig()
        for spelling in [["--bundle", bundle.dir], ["--bundle=\(bundle.dir)"], ["-b", bundle.dir]] {
            let id = rt.id("b")
            let r = rt.call(["create"] + spelling + [id])
            XCTAssertEqual(r.status, 0, "create \(spelling): \(r)")
            XCTAssertEqual(rt.stateJSON(id)?["bundle"]?.stringValue, bundle.dir, "\(spelling)")
        }
    }

    func testBundleDefaultsToCwd() throws {
        let id = rt.id("cwd")
        try bundle.writeConfig()
        let r = rt.call(["create", id], cwd: bundle.dir)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(rt.stateJSON(id)?["bundle"]?.stringValue, bundle.dir)
    }

    func testLogFormatFlagBothSpellings() throws {
        for spelling in [["--log-format=json"], ["--log-format", "json"]] {
            let r = rt.call(spelling + ["state", "no-such-\(randomHex(6))"])
            XCTAssertEqual(r.status, 1, "\(r)")
            let line = try XCTUnwrap(r.stderr.nonEmptyLines.last)
            let obj = try XCTUnwrap((try? JSONValue.parse(line))?.objectValue, "\(spelling): stderr is JSON: \(r.stderr)")
            XCTAssertEqual(obj["level"]?.stringValue, "error")
            XCTAssertTrue(obj["msg"]?.stringValue?.contains("container does not exist") ?? false, line)
        }
    }

    func testGlobalsBeforeVerbInAnyOrder() throws {
        let logFile = bundle.dir + "/g.log"
        let r = rt.callRaw(["--log-format", "json", "--log", logFile, "--root", rt.root, "state", "missing-x"])
        XCTAssertEqual(r.status, 1, "\(r)")
        let log = try XCTUnwrap(readFile(logFile), "--log file written when given before --root")
        XCTAssertTrue(log.contains("container does not exist"), log)
        // --debug is accepted as a global too.
        let d = rt.call(["--debug", "list", "-q"])
        XCTAssertEqual(d.status, 0, "\(d)")
    }

    // MARK: help and version

    func testHelpForEachVerb() throws {
        for verb in ["create", "start", "run", "state", "list", "kill", "delete", "spec"] {
            let r = rt.call([verb, "--help"])
            XCTAssertEqual(r.status, 0, "\(verb) --help: \(r)")
            let text = r.stdout + r.stderr
            XCTAssertTrue(text.lowercased().contains("usage"), "\(verb) --help prints usage: \(text)")
            XCTAssertTrue(text.contains(verb), "\(verb) --help names the verb")
            let short = rt.call([verb, "-h"])
            XCTAssertEqual(short.status, 0, "\(verb) -h: \(short)")
        }
        let top = rt.callRaw(["--help"])
        XCTAssertEqual(top.status, 0, "\(top)")
        XCTAssertTrue((top.stdout + top.stderr).lowercased().contains("usage"))
        for verb in ["create", "start", "run", "state", "list", "kill", "delete", "spec"] {
            XCTAssertTrue(top.stdout.contains(verb), "top-level help lists \(verb)")
        }
    }

    func testVersion() throws {
        for flag in ["--version", "-v"] {
            let r = rt.callRaw([flag])
            XCTAssertEqual(r.status, 0, "\(r)")
            let lines = r.stdout.nonEmptyLines
            XCTAssertTrue(lines.first?.hasPrefix("\(RuntimeUnderTest.name) version ") ?? false, "\(flag): \(r.stdout)")
            // go-runc parses "<name> version X": there must be a version after the prefix.
            let version = lines.first.map { String($0.dropFirst("\(RuntimeUnderTest.name) version ".count)) } ?? ""
            XCTAssertFalse(version.trimmed.isEmpty, r.stdout)
            XCTAssertTrue(lines.contains { $0.hasPrefix("spec: 1.") }, "\(flag) has a spec line: \(r.stdout)")
            XCTAssertTrue(lines.contains { $0.hasPrefix("commit: ") }, "\(flag) has a commit line: \(r.stdout)")
        }
    }

    /// Installed under another name (runc's, for engines that exec "runc"), corral's help and version name the
    /// program by the path it was run as, the first thing runc's help.bats and version.bats check; `--version` then
    /// ends with a line that says corral. runc names itself runc whatever its path.
    func testHelpAndVersionNameTheProgramAsItWasRun() throws {
        let dir = try makeTempDir("progname")
        defer { _ = runCommand(["rm", "-rf", dir]) }
        let link = dir + "/runc"
        XCTAssertEqual(symlink(RuntimeUnderTest.path, link), 0)
        let v = runCommand([link, "--version"], timeout: 10)
        XCTAssertEqual(v.status, 0, "\(v)")
        let lines = v.stdout.nonEmptyLines
        XCTAssertTrue(lines.first?.hasPrefix("runc version ") ?? false, v.stdout)
        let top = runCommand([link, "-h"], timeout: 10).stdout.nonEmptyLines
        XCTAssertEqual(top.prefix(2), ["NAME:", "   runc - Open Container Initiative runtime"])
        let verb = runCommand([link, "checkpoint", "-h"], timeout: 10).stdout.nonEmptyLines
        XCTAssertTrue(verb.count > 1 && verb[1].hasPrefix("   runc checkpoint"), "\(verb)")
        // runc's texts that name the program name it too.
        bundle.setTerminal(true)
        try bundle.writeConfig()
        let tty = runCommand([link, "--root", rt.root, "create", "--bundle", bundle.dir, rt.id("tty")], timeout: 20)
        XCTAssertEqual(tty.status, 1, "\(tty)")
        XCTAssertTrue(tty.stderr.contains("cannot allocate tty if runc will detach without setting console socket"), tty.stderr)
        bundle.setTerminal(false)
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(lines.last, "runtime: corral " + (rt.callRaw(["--version"]).stdout.nonEmptyLines.first?
                .split(separator: " ").last.map(String.init) ?? "?"), v.stdout)
            let named = rt.callRaw(["-h"]).stdout.nonEmptyLines
            XCTAssertEqual(named.prefix(2), ["NAME:", "   corral - Open Container Initiative runtime"])
            // The failure text of create names the program too (runc main: "runc create failed: ...").
            bundle.setArgs(["/no-such-binary"])
            try bundle.writeConfig()
            let c = runCommand([link, "--root", rt.root, "create", "--bundle", bundle.dir, rt.id("name")], timeout: 20)
            XCTAssertEqual(c.status, 1, "\(c)")
            XCTAssertTrue(c.stderr.contains("runc create failed: "), c.stderr)
        }
    }

    // MARK: usage errors

    func testUnknownVerbFails() throws {
        let r = rt("frobnicate")
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertFalse(r.stderr.trimmed.isEmpty, "a message on stderr")
        XCTAssertTrue(r.stderr.contains("frobnicate"), "the message names the bad verb: \(r.stderr)")
    }

    func testUnknownFlagFails() throws {
        for args in [["--bogus-global", "list"], ["list", "--bogus-flag"], ["create", "--bogus-flag", "x"]] {
            let r = rt.call(args)
            XCTAssertNotEqual(r.status, 0, "\(args): \(r)")
            XCTAssertTrue(r.stderr.contains("bogus"), "\(args): message names the flag: \(r.stderr)")
        }
    }

    func testMissingIdArgumentFails() throws {
        for verb in ["state", "start", "kill", "delete", "create"] {
            let r = rt(verb)
            XCTAssertNotEqual(r.status, 0, "\(verb) without id: \(r)")
            XCTAssertFalse(r.stderr.trimmed.isEmpty, "\(verb): message on stderr")
        }
    }

    func testInvalidLogFormatFails() throws {
        let r = rt("--log-format", "xml", "list")
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("xml"), r.stderr)
    }

    func testInvalidListFormatFails() throws {
        let r = rt("list", "--format", "yaml")
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertFalse(r.stderr.trimmed.isEmpty)
    }

    // MARK: sentinels for unknown / wrong-state containers

    func testMissingContainerSentinel() throws {
        let id = "absent-\(randomHex(6))"
        for args in [["kill", id], ["kill", id, "KILL"], ["delete", id], ["start", id], ["state", id]] {
            let r = rt.call(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r)")
            XCTAssertTrue(r.stderr.contains("container does not exist"), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args): nothing on stdout")
        }
        XCTAssertFalse(pathExists(rt.root + "/" + id), "queries do not create state")
    }

    func testForceDeleteOfUnknownIdSucceeds() throws {
        let id = "absent-\(randomHex(6))"
        let r = rt("delete", "--force", id)
        XCTAssertEqual(r.status, 0, "\(r)")
        let short = rt("delete", "-f", id)
        XCTAssertEqual(short.status, 0, "\(short)")
        // ...and it stays unknown (no state was created by the forced delete).
        let s = rt("state", id)
        XCTAssertEqual(s.status, 1, "\(s)")
        XCTAssertTrue(s.stderr.contains("container does not exist"), s.stderr)
        XCTAssertFalse(pathExists(rt.root + "/" + id))
    }

    func testStartOfRunningContainerFails() throws {
        let id = try startSleeper("sr")
        let pid = rt.stateJSON(id)?["pid"]?.int64Value
        let r = rt("start", id)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("running"), "\(r.stderr)")
        XCTAssertEqual(rt.status(id), "running")
        XCTAssertEqual(rt.stateJSON(id)?["pid"]?.int64Value, pid, "same init")
    }

    func testStartOfStoppedContainerFails() throws {
        let id = try startSleeper("ss")
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        let r = rt("start", id)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("stopped"), "\(r.stderr)")
    }

    func testKillOfStoppedContainerFails() throws {
        let id = try startSleeper("ks")
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        let r = rt("kill", id)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("container not running"), "\(r.stderr)")
        // containerd passes --all on task kill; that succeeds on a stopped container.
        let all = rt("kill", "--all", id, "KILL")
        XCTAssertEqual(all.status, 0, "kill --all of a stopped container succeeds: \(all)")
    }

    func testKillWithUnknownSignalFails() throws {
        let id = try startSleeper("kb")
        let r = rt("kill", id, "NOTASIGNAL")
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("NOTASIGNAL"), r.stderr)
        XCTAssertEqual(rt.status(id), "running", "a bad signal does nothing")
    }

    func testInvalidIdsRejected() throws {
        try bundle.writeConfig()
        for bad in ["../x", "a/b", "..", ".", "x y", ""] {
            let r = rt.call(["create", "--bundle", bundle.dir, bad])
            XCTAssertNotEqual(r.status, 0, "create \(bad.debugDescription) must fail: \(r)")
            XCTAssertFalse(r.stderr.trimmed.isEmpty)
            let s = rt.call(["state", bad])
            XCTAssertNotEqual(s.status, 0, "state \(bad.debugDescription) must fail")
        }
        let r = rt.call(["create", "--bundle", bundle.dir, "../x"])
        // runc: "invalid container ID format"
        XCTAssertTrue(r.stderr.lowercased().contains("invalid container id"), "\(r.stderr)")
        XCTAssertEqual(directoryEntries(rt.root), [], "nothing created in the state root")
        XCTAssertFalse(pathExists(integrationTmpBase + "/x"), "no escape from the root via ../x")
    }

    // MARK: spec

    func testSpecWritesAParseableConfigInBundleDir() throws {
        let dir = try makeTempDir("spec")
        defer { _ = runCommand(["rm", "-rf", dir]) }
        let r = rt("spec", "--bundle", dir)
        XCTAssertEqual(r.status, 0, "\(r)")
        let text = try XCTUnwrap(readFile(dir + "/config.json"), "spec wrote config.json")
        let cfg = try JSONValue.parse(text)
        XCTAssertTrue(cfg["ociVersion"]?.stringValue?.hasPrefix("1.") ?? false, text)
        XCTAssertEqual(cfg["root"]?["path"]?.stringValue, "rootfs")
        XCTAssertNotNil(cfg["process"]?["args"]?.arrayValue?.first?.stringValue)
        XCTAssertFalse(cfg["linux"]?["namespaces"]?.arrayValue?.isEmpty ?? true)

        // Refuses to overwrite.
        try writeFile(dir + "/config.json", "{\"keep\":true}")
        let again = rt("spec", "--bundle", dir)
        XCTAssertNotEqual(again.status, 0, "\(again)")
        XCTAssertTrue(again.stderr.contains("config.json"), again.stderr)
        XCTAssertEqual(readFile(dir + "/config.json"), "{\"keep\":true}", "existing file untouched")
    }

    func testSpecWritesIntoCwdByDefaultAndIsRunnable() throws {
        let dir = try makeTempDir("spec")
        defer { _ = runCommand(["rm", "-rf", dir]) }
        let r = rt.call(["spec"], cwd: dir)
        XCTAssertEqual(r.status, 0, "\(r)")
        let cfg = try JSONValue.parse(try XCTUnwrap(readFile(dir + "/config.json")))
        // The generated config must run in a busybox bundle once args/terminal are adjusted.
        bundle.config = cfg
        bundle.setTerminal(false)
        bundle.setShell("echo from-spec")
        let run = rt.run(bundle)
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertEqual(run.stdout, "from-spec\n")
    }

    // MARK: helpers

    private func startSleeper(_ prefix: String) throws -> String {
        let id = rt.id(prefix)
        bundle.setShell("exec sleep 30")
        let c = rt.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "create: \(c)")
        let s = rt("start", id)
        XCTAssertEqual(s.status, 0, "start: \(s)")
        return id
    }
}
