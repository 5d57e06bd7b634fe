// Hardening seen from inside the container (issue 3, "Tests"): the capability sets in /proc/self/status for
// several configs, no_new_privs, masked paths reading empty (files and directories), read-only paths refusing
// writes, namespaced sysctls set and the others refused with runc's exact words.
//
// Capabilities: what the process shows is what the kernel computes at execve (busybox has no file
// capabilities) from the sets the runtime applied, so the expectation is that computation (`expectedCaps`),
// not the config copied. runc gives exactly this; a set absent from the config is empty, nothing is implicit.
import XCTest
import Glibc
import CorralSpec

/// Bit numbers of the capabilities the tests use (linux/capability.h).
let capabilityBits: [String: Int] = [
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
    "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_ADMIN": 21, "CAP_MKNOD": 27,
    "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31,
]

/// The /proc/<pid>/status mask (16 hex digits) of a list of capability names.
func capabilityMask(_ names: [String]) -> String {
    var mask: UInt64 = 0
    for n in names { mask |= 1 << UInt64(capabilityBits[n]!) }
    let hex = String(mask, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

final class HardeningTests: CVETestCase {
    /// The container process's own status lines (the program IS grep: no shell in between).
    private func statusLines(file: StaticString = #filePath, line: UInt = #line) -> [String: String]? {
        guard let out = runArgs(["/bin/grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"], file: file, line: line)
        else { return nil }
        var d: [String: String] = [:]
        for l in out.nonEmptyLines {
            guard let colon = l.firstIndex(of: ":") else { continue }
            d[String(l[..<colon])] = String(l[l.index(after: colon)...]).trimmed
        }
        return d
    }

    /// CapBnd/CapInh/CapPrm/CapEff/CapAmb after execve of a binary without file capabilities, given the sets
    /// the runtime applied (B, I, P, A; E does not matter across execve) — security/commoncap.c:
    ///   uid 0:       P' = B | I, cut down to P when no_new_privs forbids gaining; then P' |= A; E' = P'
    ///   other uids:  P' = A; E' = A
    ///   always:      bounding B, inheritable I, ambient A
    private func expectedCaps(uid: Int, noNewPrivs: Bool, b: [String], i: [String], p: [String], a: [String])
        -> (bnd: [String], inh: [String], prm: [String], eff: [String], amb: [String]) {
        var prm: Set<String> = []
        if uid == 0 {
            prm = Set(b).union(i)
            if noNewPrivs && !prm.isSubset(of: Set(p)) { prm.formIntersection(p) }
        }
        prm.formUnion(a)
        let sorted = prm.sorted()
        return (b, i, sorted, uid == 0 ? sorted : a, a)
    }

    private func assertCaps(bnd: [String], inh: [String], prm: [String], eff: [String], amb: [String], _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        guard let s = statusLines(file: file, line: line) else { return }
        XCTAssertEqual(s["CapBnd"], capabilityMask(bnd), "\(what): CapBnd", file: file, line: line)
        XCTAssertEqual(s["CapInh"], capabilityMask(inh), "\(what): CapInh", file: file, line: line)
        XCTAssertEqual(s["CapPrm"], capabilityMask(prm), "\(what): CapPrm", file: file, line: line)
        XCTAssertEqual(s["CapEff"], capabilityMask(eff), "\(what): CapEff", file: file, line: line)
        XCTAssertEqual(s["CapAmb"], capabilityMask(amb), "\(what): CapAmb", file: file, line: line)
    }

    /// Applies the five sets (nil = absent) to the bundle and checks the kernel's result.
    private func checkCaps(uid: Int = 0, noNewPrivs: Bool = true, b: [String]?, e: [String]?, i: [String]?,
                           p: [String]?, a: [String]?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        setCapabilities(bundle, bounding: b, effective: e, inheritable: i, permitted: p, ambient: a)
        bundle.setProcess("noNewPrivileges", .bool(noNewPrivs))
        if uid != 0 { bundle.setProcess("user", ["uid": .number(String(uid)), "gid": .number(String(uid))]) }
        let x = expectedCaps(uid: uid, noNewPrivs: noNewPrivs, b: b ?? [], i: i ?? [], p: p ?? [], a: a ?? [])
        assertCaps(bnd: x.bnd, inh: x.inh, prm: x.prm, eff: x.eff, amb: x.amb, what, file: file, line: line)
    }

    // MARK: capabilities

    private let fiveB = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
                         "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"]
    private let fiveE = ["CAP_CHOWN", "CAP_KILL"]
    private let fiveI = ["CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_FOWNER"]
    private let fiveP = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]
    private let fiveA = ["CAP_NET_BIND_SERVICE"]

    /// Root, all five sets different, no_new_privs on: CapPrm = CapEff = the config's permitted set.
    func testCapabilitiesAllFiveSetsAsRoot() throws {
        checkCaps(b: fiveB, e: fiveE, i: fiveI, p: fiveP, a: fiveA, "root, five sets")
    }

    /// The same without no_new_privs: root's execve raises CapPrm/CapEff to bounding | inheritable.
    func testCapabilitiesAllFiveSetsAsRootWithoutNoNewPrivileges() throws {
        checkCaps(noNewPrivs: false, b: fiveB, e: fiveE, i: fiveI, p: fiveP, a: fiveA, "root, five sets, no NNP")
    }

    /// Root with only a bounding set: the absent sets are empty (with no_new_privs nothing is gained at exec).
    func testCapabilitiesOnlyBoundingAsRoot() throws {
        let b = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        checkCaps(b: b, e: nil, i: nil, p: nil, a: nil, "root, bounding only")
        checkCaps(noNewPrivs: false, b: b, e: nil, i: nil, p: nil, a: nil, "root, bounding only, no NNP")
    }

    /// `capabilities: {}` and no `capabilities` at all: nothing is granted (runc: every set empty).
    func testCapabilitiesAbsentGrantNothing() throws {
        checkCaps(b: nil, e: nil, i: nil, p: nil, a: nil, "capabilities {}")
        bundle.setProcess("capabilities", nil)
        assertCaps(bnd: [], inh: [], prm: [], eff: [], amb: [], "no capabilities member")
        bundle.setProcess("noNewPrivileges", false)
        assertCaps(bnd: [], inh: [], prm: [], eff: [], amb: [], "no capabilities member, no NNP")
    }

    /// Docker's hardened config (../shared/data/engines/hardened-config.docker.pretty.json): uid 1001 and only
    /// a bounding set.
    func testCapabilitiesNonRootBoundingOnlyAsDockerSendsIt() throws {
        bundle.setProcess("user", ["uid": 1001, "gid": 1001, "additionalGids": [1001]])
        setCapabilities(bundle, bounding: ["CAP_NET_BIND_SERVICE"], effective: nil, inheritable: nil, permitted: nil,
                        ambient: nil)
        assertCaps(bnd: ["CAP_NET_BIND_SERVICE"], inh: [], prm: [], eff: [], amb: [], "uid 1001, bounding only")
    }

    /// A non-root user keeps capabilities across execve only through the ambient set.
    func testCapabilitiesNonRootWithAmbient() throws {
        let nbs = ["CAP_NET_BIND_SERVICE"]
        checkCaps(uid: 1001, b: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"], e: nbs, i: nbs, p: nbs, a: nbs,
                  "uid 1001, ambient NET_BIND_SERVICE")
    }

    /// The same sets without ambient: the non-root process ends up with nothing permitted or effective.
    func testCapabilitiesNonRootWithoutAmbientLosesThemAtExec() throws {
        let nbs = ["CAP_NET_BIND_SERVICE"]
        checkCaps(uid: 1001, b: nbs, e: nbs, i: nbs, p: nbs, a: nil, "uid 1001, no ambient")
        checkCaps(uid: 1001, noNewPrivs: false, b: fiveB, e: fiveE, i: fiveI, p: fiveP, a: nil, "uid 1001, five sets, no NNP")
    }

    // MARK: no_new_privs

    func testNoNewPrivileges() throws {
        bundle.setProcess("noNewPrivileges", true)
        XCTAssertEqual(statusLines()?["NoNewPrivs"], "1")
        bundle.setProcess("noNewPrivileges", false)
        XCTAssertEqual(statusLines()?["NoNewPrivs"], "0")
    }

    // MARK: masked and read-only paths

    func testMaskedPathsReadEmpty() throws {
        try bundle.writeRootfsFile("/secret-file", "top secret\n", mode: 0o644)
        try bundle.writeRootfsFile("/secret-dir/inside", "top secret\n", mode: 0o644)
        bundle.setLinux("maskedPaths", ["/secret-file", "/secret-dir", "/proc/kcore", "/proc/timer_list", "/proc/keys",
                                        "/proc/acpi", "/sys/firmware", "/proc/does-not-exist"])
        bundle.setRootReadonly(false)
        let script = """
            for f in /secret-file /proc/kcore /proc/timer_list /proc/keys; do
                [ -e $f ] && echo "$f=$(cat $f | wc -c) $(stat -c '%F %t:%T' $f)"
            done
            for d in /secret-dir /proc/acpi /sys/firmware; do
                if [ -d $d ]; then echo "$d=$(ls -A $d | wc -l)"; touch $d/new 2>/dev/null && echo "$d-write=ok"; fi
            done
            true
            """
        guard let out = runScript(script) else { return }
        let kv = keyValueLines(out)
        // /proc/kcore does not exist on every kernel (missing masked paths are skipped, as runc does).
        for f in ["/secret-file", "/proc/kcore", "/proc/timer_list", "/proc/keys"] where f.hasPrefix("/secret") || pathExists(f) {
            XCTAssertEqual(kv[f], "0 character special file 1:3", "\(f): \(out)")
        }
        XCTAssertEqual(kv["/secret-dir"], "0", out)
        for d in ["/proc/acpi", "/sys/firmware"] where pathExists(d) {
            XCTAssertEqual(kv[d], "0", "\(d): \(out)")
        }
        for d in ["/secret-dir", "/proc/acpi", "/sys/firmware"] {
            XCTAssertNil(kv[d + "-write"], "\(d) is masked writable: \(out)")
        }
        XCTAssertEqual(readFile(bundle.rootfs + "/secret-file"), "top secret\n")
    }

    /// runc's bats mask.bats: a path listed twice is masked once, and masked directories share one read-only tmpfs.
    func testMaskedDirectoriesShareOneTmpfsAndDuplicatesMaskOnce() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 mounts a tmpfs per directory and masks a duplicate twice; runc main as tested") }
        for d in ["/m1", "/m2", "/m3"] { try makeDirectories(bundle.rootfs + d) }
        try bundle.writeRootfsFile("/mf", "x\n", mode: 0o644)
        bundle.setLinux("maskedPaths", ["/m1", "/m2", "/m3", "/m1/", "/mf", "/mf"])
        bundle.setRootReadonly(false)
        let script = """
            echo dev=$(stat -c %d /m1 /m2 /m3 | sort -u | wc -l)
            echo m1=$(grep -c ' /m1 ' /proc/self/mountinfo)
            echo mf=$(grep -c ' /mf ' /proc/self/mountinfo)
            touch /m2/new 2>/dev/null && echo m2-write=ok
            true
            """
        guard let out = runScript(script) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["dev"], "1", "one tmpfs for all masked directories: \(out)")
        XCTAssertEqual(kv["m1"], "1", out)
        XCTAssertEqual(kv["mf"], "1", out)
        XCTAssertNil(kv["m2-write"], "a bind of the masking tmpfs is writable: \(out)")
    }

    func testReadonlyPathsRefuseWrites() throws {
        try bundle.writeRootfsFile("/data/file", "data\n", mode: 0o644)
        try bundle.writeRootfsFile("/data-file", "data\n", mode: 0o644)
        try makeDirectories(bundle.rootfs + "/other")
        bundle.setRootReadonly(false)
        bundle.setLinux("readonlyPaths", ["/data", "/data-file", "/proc/sys", "/proc/sysrq-trigger", "/nope"])
        let script = """
            touch /data/new 2>&1; echo data-new=$?
            echo more >> /data/file 2>&1; echo data-file=$?
            echo more >> /data-file 2>&1; echo data-file2=$?
            echo 1 > /proc/sys/net/ipv4/ip_forward 2>&1; echo ip-forward=$?
            touch /other/new; echo other=$?
            cat /data/file /data-file | wc -l
            """
        guard let out = runScript(script) else { return }
        let kv = keyValueLines(out)
        for key in ["data-new", "data-file", "data-file2", "ip-forward"] {
            XCTAssertEqual(kv[key], "1", "\(key): \(out)")
        }
        XCTAssertTrue(out.contains("Read-only file system"), out)
        XCTAssertEqual(kv["other"], "0", "other paths stay writable: \(out)")
        XCTAssertEqual(readFile(bundle.rootfs + "/data/file"), "data\n")
        XCTAssertFalse(pathExists(bundle.rootfs + "/data/new"))
    }

    // MARK: sysctl

    /// Network sysctls in the container's own network namespace (Docker's hardened config sets the last two).
    func testSysctlInNetworkNamespace() throws {
        let hostForward = readFile("/proc/sys/net/ipv4/ip_forward")
        bundle.setLinux("sysctl", ["net.ipv4.ip_forward": "1", "net.ipv4.ip_unprivileged_port_start": "0",
                                   "net.ipv4.ping_group_range": "0 2147483647"])
        guard let out = runScript("""
            echo fwd=$(cat /proc/sys/net/ipv4/ip_forward)
            echo port=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
            echo ping=$(cat /proc/sys/net/ipv4/ping_group_range)
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["fwd"], "1", out)
        XCTAssertEqual(kv["port"], "0", out)
        XCTAssertEqual(squeezeSpaces(kv["ping"] ?? ""), "0 2147483647", out)
        XCTAssertEqual(readFile("/proc/sys/net/ipv4/ip_forward"), hostForward, "the host's ip_forward changed")
    }

    func testSysctlInIpcNamespace() throws {
        let hostShmmax = readFile("/proc/sys/kernel/shmmax")
        bundle.setLinux("sysctl", ["kernel.shmmax": "123456789", "kernel.msgmax": "9000", "fs.mqueue.queues_max": "100"])
        guard let out = runScript("""
            echo shmmax=$(cat /proc/sys/kernel/shmmax)
            echo msgmax=$(cat /proc/sys/kernel/msgmax)
            echo queues=$(cat /proc/sys/fs/mqueue/queues_max)
            """) else { return }
        let kv = keyValueLines(out)
        XCTAssertEqual(kv["shmmax"], "123456789", out)
        XCTAssertEqual(kv["msgmax"], "9000", out)
        XCTAssertEqual(kv["queues"], "100", out)
        XCTAssertEqual(readFile("/proc/sys/kernel/shmmax"), hostShmmax, "the host's shmmax changed")
    }

    /// kernel.domainname is namespaced with the UTS namespace and has no conflicting OCI field (runc allows it).
    func testSysctlDomainnameInUtsNamespace() throws {
        bundle.setLinux("sysctl", ["kernel.domainname": "corral.test"])
        guard let out = runScript("cat /proc/sys/kernel/domainname") else { return }
        XCTAssertEqual(out.trimmed, "corral.test")
    }

    /// runc also accepts keys spelled with slashes (kernel/shmmax).
    func testSysctlSlashSeparatedKey() throws {
        bundle.setLinux("sysctl", ["kernel/shmmax": "123456"])
        guard let out = runScript("cat /proc/sys/kernel/shmmax") else { return }
        XCTAssertEqual(out.trimmed, "123456")
    }

    /// Refused keys fail before anything runs, with runc's words.
    func testRefusedSysctlsFailWithRuncsError() throws {
        let cases: [(key: String, dropNamespace: String?, error: String)] = [
            ("net.ipv4.ip_forward", "network", "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"),
            ("kernel.shmmax", "ipc", "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"),
            ("fs.mqueue.queues_max", "ipc", "sysctl \"fs.mqueue.queues_max\" is not allowed in the hosts ipc namespace"),
            ("vm.swappiness", nil, "sysctl \"vm.swappiness\" is not in a separate kernel namespace"),
            ("kernel.hostname", nil, "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field"),
            ("kernel.domainname", "uts", "sysctl \"kernel.domainname\" is not in a separate kernel namespace"),
            ("net.ipv4.nope", nil, "open /proc/sys/net/ipv4/nope: no such file or directory"),
        ]
        for c in cases {
            bundle.config = TestBundle.defaultConfig()
            if let ns = c.dropNamespace {
                bundle.removeNamespace(ns)
                if ns == "uts" { bundle.setTop("hostname", nil) }
            }
            bundle.setLinux("sysctl", [c.key: "1"])
            bundle.setArgs(["/bin/true"])
            let r = runtime.run(bundle)
            XCTAssertNotEqual(r.status, 0, "\(c.key) was accepted: \(r)")
            // Log lines quote the message: drop the escaping backslashes before comparing.
            let text = String(r.stderr.filter { $0 != "\\" })
            XCTAssertTrue(text.contains(c.error), "\(c.key): expected «\(c.error)» in \(r)")
        }
    }
}
