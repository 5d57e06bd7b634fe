/* attachprobe: what a cgroup v1 attach costs on this host, and where it waits. Diagnostic, not part of the bench.
 *
 *   gcc -O2 -o /tmp/attachprobe scripts/bench.d/attachprobe.c
 *   /tmp/attachprobe gap HIER REPS MS...   a child moved by another process (its pid into cgroup.procs, as a
 *                                          runtime places its container) MS milliseconds after the previous attach
 *   /tmp/attachprobe self HIER REPS        after 100 ms of quiet: a process moving itself, "0" into `tasks` (one
 *                                          thread, current) vs its pid into cgroup.procs vs "0" into cgroup.procs
 *   /tmp/attachprobe stack HIER            the kernel stack (/proc/PID/stack) of a cold cgroup.procs write
 * HIER is a v1 hierarchy's mount point (e.g. /sys/fs/cgroup/pids); the probe makes and removes two cgroups in it.
 *
 * What it shows on Linux 6.18 (2-core VM): a cgroup.procs write takes the global cgroup_threadgroup_rwsem with
 * percpu_down_write, whose rcu_sync_enter waits a whole RCU grace period (synchronize_rcu) when the rcu_sync is
 * idle, i.e. when no writer released it within roughly the last one or two grace periods (each release queues a
 * callback that returns it to idle a grace period later, re-queued once if another release came meanwhile). A
 * write within ~20 ms of the previous one costs ~0.02 ms; after ~30 ms of quiet it costs 7-20 ms. A thread moving
 * itself ("0" into `tasks`, threadgroup false) takes no threadgroup lock at all (cgroup_procs_write_start:
 * CGRP_ATTACH_LOCK_NONE) and costs ~0.02 ms whatever came before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void sleep_ms(double ms) {
    struct timespec t = {(time_t)(ms / 1000), (long)((ms - (long)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
}

/* Writes `text` to dir/file and returns how long the write took (ns); exits on failure. */
static long long timed_write(const char *dir, const char *file, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(p);
        exit(1);
    }
    long long t0 = now_ns();
    if (write(fd, text, strlen(text)) < 0) {
        perror("write");
        exit(1);
    }
    long long t = now_ns() - t0;
    close(fd);
    return t;
}

static long long move_pid(const char *dir, pid_t pid) {
    char b[32];
    snprintf(b, sizeof b, "%d", (int)pid);
    return timed_write(dir, "cgroup.procs", b);
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *what, long long *v, int n) {
    qsort(v, n, sizeof v[0], cmp);
    printf("%-40s median %7.3f ms  p10 %7.3f  p90 %7.3f  max %7.3f\n", what, v[n / 2] / 1e6, v[n / 10] / 1e6,
           v[n * 9 / 10] / 1e6, v[n - 1] / 1e6);
}

/* A child that times one self-move and sends the duration back. */
static long long self_move(const char *dir, const char *file, int zero) {
    int pfd[2];
    long long t = -1;
    if (pipe(pfd) != 0) exit(1);
    pid_t k = fork();
    if (k == 0) {
        char b[32];
        snprintf(b, sizeof b, "%d", zero ? 0 : (int)getpid());
        long long d = timed_write(dir, file, b);
        if (write(pfd[1], &d, sizeof d) != sizeof d) _exit(1);
        _exit(0);
    }
    if (read(pfd[0], &t, sizeof t) != sizeof t) t = -1;
    close(pfd[0]);
    close(pfd[1]);
    waitpid(k, NULL, 0);
    return t;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: attachprobe gap HIER REPS MS... | self HIER REPS | stack HIER\n");
        return 2;
    }
    const char *mode = argv[1], *hier = argv[2];
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/attachprobe-%d-a", hier, (int)getpid());
    snprintf(b, sizeof b, "%s/attachprobe-%d-b", hier, (int)getpid());
    if (mkdir(a, 0755) != 0 || mkdir(b, 0755) != 0) {
        perror("mkdir");
        return 1;
    }
    pid_t kid = fork();
    if (kid == 0) {
        pause();
        _exit(0);
    }
    int reps = argc > 3 ? atoi(argv[3]) : 0;
    if (reps > 1000) reps = 1000;
    static long long v[1000];
    if (strcmp(mode, "gap") == 0 && reps > 0) {
        for (int i = 4; i < argc; i++) {
            double d = atof(argv[i]);
            for (int r = 0; r < reps; r++) {
                move_pid(r % 2 ? a : b, kid);               // the previous attach
                sleep_ms(d);
                v[r] = move_pid(r % 2 ? b : a, kid);        // the measured one
            }
            char what[64];
            snprintf(what, sizeof what, "cgroup.procs, %g ms after an attach:", d);
            summary(what, v, reps);
        }
    } else if (strcmp(mode, "self") == 0 && reps > 0) {
        static const struct { const char *file; int zero; const char *what; } kinds[] = {
            {"tasks", 1, "self, \"0\" into tasks:"},
            {"cgroup.procs", 0, "self, own pid into cgroup.procs:"},
            {"cgroup.procs", 1, "self, \"0\" into cgroup.procs:"},
        };
        for (int k = 0; k < 3; k++) {
            for (int r = 0; r < reps; r++) {
                sleep_ms(100);
                v[r] = self_move(r % 2 ? a : b, kinds[k].file, kinds[k].zero);
            }
            summary(kinds[k].what, v, reps);
        }
    } else if (strcmp(mode, "stack") == 0) {
        sleep_ms(300);
        pid_t w = fork();
        if (w == 0) {
            move_pid(a, kid);
            _exit(0);
        }
        char path[64], buf[4096], last[4096] = "";
        snprintf(path, sizeof path, "/proc/%d/stack", (int)w);
        for (int i = 0; i < 200000; i++) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) break;
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (n <= 0) continue;
            buf[n] = 0;
            if (strstr(buf, "cgroup") && strcmp(buf, last) != 0) {
                printf("%s", buf);
                strcpy(last, buf);
                break;
            }
        }
        waitpid(w, NULL, 0);
        if (!last[0]) printf("the write did not block long enough to be seen (warm?)\n");
    }
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    rmdir(a);
    rmdir(b);
    return 0;
}
