import CorralSpec
import Glibc

/// Reading and writing cgroup files. A cgroup file takes one value per write(2) and never grows, so writes go
/// through O_WRONLY|O_TRUNC without O_CREAT: a missing file is an error (the controller is not there), and the
/// same code works against a plain directory tree in tests.
enum CgroupFS {
    /// Writes `value` to dir/file in a single write(2). Returns 0 or an errno.
    static func write(_ dir: String, _ file: String, _ value: String) -> Int32 {
        let path = dir + "/" + file
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        if fd < 0 { return errno }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        while true {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n == bytes.count { return 0 }
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? errno : EIO
        }
    }

    /// `write`, turning a failure into an error that names the config field.
    static func set(_ dir: String, _ file: String, _ value: String, field: String) throws(RuntimeError) {
        let e = write(dir, file, value)
        if e != 0 { throw writeError(dir, file, value, e, field: field) }
    }

    static func writeError(_ dir: String, _ file: String, _ value: String, _ e: Int32, field: String) -> RuntimeError {
        let what = "write \(JSONValue.quoted(value)) to \(dir)/\(file): \(errnoText(e))"
        return RuntimeError(.system, field.isEmpty ? what : "\(field): \(what)")
    }

    /// The file's contents without the trailing newline; nil when it cannot be read.
    static func read(_ dir: String, _ file: String) -> String? {
        guard let s = Files.readString(dir + "/" + file) else { return nil }
        var end = s.utf8.endIndex
        while end != s.utf8.startIndex, s.utf8[s.utf8.index(before: end)] == UInt8(ascii: "\n") { s.utf8.formIndex(before: &end) }
        return end == s.utf8.endIndex ? s : String(s[..<end])
    }

    /// A file of one value (freezer.state, cgroup.freeze), trimmed, read in one go (`Files.readSmall`): `list`
    /// reads one per container. nil when it cannot be read.
    static func readValue(_ dir: String, _ file: String) -> String? {
        guard let b = Files.readSmall(dir + "/" + file) else { return nil }
        return String(decoding: b, as: UTF8.self).cgTrimmed
    }

    /// A number file; "max" reads as UInt64.max.
    static func readUInt(_ dir: String, _ file: String) -> UInt64? {
        guard let s = read(dir, file)?.cgTrimmed else { return nil }
        if s == "max" { return UInt64.max }
        return UInt64(s)
    }

    /// "key value" lines (memory.stat, cpu.stat, pids.events, ...), in file order.
    static func keyValues(_ dir: String, _ file: String) -> [(String, UInt64)]? {
        guard let text = read(dir, file) else { return nil }
        var out: [(String, UInt64)] = []
        for line in text.splitASCII("\n") {
            let p = line.splitASCII(" ")
            if p.count == 2, let v = UInt64(p[1]) { out.append((String(p[0]), v)) }
        }
        return out
    }

    static func value(_ dir: String, _ file: String, key: String) -> UInt64? {
        keyValues(dir, file)?.first { $0.0 == key }?.1
    }

    static func exists(_ dir: String, _ file: String) -> Bool { Files.exists(dir + "/" + file) }

    /// Names in a directory (no "." / ".."), sorted.
    static func entries(_ dir: String) -> [String] {
        (Files.entries(dir) ?? []).map(\.name).sorted()
    }

    /// Sub-cgroups of dir (directories only), in directory order. Uses readdir's d_type (cgroupfs fills it in)
    /// instead of an lstat per entry: a v1 cgroup directory holds dozens of files and every delete walks them.
    static func children(_ dir: String) -> [String] {
        (Files.entries(dir) ?? []).compactMap { e in
            if e.isDirectory { return e.name }
            guard e.type == UInt8(DT_UNKNOWN) else { return nil }
            var st = stat()
            return lstat(dir + "/" + e.name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR ? e.name : nil
        }
    }

    /// Every pid in dir's cgroup.procs and in those of its descendants (runc's GetAllPids).
    static func pids(_ dir: String) -> [Int32] {
        var out: [Int32] = []
        if let text = read(dir, "cgroup.procs") {
            for line in text.splitASCII("\n") { if let p = Int32(line) { out.append(p) } }
        }
        for c in children(dir) { out += pids(dir + "/" + c) }
        return out
    }

    /// rmdir of a cgroup, its sub-cgroups first; EBUSY (tasks still leaving) is retried for about a second, as
    /// runc's RemovePaths does. Returns 0 or the last errno; a missing directory counts as removed.
    static func remove(_ dir: String) -> Int32 {
        // The usual cgroup is an empty leaf: one rmdir, no directory listing.
        if rmdir(dir) == 0 || errno == ENOENT { return 0 }
        for c in children(dir) { _ = remove(dir + "/" + c) }
        var delay: UInt32 = 10_000
        for _ in 0..<8 {
            if rmdir(dir) == 0 || errno == ENOENT { return 0 }
            if errno != EBUSY { return errno }
            usleep(delay)
            delay = min(delay * 2, 200_000)
        }
        return errno
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and newlines.
    var cgTrimmed: String {
        // On UTF-8 bytes: these are ASCII separators, and Character-wise trimming is slow.
        func ws(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        var u = Substring(self).utf8[...]
        while let f = u.first, ws(f) { u = u.dropFirst() }
        while let l = u.last, ws(l) { u = u.dropLast() }
        return String(Substring(u))
    }
}
