// CVE-2019-16884, CVE-2019-19921, CVE-2023-27561: the image or the config makes /proc something other than a
// fresh procfs on a real directory inside the rootfs: /proc is a symlink (to a directory in the rootfs, or to a
// host path), or a volume is mounted over /proc. Everything the runtime later writes "into /proc" (sysctls,
// LSM labels) would then go to the attacker's files. The rule: procfs lands on a real directory inside the
// rootfs (or the container fails cleanly), never on a host path, and no write meant for procfs reaches a
// fake file.
//
// runc 1.1.5 refuses both shapes ("filesystem \"proc\" must be mounted on ordinary directory", "... cannot be
// mounted because it is not of type proc"); following a symlink /proc inside the rootfs is accepted here too,
// as long as the result is a real procfs inside the root.
import XCTest
import Glibc
import CorralSpec

final class CVEProcMountTests: CVETestCase {
    /// Inside: the filesystem type of /proc/ (through the symlink). Always exits 0, so that a failure is the
    /// runtime's; whether the process ran at all is decided by its output ("type="), not by the exit status.
    private let probe = "stat -f -c 'type=%T' /proc/; true"

    private func assertRealProcOrCleanFailure(_ r: ProcResult, _ what: String, file: StaticString = #filePath,
                                              line: UInt = #line) {
        if r.status == 0 || r.stdout.contains("type=") {
            XCTAssertTrue(r.stdout.contains("type=proc"), "\(what): /proc is not procfs: \(r)", file: file, line: line)
        } else {
            XCTAssertFalse(r.stderr.isEmpty, "\(what): failed without saying why: \(r)", file: file, line: line)
        }
    }

    /// /proc -> /tmp/x (a directory inside the rootfs).
    func testProcSymlinkInsideRootfs() throws {
        XCTAssertEqual(rmdir(bundle.rootfs + "/proc"), 0)
        try makeDirectories(bundle.rootfs + "/tmp/x")
        XCTAssertEqual(symlink("/tmp/x", bundle.rootfs + "/proc"), 0)
        bundle.setShell(probe)
        let r = runtime.run(bundle)
        assertRealProcOrCleanFailure(r, "/proc -> /tmp/x")
        XCTAssertEqual(hostMounts(below: bundle.rootfs).map(\.line), [], "procfs left mounted below the rootfs on the host")
    }

    /// /proc -> a host directory (absolute, and ../-climbing): nothing may be mounted or created there.
    func testProcSymlinkToHostPath() throws {
        let victim = try makeVictim()
        XCTAssertEqual(rmdir(bundle.rootfs + "/proc"), 0)
        for link in [victim.dir, String(repeating: "../", count: 16) + victim.dir.dropFirst()] {
            _ = unlink(bundle.rootfs + "/proc")
            XCTAssertEqual(symlink(link, bundle.rootfs + "/proc"), 0)
            bundle.setShell(probe)
            let r = runtime.run(bundle)
            assertRealProcOrCleanFailure(r, "/proc -> \(link)")
            victim.assertUntouched("/proc -> \(link)")
        }
    }

    /// /proc -> /fakeproc, a directory of the image holding a fake sys/net/ipv4/ip_forward; with a sysctl to
    /// write. The value must reach the real procfs of the container (or the container fails), never the fake.
    func testSysctlIsNotWrittenThroughProcSymlink() throws {
        XCTAssertEqual(rmdir(bundle.rootfs + "/proc"), 0)
        try bundle.writeRootfsFile("/fakeproc/sys/net/ipv4/ip_forward", "0\n", mode: 0o644)
        XCTAssertEqual(symlink("/fakeproc", bundle.rootfs + "/proc"), 0)
        bundle.setLinux("sysctl", ["net.ipv4.ip_forward": "1"])
        bundle.setShell(probe + "; cat /proc/sys/net/ipv4/ip_forward")  // prints type=..., then the value
        let r = runtime.run(bundle)
        assertRealProcOrCleanFailure(r, "/proc -> /fakeproc with a sysctl")
        XCTAssertEqual(readFile(bundle.rootfs + "/fakeproc/sys/net/ipv4/ip_forward"), "0\n", "the sysctl went to the fake file")
        if r.stdout.contains("type=") { XCTAssertEqual(r.stdout.nonEmptyLines.last, "1", "\(r)") }
    }

    /// A volume (bind of a host directory) over /proc, after the proc mount, with a sysctl: the fake host file
    /// must not be written, and the container must not end up with the fake /proc.
    func testSysctlIsNotWrittenIntoVolumeOverProc() throws {
        let fake = try makeHostDir("fakeproc")
        try makeDirectories(fake + "/sys/net/ipv4")
        try writeFile(fake + "/sys/net/ipv4/ip_forward", "0\n")
        bundle.addMount(destination: "/proc", type: "bind", source: fake, options: ["rbind", "rw"])
        bundle.setLinux("sysctl", ["net.ipv4.ip_forward": "1"])
        bundle.setShell(probe)
        let r = runtime.run(bundle)
        XCTAssertEqual(readFile(fake + "/sys/net/ipv4/ip_forward"), "0\n", "the sysctl was written into the volume: \(r)")
        assertRealProcOrCleanFailure(r, "volume over /proc with a sysctl")
    }

    /// The same volume over /proc without anything to write: runc refuses it ("... cannot be mounted because it
    /// is not of type proc"): a container whose /proc is a host directory is never what was meant, and every
    /// later procfs access of the runtime would have to re-verify it.
    func testVolumeOverProcIsRefused() throws {
        let fake = try makeHostDir("fakeproc")
        try writeFile(fake + "/cpuinfo", "fake\n")
        bundle.addMount(destination: "/proc", type: "bind", source: fake, options: ["rbind", "rw"])
        bundle.setShell(probe)
        let r = runtime.run(bundle)
        XCTAssertFalse(r.stdout.contains("type="), "a bind of a host directory over /proc was accepted: \(r)")
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("/proc"), "the error should name /proc: \(r)")
        XCTAssertEqual(directoryEntries(fake), ["cpuinfo"])
    }

    /// CVE-2025-52881 shape: a volume mounted over part of /proc/sys (here a host directory with a fake
    /// ip_forward over /proc/sys/net/ipv4) must not receive the sysctl write meant for procfs.
    func testSysctlIsNotWrittenIntoMountOverProcSys() throws {
        let fake = try makeHostDir("fakesys")
        try writeFile(fake + "/ip_forward", "0\n")
        bundle.addMount(destination: "/proc/sys/net/ipv4", type: "bind", source: fake, options: ["rbind", "rw"])
        bundle.setLinux("readonlyPaths", [])
        bundle.setLinux("sysctl", ["net.ipv4.ip_forward": "1"])
        bundle.setShell(probe)
        let r = runtime.run(bundle)
        XCTAssertEqual(readFile(fake + "/ip_forward"), "0\n", "the sysctl was written into the volume over /proc/sys: \(r)")
        assertRealProcOrCleanFailure(r, "volume over /proc/sys/net/ipv4 with a sysctl")
    }
}
