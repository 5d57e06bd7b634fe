// CVE-2021-30465 and CVE-2024-45310: mount destinations are paths inside an image the attacker controls. A
// destination (or one of its parents) that is a symlink, absolute or ../-climbing, dangling, chained, or going
// through a /proc magic link, must be resolved inside the rootfs: no mount and no created file or directory
// may ever land on a host path, and an earlier mount must not redirect where a later bind takes its source
// from. The racing variant swaps a directory for a symlink in a volume shared with another container while
// the runtime works.
//
// Every victim is a fresh host directory (HostVictim) whose full listing and the host mounts below it are
// compared afterwards. Where the container runs, its mountinfo shows where the mount really went.
import XCTest
import Glibc
import CorralSpec

final class CVEMountSymlinkTests: CVETestCase {
    /// Runs `script` after printing the container's mountinfo; returns the result and the parsed mounts.
    private func runWithMounts(_ script: String, in b: TestBundle? = nil) -> (ProcResult, [MountInfoEntry], String) {
        let target = b ?? bundle!
        target.setShell("cat /proc/self/mountinfo; echo =====; " + script)
        let r = runtime.run(target)
        guard let sep = r.stdout.firstRange(of: "=====\n") else { return (r, [], "") }
        return (r, parseMountInfo(String(r.stdout[..<sep.lowerBound])), String(r.stdout[sep.upperBound...]))
    }

    func testAbsoluteSymlinkDestinationToHostDirectory() throws {
        let victim = try makeVictim()
        XCTAssertEqual(symlink(victim.dir, bundle.rootfs + "/evil"), 0)
        bundle.addMount(destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        let (r, mounts, out) = runWithMounts("echo pwned > /evil/pwned && echo wrote")
        victim.assertUntouched("tmpfs on /evil -> \(victim.dir)")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(mounts.top(at: victim.dir)?.fsType, "tmpfs", "the tmpfs must be at the in-rootfs path: \(r)")
        XCTAssertEqual(out.trimmed, "wrote")
    }

    func testRelativeClimbingSymlinkDestination() throws {
        let victim = try makeVictim()
        let source = try makeHostDir("bind-src")
        XCTAssertEqual(symlink(String(repeating: "../", count: 16) + victim.dir.dropFirst(), bundle.rootfs + "/evil"), 0)
        bundle.addMount(destination: "/evil", type: "bind", source: source, options: ["rbind", "rw"])
        let (r, _, out) = runWithMounts("echo pwned > /evil/pwned && echo wrote")
        victim.assertUntouched("bind on /evil -> ../../..\(victim.dir)")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(out.trimmed, "wrote")
        XCTAssertEqual(readFile(source + "/pwned"), "pwned\n", "the write must reach the bind source")
        XCTAssertTrue(isDirectory(bundle.rootfs + victim.dir), "the mount point belongs inside the rootfs")
    }

    /// A dangling symlink whose target does not exist on the host either: the missing directories are created
    /// inside the rootfs (runc does the same), never on the host.
    func testDanglingSymlinkDestinationCreatesInsideRootfs() throws {
        let victim = try makeVictim()
        XCTAssertEqual(symlink(victim.dir + "/newdir/deeper", bundle.rootfs + "/evil"), 0)
        bundle.addMount(destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        let (r, mounts, ran) = runWithMounts("echo ran")
        victim.assertUntouched("tmpfs on dangling /evil -> \(victim.dir)/newdir/deeper")
        if ran.contains("ran") {
            XCTAssertEqual(mounts.top(at: victim.dir + "/newdir/deeper")?.fsType, "tmpfs", "\(r)")
            XCTAssertTrue(isDirectory(bundle.rootfs + victim.dir + "/newdir/deeper"))
        }
    }

    /// /a -> b/c, /b -> ../../..<victim>: two links, the second climbing.
    func testChainedSymlinksInDestination() throws {
        let victim = try makeVictim()
        XCTAssertEqual(symlink("b/c", bundle.rootfs + "/a"), 0)
        XCTAssertEqual(symlink(String(repeating: "../", count: 16) + victim.dir.dropFirst(), bundle.rootfs + "/b"), 0)
        bundle.addMount(destination: "/a/mnt", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        let (r, mounts, ran) = runWithMounts("echo ran")
        victim.assertUntouched("tmpfs on /a/mnt with /a -> b/c -> \(victim.dir)/c")
        if ran.contains("ran") {
            XCTAssertEqual(mounts.top(at: victim.dir + "/c/mnt")?.fsType, "tmpfs", "\(r)")
        }
    }

    /// A symlinked parent whose host target has the next component ("sub" exists in the victim): creating
    /// "mnt" under it on the host would be visible.
    func testSymlinkedParentComponent() throws {
        let victim = try makeVictim()
        XCTAssertEqual(symlink(victim.dir, bundle.rootfs + "/evil"), 0)
        bundle.addMount(destination: "/evil/sub/mnt", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        let (r, mounts, ran) = runWithMounts("echo ran")
        victim.assertUntouched("tmpfs on /evil/sub/mnt with /evil -> \(victim.dir)")
        if ran.contains("ran") {
            XCTAssertEqual(mounts.top(at: victim.dir + "/sub/mnt")?.fsType, "tmpfs", "\(r)")
        }
    }

    /// A file bind whose destination is a symlink to a host file.
    func testFileBindDestinationSymlinkToHostFile() throws {
        let victim = try makeVictim()
        let srcDir = try makeHostDir("bind-file")
        try writeFile(srcDir + "/file", "bound\n")
        XCTAssertEqual(symlink(victim.dir + "/marker", bundle.rootfs + "/evilfile"), 0)
        bundle.addMount(destination: "/evilfile", type: "bind", source: srcDir + "/file", options: ["bind", "rw"])
        let (r, _, _) = runWithMounts("cat /evilfile; echo more >> /evilfile")
        victim.assertUntouched("file bind on /evilfile -> \(victim.dir)/marker")
        XCTAssertEqual(r.status, 0, "\(r)")
    }

    /// A destination through a /proc magic link (/proc/self/root is the host root before pivot_root).
    func testMagicLinkInDestination() throws {
        let victim = try makeVictim()
        for (i, link) in ["/proc/self/root" + victim.dir, "/proc/self/cwd/../../..\(victim.dir)",
                          "/proc/1/root" + victim.dir].enumerated() {
            XCTAssertEqual(symlink(link, bundle.rootfs + "/magic\(i)"), 0)
            bundle.addMount(destination: "/magic\(i)", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
            let r = runtime.run(bundle)
            victim.assertUntouched("tmpfs on /magic\(i) -> \(link) (status \(r.status))")
            removeMount("/magic\(i)", from: bundle)
        }
    }

    /// The first mount's destination is a symlink to the host path that the second mount binds from: the
    /// second bind must still take its source from the host directory, not from what the first mount put
    /// there (the CVE-2021-30465 exploit chained exactly that).
    func testEarlierMountCannotRedirectLaterBindSource() throws {
        let attacker = try makeHostDir("attacker")
        try writeFile(attacker + "/attacker-marker", "a\n")
        let real = try makeVictim("real")
        XCTAssertEqual(symlink(real.dir, bundle.rootfs + "/evil"), 0)
        bundle.addMount(destination: "/evil", type: "bind", source: attacker, options: ["rbind", "ro"])
        try makeDirectories(bundle.rootfs + "/data")
        bundle.addMount(destination: "/data", type: "bind", source: real.dir, options: ["rbind", "ro"])
        let (r, _, out) = runWithMounts("ls /data")
        real.assertUntouched("bind source \(real.dir) behind /evil")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(out.nonEmptyLines, ["marker", "sub"], "/data must show the real source: \(r)")
    }

    /// CVE-2024-45310: another container sharing the volume keeps swapping /vol/x between a directory and a
    /// symlink to a host path while the runtime creates the mount point /vol/x/sub: nothing may be created on
    /// the host, whatever the interleaving.
    func testRacingSymlinkSwapCreatesNothingOnHost() throws {
        let victim = try makeVictim()
        let volume = try makeHostDir("race-vol")
        let swapper = """
            n=0
            while [ ! -e /shared/stop ]; do
                rm -rf /shared/x; mkdir /shared/x; rm -rf /shared/x; ln -s \(victim.dir)/made /shared/x
                n=$((n+1)); [ $n = 50 ] && touch /shared/running
            done
            touch /shared/stopped
            """
        _ = try startSibling(script: swapper, shared: volume)
        XCTAssertTrue(waitForFile(volume, "running"), "the swapper did not start")
        try shareDir(volume, at: "/vol", in: bundle)
        bundle.addMount(destination: "/vol/x/sub", type: "tmpfs", source: "tmpfs", options: ["size=1m"])
        var statuses: [Int32] = []
        for _ in 0..<20 {
            bundle.setArgs(["/bin/true"])
            statuses.append(runtime.run(bundle).status)
        }
        try writeFile(volume + "/stop", "")
        waitForFile(volume, "stopped")
        victim.assertUntouched("racing /vol/x swaps (run statuses \(statuses))")
    }
}
