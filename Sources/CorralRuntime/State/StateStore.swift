import CorralSpec
import Glibc

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
        // Names under the root that are corral's own, not containers: audit trails and the seccomp cache.
        if id == ".audit" || id == ".cache" {
            throw RuntimeError(.invalidArgument, "container ID \"\(id)\" is reserved: corral keeps \(id == ".audit" ? "audit trails" : "its seccomp cache") in <root>/\(id)")
        }
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
        deinit { if fd >= 0 { close(fd) } }
        var status: ContainerState.Status { state.status(in: dir) }
    }

    /// Opens and locks an existing container; "container does not exist" when there is none. Without `lock` the
    /// directory is not held open (the handle's fd is -1): readers (`state`, `list`, `exec`) only need state.json,
    /// and `list` saves two syscalls per container.
    /// `rootFD`: an fd of the root that state.json is read relative to (`list`); AT_FDCWD otherwise.
    func open(_ id: String, lock: Bool = true, rootFD: Int32 = AT_FDCWD) throws(RuntimeError) -> Handle {
        try StateStore.validate(id: id)
        let d = dir(id)
        var fd: Int32 = -1
        if lock {
            fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 { throw errno == ENOENT ? .notExist : .system("open \(d)", errno) }
            if flock(fd, LOCK_EX) != 0 { let e = errno; close(fd); throw .system("lock \(d)", e) }
        }
        // state.json is replaced whole (`Files.writeAtomic`), never appended to: one read sees all of it.
        let file = rootFD == AT_FDCWD ? d + "/" + ContainerState.fileName : id + "/" + ContainerState.fileName
        guard let bytes = Files.readSmall(file, at: rootFD, capacity: 16384) else {
            if fd >= 0 { close(fd) }
            throw .notExist  // still being created, or a leftover without state: not a container yet
        }
        do {
            let json = try JSONValue.parse(bytes)
            return Handle(id: id, dir: d, fd: fd, state: try ContainerState(json: json))
        } catch let e as RuntimeError {
            if fd >= 0 { close(fd) }
            throw e
        } catch {
            if fd >= 0 { close(fd) }
            throw RuntimeError(.system, "corrupt state file \(d)/\(ContainerState.fileName)")
        }
    }

    /// Makes `<root>/<id>` and returns its fd, locked: the id is ours until the fd is closed. An existing directory
    /// is "container with given ID already exists", unless it is the record of a create that died before it
    /// committed (its creator is gone and its lock is free): that is cleaned up as `delete` would, and the id
    /// claimed again.
    func claim(_ id: String, log: Logger) throws(RuntimeError) -> Int32 {
        try Files.mkdirAll(root, mode: 0o700)
        let d = dir(id)
        for attempt in 0..<2 {
            if mkdir(d, 0o711) == 0 {
                let fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd < 0 || flock(fd, LOCK_EX) != 0 {
                    let e = errno
                    if fd >= 0 { close(fd) }
                    rmdir(d)
                    throw .system("lock \(d)", e)
                }
                return fd
            }
            if errno != EEXIST { throw .system("mkdir \(d)", errno) }
            guard attempt == 0, reclaimAbandoned(id, log: log) else { break }
        }
        throw .alreadyExists
    }

    /// Removes the record of a create whose process died before committing. False when the id is held by anyone
    /// (a lock is taken, or the state is not such a record).
    private func reclaimAbandoned(_ id: String, log: Logger) -> Bool {
        let d = dir(id)
        let fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0,
              let bytes = try? Spec.readFile(d + "/" + ContainerState.fileName),
              let json = try? JSONValue.parse(bytes), let state = try? ContainerState(json: json),
              state.creator != nil, state.status(in: d) == .stopped
        else { return false }
        log.debug("removing \(id): its create died before the container was committed")
        state.removeAbandonedCgroups()
        state.closeAbandonedTrail(dir: d)
        StateStore.removeContainerDir(d, lockFD: fd)
        return true
    }

    /// The identity `create` records as the container's creator: this process, by pid and start time.
    static func creatorIdentity() throws(RuntimeError) -> (pid: Int32, startTime: UInt64) {
        let me = getpid()
        guard let st = Proc.stat(me) else { throw RuntimeError(.system, "read /proc/\(me)/stat") }
        return (me, st.startTime)
    }

    /// Writes `<dir>/state.json` atomically (readers never see half a file).
    func writeState(_ dir: String, _ state: ContainerState) throws(RuntimeError) {
        try Files.writeAtomic(dir + "/" + ContainerState.fileName, state.json().serialized(), mode: 0o600)
    }

    /// Removes a container's directory, but only while `dir` is still the directory `lockFD` has open (a concurrent
    /// `delete --force` and a new create of the id may have replaced it). state.json goes last, so a removal that is
    /// killed half-way leaves a record `delete` can finish.
    static func removeContainerDir(_ dir: String, lockFD: Int32) {
        var mine = stat(), now = stat()
        guard fstat(lockFD, &mine) == 0, lstat(dir, &now) == 0, mine.st_dev == now.st_dev, mine.st_ino == now.st_ino
        else { return }
        for e in Files.entries(dir, noFollow: true) ?? [] where e.name != ContainerState.fileName {
            let child = dir + "/" + e.name
            var st = stat()
            if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { Files.removeAll(child) } else { unlink(child) }
        }
        unlink(dir + "/" + ContainerState.fileName)
        rmdir(dir)
    }

    /// The containers under the root; a root that does not exist has none (unless `missingIsError`: runc main's
    /// `list` with a `--root` that does not exist), one that cannot be read (not a directory, no permission) is
    /// an error, as with runc.
    func ids(missingIsError: Bool = false) throws(RuntimeError) -> [String] {
        guard let entries = Files.entries(root) else {
            if errno == ENOENT && !missingIsError { return [] }
            throw .system("open \(root)", errno)
        }
        return entries.filter { !$0.name.hasBytePrefix(".") && $0.isDirectory }.map(\.name).sorted()
    }
}
