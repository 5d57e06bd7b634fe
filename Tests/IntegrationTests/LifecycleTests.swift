// Lifecycle of a container through the CLI: run, create/start/kill/delete, state, list, pid files.
// Each test looks both from inside the container (busybox output) and from the host (/proc, state).
import XCTest
import Glibc
import CorralSpec

final class LifecycleTests: RuntimeTestCase {

    // MARK: run (foreground)

    func testRunTrueExitsZero() throws {
        bundle.setArgs(["/bin/true"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertFalse(r.timedOut)
        XCTAssertEqual(r.stdout, "", "run prints nothing of its own on stdout")
        // The same bundle with /bin/false must give 1: the status really is the container's.
        bundle.setArgs(["/bin/false"])
        let f = rt.run(bundle)
        XCTAssertEqual(f.status, 1, "\(f)")
    }

    func testRunPropagatesExitCode() throws {
        bundle.setShell("exit 42")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 42, "\(r)")
    }

    func testRunKilledBySignalGives128PlusSignal() throws {
        // The shell kills itself with SIGTERM: pid 1 of a pid namespace ignores signals without a
        // handler from inside the namespace, so do it from a child shell: `sh -c 'kill -TERM $$'`.
        bundle.setArgs(["/bin/sh", "-c", "/bin/sh -c 'kill -TERM $$'; exit $?"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 143, "exit status of a SIGTERMed child propagates as 128+15: \(r)")
    }

    func testRunInitKilledBySignalReports128PlusSignal() throws {
        // Without a pid namespace the container process is not a namespace init, so it can kill
        // itself with SIGTERM; `run` must then exit 128+15 like a shell does.
        bundle.removeNamespace("pid")
        bundle.setShell("kill -TERM $$; sleep 5")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 143, "\(r)")
    }

    func testKillFromHostStopsDetachedInit() throws {
        // The container init itself dies from a signal delivered from the host.
        let id = rt.id("sig")
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        var pidFromState: Int64 = 0
        // Run detached to learn the pid, then kill from the host, then read the exit via state.
        let r = rt.call(["run", "--detach", "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 0, "\(r)")
        pidFromState = rt.stateJSON(id)?["pid"]?.int64Value ?? 0
        XCTAssertGreaterThan(pidFromState, 0)
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"), "status after SIGKILL: \(rt.status(id) ?? "nil")")
        XCTAssertFalse(processIsAlive(Int(pidFromState)))
    }

    func testRunStdoutAndStderrArriveOnTheRightStreams() throws {
        bundle.setShell("echo out; echo err >&2")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "out\n")
        XCTAssertEqual(r.stderr, "err\n")
    }

    func testRunPassesStdinThrough() throws {
        bundle.setArgs(["/bin/cat"])
        let input = "line one\nline two\n" + String(repeating: "x", count: 100_000) + "\n"
        let r = rt.run(bundle, stdin: Array(input.utf8))
        XCTAssertEqual(r.status, 0, "\(r.stderr)")
        XCTAssertEqual(r.stdout.count, input.count)
        XCTAssertTrue(r.stdout == input, "stdin bytes come back unchanged through cat")
    }

    func testRunSeesItsOwnPidNamespaceAndHostname() throws {
        bundle.config["hostname"] = "lifecycle-host"
        bundle.setShell("echo pid=$$; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        let lines = r.stdout.nonEmptyLines
        XCTAssertEqual(lines.first, "pid=1", "the container process is pid 1 in its pid namespace: \(r.stdout)")
        XCTAssertTrue(lines.contains("lifecycle-host"), "\(r.stdout)")
        XCTAssertTrue(r.stdout.contains("/bin/sh -c"), "/proc/1/cmdline is the container process: \(r.stdout)")
    }

    func testRunDeletesTheContainerAfterwards() throws {
        let id = rt.id("rm")
        let r = rt.run(bundle, id: id)
        XCTAssertEqual(r.status, 0, "\(r)")
        let s = rt("state", id)
        XCTAssertNotEqual(s.status, 0)
        XCTAssertTrue(s.stderr.contains("container does not exist"), "\(s)")
        XCTAssertFalse(pathExists(rt.root + "/" + id), "state dir removed")
    }

    // MARK: create / start / kill / delete

    func testCreateReportsCreatedStateWithPidAndBundleAndFifo() throws {
        let id = rt.id("c")
        let pidFile = bundle.dir + "/init.pid"
        bundle.setShell("echo never-printed-before-start > /dev/null; sleep 30")
        let r = rt.create(bundle, id: id, extra: ["--pid-file", pidFile])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "", "create prints nothing on stdout")

        let state = try XCTUnwrap(rt.stateJSON(id))
        XCTAssertEqual(state["status"]?.stringValue, "created")
        XCTAssertEqual(state["id"]?.stringValue, id)
        XCTAssertEqual(state["bundle"]?.stringValue, bundle.dir)
        let pid = try XCTUnwrap(state["pid"]?.int64Value)
        XCTAssertGreaterThan(pid, 0)
        rt.pidsToKill.append(Int(pid))
        XCTAssertTrue(processIsAlive(Int(pid)), "init process \(pid) is alive on the host")

        let pidText = try XCTUnwrap(readFile(pidFile), "pid file written")
        XCTAssertEqual(pidText, String(pid), "pid file holds bare digits, no newline")
        XCTAssertTrue(pidText.allSatisfy { $0.isASCII && $0.isNumber })

        XCTAssertTrue(isFIFO(rt.root + "/" + id + "/exec.fifo"), "exec.fifo exists while created")
        // The user process has not been exec'd yet: init is still the runtime's own binary.
        XCTAssertFalse(processCmdline(Int(pid))?.contains("sleep 30") ?? true,
                       "args not executed before start: \(processCmdline(Int(pid)) ?? "-")")
    }

    func testStartRunsTheProcessAndStateBecomesRunning() throws {
        let id = rt.id("s")
        bundle.addTmpfsTmp()
        bundle.setShell("echo started > /tmp/x; exec sleep 30")
        let pid = try rt.createParked(bundle, id: id)

        let s = rt("start", id)
        XCTAssertEqual(s.status, 0, "\(s)")
        XCTAssertEqual(s.stdout, "", "start prints nothing on stdout")
        XCTAssertFalse(isFIFO(rt.root + "/" + id + "/exec.fifo"), "exec.fifo removed by start")
        XCTAssertEqual(rt.status(id), "running")

        // Host view: the same pid now runs the user's program...
        XCTAssertTrue(waitUntil { processCmdline(pid) == "sleep 30" }, "cmdline: \(processCmdline(pid) ?? "-")")
        // ...and the file it wrote is visible through its root.
        XCTAssertTrue(waitUntil { readFile("/proc/\(pid)/root/tmp/x") == "started\n" })
    }

    func testKillDefaultSignalIsTERM() throws {
        // pid 1 of a pid namespace only receives signals it installed a handler for, so the init
        // traps TERM and records it in a host-visible directory: proves the signal really was TERM.
        let shared = try bundle.addSharedDir()
        let id = try startSleeper("kd", script: "trap 'echo got-TERM > /shared/sig; exit 0' TERM; echo ready > /shared/ready; sleep 30 & wait")
        XCTAssertTrue(waitUntil { readFile(shared + "/ready") == "ready\n" }, "trap installed")
        let k = rt("kill", id)
        XCTAssertEqual(k.status, 0, "\(k)")
        XCTAssertEqual(k.stdout, "")
        XCTAssertTrue(rt.waitForStatus(id, "stopped"), "status: \(rt.status(id) ?? "nil")")
        XCTAssertEqual(readFile(shared + "/sig"), "got-TERM\n", "the init received SIGTERM")
    }

    func testKillWithSignalNameDeliversThatSignal() throws {
        let shared = try bundle.addSharedDir()
        let id = try startSleeper("kusr", script: "trap 'echo got-USR1 >> /shared/sig' USR1; trap 'exit 0' TERM; echo ready > /shared/ready; while true; do sleep 30 & wait; done")
        XCTAssertTrue(waitUntil { readFile(shared + "/ready") == "ready\n" }, "traps installed")
        // One at a time: standard signals do not queue, two quick USR1s could merge into one.
        for (n, sig) in ["USR1", "SIGUSR1", "10"].enumerated() {
            let k = rt("kill", id, sig)
            XCTAssertEqual(k.status, 0, "kill \(sig): \(k)")
            let expected = String(repeating: "got-USR1\n", count: n + 1)
            XCTAssertTrue(waitUntil { readFile(shared + "/sig") == expected },
                          "kill \(sig) delivered USR1: \(readFile(shared + "/sig") ?? "nil")")
        }
        XCTAssertEqual(rt.status(id), "running", "USR1 was handled, the container keeps running")
    }

    func testKillNumericNineAndNames() throws {
        for sig in ["9", "KILL", "SIGKILL"] {
            let id = try startSleeper("k\(sig.lowercased())")
            let pid = Int(rt.stateJSON(id)?["pid"]?.int64Value ?? 0)
            let k = rt("kill", id, sig)
            XCTAssertEqual(k.status, 0, "kill \(sig): \(k)")
            XCTAssertTrue(rt.waitForStatus(id, "stopped"), "kill \(sig): status \(rt.status(id) ?? "nil")")
            XCTAssertFalse(processIsAlive(pid), "kill \(sig): init \(pid) gone")
        }
    }

    func testDeleteRemovesTheContainer() throws {
        let id = try startSleeper("del")
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        let d = rt("delete", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        XCTAssertEqual(d.stdout, "")
        let s = rt("state", id)
        XCTAssertEqual(s.status, 1)
        XCTAssertTrue(s.stderr.contains("container does not exist"), "\(s)")
        XCTAssertFalse(pathExists(rt.root + "/" + id))
    }

    func testDeleteOfRunningContainerNeedsForce() throws {
        let id = try startSleeper("delrun")
        let pid = Int(rt.stateJSON(id)?["pid"]?.int64Value ?? 0)
        let d = rt("delete", id)
        XCTAssertNotEqual(d.status, 0, "delete of a running container fails: \(d)")
        XCTAssertTrue(d.stderr.contains("running") , "\(d)")
        XCTAssertEqual(rt.status(id), "running", "a failed delete leaves the container running")
        XCTAssertTrue(processIsAlive(pid))

        let f = rt("delete", "--force", id)
        XCTAssertEqual(f.status, 0, "\(f)")
        XCTAssertTrue(waitUntil { !processIsAlive(pid) }, "delete --force killed the init")
        XCTAssertNil(rt.stateJSON(id))
        XCTAssertFalse(pathExists(rt.root + "/" + id))
    }

    /// A created container's init is pid 1 of its namespace and still the runtime's code: a terminating signal
    /// from `kill` (an engine's stop of a container it never started) ends it as it ends runc's parked init,
    /// while USR1 leaves it waiting for `start`.
    func testTerminatingSignalsEndACreatedContainerAndUSR1DoesNot() throws {
        bundle.setShell("sleep 30")
        for sig in ["TERM", "INT", "HUP", "QUIT"] {
            let id = rt.id("kc\(sig.lowercased())")
            _ = try rt.createParked(bundle, id: id)
            let k = rt("kill", id, sig)
            XCTAssertEqual(k.status, 0, "kill \(sig): \(k)")
            XCTAssertTrue(rt.waitForStatus(id, "stopped"), "kill \(sig): status \(rt.status(id) ?? "nil")")
            XCTAssertNotEqual(rt("start", id).status, 0, "a container stopped by \(sig) does not start")
            XCTAssertEqual(rt("delete", id).status, 0)
        }
        let id = rt.id("kcusr1")
        _ = try rt.createParked(bundle, id: id)
        XCTAssertEqual(rt("kill", id, "USR1").status, 0)
        usleep(200_000)
        XCTAssertEqual(rt.status(id), "created", "USR1 leaves the created container waiting")
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertEqual(rt.status(id), "running")
    }

    /// A parked init is named "corral:[INIT]" (runc's is "runc:[2:INIT]"), and `state` reads that name to skip the
    /// exec fifo for inits that have exec'd. A started process that happens to have the same name is still
    /// running: the name only says "look at the fifo", never "created".
    func testParkedInitIsNamedAndTheNameAloneNeverMeansCreated() throws {
        let id = rt.id("named")
        bundle.setShell("sleep 30")
        let pid = try rt.createParked(bundle, id: id)
        let comm = try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(comm, "corral:[INIT]\n")
        } else {
            XCTAssertNotEqual(comm, "sleep\n", "a parked init has not exec'd its process yet")
        }
        XCTAssertEqual(rt.status(id), "created")
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertEqual(rt.status(id), "running")
        XCTAssertTrue(waitUntil { (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "sleep\n" },
                      "the init exec'd its process (sh execs sleep)")
        XCTAssertEqual(rt("delete", "-f", id).status, 0)

        // The container's process itself carries the parked init's name (a script's name becomes the comm).
        let id2 = rt.id("named2")
        try writeFile(bundle.rootfs + "/bin/corral:[INIT]", "#!/bin/sh\nsleep 30\n", mode: 0o755)
        bundle.setArgs(["/bin/corral:[INIT]"])
        let pid2 = try rt.createParked(bundle, id: id2)
        XCTAssertEqual(rt("start", id2).status, 0)
        XCTAssertTrue(waitUntil { (try? String(contentsOfFile: "/proc/\(pid2)/comm", encoding: .utf8)) == "corral:[INIT]\n" },
                      "the started process has the init's name")
        XCTAssertEqual(rt.status(id2), "running")
        let list = rt("list")
        XCTAssertTrue(list.stdout.split(separator: "\n").contains { $0.hasPrefix(id2 + " ") && $0.contains(" running ") },
                      "list: \(list)")
    }

    func testDeleteOfCreatedContainerKillsInit() throws {
        let id = rt.id("delcreated")
        bundle.setShell("sleep 30")
        let pid = try rt.createParked(bundle, id: id)
        let d = rt("delete", id)
        XCTAssertEqual(d.status, 0, "delete of a created container succeeds: \(d)")
        XCTAssertTrue(waitUntil { !processIsAlive(pid) }, "created init killed by delete")
        XCTAssertNil(rt.stateJSON(id))
    }

    func testRunDetachThenRunning() throws {
        let id = rt.id("det")
        bundle.setShell("exec sleep 30")
        try bundle.writeConfig()
        let r = rt.call(["run", "--detach", "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "")
        let state = try XCTUnwrap(rt.stateJSON(id))
        XCTAssertEqual(state["status"]?.stringValue, "running")
        let pid = Int(try XCTUnwrap(state["pid"]?.int64Value))
        rt.pidsToKill.append(pid)
        XCTAssertTrue(waitUntil { processCmdline(pid) == "sleep 30" }, "cmdline: \(processCmdline(pid) ?? "-")")
    }

    func testRunKeepLeavesAStoppedContainer() throws {
        let id = rt.id("keep")
        bundle.setShell("exit 3")
        let r = rt.run(bundle, id: id, extra: ["--keep"])
        XCTAssertEqual(r.status, 3, "\(r)")
        let state = try XCTUnwrap(rt.stateJSON(id), "state still known after run --keep")
        XCTAssertEqual(state["status"]?.stringValue, "stopped")
        XCTAssertEqual(state["id"]?.stringValue, id)
        XCTAssertEqual(rt("delete", id).status, 0)
        XCTAssertNil(rt.stateJSON(id))
    }

    func testListTableJsonAndQuiet() throws {
        let a = try startSleeper("la")
        let b = rt.id("lb")
        XCTAssertEqual(rt.create(bundle, id: b).status, 0)

        let table = rt("list")
        XCTAssertEqual(table.status, 0, "\(table)")
        let lines = table.stdout.nonEmptyLines
        let header = try XCTUnwrap(lines.first).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        XCTAssertEqual(Array(header.prefix(6)), ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], "\(table.stdout)")
        XCTAssertEqual(lines.count, 3)
        let rowA = try XCTUnwrap(lines.first { $0.hasPrefix(a + " ") })
        XCTAssertTrue(rowA.contains("running") && rowA.contains(bundle.dir), rowA)
        let rowB = try XCTUnwrap(lines.first { $0.hasPrefix(b + " ") })
        XCTAssertTrue(rowB.contains("created"), rowB)

        for format in [["--format", "json"], ["--format=json"], ["-f", "json"]] {
            let j = rt.call(["list"] + format)
            XCTAssertEqual(j.status, 0, "\(j)")
            let arr = try XCTUnwrap((try? JSONValue.parse(j.stdout))?.arrayValue, "list \(format) is a JSON array: \(j.stdout)")
            XCTAssertEqual(arr.count, 2)
            for item in arr {
                for key in ["id", "pid", "status", "bundle", "created", "owner"] {
                    XCTAssertNotNil(item[key], "list json item has \(key): \(item.serialized())")
                }
                XCTAssertTrue(isRFC3339(item["created"]?.stringValue ?? ""), item.serialized())
                XCTAssertEqual(item["owner"]?.stringValue, "root")
                XCTAssertEqual(item["bundle"]?.stringValue, bundle.dir)
            }
            let byID = Dictionary(uniqueKeysWithValues: arr.compactMap { v in v["id"]?.stringValue.map { ($0, v) } })
            XCTAssertEqual(byID[a]?["status"]?.stringValue, "running")
            XCTAssertEqual(byID[b]?["status"]?.stringValue, "created")
            XCTAssertEqual(byID[a]?["pid"]?.int64Value, rt.stateJSON(a)?["pid"]?.int64Value)
        }

        let q = rt("list", "-q")
        XCTAssertEqual(q.status, 0, "\(q)")
        XCTAssertEqual(q.stdout.nonEmptyLines.sorted(), [a, b].sorted())
    }

    func testListEmptyRootPrintsHeaderOrNothing() throws {
        let j = rt("list", "--format", "json")
        XCTAssertEqual(j.status, 0, "\(j)")
        // runc prints `null` for an empty list; an empty array is equally valid JSON for callers.
        let v = try JSONValue.parse(j.stdout)
        XCTAssertTrue(v.isNull || v.arrayValue?.isEmpty == true, j.stdout)
        let q = rt("list", "-q")
        XCTAssertEqual(q.status, 0)
        XCTAssertEqual(q.stdout, "")
    }

    /// runc main (bats list.bats): `--root` naming a directory that does not exist is an error; without `--root`
    /// a default root that was never made lists nothing.
    func testListWithAGivenRootThatDoesNotExistFails() throws {
        let missing = rt.root + "/does-not-exist"
        let r = runCommand([RuntimeUnderTest.path, "--root", missing, "list"])
        if RuntimeUnderTest.isRunc && r.status == 0 { throw XCTSkip("runc 1.1.5 lists nothing; runc main fails as tested") }
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("no such file or directory"), r.stderr)
    }

    func testDuplicateIdIsRejected() throws {
        let id = rt.id("dup")
        bundle.setShell("sleep 30")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        let pid = rt.stateJSON(id)?["pid"]?.int64Value
        let again = rt.create(bundle, id: id)
        XCTAssertEqual(again.status, 1, "\(again)")
        XCTAssertTrue(again.stderr.contains("already exists"), "\(again)")
        XCTAssertEqual(rt.stateJSON(id)?["pid"]?.int64Value, pid, "the first container is untouched")
        XCTAssertEqual(rt.status(id), "created")
    }

    func testCreatePidFileRelativeToCwd() throws {
        let id = rt.id("relpid")
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let r = rt.call(["create", "--bundle", bundle.dir, "--pid-file", "rel.pid", id], cwd: bundle.dir)
        XCTAssertEqual(r.status, 0, "\(r)")
        let pid = try XCTUnwrap(rt.stateJSON(id)?["pid"]?.int64Value)
        XCTAssertEqual(readFile(bundle.dir + "/rel.pid"), String(pid), "relative --pid-file resolved against cwd")
    }

    func testCreateWithRelativeBundlePath() throws {
        let id = rt.id("relbundle")
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let parent = String(bundle.dir[..<bundle.dir.lastIndex(of: "/")!])
        let name = String(bundle.dir[bundle.dir.index(after: bundle.dir.lastIndex(of: "/")!)...])
        let r = rt.call(["create", "--bundle", name, id], cwd: parent)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(rt.stateJSON(id)?["bundle"]?.stringValue, bundle.dir, "state reports the absolute bundle path")
    }

    func testStateJSONFields() throws {
        let id = rt.id("st")
        bundle.config["annotations"] = ["org.example.key": "value"]
        bundle.setShell("sleep 30")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        let r = rt("state", id)
        XCTAssertEqual(r.status, 0, "\(r)")
        let s = try JSONValue.parse(r.stdout)
        for key in ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"] {
            XCTAssertNotNil(s[key], "state has \(key): \(r.stdout)")
        }
        XCTAssertTrue((s["ociVersion"]?.stringValue ?? "").hasPrefix("1."), r.stdout)
        XCTAssertEqual(s["id"]?.stringValue, id)
        XCTAssertEqual(s["status"]?.stringValue, "created")
        XCTAssertEqual(s["bundle"]?.stringValue, bundle.dir)
        XCTAssertEqual(s["rootfs"]?.stringValue, bundle.rootfs)
        XCTAssertTrue(isRFC3339(s["created"]?.stringValue ?? ""), "created is RFC 3339: \(r.stdout)")
        XCTAssertEqual(s["owner"]?.stringValue, "")
        XCTAssertEqual(s["annotations"]?["org.example.key"]?.stringValue, "value")
    }

    func testAgentBundleRunsHardened() throws {
        // bundles/agent is the use case's hardened container: run its own config.json and
        // report.sh and check the facts the report prints from inside.
        let configText = try XCTUnwrap(readFile(packageRoot + "/bundles/agent/config.json"))
        let script = try XCTUnwrap(readFile(packageRoot + "/bundles/agent/report.sh"))
        bundle.config = try JSONValue.parse(configText)
        try bundle.writeRootfsFile("agent/report.sh", script)
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        let out = r.stdout
        XCTAssertTrue(out.contains("uid=1001(agent) gid=1001(agent)"), out)
        XCTAssertTrue(out.contains("read-only: ") && out.contains("Read-only file system"), out)
        XCTAssertTrue(out.contains("writable: /tmp/probe written and read back"), out)
        XCTAssertTrue(out.contains("\nagent\n"), "hostname agent: \(out)")
        XCTAssertTrue(out.contains("pid 1 comm: sh"), out)
        XCTAssertTrue(out.contains("my pid: 1"), out)
        // Only the loopback interface in the private network namespace.
        XCTAssertTrue(out.nonEmptyLines.contains { $0.trimmed == "interfaces: lo" }, out)
        // Host comparison: every namespace the config asks for differs from ours.
        for ns in ["ipc", "mnt", "net", "pid", "uts"] {
            let host = try XCTUnwrap(readLink("/proc/self/ns/\(ns)"))
            XCTAssertTrue(out.contains("\(ns) -> "), out)
            XCTAssertFalse(out.contains("\(ns) -> \(host)"), "\(ns) namespace is private (host \(host))")
        }
    }

    // MARK: helpers

    /// create + start a container running `sleep 30`; returns its id (state "running").
    private func startSleeper(_ prefix: String, script: String = "exec sleep 30") throws -> String {
        let id = rt.id(prefix)
        bundle.setShell(script)
        let c = rt.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "create: \(c)")
        if let pid = rt.stateJSON(id)?["pid"]?.int64Value { rt.pidsToKill.append(Int(pid)) }
        let s = rt("start", id)
        XCTAssertEqual(s.status, 0, "start: \(s)")
        XCTAssertEqual(rt.status(id), "running")
        return id
    }
}
