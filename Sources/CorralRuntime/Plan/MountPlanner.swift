import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// Expands one config mount into executor operations.
enum MountPlanner {
    /// Idmapped bind mounts (`mounts[].uidMappings`/`gidMappings`, options `idmap`/`ridmap`) are supported;
    /// `corral features` reports `mountExtensions.idmap.enabled` from this.
    static let idmapMounts = true

    /// `userNS`: the container's own id maps when it gets a new user namespace (what `idmap` without maps of its
    /// own uses), nil without one. `cgroupNS`: the container gets a new cgroup namespace.
    /// `rootfs`: the rootfs's host path, as the planner resolved it: a destination that starts with it is taken as
    /// already joined to it, and a bind source below it is one of the container's (runc's rules for both).
    static func plan(_ m: Mount, index i: Int, bundle: String, rootfs: String = "", cgroups: CgroupPlan,
                     userNS: (uid: [IDMapping], gid: [IDMapping])? = nil, cgroupNS: Bool = false,
                     note: (String) -> Void = { _ in }) throws(RuntimeError) -> [MountOp] {
        let path = "mounts[" + i.decimal + "]"
        var dest = Files.clean(m.destination.hasBytePrefix("/") ? m.destination : "/" + m.destination)
        if let inside = pathBelow(dest, root: rootfs) { dest = inside }
        let opts = try MountOptions.classify(m.options ?? [], path: path + ".options")
        let idmap = try idmapOf(m, opts, path: path, userNS: userNS)
        let type = m.type ?? ""
        let isBind = type == "bind" || opts.bind
        if opts.copyUp && (isBind || opts.remount || type != "tmpfs") {
            throw RuntimeError(.config, "\(path).options: tmpcopyup applies to new tmpfs mounts only (type \"\(type)\")")
        }
        let onProc = try checkProcMount(dest: dest, type: type, isBind: isBind, source: m.source, bundle: bundle, path: path)
        if opts.remount {
            var op = MountOp(kind: .remount, dest: dest, label: type.isEmpty ? "remount" : type, configIndex: i)
            apply(opts, to: &op)
            op.allowOnProc = true  // a remount changes flags of what is there; it mounts nothing new
            return [op]
        }
        if isBind {
            guard let src = m.source, !src.isEmpty else { throw RuntimeError(.config, "\(path).source: required for a bind mount") }
            let source = src.hasBytePrefix("/") ? Files.clean(src) : Files.clean(bundle + "/" + src)
            // A source in the rootfs may only come to exist through the mounts before it (runc's "mount order"
            // tests): the child resolves it inside the rootfs when its turn comes, and takes its kind from it
            // then. Any other source must exist now.
            let inRoot = pathBelow(source, root: rootfs) != nil
            var st = stat()
            if !inRoot && stat(source, &st) != 0 {
                throw RuntimeError(.config, "error mounting \"\(source)\" to rootfs at \"\(dest)\": stat \(source): \(errnoText(errno))")
            }
            if inRoot && idmap != nil {
                throw RuntimeError(.unsupported, "\(path).source: an idmapped bind mount of a source inside the rootfs (\(JSONValue.quoted(source))) is not supported: the runtime prepares idmapped sources before the container's mounts exist")
            }
            // Filesystem options (size=, mode=, sync, ...) mean nothing to a bind mount; runc passes them to
            // mount(2), which ignores them. Accepted, and said so at debug level.
            if let ignored = (opts.superblockFlags + opts.data).first {
                note("\(path).options: \"\(ignored)\" does not apply to a bind mount and is ignored")
            }
            var op = MountOp(kind: .bind, dest: dest, source: source, recursive: opts.recursive,
                             destIsFile: !inRoot && (st.st_mode & S_IFMT) != S_IFDIR, label: "bind", configIndex: i)
            apply(opts, to: &op)
            (op.attrSet, op.attrClr) = bindAttributes(opts)
            op.msCleared = opts.msCleared & MS.lockable
            op.msAtime = opts.msFlags & MS.atimeFlags
            op.sourceInRoot = inRoot
            op.allowOnProc = onProc
            op.idmap = idmap
            return [op]
        }
        if idmap != nil {
            throw RuntimeError(.unsupported, "\(path): idmapped mounts are supported for bind mounts only (type \"\(type)\")")
        }
        if type.isEmpty { throw RuntimeError(.config, "\(path).type: required for a mount that is not a bind mount") }
        if type == "cgroup" {
            return CgroupMount.plan(dest: dest, opts: opts, index: i, cgroups: cgroups, ownNamespace: cgroupNS)
        }
        var op = MountOp(kind: .fs, dest: dest, source: m.source, fstype: type, data: opts.data, label: type, configIndex: i)
        apply(opts, to: &op)
        op.allowOnProc = onProc
        op.attrClr = 0  // a new filesystem has no attributes to clear
        if opts.copyUp {
            op.copyUp = true
            // The copy needs a writable tmpfs: a read-only one is made so by a remount once it is attached.
            if opts.attrSet & MountAttr.rdonly != 0 {
                op.attrSet &= ~MountAttr.rdonly
                return [op, MountOp(kind: .remount, dest: dest, attrSet: MountAttr.rdonly, label: type, configIndex: i)]
            }
            return [op]
        }
        if opts.attrSet & MountAttr.rdonly != 0 && (type == "tmpfs" || dest == "/dev") {
            // runc mounts these writable and makes them read-only last, so that what the list, the devices and
            // the console create below them still can be (/dev/pts in a read-only /dev).
            op.attrSet &= ~MountAttr.rdonly
            return [op, MountOp(kind: .remount, dest: dest, attrSet: MountAttr.rdonly, deferred: true, label: type,
                                configIndex: i)]
        }
        // mount(2) with MS_RDONLY makes a new superblock read-only too (runc's /sys shows "super=ro"); fsmount's
        // attribute only covers the mount, so pass "ro" to the filesystem as well.
        if opts.attrSet & MountAttr.rdonly != 0 { op.data.insert("ro", at: 0) }
        return [op]
    }

    /// `path` relative to `root` ("/" for the root itself) when it lies lexically inside it, else nil.
    static func pathBelow(_ path: String, root: String) -> String? {
        guard !root.isEmpty, root != "/" else { return nil }
        if path == root { return "/" }
        guard path.hasBytePrefix(root + "/") else { return nil }
        return String(path.dropFirst(root.utf8.count))
    }

    /// A bind mount's MOUNT_ATTR_* changes, as runc (1.2+) makes them with mount(2)'s bind remount. Without any mount
    /// flag among the options (only bind/rbind, propagation, recursive attributes), the source's flags are kept.
    /// Otherwise ro, nosuid, nodev, noexec and nosymfollow are exactly what the options ask for (one not asked for is
    /// cleared), and the atime mode is as asked (relatime unless noatime or strictatime, strictatime winning;
    /// nodiratime on top) or, with no atime option set, the source's. In a user namespace the kernel may refuse to
    /// clear what the source had (locked flags): the child then keeps those, as runc does (`msCleared`, `msAtime`).
    static func bindAttributes(_ o: ClassifiedOptions) -> (set: UInt64, clr: UInt64) {
        guard o.msFlags != 0 || o.msCleared != 0 else { return (0, 0) }
        let pairs: [(UInt64, UInt64)] = [(MS.rdonly, MountAttr.rdonly), (MS.nosuid, MountAttr.nosuid), (MS.nodev, MountAttr.nodev),
                                         (MS.noexec, MountAttr.noexec), (MS.nosymfollow, MountAttr.nosymfollow)]
        var set: UInt64 = 0, clr: UInt64 = 0
        for (ms, attr) in pairs {
            if o.msFlags & ms != 0 { set |= attr } else { clr |= attr }
        }
        if o.msFlags & MS.atimeFlags != 0 {
            clr |= MountAttr.atimeMask | MountAttr.nodiratime
            set |= o.msFlags & MS.strictatime != 0 ? MountAttr.strictatime
                : o.msFlags & MS.noatime != 0 ? MountAttr.noatime : MountAttr.relatime
            if o.msFlags & MS.nodiratime != 0 { set |= MountAttr.nodiratime }
        }
        return (set, clr)
    }

    /// The id maps of an idmapped mount: its own `uidMappings`/`gidMappings` (both, or neither), else with `idmap` /
    /// `ridmap` the container's. runc main's rule: a mount's own maps need no user namespace of the container
    /// (they map the host's ids, which such a container sees); borrowing the container's needs one.
    static func idmapOf(_ m: Mount, _ opts: ClassifiedOptions, path: String,
                        userNS: (uid: [IDMapping], gid: [IDMapping])?) throws(RuntimeError) -> IDMap? {
        let own = m.uidMappings != nil || m.gidMappings != nil
        guard own || opts.idmap else { return nil }
        guard own else {
            guard let userNS else {
                throw RuntimeError(.config, "\(path): an idmapped mount without uidMappings and gidMappings of its own needs the container to have a new user namespace")
            }
            return IDMap(uid: userNS.uid, gid: userNS.gid, recursive: opts.idmapRecursive)
        }
        guard let uid = m.uidMappings, let gid = m.gidMappings, !uid.isEmpty, !gid.isEmpty else {
            throw RuntimeError(.config, "\(path): uidMappings and gidMappings must both be set for an idmapped mount")
        }
        for (field, maps) in [("uidMappings", uid), ("gidMappings", gid)] {
            if maps.count > Planner.maxIDMappings {
                throw RuntimeError(.config, "\(path).\(field): too many entries: \(maps.count) (at most \(Planner.maxIDMappings))")
            }
            for (k, map) in maps.enumerated() { try Planner.checkIDRange(map, field: "\(path).\(field)[\(k)]") }
        }
        return IDMap(uid: uid, gid: gid, recursive: opts.idmapRecursive)
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
                let full = src.hasBytePrefix("/") ? src : Files.clean(bundle + "/" + src)
                if corral_fs_type(full) == 0x9fa0 { return false }  // PROC_SUPER_MAGIC
            }
            throw RuntimeError(.config, "\(path): \"\(dest)\" cannot be mounted because it is not of type proc")
        }
        guard dest.hasBytePrefix("/proc/") else { return false }
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
/// what runc makes of it: a tmpfs with a bind of the container's own cgroup from every v1 hierarchy (engines and
/// tools read e.g. /sys/fs/cgroup/memory/memory.limit_in_bytes inside the container).
enum CgroupMount {
    /// `ownNamespace`: the container has a cgroup namespace of its own, rooted at its cgroup.
    static func plan(dest: String, opts: ClassifiedOptions, index i: Int, cgroups: CgroupPlan,
                     ownNamespace: Bool = false) -> [MountOp] {
        let readOnly = opts.attrSet & MountAttr.rdonly != 0
        let flags = opts.attrSet & ~MountAttr.rdonly
        let v1 = cgroups.hierarchies.filter { !$0.isV2 }
        if v1.isEmpty {
            // In its own cgroup namespace a new cgroup2 mount shows exactly the container's cgroup, and so does a
            // bind of that directory, which is cheaper: on Linux 6.18 every cgroup2 mount takes the global
            // cgroup_threadgroup_rwsem for writing (cgroup_get_tree -> cgroup_favor_dynmods), which waits for an
            // RCU grace period (7-20 ms here) unless another attach or cgroup2 mount happened within one.
            // The bind stands for a new mount, so it does not stay a propagation slave of the host's cgroup2 mount
            // unless the config asks (criu cannot restore such a slave: it has no master to copy sharing from).
            if ownNamespace, let dir = cgroups.set.v2 {
                var op = MountOp(kind: .bind, dest: dest, source: dir, recursive: false, attrSet: opts.attrSet,
                                 label: "cgroup", configIndex: i)
                withPropagation(opts, &op)
                if op.propagation == 0 { op.propagation = Propagation.private }
                return [op]
            }
            var op = MountOp(kind: .fs, dest: dest, source: "cgroup", fstype: "cgroup2", attrSet: opts.attrSet,
                             label: "cgroup", configIndex: i)
            withPropagation(opts, &op)
            return [op]
        }
        var tmpfs = MountOp(kind: .fs, dest: dest, source: "tmpfs", fstype: "tmpfs", data: ["mode=755"],
                            attrSet: flags, label: "cgroup", configIndex: i)
        withPropagation(opts, &tmpfs)
        var ops = [tmpfs]
        // Hybrid hosts: like runc, only the v1 hierarchies are shown (not /sys/fs/cgroup/unified).
        for h in v1 where h.mountPoint.hasBytePrefix("/sys/fs/cgroup/") {
            let name = String(h.mountPoint.dropFirst("/sys/fs/cgroup/".count))
            guard !name.contains("/"), let source = cgroups.directory(mountedAt: h.mountPoint) else { continue }
            var bind = MountOp(kind: .bind, dest: dest + "/" + name, source: source, recursive: true,
                               attrSet: flags | (readOnly ? MountAttr.rdonly : 0), label: "cgroup", configIndex: i)
            withPropagation(opts, &bind)
            ops.append(bind)
            // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name, as runc links them.
            if name.contains(",") {
                for single in name.splitASCII(",") where !single.hasBytePrefix("name=") {
                    ops.append(MountOp(kind: .symlink, dest: dest + "/" + single, source: name, label: "cgroup", configIndex: i))
                }
            }
        }
        if readOnly {
            ops.append(MountOp(kind: .remount, dest: dest, attrSet: MountAttr.rdonly, label: "cgroup", configIndex: i))
        }
        return ops
    }

    /// The config's propagation option ("rprivate", "rslave", ...), which runc applies to each cgroup mount.
    private static func withPropagation(_ opts: ClassifiedOptions, _ op: inout MountOp) {
        op.propagation = opts.propagation
        op.propagationRecursive = opts.propagationRecursive
    }
}
