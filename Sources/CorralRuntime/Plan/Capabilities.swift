import CCap
import CorralSpec
import Glibc

/// Capability names and numbers, through libcap (`cap_from_name` / `cap_to_name`), checked against the running
/// kernel's highest capability.
enum CapabilityNames {
    /// The highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap), read once per process:
    /// the planner and the C plan both need it.
    static let lastCap: Int = {
        if let s = Files.readString("/proc/sys/kernel/cap_last_cap"),
           let v = Int(s.cgTrimmed) { return v }
        return Int(CAP_LAST_CAP)
    }()

    /// The number of a capability name ("CAP_NET_ADMIN" or "NET_ADMIN"), nil when libcap does not know it.
    /// libcap also parses bare numbers; a config names capabilities, so those are not accepted.
    static func number(_ name: String) -> Int? {
        let canonical = name.hasBytePrefix("CAP_") ? name : "CAP_" + name
        guard canonical.utf8.dropFirst(4).contains(where: { $0 < UInt8(ascii: "0") || $0 > UInt8(ascii: "9") }) else { return nil }
        var value = cap_value_t()
        guard cap_from_name(canonical.lowercased(), &value) == 0 else { return nil }
        return Int(value)
    }

    /// The name of capability `n` as the spec spells it ("CAP_CHOWN"), or its number when libcap has no name.
    static func name(_ n: Int) -> String {
        guard let p = cap_to_name(cap_value_t(n)) else { return String(n) }
        defer { cap_free(p) }
        let s = String(cString: p)
        return s.hasBytePrefix("cap_") ? s.uppercased() : s
    }

    /// Every capability the running kernel has and libcap can name, in number order ("CAP_CHOWN", ...): exactly the
    /// names `sets` grants, so `corral features` lists these.
    static var known: [String] {
        let last = min(lastCap, 63)
        guard last >= 0 else { return [] }
        return (0...last).map { name($0) }.filter { number($0) != nil }
    }

    /// Bit masks for the config's sets. An unknown name is an error (the spec: the runtime MUST error on it); a
    /// capability the running kernel does not have is a warning and not granted (runc's behaviour); `warn`
    /// receives the text.
    static func sets(_ caps: Capabilities, lastCap: Int, warn: (String) -> Void) throws(RuntimeError) -> CapabilitySets {
        func mask(_ names: [String]?, _ set: String) throws(RuntimeError) -> UInt64 {
            var m: UInt64 = 0
            for (i, name) in (names ?? []).enumerated() {
                guard let n = number(name) else {
                    throw RuntimeError(.config, "process.capabilities.\(set)[\(i)]: unknown capability \"\(name)\"")
                }
                guard n <= lastCap, n < 64 else {
                    warn("process.capabilities.\(set): capability \"\(name)\" is not supported by the running kernel, ignored")
                    continue
                }
                m |= 1 << UInt64(n)
            }
            return m
        }
        return CapabilitySets(bounding: try mask(caps.bounding, "bounding"), effective: try mask(caps.effective, "effective"),
                              inheritable: try mask(caps.inheritable, "inheritable"),
                              permitted: try mask(caps.permitted, "permitted"), ambient: try mask(caps.ambient, "ambient"))
    }
}
