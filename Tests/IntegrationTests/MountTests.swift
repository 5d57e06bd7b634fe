// Mounts: read-only root, tmpfs options, order, binds (ro/rw, bind vs rbind, rro), propagation,
// rootfsPropagation, nosymfollow, the default filesystems, and symlinked destinations that point
// out of the rootfs (CVE class: must never mount on the host).
import XCTest
import Glibc
import CorralSpec

final class MountTests: IsolationTestCase {
    /// Runs `script` after printing the container's mountinfo between markers; returns
    /// (parsed mountinfo, the script's own output).
    private func mountsAnd(_ script: String, file: StaticString = #filePath, line: UInt = #line)
        -> ([MountInfoEntry], String)?
    {
        guard let out = runScript("cat /proc/self/mountinfo; echo ==END-MOUNTINFO==\n" + script, file: file, line: line)
        else { return nil }
        guard let r = out.range(of: "==END-MOUNTINFO==\n") else {
            XCTFail("marker missing: \(out)", file: file, line: line)
            return nil
        }
        return (parseMountInfo(String(out[..<r.lowerBound])), String(out[r.upperBound...]))
    }

    // MARK: root

    func testReadonlyRootRejectsWrites() throws {
        bundle.setRootReadonly(true)
        guard let (mi, out) = mountsAnd("touch /x 2>&1; echo rc=$?") else { return }
        XCTAssertTrue(out.contains("Read-only file system"), out)
        XCTAssertEqual(keyValueLines(out)["rc"], "1", out)
        XCTAssertEqual(mi.top(at: "/")?.options.first, "ro", "root mount not ro: \(mi.top(at: "/")?.line ?? "none")")
        XCTAssertFalse(pathExists(bundle.rootfs + "/x"))
    }

    func testWritableRootAcceptsWrites() throws {
        bundle.setRootReadonly(false)
        guard let (mi, out) = mountsAnd("echo inside > /x && echo rc=$?") else { return }
        XCTAssertEqual(keyValueLines(out)["rc"], "0", out)
        XCTAssertEqual(mi.top(at: "/")?.options.first, "rw")
        XCTAssertEqual(readFile(bundle.rootfs + "/x"), "inside\n", "write did not reach the rootfs")
    }

    // MARK: tmpfs

    func testTmpfsSizeModeAndFlags() throws {
        bundle.addMount(destination: "/t", type: "tmpfs", source: "tmpfs",
                        options: ["size=1m", "mode=1777", "nosuid", "nodev"])
        guard let (mi, out) = mountsAnd("echo perm=$(ls -ld /t | cut -c1-10); echo blocks=$(df -k /t | awk 'NR==2 {print $2}')")
        else { return }
        guard let t = mi.top(at: "/t") else { return XCTFail("no mount at /t") }
        XCTAssertEqual(t.fsType, "tmpfs")
        XCTAssertTrue(t.superOptions.contains("size=1024k"), t.line)
        XCTAssertTrue(t.options.contains("nosuid"), t.line)
        XCTAssertTrue(t.options.contains("nodev"), t.line)
        XCTAssertFalse(t.options.contains("noexec"), t.line)
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["perm"], "drwxrwxrwt", out)
        XCTAssertEqual(kv["blocks"], "1024", out)
    }

    func testTmpfsModeIsApplied() throws {
        bundle.addMount(destination: "/t", type: "tmpfs", source: "tmpfs", options: ["mode=0710"])
        guard let (mi, out) = mountsAnd("echo perm=$(ls -ld /t | cut -c1-10)") else { return }
        XCTAssertEqual(keyValueLines(out)["perm"], "drwx--x---", out)
        XCTAssertTrue(mi.top(at: "/t")?.superOptions.contains("mode=710") == true, "\(mi.top(at: "/t")?.line ?? "none")")
    }

    /// noexec: a copied binary cannot be executed (EACCES); the same copy runs from an exec tmpfs.
    func testTmpfsNoexecBlocksExecution() throws {
        bundle.addMount(destination: "/noexec", type: "tmpfs", source: "tmpfs", options: ["noexec", "size=8m"])
        bundle.addMount(destination: "/exec", type: "tmpfs", source: "tmpfs", options: ["size=8m"])
        guard let (mi, out) = mountsAnd("""
            cp /bin/busybox /noexec/busybox && cp /bin/busybox /exec/busybox
            /noexec/busybox true 2>&1; echo noexec=$?
            /exec/busybox true; echo exec=$?
            """) else { return }
        XCTAssertTrue(mi.top(at: "/noexec")?.options.contains("noexec") == true)
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["noexec"], "126", out)
        XCTAssertTrue(out.contains("Permission denied"), out)
        XCTAssertEqual(kv["exec"], "0", out)
    }

    // MARK: order

    /// Mounts are applied in config order: /a then /a/b stacks b on a; /a/b then /a hides b.
    func testMountOrderLaterMountWins() throws {
        bundle.addMount(destination: "/a", type: "tmpfs", source: "tmpfs", options: ["size=2m"])
        bundle.addMount(destination: "/a/b", type: "tmpfs", source: "tmpfs", options: ["size=3m"])
        guard let (mi, _) = mountsAnd("true") else { return }
        XCTAssertTrue(mi.top(at: "/a/b")?.superOptions.contains("size=3072k") == true, "/a/b not mounted on /a")
        XCTAssertTrue(mi.top(at: "/a")?.superOptions.contains("size=2048k") == true)

        let reversed = try makeExtraBundle()
        reversed.addMount(destination: "/a/b", type: "tmpfs", source: "tmpfs", options: ["size=3m"])
        reversed.addMount(destination: "/a", type: "tmpfs", source: "tmpfs", options: ["size=2m"])
        guard let out = runScript("""
            if [ -e /a/b ]; then echo b=exists; else echo b=hidden; fi
            echo blocks=$(df -k /a | awk 'NR==2 {print $2}')
            """, in: reversed) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["b"], "hidden", "the later /a mount must hide /a/b: \(out)")
        XCTAssertEqual(kv["blocks"], "2048", out)
    }

    // MARK: binds

    func testBindMountOfHostDirectoryAndFile() throws {
        let dir = try makeHostDir("bind-src")
        try writeFile(dir + "/hello.txt", "hello from host\n")
        let file = try makeHostDir("bind-file") + "/single.txt"
        try writeFile(file, "single file\n")
        bundle.addMount(destination: "/data", type: "bind", source: dir, options: ["rbind"])
        bundle.addMount(destination: "/etc/single.txt", type: "bind", source: file, options: ["bind"])
        guard let (mi, out) = mountsAnd("cat /data/hello.txt /etc/single.txt; [ -f /etc/single.txt ] && echo isfile=yes")
        else { return }
        XCTAssertEqual(out.nonEmptyLines, ["hello from host", "single file", "isfile=yes"])
        XCTAssertNotNil(mi.top(at: "/data"))
        XCTAssertNotNil(mi.top(at: "/etc/single.txt"))
    }

    func testReadonlyBindRejectsWritesReadWriteBindAccepts() throws {
        let roDir = try makeHostDir("bind-ro")
        let rwDir = try makeHostDir("bind-rw")
        bundle.addMount(destination: "/ro", type: "bind", source: roDir, options: ["rbind", "ro"])
        bundle.addMount(destination: "/rw", type: "bind", source: rwDir, options: ["rbind", "rw"])
        guard let (mi, out) = mountsAnd("""
            touch /ro/f 2>&1; echo ro=$?
            echo written-inside > /rw/f; echo rw=$?
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertNotEqual(kv["ro"], "0", out)
        XCTAssertTrue(out.contains("Read-only file system"), out)
        XCTAssertEqual(kv["rw"], "0", out)
        XCTAssertEqual(directoryEntries(roDir), [], "write through a ro bind reached the host")
        XCTAssertEqual(readFile(rwDir + "/f"), "written-inside\n")
        XCTAssertEqual(mi.top(at: "/ro")?.options.first, "ro")
        XCTAssertEqual(mi.top(at: "/rw")?.options.first, "rw")
    }

    /// A host source dir with a tmpfs mounted on its `sub/`: rbind carries the submount, bind does not.
    private func sourceWithSubmount() throws -> String {
        let dir = try makeHostDir("bind-sub")
        try makeDirectories(dir + "/sub")
        try writeFile(dir + "/top.txt", "top\n")
        try mountHostTmpfs(dir + "/sub")
        try writeFile(dir + "/sub/inner.txt", "inner\n")
        return dir
    }

    func testRbindCarriesSubmountsBindDoesNot() throws {
        let src = try sourceWithSubmount()
        bundle.addMount(destination: "/r", type: "bind", source: src, options: ["rbind"])
        bundle.addMount(destination: "/b", type: "bind", source: src, options: ["bind"])
        guard let (mi, out) = mountsAnd("""
            echo rtop=$(cat /r/top.txt); echo rinner=$(cat /r/sub/inner.txt 2>/dev/null || echo missing)
            echo btop=$(cat /b/top.txt); echo binner=$(cat /b/sub/inner.txt 2>/dev/null || echo missing)
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["rtop"], "top", out)
        XCTAssertEqual(kv["rinner"], "inner", "rbind must carry the submount: \(out)")
        XCTAssertEqual(kv["btop"], "top", out)
        XCTAssertEqual(kv["binner"], "missing", "bind must not carry the submount: \(out)")
        XCTAssertNotNil(mi.top(at: "/r/sub"))
        XCTAssertNil(mi.top(at: "/b/sub"))
    }

    /// `ro` on an rbind only covers the top mount (runc); `rro` makes submounts read-only too
    /// (mount_setattr(AT_RECURSIVE), kernel >= 5.12).
    func testRroMakesSubmountsReadonly() throws {
        let (maj, min) = kernelVersion()
        if maj < 5 || (maj == 5 && min < 12) { throw XCTSkip("rro needs kernel >= 5.12 (have \(maj).\(min))") }
        let src = try sourceWithSubmount()
        bundle.addMount(destination: "/ro", type: "bind", source: src, options: ["rbind", "ro"])
        bundle.addMount(destination: "/rro", type: "bind", source: src, options: ["rbind", "rro"])
        guard let (mi, out) = mountsAnd("""
            touch /ro/sub/w1 2>/dev/null; echo rosub=$?
            touch /ro/w1 2>/dev/null; echo rotop=$?
            touch /rro/sub/w2 2>/dev/null; echo rrosub=$?
            touch /rro/w2 2>/dev/null; echo rrotop=$?
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertNotEqual(kv["rotop"], "0", out)
        XCTAssertEqual(kv["rosub"], "0", "plain ro is not recursive (runc behaviour): \(out)")
        XCTAssertNotEqual(kv["rrotop"], "0", out)
        XCTAssertNotEqual(kv["rrosub"], "0", "rro must make the submount read-only: \(out)")
        XCTAssertEqual(mi.top(at: "/rro/sub")?.options.first, "ro", "\(mi.top(at: "/rro/sub")?.line ?? "none")")
        XCTAssertEqual(mi.top(at: "/ro/sub")?.options.first, "rw")
        XCTAssertFalse(pathExists(src + "/sub/w2"))
    }

    // MARK: propagation

    /// Host source = a shared tmpfs (peer group N). Inside: `rslave` → master:N only, `rshared` →
    /// shared:M plus master:N (runc makes / rslave first, so the copy is a slave of the host group),
    /// `private` → no propagation fields.
    func testBindPropagationOptionalFields() throws {
        let src = try makeHostDir("prop-src")
        try mountHostTmpfs(src)
        try setHostPropagation(src, HostMS.shared)
        guard let hostGroup = hostMounts(below: src).last?.sharedGroup else {
            return XCTFail("host source is not shared: \(hostMounts(below: src))")
        }
        bundle.addMount(destination: "/pshared", type: "bind", source: src, options: ["rbind", "rshared"])
        bundle.addMount(destination: "/pslave", type: "bind", source: src, options: ["rbind", "rslave"])
        bundle.addMount(destination: "/pprivate", type: "bind", source: src, options: ["rbind", "private"])
        guard let (mi, _) = mountsAnd("true") else { return }
        guard let sh = mi.top(at: "/pshared"), let sl = mi.top(at: "/pslave"), let pr = mi.top(at: "/pprivate") else {
            return XCTFail("mounts missing: \(mi)")
        }
        XCTAssertNotNil(sh.sharedGroup, sh.line)
        XCTAssertNotEqual(sh.sharedGroup, hostGroup, "container mount joined the host's peer group: \(sh.line)")
        XCTAssertEqual(sh.masterGroup, hostGroup, sh.line)
        XCTAssertNil(sl.sharedGroup, sl.line)
        XCTAssertEqual(sl.masterGroup, hostGroup, sl.line)
        XCTAssertEqual(pr.optionalFields, [], pr.line)
    }

    /// Propagation in action: after create, the host mounts a tmpfs under the shared source. A
    /// `rslave` bind receives it, a `private` bind does not.
    func testSlaveBindReceivesHostMountsPrivateDoesNot() throws {
        let src = try makeHostDir("prop-live")
        try mountHostTmpfs(src)
        try setHostPropagation(src, HostMS.shared)
        try makeDirectories(src + "/late")
        let out = try makeHostDir("prop-out")
        bundle.addMount(destination: "/slave", type: "bind", source: src, options: ["rbind", "rslave"])
        bundle.addMount(destination: "/private", type: "bind", source: src, options: ["rbind", "rprivate"])
        bundle.addMount(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"])
        bundle.setShell("""
            { echo slave=$(cat /slave/late/f 2>/dev/null || echo missing)
              echo private=$(cat /private/late/f 2>/dev/null || echo missing); } > /out/result
            """)
        let id = runtime.id("prop")
        let c = runtime.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "\(c)")
        guard c.status == 0, let pid = runtime.stateJSON(id)?["pid"]?.int64Value else { return }
        try mountHostTmpfs(src + "/late", options: "size=1m")
        try writeFile(src + "/late/f", "arrived\n")
        let s = runtime("start", id)
        XCTAssertEqual(s.status, 0, "\(s)")
        waitForExit(Int(pid))
        let kv = keyValueLines(readFile(out + "/result") ?? "")
        XCTAssertEqual(kv["slave"], "arrived", "rslave bind did not receive the host mount")
        XCTAssertEqual(kv["private"], "missing", "private bind received a host mount")
    }

    /// rootfsPropagation with a shared host rootfs mount (peer group N): the default (rslave) and
    /// "rslave" give `/` master:N; "private"/"rprivate" give no fields. Nothing leaks to the host.
    /// (runc 1.1.5 also ends with no fields for "shared": it privatises the rootfs's parent mount
    /// before binding the rootfs; not asserted here.)
    func testRootfsPropagation() throws {
        try bindHost(bundle.rootfs, bundle.rootfs)
        try setHostPropagation(bundle.rootfs, HostMS.shared)
        guard let group = hostMounts(below: bundle.rootfs).first(where: { $0.mountPoint == bundle.rootfs })?.sharedGroup
        else { return XCTFail("rootfs is not a shared mount on the host") }
        let hostBefore = hostMounts(below: bundle.dir).count
        for (prop, expectMaster) in [(nil, true), ("rslave", true), ("private", false), ("rprivate", false)] as [(String?, Bool)] {
            bundle.setLinux("rootfsPropagation", prop.map { .string($0) })
            guard let (mi, _) = mountsAnd("true") else { return }
            guard let root = mi.top(at: "/") else { XCTFail("no / in mountinfo"); continue }
            if expectMaster {
                XCTAssertEqual(root.masterGroup, group, "rootfsPropagation=\(prop ?? "default"): \(root.line)")
                XCTAssertNil(root.sharedGroup, root.line)
            } else {
                XCTAssertEqual(root.optionalFields, [], "rootfsPropagation=\(prop!): \(root.line)")
            }
            XCTAssertEqual(hostMounts(below: bundle.dir).count, hostBefore, "container mounts leaked to the host")
        }
    }

    /// rootfsPropagation "rshared" on a host whose mounts are shared (systemd makes "/" shared): the container's
    /// copy of the old root is a peer of the host's, so detaching it after pivot_root must not propagate to the
    /// host. The runtime runs in a private mount namespace made `--propagation shared` with a sentinel mount;
    /// the sentinel and /proc must still be there after the container ran.
    func testSharedRootfsPropagationLeavesHostMountsAlone() throws {
        bundle.setLinux("rootfsPropagation", .string("rshared"))
        bundle.setArgs(["true"])
        let sentinel = try makeTempDir("sentinel", mode: 0o755)
        onTeardown { _ = rmdir(sentinel) }
        try bundle.writeConfig()
        let script = """
            mount -t tmpfs corral-sentinel \(sentinel) || exit 90
            \(RuntimeUnderTest.path) --root \(runtime.root) run \(runtime.id("rshared")) --bundle \(bundle.dir) </dev/null || exit 91
            grep -q ' \(sentinel) ' /proc/self/mountinfo || exit 92
            grep -q ' /proc ' /proc/self/mountinfo || exit 93
            """
        let r = runCommand(["unshare", "-m", "--propagation", "shared", "sh", "-c", script], timeout: 30)
        XCTAssertEqual(r.status, 0, "90 = no sentinel mount, 91 = run failed, 92/93 = a host mount was unmounted: \(r)")
    }

    // MARK: options

    func testNosymfollow() throws {
        let (maj, min) = kernelVersion()
        if maj < 5 || (maj == 5 && min < 10) { throw XCTSkip("nosymfollow needs kernel >= 5.10") }
        bundle.addMount(destination: "/nf", type: "tmpfs", source: "tmpfs", options: ["nosymfollow"])
        bundle.addMount(destination: "/f", type: "tmpfs", source: "tmpfs", options: [])
        guard let (mi, out) = mountsAnd("""
            echo data > /nf/target; ln -s target /nf/link
            echo data > /f/target; ln -s target /f/link
            cat /nf/link 2>&1; echo nf=$?; echo nflink=$(readlink /nf/link)
            cat /f/link >/dev/null; echo f=$?
            """) else { return }
        XCTAssertTrue(mi.top(at: "/nf")?.options.contains("nosymfollow") == true, "\(mi.top(at: "/nf")?.line ?? "none")")
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["nf"], "1", out)
        XCTAssertTrue(out.contains("Too many levels of symbolic links"), out)
        XCTAssertEqual(kv["nflink"], "target", "readlink must still work: \(out)")
        XCTAssertEqual(kv["f"], "0", out)
    }

    // MARK: default filesystems

    /// The runc-spec default mounts are where the config says, with the right fs types and flags.
    func testDefaultMountsHaveTheirTypes() throws {
        guard let (mi, _) = mountsAnd("true") else { return }
        let expected: [(String, String)] = [
            ("/proc", "proc"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"),
            ("/dev/mqueue", "mqueue"), ("/sys", "sysfs"),
        ]
        for (dest, type) in expected {
            XCTAssertEqual(mi.top(at: dest)?.fsType, type, "\(dest): \(mi.top(at: dest)?.line ?? "not mounted")")
        }
        if let shm = mi.top(at: "/dev/shm") {
            for o in ["nosuid", "nodev", "noexec"] { XCTAssertTrue(shm.options.contains(o), shm.line) }
            XCTAssertTrue(shm.superOptions.contains("size=65536k"), shm.line)
        }
        if let pts = mi.top(at: "/dev/pts") {
            XCTAssertTrue(pts.superOptions.contains("ptmxmode=666"), pts.line)
            XCTAssertTrue(pts.superOptions.contains("mode=620"), pts.line)
            XCTAssertTrue(pts.superOptions.contains("gid=5"), pts.line)
        }
        XCTAssertEqual(mi.top(at: "/sys")?.options.first, "ro", "sysfs must be read-only")
        XCTAssertEqual(mi.top(at: "/dev")?.superOptions.contains("mode=755"), true)
        // The cgroup mount: every cgroup filesystem below /sys/fs/cgroup is read-only.
        let cgroups = mi.filter { $0.mountPoint.hasPrefix("/sys/fs/cgroup") && $0.fsType.hasPrefix("cgroup") }
        XCTAssertFalse(cgroups.isEmpty, "nothing mounted at /sys/fs/cgroup")
        for c in cgroups { XCTAssertEqual(c.options.first, "ro", c.line) }
    }

    // MARK: symlinks out of the rootfs (CVE-2021-30465 class)

    /// Mount destinations that are symlinks pointing out of the rootfs (absolute and ../ relative)
    /// are resolved inside the rootfs: nothing is mounted or written on the host path.
    func testSymlinkDestinationCannotEscapeRootfs() throws {
        let target = try makeHostDir("host-target")
        try writeFile(target + "/marker", "orig\n")
        let bindSrc = try makeHostDir("evil-src")
        XCTAssertEqual(symlink(target, bundle.rootfs + "/evil"), 0)  // absolute
        let climb = String(repeating: "../", count: 12)
        bundle.setRootReadonly(false)
        bundle.addMount(destination: "/evil", type: "tmpfs", source: "tmpfs", options: ["size=1m"])

        guard let (mi1, out1) = mountsAnd("echo pwned > /evil/pwned; echo rc=$?") else { return }
        XCTAssertEqual(keyValueLines(out1)["rc"], "0", out1)
        XCTAssertEqual(mi1.top(at: target)?.fsType, "tmpfs", "tmpfs not mounted at the in-rootfs path \(target)")
        assertHostTargetUntouched(target)

        let second = try makeExtraBundle()
        XCTAssertEqual(symlink(climb + String(target.dropFirst()), second.rootfs + "/evil2"), 0)  // ../ climbing
        second.setRootReadonly(false)
        second.addMount(destination: "/evil2", type: "bind", source: bindSrc, options: ["rbind"])
        guard let out2 = runScript("echo pwned > /evil2/pwned; echo rc=$?", in: second) else { return }
        XCTAssertEqual(keyValueLines(out2)["rc"], "0", out2)
        assertHostTargetUntouched(target)
        XCTAssertEqual(readFile(bindSrc + "/pwned"), "pwned\n", "the bind must land inside the rootfs, on the source")
        XCTAssertTrue(isDirectory(second.rootfs + target), "mount point should be created inside the rootfs")
    }

    private func assertHostTargetUntouched(_ target: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(directoryEntries(target), ["marker"], "host directory changed", file: file, line: line)
        XCTAssertEqual(readFile(target + "/marker"), "orig\n", file: file, line: line)
        XCTAssertEqual(hostMounts(below: target).map(\.line), [], "something is mounted on the host path",
                       file: file, line: line)
    }
}
