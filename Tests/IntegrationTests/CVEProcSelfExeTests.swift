// CVE-2019-5736 (and the CVE-2016-9962 half that concerns the parked init): a container process must never get
// a writable handle on the host's runtime binary. The attack: make the runtime execute itself inside the
// container (args ["/proc/self/exe"], a "#!/proc/self/exe" script, or an entrypoint swapped for a symlink to
// /proc/self/exe after the exec lookup), grab /proc/<pid>/exe from a second process in the same pid namespace,
// and write through that handle once the runtime process has exited (ETXTBSY only protects a running binary).
//
// These tests run a COPY of the runtime binary (so a vulnerable runtime corrupts only the copy) and check from
// the host that the SHA-256 of the copy and of the original are unchanged. The attacker is a "sibling"
// container that owns the pid namespace the victim container joins, driven step by step through files in a
// shared host directory. The victim runs the runtime binary with `--log /shared/fifo`: opening a FIFO blocks,
// which keeps the runtime binary running inside the container for as long as the attacker needs.
import XCTest
import Glibc
import CorralSpec

final class CVEProcSelfExeTests: CVETestCase {
    private var copyPath = ""
    private var copyHash = ""
    private var originalHash = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        let dir = try makeHostDir("runtime-copy")
        copyPath = dir + "/" + RuntimeUnderTest.name
        let cp = runCommand(["cp", RuntimeUnderTest.path, copyPath], timeout: 60)
        guard cp.status == 0 else { throw HarnessError("copying the runtime binary failed: \(cp)") }
        copyHash = sha256(ofFile: copyPath)
        originalHash = sha256(ofFile: RuntimeUnderTest.path)
        XCTAssertEqual(copyHash.count, 64, "sha256sum of \(copyPath)")
        XCTAssertEqual(copyHash, originalHash)
    }

    /// The attacker: pid 1 of the pid namespace the victim joins. Step 1 (victim parked in `create`): read,
    /// write and hold /proc/<pid>/exe and read /proc/<pid>/environ; optionally swap /shared/x for a symlink to
    /// /proc/self/exe. Step 2 (victim started): the same on the started process, then release its --log FIFO,
    /// wait for it to exit and write through every handle still held.
    private static let attacker = siblingPrelude + """
        waitfor go1
        P=$(cat $S/pid)
        record p1-read cat /proc/$P/exe
        record p1-write sh -c 'echo x >> "$1"' - /proc/$P/exe
        record p1-environ cat /proc/$P/environ
        sleep 100000 7</proc/$P/exe 2>$S/p1-hold.err &
        H1=$!
        if [ -e $S/swap ]; then rm -f $S/x && ln -s /proc/self/exe $S/x && echo swapped > $S/swapped; fi
        touch $S/done1
        waitfor go2
        readlink /proc/$P/exe > $S/p2-link 2>&1
        record p2-read cat /proc/$P/exe
        record p2-write sh -c 'echo x >> "$1"' - /proc/$P/exe
        sleep 100000 7</proc/$P/exe 2>$S/p2-hold.err &
        H2=$!
        usleep 200000
        timeout 5 cat $S/fifo >/dev/null 2>&1 &
        i=0; while readlink /proc/$P/exe >/dev/null 2>&1 && [ $i -lt 500 ]; do usleep 20000; i=$((i+1)); done
        for h in $H1 $H2; do
            if [ -e /proc/$h/fd/7 ]; then
                echo "$h $(readlink /proc/$h/fd/7)" >> $S/held
                record p3-write-$h sh -c 'echo x >> "$1"' - /proc/$h/fd/7
            fi
        done
        kill $H1 $H2 2>/dev/null
        touch $S/done
        """

    /// What one attack run observed.
    private struct Outcome {
        var create: ProcResult
        var start: ProcResult?
        var shared: String
        var report: String
    }

    /// Runs the attack against a victim container whose process is `victimArgs` (`prepare` edits its bundle
    /// before create) and asserts the host-side invariants: both binary hashes unchanged, no write through any
    /// handle succeeded.
    @discardableResult
    private func attack(victimArgs: [String], attackerCaps: [String]? = nil, swap: Bool = false,
                        prepare: (TestBundle, String) throws -> Void = { _, _ in },
                        file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let shared = try makeHostDir("cve5736")
        _ = chmod(shared, 0o777)
        XCTAssertEqual(mkfifo(shared + "/fifo", 0o666), 0, "mkfifo: \(errnoString())")
        if swap { try writeFile(shared + "/swap", "") }
        let sibling = try startSibling(script: CVEProcSelfExeTests.attacker, shared: shared, caps: attackerCaps,
                                       file: file, line: line)

        try shareDir(shared, at: "/shared", in: bundle)
        joinPidNamespace(of: sibling, in: bundle)
        bundle.setArgs(victimArgs)
        try installLibraries(of: copyPath, into: bundle.rootfs)
        try prepare(bundle, shared)
        try bundle.writeConfig()

        let id = runtime.id("victim")
        let create = runCommand([copyPath, "--root", runtime.root, "create", "--bundle", bundle.dir, id])
        var hostPid = 0
        if create.status == 0, let p = runtime.stateJSON(id)?["pid"]?.int64Value, p > 0 {
            hostPid = Int(p)
            runtime.pidsToKill.append(hostPid)
        }
        // pid 0 tells the attacker there is nothing to attack (the runtime refused the container).
        try writeFile(shared + "/pid", "\(hostPid > 0 ? innerPid(hostPid) ?? 0 : 0)\n")
        try writeFile(shared + "/go1", "")
        XCTAssertTrue(waitForFile(shared, "done1"), "attacker step 1 did not finish: \(dumpDir(shared))", file: file, line: line)

        var start: ProcResult?
        if hostPid > 0 {
            start = runCommand([copyPath, "--root", runtime.root, "start", id])
            // Until the started process runs the runtime binary (blocked on its --log FIFO) or is gone.
            waitUntil(timeout: 5) { !processIsAlive(hostPid) || (processCmdline(hostPid) ?? "").contains("--log") }
        }
        try writeFile(shared + "/go2", "")
        XCTAssertTrue(waitForFile(shared, "done", timeout: 30), "attacker did not finish: \(dumpDir(shared))",
                      file: file, line: line)

        let report = "create: \(create)\nstart: \(start.map { "\($0)" } ?? "-")\nattacker:\n\(dumpDir(shared))"
        verboseReport(report)
        var problems: [String] = []
        if sha256(ofFile: copyPath) != copyHash { problems.append("the runtime binary (copy) was modified") }
        if sha256(ofFile: RuntimeUnderTest.path) != originalHash { problems.append("the runtime binary was modified") }
        for name in directoryEntries(shared) where name.hasPrefix("p3-write-") && !name.hasSuffix(".err") {
            if sharedValue(shared, name) != "fail" { problems.append("a write through a held handle on /proc/<pid>/exe succeeded") }
        }
        if sharedValue(shared, "p2-write") == "ok" { problems.append("writing /proc/<pid>/exe of the started process succeeded") }
        if !problems.isEmpty { XCTFail(problems.joined(separator: "; ") + "\n" + report, file: file, line: line) }
        return Outcome(create: create, start: start, shared: shared, report: report)
    }

    /// args ["/proc/self/exe", ...]: the runtime may refuse (corral) or run a sealed copy of itself (runc's
    /// memfd); either way no handle on the host binary may be writable.
    /// The parked init must run from the read-only view of the binary whatever the options before the verb look
    /// like: corral re-execs in C before Swift starts (exeseal.c, which finds the verb itself), and Corral.main
    /// seals again if that did not happen.
    func testParkedInitRunsFromReadOnlyViewWithAnyGlobalOptions() throws {
        bundle.config["process"]?["args"] = ["sleep", "1000"]
        try bundle.writeConfig()
        let log = try makeHostDir("seal-log") + "/log"
        let root = runtime.root
        let layouts: [[String]] = [["--root", root], ["--root=" + root], ["--debug", "--log", log, "--log-format", "json", "--root", root],
                                   ["--log-format=text", "--root", root, "--", "create"]]
        for globals in layouts {
            let id = runtime.id("seal")
            let create = globals.last == "create" ? globals : globals + ["create"]
            let r = runtime.callRaw(create + ["--bundle", bundle.dir, id])
            XCTAssertEqual(r.status, 0, "\(globals): \(r)")
            let pid = try XCTUnwrap(runtime.stateJSON(id)?["pid"]?.int64Value, "\(globals)")
            var fs = statvfs()
            XCTAssertEqual(statvfs("/proc/\(pid)/exe", &fs), 0, "statvfs /proc/\(pid)/exe")
            XCTAssertNotEqual(fs.f_flag & UInt(ST_RDONLY), 0, "\(globals): the parked init's binary is on a writable mount")
            XCTAssertEqual(runtime("delete", "-f", id).status, 0)
        }
    }

    /// The corral binary enters at corral_entry, which seals before glibc starts (glibc's start-up then runs once
    /// per command instead of twice); scripts/build links it so. The effect on the parked init is the test above.
    func testTheBinaryEntersAtTheEarlySeal() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc seals with a memfd or overlay copy from its own Go start-up") }
        let nm = runCommand(["nm", RuntimeUnderTest.path], timeout: 120)
        guard nm.status == 0 else { throw XCTSkip("nm cannot read \(RuntimeUnderTest.path): \(nm.stderr)") }
        let line = nm.stdout.split(separator: "\n").first { $0.hasSuffix(" corral_entry") }
        let symbol = try XCTUnwrap(line.flatMap { UInt64($0.prefix(while: { $0 != " " }), radix: 16) }, "no corral_entry symbol")
        let fd = open(RuntimeUnderTest.path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var entry: UInt64 = 0
        XCTAssertEqual(pread(fd, &entry, 8, 24), 8, "ELF header of \(RuntimeUnderTest.path)")   // e_entry
        XCTAssertEqual(UInt64(littleEndian: entry), symbol, "the ELF entry point is corral_entry")
    }

    func testProcSelfExeAsEntrypoint() throws {
        try attack(victimArgs: ["/proc/self/exe", "--log", "/shared/fifo", "state", "cve-2019-5736"])
    }

    /// A "#!/proc/self/exe" script as the entrypoint: the kernel resolves the interpreter in the runtime's
    /// own process at execve time.
    func testShebangToProcSelfExe() throws {
        try attack(victimArgs: ["/entry"]) { b, _ in
            try b.writeRootfsFile("/entry", "#!/proc/self/exe --log=/shared/fifo\n", mode: 0o755)
        }
    }

    /// The entrypoint is an ordinary script when `create` looks it up, and a symlink to /proc/self/exe (swapped
    /// in by another container sharing the volume) when `start` releases the exec: a check of the path at
    /// lookup time alone does not help.
    func testEntrypointSwappedForProcSelfExeWhileParked() throws {
        let o = try attack(victimArgs: ["/shared/x", "--log", "/shared/fifo", "state", "cve-2019-5736"], swap: true) { _, shared in
            try writeFile(shared + "/x", "#!/bin/sh\nexit 0\n", mode: 0o755)
        }
        XCTAssertEqual(sharedValue(o.shared, "swapped"), "swapped", "the attacker could not swap: \(o.report)")
    }

    /// The parked init (after `create`, before `start`) is still the runtime binary: a sibling in its pid
    /// namespace without CAP_SYS_PTRACE can neither read its exe nor its environment (it is non-dumpable,
    /// CVE-2016-9962), let alone write it.
    func testParkedInitExeIsNotReachableFromSiblingContainer() throws {
        let o = try attack(victimArgs: ["/bin/true"])
        XCTAssertEqual(o.create.status, 0, "create failed: \(o.report)")
        XCTAssertEqual(sharedValue(o.shared, "p1-read"), "fail", "parked init's exe readable: \(o.report)")
        XCTAssertEqual(sharedValue(o.shared, "p1-write"), "fail", "parked init's exe writable: \(o.report)")
        XCTAssertEqual(sharedValue(o.shared, "p1-environ"), "fail", "parked init's environ readable: \(o.report)")
    }

    /// The same with CAP_SYS_PTRACE in the sibling (a debugging sidecar): it may open the parked init's exe, but
    /// what it gets must not be a writable handle on the host binary (runc: a sealed memfd copy).
    func testParkedInitExeWithPtraceCapability() throws {
        let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"]
        let o = try attack(victimArgs: ["/bin/true"], attackerCaps: caps)
        XCTAssertEqual(o.create.status, 0, "create failed: \(o.report)")
    }

    /// For a dynamically linked runtime (Debian's runc) the binary re-executed inside the container needs its
    /// loader and libraries there, or the exec fails before the attack can start: copy what `ldd` lists.
    private func installLibraries(of binary: String, into rootfs: String) throws {
        let r = runCommand(["ldd", binary], timeout: 20)
        guard r.status == 0 else { return }  // "not a dynamic executable"
        for line in r.stdout.nonEmptyLines {
            let words = line.split(separator: " ").map(String.init)
            guard let path = words.first(where: { $0.hasPrefix("/") }) else { continue }
            let dest = rootfs + path
            try makeDirectories(String(dest[..<dest.lastIndex(of: "/")!]))
            let cp = runCommand(["cp", "-L", path, dest], timeout: 20)
            guard cp.status == 0 else { throw HarnessError("cp \(path): \(cp)") }
        }
    }
}
