// Integration test harness: the runtime under test, temporary bundles, per-test state roots and
// "leaves nothing behind" snapshots. XCTest + Glibc + CorralSpec only (no Foundation).
import XCTest
import Glibc
import CorralSpec

/// The project's shared reference data: `../shared/data` beside the package (where CI places it), else the
/// workplace copy. Tests that need it skip when neither exists.
let sharedDataDir: String = {
    for candidate in [packageRoot + "/../shared/data", "/work/shared/data"] where access(candidate, R_OK) == 0 { return candidate }
    return "/work/shared/data"
}()

/// Absolute path of the package root: env CORRAL_TEST_PACKAGE_ROOT, else derived from this file's location
/// (<root>/Tests/IntegrationTests/Support/Harness.swift).
let packageRoot: String = {
    // The guest lane runs the compiled tests where the sources are not: it names the copy of scripts/ it has.
    if let e = getenv("CORRAL_TEST_PACKAGE_ROOT"), e.pointee != 0 { return String(cString: e) }
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(4)
    return parts.joined(separator: "/")
}()

/// The runtime under test: env CORRAL_TEST_RUNTIME (absolute path) or
/// <package root>/.build/release/corral. Setting CORRAL_TEST_RUNTIME=/usr/bin/runc runs the SAME
/// suite against runc, which proves the tests assert real runc-compatible behaviour.
enum RuntimeUnderTest {
    static let path: String = {
        if let e = getenv("CORRAL_TEST_RUNTIME"), e.pointee != 0 { return String(cString: e) }
        return packageRoot + "/.build/release/corral"
    }()

    /// True when the binary is runc: `--version` line 1 starts with "runc version" and no line says corral (corral
    /// installed under runc's name answers as runc, with a last line "runtime: corral X").
    static let isRunc: Bool = {
        guard access(path, X_OK) == 0 else { return false }
        let r = runCommand([path, "--version"], timeout: 10)
        return r.stdout.hasPrefix("runc version ") && !r.stdout.contains("\nruntime: corral ")
    }()

    static var isCorral: Bool { !isRunc }

    /// The program name the runtime uses in `--version` ("runc", "corral").
    static var name: String { isRunc ? "runc" : "corral" }
}

/// Skips (XCTSkip with a stated reason) unless we are root and the runtime binary, /bin/busybox
/// and scripts/mkrootfs exist.
func requireIntegrationEnvironment() throws {
    if getuid() != 0 {
        throw XCTSkip("integration tests need root (running as uid \(getuid()))")
    }
    if access(RuntimeUnderTest.path, X_OK) != 0 {
        throw XCTSkip("runtime under test \(RuntimeUnderTest.path) is not executable; run scripts/build or set CORRAL_TEST_RUNTIME")
    }
    if access("/bin/busybox", X_OK) != 0 {
        throw XCTSkip("/bin/busybox missing: install busybox-static (scripts/deps)")
    }
    if access(packageRoot + "/scripts/mkrootfs", X_OK) != 0 {
        throw XCTSkip("\(packageRoot)/scripts/mkrootfs missing")
    }
}

// MARK: - Bundles

/// Path of the rootfs template shared by all bundles of this test process.
let rootfsTemplate = integrationTmpBase + "/rootfs-template"

/// Builds the template with scripts/mkrootfs unless a template made from the same mkrootfs script
/// and /bin/busybox is already there (a stamp file beside it records their sizes and mtimes).
/// A rebuild goes to a temporary directory that is then renamed into place, so a concurrent test
/// process copying the old template never sees a half-written tree.
private var rootfsTemplateReady = false
private func ensureRootfsTemplate() throws {
    if rootfsTemplateReady { return }
    try makeDirectories(integrationTmpBase)
    let script = packageRoot + "/scripts/mkrootfs"
    func fileStamp(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "missing" }
        return "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
    let stamp = "mkrootfs=\(fileStamp(script)) busybox=\(fileStamp("/bin/busybox"))\n"
    let stampPath = rootfsTemplate + ".stamp"
    if isDirectory(rootfsTemplate + "/bin") && readFile(stampPath) == stamp {
        rootfsTemplateReady = true
        return
    }
    let tmp = "\(rootfsTemplate).tmp-\(getpid())"
    _ = runCommand(["rm", "-rf", tmp])
    let r = runCommand([script, tmp], timeout: 120)
    guard r.status == 0 else { throw HarnessError("scripts/mkrootfs \(tmp) failed: \(r)") }
    if rename(tmp, rootfsTemplate) != 0 {
        // An older template is in the way: move it aside, then swap ours in.
        let old = "\(rootfsTemplate).old-\(getpid())"
        _ = rename(rootfsTemplate, old)
        if rename(tmp, rootfsTemplate) != 0 { _ = runCommand(["rm", "-rf", tmp]) }  // another process won
        _ = runCommand(["rm", "-rf", old])
    }
    try writeFile(stampPath, stamp)
    rootfsTemplateReady = true
}

/// A temporary bundle: a dir under /tmp/corral-it/ holding rootfs/ (busybox-static + applet
/// symlinks, /etc/passwd and /etc/group with root and uid/gid 1001 "agent", dirs proc sys dev tmp
/// etc ...) and config.json. `config` starts as the runc-spec default (terminal false, args
/// ["/bin/true"]) built here as a literal, NOT by calling the runtime's `spec`, so the baseline
/// does not depend on the code under test.
final class TestBundle {
    let dir: String
    let rootfs: String
    var config: JSONValue

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        try ensureRootfsTemplate()
        dir = try makeTempDir("bundle")
        rootfs = dir + "/rootfs"
        let r = runCommand(["cp", "-a", rootfsTemplate, rootfs], timeout: 60)
        guard r.status == 0 else {
            throw HarnessError("\(file):\(line): copying the rootfs template failed: \(r)")
        }
        config = TestBundle.defaultConfig()
    }

    var configPath: String { dir + "/config.json" }

    /// process.args
    func setArgs(_ args: [String]) {
        config["process"]?["args"] = JSONValue(args)
    }

    /// Convenience: process.args = ["/bin/sh", "-c", script].
    func setShell(_ script: String) {
        setArgs(["/bin/sh", "-c", script])
    }

    /// Writes dir/config.json (compact).
    func writeConfig() throws {
        try writeFile(configPath, config.serialized())
    }

    /// Writes a file below rootfs/, creating missing parent directories.
    func writeRootfsFile(_ relPath: String, _ contents: String, mode: mode_t = 0o755) throws {
        let rel = relPath.hasPrefix("/") ? String(relPath.dropFirst()) : relPath
        let full = rootfs + "/" + rel
        if let slash = full.lastIndex(of: "/") {
            try makeDirectories(String(full[..<slash]))
        }
        try writeFile(full, contents, mode: mode)
    }

    /// rm -rf the bundle dir (after lazily unmounting anything still mounted below it).
    func remove() {
        unmountEverything(below: dir)
        _ = runCommand(["rm", "-rf", "--one-file-system", dir], timeout: 60)
    }

    /// The runc 1.1 `runc spec` default, except terminal false and args ["/bin/true"].
    static func defaultConfig() -> JSONValue {
        let caps: JSONValue = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        let capabilities: JSONValue = ["bounding": caps, "effective": caps, "permitted": caps, "ambient": caps]
        let rlimits: JSONValue = [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]]
        let env: JSONValue = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]
        let user: JSONValue = ["uid": 0, "gid": 0]
        let process: JSONValue = [
            "terminal": false,
            "user": user,
            "args": ["/bin/true"],
            "env": env,
            "cwd": "/",
            "capabilities": capabilities,
            "rlimits": rlimits,
            "noNewPrivileges": true,
        ]
        let mounts: JSONValue = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
            ["destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]],
            ["destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]],
            ["destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]],
            ["destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]],
            ["destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]],
        ]
        let namespaces: JSONValue = [["type": "pid"], ["type": "network"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]
        let masked: JSONValue = [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ]
        let readonly: JSONValue = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        let devices: JSONValue = [["allow": false, "access": "rwm"]]
        let linux: JSONValue = [
            "resources": ["devices": devices],
            "namespaces": namespaces,
            "maskedPaths": masked,
            "readonlyPaths": readonly,
        ]
        let root: JSONValue = ["path": "rootfs", "readonly": true]
        return [
            "ociVersion": "1.0.2-dev",
            "process": process,
            "root": root,
            "hostname": "runc",
            "mounts": mounts,
            "linux": linux,
        ]
    }

    // MARK: conveniences (additions to the documented API)

    /// root.readonly
    func setRootReadonly(_ readonly: Bool) {
        config["root"]?["readonly"] = .bool(readonly)
    }

    /// process.terminal
    func setTerminal(_ terminal: Bool) {
        config["process"]?["terminal"] = .bool(terminal)
    }

    /// Appends a mount to config.mounts.
    func addMount(destination: String, type: String?, source: String, options: [String] = []) {
        var m: JSONValue = ["destination": .string(destination), "source": .string(source)]
        if let type { m["type"] = .string(type) }
        if !options.isEmpty { m["options"] = JSONValue(options) }
        var list = config["mounts"]?.arrayValue ?? []
        list.append(m)
        config["mounts"] = .array(list)
    }

    /// Adds a writable tmpfs at /tmp (the default rootfs is read-only).
    func addTmpfsTmp(options: [String] = ["nosuid", "nodev", "mode=1777", "size=16m"]) {
        addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: options)
    }

    /// Bind-mounts a fresh host directory (<bundle>/shared-<name>) read-write at `destination`
    /// inside the container and returns the host path: lets a test read what the container
    /// wrote even after it exited (the default rootfs is read-only).
    @discardableResult
    func addSharedDir(at destination: String = "/shared") throws -> String {
        let name = destination.split(separator: "/").joined(separator: "-")
        let host = dir + "/shared-" + name
        try makeDirectories(host, mode: 0o777)
        _ = chmod(host, 0o777)
        try makeDirectories(rootfs + destination)
        addMount(destination: destination, type: "bind", source: host, options: ["rbind", "rw"])
        return host
    }

    /// Removes a namespace type from linux.namespaces.
    func removeNamespace(_ type: String) {
        let list = config["linux"]?["namespaces"]?.arrayValue ?? []
        config["linux"]?["namespaces"] = .array(list.filter { $0["type"]?.stringValue != type })
    }
}

/// Lazily unmounts (deepest first) every mount point at or below `path` in our mount namespace.
func unmountEverything(below path: String) {
    let prefix = path.hasSuffix("/") ? path : path + "/"
    guard let info = readFile("/proc/self/mountinfo") else { return }
    var targets: [String] = []
    for line in info.nonEmptyLines {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count > 4 else { continue }
        let mp = unescapeMountinfo(String(fields[4]))
        if mp == path || mp.hasPrefix(prefix) { targets.append(mp) }
    }
    for t in targets.sorted(by: { $0.count > $1.count }) {
        _ = umount2(t, Int32(MNT_DETACH))
    }
}

/// mountinfo escapes space, tab, newline and backslash as \ooo octal.
private func unescapeMountinfo(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    var out: [UInt8] = []
    let b = Array(s.utf8)
    var i = 0
    while i < b.count {
        if b[i] == 0x5C, i + 3 < b.count,
           let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
            out.append(v)
            i += 4
        } else {
            out.append(b[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

// MARK: - Runtime wrapper

/// Runtime invocations that hit their timeout in this test process. A hanging runtime would make
/// every test wait its full timeouts (and CI has a hard time limit), so once a few calls have
/// timed out, later calls get at most `shortenedRuntimeTimeout` seconds: the suite still fails,
/// but quickly. A healthy runtime never reaches the threshold.
private var runtimeTimeoutCount = 0
private let runtimeTimeoutsBeforeShortening = 3
private let shortenedRuntimeTimeout: Double = 5

private func runtimeCommand(_ argv: [String], stdin: [UInt8]?, env: [String: String], timeout: Double,
                            cwd: String?) -> ProcResult {
    let limit = runtimeTimeoutCount >= runtimeTimeoutsBeforeShortening ? min(timeout, shortenedRuntimeTimeout) : timeout
    let r = runCommand(argv, stdin: stdin, env: env, timeout: limit, cwd: cwd)
    if r.timedOut {
        runtimeTimeoutCount += 1
        if runtimeTimeoutCount == runtimeTimeoutsBeforeShortening {
            print("harness: \(runtimeTimeoutCount) runtime calls timed out; later calls are limited to \(shortenedRuntimeTimeout) s")
        }
    }
    return r
}

/// Every id handed out per state root, so HostSnapshot can look for cgroup directories named
/// after them (the snapshot API only receives the root).
private var idsByRoot: [String: [String]] = [:]

/// A private state root per test, an id generator, and a wrapper around the runtime binary.
final class Runtime {
    /// The `--root` passed on every call.
    let root: String
    /// Ids handed out by `id(_:)`, deleted by `cleanup()`.
    private(set) var ids: [String] = []
    /// Host pids to SIGKILL in cleanup (e.g. container inits a test noted), in case delete fails.
    var pidsToKill: [Int] = []

    init() throws {
        root = try makeTempDir("root", mode: 0o700)
        idsByRoot[root] = []
    }

    /// A unique container id (`<prefix>-<random>`), remembered for cleanup.
    func id(_ prefix: String = "t") -> String {
        let i = "\(prefix)-\(randomHex(10))"
        ids.append(i)
        idsByRoot[root, default: []].append(i)
        return i
    }

    /// Runs `<runtime> --root <root> <args...>` (globals may be given in args before the verb too).
    @discardableResult
    func callAsFunction(_ args: String..., stdin: [UInt8]? = nil, timeout: Double = 20) -> ProcResult {
        call(args, stdin: stdin, timeout: timeout)
    }

    /// Runs `<runtime> --root <root> <args...>`; `cwd`/`env` as in runCommand.
    @discardableResult
    func call(_ args: [String], stdin: [UInt8]? = nil, timeout: Double = 20, cwd: String? = nil,
              env: [String: String] = [:]) -> ProcResult {
        runtimeCommand([RuntimeUnderTest.path, "--root", root] + args, stdin: stdin, env: env, timeout: timeout, cwd: cwd)
    }

    /// Runs `<verb> --bundle <bundle> <id>` (create or run) expecting exit 1 with `message` in stderr, and checks
    /// that the failure left nothing on the host (HostSnapshot) and no state for `id`.
    @discardableResult
    func expectCleanFailure(_ verb: String = "create", bundle: TestBundle, id: String, message: String,
                            timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line) -> ProcResult {
        let before = HostSnapshot.take(root: root, bundle: bundle.dir)
        let r = call([verb, "--bundle", bundle.dir, id], timeout: timeout)
        XCTAssertEqual(r.status, 1, "\(verb) must fail with exit 1: \(r)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "expected \(message): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(HostSnapshot.take(root: root, bundle: bundle.dir), before, "\(verb) left something behind",
                       file: file, line: line)
        XCTAssertNil(stateJSON(id), "state of \(id) after a failed \(verb)", file: file, line: line)
        return r
    }

    /// Runs `<runtime> <args...>` WITHOUT the automatic `--root` (for testing global flag spellings).
    @discardableResult
    func callRaw(_ args: [String], stdin: [UInt8]? = nil, timeout: Double = 20, cwd: String? = nil) -> ProcResult {
        runtimeCommand([RuntimeUnderTest.path] + args, stdin: stdin, env: [:], timeout: timeout, cwd: cwd)
    }

    /// `run --bundle B [extra...] id` (foreground: container stdout/stderr captured). Writes the
    /// bundle's config first.
    func run(_ bundle: TestBundle, id: String? = nil, extra: [String] = [], stdin: [UInt8]? = nil,
             timeout: Double = 20) -> ProcResult {
        do { try bundle.writeConfig() } catch {
            return ProcResult(status: 255, stdout: "", stderr: "writeConfig: \(error)", timedOut: false)
        }
        let cid = id ?? self.id("run")
        return call(["run", "--bundle", bundle.dir] + extra + [cid], stdin: stdin, timeout: timeout)
    }

    /// `create --bundle B [extra...] id` after writing the bundle's config.
    func create(_ bundle: TestBundle, id: String, extra: [String] = [], timeout: Double = 20) -> ProcResult {
        do { try bundle.writeConfig() } catch {
            return ProcResult(status: 255, stdout: "", stderr: "writeConfig: \(error)", timedOut: false)
        }
        return call(["create", "--bundle", bundle.dir] + extra + [id], timeout: timeout)
    }

    /// `create`, which must succeed; returns the parked init's pid, killed at teardown if it is still there.
    func createParked(_ bundle: TestBundle, id: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let c = create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "\(c)", file: file, line: line)
        let pid = Int(try XCTUnwrap(stateJSON(id)?["pid"]?.int64Value, "no pid in state after create", file: file, line: line))
        guard pid > 0 else {
            XCTFail("pid \(pid) in state after create", file: file, line: line)
            throw HarnessError("no pid")
        }
        pidsToKill.append(pid)
        return pid
    }

    /// Parses `state <id>` stdout; nil when the command fails or prints no JSON.
    func stateJSON(_ id: String) -> JSONValue? {
        let r = call(["state", id])
        guard r.status == 0 else { return nil }
        return try? JSONValue.parse(r.stdout)
    }

    /// `status` field of `state <id>`, nil if unavailable.
    func status(_ id: String) -> String? {
        stateJSON(id)?["status"]?.stringValue
    }

    /// Waits until `state <id>` reports `status` (e.g. "stopped" after a kill).
    @discardableResult
    func waitForStatus(_ id: String, _ status: String, timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout) { self.status(id) == status }
    }

    /// delete --force of every id handed out, SIGKILL of remembered pids, then rm -rf root.
    func cleanup() {
        for i in ids {
            if let pid = stateJSON(i)?["pid"]?.int64Value, pid > 0 { pidsToKill.append(Int(pid)) }
            call(["delete", "--force", i], timeout: 5)
        }
        for pid in pidsToKill { killIfAlive(pid) }
        // Last resort for a runtime that hung or crashed mid-create: anything still naming our root.
        for p in processesMentioning([root]) { killIfAlive(p.pid) }
        unmountEverything(below: root)
        _ = runCommand(["rm", "-rf", "--one-file-system", root], timeout: 30)
    }
}

// MARK: - Leak detection

/// Live processes (not zombies, not us) that mention one of `needles` in their cmdline or
/// environment, or whose cwd lies below one of them. runc's `runc init` carries
/// _LIBCONTAINER_STATEDIR=<root>/<id> in its environment; a clone()d corral child keeps the
/// parent's cmdline with `--root`; an init that has not pivoted yet has its cwd in the bundle.
/// Matching by executable alone would catch unrelated runtime calls of concurrent test runs.
func processesMentioning(_ needles: [String]) -> [(pid: Int, description: String)] {
    let me = Int(getpid())
    var found: [(pid: Int, description: String)] = []
    for name in directoryEntries("/proc") {
        guard let pid = Int(name), pid != me else { continue }
        let cmd = processCmdline(pid) ?? ""
        let cwd = readLink("/proc/\(pid)/cwd") ?? ""
        var mentions = needles.contains { cmd.contains($0) || cwd.hasPrefix($0) }
        if !mentions, let env = readFileBytes("/proc/\(pid)/environ") {
            let text = String(decoding: env, as: UTF8.self)
            mentions = needles.contains { text.contains($0) }
        }
        if mentions && processIsAlive(pid) {
            let exe = readLink("/proc/\(pid)/exe") ?? ""
            found.append((pid, "exe=\(exe) cmd=\(cmd)"))
        }
    }
    return found.sorted { $0.pid < $1.pid }
}

/// What a runtime could leave behind on the host, for "a failed operation leaves nothing" checks:
/// the number of lines of /proc/self/mountinfo plus those mentioning the bundle or root, entries
/// under the state root, processes whose cmdline/environment/cwd mention the bundle or the root
/// (by a scan of /proc), and cgroup directories named after ids handed out for that root.
struct HostSnapshot: Equatable, CustomStringConvertible {
    var mountCount: Int
    var mountsMentioningPaths: [String]
    var stateEntries: [String]
    var processes: [String]
    var cgroupDirs: [String]

    static func take(root: String, bundle: String) -> HostSnapshot {
        let info = readFile("/proc/self/mountinfo") ?? ""
        let lines = info.nonEmptyLines
        let mentioning = lines.filter { $0.contains(bundle) || $0.contains(root) }
        return HostSnapshot(mountCount: lines.count,
                            mountsMentioningPaths: mentioning.sorted(),
                            stateEntries: directoryEntries(root),
                            processes: scanProcesses(root: root, bundle: bundle),
                            cgroupDirs: scanCgroups(ids: idsByRoot[root] ?? []))
    }

    var description: String {
        """
        HostSnapshot(mountinfo lines: \(mountCount), mounts naming bundle/root: \(mountsMentioningPaths), \
        state root entries: \(stateEntries), processes: \(processes), cgroup dirs: \(cgroupDirs))
        """
    }

    private static func scanProcesses(root: String, bundle: String) -> [String] {
        processesMentioning([root, bundle]).map { "\($0.pid) \($0.description)" }
    }

    private static func scanCgroups(ids: [String]) -> [String] {
        guard !ids.isEmpty else { return [] }
        var found: [String] = []
        func walk(_ dir: String, depth: Int) {
            for name in directoryEntries(dir) {
                let path = dir + "/" + name
                guard fileType(path) == S_IFDIR else { continue }
                if ids.contains(where: { name.contains($0) }) { found.append(path) }
                if depth < 4 { walk(path, depth: depth + 1) }
            }
        }
        walk("/sys/fs/cgroup", depth: 0)
        return found.sorted()
    }
}

/// Base class of tests that need a fresh state root and bundle each; skips (with the reason) unless root, the
/// runtime under test and busybox are available. Cleans up containers, mounts and files in tearDown.
class RuntimeTestCase: XCTestCase {
    var rt: Runtime!
    var bundle: TestBundle!

    override func setUpWithError() throws {
        try requireIntegrationEnvironment()
        rt = try Runtime()
        bundle = try TestBundle()
    }

    override func tearDown() {
        rt?.cleanup()
        bundle?.remove()
        super.tearDown()
    }
}
