// Starting criu(8) for checkpoint and restore (`criu swrk <fd>`, driven over its RPC socket, and `criu check`); what
// the runtime needs around the exec is done here, in the forked child, so the runtime process itself never changes
// its namespaces or mounts:
// - restore: a private mount namespace in which the container's rootfs is bind-mounted on <state>/criu-root
//   (criu's --root must be a mount point whose parent is not overmounted); the host's mount table never shows it,
//   and it goes away with criu's namespace;
// - a gate: the child waits until the runtime has put it into the container's cgroups (restore), so everything
//   criu forks starts there.
#include "host.h"
#include "corral_criu.h"

#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

/// What the child reports on its CLOEXEC report pipe when a step fails (EOF there means execve succeeded).
struct criu_report { int step; int err; };

__attribute__((noreturn)) static void criu_fail(int fd, int step, int err) {
    struct criu_report r = { step, err };
    if (write(fd, &r, sizeof r) < 0) {}   // the runtime reads EOF otherwise
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

int corral_criu_spawn(const char *path, const char *const argv[], const char *root_src, const char *root_dst,
                      int keep_fd, int gated, int quiet, int *gate_fd, int *report_fd) {
    int report[2], gate[2] = { -1, -1 };
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    if (gated && pipe2(gate, O_CLOEXEC) != 0) {
        int e = errno;
        close(report[0]); close(report[1]);
        return -e;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(report[0]); close(report[1]);
        if (gated) { close(gate[0]); close(gate[1]); }
        return -e;
    }
    if (pid == 0) {
        close(report[0]);
        if (gated) close(gate[1]);
        // criu must not outlive a runtime that was killed half-way (a restore that nobody records).
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) syscall(SYS_exit_group, 127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (root_src && root_dst) {
            if (unshare(CLONE_NEWNS) != 0) criu_fail(report[1], CORRAL_CRIU_STEP_UNSHARE, errno);
            if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) criu_fail(report[1], CORRAL_CRIU_STEP_PRIVATE, errno);
            if (mount(root_src, root_dst, NULL, MS_BIND | MS_REC, NULL) != 0) criu_fail(report[1], CORRAL_CRIU_STEP_BIND, errno);
            // The runtime may now open paths through our root (/proc/<pid>/root), in this namespace.
            struct criu_report ready = { CORRAL_CRIU_READY, 0 };
            if (write(report[1], &ready, sizeof ready) != (ssize_t)sizeof ready) syscall(SYS_exit_group, 127);
        }
        if (gated) {
            char go = 0;
            ssize_t n;
            do { n = read(gate[0], &go, 1); } while (n < 0 && errno == EINTR);
            // The runtime closes the gate without a byte when placing us failed: never run criu then.
            if (n != 1) syscall(SYS_exit_group, 126);
            close(gate[0]);
        }
        // The RPC socket's end is criu's: it crosses execve.
        if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) != 0) criu_fail(report[1], CORRAL_CRIU_STEP_EXEC, errno);
        if (quiet) {
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) criu_fail(report[1], CORRAL_CRIU_STEP_EXEC, errno);
        }
        execve(path, (char *const *)argv, environ);
        criu_fail(report[1], CORRAL_CRIU_STEP_EXEC, errno);
    }
    close(report[1]);
    if (gated) { close(gate[0]); *gate_fd = gate[1]; } else { *gate_fd = -1; }
    *report_fd = report[0];
    return pid;
}

int corral_criu_report(int report_fd, int *step, int *err) {
    struct criu_report r;
    ssize_t n;
    do { n = read(report_fd, &r, sizeof r); } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r) return 0;
    *step = r.step;
    *err = r.err;
    return r.step == CORRAL_CRIU_READY ? 2 : 1;
}
