// process.terminal with --console-socket: the runtime allocates a pty for the container and sends
// the master to the caller's unix socket with SCM_RIGHTS (what containerd's shim and conmon expect).
import XCTest
import Glibc
import CorralSpec

final class ConsoleTests: XCTestCase {
    var rt: Runtime!
    var bundle: TestBundle!
    var socket: ConsoleSocket?
    var masterFDs: [Int32] = []

    override func setUpWithError() throws {
        try requireIntegrationEnvironment()
        rt = try Runtime()
        bundle = try TestBundle()
    }

    override func tearDown() {
        for fd in masterFDs { close(fd) }
        socket?.close()
        rt?.cleanup()
        bundle?.remove()
        super.tearDown()
    }

    /// create with a console socket, receive the master, start; returns the master fd and payload.
    private func createWithConsole(_ id: String) throws -> (master: Int32, payload: String) {
        let got = try rt.createWithConsole(bundle, id: id)
        masterFDs += got.fds
        XCTAssertEqual(got.fds.count, 1, "exactly one fd via SCM_RIGHTS")
        let master = try XCTUnwrap(got.fds.first)
        return (master, got.payload)
    }

    func testConsoleSocketReceivesPtyMaster() throws {
        bundle.setTerminal(true)
        bundle.setShell("tty; echo hello; test -t 0 && test -t 1 && echo stdio-is-tty")
        let id = rt.id("tty")
        let (master, payload) = try createWithConsole(id)

        XCTAssertFalse(payload.isEmpty, "the pty name travels as payload")
        // The fd is a pty master: a character device with the pty master major (5:2 ptmx clone
        // or a dynamic pty major), and TIOCGPTN works on it.
        var st = stat()
        XCTAssertEqual(fstat(master, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "master is a character device")
        var ptyNumber: UInt32 = 0
        XCTAssertEqual(ioctl(master, ioctlTIOCGPTN, &ptyNumber), 0, "TIOCGPTN on the master: \(errnoString())")

        let s = rt("start", id)
        XCTAssertEqual(s.status, 0, "\(s)")
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("stdio-is-tty") }
        XCTAssertTrue(out.contains("/dev/console") || out.contains("/dev/pts/0"), "tty names the console: \(out.debugDescription)")
        XCTAssertTrue(out.contains("hello"), out.debugDescription)
        XCTAssertTrue(out.contains("stdio-is-tty"), "stdin and stdout are the terminal: \(out.debugDescription)")
        // A pty turns "\n" into "\r\n": proof the bytes went through a terminal line discipline.
        XCTAssertTrue(out.contains("hello\r\n"), out.debugDescription)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
    }

    func testConsoleInputReachesContainer() throws {
        bundle.setTerminal(true)
        bundle.setShell("read line; echo \"got:$line\"")
        let id = rt.id("ttyin")
        let (master, _) = try createWithConsole(id)
        XCTAssertEqual(rt("start", id).status, 0)
        let input = Array("ping\n".utf8)
        XCTAssertEqual(input.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }, input.count)
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("got:ping") }
        XCTAssertTrue(out.contains("got:ping"), out.debugDescription)
        XCTAssertTrue(rt.waitForStatus(id, "stopped"))
    }

    func testConsoleSizeIsApplied() throws {
        bundle.setTerminal(true)
        bundle.config["process"]?["consoleSize"] = ["height": 37, "width": 111]
        bundle.setShell("stty size")
        let id = rt.id("ttysize")
        let (master, _) = try createWithConsole(id)
        XCTAssertEqual(rt("start", id).status, 0)
        let out = readAvailable(fd: master, timeout: 10) { $0.contains("\n") }
        XCTAssertTrue(out.contains("37 111"), "stty size inside: \(out.debugDescription)")
    }

    func testTerminalWithoutConsoleSocketFails() throws {
        bundle.setTerminal(true)
        bundle.setShell("sleep 30")
        let id = rt.id("notty")
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let r = rt.create(bundle, id: id)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("console"), "message mentions the console socket: \(r.stderr)")
        XCTAssertEqual(before, HostSnapshot.take(root: rt.root, bundle: bundle.dir))
        XCTAssertNil(rt.stateJSON(id))
    }

    func testConsoleSocketWithoutTerminalFails() throws {
        // runc refuses a console socket for a process that has no terminal.
        let sock = try ConsoleSocket(path: bundle.dir + "/console.sock")
        socket = sock
        bundle.setShell("sleep 30")
        let id = rt.id("sockonly")
        let r = rt.create(bundle, id: id, extra: ["--console-socket", sock.path])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("terminal") || r.stderr.contains("console"), r.stderr)
        XCTAssertNil(rt.stateJSON(id))
    }

    func testConsoleSocketPathMissingFails() throws {
        bundle.setTerminal(true)
        let id = rt.id("nosock")
        let r = rt.create(bundle, id: id, extra: ["--console-socket", bundle.dir + "/absent.sock"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("no such file or directory") || r.stderr.contains("connection refused"), r.stderr)
        XCTAssertNil(rt.stateJSON(id))
        XCTAssertEqual(directoryEntries(rt.root), [])
    }
}
