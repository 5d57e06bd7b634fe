// stepcov OUT CMD...: runs CMD single-stepped under ptrace, through its execs but not into the children it
// clone()s, and writes to OUT every distinct 16-byte code granule it executed (hex address, one per line, in
// order of first execution). CMD's stdout and stderr go to OUT.log. Used by scripts/link-order; needs a
// non-PIE binary (corral's static build), whose addresses are the same in every run and after its re-exec.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define LO 0x200000UL
#define HI 0x4000000UL
static unsigned char seen[(HI - LO) >> 4];

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: stepcov OUT CMD...\n"); return 2; }
    FILE *out = fopen(argv[1], "w");
    char log[4096];
    snprintf(log, sizeof log, "%s.log", argv[1]);
    if (!out) { perror(argv[1]); return 1; }
    pid_t p = fork();
    if (p == 0) {
        int n = open("/dev/null", O_RDWR), o = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(n, 0); dup2(o, 1); dup2(o, 2);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    ptrace(PTRACE_SETOPTIONS, p, 0, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
    long steps = 0, granules = 0;
    int sig = 0;
    for (;;) {
        if (ptrace(PTRACE_SINGLESTEP, p, 0, sig) < 0) break;
        sig = 0;
        if (waitpid(p, &st, 0) < 0 || WIFEXITED(st) || WIFSIGNALED(st)) break;
        if (WSTOPSIG(st) != SIGTRAP) { sig = WSTOPSIG(st); continue; }   // deliver the child's own signals
        steps++;
        unsigned long rip = ptrace(PTRACE_PEEKUSER, p, offsetof(struct user_regs_struct, rip), 0);
        if (rip >= LO && rip < HI && !seen[(rip - LO) >> 4]) {
            seen[(rip - LO) >> 4] = 1;
            granules++;
            fprintf(out, "%lx\n", rip);
        }
    }
    fclose(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "stepcov: %s did not exit 0 (status %#x), see %s\n", argv[2], st, log);
        return 1;
    }
    fprintf(stderr, "stepcov: %ld steps, %ld granules\n", steps, granules);
    return 0;
}
