import CorralSpec
import Glibc

/// What `create` records in `<root>/<id>/state.json` (our private schema). Status is never stored: it is derived
/// from live facts every time (see `status`), so a crashed runtime or a dead init can never leave a lie behind.
struct ContainerState {
    static let fileName = "state.json"
    static let fifoName = "exec.fifo"
    static let configName = "config.json"

    var id: String
    var pid: Int32
    /// Field 22 of /proc/<pid>/stat at create: with the pid it identifies the init for life.
    var pidStartTime: UInt64
    var bundle: String
    var rootfs: String
    var created: String
    var owner: String
    var annotations: [String: String]
    var ociVersion: String
    /// The container's cgroup directories (runc's `cgroup_paths`), so pause/kill/delete/... find them without
    /// reading config.json. nil for a container recorded without them.
    var cgroups: CgroupSet? = nil
    /// The systemd unit holding the container's cgroups (`--systemd-cgroup`): `update` sets its properties, `delete`
    /// stops it. Recorded by create just before it asks systemd for the unit, so a create killed from then on
    /// leaves a record whose `delete` stops it.
    var systemdUnit: String? = nil
    /// `create --no-new-keyring`: processes exec'd later do not join a session keyring either (runc keeps it too).
    var noNewKeyring = false
    /// The init carries CORRAL_INIT_COMM as its name until it execs (recorded by create): `status` may then take
    /// another name for "running" without looking for the exec fifo. A container recorded by an older corral, whose
    /// parked init had the binary's name, is always asked its fifo.
    var initNamed = false
    /// The container has no pid namespace of its own (the host's, or one joined by path): its processes do not
    /// die with its init, so `kill ... KILL` signals every process in its cgroup (as runc does).
    var sharedPidNamespace = false
    /// Set while `create` runs (the record is written before anything the container owns exists): the creating
    /// process, by pid and start time. If it dies before the container is committed, the record is a stopped
    /// container that `delete` (or a new `create` of the id) cleans up, so a killed create leaves nothing no
    /// command can remove.
    var creator: (pid: Int32, startTime: UInt64)? = nil
    /// The cgroup directories that create made (recorded once they exist and were checked); nil before.
    var cgroupsCreated: [String]? = nil
    /// The Landlock ruleset the init was given (`LandlockPlan.record()`: ABI, mode, rules, what best-effort
    /// dropped), kept for the audit trail; nil without io.corral.landlock.* annotations.
    var landlock: JSONValue? = nil
    /// The container's monitor (run limits, seccomp audit mode, audit trail); nil for a container without one.
    var monitor: MonitorRecord? = nil

    func json() -> JSONValue {
        var o = JSONObject()
        o["id"] = .string(id)
        o["pid"] = JSONValue(Int(pid))
        o["pidStartTime"] = JSONValue(pidStartTime)
        o["bundle"] = .string(bundle)
        o["rootfs"] = .string(rootfs)
        o["created"] = .string(created)
        o["owner"] = .string(owner)
        o["ociVersion"] = .string(ociVersion)
        var a = JSONObject()
        for k in annotations.keys.sorted() { a[k] = .string(annotations[k]!) }
        o["annotations"] = .object(a)
        if let cgroups, !cgroups.isEmpty { o["cgroupPaths"] = cgroups.json() }
        if let systemdUnit { o["systemdUnit"] = .string(systemdUnit) }
        if noNewKeyring { o["noNewKeyring"] = .bool(true) }
        if sharedPidNamespace { o["sharedPidNamespace"] = .bool(true) }
        if initNamed { o["initNamed"] = .bool(true) }
        if let creator {
            var c = JSONObject()
            c["pid"] = JSONValue(Int(creator.pid))
            c["startTime"] = JSONValue(creator.startTime)
            o["creator"] = .object(c)
        }
        if let cgroupsCreated { o["cgroupsCreated"] = JSONValue(cgroupsCreated) }
        if let landlock { o["landlock"] = landlock }
        if let monitor { o["monitor"] = monitor.json() }
        return .object(o)
    }

    init(id: String, pid: Int32, pidStartTime: UInt64, bundle: String, rootfs: String, created: String,
         owner: String, annotations: [String: String], ociVersion: String) {
        self.id = id; self.pid = pid; self.pidStartTime = pidStartTime; self.bundle = bundle; self.rootfs = rootfs
        self.created = created; self.owner = owner; self.annotations = annotations; self.ociVersion = ociVersion
    }

    init(json: JSONValue) throws(RuntimeError) {
        guard let id = json["id"]?.stringValue, let pid = json["pid"]?.int64Value,
              let start = json["pidStartTime"]?.uint64Value, let bundle = json["bundle"]?.stringValue
        else { throw RuntimeError(.system, "corrupt state file") }
        self.id = id
        self.pid = Int32(truncatingIfNeeded: pid)
        self.pidStartTime = start
        self.bundle = bundle
        self.rootfs = json["rootfs"]?.stringValue ?? ""
        self.created = json["created"]?.stringValue ?? ""
        self.owner = json["owner"]?.stringValue ?? ""
        self.ociVersion = json["ociVersion"]?.stringValue ?? Version.spec
        var ann: [String: String] = [:]
        for (k, v) in json["annotations"]?.objectValue ?? JSONObject() { if let s = v.stringValue { ann[k] = s } }
        self.annotations = ann
        if let c = json["cgroupPaths"] { self.cgroups = CgroupSet(json: c) }
        self.systemdUnit = json["systemdUnit"]?.stringValue
        self.noNewKeyring = json["noNewKeyring"]?.boolValue ?? false
        self.sharedPidNamespace = json["sharedPidNamespace"]?.boolValue ?? false
        self.initNamed = json["initNamed"]?.boolValue ?? false
        if let c = json["creator"], let p = c["pid"]?.int64Value, let t = c["startTime"]?.uint64Value {
            self.creator = (Int32(truncatingIfNeeded: p), t)
        }
        self.cgroupsCreated = json["cgroupsCreated"]?.arrayValue?.compactMap { $0.stringValue }
        self.landlock = json["landlock"]
        self.monitor = MonitorRecord(json: json["monitor"])
    }

    /// The OCI status of the container, derived from the process table and the exec fifo (as runc does).
    enum Status: String { case creating, created, running, stopped, paused }

    /// True while the recorded init is alive: same pid, same start time, not a zombie.
    var initAlive: Bool { ContainerState.alive(pid, pidStartTime) }

    static func alive(_ pid: Int32, _ startTime: UInt64) -> Bool { liveState(pid, startTime) != nil }

    /// The state letter of /proc/<pid>/stat while (pid, startTime) is alive, and whether the process still has the
    /// init's own name (it has not exec'd); nil once it is gone or a zombie.
    static func liveState(_ pid: Int32, _ startTime: UInt64, proc: Int32 = AT_FDCWD) -> (state: Character, initName: Bool)? {
        guard pid > 0, let st = Proc.stat(pid, proc: proc), st.startTime == startTime, st.state != "Z", st.state != "X"
        else { return nil }
        return (st.state, st.initName)
    }

    /// `proc`: an fd of /proc for the init's stat (`list`), or AT_FDCWD.
    func status(in dir: String, proc: Int32 = AT_FDCWD) -> Status {
        // Not committed yet: still being created, or stopped for good when its creator is gone.
        if let creator { return ContainerState.alive(creator.pid, creator.startTime) ? .creating : .stopped }
        let initState = ContainerState.liveState(pid, pidStartTime, proc: proc)
        // runc checks the freezer first: a frozen cgroup is "paused" whatever else is true.
        if let cgroups, CgroupManager(cgroups).isFrozen(liveInitState: initState?.state) { return .paused }
        guard let initState else { return .stopped }
        // An init that no longer has its own name has exec'd: running, and the fifo is gone (one lookup less per
        // container for `list`). With that name it may still be parked on the fifo, which decides.
        if initNamed && !initState.initName { return .running }
        return Files.exists(dir + "/" + ContainerState.fifoName) ? .created : .running
    }

    /// The runtime spec's state document, what hooks read on stdin and seccomp agents get inside the process
    /// state: ociVersion, id, status, pid, bundle, annotations in runc's order; pid and annotations are left out
    /// when zero/empty (Go's omitempty: a stopped container has no pid).
    static func specState(id: String, status: Status, pid: Int32, bundle: String, annotations: [String: String],
                          ociVersion: String = Version.spec) -> JSONObject {
        var o = JSONObject()
        o["ociVersion"] = .string(ociVersion)
        o["id"] = .string(id)
        o["status"] = .string(status.rawValue)
        if pid != 0 { o["pid"] = JSONValue(Int(pid)) }
        o["bundle"] = .string(bundle)
        if !annotations.isEmpty {
            var a = JSONObject()
            for k in annotations.keys.sorted() { a[k] = .string(annotations[k]!) }
            o["annotations"] = .object(a)
        }
        return o
    }

    /// `state`/`list` output in runc's field order; pid is 0 once stopped, annotations omitted when empty.
    /// runc leaves `owner` empty in `state` and fills it in `list`.
    func ociState(status: Status, withOwner: Bool = false) -> JSONObject {
        var o = JSONObject()
        o["ociVersion"] = .string(ociVersion)
        o["id"] = .string(id)
        o["pid"] = JSONValue(Int(status == .stopped ? 0 : pid))
        o["status"] = .string(status.rawValue)
        o["bundle"] = .string(bundle)
        o["rootfs"] = .string(rootfs)
        o["created"] = .string(created)
        if !annotations.isEmpty {
            var a = JSONObject()
            for k in annotations.keys.sorted() { a[k] = .string(annotations[k]!) }
            o["annotations"] = .object(a)
        }
        o["owner"] = .string(withOwner ? owner : "")
        return o
    }
}

extension ContainerState {
    /// The cgroups of a create that died before committing. What it recorded as made is removed, its processes
    /// killed first when every directory was its own (a cgroup that existed before is never emptied by us); with
    /// no such record it died while making them, before any process was placed: only empty directories go.
    /// With the systemd driver the unit is stopped and every directory of it removed: all of them are the
    /// container's own.
    func removeAbandonedCgroups() {
        monitor?.stop(graceMS: 0)   // it ends on its own when its create dies; its cgroups go here
        guard let set = cgroups else { return }
        if let unit = systemdUnit {
            CgroupManager(set, systemdUnit: unit).destroy()
        } else if let made = cgroupsCreated {
            CgroupManager(set, created: made).removeCreated()
        } else {
            for d in set.directories.reversed() { rmdir(d) }
        }
    }
}
