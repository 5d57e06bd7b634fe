// The container monitor's system interface (corral_monitor.h). The spawn forks a process that runs only this C
// until execve: the Swift runtime never runs in a forked child.
#include "host.h"
#include "corral_monitor.h"

#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/// What the spawned child reports on its close-on-exec pipe when a step fails.
struct monitor_report { int step; int err; };

__attribute__((noreturn)) static void monitor_fail(int fd, int step, int err) {
    struct monitor_report r = { step, err };
    if (write(fd, &r, sizeof r) < 0) {}   // the runtime reads EOF otherwise and finds the process gone
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

int corral_monitor_spawn(const char *exe, char *const argv[], int ctl_fd, int *report_fd) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    static char *const empty_env[] = { NULL };
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(report[0]); close(report[1]);
        return -e;
    }
    if (pid == 0) {
        close(report[0]);
        // `run` blocks every signal for its signalfd, and an engine may start us with some ignored: the monitor
        // starts with the defaults (execve resets handlers, not the mask or ignored signals).
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        // A session of its own: no terminal, and out of the caller's process group (the engine's shim signals
        // its group; the monitor must be reached only through its pid, by delete).
        if (setsid() < 0) monitor_fail(report[1], CORRAL_MONITOR_STEP_SETSID, errno);
        // Holding no directory busy (the engine may run create from the bundle, which it removes later).
        if (chdir("/") < 0) monitor_fail(report[1], CORRAL_MONITOR_STEP_FDS, errno);
        // Nothing of the caller's survives: its stdio may be an engine's pipes, which the engine reads to EOF.
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            monitor_fail(report[1], CORRAL_MONITOR_STEP_FDS, errno);
        if (ctl_fd != 3 && dup2(ctl_fd, 3) < 0) monitor_fail(report[1], CORRAL_MONITOR_STEP_FDS, errno);
        if (ctl_fd == 3 && fcntl(3, F_SETFD, 0) < 0) monitor_fail(report[1], CORRAL_MONITOR_STEP_FDS, errno);
        // Everything above 3 goes at execve (the report pipe must stay open until then).
        if (syscall(SYS_close_range, 4, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
            for (int fd = 4; fd < 1024; fd++) if (fd != report[1]) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        execve(exe, argv, empty_env);
        monitor_fail(report[1], CORRAL_MONITOR_STEP_EXEC, errno);
    }
    close(report[1]);
    *report_fd = report[0];
    return pid;
}

int corral_monitor_report(int report_fd, int *step, int *err) {
    struct monitor_report r;
    ssize_t n;
    do { n = read(report_fd, &r, sizeof r); } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r) return 0;
    *step = r.step;
    *err = r.err;
    return 1;
}

int corral_packet_send(int sock, const void *buf, size_t len, int fd) {
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&u, 0, sizeof u);
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    long n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

long corral_packet_recv(int sock, void *buf, size_t cap, int *fd, int timeout_ms) {
    *fd = -1;
    struct pollfd p = { .fd = sock, .events = POLLIN };
    int r;
    do { r = poll(&p, 1, timeout_ms); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    if (r == 0) return -ETIMEDOUT;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    long n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    }
    if (msg.msg_flags & MSG_TRUNC) {
        if (*fd >= 0) { close(*fd); *fd = -1; }
        return -EMSGSIZE;
    }
    return n;
}

int corral_notif_recv(int listener, struct corral_notif *out) {
    struct seccomp_notif n;
    memset(&n, 0, sizeof n);   // the kernel refuses a request that is not zeroed
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) return -errno;
    out->id = n.id;
    out->pid = n.pid;
    out->nr = n.data.nr;
    out->arch = n.data.arch;
    out->ip = n.data.instruction_pointer;
    for (int i = 0; i < 6; i++) out->args[i] = n.data.args[i];
    return 0;
}

int corral_notif_sync_wakeup(int listener) {
    // Not in the build host's headers (Linux 6.1): SECCOMP_IOW(4, __u64) and SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.
    unsigned long set_flags = _IOW(SECCOMP_IOC_MAGIC, 4, uint64_t);
    return ioctl(listener, set_flags, 1UL) < 0 ? -errno : 0;
}

int corral_notif_id_valid(int listener, uint64_t id) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

int corral_notif_answer_errno(int listener, uint64_t id, int err) {
    struct seccomp_notif_resp r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.error = -err;
    r.val = 0;
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r) < 0 ? -errno : 0;
}

/// struct pidfd_info of Linux 6.15 up to exit_code (PIDFD_INFO_SIZE_VER0): the headers of this build host predate it.
struct corral_pidfd_info {
    uint64_t mask;
    uint64_t cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
};
#define CORRAL_PIDFD_GET_INFO _IOWR(0xFF, 11, struct corral_pidfd_info)
#define CORRAL_PIDFD_INFO_EXIT (1ULL << 3)

/// Fields 22 (start time) and 52 (exit_code) of /proc/<pid>/stat. 1 when read, 0 when the process is gone.
static int zombie_exit_code(pid_t pid, uint64_t *start, int *code, char *state) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    p++;
    int field = 2;
    *start = 0; *code = -1; *state = 0;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p || *p == '\n') break;
        field++;
        if (field == 3) *state = *p;
        if (field == 22) *start = strtoull(p, NULL, 10);
        if (field == 52) *code = (int)strtol(p, NULL, 10);
        while (*p && *p != ' ') p++;
    }
    return field >= 52 ? 1 : 0;
}

/// PIDFD_GET_INFO's exit record: 1 with `*status`, 0 when there is none yet, -ENOTTY when the kernel has no such ioctl.
static int pidfs_exit(int pidfd, int *status) {
    struct corral_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = CORRAL_PIDFD_INFO_EXIT;
    if (ioctl(pidfd, CORRAL_PIDFD_GET_INFO, &info) < 0) return errno == ENOTTY || errno == EINVAL ? -ENOTTY : 0;
    if (!(info.mask & CORRAL_PIDFD_INFO_EXIT)) return 0;
    *status = info.exit_code;
    return 1;
}

int corral_exit_status(int pidfd, pid_t pid, uint64_t start_time, int *status) {
    // The order matters: pidfs records the exit when the parent reaps, before the pid leaves /proc; asking pidfs,
    // then /proc, then pidfs again never misses both.
    int r = pidfs_exit(pidfd, status);
    if (r == 1) return 1;
    uint64_t start;
    int code;
    char state;
    if (zombie_exit_code(pid, &start, &code, &state) && start == start_time) {
        if (state != 'Z' && state != 'X') return 0;   // still running
        *status = code;
        return 1;
    }
    // Reaped (or the pid already names another process): only pidfs can tell now.
    r = pidfs_exit(pidfd, status);
    return r;
}

const char *corral_errno_name(int err) { return strerrorname_np(err); }

