import CorralSpec

/// One unit property as StartTransientUnit and SetUnitProperties take it (an `(sv)` pair).
struct SystemdProperty: Equatable, CustomStringConvertible {
    var name: String
    var value: DBusValue

    init(_ name: String, _ value: DBusValue) { self.name = name; self.value = value }

    var dbus: DBusValue { .structure([.string(name), .variant(value)]) }

    static func list(_ props: [SystemdProperty]) -> DBusValue { .array(element: "(sv)", props.map(\.dbus)) }

    /// "MemoryMax=67108864", "PIDs=[42]", for error texts and debug logs.
    var description: String { name + "=" + SystemdProperty.text(value) }

    static func text(_ v: DBusValue) -> String {
        switch v {
        case .string(let s), .objectPath(let s), .signature(let s): JSONValue.quoted(s)
        case .bool(let b): b ? "true" : "false"
        case .byte(let x): String(x)
        case .uint32(let x): String(x)
        case .uint64(let x): x == UInt64.max ? "infinity" : String(x)
        case .int32(let x): String(x)
        case .int64(let x): String(x)
        case .array(_, let items): "[" + items.map(text).joined(separator: " ") + "]"
        case .structure(let f): "(" + f.map(text).joined(separator: " ") + ")"
        case .variant(let inner): text(inner)
        default: v.signature
        }
    }
}

/// runc's translation of a container's cgroup settings into systemd unit properties (libcontainer/cgroups/systemd:
/// Apply, genV1/genV2ResourcesProperties, generateDeviceProperties, addCpuQuota, RangeToBits), so `systemctl show`
/// agrees with the cgroup files and systemd re-applies the same values when it re-realises the unit. What systemd
/// has no property for is written to the files only (CgroupWriter runs after, as runc's fs drivers do).
enum SystemdProperties {
    /// Facts the mapping may need, asked only when a property depends on them.
    struct Host {
        /// systemd's major version (runc's systemdVersion; -1 when unknown).
        var version: () -> Int
        /// The text of /proc/devices (device group names for "char-<name>" rules).
        var procDevices: () -> String
        /// cgroup v2 mode (MemoryMax, IOAccounting, ...) rather than systemd's legacy v1 properties.
        var unified: Bool
    }

    /// Values in force, for an update that names only half of a pair (memory.swap without memory.limit, a cpu
    /// quota without its period): the same halves CgroupWriter keeps.
    struct Current {
        var memoryLimit: Int64?
        var cpuQuota: Int64?
        var cpuPeriod: UInt64?
    }

    /// The unit's own properties, runc's order: Description, Slice= and Delegate (a scope) or Wants= (a slice),
    /// PIDs (a scope with a process), accounting for every controller, no default dependencies.
    static func unit(_ u: SystemdUnit, pid: Int32?, unified: Bool) -> [SystemdProperty] {
        var p = [SystemdProperty("Description", .string(u.description))]
        if u.isSlice {
            p.append(SystemdProperty("Wants", .array(element: "s", [.string(u.parent)])))
        } else {
            p.append(SystemdProperty("Slice", .string(u.parent)))
            p.append(SystemdProperty("Delegate", .bool(true)))
            // A slice holds no processes of its own in systemd's eyes (it refuses PIDs=): the init is written to
            // its cgroup.procs instead.
            if let pid { p.append(SystemdProperty("PIDs", .array(element: "u", [.uint32(UInt32(bitPattern: pid))]))) }
        }
        p.append(SystemdProperty("MemoryAccounting", .bool(true)))
        p.append(SystemdProperty("CPUAccounting", .bool(true)))
        p.append(SystemdProperty(unified ? "IOAccounting" : "BlockIOAccounting", .bool(true)))
        p.append(SystemdProperty("TasksAccounting", .bool(true)))
        p.append(SystemdProperty("DefaultDependencies", .bool(false)))
        return p
    }

    /// The resource properties for `l` (create: with devices; update: `current` fills in what `l` leaves out).
    /// `note` gets debug-level remarks (properties left to the files).
    static func resources(_ l: CgroupLimits, host: Host, current: Current? = nil,
                          note: (String) -> Void = { _ in }) throws(RuntimeError) -> [SystemdProperty] {
        var p: [SystemdProperty] = []
        if let d = l.devices {
            let (props, remark) = devices(d.value, procDevices: host.procDevices())
            p += props
            if let remark { note(remark) }
        }
        func u64(_ v: Int64) -> UInt64 { v < 0 ? UInt64.max : UInt64(v) }
        if host.unified {
            if let m = l.memoryLimit { p.append(SystemdProperty("MemoryMax", .uint64(u64(m.value)))) }
            if let r = l.memoryReservation { p.append(SystemdProperty("MemoryLow", .uint64(u64(r.value)))) }
            var limit = l.memoryLimit
            if current != nil, limit == nil, let sw = l.memorySwap, sw.value > 0, let cur = current?.memoryLimit {
                limit = CgroupLimits.V(value: cur, field: sw.field)
            }
            // runc leaves out a swap of 0 (swap equal to the limit); it is sent here so systemd's idea matches
            // memory.swap.max (0), and a later re-realisation does not hand the container swap again.
            if let swap = try CgroupLimits.swapV2(swap: l.memorySwap, limit: limit) {
                p.append(SystemdProperty("MemorySwapMax", .uint64(swap == "max" ? UInt64.max : UInt64(swap) ?? 0)))
            }
            if let s = l.cpuShares { p.append(SystemdProperty("CPUWeight", .uint64(CgroupWriter.cpuWeight(shares: s.value)))) }
        } else {
            if let m = l.memoryLimit { p.append(SystemdProperty("MemoryLimit", .uint64(u64(m.value)))) }
            if let s = l.cpuShares { p.append(SystemdProperty("CPUShares", .uint64(s.value))) }
        }
        if l.cpuQuota != nil || l.cpuPeriod != nil {
            var quota = l.cpuQuota?.value ?? 0, period = l.cpuPeriod?.value ?? 0
            if let current {
                if l.cpuQuota == nil { quota = current.cpuQuota ?? 0 }
                if l.cpuPeriod == nil { period = current.cpuPeriod ?? 0 }
            }
            p += cpuQuota(quota: quota, period: period, version: host.version)
        }
        if !host.unified, let w = l.blkioWeight { p.append(SystemdProperty("BlockIOWeight", .uint64(UInt64(w.value)))) }
        if let t = l.pidsLimit { p.append(SystemdProperty("TasksMax", .uint64(u64(t.value)))) }
        if l.cpusetCPUs != nil || l.cpusetMems != nil {
            if host.version() >= 244 {
                if let c = l.cpusetCPUs, let list = try CPUList.parse(c.value, field: c.field) {
                    p.append(SystemdProperty("AllowedCPUs", bits(list)))
                }
                if let m = l.cpusetMems, let list = try CPUList.parse(m.value, field: m.field) {
                    p.append(SystemdProperty("AllowedMemoryNodes", bits(list)))
                }
            } else {
                note("systemd v\(host.version()) is too old to support AllowedCPUs/AllowedMemoryNodes (settings will still be applied to cgroupfs)")
            }
        }
        if host.unified, let w = l.blkioWeight { p.append(SystemdProperty("IOWeight", .uint64(CgroupWriter.ioWeight(blkio: w.value)))) }
        if host.unified { p += try unified(l.unified, version: host.version, note: note) }
        return p
    }

    /// runc's addCpuQuota: CPUQuotaPeriodUSec (systemd ≥ 242) and CPUQuotaPerSecUSec, the quota per second of
    /// CPU rounded up to whole percents (systemd keeps percents), infinity for no quota.
    static func cpuQuota(quota: Int64, period: UInt64, version: () -> Int) -> [SystemdProperty] {
        var p: [SystemdProperty] = []
        var period = period
        if period != 0 && version() >= 242 { p.append(SystemdProperty("CPUQuotaPeriodUSec", .uint64(period))) }
        if quota != 0 || period != 0 {
            var perSec = UInt64.max
            if quota > 0 {
                if period == 0 { period = 100_000 }
                let (scaled, overflow) = UInt64(quota).multipliedReportingOverflow(by: 1_000_000)
                perSec = overflow ? UInt64.max : scaled / period
                if perSec != UInt64.max && perSec % 10_000 != 0 { perSec = (perSec / 10_000 + 1) * 10_000 }
            }
            p.append(SystemdProperty("CPUQuotaPerSecUSec", .uint64(perSec)))
        }
        return p
    }

    /// AllowedCPUs / AllowedMemoryNodes: a byte array, bit n of byte n/8 for member n (runc's RangeToBits after
    /// its byte-order fix: systemd reads the lowest CPUs from the first byte).
    static func bits(_ list: CPUList) -> DBusValue {
        var bytes = [UInt8](repeating: 0, count: ((list.max ?? 0) / 8) + 1)
        for id in list.ids { bytes[id / 8] |= 1 << UInt8(id % 8) }
        return .array(element: "y", bytes.map { .byte($0) })
    }

    /// runc's unifiedResToSystemdProps: the `unified` keys systemd has a property for (the rest go to the files).
    static func unified(_ entries: [CgroupLimits.V<(key: String, value: String)>], version: () -> Int,
                        note: (String) -> Void) throws(RuntimeError) -> [SystemdProperty] {
        var p: [SystemdProperty] = []
        for e in entries {
            let key = e.value.key, v = e.value.value.cgTrimmed
            func bad() -> RuntimeError {
                RuntimeError(.config, "\(e.field): unified resource \(JSONValue.quoted(key)) value conversion error: invalid value \(JSONValue.quoted(v))")
            }
            func number(_ s: String) throws(RuntimeError) -> UInt64 {
                if s == "max" { return UInt64.max }
                guard let n = UInt64(s) else { throw bad() }
                return n
            }
            switch key {
            case "cpu.max":
                let f = v.splitASCII(" ").map(String.init)
                guard f.count == 1 || f.count == 2 else {
                    throw RuntimeError(.config, "\(e.field): unified resource \(JSONValue.quoted(key)) value invalid: \(JSONValue.quoted(v))")
                }
                var quota: Int64 = 0, period: UInt64 = 100_000
                if f[0] != "max" { guard let q = Int64(f[0]) else { throw bad() }; quota = q }
                if f.count == 2 { guard let pe = UInt64(f[1]) else { throw bad() }; period = pe }
                p += cpuQuota(quota: quota, period: period, version: version)
            case "cpu.weight":
                guard let n = UInt64(v) else { throw bad() }
                p.append(SystemdProperty("CPUWeight", .uint64(n)))
            case "cpuset.cpus", "cpuset.mems":
                guard let list = try CPUList.parse(v, field: e.field) else { throw bad() }
                let name = key == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes"
                if version() >= 244 { p.append(SystemdProperty(name, bits(list))) } else {
                    note("systemd v\(version()) is too old to support \(name) (setting will still be applied to cgroupfs)")
                }
            case "memory.high", "memory.low", "memory.min", "memory.max", "memory.swap.max":
                let names = ["memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin",
                             "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax"]
                p.append(SystemdProperty(names[key]!, .uint64(try number(v))))
            case "pids.max":
                p.append(SystemdProperty("TasksMax", .uint64(try number(v))))
            default:
                note("don't know how to convert unified resource \(JSONValue.quoted(key))=\(JSONValue.quoted(v)) to systemd unit property; skipping (will still be applied to cgroupfs)")
            }
        }
        return p
    }

    // MARK: devices

    /// DevicePolicy/DeviceAllow for the device rules, as runc spells them ("char-*", "char-pts", "/dev/char/1:3"),
    /// so systemd's own device program (which it attaches next to corral's; the kernel allows an access only when
    /// every program does) allows exactly what corral's allows. Where systemd cannot say the same thing — a deny
    /// list, a rule for one minor of every major — it is told nothing (DevicePolicy=auto, no DeviceAllow: no
    /// program of its own) and corral's program enforces the rules alone. runc instead leaves such rules out of
    /// a strict list, which makes systemd deny what the config allows; and it drops a /dev/char/M:m entry whose
    /// node is missing (/dev/net/tun before the tun module is loaded), although systemd reads the numbers from
    /// such a path without looking for the node.
    static func devices(_ rules: DeviceRules, procDevices: String) -> (properties: [SystemdProperty], note: String?) {
        let auto = [SystemdProperty("DevicePolicy", .string("auto")), SystemdProperty("DeviceAllow", .array(element: "(ss)", []))]
        if rules.defaultAllow {
            if rules.sortedExceptions.isEmpty { return (auto, nil) }
            return (auto, "systemd cannot express a device deny list: DevicePolicy=auto, corral's device program enforces the rules")
        }
        var allow: [DBusValue] = []
        for (node, access) in rules.sortedExceptions {
            let type = node.type == "b" ? "block" : "char"
            let path: String
            if node.major < 0 && node.minor < 0 {
                path = type + "-*"
            } else if node.major < 0 {
                return (auto, "systemd cannot express the device rule \(DeviceRules.text(node, access)): DevicePolicy=auto, corral's device program enforces the rules")
            } else if node.minor < 0 {
                // The group name from /proc/devices (runc's findDeviceGroup); systemd also takes a bare major.
                path = type + "-" + (deviceGroup(type: node.type, major: node.major, procDevices: procDevices) ?? node.major.decimal)
            } else {
                path = "/dev/\(type)/\(node.major):\(node.minor)"
            }
            var perms = ""
            if access & DeviceRules.read != 0 { perms += "r" }
            if access & DeviceRules.write != 0 { perms += "w" }
            if access & DeviceRules.mknod != 0 { perms += "m" }
            allow.append(.structure([.string(path), .string(perms)]))
        }
        return ([SystemdProperty("DevicePolicy", .string("strict")),
                 // Empty the list before filling it (the unit may have one from before).
                 SystemdProperty("DeviceAllow", .array(element: "(ss)", [])),
                 SystemdProperty("DeviceAllow", .array(element: "(ss)", allow))], nil)
    }

    /// The /proc/devices name of a major ("pts" for c 136), nil when none is listed. Names that are paths
    /// ("/dev/tty" for c 5) are passed over: systemd matches the name as a pattern, and a bare major says it plainly.
    static func deviceGroup(type: Character, major: Int64, procDevices: String) -> String? {
        var current: Character = " "
        for raw in procDevices.splitASCII("\n") {
            let line = raw.cgTrimmed
            if line == "Character devices:" { current = "c"; continue }
            if line == "Block devices:" { current = "b"; continue }
            guard current == type else { continue }
            let f = line.splitASCII(" ")
            if f.count >= 2, Int64(f[0]) == major, !f[1].contains("/") { return String(f[1]) }
        }
        return nil
    }

    /// runc's systemdVersionAtoi: the first number in "252.39-1~deb12u2", "v245.4-1.fc32", "245".
    static func version(_ text: String) -> Int? {
        var digits: [UInt8] = []
        for c in text.utf8 {
            if c >= 0x30 && c <= 0x39 { digits.append(c) } else if !digits.isEmpty { break }
        }
        return digits.isEmpty || digits.count > 9 ? nil : Int(String(decoding: digits, as: UTF8.self))
    }
}

extension SystemdProperties {
    static let annotationPrefix = "org.systemd.property."

    /// runc's initSystemdProps: each `org.systemd.property.<Name>` annotation is a unit property whose value is in
    /// GVariant text form ("uint64 123456789", "'inactive-or-failed'", "true"); a name ending in a lowercase letter
    /// and "Sec" is given in seconds and sent as <Name>USec in microseconds. Only --systemd-cgroup reads them.
    /// Texts are runc's; the values understood are the scalar ones (typed or bare numbers, booleans, quoted
    /// strings) and arrays of strings, which is what systemd's unit properties take.
    static func fromAnnotations(_ annotations: [String: String]) throws(RuntimeError) -> [SystemdProperty] {
        var out: [SystemdProperty] = []
        for key in annotations.keys.sorted() where key.hasBytePrefix(annotationPrefix) {
            let text = annotations[key]!
            var name = String(Substring(key.utf8.dropFirst(annotationPrefix.utf8.count)))
            func fail(_ why: String) -> RuntimeError {
                RuntimeError(.config, "annotations[\(JSONValue.quoted(key))]: annotation \(key)=\(text) value parse error: \(why)")
            }
            if name.utf8.count < 3 || !name.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }) {
                let why = name.utf8.count < 3 ? "too short" : "contains non-alphabetic character"
                throw RuntimeError(.config, "annotations[\(JSONValue.quoted(key))]: annotation \(key) name incorrect: \(why)")
            }
            guard var value = GVariantText.parse(text) else { throw fail("unsupported or malformed value") }
            let u = Array(name.utf8)
            if u.count > 3, name.hasByteSuffix("Sec"), u[u.count - 4] >= 0x61, u[u.count - 4] <= 0x7a {
                name = String(Substring(name.utf8.dropLast(3))) + "USec"
                let seconds: UInt64
                switch value {
                case .byte(let v): seconds = UInt64(v)
                case .int16(let v): seconds = UInt64(bitPattern: Int64(v))
                case .uint16(let v): seconds = UInt64(v)
                case .int32(let v): seconds = UInt64(bitPattern: Int64(v))
                case .uint32(let v): seconds = UInt64(v)
                case .int64(let v): seconds = UInt64(bitPattern: v)
                case .uint64(let v): seconds = v
                case .double(let bits):
                    let d = Double(bitPattern: bits) * 1_000_000
                    guard d >= 0, d < 1.8e19 else { throw fail("not a number") }
                    value = .uint64(UInt64(d))
                    out.append(SystemdProperty(name, value))
                    continue
                default: throw fail("not a number")
                }
                value = .uint64(seconds &* 1_000_000)
            }
            out.append(SystemdProperty(name, value))
        }
        return out
    }
}

/// The part of GLib's GVariant text format that systemd unit properties need: `true`/`false`, numbers (bare:
/// int32, or typed: "uint64 5", "@t 5", "byte 0x10"), strings in single or double quotes, arrays of strings
/// ("['a', 'b']", "@as []"). Anything else is nil.
enum GVariantText {
    static func parse(_ text: String) -> DBusValue? {
        var s = Substring(text.cgTrimmed)
        var type: String?
        let keywords = ["boolean": "b", "byte": "y", "int16": "n", "uint16": "q", "int32": "i", "uint32": "u",
                        "int64": "x", "uint64": "t", "double": "d", "string": "s"]
        if s.hasPrefix("@") {
            let parts = s.dropFirst().split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            type = String(parts[0])
            s = Substring(String(parts[1]).cgTrimmed)
        } else if let sp = s.firstIndex(of: " "), let t = keywords[String(s[..<sp])] {
            type = t
            s = Substring(String(s[s.index(after: sp)...]).cgTrimmed)
        }
        if s.hasPrefix("[") {
            guard type == nil || type == "as", s.hasSuffix("]") else { return nil }
            var items: [DBusValue] = []
            var rest = Substring(String(s.dropFirst().dropLast()).cgTrimmed)
            while !rest.isEmpty {
                guard let (str, after) = quoted(rest) else { return nil }
                items.append(.string(str))
                rest = Substring(String(after).cgTrimmed)
                if rest.hasPrefix(",") { rest = Substring(String(rest.dropFirst()).cgTrimmed) } else if !rest.isEmpty { return nil }
            }
            return .array(element: "s", items)
        }
        if s.hasPrefix("'") || s.hasPrefix("\"") {
            guard type == nil || type == "s", let (str, after) = quoted(s), after.isEmpty else { return nil }
            return .string(str)
        }
        if s == "true" || s == "false" {
            guard type == nil || type == "b" else { return nil }
            return .bool(s == "true")
        }
        let t = type ?? (s.contains(".") || s.contains("e") && !s.hasPrefix("0x") ? "d" : "i")
        if t == "d" { return Double(String(s)).map { .double($0.bitPattern) } }
        var negative = false
        var digits = s
        if digits.hasPrefix("-") { negative = true; digits = digits.dropFirst() }
        let radix = digits.hasPrefix("0x") ? 16 : 10
        if radix == 16 { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, let magnitude = UInt64(String(digits), radix: radix) else { return nil }
        func signed(_ lo: Int64, _ hi: Int64) -> Int64? {
            if negative { return magnitude <= UInt64(-(lo + 1)) + 1 ? Int64(bitPattern: 0 &- magnitude) : nil }
            return magnitude <= UInt64(hi) ? Int64(magnitude) : nil
        }
        func unsigned(_ hi: UInt64) -> UInt64? { !negative && magnitude <= hi ? magnitude : nil }
        switch t {
        case "y": return unsigned(UInt64(UInt8.max)).map { .byte(UInt8($0)) }
        case "n": return signed(Int64(Int16.min), Int64(Int16.max)).map { .int16(Int16($0)) }
        case "q": return unsigned(UInt64(UInt16.max)).map { .uint16(UInt16($0)) }
        case "i": return signed(Int64(Int32.min), Int64(Int32.max)).map { .int32(Int32($0)) }
        case "u": return unsigned(UInt64(UInt32.max)).map { .uint32(UInt32($0)) }
        case "x": return signed(Int64.min, Int64.max).map { .int64($0) }
        case "t": return unsigned(UInt64.max).map { .uint64($0) }
        default: return nil
        }
    }

    /// A quoted string at the start of `s` and what follows it.
    private static func quoted(_ s: Substring) -> (String, Substring)? {
        guard let q = s.first, q == "'" || q == "\"" else { return nil }
        var out = ""
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            let c = s[i]
            if c == q { return (out, s[s.index(after: i)...]) }
            if c == "\\" {
                i = s.index(after: i)
                guard i < s.endIndex else { return nil }
                switch s[i] {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(s[i])
                }
            } else {
                out.append(c)
            }
            i = s.index(after: i)
        }
        return nil
    }
}
