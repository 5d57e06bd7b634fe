import CorralSpec
import Glibc

/// The systemd cgroup driver (`--systemd-cgroup`), as runc's: systemd makes the container's cgroup as a transient
/// unit (a scope with Delegate=yes in the named slice) and moves the init into it; the limits it has properties
/// for are given to it, so `systemctl show` tells the truth and systemd keeps them when it re-realises the unit.
/// Everything else is what the cgroupfs driver does, on the unit's directories: the hierarchies systemd does not
/// manage (v1), controllers enabled on the way down, every limit written to the files (CgroupWriter, devices
/// program included), and freezing, signalling, ps and stats on the recorded CgroupSet. `delete` stops the unit
/// and removes what is left.
enum SystemdCgroups {
    /// What create prepares before anything exists: the connection and the resource properties (a value that
    /// cannot be sent fails create before the container is launched).
    final class Start {
        let unit: SystemdUnit
        let client: SystemdClient
        let resources: [SystemdProperty]
        /// Set from the StartTransientUnit call on, unless systemd answered that the unit existed already (and was
        /// no failed leftover): only then may a failed create stop a unit of this name.
        fileprivate(set) var mayOwnUnit = false

        init(unit: SystemdUnit, client: SystemdClient, resources: [SystemdProperty]) {
            self.unit = unit; self.client = client; self.resources = resources
        }
    }

    static func prepare(_ plan: CgroupPlan, unit: SystemdUnit, note: (String) -> Void) throws(RuntimeError) -> Start {
        let client = try SystemdClient.connect()
        let host = SystemdProperties.Host(version: client.version, procDevices: { Files.readString("/proc/devices") ?? "" },
                                          unified: plan.unified)
        let resources = try SystemdProperties.resources(plan.limits, host: host, note: note)
        return Start(unit: unit, client: client, resources: resources)
    }

    /// At the child's HELLO (it waits, nothing of the container runs yet): StartTransientUnit with PIDs=[pid]
    /// and the properties, a wait for its job, then the cgroupfs driver's work on the unit's directories.
    /// Returns the directories made here (v1 hierarchies systemd does not manage).
    static func place(_ start: Start, plan: CgroupPlan, pid: Int32) throws(RuntimeError) -> [String] {
        // runc's order: the unit's own, the annotations' (which may override those), then the resources.
        let props = SystemdProperties.unit(start.unit, pid: pid, unified: plan.unified) + plan.systemdAnnotations + start.resources
        start.mayOwnUnit = true
        do throws(SystemdClient.StartFailure) {
            try start.client.startTransientUnit(start.unit.name, props)
        } catch {
            switch error {
            case .exists(let e): start.mayOwnUnit = false; throw e
            case .failed(let e): throw e
            }
        }
        var made: [String] = []
        for dir in plan.set.directories where !Files.isDirectory(dir) {
            made += try Files.mkdirAll(dir, mode: 0o755)
        }
        if let cpuset = plan.set.v1("cpuset") { try CgroupManager.prepareCpuset(cpuset) }
        if let v2 = plan.set.v2, let root = plan.v2Root, !plan.v2Enable.isEmpty {
            CgroupManager.enableV2(plan.v2Enable, from: root, to: v2)
        }
        // systemd moved the init into the unit's cgroup in the hierarchies it manages; the others (and a slice,
        // which takes no PIDs=) get it here. Writing it where it already is changes nothing.
        try CgroupManager(plan.set).place(pid)
        try CgroupWriter.apply(plan.limits, to: plan.set, update: false)
        return made
    }

    /// A failed create: the unit (when it may be ours) is stopped and reset, processes left in its cgroups are
    /// killed and every directory goes.
    static func removeFailed(_ start: Start, set: CgroupSet, warn: (String) -> Void) {
        guard start.mayOwnUnit else { return }
        CgroupManager(set, systemdUnit: start.unit.name).destroy(warn: warn)
    }

    /// StopUnit and ResetFailedUnit on a connection of its own (delete, or the record of a create that died).
    /// A StopUnit that gets no reply at all is asked once more on a new connection: in the guest lane, systemd 252
    /// sometimes leaves a StopUnit on its private socket unanswered, once for both attempts (30 s), for a scope its
    /// journal shows deactivated before the call. When the second call gets no reply either and the unit's
    /// `cgroup` directory is gone (systemd removes it when the scope stops), the scope is stopped and that is
    /// only a warning.
    /// `connect` and `replyTimeoutMS` are for the tests.
    static func stop(_ unit: String, cgroup: String?, replyTimeoutMS: Int32 = 15_000,
                     connect: () throws(RuntimeError) -> SystemdClient = { () throws(RuntimeError) in try SystemdClient.connect() },
                     warn: (String) -> Void) -> RuntimeError? {
        for attempt in 0..<2 {
            do throws(RuntimeError) {
                try connect().stopUnit(unit, replyTimeoutMS: replyTimeoutMS, warn: warn)
                return nil
            } catch {
                guard error.message.hasSuffix(DBusConnection.timeoutText) else { return error }
                if attempt == 0 {
                    warn("\(error.message); asking systemd again")
                    continue
                }
                if let cgroup, !Files.isDirectory(cgroup) {
                    warn("\(error.message); the scope's cgroup \(cgroup) is gone, so it has stopped")
                    return nil
                }
                return error
            }
        }
        return nil
    }

    /// `update`: SetUnitProperties(unit, runtime, properties) for what the document changes (never devices, as
    /// runc), before the files are written. A half of a pair the document leaves out (swap without memory, a quota
    /// without its period) is taken from the files, as CgroupWriter does.
    static func update(unit: String, limits: CgroupLimits, set: CgroupSet, unified: Bool, note: (String) -> Void) throws(RuntimeError) {
        if unified, let d = set.v2, let lim = limits.memoryLimit, limits.checkBeforeUpdate, lim.value > 0,
           let usage = CgroupFS.readUInt(d, "memory.current"), usage > UInt64(lim.value) {
            // Before systemd lowers MemoryMax, which would OOM-kill the container (runc's CheckMemoryUsage).
            throw RuntimeError(.invalidArgument, "\(lim.field): rejecting memory limit \(lim.value) below usage \(usage)")
        }
        var current = SystemdProperties.Current()
        if unified, let d = set.v2 {
            if let m = CgroupFS.read(d, "memory.max")?.cgTrimmed { current.memoryLimit = m == "max" ? -1 : Int64(m) }
            if let f = CgroupFS.read(d, "cpu.max")?.splitASCII(" "), f.count == 2 {
                current.cpuQuota = f[0] == "max" ? -1 : Int64(f[0])
                current.cpuPeriod = UInt64(f[1])
            }
        } else {
            if let d = set.v1("memory"), let m = CgroupFS.read(d, "memory.limit_in_bytes")?.cgTrimmed { current.memoryLimit = Int64(m) }
            if let d = set.v1("cpu") {
                current.cpuQuota = CgroupFS.read(d, "cpu.cfs_quota_us").flatMap { Int64($0.cgTrimmed) }
                current.cpuPeriod = CgroupFS.read(d, "cpu.cfs_period_us").flatMap { UInt64($0.cgTrimmed) }
            }
        }
        let client = try SystemdClient.connect()
        let host = SystemdProperties.Host(version: client.version, procDevices: { "" }, unified: unified)
        var l = limits
        l.devices = nil
        let props = try SystemdProperties.resources(l, host: host, current: current, note: note)
        if !props.isEmpty { try client.setUnitProperties(unit, props) }
    }
}
