import CorralSpec
import Glibc

/// /dev as runc builds it: the default nodes, the config's `linux.devices`, and the standard symlinks.
enum DevicePlanner {
    /// The nodes every container gets (OCI runtime-spec "Default Devices").
    static let defaults: [(String, UInt32, UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]

    static func devices(_ config: [Device], inUserNS: Bool) throws(RuntimeError) -> [DeviceOp] {
        var out: [DeviceOp] = []
        for (path, major, minor) in defaults where !config.contains(where: { Files.clean($0.path) == path }) {
            out.append(DeviceOp(path: path, mode: S_IFCHR | 0o666, major: major, minor: minor, bindFromHost: inUserNS))
        }
        for (i, d) in config.enumerated() {
            let path = Files.clean(d.path.hasBytePrefix("/") ? d.path : "/" + d.path)
            if path == "/dev" || !path.hasBytePrefix("/dev/") {
                throw RuntimeError(.config, "linux.devices[\(i)].path: \"\(d.path)\" is not inside /dev")
            }
            let type: UInt32 = switch d.type {
            case .c, .u: S_IFCHR
            case .b: S_IFBLK
            case .p: S_IFIFO
            }
            guard d.major >= 0, d.major <= 0xfff, d.minor >= 0, d.minor <= 0xfffff else {
                throw RuntimeError(.config, "linux.devices[\(i)]: invalid device number \(d.major):\(d.minor)")
            }
            let perm = (d.fileMode ?? 0o666) & 0o7777
            if inUserNS && d.type != .p {
                // mknod is not possible in a user namespace: bind the host's node (runc does the same).
                out.append(DeviceOp(path: path, mode: type | perm, major: UInt32(d.major), minor: UInt32(d.minor),
                                    uid: d.uid ?? 0, gid: d.gid ?? 0, bindFromHost: true))
            } else {
                out.append(DeviceOp(path: path, mode: type | perm, major: UInt32(d.major), minor: UInt32(d.minor),
                                    uid: d.uid ?? 0, gid: d.gid ?? 0))
            }
        }
        return out
    }

    /// /dev/fd, stdin, stdout, stderr, core (when the host has /proc/kcore) and the ptmx link to devpts.
    static func symlinks(devices: [DeviceOp]) -> [MountOp] {
        var links: [(String, String)] = [
            ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
            ("/proc/self/fd/2", "/dev/stderr"),
        ]
        if Files.exists("/proc/kcore") { links.append(("/proc/kcore", "/dev/core")) }
        if !devices.contains(where: { $0.path == "/dev/ptmx" }) { links.append(("pts/ptmx", "/dev/ptmx")) }
        return links.map { MountOp(kind: .symlink, dest: $0.1, source: $0.0, label: "symlink", configIndex: -1) }
    }
}
