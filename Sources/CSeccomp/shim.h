// libseccomp (Debian's libseccomp-dev; the static libseccomp.a links into the static corral binary) plus the few
// raw-syscall helpers the Swift side cannot call itself (syscall(2) is variadic, memfd_create needs _GNU_SOURCE).
// Parent-only: the child never calls libseccomp; it loads the exported BPF with one seccomp(2) call.
#ifndef CORRAL_CSECCOMP_SHIM_H
#define CORRAL_CSECCOMP_SHIM_H

#include <seccomp.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>

/// An anonymous, close-on-exec memory file for seccomp_export_bpf (2.5.4 has no seccomp_export_bpf_mem).
/// Returns the fd or -errno.
static inline int corral_seccomp_memfd(void) {
    long fd = syscall(SYS_memfd_create, "corral-seccomp", 1U /* MFD_CLOEXEC */);
    return fd < 0 ? -errno : (int)fd;
}

/// Whether the running kernel knows SECCOMP_FILTER_FLAG_* `flags`: seccomp(SET_MODE_FILTER, flags, NULL) fails
/// with EFAULT (reading the NULL program) once the flags are accepted, EINVAL when they are not. Returns the errno.
static inline int corral_seccomp_probe_flags(unsigned int flags) {
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, (void *)0);
    return r < 0 ? errno : 0;
}

/// Whether the running kernel supports the seccomp return action `action` (SECCOMP_GET_ACTION_AVAIL).
/// Returns 0 or the errno.
static inline int corral_seccomp_action_avail(unsigned int action) {
    long r = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
    return r < 0 ? errno : 0;
}

#endif
