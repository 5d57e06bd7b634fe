import CCorralHost
import CorralSpec
import Glibc

/// `corral events --denials ID`: denials.jsonl as `tail -f` shows it, from its first line, one JSON object per
/// line, until the container's monitor is gone (the container ended and everything was written) or the file is
/// deleted with the container. Waiting costs nothing: inotify on the file and the monitor's pidfd.
enum DenialStream {
    static func follow(_ h: StateStore.Handle) throws(RuntimeError) -> Int32 {
        guard let m = h.state.monitor, m.seccompAudit else {
            throw RuntimeError(.invalidState, "container \(h.id) is not in seccomp audit mode (annotation \(SandboxSettings.seccompAuditKey)=true, or the policy's seccompAudit)")
        }
        let path = h.dir + "/" + DenialLog.fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .system("open \(path)", errno) }
        defer { close(fd) }
        var monitor = corral_pidfd_open(m.pid)
        if monitor >= 0 && !m.alive { close(monitor); monitor = -1 }
        defer { if monitor >= 0 { close(monitor) } }
        let watch = inotify_init1(Int32(IN_CLOEXEC) | Int32(IN_NONBLOCK))
        defer { if watch >= 0 { close(watch) } }
        if watch >= 0 { _ = inotify_add_watch(watch, path, UInt32(IN_MODIFY | IN_DELETE_SELF | IN_ATTRIB)) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        func drain() {
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                pending += buf[0..<n]
            }
            // Only whole lines: the monitor writes each line in one write(2), but a reader can still be faster.
            if let nl = pending.lastIndex(of: 0x0A) {
                let out = Array(pending[...nl])
                pending.removeFirst(nl + 1)
                _ = out.withUnsafeBytes { Files.writeAll(1, $0) }
            }
        }
        drain()
        while monitor >= 0 {
            var fds = [pollfd(fd: monitor, events: Int16(POLLIN), revents: 0), pollfd(fd: watch, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 2, -1)
            if r < 0 { if errno == EINTR { continue }; break }
            var gone = fds[0].revents != 0
            if fds[1].revents != 0 {
                var ev = [UInt8](repeating: 0, count: 4096)
                _ = ev.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
                var st = stat()
                if fstat(fd, &st) == 0 && st.st_nlink == 0 { gone = true }
            }
            drain()
            if gone { break }
        }
        drain()
        return 0
    }
}
