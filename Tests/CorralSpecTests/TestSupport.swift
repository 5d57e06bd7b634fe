import Glibc

/// The project's shared reference data: `../shared/data` beside the package (where CI places it), else the
/// workplace copy. Tests that need it skip when neither exists.
let sharedDataDir: String = {
    var root = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
    root = "/" + root
    for candidate in [root + "/../shared/data", "/work/shared/data"] where access(candidate, R_OK) == 0 { return candidate }
    return "/work/shared/data"
}()

/// Where the shared engine fixtures live (outside the repo; tests skip when it is absent).
let dataDir = sharedDataDir + "/engines/"

/// Reads a whole file with Glibc (tests may not use Foundation); nil if it cannot be opened.
func readTestFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}
