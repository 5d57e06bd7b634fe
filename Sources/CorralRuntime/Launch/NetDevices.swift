import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// linux.netDevices: host interfaces moved into a created container's network namespace (netdev.c does the
/// netlink work), while its init waits parked and before the container is recorded.
enum NetDevices {
    static func move(_ devices: [(host: String, name: String)], into initPid: Int32) throws(RuntimeError) {
        guard !devices.isEmpty else { return }
        let ns = open("/proc/\(initPid)/ns/net", O_RDONLY | O_CLOEXEC)
        if ns < 0 { throw .system("open the container's network namespace", errno) }
        defer { close(ns) }
        for d in devices {
            var what = [CChar](repeating: 0, count: 96)
            let r = corral_netdev_move(d.host, d.name, ns, &what, Int32(what.count))
            if r < 0 {
                throw RuntimeError(.childSetup, "linux.netDevices[\(JSONValue.quoted(d.host))]: \(String(cString: what)): \(errnoText(-r))")
            }
        }
    }
}
