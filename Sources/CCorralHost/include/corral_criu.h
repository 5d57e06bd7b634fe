// criu(8) for checkpoint and restore: the child that execs it (`criu swrk`, whose RPC runs on a socket pair).
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_CRIU_H
#define CORRAL_CRIU_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Steps of corral_criu_spawn's child that can fail before criu runs (reported with their errno).
enum corral_criu_step {
    CORRAL_CRIU_READY = 0,        ///< not a failure: the child has its mount namespace (with `root_src` only)
    CORRAL_CRIU_STEP_UNSHARE = 1, ///< unshare(CLONE_NEWNS)
    CORRAL_CRIU_STEP_PRIVATE,     ///< making the new mount namespace private
    CORRAL_CRIU_STEP_BIND,        ///< bind-mounting the rootfs on criu's root directory
    CORRAL_CRIU_STEP_EXEC,        ///< execve of the criu binary
};
/// Forks the child that execs criu (`path`, `argv`, our environment; our fds without CLOEXEC are criu's, and so is
/// `keep_fd` when it is not -1, its CLOEXEC cleared in the child). With `root_src` and `root_dst`, the child first
/// enters a private mount namespace and bind-mounts (MS_REC) the first on the second, and reports READY. With
/// `gated`, it then waits for one byte on *gate_fd (closing that fd without writing makes it exit without running
/// criu). With `quiet`, criu's stdout and stderr go to /dev/null. *report_fd reaches EOF once execve succeeded;
/// corral_criu_report reads a failure. Returns the pid or -errno. The child dies with the runtime (PDEATHSIG).
int corral_criu_spawn(const char *path, const char *const argv[], const char *root_src, const char *root_dst,
                      int keep_fd, int gated, int quiet, int *gate_fd, int *report_fd);
/// Reads the child's next report: 1 with *step (enum corral_criu_step) and *err when a step failed, 2 when it is
/// READY, 0 when criu runs (EOF: execve succeeded).
int corral_criu_report(int report_fd, int *step, int *err);

#ifdef __cplusplus
}
#endif
#endif
