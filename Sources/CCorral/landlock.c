// Landlock: the ruleset the planner made of the io.corral.landlock.* annotations, built while the child sets up the
// container and enforced last, right before execve. Raw syscalls and stack memory only.
//
// Order in the child (spawn.c): landlock_prepare once the rootfs is final (after pivot_root, the masks and the
// read-only remounts: "/" is the container's root, so each path is resolved in it with RESOLVE_IN_ROOT and held only
// while its rule is added); landlock_check_program after the executable lookup; landlock_probe after the seccomp
// filter; landlock_enforce after the exec fifo handshake and the startContainer hooks, so that the runtime's own
// opens are never restricted. Only the ruleset fd stays open in between, and it is closed before execve
// (CVE-2024-21626: nothing but stdio and the preserved fds reaches the container).
#include "internal.h"

#include <elf.h>
#include <string.h>

// Debian 12's headers know the syscalls but not the rule types and rights after ABI 2; the values are the kernel's
// UAPI (include/uapi/linux/landlock.h).
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_FS_EXECUTE (1ULL << 0)
/// The rights that apply to a non-directory: execute, write_file, read_file, truncate, ioctl_dev. A rule on a file
/// with any other right is refused by the kernel (EINVAL).
#define LL_FS_FILE_RIGHTS ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 14) | (1ULL << 15))

struct ll_ruleset_attr { uint64_t handled_access_fs, handled_access_net, scoped; };
struct ll_path_beneath_attr { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed));
struct ll_net_port_attr { uint64_t allowed_access, port; };

void landlock_prepare(const struct corral_plan *p, struct landlock_state *ll) {
    ll->ruleset = -1;
    ll->nexec = 0;
    if (!p->landlock) return;
    // The full struct: a kernel with a shorter one accepts it as long as the fields it lacks are zero, and the
    // planner masked every field to the kernel's ABI.
    struct ll_ruleset_attr attr = { p->landlock_fs, p->landlock_net, p->landlock_scoped };
    int rs = (int)RSYS(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (rs < 0) child_fail(p, CORRAL_STAGE_LANDLOCK, rs, CORRAL_LANDLOCK_RULESET, "landlock_create_ruleset", NULL);
    int root = (int)RSYS(SYS_openat, AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) child_fail(p, CORRAL_STAGE_LANDLOCK, root, CORRAL_LANDLOCK_RULESET, "open /", NULL);
    for (int i = 0; i < p->nlandlock_paths && i < CORRAL_LANDLOCK_MAX_PATHS; i++) {
        const struct corral_landlock_path *r = &p->landlock_paths[i];
        // Symlinks are followed inside the container's root (as the container's process would see the path), never
        // out of it, and no magic link (/proc/self/root) is followed.
        int fd = resolve_in_root(root, r->path, O_PATH);
        if (fd < 0) child_fail(p, CORRAL_STAGE_LANDLOCK, fd, i, "open ", r->path);
        struct stat st;
        if (RSYS(SYS_fstat, fd, &st) < 0) child_fail(p, CORRAL_STAGE_LANDLOCK, errno, i, "stat ", r->path);
        uint64_t access = r->access;
        if (!S_ISDIR(st.st_mode)) access &= LL_FS_FILE_RIGHTS;
        struct ll_path_beneath_attr rule = { .allowed_access = access, .parent_fd = fd };
        long a = RSYS(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &rule, 0);
        if (a < 0) child_fail(p, CORRAL_STAGE_LANDLOCK, (int)a, i, "landlock_add_rule ", r->path);
        if ((access & LL_FS_EXECUTE) && ll->nexec < CORRAL_LANDLOCK_MAX_PATHS) {
            ll->exec[ll->nexec].dev = (uint64_t)st.st_dev;
            ll->exec[ll->nexec].ino = (uint64_t)st.st_ino;
            ll->nexec++;
        }
        x_close(fd);
    }
    x_close(root);
    for (int i = 0; i < p->nlandlock_ports; i++) {
        struct ll_net_port_attr rule = { .allowed_access = p->landlock_ports[i].access, .port = p->landlock_ports[i].port };
        long a = RSYS(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &rule, 0);
        if (a < 0) {
            char num[24];
            c_utoa(p->landlock_ports[i].port, num);
            child_fail(p, CORRAL_STAGE_LANDLOCK, (int)a, CORRAL_LANDLOCK_PORT, num, NULL);
        }
    }
    ll->ruleset = rs;
}

/// 1 if dev/ino is the object of a rule that grants execute.
static int ll_is_exec_rule(const struct landlock_state *ll, const struct stat *st) {
    for (int i = 0; i < ll->nexec; i++)
        if (ll->exec[i].dev == (uint64_t)st->st_dev && ll->exec[i].ino == (uint64_t)st->st_ino) return 1;
    return 0;
}

/// Resolves `path` (absolute, or relative to the working directory) up to its last component, following a symlink
/// there as execve would, until it names something that is not a symlink: returns an O_PATH fd of the directory
/// that really holds it and its name in name[256], or -errno. Intermediate symlinks need no care: the directory
/// fd is the real directory, and ".." from it walks the real hierarchy, which is what Landlock checks.
static int ll_resolve_last(const char *path, char *name) {
    char cur[CORRAL_PATH_MAX];
    c_strlcpy(cur, path, sizeof cur);
    int base = AT_FDCWD;
    for (int depth = 0; depth < 40; depth++) {
        size_t n = c_strlen(cur);
        while (n > 1 && cur[n - 1] == '/') cur[--n] = 0;
        char *slash = cur + n;
        while (slash > cur && *slash != '/') slash--;
        const char *last = *slash == '/' ? slash + 1 : cur;
        if (c_strlen(last) >= 256) { if (base != AT_FDCWD) x_close(base); return -ENAMETOOLONG; }
        c_strlcpy(name, last, 256);
        const char *dirpart = ".";
        if (*slash == '/') { if (slash == cur) dirpart = "/"; else { *slash = 0; dirpart = cur; } }
        int dir = (int)RSYS(SYS_openat, base, dirpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (base != AT_FDCWD) x_close(base);
        if (dir < 0) return dir;
        char link[CORRAL_PATH_MAX];
        long l = RSYS(SYS_readlinkat, dir, name, link, sizeof link - 1);
        if (l < 0) return dir;   // not a symlink (or missing: the caller's stat says so)
        link[l] = 0;
        c_strlcpy(cur, link, sizeof cur);
        if (link[0] == '/') { x_close(dir); base = AT_FDCWD; } else base = dir;
    }
    if (base != AT_FDCWD) x_close(base);
    return -ELOOP;
}

/// 1 when the ruleset lets the file `name` in `dir` be executed: a rule on the file itself or on a directory it is
/// beneath (its directory, and every parent up to the root, mount points crossed as Landlock crosses them).
static int ll_may_execute(const struct landlock_state *ll, int dir, const char *name) {
    struct stat st;
    if (RSYS(SYS_newfstatat, dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -1;
    if (ll_is_exec_rule(ll, &st)) return 1;
    int d = (int)RSYS(SYS_openat, dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int level = 0; d >= 0 && level < 1024; level++) {
        struct stat ds, us;
        if (RSYS(SYS_fstat, d, &ds) < 0) break;
        if (ll_is_exec_rule(ll, &ds)) { x_close(d); return 1; }
        int up = (int)RSYS(SYS_openat, d, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        x_close(d);
        d = up;
        if (up < 0 || RSYS(SYS_fstat, up, &us) < 0) break;
        // ".." of the root is the root: every ancestor was looked at.
        if (us.st_dev == ds.st_dev && us.st_ino == ds.st_ino) { x_close(up); return 0; }
    }
    x_close(d);
    return -1;   // the walk failed on the way: unknown, left to execve
}

/// The interpreter execve loads for the open file `fd`: the "#!" line's program, or an ELF's PT_INTERP. Fills
/// out[cap]; 1 when there is one, 0 when not (a static ELF, anything else).
static int ll_interpreter(int fd, char *out, size_t cap) {
    unsigned char buf[256];
    long n = RSYS(SYS_pread64, fd, buf, sizeof buf - 1, 0);
    if (n < 4) return 0;
    if (buf[0] == '#' && buf[1] == '!') {
        buf[n] = 0;
        char *s = (char *)buf + 2;
        while (*s == ' ' || *s == '\t') s++;
        char *e = s;
        while (*e && *e != ' ' && *e != '\t' && *e != '\n') e++;
        *e = 0;
        if (!*s) return 0;
        c_strlcpy(out, s, cap);
        return 1;
    }
    if (memcmp(buf, ELFMAG, SELFMAG) != 0 || n < (long)sizeof(Elf32_Ehdr)) return 0;
    uint64_t phoff, off = 0, size = 0;
    unsigned phnum, phentsize;
    int is64 = buf[EI_CLASS] == ELFCLASS64;
    if (is64) {
        if (n < (long)sizeof(Elf64_Ehdr)) return 0;
        Elf64_Ehdr eh; memcpy(&eh, buf, sizeof eh);
        phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize;
        if (phentsize != sizeof(Elf64_Phdr)) return 0;
    } else {
        Elf32_Ehdr eh; memcpy(&eh, buf, sizeof eh);
        phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize;
        if (phentsize != sizeof(Elf32_Phdr)) return 0;
    }
    for (unsigned i = 0; i < phnum && i < 256; i++) {
        unsigned char ph[sizeof(Elf64_Phdr)];
        if (RSYS(SYS_pread64, fd, ph, phentsize, phoff + (uint64_t)i * phentsize) != (long)phentsize) return 0;
        uint32_t type;
        memcpy(&type, ph, sizeof type);
        if (type != PT_INTERP) continue;
        if (is64) { Elf64_Phdr h; memcpy(&h, ph, sizeof h); off = h.p_offset; size = h.p_filesz; }
        else { Elf32_Phdr h; memcpy(&h, ph, sizeof h); off = h.p_offset; size = h.p_filesz; }
        if (size < 2 || size > cap) return 0;
        if (RSYS(SYS_pread64, fd, out, size, off) != (long)size) return 0;
        out[size - 1] = 0;
        return 1;
    }
    return 0;
}

/// Checks `path`, then its interpreter (and a "#!" interpreter's own, up to execve's depth). What cannot be
/// resolved is left to execve to report as it always does.
static void ll_check(const struct corral_plan *p, const struct landlock_state *ll, const char *path, int depth) {
    char name[256];
    int dir = ll_resolve_last(path, name);
    if (dir < 0) return;
    int ok = ll_may_execute(ll, dir, name);
    if (ok == 0)
        child_fail(p, CORRAL_STAGE_LANDLOCK, EACCES, depth ? CORRAL_LANDLOCK_INTERPRETER : CORRAL_LANDLOCK_PROGRAM, path, NULL);
    int fd = ok > 0 ? (int)RSYS(SYS_openat, dir, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
    x_close(dir);
    if (fd < 0) return;
    char interp[CORRAL_PATH_MAX];
    int has = ll_interpreter(fd, interp, sizeof interp);
    x_close(fd);
    if (has && depth < 4) ll_check(p, ll, interp, depth + 1);
}

void landlock_check_program(const struct corral_plan *p, const struct landlock_state *ll, const char *exe) {
    if (ll->ruleset < 0 || !(p->landlock_fs & LL_FS_EXECUTE)) return;
    ll_check(p, ll, exe, 0);
}

void landlock_probe(const struct corral_plan *p, const struct landlock_state *ll) {
    if (ll->ruleset < 0) return;
    // fd -1 without flags gets past the no_new_privs check to the fd lookup: EBADF is the only answer of a kernel
    // that would take the real call; a seccomp profile that blocks the syscall answers with its own errno.
    long r = RSYS(SYS_landlock_restrict_self, -1, 0);
    if (r != -EBADF) child_fail(p, CORRAL_STAGE_LANDLOCK, r < 0 ? (int)r : EINVAL, CORRAL_LANDLOCK_RESTRICT, "landlock_restrict_self", NULL);
}

int landlock_enforce(struct landlock_state *ll) {
    if (ll->ruleset < 0) return 0;
    long r = RSYS(SYS_landlock_restrict_self, ll->ruleset, 0);
    x_close(ll->ruleset);
    ll->ruleset = -1;
    return r < 0 ? (int)r : 0;
}
