import CCorralHost
import CCorral
import Glibc

/// Reads the container's /etc/passwd the way runc's user lookup does, through openat2 (RESOLVE_IN_ROOT), so a
/// symlink in the image cannot make us read a host file. `rootfs` is the bundle's rootfs at create and the running
/// init's /proc/<pid>/root at exec.
enum ContainerAccounts {
    /// The home directory of `uid` in the image ("/" when it has none), for HOME.
    static func home(rootfs: String, uid: UInt32) -> String {
        guard let passwd = read(rootfs: rootfs, path: "/etc/passwd") else { return "/" }
        for line in passwd.splitASCII("\n") {
            let f = line.splitASCII(":", omittingEmptySubsequences: false)
            if f.count >= 6, UInt32(f[2]) == uid { return f[5].isEmpty ? "/" : String(f[5]) }
        }
        return "/"
    }

    static func read(rootfs: String, path: String) -> String? {
        let root = open(rootfs, CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return nil }
        defer { close(root) }
        // Resolved inside the root. Non-blocking and regular files only: at exec the container is
        // running, and a FIFO planted as /etc/passwd must not hang the runtime.
        let fd = corral_openat2(root, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0, Files.resolveInRoot)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count < 4 << 20 {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
