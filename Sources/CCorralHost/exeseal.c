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

static int saved_argc;
static char **saved_argv;

int corral_argc(void) { return saved_argc; }
char **corral_argv(void) { return saved_argv; }

/// The standard library's CommandLine asks the runtime for argv through this function. The runtime's own
/// definition comes with a global constructor that, in every Swift process on Linux, opens /proc/self/maps and
/// sscanf()s it line by line to find the initial stack and walk back from environ to argv (stdio, the scanf engine
/// and a /proc read before main). Defined here, the linker never pulls that object out of libswiftCore.a: argv is
/// the one glibc handed our constructor below, which runs before any Swift code.
__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = saved_argc;
    return saved_argv;
}

/// strcmp without libc: corral_early_verb also runs at the ELF entry point, before glibc has applied the ifunc
/// relocations that select its string functions and before TLS exists (no stack protector either).
__attribute__((no_stack_protector)) static int early_streq(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

__attribute__((no_stack_protector)) const char *corral_early_verb(int argc, char **argv) {
    // A table of arrays, not of pointers: nothing here may need a relocation or a libc call.
    static const char valued[][16] = {"root", "log", "log-format", "rootless", "criu", "policy"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) return a;
        if (early_streq(a, "--")) return i + 1 < argc ? argv[i + 1] : NULL;
        const char *name = a + (a[1] == '-' ? 2 : 1);
        int has_value = 0;
        for (const char *c = name; *c; c++) if (*c == '=') { has_value = 1; break; }
        if (has_value) continue;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            if (early_streq(name, valued[k])) { i++; break; }
    }
    return NULL;
}

__attribute__((no_stack_protector)) static int early_sealed_verb(int argc, char **argv) {
    const char *verb = corral_early_verb(argc, argv);
    return verb && (early_streq(verb, "create") || early_streq(verb, "run") || early_streq(verb, "exec"));
}

// The seal at the ELF entry point (the executable is linked with -e corral_entry by scripts/build): create, run and
// exec re-exec from the read-only view before glibc's own start-up, which in a VM costs ~0.3 ms (its CPU feature
// probing is ~90 cpuid instructions, each a trap to the hypervisor) and would otherwise run twice. Only raw
// syscalls here: no TLS, no errno, no ifunc'd libc function exists yet. Any failure falls through to glibc's
// _start, and the constructor below (then Corral.main) seals as before and reports what went wrong.
#if defined(__x86_64__)
__attribute__((no_stack_protector)) static long early_sys(long n, long a, long b, long c, long d, long e) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
    return ret;
}
// At entry %rsp points at argc and is 16-byte aligned; %rdx is the (null) function _start registers with atexit.
// In a section of its own, so scripts/build.d/corral.order can place it with the rest of the start-up code.
__asm__(".pushsection .text.corral_entry,\"ax\",@progbits\n"
        ".globl corral_entry\n"
        ".type corral_entry,@function\n"
        "corral_entry:\n"
        "    mov %rsp, %rdi\n"
        "    call corral_early_seal\n"
        "    xor %edx, %edx\n"
        "    jmp _start\n"
        ".size corral_entry, .-corral_entry\n"
        ".popsection\n");
#define CORRAL_EARLY_ENTRY 1
#elif defined(__aarch64__)
__attribute__((no_stack_protector)) static long early_sys(long n, long a, long b, long c, long d, long e) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
// At entry sp points at argc; x0 is the (null) function _start registers with atexit.
__asm__(".pushsection .text.corral_entry,\"ax\",%progbits\n"
        ".globl corral_entry\n"
        ".type corral_entry,%function\n"
        "corral_entry:\n"
        "    mov x0, sp\n"
        "    bl corral_early_seal\n"
        "    mov x0, #0\n"
        "    b _start\n"
        ".size corral_entry, .-corral_entry\n"
        ".popsection\n");
#define CORRAL_EARLY_ENTRY 1

#else
/// Other architectures have no early entry: this only runs after glibc's start-up, where syscall() is safe.
static long early_sys(long n, long a, long b, long c, long d, long e) {
    long r = syscall(n, a, b, c, d, e);
    return r < 0 ? -errno : r;
}
#endif

/// 1 once /proc/self/exe was seen on a read-only mount: the entry point's check then answers the constructor's
/// and Corral.main's, and a sealed image asks the kernel once.
static int exe_readonly_seen;

/// The one re-exec from a read-only view of the binary, on raw syscalls so the entry point can use it too.
__attribute__((no_stack_protector)) static int reexec_from_readonly_view(char **argv, char **envp) {
    if (exe_readonly_seen) return 0;
    struct statfs sfs;
    long r = early_sys(SYS_statfs, (long)"/proc/self/exe", (long)&sfs, 0, 0, 0);
    if (r < 0) return (int)r;
    if (sfs.f_flags & ST_RDONLY) { exe_readonly_seen = 1; return 0; }   // re-exec'd, or installed read-only
    long fd = early_sys(SYS_open_tree, AT_FDCWD, (long)"/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 0, 0);
    if (fd < 0) return (int)fd;
    struct mount_attr attr;
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.attr_clr = 0;
    attr.propagation = 0;
    attr.userns_fd = 0;
    r = early_sys(SYS_mount_setattr, fd, (long)"", AT_EMPTY_PATH, (long)&attr, sizeof attr);
    if (r == 0) r = early_sys(SYS_execveat, fd, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH);
    early_sys(SYS_close, fd, 0, 0, 0, 0);
    return (int)r;
}

int corral_reexec_readonly(char *const argv[]) { return reexec_from_readonly_view((char **)argv, environ); }

#ifdef CORRAL_EARLY_ENTRY
__attribute__((used, no_stack_protector)) void corral_early_seal(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    if (early_sealed_verb(argc, argv)) (void)reexec_from_readonly_view(argv, argv + argc + 1);
}
#endif

// The fallback when the entry point did not seal (a build without -e corral_entry, another architecture, a failed
// syscall): re-exec before the Swift runtime starts (constructor priority 101 runs ahead of the runtime's own; glibc
// passes argc/argv to init_array entries), so the first image costs glibc's start-up but not also Swift's and an
// argument parse. It also saves argc/argv. Any failure is left to Corral.main, which seals again and reports the
// error with the logger.
__attribute__((constructor(101))) static void seal_at_startup(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
    if (!corral_seal_at_startup) return;
    if (early_sealed_verb(argc, argv)) (void)corral_reexec_readonly(argv);
}
