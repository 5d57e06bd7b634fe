// CVE-2024-21626: a host file descriptor leaked into the container (runc leaked a directory fd of
// /sys/fs/cgroup) lets `cwd: "/proc/self/fd/N"` or `args: ["/proc/self/fd/N/../../bin/x"]` reach the host
// filesystem: the process then runs with a working directory or an executable outside its root. The rules: no
// fd but stdio and the preserved ones survives into the container, no fd the init holds while parked is a
// host directory, and neither cwd nor the executable may be reached through a /proc/self/fd magic link.
//
// "Escaped" is decided by host-only marker files: the state root and the bundle directory (the directories
// whose fds a runtime holds) contain files named HOSTMARK-<random> and executable decoys that print
// ESCAPED-<random>; nothing inside the rootfs has those names.
import XCTest
import Glibc
import CorralSpec

final class CVEFdLeakTests: CVETestCase {
    private var marker = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        marker = "HOSTMARK-" + randomHex(8)
        for dir in [runtime.root, bundle.dir] {
            try writeFile(dir + "/" + marker, "host only\n")
            try writeFile(dir + "/decoy", "#!/bin/sh\necho ESCAPED-\(marker)\n", mode: 0o755)
        }
    }

    /// Fails when `text` (what the container printed) shows a host-only name.
    private func assertNoHostView(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for name in [marker, "ESCAPED-", "state.json", "exec.fifo", "config.json"] {
            XCTAssertFalse(text.contains(name), "\(what): the container saw the host (\(name)):\n\(text)",
                           file: file, line: line)
        }
    }

    /// Only 0, 1 and 2 are open in the container process, and none of them is a host directory.
    func testOnlyStdioReachesTheContainer() throws {
        guard let out = runScript(listOwnFds + "echo; for f in 0 1 2; do readlink /proc/$$/fd/$f; done") else { return }
        let lines = out.nonEmptyLines
        XCTAssertEqual(lines.first?.trimmed, "0 1 2", out)
        for target in lines.dropFirst() {
            XCTAssertFalse(target.hasPrefix("/") && target != "/dev/null" && !target.hasPrefix("/dev/pts/"),
                           "stdio points at a file: \(target)")
        }
    }

    /// Prints the shell's own open fds (0...63) with builtins only: `ls /proc/$$/fd` in a pipeline or `$(...)`
    /// would list the shell's pipe, and `ls /proc/self/fd` its own directory fd.
    private let listOwnFds = "i=0; while [ $i -lt 64 ]; do [ -h /proc/$$/fd/$i ] && printf '%s ' $i; i=$((i+1)); done; "

    /// A running container seen from the host: the same three fds.
    func testDetachedContainerHasOnlyStdio() throws {
        bundle.setArgs(["/bin/sleep", "30"])
        let pid = try startDetached(bundle, id: runtime.id("fds"))
        XCTAssertEqual(directoryEntries("/proc/\(pid)/fd"), ["0", "1", "2"],
                       (directoryEntries("/proc/\(pid)/fd").map { "\($0) -> \(readLink("/proc/\(pid)/fd/\($0)") ?? "?")" })
                        .joined(separator: ", "))
    }

    /// An exec'd process gets stdio only (and with --preserve-fds exactly those), whatever the runtime held while
    /// it entered the container: its lock, the init's pidfd, and (corral) its own pid namespace's fd around clone3.
    func testExecdProcessHasOnlyStdio() throws {
        bundle.setArgs(["/bin/sleep", "30"])
        let id = runtime.id("execfds")
        _ = try startDetached(bundle, id: id)
        let plain = runtime.call(["exec", id, "sh", "-c", listOwnFds])
        XCTAssertEqual(plain.status, 0, "\(plain)")
        XCTAssertEqual(plain.stdout.trimmed, "0 1 2", "\(plain)")
        let script = "exec 3</etc/hostname 4</etc/hostname; exec \"$0\" --root \"$1\" exec --preserve-fds 2 \"$2\" sh -c \"$3\""
        let kept = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, id, listOwnFds])
        XCTAssertEqual(kept.status, 0, "\(kept)")
        XCTAssertEqual(kept.stdout.trimmed, "0 1 2 3 4", "\(kept)")
    }

    /// The parked init (between create and start) lives in the container's namespaces for as long as the
    /// caller waits: none of its fds may be a directory outside the container's root (a leaked directory fd is
    /// the whole of CVE-2024-21626, and a sibling with CAP_SYS_PTRACE can open it through /proc/<pid>/fd). A
    /// directory fd is accepted only when the path it reports names the very same directory (device and inode)
    /// under /proc/<pid>/root, i.e. it is inside the container (e.g. its own /proc, used to reopen exec.fifo).
    func testParkedInitHoldsNoHostDirectoryFd() throws {
        bundle.setArgs(["/bin/true"])
        let pid = try runtime.createParked(bundle, id: runtime.id("parked"))
        for fd in directoryEntries("/proc/\(pid)/fd") {
            var st = stat()
            let path = "/proc/\(pid)/fd/\(fd)"
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            let link = readLink(path) ?? "?"
            var inside = stat()
            let reachable = link.hasPrefix("/") && stat("/proc/\(pid)/root" + link, &inside) == 0
                && inside.st_dev == st.st_dev && inside.st_ino == st.st_ino
            XCTAssertTrue(reachable, "the parked init holds fd \(fd) on a directory outside its root: \(link)")
        }
    }

    /// What a leaked directory fd of the parked init gives away in practice: a sibling container with
    /// CAP_SYS_PTRACE in the same pid namespace lists /proc/<init>/fd/N/ and /proc/<init>/fd/N/../ and must not
    /// see the host.
    func testSiblingWithPtraceCannotReachHostThroughParkedInit() throws {
        let shared = try makeHostDir("fdleak")
        _ = chmod(shared, 0o777)
        let script = siblingPrelude + """
            waitfor go1
            P=$(cat $S/pid)
            for fd in /proc/$P/fd/*; do echo "== $fd"; ls -a $fd/ $fd/../ 2>&1; done > $S/seen
            touch $S/done
            """
        let sibling = try startSibling(script: script, shared: shared,
                                       caps: ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_AUDIT_WRITE"])
        joinPidNamespace(of: sibling, in: bundle)
        bundle.setArgs(["/bin/true"])
        let p = try runtime.createParked(bundle, id: runtime.id("parked"))
        try writeFile(shared + "/pid", "\(innerPid(p) ?? 0)\n")
        try writeFile(shared + "/go1", "")
        XCTAssertTrue(waitForFile(shared, "done"), dumpDir(shared))
        assertNoHostView(readFile(shared + "/seen") ?? "", "listing the parked init's fds from a sibling")
    }

    /// --preserve-fds N: exactly fds 3 .. 3+N-1 are added.
    func testPreservedFdsAreTheOnlyExtras() throws {
        bundle.setShell(listOwnFds)
        try bundle.writeConfig()
        let id = runtime.id("preserve")
        let script = "exec 3</etc/hostname 4</etc/hostname 5</etc/hostname; " +
            "exec \"$0\" --root \"$1\" run --preserve-fds 2 --bundle \"$2\" \"$3\""
        let r = runCommand(["/bin/sh", "-c", script, RuntimeUnderTest.path, runtime.root, bundle.dir, id])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "0 1 2 3 4", "\(r)")
    }

    /// cwd "/proc/self/fd/N" for N in 3...10: the container must fail, or run with a working directory inside
    /// its rootfs.
    func testCwdInProcSelfFdCannotEscape() throws {
        for n in 3...10 {
            bundle.setProcess("cwd", .string("/proc/self/fd/\(n)"))
            bundle.setShell("pwd -P; ls -a . .. ../..")
            let r = runtime.run(bundle)
            assertNoHostView(r.stdout, "cwd /proc/self/fd/\(n) (status \(r.status))")
            if !r.stdout.isEmpty {
                XCTAssertTrue(r.stdout.hasPrefix("/"), "cwd /proc/self/fd/\(n): pwd is not inside the root: \(r)")
            }
        }
    }

    /// The same through a symlink the image plants: /escape -> /proc/self/fd/N, cwd "/escape" (and below it).
    func testCwdThroughSymlinkToProcSelfFdCannotEscape() throws {
        for n in 3...10 {
            let link = bundle.rootfs + "/escape\(n)"
            XCTAssertEqual(symlink("/proc/self/fd/\(n)", link), 0)
            for cwd in ["/escape\(n)", "/escape\(n)/.."] {
                bundle.setProcess("cwd", .string(cwd))
                bundle.setShell("pwd -P; ls -a . .. ../..")
                let r = runtime.run(bundle)
                assertNoHostView(r.stdout, "cwd \(cwd) -> /proc/self/fd/\(n) (status \(r.status))")
            }
        }
    }

    /// args[0] "/proc/self/fd/N/<rel>/decoy": the runtime must not execute a host file through a fd it still
    /// holds while it looks up and executes the container's program (runc's "attack 3", which lets the
    /// container then overwrite that host binary through /proc/self/exe).
    func testArgsThroughProcSelfFdCannotRunHostFiles() throws {
        for n in 3...10 {
            for rel in ["decoy", "../decoy", "../../decoy"] {
                let exe = "/proc/self/fd/\(n)/\(rel)"
                bundle.setArgs([exe])
                let r = runtime.run(bundle)
                assertNoHostView(r.stdout, "args [\(exe)] (status \(r.status))")
                XCTAssertNotEqual(r.status, 0, "args [\(exe)] ran something: \(r)")
            }
            // A host binary through the same fd: busybox is static, so it would run (with the host's inode).
            let exe = "/proc/self/fd/\(n)/../../../../../../../../bin/busybox"
            bundle.setArgs([exe, "sh", "-c", "stat -L -c %d:%i /proc/self/exe"])
            let r = runtime.run(bundle)
            var host = stat()
            XCTAssertEqual(stat("/bin/busybox", &host), 0)
            XCTAssertNotEqual(r.stdout.trimmed, "\(host.st_dev):\(host.st_ino)", "args [\(exe)] executed the HOST's busybox")
        }
    }
}
