// Host shims of the runtime process (never of a cloned container child): pidfds, signals, unix sockets and /proc
// files. Declared in corral_pidfd.h, corral_signals.h, corral_unixsock.h and corral_procfs.h.
#include "host.h"
#include "corral_pidfd.h"
#include "corral_procfs.h"
#include "corral_signals.h"
#include "corral_unixsock.h"

#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>

int corral_write_proc(pid_t pid, const char *file, const char *text) {
    char path[128];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = (int)RSYS(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    size_t len = strlen(text);
    long n = RSYS(SYS_write, fd, text, len);       // id maps must arrive in one write
    x_close(fd);
    if (n < 0) return (int)n;
    return (size_t)n == len ? 0 : -EIO;
}

int corral_pidfd_open(pid_t pid) { return (int)RSYS(SYS_pidfd_open, pid, 0); }

int corral_pidfd_send_signal(int pidfd, int sig) { return (int)RSYS(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int corral_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = (uint64_t)flags, .mode = mode, .resolve = resolve };
    return (int)RSYS(SYS_openat2, dirfd, path, &how, sizeof how);
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int corral_rename_exchange(const char *a, const char *b) {
    return (int)RSYS(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int corral_ns_type(int fd) {
    int r = ioctl(fd, NS_GET_NSTYPE);
    return r < 0 ? -errno : r;
}

/// `path` as a unix socket address: 0, or -ENAMETOOLONG when it does not fit.
static int unix_address(const char *path, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof addr->sun_path) return -ENAMETOOLONG;
    memcpy(addr->sun_path, path, n + 1);
    return 0;
}

int corral_connect_unix_type(const char *path, int type) {
    struct sockaddr_un addr;
    int r = unix_address(path, &addr);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int corral_connect_unix(const char *path) { return corral_connect_unix_type(path, SOCK_STREAM); }

int corral_listen_unix_type(const char *path, int type) {
    struct sockaddr_un addr;
    int r = unix_address(path, &addr);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int corral_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0; }

int corral_signalfd_all(void) {
    sigset_t all;
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, NULL) < 0) return -errno;
    int fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int corral_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    long n = RSYS(SYS_read, fd, &info, sizeof info);
    if (n == -EAGAIN) return 0;
    if (n < 0) return (int)n;
    return n == sizeof info ? (int)info.ssi_signo : -EIO;
}

long corral_fs_type(const char *path) {
    struct statfs sfs;
    return statfs(path, &sfs) < 0 ? -errno : (long)sfs.f_type;
}
