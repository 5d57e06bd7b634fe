// CVE-2019-5736: a process that starts container processes must not run from a writable view of its binary.
// The cloned child shares our executable; a sibling in the container with CAP_SYS_PTRACE could hold
// /proc/<pid>/exe and write through it once no runtime is running. We re-exec once from a read-only detached
// mount of the same file (crun's approach): the same inode and page cache, so it costs one execve of a static
// binary, and /proc/<pid>/exe then leads to a read-only mount (EROFS) instead of the host file's own mount.
#include "internal.h"

#include <sys/statfs.h>
#include <sys/statvfs.h>

extern char **environ;

int corral_exe_is_readonly(void) {
    struct statfs sfs;
    if (statfs("/proc/self/exe", &sfs) < 0) return -errno;
    return (sfs.f_flags & ST_RDONLY) ? 1 : 0;
}

int corral_reexec_readonly(char *const argv[]) {
    int ro = corral_exe_is_readonly();
    if (ro != 0) return ro < 0 ? ro : 0;   // already read-only (re-exec'd, or installed on a read-only mount)
    int fd = x_open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0) return fd;
    int r = x_mount_setattr(fd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, -1);
    if (r < 0) { x_close(fd); return r; }
    r = (int)RSYS(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
    x_close(fd);
    return r;
}
