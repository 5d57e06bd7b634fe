import CCorral
import Glibc

/// How a new container process enters its cgroups without the parent writing cgroup.procs: the `tasks` file of
/// every v1 directory, opened here for the child to write "0" to (it moves itself, one thread, which the kernel does
/// without the global threadgroup rwsem and so without an RCU grace period), and the cgroup2 directory for clone3's
/// CLONE_INTO_CGROUP. Opening also checks that every file is there before anything is cloned.
struct CgroupEntry {
    /// The v1 directories, in the order of `tasksFDs` (for the child's error, which names an index).
    private(set) var v1Dirs: [String] = []
    private(set) var tasksFDs: [Int32] = []
    private(set) var v2Dir: String?
    private(set) var v2FD: Int32 = -1

    /// Every v1 directory has its `tasks` file and the cgroup2 directory is there. An exec into sub-cgroups that
    /// are not is placed by the parent instead, whose cgroup.procs write names the missing file as runc does.
    static func isComplete(_ set: CgroupSet) -> Bool {
        set.directories.allSatisfy { dir in access(dir == set.v2 ? dir : dir + "/tasks", F_OK) == 0 }
    }

    static func open(_ set: CgroupSet) throws(RuntimeError) -> CgroupEntry {
        var e = CgroupEntry()
        do throws(RuntimeError) {
            for dir in set.directories where dir != set.v2 {
                let fd = Glibc.open(dir + "/tasks", O_WRONLY | O_CLOEXEC)
                if fd < 0 { throw CgroupManager.placeError(dir, "tasks", errno) }
                e.v1Dirs.append(dir)
                e.tasksFDs.append(fd)
            }
            if let dir = set.v2 {
                // Not O_PATH: clone3 needs a descriptor it can fdget().
                let fd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd < 0 { throw CgroupManager.placeError(dir, "cgroup.procs", errno) }
                e.v2Dir = dir
                e.v2FD = fd
            }
        } catch {
            e.close()
            throw error
        }
        return e
    }

    /// Replaces the fds by the ones `move` returns (ChildFDs lifts them above the container's kept range).
    mutating func remap(_ move: (Int32) throws(RuntimeError) -> Int32) throws(RuntimeError) {
        for i in tasksFDs.indices { tasksFDs[i] = try move(tasksFDs[i]) }
        if v2FD >= 0 { v2FD = try move(v2FD) }
    }

    /// The child's failure to enter v1 directory `index`, in the words of a failed placement.
    func error(index: Int32, err: Int32) -> RuntimeError {
        let dir = index >= 0 && Int(index) < v1Dirs.count ? v1Dirs[Int(index)] : "its cgroup"
        return CgroupManager.placeError(dir, "tasks", err)
    }

    func close() {
        for fd in tasksFDs where fd >= 0 { Glibc.close(fd) }
        if v2FD >= 0 { Glibc.close(v2FD) }
    }
}
