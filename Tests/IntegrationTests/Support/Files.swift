// Small file-system, string and time helpers for the integration tests (no Foundation).
import Glibc

/// Error thrown by the harness helpers (setup problems, not assertions).
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Base directory for everything the integration tests create on the host.
let integrationTmpBase = "/tmp/corral-it"

/// Random lowercase hex string of `count` characters.
func randomHex(_ count: Int = 12) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for _ in 0..<count { s.append(digits[Int.random(in: 0..<16)]) }
    return s
}

/// mkdir -p with the given mode for created components.
func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, mode) != 0 && errno != EEXIST {
            throw HarnessError("mkdir \(current): \(errnoString())")
        }
    }
}

/// Creates a fresh directory `/tmp/corral-it/<prefix>-<random>` (mode 0755 so that unprivileged
/// or user-namespaced container processes could traverse it).
func makeTempDir(_ prefix: String, mode: mode_t = 0o755) throws -> String {
    try makeDirectories(integrationTmpBase, mode: 0o755)
    _ = chmod(integrationTmpBase, 0o755)
    for _ in 0..<16 {
        let path = "\(integrationTmpBase)/\(prefix)-\(randomHex(10))"
        if mkdir(path, mode) == 0 {
            _ = chmod(path, mode)  // not subject to umask
            return path
        }
        if errno != EEXIST { throw HarnessError("mkdir \(path): \(errnoString())") }
    }
    throw HarnessError("cannot create a temporary directory under \(integrationTmpBase)")
}

/// Whole file as bytes, or nil if it cannot be read.
func readFileBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 { result.append(contentsOf: buf[0..<n]); continue }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        return result
    }
}

/// Whole file as a (lossily decoded) UTF-8 string, or nil if it cannot be read.
func readFile(_ path: String) -> String? {
    readFileBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

/// Writes (creates or truncates) a file and sets its mode exactly.
func writeFile(_ path: String, _ contents: String, mode: mode_t = 0o644) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { throw HarnessError("open \(path): \(errnoString())") }
    defer { close(fd) }
    let bytes = Array(contents.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n < 0 {
            if errno == EINTR { continue }
            throw HarnessError("write \(path): \(errnoString())")
        }
        off += n
    }
    guard fchmod(fd, mode) == 0 else { throw HarnessError("chmod \(path): \(errnoString())") }
}

/// lstat-based existence check (a dangling symlink exists).
func pathExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

/// File type bits of `path` (lstat), or nil if it does not exist.
func fileType(_ path: String) -> mode_t? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return st.st_mode & S_IFMT
}

func isDirectory(_ path: String) -> Bool { fileType(path) == S_IFDIR }
func isFIFO(_ path: String) -> Bool { fileType(path) == S_IFIFO }

/// Names in a directory (without . and ..), sorted; empty if it cannot be read.
func directoryEntries(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// readlink(2) as a string, nil on error.
func readLink(_ path: String) -> String? {
    var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(path, &buf, buf.count - 1)
    guard n >= 0 else { return nil }
    buf[n] = 0
    return String(cString: buf)
}

/// realpath(3), or the input when it cannot be resolved.
func realPath(_ path: String) -> String {
    guard let p = realpath(path, nil) else { return path }
    defer { free(p) }
    return String(cString: p)
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds passed; returns the last value.
@discardableResult
func waitUntil(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNow() + timeout
    while true {
        if condition() { return true }
        if monotonicNow() > deadline { return false }
        usleep(20_000)
    }
}

/// Is a process with this pid alive and not a zombie?
func processIsAlive(_ pid: Int) -> Bool {
    guard pid > 0, let stat = readFile("/proc/\(pid)/stat") else { return false }
    // Field 3 (state) follows the last ')' of the comm field.
    guard let close = stat.lastIndex(of: ")") else { return false }
    let rest = stat[stat.index(after: close)...].drop(while: { $0 == " " })
    return rest.first.map { $0 != "Z" && $0 != "X" } ?? false
}

/// /proc/<pid>/cmdline with NULs turned into spaces (trailing space trimmed), nil if gone.
func processCmdline(_ pid: Int) -> String? {
    guard let bytes = readFileBytes("/proc/\(pid)/cmdline") else { return nil }
    var s = String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    while s.hasSuffix(" ") { s.removeLast() }
    return s
}

/// Kills (SIGKILL) a pid if it is still alive; used as a last-resort cleanup.
func killIfAlive(_ pid: Int) {
    if pid > 0 && processIsAlive(pid) { kill(pid_t(pid), SIGKILL) }
}

extension String {
    /// Leading/trailing ASCII whitespace removed.
    var trimmed: String {
        let ws: Set<Character> = [" ", "\n", "\t", "\r"]
        var s = Substring(self)
        while let f = s.first, ws.contains(f) { s.removeFirst() }
        while let l = s.last, ws.contains(l) { s.removeLast() }
        return String(s)
    }

    /// Non-empty lines.
    var nonEmptyLines: [String] {
        split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}

/// True for RFC 3339 date-times such as `2026-08-07T10:00:00.123456789Z` or `...+02:00`
/// (`T`/`t` separator, optional fraction, `Z` or a numeric offset).
func isRFC3339(_ s: String) -> Bool {
    let c = Array(s.utf8)
    func digits(_ from: Int, _ n: Int) -> Bool {
        guard from + n <= c.count else { return false }
        return c[from..<(from + n)].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
    func at(_ i: Int, _ ch: Character) -> Bool { i < c.count && c[i] == ch.asciiValue! }
    guard digits(0, 4), at(4, "-"), digits(5, 2), at(7, "-"), digits(8, 2),
          at(10, "T") || at(10, "t"), digits(11, 2), at(13, ":"), digits(14, 2), at(16, ":"), digits(17, 2)
    else { return false }
    var i = 19
    if at(i, ".") {
        i += 1
        let start = i
        while i < c.count && c[i] >= 0x30 && c[i] <= 0x39 { i += 1 }
        if i == start { return false }
    }
    if at(i, "Z") || at(i, "z") { return i + 1 == c.count }
    if at(i, "+") || at(i, "-") {
        return digits(i + 1, 2) && at(i + 3, ":") && digits(i + 4, 2) && i + 6 == c.count
    }
    return false
}
