// Shared support for the CVE regression tests (CVE*Tests.swift): host-side "victims" whose every byte is
// checked after a hostile container ran, hashes of the runtime binary, a sibling container that shares a
// pid namespace, and the ns-local pid of a container process.
//
// Every hostile rootfs here is built so that it cannot hurt the host even when the runtime under test IS
// vulnerable: procfs targets are namespaced sysctls (kernel.hostname, kernel.domainname of the container's
// own UTS namespace), host targets are fresh directories under /tmp/corral-it, and the CVE-2019-5736 tests
// run a COPY of the runtime binary. (Running runc 1.1.5 against a /dev/null -> core_pattern image rewrote
// the host's kernel.core_pattern with the container's stdout: never point these tests at a global file.)
import XCTest
import Glibc
import CorralSpec

/// A host directory that a hostile container must not change: its recursive listing (type, size, content
/// hash) is taken at creation and compared by `assertUntouched`, together with the host mounts below it.
struct HostVictim {
    let dir: String
    let snapshot: [String]

    /// The listing `assertUntouched` compares: one line per entry below `dir` (path, type, size, sha256).
    static func listing(_ dir: String) -> [String] {
        let r = runCommand(["find", dir, "-mindepth", "1", "-printf", "%P %y %s %l\\n"], timeout: 30)
        var lines = r.stdout.nonEmptyLines.sorted()
        for (i, line) in lines.enumerated() {
            let rel = String(line.split(separator: " ").first ?? "")
            if fileType(dir + "/" + rel) == S_IFREG { lines[i] += " " + sha256(ofFile: dir + "/" + rel) }
        }
        return lines
    }

    func assertUntouched(_ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(HostVictim.listing(dir), snapshot, "\(what): the host directory \(dir) was changed",
                       file: file, line: line)
        XCTAssertEqual(hostMounts(below: dir).map(\.line), [], "\(what): something is mounted on the host path \(dir)",
                       file: file, line: line)
    }
}

/// sha256 of a host file (sha256sum), "" when unreadable.
func sha256(ofFile path: String) -> String {
    let r = runCommand(["sha256sum", path], timeout: 60)
    return r.status == 0 ? String(r.stdout.split(separator: " ").first ?? "") : ""
}

/// Base class of the CVE tests: IsolationTestCase plus victims and pid-namespace helpers.
class CVETestCase: IsolationTestCase {
    /// A fresh host directory holding `marker` (content "victim\n") and `sub/marker2`; removed in tearDown.
    func makeVictim(_ prefix: String = "victim") throws -> HostVictim {
        let d = try makeHostDir(prefix)
        try writeFile(d + "/marker", "victim\n")
        try makeDirectories(d + "/sub")
        try writeFile(d + "/sub/marker2", "victim too\n")
        return HostVictim(dir: d, snapshot: HostVictim.listing(d))
    }

    /// The pid of host process `hostPid` in its own (innermost) pid namespace (last NSpid field).
    func innerPid(_ hostPid: Int) -> Int? {
        procStatusField(hostPid, "NSpid")?.last.flatMap { Int($0) }
    }

    /// Removes every config mount whose destination is `dest` (e.g. "/dev": the image's /dev is then used).
    func removeMount(_ dest: String, from b: TestBundle) {
        let list = b.config["mounts"]?.arrayValue ?? []
        b.config["mounts"] = .array(list.filter { $0["destination"]?.stringValue != dest })
    }

    /// Sets all five capability sets (nil = leave the set out of the config).
    func setCapabilities(_ b: TestBundle, bounding: [String]?, effective: [String]?, inheritable: [String]?,
                         permitted: [String]?, ambient: [String]?) {
        var caps: JSONValue = [:]
        for (k, v) in [("bounding", bounding), ("effective", effective), ("inheritable", inheritable),
                       ("permitted", permitted), ("ambient", ambient)] {
            if let v { caps[k] = JSONValue(v) }
        }
        b.setProcess("capabilities", caps)
    }

    /// Bind-mounts host directory `hostDir` read-write at `dest` in bundle `b` (creating the mount point).
    func shareDir(_ hostDir: String, at dest: String, in b: TestBundle) throws {
        try makeDirectories(b.rootfs + dest)
        b.addMount(destination: dest, type: "bind", source: hostDir, options: ["rbind", "rw"])
    }

    /// Starts a detached "sibling" container running `script` (pid 1 of a new pid namespace) with host
    /// directory `shared` at /shared; returns its host pid. Other containers join its pid namespace with
    /// `joinPidNamespace`.
    func startSibling(script: String, shared: String, caps: [String]? = nil, file: StaticString = #filePath,
                      line: UInt = #line) throws -> Int {
        let b = try makeExtraBundle()
        try shareDir(shared, at: "/shared", in: b)
        b.addTmpfsTmp()
        if let caps {
            setCapabilities(b, bounding: caps, effective: caps, inheritable: nil, permitted: caps, ambient: nil)
        }
        b.setShell(script)
        return try startDetached(b, id: runtime.id("sibling"), file: file, line: line)
    }

    /// Makes bundle `b` join the pid namespace of host process `pid` (its other namespaces stay new).
    func joinPidNamespace(of pid: Int, in b: TestBundle) {
        b.addNamespace("pid", path: "/proc/\(pid)/ns/pid")
    }

    /// Waits for `<dir>/<name>` to exist (the sibling's "done" flags); false on timeout.
    @discardableResult
    func waitForFile(_ dir: String, _ name: String, timeout: Double = 20) -> Bool {
        waitUntil(timeout: timeout) { pathExists(dir + "/" + name) }
    }

    /// Every regular file of `dir` as "name: content" lines (what a sibling wrote), for failure messages.
    func dumpDir(_ dir: String) -> String {
        directoryEntries(dir).filter { fileType(dir + "/" + $0) == S_IFREG }
            .map { "\($0): \((readFile(dir + "/" + $0) ?? "").trimmed)" }.joined(separator: "\n")
    }

    /// The shared directory's file `name` trimmed, "" when missing.
    func sharedValue(_ dir: String, _ name: String) -> String {
        (readFile(dir + "/" + name) ?? "").trimmed
    }
}

/// Prints `text` when CORRAL_TEST_VERBOSE is set: what an attack observed, also when it failed as it should.
func verboseReport(_ text: String, function: String = #function) {
    if let v = getenv("CORRAL_TEST_VERBOSE"), v.pointee != 0 { print("--- \(function)\n\(text)") }
}

/// Shell prelude for sibling scripts: `waitfor NAME` polls /shared/NAME; `record NAME CMD...` runs CMD with its
/// output discarded and writes "ok"/"fail" to /shared/NAME and stderr to /shared/NAME.err.
let siblingPrelude = """
    S=/shared
    waitfor() { i=0; while [ ! -e "$S/$1" ] && [ $i -lt 1500 ]; do usleep 20000; i=$((i+1)); done; }
    record() { n=$1; shift; if "$@" >/dev/null 2>"$S/$n.err"; then echo ok >"$S/$n"; else echo fail >"$S/$n"; fi; }

    """
