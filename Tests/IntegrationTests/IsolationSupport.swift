// Helpers shared by the isolation integration tests (namespaces, user namespaces, mounts, devices,
// process attributes). Built on the harness in Support/; XCTest + Glibc + CorralSpec only.
//
// Every test looks at the container from the inside (busybox commands printing to stdout) and,
// where it matters, from the host. All of them are written so that they pass against runc
// (CORRAL_TEST_RUNTIME=/usr/sbin/runc); the comments say where runc's behaviour is surprising.
import XCTest
import Glibc
import CorralSpec

/// Base class for the isolation tests: skips without root/runtime/busybox, gives every test a fresh
/// state root and bundle, and runs registered cleanups (newest first) even when the test throws.
class IsolationTestCase: XCTestCase {
    private(set) var runtime: Runtime!
    private(set) var bundle: TestBundle!
    private var cleanups: [() -> Void] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        try requireIntegrationEnvironment()
        runtime = try Runtime()
        bundle = try TestBundle()
    }

    override func tearDown() {
        // Containers first (they may hold mounts/namespaces alive), then the test's own host
        // changes (unmounts, netns), newest first, then the bundles.
        runtime?.cleanup()
        for c in cleanups.reversed() { c() }
        cleanups = []
        bundle?.remove()
        super.tearDown()
    }

    /// Registers a cleanup step that runs in tearDown (after the containers are deleted).
    func onTeardown(_ body: @escaping () -> Void) {
        cleanups.append(body)
    }

    /// Another bundle (removed in tearDown).
    func makeExtraBundle() throws -> TestBundle {
        let b = try TestBundle()
        onTeardown { b.remove() }
        return b
    }

    /// Runs `script` with /bin/sh in `b` (default: the test's bundle) in the foreground and returns
    /// stdout; records a failure with the full output and returns nil when it did not exit 0.
    func runScript(_ script: String, in b: TestBundle? = nil, timeout: Double = 20,
                   file: StaticString = #filePath, line: UInt = #line) -> String? {
        let target = b ?? bundle!
        target.setShell(script)
        let r = runtime.run(target, timeout: timeout)
        guard r.status == 0, !r.timedOut else {
            XCTFail("container did not exit 0: \(r)", file: file, line: line)
            return nil
        }
        return r.stdout
    }

    /// Runs the bundle with `args` (no shell) and returns stdout, or nil (with a failure) on error.
    func runArgs(_ args: [String], in b: TestBundle? = nil, timeout: Double = 20,
                 file: StaticString = #filePath, line: UInt = #line) -> String? {
        let target = b ?? bundle!
        target.setArgs(args)
        let r = runtime.run(target, timeout: timeout)
        guard r.status == 0, !r.timedOut else {
            XCTFail("container did not exit 0: \(r)", file: file, line: line)
            return nil
        }
        return r.stdout
    }

    /// `create` + `start` a container (its process must not write to stdout: the pipes close when
    /// the runtime exits) and returns the host pid of its init. Throws (failing the test) on error.
    func startDetached(_ b: TestBundle, id: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let pid = try runtime.createParked(b, id: id, file: file, line: line)
        let s = runtime("start", id)
        guard s.status == 0 else {
            XCTFail("start failed: \(s)", file: file, line: line)
            throw HarnessError("start failed")
        }
        return pid
    }

    /// Runs the runtime's `run` for `b` through `/bin/sh -c <prelude>; exec runtime ...` on the host,
    /// optionally inside `wrapper` (e.g. ["unshare", "-m", "--propagation", "private"]). Used where
    /// the *caller's* state matters (its oom_score_adj, its mount namespace).
    func runWrapped(_ b: TestBundle, prelude: String, wrapper: [String] = [], timeout: Double = 20) -> ProcResult {
        do { try b.writeConfig() } catch {
            return ProcResult(status: 255, stdout: "", stderr: "writeConfig: \(error)", timedOut: false)
        }
        let id = runtime.id("wrapped")
        let script = "\(prelude)\nexec \"$0\" --root \"$1\" run --bundle \"$2\" \"$3\""
        return runCommand(wrapper + ["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, b.dir, id],
                          timeout: timeout)
    }

    /// A fresh host directory under /tmp/corral-it (removed in tearDown, after unmounting below it).
    func makeHostDir(_ prefix: String) throws -> String {
        let d = try makeTempDir(prefix)
        onTeardown {
            unmountEverything(below: d)
            _ = runCommand(["rm", "-rf", "--one-file-system", d], timeout: 30)
        }
        return d
    }

    /// Mounts a tmpfs at `path` on the host (lazily unmounted in tearDown).
    func mountHostTmpfs(_ path: String, options: String = "size=4m", file: StaticString = #filePath,
                        line: UInt = #line) throws {
        guard options.withCString({ mount("corral-it", path, "tmpfs", 0, $0) }) == 0 else {
            let msg = "mount tmpfs at \(path): \(errnoString())"
            XCTFail(msg, file: file, line: line)
            throw HarnessError(msg)
        }
        onTeardown { _ = umount2(path, Int32(MNT_DETACH)) }
    }

    /// mount(2) propagation change on the host (`HostMS.shared`, ... optionally | `HostMS.rec`).
    func setHostPropagation(_ path: String, _ flags: UInt, file: StaticString = #filePath, line: UInt = #line) throws {
        guard mount("none", path, nil, flags, nil) == 0 else {
            let msg = "mount --make-* \(path): \(errnoString())"
            XCTFail(msg, file: file, line: line)
            throw HarnessError(msg)
        }
    }

    /// Bind-mounts `source` onto `target` on the host (lazily unmounted in tearDown).
    func bindHost(_ source: String, _ target: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard mount(source, target, nil, HostMS.bind, nil) == 0 else {
            let msg = "bind \(source) -> \(target): \(errnoString())"
            XCTFail(msg, file: file, line: line)
            throw HarnessError(msg)
        }
        onTeardown { _ = umount2(target, Int32(MNT_DETACH)) }
    }

    /// Waits until the host pid is gone (the container's process exited).
    func waitForExit(_ pid: Int, timeout: Double = 15, file: StaticString = #filePath, line: UInt = #line) {
        if !waitUntil(timeout: timeout, { !processIsAlive(pid) }) {
            XCTFail("process \(pid) still alive after \(timeout)s", file: file, line: line)
        }
    }
}

/// mount(2) flags used by the tests (spelled out: Glibc imports the MS_* enum inconsistently).
enum HostMS {
    static let bind: UInt = 4096
    static let rec: UInt = 16384
    static let privateProp: UInt = 1 << 18
    static let slave: UInt = 1 << 19
    static let shared: UInt = 1 << 20
}

// MARK: - Config editing

/// OCI namespace type → the name of its file under /proc/<pid>/ns.
let nsProcName: [String: String] = [
    "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "user": "user",
    "cgroup": "cgroup", "time": "time",
]

extension TestBundle {
    /// Replaces linux.namespaces with `types` (in order), each optionally joined by path.
    func setNamespaces(_ types: [String], paths: [String: String] = [:]) {
        config["linux"]?["namespaces"] = .array(types.map { t in
            var ns: JSONValue = ["type": .string(t)]
            if let p = paths[t] { ns["path"] = .string(p) }
            return ns
        })
    }

    /// Adds (or replaces) one namespace entry.
    func addNamespace(_ type: String, path: String? = nil) {
        removeNamespace(type)
        var list = config["linux"]?["namespaces"]?.arrayValue ?? []
        var ns: JSONValue = ["type": .string(type)]
        if let path { ns["path"] = .string(path) }
        list.append(ns)
        config["linux"]?["namespaces"] = .array(list)
    }

    /// A user namespace with `containerID 0 → hostID` maps of `size` ids for both uids and gids.
    func addUserNamespace(hostID: Int = 100000, size: Int = 65536) {
        addNamespace("user")
        let map: JSONValue = [["containerID": 0, "hostID": .number(String(hostID)), "size": .number(String(size))]]
        config["linux"]?["uidMappings"] = map
        config["linux"]?["gidMappings"] = map
    }

    /// Sets (or with nil removes) a member of `process`.
    func setProcess(_ key: String, _ value: JSONValue?) {
        config["process"]?[key] = value
    }

    /// Sets (or with nil removes) a member of `linux`.
    func setLinux(_ key: String, _ value: JSONValue?) {
        config["linux"]?[key] = value
    }

    /// Sets (or with nil removes) a top-level member (e.g. "hostname").
    func setTop(_ key: String, _ value: JSONValue?) {
        config[key] = value
    }
}

// MARK: - Parsing what containers print

/// One line of /proc/<pid>/mountinfo.
struct MountInfoEntry: CustomStringConvertible {
    var id: Int
    var parentID: Int
    var majorMinor: String
    var root: String
    var mountPoint: String
    /// Per-mount options (ro, nosuid, relatime, ...).
    var options: [String]
    /// Propagation fields such as `shared:3`, `master:2`, `unbindable`.
    var optionalFields: [String]
    var fsType: String
    var source: String
    /// Per-superblock options (size=1024k, mode=755, ...).
    var superOptions: [String]
    var line: String

    var description: String { line }

    /// The peer group of `shared:N`, if any.
    var sharedGroup: Int? { optionalFields.first(where: { $0.hasPrefix("shared:") }).flatMap { Int($0.dropFirst(7)) } }
    /// The master group of `master:N`, if any.
    var masterGroup: Int? { optionalFields.first(where: { $0.hasPrefix("master:") }).flatMap { Int($0.dropFirst(7)) } }
}

/// Parses mountinfo text; lines that do not look like mountinfo (other output) are skipped.
func parseMountInfo(_ text: String) -> [MountInfoEntry] {
    var result: [MountInfoEntry] = []
    for line in text.nonEmptyLines {
        let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard f.count >= 9, let id = Int(f[0]), let parent = Int(f[1]),
              let dash = f.firstIndex(of: "-"), dash >= 6, dash + 2 < f.count
        else { continue }
        result.append(MountInfoEntry(
            id: id, parentID: parent, majorMinor: f[2], root: f[3], mountPoint: f[4],
            options: f[5].split(separator: ",").map(String.init),
            optionalFields: Array(f[6..<dash]),
            fsType: f[dash + 1], source: f[dash + 2],
            superOptions: dash + 3 < f.count ? f[dash + 3].split(separator: ",").map(String.init) : [],
            line: line))
    }
    return result
}

extension Array where Element == MountInfoEntry {
    /// The top-most (last listed) mount at exactly `mountPoint`.
    func top(at mountPoint: String) -> MountInfoEntry? { last(where: { $0.mountPoint == mountPoint }) }
}

/// `key=value` lines → dictionary (first `=` splits; later duplicates win).
func keyValueLines(_ text: String) -> [String: String] {
    var d: [String: String] = [:]
    for line in text.nonEmptyLines {
        guard let eq = line.firstIndex(of: "=") else { continue }
        d[String(line[..<eq])] = String(line[line.index(after: eq)...]).trimmed
    }
    return d
}

/// Collapses runs of whitespace (newlines included) to single spaces and trims (for uid_map, ...).
func squeezeSpaces(_ s: String) -> String {
    s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
}

/// The shell snippet printing `<procname>=<readlink /proc/self/ns/procname>` for every namespace.
let printNamespacesScript =
    "for n in cgroup ipc mnt net pid time user uts; do echo \"$n=$(readlink /proc/self/ns/$n)\"; done"

/// Our own namespace link, e.g. `net:[4026531833]`.
func hostNamespace(_ procName: String) -> String {
    readLink("/proc/self/ns/\(procName)") ?? "?"
}

/// A field of /proc/<pid>/status (e.g. "Uid") as whitespace-separated values.
func procStatusField(_ pid: Int, _ name: String) -> [String]? {
    guard let text = readFile("/proc/\(pid)/status") else { return nil }
    for line in text.nonEmptyLines where line.hasPrefix(name + ":") {
        return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }
    return nil
}

/// Kernel version (major, minor) from uname(2).
func kernelVersion() -> (Int, Int) {
    var u = utsname()
    uname(&u)
    let release = withUnsafePointer(to: u.release) {
        $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
    }
    let nums = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    return (nums.first ?? 0, nums.count > 1 ? nums[1] : 0)
}

/// lstat(2) of a host path.
func hostStat(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

/// First executable among `candidates`, or nil.
func findHostTool(_ candidates: [String]) -> String? {
    candidates.first(where: { access($0, X_OK) == 0 })
}

/// Host mountinfo lines whose mount point is `path` or below it.
func hostMounts(below path: String) -> [MountInfoEntry] {
    parseMountInfo(readFile("/proc/self/mountinfo") ?? "").filter {
        $0.mountPoint == path || $0.mountPoint.hasPrefix(path.hasSuffix("/") ? path : path + "/")
    }
}
