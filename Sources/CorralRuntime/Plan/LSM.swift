import CorralSpec
import Glibc

/// AppArmor and SELinux on this host, detected as runc does. A label in the config is applied when the LSM is
/// enabled and refused (naming the field) when it is not: a label that cannot be honoured is never dropped.
enum LSM {
    static var appArmorEnabled: Bool {
        guard Files.exists("/sys/kernel/security/apparmor"),
              let v = Files.readString("/sys/module/apparmor/parameters/enabled") else { return false }
        return v.hasBytePrefix("Y")
    }

    static var seLinuxEnabled: Bool {
        Files.exists("/sys/fs/selinux/enforce")
    }

    /// Fills the plan's LSM fields; `mountLabel` adds `context=` to the filesystems that take one.
    static func plan(_ spec: Spec, _ plan: inout LaunchPlan) throws(RuntimeError) {
        if let profile = spec.process?.apparmorProfile, !profile.isEmpty {
            guard appArmorEnabled else {
                throw RuntimeError(.unsupported, "process.apparmorProfile: apparmor profile \"\(profile)\" specified, but AppArmor is not enabled on this host")
            }
            plan.appArmorExec = "exec " + profile
        }
        if let label = spec.process?.selinuxLabel, !label.isEmpty {
            guard seLinuxEnabled else {
                throw RuntimeError(.unsupported, "process.selinuxLabel: selinux label \"\(label)\" is specified in config, but selinux is disabled or not supported")
            }
            plan.seLinuxExec = label
        }
        if let label = spec.linux?.mountLabel, !label.isEmpty {
            guard seLinuxEnabled else {
                throw RuntimeError(.unsupported, "linux.mountLabel: mount label \"\(label)\" is specified in config, but selinux is disabled or not supported")
            }
            let noContext: Set<String> = ["proc", "sysfs", "cgroup", "cgroup2", "bpf", "securityfs", "debugfs", "tracefs"]
            for i in plan.mounts.indices where plan.mounts[i].kind == .fs && !noContext.contains(plan.mounts[i].fstype ?? "") {
                plan.mounts[i].data.append("context=" + label)
            }
        }
    }
}
