// Syscall wrappers, string helpers without allocation, the sync-socket messages and the small helpers the Swift
// side calls (pidfd, openat2, SCM_RIGHTS, errno texts).
#include "internal.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <termios.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>

size_t c_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

int c_streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

size_t c_strlcpy(char *dst, const char *src, size_t cap) {
    size_t i = 0;
    if (cap == 0) return 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = src[i];
    dst[i] = 0;
    return i;
}

size_t c_strlcat(char *dst, const char *src, size_t cap) {
    size_t n = c_strlen(dst);
    if (n >= cap) return n;
    return n + c_strlcpy(dst + n, src, cap - n);
}

size_t c_utoa(uint64_t v, char *buf) {
    char tmp[24]; size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}

size_t c_itoa(int64_t v, char *buf) {
    if (v < 0) { buf[0] = '-'; return 1 + c_utoa((uint64_t)(-(v + 1)) + 1, buf + 1); }
    return c_utoa((uint64_t)v, buf);
}

int x_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = (uint64_t)flags, .mode = mode, .resolve = resolve };
    return (int)RSYS(SYS_openat2, dirfd, path, &how, sizeof how);
}

int x_open_tree(int dirfd, const char *path, unsigned flags) {
    return (int)RSYS(SYS_open_tree, dirfd, path, flags);
}

int x_move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags) {
    return (int)RSYS(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags);
}

int x_mount_setattr(int dirfd, const char *path, unsigned flags, uint64_t set, uint64_t clr, uint64_t prop, int userns_fd) {
    struct mount_attr attr = { .attr_set = set, .attr_clr = clr, .propagation = prop,
                               .userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0 };
    return (int)RSYS(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int x_fsopen(const char *fstype, unsigned flags) { return (int)RSYS(SYS_fsopen, fstype, flags); }

int x_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
    return (int)RSYS(SYS_fsconfig, fd, cmd, key, value, aux);
}

int x_fsmount(int fd, unsigned flags, unsigned attr) { return (int)RSYS(SYS_fsmount, fd, flags, attr); }

int x_write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        long n = RSYS(SYS_write, fd, p, len);
        if (n == -EINTR) continue;
        if (n < 0) return (int)n;
        p += n; len -= (size_t)n;
    }
    return 0;
}

int x_close(int fd) { return fd >= 0 ? (int)RSYS(SYS_close, fd) : 0; }

int corral_send_msg(int fd, const struct corral_msg *msg) {
    for (;;) {
        long n = RSYS(SYS_sendto, fd, msg, sizeof *msg, MSG_NOSIGNAL, NULL, 0);
        if (n == -EINTR) continue;
        return n < 0 ? (int)n : 0;
    }
}

int corral_recv_msg(int fd, struct corral_msg *msg, int timeout_ms) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    for (;;) {
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) return -ETIMEDOUT;
        break;
    }
    for (;;) {
        long n = RSYS(SYS_recvfrom, fd, msg, sizeof *msg, 0, NULL, NULL);
        if (n == -EINTR) continue;
        if (n < 0) return (int)n;
        if (n == 0) return -EPIPE;               // every child end closed: the child died or exec'd
        if ((size_t)n != sizeof *msg) return -EBADMSG;
        msg->detail[sizeof msg->detail - 1] = 0;
        return 0;
    }
}

void child_tell(const struct corral_plan *p, int type, int pid) {
    struct corral_msg m;
    memset(&m, 0, sizeof m);
    m.type = type; m.pid = pid;
    if (corral_send_msg(p->sync_fd, &m) < 0) syscall(SYS_exit_group, 1);  // the parent is gone: nobody to report to
}

void child_exchange(const struct corral_plan *p, int ask, int fd, int answer, int stage, const char *what) {
    struct corral_msg m;
    memset(&m, 0, sizeof m);
    m.type = ask;
    int r = fd >= 0 ? corral_send_msg_fd(p->sync_fd, &m, fd) : corral_send_msg(p->sync_fd, &m);
    if (r < 0) child_fail(p, stage, r, -1, what, NULL);
    r = corral_recv_msg(p->sync_fd, &m, -1);
    if (r < 0 || m.type != answer) child_fail(p, stage, r < 0 ? r : EPROTO, -1, what, NULL);
}

void child_fail(const struct corral_plan *p, int stage, int err, int index, const char *d1, const char *d2) {
    struct corral_msg m;
    memset(&m, 0, sizeof m);
    m.type = CORRAL_MSG_ERROR; m.stage = stage; m.err = err < 0 ? -err : err; m.index = index;
    if (d1) c_strlcpy(m.detail, d1, sizeof m.detail);
    if (d2) c_strlcat(m.detail, d2, sizeof m.detail);
    corral_send_msg(p->sync_fd, &m);
    syscall(SYS_exit_group, 1);
    __builtin_unreachable();
}





int corral_fcntl_setfd(int fd, int cloexec) {
    return fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) < 0 ? -errno : 0;
}

int corral_ioctl_winsize(int fd, uint16_t rows, uint16_t cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}


/// sendmsg of `len` bytes at `buf` with `fd` attached (SCM_RIGHTS): the one place that builds the control message.
static int send_with_fd(int sock, const void *buf, size_t len, int fd) {
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    memset(u.buf, 0, sizeof u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    for (;;) {
        long n = RSYS(SYS_sendmsg, sock, &mh, MSG_NOSIGNAL);
        if (n == -EINTR) continue;
        return n < 0 ? (int)n : 0;
    }
}

int corral_send_fd(int sock, int fd, const char *name) {
    return send_with_fd(sock, name, c_strlen(name), fd);
}

int corral_recv_fd(int sock, char *buf, int buflen) {
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct iovec iov = { .iov_base = buf, .iov_len = (size_t)(buflen > 0 ? buflen - 1 : 0) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    long n = RSYS(SYS_recvmsg, sock, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) return (int)n;
    if (buflen > 0) buf[n] = 0;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -EBADMSG;
    int fd; memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

const char *corral_errno_text(int err) {
    // Go's syscall.Errno texts (what runc prints; Docker maps some of them to exit codes, case-sensitively).
    switch (err) {
    case EPERM: return "operation not permitted";
    case ENOENT: return "no such file or directory";
    case ESRCH: return "no such process";
    case EINTR: return "interrupted system call";
    case EIO: return "input/output error";
    case ENXIO: return "no such device or address";
    case E2BIG: return "argument list too long";
    case ENOEXEC: return "exec format error";
    case EBADF: return "bad file descriptor";
    case ECHILD: return "no child processes";
    case EAGAIN: return "resource temporarily unavailable";
    case ENOMEM: return "cannot allocate memory";
    case EACCES: return "permission denied";
    case EFAULT: return "bad address";
    case EBUSY: return "device or resource busy";
    case EEXIST: return "file exists";
    case EXDEV: return "invalid cross-device link";
    case ENODEV: return "no such device";
    case ENOTDIR: return "not a directory";
    case EISDIR: return "is a directory";
    case EINVAL: return "invalid argument";
    case ENFILE: return "too many open files in system";
    case EMFILE: return "too many open files";
    case ENOTTY: return "inappropriate ioctl for device";
    case ETXTBSY: return "text file busy";
    case EFBIG: return "file too large";
    case ENOSPC: return "no space left on device";
    case ESPIPE: return "illegal seek";
    case EROFS: return "read-only file system";
    case EMLINK: return "too many links";
    case EPIPE: return "broken pipe";
    case ERANGE: return "numerical result out of range";
    case EDEADLK: return "resource deadlock avoided";
    case ENAMETOOLONG: return "file name too long";
    case ENOSYS: return "function not implemented";
    case ENOTEMPTY: return "directory not empty";
    case ELOOP: return "too many levels of symbolic links";
    case EOPNOTSUPP: return "operation not supported";
    case ETIMEDOUT: return "connection timed out";
    case ECONNREFUSED: return "connection refused";
    case EBADMSG: return "bad message";
    case EOVERFLOW: return "value too large for defined data type";
    case EUSERS: return "too many users";
    case ENOTSOCK: return "socket operation on non-socket";
    case EADDRINUSE: return "address already in use";
    case ENOTCONN: return "transport endpoint is not connected";
    case ECONNRESET: return "connection reset by peer";
    case ESTALE: return "stale NFS file handle";
    default: return NULL;
    }
}





int corral_send_msg_fd(int sock, const struct corral_msg *msg, int fd) {
    return send_with_fd(sock, msg, sizeof *msg, fd);
}

int corral_recv_msg_fd(int sock, struct corral_msg *msg, int *fd, int timeout_ms) {
    struct pollfd pfd = { .fd = sock, .events = POLLIN };
    int pr;
    do pr = poll(&pfd, 1, timeout_ms); while (pr < 0 && errno == EINTR);
    if (pr < 0) return -errno;
    if (pr == 0) return -ETIMEDOUT;
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    long n = RSYS(SYS_recvmsg, sock, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) return (int)n;
    if (n == 0) return -EPIPE;
    if ((size_t)n != sizeof *msg) return -EBADMSG;
    msg->detail[sizeof msg->detail - 1] = 0;
    *fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof(int));
    return 0;
}

