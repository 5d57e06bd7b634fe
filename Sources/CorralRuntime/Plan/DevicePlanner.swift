import CorralSpec
import Glibc

/// /dev as runc builds it: the default nodes, the config's `linux.devices`, and the standard symlinks.
enum DevicePlanner {
    /// The nodes every container gets (OCI runtime-spec "Default Devices").
    static let defaults: [(String, UInt32, UInt32)] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ]

    /// Device nodes may go anywhere in the container, as with runc, but not onto the root or /dev themselves.
    /// `/dev/ptmx` is always the link to the container's devpts (runc replaces a configured node with it): a
    /// node would reach the host's pty instance. `note` gets that at debug level.
    static func devices(_ config: [Device], inUserNS: Bool, note: (String) -> Void = { _ in }) throws(RuntimeError) -> [DeviceOp] {
        var out: [DeviceOp] = []
        for (path, major, minor) in defaults where !config.contains(where: { Files.clean($0.path) == path }) {
            out.append(DeviceOp(path: path, mode: S_IFCHR | 0o666, major: major, minor: minor, bindFromHost: inUserNS))
        }
        for (i, d) in config.enumerated() {
            let path = Files.clean(d.path.hasBytePrefix("/") ? d.path : "/" + d.path)
            if path == "/" || path == "/dev" {
                throw RuntimeError(.config, "linux.devices[\(i)].path: \"\(d.path)\" is not a device path")
            }
            if path == "/dev/ptmx" {
                note("linux.devices[\(i)]: /dev/ptmx is the link to the container's devpts (pts/ptmx), not a node")
                continue
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
    static func symlinks() -> [MountOp] {
        var links: [(String, String)] = [
            ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
            ("/proc/self/fd/2", "/dev/stderr"),
        ]
        if Files.exists("/proc/kcore") { links.append(("/proc/kcore", "/dev/core")) }
        links.append(("pts/ptmx", "/dev/ptmx"))
        return links.map { MountOp(kind: .symlink, dest: $0.1, source: $0.0, label: "symlink", configIndex: -1) }
    }
}
