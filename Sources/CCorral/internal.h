// Internal helpers shared by the C executor files. Everything here is safe to call in the cloned child:
// raw syscalls, stack buffers, no allocation, no stdio, no locks.
#ifndef CORRAL_INTERNAL_H
#define CORRAL_INTERNAL_H

#include "corral.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define CORRAL_PATH_MAX 4096

/// The raw syscall, returning the kernel's -errno convention (glibc's syscall() sets errno and returns -1).
static inline long rsys(long r) { return r < 0 ? -errno : r; }
#define RSYS(...) rsys(syscall(__VA_ARGS__))

/// One round trip with the parent: sends `ask` (with `fd` attached when >= 0) and waits for `answer`. A failure to
/// send, a closed socket or any other answer fails the child at `stage` with `what`. The protocol is drawn in
/// Sources/CorralRuntime/Launch/Handshake.swift.
void child_exchange(const struct corral_plan *p, int ask, int fd, int answer, int stage, const char *what);
/// Sends one message without waiting for an answer (PID, READY, COMMIT_ACK); a dead parent ends the child.
void child_tell(const struct corral_plan *p, int type, int pid);

/// Child-side failure: report to the parent on the sync socket and _exit(1). Never returns.
void child_fail(const struct corral_plan *p, int stage, int err, int index, const char *d1, const char *d2)
    __attribute__((noreturn));

// String helpers that never allocate.
size_t c_strlen(const char *s);
int c_streq(const char *a, const char *b);
/// Copies `src` into dst[cap], always NUL-terminating; returns the length copied.
size_t c_strlcpy(char *dst, const char *src, size_t cap);
/// Appends `src` to dst[cap] (NUL-terminated), truncating; returns the new length.
size_t c_strlcat(char *dst, const char *src, size_t cap);
/// Writes the decimal form of v into buf (at least 21 bytes), returns length.
size_t c_utoa(uint64_t v, char *buf);
size_t c_itoa(int64_t v, char *buf);

// Syscall wrappers (return -errno).
int x_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve);
int x_open_tree(int dirfd, const char *path, unsigned flags);
int x_move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags);
int x_mount_setattr(int dirfd, const char *path, unsigned flags, uint64_t set, uint64_t clr, uint64_t prop, int userns_fd);
int x_fsopen(const char *fstype, unsigned flags);
int x_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux);
int x_fsmount(int fd, unsigned flags, unsigned attr);
int x_write_all(int fd, const void *buf, size_t len);
int x_close(int fd);

/// Resolves `path` inside the tree rooted at `rootfd` (symlinks and ".." cannot leave it) to an O_PATH fd,
/// creating missing components (directories; the last one as an empty file when `last_is_file`) with
/// `mkdirat`/`openat(O_EXCL|O_NOFOLLOW)` relative to verified parent fds. Returns fd or -errno.
int resolve_mkdir_in_root(int rootfd, const char *path, int create, int last_is_file, uint32_t mode);
/// Opens `path` inside `rootfd` (no creation); flags are open flags (O_PATH added when 0).
int resolve_in_root(int rootfd, const char *path, int flags);

/// Directory levels `tmpcopyup` copies below a mount destination; a deeper tree fails the mount with ELOOP.
#define CORRAL_COPYUP_MAX_DEPTH 64
#define CORRAL_STR_(x) #x
#define CORRAL_STR(x) CORRAL_STR_(x)
/// tmpcopyup (copyup.c): copies the tree of the open directory `src_dir` into the open directory `dst_dir` (files,
/// directories, symlinks as symlinks, device nodes, fifos, sockets, with owner, mode and times; `dst_dir` itself gets
/// those of `src_dir`). Returns 0 or -errno; on error `where` (holding the destination path on entry, room `cap`)
/// names the entry that failed.
int corral_copy_tree(int src_dir, int dst_dir, char *where, size_t cap);

// Stages of the child, implemented in rootfs.c and process.c.
/// Mounts and devices into the rootfs; returns the rootfs's fd, which finish_rootfs takes (and closes).
int setup_rootfs(const struct corral_plan *p);
/// The pty for process.terminal, reached from /dev/ptmx of the current root; with a `rootfd` (create) the slave is
/// also bound over /dev/console in it (exec passes -1: the container's console is its init's).
void setup_console(const struct corral_plan *p, int rootfd);
/// pivot_root (or chroot) into `rootfd`, then what comes after it, all resolved in the new "/": sysctls, masks,
/// read-only paths, deferred mounts, the read-only root. Closes `rootfd`.
void finish_rootfs(const struct corral_plan *p, int rootfd);
void setup_process(const struct corral_plan *p);
/// Marks every fd from `lo` up close-on-exec (close_range, or a /proc/self/fd walk where it is refused). 0 or -errno.
int cloexec_from(unsigned lo);
/// Applies process.rlimits. create: in setup_process; exec: before joining the container's user namespace (where
/// raising a hard limit would need CAP_SYS_RESOURCE of the host), and setup_process then leaves them.
void apply_rlimits(const struct corral_plan *p);
/// exec: process.execCPUAffinity.initial, set first thing in the child (before the cgroup placement). No-op without.
void apply_initial_affinity(const struct corral_plan *p);
/// linux.memoryPolicy, the final CPU affinity, process.scheduler and process.ioPriority (sched.c), in that order;
/// called after the rlimits, while the child still has its privileges and before any seccomp filter.
void apply_scheduling(const struct corral_plan *p);
/// Loads the parent-compiled seccomp filter (no-op without one); hands a notify listener to the parent.
void load_seccomp(const struct corral_plan *p);
/// Finds the executable like Go's exec.LookPath in the container; fills out[CORRAL_PATH_MAX] or fails the child.
void lookup_exec(const struct corral_plan *p, char *out);

/// The signal mask the parent had before corral_spawn blocked everything; restored right before execve.
extern sigset_t corral_saved_sigmask;
/// Every signal disposition back to SIG_DFL (a cloned process must not run the runtime's handlers).
void reset_signals(void);
/// 1 if `path` is the runtime's own binary (dev/ino), directly, by hard link or through a "#!" chain (CVE-2019-5736).
int is_self_binary(uint64_t dev, uint64_t ino, const char *path, int depth);
/// The Landlock ruleset between its construction and its enforcement, on the child's stack (landlock.c).
struct landlock_state {
    int ruleset;               ///< the ruleset fd, -1 without Landlock; closed by landlock_enforce
    int nexec;                 ///< objects of the rules that grant execute (dev/ino), for the program check
    struct { uint64_t dev, ino; } exec[CORRAL_LANDLOCK_MAX_PATHS];
};
/// Creates the ruleset and adds the plan's rules: each path opened O_PATH in the container's root ("/" once the
/// rootfs is final) and closed again right after its rule is in. No-op (ruleset -1) without Landlock.
void landlock_prepare(const struct corral_plan *p, struct landlock_state *ll);
/// Fails the child unless the ruleset lets it execute `exe` and its "#!" or ELF interpreter (execve would fail
/// with EACCES after `start`, where nothing can be reported any more).
void landlock_check_program(const struct corral_plan *p, const struct landlock_state *ll, const char *exe);
/// After the seccomp filter: fails the child when landlock_restrict_self(2) itself is refused (a profile that
/// blocks it), while that can still be reported.
void landlock_probe(const struct corral_plan *p, const struct landlock_state *ll);
/// landlock_restrict_self(2) with the ruleset, then closes it: the last step before execve. 0 or -errno.
int landlock_enforce(struct landlock_state *ll);

/// Runs the plan's startContainer hooks in the parked init once `start` has opened the fifo (`fifo` is its write
/// end). On failure the error text goes to the fifo (for `start`) and to stderr, and the init exits; never execs.
void run_start_hooks(const struct corral_plan *p, int fifo, int state_fd);

#endif
