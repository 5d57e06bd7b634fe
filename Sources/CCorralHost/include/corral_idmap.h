// Bind mounts the runtime prepares: detached open_tree clones, their attributes, idmaps and the user namespaces behind them.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_IDMAP_H
#define CORRAL_IDMAP_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A user namespace with these uid_map / gid_map texts ("inside outside count\n" lines), held by a short-lived
/// child while its fd is opened. fd (O_CLOEXEC) or -errno.
int corral_userns_fd(const char *uid_map, const char *gid_map);
/// open_tree(OPEN_TREE_CLONE) of a host path: a detached copy (AT_RECURSIVE with `recursive`). fd or -errno.
int corral_open_tree_clone(const char *path, int recursive);
/// mount_setattr on a mount fd (AT_RECURSIVE with `recursive`). 0 or -errno.
int corral_mount_setattr(int mfd, int recursive, uint64_t set, uint64_t clr);
/// statfs(2)'s f_flags (ST_RDONLY, ST_NOSUID, ... ST_RELATIME) of the mount `fd` is on: >= 0, or -errno.
long corral_mount_flags(int fd);
/// MOUNT_ATTR_IDMAP through `userns_fd` (the mount must be detached). 0 or -errno.
int corral_mount_setattr_idmap(int mfd, int userns_fd, int recursive);

#ifdef __cplusplus
}
#endif
#endif
