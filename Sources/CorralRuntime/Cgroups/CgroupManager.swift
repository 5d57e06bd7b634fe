import CCorral
import CorralSpec
import Glibc

/// A container's cgroups on the host: creation with limits, placement of the first process, freezing,
/// signalling everything inside, and removal. Works on the recorded `CgroupSet`, so verbs after `create` need
/// neither config.json nor mountinfo.
struct CgroupManager {
    let set: CgroupSet
    /// The systemd unit that holds these cgroups (--systemd-cgroup): stopped, through systemd, before the
    /// directories are removed.
    var systemdUnit: String? = nil
    /// Directories this manager created (only known to `create`); a failed create removes exactly these.
    private(set) var created: [String] = []

    init(_ set: CgroupSet, systemdUnit: String? = nil) {
        self.set = set
        self.systemdUnit = systemdUnit
    }

    /// The cgroups of a create whose record lists the directories it made.
    init(_ set: CgroupSet, created: [String]) {
        self.set = set
        self.created = created
    }

    /// Creates every directory, makes the cpuset usable, enables cgroup2 controllers, then writes the limits.
    /// On error everything it created is removed again.
    static func create(_ plan: CgroupPlan) throws(RuntimeError) -> CgroupManager {
        var m = CgroupManager(plan.set)
        do throws(RuntimeError) {
            for dir in plan.set.directories {
                m.created += try Files.mkdirAll(dir, mode: 0o755)
            }
            if let cpuset = plan.set.v1("cpuset") { try prepareCpuset(cpuset) }
            if let v2 = plan.set.v2, let root = plan.v2Root, !plan.v2Enable.isEmpty {
                enableV2(plan.v2Enable, from: root, to: v2)
            }
            try m.checkUsable()
            try CgroupWriter.apply(plan.limits, to: plan.set, update: false)
        } catch {
            m.removeCreated()
            throw error
        }
        return m
    }

    /// A container never shares its cgroup with live processes (runc's texts): a later `delete` or `kill --all` of
    /// one tenant would otherwise reach the other's, and a tenant could stop another by naming its cgroupsPath.
    /// A frozen cgroup (its own freezer, or an ancestor's) would hold the new init forever.
    private func checkUsable() throws(RuntimeError) {
        if let d = set.v1("freezer") {
            if let s = CgroupFS.read(d, "freezer.state")?.cgTrimmed, s != "THAWED" {
                throw RuntimeError(.invalidState, "container's cgroup unexpectedly frozen")
            }
        } else if let d = set.v2, CgroupFS.value(d, "cgroup.events", key: "frozen") == 1 {
            throw RuntimeError(.invalidState, "container's cgroup unexpectedly frozen")
        }
        // A directory this create made is empty; only one that was there before can hold processes.
        guard let procs = set.procsDir, !created.contains(procs) else { return }
        let n = CgroupFS.pids(procs).count
        if n > 0 { throw RuntimeError(.invalidState, "container's cgroup is not empty: \(n) process(es) found") }
    }

    /// A v1 cpuset starts with empty cpus/mems, and a task cannot join it until they are set: copy the
    /// parent's into every empty level from the hierarchy root down (runc's ensureParent).
    static func prepareCpuset(_ dir: String) throws(RuntimeError) {
        var chain: [String] = []
        var cur = dir
        while cur != "/" && !CgroupFS.exists(cur, "cgroup.sane_behavior") {   // the hierarchy root has it
            chain.append(cur)
            cur = parent(cur)
        }
        for d in chain.reversed() {
            let p = parent(d)
            for file in ["cpuset.cpus", "cpuset.mems"] {
                guard let mine = CgroupFS.read(d, file), mine.cgTrimmed.isEmpty else { continue }
                let theirs = CgroupFS.read(p, file)?.cgTrimmed ?? ""
                try CgroupFS.set(d, file, theirs, field: "")
            }
        }
    }

    /// Enables `controllers` in the subtree_control of every ancestor of `dir` below (and including) `root`.
    /// Best effort, as runc: an ancestor with processes of its own refuses, and the limit write then fails with
    /// an error naming the field.
    static func enableV2(_ controllers: [String], from root: String, to dir: String) {
        var ancestors: [String] = []
        var cur = parent(dir)
        while cur.hasBytePrefix(root) {
            ancestors.append(cur)
            if cur == root { break }
            cur = parent(cur)
        }
        for a in ancestors.reversed() {
            let have = Set((CgroupFS.read(a, "cgroup.subtree_control") ?? "").splitASCII(" ").map(String.init))
            let missing = controllers.filter { !have.contains($0) }
            if missing.isEmpty { continue }
            if CgroupFS.write(a, "cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " ")) != 0 {
                for c in missing { _ = CgroupFS.write(a, "cgroup.subtree_control", "+" + c) }
            }
        }
    }

    static func parent(_ path: String) -> String {
        guard let i = path.utf8.lastIndex(of: UInt8(ascii: "/")), i != path.startIndex else { return "/" }
        return String(path[..<i])
    }

    /// Puts a process into every directory of the set (all v1 hierarchies, name=systemd included, and cgroup2), or
    /// only into the cgroup2 one. Each cgroup.procs write of another process's pid takes the kernel's global
    /// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period unless some attach on the host
    /// happened within the last one or two: a new container process enters its cgroups by itself instead
    /// (`CgroupEntry`), and this is left for criu's restore and the CLONE_INTO_CGROUP fallback.
    /// The error is runc's ("error adding pid N to cgroups: failed to write N to <dir>/cgroup.procs: ...").
    func place(_ pid: Int32, v2Only: Bool = false) throws(RuntimeError) {
        let text = pid.decimal
        for dir in set.directories where !v2Only || dir == set.v2 {
            let e = CgroupFS.write(dir, "cgroup.procs", text)
            if e != 0 {
                throw RuntimeError(.system, "error adding pid \(text) to cgroups: failed to write \(text) to \(dir)/cgroup.procs: \(errnoText(e))")
            }
        }
    }

    static func placeError(_ dir: String, _ file: String, _ e: Int32) -> RuntimeError {
        RuntimeError(.system, "failed to place the container process in \(dir): write \(file): \(errnoText(e))")
    }

    /// Removes what a failed `create` made, deepest first, after killing anything that got in. A cgroup that
    /// existed before (a shared cgroupsPath) is left as it was, processes included.
    func removeCreated() {
        guard !created.isEmpty else { return }
        let fresh = CgroupManager(set)
        if set.directories.allSatisfy({ created.contains($0) }) { fresh.killAll() }
        for d in created.reversed() { _ = CgroupFS.remove(d) }
    }

    // MARK: freezer

    enum FreezerState { case thawed, frozen, unknown }

    /// v1 freezer when mounted, else cgroup2's cgroup.freeze. A v1 cgroup frozen only through an ancestor
    /// counts as thawed (freezer.self_freezing), as in runc.
    var freezerState: FreezerState {
        if let d = set.v1("freezer") {
            for _ in 0..<1000 {
                guard let s = CgroupFS.readValue(d, "freezer.state") else { return .unknown }
                switch s {
                case "THAWED": return .thawed
                case "FROZEN":
                    guard let own = CgroupFS.readValue(d, "freezer.self_freezing") else { return .frozen }
                    return own == "1" ? .frozen : .thawed
                case "FREEZING": usleep(1000); continue
                default: return .unknown
                }
            }
            return .unknown
        }
        if let d = set.v2 {
            guard let v = CgroupFS.readValue(d, "cgroup.freeze") else { return .unknown }
            return v == "1" ? .frozen : .thawed
        }
        return .unknown
    }

    var isFrozen: Bool { freezerState == .frozen }

    /// `isFrozen`, skipping the freezer's file when the container's init shows it cannot be frozen: a v1 freezer
    /// puts every task of a FROZEN cgroup in "D" (a stopped one may stay "T"/"t" before 6.1), so a live init in
    /// any other state means the cgroup is not FROZEN. freezer.state is a kernfs read as dear as /proc's stat
    /// (8 µs here), and `list` reads one per container. cgroup v2 freezes tasks into "S", so there the file is
    /// always read; so it is with no live init, where runc still reports a frozen cgroup as paused.
    func isFrozen(liveInitState: Character?) -> Bool {
        if set.v1("freezer") != nil, let s = liveInitState, s != "D", s != "T", s != "t" { return false }
        return isFrozen
    }

    /// Freezes everything in the container. v1 may sit in FREEZING while processes keep forking: retried as
    /// runc does, with an occasional thaw, and thawed again if it never settles.
    func freeze() throws(RuntimeError) {
        if let d = set.v1("freezer") {
            for i in 0..<1000 {
                if i % 50 == 49 {
                    _ = CgroupFS.write(d, "freezer.state", "THAWED")
                    usleep(10_000)
                }
                let e = CgroupFS.write(d, "freezer.state", "FROZEN")
                if e != 0 {
                    _ = CgroupFS.write(d, "freezer.state", "THAWED")
                    throw CgroupFS.writeError(d, "freezer.state", "FROZEN", e, field: "")
                }
                if i % 25 == 24 { usleep(10) }
                switch CgroupFS.read(d, "freezer.state")?.cgTrimmed {
                case "FROZEN": return
                case "FREEZING": continue
                case let s:
                    _ = CgroupFS.write(d, "freezer.state", "THAWED")
                    throw RuntimeError(.system, "unexpected freezer state \(s ?? "(unreadable)") while freezing \(d)")
                }
            }
            _ = CgroupFS.write(d, "freezer.state", "THAWED")
            throw RuntimeError(.system, "unable to freeze \(d)")
        }
        guard let d = set.v2 else { throw RuntimeError(.unsupported, "the container has no freezer cgroup") }
        try CgroupFS.set(d, "cgroup.freeze", "1", field: "")
        try waitV2Frozen(d, true)
    }

    func thaw() throws(RuntimeError) {
        if let d = set.v1("freezer") {
            try CgroupFS.set(d, "freezer.state", "THAWED", field: "")
            return
        }
        guard let d = set.v2 else { throw RuntimeError(.unsupported, "the container has no freezer cgroup") }
        try CgroupFS.set(d, "cgroup.freeze", "0", field: "")
        try waitV2Frozen(d, false)
    }

    /// cgroup.events says "frozen 1" once every task is stopped (an empty cgroup is frozen at once).
    private func waitV2Frozen(_ d: String, _ want: Bool) throws(RuntimeError) {
        for _ in 0..<2000 {
            if let f = CgroupFS.value(d, "cgroup.events", key: "frozen"), (f == 1) == want { return }
            usleep(5000)
        }
        throw RuntimeError(.system, "timed out waiting for \(d) to become \(want ? "frozen" : "thawed")")
    }

    // MARK: processes

    /// Host pids of every process in the container's cgroup (and below).
    var pids: [Int32] {
        guard let d = set.procsDir else { return [] }
        return CgroupFS.pids(d)
    }

    /// Whether the container's cgroup directories still exist.
    var exists: Bool { self.set.directories.contains { Files.isDirectory($0) } }

    /// Sends `sig` to every process in the cgroup, with the cgroup frozen meanwhile so nothing forks past it
    /// (runc's signalAllProcesses). A frozen cgroup is left frozen, except for SIGKILL: frozen processes cannot
    /// die, so the cgroup is thawed.
    func signalAll(_ sig: Int32) {
        let wasFrozen = isFrozen
        let canFreeze = set.v1("freezer") != nil || set.v2 != nil
        if canFreeze && !wasFrozen { try? freeze() }
        for pid in pids { _ = Glibc.kill(pid, sig) }
        if canFreeze && (!wasFrozen || sig == SIGKILL) { try? thaw() }
    }

    /// SIGKILLs everything in the cgroup (cgroup.kill on cgroup2 when there is no v1 freezer) and waits up to
    /// a few seconds for the cgroup to empty.
    func killAll() {
        guard exists, !pids.isEmpty else { return }
        if set.v1("freezer") == nil, let d = set.v2, CgroupFS.exists(d, "cgroup.kill") {
            _ = CgroupFS.write(d, "cgroup.kill", "1")
        } else {
            signalAll(SIGKILL)
        }
        for _ in 0..<500 {
            if pids.isEmpty { return }
            for pid in pids { _ = Glibc.kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Kills what is left and removes the container's directory in every hierarchy. Parents (e.g. /docker) are
    /// left alone, as runc does. A systemd unit is stopped (and reset) first, as runc's systemd driver does, and
    /// whatever directory it leaves is removed after. Returns the first failure, if any.
    @discardableResult
    func destroy(warn: (String) -> Void = { _ in }) -> RuntimeError? {
        killAll()
        var failure: RuntimeError?
        if let unit = systemdUnit { failure = SystemdCgroups.stop(unit, cgroup: set.v2 ?? set.v1("name=systemd"), warn: warn) }
        for d in set.directories {
            let e = CgroupFS.remove(d)
            if e != 0 && failure == nil { failure = .system("remove cgroup \(d)", e) }
        }
        return failure
    }
}
