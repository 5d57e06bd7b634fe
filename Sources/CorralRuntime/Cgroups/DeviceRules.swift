import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// The device cgroup as runc computes it: the config's ordered allow/deny list followed by runc's default rules,
/// run through runc's emulator of the v1 semantics, which reduces it to a default (allow or deny everything) and
/// a set of exceptions. That result is written to devices.deny/devices.allow on v1 and compiled into the eBPF
/// device program on v2, so both versions enforce the same thing.
///
/// v1 semantics the emulator keeps (and tests rely on): a rule of type "a" — whatever its major/minor/access —
/// resets everything (the kernel reads only the "a"); runc's defaults come last, so a config cannot deny
/// /dev/null, /dev/pts, mknod of any device and so on; denying part of a wildcard exception is an error, because
/// v1 would silently ignore it.
struct DeviceRules: Equatable {
    struct Rule: Hashable {
        var type: Character   // "a", "b", "c"
        var major: Int64      // -1 = wildcard
        var minor: Int64
        var access: UInt8     // bits: m 1, r 2, w 4 (the BPF_DEVCG_ACC_* values)
        var allow: Bool
    }
    struct Node: Hashable, Comparable {
        var type: Character
        var major: Int64
        var minor: Int64
        /// runc's order: major, minor (wildcards first), then type.
        static func < (a: Node, b: Node) -> Bool {
            (a.major, a.minor, String(a.type)) < (b.major, b.minor, String(b.type))
        }
    }

    /// true: everything allowed except `exceptions` (a "blacklist"); false: nothing except them.
    private(set) var defaultAllow = false
    private(set) var exceptions: [Node: UInt8] = [:]
    /// The exceptions in the order the kernel's list keeps them: a new one goes last, more access for one already
    /// there keeps its place (devcgroup's exception list). The spec: "apply entries in the listed order";
    /// runtime-tools reads devices.list back in the config's order.
    private(set) var order: [Node] = []

    static let mknod: UInt8 = 1, read: UInt8 = 2, write: UInt8 = 4, rwm: UInt8 = 7

    /// runc 1.1's AllowedDevices, appended after the config's rules (verified on this host's devices.list).
    static let runcDefaults: [Rule] = [
        Rule(type: "c", major: -1, minor: -1, access: mknod, allow: true),
        Rule(type: "b", major: -1, minor: -1, access: mknod, allow: true),
        Rule(type: "c", major: 1, minor: 3, access: rwm, allow: true),    // /dev/null
        Rule(type: "c", major: 1, minor: 8, access: rwm, allow: true),    // /dev/random
        Rule(type: "c", major: 1, minor: 7, access: rwm, allow: true),    // /dev/full
        Rule(type: "c", major: 5, minor: 0, access: rwm, allow: true),    // /dev/tty
        Rule(type: "c", major: 1, minor: 5, access: rwm, allow: true),    // /dev/zero
        Rule(type: "c", major: 1, minor: 9, access: rwm, allow: true),    // /dev/urandom
        Rule(type: "c", major: 136, minor: -1, access: rwm, allow: true), // /dev/pts/*
        Rule(type: "c", major: 5, minor: 2, access: rwm, allow: true),    // /dev/ptmx
        Rule(type: "c", major: 10, minor: 200, access: rwm, allow: true), // /dev/net/tun
    ]

    /// The config's rules (nil: none, which means deny all but the defaults) plus runc's defaults.
    /// `field` is the JSON path of the list for errors ("linux.resources.devices").
    static func build(_ config: [DeviceCgroup]?, field: String) throws(RuntimeError) -> DeviceRules {
        var emu = DeviceRules()
        for (i, d) in (config ?? []).enumerated() {
            guard let accessText = d.access, !accessText.isEmpty else {
                throw RuntimeError(.config, "\(field)[\(i)].access: must not be empty (runc: device access at \(i) field cannot be empty)")
            }
            var access: UInt8 = 0
            for ch in accessText {
                switch ch {
                case "r": access |= read
                case "w": access |= write
                case "m": access |= mknod
                // Fail closed: a deny rule with a letter the kernel does not know ("rwa") denies everything.
                case _ where !d.allow: access = rwm
                default: throw RuntimeError(.config, "\(field)[\(i)].access: unknown access \(JSONValue.quoted(accessText))")
                }
            }
            let rule = Rule(type: Character(d.type?.rawValue ?? "a"), major: d.major ?? -1, minor: d.minor ?? -1,
                            access: access, allow: d.allow)
            if rule.major < -1 || rule.minor < -1 || rule.major > Int64(UInt32.max) || rule.minor > Int64(UInt32.max) {
                throw RuntimeError(.config, "\(field)[\(i)]: device number out of range (major \(rule.major), minor \(rule.minor))")
            }
            do throws(RuntimeError) { try emu.apply(rule) } catch { throw error.context("\(field)[\(i)]") }
        }
        for r in runcDefaults {
            do throws(RuntimeError) { try emu.apply(r) } catch { throw error.context("\(field) (runc's default rules)") }
        }
        return emu
    }

    /// One rule, as the v1 kernel (and runc's emulator) would apply it.
    mutating func apply(_ rule: Rule) throws(RuntimeError) {
        if rule.type == "a" {
            defaultAllow = rule.allow
            exceptions = [:]
            order = []
            return
        }
        let node = Node(type: rule.type, major: rule.major, minor: rule.minor)
        if rule.allow == defaultAllow {
            try remove(node, rule.access)
        } else {
            if exceptions[node] == nil { order.append(node) }
            exceptions[node, default: 0] |= rule.access
        }
    }

    private mutating func remove(_ node: Node, _ access: UInt8) throws(RuntimeError) {
        // v1 only removes exact matches; taking access away from part of a wildcard exception would be ignored.
        for partial in [Node(type: node.type, major: -1, minor: node.minor), Node(type: node.type, major: node.major, minor: -1),
                        Node(type: node.type, major: -1, minor: -1)] where partial != node {
            if let perms = exceptions[partial], perms & access != 0 {
                throw RuntimeError(.config, "rule \(DeviceRules.text(node, access)) cannot punch a hole in the wildcard rule \(DeviceRules.text(partial, perms)) (cgroup v1 cannot express it)")
            }
        }
        guard let have = exceptions[node] else { return }
        let left = have & ~access
        exceptions[node] = left == 0 ? nil : left
        if left == 0 { order.removeAll { $0 == node } }
    }

    /// Exceptions in runc's order.
    var sortedExceptions: [(Node, UInt8)] { exceptions.keys.sorted().map { ($0, exceptions[$0]!) } }

    /// Exceptions in the order they were applied (`order`).
    var orderedExceptions: [(Node, UInt8)] { order.map { ($0, exceptions[$0]!) } }

    /// "c 1:3 rwm", "b *:* m" (the devices.allow/deny and devices.list spelling).
    static func text(_ n: Node, _ access: UInt8) -> String {
        let maj = n.major < 0 ? "*" : n.major.decimal, min = n.minor < 0 ? "*" : n.minor.decimal
        var a = ""
        if access & read != 0 { a += "r" }
        if access & write != 0 { a += "w" }
        if access & mknod != 0 { a += "m" }
        return "\(n.type) \(maj):\(min) \(a)"
    }

    /// v1: reset to the default with "a", then one line per exception, in the order they were applied.
    var v1Writes: [(file: String, line: String)] {
        var out: [(String, String)] = [(defaultAllow ? "devices.allow" : "devices.deny", "a")]
        let file = defaultAllow ? "devices.deny" : "devices.allow"
        for (n, a) in orderedExceptions { out.append((file, DeviceRules.text(n, a))) }
        return out
    }

    /// v1: what devices.list shows afterwards ("a *:* rwm" for an allow-all default).
    var v1List: [String] {
        defaultAllow ? ["a *:* rwm"] : orderedExceptions.map { DeviceRules.text($0.0, $0.1) }
    }

    func applyV1(_ dir: String, field: String) throws(RuntimeError) {
        for w in v1Writes { try CgroupFS.set(dir, w.file, w.line, field: field) }
    }

    // MARK: v2

    /// The eBPF program (struct bpf_insn records, 8 bytes each).
    func bpfProgram() throws(RuntimeError) -> [UInt64] {
        let rules = sortedExceptions.map { (n, a) in
            corral_dev_rule(type: CChar(UInt8(ascii: n.type.unicodeScalars.first!)), major: n.major, minor: n.minor,
                            access: UInt32(a), allow: defaultAllow ? 0 : 1)
        }
        var insns = [UInt64](repeating: 0, count: 16 + rules.count * 8)
        let n = rules.withUnsafeBufferPointer { r in
            insns.withUnsafeMutableBytes { corral_devices_bpf_gen(r.baseAddress, Int32(r.count), defaultAllow ? 1 : 0, $0.baseAddress, Int32($0.count / 8)) }
        }
        if n < 0 { throw RuntimeError(.system, "building the device program: \(errnoText(-n))") }
        return Array(insns[0..<Int(n)])
    }

    /// Loads the program and attaches it to the cgroup2 directory. The attachment lives as long as the cgroup.
    func applyV2(_ dir: String, field: String) throws(RuntimeError) {
        let prog = try bpfProgram()
        var log = [CChar](repeating: 0, count: 65536)
        let pfd = prog.withUnsafeBytes { p in log.withUnsafeMutableBufferPointer { corral_devices_bpf_load(p.baseAddress, Int32(prog.count), $0.baseAddress, Int32($0.count)) } }
        if pfd < 0 {
            let text = String(cString: log).splitASCII("\n").suffix(3).joined(separator: "; ")
            throw RuntimeError(.system, "\(field): load the cgroup v2 device program (BPF_PROG_TYPE_CGROUP_DEVICE): \(errnoText(-pfd))" + (text.isEmpty ? "" : " (\(text))"))
        }
        defer { close(pfd) }
        let cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if cfd < 0 { throw RuntimeError(.system, "\(field): open \(dir): \(errnoText(errno))") }
        defer { close(cfd) }
        let r = corral_devices_bpf_attach(cfd, pfd)
        if r < 0 { throw RuntimeError(.system, "\(field): attach the device program to \(dir): \(errnoText(-r))") }
    }
}
