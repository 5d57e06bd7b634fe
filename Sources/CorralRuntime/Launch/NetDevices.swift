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
        // A namespace joined by path may be our own: "moving" would rename the host's interfaces in place.
        var theirs = stat(), ours = stat()
        if fstat(ns, &theirs) == 0, stat("/proc/self/ns/net", &ours) == 0, theirs.st_ino == ours.st_ino, theirs.st_dev == ours.st_dev {
            throw RuntimeError(.config, "linux.netDevices: the container's network namespace is the host's; devices are moved only into another one")
        }
        for d in devices {
            var what = [CChar](repeating: 0, count: 96)
            let r = corral_netdev_move(d.host, d.name, ns, &what, Int32(what.count))
            if r < 0 {
                throw RuntimeError(.childSetup, "linux.netDevices[\(JSONValue.quoted(d.host))]: \(String(cString: what)): \(errnoText(-r))")
            }
        }
    }
}
