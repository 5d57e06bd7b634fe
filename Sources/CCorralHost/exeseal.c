// CVE-2019-5736: a process that starts container processes must not run from a writable view of its binary.
// The cloned child shares our executable; a sibling in the container with CAP_SYS_PTRACE could hold
// /proc/<pid>/exe and write through it once no runtime is running. We re-exec once from a read-only detached
// mount of the same file (crun's approach): the same inode and page cache, so it costs one execve of a static
// binary, and /proc/<pid>/exe then leads to a read-only mount (EROFS) instead of the host file's own mount.
#include "host.h"
#include "corral_exeseal.h"

#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

extern char **environ;

/// Defined only by the corral executable (main.swift, @_cdecl): test binaries that link this library must not
/// re-exec themselves at start-up.
extern void corral_seal_at_startup(void) __attribute__((weak));

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

static int saved_argc;
static char **saved_argv;

int corral_argc(void) { return saved_argc; }
char **corral_argv(void) { return saved_argv; }

const char *corral_early_verb(int argc, char **argv) {
    static const char *const valued[] = {"root", "log", "log-format", "rootless", "criu", "policy"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) return a;
        if (strcmp(a, "--") == 0) return i + 1 < argc ? argv[i + 1] : NULL;
        const char *name = a + (a[1] == '-' ? 2 : 1);
        if (strchr(name, '=')) continue;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            if (strcmp(name, valued[k]) == 0) { i++; break; }
    }
    return NULL;
}

// create, run and exec re-exec from the read-only view before the Swift runtime starts (constructor priority 101
// runs ahead of the runtime's own; glibc passes argc/argv to init_array entries), so the first image costs an
// execve and not also a Swift start-up and an argument parse. Any failure is left to Corral.main, which seals again
// and reports the error with the logger.
__attribute__((constructor(101))) static void seal_at_startup(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
    if (!corral_seal_at_startup) return;
    const char *verb = corral_early_verb(argc, argv);
    if (verb && (strcmp(verb, "create") == 0 || strcmp(verb, "run") == 0 || strcmp(verb, "exec") == 0))
        (void)corral_reexec_readonly(argv);
}
