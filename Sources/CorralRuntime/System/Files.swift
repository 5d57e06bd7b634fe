import CCorralHost
import CorralSpec
import Glibc

/// File helpers on raw fds; every fd is opened O_CLOEXEC so nothing leaks into a container.
enum Files {
    /// openat2's resolve flags for a path inside a root directory (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".."
    /// and absolute symlinks stop at the root, and /proc magic links are refused.
    static let resolveInRoot: UInt64 = 0x10 | 0x02

    static func read(_ path: String, limit: Int = Int.max) throws(RuntimeError) -> [UInt8] {
        do { return try Spec.readFile(path, limit: limit) } catch { throw RuntimeError(.system, error.message) }
    }

    /// A small file in three syscalls (open, one read, close): no fstat for its size and no read that only sees
    /// the end. Only for files where a short read is the end: regular files no one appends to (state.json is
    /// replaced whole, `writeAtomic`), and /proc or cgroup files of one record (seq_file hands a record over whole; a file of
    /// many records may stop short at a record boundary, so those go through `read`). A first read that fills the
    /// buffer goes on reading to the end. `list` reads two such files per container (three when it must ask a
    /// freezer); nil on any error.
    /// `at`: a directory fd the path is relative to (`list` saves the lookup of the root's and /proc's own
    /// components for each container); AT_FDCWD otherwise.
    static func readSmall(_ path: String, at dirFD: Int32 = AT_FDCWD, capacity: Int = 4096) -> [UInt8]? {
        let fd = openat(dirFD, path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var room = capacity
        while true {
            var failed = false
            let chunk = [UInt8](unsafeUninitializedCapacity: room) { buf, count in
                var n: Int
                repeat { n = Glibc.read(fd, buf.baseAddress!, buf.count) } while n < 0 && errno == EINTR
                if n < 0 { failed = true; count = 0 } else { count = n }
            }
            if failed { return nil }
            if out.isEmpty { out = chunk } else { out += chunk }
            if chunk.count < room { return out }
            room *= 2
        }
    }

    static func readString(_ path: String) -> String? {
        guard let b = try? Spec.readFile(path) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes `bytes` to `path` through a temporary file and rename(2), so readers never see a partial file
    /// (pid files: the shim reads them as soon as `create` exits).
    static func writeAtomic(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(RuntimeError) {
        let tmp = path + ".tmp-" + getpid().decimal
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 { throw .system("open \(tmp)", errno) }
        let ok = bytes.withUnsafeBytes { writeAll(fd, $0) }
        let err = errno
        close(fd)
        if !ok { unlink(tmp); throw .system("write \(tmp)", err) }
        // A rename over an existing file makes ext4 (auto_da_alloc) allocate and write the new file's blocks at
        // once, and freeing them later is a synchronous discard where the filesystem has no journal: two disk
        // writes and a wait per state update. Exchanging the two names and unlinking the old file keeps the same
        // atomic view for readers (state.json always holds a whole record) and leaves short-lived files in the page
        // cache only. A missing target (ENOENT) or a filesystem that cannot exchange falls back to rename.
        if corral_rename_exchange(tmp, path) == 0 {
            if unlink(tmp) == 0 { return }
            // What we swapped out was no file (a directory, as rename would have refused): put it back, say so.
            let e = errno
            _ = corral_rename_exchange(tmp, path)
            unlink(tmp)
            throw .system("rename \(tmp)", e)
        }
        if rename(tmp, path) != 0 { let e = errno; unlink(tmp); throw .system("rename \(tmp)", e) }
    }

    static func writeAtomic(_ path: String, _ text: String, mode: mode_t = 0o644) throws(RuntimeError) {
        try writeAtomic(path, Array(text.utf8), mode: mode)
    }

    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Bool {
        var off = 0
        while off < buf.count {
            let n = write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 { if errno == EINTR { continue }; return false }
            off += n
        }
        return true
    }

    /// mkdir -p with `mode` for created components; returns the directories it created, outermost first (a failed
    /// create undoes exactly those). The leaf is tried first and parents only on ENOENT: a container's cgroup then
    /// costs one mkdir per hierarchy instead of a mkdir and a stat for every component of the path. A failure
    /// removes what this call created; an existing non-directory is an error (EEXIST).
    @discardableResult
    static func mkdirAll(_ path: String, mode: mode_t) throws(RuntimeError) -> [String] {
        var created: [String] = []
        func make(_ dir: String) throws(RuntimeError) {
            if mkdir(dir, mode) == 0 { created.append(dir); return }
            var e = errno
            if e == ENOENT, let slash = dir.utf8.lastIndex(of: UInt8(ascii: "/")), slash != dir.startIndex {
                try make(String(dir[..<slash]))
                if mkdir(dir, mode) == 0 { created.append(dir); return }
                e = errno
            }
            if e == EEXIST && isDirectory(dir) { return }
            throw .system("mkdir \(dir)", e)
        }
        var dir = Substring(path)
        while dir.utf8.count > 1 && dir.utf8.last == UInt8(ascii: "/") { dir = dir.dropLast() }
        do throws(RuntimeError) {
            try make(String(dir))
        } catch {
            for d in created.reversed() { rmdir(d) }
            throw error
        }
        return created
    }

    /// A directory entry: its name and readdir's d_type (DT_UNKNOWN where the filesystem does not say).
    struct Entry {
        var name: String
        var type: UInt8
        var isDirectory: Bool { type == UInt8(DT_DIR) }
    }

    /// The entries of a directory, without "." and "..", in directory order; nil when it cannot be opened.
    /// `noFollow`: refuse a symlink as the directory itself.
    static func entries(_ path: String, noFollow: Bool = false) -> [Entry]? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (noFollow ? O_NOFOLLOW : 0))
        if fd < 0 { return nil }
        guard let dir = fdopendir(fd) else { close(fd); return nil }
        defer { closedir(dir) }
        var out: [Entry] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(Entry(name: name, type: ent.pointee.d_type)) }
        }
        return out
    }

    /// Removes a directory tree (used for state dirs we created; never follows symlinks).
    static func removeAll(_ path: String) {
        for e in entries(path, noFollow: true) ?? [] {
            let child = path + "/" + e.name
            var st = stat()
            if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { removeAll(child) } else { unlink(child) }
        }
        rmdir(path)
    }

    /// The target of a symlink (e.g. /proc/<pid>/fd/N: "pipe:[1234]", "/dev/null"); nil when it cannot be read.
    static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        if n < 0 { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Absolute form of `path` against the current directory, cleaned of "." and ".." lexically
    /// (Go's filepath.Abs, which runc uses for --bundle and --pid-file; symlinks are not resolved).
    static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasBytePrefix("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
            let cwd = getcwd(&buf, buf.count) != nil ? String(cString: buf) : "/"
            full = cwd + "/" + path
        }
        return clean(full)
    }

    /// Lexical cleaning of an absolute path (Go's filepath.Clean).
    static func clean(_ path: String) -> String {
        // On bytes: no [Substring] and no generic joined(separator:), whose metadata the create and exec paths
        // would otherwise instantiate at run time.
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count + 1)
        var comp: [UInt8] = []
        func flush() {
            let dots = comp.allSatisfy { $0 == 0x2e } ? comp.count : 0   // "." and ".." are components of dots only
            if comp.isEmpty || dots == 1 { comp.removeAll(keepingCapacity: true); return }
            if dots == 2 {
                while let last = out.popLast(), last != 0x2f {}
            } else {
                out.append(0x2f)
                out.append(contentsOf: comp)
            }
            comp.removeAll(keepingCapacity: true)
        }
        for b in path.utf8 {
            if b == 0x2f { flush() } else { comp.append(b) }
        }
        flush()
        return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
    }
}
