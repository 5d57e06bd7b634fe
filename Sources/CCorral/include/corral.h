// corral's C executor: the contract between the Swift planner and the code that runs after clone().
//
// Swift decodes and validates config.json and fills a `corral_plan` whose pointers all point into memory the
// Swift side keeps alive until corral_spawn() returns. The cloned child gets a copy of that memory (no CLONE_VM),
// runs only the C in this target with raw syscalls and stack buffers, and never returns into Swift: it either
// execve()s the container process or reports a `corral_msg` error and _exit()s.
#ifndef CORRAL_H
#define CORRAL_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What a mount operation does; the planner expands config mounts (and runc's implicit work) into these.
enum corral_mount_kind {
    CORRAL_MOUNT_FS = 1,      ///< new filesystem instance: fsopen(fstype) + fsconfig(data) + fsmount
    CORRAL_MOUNT_BIND = 2,    ///< open_tree(source) clone (recursive when `recursive`), attributes, move_mount
    CORRAL_MOUNT_REMOUNT = 3, ///< change attributes of what is already mounted at dest
    CORRAL_MOUNT_SYMLINK = 4, ///< symlink `source` (link text) at dest; an existing identical link is kept
    CORRAL_MOUNT_MKDIR = 5,   ///< create dest (and parents) as a directory, mode in `mode`
};

/// One mount operation, applied in order inside the rootfs. `dest` is an absolute path inside the container.
struct corral_mount {
    int kind;
    int recursive;            ///< BIND: rbind (AT_RECURSIVE)
    int dest_is_file;         ///< create a missing dest as an empty file instead of a directory
    int propagation_recursive;
    const char *source;       ///< host path (BIND), "source" parameter (FS, may be NULL), link text (SYMLINK)
    const char *fstype;       ///< FS only
    const char *dest;
    const char *const *data;  ///< FS: NULL-terminated fsconfig parameters "key=value" or "flag"
    uint64_t attr_set;        ///< MOUNT_ATTR_* to set on the top mount
    uint64_t attr_clr;        ///< MOUNT_ATTR_* to clear on the top mount (incl. MOUNT_ATTR__ATIME when setting atime)
    uint64_t rattr_set;       ///< MOUNT_ATTR_* to set recursively (rro, rnosuid, ...)
    uint64_t rattr_clr;
    uint64_t propagation;     ///< MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, 0 for none
    uint32_t mode;            ///< MKDIR mode
    int source_fd;            ///< BIND: >= 0 a detached mount the parent made (open_tree, attributes and idmap
                              ///< applied there, where the source is reachable): attached as it is
    int allow_on_proc;        ///< the target may resolve onto procfs; otherwise such a target is refused
    int copy_up;              ///< FS (tmpfs): copy the destination directory's tree into the new filesystem first
    int deferred;             ///< REMOUNT applied at the end of the rootfs setup (read-only tmpfs and /dev), not in order
    const char *label;        ///< for error messages: the config's "type" or "bind"
    int config_index;         ///< index in config.json mounts[], -1 for implicit ones
};

/// A device node to create under the rootfs (linux.devices and the defaults).
struct corral_device {
    const char *path;         ///< absolute path inside the container, e.g. "/dev/null"
    uint32_t mode;            ///< S_IFCHR/S_IFBLK/S_IFIFO | permission bits
    uint32_t major, minor;
    uint32_t uid, gid;
    int bind_from_host;       ///< in a user namespace mknod is impossible: bind the host node instead (runc does)
};

struct corral_rlimit { int resource; uint64_t soft, hard; };

/// Namespace to join by path: an fd opened by the parent (O_RDONLY|O_CLOEXEC) and its CLONE_NEW* type.
struct corral_join { int fd; int nstype; };

enum corral_stage {
    CORRAL_STAGE_NONE = 0,
    CORRAL_STAGE_SETUP, CORRAL_STAGE_NAMESPACES, CORRAL_STAGE_USERMAP, CORRAL_STAGE_HOSTNAME,
    CORRAL_STAGE_ROOTFS, CORRAL_STAGE_MOUNT, CORRAL_STAGE_DEVICES, CORRAL_STAGE_CONSOLE, CORRAL_STAGE_PIVOT,
    CORRAL_STAGE_READONLY_ROOT, CORRAL_STAGE_SYSCTL, CORRAL_STAGE_MASK, CORRAL_STAGE_READONLY_PATH,
    CORRAL_STAGE_RLIMIT, CORRAL_STAGE_USER, CORRAL_STAGE_CAPS, CORRAL_STAGE_NNP, CORRAL_STAGE_CWD,
    CORRAL_STAGE_EXEC_LOOKUP, CORRAL_STAGE_FIFO, CORRAL_STAGE_EXEC, CORRAL_STAGE_TIMENS, CORRAL_STAGE_SECCOMP, CORRAL_STAGE_LSM, CORRAL_STAGE_PERSONALITY,
    CORRAL_STAGE_SYSCTL_HOST_NS, ///< sysctl `index` would be written into a namespace of the host (refused)
};

enum corral_msg_type {
    CORRAL_MSG_MAPS_PLEASE = 1, ///< child -> parent: I am in my new user namespace, write my id maps
    CORRAL_MSG_MAPS_DONE,       ///< parent -> child
    CORRAL_MSG_PID,             ///< intermediate -> parent: `pid` is the container init (host pid)
    CORRAL_MSG_READY,           ///< init -> parent: set up and parked on exec.fifo
    CORRAL_MSG_ERROR,           ///< child -> parent: failed at `stage` (item `index`) with `err`, `detail` says on what
    CORRAL_MSG_HELLO,           ///< child -> parent: place me in my cgroups (`pid` unused: the parent knows it)
    CORRAL_MSG_GO,              ///< parent -> child: placed, go on
    CORRAL_MSG_SECCOMP_FD,      ///< child -> parent: the seccomp notify listener fd follows as SCM_RIGHTS
    CORRAL_MSG_SECCOMP_DONE,    ///< parent -> child: the listener fd was handed on
    CORRAL_MSG_COMMIT,          ///< parent -> init: state recorded; stop dying with me (clear PDEATHSIG)
    CORRAL_MSG_COMMIT_ACK,      ///< init -> parent: cleared; the parent may exit
    CORRAL_MSG_HOOKS,           ///< init -> parent: mounts done, not pivoted yet: run prestart/createRuntime/createContainer
    CORRAL_MSG_HOOKS_DONE,      ///< parent -> init: they succeeded, go on (on failure the parent kills the init)
};

/// Fixed-size message on the SOCK_SEQPACKET sync socket; no encoding, no length fields to trust.
struct corral_msg {
    int32_t type;
    int32_t stage;
    int32_t err;
    int32_t index;
    int32_t pid;
    char detail[512];
};

/// One OCI hook as planned: an absolute path exec'd directly (no PATH lookup), its argv (argv[0] included) and
/// its environment exactly as configured (both NULL-terminated; envp NULL when the config has no env: the hook
/// gets the caller's environment, as with runc), and a timeout in seconds (0 = none).
struct corral_hook {
    const char *path;
    const char *const *argv;
    const char *const *envp;
    int timeout;
};

/// Everything the child needs, computed in advance. Arrays are counted; strings NUL-terminated.
struct corral_plan {
    // -- process creation
    uint64_t clone_flags;      ///< CLONE_NEW* to create with clone3 (0 when must_fork: then everything is unshare()d)
    uint64_t unshare_flags;    ///< CLONE_NEW* to unshare in the child: after the joins (must_fork path), or after
                               ///< the cgroup placement (CLONE_NEWCGROUP, so the namespace root is the new cgroup)
    int must_fork;             ///< joins, or a new time/pid namespace via unshare: fork once more, grandchild is init
    const struct corral_join *joins; int njoins;   ///< the user namespace (if any) first
    int join_pidfd;            ///< exec: verified pidfd of the container's init ...
    uint64_t join_pidfd_flags; ///< ... whose CLONE_NEW* namespaces are entered with one setns(pidfd, flags) (atomic,
                               ///< kernel-ordered, user first); 0: no such join (join_pidfd is then ignored)
    int new_userns;            ///< wait for MAPS_DONE after entering the new user namespace
    int loopback_up;           ///< bring "lo" up (a new network namespace; runc and crun do the same)
    int sync_fd;               ///< child's end of the socketpair
    int cgroup_sync;           ///< say HELLO and wait for GO before any namespace work (cgroup placement)
    int exec_fifo_fd;          ///< O_PATH fd of <state>/exec.fifo, reopened for writing through the container's
                               ///< procfs (never a directory fd: CVE-2024-21626); -1 for no parking (exec)
    int fifo_via_host_proc;    ///< the config mounts no procfs at /proc: reopen the fifo through the runtime's
                               ///< procfs, taken before pivot_root and closed before execve
    int console_socket_fd;     ///< connected --console-socket, -1 when none
    int terminal;
    uint16_t console_rows, console_cols;
    const int64_t *timens_offsets; ///< monotonic secs, nsecs, boottime secs, nsecs (NULL when not given)
    int pdeathsig;
    const char *keyring_name;  ///< join a new session keyring with this name; NULL for --no-new-keyring

    // -- identity of the box
    const char *hostname;      ///< NULL: leave
    const char *domainname;

    // -- filesystem
    const char *rootfs;        ///< absolute host path of the rootfs
    int new_mountns;           ///< 0: no mount work at all (mount namespace shared with the host is refused by the planner)
    uint64_t root_propagation; ///< applied to "/" before anything (default MS_SLAVE|MS_REC)
    uint64_t root_propagation_after; ///< applied to the new "/" after pivot_root, 0 for none
    const struct corral_mount *mounts; int nmounts;
    const struct corral_device *devices; int ndevices;
    int setup_dev;             ///< create /dev symlinks (fd, stdin, ...) and the ptmx link
    int no_pivot;
    int readonly_root;
    const char *const *sysctl_keys; const char *const *sysctl_values; int nsysctl; ///< keys as /proc/sys paths ("net/ipv4/ip_forward")
    const uint64_t *sysctl_nstypes; ///< CLONE_NEW* namespace type of each sysctl
    /// Inodes of the host's namespaces (the runtime's own and pid 1's; 0 when unknown), [type][2] for network,
    /// ipc and uts: a sysctl is never written while the child is in the host's namespace of its type.
    uint64_t host_ns_ino[3][2];
    const char *const *masked_paths; int nmasked;
    const char *const *readonly_paths; int nreadonly;
    const char *cwd;           ///< absolute; created if missing (runc does)

    // -- process attributes
    const struct corral_rlimit *rlimits; int nrlimits;
    uint32_t uid, gid;
    const uint32_t *groups; int ngroups;
    int set_groups;            ///< call setgroups (0 in a user namespace whose setgroups is denied)
    int umask;                 ///< -1: leave at 0022 (runc's default)
    uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
    int last_cap;              ///< /proc/sys/kernel/cap_last_cap
    int no_new_privs;
    const void *seccomp_filter; ///< struct sock_filter[seccomp_len] compiled by the parent; NULL for none
    uint32_t seccomp_len;
    uint32_t seccomp_flags;    ///< SECCOMP_FILTER_FLAG_*; with NEW_LISTENER the fd goes to the parent
    int preserve_fds;          ///< fds 3 .. 3+n-1 stay open in the container

    // -- program
    const char *const *argv;   ///< argv[0] as given; resolved in the container via PATH from envp
    const char *const *envp;
    const char *path_env;      ///< the PATH value of envp, NULL if none
    uint64_t self_dev, self_ino; ///< the runtime binary (stat of /proc/self/exe): never exec'd in the container
    int personality;           ///< personality(2) domain (PER_LINUX / PER_LINUX32), -1 to leave it
    const char *apparmor_exec; ///< "exec <profile>" for /proc/self/attr/apparmor/exec, NULL for none
    const char *selinux_exec;  ///< label for /proc/self/attr/exec, NULL for none

    // -- hooks (hooks.c)
    int hooks_sync;            ///< send HOOKS after the mounts (before pivot_root) and wait for HOOKS_DONE
    const struct corral_hook *start_hooks; int nstart_hooks; ///< startContainer: run by the init after `start`
                               ///< opened the fifo; the state comes as an fd attached to COMMIT
};

/// Result of corral_spawn in the parent.
struct corral_spawn_result {
    pid_t child_pid;           ///< first child (the init unless must_fork)
    int child_pidfd;
};

/// clone3()s the child that runs the plan. Returns 0 and fills `out`, or -errno (nothing was created).
/// The parent keeps `plan` memory alive until it has its READY or ERROR message.
int corral_spawn(const struct corral_plan *plan, struct corral_spawn_result *out);

/// Writes `text` to /proc/<pid>/<file> in a single write(2). Returns 0 or -errno.
int corral_write_proc(pid_t pid, const char *file, const char *text);

/// Sends one message on a SOCK_SEQPACKET socket / receives one (with a timeout in ms, -1 = forever). 0 or -errno.
int corral_send_msg(int fd, const struct corral_msg *msg);
int corral_recv_msg(int fd, struct corral_msg *msg, int timeout_ms);

/// Small syscall wrappers for the Swift side (glibc lacks some, or Swift cannot call variadic/macro forms).
int corral_pidfd_open(pid_t pid);
int corral_pidfd_send_signal(int pidfd, int sig);
int corral_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve);
int corral_fcntl_setfd(int fd, int cloexec);
int corral_ioctl_winsize(int fd, uint16_t rows, uint16_t cols);
/// Receive one fd by SCM_RIGHTS (tests and tools); returns fd or -errno, name copied into buf.
int corral_recv_fd(int sock, char *buf, int buflen);
/// Namespace type (CLONE_NEW*) of a namespace fd, or -errno (ENOTTY / EINVAL when it is not a namespace file).
int corral_ns_type(int fd);
/// Sends `fd` with payload `name` over a connected unix socket (SCM_RIGHTS). 0 or -errno.
int corral_send_fd(int sock, int fd, const char *name);
/// Connects a SOCK_STREAM unix socket to `path` (O_CLOEXEC). fd or -errno.
int corral_connect_unix(const char *path);
/// O_PATH for Swift (the Glibc module does not export it).
#define CORRAL_O_PATH 010000000
/// prctl(PR_SET_CHILD_SUBREAPER, 1). 0 or -errno.
int corral_set_child_subreaper(void);
/// signalfd for every signal except SIGKILL/SIGSTOP, which it also blocks; returns fd or -errno.
int corral_signalfd_all(void);
/// Reads one signal from a signalfd: the signal number, 0 when none is pending, or -errno.
int corral_signalfd_read(int fd);
/// Sends `msg` with `fd` attached (SCM_RIGHTS) on the sync socket / receives one such message. 0 or -errno.
int corral_send_msg_fd(int sock, const struct corral_msg *msg, int fd);
int corral_recv_msg_fd(int sock, struct corral_msg *msg, int *fd, int timeout_ms);
/// 1 when /proc/self/exe is on a read-only mount, 0 when not, -errno on failure.
int corral_exe_is_readonly(void);
/// Re-executes the running binary from a read-only detached mount of itself (CVE-2019-5736) unless it already
/// runs from a read-only mount. Returns 0 when nothing was needed, -errno on failure; never returns on success.
int corral_reexec_readonly(char *const argv[]);
/// The process's argc/argv as the start-up code saw them (0/NULL before it ran). The executable reads its
/// arguments here rather than through CommandLine, whose one-time set-up code sits in a part of the standard
/// library that nothing else on the command paths touches (one more 64 KiB window of the binary in memory).
int corral_argc(void);
char **corral_argv(void);
/// The verb as Corral.main's argument parser finds it, for the start-up seal: the first argument that is neither an
/// option nor the value of a value-taking global option (`--root X`; `--root=X` carries its own); NULL when there is
/// none. Keeps its own list of those options (Swift has not started): ArgumentsTests checks it against
/// Corral.globalOptions. A miss would only cost the early seal; Corral.main seals again.
const char *corral_early_verb(int argc, char **argv);
/// statfs(2) f_type of `path` (e.g. 0x9fa0 for procfs), or -errno.
long corral_fs_type(const char *path);
/// Lowercase Go-style errno text ("no such file or directory").
const char *corral_errno_text(int err);

// -- hooks (hooks.c): one runner for the runtime process and the parked init (no allocation).

/// How to run a hook.
struct corral_hook_run {
    int state_fd;              ///< the hook's stdin (the state JSON): rewound to offset 0 before the hook starts
    const char *cwd;           ///< working directory of the hook, NULL to keep the caller's
    int join_pidfd;            ///< >= 0: run in the namespaces of this process (createContainer)
    int join_flags;            ///< CLONE_NEW* types to join through join_pidfd (only those that differ from ours)
    uint64_t deny_dev, deny_ino; ///< refuse to exec this file, the runtime's own binary (0/0: no check)
};

/// What happened to a hook.
enum corral_hook_outcome {
    CORRAL_HOOK_OK = 0,        ///< exited 0
    CORRAL_HOOK_NOT_STARTED,   ///< could not be started: `step` and `err` say why
    CORRAL_HOOK_FAILED,        ///< exited non-zero (`exit_code`) or was killed (`signal`)
    CORRAL_HOOK_TIMED_OUT,     ///< ran past its timeout and was killed
};

/// Where a hook that could not be started failed.
enum corral_hook_step {
    CORRAL_HOOK_STEP_PIPE = 1, CORRAL_HOOK_STEP_FORK, CORRAL_HOOK_STEP_SETNS, CORRAL_HOOK_STEP_CHDIR,
    CORRAL_HOOK_STEP_STDIO, CORRAL_HOOK_STEP_EXEC, CORRAL_HOOK_STEP_RUNTIME_BINARY,
};

/// Outcome of one hook; stdout and stderr are kept up to the capacities the caller gives (the rest is read and
/// dropped, so a chatty hook never blocks on a full pipe).
struct corral_hook_result {
    int outcome;
    int step, err;             ///< NOT_STARTED
    int exit_code, signal;     ///< FAILED: exit status, or the signal that killed it (then exit_code is -1)
    char *out; int out_cap; int out_len; int out_dropped;
    char *errout; int err_cap; int err_len; int err_dropped;
};

/// Runs one hook to completion (or its timeout) and fills `r` (whose buffers the caller provides). Returns 0 when
/// the hook exited 0, 1 otherwise. The calling process must be single-threaded.
int corral_run_hook(const struct corral_hook *h, const struct corral_hook_run *how, struct corral_hook_result *r);
/// Room for corral_hook_describe's text with 4 KiB of stdout and 4 KiB of stderr.
#define CORRAL_HOOK_TEXT_MAX 9216
/// runc's text for a failed hook, "error running <kind> hook #<i>: <what happened>", NUL-terminated in buf[cap]
/// (truncated to fit). Returns its length.
size_t corral_hook_describe(const char *kind, int index, const struct corral_hook *h,
                            const struct corral_hook_result *r, char *buf, size_t cap);
/// A sealed memfd holding `len` bytes of `data` (the state for hooks' stdin): fd (O_CLOEXEC) or -errno.
int corral_sealed_memfd(const char *name, const void *data, size_t len);

// -- cgroups (devices_bpf.c): runs in the runtime process only.

/// One device-cgroup exception for the cgroup v2 device program (the emulated rule list, never type 'a').
struct corral_dev_rule {
    char type;                ///< 'c' or 'b'
    int64_t major, minor;     ///< -1 = wildcard
    uint32_t access;          ///< BPF_DEVCG_ACC_* bits: mknod 1, read 2, write 4
    int allow;
};
/// Writes runc's device filter (BPF_PROG_TYPE_CGROUP_DEVICE) into `insns` (struct bpf_insn, 8 bytes each, room for
/// `max_insns`): the exceptions, then `default_allow`. Returns the instruction count or -E2BIG / -EINVAL.
int corral_devices_bpf_gen(const struct corral_dev_rule *rules, int nrules, int default_allow, void *insns, int max_insns);
/// BPF_PROG_LOAD of such a program (license "Apache"). fd or -errno; on failure `log` holds the verifier's log.
int corral_devices_bpf_load(const void *insns, int ninsns, char *log, int loglen);
/// BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to a cgroup2 directory fd. 0 or -errno.
int corral_devices_bpf_attach(int cgroup_fd, int prog_fd);
/// Ids of the device programs attached to the cgroup (up to max_ids); returns the count or -errno.
int corral_devices_bpf_query(int cgroup_fd, uint32_t *ids, int max_ids);
/// Detaches every device program attached to the cgroup; returns how many or -errno.
int corral_devices_bpf_detach_all(int cgroup_fd);
/// eventfd(initval, EFD_CLOEXEC) (not exported by Swift's Glibc): fd or -errno.
int corral_eventfd(unsigned int initval);

// -- mounts prepared by the runtime process (userns.c): never called in the container child.

/// A user namespace with these uid_map / gid_map texts ("inside outside count\n" lines), held by a short-lived
/// child while its fd is opened. fd (O_CLOEXEC) or -errno.
int corral_userns_fd(const char *uid_map, const char *gid_map);
/// open_tree(OPEN_TREE_CLONE) of a host path: a detached copy (AT_RECURSIVE with `recursive`). fd or -errno.
int corral_open_tree_clone(const char *path, int recursive);
/// mount_setattr on a mount fd (AT_RECURSIVE with `recursive`). 0 or -errno.
int corral_mount_setattr(int mfd, int recursive, uint64_t set, uint64_t clr);
/// MOUNT_ATTR_IDMAP through `userns_fd` (the mount must be detached). 0 or -errno.
int corral_mount_setattr_idmap(int mfd, int userns_fd, int recursive);

// -- network devices (netdev.c): runtime process only.

/// linux.netDevices: moves the host interface `host_name` into the network namespace `netns_fd`, renamed to
/// `new_name` in the same request, then restores its addresses and up state there. 0 or -errno; `what` (room
/// `what_len`) names the step that failed.
int corral_netdev_move(const char *host_name, const char *new_name, int netns_fd, char *what, int what_len);

// -- criu (criu.c): runtime process only.

/// Steps of corral_criu_spawn's child that can fail before criu runs (reported with their errno).
enum corral_criu_step {
    CORRAL_CRIU_STEP_UNSHARE = 1, ///< unshare(CLONE_NEWNS)
    CORRAL_CRIU_STEP_PRIVATE,     ///< making the new mount namespace private
    CORRAL_CRIU_STEP_BIND,        ///< bind-mounting the rootfs on criu's root directory
    CORRAL_CRIU_STEP_EXEC,        ///< execve of the criu binary
};
/// Forks the child that execs criu (`path`, `argv`, `envp`; our fds without CLOEXEC are criu's). With `root_src`
/// and `root_dst`, the child first enters a private mount namespace and bind-mounts (MS_REC) the first on the
/// second. With `gated`, it then waits for one byte on *gate_fd (closing that fd without writing makes it exit
/// without running criu). With `quiet`, criu's stdout and stderr go to /dev/null. *report_fd reaches EOF once execve succeeded; corral_criu_report reads a failure.
/// Returns the pid or -errno. The child dies with the runtime (PDEATHSIG).
int corral_criu_spawn(const char *path, const char *const argv[], const char *const envp[], const char *root_src,
                      const char *root_dst, int gated, int quiet, int *gate_fd, int *report_fd);
/// A listening SOCK_STREAM unix socket bound to `path` (O_CLOEXEC): restore's hook service. fd or -errno.
int corral_listen_unix(const char *path);
/// Reads the child's report: 1 with *step (enum corral_criu_step) and *err when a step failed, 0 when criu runs.
int corral_criu_report(int report_fd, int *step, int *err);

#ifdef __cplusplus
}
#endif
#endif
