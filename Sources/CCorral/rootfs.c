// The container's filesystem, built in the child: root propagation, the rootfs bind, the planned mounts in
// order, /dev, the console, pivot_root, the read-only root, sysctls, masked and read-only paths.
//
// Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT) to an fd and every mount is attached
// to that fd with move_mount(); no path inside the rootfs is ever resolved twice as a string, so symlinks planted
// in the image cannot redirect a mount or a write to the host (CVE-2021-30465 and its family).
#include "internal.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <termios.h>

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

int resolve_in_root(int rootfd, const char *path, int flags) {
    return x_openat2(rootfd, path, (flags ? flags : O_PATH) | O_CLOEXEC, 0, RESOLVE_FLAGS);
}

static int mkdir_walk(int rootfd, const char *path, int last_is_file, uint32_t mode, int depth);

int resolve_mkdir_in_root(int rootfd, const char *path, int create, int last_is_file, uint32_t mode) {
    int fd = resolve_in_root(rootfd, path, 0);
    if (fd != -ENOENT || !create) return fd;
    return mkdir_walk(rootfd, path, last_is_file, mode, 0);
}

/// Creates the missing components of `path`. Each prefix is resolved from the root (never from a string we
/// built earlier) and what is missing is created relative to the verified parent fd without following the new
/// name. A dangling symlink met on the way is followed *inside* the root, as runc does (its target is created
/// under the rootfs, never on the host), by restarting with the link text joined to the rest of the path.
static int mkdir_walk(int rootfd, const char *path, int last_is_file, uint32_t mode, int depth) {
    if (depth > 40) return -ELOOP;
    char prefix[CORRAL_PATH_MAX];
    size_t len = c_strlen(path), pos = 0;
    if (len >= sizeof prefix) return -ENAMETOOLONG;
    int parent = x_openat2(rootfd, "/", O_PATH | O_CLOEXEC, 0, RESOLVE_FLAGS);
    if (parent < 0) return parent;
    while (pos < len) {
        while (pos < len && path[pos] == '/') pos++;
        if (pos >= len) break;
        size_t start = pos;
        while (pos < len && path[pos] != '/') pos++;
        int last = 1;
        for (size_t k = pos; k < len; k++) if (path[k] != '/') { last = 0; break; }
        memcpy(prefix, path, pos); prefix[pos] = 0;
        int next = resolve_in_root(rootfd, prefix, 0);
        if (next == -ENOENT) {
            char name[256];
            size_t nlen = pos - start;
            if (nlen >= sizeof name) { x_close(parent); return -ENAMETOOLONG; }
            memcpy(name, path + start, nlen); name[nlen] = 0;
            char link[CORRAL_PATH_MAX];
            long l = RSYS(SYS_readlinkat, parent, name, link, sizeof link - 1);
            if (l > 0) {
                // A dangling symlink: continue at its target, resolved in the root.
                link[l] = 0;
                char again[CORRAL_PATH_MAX];
                if (link[0] == '/') { c_strlcpy(again, link, sizeof again); }
                else { memcpy(again, path, start); again[start] = 0; c_strlcat(again, link, sizeof again); }
                c_strlcat(again, path + pos, sizeof again);
                x_close(parent);
                return mkdir_walk(rootfd, again, last_is_file, mode, depth + 1);
            }
            if (last && last_is_file) {
                int f = (int)RSYS(SYS_openat, parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0 && f != -EEXIST) { x_close(parent); return f; }
                x_close(f);
            } else {
                long r = RSYS(SYS_mkdirat, parent, name, last ? mode : 0755);
                if (r < 0 && r != -EEXIST) { x_close(parent); return (int)r; }
            }
            next = x_openat2(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_FLAGS);
        }
        x_close(parent);
        if (next < 0) return next;
        parent = next;
    }
    return parent;
}

/// Opens (creating it when missing) the parent directory of `path` inside the root and copies the last component
/// into name[256]: where a symlink or a device node is then made relative to a verified fd. fd or -errno.
static int open_parent_in_root(int rootfd, const char *path, char *name) {
    char parent[CORRAL_PATH_MAX];
    c_strlcpy(parent, path, sizeof parent);
    size_t n = c_strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
    char *slash = parent + n;
    while (slash > parent && *slash != '/') slash--;
    if (c_strlen(slash + 1) >= 256) return -ENAMETOOLONG;
    c_strlcpy(name, slash + 1, 256);
    if (slash == parent) parent[1] = 0; else *slash = 0;
    return resolve_mkdir_in_root(rootfd, parent, 1, 0, 0755);
}

/// Applies the mount's attributes to a detached or attached mount fd.
static int apply_attrs(const struct corral_mount *m, int mfd) {
    int r;
    uint64_t set = m->attr_set, clr = m->attr_clr;
    if (set || clr) {
        r = x_mount_setattr(mfd, "", AT_EMPTY_PATH, set, clr, 0, -1);
        if (r < 0) return r;
    }
    if (m->rattr_set || m->rattr_clr) {
        r = x_mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, m->rattr_set, m->rattr_clr, 0, -1);
        if (r < 0) return r;
    }
    return 0;
}

/// Fails mount `i` of the plan: the parent names it by its source and destination.
__attribute__((noreturn)) static void mount_fail(const struct corral_plan *p, int i, int err, const char *what) {
    child_fail(p, CORRAL_STAGE_MOUNT, err, i, what, NULL);
}

// statfs(2)'s ST_* mount flags (sys/statvfs.h), spelled out.
#define CR_ST_RDONLY 0x1
#define CR_ST_NOSUID 0x2
#define CR_ST_NODEV 0x4
#define CR_ST_NOEXEC 0x8
#define CR_ST_NOATIME 0x400
#define CR_ST_NODIRATIME 0x800
#define CR_ST_RELATIME 0x1000
#define CR_MS_ATIME_FLAGS ((uint64_t)(MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME))
#define CR_MS_LOCKABLE ((uint64_t)(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) | CR_MS_ATIME_FLAGS)

/// The mount(8) names of MS_* flags, comma-separated into buf[cap], for errors.
static void ms_names(uint64_t ms, char *buf, size_t cap) {
    static const struct { uint64_t bit; const char *name; } names[] = {
        { MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" }, { MS_NOEXEC, "noexec" },
        { MS_NOATIME, "noatime" }, { MS_NODIRATIME, "nodiratime" }, { MS_RELATIME, "relatime" },
        { MS_STRICTATIME, "strictatime" },
    };
    buf[0] = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (!(ms & names[k].bit)) continue;
        if (buf[0]) c_strlcat(buf, ",", cap);
        c_strlcat(buf, names[k].name, cap);
    }
}

/// The per-mount flags of the mount `fd` is on, as MS_* (strictatime when statfs shows neither noatime nor
/// relatime, as runc reads it). -errno in *err on failure.
static uint64_t mount_ms_flags(int fd, int *err) {
    struct statfs st;
    if (fstatfs(fd, &st) < 0) { *err = errno; return 0; }
    static const struct { unsigned long st; uint64_t ms; } map[] = {
        { CR_ST_RDONLY, MS_RDONLY }, { CR_ST_NOSUID, MS_NOSUID }, { CR_ST_NODEV, MS_NODEV }, { CR_ST_NOEXEC, MS_NOEXEC },
        { CR_ST_NOATIME, MS_NOATIME }, { CR_ST_NODIRATIME, MS_NODIRATIME }, { CR_ST_RELATIME, MS_RELATIME },
    };
    uint64_t f = 0;
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) if ((unsigned long)st.f_flags & map[k].st) f |= map[k].ms;
    if (!(f & (MS_NOATIME | MS_RELATIME))) f |= MS_STRICTATIME;
    return f;
}

/// A bind's own attributes (planned with runc's rules: MountPlanner.bindAttributes) on the detached mount `mfd`.
/// Where the kernel refuses to clear a flag the source's mount has locked (a user namespace inherited it: EPERM),
/// do as runc: fail when the options cleared such a flag explicitly or ask for another atime mode than the locked
/// one, and otherwise keep the source's ro/nosuid/nodev/noexec and set the rest again.
static void apply_bind_attrs(const struct corral_plan *p, const struct corral_mount *m, int i, int mfd) {
    uint64_t set = m->attr_set, clr = m->attr_clr;
    if (set || clr) {
        int r = x_mount_setattr(mfd, "", AT_EMPTY_PATH, set, clr, 0, -1);
        if (r == -EPERM) {
            int e = 0;
            uint64_t src = mount_ms_flags(mfd, &e);
            if (e) mount_fail(p, i, e, "statfs of the bind source");
            char names[96];
            uint64_t cannot = src & m->ms_cleared & CR_MS_LOCKABLE;
            if (cannot) {
                ms_names(cannot, names, sizeof names);
                child_fail(p, CORRAL_STAGE_MOUNT, EPERM, i, "failed to set user-requested vfs flags on bind-mount: cannot clear locked flags ", names);
            }
            if (m->ms_atime && m->ms_atime != (src & CR_MS_ATIME_FLAGS)) {
                ms_names(src & CR_MS_ATIME_FLAGS, names, sizeof names);
                child_fail(p, CORRAL_STAGE_MOUNT, EPERM, i, "failed to set user-requested vfs flags on bind-mount: cannot change locked atime flags ", names);
            }
            uint64_t keep = 0;
            if (src & MS_RDONLY) keep |= MOUNT_ATTR_RDONLY;
            if (src & MS_NOSUID) keep |= MOUNT_ATTR_NOSUID;
            if (src & MS_NODEV) keep |= MOUNT_ATTR_NODEV;
            if (src & MS_NOEXEC) keep |= MOUNT_ATTR_NOEXEC;
            r = x_mount_setattr(mfd, "", AT_EMPTY_PATH, set | keep, clr & ~keep, 0, -1);
            if (r < 0) {
                ms_names(src & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), names, sizeof names);
                child_fail(p, CORRAL_STAGE_MOUNT, r, i, "failed to set user-requested vfs flags on bind-mount: with the locked flags kept: ", names);
            }
        }
        if (r < 0) mount_fail(p, i, r, "mount_setattr");
    }
    if (m->rattr_set || m->rattr_clr) {
        int r = x_mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, m->rattr_set, m->rattr_clr, 0, -1);
        if (r < 0) mount_fail(p, i, r, "mount_setattr");
    }
}

/// The detached mount a bind attaches; *own says the child made it (so its attributes are still to be applied).
/// A source in the rootfs is resolved inside it now, after the mounts before this one, and may not be on procfs or
/// sysfs (an image's symlink must not turn it into a second, writable view of them). Any other source: the
/// child's own view first (the kernel keeps what a user namespace inherited locked, as with runc), the parent's
/// clone where the child cannot reach the source, and the parent's alone for an idmapped mount.
static int open_bind_source(const struct corral_plan *p, const struct corral_mount *m, int i, int rootfd, int *own) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0);
    *own = 1;
    if (m->source_in_root) {
        const char *rel = m->source + c_strlen(p->rootfs);   // the planner put it below the rootfs
        int src = resolve_in_root(rootfd, *rel ? rel : "/", O_PATH);
        if (src < 0) mount_fail(p, i, src, "open the source in the rootfs");
        struct statfs sfs;
        if (fstatfs(src, &sfs) < 0) mount_fail(p, i, errno, "statfs of the source in the rootfs");
        if (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC)
            mount_fail(p, i, EPERM, "a bind source in the rootfs may not be on procfs or sysfs");
        int mfd = x_open_tree(src, "", flags | AT_EMPTY_PATH);
        x_close(src);
        if (mfd < 0) mount_fail(p, i, mfd, "open_tree");
        return mfd;
    }
    if (m->source_fd >= 0 && m->source_fd_only) { *own = 0; return m->source_fd; }
    int mfd = x_open_tree(AT_FDCWD, m->source, flags);
    if (mfd >= 0) {
        if (m->source_fd >= 0) x_close(m->source_fd);
        return mfd;
    }
    if (m->source_fd >= 0 && (mfd == -EACCES || mfd == -EPERM || mfd == -ENOENT || mfd == -ENOTDIR)) {
        *own = 0;
        return m->source_fd;
    }
    mount_fail(p, i, mfd, "open_tree");
}

/// Creates a new filesystem instance configured by the fsconfig parameters in m->data; returns the mount fd.
/// `dir_mode` (>= 0) is the mode of the directory a tmpfs goes onto: the new tmpfs takes it unless the data
/// says otherwise (runc prepends "mode=" of an existing destination).
static int make_fs_mount(const struct corral_plan *p, const struct corral_mount *m, int i, int dir_mode) {
    int fs = x_fsopen(m->fstype, FSOPEN_CLOEXEC);
    if (fs < 0) mount_fail(p, i, fs, "fsopen");
    if (m->source && m->source[0]) {
        int r = x_fsconfig(fs, FSCONFIG_SET_STRING, "source", m->source, 0);
        if (r < 0) mount_fail(p, i, r, "fsconfig source");
    }
    if (dir_mode >= 0) {
        char octal[8];
        int n = 0;
        for (int shift = 9; shift >= 0; shift -= 3) octal[n++] = (char)('0' + ((dir_mode >> shift) & 7));
        octal[n] = 0;
        int r = x_fsconfig(fs, FSCONFIG_SET_STRING, "mode", octal, 0);
        if (r < 0) mount_fail(p, i, r, "fsconfig mode of the existing directory");
    }
    for (const char *const *d = m->data; d && *d; d++) {
        char key[256];
        const char *eq = *d;
        while (*eq && *eq != '=') eq++;
        size_t klen = (size_t)(eq - *d);
        if (klen >= sizeof key) mount_fail(p, i, ENAMETOOLONG, *d);
        memcpy(key, *d, klen); key[klen] = 0;
        int r = *eq ? x_fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0)
                    : x_fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0);
        if (r < 0) {
            char what[300] = "fsconfig ";
            c_strlcat(what, *d, sizeof what);
            child_fail(p, CORRAL_STAGE_MOUNT, r, i, what, NULL);
        }
    }
    int r = x_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    if (r < 0) mount_fail(p, i, r, "fsconfig create");
    int mfd = x_fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)m->attr_set);
    if (mfd < 0) mount_fail(p, i, mfd, "fsmount");
    x_close(fs);
    if (c_streq(m->fstype, "proc")) {
        // CVE-2019-16884 family: what we attach must really be procfs.
        struct statfs st;
        if (fstatfs(mfd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) mount_fail(p, i, EINVAL, "verify procfs");
    }
    return mfd;
}

/// tmpcopyup: fills the detached tmpfs `mfd` with a copy of the destination directory `dest` (still visible: the
/// tmpfs is attached only afterwards). Its root takes the directory's owner, mode and times, as runc gives it the
/// directory's mode. A destination that did not exist before (`existed` 0) has nothing to copy, and the tmpfs keeps
/// its own mode, as with runc.
static void copy_up(const struct corral_plan *p, const struct corral_mount *m, int i, int dest, int mfd, int existed) {
    if (!existed) return;
    int src = (int)RSYS(SYS_openat, dest, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0) mount_fail(p, i, src, "tmpcopyup: open the destination directory");
    int dst = (int)RSYS(SYS_openat, mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst < 0) mount_fail(p, i, dst, "tmpcopyup: open the new tmpfs");
    char where[CORRAL_PATH_MAX];
    c_strlcpy(where, m->dest, sizeof where);
    int r = corral_copy_tree(src, dst, where, sizeof where);
    if (r == -ELOOP)
        child_fail(p, CORRAL_STAGE_MOUNT, r, i, "tmpcopyup: more than " CORRAL_STR(CORRAL_COPYUP_MAX_DEPTH) " directory levels at ", where);
    if (r < 0) child_fail(p, CORRAL_STAGE_MOUNT, r, i, "tmpcopyup: copy ", where);
    x_close(src);
    x_close(dst);
}

/// One mount of the plan, every path resolved in `rootfd` (the rootfs before pivot_root, "/" after it).
static void do_mount(const struct corral_plan *p, const struct corral_mount *m, int i, int rootfd) {
    int r;
    if (m->kind == CORRAL_MOUNT_SYMLINK) {
        // Parent directory inside the root, then the link relative to it (never following the name).
        char namebuf[256];
        int dfd = open_parent_in_root(rootfd, m->dest, namebuf);
        if (dfd < 0) mount_fail(p, i, dfd, "create parent of symlink");
        r = (int)RSYS(SYS_symlinkat, m->source, dfd, namebuf);
        if (r == -EEXIST) {
            char cur[CORRAL_PATH_MAX];
            long l = RSYS(SYS_readlinkat, dfd, namebuf, cur, sizeof cur - 1);
            if (l >= 0) { cur[l] = 0; if (c_streq(cur, m->source)) r = 0; }
            // runc replaces an existing /dev/ptmx node by the link; do the same for non-directories.
            if (r && RSYS(SYS_unlinkat, dfd, namebuf, 0) == 0) r = (int)RSYS(SYS_symlinkat, m->source, dfd, namebuf);
        }
        x_close(dfd);
        if (r < 0) mount_fail(p, i, r, "symlink");
        return;
    }
    int existed = 1, dir_mode = -1;
    // tmpcopyup gives the new tmpfs the directory's mode itself (copy_up), so no mode= option is added there.
    int is_tmpfs = m->kind == CORRAL_MOUNT_FS && m->fstype && c_streq(m->fstype, "tmpfs") && !m->copy_up;
    if (m->copy_up || is_tmpfs) {
        int probe = resolve_in_root(rootfd, m->dest, 0);
        existed = probe >= 0;
        struct stat st;
        if (is_tmpfs && probe >= 0 && fstat(probe, &st) == 0 && S_ISDIR(st.st_mode)) dir_mode = (int)(st.st_mode & 07777);
        x_close(probe);
    }
    if (m->kind == CORRAL_MOUNT_FS && m->fstype && (c_streq(m->fstype, "proc") || c_streq(m->fstype, "sysfs"))) {
        // runc's rule: procfs and sysfs go onto an ordinary directory, never through a symlink the image planted
        // (a /proc -> /some/dir link would put the container's procfs where masks and checks do not look).
        int probe = x_openat2(rootfd, m->dest, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_FLAGS);
        struct stat st;
        if (probe >= 0 && (fstat(probe, &st) < 0 || !S_ISDIR(st.st_mode))) {
            char what[64] = "filesystem \"";
            c_strlcat(what, m->fstype, sizeof what);
            c_strlcat(what, "\" must be mounted on ordinary directory", sizeof what);
            mount_fail(p, i, ENOTDIR, what);
        }
        x_close(probe);
    }
    // A bind's source first: what it is (file or directory) decides what its mount point is made as.
    int mfd = -1, own = 0, dest_is_file = m->dest_is_file;
    if (m->kind == CORRAL_MOUNT_BIND) {
        mfd = open_bind_source(p, m, i, rootfd, &own);
        struct stat sst;
        if (fstat(mfd, &sst) < 0) mount_fail(p, i, errno, "stat the bind source");
        dest_is_file = !S_ISDIR(sst.st_mode);
    }
    int dest = resolve_mkdir_in_root(rootfd, m->dest, 1, dest_is_file, m->kind == CORRAL_MOUNT_MKDIR ? m->mode : 0755);
    if (dest < 0) mount_fail(p, i, dest, "create mount point");
    if (m->kind == CORRAL_MOUNT_MKDIR) { x_close(dest); return; }
    if (!m->allow_on_proc) {
        // Whatever path led here (a symlink in the image included), nothing but lxcfs-style overlays may be
        // mounted onto procfs: it would hide masked paths or redirect procfs writes (CVE-2019-19921).
        struct statfs tsfs;
        if (fstatfs(dest, &tsfs) == 0 && tsfs.f_type == PROC_SUPER_MAGIC) mount_fail(p, i, EPERM, "mount target is inside procfs");
    }
    if (m->kind == CORRAL_MOUNT_REMOUNT) {
        r = apply_attrs(m, dest);
        if (r < 0) mount_fail(p, i, r, "mount_setattr");
        if (m->propagation) {
            r = x_mount_setattr(dest, "", AT_EMPTY_PATH | (m->propagation_recursive ? AT_RECURSIVE : 0), 0, 0, m->propagation, -1);
            if (r < 0) mount_fail(p, i, r, "set propagation");
        }
        x_close(dest);
        return;
    }
    if (m->kind == CORRAL_MOUNT_BIND) {
        if (own) apply_bind_attrs(p, m, i, mfd);   // the parent's clone came with them
    } else {
        mfd = make_fs_mount(p, m, i, dir_mode);
        if (m->copy_up) copy_up(p, m, i, dest, mfd, existed);
        if (m->rattr_set || m->rattr_clr) {
            r = x_mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, m->rattr_set, m->rattr_clr, 0, -1);
            if (r < 0) mount_fail(p, i, r, "mount_setattr");
        }
    }
    r = x_move_mount(mfd, "", dest, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (r < 0) mount_fail(p, i, r, "move_mount");
    if (m->propagation) {
        // The mount fd now names the attached mount; propagation can only be set on attached mounts.
        r = x_mount_setattr(mfd, "", AT_EMPTY_PATH | (m->propagation_recursive ? AT_RECURSIVE : 0), 0, 0, m->propagation, -1);
        if (r < 0) mount_fail(p, i, r, "set propagation");
    }
    x_close(mfd);
    x_close(dest);
}

// statmount(2) (Linux 6.8); the Debian 12 headers predate it.
struct cr_mnt_id_req { uint32_t size, spare; uint64_t mnt_id, param, mnt_ns_id; };
struct cr_statmount {
    uint32_t size, mnt_opts; uint64_t mask; uint32_t sb_dev_major, sb_dev_minor; uint64_t sb_magic;
    uint32_t sb_flags, fs_type; uint64_t mnt_id, mnt_parent_id; uint32_t mnt_id_old, mnt_parent_id_old;
    uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
    uint32_t mnt_root, mnt_point; uint64_t mnt_ns_id; uint64_t spare2[49];
};
#define CR_SYS_statmount 457
#define CR_STATX_MNT_ID_UNIQUE 0x4000U
#define CR_STATMOUNT_MNT_BASIC 0x2U

/// pivot_root(2) refuses a new root whose parent mount is shared. Like runc, make the mount holding the rootfs
/// directory private when (and only when) it is shared after "/" got its propagation. Without statmount
/// (kernels before 6.8) the mount is made private unconditionally.
static void make_rootfs_parent_private(const struct corral_plan *p) {
    struct statx sx;
    long r = RSYS(SYS_statx, AT_FDCWD, p->rootfs, 0, CR_STATX_MNT_ID_UNIQUE, &sx);
    if (r == 0 && (sx.stx_mask & CR_STATX_MNT_ID_UNIQUE)) {
        struct cr_mnt_id_req req = { .size = 24, .mnt_id = sx.stx_mnt_id, .param = CR_STATMOUNT_MNT_BASIC };
        char buf[sizeof(struct cr_statmount) + 64] __attribute__((aligned(8)));
        struct cr_statmount *sm = (struct cr_statmount *)buf;
        r = RSYS(CR_SYS_statmount, &req, sm, sizeof buf, 0);
        if (r == 0 && (sm->mask & CR_STATMOUNT_MNT_BASIC) && !(sm->mnt_propagation & MS_SHARED)) return;
    }
    // Shared (or unknown): privatise the mount point holding the rootfs, found by walking up while the mount
    // id stays the same.
    char path[CORRAL_PATH_MAX];
    c_strlcpy(path, p->rootfs, sizeof path);
    if (RSYS(SYS_statx, AT_FDCWD, path, 0, STATX_MNT_ID, &sx) < 0) child_fail(p, CORRAL_STAGE_ROOTFS, errno, -1, "statx ", path);
    uint64_t id = sx.stx_mnt_id;
    for (;;) {
        size_t n = c_strlen(path);
        if (n <= 1) break;
        char up[CORRAL_PATH_MAX]; c_strlcpy(up, path, sizeof up);
        char *slash = up + n; while (slash > up && *slash != '/') slash--;
        if (slash == up) up[1] = 0; else *slash = 0;
        if (RSYS(SYS_statx, AT_FDCWD, up, 0, STATX_MNT_ID, &sx) < 0 || sx.stx_mnt_id != id) break;
        c_strlcpy(path, up, sizeof path);
    }
    r = RSYS(SYS_mount, NULL, path, NULL, MS_PRIVATE, NULL);
    if (r < 0) child_fail(p, CORRAL_STAGE_ROOTFS, (int)r, -1, "make rootfs parent private: ", path);
}

static void setup_devices(const struct corral_plan *p, int rootfd) {
    for (int i = 0; i < p->ndevices; i++) {
        const struct corral_device *d = &p->devices[i];
        char name[256];
        int dfd = open_parent_in_root(rootfd, d->path, name);
        if (dfd < 0) child_fail(p, CORRAL_STAGE_DEVICES, dfd, i, "create directory for device ", d->path);
        if (d->bind_from_host) {
            int f = (int)RSYS(SYS_openat, dfd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
            if (f < 0) child_fail(p, CORRAL_STAGE_DEVICES, f, i, "create bind target for device ", d->path);
            x_close(f);
            int tfd = (int)RSYS(SYS_openat, dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            int mfd = x_open_tree(AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
            if (tfd < 0 || mfd < 0) child_fail(p, CORRAL_STAGE_DEVICES, tfd < 0 ? tfd : mfd, i, "bind device ", d->path);
            // Like the /dev tmpfs around it: no set-id and no exec through the node's mount (the clone would
            // otherwise keep the flags of the host's /dev mount).
            int r = x_mount_setattr(mfd, "", AT_EMPTY_PATH, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0, 0, -1);
            if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, r, i, "bind device ", d->path);
            r = x_move_mount(mfd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
            if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, r, i, "bind device ", d->path);
            x_close(mfd); x_close(tfd);
        } else {
            long r = RSYS(SYS_mknodat, dfd, name, d->mode, makedev(d->major, d->minor));
            if (r == -EEXIST) {
                // An existing node is acceptable only if it is exactly the requested device.
                struct stat st;
                if (RSYS(SYS_newfstatat, dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    (st.st_mode & S_IFMT) == (d->mode & S_IFMT) &&
                    ((d->mode & S_IFMT) == S_IFIFO || st.st_rdev == makedev(d->major, d->minor)))
                    r = 0;
                else
                    r = -EEXIST;
            }
            if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, (int)r, i, "mknod ", d->path);
            r = RSYS(SYS_fchownat, dfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW);
            if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, (int)r, i, "chown ", d->path);
            r = RSYS(SYS_fchmodat, dfd, name, d->mode & 07777);
            if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, (int)r, i, "chmod ", d->path);
        }
        x_close(dfd);
    }
}

int setup_rootfs(const struct corral_plan *p) {
    long r = RSYS(SYS_mount, NULL, "/", NULL, p->root_propagation, NULL);
    if (r < 0) child_fail(p, CORRAL_STAGE_ROOTFS, (int)r, -1, "set propagation of /", NULL);
    make_rootfs_parent_private(p);
    // The rootfs must be a mount point of its own for pivot_root: bind it onto itself, recursively. A classic
    // bind (not an open_tree clone, which comes out private) keeps the source's propagation, as runc's does.
    // The rootfs is a host path given by the caller, so resolving it as a string here is what runc does too.
    r = RSYS(SYS_mount, p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL);
    if (r < 0) child_fail(p, CORRAL_STAGE_ROOTFS, (int)r, -1, "bind rootfs ", p->rootfs);
    int rootfd = (int)RSYS(SYS_openat, AT_FDCWD, p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) child_fail(p, CORRAL_STAGE_ROOTFS, rootfd, -1, "open rootfs ", p->rootfs);
    for (int i = 0; i < p->nmounts; i++) if (!p->mounts[i].deferred) do_mount(p, &p->mounts[i], i, rootfd);
    setup_devices(p, rootfd);
    return rootfd;
}

/// /dev/console: the pty slave, reached from the master with TIOCGPTPEER (never by a /dev/pts path that the image
/// could have replaced, CVE-2025-52565) and bind-mounted by fd (create only). The master goes to --console-socket.
void setup_console(const struct corral_plan *p, int rootfd) {
    int master = (int)RSYS(SYS_openat, AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) child_fail(p, CORRAL_STAGE_CONSOLE, master, -1, "open /dev/ptmx", NULL);
    struct statfs sfs;
    if (fstatfs(master, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC)
        child_fail(p, CORRAL_STAGE_CONSOLE, EINVAL, -1, "/dev/ptmx is not on devpts", NULL);
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "unlockpt", NULL);
    unsigned ptn = 0;
    if (ioctl(master, TIOCGPTN, &ptn) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "ptsname", NULL);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "open pty peer", NULL);
    if (p->console_rows || p->console_cols) corral_ioctl_winsize(slave, p->console_rows, p->console_cols);
    if (p->clear_onlcr) {
        // Before the process can write anything: the relay copies the bytes as they are (runc's ClearONLCR).
        struct termios t;
        if (ioctl(slave, TCGETS, &t) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "get the terminal's modes", NULL);
        t.c_oflag &= ~(tcflag_t)ONLCR;
        if (ioctl(slave, TCSETS, &t) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "clear ONLCR on the terminal", NULL);
    }
    if (rootfd >= 0) {
        int dev = resolve_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
        if (dev < 0) child_fail(p, CORRAL_STAGE_CONSOLE, dev, -1, "open /dev", NULL);
        int f = (int)RSYS(SYS_openat, dev, "console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0) child_fail(p, CORRAL_STAGE_CONSOLE, f, -1, "create /dev/console", NULL);
        x_close(f);
        int target = (int)RSYS(SYS_openat, dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int mfd = x_open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (target < 0 || mfd < 0) child_fail(p, CORRAL_STAGE_CONSOLE, target < 0 ? target : mfd, -1, "bind /dev/console", NULL);
        int r = x_move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        if (r < 0) child_fail(p, CORRAL_STAGE_CONSOLE, r, -1, "bind /dev/console", NULL);
        x_close(mfd); x_close(target); x_close(dev);
    }
    char name[64] = "/dev/pts/", num[24];
    c_utoa(ptn, num); c_strlcat(name, num, sizeof name);
    int r = corral_send_fd(p->console_socket_fd, master, name);
    if (r < 0) child_fail(p, CORRAL_STAGE_CONSOLE, r, -1, "send pty master to console socket", NULL);
    x_close(master);
    x_close(p->console_socket_fd);
    long sid = RSYS(SYS_setsid);
    if (sid < 0) child_fail(p, CORRAL_STAGE_CONSOLE, (int)sid, -1, "setsid", NULL);
    for (int fd = 0; fd < 3; fd++)
        if (RSYS(SYS_dup3, slave, fd, 0) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "dup pty to stdio", NULL);
    if (ioctl(0, TIOCSCTTY, 0) < 0) child_fail(p, CORRAL_STAGE_CONSOLE, errno, -1, "set controlling terminal", NULL);
    x_close(slave);
}

static void write_sysctls(const struct corral_plan *p, int rootfd) {
    if (!p->nsysctl) return;
    int sys = resolve_in_root(rootfd, "/proc/sys", O_PATH | O_DIRECTORY);
    if (sys < 0) child_fail(p, CORRAL_STAGE_SYSCTL, sys, -1, "open /proc/sys", NULL);
    struct statfs sfs;
    if (fstatfs(sys, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        child_fail(p, CORRAL_STAGE_SYSCTL, EINVAL, -1, "/proc/sys is not on procfs", NULL);
    for (int i = 0; i < p->nsysctl; i++) {
        int fd = x_openat2(sys, p->sysctl_keys[i], O_WRONLY | O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
        if (fd < 0) child_fail(p, CORRAL_STAGE_SYSCTL, fd, i, "open /proc/sys/", p->sysctl_keys[i]);
        int r = x_write_all(fd, p->sysctl_values[i], c_strlen(p->sysctl_values[i]));
        if (r < 0) child_fail(p, CORRAL_STAGE_SYSCTL, r, i, "write /proc/sys/", p->sysctl_keys[i]);
        x_close(fd);
    }
    x_close(sys);
}

/// Masks files with a verified /dev/null (CVE-2025-31133: the image's /dev/null could be a symlink to a procfs
/// file) and directories with an empty read-only tmpfs, one for all of them (the first is mounted, the others
/// are binds of it, as runc does: one superblock, not one per directory). Missing paths are skipped, as runc does.
static void mask_paths(const struct corral_plan *p, int rootfd) {
    if (!p->nmasked) return;
    int empty = -1;   // the first directory's tmpfs, once it is mounted
    int null = resolve_in_root(rootfd, "/dev/null", O_PATH | O_NOFOLLOW);
    struct stat st;
    if (null < 0 || fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        child_fail(p, CORRAL_STAGE_MASK, null < 0 ? null : EINVAL, -1, "/dev/null is not the null device", NULL);
    for (int i = 0; i < p->nmasked; i++) {
        int target = resolve_in_root(rootfd, p->masked_paths[i], O_PATH | O_NOFOLLOW);
        if (target == -ENOENT) continue;
        if (target < 0) child_fail(p, CORRAL_STAGE_MASK, target, i, "open ", p->masked_paths[i]);
        struct stat ts;
        if (fstat(target, &ts) < 0) child_fail(p, CORRAL_STAGE_MASK, errno, i, "stat ", p->masked_paths[i]);
        int mfd;
        if (S_ISDIR(ts.st_mode) && empty >= 0) {
            // The first directory's tmpfs is attached by now, so it can be cloned like any mount of ours.
            mfd = x_open_tree(empty, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        } else if (S_ISDIR(ts.st_mode)) {
            int fs = x_fsopen("tmpfs", FSOPEN_CLOEXEC);
            if (fs >= 0 && x_fsconfig(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) == 0 &&
                x_fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) == 0 &&
                x_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
                mfd = x_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
            else
                mfd = fs < 0 ? fs : -errno;
            x_close(fs);
        } else {
            mfd = x_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        }
        if (mfd < 0) child_fail(p, CORRAL_STAGE_MASK, mfd, i, "mask ", p->masked_paths[i]);
        int r = x_move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        if (r < 0) child_fail(p, CORRAL_STAGE_MASK, r, i, "mask ", p->masked_paths[i]);
        if (S_ISDIR(ts.st_mode) && empty < 0) empty = mfd; else x_close(mfd);
        x_close(target);
    }
    if (empty >= 0) x_close(empty);
    x_close(null);
}

static void readonly_paths(const struct corral_plan *p, int rootfd) {
    for (int i = 0; i < p->nreadonly; i++) {
        int target = resolve_in_root(rootfd, p->readonly_paths[i], O_PATH | O_NOFOLLOW);
        if (target == -ENOENT) continue;
        if (target < 0) child_fail(p, CORRAL_STAGE_READONLY_PATH, target, i, "open ", p->readonly_paths[i]);
        int mfd = x_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (mfd < 0) child_fail(p, CORRAL_STAGE_READONLY_PATH, mfd, i, "bind ", p->readonly_paths[i]);
        int r = x_mount_setattr(mfd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0, 0, -1);
        if (r == 0) r = x_move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        if (r < 0) child_fail(p, CORRAL_STAGE_READONLY_PATH, r, i, "make read-only ", p->readonly_paths[i]);
        x_close(mfd); x_close(target);
    }
}

/// Copies mountinfo field `f` (escaped as \ooo) into out[cap], unescaped; returns 0, or -1 when it does not fit.
static int unescape_field(const char *f, size_t len, char *out, size_t cap) {
    size_t o = 0;
    for (size_t k = 0; k < len; k++) {
        char c = f[k];
        if (c == '\\' && k + 3 < len && f[k + 1] >= '0' && f[k + 1] <= '3') {
            c = (char)(((f[k + 1] - '0') << 6) | ((f[k + 2] - '0') << 3) | (f[k + 3] - '0'));
            k += 3;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

/// Finds one full procfs or sysfs mount (root "/") outside the rootfs in /proc/self/mountinfo; fills `mp`.
/// Returns 1 when found, 0 when there is none, -errno on failure. Streams the file through a stack buffer.
static int find_host_proc_sys(const struct corral_plan *p, int proc, char *mp, size_t cap) {
    int fd = (int)RSYS(SYS_openat, proc, "self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fd;
    char buf[16384];
    size_t have = 0;
    size_t rootlen = c_strlen(p->rootfs);
    int found = 0;
    for (;;) {
        long n = RSYS(SYS_read, fd, buf + have, sizeof buf - 1 - have);
        if (n < 0) { x_close(fd); return (int)n; }
        have += (size_t)n;
        size_t start = 0;
        for (size_t e = 0; e < have; e++) {
            if (buf[e] != '\n') continue;
            // Fields: id parent maj:min root mountpoint options [optional...] - fstype source superopts
            const char *f[12]; size_t fl[12]; int nf = 0, dash = -1;
            size_t s = start;
            while (s < e && nf < 12) {
                size_t t = s;
                while (t < e && buf[t] != ' ') t++;
                f[nf] = buf + s; fl[nf] = t - s;
                if (fl[nf] == 1 && f[nf][0] == '-' && nf >= 6 && dash < 0) dash = nf;
                nf++;
                s = t + 1;
            }
            start = e + 1;
            if (dash < 0 || dash + 1 >= nf) continue;
            const char *type = f[dash + 1]; size_t tl = fl[dash + 1];
            int procsys = (tl == 4 && !memcmp(type, "proc", 4)) || (tl == 5 && !memcmp(type, "sysfs", 5));
            if (!procsys || fl[3] != 1 || f[3][0] != '/') continue;
            if (unescape_field(f[4], fl[4], mp, cap) < 0) continue;
            size_t ml = c_strlen(mp);
            if (ml >= rootlen && !memcmp(mp, p->rootfs, rootlen) && (mp[rootlen] == 0 || mp[rootlen] == '/')) continue;
            found = 1;
            break;
        }
        if (found || n == 0) break;
        if (start == 0 && have >= sizeof buf - 1) { x_close(fd); return -E2BIG; }  // a line longer than the buffer
        memmove(buf, buf + start, have - start);
        have -= start;
    }
    x_close(fd);
    return found;
}

/// --no-pivot keeps the old root's mounts in the container's mount namespace, and the kernel allows a new procfs
/// or sysfs (after `unshare -mrpf` inside) whenever a full one is mounted anywhere in the namespace, reachable or
/// not. Like runc, detach every full host procfs and sysfs mount first (covered by a tmpfs where it is locked).
static void unmount_host_proc_sys(const struct corral_plan *p) {
    char mp[CORRAL_PATH_MAX];
    // The host's /proc is among what goes: read mountinfo through an fd taken first (a detached mount stays
    // readable through it).
    int proc = (int)RSYS(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0) child_fail(p, CORRAL_STAGE_PIVOT, proc, -1, "open /proc", NULL);
    for (int round = 0; round < 64; round++) {
        int r = find_host_proc_sys(p, proc, mp, sizeof mp);
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, r, -1, "read /proc/self/mountinfo", NULL);
        if (r == 0) { x_close(proc); return; }
        long m = RSYS(SYS_mount, NULL, mp, NULL, MS_SLAVE | MS_REC, NULL);
        if (m < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)m, -1, "make slave ", mp);
        m = RSYS(SYS_umount2, mp, MNT_DETACH);
        if (m == -EINVAL || m == -EPERM) m = RSYS(SYS_mount, "tmpfs", mp, "tmpfs", 0, NULL);
        if (m < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)m, -1, "hide host ", mp);
    }
    child_fail(p, CORRAL_STAGE_PIVOT, ELOOP, -1, "too many procfs and sysfs mounts to hide", NULL);
}

/// runc's reOpenDevNull: a standard descriptor that is the host's /dev/null (an engine's stdin for a detached
/// container) is replaced by the container's own /dev/null, so the container holds no file of the host's /dev, and
/// criu, which cannot dump a file on a mount the container does not have, can checkpoint it. Only a container
/// /dev/null that is the null device (c 1:3) is used; without one the descriptors are left as they are.
static void reopen_dev_null(const struct corral_plan *p, int rootfd) {
    int null = x_openat2(rootfd, "/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_FLAGS);
    if (null < 0) return;
    struct stat ours;
    if (RSYS(SYS_fstat, null, &ours) < 0 || !S_ISCHR(ours.st_mode) || ours.st_rdev != makedev(1, 3)) {
        x_close(null);
        return;
    }
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        if (RSYS(SYS_fstat, fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != ours.st_rdev) continue;
        if (st.st_dev == ours.st_dev && st.st_ino == ours.st_ino) continue;
        long r = RSYS(SYS_dup3, null, fd, 0);
        if (r < 0) child_fail(p, CORRAL_STAGE_DEVICES, (int)r, fd, "reopen the container's /dev/null as a standard descriptor", NULL);
    }
    x_close(null);
}

void finish_rootfs(const struct corral_plan *p, int rootfd) {
    long r;
    if (RSYS(SYS_fchdir, rootfd) < 0) child_fail(p, CORRAL_STAGE_PIVOT, errno, -1, "chdir to rootfs", NULL);
    if (p->no_pivot) {
        unmount_host_proc_sys(p);
        r = RSYS(SYS_mount, ".", "/", NULL, MS_MOVE, NULL);
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "move rootfs to /", NULL);
        r = RSYS(SYS_chroot, ".");
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "chroot", NULL);
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new root.
        // With rootfsPropagation "shared" the old root's mounts are peers of the host's, and unmounting them would
        // propagate there: the old root (reached through an fd taken before the pivot, so that "." is the old root
        // and not the new one) is made a recursive slave first, so the detach stays in this namespace (as runc).
        int oldroot = (int)RSYS(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (oldroot < 0) child_fail(p, CORRAL_STAGE_PIVOT, oldroot, -1, "open old root", NULL);
        r = RSYS(SYS_pivot_root, ".", ".");
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "pivot_root", NULL);
        if (RSYS(SYS_fchdir, oldroot) < 0) child_fail(p, CORRAL_STAGE_PIVOT, errno, -1, "chdir to old root", NULL);
        x_close(oldroot);
        r = RSYS(SYS_mount, NULL, ".", NULL, MS_SLAVE | MS_REC, NULL);
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "make old root rslave", NULL);
        r = RSYS(SYS_umount2, ".", MNT_DETACH);
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "unmount old root", NULL);
    }
    r = RSYS(SYS_chdir, "/");
    if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "chdir /", NULL);
    x_close(rootfd);
    rootfd = (int)RSYS(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) child_fail(p, CORRAL_STAGE_PIVOT, rootfd, -1, "open new root", NULL);
    if (p->root_propagation_after) {
        r = RSYS(SYS_mount, NULL, "/", NULL, p->root_propagation_after, NULL);
        if (r < 0) child_fail(p, CORRAL_STAGE_PIVOT, (int)r, -1, "set rootfs propagation", NULL);
    }
    if (p->terminal) setup_console(p, rootfd);
    write_sysctls(p, rootfd);
    readonly_paths(p, rootfd);
    mask_paths(p, rootfd);
    for (int i = 0; i < p->nmounts; i++) if (p->mounts[i].deferred) do_mount(p, &p->mounts[i], i, rootfd);
    reopen_dev_null(p, rootfd);
    if (p->readonly_root) {
        r = x_mount_setattr(rootfd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0, 0, -1);
        if (r < 0) child_fail(p, CORRAL_STAGE_READONLY_ROOT, (int)r, -1, "remount / read-only", NULL);
    }
    x_close(rootfd);
}
