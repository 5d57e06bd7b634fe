import CorralSpec

/// The directories of one container's cgroup: one per mounted hierarchy. Persisted in state.json in runc's
/// `cgroup_paths` shape (controller or "name=…" → directory, "" for cgroup2), so later verbs find them without
/// looking at config.json or mountinfo.
struct CgroupSet: Equatable {
    /// key → directory. Keys are single controllers ("cpu", "cpuacct" even when co-mounted), "name=systemd",
    /// or "" for the cgroup2 directory.
    private(set) var paths: [(key: String, dir: String)] = []

    static func == (a: CgroupSet, b: CgroupSet) -> Bool {
        a.paths.map { $0.key + "\u{0}" + $0.dir }.sorted() == b.paths.map { $0.key + "\u{0}" + $0.dir }.sorted()
    }

    var isEmpty: Bool { paths.isEmpty }

    mutating func add(_ key: String, _ dir: String) {
        paths.removeAll { $0.key == key }
        paths.append((key, dir))
    }

    /// The v1 directory of a controller (or of a named hierarchy, "name=systemd").
    func v1(_ controller: String) -> String? {
        paths.first { !$0.key.isEmpty && $0.key == controller }?.dir
    }

    /// The cgroup2 directory (on v2 and hybrid hosts).
    var v2: String? { paths.first { $0.key.isEmpty }?.dir }

    /// Every distinct directory (placement, signalling and removal go through these), v1 ones first, each group
    /// in the order the planner added them (no sort: String comparison is costly and the order is already fixed).
    var directories: [String] {
        var out: [String] = []
        out.reserveCapacity(paths.count)
        for v2Pass in [false, true] {
            for p in paths where p.key.isEmpty == v2Pass && !out.contains(p.dir) { out.append(p.dir) }
        }
        return out
    }

    /// Where to list the container's processes: the devices hierarchy as runc does, else any other.
    var procsDir: String? {
        for c in ["devices", "freezer", "pids", "memory", "cpu", "name=systemd"] { if let d = v1(c) { return d } }
        return v2 ?? directories.first
    }

    /// runc's map, keys sorted (Go's encoding order).
    func json() -> JSONValue {
        var o = JSONObject()
        for p in paths.sorted(by: { $0.key < $1.key }) { o[p.key] = .string(p.dir) }
        return .object(o)
    }

    init() {}

    init(json: JSONValue?) {
        // A parsed JSON object has no key twice: appended as they come (`add` would search the list each time,
        // and `list` decodes one set per container).
        guard let o = json?.objectValue else { return }
        paths.reserveCapacity(o.count)
        for (k, v) in o {
            if let d = v.stringValue { paths.append((k, d)) }
        }
    }
}
