import CCorral
import CCorralHost
import Glibc

/// The descriptors a container child starts with besides stdio: the sync socket, the exec fifo, the console socket,
/// namespaces to join, the init's pidfd (exec), the cgroup files it enters its cgroups through and the bind sources
/// the parent prepared. None may sit in the range
/// the container keeps (3 .. 3+preserve-fds): those the launcher owns are moved above it, and those the caller
/// owns (fifo, console socket, pidfd) are duplicated above it, so the caller's own fd stays valid and is closed by
/// the caller. `close()` closes what the launcher owns, except the child's end of the socket, which the launcher
/// closes as soon as the child has it.
struct ChildFDs {
    var parentEnd: Int32 = -1
    var childEnd: Int32 = -1
    var fifo: Int32 = -1
    var console: Int32 = -1
    var initPidFD: Int32 = -1
    var joins: [corral_join] = []
    /// The container's cgroups (`tasks` fds of v1 directories, the cgroup2 directory), when it gets any.
    var cgroups: CgroupEntry?
    /// Mount index → detached bind mount (BindSources), one block above every other fd.
    var sources: [Int: Int32] = [:]
    private var owned: [Int32] = []

    static func prepare(_ plan: LaunchPlan, channels: Launcher.Channels, entering: CgroupSet?) throws(RuntimeError) -> ChildFDs {
        var f = ChildFDs()
        do throws(RuntimeError) {
            let floor = Int32(3 + plan.preserveFDs) + 10
            /// Above the kept range: a launcher-owned fd is moved (the old number closed), a caller-owned one copied.
            func above(_ fd: Int32, owned: Bool) throws(RuntimeError) -> Int32 {
                guard fd >= 0, fd < floor, plan.preserveFDs > 0 else {
                    if owned { f.owned.append(fd) }
                    return fd
                }
                let n = fcntl(fd, F_DUPFD_CLOEXEC, floor)
                if n < 0 { throw .system("fcntl F_DUPFD", errno) }
                if owned { Glibc.close(fd) }
                f.owned.append(n)
                return n
            }
            for j in plan.joins {
                let fd = open(j.path, O_RDONLY | O_CLOEXEC)
                if fd < 0 { throw RuntimeError(.config, "linux.namespaces: open \(j.path): \(errnoText(errno))") }
                let t = corral_ns_type(fd)
                if t < 0 || UInt64(t) != j.flag {
                    Glibc.close(fd)
                    throw RuntimeError(.config, "linux.namespaces: \(j.path) is not a \(j.type) namespace")
                }
                f.joins.append(corral_join(fd: try above(fd, owned: true), nstype: Int32(j.flag)))
            }
            var pair: [Int32] = [-1, -1]
            if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
                throw .system("socketpair", errno)
            }
            f.parentEnd = pair[0]
            f.owned.append(pair[0])
            f.childEnd = try above(pair[1], owned: true)
            let childEnd = f.childEnd   // read outside the closure: `f` is being modified (exclusive access)
            f.owned.removeAll { $0 == childEnd }   // closed by the launcher once the child has it
            f.fifo = try above(channels.fifoFD, owned: false)
            f.console = try above(channels.consoleSocketFD, owned: false)
            f.initPidFD = plan.enterFlags != 0 ? try above(channels.initPidFD, owned: false) : -1
            if let set = entering {
                var entry = try CgroupEntry.open(set)
                try entry.remap { (fd: Int32) throws(RuntimeError) -> Int32 in try above(fd, owned: true) }
                f.cgroups = entry
            }
            // Last of our fds, so they form one block above all the others (the child keeps that block).
            f.sources = try BindSources.prepare(plan)
            f.owned += f.sources.values
        } catch {
            f.close()
            if f.childEnd >= 0 { Glibc.close(f.childEnd) }
            throw error
        }
        return f
    }

    func close() {
        for fd in owned where fd >= 0 { Glibc.close(fd) }
    }
}
