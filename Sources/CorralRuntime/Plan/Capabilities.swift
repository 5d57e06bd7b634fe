import CorralSpec
import Glibc

/// Capability names (linux/capability.h) and their numbers.
enum CapabilityNames {
    static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap).
    static var lastCap: Int {
        if let s = Files.readString("/proc/sys/kernel/cap_last_cap"),
           let v = Int(s.filter { !$0.isWhitespace }) { return v }
        return all.count - 1
    }

    /// Bit masks for the config's sets. Unknown names, or names the kernel does not have, are warnings (the spec
    /// says so) and are not granted; `warn` receives the text.
    static func sets(_ caps: Capabilities, lastCap: Int, warn: (String) -> Void) -> CapabilitySets {
        func mask(_ names: [String]?, _ set: String) -> UInt64 {
            var m: UInt64 = 0
            for name in names ?? [] {
                let canonical = name.hasPrefix("CAP_") ? name : "CAP_" + name
                guard let n = all.firstIndex(of: canonical) else {
                    warn("process.capabilities.\(set): unknown capability \"\(name)\" ignored")
                    continue
                }
                guard n <= lastCap else {
                    warn("process.capabilities.\(set): capability \"\(name)\" is not supported by the running kernel, ignored")
                    continue
                }
                m |= 1 << UInt64(n)
            }
            return m
        }
        return CapabilitySets(bounding: mask(caps.bounding, "bounding"), effective: mask(caps.effective, "effective"),
                              inheritable: mask(caps.inheritable, "inheritable"),
                              permitted: mask(caps.permitted, "permitted"), ambient: mask(caps.ambient, "ambient"))
    }
}
