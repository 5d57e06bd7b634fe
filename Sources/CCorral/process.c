// Process attributes applied last in the child: rlimits, capabilities around the uid switch (runc's order),
// no_new_privs, umask, the working directory (verified, CVE-2024-21626), fd hygiene and the executable lookup.
#include "internal.h"

#include <linux/capability.h>
#include <linux/close_range.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>

static void apply_caps(const struct corral_plan *p) {
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = (uint32_t)p->cap_effective;     data[1].effective = (uint32_t)(p->cap_effective >> 32);
    data[0].permitted = (uint32_t)p->cap_permitted;     data[1].permitted = (uint32_t)(p->cap_permitted >> 32);
    data[0].inheritable = (uint32_t)p->cap_inheritable; data[1].inheritable = (uint32_t)(p->cap_inheritable >> 32);
    long r = RSYS(SYS_capset, &hdr, data);
    if (r < 0) child_fail(p, CORRAL_STAGE_CAPS, (int)r, -1, "capset", NULL);
    r = RSYS(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (r < 0 && r != -EINVAL) child_fail(p, CORRAL_STAGE_CAPS, (int)r, -1, "clear ambient capabilities", NULL);
    for (int c = 0; c <= p->last_cap && c < 64; c++) {
        if (!(p->cap_ambient & (1ULL << c))) continue;
        r = RSYS(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
        if (r < 0) child_fail(p, CORRAL_STAGE_CAPS, (int)r, c, "raise ambient capability", NULL);
    }
}

/// Writes an LSM exec attribute of our own task through the container's procfs, verified to be procfs and
/// reached without crossing a mount or following a magic link (CVE-2025-52881: a racing mount must not redirect
/// the write).
static void write_lsm_attr(const struct corral_plan *p, const char *file, const char *value) {
    int proc = (int)RSYS(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statfs sfs;
    if (proc < 0 || fstatfs(proc, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        child_fail(p, CORRAL_STAGE_LSM, proc < 0 ? proc : EINVAL, -1, "/proc is not procfs", NULL);
    char path[64] = "thread-self/attr/";
    c_strlcat(path, file, sizeof path);
    int fd = x_openat2(proc, path, O_WRONLY | O_CLOEXEC, 0, RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
    if (fd < 0) child_fail(p, CORRAL_STAGE_LSM, fd, -1, "open /proc/thread-self/attr/", file);
    long r = RSYS(SYS_write, fd, value, c_strlen(value));
    if (r < 0) child_fail(p, CORRAL_STAGE_LSM, (int)r, -1, "write /proc/thread-self/attr/", file);
    x_close(fd);
    x_close(proc);
}

void apply_rlimits(const struct corral_plan *p) {
    for (int i = 0; i < p->nrlimits; i++) {
        struct rlimit64 { uint64_t cur, max; } lim = { p->rlimits[i].soft, p->rlimits[i].hard };
        long r = RSYS(SYS_prlimit64, 0, p->rlimits[i].resource, &lim, NULL);
        if (r < 0) child_fail(p, CORRAL_STAGE_RLIMIT, (int)r, i, "setrlimit", NULL);
    }
}

/// Marks every fd from `lo` up close-on-exec: close_range(CLOSE_RANGE_CLOEXEC), or where that is refused (an older
/// kernel, a seccomp filter around the runtime) a walk of /proc/self/fd with fcntl.
int cloexec_from(unsigned lo) {
    long r = RSYS(SYS_close_range, lo, ~0U, CLOSE_RANGE_CLOEXEC);
    if (r == 0) return 0;
    int dir = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return dir;
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        long n = RSYS(SYS_getdents64, dir, buf, sizeof buf);
        if (n < 0) { x_close(dir); return (int)n; }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
            off += d->reclen;
            unsigned fd = 0;
            const char *c = d->name;
            if (*c < '0' || *c > '9') continue;
            for (; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (unsigned)(*c - '0');
            if (fd >= lo && (int)fd != dir) RSYS(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
        }
    }
    x_close(dir);
    return 0;
}

/// runc's fixStdioPermissions: the process's stdio belongs to its uid, so that /dev/stdout and /proc/self/fd/1
/// can be reopened by a non-root user (nginx writing its log to /dev/stdout). Only the pty we made and pipes and
/// sockets are changed; a terminal or a file of the caller's is left as it is, and so is /dev/null. Failures
/// (an owner not mapped in a user namespace, a read-only /dev) leave the fd alone, as runc does.
static void fix_stdio_owner(const struct corral_plan *p) {
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0 || st.st_uid == p->uid) continue;
        int ours = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
                   (p->terminal && S_ISCHR(st.st_mode) && st.st_rdev != makedev(1, 3));
        if (ours) RSYS(SYS_fchown, fd, p->uid, -1);
    }
}

/// CVE-2024-21626: the working directory must be reachable from the container's root (a leaked host dir fd as
/// cwd shows as "(unreachable)"). Any failure, getcwd refused included, fails the container.
static void verify_cwd(const struct corral_plan *p) {
    char cwd[CORRAL_PATH_MAX];
    long r = RSYS(SYS_getcwd, cwd, sizeof cwd);
    if (r < 0 || cwd[0] != '/') child_fail(p, CORRAL_STAGE_CWD, r < 0 ? (int)r : ENOENT, -1, p->cwd, " is outside the container root");
}

void setup_process(const struct corral_plan *p) {
    long r;
    // CVE-2024-21626: no inherited fd may survive execve. Done before a seccomp filter goes on, so that the
    // user's profile never decides over a syscall of ours.
    r = cloexec_from(3 + (unsigned)p->preserve_fds);
    if (r < 0) child_fail(p, CORRAL_STAGE_SETUP, (int)r, -1, "mark fds close-on-exec", NULL);
    for (int fd = 3; fd < 3 + p->preserve_fds; fd++) corral_fcntl_setfd(fd, 0);
    if (p->personality >= 0) {
        r = RSYS(SYS_personality, (unsigned long)p->personality);
        if (r < 0) child_fail(p, CORRAL_STAGE_PERSONALITY, (int)r, -1, "personality", NULL);
    }
    if (p->apparmor_exec) write_lsm_attr(p, "apparmor/exec", p->apparmor_exec);
    if (p->selinux_exec) write_lsm_attr(p, "exec", p->selinux_exec);
    if (!p->join_pidfd_flags) apply_rlimits(p);   // exec applied them before it joined the container's namespaces
    // After the rlimits (RLIMIT_RTPRIO / RLIMIT_NICE may be what allows the policy in a user namespace), before
    // the capabilities are dropped and any seccomp filter goes on.
    apply_scheduling(p);
    // The five sets are always applied (an absent one is empty): bounding first, and keep the permitted set
    // across the uid switch so capset can grant exactly what the config asks for (runc's order).
    for (int c = 0; c <= p->last_cap && c < 64; c++) {
        if (p->cap_bounding & (1ULL << c)) continue;
        r = RSYS(SYS_prctl, PR_CAPBSET_DROP, c, 0, 0, 0);
        if (r < 0) child_fail(p, CORRAL_STAGE_CAPS, (int)r, c, "drop bounding capability", NULL);
    }
    r = RSYS(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (r < 0) child_fail(p, CORRAL_STAGE_CAPS, (int)r, -1, "keep capabilities across setuid", NULL);
    // runc's order for the working directory: first as the runtime's user (a directory only root may enter),
    // and once more as the process's user when that was refused (a volume owned by the container's user).
    r = RSYS(SYS_chdir, p->cwd);
    int chdir_again = r == -EACCES || r == -EPERM;
    if (r < 0 && !chdir_again) child_fail(p, CORRAL_STAGE_CWD, (int)r, -1, p->cwd, NULL);
    // Verified now, before a profile loaded without no_new_privs could refuse getcwd (runtime-tools' linux_seccomp
    // blocks it); a directory only the process's user may enter is verified once it is entered, below.
    if (!chdir_again) verify_cwd(p);
    fix_stdio_owner(p);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: do it while we still have it (runc's order).
    if (!p->no_new_privs) load_seccomp(p);
    // Raw syscalls: glibc's set*id wrappers would try to broadcast to threads it believes exist.
    if (p->set_groups) {
        r = RSYS(SYS_setgroups, p->ngroups, p->groups);
        if (r < 0) child_fail(p, CORRAL_STAGE_USER, (int)r, -1, "setgroups", NULL);
    }
    r = RSYS(SYS_setresgid, p->gid, p->gid, p->gid);
    if (r < 0) child_fail(p, CORRAL_STAGE_USER, (int)r, -1, "setgid", NULL);
    r = RSYS(SYS_setresuid, p->uid, p->uid, p->uid);
    if (r < 0) child_fail(p, CORRAL_STAGE_USER, (int)r, -1, "setuid", NULL);
    RSYS(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
    apply_caps(p);
    if (p->no_new_privs) {
        r = RSYS(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (r < 0) child_fail(p, CORRAL_STAGE_NNP, (int)r, -1, "set no_new_privs", NULL);
    }
    RSYS(SYS_umask, p->umask >= 0 ? p->umask : 022);

    if (chdir_again) {
        r = RSYS(SYS_chdir, p->cwd);
        if (r < 0) child_fail(p, CORRAL_STAGE_CWD, (int)r, -1, p->cwd, NULL);
        verify_cwd(p);
    }
}

static void lookup_exec_path(const struct corral_plan *p, char *out);

/// 1 if `path` names an executable regular file (Go's findExecutable: not a directory, some x bit set).
static int find_executable(const char *path, int *err) {
    struct stat st;
    long r = RSYS(SYS_newfstatat, AT_FDCWD, path, &st, 0);
    if (r < 0) { *err = (int)-r; return 0; }
    if (!S_ISDIR(st.st_mode) && (st.st_mode & 0111)) return 1;
    *err = EACCES;
    return 0;
}

/// CVE-2019-5736: the container must never run the runtime's own binary (args[0] "/proc/self/exe", a hard link,
/// or a "#!" interpreter chain that ends there): it would hold a handle on the host binary. 1 if `path` is it.
int is_self_binary(uint64_t dev, uint64_t ino, const char *path, int depth) {
    struct stat st;
    if (RSYS(SYS_newfstatat, AT_FDCWD, path, &st, 0) < 0) return 0;
    if ((uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino) return 1;
    if (depth >= 4 || !S_ISREG(st.st_mode)) return 0;
    int fd = (int)RSYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 0;
    char buf[256];
    long n = RSYS(SYS_read, fd, buf, sizeof buf - 1);
    x_close(fd);
    if (n < 3 || buf[0] != '#' || buf[1] != '!') return 0;
    buf[n] = 0;
    char *s = buf + 2;
    while (*s == ' ' || *s == '\t') s++;
    char *e = s;
    while (*e && *e != ' ' && *e != '\t' && *e != '\n') e++;
    *e = 0;
    return *s ? is_self_binary(dev, ino, s, depth + 1) : 0;
}

void lookup_exec(const struct corral_plan *p, char *out) {
    lookup_exec_path(p, out);
    if (p->self_ino && is_self_binary(p->self_dev, p->self_ino, out, 0))
        child_fail(p, CORRAL_STAGE_EXEC_LOOKUP, EPERM, CORRAL_EXEC_RUNTIME_BINARY, p->argv[0], NULL);
}

static void lookup_exec_path(const struct corral_plan *p, char *out) {
    const char *name = p->argv[0];
    int err = 0;
    int has_slash = 0;
    for (const char *c = name; *c; c++) if (*c == '/') { has_slash = 1; break; }
    if (has_slash) {
        if (find_executable(name, &err)) { c_strlcpy(out, name, CORRAL_PATH_MAX); return; }
        // runc (Go's exec.LookPath): `exec: "/x": stat /x: no such file or directory`
        child_fail(p, CORRAL_STAGE_EXEC_LOOKUP, err, err == EACCES ? CORRAL_EXEC_NOT_EXECUTABLE : CORRAL_EXEC_STAT, name, NULL);
    }
    const char *path = p->path_env ? p->path_env : "";
    const char *s = path;
    for (;;) {
        const char *e = s;
        while (*e && *e != ':') e++;
        char cand[CORRAL_PATH_MAX];
        size_t dlen = (size_t)(e - s);
        if (dlen == 0) { cand[0] = '.'; dlen = 1; } else { if (dlen > CORRAL_PATH_MAX - 2) dlen = CORRAL_PATH_MAX - 2; memcpy(cand, s, dlen); }
        cand[dlen] = '/'; cand[dlen + 1] = 0;
        c_strlcat(cand, name, CORRAL_PATH_MAX);
        int e2 = 0;
        if (p->path_env && find_executable(cand, &e2)) { c_strlcpy(out, cand, CORRAL_PATH_MAX); return; }
        if (!*e) break;
        s = e + 1;
    }
    child_fail(p, CORRAL_STAGE_EXEC_LOOKUP, ENOENT, CORRAL_EXEC_NOT_IN_PATH, name, NULL);
}
