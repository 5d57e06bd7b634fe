import CorralSpec

/// `linux.cgroupsPath` as runc's cgroupfs driver reads it:
/// - absolute ("/docker/<id>"): that path under the root of every hierarchy;
/// - relative ("corral/x"): under our own cgroup in every hierarchy (/proc/self/cgroup), but on a pure cgroup v2
///   host under its parent, as runc's fs2 driver does: our own cgroup has processes (us), and the no-internal-
///   process rule then refuses both controllers for its children and a child with them;
/// - absent or empty: relative, named after the container id.
/// A `slice:prefix:name` value is only special with `--systemd-cgroup`; without it runc takes it as a plain
/// relative name, and so do we. With `--systemd-cgroup` it names a systemd unit (SystemdUnit), and the cgroup
/// paths are the unit's; without systemd running, create fails with runc's error.
enum CgroupPath {
    /// runc's utils.CleanPath: an absolute path is cleaned; a relative one is cleaned as if rooted and stays
    /// relative, so ".." can never climb out of the starting cgroup.
    static func clean(_ path: String) -> String {
        if path.isEmpty { return "" }
        let cleaned = Files.clean(path)
        if path.hasBytePrefix("/") { return cleaned }
        return String(cleaned.dropFirst())
    }

    /// The container's directory in every mounted hierarchy (the cgroupfs driver).
    static func resolve(cgroupsPath: String?, id: String, host: CgroupHost, systemd: Bool) throws(RuntimeError) -> CgroupSet {
        if systemd { return try resolveSystemd(cgroupsPath: cgroupsPath, id: id, host: host).set }
        try requireHierarchies(host)
        var inner = clean(cgroupsPath ?? "")
        if inner.isEmpty { inner = id }
        if inner == "/" {
            throw RuntimeError(.config, "linux.cgroupsPath: \"\(cgroupsPath ?? "")\" is the root cgroup; a container needs a cgroup of its own")
        }
        var set = CgroupSet()
        for h in host.v1 + (host.v2.map { [$0] } ?? []) {
            let dir = directory(h, inner: inner, own: host.own[h.key], parentOfOwn: host.mode == .v2)
            if h.isV2 {
                set.add("", dir)
            } else {
                let names = h.key.splitASCII(",").map(String.init)
                for n in names { set.add(n, dir) }
            }
        }
        return set
    }

    private static func requireHierarchies(_ host: CgroupHost) throws(RuntimeError) {
        if host.mode == .none {
            throw RuntimeError(.system, "no cgroup hierarchy is mounted on this host (looked in /proc/self/mountinfo)")
        }
    }

    /// The systemd driver: the unit, and its cgroup in every hierarchy as runc computes it. On a pure v2 host:
    /// the cgroup2 mount plus the unit's path; on v1 and hybrid hosts each hierarchy's mount plus PID 1's cgroup
    /// there (without a trailing init.scope: systemd's units are its siblings) plus the unit's path.
    static func resolveSystemd(cgroupsPath: String?, id: String, host: CgroupHost) throws(RuntimeError) -> (unit: SystemdUnit, set: CgroupSet) {
        if !host.systemdRunning {
            throw RuntimeError(.unsupported, "systemd not running on this host, cannot use systemd cgroups manager")
        }
        try requireHierarchies(host)
        let unit = try SystemdUnit.parse(cgroupsPath: cgroupsPath, id: id)
        let initPaths = host.mode == .v2 ? [:] : host.initCgroupPaths
        var set = CgroupSet()
        for h in host.v1 + (host.v2.map { [$0] } ?? []) {
            var base = Files.clean(initPaths[h.key] ?? "/")
            if base.hasByteSuffix("/init.scope") { base = String(Substring(base.utf8.dropLast("/init.scope".utf8.count))) }
            if base.isEmpty { base = "/" }
            let dir = Files.clean(h.mountPoint + "/" + base + "/" + unit.cgroupPath)
            if h.isV2 {
                set.add("", dir)
            } else {
                for n in h.key.splitASCII(",").map(String.init) { set.add(n, dir) }
            }
        }
        return (unit, set)
    }

    static func directory(_ h: CgroupHierarchy, inner: String, own: String?, parentOfOwn: Bool = false) -> String {
        if inner.hasBytePrefix("/") { return Files.clean(h.mountPoint + "/" + inner) }
        // Our cgroup as seen through this mount: its path minus the mount's root.
        var base = own ?? "/"
        if parentOfOwn { base = Files.clean(base + "/..") }
        if h.root != "/" {
            base = base.hasBytePrefix(h.root) ? String(Substring(base.utf8.dropFirst(h.root.utf8.count))) : "/"
        }
        return Files.clean(h.mountPoint + "/" + base + "/" + inner)
    }
}
