import CCorralHost
import CCorral
import CorralSpec
import Glibc

extension Commands {
    static let run = Verb(name: "run", usage: "[command options] <container-id>", summary: "create and run a container",
                          options: createOptions + [
                            OptionSpec(["d", "detach"], "detach from the container's process"),
                            OptionSpec(["keep"], "do not delete the container after it exits"),
                            OptionSpec(["no-subreaper"], "disable the use of the subreaper used to reap reparented processes"),
                          ]) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        let detach = o.bool("detach")
        if detach && o.bool("keep") { throw RuntimeError(.usage, "--detach and --keep cannot both be used") }
        if !detach && !o.bool("no-subreaper") {
            // Orphans of the container (e.g. without a pid namespace) are reparented to us and reaped below.
            _ = corral_set_child_subreaper()
        }
        let created = try createContainer(ctx, id: id, o, verb: "run", relayTerminal: !detach)
        let h = created.handle
        // Signals that arrive from here on are forwarded to the container, not acted upon by us.
        let signals = corral_signalfd_all()
        do throws(RuntimeError) {
            try startContainer(h, log: ctx.log)
        } catch {
            try? destroy(h, force: true, log: ctx.log)
            throw error
        }
        if detach { return 0 }
        // The lock is not held while the container runs: kill, pause, exec, update and delete from other shells
        // must not wait for its exit (runc holds none either).
        flock(h.fd, LOCK_UN)
        let code = ForegroundWait.wait(initPid: h.state.pid, relaySocket: created.relaySocket, signalFD: signals)
        if !o.bool("keep") {
            // Someone may have deleted it meanwhile (and the id may even name a new container): only the one we
            // started is removed.
            if flock(h.fd, LOCK_EX) == 0, let now = try? ctx.store.open(id, lock: false),
               now.state.pid == h.state.pid, now.state.pidStartTime == h.state.pidStartTime {
                try? destroy(now, force: true, log: ctx.log)
            }
        }
        return code
    }
}

/// `run` in the foreground: forwards signals to the init, relays the terminal if we allocated one, reaps
/// orphans as a subreaper, and returns the init's exit status (128+signal when killed, as a shell reports it).
enum ForegroundWait {
    static func wait(initPid: Int32, relaySocket: Int32, signalFD sfd: Int32) -> Int32 {
        var master: Int32 = -1
        if relaySocket >= 0 {
            var name = [CChar](repeating: 0, count: 128)
            master = corral_recv_fd(relaySocket, &name, Int32(name.count))
            close(relaySocket)
        }
        let relay = master >= 0 ? TerminalRelay(master: master) : nil
        var exitCode: Int32?
        while exitCode == nil || (relay?.draining ?? false) {
            var fds = [pollfd(fd: sfd, events: Int16(POLLIN), revents: 0)]
            if let relay { fds += relay.pollFDs() }
            let timeout: Int32 = exitCode == nil ? -1 : 100
            let r = poll(&fds, nfds_t(fds.count), timeout)
            if r < 0 { if errno == EINTR { continue }; break }
            if r == 0 { break }  // draining the terminal after exit timed out
            if fds[0].revents & Int16(POLLIN) != 0 {
                while true {
                    let sig = corral_signalfd_read(sfd)
                    if sig <= 0 { break }
                    if sig == SIGCHLD {
                        var status: Int32 = 0
                        while true {
                            let pid = waitpid(-1, &status, WNOHANG)
                            if pid <= 0 { break }
                            if pid == initPid { exitCode = decode(status) }
                        }
                    } else if sig == SIGWINCH, let relay {
                        relay.copyWindowSize()
                    } else {
                        Glibc.kill(initPid, sig)
                    }
                }
            }
            relay?.service(Array(fds.dropFirst()))
        }
        relay?.restore()
        if exitCode == nil {
            var status: Int32 = 0
            if waitpid(initPid, &status, 0) == initPid { exitCode = decode(status) }
        }
        return exitCode ?? 255
    }

    static func decode(_ status: Int32) -> Int32 {
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

/// Copies between our stdio and the pty master of a container we started in the foreground (runc does the same
/// when `run` has a terminal and no --console-socket). Our terminal is put in raw mode meanwhile.
final class TerminalRelay {
    let master: Int32
    private var saved: termios?
    private(set) var draining = true
    private var stdinOpen = true

    init(master: Int32) {
        self.master = master
        var t = termios()
        if isatty(0) != 0 && tcgetattr(0, &t) == 0 {
            saved = t
            var raw = t
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
        }
        copyWindowSize()
    }

    func copyWindowSize() {
        var ws = winsize()
        if ioctl(0, UInt(TIOCGWINSZ), &ws) == 0 { _ = corral_ioctl_winsize(master, ws.ws_row, ws.ws_col) }
    }

    func pollFDs() -> [pollfd] {
        [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
         pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
    }

    func service(_ fds: [pollfd]) {
        guard fds.count == 2 else { return }
        var buf = [UInt8](repeating: 0, count: 32768)
        if fds[0].revents != 0 {
            let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 { _ = buf.withUnsafeBytes { Files.writeAll(1, UnsafeRawBufferPointer(rebasing: $0[0..<n])) } } else { draining = false }
        }
        if fds[1].revents != 0 {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n > 0 { _ = buf.withUnsafeBytes { Files.writeAll(master, UnsafeRawBufferPointer(rebasing: $0[0..<n])) } } else { stdinOpen = false }
        }
    }

    func restore() {
        if var t = saved { tcsetattr(0, TCSANOW, &t) }
        close(master)
    }
}
