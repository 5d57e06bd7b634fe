// Files of /proc and of the filesystem: id maps, namespace types, filesystem types, openat2.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_PROCFS_H
#define CORRAL_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Writes `text` to /proc/<pid>/<file> in a single write(2). Returns 0 or -errno.
int corral_write_proc(pid_t pid, const char *file, const char *text);
/// Namespace type (CLONE_NEW*) of a namespace fd, or -errno (ENOTTY / EINVAL when it is not a namespace file).
int corral_ns_type(int fd);
/// statfs(2) f_type of `path` (e.g. 0x9fa0 for procfs), or -errno.
long corral_fs_type(const char *path);
int corral_openat2(int dirfd, const char *path, int flags, uint64_t mode, uint64_t resolve);
/// renameat2(RENAME_EXCHANGE) of two paths: 0 or -errno (-ENOENT when either is missing, -EINVAL where the
/// filesystem cannot exchange).
int corral_rename_exchange(const char *a, const char *b);
/// O_PATH for Swift (the Glibc module does not export it).
#define CORRAL_O_PATH 010000000

#ifdef __cplusplus
}
#endif
#endif
