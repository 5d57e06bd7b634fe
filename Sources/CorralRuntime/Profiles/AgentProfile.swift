import CorralSpec
import Glibc

/// `corral spec --profile agent`: the hardened agent container the project is built for. A read-only root with a
/// sized tmpfs /tmp, uid/gid 1001, a user namespace when the host allows one, no capability but
/// NET_BIND_SERVICE, noNewPrivileges, Docker's default seccomp profile (as moby converts it for these
/// capabilities) without the syscalls an agent never needs, Docker's masked and read-only paths, memory, CPU and
/// pids limits, and a network namespace of its own with only `lo`. bundles/agent/config.json is this document with
/// the demo's arguments.
enum AgentProfile {
    /// Host ids the container's ids 0..65535 map to when it gets a user namespace. One range for every agent made
    /// from this template: give each tenant its own range when their files must stay apart.
    static let hostIDBase = 100_000
    static let idCount = 65536

    /// Syscalls Docker's profile allows that an agent never needs: tracing other processes (ptrace and the
    /// process_vm_* pair). bpf, io_uring, userfaultfd, keyctl, perf_event_open and new user namespaces (clone's
    /// namespace flags, unshare, clone3) are already outside Docker's profile for a container without capabilities.
    static let dropped: Set<String> = ["ptrace", "process_vm_readv", "process_vm_writev"]

    /// Whether this host lets root make user namespaces (user.max_user_namespaces > 0).
    static var hostAllowsUserNamespaces: Bool {
        guard let text = Files.readString("/proc/sys/user/max_user_namespaces"), let n = Int(text.cgTrimmed) else { return false }
        return n > 0
    }

    static func config(userNamespace: Bool) -> JSONValue {
        let caps: JSONValue = ["CAP_NET_BIND_SERVICE"]
        var namespaces: [JSONValue] = [["type": "pid"], ["type": "mount"], ["type": "ipc"], ["type": "uts"], ["type": "network"]]
        var linux: JSONValue = [
            "resources": [
                "memory": ["limit": 536_870_912, "swap": 536_870_912],
                "cpu": ["quota": 50000, "period": 100_000],
                "pids": ["limit": 64],
                "devices": [["allow": false, "access": "rwm"]],
            ],
            "seccomp": seccomp(),
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        ]
        if userNamespace {
            namespaces.append(["type": "user"])
            let map: JSONValue = [["containerID": 0, "hostID": JSONValue(hostIDBase), "size": JSONValue(idCount)]]
            linux["uidMappings"] = map
            linux["gidMappings"] = map
        }
        linux["namespaces"] = .array(namespaces)
        func mount(_ dest: String, _ type: String, _ source: String, _ options: [String]) -> JSONValue {
            ["destination": .string(dest), "type": .string(type), "source": .string(source), "options": JSONValue(options)]
        }
        let mounts: [JSONValue] = [
            mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
            mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
            mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
            mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "size=16m", "mode=1777"]),
        ]
        return [
            "ociVersion": "1.0.2",
            "process": [
                "terminal": false,
                "user": ["uid": 1001, "gid": 1001, "additionalGids": [1001]],
                "args": ["sh"],
                "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/agent"],
                "cwd": "/tmp",
                "capabilities": ["bounding": caps, "effective": caps, "inheritable": caps, "permitted": caps, "ambient": caps],
                "noNewPrivileges": true,
            ],
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "agent",
            "mounts": .array(mounts),
            "linux": linux,
        ]
    }

    /// Docker's default profile for a container whose only capability is NET_BIND_SERVICE (moby's conversion, as
    /// SeccompTests checks against the shared copy of the profile), less `dropped`.
    static func seccomp() -> JSONValue {
        let allowed = allowedByDocker.filter { !dropped.contains($0) }
        let conditional: [JSONValue] = [
            ["names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 38, "op": "SCMP_CMP_LT"]]],
            ["names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 39, "op": "SCMP_CMP_EQ"]]],
            ["names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 40, "op": "SCMP_CMP_GT"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 0, "op": "SCMP_CMP_EQ"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 8, "op": "SCMP_CMP_EQ"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 131072, "op": "SCMP_CMP_EQ"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 131080, "op": "SCMP_CMP_EQ"]]],
            ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"]]],
            ["names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW"],
            ["names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW"],
            ["names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"]]],
            ["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38],
        ]
        return [
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": JSONValue(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
            "syscalls": .array([["names": JSONValue(allowed), "action": "SCMP_ACT_ALLOW"]] + conditional),
        ]
    }

    /// The unconditional allow list of Docker's default profile (amd64) for these capabilities.
    static let allowedByDocker: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
        "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
        "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
        "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
        "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
        "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
        "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
        "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr",
        "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
        "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
        "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv",
        "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
        "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
        "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
        "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
        "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
        "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64",
        "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
        "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
        "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat",
        "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
        "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount",
        "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
        "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
        "waitid", "waitpid", "write", "writev"
    ]
}
