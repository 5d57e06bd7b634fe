// The config.json that `runc spec` (runc 1.1.5) writes. Built as a JSONValue so key order is
// explicit, then serialised Go-style (json.MarshalIndent with a tab, no trailing newline).

/// `spec` command output.
public enum DefaultSpec {
    /// Exactly what runc 1.1.5's `runc spec` (or `runc spec --rootless`) writes to config.json,
    /// including its "1.0.2-dev" ociVersion (the compatibility target) and no trailing newline.
    /// For `--rootless`, runc maps container 0 to the caller's effective uid/gid: pass
    /// `geteuid()`/`getegid()` as `hostUID`/`hostGID` (this module stays free of process state).
    public static func json(rootless: Bool, hostUID: UInt32 = 0, hostGID: UInt32 = 0) -> String {
        value(rootless: rootless, hostUID: hostUID, hostGID: hostGID).serialized(indent: "\t")
    }

    /// The same document as a JSONValue.
    public static func value(rootless: Bool, hostUID: UInt32 = 0, hostGID: UInt32 = 0) -> JSONValue {
        let caps: JSONValue = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        let process: JSONValue = [
            "terminal": true,
            "user": ["uid": 0, "gid": 0],
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": ["bounding": caps, "effective": caps, "permitted": caps, "ambient": caps],
            "rlimits": [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]],
            "noNewPrivileges": true,
        ]

        var devptsOptions: [JSONValue] = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
        if !rootless { devptsOptions.append("gid=5") }
        // Without a user-owned sysfs instance, rootless containers bind the host's /sys.
        let sys: JSONValue =
            rootless
            ? ["destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]]
            : ["destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]]
        let mounts: JSONValue = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            [
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            ],
            ["destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": .array(devptsOptions)],
            [
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ],
            ["destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]],
            sys,
            [
                "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
            ],
        ]

        var linux = JSONObject()
        if rootless {
            linux["uidMappings"] = [["containerID": 0, "hostID": JSONValue(hostUID), "size": 1]]
            linux["gidMappings"] = [["containerID": 0, "hostID": JSONValue(hostGID), "size": 1]]
            linux["namespaces"] = [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"], ["type": "user"]]
        } else {
            linux["resources"] = ["devices": [["allow": false, "access": "rwm"]]]
            linux["namespaces"] = [["type": "pid"], ["type": "network"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]
        }
        linux["maskedPaths"] = [
            "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
            "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ]
        linux["readonlyPaths"] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

        return [
            "ociVersion": "1.0.2-dev",
            "process": process,
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "runc",
            "mounts": mounts,
            "linux": .object(linux),
        ]
    }
}
