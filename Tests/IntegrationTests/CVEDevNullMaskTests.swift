// CVE-2025-31133: the runtime masks `linux.maskedPaths` by bind-mounting /dev/null over them. When the image's
// /dev/null is a symlink to a procfs file (the real exploit used /proc/sys/kernel/core_pattern) the "mask" is
// a writable bind of that file, and every process whose stdio the runtime "reopens" as /dev/null writes into
// it. The rule: /dev/null is opened without following links and verified to be the 1:3 character device
// before it is used for anything; otherwise the container fails.
//
// The procfs targets here are sysctls of the container's OWN UTS namespace (kernel.hostname,
// kernel.domainname): a vulnerable runtime then only renames its own container. Never use core_pattern in a
// test: runc 1.1.5 on this host wrote the container's stdout into the host's core_pattern with that image.
//
// Each hostile image is run twice: with the config's /dev tmpfs (the image's /dev is hidden, the runtime
// creates /dev/null itself) and without it (the image's /dev, symlink included, is what the runtime works on).
import XCTest
import Glibc
import CorralSpec

final class CVEDevNullMaskTests: CVETestCase {
    /// Masks a rootfs file, a rootfs directory and two procfs files; prints what the process sees. Every
    /// line starts with a key so that a stdout swallowed by a fake /dev/null shows as missing keys.
    private let probe = """
        echo begin=1
        stat -c 'null=%F %t:%T' /dev/null
        echo "secret=$(cat /secret | wc -c)"
        stat -c 'secret-type=%F %t:%T' /secret
        echo "secretdir=$(ls -A /secretdir | wc -l)"
        echo "timer=$(cat /proc/timer_list | wc -c)"
        echo pwned > /secret 2>/dev/null
        echo pwned > /proc/timer_list 2>/dev/null
        echo "hostname=$(hostname)"
        echo "domain=$(cat /proc/sys/kernel/domainname)"
        true
        """

    private func prepare(nullTarget: String, withDevTmpfs: Bool) throws {
        try bundle.writeRootfsFile("/secret", "top secret\n", mode: 0o644)
        try bundle.writeRootfsFile("/secretdir/inside", "top secret\n", mode: 0o644)
        _ = unlink(bundle.rootfs + "/dev/null")
        XCTAssertEqual(symlink(nullTarget, bundle.rootfs + "/dev/null"), 0)
        if !withDevTmpfs { removeMount("/dev", from: bundle) }
        bundle.setLinux("maskedPaths", ["/secret", "/secretdir", "/proc/timer_list", "/proc/kcore"])
        bundle.setShell(probe)
    }

    /// What a container that ran must show: a real /dev/null, masked paths empty, its own hostname ("runc",
    /// the config's) and domainname (unset: "(none)") unchanged by the writes.
    private func assertMasked(_ r: ProcResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        // Ran (exit 0, or printed something before a failure) vs refused: decided by the output too, because
        // a swallowed stdout with exit 0 is exactly what a vulnerable runtime produces.
        guard r.status == 0 || !r.stdout.isEmpty else {
            XCTAssertFalse(r.stderr.isEmpty, "\(what): failed without saying why: \(r)", file: file, line: line)
            return
        }
        let kv = keyValueLines(r.stdout)
        XCTAssertEqual(kv["begin"], "1", "\(what): the container's stdout went elsewhere (into the fake /dev/null?): \(r)",
                       file: file, line: line)
        XCTAssertEqual(kv["null"], "character special file 1:3", "\(what): \(r)", file: file, line: line)
        XCTAssertEqual(kv["secret"], "0", "\(what): masked file readable: \(r)", file: file, line: line)
        XCTAssertEqual(kv["secret-type"], "character special file 1:3", "\(what): \(r)", file: file, line: line)
        XCTAssertEqual(kv["secretdir"], "0", "\(what): masked directory not empty: \(r)", file: file, line: line)
        XCTAssertEqual(kv["timer"], "0", "\(what): /proc/timer_list readable: \(r)", file: file, line: line)
        XCTAssertEqual(kv["hostname"], "runc", "\(what): a mask or stdio wrote into kernel.hostname: \(r)", file: file, line: line)
        XCTAssertEqual(kv["domain"], "(none)", "\(what): a mask or stdio wrote into kernel.domainname: \(r)", file: file, line: line)
    }

    func testDevNullSymlinkToProcfsFileWithImageDev() throws {
        for target in ["/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname"] {
            try prepare(nullTarget: target, withDevTmpfs: false)
            assertMasked(runtime.run(bundle), "image /dev/null -> \(target)")
        }
    }

    func testDevNullSymlinkToProcfsFileWithDevTmpfs() throws {
        try prepare(nullTarget: "/proc/sys/kernel/hostname", withDevTmpfs: true)
        assertMasked(runtime.run(bundle), "/dev tmpfs, image /dev/null -> /proc/sys/kernel/hostname")
    }

    /// /dev/null -> a host file (absolute and ../-climbing): the host file stays as it was.
    func testDevNullSymlinkToHostFile() throws {
        let victim = try makeVictim()
        for withDev in [false, true] {
            for link in [victim.dir + "/marker", String(repeating: "../", count: 16) + victim.dir.dropFirst() + "/marker"] {
                try prepare(nullTarget: link, withDevTmpfs: withDev)
                let what = "/dev/null -> \(link)\(withDev ? " (with /dev tmpfs)" : "")"
                assertMasked(runtime.run(bundle), what)
                victim.assertUntouched(what)
                bundle.config = TestBundle.defaultConfig()
            }
        }
    }

    /// /dev/null is a regular file or a different character device (1:5 /dev/zero) in the image: masking
    /// with it would expose its content / not be empty.
    func testDevNullThatIsNotTheNullDevice() throws {
        removeMount("/dev", from: bundle)
        try bundle.writeRootfsFile("/dev/null", "i am not null\n", mode: 0o666)
        try bundle.writeRootfsFile("/secret", "top secret\n", mode: 0o644)
        bundle.setLinux("maskedPaths", ["/secret"])
        bundle.setShell("echo begin=1; stat -c 'null=%F %t:%T' /dev/null; echo \"secret=$(cat /secret | wc -c)\"")
        let r = runtime.run(bundle)
        if r.status == 0 || !r.stdout.isEmpty {
            let kv = keyValueLines(r.stdout)
            XCTAssertEqual(kv["null"], "character special file 1:3", "\(r)")
            XCTAssertEqual(kv["secret"], "0", "\(r)")
        }
    }
}
