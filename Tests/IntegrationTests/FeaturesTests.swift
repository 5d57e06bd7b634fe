// `features`: the runtime-spec features document. It parses and has the spec's keys in runc's layout, and it is
// truthful: every mount option it lists is accepted by `create` in a real container, every seccomp action,
// operator, architecture and flag it lists works in a profile, and its AppArmor/SELinux/idmap answers are what
// `create` does on this host. runc 1.1.5 passes the layout and acceptance tests; where its document is a
// compile-time list that its own `create` contradicts on this host, the test says so and skips for runc.
import XCTest
import Glibc
import CorralSpec

final class FeaturesTests: IsolationTestCase {
    /// The parsed document (the test fails when `features` does not print one).
    private func features(file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let r = runtime.callRaw(["features"])
        XCTAssertEqual(r.status, 0, "\(r)", file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        return try JSONValue.parse(r.stdout)
    }

    private func strings(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap { $0.stringValue } ?? [] }

    func testDocumentParsesWithTheSpecsKeysInRuncsLayout() throws {
        let r = runtime.callRaw(["features"])
        XCTAssertEqual(r.status, 0, "\(r)")
        // runc: json.MarshalIndent with four spaces, then a newline.
        XCTAssertTrue(r.stdout.hasPrefix("{\n    \"ociVersionMin\": \"1."), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("\n}\n"), r.stdout)
        let doc = try JSONValue.parse(r.stdout)
        let min = try XCTUnwrap(doc["ociVersionMin"]?.stringValue), max = try XCTUnwrap(doc["ociVersionMax"]?.stringValue)
        XCTAssertTrue(min.hasPrefix("1.") && max.hasPrefix("1."), "\(min) \(max)")
        XCTAssertLessThanOrEqual(min, max)
        XCTAssertEqual(strings(doc["hooks"]), ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"])
        let options = strings(doc["mountOptions"])
        for o in ["ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "rro", "rprivate", "nosymfollow", "tmpcopyup"] {
            XCTAssertTrue(options.contains(o), "mountOptions lists \(o): \(options)")
        }
        XCTAssertFalse(options.contains { $0.contains("=") }, "no filesystem data such as size=: \(options)")

        let linux = try XCTUnwrap(doc["linux"])
        let namespaces = Set(strings(linux["namespaces"]))
        XCTAssertTrue(namespaces.isSuperset(of: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]), "\(namespaces)")
        let caps = strings(linux["capabilities"])
        let lastCap = Int((readFile("/proc/sys/kernel/cap_last_cap") ?? "").trimmed) ?? -1
        XCTAssertEqual(caps.count, lastCap + 1, "one name per capability of this kernel: \(caps)")
        XCTAssertEqual(caps.first, "CAP_CHOWN")
        XCTAssertTrue(caps.allSatisfy { $0.hasPrefix("CAP_") }, "\(caps)")
        XCTAssertEqual(linux["cgroup"]?["v1"], true, "this host has v1 hierarchies")
        XCTAssertNotNil(linux["cgroup"]?["v2"]?.boolValue)
        let seccomp = try XCTUnwrap(linux["seccomp"])
        XCTAssertEqual(seccomp["enabled"], true)
        XCTAssertTrue(Set(strings(seccomp["actions"])).isSuperset(of: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"]))
        XCTAssertEqual(Set(strings(seccomp["operators"])), ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                                            "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"])
        XCTAssertTrue(strings(seccomp["archs"]).contains("SCMP_ARCH_X86_64"), "\(seccomp)")
        XCTAssertNotNil(linux["apparmor"]?["enabled"]?.boolValue)
        XCTAssertNotNil(linux["selinux"]?["enabled"]?.boolValue)
        XCTAssertNotNil(doc["annotations"]?["io.github.seccomp.libseccomp.version"]?.stringValue)

        // Keys runc 1.1.5 predates (runtime-spec 1.1/1.2).
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(max, "1.3.0")
            XCTAssertEqual(strings(seccomp["knownFlags"]), ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                                           "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
            XCTAssertTrue(Set(strings(seccomp["supportedFlags"])).isSubset(of: Set(strings(seccomp["knownFlags"]))))
            XCTAssertTrue(namespaces.contains("time"))
            XCTAssertEqual(linux["cgroup"]?["systemd"], true, "the systemd cgroup driver (SystemdCgroups)")
            XCTAssertEqual(linux["cgroup"]?["systemdUser"], false, "no rootless systemd driver")
            XCTAssertEqual(linux["intelRdt"]?["enabled"], false)
            XCTAssertEqual(linux["netDevices"]?["enabled"], true)
            XCTAssertNotNil(linux["mountExtensions"]?["idmap"]?["enabled"]?.boolValue)
            XCTAssertEqual(doc["annotations"]?["corral.version"]?.stringValue?.isEmpty, false)
            XCTAssertEqual(doc["potentiallyUnsafeConfigAnnotations"], [], "io.corral.landlock.* can only restrict a container")
        }
        let extra = runtime.callRaw(["features", "extra"])
        XCTAssertNotEqual(extra.status, 0, "features takes no arguments: \(extra)")
    }

    // MARK: mount options

    /// `opt` on a mount at /mnt: bind options on a bind of a host directory, `remount` on a tmpfs mounted just
    /// before, everything else on a tmpfs.
    private func mountsFor(_ opt: String, hostDir: String) -> [JSONValue] {
        switch opt {
        case "bind", "rbind":
            return [["destination": "/mnt", "type": "bind", "source": .string(hostDir), "options": .array([.string(opt)])]]
        case "remount":
            return [["destination": "/mnt", "type": "tmpfs", "source": "tmpfs"],
                    ["destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro"]]]
        default:
            return [["destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": .array([.string(opt)])]]
        }
    }

    func testEveryListedMountOptionIsAcceptedByCreate() throws {
        let options = strings(try features()["mountOptions"])
        XCTAssertFalse(options.isEmpty)
        let hostDir = try makeHostDir("opt")
        let base = bundle.config["mounts"]?.arrayValue ?? []
        bundle.setShell("sleep 30")
        var refused: [String] = []
        // idmap and ridmap need a user namespace of the container's own: IDMappedMountTests and the idmap case of
        // testLSMAndIdmapAnswersMatchWhatCreateDoes create with them.
        for opt in options where opt != "idmap" && opt != "ridmap" {
            bundle.config["mounts"] = .array(base + mountsFor(opt, hostDir: hostDir))
            let id = runtime.id("opt")
            let r = runtime.create(bundle, id: id)
            if r.status != 0 || runtime.status(id) != "created" { refused.append(opt) }
            runtime("delete", "--force", id)
        }
        // runc 1.1.5 lists "defaults" but passes it to mount(2) as filesystem data, which tmpfs refuses.
        XCTAssertEqual(refused, RuntimeUnderTest.isRunc ? ["defaults"] : [], "listed mount options that create refused")
    }

    /// What corral refuses is not listed, and create refuses it naming the option.
    func testUnlistedMountOptionsAreRefusedByCreate() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("corral's own refusals (runc 1.1.5 passes these to mount(2))") }
        let options = strings(try features()["mountOptions"])
        let base = bundle.config["mounts"]?.arrayValue ?? []
        for opt in ["iversion", "acl"] {
            XCTAssertFalse(options.contains(opt), "\(opt) is not listed")
            bundle.config["mounts"] = .array(base + mountsFor(opt, hostDir: "/"))
            let r = runtime.create(bundle, id: runtime.id("noopt"))
            XCTAssertEqual(r.status, 1, "\(opt): \(r)")
            XCTAssertTrue(r.stderr.contains(opt), "the error names \(opt): \(r.stderr)")
        }
    }

    // MARK: seccomp

    /// Runs `echo ok` with `seccomp` as linux.seccomp; returns "" when it worked, else what went wrong.
    private func runWithSeccomp(_ seccomp: JSONValue, _ what: String) -> String {
        bundle.setLinux("seccomp", seccomp)
        bundle.setArgs(["/bin/echo", "ok"])
        let r = runtime.run(bundle)
        return r.status == 0 && r.stdout == "ok\n" ? "" : "\(what): \(r.status) \(r.stderr.trimmed)"
    }

    func testEveryListedSeccompActionAndOperatorWorksInAProfile() throws {
        let seccomp = try XCTUnwrap(try features()["linux"]?["seccomp"])
        var failures: [String] = []
        // Each action on a syscall the container does not make (acct), ERRNO also as the default action's errno.
        for action in strings(seccomp["actions"]) where action != "SCMP_ACT_NOTIFY" {
            failures.append(runWithSeccomp(["defaultAction": "SCMP_ACT_ALLOW",
                                            "syscalls": [["names": ["acct"], "action": .string(action)]]], action))
        }
        failures.append(runWithSeccomp(["defaultAction": "SCMP_ACT_ALLOW",
                                        "syscalls": [["names": ["acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38]]], "errnoRet"))
        for op in strings(seccomp["operators"]) {
            let arg: JSONValue = ["index": 0, "value": 1, "valueTwo": 1, "op": .string(op)]
            failures.append(runWithSeccomp(["defaultAction": "SCMP_ACT_ALLOW",
                                            "syscalls": [["names": ["acct"], "action": "SCMP_ACT_ERRNO", "args": [arg]]]], op))
        }
        XCTAssertEqual(failures.filter { !$0.isEmpty }, [], "listed seccomp actions/operators that did not work")
        // The filter really is loaded and answers: ERRNO with errnoRet on a syscall the shell makes.
        bundle.setLinux("seccomp", ["defaultAction": "SCMP_ACT_ALLOW",
                                    "syscalls": [["names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38]]])
        guard let out = runScript("hostname x 2>&1; echo rc=$?") else { return }
        XCTAssertTrue(out.contains("Function not implemented"), "ENOSYS (38) from the filter: \(out)")
    }

    func testListedNotifyActionAndFlagsWork() throws {
        let seccomp = try XCTUnwrap(try features()["linux"]?["seccomp"])
        let flags = strings(seccomp["supportedFlags"])
        var failures: [String] = []
        for flag in flags where flag != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" {
            failures.append(runWithSeccomp(["defaultAction": "SCMP_ACT_ALLOW", "flags": [.string(flag)],
                                            "syscalls": [["names": ["acct"], "action": "SCMP_ACT_ERRNO"]]], flag))
        }
        XCTAssertEqual(failures.filter { !$0.isEmpty }, [], "listed seccomp flags that did not work")
        guard strings(seccomp["actions"]).contains("SCMP_ACT_NOTIFY") else { return }
        // NOTIFY (with WAIT_KILLABLE_RECV when listed, which needs a listener): the agent gets the listener fd.
        let sockDir = try makeHostDir("feat-notify")
        let agent = try ConsoleSocket(path: sockDir + "/agent.sock")
        defer { agent.close() }
        var profile: JSONValue = ["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": .string(agent.path),
                                  "syscalls": [["names": ["acct"], "action": "SCMP_ACT_NOTIFY"]]]
        if flags.contains("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
            profile["flags"] = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
        }
        bundle.setLinux("seccomp", profile)
        bundle.setShell("sleep 30")
        let id = runtime.id("notify")
        let c = runtime.create(bundle, id: id)
        XCTAssertEqual(c.status, 0, "\(c)")
        guard c.status == 0 else { return }
        let got = try agent.receive()
        XCTAssertEqual(got.fds.count, 1, "the listener fd arrives")
        for fd in got.fds { close(fd) }
    }

    func testEveryListedSeccompArchitectureCompiles() throws {
        guard RuntimeUnderTest.isCorral else {
            throw XCTSkip("runc 1.1.5 lists every architecture its libseccomp names, including big-endian ones that " +
                          "cannot join an x86_64 filter (its create fails with EDOM) and ones its Go bindings reject")
        }
        let archs = strings(try features()["linux"]?["seccomp"]?["archs"])
        XCTAssertTrue(archs.contains("SCMP_ARCH_X86") && archs.contains("SCMP_ARCH_X32"), "\(archs)")
        XCTAssertFalse(archs.contains("SCMP_ARCH_S390X"), "a big-endian architecture cannot join this machine's filter")
        var failures: [String] = []
        for arch in archs {
            failures.append(runWithSeccomp(["defaultAction": "SCMP_ACT_ALLOW", "architectures": [.string(arch)],
                                            "syscalls": [["names": ["acct"], "action": "SCMP_ACT_ERRNO"]]], arch))
        }
        XCTAssertEqual(failures.filter { !$0.isEmpty }, [], "listed architectures that did not compile")
    }

    // MARK: LSMs, idmap, hooks

    func testLSMAndIdmapAnswersMatchWhatCreateDoes() throws {
        guard RuntimeUnderTest.isCorral else {
            throw XCTSkip("runc reports what it was compiled with (features.md: irrelevant to the host); corral reports " +
                          "what create does on this host")
        }
        let linux = try XCTUnwrap(try features()["linux"])
        bundle.setShell("true")
        let cases: [(String, Bool?, (TestBundle) -> Void)] = [
            ("apparmor", linux["apparmor"]?["enabled"]?.boolValue, { $0.setProcess("apparmorProfile", "unconfined") }),
            ("selinux", linux["selinux"]?["enabled"]?.boolValue,
             { $0.setProcess("selinuxLabel", "system_u:system_r:container_t:s0") }),
            ("idmap", linux["mountExtensions"]?["idmap"]?["enabled"]?.boolValue, { b in
                b.addNamespace("user")
                let map: JSONValue = [["containerID": 0, "hostID": 100000, "size": 65536]]
                b.setLinux("uidMappings", map)
                b.setLinux("gidMappings", map)
                b.addMount(destination: "/tmp", type: "bind", source: "/tmp", options: ["rbind", "idmap"])
                var mounts = b.config["mounts"]?.arrayValue ?? []
                mounts[mounts.count - 1]["uidMappings"] = map
                mounts[mounts.count - 1]["gidMappings"] = map
                b.config["mounts"] = .array(mounts)
            }),
        ]
        for (name, enabled, configure) in cases {
            let enabled = try XCTUnwrap(enabled, "\(name).enabled is a boolean")
            let b = try makeExtraBundle()
            b.setShell("true")
            configure(b)
            let r = runtime.run(b)
            XCTAssertEqual(r.status == 0, enabled, "\(name): features says enabled=\(enabled), create: \(r)")
            if !enabled { XCTAssertTrue(r.stderr.lowercased().contains(name == "idmap" ? "idmap" : name), "\(name): \(r.stderr)") }
        }
    }

    /// linux.memoryPolicy: every listed mode (with a host node where the mode needs one) and every listed flag (with
    /// MPOL_BIND) runs a container; nothing is listed on a host without NUMA support.
    func testListedMemoryPolicyModesAndFlagsWork() throws {
        let mpol = try features()["linux"]?["memoryPolicy"]
        guard RuntimeUnderTest.isCorral else {
            // runc 1.1.5 predates linux.memoryPolicy (runtime-spec 1.3) and lists nothing for it.
            XCTAssertNil(mpol, "runc 1.1.5 has no memoryPolicy entry")
            throw XCTSkip("runc 1.1.5 predates linux.memoryPolicy (runtime-spec 1.3): nothing listed, nothing to run")
        }
        let modes = strings(mpol?["modes"]), flags = strings(mpol?["flags"])
        guard let node = (readFile("/sys/devices/system/node/online") ?? "").trimmed.split(separator: ",").first
            .flatMap({ $0.split(separator: "-").first }).map(String.init) else {
            XCTAssertEqual(modes + flags, [], "no NUMA support here: nothing may be listed")
            return
        }
        XCTAssertFalse(modes.isEmpty, "a NUMA host lists its modes")
        var policies: [JSONValue] = modes.map { m in
            m == "MPOL_DEFAULT" || m == "MPOL_LOCAL" ? ["mode": .string(m)] : ["mode": .string(m), "nodes": .string(node)]
        }
        policies += flags.map { f in ["mode": "MPOL_BIND", "nodes": .string(node), "flags": [.string(f)]] }
        for policy in policies {
            bundle.setLinux("memoryPolicy", policy)
            bundle.setShell("true")
            let r = runtime.run(bundle)
            XCTAssertEqual(r.status, 0, "listed, so create takes it: \(policy.serialized()): \(r)")
        }
    }

    func testListedHooksAreAcceptedByCreate() throws {
        let hooks = strings(try features()["hooks"])
        var config: JSONValue = [:]
        for h in hooks { config[h] = [["path": "/bin/true"]] }
        bundle.setTop("hooks", config)
        bundle.setShell("sleep 30")
        let r = runtime.create(bundle, id: runtime.id("hooks"))
        if RuntimeUnderTest.isCorral && r.stderr.contains("hooks: not supported by this version of corral") {
            throw XCTSkip("hooks land with the hooks branch; until then create refuses them: \(r.stderr.trimmed)")
        }
        XCTAssertEqual(r.status, 0, "every listed hook kind is accepted: \(r)")
    }

    // MARK: Landlock

    func testLandlockABIIsTheKernels() throws {
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 gives Landlock no meaning and reports none") }
        let probe = runCommand([try EscapeProbes.landlockProbe(), "abi"])
        let kernel = Int(probe.stdout.trimmed.split(separator: " ").last ?? "") ?? 0
        let doc = try features()
        XCTAssertEqual(doc["linux"]?["landlock"]?["abi"]?.int64Value, Int64(kernel), "\(probe)")
        XCTAssertEqual(doc["linux"]?["landlock"]?["enabled"]?.boolValue, kernel > 0)
        XCTAssertEqual(doc["annotations"]?["io.corral.landlock.abi"]?.stringValue, String(kernel))
        // What features reports is what create gets: enforce needs ABI 5 for the filesystem rules.
        bundle.setTop("annotations", ["io.corral.landlock.fs.ro": "/bin"])
        bundle.setShell("true")
        let r = runtime.run(bundle)
        if kernel >= 5 {
            XCTAssertEqual(r.status, 0, "\(r)")
        } else {
            XCTAssertTrue(r.stderr.contains("needs Landlock ABI 5"), "\(r)")
        }
    }
}
