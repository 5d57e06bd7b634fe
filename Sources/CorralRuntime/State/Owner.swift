import Glibc

/// The owner field of `state`: the user name of the uid running corral (from the host's /etc/passwd; a static
/// binary has no NSS).
enum Owner {
    static func name(_ uid: uid_t) -> String {
        if uid == 0 { return "root" }
        if let text = Files.readString("/etc/passwd") {
            for line in text.splitASCII("\n") {
                let f = line.splitASCII(":", omittingEmptySubsequences: false)
                if f.count > 2, UInt32(f[2]) == uid { return String(f[0]) }
            }
        }
        return String(uid)
    }
}
