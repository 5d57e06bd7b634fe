import Glibc

/// One mounted cgroup hierarchy of the host, as /proc/self/mountinfo shows it.
struct CgroupHierarchy: Equatable {
    /// Its key in /proc/<pid>/cgroup: "cpu,cpuacct", "name=systemd"; "" for the cgroup2 hierarchy.
    var key: String
    var mountPoint: String
    /// The part of the hierarchy this mount shows (mountinfo field 4): "/" unless a subtree was mounted.
    var root: String

    var isV2: Bool { key.isEmpty }
    /// v1 controllers bound to this hierarchy (none for named hierarchies such as name=systemd).
    var controllers: [String] { key.splitASCII(",").filter { !$0.hasBytePrefix("name=") }.map(String.init) }
}

/// What the host offers for cgroups: its v1 hierarchies, the cgroup2 one, and where this process sits in each
/// (relative `cgroupsPath`s start there, as with runc). Detected once per command from /proc; `parse` is the pure
/// part so tests can describe any layout (v1, hybrid, v2).
struct CgroupHost {
    enum Mode: String { case none, v1, hybrid, v2 }

    var v1: [CgroupHierarchy]
    var v2: CgroupHierarchy?
    /// Our own cgroup path per hierarchy key, from /proc/self/cgroup.
    var own: [String: String]
    /// Controllers the cgroup2 hierarchy offers (cgroup.controllers of its root). On a hybrid host these are the
    /// ones no v1 hierarchy has taken (here: hugetlb).
    var v2Controllers: [String]
    /// Huge page sizes as they appear in hugetlb file names ("2MB", "1GB"); nil until a config with hugepage limits
    /// needs them (`supportedHugepageSizes`), so other creates skip the directory read.
    var hugepageSizes: [String]?
    /// runc's test: /run/systemd/system is a directory.
    var systemdRunning: Bool
    /// PID 1's cgroup path per hierarchy key (/proc/1/cgroup), where the systemd driver's v1 paths start; nil
    /// until that driver needs it (`initCgroupPaths`).
    var initCgroup: [String: String]? = nil

    var mode: Mode {
        if !v1.isEmpty { return v2 != nil ? .hybrid : .v1 }
        return v2 != nil ? .v2 : .none
    }

    /// The v1 hierarchy a controller is bound to.
    func v1Hierarchy(_ controller: String) -> CgroupHierarchy? {
        v1.first { $0.controllers.contains(controller) }
    }

    /// Where a controller's files live: a v1 hierarchy when it is bound there, else cgroup2 when it offers it.
    enum Holder: Equatable { case v1(CgroupHierarchy), v2 }
    func holder(_ controller: String) -> Holder? {
        if let h = v1Hierarchy(controller) { return .v1(h) }
        if v2 != nil && v2Controllers.contains(controller) { return .v2 }
        return nil
    }

    /// The live host.
    static func detect() -> CgroupHost {
        let mountinfo = Files.readString("/proc/self/mountinfo") ?? ""
        let procCgroup = Files.readString("/proc/self/cgroup") ?? ""
        var host = parse(mountinfo: mountinfo, procCgroup: procCgroup)
        if let v2 = host.v2 {
            host.v2Controllers = (CgroupFS.read(v2.mountPoint, "cgroup.controllers") ?? "").splitASCII(" ").map(String.init)
        }
        host.systemdRunning = Files.isDirectory("/run/systemd/system")
        return host
    }

    /// Reads the hierarchies from mountinfo and our place in them from /proc/self/cgroup. The first mount of each
    /// hierarchy wins (later ones are usually binds of subtrees).
    static func parse(mountinfo: String, procCgroup: String) -> CgroupHost {
        // Split as UTF-8 bytes: Character-wise splitting of mountinfo was a tenth of `create`'s user time.
        func text(_ u: Substring.UTF8View) -> String { String(Substring(u)) }
        var own: [String: String] = [:]
        var keys: [String] = []
        for line in procCgroup.utf8.split(separator: UInt8(ascii: "\n")) {
            let parts = line.split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            own[text(parts[1])] = text(parts[2])
            keys.append(text(parts[1]))
        }
        let members = Set(keys.flatMap { $0.splitASCII(",").map(String.init) })
        var v1: [CgroupHierarchy] = []
        var v2: CgroupHierarchy?
        for line in mountinfo.utf8.split(separator: UInt8(ascii: "\n")) {
            let f = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard let sep = f.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }), sep >= 6,
                  f.count > sep + 3 else { continue }
            let fstype = f[sep + 1]
            let isV2 = fstype.elementsEqual("cgroup2".utf8)
            guard isV2 || fstype.elementsEqual("cgroup".utf8) else { continue }
            let mountPoint = unescape(text(f[4]))
            let root = unescape(text(f[3]))
            if isV2 {
                if v2 == nil { v2 = CgroupHierarchy(key: "", mountPoint: mountPoint, root: root) }
                continue
            }
            let options = Set(f[sep + 3].split(separator: UInt8(ascii: ",")).map(text))
            // The /proc/self/cgroup key whose members are exactly this mount's controllers / name.
            let mine = options.intersection(members)
            let key = keys.first { !$0.isEmpty && Set($0.splitASCII(",").map(String.init)) == mine }
            guard let key, !v1.contains(where: { $0.key == key }) else { continue }
            v1.append(CgroupHierarchy(key: key, mountPoint: mountPoint, root: root))
        }
        return CgroupHost(v1: v1, v2: v2, own: own, v2Controllers: [], hugepageSizes: nil, systemdRunning: false)
    }

    /// `initCgroup`, read from /proc/1/cgroup when detection left it for later.
    var initCgroupPaths: [String: String] {
        if let initCgroup { return initCgroup }
        var out: [String: String] = [:]
        for line in (Files.readString("/proc/1/cgroup") ?? "").splitASCII("\n") {
            let parts = line.splitASCII(":", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3 { out[String(parts[1])] = String(parts[2]) }
        }
        return out
    }

    /// `hugepageSizes`, read from /sys/kernel/mm/hugepages when detection left it for later.
    var supportedHugepageSizes: [String] {
        hugepageSizes ?? CgroupHost.hugepageSizes(CgroupFS.entries("/sys/kernel/mm/hugepages"))
    }

    /// "hugepages-2048kB" → "2MB" (runc's HugePageSizes: binary units, %g).
    static func hugepageSizes(_ entries: [String]) -> [String] {
        var out: [String] = []
        for e in entries where e.hasBytePrefix("hugepages-") && e.hasByteSuffix("kB") {
            guard let kb = UInt64(Substring(e.utf8.dropFirst("hugepages-".utf8.count).dropLast(2))) else { continue }
            out.append(hugepageName(bytes: kb * 1024))
        }
        return out
    }

    /// The cgroup file name of a page size in bytes: the largest binary unit that divides it ("2MB", "1GB").
    static func hugepageName(bytes: UInt64) -> String {
        var n = bytes, unit = 0
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        while n >= 1024 && n % 1024 == 0 && unit < units.count - 1 { n /= 1024; unit += 1 }
        return n.decimal + units[unit]
    }

    /// A page size as configs spell it, in any of the kernel's and the engines' forms ("2MB", "2M", "2MiB",
    /// "2048kB", "2048KB", "2097152", "1GB", "1G"), as the cgroup file name; nil when it is no size at all.
    static func canonicalHugepageSize(_ s: String) -> String? {
        let u = Array(s.utf8)
        var i = 0, n: UInt64 = 0
        while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(u[i] - 0x30))
            if o1 || o2 { return nil }
            n = a
            i += 1
        }
        guard i > 0, n > 0 else { return nil }
        let unit = String(decoding: u[i...], as: UTF8.self).uppercased()
        let shift: UInt64
        switch unit {
        case "", "B": shift = 0
        case "K", "KB", "KIB": shift = 10
        case "M", "MB", "MIB": shift = 20
        case "G", "GB", "GIB": shift = 30
        case "T", "TB", "TIB": shift = 40
        default: return nil
        }
        guard n <= UInt64.max >> shift else { return nil }
        return hugepageName(bytes: n << shift)
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    private static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
