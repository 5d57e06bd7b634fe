// /dev inside the container: the default device nodes and symlinks, and linux.devices entries.
import XCTest
import Glibc
import CorralSpec

final class DeviceTests: IsolationTestCase {
    /// busybox `stat -c '%n|%F|%t:%T|%a|%u:%g'` per path (major:minor in hex, mode in octal).
    private func statLines(_ paths: [String], file: StaticString = #filePath, line: UInt = #line) -> [String: [String]]? {
        let script = "for p in \(paths.joined(separator: " ")); do stat -c '%n|%F|%t:%T|%a|%u:%g' $p 2>&1; done"
        guard let out = runScript(script, file: file, line: line) else { return nil }
        var d: [String: [String]] = [:]
        for l in out.nonEmptyLines {
            let f = l.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count == 5 { d[f[0]] = Array(f[1...]) }
        }
        return d
    }

    func testDefaultDeviceNodes() throws {
        let expected: [(String, String)] = [
            ("/dev/null", "1:3"), ("/dev/zero", "1:5"), ("/dev/full", "1:7"), ("/dev/random", "1:8"),
            ("/dev/urandom", "1:9"), ("/dev/tty", "5:0"),
        ]
        guard let st = statLines(expected.map(\.0)) else { return }
        for (path, majmin) in expected {
            guard let s = st[path] else { XCTFail("\(path) missing: \(st)"); continue }
            XCTAssertEqual(s[0], "character special file", path)
            XCTAssertEqual(s[1], majmin, path)
            XCTAssertEqual(s[2], "666", path)
        }
        // The nodes work: /dev/zero reads zeros, /dev/full refuses writes, /dev/null swallows.
        guard let out = runScript("""
            echo zero=$(head -c 4 /dev/zero | od -An -tx1 | tr -d ' ')
            echo x > /dev/full 2>/dev/null; echo full=$?
            echo x > /dev/null; echo null=$?
            echo urandom=$(head -c 16 /dev/urandom | wc -c)
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["zero"], "00000000", out)
        XCTAssertNotEqual(kv["full"], "0", out)
        XCTAssertEqual(kv["null"], "0", out)
        XCTAssertEqual(kv["urandom"], "16", out)
    }

    /// /dev/ptmx is either the devpts ptmx (symlink to pts/ptmx, as runc does) or a 5:2 node.
    func testPtmx() throws {
        guard let out = runScript("""
            if [ -L /dev/ptmx ]; then echo link=$(readlink /dev/ptmx); else echo node=$(stat -c %t:%T /dev/ptmx); fi
            echo pts=$(stat -c %F:%t:%T /dev/pts/ptmx)
            """) else { return }
        let kv = keyValueLines(out)
        if let link = kv["link"] {
            XCTAssertTrue(link == "pts/ptmx" || link == "/dev/pts/ptmx", out)
        } else {
            XCTAssertEqual(kv["node"], "5:2", out)
        }
        XCTAssertEqual(kv["pts"], "character special file:5:2", out)
    }

    func testDefaultDevSymlinks() throws {
        guard let out = runScript("""
            for l in fd stdin stdout stderr core; do echo "$l=$(readlink /dev/$l || echo absent)"; done
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["fd"], "/proc/self/fd", out)
        XCTAssertEqual(kv["stdin"], "/proc/self/fd/0", out)
        XCTAssertEqual(kv["stdout"], "/proc/self/fd/1", out)
        XCTAssertEqual(kv["stderr"], "/proc/self/fd/2", out)
        // runc links /dev/core -> /proc/kcore only when the kernel has /proc/kcore.
        if pathExists("/proc/kcore") {
            XCTAssertEqual(kv["core"], "/proc/kcore", out)
        } else {
            XCTAssertEqual(kv["core"], "absent", "no /proc/kcore on this kernel, so no /dev/core: \(out)")
        }
    }

    /// A linux.devices char device gets its type, numbers, mode and owner, in a nested dir too.
    func testLinuxDevicesCharDevice() throws {
        bundle.setLinux("devices", [
            ["path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 1001, "gid": 1002],
            ["path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 0, "gid": 0],
        ])
        guard let st = statLines(["/dev/mynull", "/dev/sub/myzero"]) else { return }
        XCTAssertEqual(st["/dev/mynull"] ?? [], ["character special file", "1:3", "666", "1001:1002"])
        XCTAssertEqual(st["/dev/sub/myzero"] ?? [], ["character special file", "1:5", "640", "0:0"])
        guard let out = runScript("""
            echo data > /dev/mynull; echo write=$?
            echo zero=$(head -c 4 /dev/sub/myzero | od -An -tx1 | tr -d ' ')
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["write"], "0", out)
        XCTAssertEqual(kv["zero"], "00000000", out)
    }

    /// A fifo (type p) is created with its mode and works as a pipe.
    func testLinuxDevicesFifo() throws {
        bundle.setLinux("devices", [["path": "/dev/myfifo", "type": "p", "fileMode": 0o600]])
        guard let out = runScript("""
            echo info=$(stat -c '%F|%a|%u:%g' /dev/myfifo)
            (echo ping > /dev/myfifo &); echo got=$(cat /dev/myfifo)
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["info"], "fifo|600|0:0", out)
        XCTAssertEqual(kv["got"], "ping", out)
    }
}
