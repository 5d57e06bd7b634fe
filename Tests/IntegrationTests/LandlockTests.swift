// Landlock through the io.corral.landlock.* annotations, in real containers: the filesystem sets (a write outside
// the read-write paths and a read outside both sets fail with EACCES, what is listed works), the program and its
// interpreter must be executable, TCP connect and bind ports, the signal and abstract-unix-socket scopes, the record
// in state.json, exec'd processes under the same ruleset, and refusals that leave nothing behind.
//
// runc ignores annotations it does not know, so under runc every test here skips (the annotations mean nothing to
// it). Most tests compare with a control run without Landlock, so a denial is shown to be Landlock's.
import XCTest
import Glibc
import CorralSpec

final class LandlockTests: RuntimeTestCase {
    private let fsRW = "io.corral.landlock.fs.rw", fsRO = "io.corral.landlock.fs.ro"
    private let bindTCP = "io.corral.landlock.net.bind-tcp", connectTCP = "io.corral.landlock.net.connect-tcp"
    private let scope = "io.corral.landlock.scope", mode = "io.corral.landlock.mode"
    private var probe = ""
    /// The kernel's Landlock ABI, asked by the probe on the host (0: none).
    private var abi = 0

    override func setUpWithError() throws {
        try super.setUpWithError()
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc ignores unknown annotations: io.corral.landlock.* means nothing to it")
        }
        probe = try EscapeProbes.landlockProbe()
        let r = runCommand([probe, "abi"])
        abi = Int(r.stdout.trimmed.split(separator: " ").last ?? "") ?? 0
        try makeDirectories(bundle.rootfs + "/probe")
        let c = runCommand(["install", "-m", "0755", probe, bundle.rootfs + "/probe/landlock_probe"])
        guard c.status == 0 else { throw HarnessError("install the probe: \(c)") }
    }

    /// Enforce mode needs every right of a kind: the filesystem's from ABI 5, TCP ports' from 4, scopes' from 6.
    private func requireABI(_ needed: Int) throws {
        if abi < needed { throw XCTSkip("this kernel offers Landlock ABI \(abi); the test needs \(needed)") }
    }

    private func landlock(_ annotations: [String: String]) {
        var o = JSONObject()
        for (k, v) in annotations { o[k] = .string(v) }
        bundle.config["annotations"] = .object(o)
    }

    private func noLandlock() { bundle.config["annotations"] = nil }

    // MARK: filesystem

    func testWriteOutsideTheReadWritePathsFailsInsideWorks() throws {
        try requireABI(5)
        let inside = try bundle.addSharedDir(at: "/shared")
        let outside = try bundle.addSharedDir(at: "/other")
        bundle.setShell("echo in > /shared/f && echo wrote-shared; echo out > /other/f && echo wrote-other")
        let control = rt.run(bundle)
        XCTAssertEqual(control.stdout.nonEmptyLines, ["wrote-shared", "wrote-other"], "without Landlock both are writable: \(control)")
        _ = unlink(inside + "/f")
        _ = unlink(outside + "/f")

        landlock([fsRW: "/shared", fsRO: "/bin"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.stdout.nonEmptyLines, ["wrote-shared"], "\(r)")
        XCTAssertTrue(r.stderr.contains("can't create /other/f: Permission denied"), "EACCES outside the rw paths: \(r)")
        XCTAssertEqual(readFile(inside + "/f"), "in\n")
        XCTAssertNil(readFile(outside + "/f"), "nothing written outside the rw paths")
    }

    func testReadOutsideBothSetsFails() throws {
        try requireABI(5)
        bundle.setShell("ls /bin | grep -c '^busybox$'; cat /etc/hostname; ls /")
        let control = rt.run(bundle)
        XCTAssertEqual(control.status, 0, "\(control)")
        XCTAssertTrue(control.stdout.contains("bin"), "without Landlock / is listed: \(control)")

        landlock([fsRO: "/bin", fsRW: "/tmp"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.stdout.nonEmptyLines, ["1"], "only /bin is readable: \(r)")
        XCTAssertTrue(r.stderr.contains("cat: can't open '/etc/hostname': Permission denied"), "\(r)")
        XCTAssertTrue(r.stderr.contains("ls: can't open '/': Permission denied"), "\(r)")
    }

    func testTheProgramAndItsInterpreterMustBeExecutable() throws {
        try requireABI(5)
        landlock([fsRO: "/bin"])
        bundle.setArgs(["/bin/echo", "ran"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "ran\n")

        // A "#!" script runs when its interpreter (/bin/sh, a link to /bin/busybox) can run too.
        try bundle.writeRootfsFile("/opt/hello", "#!/bin/sh\necho script-ran\n")
        bundle.setArgs(["/opt/hello"])
        landlock([fsRO: "/opt,/bin"])
        let script = rt.run(bundle)
        XCTAssertEqual(script.stdout, "script-ran\n", "\(script)")

        landlock([fsRO: "/opt"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-interp"),
                              message: "annotations[\\\"io.corral.landlock.fs.ro\\\"]: the interpreter \\\"/bin/sh\\\" of the program is in no path of io.corral.landlock.fs.ro (they are all it may execute)")
        bundle.setArgs(["/bin/echo", "ran"])
        landlock([fsRO: "/usr", fsRW: "/tmp"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-prog"),
                              message: "the program \\\"/bin/echo\\\" is in no path of io.corral.landlock.fs.ro or io.corral.landlock.fs.rw")
    }

    func testAnELFProgramsLoaderMustBeExecutable() throws {
        try requireABI(5)
        // The host's dynamically linked /bin/true and its loader, copied into the image (the loader is checked, not
        // its libraries, which the loader reports itself).
        let loader = "/lib64/ld-linux-x86-64.so.2"
        guard access(loader, R_OK) == 0, access("/bin/true", R_OK) == 0 else { throw XCTSkip("no \(loader) on this host") }
        try makeDirectories(bundle.rootfs + "/opt")
        try makeDirectories(bundle.rootfs + "/lib64")
        XCTAssertEqual(runCommand(["cp", "/bin/true", bundle.rootfs + "/opt/true"]).status, 0)
        XCTAssertEqual(runCommand(["cp", loader, bundle.rootfs + loader]).status, 0)
        bundle.setArgs(["/opt/true"])
        landlock([fsRO: "/opt"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-elf"),
                              message: "the interpreter \\\"\(loader)\\\" of the program is in no path of io.corral.landlock.fs.ro")
    }

    // MARK: network

    func testTCPConnectOnlyToListedPorts() throws {
        try requireABI(5)
        // The listeners are the probe's own, on loopback in the container's network namespace.
        bundle.setArgs(["/probe/landlock_probe", "listen", "8080", "listen", "8081", "connect", "8080", "connect", "8081"])
        let control = rt.run(bundle)
        XCTAssertEqual(control.stdout.nonEmptyLines, ["listen 8080 ok", "listen 8081 ok", "connect 8080 ok", "connect 8081 ok"], "\(control)")

        landlock([fsRO: "/probe", connectTCP: "8080"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["listen 8080 ok", "listen 8081 ok", "connect 8080 ok", "connect 8081 EACCES"])
    }

    func testTCPBindOnlyToListedPorts() throws {
        try requireABI(5)
        landlock([fsRO: "/probe", bindTCP: "8000-8002, 9000"])
        bundle.setArgs(["/probe/landlock_probe", "listen", "8001", "listen", "9000", "listen", "8081", "connect", "8081"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.stdout.nonEmptyLines, ["listen 8001 ok", "listen 9000 ok", "listen 8081 EACCES", "connect 8081 ECONNREFUSED"],
                       "connect is not handled: refused by the network, not by Landlock: \(r)")
    }

    // MARK: scopes

    func testSignalScopeBlocksSignalsOutsideTheDomain() throws {
        try requireABI(6)
        // The host's pid namespace: the target is a process of the test, outside the container's Landlock domain.
        bundle.removeNamespace("pid")
        let target = try spawnBackground(["/bin/sleep", "60"])
        defer { kill(target, SIGKILL); var s: Int32 = 0; waitpid(target, &s, 0) }
        bundle.setArgs(["/probe/landlock_probe", "kill", String(target)])
        landlock([fsRO: "/probe"])
        let control = rt.run(bundle)
        XCTAssertEqual(control.stdout.nonEmptyLines, ["kill \(target) ok"], "without the scope the signal goes through: \(control)")
        landlock([fsRO: "/probe", scope: "signal"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.stdout.nonEmptyLines, ["kill \(target) EPERM"], "\(r)")
    }

    func testAbstractUnixSocketScopeBlocksSocketsMadeOutside() throws {
        try requireABI(6)
        // The host's network namespace: the listener is the test's, outside the container's Landlock domain.
        bundle.removeNamespace("network")
        let name = "corral-ll-\(getpid())-\(randomHex(4))"
        let fd = try listenAbstract(name)
        defer { close(fd) }
        bundle.setArgs(["/probe/landlock_probe", "abstract", name])
        landlock([fsRO: "/probe"])
        let control = rt.run(bundle)
        XCTAssertEqual(control.stdout.nonEmptyLines, ["abstract \(name) ok"], "\(control)")
        landlock([fsRO: "/probe", scope: "abstract-unix-socket"])
        let r = rt.run(bundle)
        XCTAssertEqual(r.stdout.nonEmptyLines, ["abstract \(name) EPERM"], "\(r)")
    }

    private func listenAbstract(_ name: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i + 1] = b } }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard fd >= 0, r == 0, listen(fd, 4) == 0 else { throw HarnessError("listen on @\(name): \(errnoString())") }
        return fd
    }

    // MARK: record, exec, modes

    func testStateRecordsTheRulesetAndExecIsSandboxedToo() throws {
        try requireABI(6)
        landlock([fsRO: "/bin,/etc/passwd", connectTCP: "443", scope: "signal"])
        bundle.setArgs(["/bin/sleep", "60"])
        let id = rt.id("ll-state")
        let c = rt.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "\(c)")
        let state = try JSONValue.parse(readFile(rt.root + "/" + id + "/state.json") ?? "")
        let ll = try XCTUnwrap(state["landlock"], "state.json keeps the ruleset")
        XCTAssertEqual(ll["abi"]?.int64Value, Int64(abi))
        XCTAssertEqual(ll["mode"], "enforce")
        XCTAssertEqual(ll["paths"]?.arrayValue?.compactMap { $0["path"]?.stringValue }, ["/bin", "/etc/passwd"])
        XCTAssertEqual(ll["paths"]?[0]?["access"], ["execute", "read_file", "read_dir"])
        XCTAssertEqual(ll["tcpPorts"]?[0]?["port"]?.int64Value, 443)
        XCTAssertEqual(ll["scoped"], ["signal"])
        XCTAssertEqual(ll["dropped"], [])
        XCTAssertEqual(rt("start", id).status, 0)
        let e = rt("exec", id, "/bin/sh", "-c", "grep -c ^root: /etc/passwd; cat /etc/hostname; echo exec-ran")
        XCTAssertEqual(e.stdout.nonEmptyLines, ["1", "exec-ran"], "\(e)")
        XCTAssertTrue(e.stderr.contains("cat: can't open '/etc/hostname': Permission denied"), "an exec'd process is sandboxed too: \(e)")
    }

    func testBestEffortAndEnforceAgainstTheKernelsABI() throws {
        bundle.setArgs(["/bin/echo", "ran"])
        landlock([fsRO: "/bin", connectTCP: "80", scope: "signal,abstract-unix-socket"])
        if abi >= 6 {
            // Every rule is within this kernel's ABI: enforce runs, and best-effort drops nothing.
            XCTAssertEqual(rt.run(bundle).stdout, "ran\n")
            bundle.config["annotations"]?[mode] = "best-effort"
            let id = rt.id("ll-be")
            XCTAssertEqual(rt.create(bundle, id: id).status, 0)
            let state = try JSONValue.parse(readFile(rt.root + "/" + id + "/state.json") ?? "")
            XCTAssertEqual(state["landlock"]?["dropped"], [], "ABI \(abi) has every right")
            XCTAssertEqual(state["landlock"]?["mode"], "best-effort")
        } else {
            try bundle.writeConfig()
            rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-abi"), message: "needs Landlock ABI")
            bundle.config["annotations"]?[mode] = "best-effort"
            XCTAssertEqual(rt.run(bundle).stdout, "ran\n", "best-effort runs with what ABI \(abi) offers")
        }
    }

    func testRefusalsLeaveNothingBehind() throws {
        try requireABI(5)
        let cases: [([String: String], String)] = [
            ([fsRO: "/bin", mode: "strict"], "annotations[\\\"io.corral.landlock.mode\\\"]: unsupported value \\\"strict\\\" (supported: enforce, best-effort)"),
            ([fsRO: "/bin", "io.corral.landlock.fs.rx": "/"], "annotations[\\\"io.corral.landlock.fs.rx\\\"]: unknown Landlock annotation"),
            ([fsRO: "/bin", connectTCP: "https"], "annotations[\\\"io.corral.landlock.net.connect-tcp\\\"]: invalid port \\\"https\\\""),
            ([fsRO: "/bin", fsRW: "/no/such/dir", mode: "best-effort"], "annotations[\\\"io.corral.landlock.fs.rw\\\"]: open /no/such/dir: no such file or directory"),
        ]
        for (i, (annotations, message)) in cases.enumerated() {
            landlock(annotations)
            try bundle.writeConfig()
            rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-bad\(i)"), message: message)
        }
        landlock([fsRO: "/bin"])
        bundle.config["process"]?["noNewPrivileges"] = false
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-nnp"), message: "annotations[\\\"io.corral.landlock.fs.ro\\\"]: Landlock needs process.noNewPrivileges: true")
        // A seccomp profile that blocks landlock_restrict_self: caught before the container is reported created.
        bundle.config["process"]?["noNewPrivileges"] = true
        bundle.config["linux"]?["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW",
                                              "syscalls": [["names": ["landlock_restrict_self"], "action": "SCMP_ACT_ERRNO"]]]
        // Control: the profile alone is fine (this also fills the runtime's seccomp cache below the state root).
        noLandlock()
        bundle.setArgs(["/bin/true"])
        XCTAssertEqual(rt.run(bundle).status, 0)
        landlock([fsRO: "/bin"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("ll-seccomp"),
                              message: "landlock_restrict_self is refused: operation not permitted (does the seccomp profile, linux.seccomp, block it?)")
    }

    /// CRIU would restore the process without its ruleset: checkpoint and restore are refused, the container runs on.
    func testCheckpointAndRestoreAreRefused() throws {
        try requireABI(5)
        landlock([fsRO: "/bin"])
        bundle.setArgs(["/bin/sleep", "60"])
        let id = rt.id("ll-ck")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertEqual(rt("start", id).status, 0)
        let images = try makeTempDir("images")
        let ck = rt("checkpoint", "--image-path", images, id)
        XCTAssertEqual(ck.status, 1, "\(ck)")
        XCTAssertTrue(ck.stderr.contains("checkpoint of a container under Landlock is not supported: CRIU cannot give the restored process its Landlock ruleset"), "\(ck)")
        XCTAssertEqual(rt.status(id), "running", "a refused checkpoint leaves the container as it was")
        let rs = rt("restore", "--image-path", images, "--bundle", bundle.dir, rt.id("ll-rs"))
        XCTAssertEqual(rs.status, 1, "\(rs)")
        XCTAssertTrue(rs.stderr.contains("restore of a container under Landlock is not supported"), "\(rs)")
    }
}
