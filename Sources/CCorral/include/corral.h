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
                              ///< applied there, where the source is reachable): attached as it is when the child
                              ///< cannot open the source itself, or always with `source_fd_only` (idmapped)
    int source_fd_only;       ///< BIND: use `source_fd`, never the child's own view of the source (idmapped mounts)
    int source_in_root;       ///< BIND: `source` is below the rootfs: resolved inside it (RESOLVE_IN_ROOT) when this
                              ///< mount's turn comes, the destination made a file or a directory after what it finds
    uint64_t ms_cleared;      ///< BIND: MS_* lockable flags the options clear explicitly (rw, suid, dev, exec, atime...)
    uint64_t ms_atime;        ///< BIND: MS_* atime flags the options set; with ms_cleared, what may not be given up when
                              ///< the kernel keeps the source's locked flags (a user namespace): runc's rules
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

/// process.scheduler: the fields of the kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0) for sched_setattr(2).
struct corral_sched {
    uint32_t policy;          ///< SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5, DEADLINE 6
    uint64_t flags;           ///< SCHED_FLAG_* bits
    int32_t nice;
    uint32_t priority;        ///< 1..99 for FIFO/RR, else 0
    uint64_t runtime, deadline, period; ///< SCHED_DEADLINE only, in ns
};

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
    CORRAL_STAGE_SCHEDULER,      ///< sched_setattr(2) of process.scheduler
    CORRAL_STAGE_IOPRIO,         ///< ioprio_set(2) of process.ioPriority
    CORRAL_STAGE_CPU_AFFINITY,   ///< sched_setaffinity(2): `index` 0 execCPUAffinity.initial, 1 .final, 2 the reset
    CORRAL_STAGE_MEMPOLICY,      ///< set_mempolicy(2) of linux.memoryPolicy
    CORRAL_STAGE_LANDLOCK,       ///< the Landlock ruleset (landlock.c): `index` >= 0 is landlock_paths[index], else a
                                 ///< `corral_landlock_failure`
    CORRAL_STAGE_CGROUP,         ///< entering cgroup v1 directory `index` (writing "0" to its `tasks` file)
};

/// What failed in the Landlock setup when corral_msg.index is negative (CORRAL_STAGE_LANDLOCK).
enum corral_landlock_failure {
    CORRAL_LANDLOCK_RULESET = -1,     ///< landlock_create_ruleset(2) refused the handled rights
    CORRAL_LANDLOCK_PORT = -2,        ///< landlock_add_rule(2) of a TCP port (`detail` names it)
    CORRAL_LANDLOCK_PROGRAM = -3,     ///< the program (`detail`) is in no path the ruleset lets it execute
    CORRAL_LANDLOCK_INTERPRETER = -4, ///< its "#!" or ELF interpreter (`detail`) is in no such path
    CORRAL_LANDLOCK_RESTRICT = -5,    ///< a probe of landlock_restrict_self(2) after the seccomp filter was refused
};

/// At most this many Landlock path rules (the planner refuses more; the child keeps one stack slot per rule).
#define CORRAL_LANDLOCK_MAX_PATHS 256

/// One Landlock filesystem rule: a path inside the container, opened O_PATH (resolved in the container's root)
/// after pivot_root, and the LANDLOCK_ACCESS_FS_* rights granted beneath it. On a path that is not a directory the
/// child keeps only the rights a file can have (execute, write_file, read_file, truncate, ioctl_dev).
struct corral_landlock_path { const char *path; uint64_t access; };

/// One Landlock network rule: a TCP port and the LANDLOCK_ACCESS_NET_* rights (bind_tcp 1, connect_tcp 2) on it.
struct corral_landlock_port { uint64_t port; uint64_t access; };

/// Kernel constants the planner puts in the plan, as enums Swift imports (the importer does not see every macro of
/// the kernel's headers, and these are kernel ABI). kconst.c checks each against <linux/mount.h> and <sched.h> at
/// compile time, so a wrong value cannot build.
enum corral_clone_flag {
    CORRAL_CLONE_NEWTIME = 0x80,
    CORRAL_CLONE_NEWNS = 0x20000,
    CORRAL_CLONE_NEWCGROUP = 0x2000000,
    CORRAL_CLONE_NEWUTS = 0x4000000,
    CORRAL_CLONE_NEWIPC = 0x8000000,
    CORRAL_CLONE_NEWUSER = 0x10000000,
    CORRAL_CLONE_NEWPID = 0x20000000,
    CORRAL_CLONE_NEWNET = 0x40000000,
};

/// MOUNT_ATTR_* of mount_setattr(2).
enum corral_mount_attr {
    CORRAL_MOUNT_ATTR_RDONLY = 0x1,
    CORRAL_MOUNT_ATTR_NOSUID = 0x2,
    CORRAL_MOUNT_ATTR_NODEV = 0x4,
    CORRAL_MOUNT_ATTR_NOEXEC = 0x8,
    CORRAL_MOUNT_ATTR_RELATIME = 0x0,
    CORRAL_MOUNT_ATTR_NOATIME = 0x10,
    CORRAL_MOUNT_ATTR_STRICTATIME = 0x20,
    CORRAL_MOUNT_ATTR__ATIME = 0x70,
    CORRAL_MOUNT_ATTR_NODIRATIME = 0x80,
    CORRAL_MOUNT_ATTR_NOSYMFOLLOW = 0x200000,
};

/// MS_* of mount(2): the flags a bind's options ask for, and propagation.
enum corral_ms_flag {
    CORRAL_MS_RDONLY = 0x1,
    CORRAL_MS_NOSUID = 0x2,
    CORRAL_MS_NODEV = 0x4,
    CORRAL_MS_NOEXEC = 0x8,
    CORRAL_MS_SYNCHRONOUS = 0x10,
    CORRAL_MS_MANDLOCK = 0x40,
    CORRAL_MS_DIRSYNC = 0x80,
    CORRAL_MS_NOSYMFOLLOW = 0x100,
    CORRAL_MS_NOATIME = 0x400,
    CORRAL_MS_NODIRATIME = 0x800,
    CORRAL_MS_REC = 0x4000,
    CORRAL_MS_SILENT = 0x8000,
    CORRAL_MS_UNBINDABLE = 0x20000,
    CORRAL_MS_PRIVATE = 0x40000,
    CORRAL_MS_SLAVE = 0x80000,
    CORRAL_MS_SHARED = 0x100000,
    CORRAL_MS_RELATIME = 0x200000,
    CORRAL_MS_I_VERSION = 0x800000,
    CORRAL_MS_STRICTATIME = 0x1000000,
    CORRAL_MS_LAZYTIME = 0x2000000,
};

/// Why the executable lookup failed: corral_msg.index with CORRAL_STAGE_EXEC_LOOKUP.
enum corral_exec_lookup {
    CORRAL_EXEC_STAT = 0,            ///< a name with a slash could not be stat'ed (err says why)
    CORRAL_EXEC_NOT_EXECUTABLE = 1,  ///< it is a directory or has no x bit
    CORRAL_EXEC_NOT_IN_PATH = 2,     ///< no directory of PATH has it
    CORRAL_EXEC_RUNTIME_BINARY = 3,  ///< it is the runtime's own binary (CVE-2019-5736)
};

/// The name (comm) a container init carries from set-up (its rootfs final, before READY and before any seccomp
/// filter of the config) until it execs the container's process, as runc's shows "runc:[2:INIT]". `state` and
/// `list` read it in /proc/<pid>/stat: an init with another name has exec'd, so it is running and its exec.fifo
/// needs no lookup; one with this name may still be parked, and the fifo decides.
#define CORRAL_INIT_COMM "corral:[INIT]"

enum corral_msg_type {
    CORRAL_MSG_MAPS_PLEASE = 1, ///< child -> parent: I am in my new user namespace, write my id maps
    CORRAL_MSG_MAPS_DONE,       ///< parent -> child
    CORRAL_MSG_PID,             ///< intermediate -> parent: `pid` is the container init (host pid)
    CORRAL_MSG_READY,           ///< init -> parent: set up and parked on exec.fifo
    CORRAL_MSG_ERROR,           ///< child -> parent: failed at `stage` (item `index`) with `err`, `detail` says on what
    CORRAL_MSG_HELLO,           ///< child -> parent: place me in my cgroup2 directory, which clone3 could not
                                ///< put me in (`pid` unused: the parent knows it)
    CORRAL_MSG_GO,              ///< parent -> child: placed, go on
    CORRAL_MSG_SECCOMP_FD,      ///< child -> parent: the seccomp notify listener fd follows as SCM_RIGHTS
    CORRAL_MSG_SECCOMP_DONE,    ///< parent -> child: the listener fd was handed on
    CORRAL_MSG_COMMIT,          ///< parent -> init: state recorded; stop dying with me (clear PDEATHSIG)
    CORRAL_MSG_COMMIT_ACK,      ///< init -> parent: cleared; the parent may exit
    CORRAL_MSG_HOOKS,           ///< init -> parent: mounts done, not pivoted yet: run prestart/createRuntime/createContainer
    CORRAL_MSG_HOOKS_DONE,      ///< parent -> init: they succeeded, go on (on failure the parent kills the init)
    CORRAL_MSG_TIMENS_PLEASE,   ///< child -> parent: I unshared a time namespace, write its offsets (runc's parent does:
                                ///< the non-dumpable child's /proc files belong to the host's root, which a new user
                                ///< namespace does not map)
    CORRAL_MSG_TIMENS_DONE,     ///< parent -> child
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
/// gets the caller's environment, as with runc; a startContainer hook without env is planned with the container
/// process's environment instead, as runc's init runs it), and a timeout in seconds (0 = none).
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
    int pid_ns_in_parent;      ///< exec without must_fork: the parent enters the container's pid namespace for its
                               ///< children (setns(join_pidfd, CLONE_NEWPID)) around clone3 and leaves it again, so
                               ///< the child is born in it and the rest of join_pidfd_flags needs no second fork
    int new_userns;            ///< wait for MAPS_DONE after entering the new user namespace
    int loopback_up;           ///< bring "lo" up (a new network namespace; runc and crun do the same)
    int sync_fd;               ///< child's end of the socketpair
    /// The container's cgroups, entered first thing, before any namespace work. Each v1 hierarchy: an O_WRONLY fd
    /// of the directory's `tasks` file, to which the child writes "0" (itself, one thread: the kernel moves the
    /// current thread without the global cgroup_threadgroup_rwsem, so no RCU grace period is waited for, unlike a
    /// cgroup.procs write by another process). cgroup2: an O_DIRECTORY fd for clone3's CLONE_INTO_CGROUP; when the
    /// kernel refuses that, the child says HELLO and the parent writes cgroup.procs before answering GO.
    const int *cgroup_tasks_fds; int ncgroup_tasks;
    int cgroup_dir_fd;         ///< cgroup2 directory, -1 for none
    int cgroup_sync;           ///< the parent places the child instead (HELLO/GO before any namespace work): the
                               ///< systemd driver, or an exec into sub-cgroups that are not all there
    int exec_fifo_fd;          ///< O_PATH fd of <state>/exec.fifo, reopened for writing through the container's
                               ///< procfs (never a directory fd: CVE-2024-21626); -1 for no parking (exec)
    int fifo_via_host_proc;    ///< the config mounts no procfs at /proc: reopen the fifo through the runtime's
                               ///< procfs, taken before pivot_root and closed before execve
    int console_socket_fd;     ///< connected --console-socket, -1 when none
    int terminal;
    int clear_onlcr;           ///< the runtime relays the terminal itself (foreground run/exec -t): clear ONLCR on the
                               ///< pty, as runc does, so relayed lines end in "\n" and not "\r\n"
    uint16_t console_rows, console_cols;
    const int64_t *timens_offsets; ///< monotonic secs, nsecs, boottime secs, nsecs (NULL when not given); written by
                               ///< the parent on TIMENS_PLEASE, the child only asks
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
    int personality;           ///< personality(2) persona: the domain (PER_LINUX / PER_LINUX32) ORed with the
                               ///< linux.personality.flags bits (ADDR_NO_RANDOMIZE, ...); -1 to leave it
    const char *apparmor_exec; ///< "exec <profile>" for /proc/self/attr/apparmor/exec, NULL for none
    const char *selinux_exec;  ///< label for /proc/self/attr/exec, NULL for none

    // -- scheduling and memory placement (sched.c), applied after the rlimits while the child is still privileged
    int set_scheduler;         ///< apply `scheduler` with sched_setattr(2) (process.scheduler)
    struct corral_sched scheduler; ///< process.scheduler, validated by the planner (SchedulingPlanner)
    int ioprio;                ///< ioprio_set(IOPRIO_WHO_PROCESS, 0, ioprio): class << 13 | level; -1 to leave it
    /// exec's process.execCPUAffinity as sched_setaffinity(2) masks of `ncpus_*` 64-bit words (NULL: not given).
    /// `initial` is set first thing, before the cgroup placement and every namespace step; `final` at the end of
    /// the setup, before the user switch and the seccomp filter (so no profile decides over it). With `initial`
    /// alone, the end of the setup resets the affinity to every CPU, which the kernel narrows to the cgroup's cpuset.
    const uint64_t *cpus_initial; int ncpus_initial; ///< execCPUAffinity.initial
    const uint64_t *cpus_final; int ncpus_final;     ///< execCPUAffinity.final
    int set_mempolicy;         ///< apply linux.memoryPolicy with set_mempolicy(2)
    int mempolicy_mode;        ///< MPOL_* mode ORed with MPOL_F_* flags
    const uint64_t *mempolicy_nodes; int nmempolicy_words; ///< node mask (bit n = node n); NULL for none

    // -- hooks (hooks.c)
    int hooks_sync;            ///< send HOOKS after the mounts (before pivot_root) and wait for HOOKS_DONE
    const struct corral_hook *start_hooks; int nstart_hooks; ///< startContainer: run by the init after `start`
                               ///< opened the fifo; the state comes as an fd attached to COMMIT

    // -- Landlock (landlock.c), planned by LandlockPlanner from the io.corral.landlock.* annotations. The ruleset is
    // built after the rootfs is final (paths opened O_PATH in the container's root, rules added, fds closed again),
    // the program and its interpreter are checked against it, and it is enforced with landlock_restrict_self(2)
    // last, right before execve: after the exec fifo handshake and the startContainer hooks, whose opens (the
    // fifo through /proc/self/fd, the hooks' files) it must not restrict.
    int landlock;              ///< 0: no Landlock at all (nothing is opened, created or checked)
    uint64_t landlock_fs;      ///< handled_access_fs of the ruleset, already masked to the kernel's ABI
    uint64_t landlock_net;     ///< handled_access_net (0 below ABI 4)
    uint64_t landlock_scoped;  ///< scoped: LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET 1, LANDLOCK_SCOPE_SIGNAL 2 (0 below ABI 6)
    const struct corral_landlock_path *landlock_paths; int nlandlock_paths;
    const struct corral_landlock_port *landlock_ports; int nlandlock_ports;
};

/// Result of corral_spawn in the parent.
struct corral_spawn_result {
    pid_t child_pid;           ///< first child (the init unless must_fork)
    int child_pidfd;
    int in_cgroup;             ///< clone3 put the child in cgroup_dir_fd (else it asks the parent with HELLO)
};

/// clone3()s the child that runs the plan. Returns 0 and fills `out`, or -errno (nothing was created).
/// The parent keeps `plan` memory alive until it has its READY or ERROR message.
int corral_spawn(const struct corral_plan *plan, struct corral_spawn_result *out);

// -- the exchange on the sync socket, and fd passing: used by both sides.

/// Sends one message on a SOCK_SEQPACKET socket / receives one (with a timeout in ms, -1 = forever). 0 or -errno.
int corral_send_msg(int fd, const struct corral_msg *msg);
int corral_recv_msg(int fd, struct corral_msg *msg, int timeout_ms);
/// Sends `msg` with `fd` attached (SCM_RIGHTS) on the sync socket / receives one such message. 0 or -errno.
int corral_send_msg_fd(int sock, const struct corral_msg *msg, int fd);
int corral_recv_msg_fd(int sock, struct corral_msg *msg, int *fd, int timeout_ms);
/// Sends `fd` with payload `name` over a connected unix socket (SCM_RIGHTS): the pty master to --console-socket,
/// a pidfd to --pidfd-socket. 0 or -errno.
int corral_send_fd(int sock, int fd, const char *name);
/// Receives one fd by SCM_RIGHTS (the relayed terminal, tests); returns fd or -errno, the payload copied into buf.
int corral_recv_fd(int sock, char *buf, int buflen);

// -- small utilities, safe on both sides.

/// FD_CLOEXEC on or off. 0 or -errno.
int corral_fcntl_setfd(int fd, int cloexec);
/// TIOCSWINSZ. 0 or -errno.
int corral_ioctl_winsize(int fd, uint16_t rows, uint16_t cols);
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
    int core_dumped;           ///< FAILED by a signal that dumped core (Go adds " (core dumped)")
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

// Everything that runs only in the runtime process (pidfds, signalfd, the exe seal, the device eBPF program,
// idmapped mount preparation, network devices, probes) is in the CCorralHost target, one header per concern.

#ifdef __cplusplus
}
#endif
#endif
