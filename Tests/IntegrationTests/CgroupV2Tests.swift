// The runtime on a pure cgroup v2 view of this hybrid host: in a private mount namespace the v1 hierarchies are
// unmounted and the (shared) cgroup2 hierarchy is mounted at /sys/fs/cgroup. Its cgroup.controllers then holds only
// what v1 has not taken (hugetlb here), so this exercises the v2 code paths that need no controller: placement
// through cgroup.procs, the eBPF device program, pause/resume through cgroup.freeze, ps, kill --all, delete, and
// the error for a limit whose controller cgroup2 does not offer. runc 1.1.5 takes its v2 paths in the same view.
import XCTest
import Glibc
import CorralSpec

final class CgroupV2Tests: IsolationTestCase {
    private var unified = ""
    private var parent = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard let u = hostCgroupMounts()[""] else { throw XCTSkip("no cgroup2 mount on this host") }
        guard findHostTool(["/usr/bin/unshare", "/bin/unshare"]) != nil else { throw XCTSkip("unshare(1) missing") }
        unified = u
        parent = "corral-it-v2-" + randomHex(6)
        let dir = u + "/" + parent
        let before = readFile(u + "/cgroup.subtree_control") ?? ""
        onTeardown {
            removeCgroupTree(dir)
            // On a pure v2 host the runtime enables every offered controller on the way down, as runc does; here
            // that is the host's shared cgroup2 root, so put it back.
            let now = readFile(u + "/cgroup.subtree_control") ?? ""
            for c in now.split(separator: " ").map({ $0.cgTrim }) where !before.contains(c) {
                try? writeFile(u + "/cgroup.subtree_control", "-" + c)
            }
        }
    }

    /// Runs `script` with sh in a private mount namespace where /sys/fs/cgroup is the cgroup2 hierarchy alone.
    /// The script gets $RT (runtime binary), $ROOT, $BUNDLE; returns the combined result.
    func inV2View(_ script: String, timeout: Double = 30) -> ProcResult {
        let prelude = """
            set -u
            for m in $(grep ' /sys/fs/cgroup/' /proc/self/mountinfo | cut -d' ' -f5 | sort -r); do umount -l "$m"; done
            umount -l /sys/fs/cgroup 2>/dev/null
            mount -t cgroup2 none /sys/fs/cgroup || exit 97
            RT="$0"; ROOT="$1"; BUNDLE="$2"
            rt() { "$RT" --root "$ROOT" "$@"; }

            """
        return runCommand(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", prelude + script,
                           RuntimeUnderTest.path, runtime.root, bundle.dir], timeout: timeout)
    }

    func testDevicesPauseAndCleanupThroughCgroup2Only() throws {
        bundle.setLinux("cgroupsPath", .string("/\(parent)/dev"))
        // /dev/kmsg (1:11) is not among the default nodes: make it, and let the device program decide.
        var caps = bundle.config["process"]?["capabilities"]?["bounding"]?.arrayValue ?? []
        caps.append("CAP_MKNOD")
        for set in ["bounding", "effective", "permitted"] { bundle.config["process"]?["capabilities"]?[set] = .array(caps) }
        bundle.setShell("""
            mknod /dev/kmsg c 1 11
            for dev in null full kmsg; do if (: < /dev/$dev) 2>/dev/null; then echo "$dev open"; else echo "$dev denied"; fi; done
            grep '^0::' /proc/self/cgroup
            """)
        try bundle.writeConfig()
        let id = runtime.id("v2dev")
        let r = inV2View("rt run --bundle \"$BUNDLE\" \(id)")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines, ["null open", "full open", "kmsg denied", "0::/\(parent)/dev"])
        XCTAssertFalse(pathExists(unified + "/\(parent)/dev"), "run removed its cgroup")
    }

    func testPauseResumePsKillAllDelete() throws {
        bundle.setLinux("cgroupsPath", .string("/\(parent)/life"))
        bundle.setShell("sleep 100 & sleep 100")
        try bundle.writeConfig()
        let id = runtime.id("v2life")
        let dir = "/sys/fs/cgroup/\(parent)/life"   // as the script sees it
        let r = inV2View("""
            rt run --detach --bundle "$BUNDLE" \(id) || exit 1
            sleep 0.3
            rt pause \(id) || exit 2
            echo "state=$(rt state \(id) | grep -o '"status": *"[a-z]*"' | tr -d ' "' )"
            echo "events=$(grep frozen \(dir)/cgroup.events)"
            echo "ps=$(rt ps --format json \(id) | tr -cd '[],' )"
            rt resume \(id) || exit 3
            echo "events=$(grep frozen \(dir)/cgroup.events)"
            rt kill --all \(id) KILL || exit 4
            i=0; while [ "$(grep populated \(dir)/cgroup.events)" != "populated 0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
            echo "after-kill=$(grep populated \(dir)/cgroup.events)"
            rt delete \(id) || exit 5
            [ -d \(dir) ] && echo left || echo removed
            """)
        XCTAssertEqual(r.status, 0, "\(r)")
        // ash runs the last command of -c in place: two processes.
        XCTAssertEqual(r.stdout.nonEmptyLines, ["state=status:paused", "events=frozen 1", "ps=[,]", "events=frozen 0",
                                                "after-kill=populated 0", "removed"], "\(r)")
    }

    func testALimitWithoutItsControllerIsRefused() throws {
        if (readFile(unified + "/cgroup.controllers") ?? "").split(separator: " ").contains(where: { $0.cgTrim == "memory" }) {
            throw XCTSkip("cgroup2 offers memory on this host (pure v2): there is no missing controller to refuse")
        }
        bundle.setLinux("cgroupsPath", .string("/\(parent)/mem"))
        bundle.setLinux("resources", ["memory": ["limit": 67108864]])
        try bundle.writeConfig()
        let id = runtime.id("v2mem")
        let r = inV2View("rt run --bundle \"$BUNDLE\" \(id)")
        XCTAssertNotEqual(r.status, 0, "memory is bound to v1 on this host, so cgroup2 cannot limit it: \(r)")
        if RuntimeUnderTest.isCorral {
            XCTAssertTrue(r.stderr.contains("linux.resources.memory.limit: the memory cgroup controller is not available on this host"), r.stderr)
        }
        XCTAssertFalse(pathExists(unified + "/\(parent)/mem"))
    }
}

private extension Substring {
    var cgTrim: String { String(self.filter { !$0.isWhitespace }) }
}
