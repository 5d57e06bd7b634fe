import CCorral
import CorralSpec
import Glibc

/// Expands one config mount into executor operations.
enum MountPlanner {
    static func plan(_ m: Mount, index i: Int, bundle: String) throws(RuntimeError) -> [MountOp] {
        let path = "mounts[\(i)]"
        let dest = Files.clean(m.destination.hasPrefix("/") ? m.destination : "/" + m.destination)
        let opts = try MountOptions.classify(m.options ?? [], path: path + ".options")
        let type = m.type ?? ""
        let isBind = type == "bind" || opts.bind
        let onProc = try checkProcMount(dest: dest, type: type, isBind: isBind, source: m.source, bundle: bundle, path: path)
        if opts.remount {
            var op = MountOp(kind: .remount, dest: dest, label: type.isEmpty ? "remount" : type, configIndex: i)
            apply(opts, to: &op)
            op.allowOnProc = true  // a remount changes flags of what is there; it mounts nothing new
            return [op]
        }
        if isBind {
            guard let src = m.source, !src.isEmpty else { throw RuntimeError(.config, "\(path).source: required for a bind mount") }
            let source = src.hasPrefix("/") ? src : Files.clean(bundle + "/" + src)
            var st = stat()
            if stat(source, &st) != 0 {
                throw RuntimeError(.config, "error mounting \"\(source)\" to rootfs at \"\(dest)\": stat \(source): \(errnoText(errno))")
            }
            if let f = opts.superblockFlags.first {
                throw RuntimeError(.config, "\(path).options: \"\(f)\" is a filesystem flag and cannot apply to a bind mount")
            }
            if let d = opts.data.first {
                throw RuntimeError(.config, "\(path).options: unsupported option \"\(d)\" for a bind mount")
            }
            var op = MountOp(kind: .bind, dest: dest, source: source, recursive: opts.recursive,
                             destIsFile: (st.st_mode & S_IFMT) != S_IFDIR, label: "bind", configIndex: i)
            apply(opts, to: &op)
            op.allowOnProc = onProc
            return [op]
        }
        if type.isEmpty { throw RuntimeError(.config, "\(path).type: required for a mount that is not a bind mount") }
        if type == "cgroup" { return try CgroupMount.plan(dest: dest, opts: opts, index: i) }
        var op = MountOp(kind: .fs, dest: dest, source: m.source, fstype: type, data: opts.data, label: type, configIndex: i)
        apply(opts, to: &op)
        // mount(2) with MS_RDONLY makes a new superblock read-only too (runc's /sys shows "super=ro"); fsmount's
        // attribute only covers the mount, so pass "ro" to the filesystem as well.
        if opts.attrSet & MountAttr.rdonly != 0 { op.data.insert("ro", at: 0) }
        op.allowOnProc = onProc
        op.attrClr = 0  // a new filesystem has no attributes to clear
        return [op]
    }

    /// Files under /proc that may be mounted over (what lxcfs emulates), as runc allows.
    static let procOverlays: Set<String> = [
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
    ]

    /// runc's rule (CVE-2019-16884, CVE-2019-19921): only procfs may be mounted at /proc, and inside /proc only the
    /// lxcfs files. Returns true when the mount may land on procfs (the child refuses any other target on procfs).
    static func checkProcMount(dest: String, type: String, isBind: Bool, source: String?, bundle: String,
                               path: String) throws(RuntimeError) -> Bool {
        if dest == "/proc" {
            if !isBind && type == "proc" { return false }
            if isBind, let src = source {
                let full = src.hasPrefix("/") ? src : Files.clean(bundle + "/" + src)
                if corral_fs_type(full) == 0x9fa0 { return false }  // PROC_SUPER_MAGIC
            }
            throw RuntimeError(.config, "\(path): \"\(dest)\" cannot be mounted because it is not of type proc")
        }
        guard dest.hasPrefix("/proc/") else { return false }
        if procOverlays.contains(dest) { return true }
        throw RuntimeError(.config, "\(path): \"\(dest)\" cannot be mounted because it is inside /proc")
    }

    static func apply(_ o: ClassifiedOptions, to op: inout MountOp) {
        op.attrSet = o.attrSet
        op.attrClr = o.attrClr
        op.rattrSet = o.rattrSet
        op.rattrClr = o.rattrClr
        op.propagation = o.propagation
        op.propagationRecursive = o.propagationRecursive
    }
}

/// A `"type": "cgroup"` mount. On cgroup v2-only hosts it is a cgroup2 mount; on v1 and hybrid hosts it becomes
/// what runc makes of it: a tmpfs with a bind of the container's own cgroup from every mounted hierarchy
/// (engines and tools read e.g. /sys/fs/cgroup/memory/memory.limit_in_bytes inside the container).
enum CgroupMount {
    struct Hierarchy { var mountPoint: String; var root: String; var fstype: String; var superOptions: String }

    /// cgroup and cgroup2 mounts of the host from /proc/self/mountinfo.
    static func hierarchies() -> [Hierarchy] {
        guard let text = Files.readString("/proc/self/mountinfo") else { return [] }
        var out: [Hierarchy] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let sep = parts.firstIndex(of: "-"), sep + 3 < parts.count + 1, parts.count > sep + 3 else { continue }
            let fstype = String(parts[sep + 1])
            guard fstype == "cgroup" || fstype == "cgroup2" else { continue }
            out.append(Hierarchy(mountPoint: String(parts[4]), root: String(parts[3]), fstype: fstype,
                                 superOptions: String(parts[sep + 3])))
        }
        return out
    }

    static func plan(dest: String, opts: ClassifiedOptions, index i: Int) throws(RuntimeError) -> [MountOp] {
        let hs = hierarchies()
        let readOnly = opts.attrSet & MountAttr.rdonly != 0
        let flags = opts.attrSet & ~MountAttr.rdonly
        if hs.allSatisfy({ $0.fstype == "cgroup2" }) {
            return [MountOp(kind: .fs, dest: dest, source: "cgroup", fstype: "cgroup2", attrSet: opts.attrSet,
                            label: "cgroup", configIndex: i)]
        }
        var ops = [MountOp(kind: .fs, dest: dest, source: "tmpfs", fstype: "tmpfs", data: ["mode=755"],
                           attrSet: flags, label: "cgroup", configIndex: i)]
        let mine = Proc.cgroups()
        for h in hs where h.mountPoint.hasPrefix("/sys/fs/cgroup/") && h.fstype == "cgroup" {
            // Hybrid hosts: like runc, only the v1 hierarchies are shown (not /sys/fs/cgroup/unified).
            let name = String(h.mountPoint.dropFirst("/sys/fs/cgroup/".count))
            if name.contains("/") { continue }
            // The process's path in this hierarchy: entries are keyed by their controllers or name=….
            let key = controllersKey(h.superOptions)
            guard let path = mine.first(where: { $0.controllers == key })?.path else { continue }
            let rel = h.root == "/" ? path : String(path.dropFirst(h.root.count))
            let source = Files.clean(h.mountPoint + "/" + rel)
            ops.append(MountOp(kind: .bind, dest: dest + "/" + name, source: source, recursive: true,
                               attrSet: flags | (readOnly ? MountAttr.rdonly : 0), label: "cgroup", configIndex: i))
            // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name, as runc links them.
            if name.contains(",") {
                for single in name.split(separator: ",") where !single.hasPrefix("name=") {
                    ops.append(MountOp(kind: .symlink, dest: dest + "/" + single, source: name, label: "cgroup", configIndex: i))
                }
            }
        }
        if readOnly {
            ops.append(MountOp(kind: .remount, dest: dest, attrSet: MountAttr.rdonly, label: "cgroup", configIndex: i))
        }
        return ops
    }

    /// "rw,cpu,cpuacct" → "cpu,cpuacct"; "rw,name=systemd" → "name=systemd" (the /proc/<pid>/cgroup spelling).
    static func controllersKey(_ superOptions: String) -> String {
        let known: Set<String> = ["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nsdelegate"]
        return superOptions.split(separator: ",").filter { !known.contains(String($0)) && !$0.hasPrefix("release_agent=") }
            .joined(separator: ",")
    }
}
