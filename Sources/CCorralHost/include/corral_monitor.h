// The container monitor's system interface: starting it detached in cgroups of its own, its control channel
// (SOCK_SEQPACKET messages with an optional fd), seccomp user notifications, and a process's exit status read
// without being its parent.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_MONITOR_H
#define CORRAL_MONITOR_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Steps of corral_monitor_spawn's child that can fail before execve (reported on the report pipe).
enum corral_monitor_step { CORRAL_MONITOR_STEP_SETSID = 1, CORRAL_MONITOR_STEP_FDS, CORRAL_MONITOR_STEP_EXEC };

/// Forks and execs `exe` with `argv` and an empty environment as a detached process: a session of its own, every
/// signal unblocked and at its default, cwd `/`, stdio on /dev/null, `ctl_fd` as fd 3 and no other fd. Returns
/// the pid (and in `*report_fd` the read end of a close-on-exec pipe: EOF means execve succeeded, else
/// corral_monitor_report tells the step and errno) or -errno.
int corral_monitor_spawn(const char *exe, char *const argv[], int ctl_fd, int *report_fd);
/// Reads the spawn report: 1 with the failed step and errno, 0 when execve succeeded (EOF).
int corral_monitor_report(int report_fd, int *step, int *err);

/// One SOCK_SEQPACKET message of `len` bytes with `fd` attached when >= 0 (SCM_RIGHTS). 0 or -errno.
int corral_packet_send(int sock, const void *buf, size_t len, int fd);
/// Receives one message into `buf` (at most `cap` bytes), waiting up to `timeout_ms` (-1: forever). Returns its
/// length (0: the peer closed), -ETIMEDOUT, or -errno; a passed fd lands in `*fd` (else -1), close-on-exec.
long corral_packet_recv(int sock, void *buf, size_t cap, int *fd, int timeout_ms);

/// A seccomp user notification (struct seccomp_notif flattened for Swift).
struct corral_notif {
    uint64_t id;
    uint32_t pid;
    int32_t nr;
    uint32_t arch;
    uint64_t ip;
    uint64_t args[6];
};

/// SECCOMP_IOCTL_NOTIF_RECV: the next notification of `listener`. 0 or -errno (-ENOENT: the caller is gone).
int corral_notif_recv(int listener, struct corral_notif *out);
/// SECCOMP_IOCTL_NOTIF_SET_FLAGS with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6): the kernel hands the
/// caller's CPU straight to the monitor and back, as for a synchronous call. 0 or -errno (older kernels: -EINVAL).
int corral_notif_sync_wakeup(int listener);
/// SECCOMP_IOCTL_NOTIF_ID_VALID: 0 while the notifying syscall still waits for its answer, else -errno.
int corral_notif_id_valid(int listener, uint64_t id);
/// SECCOMP_IOCTL_NOTIF_SEND: the syscall fails with `err` (an errno, > 0). 0 or -errno.
int corral_notif_answer_errno(int listener, uint64_t id, int err);

/// The wait(2) status of the process behind `pidfd` once it has exited, without being its parent: PIDFD_GET_INFO
/// with PIDFD_INFO_EXIT (Linux 6.15) after the parent reaped it, else field 52 (exit_code) of /proc/<pid>/stat
/// while it is a zombie whose start time (field 22) is `start_time`. 1 with `*status`; 0 when neither is there
/// yet (it has not exited, or is between the two); -errno when the kernel cannot tell at all.
int corral_exit_status(int pidfd, pid_t pid, uint64_t start_time, int *status);


/// The errno's symbolic name ("EPERM"), or NULL for a number glibc does not know.
const char *corral_errno_name(int err);

#ifdef __cplusplus
}
#endif
#endif
