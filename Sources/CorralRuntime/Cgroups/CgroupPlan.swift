import CorralSpec

/// What `create` decides about cgroups before anything exists: where the container's cgroups go and what is
/// written there. Pure apart from reading the host's layout; every error names the config field.
struct CgroupPlan {
    var set: CgroupSet
    var limits: CgroupLimits
    /// cgroup2 controllers to enable on the way down to the container's cgroup2 directory.
    var v2Enable: [String]
    /// The cgroup2 mount point (ancestors above it are never touched).
    var v2Root: String?
    /// The host's hierarchies (to map a mount point to the container's directory in it).
    var hierarchies: [CgroupHierarchy] = []
    /// With --systemd-cgroup: the unit systemd makes the container's cgroup for (`set` holds its directories).
    var systemd: SystemdUnit? = nil
    /// systemd's cgroup v2 properties (MemoryMax, IOAccounting, ...) rather than its v1 ones: a pure v2 host.
    var unified = false
    /// Unit properties from `org.systemd.property.*` annotations (only with --systemd-cgroup, as in runc).
    var systemdAnnotations: [SystemdProperty] = []

    static func make(_ spec: Spec, id: String, host: CgroupHost, systemd: Bool) throws(RuntimeError) -> CgroupPlan {
        let set: CgroupSet
        var unit: SystemdUnit?
        if systemd {
            (unit, set) = try CgroupPath.resolveSystemd(cgroupsPath: spec.linux?.cgroupsPath, id: id, host: host)
        } else {
            set = try CgroupPath.resolve(cgroupsPath: spec.linux?.cgroupsPath, id: id, host: host, systemd: false)
        }
        let limits = try CgroupLimits(spec.linux?.resources, prefix: "linux.resources", includeDevices: true)
        try limits.validate(on: host)
        var enable = limits.v2Controllers(on: host)
        // On a pure v2 host runc enables every offered controller, so the container's own stats files exist.
        if host.mode == .v2 { for c in host.v2Controllers where !enable.contains(c) { enable.append(c) } }
        let annotations = unit == nil ? [] : try SystemdProperties.fromAnnotations(spec.annotations ?? [:])
        return CgroupPlan(set: set, limits: limits, v2Enable: enable, v2Root: host.v2?.mountPoint,
                          hierarchies: host.v1 + (host.v2.map { [$0] } ?? []), systemd: unit, unified: host.mode == .v2,
                          systemdAnnotations: annotations)
    }

    /// The container's directory in the hierarchy mounted at `mountPoint`.
    func directory(mountedAt mountPoint: String) -> String? {
        guard let h = hierarchies.first(where: { $0.mountPoint == mountPoint }) else { return nil }
        if h.isV2 { return set.v2 }
        return set.v1(h.key.splitASCII(",").first.map(String.init) ?? h.key)
    }
}
