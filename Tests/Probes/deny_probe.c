// deny_probe: syscalls for seccomp audit mode (SandboxMonitorTests), built static like escape_probe.
//
//   deny_probe calls        one call of each syscall in its table, in order; prints "CALL <name> <errno name>"
//                           for each ("0" when it succeeded), then "END <n>"
//   deny_probe bench N      N getppid calls, best of 5 rounds: "BENCH getppid <ns per call>"
//   deny_probe bench-denied N   the same with acct(NULL), which the tests' profiles deny
//
// The calls get arguments that make them fail harmlessly when a profile lets them through (bad pointers, flags
// nothing accepts), so the probe never changes the container whatever the profile says.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct call { const char *name; long nr; long a0, a1, a2; };

static const struct call calls[] = {
    {"mount", SYS_mount, 0, 0, 0},
    {"umount2", SYS_umount2, 0, 0, 0},
    {"pivot_root", SYS_pivot_root, 0, 0, 0},
    {"swapon", SYS_swapon, 0, 0, 0},
    {"acct", SYS_acct, 0, 0, 0},
    {"chroot", SYS_chroot, 0, 0, 0},
    {"sethostname", SYS_sethostname, 0, -1, 0},
    {"getpid", SYS_getpid, 0, 0, 0},
    {"kexec_load", SYS_kexec_load, 0, 0, 0},
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int bench(long n, int denied) {
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++) {
            if (denied) syscall(SYS_acct, NULL); else syscall(SYS_getppid);
        }
        double t = (now() - t0) / n * 1e9;
        if (t < best) best = t;
    }
    printf("BENCH %s %.1f\n", denied ? "acct" : "getppid", best);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "bench") == 0) return bench(atol(argv[2]), 0);
    if (argc > 2 && strcmp(argv[1], "bench-denied") == 0) return bench(atol(argv[2]), 1);
    int n = 0;
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
        long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, 0, 0, 0);
        const char *e = r < 0 ? strerrorname_np(errno) : "0";
        printf("CALL %s %s\n", calls[i].name, e ? e : "?");
        n++;
    }
    printf("END %d\n", n);
    return 0;
}
