// Host side, run by the runtime process only (never in the container child): a user namespace with given id
// maps, for idmapped mounts (MOUNT_ATTR_IDMAP takes a user namespace fd).
#include "host.h"
#include "corral_idmap.h"

#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include "corral_procfs.h"

int corral_userns_fd(const char *uid_map, const char *gid_map) {
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return -errno;
    sigset_t all, saved;
    sigfillset(&all);
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, 8);
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long pid = RSYS(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        // Only holds the namespace until the parent has its fd: EOF on the pipe ends it. Raw syscalls only.
        char c;
        RSYS(SYS_close, pfd[1]);
        RSYS(SYS_read, pfd[0], &c, 1);
        syscall(SYS_exit_group, 0);
    }
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &saved, NULL, 8);
    x_close(pfd[0]);
    if (pid < 0) { x_close(pfd[1]); return (int)pid; }
    int fd = corral_write_proc((pid_t)pid, "uid_map", uid_map);
    if (fd == 0) fd = corral_write_proc((pid_t)pid, "gid_map", gid_map);
    if (fd == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
        fd = (int)RSYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    }
    x_close(pfd[1]);
    int status;
    while (RSYS(SYS_wait4, pid, &status, 0, NULL) == -EINTR) {}
    return fd;
}

int corral_mount_setattr_idmap(int mfd, int userns_fd, int recursive) {
    return x_mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), MOUNT_ATTR_IDMAP, 0, 0, userns_fd);
}

int corral_open_tree_clone(const char *path, int recursive) {
    return x_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
}

int corral_mount_setattr(int mfd, int recursive, uint64_t set, uint64_t clr) {
    return x_mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), set, clr, 0, -1);
}

long corral_mount_flags(int fd) {
    struct statfs st;
    if (fstatfs(fd, &st) < 0) return -errno;
    return (long)st.f_flags;
}
