// User namespaces with uid/gid maps: root inside, an unprivileged uid on the host.
import XCTest
import Glibc
import CorralSpec

final class UserNSTests: IsolationTestCase {
    private let hostBase = 100000

    /// Gives the rootfs to the mapped root (chown -R), as an engine would for a userns container.
    private func chownRootfs() throws {
        let r = runCommand(["chown", "-R", "\(hostBase):\(hostBase)", bundle.rootfs], timeout: 60)
        guard r.status == 0 else { throw XCTSkip("cannot chown the rootfs to \(hostBase): \(r.stderr)") }
    }

    /// Inside: uid_map/gid_map show `0 100000 65536`, `id` says root, a file created in a host
    /// bind mount is owned by 0 there — and by 100000 on the host.
    func testMappedRootInsideIsUnprivilegedOnHost() throws {
        try chownRootfs()
        bundle.addUserNamespace(hostID: hostBase, size: 65536)
        let out = try makeHostDir("userns-out")
        XCTAssertEqual(chown(out, uid_t(hostBase), gid_t(hostBase)), 0, errnoString())
        bundle.addMount(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"])
        guard let text = runScript("""
            echo uidmap=$(cat /proc/self/uid_map); echo gidmap=$(cat /proc/self/gid_map)
            echo uid=$(id -u); echo gid=$(id -g)
            touch /out/made-inside && echo owner=$(stat -c %u:%g /out/made-inside)
            """) else { return }
        let kv = keyValueLines(text)
        XCTAssertEqual(kv["uidmap"].map(squeezeSpaces), "0 100000 65536", text)
        XCTAssertEqual(kv["gidmap"].map(squeezeSpaces), "0 100000 65536", text)
        XCTAssertEqual(kv["uid"], "0", text)
        XCTAssertEqual(kv["gid"], "0", text)
        XCTAssertEqual(kv["owner"], "0:0", text)
        guard let st = hostStat(out + "/made-inside") else { return XCTFail("file not visible on the host") }
        XCTAssertEqual(Int(st.st_uid), hostBase, "host owner of a file created by container root")
        XCTAssertEqual(Int(st.st_gid), hostBase)
    }

    /// A user namespace cannot mknod, so the default devices are bind mounts of the host's nodes: each one is
    /// nosuid,noexec, as the /dev tmpfs around it (crun's userns-precreated-devices-flags).
    func testDeviceBindMountsInAUserNamespaceAreNosuidNoexec() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc binds the host's device nodes with the host /dev mount's flags") }
        try chownRootfs()
        bundle.addUserNamespace(hostID: hostBase, size: 65536)
        guard let text = runScript("cat /proc/self/mountinfo") else { return }
        var seen: [String] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count > 5, ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/random", "/dev/urandom"].contains(f[4])
            else { continue }
            seen.append(f[4])
            let opts = f[5].split(separator: ",")
            XCTAssertTrue(opts.contains("nosuid") && opts.contains("noexec"), "\(f[4]) mounted \(f[5])")
        }
        XCTAssertEqual(seen.count, 6, "the six default devices are bind mounts in a user namespace: \(text)")
    }

    /// From the host, the container's process runs as uid/gid 100000 and its uid_map is the config's.
    func testContainerProcessHostCredentials() throws {
        try chownRootfs()
        bundle.addUserNamespace(hostID: hostBase, size: 65536)
        bundle.setArgs(["sleep", "30"])
        let pid = try startDetached(bundle, id: runtime.id("userns"))
        XCTAssertEqual(procStatusField(pid, "Uid"), Array(repeating: "\(hostBase)", count: 4))
        XCTAssertEqual(procStatusField(pid, "Gid"), Array(repeating: "\(hostBase)", count: 4))
        XCTAssertEqual(readFile("/proc/\(pid)/uid_map").map(squeezeSpaces), "0 100000 65536")
        XCTAssertEqual(readFile("/proc/\(pid)/gid_map").map(squeezeSpaces), "0 100000 65536")
        XCTAssertNotEqual(readLink("/proc/\(pid)/ns/user"), hostNamespace("user"))
    }

    /// Host root's files are unmapped inside: they show as the overflow id 65534 and container
    /// "root" cannot write them.
    func testHostRootFilesAreUnmappedAndNotWritable() throws {
        try chownRootfs()  // else container root cannot even create the mount point
        bundle.addUserNamespace(hostID: hostBase, size: 65536)
        let dir = try makeHostDir("userns-src")
        try writeFile(dir + "/host-owned", "host\n", mode: 0o644)
        bundle.addMount(destination: "/hostdata", type: "bind", source: dir, options: ["rbind", "rw"])
        guard let text = runScript("""
            echo owner=$(stat -c %u:%g /hostdata/host-owned)
            if echo pwned >> /hostdata/host-owned; then echo write=ok; else echo write=denied; fi
            """) else { return }
        let kv = keyValueLines(text)
        XCTAssertEqual(kv["owner"], "65534:65534", text)
        XCTAssertEqual(kv["write"], "denied", text)
        XCTAssertEqual(readFile(dir + "/host-owned"), "host\n", "container root modified a host root file")
    }
}
