// The compiled-filter cache: SHA-256, keying (what changes the key and what does not), entry validation (corrupt,
// truncated, foreign entries are ignored and rewritten), eviction, and the planner's hit/miss notes.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class SeccompCacheTests: XCTestCase {
    func testSHA256Vectors() {
        XCTAssertEqual(SHA256.hex(SHA256.digest([UInt8]())),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.digest(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Incremental updates across block boundaries give the same digest.
        var h = SHA256()
        for chunk in stride(from: 0, to: 200, by: 7) { h.update([UInt8](repeating: UInt8(chunk % 251), count: 7)) }
        var whole: [UInt8] = []
        for chunk in stride(from: 0, to: 200, by: 7) { whole += [UInt8](repeating: UInt8(chunk % 251), count: 7) }
        XCTAssertEqual(h.finish(), SHA256.digest(whole))
    }

    private func key(_ s: Seccomp) throws -> String {
        SeccompPlanner.cacheKey(try SeccompProfile.resolve(s))
    }

    func testKeying() throws {
        let base = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)])
        let k = try key(base)
        XCTAssertEqual(k.count, 64)
        // Same program: the same key. ERRNO without errnoRet is EPERM; flags and the listener are not compiled in.
        XCTAssertEqual(try key(Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1)])), k)
        XCTAssertEqual(try key(Seccomp(defaultAction: .SCMP_ACT_ALLOW, flags: [.SECCOMP_FILTER_FLAG_LOG],
                                       syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)])), k)
        // Anything that changes the program changes the key.
        let different: [Seccomp] = [
            Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 2)]),
            Seccomp(defaultAction: .SCMP_ACT_LOG, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["rmdir"], .SCMP_ACT_ERRNO)]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_TRACE)]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW, architectures: [.SCMP_ARCH_X86],
                    syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO)]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                    syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, args: [arg(0, .SCMP_CMP_EQ, 1)])]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                    syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, args: [arg(0, .SCMP_CMP_MASKED_EQ, 1, 1)])]),
            Seccomp(defaultAction: .SCMP_ACT_ALLOW,
                    syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, args: [arg(1, .SCMP_CMP_EQ, 1)])]),
        ]
        var seen: Set<String> = [k]
        for s in different {
            let dk = try key(s)
            XCTAssertFalse(seen.contains(dk), "\(s)")
            seen.insert(dk)
        }
        // The key covers the architecture and the libseccomp version, not only the profile.
        let p = try SeccompProfile.resolve(base)
        var h = SHA256()
        h.update(p.canonicalJSON)
        h.update("\n" + SeccompProfile.nativeArch + "\nlibseccomp " + SeccompCompiler.libseccompVersion + "\n" + SeccompPlanner.formatVersion)
        XCTAssertEqual(SHA256.hex(h.finish()), k)
        XCTAssertEqual(SeccompCompiler.libseccompVersion, "2.5.4")
    }

    func testMissThenHitWithTheSameProgram() throws {
        let dir = makeScratchDir()
        defer { removeTree(dir) }
        let cacheDir = dir + "/.cache/seccomp"
        let s = Seccomp(defaultAction: .SCMP_ACT_ERRNO, defaultErrnoRet: 38,
                        architectures: [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86],
                        syscalls: [rule(["read", "write", "exit_group", "getpid"], .SCMP_ACT_ALLOW)])
        var notes: [String] = []
        let first = try XCTUnwrap(SeccompPlanner.plan(s, cacheDir: cacheDir, note: { notes.append($0) }))
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].hasPrefix("seccomp: compiled \(first.filter.count / 8) instructions in "), notes[0])
        let k = try key(s)
        XCTAssertTrue(Files.exists(cacheDir + "/" + k))
        var st = stat()
        XCTAssertEqual(stat(cacheDir, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)

        notes = []
        let second = try XCTUnwrap(SeccompPlanner.plan(s, cacheDir: cacheDir, note: { notes.append($0) }))
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].hasPrefix("seccomp: cache hit \(k) (\(first.filter.count / 8) instructions in "), "\(notes)")
        XCTAssertEqual(second, first)
    }

    func testCorruptEntriesAreIgnoredAndRewritten() throws {
        let dir = makeScratchDir()
        defer { removeTree(dir) }
        let s = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["mkdir"], .SCMP_ACT_ERRNO, errno: 1)])
        let k = try key(s)
        let entry = dir + "/" + k
        let good = try XCTUnwrap(SeccompPlanner.plan(s, cacheDir: dir, note: { _ in }))
        let original = try Files.read(entry)

        func damage(_ bytes: [UInt8]) throws -> [String] {
            unlink(entry)
            try Files.writeAtomic(entry, bytes, mode: 0o600)
            var notes: [String] = []
            let p = try XCTUnwrap(SeccompPlanner.plan(s, cacheDir: dir, note: { notes.append($0) }))
            XCTAssertEqual(p, good)
            return notes
        }
        var flipped = original
        flipped[original.count / 2] ^= 0x40
        let variants: [(String, [UInt8])] = [
            ("flipped byte", flipped),
            ("truncated", Array(original.dropLast(9))),
            ("empty", []),
            ("extra byte", original + [0]),
            ("wrong magic", [0x58] + original.dropFirst()),
            ("garbage", [UInt8](repeating: 0xff, count: 200)),
        ]
        for (what, bytes) in variants {
            let notes = try damage(bytes)
            XCTAssertTrue(notes.first?.hasPrefix("seccomp: compiled ") == true, "\(what): \(notes)")
            XCTAssertEqual(try Files.read(entry), original, "\(what): not rewritten")
        }

        // An entry stored under another key (renamed) is not taken.
        let other = Seccomp(defaultAction: .SCMP_ACT_ALLOW, syscalls: [rule(["rmdir"], .SCMP_ACT_ERRNO, errno: 1)])
        _ = try SeccompPlanner.plan(other, cacheDir: dir, note: { _ in })
        XCTAssertEqual(rename(dir + "/" + (try key(other)), entry), 0)
        XCTAssertNil(SeccompCache(dir: dir).load(k))

        // Writable by others, or a symlink: ignored.
        try Files.writeAtomic(entry, original, mode: 0o600)
        XCTAssertNotNil(SeccompCache(dir: dir).load(k))
        chmod(entry, 0o666)
        XCTAssertNil(SeccompCache(dir: dir).load(k))
        chmod(entry, 0o600)
        XCTAssertEqual(rename(entry, dir + "/real"), 0)
        XCTAssertEqual(symlink(dir + "/real", entry), 0)
        XCTAssertNil(SeccompCache(dir: dir).load(k))
    }

    func testEntriesAreBounded() throws {
        let dir = makeScratchDir()
        defer { removeTree(dir) }
        let cache = SeccompCache(dir: dir)
        let bpf: [UInt8] = [6, 0, 0, 0, 0, 0, 0xff, 0x7f]   // RET ALLOW
        var keys: [String] = []
        for i in 0..<(SeccompCache.maxEntries + 6) {
            let k = SHA256.hex(SHA256.digest(Array("entry \(i)".utf8)))
            keys.append(k)
            XCTAssertNil(cache.store(k, bpf))
            // Distinct mtimes so "least recently used" is well defined.
            var times = [timespec(tv_sec: 1_000_000 + i, tv_nsec: 0), timespec(tv_sec: 1_000_000 + i, tv_nsec: 0)]
            utimensat(AT_FDCWD, dir + "/" + k, &times, 0)
        }
        // Using the oldest survivor makes it recent: it survives the next eviction.
        let names = Set(try listDir(dir))
        XCTAssertEqual(names.count, SeccompCache.maxEntries)
        XCTAssertFalse(names.contains(keys[0]))
        XCTAssertTrue(names.contains(keys.last!))
        let oldest = keys.first(where: { names.contains($0) })!
        XCTAssertEqual(cache.load(oldest), bpf)
        XCTAssertNil(cache.store(SHA256.hex(SHA256.digest(Array("one more".utf8))), bpf))
        let after = Set(try listDir(dir))
        XCTAssertEqual(after.count, SeccompCache.maxEntries)
        XCTAssertTrue(after.contains(oldest))
    }

    func testEntryFormatRoundTrip() {
        let key = SHA256.digest(Array("k".utf8))
        let bpf = [UInt8](repeating: 7, count: 8 * 3)
        let e = SeccompCache.encode(bpf, key: key)
        XCTAssertEqual(SeccompCache.decode(e, key: key), bpf)
        XCTAssertNil(SeccompCache.decode(e, key: SHA256.digest(Array("other".utf8))))
        XCTAssertNil(SeccompCache.unhex("xyz"))
        XCTAssertEqual(SeccompCache.unhex(SHA256.hex(key)), key)
    }

    private func listDir(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw RuntimeError(.system, "opendir") }
        defer { closedir(d) }
        var out: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
