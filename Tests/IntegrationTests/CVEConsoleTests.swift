// CVE-2025-52565: with `terminal: true` the runtime bind-mounts the pty slave onto /dev/console. When the
// image's /dev/console is a symlink (to a procfs file, to a host path, to /dev/pts/N) a path-based bind follows
// it and mounts the pty over whatever the link names (or creates files there). The rule: the slave is reached
// from the master with TIOCGPTPEER, /dev/console is opened without following links, and the bind goes by fd;
// a symlinked /dev/console makes the container fail or is replaced by the real console, and its target is
// never touched.
//
// Procfs targets are sysctls of the container's own UTS namespace, host targets fresh host directories (see
// CVECommonTests.swift). Each image runs with and without the config's /dev tmpfs.
import XCTest
import Glibc
import CorralSpec

final class CVEConsoleTests: CVETestCase {
    private var masters: [Int32] = []
    private var sockets: [ConsoleSocket] = []

    override func tearDown() {
        for fd in masters { close(fd) }
        for s in sockets { s.close() }
        super.tearDown()
    }

    /// create with a console socket, start, and read what the container printed on its terminal. Returns the
    /// create result and the terminal output ("" when create failed).
    private func runOnTerminal(_ b: TestBundle) throws -> (ProcResult, String) {
        let sock = try ConsoleSocket(path: b.dir + "/console-\(randomHex(6)).sock")
        sockets.append(sock)
        let id = runtime.id("console")
        let c = runtime.create(b, id: id, extra: ["--console-socket", sock.path])
        guard c.status == 0 else { return (c, "") }
        let got = try sock.receive(timeout: 10)
        masters += got.fds
        guard let master = got.fds.first else { return (c, "") }
        XCTAssertEqual(runtime("start", id).status, 0)
        return (c, readAvailable(fd: master, timeout: 10) { $0.contains("end=1") })
    }

    private let probe = """
        stat -c 'console=%F %t' /dev/console
        echo "hostname-type=$(stat -c %F /proc/sys/kernel/hostname)"
        echo hello > /dev/console
        echo "hostname=$(hostname)"
        echo end=1
        """

    private func check(consoleLink: String, withDevTmpfs: Bool, victim: HostVictim?,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let b = try makeExtraBundle()
        _ = unlink(b.rootfs + "/dev/console")
        XCTAssertEqual(symlink(consoleLink, b.rootfs + "/dev/console"), 0, file: file, line: line)
        if !withDevTmpfs { removeMount("/dev", from: b) }
        b.setTerminal(true)
        b.setShell(probe)
        let what = "/dev/console -> \(consoleLink)\(withDevTmpfs ? " (with /dev tmpfs)" : "")"
        let (c, out) = try runOnTerminal(b)
        victim?.assertUntouched(what, file: file, line: line)
        guard c.status == 0 else {
            XCTAssertFalse(c.stderr.isEmpty, "\(what): failed without saying why: \(c)", file: file, line: line)
            return
        }
        let kv = keyValueLines(String(decoding: Array(out.utf8).filter { $0 != 0x0D }, as: UTF8.self))  // pty: \r\n
        // 0x88 = 136, the first Unix98 pty slave major.
        XCTAssertEqual(kv["console"], "character special file 88", "\(what): \(out.debugDescription)", file: file, line: line)
        XCTAssertEqual(kv["hostname-type"], "regular empty file",
                       "\(what): the pty was mounted over a procfs file: \(out.debugDescription)", file: file, line: line)
        XCTAssertEqual(kv["hostname"], "runc", "\(what): \(out.debugDescription)", file: file, line: line)
    }

    func testConsoleSymlinkToProcfsFile() throws {
        for withDev in [false, true] {
            try check(consoleLink: "/proc/sys/kernel/hostname", withDevTmpfs: withDev, victim: nil)
        }
    }

    func testConsoleSymlinkToHostFile() throws {
        let victim = try makeVictim()
        for withDev in [false, true] {
            for link in [victim.dir + "/marker", String(repeating: "../", count: 16) + victim.dir.dropFirst() + "/marker",
                         victim.dir + "/absent"] {
                try check(consoleLink: link, withDevTmpfs: withDev, victim: victim)
            }
        }
    }

    /// /dev/console -> pts/0 (the slave a path-based runtime would reopen) and -> /dev/pts/ptmx.
    func testConsoleSymlinkIntoDevPts() throws {
        for withDev in [false, true] {
            for link in ["pts/0", "/dev/pts/ptmx"] {
                try check(consoleLink: link, withDevTmpfs: withDev, victim: nil)
            }
        }
    }
}
