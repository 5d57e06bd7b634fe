import CCorral
import CCorralHost
import Glibc

/// `run` in the foreground: forwards signals to the init, relays the terminal if we allocated one, reaps
/// orphans as a subreaper, and returns the init's exit status (128+signal when killed, as a shell reports it).
enum ForegroundWait {
    /// `master`: a pty master to relay that the caller already has (restore's); else, with `relaySocket`, the one
    /// that arrives there.
    static func wait(initPid: Int32, relaySocket: Int32, master given: Int32 = -1, signalFD sfd: Int32) -> Int32 {
        var master = given
        if relaySocket >= 0 {
            var name = [CChar](repeating: 0, count: 128)
            master = corral_recv_fd(relaySocket, &name, Int32(name.count))
            close(relaySocket)
        }
        let relay = master >= 0 ? TerminalRelay(master: master) : nil
        var exitCode: Int32?
        while exitCode == nil || (relay?.draining ?? false) {
            let timeout: Int32 = exitCode == nil ? -1 : 100
            // Without a terminal to relay, one pollfd on the stack: an Array of pollfd would cost its metadata's
            // run-time instantiation in every foreground `run` and `exec`.
            var signalPoll = pollfd(fd: sfd, events: Int16(POLLIN), revents: 0)
            var fds: [pollfd] = []
            let r: Int32
            if let relay {
                fds = [signalPoll] + relay.pollFDs()
                r = poll(&fds, nfds_t(fds.count), timeout)
                if r > 0 { signalPoll = fds[0] }
            } else {
                r = poll(&signalPoll, 1, timeout)
            }
            if r < 0 { if errno == EINTR { continue }; break }
            if r == 0 { break }  // draining the terminal after exit timed out
            if signalPoll.revents & Int16(POLLIN) != 0 {
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
