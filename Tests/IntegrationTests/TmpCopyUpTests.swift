// The `tmpcopyup` mount option (podman puts it on /tmp, /run and /var/tmp): the new tmpfs starts with a copy of
// what the destination directory held in the rootfs; writes stay in the tmpfs; symlinks of the image are copied
// as symlinks, never followed.
//
// Against runc 1.1.5: files keep mode and owner there too, but runc's copy (mrunalp/fileutils) gives directories
// neither their owner nor their times, keeps no file times, and fails on a fifo; corral copies all of these. The
// assertions on those are corral's own.
import XCTest
import Glibc
import CorralSpec

final class TmpCopyUpTests: IsolationTestCase {
    private let podmanTmpOptions = ["rw", "size=16m", "rprivate", "nosuid", "nodev", "tmpcopyup"]

    /// `st:` lines (`stat -c 'st:%n|%F|%a|%u:%g|%Y'`) of a container's output: path -> [type, mode, owner, mtime].
    private func statLines(_ out: String) -> [String: [String]] {
        var d: [String: [String]] = [:]
        for l in out.nonEmptyLines where l.hasPrefix("st:") {
            let f = l.dropFirst(3).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if f.count == 5 { d[f[0]] = Array(f[1...]) }
        }
        return d
    }

    /// The first `n` fields of `path`'s stat line.
    private func fields(_ st: [String: [String]], _ path: String, _ n: Int) -> [String]? {
        st[path].map { Array($0.prefix(n)) }
    }

    func testTmpfsStartsWithACopyOfTheDestination() throws {
        let tmp = bundle.rootfs + "/tmp"
        let secretDir = try makeHostDir("copyup-secret")
        try writeFile(secretDir + "/secret", "host-secret\n")
        try writeFile(tmp + "/f", "hello\n", mode: 0o640)
        try makeDirectories(tmp + "/d/e")
        try writeFile(tmp + "/d/g", "g\n", mode: 0o604)
        XCTAssertEqual(symlink("f", tmp + "/rel"), 0)
        XCTAssertEqual(symlink(secretDir + "/secret", tmp + "/esc"), 0, "a link out of the rootfs, to a host file")
        for p in ["/f", "/d", "/d/e", "/d/g"] { XCTAssertEqual(lchown(tmp + p, 1001, 1001), 0, p) }
        XCTAssertEqual(lchown(tmp + "/rel", 1001, 1001), 0)
        _ = chmod(tmp + "/d", 0o750)
        var times = [timespec(tv_sec: 981_173_106, tv_nsec: 0), timespec(tv_sec: 981_173_106, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, tmp + "/f", &times, 0), 0)
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(mkfifo(tmp + "/p", 0o600), 0)
            _ = chmod(tmp + "/p", 0o620)
        }
        let hostTmp = try XCTUnwrap(hostStat(tmp))

        bundle.addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: podmanTmpOptions)
        // root with DAC_OVERRIDE: every copied entry is reachable whatever owner the runtime gave it.
        let caps: JSONValue = ["CAP_DAC_OVERRIDE"]
        bundle.setProcess("capabilities", ["bounding": caps, "effective": caps, "permitted": caps])
        guard let out = runScript("""
            for p in /tmp /tmp/f /tmp/d /tmp/d/e /tmp/d/g /tmp/rel /tmp/esc /tmp/p; do
                [ -e "$p" ] || [ -L "$p" ] && stat -c 'st:%n|%F|%a|%u:%g|%Y' "$p"
            done
            echo "fs=$(stat -f -c %T /tmp) rel=$(readlink /tmp/rel) esc=$(readlink /tmp/esc)"
            echo "f=$(cat /tmp/f) g=$(cat /tmp/d/g) via-rel=$(cat /tmp/rel)"
            cat /tmp/esc >/dev/null 2>&1 && echo esc-readable || echo esc-dangling
            echo changed > /tmp/f && echo new > /tmp/new && mkdir /tmp/d/h && echo wrote
            """) else { return }
        let st = statLines(out)
        let kv = keyValueLines(out.nonEmptyLines.filter { !$0.hasPrefix("st:") }.joined(separator: "\n").unitReplacingAll(" ", "\n"))
        XCTAssertEqual(kv["fs"], "tmpfs", out)
        XCTAssertEqual(fields(st, "/tmp", 2), ["directory", String(hostTmp.st_mode & 0o7777, radix: 8)],
                       "the tmpfs root takes /tmp's mode: \(out)")
        XCTAssertEqual(fields(st, "/tmp/f", 3), ["regular file", "640", "1001:1001"], out)
        XCTAssertEqual(fields(st, "/tmp/d/g", 3), ["regular file", "604", "1001:1001"], out)
        XCTAssertEqual(st["/tmp/d/e"]?[0], "directory", out)
        XCTAssertEqual(st["/tmp/rel"]?[0], "symbolic link", out)
        XCTAssertEqual(st["/tmp/esc"]?[0], "symbolic link", "a link is copied as a link, not followed: \(out)")
        XCTAssertEqual(kv["rel"], "f")
        XCTAssertEqual(kv["esc"], secretDir + "/secret", "the link text is kept")
        XCTAssertTrue(out.contains("esc-dangling"), "inside the container the host path does not exist: \(out)")
        XCTAssertFalse(out.contains("host-secret"), out)
        XCTAssertEqual(kv["f"], "hello")
        XCTAssertEqual(kv["g"], "g")
        XCTAssertEqual(kv["via-rel"], "hello")
        XCTAssertTrue(out.contains("wrote"), "the tmpfs is writable: \(out)")
        if RuntimeUnderTest.isCorral {
            XCTAssertEqual(fields(st, "/tmp/d", 3), ["directory", "750", "1001:1001"], "directories keep mode and owner: \(out)")
            XCTAssertEqual(st["/tmp/d/e"]?[2], "1001:1001", out)
            XCTAssertEqual(st["/tmp/rel"]?[2], "1001:1001", "a link keeps its owner: \(out)")
            XCTAssertEqual(st["/tmp/f"]?[3], "981173106", "times are kept: \(out)")
            XCTAssertEqual(fields(st, "/tmp/p", 3), ["fifo", "620", "0:0"], "a fifo is made again: \(out)")
        }
        // Nothing reached the image.
        XCTAssertEqual(readFile(tmp + "/f"), "hello\n")
        XCTAssertFalse(pathExists(tmp + "/new"))
        XCTAssertFalse(pathExists(tmp + "/d/h"))
        XCTAssertEqual(readFile(secretDir + "/secret"), "host-secret\n")
    }

    func testMissingDestinationGivesAnEmptyTmpfs() throws {
        bundle.addMount(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"])
        guard let out = runScript("echo \"mode=$(stat -c %a /scratch) fs=$(stat -f -c %T /scratch) n=$(ls -A /scratch | wc -l)\"") else { return }
        XCTAssertEqual(out.trimmed, "mode=1777 fs=tmpfs n=0", "tmpfs's own mode, nothing copied")
    }

    /// The copy goes into a writable tmpfs, which is made read-only afterwards.
    func testReadOnlyCopyUp() throws {
        try writeFile(bundle.rootfs + "/tmp/f", "hello\n")
        bundle.addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup"])
        guard let out = runScript("cat /tmp/f; touch /tmp/x 2>&1; grep ' /tmp ' /proc/self/mounts") else { return }
        XCTAssertTrue(out.contains("hello"), out)
        XCTAssertTrue(out.contains("Read-only file system"), out)
        XCTAssertTrue(out.contains("tmpfs /tmp tmpfs ro,"), out)
    }

    func testTooDeepATreeFailsClearlyAndLeavesNothing() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("corral bounds the copy's depth (stack buffers); runc does not") }
        var path = bundle.rootfs + "/tmp"
        for _ in 0..<70 { path += "/d" }
        try makeDirectories(path)
        bundle.addMount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"])
        bundle.setShell("true")
        try bundle.writeConfig()
        runtime.expectCleanFailure(bundle: bundle, id: runtime.id("deep"),
                                   message: "tmpcopyup: more than 64 directory levels at /tmp/d/d/d")
    }

    func testTmpcopyupOnlyForTmpfs() throws {
        guard RuntimeUnderTest.isCorral else { throw XCTSkip("runc 1.1.5 ignores tmpcopyup on other mounts") }
        bundle.addMount(destination: "/mnt", type: "bind", source: "/tmp", options: ["rbind", "tmpcopyup"])
        bundle.setShell("true")
        let r = runtime.run(bundle)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("tmpcopyup applies to new tmpfs mounts only"), r.stderr)
    }
}
