// Helpers shared by the host shims. These run in the runtime process only (never in a cloned container child), so
// they may use libc freely; they still return the kernel's -errno convention like the executor's.
#ifndef CORRAL_HOST_INTERNAL_H
#define CORRAL_HOST_INTERNAL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long host_rsys(long r) { return r < 0 ? -errno : r; }
#define RSYS(...) host_rsys(syscall(__VA_ARGS__))

static inline int x_close(int fd) { return fd >= 0 ? (int)RSYS(SYS_close, fd) : 0; }

static inline int x_open_tree(int dirfd, const char *path, unsigned flags) {
    return (int)RSYS(SYS_open_tree, dirfd, path, flags);
}

static inline int x_mount_setattr(int dirfd, const char *path, unsigned flags, uint64_t set, uint64_t clr,
                                  uint64_t prop, int userns_fd) {
    struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = prop,
                            .userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0 };
    return (int)RSYS(SYS_mount_setattr, dirfd, path, flags, &a, sizeof a);
}

#endif
