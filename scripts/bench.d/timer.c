/* benchtimer: times the commands of a runc-compatible runtime for scripts/bench, in-process.
 *
 * Compiled by scripts/bench with gcc into its temporary directory; not part of corral.
 *
 * Why C and not Python's subprocess: every command is started with posix_spawn (glibc's is clone(CLONE_VM |
 * CLONE_VFORK), so nothing of this small process is copied) and reaped with wait4, and the clock
 * (CLOCK_MONOTONIC) is read right before the spawn and right after the reap. The overhead that lands inside a
 * measurement is a few tens of µs and the same for every runtime; a Python parent adds several hundred µs of
 * fork/exec bookkeeping per call and would flatten the ratios. wait4 also gives ru_maxrss, which for a runtime
 * includes the descendants it waited for (runc's `runc init` stages), i.e. "the largest process waited for".
 *
 * The timer makes itself a child subreaper, so the container init that `create` leaves behind is reparented
 * here when the runtime exits; "wait" is then a plain waitpid on the pid from --pid-file, with no polling.
 *
 * usage: benchtimer MODE N RUNTIME ROOT BUNDLEDIR ID ERRFILE
 *   run   RUNTIME run --bundle BUNDLEDIR/s0 ID                       -> ok run=NS run_rss=KB
 *   life  create (--pid-file), start, wait for the init, delete      -> ok create= start= wait= delete= (ns)
 *                                                                       create_rss=KB (ru_maxrss) init_rss=KB (VmRSS)
 *   state create; timed `state`; delete --force                      -> ok state=NS
 *   kill  create + start on BUNDLEDIR/sleep; timed `kill ID KILL` + `delete --force ID`  -> ok kill=NS
 *   exec  create + start on BUNDLEDIR/sleep; timed `exec ID /bin/true` with /dev/null stdio, then timed
 *         `exec -t ID /bin/true` with a new pty as stdin and stdout (an interactive caller's terminal: runc and
 *         crun relay a foreground -t exec through the terminal they are given); delete --force
 *                                                                    -> ok exec=NS exect=NS
 *   scale N detached containers: create + start on BUNDLEDIR/k<k> (own cgroupsPath each), ids ID-k; with all N
 *         running: timed `list`, timed `state ID-<N/2>`, memory; then `delete --force` of each
 *         -> ok up=NS (create+start of all N) list=NS state=NS down=NS (all deletes) kmem=KB (growth of Slab +
 *            KernelStack + PageTables + Percpu in /proc/meminfo over the N starts, host-wide) priv=KB (median
 *            private memory of an init: smaps_rollup Private_Clean + Private_Dirty) memcg=KB (median
 *            memory.usage_in_bytes of the containers' v1 memory cgroups, $BENCH_MEMCG_PREFIX<k>; -1 without)
 *   seq   N lifecycles one after another on BUNDLEDIR/s0, ids ID-k   -> ok total=NS
 *   par   N lifecycles at once (one forked subreaper each), slot k on BUNDLEDIR/s<k>  -> ok total=NS
 * With $BENCH_WARM_PROCS set, each command is preceded (untimed) by a no-op cgroup attach: see warm_attach().
 * Output: one line on stdout, "ok key=value ..." or "err step=STEP status=... errfile=PATH". Runtime stdin and
 * stdout are /dev/null; stderr goes to ERRFILE (ERRFILE.k for slot k), truncated before each step, so on an error
 * it holds the failing command's message. After a failure the container is removed with `delete --force`.
 * A hung runtime is cut off by alarm(): the timer dies with SIGALRM and scripts/bench reports a timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *rt, *root, *bundledir, *errbase;
static int devnull = -1;
static const char *warm_procs; /* $BENCH_WARM_PROCS: the cgroup.procs file of the timer's own cgroup */
static int warm_each = 1;       /* off in seq/par: there the attaches keep each other warm, as on a busy host */

/* Warms the kernel's cgroup attach lock right before a measured command. Every cgroup.procs write takes
 * cgroup_threadgroup_rwsem for writing (percpu_down_write -> rcu_sync_enter), which waits for a whole RCU grace
 * period (6-15 ms on this VM) unless another attach happened within the last grace period. Back to back, whether
 * a runtime pays it depends on how long ago the previous runtime attached, i.e. on the order. Re-attaching the
 * timer to the cgroup it is already in (no migration, no side effect) puts every runtime in the same warm state;
 * the grace period, if any, is paid here, outside the measurement. */
static void warm_attach(void) {
    if (!warm_procs) return;
    int fd = open(warm_procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)getpid());
    if (write(fd, buf, (size_t)n) < 0) {
        /* best effort: a failed warm-up only makes the next figure colder */
    }
    close(fd);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One slot's file names and the last failure, so `par` children can report on their own. */
struct slot {
    char errfile[4096];
    char pidfile[4096];
    char failstep[32];
    char failstatus[32];
};

static void describe_status(int st, char *out, size_t n) {
    if (WIFEXITED(st))
        snprintf(out, n, "exit:%d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(out, n, "signal:%d", WTERMSIG(st));
    else
        snprintf(out, n, "raw:%d", st);
}

static int stdio_fd = -1; /* stdin and stdout of the next spawn instead of /dev/null (exec -t: a pty) */

/* Spawns argv (stdio: /dev/null or stdio_fd, the same, errfile) and reaps it. Returns 0 when it exited 0. */
static int spawn_wait(struct slot *s, const char *step, char *const argv[], long long *ns, long *maxrss) {
    int errfd = open(s->errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (errfd < 0) {
        snprintf(s->failstep, sizeof s->failstep, "%s", step);
        snprintf(s->failstatus, sizeof s->failstatus, "open-errfile:%d", errno);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int io = stdio_fd >= 0 ? stdio_fd : devnull;
    posix_spawn_file_actions_adddup2(&fa, io, 0);
    posix_spawn_file_actions_adddup2(&fa, io, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);

    pid_t pid;
    int st = 0;
    struct rusage ru;
    if (warm_each) warm_attach();
    long long t0 = now_ns();
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (e == 0) {
        while (wait4(pid, &st, 0, &ru) < 0) {
            if (errno != EINTR) {
                e = errno;
                break;
            }
        }
    }
    long long t1 = now_ns();
    posix_spawn_file_actions_destroy(&fa);
    close(errfd);
    if (e != 0) {
        snprintf(s->failstep, sizeof s->failstep, "%s", step);
        snprintf(s->failstatus, sizeof s->failstatus, "spawn:%d", e);
        return -1;
    }
    if (ns) *ns = t1 - t0;
    if (maxrss) *maxrss = ru.ru_maxrss;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(s->failstep, sizeof s->failstep, "%s", step);
        describe_status(st, s->failstatus, sizeof s->failstatus);
        return -1;
    }
    return 0;
}

static pid_t read_pidfile(const char *path) {
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    long v = strtol(buf, NULL, 10);
    return v > 0 ? (pid_t)v : -1;
}

static long vmrss_kb(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, "\nVmRSS:");
    return p ? strtol(p + 7, NULL, 10) : -1;
}

/* Waits for the container init to exit. It is our child (we are a subreaper) unless the runtime double-forked
 * it somewhere else; then wait through a pidfd. */
static void wait_init(pid_t pid) {
    if (pid <= 0) return;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid) return;
        if (w < 0 && errno == EINTR) continue;
        break;
    }
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) return; /* already gone */
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    close(pfd);
}

static void reap_strays(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* Best-effort removal after a failure: delete --force by id, then make sure the init is gone and reaped. */
static void force_cleanup(struct slot *s, const char *id, pid_t init) {
    char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", (char *)id, NULL};
    struct slot scratch = *s; /* own stderr file: the failing step's message must survive */
    snprintf(scratch.errfile, sizeof scratch.errfile, "%.4000s.cleanup", s->errfile);
    spawn_wait(&scratch, "cleanup", del, NULL, NULL);
    if (init > 0) {
        kill(init, SIGKILL);
        wait_init(init);
    }
    reap_strays();
}

struct life {
    long long create, start, wait, del;
    long create_rss, init_rss;
};

/* create, start, wait for exit, delete: the split lifecycle, each step timed. */
static int lifecycle(struct slot *s, const char *bundle, const char *id, struct life *l, int want_rss) {
    char *create[] = {(char *)rt, "--root", (char *)root, "create", "--bundle", (char *)bundle,
                      "--pid-file", s->pidfile, (char *)id, NULL};
    char *start[] = {(char *)rt, "--root", (char *)root, "start", (char *)id, NULL};
    char *del[] = {(char *)rt, "--root", (char *)root, "delete", (char *)id, NULL};
    unlink(s->pidfile);
    if (spawn_wait(s, "create", create, &l->create, &l->create_rss) != 0) {
        force_cleanup(s, id, read_pidfile(s->pidfile));
        return -1;
    }
    pid_t init = read_pidfile(s->pidfile);
    if (init <= 0) {
        snprintf(s->failstep, sizeof s->failstep, "pidfile");
        snprintf(s->failstatus, sizeof s->failstatus, "unreadable");
        force_cleanup(s, id, -1);
        return -1;
    }
    l->init_rss = want_rss ? vmrss_kb(init) : -1;
    if (spawn_wait(s, "start", start, &l->start, NULL) != 0) {
        force_cleanup(s, id, init);
        return -1;
    }
    long long t0 = now_ns();
    wait_init(init);
    l->wait = now_ns() - t0;
    if (spawn_wait(s, "delete", del, &l->del, NULL) != 0) {
        force_cleanup(s, id, -1);
        return -1;
    }
    return 0;
}

/* Opens a pty pair; the master is drained by the caller. Returns the slave fd (raw mode off, 80x24) or -1. */
static int open_pty(int *master) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) return -1;
    char *name = ptsname(m);
    int sl = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (sl < 0) {
        close(m);
        return -1;
    }
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    ioctl(sl, TIOCSWINSZ, &ws);
    *master = m;
    return sl;
}

static void drain(int fd) {
    char buf[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

static long meminfo_kernel_kb(void) {
    char buf[8192];
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    static const char *keys[] = {"\nSlab:", "\nKernelStack:", "\nPageTables:", "\nPercpu:"};
    long sum = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *p = strstr(buf, keys[i]);
        if (p) sum += strtol(p + strlen(keys[i]), NULL, 10);
    }
    return sum;
}

static long private_kb(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *c = strstr(buf, "\nPrivate_Clean:"), *d = strstr(buf, "\nPrivate_Dirty:");
    if (!c || !d) return -1;
    return strtol(c + 15, NULL, 10) + strtol(d + 15, NULL, 10);
}

static long memcg_kb(int k) {
    const char *prefix = getenv("BENCH_MEMCG_PREFIX");
    if (!prefix || !*prefix) return -1;
    char path[4096], buf[64];
    snprintf(path, sizeof path, "%s%d/memory.usage_in_bytes", prefix, k);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return strtol(buf, NULL, 10) / 1024;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static long median_long(long *v, int n) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (v[i] >= 0) v[m++] = v[i];
    if (m == 0) return -1;
    qsort(v, m, sizeof v[0], cmp_long);
    return v[m / 2];
}

static void report_err(struct slot *s) {
    printf("err step=%s status=%s errfile=%s\n", s->failstep, s->failstatus, s->errfile);
}

static void slot_init(struct slot *s, int k) {
    memset(s, 0, sizeof *s);
    if (k < 0) {
        snprintf(s->errfile, sizeof s->errfile, "%s", errbase);
        snprintf(s->pidfile, sizeof s->pidfile, "%s.pid", errbase);
    } else {
        snprintf(s->errfile, sizeof s->errfile, "%s.%d", errbase, k);
        snprintf(s->pidfile, sizeof s->pidfile, "%s.%d.pid", errbase, k);
    }
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: benchtimer run|life|state|kill|exec|scale|seq|par N RUNTIME ROOT BUNDLEDIR ID ERRFILE\n");
        return 2;
    }
    const char *mode = argv[1];
    int n = atoi(argv[2]);
    rt = argv[3];
    root = argv[4];
    bundledir = argv[5];
    const char *id = argv[6];
    errbase = argv[7];
    if (n < 1) n = 1;
    warm_procs = getenv("BENCH_WARM_PROCS");
    if (warm_procs && !*warm_procs) warm_procs = NULL;

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("benchtimer: setup");
        return 2;
    }
    /* SIGALRM keeps its default action: a hung runtime kills the timer, which scripts/bench reports. */
    alarm(strcmp(mode, "scale") == 0 ? 600 : strcmp(mode, "seq") == 0 || strcmp(mode, "par") == 0 ? 300 : 60);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char bundle[4096];
    struct slot s;
    slot_init(&s, -1);
    int rc = 0;

    if (strcmp(mode, "run") == 0) {
        snprintf(bundle, sizeof bundle, "%s/s0", bundledir);
        char *run[] = {(char *)rt, "--root", (char *)root, "run", "--bundle", bundle, (char *)id, NULL};
        long long ns;
        long rss;
        if (spawn_wait(&s, "run", run, &ns, &rss) != 0) {
            force_cleanup(&s, id, -1);
            report_err(&s);
            rc = 1;
        } else {
            printf("ok run=%lld run_rss=%ld\n", ns, rss);
        }
    } else if (strcmp(mode, "life") == 0) {
        snprintf(bundle, sizeof bundle, "%s/s0", bundledir);
        struct life l;
        if (lifecycle(&s, bundle, id, &l, 1) != 0) {
            report_err(&s);
            rc = 1;
        } else {
            printf("ok create=%lld start=%lld wait=%lld delete=%lld create_rss=%ld init_rss=%ld\n", l.create,
                   l.start, l.wait, l.del, l.create_rss, l.init_rss);
        }
    } else if (strcmp(mode, "state") == 0) {
        snprintf(bundle, sizeof bundle, "%s/s0", bundledir);
        char *create[] = {(char *)rt, "--root", (char *)root, "create", "--bundle", bundle,
                          "--pid-file", s.pidfile, (char *)id, NULL};
        char *state[] = {(char *)rt, "--root", (char *)root, "state", (char *)id, NULL};
        char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", (char *)id, NULL};
        long long ns;
        unlink(s.pidfile);
        if (spawn_wait(&s, "create", create, NULL, NULL) != 0) {
            force_cleanup(&s, id, read_pidfile(s.pidfile));
            report_err(&s);
            rc = 1;
        } else {
            pid_t init = read_pidfile(s.pidfile);
            if (spawn_wait(&s, "state", state, &ns, NULL) != 0) {
                force_cleanup(&s, id, init);
                report_err(&s);
                rc = 1;
            } else if (spawn_wait(&s, "delete-force", del, NULL, NULL) != 0) {
                force_cleanup(&s, id, init);
                report_err(&s);
                rc = 1;
            } else {
                wait_init(init);
                printf("ok state=%lld\n", ns);
            }
        }
    } else if (strcmp(mode, "kill") == 0) {
        snprintf(bundle, sizeof bundle, "%s/sleep", bundledir);
        char *create[] = {(char *)rt, "--root", (char *)root, "create", "--bundle", bundle,
                          "--pid-file", s.pidfile, (char *)id, NULL};
        char *start[] = {(char *)rt, "--root", (char *)root, "start", (char *)id, NULL};
        char *killv[] = {(char *)rt, "--root", (char *)root, "kill", (char *)id, "KILL", NULL};
        char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", (char *)id, NULL};
        long long k1, k2;
        unlink(s.pidfile);
        if (spawn_wait(&s, "create", create, NULL, NULL) != 0) {
            force_cleanup(&s, id, read_pidfile(s.pidfile));
            report_err(&s);
            rc = 1;
        } else {
            pid_t init = read_pidfile(s.pidfile);
            if (spawn_wait(&s, "start", start, NULL, NULL) != 0 || spawn_wait(&s, "kill", killv, &k1, NULL) != 0 ||
                spawn_wait(&s, "delete-force", del, &k2, NULL) != 0) {
                force_cleanup(&s, id, init);
                report_err(&s);
                rc = 1;
            } else {
                wait_init(init);
                printf("ok kill=%lld\n", k1 + k2);
            }
        }
    } else if (strcmp(mode, "exec") == 0) {
        snprintf(bundle, sizeof bundle, "%s/sleep", bundledir);
        char *create[] = {(char *)rt, "--root", (char *)root, "create", "--bundle", bundle,
                          "--pid-file", s.pidfile, (char *)id, NULL};
        char *start[] = {(char *)rt, "--root", (char *)root, "start", (char *)id, NULL};
        char *ex[] = {(char *)rt, "--root", (char *)root, "exec", (char *)id, "/bin/true", NULL};
        char *ext[] = {(char *)rt, "--root", (char *)root, "exec", "-t", (char *)id, "/bin/true", NULL};
        char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", (char *)id, NULL};
        long long e1 = 0, e2 = 0;
        unlink(s.pidfile);
        if (spawn_wait(&s, "create", create, NULL, NULL) != 0) {
            force_cleanup(&s, id, read_pidfile(s.pidfile));
            report_err(&s);
            rc = 1;
        } else {
            pid_t init = read_pidfile(s.pidfile);
            int master = -1, slave = open_pty(&master);
            int ok = spawn_wait(&s, "start", start, NULL, NULL) == 0 && spawn_wait(&s, "exec", ex, &e1, NULL) == 0;
            if (ok && slave < 0) {
                snprintf(s.failstep, sizeof s.failstep, "exec-t");
                snprintf(s.failstatus, sizeof s.failstatus, "openpty:%d", errno);
                ok = 0;
            }
            if (ok) {
                stdio_fd = slave;
                ok = spawn_wait(&s, "exec-t", ext, &e2, NULL) == 0;
                stdio_fd = -1;
                drain(master);
            }
            if (slave >= 0) close(slave);
            if (master >= 0) close(master);
            if (!ok || spawn_wait(&s, "delete-force", del, NULL, NULL) != 0) {
                force_cleanup(&s, id, init);
                report_err(&s);
                rc = 1;
            } else {
                wait_init(init);
                printf("ok exec=%lld exect=%lld\n", e1, e2);
            }
        }
    } else if (strcmp(mode, "scale") == 0) {
        pid_t *inits = calloc((size_t)n, sizeof *inits);
        long *priv = calloc((size_t)n, sizeof *priv), *cg = calloc((size_t)n, sizeof *cg);
        char cid[256], mid[256];
        long long up = 0, down = 0, tl = 0, ts = 0, t;
        int made = 0, failed = 0;
        long k0 = meminfo_kernel_kb();
        for (int k = 0; k < n && !failed; k++) {
            snprintf(bundle, sizeof bundle, "%s/k%d", bundledir, k);
            snprintf(cid, sizeof cid, "%s-%d", id, k);
            char *create[] = {(char *)rt, "--root", (char *)root, "create", "--bundle", bundle,
                              "--pid-file", s.pidfile, cid, NULL};
            char *start[] = {(char *)rt, "--root", (char *)root, "start", cid, NULL};
            unlink(s.pidfile);
            if (spawn_wait(&s, "create", create, &t, NULL) != 0) {
                struct slot ds = s;
                force_cleanup(&ds, cid, read_pidfile(s.pidfile));
                failed = 1;
                break;
            }
            up += t;
            inits[k] = read_pidfile(s.pidfile);
            made = k + 1;
            if (spawn_wait(&s, "start", start, &t, NULL) != 0) {
                failed = 1;
                break;
            }
            up += t;
        }
        long k1 = meminfo_kernel_kb();
        if (!failed) {
            char *list[] = {(char *)rt, "--root", (char *)root, "list", NULL};
            snprintf(mid, sizeof mid, "%s-%d", id, n / 2);
            char *state[] = {(char *)rt, "--root", (char *)root, "state", mid, NULL};
            if (spawn_wait(&s, "list", list, &tl, NULL) != 0 || spawn_wait(&s, "state", state, &ts, NULL) != 0)
                failed = 1;
            for (int k = 0; k < n; k++) {
                priv[k] = private_kb(inits[k]);
                cg[k] = memcg_kb(k);
            }
        }
        for (int k = 0; k < made; k++) {
            snprintf(cid, sizeof cid, "%s-%d", id, k);
            char *del[] = {(char *)rt, "--root", (char *)root, "delete", "--force", cid, NULL};
            struct slot ds = s;
            if (spawn_wait(failed ? &ds : &s, "delete-force", del, &t, NULL) != 0) {
                if (!failed) failed = 1;
                force_cleanup(&ds, cid, inits[k]);
            } else {
                down += t;
                wait_init(inits[k]);
            }
        }
        reap_strays();
        if (failed) {
            report_err(&s);
            rc = 1;
        } else {
            printf("ok up=%lld list=%lld state=%lld down=%lld kmem=%ld priv=%ld memcg=%ld\n", up, tl, ts, down,
                   k0 >= 0 && k1 >= 0 ? (k1 - k0) / n : -1, median_long(priv, n), median_long(cg, n));
        }
        free(inits);
        free(priv);
        free(cg);
    } else if (strcmp(mode, "seq") == 0) {
        snprintf(bundle, sizeof bundle, "%s/s0", bundledir);
        warm_each = 0;
        warm_attach();
        char cid[256];
        struct life l;
        long long t0 = now_ns();
        for (int k = 0; k < n; k++) {
            snprintf(cid, sizeof cid, "%s-%d", id, k);
            if (lifecycle(&s, bundle, cid, &l, 0) != 0) {
                snprintf(s.failstep + strlen(s.failstep), sizeof s.failstep - strlen(s.failstep), "#%d", k);
                report_err(&s);
                rc = 1;
                break;
            }
        }
        if (rc == 0) printf("ok total=%lld\n", now_ns() - t0);
    } else if (strcmp(mode, "par") == 0) {
        pid_t kids[256];
        if (n > 256) n = 256;
        warm_each = 0;
        warm_attach();
        long long t0 = now_ns();
        for (int k = 0; k < n; k++) {
            pid_t p = fork();
            if (p == 0) {
                /* Each slot is its own subreaper, so its init comes back to it, not to a sibling. */
                prctl(PR_SET_CHILD_SUBREAPER, 1);
                struct slot cs;
                struct life l;
                char cid[256];
                slot_init(&cs, k);
                snprintf(bundle, sizeof bundle, "%s/s%d", bundledir, k);
                snprintf(cid, sizeof cid, "%s-%d", id, k);
                int r = lifecycle(&cs, bundle, cid, &l, 0);
                if (r != 0) report_err(&cs);
                fflush(stdout);
                _exit(r == 0 ? 0 : 1);
            }
            kids[k] = p;
        }
        int failed = 0;
        for (int k = 0; k < n; k++) {
            int st;
            if (kids[k] < 0) {
                failed++;
                continue;
            }
            while (waitpid(kids[k], &st, 0) < 0 && errno == EINTR) {
            }
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
        }
        long long t1 = now_ns();
        if (failed) {
            rc = 1; /* the failing children printed their own err lines */
        } else {
            printf("ok total=%lld\n", t1 - t0);
        }
    } else {
        fprintf(stderr, "benchtimer: unknown mode %s\n", mode);
        return 2;
    }
    reap_strays();
    return rc;
}
