// checkpoint / restore through criu: a busybox counter loop is dumped, the container is gone, it is restored
// (same id or a new one) and counts on from where it was; it is then an ordinary container (state, exec, kill,
// delete). The criu binary is env CORRAL_TEST_CRIU or `criu` in PATH, passed to the runtime as `--criu`; every
// test skips with criu's own words when it is missing or `criu check` fails on this kernel.
import XCTest
import Glibc
import CorralSpec

/// The criu the tests drive, or why there is none that works here.
enum TestCriu {
    static let path: String? = {
        if let e = getenv("CORRAL_TEST_CRIU"), e.pointee != 0 { return String(cString: e) }
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        where access(dir + "/criu", X_OK) == 0 {
            return dir + "/criu"
        }
        return nil
    }()

    /// nil when `criu check` passes; else the reason to skip.
    static let problem: String? = {
        guard let path else {
            return "criu is not installed (scripts/deps --with-criu, or CORRAL_TEST_CRIU=/path/to/criu)"
        }
        let version = runCommand([path, "--version"], timeout: 10).stdout.split(separator: "\n").first.map(String.init) ?? "?"
        // criu's errors go to its log (-o; plain `criu check` prints them only on a terminal).
        let log = ((try? makeTempDir("criu-check")) ?? "/tmp") + "/check.log"
        let r = runCommand([path, "check", "-v2", "-o", log], timeout: 60)
        if r.status == 0 { return nil }
        let text = (readFile(log) ?? "") + r.stderr + r.stdout
        let why = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.joined(separator: " | ")
        // Linux 6.13 split the vvar mapping ([vvar_vclock]); criu learnt it in 4.1 (Debian 12 ships 3.17).
        let hint = text.contains("Unexpected rt vDSO area bounds") ? " (this criu predates the kernel's [vvar_vclock] mapping: criu 4.1 or later is needed)" : ""
        return "`\(path) check` fails on this kernel (\(version)): \(why)\(hint)"
    }()

    static func require() throws {
        if let problem { throw XCTSkip(problem) }
    }
}

final class CheckpointTests: RuntimeTestCase {
    /// The counter of the brief: /tmp is a tmpfs (dumped and restored by criu with the process).
    static let counter = "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done"

    override func setUpWithError() throws {
        try super.setUpWithError()
        try TestCriu.require()
    }

    private var criu: [String] { ["--criu", TestCriu.path!] }

    /// `run --detach` with stdio on pipes: criu dumps pipes (and hands the restore's own fds back), while a host
    /// file such as /dev/null lies on a mount the container does not have and cannot be dumped.
    private func startCounter(_ id: String, script: String = CheckpointTests.counter) throws -> ProcResult {
        bundle.setShell(script)
        bundle.addTmpfsTmp()
        try bundle.writeConfig()
        return rt.call(["run", "--detach", "--bundle", bundle.dir, id], stdin: [])
    }

    /// `run --detach` of a shell with a terminal; returns what arrived on the console socket (the pty master).
    private func startWithTerminal(_ id: String, script: String) throws -> ConsoleSocket.Received {
        bundle.setTerminal(true)
        bundle.setShell(script)
        try bundle.writeConfig()
        let sock = try ConsoleSocket(path: bundle.dir + "/run.sock")
        defer { sock.close() }
        let run = rt.call(["run", "--detach", "--console-socket", sock.path, "--bundle", bundle.dir, id], stdin: [])
        XCTAssertEqual(run.status, 0, "\(run)")
        return try sock.receive()
    }

    /// The counter as the container sees it (through exec, so it also proves exec into a restored container).
    private func count(_ id: String, file: String = "/tmp/count") -> Int? {
        let r = rt.call(["exec", id, "cat", file])
        return r.status == 0 ? Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    private func waitForCount(_ id: String, atLeast n: Int, file: String = "/tmp/count") -> Int? {
        var last: Int?
        _ = waitUntil(timeout: 15) {
            last = count(id, file: file)
            return (last ?? 0) >= n
        }
        return last
    }

    private func checkpoint(_ id: String, images: String, extra: [String] = []) -> (ProcResult, Double) {
        let t0 = monotonicNow()
        let r = rt.call(criu + ["checkpoint", "--image-path", images] + extra + [id], timeout: 60)
        return (r, monotonicNow() - t0)
    }

    private func restore(_ id: String, images: String, extra: [String] = []) -> (ProcResult, Double) {
        let t0 = monotonicNow()
        let r = rt.call(criu + ["restore", "--detach", "--image-path", images, "--bundle", bundle.dir] + extra + [id],
                        stdin: [], timeout: 60)
        return (r, monotonicNow() - t0)
    }

    func testCheckpointRemovesTheContainerAndRestoreContinuesTheCounter() throws {
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let id = rt.id("cr")
        let run = try startCounter(id)
        XCTAssertEqual(run.status, 0, "\(run)")
        let pid = rt.stateJSON(id)?["pid"]?.int64Value ?? 0
        let seen = try XCTUnwrap(waitForCount(id, atLeast: 20), "the counter runs")
        XCTAssertGreaterThanOrEqual(seen, 20)
        let images = try makeTempDir("images")
        let (ck, ckTime) = checkpoint(id, images: images)
        XCTAssertEqual(ck.status, 0, "\(ck)")
        XCTAssertTrue(access(images + "/descriptors.json", F_OK) == 0, "runc's descriptors.json is in the images")
        XCTAssertTrue(access(images + "/inventory.img", F_OK) == 0, "criu wrote its images")
        // Gone: no state, no process, no cgroup (the checkpoint took its place).
        XCTAssertNil(rt.stateJSON(id), "the container is gone after checkpoint")
        XCTAssertTrue(waitUntil(timeout: 5) { !processIsAlive(Int(pid)) }, "the init is gone")
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir).cgroupDirs, before.cgroupDirs)

        let pidFile = images + "/restored.pid"
        let (rs, rsTime) = restore(id, images: images, extra: ["--pid-file", pidFile])
        XCTAssertEqual(rs.status, 0, "\(rs)")
        let state = try XCTUnwrap(rt.stateJSON(id), "state of the restored container")
        XCTAssertEqual(state["status"]?.stringValue, "running")
        let newPid = state["pid"]?.int64Value ?? 0
        XCTAssertGreaterThan(newPid, 0)
        XCTAssertEqual(readFile(pidFile), "\(newPid)", "--pid-file holds the restored init's pid, bare digits")
        XCTAssertTrue(processIsAlive(Int(newPid)))
        // It counts on from where it was: a fresh start would be far below `seen`.
        let first = try XCTUnwrap(count(id), "the counter after restore")
        XCTAssertGreaterThanOrEqual(first, seen, "the restored counter continues from the checkpoint")
        let later = try XCTUnwrap(waitForCount(id, atLeast: first + 5))
        XCTAssertGreaterThanOrEqual(later, first + 5, "and keeps counting")
        // Still pid 1 of its own pid namespace, and in the container's cgroups.
        XCTAssertEqual(rt.call(["exec", id, "sh", "-c", "echo $PPID"]).stdout, "0\n")
        let cgroup = readFile("/proc/\(newPid)/cgroup") ?? ""
        XCTAssertTrue(cgroup.contains(id), "the restored init is in the container's cgroups: \(cgroup)")
        print("checkpoint of \(id): \(Int(ckTime * 1000)) ms, restore: \(Int(rsTime * 1000)) ms (\(RuntimeUnderTest.name))")

        XCTAssertEqual(rt("kill", id, "KILL").status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"), "status after kill: \(rt.status(id) ?? "nil")")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        XCTAssertNil(rt.stateJSON(id))
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before, "nothing is left behind")
    }

    func testTerminalContainerIsRestoredWithANewMasterOnTheConsoleSocket() throws {
        // criu keeps the process's pty slave (in the container's own devpts) and makes a new master on restore
        // (orphan-pts-master, RPC only), which reaches --console-socket as create's master does (runc's simple_cr).
        let id = rt.id("crtty")
        let got = try startWithTerminal(id, script: "while read l; do echo \"pong $l\"; done")
        let master = try XCTUnwrap(got.fds.first, "the pty master of run")
        defer { for fd in got.fds { close(fd) } }
        _ = write(master, "ping1\n", 6)
        XCTAssertTrue(readAvailable(fd: master) { $0.contains("pong ping1") }.contains("pong ping1"), "the shell answers before")
        let images = try makeTempDir("images")
        // The old master stays open until the dump is done: closing it would hang the shell up.
        let (ck, _) = checkpoint(id, images: images)
        XCTAssertEqual(ck.status, 0, "\(ck)")
        XCTAssertNil(rt.stateJSON(id))

        let second = try ConsoleSocket(path: bundle.dir + "/c2.sock")
        defer { second.close() }
        let (rs, _) = restore(id, images: images, extra: ["--console-socket", second.path])
        XCTAssertEqual(rs.status, 0, "\(rs)")
        let again = try second.receive()
        defer { for fd in again.fds { close(fd) } }
        let newMaster = try XCTUnwrap(again.fds.first, "restore sent a new pty master")
        if !RuntimeUnderTest.isRunc {
            // corral names the terminal as create does; runc 1.1.5 sends criu's notification name.
            XCTAssertTrue(again.payload.hasPrefix("/dev/pts/"), "the payload names the terminal: \(again.payload)")
        }
        _ = write(newMaster, "ping2\n", 6)
        let out = readAvailable(fd: newMaster) { $0.contains("pong ping2") }
        XCTAssertTrue(out.contains("pong ping2"), "the restored shell answers on the new master: \(out)")
        // Its terminal is still the one in the container's own devpts.
        let tty = rt.call(["exec", id, "readlink", "/proc/1/fd/0"])
        XCTAssertEqual(tty.stdout, "/dev/pts/0\n", "\(tty)")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        XCTAssertNil(rt.stateJSON(id))
    }

    func testForegroundRestoreRelaysTheTerminal() throws {
        // In the foreground the new master is relayed to restore's own stdio, as `run` relays its terminal.
        let id = rt.id("crttyfg")
        let got = try startWithTerminal(id, script: "read l; echo \"pong $l\"; exit 3")
        defer { for fd in got.fds { close(fd) } }
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images)   // the shell waits in read
        XCTAssertEqual(ck.status, 0, "\(ck)")
        // Under a terminal of its own (script(1)), as a user runs it: runc's relay needs the caller's /dev/tty.
        let command = ([RuntimeUnderTest.path, "--root", rt.root] + criu + ["restore", "--image-path", images,
                                                                             "--bundle", bundle.dir, id]).joined(separator: " ")
        let r = runCommand(["script", "-qec", command, "/dev/null"], stdin: Array("hello\n".utf8), timeout: 60)
        XCTAssertEqual(r.status, 3, "the shell's exit status: \(r)")
        XCTAssertTrue(r.stdout.contains("pong hello"), "the answer came through the relay: \(r)")
        XCTAssertNil(rt.stateJSON(id), "the container is removed after it exits")
    }

    func testRestoreUnderANewIdWithABindMountedCounter() throws {
        // The counter is in a host directory bound into the container: criu must treat the bind as external on
        // both sides (ext_mnt) and find the same directory again at restore.
        let shared = try bundle.addSharedDir(at: "/shared")
        let id = rt.id("crsrc")
        let run = try startCounter(id, script: "i=0; while :; do i=$((i+1)); echo $i > /shared/count; sleep 0.1; done")
        XCTAssertEqual(run.status, 0, "\(run)")
        XCTAssertTrue(waitUntil(timeout: 15) { (Int((readFile(shared + "/count") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 10 })
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images)
        XCTAssertEqual(ck.status, 0, "\(ck)")
        let atDump = Int((readFile(shared + "/count") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        usleep(300_000)
        XCTAssertEqual(Int((readFile(shared + "/count") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)), atDump,
                       "nothing counts while the container is checkpointed")
        // Restored from another bundle whose rootfs is a fresh copy (no /shared mount point yet), the way a
        // container moves to another host: the runtime makes the mount point again.
        let other = try TestBundle()
        defer { other.remove() }
        other.config = bundle.config
        try other.writeConfig()
        XCTAssertFalse(access(other.rootfs + "/shared", F_OK) == 0, "the fresh rootfs has no /shared")
        let newId = rt.id("crdst")
        let rs = rt.call(criu + ["restore", "--detach", "--image-path", images, "--bundle", other.dir, newId], stdin: [], timeout: 60)
        XCTAssertEqual(rs.status, 0, "\(rs)")
        XCTAssertEqual(rt.stateJSON(newId)?["bundle"]?.stringValue, other.dir)
        XCTAssertNil(rt.stateJSON(id), "the old id stays gone")
        XCTAssertEqual(rt.status(newId), "running")
        let later = try XCTUnwrap(waitForCount(newId, atLeast: atDump + 5, file: "/shared/count"))
        XCTAssertGreaterThanOrEqual(later, atDump + 5, "the restored counter goes on in the host directory")
        XCTAssertEqual(rt("delete", "--force", newId).status, 0)
        XCTAssertNil(rt.stateJSON(newId))
    }

    func testBindOnASymlinkAndNestedBindsAreRestored() throws {
        // runc's checkpoint.bats: a bind whose destination is a symlink in the rootfs (/conf -> /real/conf: criu
        // finds the mount at /real/conf and must know it as external there), and a bind nested in another whose
        // mount point, in the outer bind's source, is gone before restore (it is made again).
        try makeDirectories(bundle.rootfs + "/real/conf")
        XCTAssertEqual(symlink("/real/conf", bundle.rootfs + "/conf"), 0)
        let conf = try makeTempDir("conf")
        bundle.addMount(destination: "/conf", type: "bind", source: conf, options: ["bind"])
        let outer = try bundle.addSharedDir(at: "/test")
        let inner = try makeTempDir("nested")
        try makeDirectories(outer + "/for/nested")
        bundle.addMount(destination: "/test/for/nested", type: "bind", source: inner, options: ["rw", "bind"])
        let id = rt.id("crnest")
        XCTAssertEqual(try startCounter(id).status, 0)
        XCTAssertNotNil(waitForCount(id, atLeast: 3))
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images)
        XCTAssertEqual(ck.status, 0, "\(ck)")
        XCTAssertEqual(rmdir(outer + "/for/nested"), 0)
        XCTAssertEqual(rmdir(outer + "/for"), 0)
        let (rs, _) = restore(id, images: images)
        XCTAssertEqual(rs.status, 0, "\(rs)")
        XCTAssertEqual(rt.status(id), "running")
        let mounts = rt.call(["exec", id, "cat", "/proc/self/mountinfo"]).stdout
        for dest in [" /real/conf ", " /test ", " /test/for/nested "] {
            XCTAssertTrue(mounts.contains(dest), "\(dest) is mounted again: \(mounts)")
        }
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    func testLeaveRunningKeepsTheContainer() throws {
        let id = rt.id("crlr")
        XCTAssertEqual(try startCounter(id).status, 0)
        let pid = rt.stateJSON(id)?["pid"]?.int64Value ?? 0
        let seen = try XCTUnwrap(waitForCount(id, atLeast: 5))
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images, extra: ["--leave-running"])
        XCTAssertEqual(ck.status, 0, "\(ck)")
        XCTAssertEqual(rt.status(id), "running")
        XCTAssertEqual(rt.stateJSON(id)?["pid"]?.int64Value, pid, "the same init runs on")
        XCTAssertNotNil(waitForCount(id, atLeast: seen + 5), "and keeps counting")
        // The images restore into a second container beside it.
        let copy = rt.id("crcopy")
        let (rs, _) = restore(copy, images: images)
        XCTAssertEqual(rs.status, 0, "\(rs)")
        XCTAssertEqual(rt.status(copy), "running")
        XCTAssertGreaterThanOrEqual(count(copy) ?? 0, seen)
        XCTAssertEqual(rt("delete", "--force", copy).status, 0)
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    /// containerd's shim restores with --work-path <bundle>/work, an absolute symlink to a directory under its root
    /// (and Docker's images may sit behind links too). criu mounts its cgroup yard in the work directory, inside
    /// the mount namespace it restores from: the paths must be resolved there, not through the link from ours.
    func testImageAndWorkPathsBehindAbsoluteSymlinks() throws {
        let id = rt.id("crln")
        XCTAssertEqual(try startCounter(id).status, 0)
        let seen = try XCTUnwrap(waitForCount(id, atLeast: 5))
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images)
        XCTAssertEqual(ck.status, 0, "\(ck)")
        let links = try makeTempDir("links"), work = try makeTempDir("work")
        XCTAssertEqual(symlink(images, links + "/images"), 0)
        XCTAssertEqual(symlink(work, links + "/work"), 0)
        let (rs, _) = restore(id, images: links + "/images", extra: ["--work-path", links + "/work"])
        XCTAssertEqual(rs.status, 0, "\(rs)")
        XCTAssertEqual(rt.status(id), "running")
        XCTAssertGreaterThanOrEqual(count(id) ?? 0, seen, "the counter continues")
        XCTAssertTrue(access(work + "/restore.log", F_OK) == 0, "criu worked in the link's target")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    func testForegroundRestoreWaitsAndReturnsTheExitStatus() throws {
        // Without --detach, restore runs the container like `run`: it waits, returns its exit status, removes it.
        let id = rt.id("crfg")
        XCTAssertEqual(try startCounter(id, script: "i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done; echo done $i; exit 7").status, 0)
        XCTAssertNotNil(waitForCount(id, atLeast: 5))
        let images = try makeTempDir("images")
        XCTAssertEqual(checkpoint(id, images: images).0.status, 0)
        let r = rt.call(criu + ["restore", "--image-path", images, "--bundle", bundle.dir, id], stdin: [], timeout: 60)
        XCTAssertEqual(r.status, 7, "the container's exit status: \(r)")
        XCTAssertEqual(r.stdout, "done 30\n", "the restored process writes to restore's own stdout (runc's inherited pipes)")
        XCTAssertNil(rt.stateJSON(id), "the container is removed after it exits")
    }

    func testRestoreRunsPrestartAndCreateRuntimeHooks() throws {
        // runc runs them when criu has made the namespaces (criu's setup-namespaces), with the restored init's pid.
        let out = try makeTempDir("hookout")
        let script = out + "/hook.sh"
        try writeFile(script, "#!/bin/sh\ncat > \"$2/$1.state\"\npwd > \"$2/$1.cwd\"\n", mode: 0o755)
        let id = rt.id("crhook")
        XCTAssertEqual(try startCounter(id).status, 0)
        XCTAssertNotNil(waitForCount(id, atLeast: 3))
        let images = try makeTempDir("images")
        XCTAssertEqual(checkpoint(id, images: images).0.status, 0)
        func hook(_ label: String) -> JSONValue { ["path": .string(script), "args": ["hook.sh", .string(label), .string(out)]] }
        bundle.config["hooks"] = ["prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")]]
        try bundle.writeConfig()
        let (rs, _) = restore(id, images: images)
        XCTAssertEqual(rs.status, 0, "\(rs)")
        let pid = try XCTUnwrap(rt.stateJSON(id)?["pid"]?.int64Value)
        for kind in ["prestart", "createRuntime"] {
            let state = try XCTUnwrap(readFile(out + "/\(kind).state").flatMap { try? JSONValue.parse($0) }, "\(kind) ran")
            XCTAssertEqual(state["id"]?.stringValue, id, kind)
            XCTAssertEqual(state["pid"]?.int64Value, pid, "\(kind) gets the restored init's pid")
            XCTAssertEqual(state["bundle"]?.stringValue, bundle.dir, kind)
            XCTAssertEqual(readFile(out + "/\(kind).cwd"), bundle.dir + "\n", "\(kind) starts in the bundle")
        }
        XCTAssertEqual(rt.status(id), "running")

        // A failing hook fails the restore with its text and leaves nothing behind.
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
        bundle.config["hooks"] = ["createRuntime": [["path": "/bin/sh", "args": ["sh", "-c", "cat >/dev/null; exit 3"]]]]
        try bundle.writeConfig()
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let again = rt.id("crhookfail")
        let (bad, _) = restore(again, images: images)
        XCTAssertEqual(bad.status, 1, "\(bad)")
        XCTAssertTrue(bad.stderr.contains("exit status 3"), bad.stderr)
        XCTAssertNil(rt.stateJSON(again))
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before, "a failed hook left something behind")
    }

    func testPreDumpKeepsTheContainerRunningOrNamesTheMissingFeature() throws {
        // --pre-dump needs the kernel's soft-dirty tracking (criu check --feature mem_dirty_track); runc asks criu
        // first and says "CRIU is missing features" without it. Either way the container runs on.
        let id = rt.id("crpre")
        XCTAssertEqual(try startCounter(id).status, 0)
        XCTAssertNotNil(waitForCount(id, atLeast: 3))
        let images = try makeTempDir("images")
        let (r, _) = checkpoint(id, images: images, extra: ["--pre-dump"])
        let tracks = runCommand([TestCriu.path!, "check", "--feature", "mem_dirty_track"], timeout: 30).status == 0
        if tracks {
            XCTAssertEqual(r.status, 0, "\(r)")
            XCTAssertTrue(access(images + "/inventory.img", F_OK) == 0, "the pre-dump wrote images")
        } else {
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains("CRIU is missing features"), r.stderr)
        }
        XCTAssertEqual(rt.status(id), "running", "a pre-dump leaves the container running")
    }

    func testCheckpointOfACreatedOrStoppedContainerFails() throws {
        let id = rt.id("crst")
        bundle.setShell("exit 0")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        let images = try makeTempDir("images")
        let created = checkpoint(id, images: images).0
        XCTAssertEqual(created.status, 1, "\(created)")
        XCTAssertTrue(created.stderr.contains("Container cannot be checkpointed in created state"), created.stderr)
        XCTAssertEqual(rt("start", id).status, 0)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
        let stopped = checkpoint(id, images: images).0
        XCTAssertEqual(stopped.status, 1, "\(stopped)")
        XCTAssertTrue(stopped.stderr.contains("Container cannot be checkpointed in stopped state"), stopped.stderr)
        XCTAssertEqual(rt.status(id), "stopped", "the container is left as it was")
    }

    func testRestoreIntoAnExistingIdFails() throws {
        let id = rt.id("crdup")
        XCTAssertEqual(try startCounter(id).status, 0)
        XCTAssertNotNil(waitForCount(id, atLeast: 3))
        let images = try makeTempDir("images")
        XCTAssertEqual(checkpoint(id, images: images, extra: ["--leave-running"]).0.status, 0)
        let pid = rt.stateJSON(id)?["pid"]?.int64Value
        let (rs, _) = restore(id, images: images)
        XCTAssertEqual(rs.status, 1, "\(rs)")
        XCTAssertTrue(rs.stderr.contains("container with given ID already exists"), rs.stderr)
        XCTAssertEqual(rt.status(id), "running", "the existing container is untouched")
        XCTAssertEqual(rt.stateJSON(id)?["pid"]?.int64Value, pid)
    }

    func testFailedRestoreLeavesNothingAndNamesTheLog() throws {
        // Images that criu cannot restore (a descriptors.json and nothing else): criu fails, and the container it
        // was restoring must leave no state, cgroup, process or mount behind.
        let images = try makeTempDir("images")
        try writeFile(images + "/descriptors.json", "[\"/dev/null\",\"/dev/null\",\"/dev/null\"]")
        bundle.setShell(CheckpointTests.counter)
        try bundle.writeConfig()
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let id = rt.id("crbad")
        let work = try makeTempDir("work")
        let (rs, _) = restore(id, images: images, extra: ["--work-path", work])
        XCTAssertEqual(rs.status, 1, "\(rs)")
        XCTAssertTrue(rs.stderr.contains("criu failed"), rs.stderr)
        XCTAssertTrue(rs.stderr.contains(work + "/restore.log"), "the error names criu's log in the work directory: \(rs.stderr)")
        XCTAssertTrue(access(work + "/restore.log", F_OK) == 0, "criu's log is in --work-path")
        XCTAssertNil(rt.stateJSON(id))
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before, "a failed restore left something behind")
    }

    func testFailedCheckpointKeepsTheContainerRunning() throws {
        // (runc 1.1.5 tries to destroy it anyway, which fails for a running container: "container still running".)
        let id = rt.id("crkeep")
        XCTAssertEqual(try startCounter(id).status, 0)
        let pid = rt.stateJSON(id)?["pid"]?.int64Value ?? 0
        // A page server nobody listens on (loopback port 1): criu cannot send the pages and the dump fails.
        let images = try makeTempDir("images")
        let (ck, _) = checkpoint(id, images: images, extra: ["--page-server", "127.0.0.1:1"])
        XCTAssertEqual(ck.status, 1, "\(ck)")
        XCTAssertTrue(ck.stderr.contains("criu failed") && ck.stderr.contains("dump.log"), ck.stderr)
        XCTAssertEqual(rt.status(id), "running", "a failed checkpoint leaves the container running")
        XCTAssertEqual(rt.stateJSON(id)?["pid"]?.int64Value, pid)
        let now = count(id) ?? 0
        XCTAssertNotNil(waitForCount(id, atLeast: now + 3), "and counting")
    }
}
