// State (no root): container id rule, state.json round trip, `state`/`list` JSON shape as runc prints it, status
// derived from live facts (our own pid stands in for a container init), the store's errors, and `list`'s table.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class StateTests: XCTestCase {
    // MARK: ids

    func testIdRule() {
        for good in ["a", "abc", "A-Z_0.9+x", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "...", "a..b",
                     "-leading-dash", "+", "_", "a,b"] {  // runc's class range "+-\\." admits the comma
            XCTAssertNoThrow(try StateStore.validate(id: good), good)
        }
        for bad in ["", ".", "..", "a/b", "/a", "a b", "a\tb", "a\nb", "ä", "a:b", "a@b", "a*", "a\\b", "~", "a\0b"] {
            do {
                try StateStore.validate(id: bad)
                XCTFail("accepted \"\(bad)\"")
            } catch {
                XCTAssertEqual(error.message, "invalid container ID format")  // runc's text, without the id
                XCTAssertEqual(error.code, .invalidArgument)
            }
        }
    }

    // MARK: state.json

    private func sample(pid: Int32 = 4242, start: UInt64 = 987654321, annotations: [String: String] = ["b": "2", "a": "1"]) -> ContainerState {
        ContainerState(id: "c1", pid: pid, pidStartTime: start, bundle: "/b", rootfs: "/b/rootfs",
                       created: "2026-11-21T21:50:14.399454668Z", owner: "root", annotations: annotations, ociVersion: "1.3.0")
    }

    func testStateFileRoundTrip() throws {
        let s = sample()
        let text = s.json().serialized()
        let back = try ContainerState(json: try JSONValue.parse(text))
        XCTAssertEqual(back.id, s.id)
        XCTAssertEqual(back.pid, s.pid)
        XCTAssertEqual(back.pidStartTime, s.pidStartTime)
        XCTAssertEqual(back.bundle, s.bundle)
        XCTAssertEqual(back.rootfs, s.rootfs)
        XCTAssertEqual(back.created, s.created)
        XCTAssertEqual(back.owner, s.owner)
        XCTAssertEqual(back.annotations, s.annotations)
        XCTAssertEqual(back.ociVersion, s.ociVersion)
        // Large start times (jiffies since boot) survive as exact integers.
        let big = try ContainerState(json: try JSONValue.parse(sample(start: UInt64.max).json().serialized()))
        XCTAssertEqual(big.pidStartTime, UInt64.max)
    }

    func testStateFileOptionalFieldsAndCorruption() throws {
        let minimal = try ContainerState(json: try JSONValue.parse("{\"id\": \"x\", \"pid\": 5, \"pidStartTime\": 6, \"bundle\": \"/b\"}"))
        XCTAssertEqual(minimal.rootfs, "")
        XCTAssertEqual(minimal.annotations, [:])
        XCTAssertEqual(minimal.ociVersion, Version.spec)
        for bad in ["{}", "{\"id\": \"x\", \"pid\": 5, \"bundle\": \"/b\"}", "{\"id\": 1, \"pid\": 5, \"pidStartTime\": 6, \"bundle\": \"/b\"}",
                    "{\"id\": \"x\", \"pid\": \"5\", \"pidStartTime\": 6, \"bundle\": \"/b\"}", "[]"] {
            do {
                _ = try ContainerState(json: try JSONValue.parse(bad))
                XCTFail("accepted \(bad)")
            } catch let e as RuntimeError {
                XCTAssertEqual(e.message, "corrupt state file", bad)
                XCTAssertEqual(e.code, .system, bad)
            }
        }
    }

    /// runc 1.1.5's `state` (checked against /usr/sbin/runc): ociVersion, id, pid, status, bundle, rootfs, created,
    /// annotations (omitted when empty), owner ("" in `state`, the user name in `list`).
    func testOciStateFieldOrderAndOwnerRule() {
        let s = sample()
        let state = s.ociState(status: .running)
        XCTAssertEqual(state.keys, ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "annotations", "owner"])
        XCTAssertEqual(state["owner"]?.stringValue, "", "runc's state leaves owner empty")
        XCTAssertEqual(state["annotations"]?.objectValue?.keys, ["a", "b"], "sorted like Go's map encoding")
        XCTAssertEqual(state["pid"]?.int64Value, 4242)
        XCTAssertEqual(state["status"]?.stringValue, "running")

        let listed = s.ociState(status: .created, withOwner: true)
        XCTAssertEqual(listed["owner"]?.stringValue, "root")
        XCTAssertEqual(listed.keys.last, "owner")

        let stopped = sample(annotations: [:]).ociState(status: .stopped)
        XCTAssertEqual(stopped.keys, ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"])
        XCTAssertEqual(stopped["pid"]?.int64Value, 0, "a stopped container reports pid 0")
    }

    func testOciStateExactText() {
        let text = JSONValue.object(sample(annotations: ["a": "b"]).ociState(status: .created)).serialized(indent: "  ")
        XCTAssertEqual(text, """
            {
              "ociVersion": "1.3.0",
              "id": "c1",
              "pid": 4242,
              "status": "created",
              "bundle": "/b",
              "rootfs": "/b/rootfs",
              "created": "2026-11-21T21:50:14.399454668Z",
              "annotations": {
                "a": "b"
              },
              "owner": ""
            }
            """)
    }

    // MARK: derived status

    func testStatusIsDerivedFromTheProcessTable() throws {
        let me = getpid()
        let start = try XCTUnwrap(Proc.stat(me)?.startTime)
        let b = UnitBundle()
        let alive = sample(pid: me, start: start)
        XCTAssertTrue(alive.initAlive)
        XCTAssertEqual(alive.status(in: b.dir), .running, "no exec.fifo: started")
        b.file(ContainerState.fifoName)
        XCTAssertEqual(alive.status(in: b.dir), .created, "exec.fifo present: not started yet")
        XCTAssertEqual(sample(pid: me, start: start + 1).status(in: b.dir), .stopped, "a recycled pid is not our init")
        XCTAssertEqual(sample(pid: 0x3fff_fff0, start: start).status(in: b.dir), .stopped, "no such pid")
        XCTAssertEqual(sample(pid: 0, start: start).status(in: b.dir), .stopped)
    }

    func testZombieInitIsStopped() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        guard posix_spawn(&pid, "/bin/true", nil, nil, argv, nil) == 0 else { throw XCTSkip("cannot spawn /bin/true") }
        defer { var s: Int32 = 0; waitpid(pid, &s, 0) }
        // Unreaped, the child stays a zombie ("Z") with its start time intact.
        var st: (state: Character, startTime: UInt64, initName: Bool)?
        for _ in 0..<200 {
            st = Proc.stat(pid)
            if st?.state == "Z" { break }
            usleep(10_000)
        }
        let z = try XCTUnwrap(st)
        XCTAssertEqual(z.state, "Z")
        let s = sample(pid: pid, start: z.startTime)
        XCTAssertFalse(s.initAlive)
        XCTAssertEqual(s.status(in: "/nonexistent"), .stopped)
    }

    func testProcStatHandlesAwkwardComm() throws {
        // comm may hold spaces and parentheses; fields are taken after the last ')'.
        let me = try XCTUnwrap(Proc.stat(getpid()))
        XCTAssertEqual(me.state, "R")
        XCTAssertGreaterThan(me.startTime, 0)
        XCTAssertNil(Proc.stat(-1))
        XCTAssertNil(Proc.stat(0))
    }

    // MARK: the store

    func testStoreErrorsAndIds() throws {
        let b = UnitBundle()
        b.directory("state")
        let store = StateStore(root: b.dir + "/state")
        func expect(_ id: String, _ message: String, _ code: RuntimeError.Code, line: UInt = #line) {
            do {
                _ = try store.open(id)
                XCTFail("opened \(id)", line: line)
            } catch {
                XCTAssertEqual(error.message, message, line: line)
                XCTAssertEqual(error.code, code, line: line)
            }
        }
        expect("missing", "container does not exist", .notFound)
        expect("../x", "invalid container ID format", .invalidArgument)
        b.directory("state/half")
        expect("half", "container does not exist", .notFound)  // a create still in progress
        b.directory("state/broken")
        b.file("state/broken/state.json", "{not json")
        expect("broken", "corrupt state file \(b.dir)/state/broken/state.json", .system)
        b.directory("state/partial")
        b.file("state/partial/state.json", "{\"id\": \"partial\"}")
        expect("partial", "corrupt state file", .system)

        b.directory("state/good")
        b.file("state/good/state.json", sample(pid: getpid(), start: Proc.stat(getpid())!.startTime).json().serialized())
        let h = try store.open("good")
        XCTAssertEqual(h.state.id, "c1")
        XCTAssertEqual(h.dir, b.dir + "/state/good")
        XCTAssertEqual(h.status, .running)

        b.directory("state/.hidden")
        b.file("state/plainfile")
        XCTAssertEqual(try store.ids(), ["broken", "good", "half", "partial"])
        XCTAssertEqual(try StateStore(root: b.dir + "/none").ids(), [])
    }

    /// writeState replaces state.json by exchanging names (no rename over an existing file): a reader holding the
    /// old file still reads all of it, a new open reads all of the new record, and no temporary name is left, on
    /// the disk filesystem of the test directory and on tmpfs (where /run usually is).
    func testStateIsReplacedWholeAndLeavesNoTemporaryFile() throws {
        let b = UnitBundle()
        b.directory("disk")
        b.directory("tmpfs")
        var dirs = [b.dir + "/disk"]
        let tmpfs = b.dir + "/tmpfs"
        if mount("tmpfs", tmpfs, "tmpfs", 0, "size=1m") == 0 { dirs.append(tmpfs) }
        defer { umount2(tmpfs, Int32(MNT_DETACH)) }
        XCTAssertEqual(dirs.count, 2, "a tmpfs could not be mounted at \(tmpfs): errno \(errno)")
        for dir in dirs {
            let store = StateStore(root: dir)
            let path = dir + "/" + ContainerState.fileName
            try store.writeState(dir, sample(pid: 1))                 // no file yet: the plain rename path
            let held = open(path, O_RDONLY | O_CLOEXEC)
            XCTAssertGreaterThanOrEqual(held, 0)
            defer { close(held) }
            try store.writeState(dir, sample(pid: 2))                 // replaces it: the exchange path
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = read(held, &buf, buf.count)
            XCTAssertEqual(try ContainerState(json: JSONValue.parse(Array(buf[..<max(n, 0)]))).pid, 1, dir)
            XCTAssertEqual(try ContainerState(json: JSONValue.parse(Spec.readFile(path))).pid, 2, dir)
            let names = (Files.entries(dir) ?? []).map(\.name)
            XCTAssertEqual(names, [ContainerState.fileName], dir)
            var st = stat()
            XCTAssertEqual(stat(path, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o600, dir)
            // Onto a directory it fails as rename does, and the directory stays where it was.
            XCTAssertEqual(mkdir(dir + "/adir", 0o755), 0)
            XCTAssertThrowsError(try Files.writeAtomic(dir + "/adir", "x"), dir)
            var dst = stat()
            XCTAssertEqual(lstat(dir + "/adir", &dst), 0)
            XCTAssertEqual(dst.st_mode & S_IFMT, S_IFDIR, dir)
            XCTAssertEqual((Files.entries(dir) ?? []).map(\.name).sorted(), ["adir", ContainerState.fileName], dir)
        }
    }

    // MARK: list's table

    func testTableMatchesRuncTabwriter() {
        // `runc list` (1.1.5) on this host, verbatim: tabwriter minwidth 12, padding 3, space padding.
        let runc = """
            ID          PID         STATUS      BUNDLE            CREATED                          OWNER
            c1          22811       created     /tmp/unit-exp/b   2026-11-21T21:50:14.399454668Z   root

            """
        XCTAssertEqual(Table.render([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
                                     ["c1", "22811", "created", "/tmp/unit-exp/b", "2026-11-21T21:50:14.399454668Z", "root"]]), runc)
        XCTAssertEqual(Table.render([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]),
                       "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n", "an empty list is the header")
        XCTAssertEqual(Table.render([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
                                     ["a-very-long-container-id", "0", "stopped", "/b", "", "root"]]),
                       """
                       ID                         PID         STATUS      BUNDLE      CREATED     OWNER
                       a-very-long-container-id   0           stopped     /b                      root

                       """)
        XCTAssertEqual(Table.render([]), "")
    }
}
