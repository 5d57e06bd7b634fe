// CVE-2026-41579: the image's /dev is a symlink (to /tmp, or climbing to a host directory). A runtime that
// builds /dev (device nodes, the fd/stdin/stdout/stderr/ptmx symlinks, /dev/pts, /dev/shm mount points) with
// host path strings writes into the host directory the link names. The rule: /dev is treated as hostile and
// all /dev work goes through fds resolved inside the rootfs; a symlinked /dev is refused or resolved inside
// the root, and nothing is created on the host.
//
// runc 1.1.5 creates fd, stdin, stdout, stderr and ptmx in the host directory with both images below.
import XCTest
import Glibc
import CorralSpec

final class CVEDevSymlinkTests: CVETestCase {
    private let probe = "stat -c 'null=%F %t:%T' /dev/null; echo x > /dev/null && echo write=ok; true"

    private func check(devLink: String, withDevTmpfs: Bool, victim: HostVictim?, file: StaticString = #filePath,
                       line: UInt = #line) throws {
        let b = try makeExtraBundle()
        XCTAssertEqual(rmdir(b.rootfs + "/dev"), 0, file: file, line: line)
        XCTAssertEqual(symlink(devLink, b.rootfs + "/dev"), 0, file: file, line: line)
        if !withDevTmpfs { removeMount("/dev", from: b) }
        b.setShell(probe)
        let r = runtime.run(b)
        let what = "/dev -> \(devLink)\(withDevTmpfs ? " (with /dev tmpfs)" : "")"
        victim?.assertUntouched(what, file: file, line: line)
        if r.status == 0 || !r.stdout.isEmpty {
            let kv = keyValueLines(r.stdout)
            XCTAssertEqual(kv["null"], "character special file 1:3", "\(what): \(r)", file: file, line: line)
            XCTAssertEqual(kv["write"], "ok", "\(what): \(r)", file: file, line: line)
        } else {
            XCTAssertFalse(r.stderr.isEmpty, "\(what): failed without saying why: \(r)", file: file, line: line)
        }
    }

    /// /dev -> /tmp: stays inside the rootfs either way (the image's own /tmp gets the nodes, or it fails).
    func testDevSymlinkInsideRootfs() throws {
        for withDev in [false, true] {
            try check(devLink: "/tmp", withDevTmpfs: withDev, victim: nil)
        }
    }

    /// /dev -> ../../..<host dir> and -> <host dir>: the host directory stays exactly as it was.
    func testDevSymlinkToHostDirectory() throws {
        let victim = try makeVictim()
        for withDev in [false, true] {
            for link in [String(repeating: "../", count: 16) + victim.dir.dropFirst(), victim.dir, victim.dir + "/sub"] {
                try check(devLink: link, withDevTmpfs: withDev, victim: victim)
            }
        }
    }

    /// /dev is a real directory but /dev/pts and /dev/shm (mount points the runtime creates) are symlinks to a
    /// host directory.
    func testDevSubdirectorySymlinksToHostDirectory() throws {
        let victim = try makeVictim()
        removeMount("/dev", from: bundle)
        let climb = String(repeating: "../", count: 16) + victim.dir.dropFirst()
        XCTAssertEqual(symlink(climb, bundle.rootfs + "/dev/pts"), 0)
        XCTAssertEqual(symlink(victim.dir + "/sub", bundle.rootfs + "/dev/shm"), 0)
        XCTAssertEqual(symlink(victim.dir, bundle.rootfs + "/dev/mqueue"), 0)
        bundle.setShell(probe)
        let r = runtime.run(bundle)
        victim.assertUntouched("/dev/pts, /dev/shm, /dev/mqueue -> host directories (status \(r.status))")
    }
}
