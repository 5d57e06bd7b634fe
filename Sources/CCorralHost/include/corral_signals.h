// Signals and reaping: the signalfd of foreground run/exec, the subreaper, eventfd.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_SIGNALS_H
#define CORRAL_SIGNALS_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// prctl(PR_SET_CHILD_SUBREAPER, 1). 0 or -errno.
int corral_set_child_subreaper(void);
/// signalfd for every signal except SIGKILL/SIGSTOP, which it also blocks; returns fd or -errno.
int corral_signalfd_all(void);
/// Reads one signal from a signalfd: the signal number, 0 when none is pending, or -errno.
int corral_signalfd_read(int fd);
/// eventfd(initval, EFD_CLOEXEC) (not exported by Swift's Glibc): fd or -errno.
int corral_eventfd(unsigned int initval);

#ifdef __cplusplus
}
#endif
#endif
