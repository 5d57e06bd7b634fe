// Escape probes: a static C program (Tests/Probes/escape_probe.c) run inside containers tries every way out an
// adversary would try (writable procfs/sysfs/cgroup knobs, mounts, namespaces, kernel attack surface, devices,
// leaked descriptors and working directories, the terminal) and reports one verdict per probe; the tests assert
// that every probe is BLOCKED.
//
// Every container runs as the foreground job of a fresh pseudo-terminal (Tests/Probes/pty_run.c), the way a user
// at a shell runs `corral run`: that makes the terminal probes deterministic (whatever terminal the test process
// has is never involved) and lets the host side see what reached the terminal's input queue. pty_run also hands
// the runtime a host directory descriptor it was not asked to pass (--leak-host-fd) and listens on an abstract
// unix socket of the host's network namespace (--listen-abstract).
//
// The terminal session tests check the rule behind the TIOCSTI probes: a container's process (the init, and
// every exec'd process) leads its own session without a controlling terminal, so it can neither push keystrokes
// into the caller's terminal nor be reached by signals aimed at the caller's session or process group. runc does
// setsid() in its init and in every exec'd process; the container sees sid == pgrp == its own pid (1 for the
// init), tty_nr 0.
//
// runc 1.1.5 blocks every probe here and passes every session test.
import XCTest
import Glibc
import CorralSpec

/// The probe programs of Tests/Probes (escape_probe, pty_run, attr_probe for ProcessAttributeTests and landlock_probe
/// for LandlockTests), compiled
/// with the host's C compiler (`cc -static -O2`) into /tmp/corral-it/probes and reused while their sources are
/// unchanged (a stamp records the sources' sizes and mtimes). Each binary is compiled to a temporary name and renamed
/// into place, so a concurrent test process never runs a half-written one.
enum EscapeProbes {
    private static var builtDir: String?

    static let sourceDir = packageRoot + "/Tests/Probes"
    static let names = ["escape_probe", "pty_run", "attr_probe", "landlock_probe", "deny_probe"]

    /// Paths of the static escape_probe and pty_run binaries; skips without a C compiler.
    static func binaries() throws -> (probe: String, ptyRun: String) {
        let dir = try buildAll()
        return (dir + "/escape_probe", dir + "/pty_run")
    }

    /// Path of the static attr_probe binary; skips without a C compiler.
    static func attrProbe() throws -> String { try buildAll() + "/attr_probe" }

    /// Path of the static landlock_probe binary; skips without a C compiler.
    static func landlockProbe() throws -> String { try buildAll() + "/landlock_probe" }
    /// Path of the static deny_probe binary (SandboxMonitorTests); skips without a C compiler.
    static func denyProbe() throws -> String { try buildAll() + "/deny_probe" }

    /// Builds every probe of `names` when a source changed; returns the directory holding the binaries.
    private static func buildAll() throws -> String {
        if let builtDir { return builtDir }
        let dir = integrationTmpBase + "/probes"
        try makeDirectories(dir)
        func fileStamp(_ path: String) -> String {
            var st = stat()
            guard stat(path, &st) == 0 else { return "missing" }
            return "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
        }
        let stamp = names.map { "\($0).c=\(fileStamp(sourceDir + "/" + $0 + ".c"))" }.joined(separator: " ") + "\n"
        let fresh = readFile(dir + "/stamp") == stamp && names.allSatisfy { access(dir + "/" + $0, X_OK) == 0 }
        if !fresh {
            for name in names {
                let tmp = "\(dir)/\(name).tmp-\(getpid())"
                let r = runCommand(["cc", "-static", "-O2", "-Wall", "-o", tmp, sourceDir + "/" + name + ".c"], timeout: 120)
                if r.status == 127 && r.stderr.contains("cannot spawn") {
                    throw XCTSkip("no C compiler (cc) to build Tests/Probes/\(name).c: install gcc")
                }
                guard r.status == 0, rename(tmp, dir + "/" + name) == 0 else {
                    _ = unlink(tmp)
                    throw HarnessError("cc \(name).c failed: \(r)")
                }
            }
            try writeFile(dir + "/stamp", stamp)
        }
        builtDir = dir
        return dir
    }

    /// Every probe name of escape_probe.c's table (`{"name", p_...}`), in table order.
    static func tableNames() -> [String] {
        let source = readFile(sourceDir + "/escape_probe.c") ?? ""
        return source.nonEmptyLines.compactMap { line -> String? in
            let t = line.trimmed
            guard t.hasPrefix("{\""), t.contains("\", p_") else { return nil }
            return String(t.dropFirst(2).prefix(while: { $0 != "\"" }))
        }
    }
}

/// One line of escape_probe's report: BLOCKED, ALLOWED, NA or ERROR, the probe's name, what it saw.
struct ProbeVerdict {
    let verdict: String
    let name: String
    let line: String
}

/// What pty_run printed: the terminal's output (carriage returns removed) and its PTY-RESULT fields.
struct PtyOutcome {
    let result: ProcResult
    let lines: [String]
    let pty: [String: String]

    init(_ result: ProcResult) {
        self.result = result
        // The terminal ends lines with \r\n, a single Character in Swift: drop the \r bytes before splitting.
        let text = String(decoding: result.stdout.utf8.filter { $0 != 0x0D }, as: UTF8.self)
        lines = text.split(separator: "\n").map(String.init)
        pty = PtyOutcome.fields(of: lines.last(where: { $0.hasPrefix("PTY-RESULT ") }) ?? "")
    }

    /// `key=value` words of a line.
    static func fields(of line: String) -> [String: String] {
        var d: [String: String] = [:]
        for word in line.split(separator: " ") {
            guard let eq = word.firstIndex(of: "=") else { continue }
            d[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        return d
    }

    /// The fields of the first line starting with `prefix` ("SESSION", "TIOCSTI").
    func line(_ prefix: String) -> [String: String]? {
        lines.first(where: { $0.hasPrefix(prefix + " ") }).map { PtyOutcome.fields(of: $0) }
    }

    var verdicts: [ProbeVerdict] {
        lines.compactMap { l in
            let words = l.split(separator: " ", maxSplits: 2)
            guard words.count >= 2, ["BLOCKED", "ALLOWED", "NA", "ERROR"].contains(String(words[0])) else { return nil }
            return ProbeVerdict(verdict: String(words[0]), name: String(words[1]), line: l)
        }
    }

    /// `END n`: the probe ran to its end.
    var endCount: Int? {
        lines.last(where: { $0.hasPrefix("END ") }).flatMap { Int($0.dropFirst(4)) }
    }

    /// Bytes found in the terminal's input queue after the job ended (nil: no report).
    var injected: Int? { pty["injected"].flatMap { Int($0) } }
}

final class EscapeProbeTests: RuntimeTestCase {
    private var probe = ""
    private var ptyRun = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        (probe, ptyRun) = try EscapeProbes.binaries()
    }

    // MARK: helpers

    /// Copies escape_probe into the bundle's rootfs as /probe/escape_probe (before the container makes it read-only).
    private func installProbe(in b: TestBundle) throws {
        try makeDirectories(b.rootfs + "/probe")
        let r = runCommand(["install", "-m", "0755", probe, b.rootfs + "/probe/escape_probe"])
        guard r.status == 0 else { throw HarnessError("install the probe: \(r)") }
    }

    /// The hardened agent bundle: bundles/agent/config.json as it is, its root pointed at the test rootfs.
    private func useAgentConfig(args: [String]) throws {
        guard let text = readFile(packageRoot + "/bundles/agent/config.json") else {
            throw HarnessError("cannot read bundles/agent/config.json")
        }
        bundle.config = try JSONValue.parse(text)
        bundle.config["root"]?["path"] = .string(bundle.rootfs)
        bundle.setArgs(args)
        try installProbe(in: bundle)
        try bundle.writeConfig()
    }

    /// Writes the bundle's config, then runs `<runtime> --root <root> <args>` as the foreground job of a fresh
    /// terminal (see pty_run.c).
    private func onTerminal(_ args: [String], options: [String] = [], timeout: Double = 100) throws -> PtyOutcome {
        try bundle.writeConfig()
        let argv = [ptyRun] + options + ["--timeout", String(Int(timeout)), "--", RuntimeUnderTest.path, "--root", rt.root]
            + args
        return PtyOutcome(runCommand(argv, timeout: timeout + 20))
    }

    /// A name for the host's abstract unix socket the abstract-unix-host probe tries to reach.
    private func abstractName() -> String { "corral-escape-probe-\(randomHex(12))" }

    /// The probe's whole report must be there (every probe of the table, once, then END) and every verdict
    /// BLOCKED, except the probes in `notApplicable`, which may say NA, and those in `notAsserted`. Nothing may
    /// have reached the terminal.
    private func assertEveryProbeBlocked(_ run: PtyOutcome, notApplicable: Set<String>, notAsserted: Set<String> = [],
                                         _ scenario: String, file: StaticString = #filePath, line: UInt = #line,
                                         function: String = #function) {
        let verdicts = run.verdicts
        let expected = EscapeProbes.tableNames()
        XCTAssertGreaterThan(expected.count, 50, "cannot read the probe table of escape_probe.c", file: file, line: line)
        guard run.endCount == verdicts.count, verdicts.map(\.name) == expected else {
            return XCTFail("\(scenario): incomplete probe report (END \(run.endCount.map(String.init) ?? "missing"), "
                           + "\(verdicts.count) verdicts for \(expected.count) probes):\n\(run.result)", file: file, line: line)
        }
        var escapes = verdicts.filter { v in
            !(v.verdict == "BLOCKED" || (v.verdict == "NA" && notApplicable.contains(v.name)) || notAsserted.contains(v.name))
        }.map(\.line)
        if run.injected == nil {
            escapes.append("TERMINAL pty_run reported nothing about the terminal's input queue")
        } else if run.injected != 0 {
            escapes.append("TERMINAL the caller's terminal input queue holds \(run.pty["injected"] ?? "?") injected "
                           + "bytes (\(run.pty["bytes"] ?? "?"))")
        }
        XCTAssertTrue(escapes.isEmpty, "\(scenario) under \(RuntimeUnderTest.name): \(escapes.count) of \(verdicts.count) "
                       + "probes got through:\n" + escapes.joined(separator: "\n"), file: file, line: line)
        XCTAssertEqual(run.pty["status"], "0", "\(scenario): the runtime command failed:\n\(run.result)", file: file, line: line)
        verboseReport(run.result.stdout, function: function)
    }

    // MARK: the hardened agent bundle

    /// The probe as the container's init (`run`, foreground) under bundles/agent/config.json.
    func testAgentBundleBlocksEveryProbeAsInit() throws {
        let name = abstractName()
        try useAgentConfig(args: ["/probe/escape_probe", "--abstract", name])
        let run = try onTerminal(["run", "--bundle", bundle.dir, rt.id("escape")],
                                 options: ["--leak-host-fd", "--listen-abstract", name])
        // ptrace-pid1 needs a pid 1 that is not the probe: see the exec test.
        assertEveryProbeBlocked(run, notApplicable: ["ptrace-pid1"], "agent bundle, probe as init")
    }

    /// The probe exec'd into a created (not started) agent container: pid 1 is then the runtime's parked init,
    /// which still holds host resources, the target of ptrace-pid1 and proc-1-exe-write.
    func testAgentBundleBlocksEveryProbeExecdIntoCreatedContainer() throws {
        let name = abstractName()
        try useAgentConfig(args: ["/bin/sleep", "60"])
        let id = rt.id("escape-exec")
        let c = rt.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "create: \(c)")
        guard c.status == 0 else { return }
        XCTAssertEqual(rt.status(id), "created")
        let run = try onTerminal(["exec", id, "/probe/escape_probe", "--abstract", name],
                                 options: ["--leak-host-fd", "--listen-abstract", name])
        assertEveryProbeBlocked(run, notApplicable: [], "agent bundle, probe exec'd into a created container")
        XCTAssertEqual(rt.status(id), "created", "the parked init must still be parked")
    }

    /// runc's default spec (root in the container, three capabilities, no seccomp): what stops the probes here is
    /// the runtime itself (capability sets, read-only and masked paths, namespaces, the read-only root, devices).
    /// Without a seccomp filter, kernel interfaces that need no privilege stay reachable under any runtime; those
    /// probes are not asserted (the agent bundle's filter blocks them), every other one must be BLOCKED.
    func testRuncSpecDefaultAsRootBlocksEveryPrivilegedProbe() throws {
        let unprivilegedKernelSurface: Set<String> = [
            "unshare-user", "clone-newuser", "keyctl-join-session", "add-key", "perf-event-open", "userfaultfd",
            "io-uring-setup", "socket-vsock", "socket-alg",
        ]
        let name = abstractName()
        bundle.addTmpfsTmp()
        bundle.setArgs(["/probe/escape_probe", "--abstract", name])
        try installProbe(in: bundle)
        let run = try onTerminal(["run", "--bundle", bundle.dir, rt.id("escape-default")],
                                 options: ["--leak-host-fd", "--listen-abstract", name])
        assertEveryProbeBlocked(run, notApplicable: ["ptrace-pid1"], notAsserted: unprivilegedKernelSurface,
                                "runc default spec as root")
    }

    // MARK: terminal sessions (TIOCSTI)

    /// `SESSION` of escape_probe's session mode: the process leads its own session (sid == pgrp == pid) and has
    /// no controlling terminal; `TIOCSTI`: pushing a byte into fds 0-2 and /dev/tty failed.
    private func assertOwnSession(_ run: PtyOutcome, pid expectedPid: Int?, _ what: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        guard let s = run.line("SESSION"), let t = run.line("TIOCSTI") else {
            return XCTFail("\(what): no session report:\n\(run.result)", file: file, line: line)
        }
        let pid = s["pid"] ?? "?"
        if let expectedPid { XCTAssertEqual(pid, String(expectedPid), "\(what): pid", file: file, line: line) }
        XCTAssertEqual(s["sid"], pid, "\(what): the process does not lead its own session (pid \(pid), sid \(s["sid"] ?? "?"); "
                       + "sid 0 is a session led from outside the container, the caller's)", file: file, line: line)
        XCTAssertEqual(s["pgrp"], pid, "\(what): process group", file: file, line: line)
        XCTAssertEqual(s["tty_nr"], "0", "\(what): the process has a controlling terminal (tty_nr \(s["tty_nr"] ?? "?"))",
                       file: file, line: line)
        let pushed = t.filter { $0.value == "pushed" }.map(\.key).sorted()
        XCTAssertEqual(pushed, [], "\(what): TIOCSTI pushed input into the caller's terminal through \(pushed)",
                       file: file, line: line)
        XCTAssertEqual(run.injected, 0, "\(what): the caller's terminal input queue holds \(run.pty["injected"] ?? "?") "
                       + "injected bytes (\(run.pty["bytes"] ?? "?"))\n\(run.result)", file: file, line: line)
        XCTAssertEqual(run.pty["status"], "0", "\(what): \(run.result)", file: file, line: line)
    }

    /// `run` (foreground, terminal false) from a terminal: the init is pid 1, sid 1, pgrp 1, no controlling tty.
    func testRunInitLeadsItsOwnSessionAndCannotInjectIntoTheTerminal() throws {
        bundle.setArgs(["/probe/escape_probe", "session"])
        try installProbe(in: bundle)
        let run = try onTerminal(["run", "--bundle", bundle.dir, rt.id("session")])
        assertOwnSession(run, pid: 1, "run")
    }

    /// `exec` from a terminal into a running container: the exec'd process leads its own session too.
    func testExecProcessLeadsItsOwnSessionAndCannotInjectIntoTheTerminal() throws {
        bundle.setArgs(["/bin/sleep", "60"])
        try installProbe(in: bundle)
        let id = rt.id("session-exec")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "running"))
        let run = try onTerminal(["exec", id, "/probe/escape_probe", "session"])
        assertOwnSession(run, pid: nil, "exec")
        XCTAssertNotEqual(run.line("SESSION")?["pid"], "1", "the exec'd process cannot be the init")
    }

    /// `run --detach` from a terminal: the container's init is in neither the terminal's session nor the caller's
    /// process group, has no controlling terminal (host view, /proc/<pid>/stat), and survives the terminal closing.
    func testDetachedInitLeavesTheCallersSession() throws {
        bundle.setArgs(["/bin/sleep", "60"])
        let id = rt.id("detached")
        let run = try onTerminal(["run", "--detach", "--bundle", bundle.dir, id])
        XCTAssertEqual(run.pty["status"], "0", "\(run.result)")
        XCTAssertEqual(run.pty["members"], "-", "processes left in the terminal's session or the caller's process group "
                       + "after `run --detach` returned: \(run.pty["members"] ?? "?")")
        // pty_run has exited: its session is gone and the terminal hung up (SIGHUP to its foreground group).
        guard let pid = rt.stateJSON(id)?["pid"]?.int64Value, pid > 0, processIsAlive(Int(pid)) else {
            return XCTFail("the container died when the caller's terminal closed (state: \(rt.status(id) ?? "none"))")
        }
        rt.pidsToKill.append(Int(pid))
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else {
            return XCTFail("cannot read /proc/\(pid)/stat")
        }
        let f = stat[stat.index(after: close)...].split(separator: " ").map(String.init)  // state ppid pgrp session tty_nr
        XCTAssertEqual(f[3], String(pid), "host view: the init does not lead its own session")
        XCTAssertEqual(f[2], String(pid), "host view: the init is not its own process group")
        XCTAssertEqual(f[4], "0", "host view: the init has a controlling terminal")
    }

    /// `kill -- -PGID` of the caller's process group (what a shell or CI runner does to end a job) after
    /// `run --detach` must not reach the container.
    func testKillingTheCallersProcessGroupDoesNotReachTheContainer() throws {
        bundle.setArgs(["/bin/sleep", "60"])
        let id = rt.id("pgkill")
        let run = try onTerminal(["run", "--detach", "--bundle", bundle.dir, id], options: ["--kill-group"])
        XCTAssertEqual(run.pty["status"], "0", "\(run.result)")
        XCTAssertEqual(run.pty["group-kill"], "ESRCH", "kill -- -PGID found processes in the caller's process group: "
                       + "\(run.pty["members"] ?? "?")")
        XCTAssertEqual(rt.status(id), "running", "the container did not survive kill -- -PGID of its caller")
    }
}
