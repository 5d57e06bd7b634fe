// Bind mounts as runc's bats check them (mounts.bats "mount order", mounts_sshfs.bats): a source in the rootfs
// that only earlier mounts make, destinations spelled with the rootfs's host path, and the flags a bind gets from
// its options and its source mount, with and without a user namespace (where the kernel locks the source's flags).
// Each source mount is made by the test in a private mount namespace the runtime then runs in (unshare -m), never
// in the host's.
import XCTest
import Glibc
import CorralSpec

final class BindMountTests: IsolationTestCase {

    /// runc's "mount order, container bind-mount source": a tree of binds whose last ones take their sources from
    /// the container's own tree, which exists only once the earlier mounts are made; the destinations are spelled
    /// with the rootfs's host path. A source file found there makes a file mount point.
    private func checkMountOrder(userNS: Bool) throws {
        let src = try makeHostDir("bindsrc")
        for sub in ["a/x", "b/y", "c/z"] {
            try makeDirectories(src + "/" + sub)
            try writeFile(src + "/" + sub + "/file", sub + "\n")
        }
        if userNS {
            bundle.addUserNamespace()
            let r = runCommand(["chown", "-R", "100000:100000", bundle.rootfs], timeout: 60)
            guard r.status == 0 else { throw XCTSkip("cannot chown the rootfs to 100000: \(r.stderr)") }
            // Only the runtime may enter the sources: they are opened for the container, not by it.
            XCTAssertEqual(chmod(src, 0o700), 0)
        }
        // The mount points exist, as in runc's test (runc 1.1 creates none for a destination spelled this way).
        try makeDirectories(bundle.rootfs + "/mnt")
        try makeDirectories(bundle.rootfs + "/final")
        try writeFile(bundle.rootfs + "/one", "")
        let rootfs = bundle.rootfs
        bundle.addMount(destination: "/mnt", type: "bind", source: src + "/a", options: ["rbind"])
        bundle.addMount(destination: "/mnt/x", type: "bind", source: src + "/b", options: ["rbind"])
        bundle.addMount(destination: "/mnt/x/y", type: "bind", source: src + "/c", options: ["rbind"])
        bundle.addMount(destination: rootfs + "/final", type: "bind", source: rootfs + "/mnt/x", options: ["rbind"])
        bundle.addMount(destination: rootfs + "/one", type: "bind", source: rootfs + "/mnt/x/y/z/file", options: ["bind"])
        bundle.setShell("cat /final/y/z/file /one; test -f /one && echo file")
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["c/z", "c/z", "file"])
        // runc 1.1.5 mounts in the right place too, but first makes the doubled path as a stray empty directory.
        if RuntimeUnderTest.isCorral {
            XCTAssertFalse(pathExists(rootfs + rootfs), "a destination with the rootfs's path is not joined to it twice")
        }
    }

    func testASourceInTheRootfsIsResolvedInMountOrder() throws {
        try checkMountOrder(userNS: false)
    }

    func testASourceInTheRootfsIsResolvedInMountOrderWithAUserNamespace() throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 opens every bind source of a user-namespace container before any mount exists (\"failed to open mount source\"); runc 1.2 resolves them in mount order")
        }
        try checkMountOrder(userNS: true)
    }

    /// A source in the rootfs is resolved inside it: an image's symlink cannot make it a second view of procfs.
    func testASourceInTheRootfsIsNeverProcfs() throws {
        XCTAssertEqual(symlink("/proc/sys", bundle.rootfs + "/sysctl"), 0)
        bundle.addMount(destination: "/mnt", type: "bind", source: bundle.rootfs + "/sysctl", options: ["rbind", "rw"])
        bundle.setShell("echo ran")
        let r = runtime.run(bundle)
        if RuntimeUnderTest.isRunc {
            // runc binds the host's /proc/sys (the link is followed on the host): nothing of the image's.
            throw XCTSkip("runc resolves a source in the rootfs as a host path: \(r.status == 0 ? "it bound the host's /proc/sys" : r.stderr.trimmed)")
        }
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("a bind source in the rootfs may not be on procfs or sysfs"), r.stderr)
    }

    // MARK: flags

    /// Runs the container (printing the flags of /mnt, a bind of `source` with `options`) in a private mount
    /// namespace where `source` is a tmpfs remounted with `sourceFlags` first, as runc's mounts_sshfs.bats does
    /// with its fuse (or tmpfs) mount. Returns the runtime's result.
    private func runWithSource(_ sourceFlags: String, options: [String], userNS: Bool = false) throws -> ProcResult {
        let dir = try makeHostDir("flags")
        let source = dir + "/src"
        try makeDirectories(source)
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        mounts.removeAll { $0["destination"]?.stringValue == "/mnt" }
        mounts.append(["destination": "/mnt", "type": "bind", "source": .string(source), "options": JSONValue(options)])
        bundle.config["mounts"] = .array(mounts)
        if userNS { bundle.addUserNamespace() }
        bundle.setShell("awk '$2 == \"/mnt\" { print $4 }' /proc/self/mounts")
        let prelude = """
            mount -t tmpfs -o rw,suid,dev,exec,diratime,strictatime corral-it \(source) &&
            mount --bind -o remount,diratime,atime,strictatime \(source) &&
            mount --bind -o remount,\(sourceFlags) \(source) || exit 99
            """
        return runWrapped(bundle, prelude: prelude, wrapper: ["unshare", "-m", "--propagation", "private"])
    }

    /// The flags the container saw on /mnt.
    private func flags(_ r: ProcResult, file: StaticString = #filePath, line: UInt = #line) -> Set<String> {
        XCTAssertEqual(r.status, 0, "\(r)", file: file, line: line)
        return Set((r.stdout.nonEmptyLines.first ?? "").split(separator: ",").map(String.init))
    }

    private func chownRootfs() throws {
        let r = runCommand(["chown", "-R", "100000:100000", bundle.rootfs], timeout: 60)
        guard r.status == 0 else { throw XCTSkip("cannot chown the rootfs to 100000: \(r.stderr)") }
    }

    /// Any mount flag among a bind's options sets ro/nosuid/nodev/noexec exactly as asked: a read-only source
    /// becomes writable unless "ro" is asked for (mounts_sshfs "implied-rw", "--bind with clearing flag").
    func testFlagsNotAskedForAreClearedWithoutAUserNamespace() throws {
        var f = flags(try runWithSource("ro", options: ["bind", "nosuid", "nodev", "rprivate"]))
        XCTAssertTrue(f.isSuperset(of: ["rw", "nosuid", "nodev"]), "\(f)")
        f = flags(try runWithSource("ro,noexec,nosymfollow,nodiratime", options: ["bind"]))
        XCTAssertTrue(f.isSuperset(of: ["ro", "noexec", "nodiratime", "nosymfollow"]), "no flag option keeps the source's: \(f)")
        f = flags(try runWithSource("nodev,nosuid,noexec", options: ["bind", "ro"]))
        XCTAssertTrue(f.contains("ro") && f.isDisjoint(with: ["nosuid", "nodev", "noexec"]), "\(f)")
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 keeps the source's flags when the options only clear some (\"bind,dev\"); runc 1.2 clears them all")
        }
        f = flags(try runWithSource("ro,noexec,nosymfollow,nodiratime", options: ["bind", "dev"]))
        XCTAssertTrue(f.contains("rw") && f.isDisjoint(with: ["ro", "noexec", "nosymfollow"]), "\(f)")
        XCTAssertTrue(f.contains("nodiratime"), "atime is kept without an atime option: \(f)")
    }

    /// atime changes only with an atime option, and then to exactly what it asks (mounts_sshfs "atime semantics").
    func testAtimeSemantics() throws {
        var f = flags(try runWithSource("noatime", options: ["bind"]))
        XCTAssertTrue(f.contains("noatime") && !f.contains("relatime"), "\(f)")
        f = flags(try runWithSource("noatime", options: ["bind", "norelatime"]))
        XCTAssertTrue(f.contains("noatime"), "a clearing atime option alone keeps the source's: \(f)")
        f = flags(try runWithSource("noatime", options: ["bind", "relatime"]))
        XCTAssertTrue(f.contains("relatime") && !f.contains("noatime"), "\(f)")
        f = flags(try runWithSource("noatime", options: ["bind", "nodiratime"]))
        XCTAssertTrue(f.isSuperset(of: ["relatime", "nodiratime"]) && !f.contains("noatime"), "nodiratime implies relatime: \(f)")
        f = flags(try runWithSource("nodiratime", options: ["bind", "strictatime"]))
        XCTAssertTrue(f.isDisjoint(with: ["noatime", "relatime", "nodiratime"]), "strictatime: \(f)")
        f = flags(try runWithSource("noatime", options: ["bind", "nodiratime", "strictatime"]))
        XCTAssertTrue(f.contains("nodiratime") && f.isDisjoint(with: ["noatime", "relatime"]), "\(f)")
    }

    /// In a user namespace the kernel locks what the source mount had: a flag not asked for stays, and asking to
    /// clear one, or for another atime mode, fails (runc's rules, mounts_sshfs userns halves).
    func testLockedFlagsOfTheSourceInAUserNamespace() throws {
        if RuntimeUnderTest.isRunc {
            throw XCTSkip("runc 1.1.5 neither keeps the source's locked flags (a bind without \"ro\" of a read-only source fails) nor refuses clearing them (it opens the sources outside the user namespace); runc 1.2 does both")
        }
        try chownRootfs()
        var f = flags(try runWithSource("ro", options: ["bind", "nosuid", "nodev", "rprivate"], userNS: true))
        XCTAssertTrue(f.isSuperset(of: ["ro", "nosuid", "nodev"]), "ro stays (locked): \(f)")
        f = flags(try runWithSource("rw,nodev,nosuid,noexec,noatime", options: ["bind", "ro"], userNS: true))
        XCTAssertTrue(f.isSuperset(of: ["ro", "nosuid", "nodev", "noexec", "noatime"]), "\(f)")
        f = flags(try runWithSource("noatime,nodiratime", options: ["bind", "norelatime"], userNS: true))
        XCTAssertTrue(f.isSuperset(of: ["noatime", "nodiratime"]), "\(f)")
        for (source, options) in [("ro", ["bind", "rw", "nosuid"]), ("nodev,nosuid,noatime", ["bind", "dev", "suid", "exec", "atime"]),
                                  ("nodiratime", ["bind", "strictatime"]), ("relatime", ["bind", "noatime"]),
                                  ("noatime", ["bind", "relatime"])] {
            let r = try runWithSource(source, options: options, userNS: true)
            XCTAssertNotEqual(r.status, 0, "\(source) + \(options): \(r)")
            XCTAssertTrue(r.stderr.contains("error mounting") && r.stderr.contains("operation not permitted"), "\(options): \(r.stderr)")
        }
    }
}
