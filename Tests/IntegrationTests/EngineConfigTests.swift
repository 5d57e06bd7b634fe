// The hardened config.json that podman (4.3, through conmon) and containerd's ctr (1.6) really wrote, run under runc
// and under the runtime under test: the container must see the same thing (identity and capabilities from
// /proc/self/status, umask, its mounts with their options, its /dev, what tmpcopyup copied). What names the
// engine's host is replaced as EngineConfig describes; podman's /dev/shm, /etc/hostname and /etc/hosts binds point
// at test-made stand-ins. ctr's root.path is the relative "rootfs" and stays so.
import XCTest
import Glibc
import CorralSpec

final class EngineConfigTests: XCTestCase {
    static let podman = EngineConfig(file: "hardened-config.podman.pretty.json", engine: "podman")
    static let ctr = EngineConfig(file: "hardened-config.ctr.pretty.json", engine: "ctr")

    /// What the container prints about itself. Times, inode and mount ids are left out: they differ between any
    /// two runs. Mount lines drop the trailing "0 0".
    static let probe = """
        grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status
        echo "umask=$(umask) hostname=$(hostname) cwd=$(pwd)"
        sed -e 's/ 0 0$//' -e 's/^/mount: /' /proc/self/mounts
        for f in /dev/* /dev/pts/*; do
            stat -c 'dev: %n|%F|%t:%T|%a|%u:%g' "$f"
            if [ -L "$f" ]; then echo "dev: $f -> $(readlink "$f")"; fi
        done
        for d in /tmp /run /var/tmp; do
            [ -d "$d" ] && find "$d" | sort | while read -r f; do stat -c 'tree: %n|%F|%a|%u:%g|%s' "$f"; done
        done
        touch /tmp/ok 2>&1 && echo tmp-writable
        touch /x 2>&1 | sed 's/^/root: /'
        echo done
        """

    func testPodmanHardenedConfigMatchesRunc() throws {
        let engine = EngineConfigTests.podman
        let config = try engine.load()
        XCTAssertEqual(config["process"]?["user"]?["umask"]?.int64Value, 18, "podman sets umask 18 (0022)")
        let copyUp = (config["mounts"]?.arrayValue ?? []).filter {
            ($0["options"]?.arrayValue ?? []).contains(.string("tmpcopyup"))
        }.compactMap { $0["destination"]?.stringValue }
        XCTAssertEqual(copyUp, ["/tmp", "/run", "/var/tmp"], "podman asks for tmpcopyup on these")
        let (runc, subject) = try engine.runUnderBoth(config, probe: EngineConfigTests.probe) { c, bundle in
            c["root"]?["path"] = .string(bundle.rootfs)
            let n = try EngineConfig.replaceHostBinds(&c, in: bundle, hostPrefixes: ["/var/lib/containers/", "/run/containers/"],
                                                      directories: ["/dev/shm"],
                                                      contents: ["/etc/hostname": "cb3b709af483\n", "/etc/hosts": "127.0.0.1 localhost\n"])
            XCTAssertEqual(n, 3, "podman's /dev/shm, /etc/hostname and /etc/hosts binds")
            // Something for tmpcopyup to copy (root-owned: runc's copy does not chown directories).
            try makeDirectories(bundle.rootfs + "/run/lock")
            try makeDirectories(bundle.rootfs + "/var/tmp")
            try writeFile(bundle.rootfs + "/var/tmp/seed", "seed\n", mode: 0o640)
            try writeFile(bundle.rootfs + "/tmp/keep", "keep\n", mode: 0o644)
            _ = chmod(bundle.rootfs + "/var/tmp", 0o1777)
        }
        XCTAssertEqual(runc.status, 0, "runc runs podman's hardened config: \(runc)")
        XCTAssertEqual(subject.status, 0, "the runtime under test runs podman's hardened config: \(subject)")
        let theirs = runc.stdout
        for expected in ["Uid:\t1001\t1001\t1001\t1001", "NoNewPrivs:\t1", "Seccomp:\t2", "CapBnd:\t0000000000000400",
                         "umask=0022 hostname=cb3b709af483 cwd=/", "tmp-writable", "Read-only file system",
                         "tree: /var/tmp/seed|regular file|640|0:0|5", "tree: /run/lock|directory|755|0:0",
                         "tree: /tmp/keep|regular file|644|0:0|5", "done"] {
            XCTAssertTrue(theirs.contains(expected), "runc's view has \(expected.debugDescription): \(theirs)")
        }
        XCTAssertEqual(EngineConfigTests.normalized(subject.stdout), EngineConfigTests.normalized(theirs),
                       "the same view of the container as under runc:\n\(EngineConfigTests.diff(theirs, subject.stdout))")
    }

    func testCtrHardenedConfigMatchesRunc() throws {
        let engine = EngineConfigTests.ctr
        let config = try engine.load()
        XCTAssertEqual(config["root"]?["path"]?.stringValue, "rootfs", "ctr writes a root relative to the bundle")
        let (runc, subject) = try engine.runUnderBoth(config, probe: EngineConfigTests.probe) { _, _ in
            // root.path stays "rootfs": the bundle's own rootfs directory.
        }
        XCTAssertEqual(runc.status, 0, "runc runs ctr's hardened config: \(runc)")
        XCTAssertEqual(subject.status, 0, "the runtime under test runs ctr's hardened config: \(subject)")
        let theirs = runc.stdout
        // ctr's 13 default capabilities (CapEff a80405fb); no /tmp mount, so /tmp is on the read-only root.
        for expected in ["Uid:\t0\t0\t0\t0", "NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t00000000a80405fb",
                         "umask=0022", "mount: tmpfs /run tmpfs rw,nosuid,size=65536k,mode=755",
                         "dev: /dev/ptmx -> pts/ptmx", "touch: /tmp/ok: Read-only file system", "done"] {
            XCTAssertTrue(theirs.contains(expected), "runc's view has \(expected.debugDescription): \(theirs)")
        }
        XCTAssertEqual(EngineConfigTests.normalized(subject.stdout), EngineConfigTests.normalized(theirs),
                       "the same view of the container as under runc:\n\(EngineConfigTests.diff(theirs, subject.stdout))")
    }

    /// corral's one deliberate difference that shows here (README, "Deliberate differences from runc"): the `ro`
    /// of a `type: cgroup` mount also makes its tmpfs at /sys/fs/cgroup read-only, where runc 1.1.5 leaves it
    /// writable. Only that line's leading flag is made equal.
    static func normalized(_ s: String) -> [String] {
        s.nonEmptyLines.map { line in
            line.hasPrefix("mount: tmpfs /sys/fs/cgroup tmpfs ro,") ? line.unitReplacingAll("tmpfs ro,", "tmpfs rw,") : line
        }
    }

    /// The lines only one side printed, for a readable failure.
    static func diff(_ runc: String, _ subject: String) -> String {
        let a = normalized(runc), b = normalized(subject)
        let onlyRunc = a.filter { !b.contains($0) }.map { "- runc:    " + $0 }
        let onlySubject = b.filter { !a.contains($0) }.map { "+ subject: " + $0 }
        return (onlyRunc + onlySubject).joined(separator: "\n")
    }
}
