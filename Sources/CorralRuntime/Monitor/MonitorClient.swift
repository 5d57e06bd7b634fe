import CCorralHost
import Glibc

/// `exec` into a container in seccomp audit mode: the exec'd process loads the audit form of the profile too, and
/// its listener goes to the container's monitor over `<state dir>/monitor.sock`, so its denials are reported like
/// the init's. Nothing happens for a container without audit mode.
enum MonitorClient {
    static func prepareExec(_ state: ContainerState, dir: String, plan: inout LaunchPlan,
                            host: inout HandshakeHost) throws(RuntimeError) {
        guard let m = state.monitor, m.seccompAudit, let sc = plan.seccomp else { return }
        plan.seccomp = try SeccompAudit.plan(sc, field: "annotations[\"\(SandboxSettings.seccompAuditKey)\"]")
        host.listener = .monitorSocket(path: dir + "/" + MonitorMessage.socketName)
    }

    /// `start`: tells the monitor the init was released (its wall clock starts). Best effort and without waiting:
    /// a monitor that does not hear it sees exec.fifo gone within a second.
    static func notifyStarted(dir: String) {
        let sock = corral_connect_unix_type(dir + "/" + MonitorMessage.socketName, Int32(SOCK_SEQPACKET.rawValue))
        if sock < 0 { return }
        _ = MonitorMessage.send(sock, MonitorMessage.started)
        close(sock)
    }

    /// Sends `listener` to the monitor and waits until it has taken it.
    static func handOver(listener: Int32, path: String) throws(RuntimeError) {
        let sock = corral_connect_unix_type(path, Int32(SOCK_SEQPACKET.rawValue))
        if sock < 0 { throw .system("hand the seccomp listener to the container's monitor: connect to \(path)", -sock) }
        defer { close(sock) }
        let r = MonitorMessage.send(sock, MonitorMessage.listener, fd: listener)
        if r < 0 { throw .system("hand the seccomp listener to the container's monitor", -r) }
        guard let ack = MonitorMessage.receive(sock, timeoutMS: 5000), ack.type == MonitorMessage.ack else {
            throw RuntimeError(.system, "hand the seccomp listener to the container's monitor: no answer")
        }
    }
}
