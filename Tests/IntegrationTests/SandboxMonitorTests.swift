// Agent sandboxes (items 3, 5 and 6 of the issue): run limits that end runaway containers, seccomp denials that are
// reported and not only refused, the container monitor that does both, and the hash-chained audit trail. Everything
// is asked for through io.corral.* annotations or the policy; runc ignores annotations, so every test skips there.
import XCTest
import Glibc
import CorralSpec

final class SandboxMonitorTests: RuntimeTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("io.corral.* annotations (run limits, seccomp audit mode, audit trail) are corral's own; runc ignores them")
        }
    }

    // MARK: helpers

    private func annotate(_ a: [String: String]) {
        var o = JSONObject()
        for k in a.keys.sorted() { o[k] = .string(a[k]!) }
        bundle.config["annotations"] = .object(o)
    }

    /// state.json as the runtime wrote it (the monitor's record is not in `state`'s output).
    private func record(_ id: String) -> JSONValue? {
        readFile(rt.root + "/" + id + "/state.json").flatMap { try? JSONValue.parse($0) }
    }

    /// Waits until the container is stopped and its result is in `state`; returns the result.
    private func waitForResult(_ id: String, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        var result: JSONValue?
        let ok = waitUntil(timeout: timeout) {
            guard let s = self.rt.stateJSON(id), s["status"]?.stringValue == "stopped", let r = s["result"] else { return false }
            result = r
            return true
        }
        XCTAssertTrue(ok, "no result in state of \(id) within \(timeout) s: \(rt.stateJSON(id).map { $0.serialized() } ?? "no state")",
                      file: file, line: line)
        return result
    }

    /// A default-allow profile that denies what deny_probe calls: EPERM for most, EACCES for chroot, EINVAL for
    /// sethostname with a length above 64 (an argument condition); getpid stays allowed.
    private func probeProfile() -> JSONValue {
        [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                ["names": ["mount", "umount2", "pivot_root", "swapon", "acct", "kexec_load"], "action": "SCMP_ACT_ERRNO"],
                ["names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13],
                ["names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                 "args": [["index": 1, "value": 64, "op": "SCMP_CMP_GT"]]],
            ],
        ]
    }

    private func installDenyProbe() throws {
        let probe = try EscapeProbes.denyProbe()
        let r = runCommand(["install", "-m", "0755", probe, bundle.rootfs + "/deny_probe"])
        guard r.status == 0 else { throw HarnessError("install deny_probe: \(r)") }
    }

    private func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func lines(_ path: String) -> [JSONValue] {
        (readFile(path) ?? "").nonEmptyLines.compactMap { try? JSONValue.parse($0) }
    }

    // MARK: run limits

    func testAWallClockLimitEndsASleepWithTimeout() throws {
        bundle.setArgs(["sleep", "100"])
        annotate(["io.corral.limits.wall": "2s"])
        let id = rt.id("wall")
        let start = monotonic()
        let r = rt.run(bundle, id: id, extra: ["--detach"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let result = waitForResult(id, timeout: 20)
        XCTAssertEqual(result?["reason"]?.stringValue, "timeout", result?.serialized() ?? "")
        XCTAssertEqual(result?["signalName"]?.stringValue, "SIGKILL")
        let elapsed = monotonic() - start
        XCTAssertGreaterThanOrEqual(elapsed, 2, "killed before its limit")
        let file = readFile(rt.root + "/" + id + "/result.json").flatMap { try? JSONValue.parse($0) }
        XCTAssertEqual(file?["reason"]?.stringValue, "timeout", "result.json says the same")
        XCTAssertGreaterThanOrEqual(Double(file?["wallSeconds"]?.numberText ?? "") ?? 0, 2)
    }

    func testACPULimitEndsABurnerWithCPUTimeout() throws {
        bundle.setShell("while :; do :; done")
        annotate(["io.corral.limits.cpu": "1s"])
        let id = rt.id("cpu")
        XCTAssertEqual(rt.run(bundle, id: id, extra: ["--detach"]).status, 0)
        let result = waitForResult(id, timeout: 30)
        XCTAssertEqual(result?["reason"]?.stringValue, "cpu-timeout", result?.serialized() ?? "")
        XCTAssertGreaterThanOrEqual(Double(result?["cpuSeconds"]?.numberText ?? "") ?? 0, 1, "it had its full second")
        XCTAssertLessThan(Double(result?["cpuSeconds"]?.numberText ?? "") ?? 99, 3, "and not much more")
    }

    func testAnOOMKilledInitEndsWithOOM() throws {
        // dd's 64 MiB buffer in a 16 MiB cgroup: the kernel kills the init itself.
        bundle.setArgs(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
        bundle.config["linux"]?["resources"]?["memory"] = ["limit": 16_777_216, "swap": 16_777_216]
        annotate(["io.corral.limits.wall": "60s", "io.corral.seccomp.audit": "true"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        let id = rt.id("oom")
        XCTAssertEqual(rt.run(bundle, id: id, extra: ["--detach"]).status, 0)
        let result = waitForResult(id)
        XCTAssertEqual(result?["reason"]?.stringValue, "oom", result?.serialized() ?? "")
        XCTAssertGreaterThanOrEqual(result?["oomKills"]?.int64Value ?? 0, 1)
        let oomLines = lines(rt.root + "/" + id + "/denials.jsonl").filter { $0["kind"]?.stringValue == "oom" }
        XCTAssertEqual(oomLines.count, 1, "the OOM kill is in the denial stream once")
    }

    func testAPidsLimitHitIsReportedAndIsTheReason() throws {
        bundle.setShell("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait")
        bundle.config["linux"]?["resources"]?["pids"] = ["limit": 4]
        annotate(["io.corral.seccomp.audit": "true"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        let id = rt.id("pids")
        XCTAssertEqual(rt.run(bundle, id: id, extra: ["--detach"]).status, 0)
        let result = waitForResult(id)
        XCTAssertEqual(result?["reason"]?.stringValue, "pids-limit", result?.serialized() ?? "")
        let hits = lines(rt.root + "/" + id + "/denials.jsonl").filter { $0["kind"]?.stringValue == "pids-limit" }
        XCTAssertFalse(hits.isEmpty, "pids-limit hits are in the denial stream")
    }

    func testALimitAnnotationThatIsNoDurationIsRefused() throws {
        annotate(["io.corral.limits.wall": "soon"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("bad"), message: "io.corral.limits.wall") // (the log escapes the quotes)
        XCTAssertTrue(rt.call(["create", "--bundle", bundle.dir, rt.id("bad")]).stderr.contains("expected a positive duration such as"))
    }

    // MARK: the monitor

    func testTheMonitorLivesOutsideTheContainerAndIsGoneAfterDelete() throws {
        bundle.setArgs(["sleep", "100"])
        annotate(["io.corral.limits.wall": "100s"])
        try bundle.writeConfig()
        let id = rt.id("mon")
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        XCTAssertEqual(rt("create", "--bundle", bundle.dir, id).status, 0)
        let monitor = record(id)?["monitor"]
        let pid = Int(monitor?["pid"]?.int64Value ?? 0)
        let cgroups = monitor?["cgroups"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        XCTAssertGreaterThan(pid, 0, "the monitor is recorded")
        XCTAssertTrue(processIsAlive(pid), "the monitor runs")
        XCTAssertFalse(cgroups.isEmpty)
        for d in cgroups {
            XCTAssertTrue(d.hasSuffix("@monitor") && isDirectory(d), "\(d) is the monitor's own cgroup")
        }
        // Its own session, nothing of the caller's: stdio on /dev/null.
        let stat = readFile("/proc/\(pid)/stat") ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        XCTAssertEqual(fields.count > 4 ? Int(fields[3]) : nil, pid, "session leader")
        for fd in 0...2 { XCTAssertEqual(readLink("/proc/\(pid)/fd/\(fd)"), "/dev/null") }
        // It joins them itself once create is done with it.
        let joined = waitUntil(timeout: 5) {
            cgroups.allSatisfy { (readFile($0 + "/cgroup.procs") ?? "").nonEmptyLines.contains(String(pid)) }
        }
        XCTAssertTrue(joined, "the monitor is in its cgroups: \(cgroups.map { readFile($0 + "/cgroup.procs") ?? "-" })")
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        XCTAssertTrue(waitUntil(timeout: 5) { !processIsAlive(pid) }, "the monitor is gone after delete")
        for d in cgroups { XCTAssertFalse(pathExists(d), "\(d) removed") }
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before)
    }

    func testAFailedCreateLeavesNoMonitorAndNoTrail() throws {
        bundle.setArgs(["/nonexistent"])
        annotate(["io.corral.limits.wall": "5s", "io.corral.audit": "true", "io.corral.seccomp.audit": "true"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        // One good container first: the seccomp cache and the trail directory exist before the snapshot.
        let good = rt.id("good")
        bundle.setArgs(["/bin/true"])
        XCTAssertEqual(rt.run(bundle, id: good).status, 0)
        bundle.setArgs(["/nonexistent"])
        try bundle.writeConfig()
        let id = rt.id("fail")
        rt.expectCleanFailure(bundle: bundle, id: id, message: "no such file or directory")
        XCTAssertFalse(pathExists(rt.root + "/.audit/" + id + ".jsonl"), "nothing was recorded for a container that never existed")
    }

    /// CRIU cannot resume the monitor mid-run: checkpoint of a monitored container and restore of a config that
    /// asks for one are refused (the container runs on; nothing is made for the restore's id).
    func testCheckpointAndRestoreOfAMonitoredContainerAreRefused() throws {
        annotate(["io.corral.limits.wall": "60s"])
        bundle.setArgs(["sleep", "60"])
        let id = rt.id("mon-ck")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        let images = try makeTempDir("images")
        let ck = rt("checkpoint", "--image-path", images, id)
        XCTAssertEqual(ck.status, 1, "\(ck)")
        XCTAssertTrue(ck.stderr.contains("checkpoint of a container with run limits, seccomp audit mode or an audit trail is not supported"), "\(ck)")
        XCTAssertEqual(rt.status(id), "running", "a refused checkpoint leaves the container as it was")
        let rsID = rt.id("mon-rs")
        let rs = rt("restore", "--image-path", images, "--bundle", bundle.dir, rsID)
        XCTAssertEqual(rs.status, 1, "\(rs)")
        XCTAssertTrue(rs.stderr.contains("restore of a container with run limits, seccomp audit mode or an audit trail"), "\(rs)")
        XCTAssertFalse(pathExists(rt.root + "/" + rsID), "a refused restore leaves no state directory")
    }

    /// Without a pid namespace of its own a container process could kill the monitor and so escape its limits.
    func testRunLimitsWithoutANewPidNamespaceAreRefused() throws {
        annotate(["io.corral.limits.wall": "5s"])
        let namespaces = bundle.config["linux"]?["namespaces"]?.arrayValue ?? []
        bundle.config["linux"]?["namespaces"] = .array(namespaces.filter { $0["type"]?.stringValue != "pid" })
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("nopid"), message: "run limits need a new pid namespace")
    }

    func testReservedIDsAreRefused() throws {
        try bundle.writeConfig()
        for id in [".audit", ".cache"] {
            let r = rt("create", "--bundle", bundle.dir, id)
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains("\(id)\\\" is reserved: corral keeps"), r.stderr)
        }
    }

    // MARK: seccomp audit mode

    func testEachDeniedSyscallOfTheProbeIsReportedOnceWithItsErrno() throws {
        try installDenyProbe()
        bundle.setArgs(["/deny_probe", "calls"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        annotate(["io.corral.seccomp.audit": "true"])
        let id = rt.id("deny")
        let r = rt.run(bundle, id: id, extra: ["--keep"])
        XCTAssertEqual(r.status, 0, "\(r)")
        var seen: [(String, String)] = []
        for l in r.stdout.nonEmptyLines where l.hasPrefix("CALL ") {
            let w = l.split(separator: " ")
            seen.append((String(w[1]), String(w[2])))
        }
        XCTAssertEqual(seen.count, 9, r.stdout)
        // The container got the profile's own answers...
        let expected: [(String, String)] = [("mount", "EPERM"), ("umount2", "EPERM"), ("pivot_root", "EPERM"), ("swapon", "EPERM"),
                                            ("acct", "EPERM"), ("chroot", "EACCES"), ("sethostname", "EINVAL"), ("kexec_load", "EPERM")]
        for (name, errno) in expected {
            XCTAssertTrue(seen.contains { $0 == (name, errno) }, "\(name) answered \(errno): \(seen)")
        }
        XCTAssertTrue(seen.contains { $0 == ("getpid", "0") }, "getpid is allowed: \(seen)")
        // ...and each denial is in denials.jsonl exactly once, with its name, errno, pid and command.
        let denials = lines(rt.root + "/" + id + "/denials.jsonl").filter { $0["kind"]?.stringValue == "syscall" }
        let reported = denials.map { ($0["syscall"]?.stringValue ?? "", $0["errno"]?.stringValue ?? "") }
        XCTAssertEqual(reported.count, expected.count, "\(reported)")
        for (name, errno) in expected {
            XCTAssertEqual(reported.filter { $0 == (name, errno) }.count, 1, "\(name) \(errno) once in \(reported)")
        }
        for d in denials {
            XCTAssertEqual(d["command"]?.stringValue, "deny_probe")
            XCTAssertGreaterThan(d["pid"]?.int64Value ?? 0, 0)
            XCTAssertEqual(d["args"]?.arrayValue?.count, 6)
            XCTAssertTrue(isRFC3339(d["time"]?.stringValue ?? ""), d.serialized())
        }
        let sethostname = denials.first { $0["syscall"]?.stringValue == "sethostname" }
        XCTAssertEqual(sethostname?["args"]?[1]?.stringValue, "0xffffffffffffffff", "the arguments as the syscall got them")
        XCTAssertEqual(sethostname?["errnoValue"]?.int64Value, 22)
    }

    func testEventsDenialsFollowsTheStreamUntilTheContainerEnds() throws {
        try installDenyProbe()
        bundle.setShell("sleep 1; /deny_probe calls >/dev/null; sleep 1")
        bundle.config["linux"]?["seccomp"] = probeProfile()
        annotate(["io.corral.seccomp.audit": "true"])
        let id = rt.id("follow")
        XCTAssertEqual(rt.run(bundle, id: id, extra: ["--detach"]).status, 0)
        // Started before the denials happen, it returns once the monitor is done.
        let r = rt.call(["events", "--denials", id], timeout: 20)
        XCTAssertEqual(r.status, 0, "\(r)")
        let names = r.stdout.nonEmptyLines.compactMap { try? JSONValue.parse($0) }.compactMap { $0["syscall"]?.stringValue }
        XCTAssertEqual(names, ["mount", "umount2", "pivot_root", "swapon", "acct", "chroot", "sethostname", "kexec_load"], r.stdout)
        XCTAssertEqual(rt.stateJSON(id)?["status"]?.stringValue, "stopped")
    }

    func testExecdProcessesAreAuditedToo() throws {
        try installDenyProbe()
        bundle.setArgs(["sleep", "30"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        annotate(["io.corral.seccomp.audit": "true"])
        let id = rt.id("exec")
        XCTAssertEqual(rt.run(bundle, id: id, extra: ["--detach"]).status, 0)
        let r = rt("exec", id, "/deny_probe", "calls")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.contains("CALL chroot EACCES"), r.stdout)
        let denials = lines(rt.root + "/" + id + "/denials.jsonl").filter { $0["kind"]?.stringValue == "syscall" }
        XCTAssertEqual(denials.count, 8, denials.map { $0.serialized() }.joined(separator: "\n"))
    }

    func testADenialStormIsAnsweredAndRateLimited() throws {
        try installDenyProbe()
        bundle.setArgs(["/deny_probe", "bench-denied", "2000"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        annotate(["io.corral.seccomp.audit": "true"])
        let id = rt.id("storm")
        let r = rt.run(bundle, id: id, extra: ["--keep"], timeout: 60)
        XCTAssertEqual(r.status, 0, "\(r)")
        let all = lines(rt.root + "/" + id + "/denials.jsonl")
        let logged = all.filter { $0["kind"]?.stringValue == "syscall" }.count
        let suppressed = all.filter { $0["kind"]?.stringValue == "suppressed" }.compactMap { $0["count"]?.int64Value }.reduce(0, +)
        XCTAssertEqual(Int64(logged) + suppressed, 10_000, "every denial is either a line or counted in a summary")
        XCTAssertLessThan(logged, 1000, "the log is rate-limited: \(logged) lines")
    }

    /// Not a timed test: prints what an allowed syscall costs with and without audit mode (the README quotes it),
    /// and checks that both containers ran the loop.
    func testAllowedSyscallSpeedWithAndWithoutAuditMode() throws {
        try installDenyProbe()
        var figures: [String: Double] = [:]
        for audit in [false, true] {
            bundle.setArgs(["/deny_probe", "bench", "2000000"])
            bundle.config["linux"]?["seccomp"] = (try? DockerSeccomp.defaultProfile()) ?? probeProfile()
            annotate(audit ? ["io.corral.seccomp.audit": "true"] : [:])
            let r = rt.run(bundle, id: rt.id("bench"), timeout: 60)
            XCTAssertEqual(r.status, 0, "\(r)")
            let line = r.stdout.nonEmptyLines.first { $0.hasPrefix("BENCH getppid ") }
            let ns = line.flatMap { Double($0.split(separator: " ").last ?? "") }
            XCTAssertNotNil(ns, r.stdout)
            figures[audit ? "audit" : "plain"] = ns
        }
        print("seccomp audit mode: allowed getppid \(figures["plain"] ?? 0) ns/call without, \(figures["audit"] ?? 0) ns/call with")
    }

    // MARK: the audit trail

    func testTheAuditTrailRecordsTheLifeOfAContainerAndSurvivesDelete() throws {
        try installDenyProbe()
        bundle.setArgs(["sleep", "30"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        annotate(["io.corral.audit": "true", "io.corral.seccomp.audit": "true"])
        let id = rt.id("trail")
        try bundle.writeConfig()
        XCTAssertEqual(rt("create", "--bundle", bundle.dir, id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertEqual(rt.call(["exec", "--env", "API_TOKEN=s3cret", id, "/deny_probe", "calls"]).status, 0)
        XCTAssertEqual(rt("pause", id).status, 0)
        XCTAssertEqual(rt("resume", id).status, 0)
        XCTAssertEqual(rt("update", "--pids-limit", "50", id).status, 0)
        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        XCTAssertEqual(rt("delete", id).status, 0)
        let path = rt.root + "/.audit/" + id + ".jsonl"
        let text = readFile(path) ?? ""
        XCTAssertFalse(text.contains("s3cret"), "environment values never reach the trail")
        let events = lines(path)
        let names = events.compactMap { $0["event"]?.stringValue }
        for e in ["created", "started", "exec", "denied", "paused", "resumed", "updated", "signalled", "exited", "deleted"] {
            XCTAssertTrue(names.contains(e), "\(e) in \(names)")
        }
        XCTAssertEqual(names.first, "created")
        XCTAssertEqual(names.last, "deleted")
        let created = events.first
        let iso = created?["isolation"]
        XCTAssertNotNil(iso?["capabilities"]?["bounding"]?.arrayValue, created?.serialized() ?? "")
        XCTAssertEqual(iso?["noNewPrivileges"]?.boolValue, true)
        XCTAssertEqual(iso?["seccomp"]?["profileSHA256"]?.stringValue?.count, 64)
        XCTAssertEqual(iso?["mounts"]?.arrayValue?.first { $0["destination"]?.stringValue == "/sys" }?["mode"]?.stringValue, "ro")
        let exec = events.first { $0["event"]?.stringValue == "exec" }
        XCTAssertEqual(exec?["envKeys"]?.arrayValue?.contains(.string("API_TOKEN")), true, exec?.serialized() ?? "")
        let signalled = events.first { $0["event"]?.stringValue == "signalled" }
        XCTAssertEqual(signalled?["signalName"]?.stringValue, "SIGKILL")
        let updated = events.first { $0["event"]?.stringValue == "updated" }
        XCTAssertEqual(updated?["after"]?["pids.max"]?.stringValue, "50", updated?.serialized() ?? "")
        let exited = events.first { $0["event"]?.stringValue == "exited" }
        XCTAssertEqual(exited?["reason"]?.stringValue, "signal")
        let seqs = events.compactMap { $0["seq"]?.int64Value }
        XCTAssertEqual(seqs, Array(1...Int64(events.count)))
        let v = rt.callRaw(["--root", rt.root, "audit", "verify", id])
        XCTAssertEqual(v.status, 0, "\(v)")
        XCTAssertTrue(v.stdout.contains("\(events.count) lines, chain intact"), v.stdout)
    }

    func testATamperedLineFailsVerifyNamingTheLine() throws {
        bundle.setArgs(["/bin/true"])
        annotate(["io.corral.audit": "true"])
        let id = rt.id("tamper")
        XCTAssertEqual(rt.run(bundle, id: id).status, 0)
        let path = rt.root + "/.audit/" + id + ".jsonl"
        var lines = (readFile(path) ?? "").nonEmptyLines
        XCTAssertGreaterThanOrEqual(lines.count, 4, lines.joined(separator: "\n"))
        XCTAssertEqual(rt.callRaw(["--root", rt.root, "audit", "verify", id]).status, 0)
        // Line 2 says the init was another process.
        guard let started = lines.firstIndex(where: { $0.contains("\"event\":\"started\"") }) else { return XCTFail("no started line") }
        guard let at = lines[started].firstRange(of: "\"pid\":") else { return XCTFail("no pid in \(lines[started])") }
        lines[started].insert("1", at: at.upperBound)
        try writeFile(path, lines.joined(separator: "\n") + "\n")
        let v = rt.callRaw(["--root", rt.root, "audit", "verify", id])
        XCTAssertEqual(v.status, 1, "\(v)")
        XCTAssertTrue(v.stderr.contains("line \(started + 2): prev is not the SHA-256 of line \(started + 1)"), v.stderr)
        // A copy of the trail is checked the same way.
        let copy = bundle.dir + "/trail-copy.jsonl"
        try writeFile(copy, lines.dropLast().joined(separator: "\n") + "\n")
        XCTAssertEqual(rt.callRaw(["--root", rt.root, "audit", "verify", copy]).status, 1)
    }

    func testThePolicyForcesAuditAndItsSinkGetsEveryLine() throws {
        let sink = bundle.dir + "/sink.jsonl"
        let policy = bundle.dir + "/policy.json"
        try writeFile(policy, #"{"audit": {"enabled": true, "sink": "\#(sink)"}, "seccompAudit": true, "runLimits": {"wall": "30s"}}"#)
        bundle.setArgs(["/bin/true"])
        bundle.config["linux"]?["seccomp"] = probeProfile()
        let id = rt.id("policy")
        try bundle.writeConfig()
        XCTAssertEqual(rt.call(["--policy", policy, "run", "--bundle", bundle.dir, id]).status, 0)
        let trail = readFile(rt.root + "/.audit/" + id + ".jsonl") ?? ""
        XCTAssertFalse(trail.isEmpty, "the policy turned the trail on")
        XCTAssertEqual(readFile(sink), trail, "the sink has every line")
        let created = lines(sink).first
        XCTAssertEqual(created?["sandbox"]?["seccompAudit"]?.boolValue, true)
        XCTAssertEqual(created?["sandbox"]?["wallLimit"]?.numberText, "30.000")
        // Switching it off is loosening the policy.
        annotate(["io.corral.audit": "false"])
        try bundle.writeConfig()
        let r = rt.call(["--policy", policy, "create", "--bundle", bundle.dir, rt.id("off")])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("loosens the policy's audit.enabled"), r.stderr)
        annotate(["io.corral.limits.wall": "1h"])
        try bundle.writeConfig()
        let w = rt.call(["--policy", policy, "create", "--bundle", bundle.dir, rt.id("long")])
        XCTAssertTrue(w.stderr.contains("loosens the policy's runLimits.wall"), w.stderr)
    }
}
