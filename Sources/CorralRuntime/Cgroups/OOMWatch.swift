import CCorralHost
import CCorral
import Glibc

/// OOM notifications for `events`, as runc gets them: on v1 an eventfd registered through cgroup.event_control
/// for memory.oom_control (it also fires when the cgroup is removed); on cgroup2 inotify on memory.events (an
/// increase of oom_kill) and cgroup.events (populated 0 ends the stream).
final class OOMWatch {
    enum Event { case oom, gone, none }

    let fd: Int32
    private let v1Dir: String?
    private let v2Dir: String?
    private var memoryWatch: Int32 = -1
    private var eventsWatch: Int32 = -1
    private var oomKills: UInt64 = 0
    private var extraFD: Int32 = -1

    /// nil when the container has no memory cgroup to watch.
    init?(_ set: CgroupSet) {
        if let d = set.v1("memory") {
            let efd = corral_eventfd(0)
            guard efd >= 0 else { return nil }
            let ofd = open(d + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
            if ofd < 0 || CgroupFS.write(d, "cgroup.event_control", "\(efd) \(ofd)") != 0 {
                close(efd)
                if ofd >= 0 { close(ofd) }
                return nil
            }
            fd = efd
            extraFD = ofd
            v1Dir = d
            v2Dir = nil
            return
        }
        if let d = set.v2, CgroupFS.exists(d, "memory.events") {
            let ifd = inotify_init1(Int32(IN_CLOEXEC))
            guard ifd >= 0 else { return nil }
            fd = ifd
            v1Dir = nil
            v2Dir = d
            memoryWatch = inotify_add_watch(ifd, d + "/memory.events", UInt32(IN_MODIFY))
            eventsWatch = inotify_add_watch(ifd, d + "/cgroup.events", UInt32(IN_MODIFY))
            oomKills = CgroupFS.value(d, "memory.events", key: "oom_kill") ?? 0
            if memoryWatch < 0 { close(ifd); return nil }
            return
        }
        return nil
    }

    deinit {
        close(fd)
        if extraFD >= 0 { close(extraFD) }
    }

    /// Called when `fd` is readable: what happened.
    func consume() -> Event {
        if let d = v1Dir {
            var count: UInt64 = 0
            _ = read(fd, &count, 8)
            // The eventfd also fires when the cgroup goes away.
            return Files.exists(d + "/cgroup.event_control") ? .oom : .gone
        }
        guard let d = v2Dir else { return .none }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return .none }
        var result = Event.none
        var off = 0
        while off + 16 <= n {
            let wd = buf.withUnsafeBytes { $0.load(fromByteOffset: off, as: Int32.self) }
            let len = Int(buf.withUnsafeBytes { $0.load(fromByteOffset: off + 12, as: UInt32.self) })
            off += 16 + len
            if wd == memoryWatch {
                let kills = CgroupFS.value(d, "memory.events", key: "oom_kill") ?? oomKills
                if kills > oomKills { oomKills = kills; result = .oom }
            } else if wd == eventsWatch {
                if (CgroupFS.value(d, "cgroup.events", key: "populated") ?? 0) == 0 && result == .none { result = .gone }
            }
        }
        return result
    }
}
