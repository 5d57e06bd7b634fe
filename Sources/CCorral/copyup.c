// `tmpcopyup`: a new tmpfs starts with a copy of what its destination directory held in the rootfs (podman asks
// for it on /tmp, /run and /var/tmp). Runs in the child, before the tmpfs is attached: the source is the
// destination's directory fd (resolved in the root), the target the detached mount's root.
//
// Every name comes from getdents64 and is opened relative to its verified parent fd with O_NOFOLLOW, so a symlink
// in the image is copied as a symlink and never followed; nothing is resolved as a string. Stack buffers only: one
// getdents64 buffer per directory level, with the depth bounded by CORRAL_COPYUP_MAX_DEPTH.
#include "internal.h"

#include <string.h>
#include <sys/sysmacros.h>

struct cr_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/// Gives the open file `fd` the owner, mode and times of `st`. The owner goes first: chown clears set-id bits.
static int copy_attrs_fd(int fd, const struct stat *st) {
    long r = RSYS(SYS_fchown, fd, st->st_uid, st->st_gid);
    if (r == 0) r = RSYS(SYS_fchmod, fd, st->st_mode & 07777);
    struct timespec ts[2] = { st->st_atim, st->st_mtim };
    if (r == 0) r = RSYS(SYS_utimensat, fd, NULL, ts, 0);
    return (int)r;
}

/// The same for `name` in `dir`, which is not opened: a symlink or a special file that was just created in the
/// new (still detached, so private) tmpfs. Symlinks have no mode of their own.
static int copy_attrs_at(int dir, const char *name, const struct stat *st) {
    long r = RSYS(SYS_fchownat, dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
    if (r == 0 && !S_ISLNK(st->st_mode)) r = RSYS(SYS_fchmodat, dir, name, st->st_mode & 07777);
    struct timespec ts[2] = { st->st_atim, st->st_mtim };
    if (r == 0) r = RSYS(SYS_utimensat, dir, name, ts, AT_SYMLINK_NOFOLLOW);
    return (int)r;
}

/// Copies the bytes of the regular file `name`. The source is opened without following a symlink and without
/// blocking (a fifo swapped in after the stat is noticed by the fstat, not waited on).
static int copy_regular(int src_dir, int dst_dir, const char *name) {
    int in = (int)RSYS(SYS_openat, src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (in < 0) return in;
    struct stat st;
    int r = (int)RSYS(SYS_fstat, in, &st);
    if (r == 0 && !S_ISREG(st.st_mode)) r = -EINVAL;
    int out = r < 0 ? r : (int)RSYS(SYS_openat, dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) { x_close(in); return out; }
    for (;;) {
        long n = RSYS(SYS_sendfile, out, in, NULL, 1L << 30);
        if (n == -EINVAL || n == -ENOSYS) {
            // A filesystem without splice support: plain reads and writes.
            char buf[4096];
            while ((n = RSYS(SYS_read, in, buf, sizeof buf)) > 0) {
                r = x_write_all(out, buf, (size_t)n);
                if (r < 0) break;
            }
        }
        if (n <= 0 || r < 0) { if (n < 0 && r == 0) r = (int)n; break; }
    }
    if (r == 0) r = copy_attrs_fd(out, &st);
    x_close(in);
    x_close(out);
    return r;
}

/// Copies one entry that is not a directory: a regular file, a symlink (its text, never its target), or a device
/// node, fifo or socket (mknod of the same kind, as runc's copy makes device nodes).
static int __attribute__((noinline)) copy_leaf(int src_dir, int dst_dir, const char *name, const struct stat *st) {
    long r;
    switch (st->st_mode & S_IFMT) {
    case S_IFREG:
        return copy_regular(src_dir, dst_dir, name);
    case S_IFLNK: {
        char target[CORRAL_PATH_MAX];
        long n = RSYS(SYS_readlinkat, src_dir, name, target, sizeof target);
        if (n < 0) return (int)n;
        if ((size_t)n >= sizeof target) return -ENAMETOOLONG;
        target[n] = 0;
        r = RSYS(SYS_symlinkat, target, dst_dir, name);
        break;
    }
    case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
        r = RSYS(SYS_mknodat, dst_dir, name, st->st_mode & (S_IFMT | 0777), st->st_rdev);
        break;
    default:
        return -EINVAL;
    }
    return r < 0 ? (int)r : copy_attrs_at(dst_dir, name, st);
}

/// Appends "/name" to the error path `where` (length `len`), truncating when it does not fit.
static void where_push(char *where, size_t cap, size_t len, const char *name) {
    where[len] = 0;
    c_strlcat(where, "/", cap);
    c_strlcat(where, name, cap);
}

/// Copies the entries of `src` into `dst` (both open directories), then gives `dst` the owner, mode and times of
/// `src` (last, so that filling it does not change its times). `where` names the failing entry on error.
static int copy_dir(int src, int dst, int depth, char *where, size_t cap) {
    if (depth >= CORRAL_COPYUP_MAX_DEPTH) return -ELOOP;
    size_t len = c_strlen(where);
    char buf[2048] __attribute__((aligned(8)));
    for (;;) {
        long n = RSYS(SYS_getdents64, src, buf, sizeof buf);
        if (n < 0) return (int)n;
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct cr_dirent64 *d = (struct cr_dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *name = d->d_name;
            if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
            where_push(where, cap, len, name);
            struct stat st;
            int r = (int)RSYS(SYS_newfstatat, src, name, &st, AT_SYMLINK_NOFOLLOW);
            if (r == 0 && S_ISDIR(st.st_mode)) {
                r = (int)RSYS(SYS_mkdirat, dst, name, 0700);
                int sub_src = r < 0 ? r : (int)RSYS(SYS_openat, src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int sub_dst = sub_src < 0 ? sub_src : (int)RSYS(SYS_openat, dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = sub_dst < 0 ? sub_dst : copy_dir(sub_src, sub_dst, depth + 1, where, cap);
                if (sub_src >= 0) x_close(sub_src);
                if (sub_dst >= 0) x_close(sub_dst);
            } else if (r == 0) {
                r = copy_leaf(src, dst, name, &st);
            }
            if (r < 0) return r;
            where[len] = 0;
        }
    }
    struct stat st;
    int r = (int)RSYS(SYS_fstat, src, &st);
    return r < 0 ? r : copy_attrs_fd(dst, &st);
}

int corral_copy_tree(int src_dir, int dst_dir, char *where, size_t cap) {
    return copy_dir(src_dir, dst_dir, 0, where, cap);
}
