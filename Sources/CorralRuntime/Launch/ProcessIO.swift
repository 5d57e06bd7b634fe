import CCorralHost
import CCorral
import Glibc

/// What `create`, `run` and `exec` hand to the process they start or to their caller besides stdio: the socket
/// activation fds (LISTEN_FDS) and the pidfd for `--pidfd-socket`.
enum ProcessIO {
    /// systemd socket activation as runc reads it (go-systemd's activation.Files): LISTEN_FDS fds from 3 on, when
    /// LISTEN_PID names this process; 0 otherwise. They go to the container as its fds 3.., before --preserve-fds.
    static func listenFDs() -> Int {
        guard let pidText = getenv("LISTEN_PID").map({ String(cString: $0) }), Int32(pidText) == getpid(),
              let countText = getenv("LISTEN_FDS").map({ String(cString: $0) }), let n = Int(countText), n > 0
        else { return 0 }
        // Only fds that are open: a stale LISTEN_FDS must not make the container keep whatever sits there.
        var open = 0
        while open < n && fcntl(Int32(3 + open), F_GETFD) >= 0 { open += 1 }
        return open
    }

    /// Connects to the --pidfd-socket path (runc dials it before it creates anything); -1 when none is given.
    static func connectPidfdSocket(_ path: String?) throws(RuntimeError) -> Int32 {
        guard let path else { return -1 }
        let fd = corral_connect_unix(Files.absolute(path))
        if fd < 0 { throw .system("failed to dial \(path)", -fd) }
        return fd
    }

    /// Sends a pidfd of `pid` on `socket` (SCM_RIGHTS), named as runc names it ("standard" for a container's
    /// init, "setns" for an exec'd process). Nothing to do for socket -1.
    static func sendPidfd(of pid: Int32, to socket: Int32, kind: String) throws(RuntimeError) {
        guard socket >= 0 else { return }
        let pidfd = corral_pidfd_open(pid)
        if pidfd < 0 { throw .system("failed to pidfd_open", -pidfd) }
        defer { close(pidfd) }
        let r = corral_send_fd(socket, pidfd, kind)
        if r < 0 { throw .system("failed to send pidfd on socket", -r) }
    }
}
