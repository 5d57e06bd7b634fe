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
                h.state = now.state   // removed through our own locked fd: the directory we created
                try? destroy(h, force: true, log: ctx.log)
            }
        }
        return code
    }
}
