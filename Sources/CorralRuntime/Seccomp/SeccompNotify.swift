import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// Hands a seccomp notify listener to `linux.seccomp.listenerPath`, as the runtime spec says: connect (AF_UNIX,
/// SOCK_STREAM), send the container process state as one JSON message with the listener fd attached (SCM_RIGHTS),
/// close. The agent answers the container's notifications on that fd; corral keeps no copy.
enum SeccompNotify {
    /// The container process state (runtime-spec `ContainerProcessState`, as runc sends it): `status` is
    /// "creating" during create, the container's status for an exec'd process.
    static func processState(pid: Int32, metadata: String?, id: String, bundle: String,
                             annotations: [String: String], status: ContainerState.Status = .creating) -> JSONValue {
        let state = ContainerState.specState(id: id, status: status, pid: pid, bundle: bundle, annotations: annotations)
        var o = JSONObject()
        o["ociVersion"] = .string(Version.spec)
        o["fds"] = ["seccompFd"]
        o["pid"] = JSONValue(Int(pid))
        if let m = metadata, !m.isEmpty { o["metadata"] = .string(m) }
        o["state"] = .object(state)
        return .object(o)
    }

    /// Sends `listener` (always closed here) with the state to `path`.
    static func handOver(listener: Int32, path: String, state: JSONValue) throws(RuntimeError) {
        defer { close(listener) }
        let target = Files.absolute(path)
        let sock = corral_connect_unix(target)
        if sock < 0 {
            // runc's words ("failed to connect with seccomp agent specified in the seccomp profile"), with the field.
            throw RuntimeError(.system, "failed to connect with seccomp agent: linux.seccomp.listenerPath: connect to \(target): \(errnoText(-sock))")
        }
        defer { close(sock) }
        let r = corral_send_fd(sock, listener, state.serialized())
        if r < 0 {
            throw RuntimeError(.system, "linux.seccomp.listenerPath: send the seccomp listener to \(target): \(errnoText(-r))")
        }
    }
}
