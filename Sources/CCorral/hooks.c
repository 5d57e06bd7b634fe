// OCI hooks: one runner for every kind, used by the runtime process (prestart, createRuntime, createContainer,
// poststart, poststop) and by the parked init (startContainer), where no allocation is allowed. A hook is cloned,
// gets the state JSON on stdin (a sealed memfd, rewound before each hook) and pipes for stdout/stderr (kept up to
// the caller's buffers for the error text), and is waited for through its pidfd with its timeout.
//
// createContainer hooks run in the container's namespaces: the runtime joins the container's pid and time
// namespaces *for its children only* (setns on pid_for_children/time_for_children), clones the hook straight into
// them and restores its own at once; the hook then joins the other namespaces itself through the init's pidfd.
// So the hook is always our direct child, with an exact pidfd, and a timeout kills the hook itself (no
// intermediate process whose death would have to be propagated).
#include "internal.h"

#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define CR_MFD_CLOEXEC 0x0001U
#define CR_MFD_ALLOW_SEALING 0x0002U
#define CR_P_PIDFD 3

/// Namespaces that only apply to children: joined by the runtime around the clone, not by the hook.
#define CHILDREN_ONLY_NS (CLONE_NEWPID | CLONE_NEWTIME)

/// What a hook child reports on its CLOEXEC report pipe when it cannot exec (EOF there means execve succeeded).
struct hook_report { int step; int err; };

__attribute__((noreturn)) static void report(int fd, int step, long err) {
    struct hook_report r = { step, (int)(err < 0 ? -err : err) };
    x_write_all(fd, &r, sizeof r);
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

/// The cloned hook process: namespaces, cwd, stdio, then execve. Raw syscalls only.
__attribute__((noreturn)) static void hook_child(const struct corral_hook *h, const struct corral_hook_run *how,
                                                 int out_w, int err_w, int rep) {
    reset_signals();
    int flags = how->join_pidfd >= 0 ? how->join_flags & ~CHILDREN_ONLY_NS : 0;
    if (flags) {
        long r = RSYS(SYS_setns, how->join_pidfd, flags);
        if (r < 0) report(rep, CORRAL_HOOK_STEP_SETNS, r);
        if (flags & CLONE_NEWUSER) {
            // Become root of the container's user namespace when 0 is mapped there (EINVAL: it is not).
            r = RSYS(SYS_setresgid, 0, 0, 0);
            if (r < 0 && r != -EINVAL) report(rep, CORRAL_HOOK_STEP_SETNS, r);
            r = RSYS(SYS_setresuid, 0, 0, 0);
            if (r < 0 && r != -EINVAL) report(rep, CORRAL_HOOK_STEP_SETNS, r);
        }
    }
    if (how->cwd) {
        long r = RSYS(SYS_chdir, how->cwd);
        if (r < 0) report(rep, CORRAL_HOOK_STEP_CHDIR, r);
    }
    if (how->deny_ino && is_self_binary(how->deny_dev, how->deny_ino, h->path, 0))
        report(rep, CORRAL_HOOK_STEP_RUNTIME_BINARY, EPERM);
    // stdin = state, stdout/stderr = the capture pipes. Moved above 2 first, so no source is overwritten early.
    int src[3] = { how->state_fd, out_w, err_w }, tmp[3];
    for (int i = 0; i < 3; i++) {
        tmp[i] = (int)RSYS(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 3);
        if (tmp[i] < 0) report(rep, CORRAL_HOOK_STEP_STDIO, tmp[i]);
    }
    for (int i = 0; i < 3; i++) {
        long r = RSYS(SYS_dup3, tmp[i], i, 0);
        if (r < 0) report(rep, CORRAL_HOOK_STEP_STDIO, r);
    }
    // Nothing of the runtime (or of the init: the fifo, preserved fds) reaches the hook. A seccomp profile may
    // refuse close_range; every fd the runner itself opened is O_CLOEXEC anyway.
    RSYS(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    uint64_t none = 0;
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
    // No env in the config: the caller's own environment, as runc and crun pass it.
    long e = RSYS(SYS_execve, h->path, h->argv, h->envp ? h->envp : (const char *const *)environ);
    report(rep, CORRAL_HOOK_STEP_EXEC, e);
}

static int64_t now_ms(void) {
    struct timespec ts;
    RSYS(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/// Reads what `fd` has now into buf[cap] (at *len); bytes past cap are read and counted in *dropped.
/// Returns 0 at EOF, 1 otherwise.
static int drain(int fd, char *buf, int cap, int *len, int *dropped) {
    for (;;) {
        char scratch[512];
        char *dst = *len < cap ? buf + *len : scratch;
        size_t room = *len < cap ? (size_t)(cap - *len) : sizeof scratch;
        long n = RSYS(SYS_read, fd, dst, room);
        if (n == -EINTR) continue;
        if (n == 0) return 0;
        if (n < 0) return n == -EAGAIN ? 1 : 0;
        if (dst == scratch) *dropped += (int)n; else *len += (int)n;
    }
}

/// clone3 with a pidfd; clone(2) when clone3 is refused (Docker's seccomp profile answers ENOSYS for it).
static long clone_with_pidfd(int *pidfd) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)pidfd;
    args.exit_signal = SIGCHLD;
    long pid = RSYS(SYS_clone3, &args, sizeof args);
    if (pid == -ENOSYS || pid == -EPERM) pid = RSYS(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, pidfd, NULL, 0);
    return pid;
}

int corral_run_hook(const struct corral_hook *h, const struct corral_hook_run *how, struct corral_hook_result *r) {
    r->outcome = CORRAL_HOOK_OK;
    r->step = r->err = r->exit_code = r->signal = r->core_dumped = 0;
    r->out_len = r->out_dropped = r->err_len = r->err_dropped = 0;
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
    long rc;
    if ((rc = RSYS(SYS_pipe2, out, O_CLOEXEC)) < 0 || (rc = RSYS(SYS_pipe2, err, O_CLOEXEC)) < 0 ||
        (rc = RSYS(SYS_pipe2, rep, O_CLOEXEC)) < 0) {
        r->outcome = CORRAL_HOOK_NOT_STARTED; r->step = CORRAL_HOOK_STEP_PIPE; r->err = (int)-rc;
        goto out;
    }
    RSYS(SYS_fcntl, out[0], F_SETFL, O_NONBLOCK);
    RSYS(SYS_fcntl, err[0], F_SETFL, O_NONBLOCK);
    RSYS(SYS_fcntl, rep[0], F_SETFL, O_NONBLOCK);
    RSYS(SYS_lseek, how->state_fd, 0, SEEK_SET);

    // No handler of ours may run in the child before it has reset them.
    uint64_t all = ~0ULL, saved_mask = 0;
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved_mask, 8);
    int kids = how->join_pidfd >= 0 ? how->join_flags & CHILDREN_ONLY_NS : 0;
    int saved_pid = -1, saved_time = -1;
    long pid = 0;
    int pidfd = -1;
    if (kids & CLONE_NEWPID) saved_pid = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if (kids & CLONE_NEWTIME) saved_time = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if ((kids & CLONE_NEWPID) && saved_pid < 0) {
        pid = saved_pid; r->step = CORRAL_HOOK_STEP_SETNS;
    } else if ((kids & CLONE_NEWTIME) && saved_time < 0) {
        pid = saved_time; r->step = CORRAL_HOOK_STEP_SETNS;
    } else if (kids && (pid = RSYS(SYS_setns, how->join_pidfd, kids)) < 0) {
        r->step = CORRAL_HOOK_STEP_SETNS;
    } else {
        pid = clone_with_pidfd(&pidfd);
        if (pid == 0) hook_child(h, how, out[1], err[1], rep[1]);
        if (pid < 0) r->step = CORRAL_HOOK_STEP_FORK;
    }
    // Our own children go back to our namespaces before anything else can be forked.
    int restore_failed = 0;
    if (saved_pid >= 0 && RSYS(SYS_setns, saved_pid, CLONE_NEWPID) < 0) restore_failed = 1;
    if (saved_time >= 0 && RSYS(SYS_setns, saved_time, CLONE_NEWTIME) < 0) restore_failed = 1;
    x_close(saved_pid);
    x_close(saved_time);
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &saved_mask, NULL, 8);
    x_close(out[1]); x_close(err[1]); x_close(rep[1]);
    out[1] = err[1] = rep[1] = -1;
    if (pid < 0) {
        r->outcome = CORRAL_HOOK_NOT_STARTED; r->err = (int)-pid;
        goto out;
    }

    int64_t deadline = h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : -1;
    struct pollfd fds[3] = { { pidfd, POLLIN, 0 }, { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
    int timed_out = 0;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left < 0) left = 0;
            ts.tv_sec = left / 1000; ts.tv_nsec = (left % 1000) * 1000000;
            tsp = &ts;
        }
        long n = RSYS(SYS_ppoll, fds, 3, tsp, NULL, 8);
        if (n == -EINTR) continue;
        if (n == 0 || n < 0) {
            timed_out = n == 0;
            RSYS(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            break;
        }
        if (fds[1].revents && !drain(out[0], r->out, r->out_cap, &r->out_len, &r->out_dropped)) fds[1].fd = -1;
        if (fds[2].revents && !drain(err[0], r->errout, r->err_cap, &r->err_len, &r->err_dropped)) fds[2].fd = -1;
        if (fds[0].revents) break;   // exited; a background child of the hook may keep the pipes open
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long w;
    do w = RSYS(SYS_waitid, CR_P_PIDFD, pidfd, &si, WEXITED, NULL); while (w == -EINTR);
    x_close(pidfd);
    drain(out[0], r->out, r->out_cap, &r->out_len, &r->out_dropped);
    drain(err[0], r->errout, r->err_cap, &r->err_len, &r->err_dropped);
    struct hook_report rp;
    if (RSYS(SYS_read, rep[0], &rp, sizeof rp) == (long)sizeof rp) {
        r->outcome = CORRAL_HOOK_NOT_STARTED; r->step = rp.step; r->err = rp.err;
    } else if (restore_failed) {
        r->outcome = CORRAL_HOOK_NOT_STARTED; r->step = CORRAL_HOOK_STEP_SETNS; r->err = EINVAL;
    } else if (timed_out) {
        r->outcome = CORRAL_HOOK_TIMED_OUT;
    } else if (w < 0) {
        r->outcome = CORRAL_HOOK_NOT_STARTED; r->step = CORRAL_HOOK_STEP_FORK; r->err = (int)-w;
    } else if (si.si_code == CLD_EXITED) {
        r->exit_code = si.si_status;
        if (si.si_status != 0) r->outcome = CORRAL_HOOK_FAILED;
    } else {
        r->outcome = CORRAL_HOOK_FAILED; r->exit_code = -1; r->signal = si.si_status;
        r->core_dumped = si.si_code == CLD_DUMPED;
    }
out:
    x_close(out[0]); x_close(out[1]); x_close(err[0]); x_close(err[1]); x_close(rep[0]); x_close(rep[1]);
    return r->outcome == CORRAL_HOOK_OK ? 0 : 1;
}

/// Go's names for signals (what runc prints for a hook killed by one, after "signal: ").
static const char *signal_text(int sig) {
    static const char *const names[] = { NULL, "hangup", "interrupt", "quit", "illegal instruction",
        "trace/breakpoint trap", "aborted", "bus error", "floating point exception", "killed",
        "user defined signal 1", "segmentation fault", "user defined signal 2", "broken pipe", "alarm clock",
        "terminated", "stack fault", "child exited", "continued", "stopped (signal)", "stopped",
        "stopped (tty input)", "stopped (tty output)", "urgent I/O condition", "CPU time limit exceeded",
        "file size limit exceeded", "virtual timer expired", "profiling timer expired", "window changed",
        "I/O possible", "power failure", "bad system call" };
    return sig > 0 && sig < (int)(sizeof names / sizeof names[0]) ? names[sig] : NULL;
}

/// Appends len bytes of captured output (NUL bytes shown as '?'), then a note when output was dropped.
static void append_output(char *buf, size_t cap, const char *data, int len, int dropped) {
    size_t n = c_strlen(buf);
    for (int i = 0; i < len && n + 1 < cap; i++) buf[n++] = data[i] ? data[i] : '?';
    buf[n < cap ? n : cap - 1] = 0;
    if (dropped > 0) {
        char num[24];
        c_utoa((uint64_t)dropped, num);
        c_strlcat(buf, "[", cap); c_strlcat(buf, num, cap); c_strlcat(buf, " more bytes]", cap);
    }
}

static void append_errno(char *buf, size_t cap, int err) {
    const char *t = corral_errno_text(err);
    if (t) { c_strlcat(buf, t, cap); return; }
    char num[24];
    c_utoa((uint64_t)err, num);
    c_strlcat(buf, "errno ", cap); c_strlcat(buf, num, cap);
}

size_t corral_hook_describe(const char *kind, int index, const struct corral_hook *h,
                            const struct corral_hook_result *r, char *buf, size_t cap) {
    char num[24];
    if (cap == 0) return 0;
    buf[0] = 0;
    c_strlcat(buf, "error running ", cap); c_strlcat(buf, kind, cap); c_strlcat(buf, " hook #", cap);
    c_itoa(index, num); c_strlcat(buf, num, cap); c_strlcat(buf, ": ", cap);
    switch (r->outcome) {
    case CORRAL_HOOK_OK:
        c_strlcat(buf, "no error", cap);
        break;
    case CORRAL_HOOK_TIMED_OUT:
        // runc: fmt "%.1fs" of a whole number of seconds.
        c_strlcat(buf, "hook ran past specified timeout of ", cap);
        c_itoa(h->timeout, num); c_strlcat(buf, num, cap); c_strlcat(buf, ".0s", cap);
        break;
    case CORRAL_HOOK_NOT_STARTED:
        switch (r->step) {
        case CORRAL_HOOK_STEP_SETNS: c_strlcat(buf, "join the container's namespaces: ", cap); break;
        case CORRAL_HOOK_STEP_CHDIR: c_strlcat(buf, "chdir: ", cap); break;
        case CORRAL_HOOK_STEP_PIPE: c_strlcat(buf, "pipe: ", cap); break;
        case CORRAL_HOOK_STEP_STDIO: c_strlcat(buf, "set up stdio: ", cap); break;
        default:  // Go's exec wording, as runc prints it: "fork/exec /x: no such file or directory"
            c_strlcat(buf, "fork/exec ", cap); c_strlcat(buf, h->path, cap); c_strlcat(buf, ": ", cap);
            if (r->step == CORRAL_HOOK_STEP_RUNTIME_BINARY) {
                c_strlcat(buf, "refusing to run the container runtime's own binary (CVE-2019-5736)", cap);
                return c_strlen(buf);
            }
        }
        append_errno(buf, cap, r->err);
        break;
    case CORRAL_HOOK_FAILED:
        // runc 1.1 words a hook that ran and failed "error running hook: <how>" inside its "#<i>" text, runc 1.2
        // leaves that out and names the kind instead; both are kept, so tools matching either version find theirs.
        c_strlcat(buf, "error running hook: ", cap);
        if (r->signal) {
            c_strlcat(buf, "signal: ", cap);
            const char *t = signal_text(r->signal);
            if (t) c_strlcat(buf, t, cap); else { c_itoa(r->signal, num); c_strlcat(buf, num, cap); }
            if (r->core_dumped) c_strlcat(buf, " (core dumped)", cap);
        } else {
            c_strlcat(buf, "exit status ", cap); c_itoa(r->exit_code, num); c_strlcat(buf, num, cap);
        }
        c_strlcat(buf, ", stdout: ", cap);
        append_output(buf, cap, r->out, r->out_len, r->out_dropped);
        c_strlcat(buf, ", stderr: ", cap);
        append_output(buf, cap, r->errout, r->err_len, r->err_dropped);
        break;
    }
    return c_strlen(buf);
}

int corral_sealed_memfd(const char *name, const void *data, size_t len) {
    int fd = (int)RSYS(SYS_memfd_create, name, CR_MFD_CLOEXEC | CR_MFD_ALLOW_SEALING);
    if (fd < 0) return fd;
    int r = x_write_all(fd, data, len);
    // Sealed: a hook gets the fd as its stdin (read-write, as every memfd) but cannot change what later hooks read.
    if (r == 0 && RSYS(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) r = -errno;
    if (r == 0 && RSYS(SYS_lseek, fd, 0, SEEK_SET) < 0) r = -errno;
    if (r < 0) { x_close(fd); return r; }
    return fd;
}

void run_start_hooks(const struct corral_plan *p, int fifo, int state_fd) {
    char out[4096], err[4096], msg[CORRAL_HOOK_TEXT_MAX];
    for (int i = 0; i < p->nstart_hooks; i++) {
        struct corral_hook_run how = { .state_fd = state_fd, .cwd = NULL, .join_pidfd = -1, .join_flags = 0,
                                       .deny_dev = p->self_dev, .deny_ino = p->self_ino };
        struct corral_hook_result r;
        memset(&r, 0, sizeof r);
        r.out = out; r.out_cap = sizeof out; r.errout = err; r.err_cap = sizeof err;
        if (state_fd < 0) { r.outcome = CORRAL_HOOK_NOT_STARTED; r.step = CORRAL_HOOK_STEP_STDIO; r.err = EBADF; }
        else if (corral_run_hook(&p->start_hooks[i], &how, &r) == 0) continue;
        size_t n = corral_hook_describe("startContainer", i, &p->start_hooks[i], &r, msg, sizeof msg);
        // `start` reads this instead of "0" and reports it; the process is never exec'd.
        x_write_all(fifo, msg, n);
        x_write_all(2, msg, n);
        x_write_all(2, "\n", 1);
        syscall(SYS_exit_group, 255);
    }
}
