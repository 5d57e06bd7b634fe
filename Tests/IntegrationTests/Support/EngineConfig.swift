// Running a config.json that an engine really wrote (../shared/data/engines/hardened-config.<engine>.pretty.json)
// under runc and under the runtime under test, and returning what each container printed. Shared by
// DockerConfigTests and EngineConfigTests: only the adaptation to this machine differs per engine.
import XCTest
import Glibc
import CorralSpec

/// One engine's hardened config and the comparison run.
struct EngineConfig {
    /// File name under `<shared data>/engines/`, e.g. "hardened-config.podman.pretty.json".
    let file: String
    /// Short name for container ids and cgroup paths ("docker", "podman", "ctr").
    let engine: String

    var path: String { sharedDataDir + "/engines/" + file }

    /// The config as the engine wrote it. Skips (XCTSkip) unless this is an integration environment with runc to
    /// compare with, the runtime under test is not runc itself, and the shared data file exists.
    func load() throws -> JSONValue {
        try requireIntegrationEnvironment()
        guard access(RuncComparisonTests.runcPath, X_OK) == 0 else {
            throw XCTSkip("\(RuncComparisonTests.runcPath) is absent: there is no runc to compare with")
        }
        if RuntimeUnderTest.isRunc { throw XCTSkip("the runtime under test is runc itself: nothing to compare") }
        guard let text = readFile(path) else {
            throw XCTSkip("\(path) is absent (it comes from the project's shared reference data)")
        }
        return try JSONValue.parse(text)
    }

    /// Runs `config` with `sh -c probe` as its process under runc, then under the runtime under test, each in a
    /// fresh busybox bundle (so neither sees what the other created in the rootfs). `adapt` makes the engine's
    /// config runnable here for that bundle (root path, host files). Whatever names the engine's host is
    /// replaced here too: hooks are dropped (they call into the engine's daemon), rlimits are lowered to this
    /// process's hard limits (raising one needs CAP_SYS_RESOURCE, which this VM lacks), and cgroupsPath gets a
    /// test name. Returns the two results, runc's first.
    func runUnderBoth(_ config: JSONValue, probe: String,
                      adapt: (inout JSONValue, TestBundle) throws -> Void) throws -> (runc: ProcResult, subject: ProcResult) {
        let subject = try Runtime()
        let runc = try RuncCLI()
        var bundles: [TestBundle] = []
        defer {
            runc.cleanup()
            subject.cleanup()
            for b in bundles { b.remove() }
        }
        var results: [ProcResult] = []
        for name in ["runc", "subject"] {
            let bundle = try TestBundle()
            bundles.append(bundle)
            var c = config
            c["hooks"] = nil
            EngineConfig.clampRlimits(&c)
            c["process"]?["args"] = .array([.string("sh"), .string("-c"), .string(probe)])
            try adapt(&c, bundle)
            let id = subject.id(engine)
            c["linux"]?["cgroupsPath"] = .string("/corral-it-\(engine)-\(name)-\(id)")
            bundle.config = c
            try bundle.writeConfig()
            let args = ["run", "--bundle", bundle.dir, id]
            if name == "runc" {
                results.append(runc.call(args, timeout: 30))
                runc.forget(id)
            } else {
                results.append(subject.call(args, timeout: 30))
            }
        }
        return (results[0], results[1])
    }

    /// Lowers every rlimit of `config` to this process's hard limit for it (a container cannot raise one).
    static func clampRlimits(_ config: inout JSONValue) {
        guard let list = config["process"]?["rlimits"]?.arrayValue else { return }
        let resources: [String: Int32] = [
            "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
            "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
            "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
        ]
        config["process"]?["rlimits"] = .array(list.map { entry in
            var e = entry
            guard let type = e["type"]?.stringValue, let res = resources[type] else { return e }
            var lim = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(res)), &lim) == 0 else { return e }
            let hard = UInt64(lim.rlim_max)
            for key in ["hard", "soft"] {
                if let v = e[key]?.uint64Value, v > hard { e[key] = JSONValue(hard) }
            }
            return e
        })
    }

    /// Replaces the source of every bind mount whose source starts with one of `hostPrefixes` (the engine's
    /// storage) by a test-made stand-in under the bundle: a directory for `directories`' destinations, else a file
    /// with `contents[destination]` (default empty). Returns how many mounts were replaced.
    @discardableResult
    static func replaceHostBinds(_ config: inout JSONValue, in bundle: TestBundle, hostPrefixes: [String],
                                 directories: Set<String> = [], contents: [String: String] = [:]) throws -> Int {
        var replaced = 0
        var mounts = config["mounts"]?.arrayValue ?? []
        for i in mounts.indices {
            guard let source = mounts[i]["source"]?.stringValue, hostPrefixes.contains(where: { source.hasPrefix($0) }),
                  let dest = mounts[i]["destination"]?.stringValue else { continue }
            let standIn = bundle.dir + "/host" + dest.split(separator: "/").map { "-" + $0 }.joined()
            if directories.contains(dest) {
                try makeDirectories(standIn, mode: 0o1777)
                _ = chmod(standIn, 0o1777)
            } else {
                try writeFile(standIn, contents[dest] ?? "")
            }
            mounts[i]["source"] = .string(standIn)
            replaced += 1
        }
        config["mounts"] = .array(mounts)
        return replaced
    }
}
