import CorralSpec
import Glibc

/// The runtime-spec features document (features.md, features-linux.md) that `corral features` prints, as runc 1.1+
/// does (containerd's `containerd-shim-runc-v2 -info` runs it; CRI derives user-namespace and recursive read-only
/// mount support from it).
///
/// Truthful for this build on this host: every list is derived from the table the planner itself validates
/// against (mount options, namespaces, capability names, seccomp actions/operators/architectures/flags), filtered
/// by the same kernel and libseccomp checks `create` makes, so nothing listed is refused by `create`. The spec
/// says features are a compile-time matter; corral goes further where `create` depends on the host: seccomp
/// actions and flags the kernel lacks, and AppArmor/SELinux, whose labels `create` refuses when the host has the
/// LSM disabled, are reported as unsupported here.
enum Features {
    /// The lowest `ociVersion` a config may declare (`Spec.isSupportedVersion`); the highest is `Version.spec`.
    static let ociVersionMin = "1.0.0"

    /// The six hook kinds of config.md.
    static let hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]

    static func document() -> JSONValue {
        var doc = JSONObject()
        doc["ociVersionMin"] = JSONValue(ociVersionMin)
        doc["ociVersionMax"] = JSONValue(Version.spec)
        doc["hooks"] = JSONValue(hooks)
        doc["mountOptions"] = JSONValue(MountOptions.recognized)
        doc["linux"] = .object(linux())
        var annotations = JSONObject()
        // Keys sorted, as Go marshals runc's map; the libseccomp key is runc's.
        annotations["corral.version"] = JSONValue(Version.corral)
        annotations["io.corral.landlock.abi"] = JSONValue(String(LandlockPlanner.Host.live.abi))
        annotations["io.github.seccomp.libseccomp.version"] = JSONValue(SeccompCompiler.libseccompVersion)
        doc["annotations"] = .object(annotations)
        // The only config annotations corral gives a meaning, io.corral.landlock.*, can only restrict a container.
        doc["potentiallyUnsafeConfigAnnotations"] = .array([])
        return .object(doc)
    }

    static func linux() -> JSONObject {
        var l = JSONObject()
        l["namespaces"] = JSONValue(Planner.namespaceFlags.keys.map { $0.rawValue }.sorted())
        l["capabilities"] = JSONValue(CapabilityNames.known)
        // Both cgroup versions and hybrid hosts (CgroupHost); the rdma controller (CgroupLimits); the systemd
        // driver for root (SystemdCgroups), not for a user's systemd instance (rootless).
        l["cgroup"] = ["v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true]
        var seccomp = JSONObject()
        seccomp["enabled"] = true
        seccomp["actions"] = JSONValue(SeccompAction.allCases.filter { SeccompKernel.supports(action: $0) }
            .map { $0.rawValue }.sorted())
        seccomp["operators"] = JSONValue(SeccompOperator.allCases.map { $0.rawValue }.sorted())
        seccomp["archs"] = JSONValue(SeccompArch.allCases
            .filter { SeccompCompiler.supports(arch: SeccompProfile.archName($0)) }.map { $0.rawValue }.sorted())
        seccomp["knownFlags"] = JSONValue(SeccompFlag.allCases.map { $0.rawValue })
        seccomp["supportedFlags"] = JSONValue(SeccompFlag.allCases
            .filter { SeccompKernel.supports(flag: SeccompProfile.flagBit($0)) }.map { $0.rawValue })
        l["seccomp"] = .object(seccomp)
        l["apparmor"] = ["enabled": JSONValue(LSM.appArmorEnabled)]
        l["selinux"] = ["enabled": JSONValue(LSM.seLinuxEnabled)]
        // linux.intelRdt is refused by the planner (Planner.planUnsupported).
        l["intelRdt"] = ["enabled": false]
        // The modes and flags this kernel takes (MemoryPolicyPlanner probes them as `create` does); empty lists on
        // a host without NUMA support, where `create` refuses linux.memoryPolicy. The spec has no features entry
        // for process.scheduler, ioPriority, execCPUAffinity or linux.personality.
        let mpol = MemoryPolicyPlanner.supported()
        l["memoryPolicy"] = ["modes": JSONValue(mpol.modes), "flags": JSONValue(mpol.flags)]
        l["mountExtensions"] = ["idmap": ["enabled": JSONValue(MountPlanner.idmapMounts)]]
        l["netDevices"] = ["enabled": true]
        // Not a spec key: the Landlock ABI the io.corral.landlock.* annotations get on this kernel (0: none), the
        // same probe `create` makes.
        let abi = LandlockPlanner.Host.live.abi
        l["landlock"] = ["enabled": JSONValue(abi > 0), "abi": JSONValue(abi)]
        return l
    }
}

extension Commands {
    static let features = Verb(name: "features", usage: "", summary: "show the enabled features", options: [],
                               arity: 0...0) { _, _ throws(RuntimeError) in
        // runc's layout: json.MarshalIndent with four spaces, then a newline.
        printOut(Features.document().serialized(indent: "    ") + "\n")
        return 0
    }
}
