// OCI hooks with real containers: every kind at its moment with the state on stdin, in the right namespaces,
// in order, with args/env exactly as configured; timeouts; failures that must leave nothing behind (create-time
// kinds), stop the process from ever running (startContainer) or only warn (poststart, poststop); and a
// Docker-like prestart hook that moves a veth into the container's network namespace.
//
// The same tests run against runc 1.1.5 (CORRAL_TEST_RUNTIME=/usr/sbin/runc). Where runc differs, the test
// says so and checks what runc does instead:
// - createContainer and startContainer state: runc sends the pid as seen inside the container (1), corral the
//   host pid, as the spec defines the state's pid;
// - poststart: runc 1.1 runs these hooks at the end of `create` (state "created"; fixed in runc 1.2), corral in
//   `start` once the process is released (state "running"), as the spec says;
// - a failed startContainer hook: runc has already released `start`, which exits 0; corral's `start` fails;
// - a failed poststart hook: runc 1.1 kills the container and fails `create`; corral warns and goes on (the
//   spec); a failed poststop hook: runc logs an error and skips the rest, corral warns and runs the rest;
// - runc 1.1 words errors "error running hook #0: error running hook: exit status 1, ..."; corral names the kind as
//   runc 1.2 does and keeps 1.1's inner words: "error running prestart hook #0: error running hook: exit status 1, ...".
import XCTest
import Glibc
import CorralSpec

final class HookTests: IsolationTestCase {
    /// A host directory the hooks write to (the rootfs is read-only).
    private var out: String!
    /// The host hook: `hook.sh <label> <outdir>` saves its stdin (<label>.state), namespaces (<label>.ns), cwd
    /// (<label>.cwd), the init's mountinfo (<label>.mountinfo) and appends the label to <outdir>/order.
    private var hookScript: String!
    private static let path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

    override func setUpWithError() throws {
        try super.setUpWithError()
        out = try makeHostDir("hookout")
        _ = chmod(out, 0o777)
        hookScript = out + "/hook.sh"
        try writeFile(hookScript, """
            #!/bin/sh
            o="$2/$1"
            cat > "$o.state"
            pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p' "$o.state")
            { readlink /proc/self/ns/mnt; readlink /proc/self/ns/net; readlink /proc/self/ns/pid; } > "$o.ns"
            pwd > "$o.cwd"
            if [ -n "$pid" ]; then cat "/proc/$pid/mountinfo" > "$o.mountinfo" 2>/dev/null; fi
            echo "$1" >> "$2/order"
            """, mode: 0o755)
    }

    private func hook(_ label: String, timeout: Int? = nil) -> JSONValue {
        var h: JSONValue = ["path": .string(hookScript), "args": ["hook.sh", .string(label), .string(out)],
                            "env": [.string(Self.path)]]
        if let timeout { h["timeout"] = JSONValue(timeout) }
        return h
    }

    private func shHook(_ script: String, timeout: Int? = nil) -> JSONValue {
        var h: JSONValue = ["path": "/bin/sh", "args": ["sh", "-c", .string(script)], "env": [.string(Self.path)]]
        if let timeout { h["timeout"] = JSONValue(timeout) }
        return h
    }

    private func setHooks(_ hooks: [String: [JSONValue]]) {
        var o = JSONObject()
        for (k, v) in hooks { o[k] = .array(v) }
        bundle.config["hooks"] = .object(o)
    }

    private func order() -> [String] { (readFile(out + "/order") ?? "").nonEmptyLines }

    private func state(_ label: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        guard let text = readFile(out + "/\(label).state") else {
            XCTFail("the \(label) hook did not run", file: file, line: line)
            return nil
        }
        do { return try JSONValue.parse(text) } catch {
            XCTFail("\(label) state is not JSON: \(text)", file: file, line: line)
            return nil
        }
    }

    private func namespaces(_ label: String) -> [String] { (readFile(out + "/\(label).ns") ?? "").nonEmptyLines }

    private func namespaces(ofPid pid: Int) -> [String] {
        ["mnt", "net", "pid"].map { readLink("/proc/\(pid)/ns/\($0)") ?? "?" }
    }

    private var hostNamespaces: [String] { ["mnt", "net", "pid"].map { hostNamespace($0) } }

    /// Checks the fields every state has: id, bundle, status (and pid when given).
    private func checkState(_ s: JSONValue?, id: String, status: String, pid: Int64?, _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        guard let s else { return }
        XCTAssertEqual(s["id"]?.stringValue, id, label, file: file, line: line)
        XCTAssertEqual(s["bundle"]?.stringValue, bundle.dir, label, file: file, line: line)
        XCTAssertEqual(s["status"]?.stringValue, status, "\(label): \(s)", file: file, line: line)
        XCTAssertNotNil(s["ociVersion"]?.stringValue, label, file: file, line: line)
        if let pid { XCTAssertEqual(s["pid"]?.int64Value, pid, "\(label): \(s)", file: file, line: line) }
    }

    // MARK: every kind at its moment

    func testEveryKindRunsAtItsMomentInItsNamespacesWithTheState() throws {
        let shared = try bundle.addSharedDir()
        // startContainer's path resolves inside the container: /hook.sh exists only in the rootfs.
        XCTAssertFalse(pathExists("/hook.sh"))
        try bundle.writeRootfsFile("/hook.sh", """
            #!/bin/sh
            cat > /shared/startContainer.state
            { readlink /proc/self/ns/mnt; readlink /proc/self/ns/net; readlink /proc/self/ns/pid; } > /shared/startContainer.ns
            """)
        setHooks([
            "prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")],
            "startContainer": [["path": "/hook.sh", "env": [.string(Self.path)]]],
            "poststart": [hook("poststart")], "poststop": [hook("poststop")],
        ])
        // The process proves that startContainer ran before it.
        bundle.setShell("if [ -f /shared/startContainer.state ]; then echo yes > /shared/process-saw-hook; fi")
        let id = runtime.id("hooks")
        let initPid = Int64(try runtime.createParked(bundle, id: id))
        let initNS = namespaces(ofPid: Int(initPid))
        XCTAssertNotEqual(initNS, hostNamespaces)

        // create: prestart, createRuntime (runtime namespaces), createContainer (the container's), in that order.
        // (runc 1.1 runs poststart here too.)
        XCTAssertEqual(order(), ["prestart", "createRuntime", "createContainer"] + (RuntimeUnderTest.isRunc ? ["poststart"] : []))
        for label in ["prestart", "createRuntime"] {
            checkState(state(label), id: id, status: "creating", pid: initPid, label)
            XCTAssertEqual(namespaces(label), hostNamespaces, "\(label) runs in the runtime's namespaces")
            XCTAssertEqual(readFile(out + "/\(label).cwd")?.trimmed, bundle.dir, "\(label) starts in the bundle")
            // After the mounts, before pivot_root: the init's mounts are still below the rootfs path.
            let mi = readFile(out + "/\(label).mountinfo") ?? ""
            XCTAssertTrue(mi.contains(" \(realPath(bundle.rootfs))/dev "), "\(label): /dev mounted, not pivoted yet:\n\(mi)")
        }
        checkState(state("createContainer"), id: id, status: "creating", pid: RuntimeUnderTest.isRunc ? 1 : initPid,
                   "createContainer")
        XCTAssertEqual(namespaces("createContainer"), initNS, "createContainer runs in the container's namespaces")
        XCTAssertEqual(readFile(out + "/createContainer.cwd")?.trimmed, bundle.rootfs,
                       "createContainer: before pivot_root, the path resolves in the runtime's filesystem")
        XCTAssertFalse(pathExists(shared + "/startContainer.state"), "startContainer waits for start")

        // start: startContainer in the container before the process, then poststart in the runtime namespaces.
        let s = runtime("start", id)
        XCTAssertEqual(s.status, 0, "\(s)")
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        checkState(try? JSONValue.parse(readFile(shared + "/startContainer.state") ?? ""), id: id, status: "created",
                   pid: RuntimeUnderTest.isRunc ? 1 : initPid, "startContainer")
        XCTAssertEqual((readFile(shared + "/startContainer.ns") ?? "").nonEmptyLines, initNS,
                       "startContainer runs in the container's namespaces")
        XCTAssertEqual(readFile(shared + "/process-saw-hook")?.trimmed, "yes", "startContainer ran before the process")
        checkState(state("poststart"), id: id, status: RuntimeUnderTest.isRunc ? "created" : "running", pid: initPid, "poststart")
        XCTAssertEqual(namespaces("poststart"), hostNamespaces)
        XCTAssertEqual(order(), ["prestart", "createRuntime", "createContainer", "poststart"])

        // delete: poststop, after the container is gone; a stopped container has no pid.
        let d = runtime("delete", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        XCTAssertEqual(order(), ["prestart", "createRuntime", "createContainer", "poststart", "poststop"])
        checkState(state("poststop"), id: id, status: "stopped", pid: nil, "poststop")
        XCTAssertNil(state("poststop")?["pid"], "no pid once stopped")
        XCTAssertEqual(namespaces("poststop"), hostNamespaces)
        XCTAssertFalse(pathExists(runtime.root + "/" + id), "poststop runs after the container's state is gone")
    }

    func testRunRunsEveryKindOnce() throws {
        setHooks(["prestart": [hook("prestart")], "createRuntime": [hook("createRuntime")],
                  "createContainer": [hook("createContainer")], "poststart": [hook("poststart")],
                  "poststop": [hook("poststop")]])
        bundle.setShell("echo process")
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "process")
        XCTAssertEqual(order(), ["prestart", "createRuntime", "createContainer", "poststart", "poststop"])
    }

    func testSeveralHooksRunInOrderWithArgsAndEnvExactly() throws {
        // argv[0] is passed as given (not the path): the shell's own /proc/<pid>/cmdline shows it.
        let argvHook: JSONValue = [
            "path": "/bin/sh",
            "args": ["my-argv0", "-c", .string("tr '\\0' '\\n' < /proc/$$/cmdline > \(out!)/cmdline; env > \(out!)/env; echo 2 >> \(out!)/order"),
                     "zero", "two words"],
            "env": ["FOO=bar", "EMPTY=", .string(Self.path), "DUP=1"],
        ]
        setHooks([
            "prestart": [shHook("echo 1 >> \(out!)/order"), argvHook, shHook("echo 3 >> \(out!)/order")],
            "createRuntime": [shHook("echo 4 >> \(out!)/order")],
        ])
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(order(), ["1", "2", "3", "4"])
        XCTAssertEqual(readFile(out + "/cmdline")?.nonEmptyLines.first, "my-argv0")
        XCTAssertEqual(Array((readFile(out + "/cmdline")?.nonEmptyLines ?? []).suffix(2)), ["zero", "two words"])
        // Exactly the configured environment (the shell adds PWD itself): nothing of the runtime's own.
        let env = (readFile(out + "/env") ?? "").nonEmptyLines.filter { !$0.hasPrefix("PWD=") && !$0.hasPrefix("OLDPWD=") }
        XCTAssertEqual(env.sorted(), ["DUP=1", "EMPTY=", "FOO=bar", Self.path].sorted())
    }

    // MARK: timeouts and create-time failures

    func testTimeoutKillsASleepingHookAndCreateFails() throws {
        setHooks(["createRuntime": [shHook("echo $$ > \(out!)/sleeper; exec sleep 30", timeout: 1)]])
        bundle.setShell("sleep 30")
        try bundle.writeConfig()
        let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
        let id = runtime.id("timeout")
        let started = monotonicNow()
        let r = runtime.call(["create", "--bundle", bundle.dir, id], timeout: 30)
        XCTAssertLessThan(monotonicNow() - started, 15, "create returns soon after the 1 s timeout")
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("hook ran past specified timeout of 1.0s"), r.stderr)
        if RuntimeUnderTest.isCorral {
            XCTAssertTrue(r.stderr.contains("error running createRuntime hook #0: hook ran past specified timeout of 1.0s"), r.stderr)
        }
        let sleeper = Int(readFile(out + "/sleeper")?.trimmed ?? "") ?? 0
        XCTAssertGreaterThan(sleeper, 0, "the hook started")
        XCTAssertTrue(waitUntil(timeout: 5) { !processIsAlive(sleeper) }, "the sleeping hook was killed")
        XCTAssertEqual(HostSnapshot.take(root: runtime.root, bundle: bundle.dir), before, "nothing left behind")
        XCTAssertNil(runtime.stateJSON(id))
    }

    func testFailingCreateTimeHooksFailCreateAndLeaveNothing() throws {
        bundle.setShell("sleep 30")
        for kind in ["prestart", "createRuntime", "createContainer"] {
            setHooks([kind: [shHook("true"), shHook("echo o; echo e >&2; exit 1")],
                      "poststop": [shHook("echo poststop >> \(out!)/\(kind)-poststop")]])
            try bundle.writeConfig()
            for verb in ["create", "run"] {
                let before = HostSnapshot.take(root: runtime.root, bundle: bundle.dir)
                let id = runtime.id("fail")
                let r = runtime.call([verb, "--bundle", bundle.dir, id])
                XCTAssertEqual(r.status, 1, "\(kind) \(verb): \(r)")
                XCTAssertTrue(r.stderr.contains("hook #1: "), "\(kind): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("exit status 1, stdout: o\\n, stderr: e\\n"), "\(kind): \(r.stderr)")
                if RuntimeUnderTest.isCorral {
                    XCTAssertTrue(r.stderr.contains("corral \(verb) failed: error running \(kind) hook #1: error running hook: exit status 1, stdout: o\\n, stderr: e\\n"),
                                  r.stderr)
                }
                XCTAssertEqual(HostSnapshot.take(root: runtime.root, bundle: bundle.dir), before, "\(kind) \(verb) left something behind")
                XCTAssertNil(runtime.stateJSON(id))
            }
            // Both runtimes run poststop hooks after a failed create (they may undo what earlier hooks did).
            XCTAssertEqual(readFile(out + "/\(kind)-poststop")?.nonEmptyLines, ["poststop", "poststop"], kind)
        }
    }

    func testMissingHookBinaryFailsCreateWithGosWording() throws {
        setHooks(["prestart": [["path": "/nonexistent/corral-hook"]]])
        try bundle.writeConfig()
        runtime.expectCleanFailure(bundle: bundle, id: runtime.id("nobin"),
                                   message: "fork/exec /nonexistent/corral-hook: no such file or directory")
    }

    func testInvalidTimeoutIsRefused() throws {
        if RuntimeUnderTest.isRunc {
            // runc 1.1.5 does not validate it: the hook races a timer that has already expired.
            throw XCTSkip("runc 1.1.5 accepts a zero or negative hook timeout")
        }
        for t in [0, -5] {
            setHooks(["prestart": [shHook("true", timeout: t)]])
            try bundle.writeConfig()
            runtime.expectCleanFailure(bundle: bundle, id: runtime.id("badtimeout"),
                                       message: "hooks.prestart[0].timeout: must be greater than zero, got \(t)")
        }
    }

    // MARK: start and delete failures

    func testFailingStartContainerHookNeverRunsTheProcess() throws {
        let shared = try bundle.addSharedDir()
        setHooks(["startContainer": [shHook("echo no; exit 1")]])
        bundle.setShell("touch /shared/process-ran")
        let id = runtime.id("startfail")
        XCTAssertEqual(runtime.create(bundle, id: id).status, 0)
        let s = runtime("start", id)
        if RuntimeUnderTest.isRunc {
            // runc's init writes "0" to the fifo before its startContainer hooks: `start` cannot know.
            XCTAssertEqual(s.status, 0, "\(s)")
        } else {
            XCTAssertEqual(s.status, 1, "\(s)")
            XCTAssertTrue(s.stderr.contains("error running startContainer hook #0: error running hook: exit status 1, stdout: no\\n, stderr: "), s.stderr)
        }
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"), "the init exits")
        XCTAssertFalse(pathExists(shared + "/process-ran"), "the process never ran")
        XCTAssertEqual(runtime("delete", id).status, 0)
    }

    func testFailingPoststartHookOnlyWarns() throws {
        setHooks(["poststart": [shHook("echo ps-out; exit 1"), shHook("echo ran >> \(out!)/poststart")]])
        bundle.setShell("sleep 30")
        let id = runtime.id("warn")
        let c = runtime.create(bundle, id: id)
        if RuntimeUnderTest.isRunc {
            // runc 1.1 runs poststart hooks in `create` and kills the container when one fails (the spec says warn
            // and continue).
            XCTAssertEqual(c.status, 1, "\(c)")
            XCTAssertTrue(c.stderr.contains("exit status 1, stdout: ps-out\\n"), c.stderr)
            XCTAssertNil(readFile(out + "/poststart"), "runc stops at the failed hook")
            return
        }
        XCTAssertEqual(c.status, 0, "\(c)")
        let s = runtime("start", id)
        XCTAssertEqual(s.status, 0, "\(s)")
        XCTAssertTrue(s.stderr.contains("level=warning msg=\"error running poststart hook #0: error running hook: exit status 1, stdout: ps-out\\n, stderr: \""),
                      s.stderr)
        XCTAssertEqual(runtime.status(id), "running", "a failed poststart hook does not stop the container")
        XCTAssertEqual(readFile(out + "/poststart")?.nonEmptyLines, ["ran"], "the next poststart hook ran")
    }

    func testFailingPoststopHookOnlyWarns() throws {
        setHooks(["poststop": [shHook("exit 2"), shHook("echo ran >> \(out!)/poststop")]])
        bundle.setShell("true")
        let id = runtime.id("warn")
        XCTAssertEqual(runtime.create(bundle, id: id).status, 0)
        XCTAssertEqual(runtime("start", id).status, 0)
        XCTAssertTrue(runtime.waitForStatus(id, "stopped"))
        let d = runtime("delete", id)
        XCTAssertEqual(d.status, 0, "\(d)")
        XCTAssertNil(runtime.stateJSON(id), "the container is deleted: \(d)")
        if RuntimeUnderTest.isRunc {
            // runc 1.1 logs the failure as an error and skips the remaining poststop hooks.
            XCTAssertTrue(d.stderr.contains("error running hook #0: error running hook: exit status 2"), d.stderr)
            XCTAssertNil(readFile(out + "/poststop"))
            return
        }
        XCTAssertTrue(d.stderr.contains("level=warning msg=\"error running poststop hook #0: error running hook: exit status 2"), d.stderr)
        XCTAssertEqual(readFile(out + "/poststop")?.nonEmptyLines, ["ran"], "the next poststop hook ran")
    }

    // MARK: Docker's use

    /// Docker's libnetwork prestart hook reads the pid from the state and configures the container's network
    /// namespace; without it `--network bridge` has no eth0. This one moves a veth peer in as eth0 (no address,
    /// no traffic).
    func testDockerLikePrestartHookConfiguresTheNetworkNamespace() throws {
        guard let ip = findHostTool(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]),
              let nsenter = findHostTool(["/usr/bin/nsenter", "/bin/nsenter"]) else {
            throw XCTSkip("ip(8) or nsenter(1) missing on the host")
        }
        let tag = randomHex(6)
        let hostEnd = "hkh\(tag)", peer = "hkp\(tag)"
        onTeardown { _ = runCommand([ip, "link", "del", hostEnd]) }
        let script = out + "/setkey.sh"
        try writeFile(script, """
            #!/bin/sh
            set -e
            pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')
            \(ip) link add \(hostEnd) type veth peer name \(peer)
            \(ip) link set \(peer) netns "$pid"
            \(nsenter) -t "$pid" -n \(ip) link set \(peer) name eth0
            \(nsenter) -t "$pid" -n \(ip) link set eth0 up
            \(ip) link set \(hostEnd) up
            """, mode: 0o755)
        setHooks(["prestart": [["path": .string(script), "args": ["libnetwork-setkey", "-exec-root=/run/x", "id", "sandbox"],
                                "env": [.string(Self.path)]]]])
        bundle.setShell("ls /sys/class/net; ip link show eth0")
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines.prefix(2).sorted(), ["eth0", "lo"], r.stdout)
        XCTAssertTrue(r.stdout.contains(": eth0") && r.stdout.contains(",UP"), "eth0 is up: \(r.stdout)")
        // The container's network namespace is gone, and with it the pair.
        XCTAssertTrue(waitUntil(timeout: 10) { runCommand([ip, "link", "show", hostEnd]).status != 0 },
                      "the host end went away with the container")
    }
}
