// Planner unit tests (no root): config.json text -> Spec (CorralSpec's Spec.parse) -> Planner.plan against a
// temporary bundle with an empty rootfs directory. Every refusal is checked by its exact text and code.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

// MARK: - Fixture (shared with DevicesTests and MountOptionsTests; names chosen not to clash with other files)

/// A temporary bundle under /tmp: `dir/rootfs` is an empty directory. Removed on deinit.
final class UnitBundle {
    let dir: String
    var rootfs: String { dir + "/rootfs" }

    init() {
        var template = Array("/tmp/corral-unit-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp: \(String(cString: strerror(errno)))")
        dir = String(cString: template)
        precondition(mkdir(dir + "/rootfs", 0o755) == 0)
    }

    deinit { Files.removeAll(dir) }

    /// Creates `dir/<rel>` as a regular file (parents must exist).
    func file(_ rel: String, _ contents: String = "") {
        let fd = open(dir + "/" + rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "open \(rel): \(String(cString: strerror(errno)))")
        _ = Array(contents.utf8).withUnsafeBytes { Files.writeAll(fd, $0) }
        close(fd)
    }

    /// Creates `dir/<rel>` as a directory (parents must exist).
    func directory(_ rel: String) {
        precondition(mkdir(dir + "/" + rel, 0o755) == 0 || errno == EEXIST)
    }
}

/// Config builders and a plan runner that records warnings and notes.
enum PlanFixture {
    /// The smallest config the planner accepts: runc's default namespaces, a relative root, one arg.
    static let baseText = """
        {"ociVersion": "1.0.2-dev",
         "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/sh"], "cwd": "/", "env": ["PATH=/bin"]},
         "root": {"path": "rootfs"},
         "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                                  {"type": "mount"}]}}
        """

    static func base() -> JSONValue { try! JSONValue.parse(baseText) }

    /// `base()` with `path` (dotted object keys, e.g. "linux.sysctl") set to the JSON `text`, or removed with nil.
    static func config(_ edits: [(String, String?)]) -> JSONValue {
        var c = base()
        for (path, text) in edits { set(&c, path, text.map { try! JSONValue.parse($0) }) }
        return c
    }

    static func set(_ v: inout JSONValue, _ path: String, _ value: JSONValue?) {
        let keys = path.split(separator: ".").map(String.init)
        func go(_ node: inout JSONValue, _ i: Int) {
            if i == keys.count - 1 { node[keys[i]] = value; return }
            var child = node[keys[i]] ?? .object(JSONObject())
            go(&child, i + 1)
            node[keys[i]] = child
        }
        go(&v, 0)
    }

    struct Outcome {
        var plan: LaunchPlan?
        var error: RuntimeError?
        var warnings: [String] = []
        var notes: [String] = []
    }

    /// Serialises `config` to JSON text, parses it with Spec.parse and plans it for `bundle`.
    static func run(_ config: JSONValue, bundle: UnitBundle, id: String = "unit",
                    edit: (inout PlanOptions) -> Void = { _ in },
                    file: StaticString = #filePath, line: UInt = #line) -> Outcome {
        let text = config.serialized()
        let spec: Spec
        do { spec = try Spec.parse(Array(text.utf8)) } catch {
            XCTFail("Spec.parse refused the test config: \(error)\n\(text)", file: file, line: line)
            return Outcome()
        }
        var options = PlanOptions(id: id, bundle: bundle.dir)
        edit(&options)
        var out = Outcome()
        var warnings: [String] = [], notes: [String] = []
        do {
            out.plan = try Planner.plan(spec, options: options, warn: { warnings.append($0) }, note: { notes.append($0) })
        } catch {
            out.error = error
        }
        out.warnings = warnings
        out.notes = notes
        return out
    }

    /// Plans and returns the plan, failing the test (with the error text) when planning fails.
    static func plan(_ config: JSONValue, bundle: UnitBundle, edit: (inout PlanOptions) -> Void = { _ in },
                     file: StaticString = #filePath, line: UInt = #line) -> LaunchPlan? {
        let o = run(config, bundle: bundle, edit: edit, file: file, line: line)
        if let e = o.error { XCTFail("planning failed: \(e.message)", file: file, line: line) }
        return o.plan
    }

    /// Asserts that planning fails with exactly `message` and `code`.
    static func expectError(_ config: JSONValue, bundle: UnitBundle, _ code: RuntimeError.Code, _ message: String,
                            edit: (inout PlanOptions) -> Void = { _ in },
                            file: StaticString = #filePath, line: UInt = #line) {
        let o = run(config, bundle: bundle, edit: edit, file: file, line: line)
        guard let e = o.error else {
            XCTFail("planning succeeded, expected: \(message)", file: file, line: line)
            return
        }
        XCTAssertEqual(e.message, message, file: file, line: line)
        XCTAssertEqual(e.code, code, "code for \"\(e.message)\"", file: file, line: line)
    }
}

/// CLONE_NEW* values (linux/sched.h), spelled out so the tests do not share the planner's table.
enum CloneNS {
    static let pid: UInt64 = 0x2000_0000
    static let net: UInt64 = 0x4000_0000
    static let mnt: UInt64 = 0x0002_0000
    static let ipc: UInt64 = 0x0800_0000
    static let uts: UInt64 = 0x0400_0000
    static let user: UInt64 = 0x1000_0000
    static let cgroup: UInt64 = 0x0200_0000
    static let time: UInt64 = 0x80
    static let runcDefault = pid | net | ipc | uts | mnt
}

/// Capability bit of a name (linux/capability.h numbers).
private func capBit(_ n: Int) -> UInt64 { 1 << UInt64(n) }
private let CAP_CHOWN = 0, CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10, CAP_SYS_ADMIN = 21, CAP_AUDIT_WRITE = 29

final class PlannerTests: XCTestCase {
    var bundle: UnitBundle!

    override func setUp() {
        super.setUp()
        bundle = UnitBundle()
    }

    override func tearDown() {
        bundle = nil
        super.tearDown()
    }

    private func ns(_ types: String...) -> String {
        "[" + types.map { t in
            if let eq = t.firstIndex(of: "=") {
                return "{\"type\": \"\(t[..<eq])\", \"path\": \"\(t[t.index(after: eq)...])\"}"
            }
            return "{\"type\": \"\(t)\"}"
        }.joined(separator: ", ") + "]"
    }

    // MARK: root, process, args

    func testBaseConfigPlans() throws {
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.base(), bundle: bundle))
        XCTAssertEqual(p.rootfs, bundle.rootfs)
        XCTAssertFalse(p.readonlyRoot)
        XCTAssertEqual(p.args, ["/bin/sh"])
        XCTAssertEqual(p.cwd, "/")
        XCTAssertEqual(p.uid, 0)
        XCTAssertEqual(p.gid, 0)
        XCTAssertEqual(p.umask, -1, "no umask in the config: leave the inherited one")
        XCTAssertEqual(p.keyringName, "_ses.unit")
        XCTAssertEqual(p.capabilities, CapabilitySets(), "no capabilities member: every set empty, as runc")
        XCTAssertNil(p.host.oomScoreAdj)
        XCTAssertFalse(p.noNewPrivileges)
        XCTAssertFalse(p.terminal)
        // An empty rootfs has no /etc/passwd: HOME falls back to "/" (runc does the same).
        XCTAssertEqual(p.env, ["PATH=/bin", "HOME=/"])
        XCTAssertEqual(p.mounts.last, MountOp(kind: .mkdir, dest: "/", label: "cwd", configIndex: -1))
        XCTAssertEqual(p.rootPropagation, Propagation.slave | Propagation.rec, "default root propagation is rslave")
        XCTAssertEqual(p.rootPropagationAfter, 0)
    }

    func testRootAndProcessErrors() {
        let cases: [(String, [(String, String?)], RuntimeError.Code, String)] = [
            ("no root", [("root", nil)], .config, "root: required field is missing"),
            ("no process", [("process", nil)], .config, "process: required field is missing"),
            ("no args", [("process.args", nil)], .config, "process.args: args must not be empty"),
            ("empty args", [("process.args", "[]")], .config, "process.args: args must not be empty"),
            ("empty args[0]", [("process.args", "[\"\"]")], .config, "process.args: args must not be empty"),
            ("missing rootfs", [("root.path", "\"nope\"")], .config,
             "invalid rootfs: stat \(bundle.dir)/nope: no such file or directory"),
            ("absolute missing rootfs", [("root.path", "\"/nonexistent-corral-unit/r\"")], .config,
             "invalid rootfs: stat /nonexistent-corral-unit/r: no such file or directory"),
        ]
        for (name, edits, code, message) in cases {
            let o = PlanFixture.run(PlanFixture.config(edits), bundle: bundle)
            XCTAssertEqual(o.error?.message, message, name)
            XCTAssertEqual(o.error?.code, code, name)
        }
        bundle.file("afile")
        PlanFixture.expectError(PlanFixture.config([("root.path", "\"afile\"")]), bundle: bundle, .config,
                                "invalid rootfs: \(bundle.dir)/afile is not a directory")
    }

    func testRootPathIsCleanedAndReadonlyKept() throws {
        bundle.directory("sub")
        let c = PlanFixture.config([("root", "{\"path\": \"./sub/../rootfs/\", \"readonly\": true}")])
        let p = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle))
        XCTAssertEqual(p.rootfs, bundle.rootfs)
        XCTAssertTrue(p.readonlyRoot)
        let abs = PlanFixture.config([("root.path", "\"\(bundle.dir)//rootfs/.\"")])
        XCTAssertEqual(PlanFixture.plan(abs, bundle: bundle)?.rootfs, bundle.rootfs)
    }

    func testProcessFields() throws {
        bundle.directory("rootfs/etc")
        bundle.file("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nagent:x:1001:1001::/home/agent:/bin/sh\n")
        bundle.file("rootfs/etc/group", "root:x:0:\nwheel:x:10:agent,other\nstaff:x:50:agent\nagent:x:1001:\n")
        let c = PlanFixture.config([
            ("process.user", "{\"uid\": 1001, \"gid\": 1001, \"umask\": 18, \"additionalGids\": [7, 8]}"),
            ("process.cwd", "\"/work/./x/..\""),
            ("process.noNewPrivileges", "true"),
            ("process.oomScoreAdj", "-1000"),
            ("process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 512}, {\"type\": \"RLIMIT_CORE\", \"hard\": 18446744073709551615, \"soft\": 0}]"),
        ])
        let p = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle, edit: { $0.noNewKeyring = true }))
        XCTAssertEqual(p.uid, 1001)
        XCTAssertEqual(p.gid, 1001)
        XCTAssertEqual(p.umask, 0o22)
        XCTAssertEqual(p.cwd, "/work")
        XCTAssertEqual(p.mounts.last, MountOp(kind: .mkdir, dest: "/work", label: "cwd", configIndex: -1))
        // additionalGids exactly, as runc: the image's /etc/group memberships are the engine's to resolve.
        XCTAssertEqual(p.groups, [7, 8])
        XCTAssertEqual(p.env, ["PATH=/bin", "HOME=/home/agent"])
        XCTAssertTrue(p.noNewPrivileges)
        XCTAssertEqual(p.host.oomScoreAdj, -1000)
        XCTAssertNil(p.keyringName, "--no-new-keyring")
        XCTAssertEqual(p.rlimits.map { [UInt64($0.0), $0.1, $0.2] }, [[7, 512, 1024], [4, 0, UInt64.max]])
    }

    func testHomeFromConfigWins() throws {
        let c = PlanFixture.config([("process.env", "[\"HOME=/custom\", \"A=b\"]")])
        XCTAssertEqual(PlanFixture.plan(c, bundle: bundle)?.env, ["HOME=/custom", "A=b"])
    }

    /// runc's prepareEnv: an empty HOME (the last entry for it) is dropped for the user's home from /etc/passwd.
    func testEmptyHomeIsReplacedByTheUsersHome() throws {
        for env in [#"["HOME=", "A=b"]"#, #"["HOME=/override", "A=b", "HOME="]"#] {
            let c = PlanFixture.config([("process.env", env)])
            XCTAssertEqual(PlanFixture.plan(c, bundle: bundle)?.env, ["A=b", "HOME=/"], env)
        }
        let c = PlanFixture.config([("process.env", #"["HOME=", "HOME=/last"]"#)])
        XCTAssertEqual(PlanFixture.plan(c, bundle: bundle)?.env, ["HOME=/last"])
    }

    func testRlimitSoftAboveHardIsRefused() {
        let c = PlanFixture.config([("process.rlimits", "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 2048}]")])
        PlanFixture.expectError(c, bundle: bundle, .config,
                                "process.rlimits: RLIMIT_NOFILE: soft limit 2048 is above the hard limit 1024")
    }

    func testOomScoreAdjRange() {
        for good in [-1000, 0, 1000] {
            let c = PlanFixture.config([("process.oomScoreAdj", String(good))])
            XCTAssertEqual(PlanFixture.plan(c, bundle: bundle)?.host.oomScoreAdj, good)
        }
        for bad in [-1001, 1001, 100000] {
            let c = PlanFixture.config([("process.oomScoreAdj", String(bad))])
            PlanFixture.expectError(c, bundle: bundle, .config, "process.oomScoreAdj: \(bad) is outside -1000..1000")
        }
    }

    func testTerminalAndConsoleSocket() throws {
        let tty = PlanFixture.config([("process.terminal", "true"), ("process.consoleSize", "{\"height\": 40, \"width\": 120}")])
        PlanFixture.expectError(tty, bundle: bundle, .config,
                                "process.terminal: cannot allocate tty if corral will detach without setting console socket")
        let viaSocket = try XCTUnwrap(PlanFixture.plan(tty, bundle: bundle, edit: { $0.hasConsoleSocket = true }))
        XCTAssertTrue(viaSocket.terminal)
        XCTAssertEqual(viaSocket.consoleSize.rows, 40)
        XCTAssertEqual(viaSocket.consoleSize.cols, 120)
        XCTAssertTrue(PlanFixture.plan(tty, bundle: bundle, edit: { $0.terminalRelay = true })?.terminal ?? false,
                      "foreground run relays the terminal itself")
        PlanFixture.expectError(PlanFixture.base(), bundle: bundle, .config,
                                "process.terminal: cannot use console socket if corral will not allocate tty",
                                edit: { $0.hasConsoleSocket = true })
    }

    // MARK: namespaces

    func testNamespaceFlagsAndCloneUnshareSplit() throws {
        struct Case {
            var name: String
            var namespaces: String
            var clone: UInt64
            var unshare: UInt64
            var mustFork: Bool
            var joins: [NamespaceJoin] = []
        }
        let d = CloneNS.runcDefault
        let cases = [
            Case(name: "runc default", namespaces: ns("pid", "network", "ipc", "uts", "mount"),
                 clone: d, unshare: 0, mustFork: false),
            Case(name: "cgroup is always unshared late", namespaces: ns("pid", "network", "ipc", "uts", "mount", "cgroup"),
                 clone: d, unshare: CloneNS.cgroup, mustFork: false),
            Case(name: "user ns in clone", namespaces: ns("user", "mount"),
                 clone: CloneNS.user | CloneNS.mnt, unshare: 0, mustFork: false),
            Case(name: "time forces the fork path", namespaces: ns("pid", "network", "ipc", "uts", "mount", "time"),
                 clone: 0, unshare: d | CloneNS.time, mustFork: true),
            Case(name: "time + cgroup", namespaces: ns("mount", "cgroup", "time"),
                 clone: 0, unshare: CloneNS.mnt | CloneNS.cgroup | CloneNS.time, mustFork: true),
            Case(name: "a join forces the fork path", namespaces: ns("pid", "network=/var/run/netns/x", "ipc", "uts", "mount"),
                 clone: 0, unshare: CloneNS.pid | CloneNS.ipc | CloneNS.uts | CloneNS.mnt, mustFork: true,
                 joins: [NamespaceJoin(path: "/var/run/netns/x", flag: CloneNS.net, type: "network")]),
            Case(name: "empty path means new", namespaces: "[{\"type\": \"mount\", \"path\": \"\"}, {\"type\": \"uts\"}]",
                 clone: CloneNS.mnt | CloneNS.uts, unshare: 0, mustFork: false),
            Case(name: "user joined first, others keep their order",
                 namespaces: ns("network=/proc/1/ns/net", "mount", "user=/proc/1/ns/user", "ipc=/proc/1/ns/ipc", "cgroup"),
                 clone: 0, unshare: CloneNS.mnt | CloneNS.cgroup, mustFork: true,
                 joins: [NamespaceJoin(path: "/proc/1/ns/user", flag: CloneNS.user, type: "user"),
                         NamespaceJoin(path: "/proc/1/ns/net", flag: CloneNS.net, type: "network"),
                         NamespaceJoin(path: "/proc/1/ns/ipc", flag: CloneNS.ipc, type: "ipc")]),
        ]
        for c in cases {
            var edits: [(String, String?)] = [("linux.namespaces", c.namespaces)]
            if c.namespaces.contains("\"user\"") && !c.namespaces.contains("ns/user") {
                edits += [("linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]"),
                          ("linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]")]
            }
            guard let p = PlanFixture.plan(PlanFixture.config(edits), bundle: bundle) else { continue }
            XCTAssertEqual(String(p.cloneFlags, radix: 16), String(c.clone, radix: 16), "\(c.name): clone flags")
            XCTAssertEqual(String(p.unshareFlags, radix: 16), String(c.unshare, radix: 16), "\(c.name): unshare flags")
            XCTAssertEqual(p.mustFork, c.mustFork, "\(c.name): mustFork")
            XCTAssertEqual(p.joins, c.joins, "\(c.name): joins")
            XCTAssertTrue(p.mountNS, c.name)
            XCTAssertEqual(p.newNamespaces, c.clone | c.unshare, "\(c.name): every new namespace is either cloned or unshared")
            // Whether the container's processes die with its init (kill KILL signals the cgroup otherwise), also
            // when the pid namespace is unshared on the fork path rather than cloned.
            XCTAssertEqual(p.ownPidNamespace, (c.clone | c.unshare) & CloneNS.pid != 0, "\(c.name): own pid namespace")
        }
        let timePlan = PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("pid", "mount", "time"))]), bundle: bundle)
        XCTAssertEqual(timePlan?.cloneFlags, 0)
        XCTAssertEqual(timePlan?.ownPidNamespace, true, "a pid namespace unshared on the fork path is the container's own")
        XCTAssertEqual(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("mount"))]), bundle: bundle)?.ownPidNamespace, false)
    }

    func testMountNamespaceIsRequired() {
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", ns("pid", "network"))]), bundle: bundle, .config,
                                "linux.namespaces: a mount namespace is required")
        PlanFixture.expectError(PlanFixture.config([("linux", nil)]), bundle: bundle, .config,
                                "linux.namespaces: a mount namespace is required")
        // Joining one is fine.
        XCTAssertNotNil(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("mount=/proc/1/ns/mnt"))]), bundle: bundle))
    }

    func testUserNamespaceMappings() throws {
        let map = "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}, {\"containerID\": 65536, \"hostID\": 5, \"size\": 1}]"
        let withUser = ns("pid", "mount", "user")
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([
            ("linux.namespaces", withUser), ("linux.uidMappings", map), ("linux.gidMappings", map)]), bundle: bundle))
        XCTAssertTrue(p.newUserNS)
        XCTAssertEqual(p.host.uidMappings.map { [$0.0, $0.1, $0.2] }, [[0, 100000, 65536], [65536, 5, 1]])
        XCTAssertEqual(p.host.gidMappings.map { [$0.0, $0.1, $0.2] }, [[0, 100000, 65536], [65536, 5, 1]])

        let cases: [(String, [(String, String?)], String)] = [
            ("user ns without mappings", [("linux.namespaces", withUser)],
             "linux.uidMappings: required with a new user namespace"),
            ("user ns without gid mappings", [("linux.namespaces", withUser), ("linux.uidMappings", map)],
             "linux.gidMappings: required with a new user namespace"),
            ("user ns without uid mappings", [("linux.namespaces", withUser), ("linux.gidMappings", map)],
             "linux.uidMappings: required with a new user namespace"),
            ("uid mappings without user ns", [("linux.uidMappings", map)],
             "linux.uidMappings: id mappings need a new user namespace"),
            ("both mappings without user ns", [("linux.uidMappings", map), ("linux.gidMappings", map)],
             "linux.uidMappings: id mappings need a new user namespace"),
            // The error names the field that is actually present.
            ("gid mappings without user ns", [("linux.gidMappings", map)],
             "linux.gidMappings: id mappings need a new user namespace"),
        ]
        for (name, edits, message) in cases {
            let o = PlanFixture.run(PlanFixture.config(edits), bundle: bundle)
            XCTAssertEqual(o.error?.message, message, name)
            XCTAssertEqual(o.error?.code, .config, name)
        }
    }

    /// runc's id range: 4294967295 is (uid_t)-1, which setresuid reads as "unchanged" (the process would stay
    /// root), and ids from 2^31 up are negative to tools that read them as signed.
    func testIDsOutsideRuncsRangeAreRefused() throws {
        let range = "uids and gids must be in range 0-2147483647"
        let cases: [([(String, String?)], String)] = [
            ([("process.user", #"{"uid": 4294967295, "gid": 0}"#)], "process.user.uid: \(range) (got 4294967295)"),
            ([("process.user", #"{"uid": 0, "gid": 4294967295}"#)], "process.user.gid: \(range) (got 4294967295)"),
            ([("process.user", #"{"uid": 2147483648, "gid": 0}"#)], "process.user.uid: \(range) (got 2147483648)"),
            ([("process.user", #"{"uid": 0, "gid": 0, "additionalGids": [5, 4294967295]}"#)],
             "process.user.additionalGids[1]: \(range) (got 4294967295)"),
        ]
        for (edits, message) in cases {
            PlanFixture.expectError(PlanFixture.config(edits), bundle: bundle, .config, message)
        }
        let top = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("process.user", #"{"uid": 2147483647, "gid": 2147483647}"#)]),
                                                 bundle: bundle))
        XCTAssertEqual([top.uid, top.gid], [2147483647, 2147483647])

        let userNS = ns("pid", "mount", "user")
        let ok = #"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#
        let mapRange = "an id mapping must cover ids in range 0-4294967294"
        let mapCases: [(String, String)] = [
            (#"[{"containerID": 0, "hostID": 4294967295, "size": 1}]"#,
             "linux.uidMappings[0].hostID: \(mapRange) (got 4294967295..4294967295)"),
            (#"[{"containerID": 4294967294, "hostID": 0, "size": 2}]"#,
             "linux.uidMappings[0].containerID: \(mapRange) (got 4294967294..4294967295)"),
            (#"[{"containerID": 0, "hostID": 0, "size": 0}]"#, "linux.uidMappings[0].size: must be at least 1"),
            (#"[{"containerID": 0, "hostID": 100000, "size": 1}, {"containerID": 1, "hostID": 4294967000, "size": 4000}]"#,
             "linux.uidMappings[1].hostID: \(mapRange) (got 4294967000..4294970999)"),
            (#"[{"containerID": 1, "hostID": 0, "size": 4294967295}]"#,
             "linux.uidMappings[0].containerID: \(mapRange) (got 1..4294967295)"),
        ]
        for (map, message) in mapCases {
            PlanFixture.expectError(PlanFixture.config([("linux.namespaces", userNS), ("linux.uidMappings", map),
                                                        ("linux.gidMappings", ok)]), bundle: bundle, .config, message)
        }
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", userNS), ("linux.uidMappings", ok),
                                                    ("linux.gidMappings", #"[{"containerID": 0, "hostID": 4294967295, "size": 1}]"#)]),
                                bundle: bundle, .config, "linux.gidMappings[0].hostID: \(mapRange) (got 4294967295..4294967295)")
    }

    /// An id map is not an identity: the full map (crun's userns-full-mapping) and ids above 2^31 are valid in
    /// maps; only the ids a process runs as are bounded by runc's 0-2147483647.
    func testFullIDMapsArePlanned() throws {
        let full = #"[{"containerID": 0, "hostID": 0, "size": 4294967295}]"#
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("pid", "mount", "user")),
                                                                   ("linux.uidMappings", full), ("linux.gidMappings", full)]),
                                               bundle: bundle))
        XCTAssertEqual(p.host.uidMappings.map { [$0.0, $0.1, $0.2] }, [[0, 0, 4294967295]])
        XCTAssertEqual(p.host.gidMappings.map { [$0.0, $0.1, $0.2] }, [[0, 0, 4294967295]])
        let high = #"[{"containerID": 0, "hostID": 3000000000, "size": 65536}]"#
        XCTAssertNotNil(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("pid", "mount", "user")),
                                                             ("linux.uidMappings", high), ("linux.gidMappings", high)]),
                                         bundle: bundle))
    }

    /// runc's prepareEnv: NAME=value with a name, and the last of several entries for one name wins, in place.
    func testEnvironmentIsValidatedAndDeduplicated() throws {
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([
            ("process.env", #"["A=1", "PATH=/bin", "B=2", "A=3", "C==", "HOME=/h"]"#)]), bundle: bundle))
        XCTAssertEqual(p.env, ["PATH=/bin", "B=2", "A=3", "C==", "HOME=/h"])
        PlanFixture.expectError(PlanFixture.config([("process.env", #"["A=1", "=x"]"#)]), bundle: bundle, .config,
                                "process.env[1]: invalid environment variable: name cannot be empty")
        PlanFixture.expectError(PlanFixture.config([("process.env", #"["NOEQ", "A=1"]"#)]), bundle: bundle, .config,
                                "process.env[0]: invalid environment variable: missing '='")
    }

    /// Lists that cost a mount each are bounded, as are id maps (the kernel's own limit).
    func testListBounds() {
        let many = "[" + Array(repeating: #""/proc/kcore""#, count: 4097).joined(separator: ",") + "]"
        PlanFixture.expectError(PlanFixture.config([("linux.maskedPaths", many)]), bundle: bundle, .config,
                                "linux.maskedPaths: too many entries: 4097 (at most 4096)")
        PlanFixture.expectError(PlanFixture.config([("linux.readonlyPaths", many)]), bundle: bundle, .config,
                                "linux.readonlyPaths: too many entries: 4097 (at most 4096)")
        let mounts = "[" + Array(repeating: #"{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}"#, count: 4097)
            .joined(separator: ",") + "]"
        PlanFixture.expectError(PlanFixture.config([("mounts", mounts)]), bundle: bundle, .config,
                                "mounts: too many entries: 4097 (at most 4096)")
        let maps = "[" + (0..<341).map { #"{"containerID": \#($0), "hostID": \#(100000 + $0), "size": 1}"# }
            .joined(separator: ",") + "]"
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", ns("pid", "mount", "user")),
                                                    ("linux.uidMappings", maps), ("linux.gidMappings", maps)]),
                                bundle: bundle, .config, "linux.uidMappings: too many entries: 341 (at most 340)")
        let fine = "[" + Array(repeating: #""/proc/kcore""#, count: 4096).joined(separator: ",") + "]"
        XCTAssertNil(PlanFixture.run(PlanFixture.config([("linux.maskedPaths", fine)]), bundle: bundle).error)
    }

    func testHostnameDomainnameNeedUTS() throws {
        let noUTS = ns("pid", "network", "ipc", "mount")
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", noUTS), ("hostname", "\"h\"")]), bundle: bundle,
                                .config, "hostname: unable to set hostname without a private UTS namespace")
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", noUTS), ("domainname", "\"d\"")]), bundle: bundle,
                                .config, "domainname: unable to set domainname without a private UTS namespace")
        // Empty values are no request at all.
        let empty = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.namespaces", noUTS), ("hostname", "\"\""),
                                                                         ("domainname", "\"\"")]), bundle: bundle))
        XCTAssertNil(empty.hostname)
        XCTAssertNil(empty.domainname)
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("hostname", "\"box\""), ("domainname", "\"example.org\"")]),
                                               bundle: bundle))
        XCTAssertEqual(p.hostname, "box")
        XCTAssertEqual(p.domainname, "example.org")
    }

    func testTimeOffsets() throws {
        let offsets = "{\"monotonic\": {\"secs\": 3600, \"nanosecs\": 5}, \"boottime\": {\"secs\": -7}}"
        PlanFixture.expectError(PlanFixture.config([("linux.timeOffsets", offsets)]), bundle: bundle, .config,
                                "linux.timeOffsets: time offsets need a new time namespace")
        PlanFixture.expectError(PlanFixture.config([("linux.namespaces", ns("mount", "time=/proc/1/ns/time")),
                                                    ("linux.timeOffsets", offsets)]), bundle: bundle, .config,
                                "linux.timeOffsets: time offsets need a new time namespace")
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("mount", "time")),
                                                                     ("linux.timeOffsets", offsets)]), bundle: bundle))
        XCTAssertEqual(p.timeOffsets, [3600, 5, -7, 0])
        XCTAssertNil(PlanFixture.plan(PlanFixture.config([("linux.namespaces", ns("mount", "time"))]), bundle: bundle)?.timeOffsets)
    }

    // MARK: sysctl

    func testSysctlNamespaceRules() {
        let all = ns("pid", "network", "ipc", "uts", "mount")
        let onlyMount = ns("mount")
        // (namespaces, key, nil = accepted, or the exact error)
        let cases: [(String, String, String?)] = [
            (all, "kernel.msgmax", nil), (all, "kernel.msgmnb", nil), (all, "kernel.msgmni", nil), (all, "kernel.sem", nil),
            (all, "kernel.shmall", nil), (all, "kernel.shmmax", nil), (all, "kernel.shmmni", nil),
            (all, "kernel.shm_rmid_forced", nil), (all, "fs.mqueue.msg_max", nil), (all, "fs.mqueue.queues_max", nil),
            (all, "net.ipv4.ip_forward", nil), (all, "net.core.somaxconn", nil),
            (ns("mount", "network=/var/run/netns/x"), "net.ipv4.ip_forward", nil),
            (all, "kernel.domainname", nil),
            (onlyMount, "kernel.shmmax",
             "linux.sysctl: sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"),
            (onlyMount, "fs.mqueue.msg_max",
             "linux.sysctl: sysctl \"fs.mqueue.msg_max\" is not allowed in the hosts ipc namespace"),
            (onlyMount, "net.ipv4.ip_forward",
             "linux.sysctl: sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"),
            // runc's texts: without a UTS namespace both fall through to the generic refusal.
            (onlyMount, "kernel.domainname", "linux.sysctl: sysctl \"kernel.domainname\" is not in a separate kernel namespace"),
            (onlyMount, "kernel.hostname", "linux.sysctl: sysctl \"kernel.hostname\" is not in a separate kernel namespace"),
            // runc 1.1.5 refuses kernel.hostname even with a UTS namespace: the dedicated `hostname` field owns it
            // (`sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field`).
            (all, "kernel.hostname",
             "linux.sysctl: sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field"),
            (all, "vm.swappiness", "linux.sysctl: sysctl \"vm.swappiness\" is not in a separate kernel namespace"),
            (all, "kernel.pid_max", "linux.sysctl: sysctl \"kernel.pid_max\" is not in a separate kernel namespace"),
            (all, "fs.file-max", "linux.sysctl: sysctl \"fs.file-max\" is not in a separate kernel namespace"),
        ]
        for (namespaces, key, expected) in cases {
            let c = PlanFixture.config([("linux.namespaces", namespaces), ("linux.sysctl", "{\"\(key)\": \"1\"}")])
            let o = PlanFixture.run(c, bundle: bundle)
            if let expected {
                XCTAssertEqual(o.error?.message, expected, "\(key) with \(namespaces)")
                XCTAssertEqual(o.error?.code, .config, key)
            } else {
                XCTAssertNil(o.error, "\(key) with \(namespaces): \(o.error?.message ?? "")")
                XCTAssertEqual(o.plan?.sysctl.map { $0.path + "=" + $0.value }, [key.replacingDots() + "=1"], key)
            }
        }
    }

    func testSysctlsAreSortedAndSlashed() {
        let c = PlanFixture.config([("linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\", \"kernel.msgmax\": \"8192\", \"fs.mqueue.msg_max\": \"10\"}")])
        XCTAssertEqual(PlanFixture.plan(c, bundle: bundle)?.sysctl.map { "\($0.path)=\($0.value)" },
                       ["fs/mqueue/msg_max=10", "kernel/msgmax=8192", "net/ipv4/ip_forward=1"])
    }

    // MARK: capabilities

    func testCapabilityNamesWithAndWithoutPrefix() throws {
        let c = PlanFixture.config([("process.capabilities",
            "{\"bounding\": [\"CAP_CHOWN\", \"KILL\", \"SYS_ADMIN\"], \"effective\": [\"CHOWN\"], \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"inheritable\": [\"CAP_KILL\"], \"ambient\": [\"KILL\"]}")])
        let o = PlanFixture.run(c, bundle: bundle)
        let caps = try XCTUnwrap(o.plan?.capabilities, o.error?.message ?? "")
        XCTAssertEqual(caps.bounding, capBit(CAP_CHOWN) | capBit(CAP_KILL) | capBit(CAP_SYS_ADMIN))
        XCTAssertEqual(caps.effective, capBit(CAP_CHOWN))
        XCTAssertEqual(caps.permitted, capBit(CAP_CHOWN) | capBit(CAP_KILL))
        XCTAssertEqual(caps.inheritable, capBit(CAP_KILL))
        XCTAssertEqual(caps.ambient, capBit(CAP_KILL), "KILL is permitted and inheritable, so it can be ambient")
        XCTAssertEqual(o.warnings, [])
        XCTAssertEqual(o.notes, [])
    }

    /// The spec: a runtime MUST error on an unknown capability name (runc 1.1 only warned).
    func testUnknownCapabilitiesAreRefused() throws {
        let cases: [(String, String)] = [
            ("{\"bounding\": [\"CAP_CHOWN\", \"CAP_FROB\"]}", "process.capabilities.bounding[1]: unknown capability \"CAP_FROB\""),
            ("{\"effective\": [\"cap_chown\"]}", "process.capabilities.effective[0]: unknown capability \"cap_chown\""),
            ("{\"permitted\": [\"\"]}", "process.capabilities.permitted[0]: unknown capability \"\""),
        ]
        for (caps, message) in cases {
            PlanFixture.expectError(PlanFixture.config([("process.capabilities", caps)]), bundle: bundle, .config, message)
        }
    }

    func testCapabilitiesTheKernelLacksWarn() throws {
        var warnings: [String] = []
        let sets = try CapabilityNames.sets(Capabilities(bounding: ["CAP_BPF", "CAP_SYSLOG"]), lastCap: 37, warn: { warnings.append($0) })
        XCTAssertEqual(sets.bounding, capBit(34), "CAP_SYSLOG (34) is known to a kernel whose last cap is 37")
        XCTAssertEqual(warnings, ["process.capabilities.bounding: capability \"CAP_BPF\" is not supported by the running kernel, ignored"])
    }

    func testAmbientCapabilitiesThatCannotBeRaisedAreDroppedWithANote() throws {
        // runc spec's default: ambient lists three caps that are not inheritable.
        let caps = "[\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]"
        let c = PlanFixture.config([("process.capabilities",
            "{\"bounding\": \(caps), \"effective\": \(caps), \"permitted\": \(caps), \"ambient\": \(caps)}")])
        let o = PlanFixture.run(c, bundle: bundle)
        let sets = try XCTUnwrap(o.plan?.capabilities, o.error?.message ?? "")
        let three = capBit(CAP_AUDIT_WRITE) | capBit(CAP_KILL) | capBit(CAP_NET_BIND_SERVICE)
        XCTAssertEqual(sets.bounding, three)
        XCTAssertEqual(sets.permitted, three)
        XCTAssertEqual(sets.effective, three)
        XCTAssertEqual(sets.inheritable, 0)
        XCTAssertEqual(sets.ambient, 0)
        XCTAssertEqual(o.warnings, [], "not a warning: runc's own default config does this")
        XCTAssertEqual(o.notes, ["process.capabilities.ambient: cannot raise CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE: not in both the permitted and inheritable sets"])
    }

    // MARK: filesystem

    func testRootfsPropagation() {
        let cases: [(String, UInt64, UInt64)] = [
            ("shared", Propagation.shared, Propagation.shared),
            ("rshared", Propagation.shared | Propagation.rec, Propagation.shared | Propagation.rec),
            ("slave", Propagation.slave, 0), ("rslave", Propagation.slave | Propagation.rec, 0),
            ("private", Propagation.private, 0), ("rprivate", Propagation.private | Propagation.rec, 0),
            // An unbindable "/" cannot be bound onto itself: the default first, unbindable after pivot_root.
            ("unbindable", Propagation.slave | Propagation.rec, Propagation.unbindable),
            ("runbindable", Propagation.slave | Propagation.rec, Propagation.unbindable | Propagation.rec),
        ]
        for (name, flags, after) in cases {
            let p = PlanFixture.plan(PlanFixture.config([("linux.rootfsPropagation", "\"\(name)\"")]), bundle: bundle)
            XCTAssertEqual(p?.rootPropagation, flags, name)
            XCTAssertEqual(p?.rootPropagationAfter, after, name)
        }
    }

    func testMaskedAndReadonlyPathsPassThrough() {
        let c = PlanFixture.config([("linux.maskedPaths", "[\"/proc/kcore\", \"/sys/firmware\"]"),
                                    ("linux.readonlyPaths", "[\"/proc/sys\"]")])
        let p = PlanFixture.plan(c, bundle: bundle)
        XCTAssertEqual(p?.maskedPaths, ["/proc/kcore", "/sys/firmware"])
        XCTAssertEqual(p?.readonlyPaths, ["/proc/sys"])
    }

    func testMountExpansion() throws {
        bundle.file("hostfile", "x")
        bundle.directory("data")
        let mounts = """
            [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
             {"destination": "etc/hostname", "type": "bind", "source": "hostfile", "options": ["rbind", "ro", "rprivate"]},
             {"destination": "/data/", "type": "none", "source": "\(bundle.dir)/data", "options": ["bind", "nosuid", "noatime", "rro"]},
             {"destination": "/x", "source": "./data", "options": ["rbind", "relatime", "rnoexec", "rshared"]},
             {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k", "sync", "noatime"]},
             {"destination": "/sys", "options": ["remount", "ro", "nodiratime"]}]
            """
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("mounts", mounts)]), bundle: bundle))
        let configOps = p.mounts.filter { $0.configIndex >= 0 }
        // A bind with mount flags gets exactly those of ro/nosuid/nodev/noexec/nosymfollow (runc 1.2+), and its atime
        // only when an atime option is given.
        let four = MountAttr.rdonly | MountAttr.nosuid | MountAttr.nodev | MountAttr.noexec | MountAttr.nosymfollow
        let atimeAll = MountAttr.atimeMask | MountAttr.nodiratime
        var hostname = MountOp(kind: .bind, dest: "/etc/hostname", source: bundle.dir + "/hostfile", recursive: true, destIsFile: true,
                               attrSet: MountAttr.rdonly, attrClr: four & ~MountAttr.rdonly, propagation: Propagation.private,
                               propagationRecursive: true, label: "bind", configIndex: 2)
        hostname.msAtime = 0
        var data = MountOp(kind: .bind, dest: "/data", source: bundle.dir + "/data", recursive: false,
                           attrSet: MountAttr.nosuid | MountAttr.noatime, attrClr: (four & ~MountAttr.nosuid) | atimeAll,
                           rattrSet: MountAttr.rdonly, label: "bind", configIndex: 3)
        data.msAtime = MS.noatime
        var x = MountOp(kind: .bind, dest: "/x", source: bundle.dir + "/data", recursive: true,
                        attrSet: MountAttr.relatime, attrClr: four | atimeAll, rattrSet: MountAttr.noexec,
                        propagation: Propagation.shared, propagationRecursive: true, label: "bind", configIndex: 4)
        x.msAtime = MS.relatime
        let expected: [MountOp] = [
            MountOp(kind: .fs, dest: "/proc", source: "proc", fstype: "proc", label: "proc", configIndex: 0),
            MountOp(kind: .fs, dest: "/dev", source: "tmpfs", fstype: "tmpfs", data: ["mode=755", "size=65536k"],
                    attrSet: MountAttr.nosuid | MountAttr.strictatime, label: "tmpfs", configIndex: 1),
            hostname, data, x,
            MountOp(kind: .fs, dest: "/dev/shm", source: "shm", fstype: "tmpfs", data: ["mode=1777", "size=65536k", "sync"],
                    attrSet: MountAttr.nosuid | MountAttr.noexec | MountAttr.nodev | MountAttr.noatime,
                    label: "tmpfs", configIndex: 5),
            MountOp(kind: .remount, dest: "/sys", attrSet: MountAttr.rdonly | MountAttr.nodiratime, allowOnProc: true,
                    label: "remount", configIndex: 6),
        ]
        XCTAssertEqual(configOps.count, expected.count)
        for (i, (got, want)) in zip(configOps, expected).enumerated() {
            XCTAssertEqual(got, want, "mounts[\(i)]")
        }
    }

    /// runc's rules for a bind source inside the rootfs ("mount order" tests): no host stat at plan time (it may
    /// come to exist through earlier mounts), the child resolves it and decides file or directory; a destination
    /// spelled with the rootfs's host path is taken as joined already.
    func testBindSourcesAndDestinationsInsideTheRootfs() throws {
        let rootfs = bundle.rootfs
        let mounts = """
            [{"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"},
             {"destination": "\(rootfs)/final", "type": "bind", "source": "\(rootfs)/mnt/not-yet/../later", "options": ["rbind"]},
             {"destination": "/whole", "type": "bind", "source": "\(rootfs)", "options": ["bind"]}]
            """
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("mounts", mounts)]), bundle: bundle))
        let binds = p.mounts.filter { $0.kind == .bind }
        XCTAssertEqual(binds.map { $0.dest }, ["/final", "/whole"])
        XCTAssertEqual(binds.map { $0.source }, [rootfs + "/mnt/later", rootfs])
        XCTAssertEqual(binds.map { $0.sourceInRoot }, [true, true])
        XCTAssertEqual(binds.map { $0.destIsFile }, [false, false], "decided by the child")
        XCTAssertEqual(MountPlanner.pathBelow(rootfs + "x", root: rootfs), nil, "a sibling with a longer name is outside")
        XCTAssertEqual(MountPlanner.pathBelow("/etc", root: "/"), nil, "a rootfs of / has nothing to strip")
        // An idmapped bind of such a source would need the runtime to open it before it exists.
        let idmapped = """
            [{"destination": "/final", "type": "bind", "source": "\(rootfs)/mnt", "options": ["rbind", "idmap"]}]
            """
        let userNS = #"[{"type": "pid"}, {"type": "mount"}, {"type": "user"}]"#
        let map = #"[{"containerID": 0, "hostID": 100000, "size": 65536}]"#
        let o = PlanFixture.run(PlanFixture.config([("mounts", idmapped), ("linux.namespaces", userNS),
                                                    ("linux.uidMappings", map), ("linux.gidMappings", map)]), bundle: bundle)
        XCTAssertEqual(o.error?.code, .unsupported)
        XCTAssertTrue(o.error?.message.hasPrefix("mounts[0].source: an idmapped bind mount of a source inside the rootfs") ?? false,
                      o.error?.message ?? "planned")
    }

    /// runc 1.2+'s bind flags (its mounts_sshfs tests): no flag option keeps the source's flags; any flag option sets
    /// ro/nosuid/nodev/noexec/nosymfollow exactly; atime only changes with an atime option, relatime being implied
    /// by nodiratime alone and strictatime winning.
    func testBindAttributes() throws {
        let four = MountAttr.rdonly | MountAttr.nosuid | MountAttr.nodev | MountAttr.noexec | MountAttr.nosymfollow
        let atimeAll = MountAttr.atimeMask | MountAttr.nodiratime
        let cases: [([String], UInt64, UInt64)] = [
            (["bind"], 0, 0),
            (["rbind", "rprivate", "rro"], 0, 0),
            (["bind", "dev"], 0, four),
            (["bind", "nosuid", "nodev", "rprivate"], MountAttr.nosuid | MountAttr.nodev, four & ~(MountAttr.nosuid | MountAttr.nodev)),
            (["bind", "ro", "symfollow"], MountAttr.rdonly, four & ~MountAttr.rdonly),
            (["bind", "norelatime"], 0, four),
            (["bind", "atime"], 0, four),
            (["bind", "relatime"], MountAttr.relatime, four | atimeAll),
            (["bind", "nodiratime"], MountAttr.relatime | MountAttr.nodiratime, four | atimeAll),
            (["bind", "nodiratime", "strictatime"], MountAttr.strictatime | MountAttr.nodiratime, four | atimeAll),
            (["bind", "nodiratime", "norelatime"], MountAttr.relatime | MountAttr.nodiratime, four | atimeAll),
            (["bind", "noatime", "relatime"], MountAttr.noatime, four | atimeAll),
            (["bind", "ro", "rw"], 0, four),
            (["bind", "sync"], 0, four),
        ]
        for (opts, set, clr) in cases {
            let got = MountPlanner.bindAttributes(try MountOptions.classify(opts, path: "o"))
            XCTAssertEqual(got.set, set, "\(opts) set")
            XCTAssertEqual(got.clr, clr, "\(opts) clr")
        }
    }

    /// The locks the kernel puts on what a user namespace inherits, applied to a clone the runtime made outside it.
    func testLockedFlagsOfASourceInAUserNamespace() throws {
        func op(_ opts: [String]) throws -> MountOp {
            let o = try MountOptions.classify(opts, path: "o")
            var m = MountOp(kind: .bind, dest: "/mnt", source: "/src", label: "bind", configIndex: 0)
            (m.attrSet, m.attrClr) = MountPlanner.bindAttributes(o)
            m.msCleared = o.msCleared & MS.lockable
            m.msAtime = o.msFlags & MS.atimeFlags
            return m
        }
        func keep(_ opts: [String], source: UInt64) throws -> (set: UInt64, clr: UInt64) {
            let m = try op(opts)
            return try BindSources.keepLocked(set: m.attrSet, clr: m.attrClr, source: source, m, what: "w")
        }
        let relatime = MS.relatime
        // Implied rw of a ro source: ro is kept, the rest as asked.
        let implied = try keep(["bind", "nosuid", "nodev"], source: MS.rdonly | relatime)
        XCTAssertEqual(implied.set & MountAttr.rdonly, MountAttr.rdonly)
        XCTAssertEqual(implied.set & (MountAttr.nosuid | MountAttr.nodev), MountAttr.nosuid | MountAttr.nodev)
        // Explicit rw of a ro source, or another atime mode than a locked one: runc's errors.
        XCTAssertThrowsError(try keep(["bind", "rw", "nosuid"], source: MS.rdonly | relatime)) {
            XCTAssertEqual(($0 as? RuntimeError)?.message, "w: failed to set user-requested vfs flags on bind-mount: cannot clear locked flags ro: operation not permitted")
        }
        XCTAssertThrowsError(try keep(["bind", "strictatime"], source: MS.nodiratime | relatime)) {
            XCTAssertEqual(($0 as? RuntimeError)?.message, "w: failed to set user-requested vfs flags on bind-mount: cannot change locked atime flags nodiratime,relatime: operation not permitted")
        }
        // Nothing given up: unchanged.
        let same = try keep(["bind", "relatime"], source: relatime)
        XCTAssertEqual(same.set, MountAttr.relatime)
        XCTAssertEqual(try keep(["bind"], source: MS.rdonly).set, 0)
        XCTAssertEqual(BindSources.msFlags(statfs: 0x1 | 0x400), MS.rdonly | MS.noatime)
        XCTAssertEqual(BindSources.msFlags(statfs: 0x2), MS.nosuid | MS.strictatime)
    }

    func testMountErrors() {
        bundle.file("hostfile")
        bundle.directory("data")
        let d = bundle.dir
        let cases: [(String, String, RuntimeError.Code, String)] = [
            ("missing bind source", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"missing\"}", .config,
             "error mounting \"\(d)/missing\" to rootfs at \"/a\": stat \(d)/missing: no such file or directory"),
            ("missing absolute bind source", "{\"destination\": \"/a\", \"source\": \"/nonexistent-corral-unit\", \"options\": [\"rbind\"]}",
             .config, "error mounting \"/nonexistent-corral-unit\" to rootfs at \"/a\": stat /nonexistent-corral-unit: no such file or directory"),
            ("bind without source", "{\"destination\": \"/a\", \"type\": \"bind\"}", .config,
             "mounts[0].source: required for a bind mount"),
            ("bind with empty source", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"\"}", .config,
             "mounts[0].source: required for a bind mount"),
            ("no type, no bind", "{\"destination\": \"/a\", \"source\": \"tmpfs\"}", .config,
             "mounts[0].type: required for a mount that is not a bind mount"),
            ("empty option", "{\"destination\": \"/a\", \"type\": \"tmpfs\", \"options\": [\"ro\", \"\"]}", .config,
             "mounts[0].options[1]: empty mount option"),
            ("idmap", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"rbind\", \"idmap\"]}",
             .config, "mounts[0]: an idmapped mount without uidMappings and gidMappings of its own needs the container to have a new user namespace"),
            ("ridmap", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"ridmap\"]}",
             .config, "mounts[0]: an idmapped mount without uidMappings and gidMappings of its own needs the container to have a new user namespace"),
            ("iversion", "{\"destination\": \"/a\", \"type\": \"tmpfs\", \"options\": [\"iversion\"]}",
             .unsupported, "mounts[0].options[0]: mount option \"iversion\" cannot be requested through the new mount API (fsconfig has no i_version flag)"),
            ("tmpcopyup on a bind", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"rbind\", \"tmpcopyup\"]}",
             .config, "mounts[0].options: tmpcopyup applies to new tmpfs mounts only (type \"bind\")"),
            ("tmpcopyup on sysfs", "{\"destination\": \"/a\", \"type\": \"sysfs\", \"options\": [\"tmpcopyup\"]}",
             .config, "mounts[0].options: tmpcopyup applies to new tmpfs mounts only (type \"sysfs\")"),
            ("idmapped mount", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}",
             .config, "mounts[0]: uidMappings and gidMappings must both be set for an idmapped mount"),
            ("idmapped mount (gid)", "{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}",
             .config, "mounts[0]: uidMappings and gidMappings must both be set for an idmapped mount"),
        ]
        for (name, mount, code, message) in cases {
            let o = PlanFixture.run(PlanFixture.config([("mounts", "[\(mount)]")]), bundle: bundle)
            XCTAssertEqual(o.error?.message, message, name)
            XCTAssertEqual(o.error?.code, code, name)
        }
        // Filesystem options on a bind mean nothing to the kernel; runc passes them on and they are ignored. So
        // are they here, with a note.
        let ignored: [(String, String)] = [
            ("{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"rbind\", \"sync\"]}", "sync"),
            ("{\"destination\": \"/a\", \"source\": \"data\", \"options\": [\"bind\", \"lazytime\"]}", "lazytime"),
            ("{\"destination\": \"/a\", \"type\": \"bind\", \"source\": \"data\", \"options\": [\"rbind\", \"mode=755\", \"size=1m\"]}", "mode=755"),
        ]
        for (mount, option) in ignored {
            let o = PlanFixture.run(PlanFixture.config([("mounts", "[\(mount)]")]), bundle: bundle)
            XCTAssertNil(o.error, mount)
            XCTAssertEqual(o.notes, ["mounts[0].options: \"\(option)\" does not apply to a bind mount and is ignored"], mount)
        }
        // The index in the path is the mount's own.
        let second = "[{\"destination\": \"/proc\", \"type\": \"proc\"}, {\"destination\": \"/b\", \"type\": \"bind\"}]"
        PlanFixture.expectError(PlanFixture.config([("mounts", second)]), bundle: bundle, .config,
                                "mounts[1].source: required for a bind mount")
    }

    func testTmpcopyupPlansACopyThenAReadOnlyRemount() throws {
        let rw = PlanFixture.config([("mounts", "[{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"size=16m\", \"tmpcopyup\"]}]")])
        let ops = try XCTUnwrap(PlanFixture.plan(rw, bundle: bundle)?.mounts.filter { $0.configIndex == 0 })
        XCTAssertEqual(ops, [MountOp(kind: .fs, dest: "/tmp", source: "tmpfs", fstype: "tmpfs", data: ["size=16m"],
                                     attrSet: MountAttr.nosuid, copyUp: true, label: "tmpfs", configIndex: 0)])
        // Read-only: the copy needs a writable tmpfs, so "ro" becomes a remount right after it.
        let ro = PlanFixture.config([("mounts", "[{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"ro\", \"tmpcopyup\"]}]")])
        let roOps = try XCTUnwrap(PlanFixture.plan(ro, bundle: bundle)?.mounts.filter { $0.configIndex == 0 })
        XCTAssertEqual(roOps, [MountOp(kind: .fs, dest: "/tmp", source: "tmpfs", fstype: "tmpfs", copyUp: true, label: "tmpfs", configIndex: 0),
                               MountOp(kind: .remount, dest: "/tmp", attrSet: MountAttr.rdonly, label: "tmpfs", configIndex: 0)])
    }

    func testFilesystemDataPassesThroughUnchanged() throws {
        // Anything the option table does not know is filesystem data for fsconfig, in order, untouched.
        let opts = "[\"size=1m\", \"nr_inodes=10k\", \"uid=1000\", \"mode=0700\", \"huge=within_size\", \"x-custom\"]"
        let c = PlanFixture.config([("mounts", "[{\"destination\": \"/t\", \"type\": \"tmpfs\", \"source\": \"t\", \"options\": \(opts)}]")])
        let op = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle)?.mounts.first)
        XCTAssertEqual(op.data, ["size=1m", "nr_inodes=10k", "uid=1000", "mode=0700", "huge=within_size", "x-custom"])
        XCTAssertEqual(op.attrSet, 0)
        XCTAssertEqual(op.attrClr, 0)
    }

    func testCgroupMountExpansionOnThisHost() throws {
        let c = PlanFixture.config([("mounts", "[{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}]")])
        let plan = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle))
        let ops = plan.mounts.filter { $0.configIndex == 0 }
        // The host's cgroup hierarchies, read here independently of the planner.
        var hierarchies: [(mountPoint: String, fstype: String)] = []
        for line in (Files.readString("/proc/self/mountinfo") ?? "").split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard let dash = f.firstIndex(of: "-"), dash + 1 < f.count else { continue }
            if f[dash + 1] == "cgroup" || f[dash + 1] == "cgroup2" { hierarchies.append((f[4], f[dash + 1])) }
        }
        let flags = MountAttr.nosuid | MountAttr.noexec | MountAttr.nodev
        if hierarchies.allSatisfy({ $0.fstype == "cgroup2" }) {
            XCTAssertEqual(ops, [MountOp(kind: .fs, dest: "/sys/fs/cgroup", source: "cgroup", fstype: "cgroup2",
                                         attrSet: flags | MountAttr.rdonly, label: "cgroup", configIndex: 0)])
            return
        }
        // v1 or hybrid: a tmpfs, one recursive read-only bind per hierarchy, then the tmpfs is made read-only.
        XCTAssertEqual(ops.first, MountOp(kind: .fs, dest: "/sys/fs/cgroup", source: "tmpfs", fstype: "tmpfs",
                                          data: ["mode=755"], attrSet: flags, label: "cgroup", configIndex: 0))
        XCTAssertEqual(ops.last, MountOp(kind: .remount, dest: "/sys/fs/cgroup", attrSet: MountAttr.rdonly,
                                         label: "cgroup", configIndex: 0))
        let binds = ops.dropFirst().dropLast()
        // Hybrid hosts: only the v1 hierarchies are bound, as runc does (no /sys/fs/cgroup/unified).
        let expectedNames = hierarchies.filter { $0.fstype == "cgroup" }.map { $0.mountPoint }.filter { $0.hasPrefix("/sys/fs/cgroup/") }
            .map { String($0.dropFirst("/sys/fs/cgroup/".count)) }.filter { !$0.contains("/") }
        XCTAssertEqual(binds.map { $0.dest }, expectedNames.map { "/sys/fs/cgroup/" + $0 })
        for b in binds {
            XCTAssertEqual(b.kind, .bind, b.dest)
            XCTAssertTrue(b.recursive, b.dest)
            XCTAssertEqual(b.attrSet, flags | MountAttr.rdonly, b.dest)
            let name = String(b.dest.dropFirst("/sys/fs/cgroup/".count))
            XCTAssertTrue(b.source?.hasPrefix("/sys/fs/cgroup/" + name + "/") ?? false, "\(b.dest) from \(b.source ?? "nil")")
            // The container's own cgroup in that hierarchy (default cgroupsPath: <our cgroup>/<id>), not ours.
            XCTAssertEqual(b.source, plan.host.cgroups?.directory(mountedAt: "/sys/fs/cgroup/" + name), b.dest)
            XCTAssertTrue(b.source?.hasSuffix("/unit") ?? false, "bind source \(b.source ?? "nil") is the container's cgroup")
        }
    }

    func testFullRuncSpecDefaultPlans() throws {
        // `runc spec` as corral writes it, planned as create would (after --console-socket or a foreground run).
        let spec = try Spec.parse(Array(DefaultSpec.json(rootless: false).utf8))
        var notes: [String] = []
        PlanFixture.expectError(try JSONValue.parse(DefaultSpec.json(rootless: false)), bundle: bundle, .config,
                                "process.terminal: cannot allocate tty if corral will detach without setting console socket")
        var options = PlanOptions(id: "dflt", bundle: bundle.dir)
        options.terminalRelay = true
        let p = try Planner.plan(spec, options: options, warn: { XCTFail("unexpected warning: \($0)") }, note: { notes.append($0) })
        XCTAssertEqual(p.args, ["sh"])
        XCTAssertTrue(p.readonlyRoot)
        XCTAssertEqual(p.hostname, "runc")
        XCTAssertEqual(p.cloneFlags, CloneNS.runcDefault)
        XCTAssertEqual(p.devices.map { $0.path }, ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"])
        XCTAssertEqual(p.mounts.filter { $0.configIndex == 0 }.first?.fstype, "proc")
        XCTAssertEqual(p.rlimits.map { [UInt64($0.0), $0.1, $0.2] }, [[7, 1024, 1024]])
        XCTAssertEqual(notes.count, 1, "\(notes)")
        XCTAssertEqual(p.maskedPaths.first, "/proc/acpi")
    }

    // MARK: refused fields

    /// linux.netDevices: only with a network namespace (new, or joined by path), names as the kernel takes them, no
    /// two alike.
    func testNetDevices() throws {
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.netDevices", #"{"veth1": {"name": "eth0"}, "eth9": {}}"#)]),
                                               bundle: bundle))
        XCTAssertEqual(p.host.netDevices.map { "\($0.host)>\($0.name)" }, ["eth9>eth9", "veth1>eth0"])
        let cases: [([(String, String?)], String)] = [
            ([("linux.netDevices", #"{"eth0": {}}"#), ("linux.namespaces", #"[{"type": "mount"}]"#)],
             "linux.netDevices: moving network devices needs a network namespace"),
            ([("linux.netDevices", #"{"a/b": {}}"#)], #"linux.netDevices["a/b"]: invalid network device name"#),
            ([("linux.netDevices", #"{"eth0": {"name": "a-name-longer-than-15"}}"#)],
             #"linux.netDevices["eth0"].name: invalid network device name "a-name-longer-than-15""#),
            ([("linux.netDevices", #"{"eth0": {"name": "x"}, "eth1": {"name": "x"}}"#)], #"linux.netDevices["eth1"].name: "x" is given to two devices"#),
        ]
        for (edits, message) in cases {
            PlanFixture.expectError(PlanFixture.config(edits), bundle: bundle, .config, message)
        }
    }

    func testUnsupportedFieldsAreRefused() {
        // process.scheduler, ioPriority, execCPUAffinity, linux.memoryPolicy and personality.flags are planned
        // (ProcessAttributePlannerTests).
        var cases: [(String, [(String, String?)], String)] = [
            ("intelRdt", [("linux.intelRdt", "{\"closID\": \"x\"}")], "linux.intelRdt: not supported by this version of corral"),
        ]
        if !LSM.appArmorEnabled {
            cases.append(("apparmorProfile", [("process.apparmorProfile", "\"docker-default\"")],
                          "process.apparmorProfile: apparmor profile \"docker-default\" specified, but AppArmor is not enabled on this host"))
        }
        if !LSM.seLinuxEnabled {
            cases.append(("selinuxLabel", [("process.selinuxLabel", "\"system_u:system_r:container_t:s0\"")],
                          "process.selinuxLabel: selinux label \"system_u:system_r:container_t:s0\" is specified in config, but selinux is disabled or not supported"))
            cases.append(("mountLabel", [("linux.mountLabel", "\"system_u:object_r:container_file_t:s0\"")],
                          "linux.mountLabel: mount label \"system_u:object_r:container_file_t:s0\" is specified in config, but selinux is disabled or not supported"))
        }
        for (name, edits, message) in cases {
            let o = PlanFixture.run(PlanFixture.config(edits), bundle: bundle)
            XCTAssertEqual(o.error?.message, message, name)
            XCTAssertEqual(o.error?.code, .unsupported, name)
        }
    }

    func testEmptyValuesOfRefusedFieldsAreAccepted() throws {
        let c = PlanFixture.config([
            ("process.apparmorProfile", "\"\""), ("process.selinuxLabel", "\"\""), ("linux.mountLabel", "\"\""),
            ("linux.netDevices", "{}"), ("hooks", "{\"prestart\": [], \"poststop\": []}"),
            ("linux.personality", "{\"domain\": \"LINUX\"}"),
        ])
        let p = try XCTUnwrap(PlanFixture.plan(c, bundle: bundle))
        XCTAssertEqual(p.personality, 0)
        let l32 = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.personality", "{\"domain\": \"LINUX32\"}")]),
                                                 bundle: bundle))
        XCTAssertEqual(l32.personality, 0x0008, "PER_LINUX32")
    }
}

// MARK: - Files

final class FilesPathTests: XCTestCase {
    func testClean() {
        let cases: [(String, String)] = [
            ("/", "/"), ("", "/"), ("//", "/"), ("/a", "/a"), ("/a/", "/a"), ("//a//b//", "/a/b"), ("/a/./b/.", "/a/b"),
            ("/a/b/../c", "/a/c"), ("/a/b/../../..", "/"), ("/../a", "/a"), ("/./../x/./y/..", "/x"), ("/a/..b/c", "/a/..b/c"),
            ("/a/.b", "/a/.b"), ("/a b/c", "/a b/c"), ("a/b", "/a/b"), ("/ä/ö/../ü", "/ä/ü"), ("/x/..", "/"),
        ]
        for (input, want) in cases { XCTAssertEqual(Files.clean(input), want, "clean(\"\(input)\")") }
    }

    func testAbsolute() {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        let cwd = String(cString: getcwd(&buf, buf.count)!)
        XCTAssertEqual(Files.absolute("/b/./c/"), "/b/c")
        XCTAssertEqual(Files.absolute("."), Files.clean(cwd))
        XCTAssertEqual(Files.absolute("x/../y"), Files.clean(cwd + "/y"))
        XCTAssertEqual(Files.absolute("bundle"), Files.clean(cwd + "/bundle"))
    }
}
