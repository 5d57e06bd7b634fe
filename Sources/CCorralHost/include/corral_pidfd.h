// pidfds: a process handle that outlives pid reuse.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_PIDFD_H
#define CORRAL_PIDFD_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Small syscall wrappers for the Swift side (glibc lacks some, or Swift cannot call variadic/macro forms).
int corral_pidfd_open(pid_t pid);
int corral_pidfd_send_signal(int pidfd, int sig);

#ifdef __cplusplus
}
#endif
#endif
