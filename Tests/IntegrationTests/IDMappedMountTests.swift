// Bind mounts in a container with its own user namespace: sources are opened by the runtime (a source only the
// host's root may enter still mounts), and idmapped mounts (`idmap`, `ridmap`, a mount's own uid/gid maps), as
// Kubernetes user namespaces use them: files owned by the host's root show as the container's root.
import XCTest
import Glibc
import CorralSpec

final class IDMappedMountTests: RuntimeTestCase {
    private var source = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        bundle.addUserNamespace()
        // Owned by the host's root, mode 0700: nothing in the container's user namespace may enter it by itself.
        source = bundle.dir + "/volume"
        try makeDirectories(source)
        XCTAssertEqual(chmod(source, 0o700), 0)
        try writeFile(source + "/owned-by-root", "data\n", mode: 0o644)
        try makeDirectories(bundle.rootfs + "/data")
    }

    /// runc opens bind sources before entering the user namespace; from inside it, open_tree would be refused.
    func testABindSourceOnlyTheHostsRootMayEnterStillMounts() throws {
        bundle.addMount(destination: "/data", type: "bind", source: source, options: ["rbind", "ro"])
        bundle.setShell("stat -c '%u %a' /data; echo mounted")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["65534 700", "mounted"], "unmapped owner without an idmap")
    }

    /// `idmap` without maps of its own takes the container's: the host's root is the container's root on it.
    func testIdmapUsesTheContainersMaps() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no idmapped mounts (added in runc 1.2)") }
        bundle.addMount(destination: "/data", type: "bind", source: source, options: ["rbind", "idmap"])
        bundle.setShell("stat -c '%u:%g' /data /data/owned-by-root; cat /data/owned-by-root; touch /data/made && echo wrote")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["0:0", "0:0", "data", "wrote"])
        var st = stat()
        XCTAssertEqual(stat(source + "/made", &st), 0)
        XCTAssertEqual([st.st_uid, st.st_gid], [0, 0], "written as the host's root through the idmap")
    }

    /// A mount's own uidMappings/gidMappings: here host uid 0 shows as 1000 inside (a different map than the
    /// container's).
    func testAMountsOwnMaps() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no idmapped mounts (added in runc 1.2)") }
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        // Host id 0 → kernel id 101000 → 1000 in the container (whose map is 0 → 100000).
        let map: JSONValue = [["containerID": 0, "hostID": 101000, "size": 1]]
        mounts.append(["destination": "/data", "type": "bind", "source": .string(source), "options": ["rbind"],
                       "uidMappings": map, "gidMappings": map])
        bundle.config["mounts"] = .array(mounts)
        // The directory is 0700: only its owner, uid 1000 on this mount, may enter it.
        bundle.config["process"]?["user"] = ["uid": 1000, "gid": 1000]
        bundle.setShell("stat -c '%u:%g' /data/owned-by-root")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.trimmed, "1000:1000")
    }

    func testIdmapRules() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no idmapped mounts (added in runc 1.2)") }
        // Only uid maps: both are needed.
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        mounts.append(["destination": "/data", "type": "bind", "source": .string(source), "options": ["rbind"],
                       "uidMappings": [["containerID": 0, "hostID": 0, "size": 1]]])
        bundle.config["mounts"] = .array(mounts)
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("idmap"), message: "uidMappings and gidMappings must both be set")

        // Without a user namespace of the container's own.
        mounts.removeLast()
        bundle.config["mounts"] = .array(mounts)
        bundle.removeNamespace("user")
        bundle.config["linux"]?["uidMappings"] = nil
        bundle.config["linux"]?["gidMappings"] = nil
        bundle.addMount(destination: "/data", type: "bind", source: source, options: ["rbind", "idmap"])
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("idmap"), message: "needs the container to have a new user namespace")
    }

    /// runc main and crun (test_idmapped_mounts_without_userns): a mount's own maps need no user namespace of the
    /// container. Without one the container sees host ids, so the host's root shows as the map's 1000.
    func testAMountsOwnMapsWithoutAUserNamespace() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no idmapped mounts (added in runc 1.2)") }
        bundle.removeNamespace("user")
        bundle.config["linux"]?["uidMappings"] = nil
        bundle.config["linux"]?["gidMappings"] = nil
        let map: JSONValue = [["containerID": 0, "hostID": 1000, "size": 10]]
        var mounts = bundle.config["mounts"]?.arrayValue ?? []
        mounts.append(["destination": "/data", "type": "bind", "source": .string(source), "options": ["bind", "ro", "idmap"],
                       "uidMappings": map, "gidMappings": map])
        bundle.config["mounts"] = .array(mounts)
        XCTAssertEqual(chmod(source, 0o755), 0)   // shown as owned by 1000: root without CAP_DAC_* must be let in
        bundle.setShell("stat -c %u:%g /data/owned-by-root; touch /data/x 2>/dev/null || echo read-only")
        let r = rt.run(bundle)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["1000:1000", "read-only"])
    }
}
