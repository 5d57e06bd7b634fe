// Agent sandboxes without containers: the audit trail's chain and line format, the settings from annotations and
// policy (tighten, not loosen), the seccomp audit rewrite and the monitor's BPF evaluation, the run result's reason,
// the denial log's rate limit and the monitor's messages.
import XCTest
import Glibc
import CCorralHost
@testable import CorralRuntime
import CorralSpec

final class SandboxTests: XCTestCase {
    private var scratch = ""

    override func setUp() {
        super.setUp()
        scratch = makeScratchDir()
    }

    override func tearDown() {
        removeTree(scratch)
        super.tearDown()
    }

    // MARK: audit trail

    func testTheFirstLineChainsToZerosAndEveryLineToTheOneBefore() throws {
        let trail = AuditTrail(root: scratch, id: "c1", sink: nil)
        let one = try trail.append("created", JSONObject([("pid", JSONValue(42))]), warn: { XCTFail($0) })
        let two = try trail.append("started", warn: { XCTFail($0) })
        let three = try trail.append("exited", JSONObject([("reason", "exit"), ("exitCode", JSONValue(0))]), warn: { XCTFail($0) })
        let text = readText(scratch + "/.audit/c1.jsonl")
        XCTAssertEqual(text, one + "\n" + two + "\n" + three + "\n")
        let first = try JSONValue.parse(one)
        XCTAssertEqual(first["seq"]?.int64Value, 1)
        XCTAssertEqual(first["prev"]?.stringValue, String(repeating: "0", count: 64))
        XCTAssertEqual(first["event"]?.stringValue, "created")
        XCTAssertEqual(first["id"]?.stringValue, "c1")
        XCTAssertEqual(first["pid"]?.int64Value, 42)
        let second = try JSONValue.parse(two)
        XCTAssertEqual(second["seq"]?.int64Value, 2)
        XCTAssertEqual(second["prev"]?.stringValue, SHA256.hex(SHA256.digest(Array(one.utf8))))
        XCTAssertEqual(try JSONValue.parse(three)["prev"]?.stringValue, SHA256.hex(SHA256.digest(Array(two.utf8))))
        // The chain's keys come first, in this order, then the event's own.
        XCTAssertTrue(one.hasPrefix(#"{"seq":1,"time":""#), one)
        XCTAssertTrue(one.contains(#"","event":"created","id":"c1","prev":"0000"#), one)
        XCTAssertEqual(AuditTrail.verify(Array(text.utf8)), AuditTrail.Verdict(lines: 3, problem: nil))
        XCTAssertEqual(statMode(scratch + "/.audit/c1.jsonl") & 0o777, 0o600)
    }

    func testVerifyNamesTheLineWhereTheChainBreaks() throws {
        let trail = AuditTrail(root: scratch, id: "c2", sink: nil)
        for e in ["created", "started", "signalled", "exited", "deleted"] { try trail.append(e, warn: { XCTFail($0) }) }
        let good = readText(trail.path).split(separator: "\n").map(String.init)
        func verdict(_ lines: [String], newline: Bool = true) -> AuditTrail.Verdict {
            AuditTrail.verify(Array((lines.joined(separator: "\n") + (newline ? "\n" : "")).utf8))
        }
        var changed = good
        changed[2] = changed[2].replacingFirst("signalled", with: "paused")
        XCTAssertEqual(verdict(changed).problem?.line, 4)
        XCTAssertEqual(verdict(changed).problem?.text, "prev is not the SHA-256 of line 3 (line 3 was changed, or lines were removed or inserted)")
        var removed = good
        removed.remove(at: 1)
        XCTAssertEqual(verdict(removed).problem?.line, 2)
        XCTAssertEqual(verdict(removed).problem?.text.hasPrefix("seq is 3, expected 2"), true)
        var garbage = good
        garbage[3] = "{not json"
        XCTAssertEqual(verdict(garbage).problem?.line, 4)
        XCTAssertEqual(verdict(garbage).problem?.text, "not a JSON object")
        XCTAssertEqual(verdict(good, newline: false).problem?.line, 5, "a torn last line")
        var otherID = good
        otherID[0] = otherID[0].replacingFirst(#""id":"c2""#, with: #""id":"zz""#)
        XCTAssertEqual(verdict(otherID).problem?.line, 2, "line 1 changed: line 2's prev no longer matches")
        XCTAssertEqual(AuditTrail.verify([]).problem?.text, "the trail is empty")
    }

    func testATornLastLineIsKeptAndTheNextAppendStartsAFreshLine() throws {
        let trail = AuditTrail(root: scratch, id: "c3", sink: nil)
        try trail.append("created", warn: { XCTFail($0) })
        let fd = open(trail.path, O_WRONLY | O_APPEND)
        _ = Array(#"{"seq":2,"ti"#.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try trail.append("exited", warn: { XCTFail($0) })
        let text = readText(trail.path)
        XCTAssertEqual(text.split(separator: "\n").count, 3, text)
        XCTAssertEqual(AuditTrail.verify(Array(text.utf8)).problem?.line, 2, "the torn line is what verify reports")
    }

    func testTheFileSinkGetsTheSameLinesAndAMissingSocketIsAWarning() throws {
        let sink = scratch + "/sink.jsonl"
        let trail = AuditTrail(root: scratch, id: "c4", sink: sink)
        try trail.append("created", warn: { XCTFail($0) })
        try trail.append("deleted", warn: { XCTFail($0) })
        XCTAssertEqual(readText(sink), readText(trail.path))
        var warnings: [String] = []
        let bad = AuditTrail(root: scratch, id: "c5", sink: "unix:" + scratch + "/nobody.sock")
        try bad.append("created", warn: { warnings.append($0) })
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.contains("connect: no such file or directory") ?? false, "\(warnings)")
        XCTAssertEqual(AuditTrail.verify(Array(readText(bad.path).utf8)).lines, 1, "the trail is written anyway")
    }

    func testADatagramSocketSinkGetsOneLinePerDatagram() throws {
        let path = scratch + "/sink.sock"
        let sock = corral_listen_unix_dgram(path)
        XCTAssertGreaterThanOrEqual(sock, 0)
        defer { close(sock) }
        let trail = AuditTrail(root: scratch, id: "c6", sink: "unix:" + path)
        let line = try trail.append("created", warn: { XCTFail($0) })
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(sock, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        XCTAssertEqual(n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "", line + "\n")
    }

    // MARK: settings

    private func policy(_ text: String) throws -> Policy { try Policy.parse(try JSONValue.parse(text), source: "p.json") }

    func testThePolicyParsesAuditSeccompAuditAndRunLimits() throws {
        let p = try policy(#"{"audit": {"enabled": true, "sink": "unix:/run/audit.sock"}, "seccompAudit": true, "runLimits": {"wall": "1h", "cpu": "90s"}}"#)
        XCTAssertEqual(p.auditEnabled, true)
        XCTAssertEqual(p.auditSink, "unix:/run/audit.sock")
        XCTAssertEqual(p.seccompAudit, true)
        XCTAssertEqual(p.wallLimit, 3600)
        XCTAssertEqual(p.cpuLimit, 90)
        for (text, message) in [
            (#"{"audit": {"sink": "relative.jsonl"}}"#, #"policy p.json: audit.sink: "relative.jsonl" is neither an absolute file path nor unix:/path"#),
            (#"{"audit": {"rotate": true}}"#, "policy p.json: audit.rotate: unknown setting (known: enabled, sink)"),
            (#"{"runLimits": {"wall": "forever"}}"#, #"policy p.json: runLimits.wall: expected a positive duration such as "30s" or "1h""#),
            (#"{"runLimits": {"memory": "1s"}}"#, "policy p.json: runLimits.memory: unknown limit (known: cpu, wall)"),
            (#"{"seccompAudit": "yes"}"#, "policy p.json: seccompAudit: expected a boolean"),
        ] {
            XCTAssertThrowsError(try policy(text), text) { XCTAssertEqual(($0 as? RuntimeError)?.message, message) }
        }
    }

    func testAnnotationsAskForTheMonitorAndMayOnlyTightenThePolicy() throws {
        let none = try SandboxSettings.resolve(annotations: ["io.corral.other": "x"], policy: nil, hasSeccomp: true)
        XCTAssertFalse(none.needsMonitor)
        let s = try SandboxSettings.resolve(annotations: ["io.corral.limits.wall": "2s", "io.corral.limits.cpu": "1.5s",
                                                          "io.corral.seccomp.audit": "true", "io.corral.audit": "true"],
                                            policy: nil, hasSeccomp: true)
        XCTAssertEqual(s, SandboxSettings(wallLimit: 2, cpuLimit: 1.5, seccompAudit: true, audit: true, auditSink: nil))
        let p = try policy(#"{"audit": {"enabled": true, "sink": "/var/log/a.jsonl"}, "seccompAudit": true, "runLimits": {"wall": "60s"}}"#)
        let forced = try SandboxSettings.resolve(annotations: [:], policy: p, hasSeccomp: true)
        XCTAssertEqual(forced, SandboxSettings(wallLimit: 60, cpuLimit: nil, seccompAudit: true, audit: true, auditSink: "/var/log/a.jsonl"))
        XCTAssertEqual(try SandboxSettings.resolve(annotations: [:], policy: p, hasSeccomp: false).seccompAudit, false,
                       "a forced audit mode leaves a container without a profile alone")
        XCTAssertEqual(try SandboxSettings.resolve(annotations: ["io.corral.limits.wall": "10s"], policy: p, hasSeccomp: true).wallLimit, 10)
        for (key, value, message) in [
            ("io.corral.limits.wall", "2m", #"annotations["io.corral.limits.wall"]: "2m" loosens the policy's runLimits.wall (the policy does not allow that)"#),
            ("io.corral.audit", "false", #"annotations["io.corral.audit"]: "false" loosens the policy's audit.enabled (the policy does not allow that)"#),
            ("io.corral.seccomp.audit", "false", #"annotations["io.corral.seccomp.audit"]: "false" loosens the policy's seccompAudit (the policy does not allow that)"#),
            ("io.corral.limits.cpu", "-1s", #"annotations["io.corral.limits.cpu"]: expected a positive duration such as "30s" or "2m", got "-1s""#),
            ("io.corral.audit", "yes", #"annotations["io.corral.audit"]: expected "true" or "false", got "yes""#),
        ] {
            XCTAssertThrowsError(try SandboxSettings.resolve(annotations: [key: value], policy: p, hasSeccomp: true)) {
                XCTAssertEqual(($0 as? RuntimeError)?.message, message)
            }
        }
        XCTAssertThrowsError(try SandboxSettings.resolve(annotations: ["io.corral.seccomp.audit": "true"], policy: nil, hasSeccomp: false)) {
            XCTAssertEqual(($0 as? RuntimeError)?.message, #"annotations["io.corral.seccomp.audit"]: the container has no linux.seccomp profile to audit"#)
        }
        var loose = p
        loose.allowLooseningAnnotations = true
        XCTAssertEqual(try SandboxSettings.resolve(annotations: ["io.corral.audit": "false"], policy: loose, hasSeccomp: true).audit, false)
    }

    // MARK: seccomp audit mode

    private func auditProfile() -> Seccomp {
        Seccomp(defaultAction: .SCMP_ACT_ERRNO, syscalls: [
            rule(["read", "write", "close", "exit_group", "sendmsg", "sendto", "recvfrom", "recvmsg", "poll", "ppoll", "getpid"], .SCMP_ACT_ALLOW),
            rule(["chroot"], .SCMP_ACT_ERRNO, errno: 13),
            rule(["personality"], .SCMP_ACT_ALLOW, args: [arg(0, .SCMP_CMP_EQ, 0)]),
            rule(["personality"], .SCMP_ACT_ERRNO, errno: 22, args: [arg(0, .SCMP_CMP_NE, 0)]),
            rule(["ptrace"], .SCMP_ACT_KILL_PROCESS),
        ])
    }

    func testTheAuditFormNotifiesWhereTheProfileAnsweredAnErrnoAndNowhereElse() throws {
        let (_, program, _) = try compileProfile(auditProfile())
        let audit = try SeccompAudit.plan(program, field: "f")
        XCTAssertEqual(audit.filter.count, program.filter.count, "the same instructions")
        XCTAssertNotEqual(audit.flags & SeccompProfile.flagNewListener, 0)
        let original = BPFProgram(program.filter), rewritten = BPFProgram(audit.filter)
        let cases: [(Int32, [UInt64])] = [(nr("getpid"), []), (nr("chroot"), []), (nr("mount"), []), (nr("personality"), [0]),
                                          (nr("personality"), [8]), (nr("ptrace"), []), (nr("read"), []), (999, [])]
        for (n, args) in cases {
            let before = original.run(nr: n, args: args)!, after = rewritten.run(nr: n, args: args)!
            if before & 0xffff_0000 == Ret.errno(0) {
                XCTAssertEqual(after, Ret.notify, "syscall \(n) \(args): ERRNO became NOTIFY")
            } else {
                XCTAssertEqual(after, before, "syscall \(n) \(args): anything else is as it was")
            }
            // The monitor's evaluation of the original gives the kernel's answer.
            XCTAssertEqual(SeccompAudit.evaluate(program.filter, nr: n, arch: AuditArch.x86_64, args: args), before)
        }
        XCTAssertEqual(SeccompAudit.evaluate(program.filter, nr: nr("chroot"), arch: AuditArch.x86_64, args: []), Ret.errno(13))
        XCTAssertEqual(SeccompAudit.evaluate(program.filter, nr: nr("personality"), arch: AuditArch.x86_64, args: [8]), Ret.errno(22))
    }

    func testTheMonitorsInterpreterAgreesWithTheReferenceOnDockersShapeOfProfile() throws {
        // Many rules, argument conditions on several arguments and a 64-bit mask: the binary tree libseccomp emits.
        let profile = Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 1, architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86, .SCMP_ARCH_X32], syscalls: [
            rule(["read", "write", "openat", "close", "mmap", "brk", "futex", "getpid", "getppid", "clone3"], .SCMP_ACT_ALLOW),
            rule(["clone"], .SCMP_ACT_ALLOW, args: [arg(0, .SCMP_CMP_MASKED_EQ, 0x7E02_0000, 0)]),
            rule(["socket"], .SCMP_ACT_ERRNO, errno: 97, args: [arg(0, .SCMP_CMP_EQ, 40)]),
            rule(["mmap"], .SCMP_ACT_ERRNO, errno: 12, args: [arg(2, .SCMP_CMP_GE, 7), arg(3, .SCMP_CMP_LT, 2)]),
            rule(["clone3"], .SCMP_ACT_ERRNO, errno: 38),
        ])
        let (reference, program, _) = try compileProfile(profile)
        let mine = SeccompBPF(program.filter)
        let names = ["read", "clone", "socket", "mmap", "mount", "clone3", "getppid", "ptrace"]
        let argSets: [[UInt64]] = [[], [40], [0x7E02_0000], [0x1_0000_0000_0000], [0, 0, 7, 1], [0, 0, 8, 3], [UInt64.max]]
        for name in names {
            for args in argSets {
                for arch in [AuditArch.x86_64, AuditArch.i386] {
                    let n = nr(name)
                    XCTAssertEqual(mine.run(nr: n, arch: arch, ip: 0, args: args), reference.run(nr: n, arch: arch, args: args),
                                   "\(name) \(args) on 0x\(String(arch, radix: 16))")
                }
            }
        }
        XCTAssertEqual(mine.run(nr: nr("mount") | AuditArch.x32Bit, arch: AuditArch.x86_64, ip: 0, args: []),
                       reference.run(nr: nr("mount") | AuditArch.x32Bit, args: []))
    }

    func testAuditModeRefusesAProfileItCannotAudit() throws {
        var notify = auditProfile()
        notify.listenerPath = "/run/agent.sock"
        notify.syscalls?.append(rule(["mknod"], .SCMP_ACT_NOTIFY))
        let (_, p1, _) = try compileProfile(notify)
        XCTAssertThrowsError(try SeccompAudit.plan(p1, field: #"annotations["io.corral.seccomp.audit"]"#)) {
            XCTAssertEqual(($0 as? RuntimeError)?.message,
                           #"annotations["io.corral.seccomp.audit"]: the profile already gives its listener to linux.seccomp.listenerPath; audit mode needs it"#)
        }
        let noSendmsg = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["sendmsg"], .SCMP_ACT_ERRNO)])
        let (_, p2, _) = try compileProfile(noSendmsg)
        XCTAssertThrowsError(try SeccompAudit.plan(p2, field: "f")) {
            XCTAssertEqual(($0 as? RuntimeError)?.message,
                           "f: the profile denies sendmsg, which the container's first process needs to hand the audit listener over")
        }
    }

    // MARK: result, denial log, messages

    func testTheReasonAContainerEnded() {
        XCTAssertEqual(RunResult.decide(status: 0, killedFor: nil, oomKills: 0, pidsLimitHits: 0).reason, .exit)
        XCTAssertEqual(RunResult.decide(status: 3 << 8, killedFor: nil, oomKills: 0, pidsLimitHits: 0).exitCode, 3)
        let killed = RunResult.decide(status: SIGKILL, killedFor: .timeout, oomKills: 0, pidsLimitHits: 0)
        XCTAssertEqual(killed.reason, .timeout)
        XCTAssertEqual(killed.signal, SIGKILL)
        XCTAssertNil(killed.exitCode)
        XCTAssertEqual(RunResult.decide(status: SIGKILL, killedFor: nil, oomKills: 1, pidsLimitHits: 0).reason, .oom)
        XCTAssertEqual(RunResult.decide(status: 0, killedFor: nil, oomKills: 1, pidsLimitHits: 0).reason, .exit,
                       "an OOM kill of another process does not explain a clean exit")
        XCTAssertEqual(RunResult.decide(status: 2 << 8, killedFor: nil, oomKills: 0, pidsLimitHits: 4).reason, .pidsLimit)
        XCTAssertEqual(RunResult.decide(status: 0, killedFor: nil, oomKills: 0, pidsLimitHits: 4).reason, .exit)
        XCTAssertEqual(RunResult.decide(status: SIGTERM, killedFor: nil, oomKills: 0, pidsLimitHits: 0).reason, .signal)
        XCTAssertEqual(RunResult.decide(status: nil, killedFor: nil, oomKills: 0, pidsLimitHits: 0).reason, .unknown)
        var r = RunResult.decide(status: SIGKILL | 0x80, killedFor: .cpuTimeout, oomKills: 0, pidsLimitHits: 0)
        r.finished = "2026-01-01T00:00:00Z"
        r.cpuSeconds = 1.0204
        r.cpuLimit = 1
        XCTAssertEqual(JSONValue.object(r.json()).serialized(),
                       #"{"reason":"cpu-timeout","signal":9,"signalName":"SIGKILL","coreDumped":true,"finished":"2026-01-01T00:00:00Z","cpuSeconds":1.020,"oomKills":0,"pidsLimitHits":0,"limits":{"cpu":1.000}}"#)
    }

    func testTheDenialLogsRateLimitHoldsBackAndSummarises() throws {
        let path = scratch + "/denials.jsonl"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let log = DenialLog(fd: fd, burst: 3, perSecond: 2, now: 100)
        var mirrored = 0
        log.onLine = { _ in mirrored += 1 }
        var n = corral_notif()
        n.nr = nr("mount")
        n.arch = AuditArch.x86_64
        n.pid = 7
        var written = 0
        for _ in 0..<10 {
            if log.admit(now: 100) { log.write(DenialLog.syscall(n, errno: EPERM, command: "sh")); written += 1 } else { log.suppress(arch: n.arch, nr: n.nr) }
        }
        XCTAssertEqual(written, 3, "the burst")
        XCTAssertTrue(log.admit(now: 100.5), "one more after half a second at 2/s")
        XCTAssertFalse(log.admit(now: 100.5))
        log.flushSuppressed(now: 101)
        let lines = readText(path).split(separator: "\n").map { try? JSONValue.parse(String($0)) }
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(mirrored, 4)
        XCTAssertEqual(lines[0]?["syscall"]?.stringValue, "mount")
        XCTAssertEqual(lines[0]?["errno"]?.stringValue, "EPERM")
        XCTAssertEqual(lines[0]?["errnoValue"]?.int64Value, 1)
        XCTAssertEqual(lines[0]?["arch"]?.stringValue, "x86_64")
        XCTAssertEqual(lines[0]?["command"]?.stringValue, "sh")
        XCTAssertEqual(lines[3]?["kind"]?.stringValue, "suppressed")
        XCTAssertEqual(lines[3]?["count"]?.int64Value, 7)
        XCTAssertEqual(lines[3]?["syscalls"]?["mount"]?.int64Value, 7)
        XCTAssertFalse(log.hasSuppressed)
        XCTAssertEqual(DenialLog.syscallName(arch: AuditArch.i386, nr: 21), "mount", "i386 numbers are the i386 table's")
    }

    func testTheMonitorsConfigAndRecordRoundTrip() throws {
        var c = MonitorConfig()
        var set = CgroupSet()
        set.add("memory", "/sys/fs/cgroup/memory/x")
        set.add("", "/sys/fs/cgroup/unified/x")
        c.cgroups = set
        c.wallLimit = 2
        c.cpuLimit = 0.5
        c.seccompAudit = true
        c.filter = [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]
        c.audit = true
        c.auditSink = "unix:/run/a.sock"
        XCTAssertEqual(MonitorConfig(json: try JSONValue.parse(c.json().serialized())), c)
        var r = MonitorRecord(SandboxSettings(wallLimit: 2, cpuLimit: nil, seccompAudit: true, audit: false, auditSink: nil))
        r.pid = 42
        r.startTime = 99
        r.cgroups = ["/sys/fs/cgroup/pids/x@monitor"]
        XCTAssertEqual(MonitorRecord(json: try JSONValue.parse(r.json().serialized())), r)
        var state = ContainerState(id: "x", pid: 1, pidStartTime: 2, bundle: "/b", rootfs: "/b/r", created: "t", owner: "root",
                                   annotations: [:], ociVersion: Version.spec)
        XCTAssertNil(state.json()["monitor"], "no monitor, no key")
        state.monitor = r
        XCTAssertEqual(try ContainerState(json: state.json()).monitor, r)
    }

    func testCorralsOwnNamesUnderTheRootAreNoContainerIDs() {
        for id in [".audit", ".cache"] {
            XCTAssertThrowsError(try StateStore.validate(id: id)) {
                XCTAssertTrue(($0 as? RuntimeError)?.message.hasPrefix("container ID \"\(id)\" is reserved") ?? false)
            }
        }
        XCTAssertNoThrow(try StateStore.validate(id: ".audit2"))
    }

    // MARK: helpers

    private func readText(_ path: String) -> String { (try? Files.read(path)).map { String(decoding: $0, as: UTF8.self) } ?? "" }

    private func statMode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode : 0
    }
}

private extension String {
    func replacingFirst(_ a: String, with b: String) -> String {
        guard let r = firstRange(of: a) else { return self }
        var s = self
        s.replaceSubrange(r, with: b)
        return s
    }
}

/// A bound datagram socket at `path` (the test's audit sink), or -errno.
private func corral_listen_unix_dgram(_ path: String) -> Int32 {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    if fd < 0 { return -errno }
    let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    if r < 0 { close(fd); return -errno }
    return fd
}
