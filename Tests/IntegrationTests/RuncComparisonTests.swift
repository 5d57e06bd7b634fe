// The issue's "done when": a bundle made by `runc spec` (rootfs from busybox via the harness) runs under the runtime
// under test with the same observable results as under runc, on the SAME bundle and with the SAME container id:
// `run` (a probe of the process and its environment, exit codes 0 and 42) and create/start/state/kill/delete
// (status sequence, `state` JSON keys, error texts). Differences that are legitimate (namespace inode numbers,
// mount ids, anonymous device numbers, pids, times, versions) are normalised; everything else is compared field by
// field and reported with a readable diff.
import XCTest
import Glibc
import CorralSpec

final class RuncComparisonTests: XCTestCase {
    static let runcPath = "/usr/sbin/runc"

    var subject: Runtime!
    var runc: RuncCLI!
    var bundle: TestBundle!

    override func setUpWithError() throws {
        try super.setUpWithError()
        try requireIntegrationEnvironment()
        guard access(RuncComparisonTests.runcPath, X_OK) == 0 else {
            throw XCTSkip("\(RuncComparisonTests.runcPath) is absent: there is no runc to compare with")
        }
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("the runtime under test is runc itself (\(RuntimeUnderTest.path)): nothing to compare")
        }
        subject = try Runtime()
        runc = try RuncCLI()
        bundle = try TestBundle()
        // The bundle's config is what `runc spec` writes, not the harness' literal.
        let r = runCommand([RuncComparisonTests.runcPath, "spec", "--bundle", bundle.dir], timeout: 20)
        guard r.status == 0, let text = readFile(bundle.configPath) else { throw HarnessError("runc spec failed: \(r)") }
        bundle.config = try JSONValue.parse(text)
        // Not a terminal: the runtimes are driven through pipes.
        bundle.setTerminal(false)
    }

    override func tearDown() {
        runc?.cleanup()
        subject?.cleanup()
        bundle?.remove()
        super.tearDown()
    }

    // MARK: run

    func testRunProbeMatchesRunc() throws {
        bundle.setShell(RuncComparisonTests.probeScript)
        let id = subject.id("cmp")
        try bundle.writeConfig()
        let theirs = runc.call(["run", "--bundle", bundle.dir, id], timeout: 30)
        runc.forget(id)
        XCTAssertEqual(theirs.status, 0, "runc itself must run the probe: \(theirs)")
        let ours = subject.call(["run", "--bundle", bundle.dir, id], timeout: 30)
        XCTAssertEqual(ours.status, theirs.status, "exit status of the probe: \(ours)")
        XCTAssertEqual(ours.stderr, theirs.stderr, "stderr of the probe")
        compareProbes(runc: theirs.stdout, subject: ours.stdout, id: id)
    }

    func testRunExitCodesMatchRunc() throws {
        for code in [0, 42] {
            bundle.setShell("exit \(code)")
            try bundle.writeConfig()
            let id = subject.id("exit")
            let theirs = runc.call(["run", "--bundle", bundle.dir, id])
            runc.forget(id)
            let ours = subject.call(["run", "--bundle", bundle.dir, id])
            XCTAssertEqual(theirs.status, Int32(code), "runc: \(theirs)")
            XCTAssertEqual(ours.status, theirs.status, "exit \(code): \(ours)")
            XCTAssertEqual(ours.stdout, theirs.stdout)
            XCTAssertEqual(ours.stderr, theirs.stderr)
            // Neither leaves the container behind after a foreground run.
            XCTAssertEqual(runcStyleErrorMessage(runc.call(["state", id])), "container does not exist")
            XCTAssertEqual(runcStyleErrorMessage(subject.call(["state", id])), "container does not exist")
        }
    }

    // MARK: create / start / state / kill / delete

    /// One lifecycle as an engine drives it, recorded step by step.
    struct Lifecycle {
        var steps: [(step: String, status: Int32, message: String)] = []
        var states: [(step: String, json: JSONObject?)] = []
        var probe = ""
    }

    private func lifecycle(_ call: ([String]) -> ProcResult, id: String, shared: String) -> Lifecycle {
        var l = Lifecycle()
        func step(_ name: String, _ args: [String]) {
            let r = call(args)
            l.steps.append((name, r.status, runcStyleErrorMessage(r)))
        }
        func state(_ name: String) {
            let r = call(["state", id])
            l.states.append((name, r.status == 0 ? (try? JSONValue.parse(r.stdout))?.objectValue : nil))
        }
        _ = unlink(shared + "/probe.out")
        _ = unlink(shared + "/done")
        step("create", ["create", "--bundle", bundle.dir, id])
        state("after create")
        step("start", ["start", id])
        // The probe runs right after start; wait for it before looking (and before the start-again error).
        _ = waitUntil(timeout: 15) { pathExists(shared + "/done") }
        l.probe = readFile(shared + "/probe.out") ?? ""
        state("after start")
        step("start again", ["start", id])
        step("delete running", ["delete", id])
        step("kill", ["kill", id, "KILL"])
        _ = waitUntil(timeout: 10) {
            let r = call(["state", id])
            return ((try? JSONValue.parse(r.stdout))?["status"]?.stringValue ?? "") == "stopped"
        }
        state("after kill")
        step("kill stopped", ["kill", id])
        step("start stopped", ["start", id])
        step("delete", ["delete", id])
        state("after delete")
        step("state missing", ["state", id])
        step("kill missing", ["kill", id, "9"])
        step("delete missing", ["delete", id])
        step("start missing", ["start", id])
        step("delete --force missing", ["delete", "--force", id])
        return l
    }

    func testLifecycleMatchesRunc() throws {
        let shared = try bundle.addSharedDir(at: "/shared")
        bundle.setShell("{ \(RuncComparisonTests.probeScript); } > /shared/probe.out 2>&1; touch /shared/done; exec sleep 1000")
        bundle.config["annotations"] = ["org.example.compare": "yes", "a.first": "1"]
        try bundle.writeConfig()
        let id = subject.id("life")
        let theirs = lifecycle({ runc.call($0) }, id: id, shared: shared)
        runc.forget(id)
        let ours = lifecycle({ subject.call($0) }, id: id, shared: shared)

        // Exit statuses and error texts, step by step.
        XCTAssertEqual(ours.steps.count, theirs.steps.count)
        for (o, t) in zip(ours.steps, theirs.steps) {
            XCTAssertEqual(o.status, t.status, "\(o.step): exit status (runc said \"\(t.message)\", we said \"\(o.message)\")")
            XCTAssertEqual(o.message, t.message, "\(o.step): error text")
        }

        // Status sequence and `state` JSON shape.
        func statuses(_ l: Lifecycle) -> [String] { l.states.map { "\($0.step): \($0.json?["status"]?.stringValue ?? "<no state>")" } }
        XCTAssertEqual(statuses(theirs), ["after create: created", "after start: running", "after kill: stopped",
                                          "after delete: <no state>"], "runc's own sequence")
        XCTAssertEqual(statuses(ours), statuses(theirs), "status sequence")
        for (o, t) in zip(ours.states, theirs.states) {
            guard let oj = o.json, let tj = t.json else { continue }
            XCTAssertEqual(oj.keys, tj.keys, "\(o.step): state keys (in order)")
            XCTAssertEqual(Set(oj.keys), Set(tj.keys), "\(o.step): state key set")
            // Values that must agree (pid, created and ociVersion legitimately differ).
            for key in ["id", "status", "bundle", "rootfs", "owner", "annotations"] {
                XCTAssertEqual(oj[key], tj[key], "\(o.step): state.\(key)")
            }
            XCTAssertEqual(oj["pid"]?.int64Value == 0, tj["pid"]?.int64Value == 0, "\(o.step): pid is 0 exactly when stopped")
            XCTAssertTrue(isRFC3339(oj["created"]?.stringValue ?? ""), "\(o.step): created \(oj["created"] ?? .null)")
        }

        // What the container saw while it ran.
        XCTAssertFalse(theirs.probe.isEmpty, "runc's container wrote its probe")
        compareProbes(runc: theirs.probe, subject: ours.probe, id: id)
    }

    // MARK: the probe

    /// Prints sections `### name` about the process and its environment. POSIX sh + busybox applets only.
    static let probeScript = """
        echo '### id'; id
        echo '### hostname'; hostname
        echo '### status'; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
        echo '### umask'; umask
        echo '### nofile'; ulimit -n
        echo '### dev'
        for f in /dev/* /dev/pts/* /dev/shm/* /dev/mqueue/*; do
          [ -e "$f" ] || [ -L "$f" ] || continue
          stat -c '%n %F %t:%T %a %u:%g' "$f"
          if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; fi
        done
        echo '### mountinfo'; cat /proc/self/mountinfo
        echo '### ns'; for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done
        echo '### cgroup'; cat /proc/self/cgroup
        echo '### env'; env | sort
        echo '### pwd'; pwd
        echo '### end'
        """

    /// `### name` sections of a probe's output.
    private func sections(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("### ") { current = String(line.dropFirst(4)); out[current] = []; continue }
            if !current.isEmpty && !line.isEmpty { out[current, default: []].append(line) }
        }
        return out
    }

    /// One mountinfo line without what legitimately differs between two containers: mount and parent ids,
    /// device numbers, peer-group numbers (kept: whether the mount is shared/slave), and the container id.
    private func normaliseMount(_ line: String, id: String) -> String {
        let f = line.split(separator: " ").map(String.init)
        guard let dash = f.firstIndex(of: "-"), dash >= 6, f.count > dash + 3 else { return line }
        let optional = f[6..<dash].map { field -> String in
            if let colon = field.firstIndex(of: ":") { return String(field[..<colon]) }
            return field
        }
        let root = f[3].unitReplacingAll(id, "<ID>")
        return ([f[4], f[dash + 1], "root=" + root, "opts=" + f[5], "src=" + f[dash + 2], "super=" + f[dash + 3]]
                + optional).joined(separator: " ")
    }

    /// "differs from the host" per namespace type: the inode numbers differ between containers, the answer must not.
    private func namespaceNewness(_ lines: [String]) -> [String] {
        lines.map { line in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return line }
            let host = readLink("/proc/self/ns/\(parts[0])") ?? "?"
            return "\(parts[0]) \(parts[1] == host ? "host" : "new")"
        }
    }

    private func compareProbes(runc theirs: String, subject ours: String, id: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let t = sections(theirs), o = sections(ours)
        XCTAssertNotNil(t["end"], "runc's probe ran to the end:\n\(theirs)", file: file, line: line)
        XCTAssertNotNil(o["end"], "our probe ran to the end:\n\(ours)", file: file, line: line)
        let names = ["id", "hostname", "status", "umask", "nofile", "dev", "mountinfo", "ns", "cgroup", "env", "pwd"]
        for name in names {
            var a = t[name] ?? [], b = o[name] ?? []
            switch name {
            case "mountinfo":
                // Deliberate difference (README): the config's "ro" on the cgroup mount makes corral's
                // /sys/fs/cgroup tmpfs read-only as well; runc 1.1.5 leaves that tmpfs writable.
                a = a.map { m in
                    let n = normaliseMount(m, id: id)
                    return n.hasPrefix("/sys/fs/cgroup tmpfs ") ? n.unitReplacingAll("opts=rw,", "opts=ro,") : n
                }
                b = b.map { normaliseMount($0, id: id) }
            case "ns":
                a = namespaceNewness(a)
                b = namespaceNewness(b)
            case "cgroup":
                a = a.map { $0.unitReplacingAll(id, "<ID>") }
                b = b.map { $0.unitReplacingAll(id, "<ID>") }
            default:
                break
            }
            if a != b {
                XCTFail("probe section \"\(name)\" differs from runc's:\n" + diff(runc: a, subject: b), file: file, line: line)
            }
        }
    }

    /// A readable diff: lines only runc has, lines only we have, or (same lines) the order.
    private func diff(runc a: [String], subject b: [String]) -> String {
        let onlyRunc = a.filter { !b.contains($0) }, onlyUs = b.filter { !a.contains($0) }
        var s = ""
        for l in onlyRunc { s += "  - runc:   \(l)\n" }
        for l in onlyUs { s += "  + corral: \(l)\n" }
        if onlyRunc.isEmpty && onlyUs.isEmpty {
            s += "  same lines, different order or multiplicity:\n"
            s += a.map { "    runc:   \($0)" }.joined(separator: "\n") + "\n"
            s += b.map { "    corral: \($0)" }.joined(separator: "\n") + "\n"
        }
        return s
    }
}

/// `msg` of the last logrus text record on stderr (`time="…" level=error msg="…"`), Go-unquoted; "" if none.
func runcStyleErrorMessage(_ r: ProcResult) -> String {
    guard let line = r.stderr.nonEmptyLines.last(where: { $0.contains(" msg=") }),
          let start = line.firstRange(of: " msg=")?.upperBound else { return "" }
    var rest = line[start...]
    guard rest.first == "\"" else { return String(rest.prefix(while: { $0 != " " })) }
    rest = rest.dropFirst()
    var out = ""
    var escaped = false
    for ch in rest {
        if escaped {
            switch ch {
            case "n": out.append("\n")
            case "t": out.append("\t")
            default: out.append(ch)
            }
            escaped = false
        } else if ch == "\\" {
            escaped = true
        } else if ch == "\"" {
            break
        } else {
            out.append(ch)
        }
    }
    return out
}

/// runc driven directly (not through RuntimeUnderTest), with its own state root.
final class RuncCLI {
    let root: String
    private var ids: [String] = []

    init() throws { root = try makeTempDir("runc-root", mode: 0o700) }

    @discardableResult
    func call(_ args: [String], timeout: Double = 20) -> ProcResult {
        if let i = args.last, args.first == "create" || args.first == "run" { ids.append(i) }
        return runCommand([RuncComparisonTests.runcPath, "--root", root] + args, timeout: timeout)
    }

    /// The id was deleted (or never outlived its run): nothing to clean up for it.
    func forget(_ id: String) {
        if let pid = (try? JSONValue.parse(runCommand([RuncComparisonTests.runcPath, "--root", root, "state", id]).stdout))?["pid"]?.int64Value, pid > 0 {
            _ = runCommand([RuncComparisonTests.runcPath, "--root", root, "delete", "--force", id])
        }
        ids.removeAll { $0 == id }
    }

    func cleanup() {
        for i in ids { _ = runCommand([RuncComparisonTests.runcPath, "--root", root, "delete", "--force", i], timeout: 10) }
        unmountEverything(below: root)
        _ = runCommand(["rm", "-rf", "--one-file-system", root], timeout: 30)
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func unitReplacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
