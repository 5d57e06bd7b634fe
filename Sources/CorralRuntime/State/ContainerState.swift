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
    /// `create --no-new-keyring`: processes exec'd later do not join a session keyring either (runc keeps it too).
    var noNewKeyring = false

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
        if noNewKeyring { o["noNewKeyring"] = .bool(true) }
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
        self.noNewKeyring = json["noNewKeyring"]?.boolValue ?? false
    }

    /// The OCI status of the container, derived from the process table and the exec fifo (as runc does).
    enum Status: String { case creating, created, running, stopped, paused }

    /// True while the recorded init is alive: same pid, same start time, not a zombie.
    var initAlive: Bool {
        guard let st = Proc.stat(pid) else { return false }
        return st.startTime == pidStartTime && st.state != "Z" && st.state != "X"
    }

    func status(in dir: String) -> Status {
        // runc checks the freezer first: a frozen cgroup is "paused" whatever else is true.
        if let cgroups, CgroupManager(cgroups).isFrozen { return .paused }
        guard initAlive else { return .stopped }
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

/// The state root (`--root`): one directory per container, each locked with flock(2) by mutating verbs so
/// concurrent commands on one id are serialised.
struct StateStore {
    let root: String

    /// runc's id rule, `^[\w+-\.]+$` (the class range `+-\.` admits "+ , - ."), not "." or "..".
    static func validate(id: String) throws(RuntimeError) {
        let ok = !id.isEmpty && id != "." && id != ".." && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == 0x5f || (c >= 0x2b && c <= 0x2e)
        }
        if !ok { throw RuntimeError(.invalidArgument, "invalid container ID format") }
    }

    func dir(_ id: String) -> String { root + "/" + id }

    /// A container directory held open and locked for the lifetime of this value's owner.
    final class Handle {
        let id: String
        let dir: String
        let fd: Int32
        var state: ContainerState

        init(id: String, dir: String, fd: Int32, state: ContainerState) {
            self.id = id; self.dir = dir; self.fd = fd; self.state = state
        }
        deinit { close(fd) }
        var status: ContainerState.Status { state.status(in: dir) }
    }

    /// Opens and locks an existing container; "container does not exist" when there is none.
    func open(_ id: String, lock: Bool = true) throws(RuntimeError) -> Handle {
        try StateStore.validate(id: id)
        let d = dir(id)
        let fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw errno == ENOENT ? .notExist : .system("open \(d)", errno) }
        if lock && flock(fd, LOCK_EX) != 0 { let e = errno; close(fd); throw .system("lock \(d)", e) }
        guard let bytes = try? Spec.readFile(d + "/" + ContainerState.fileName) else {
            close(fd)
            throw .notExist  // still being created, or a leftover without state: not a container yet
        }
        do {
            let json = try JSONValue.parse(bytes)
            return Handle(id: id, dir: d, fd: fd, state: try ContainerState(json: json))
        } catch let e as RuntimeError {
            close(fd); throw e
        } catch {
            close(fd); throw RuntimeError(.system, "corrupt state file \(d)/\(ContainerState.fileName)")
        }
    }

    func ids() -> [String] {
        (Files.entries(root) ?? []).filter { !$0.name.hasBytePrefix(".") && $0.isDirectory }.map(\.name).sorted()
    }
}
