import XCTest
import Glibc

@testable import CorralSpec

/// `runc spec` output of runc 1.1.5 (Debian 12, run as root), captured byte for byte.
/// Multi-line literals drop the final newline, matching runc's file (which has none).
let runcSpecDefault = #"""
{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
"""#

/// `runc spec --rootless`, captured as root (so hostID 0 in both mappings).
let runcSpecRootless = #"""
{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "none",
			"source": "/sys",
			"options": [
				"rbind",
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"uidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"gidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "user"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
"""#

final class DefaultSpecTests: XCTestCase {
    func testDefaultMatchesRunc() {
        XCTAssertEqual(DefaultSpec.json(rootless: false), runcSpecDefault)
        XCTAssertFalse(DefaultSpec.json(rootless: false).hasSuffix("\n"))
    }

    func testRootlessMatchesRunc() {
        XCTAssertEqual(DefaultSpec.json(rootless: true), runcSpecRootless)
        let mapped = DefaultSpec.json(rootless: true, hostUID: 1000, hostGID: 1001)
        XCTAssertEqual(mapped, runcSpecRootless.replacingFirst("\"hostID\": 0", with: "\"hostID\": 1000")
            .replacingFirst("\"hostID\": 0", with: "\"hostID\": 1001"))
    }

    func testDefaultDecodes() throws {
        let spec = try Spec.parse(Array(runcSpecDefault.utf8))
        XCTAssertEqual(spec.ociVersion, "1.0.2-dev")
        XCTAssertEqual(spec.root, Root(path: "rootfs", readonly: true))
        XCTAssertEqual(spec.process?.user, User(uid: 0, gid: 0))
        XCTAssertEqual(spec.process?.terminal, true)
        XCTAssertEqual(spec.process?.rlimits, [POSIXRlimit(type: .RLIMIT_NOFILE, hard: 1024, soft: 1024)])
        XCTAssertEqual(spec.process?.capabilities?.ambient, ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        XCTAssertNil(spec.process?.capabilities?.inheritable)
        XCTAssertEqual(spec.mounts?.count, 7)
        XCTAssertEqual(spec.mounts?[0], Mount(destination: "/proc", type: "proc", source: "proc"))
        XCTAssertNil(spec.mounts?[0].options)
        XCTAssertEqual(spec.linux?.namespaces?.map { $0.type }, [.pid, .network, .ipc, .uts, .mount])
        XCTAssertEqual(spec.linux?.resources?.devices, [DeviceCgroup(allow: false, access: "rwm")])
        XCTAssertNil(spec.linux?.uidMappings)
        XCTAssertEqual(spec.linux?.maskedPaths?.count, 10)
        XCTAssertNil(spec.hooks)
        XCTAssertNil(spec.annotations)

        let rootless = try Spec.parse(Array(DefaultSpec.json(rootless: true, hostUID: 1000, hostGID: 100).utf8))
        XCTAssertEqual(rootless.linux?.uidMappings, [IDMapping(containerID: 0, hostID: 1000, size: 1)])
        XCTAssertEqual(rootless.linux?.gidMappings, [IDMapping(containerID: 0, hostID: 100, size: 1)])
        XCTAssertNil(rootless.linux?.resources)
        XCTAssertEqual(rootless.linux?.namespaces?.last, Namespace(type: .user))
    }

    /// If runc is installed, compare with what it writes right now (skipped otherwise).
    func testAgainstInstalledRunc() throws {
        guard access("/usr/sbin/runc", X_OK) == 0 else { throw XCTSkip("runc is not installed") }
        for rootless in [false, true] {
            var template = Array("/tmp/corral-spec-test-XXXXXX".utf8CString)
            guard let dirPtr = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw XCTSkip("mkdtemp failed")
            }
            let dir = String(cString: dirPtr)
            let cmd = "cd \(dir) && /usr/sbin/runc spec\(rootless ? " --rootless" : "") >/dev/null 2>&1"
            guard system(cmd) == 0 else { throw XCTSkip("runc spec failed") }
            let bytes = readTestFile(dir + "/config.json") ?? []
            unlink(dir + "/config.json")
            rmdir(dir)
            XCTAssertEqual(
                String(decoding: bytes, as: UTF8.self),
                DefaultSpec.json(rootless: rootless, hostUID: geteuid(), hostGID: getegid()))
        }
    }
}

extension String {
    /// Replaces the first occurrence (no Foundation in tests).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let s = Array(utf8), t = Array(target.utf8)
        guard t.count <= s.count else { return self }
        for i in 0...(s.count - t.count) where Array(s[i..<(i + t.count)]) == t {
            return String(decoding: s[..<i], as: UTF8.self) + replacement + String(decoding: s[(i + t.count)...], as: UTF8.self)
        }
        return self
    }
}
