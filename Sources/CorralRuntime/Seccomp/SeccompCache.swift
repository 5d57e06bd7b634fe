import Glibc

/// Compiled filters on disk, `<state root>/.cache/seccomp/<key>`, so the next create with the same profile skips
/// libseccomp (≈10 ms for Docker's profile). The key is the SHA-256 of the profile's canonical JSON, the architecture,
/// the libseccomp version and the entry format (`SeccompPlanner.cacheKey`).
///
/// An entry is `magic | key (32) | instruction count (u32 LE) | BPF | SHA-256 of everything before (32)`. It is used
/// only when it is a regular file of ours, not writable by others, and every field checks out; anything else is
/// ignored (and overwritten by the next store), so a corrupt or truncated entry costs one compile, never a wrong
/// filter. Entries are written to a temporary file and renamed into place. The directory keeps at most `maxEntries`
/// files: a store evicts the least recently used (hits refresh the mtime). Cache trouble is never fatal.
struct SeccompCache {
    let dir: String
    static let maxEntries = 64
    static let magic = Array("CORRAL-BPF-1\n".utf8)

    /// The cached program for `key` (hex SHA-256), or nil.
    func load(_ key: String) -> [UInt8]? {
        guard let digest = SeccompCache.unhex(key) else { return nil }
        let fd = open(dir + "/" + key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return nil }
        defer { close(fd) }
        var st = stat()
        let headerSize = SeccompCache.magic.count + 32 + 4
        let maxSize = headerSize + SeccompCompiler.maxInstructions * 8 + 32
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(),
              st.st_mode & 0o022 == 0, st.st_size > headerSize + 32, st.st_size <= maxSize
        else { return nil }
        var data = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n == data.count else { return nil }
        guard let bpf = SeccompCache.decode(data, key: digest) else { return nil }
        _ = futimens(fd, nil)   // least recently used goes first
        return bpf
    }

    /// Stores `bpf` under `key`; errors are returned as text for a debug note, never thrown.
    @discardableResult
    func store(_ key: String, _ bpf: [UInt8]) -> String? {
        guard let digest = SeccompCache.unhex(key) else { return "bad key" }
        do { try Files.mkdirAll(dir, mode: 0o700) } catch { return error.message }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let tmp = "\(dir)/.tmp-\(getpid())-\(ts.tv_nsec)"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 { return "open \(tmp): \(errnoText(errno))" }
        let bytes = SeccompCache.encode(bpf, key: digest)
        let ok = bytes.withUnsafeBytes { Files.writeAll(fd, $0) }
        let err = errno
        close(fd)
        if !ok { unlink(tmp); return "write \(tmp): \(errnoText(err))" }
        if rename(tmp, dir + "/" + key) != 0 { let e = errno; unlink(tmp); return "rename \(tmp): \(errnoText(e))" }
        evict(keeping: key)
        return nil
    }

    /// Removes the least recently used entries (and stale temporary files) beyond `maxEntries`.
    func evict(keeping key: String) {
        guard let names = Files.entries(dir)?.map(\.name) else { return }
        var entries: [(name: String, mtime: Int)] = []
        for name in names {
            var st = stat()
            guard lstat(dir + "/" + name, &st) == 0 else { continue }
            if name.hasBytePrefix(".tmp-") {
                // A temporary file older than a minute belongs to a create that died mid-write.
                if time(nil) - st.st_mtim.tv_sec > 60 { unlink(dir + "/" + name) }
                continue
            }
            entries.append((name, st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec))
        }
        guard entries.count > SeccompCache.maxEntries else { return }
        let victims = entries.filter { $0.name != key }.sorted { $0.mtime < $1.mtime }
        for v in victims.prefix(entries.count - SeccompCache.maxEntries) { unlink(dir + "/" + v.name) }
    }

    // MARK: entry format

    static func encode(_ bpf: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = magic + key
        let n = UInt32(bpf.count / 8)
        for s in [0, 8, 16, 24] { out.append(UInt8(truncatingIfNeeded: n >> UInt32(s))) }
        out += bpf
        out += SHA256.digest(out)
        return out
    }

    static func decode(_ data: [UInt8], key: [UInt8]) -> [UInt8]? {
        let h = magic.count
        guard data.count > h + 36 + 32, Array(data[0..<h]) == magic, Array(data[h..<h + 32]) == key else { return nil }
        var n = 0
        for i in 0..<4 { n |= Int(data[h + 32 + i]) << (8 * i) }
        let body = h + 36
        guard n > 0, n <= SeccompCompiler.maxInstructions, data.count == body + n * 8 + 32 else { return nil }
        guard SHA256.digest(data[0..<body + n * 8]) == Array(data[(body + n * 8)...]) else { return nil }
        return Array(data[body..<body + n * 8])
    }

    static func unhex(_ s: String) -> [UInt8]? {
        let b = Array(s.utf8)
        guard b.count == 64 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let hi = v(b[i]), let lo = v(b[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}
