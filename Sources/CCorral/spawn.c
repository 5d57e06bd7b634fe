// clone3() of the container process and everything it does up to execve(): namespaces, id maps handshake,
// the optional second fork (joined/new pid or time namespace), then rootfs, process attributes, parking on
// exec.fifo and execve. The child never returns into Swift.
#include "internal.h"

#include <linux/sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <sys/statfs.h>
#include <linux/magic.h>

sigset_t corral_saved_sigmask;

/// exec: the parent's fd of its own pid namespace while it is in the container's for its child (corral_spawn). The
/// child closes it first thing: its number may fall in a gap of the --preserve-fds range, which is kept open.
static int spawn_own_pidns = -1;

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000   // the kernel's flag; glibc keeps it out of the public headers
#endif

/// Asks the parent to write our uid/gid maps and waits for it, then becomes root of the new user namespace.
static void wait_for_maps(const struct corral_plan *p) {
    child_exchange(p, CORRAL_MSG_MAPS_PLEASE, -1, CORRAL_MSG_MAPS_DONE, CORRAL_STAGE_USERMAP, "waiting for id maps");
}

/// Becomes uid/gid 0 of the (new or joined) user namespace when 0 is mapped there; EINVAL means it is not.
static void become_ns_root(const struct corral_plan *p) {
    long r = RSYS(SYS_setresgid, 0, 0, 0);
    if (r < 0 && r != -EINVAL) child_fail(p, CORRAL_STAGE_USERMAP, (int)r, -1, "setresgid(0) in the user namespace", NULL);
    r = RSYS(SYS_setresuid, 0, 0, 0);
    if (r < 0 && r != -EINVAL) child_fail(p, CORRAL_STAGE_USERMAP, (int)r, -1, "setresuid(0) in the user namespace", NULL);
}

/// Mounts are done and the old root is still reachable: the parent runs prestart, createRuntime and
/// createContainer hooks now (runc's "procHooks" point). A failed hook makes the parent kill us.
static void wait_for_hooks(const struct corral_plan *p) {
    // A failed hook makes the parent kill us; any other answer is a protocol error.
    child_exchange(p, CORRAL_MSG_HOOKS, -1, CORRAL_MSG_HOOKS_DONE, CORRAL_STAGE_SETUP, "waiting for the create-time hooks");
}

void reset_signals(void) {
    struct sigaction_k { void *handler; unsigned long flags; void *restorer; uint64_t mask; } sa;
    memset(&sa, 0, sizeof sa);            // SIG_DFL
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, &sa, NULL, 8);
    }
}

/// The new time namespace's offsets can only be written before any process is in it, by someone with CAP_SYS_TIME
/// over it who may open our /proc files: the parent, as runc's does (ours belong to the host's root while we are
/// non-dumpable, and a new user namespace does not map it).
static void write_timens_offsets(const struct corral_plan *p) {
    child_exchange(p, CORRAL_MSG_TIMENS_PLEASE, -1, CORRAL_MSG_TIMENS_DONE, CORRAL_STAGE_TIMENS, "waiting for the time namespace offsets");
}

/// exec: enters the container's namespaces `flags` at once, through the verified pidfd of its init. The kernel enters
/// them all or none, the user namespace first, so there is no half-joined state to undo. Returns 1 when that
/// included the user namespace.
static int join_by_pidfd(const struct corral_plan *p, uint64_t flags) {
    if (flags) {
        long r = RSYS(SYS_setns, p->join_pidfd, (int)flags);
        if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, -1, "setns into the container's namespaces", NULL);
    }
    x_close(p->join_pidfd);
    return (flags & CLONE_NEWUSER) != 0;
}

/// Joins the namespaces given by path and unshares the new ones, then forks so that joined/new pid and time
/// namespaces apply (they only take effect for children). Returns in the grandchild; the intermediate exits.
static void enter_namespaces_by_fork(const struct corral_plan *p) {
    int joined_user = 0;
    if (p->join_pidfd_flags) joined_user = join_by_pidfd(p, p->join_pidfd_flags);
    for (int i = 0; i < p->njoins; i++) {
        if (p->joins[i].nstype != CLONE_NEWUSER) continue;
        long r = RSYS(SYS_setns, p->joins[i].fd, CLONE_NEWUSER);
        if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, i, "setns user", NULL);
        joined_user = 1;
    }
    if (joined_user) become_ns_root(p);
    for (int i = 0; i < p->njoins; i++) {
        if (p->joins[i].nstype == CLONE_NEWUSER) continue;
        long r = RSYS(SYS_setns, p->joins[i].fd, p->joins[i].nstype);
        if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, i, "setns", NULL);
    }
    for (int i = 0; i < p->njoins; i++) x_close(p->joins[i].fd);  // no namespace fd reaches the container
    uint64_t flags = p->unshare_flags & ~(uint64_t)CLONE_NEWTIME;
    if (flags & CLONE_NEWUSER) {
        long r = RSYS(SYS_unshare, CLONE_NEWUSER);
        if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, -1, "unshare user namespace", NULL);
        wait_for_maps(p);
        become_ns_root(p);
        flags &= ~(uint64_t)CLONE_NEWUSER;
    }
    if (flags) {
        long r = RSYS(SYS_unshare, flags);
        if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, -1, "unshare namespaces", NULL);
    }
    if (p->unshare_flags & CLONE_NEWTIME) {
        long r = RSYS(SYS_unshare, CLONE_NEWTIME);
        if (r < 0) child_fail(p, CORRAL_STAGE_TIMENS, (int)r, -1, "unshare time namespace", NULL);
        if (p->timens_offsets) write_timens_offsets(p);
    }
    // CLONE_PARENT: the init becomes a child of the runtime process itself, which waits for it / hands it to the
    // caller's subreaper exactly as in the single-clone path.
    long pid = RSYS(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)pid, -1, "fork into the namespaces", NULL);
    if (pid > 0) {
        child_tell(p, CORRAL_MSG_PID, (int)pid);
        syscall(SYS_exit_group, 0);
    }
    if (p->pdeathsig) prctl(PR_SET_PDEATHSIG, p->pdeathsig);
}

/// How the parked init reaches its exec fifo: through a verified procfs, as "self/fd/N" (never a directory fd of the
/// state dir, CVE-2024-21626). Normally the container's own /proc; a container without one uses the runtime's,
/// taken before pivot_root.
struct fifo_way {
    int proc;            ///< O_PATH fd of a verified procfs, -1 before it is known
    char name[48];       ///< "self/fd/N" relative to it
};

/// Before pivot_root: the runtime's /proc, for a container that mounts none (its pid namespace does not matter:
/// "self" is this process in any procfs that shows it).
static void take_early_proc(const struct corral_plan *p, struct fifo_way *w) {
    if (p->exec_fifo_fd < 0 || !p->fifo_via_host_proc) return;
    w->proc = (int)RSYS(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statfs sfs;
    if (w->proc < 0 || fstatfs(w->proc, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        child_fail(p, CORRAL_STAGE_FIFO, w->proc < 0 ? w->proc : EINVAL, -1, "exec fifo: the runtime's /proc is not procfs", NULL);
}

static void prepare_fifo_reopen(const struct corral_plan *p, struct fifo_way *w) {
    if (p->exec_fifo_fd < 0) return;
    if (w->proc < 0) w->proc = (int)RSYS(SYS_openat, AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct statfs sfs;
    if (w->proc < 0 || fstatfs(w->proc, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
        child_fail(p, CORRAL_STAGE_FIFO, w->proc < 0 ? w->proc : EINVAL, -1, "exec fifo: /proc in the container is not procfs", NULL);
    char num[24];
    c_utoa((uint64_t)p->exec_fifo_fd, num);
    c_strlcpy(w->name, "self/fd/", sizeof w->name);
    c_strlcat(w->name, num, sizeof w->name);
    struct stat st;
    long r = RSYS(SYS_newfstatat, w->proc, w->name, &st, 0);
    if (r < 0 || !S_ISFIFO(st.st_mode))
        child_fail(p, CORRAL_STAGE_FIFO, r < 0 ? (int)r : EINVAL, -1, "exec fifo: cannot reach /proc/self/fd/", num);
}

/// The signals that end a parked init, as they end runc's (its Go runtime exits on them): pid 1 of a pid namespace
/// ignores every signal it has no handler for, so without these `kill ID TERM` (or a pidfd's) would leave a
/// created container waiting for `start` for ever, and an engine's stop would wait for its SIGKILL.
static const int parked_exit_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/// Handler of those signals while parked: exit as a shell reports a process killed by `sig`. Async-signal-safe.
static void parked_exit(int sig) { syscall(SYS_exit_group, 128 + sig); }

/// Never called (parked_exit does not return), but x86-64 delivers no signal to a handler without a restorer.
static void parked_restorer(void) { syscall(SYS_exit_group, 255); }

/// `on`: installs parked_exit for parked_exit_signals and unblocks them; off: blocks them again and restores
/// SIG_DFL, so nothing of it reaches the start hooks or the container's program (execve resets handlers anyway).
static void parked_signals(int on) {
    struct sigaction_k { void *handler; unsigned long flags; void *restorer; uint64_t mask; } sa;
    memset(&sa, 0, sizeof sa);
    uint64_t set = 0;
    for (size_t i = 0; i < sizeof parked_exit_signals / sizeof *parked_exit_signals; i++)
        set |= 1ULL << (parked_exit_signals[i] - 1);
    if (!on) RSYS(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 8);
    if (on) {
        sa.handler = (void *)parked_exit;
        sa.flags = SA_RESTORER;
        sa.restorer = (void *)parked_restorer;
        sa.mask = ~0ULL;   // nothing else runs inside the handler
    }
    for (size_t i = 0; i < sizeof parked_exit_signals / sizeof *parked_exit_signals; i++)
        RSYS(SYS_rt_sigaction, parked_exit_signals[i], &sa, NULL, 8);
    if (on) RSYS(SYS_rt_sigprocmask, SIG_UNBLOCK, &set, NULL, 8);
}

static void park_and_exec(const struct corral_plan *p, const char *exe, struct fifo_way *w, struct landlock_state *ll) {
    // Until the runtime has recorded the container, its death must take us with it: PDEATHSIG, and (for a death
    // before PDEATHSIG was set) EOF on the sync socket, whose runtime end we closed at start. A create that dies
    // half-way leaves no parked process behind. After COMMIT, `create` exits on purpose and we must survive.
    child_tell(p, CORRAL_MSG_READY, 0);
    struct corral_msg m;
    int state_fd = -1;   // with startContainer hooks, COMMIT carries their state (a sealed memfd)
    int r = corral_recv_msg_fd(p->sync_fd, &m, &state_fd, -1);
    if (r < 0 || m.type != CORRAL_MSG_COMMIT) syscall(SYS_exit_group, 1);
    prctl(PR_SET_PDEATHSIG, 0);
    child_tell(p, CORRAL_MSG_COMMIT_ACK, 0);
    x_close(p->sync_fd);
    if (p->exec_fifo_fd >= 0) {
        // Blocks until `start` opens the fifo for reading (runc's exec.fifo protocol: tools look for that file).
        // Recorded and waiting: HUP, INT, QUIT and TERM now end us (a signal that came while we were being
        // recorded is pending and ends us at once).
        parked_signals(1);
        int fd;
        do fd = (int)RSYS(SYS_openat, w->proc, w->name, O_WRONLY | O_CLOEXEC);
        while (fd == -EINTR);
        parked_signals(0);
        if (fd < 0) syscall(SYS_exit_group, 255);
        // `start` is reading: startContainer hooks run now, and only their success lets "0" through.
        if (p->nstart_hooks > 0) run_start_hooks(p, fd, state_fd);
        if (x_write_all(fd, "0", 1) < 0) syscall(SYS_exit_group, 255);
        x_close(fd);
        x_close(p->exec_fifo_fd);
    }
    x_close(state_fd);
    // Nothing but stdio and the preserved fds is open when execve resolves its path.
    x_close(w->proc);
    // Landlock last: everything the runtime opens itself is done. Never exec unconfined when it fails (the probe
    // before READY makes that unlikely); the runtime is gone, so say it where runc would say an exec failure.
    int lr = landlock_enforce(ll);
    if (lr < 0) {
        static const char ll_pre[] = "landlock_restrict_self failed: ";
        const char *t = corral_errno_text(-lr);
        x_write_all(2, ll_pre, sizeof ll_pre - 1);
        x_write_all(2, t ? t : "error", c_strlen(t ? t : "error"));
        x_write_all(2, "\n", 1);
        syscall(SYS_exit_group, 255);
    }
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &corral_saved_sigmask, NULL, 8);
    long e = RSYS(SYS_execve, exe, p->argv, p->envp);
    // Too late for a structured error: the runtime that created us may be gone. Say it where and as runc main does
    // (Go's PathError: "exec /run.sh: no such file or directory"), one line on the process's stderr.
    const char *t = corral_errno_text((int)-e);
    char line[CORRAL_PATH_MAX + 128] = "exec ";
    c_strlcat(line, exe, sizeof line);
    c_strlcat(line, ": ", sizeof line);
    c_strlcat(line, t ? t : "error", sizeof line);
    c_strlcat(line, "\n", sizeof line);
    x_write_all(2, line, c_strlen(line));
    syscall(SYS_exit_group, 255);
}

/// close_range refused (an older kernel, a seccomp filter around the runtime): close what /proc/self/fd lists from
/// `lo` up, except the `keep` fds. A closed fd changes the directory, so the walk restarts until nothing is left.
static void close_by_walking(unsigned lo, const int *keep, int nkeep, int src_lo, int src_hi) {
    for (int round = 0; round < 16; round++) {
        int dir = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) return;   // no procfs: the close-on-exec sweep before execve still covers them
        char buf[4096] __attribute__((aligned(8)));
        int closed = 0;
        long n;
        while ((n = RSYS(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + off);
                off += d->reclen;
                const char *c = d->name;
                if (*c < '0' || *c > '9') continue;
                unsigned fd = 0;
                for (; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (unsigned)(*c - '0');
                int kept = (int)fd == dir || fd < lo || (src_lo >= 0 && (int)fd >= src_lo && (int)fd <= src_hi);
                for (int k = 0; k < nkeep && !kept; k++) kept = keep[k] == (int)fd;
                if (!kept) { x_close((int)fd); closed++; }
            }
        }
        x_close(dir);
        if (!closed) return;
    }
}

/// Closes every inherited fd the child does not need (the runtime's lock on the state dir, its log file, ...):
/// CLOEXEC only acts at execve, and the parked init lives until `start`. Kept: stdio, the preserved range, and
/// the fds the plan names.
static void close_unneeded_fds(const struct corral_plan *p) {
    int keep[8 + 64], n = 0;
    keep[n++] = p->sync_fd;
    if (p->exec_fifo_fd >= 0) keep[n++] = p->exec_fifo_fd;
    if (p->console_socket_fd >= 0) keep[n++] = p->console_socket_fd;
    if (p->join_pidfd_flags) keep[n++] = p->join_pidfd;
    for (int i = 0; i < p->njoins && n < (int)(sizeof keep / sizeof keep[0]); i++) keep[n++] = p->joins[i].fd;
    for (int i = 1; i < n; i++)           // insertion sort: a handful of entries
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    // Bind sources the parent prepared sit in one contiguous block of fds above everything else it had open.
    int src_lo = -1, src_hi = -1;
    for (int i = 0; i < p->nmounts; i++) {
        int f = p->mounts[i].source_fd;
        if (f < 0) continue;
        if (src_lo < 0 || f < src_lo) src_lo = f;
        if (f > src_hi) src_hi = f;
    }
    unsigned first = 3 + (unsigned)p->preserve_fds, lo = first;
    long failed = 0;
    for (int i = 0; i < n; i++) {
        if (keep[i] < (int)lo) continue;
        if ((unsigned)keep[i] > lo && RSYS(SYS_close_range, lo, (unsigned)keep[i] - 1, 0) < 0) failed = 1;
        lo = (unsigned)keep[i] + 1;
    }
    if (src_lo >= (int)lo) {
        if ((unsigned)src_lo > lo && RSYS(SYS_close_range, lo, (unsigned)src_lo - 1, 0) < 0) failed = 1;
        lo = (unsigned)src_hi + 1;
    }
    if (RSYS(SYS_close_range, lo, ~0U, 0) < 0) failed = 1;
    if (failed) close_by_walking(first, keep, n, src_lo, src_hi);
}

/// Refuses sysctls that would land in a namespace of the host: the namespace the child is actually in after the
/// joins and unshares is compared with the host's, through the runtime's procfs (the container cannot have
/// touched it yet). A network namespace joined by path may be the host's own.
static void check_sysctl_namespaces(const struct corral_plan *p) {
    static const struct { uint64_t type; const char *file; } kinds[3] = {
        { CLONE_NEWNET, "/proc/thread-self/ns/net" }, { CLONE_NEWIPC, "/proc/thread-self/ns/ipc" },
        { CLONE_NEWUTS, "/proc/thread-self/ns/uts" },
    };
    for (int i = 0; i < p->nsysctl; i++) {
        for (int k = 0; k < 3; k++) {
            if (p->sysctl_nstypes[i] != kinds[k].type) continue;
            struct stat st;
            long r = RSYS(SYS_newfstatat, AT_FDCWD, kinds[k].file, &st, 0);
            if (r < 0) child_fail(p, CORRAL_STAGE_SYSCTL, (int)r, i, "stat ", kinds[k].file);
            for (int h = 0; h < 2; h++)
                if (p->host_ns_ino[k][h] && (uint64_t)st.st_ino == p->host_ns_ino[k][h])
                    child_fail(p, CORRAL_STAGE_SYSCTL_HOST_NS, EPERM, i, p->sysctl_keys[i], NULL);
        }
    }
}

/// Enters the container's cgroup v1 directories: "0" into each `tasks` file moves this (single-threaded) process
/// itself. The kernel skips the global cgroup_threadgroup_rwsem for the current thread (cgroup_procs_write_start:
/// pid 0 and not a whole thread group), so this does not wait for an RCU grace period (percpu_down_write's
/// rcu_sync_enter), which a cgroup.procs write by the parent does whenever no other attach on the host happened
/// within the last one or two grace periods (6-15 ms on a small VM). The fds are closed here.
static void enter_cgroups(const struct corral_plan *p) {
    for (int i = 0; i < p->ncgroup_tasks; i++) {
        long r = RSYS(SYS_write, p->cgroup_tasks_fds[i], "0", 1);
        if (r < 0) child_fail(p, CORRAL_STAGE_CGROUP, (int)r, i, "write tasks", NULL);
        x_close(p->cgroup_tasks_fds[i]);
    }
}

__attribute__((noreturn)) static void child_main(const struct corral_plan *p, int in_cgroup) {
    x_close(spawn_own_pidns);   // the host's pid namespace: never into the container
    struct fifo_way fifo = { .proc = -1, .name = "" };
    // exec's execCPUAffinity.initial: the whole setup, from before the cgroup placement on, runs on those CPUs.
    apply_initial_affinity(p);
    // Non-dumpable during setup (CVE-2016-9962): nothing in the container can ptrace us or open our /proc files.
    prctl(PR_SET_DUMPABLE, 0);
    if (p->pdeathsig) prctl(PR_SET_PDEATHSIG, p->pdeathsig);
    reset_signals();
    enter_cgroups(p);
    if (p->cgroup_sync || (p->cgroup_dir_fd >= 0 && !in_cgroup))
        child_exchange(p, CORRAL_MSG_HELLO, -1, CORRAL_MSG_GO, CORRAL_STAGE_SETUP, "waiting for cgroup placement");
    close_unneeded_fds(p);
    RSYS(SYS_umask, 0);   // device nodes and dirs get exactly the modes planned; the process umask is set later

    // exec: rlimits while still in the host's user namespace (a joined one could not raise a hard limit).
    if (p->join_pidfd_flags) apply_rlimits(p);
    if (p->must_fork) {
        enter_namespaces_by_fork(p);
    } else {
        // exec with the pid namespace entered by the parent around clone3 (we were born in it): the rest here.
        if (p->join_pidfd_flags && join_by_pidfd(p, p->join_pidfd_flags & ~(uint64_t)CLONE_NEWPID)) become_ns_root(p);
        if (p->new_userns) {
            wait_for_maps(p);
            become_ns_root(p);
        }
        if (p->unshare_flags) {
            long r = RSYS(SYS_unshare, p->unshare_flags);
            if (r < 0) child_fail(p, CORRAL_STAGE_NAMESPACES, (int)r, -1, "unshare cgroup namespace", NULL);
        }
    }
    if (p->nsysctl) check_sysctl_namespaces(p);
    if (p->loopback_up) {
        int sock = (int)RSYS(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        c_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
        if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) child_fail(p, CORRAL_STAGE_SETUP, sock < 0 ? sock : errno, -1, "get flags of lo", NULL);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) child_fail(p, CORRAL_STAGE_SETUP, errno, -1, "bring lo up", NULL);
        x_close(sock);
    }
    if (p->keyring_name) {
        long r = RSYS(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, p->keyring_name);
        if (r < 0 && r != -ENOSYS) child_fail(p, CORRAL_STAGE_SETUP, (int)r, -1, "join session keyring", NULL);
    }
    if (p->hostname) {
        long r = RSYS(SYS_sethostname, p->hostname, c_strlen(p->hostname));
        if (r < 0) child_fail(p, CORRAL_STAGE_HOSTNAME, (int)r, -1, "sethostname ", p->hostname);
    }
    if (p->domainname) {
        long r = RSYS(SYS_setdomainname, p->domainname, c_strlen(p->domainname));
        if (r < 0) child_fail(p, CORRAL_STAGE_HOSTNAME, (int)r, -1, "setdomainname ", p->domainname);
    }
    if (p->new_mountns) {
        take_early_proc(p, &fifo);
        int rootfd = setup_rootfs(p);
        if (p->hooks_sync) wait_for_hooks(p);
        finish_rootfs(p, rootfd);
        // The init's own name until it execs (CORRAL_INIT_COMM), set before READY lets the runtime record us and
        // before the config's seccomp filter goes on (no runtime syscall may depend on the user's profile). Without
        // it `state` would take the parked init for a running one: failing here is failing closed.
        long named = RSYS(SYS_prctl, PR_SET_NAME, CORRAL_INIT_COMM);
        if (named < 0) child_fail(p, CORRAL_STAGE_SETUP, (int)named, -1, "name the init ", CORRAL_INIT_COMM);
    } else if (p->terminal) {
        setup_console(p, -1);   // exec: a pty of the container's devpts, no /dev/console
    }
    // The rootfs is final and "/" is the container's root (create: pivoted; exec: the joined mount namespace).
    struct landlock_state ll;
    landlock_prepare(p, &ll);
    // Every container process leads a session of its own (setup_console made one with the pty as its controlling
    // terminal): sharing the caller's session would let it push input into the caller's terminal with TIOCSTI and
    // be reached by signals to the caller's process group (runc's init calls setsid too).
    if (!p->terminal) {
        long r = RSYS(SYS_setsid);
        if (r < 0) child_fail(p, CORRAL_STAGE_SETUP, (int)r, -1, "setsid", NULL);
    }
    setup_process(p);
    char exe[CORRAL_PATH_MAX];
    lookup_exec(p, exe);
    landlock_check_program(p, &ll, exe);
    prepare_fifo_reopen(p, &fifo);
    // With no_new_privs the filter goes on as late as possible, but before READY so a failure is reported.
    if (p->no_new_privs) load_seccomp(p);
    landlock_probe(p, &ll);
    park_and_exec(p, exe, &fifo, &ll);
    syscall(SYS_exit_group, 255);
    __builtin_unreachable();
}

int corral_spawn(const struct corral_plan *plan, struct corral_spawn_result *out) {
    sigset_t all;
    sigfillset(&all);
    // No signal handler may run in the child before it has reset them all.
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &all, &corral_saved_sigmask, 8);
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = plan->clone_flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    // Born in its cgroup2 directory: no cgroup.procs write, so no wait on the global threadgroup rwsem. A kernel
    // without CLONE_INTO_CGROUP (before 5.7), or one that refuses this directory, gets a plain clone3: the child
    // then asks the parent to write cgroup.procs, which reports any real error with its own text.
    int in_cgroup = 0;
    long pid = -EINVAL;
    // exec: our children are born in the container's pid namespace until we leave it again right after clone3
    // (setns to the pid namespace we are in is always allowed); the child then needs no second fork.
    int own_pidns = -1;
    if (plan->pid_ns_in_parent) {
        own_pidns = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
        spawn_own_pidns = own_pidns;
        long r = own_pidns < 0 ? own_pidns : RSYS(SYS_setns, plan->join_pidfd, CLONE_NEWPID);
        if (r < 0) {
            x_close(own_pidns);
            RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &corral_saved_sigmask, NULL, 8);
            return (int)r;
        }
    }
    if (plan->cgroup_dir_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)plan->cgroup_dir_fd;
        in_cgroup = 1;
        pid = RSYS(SYS_clone3, &args, sizeof args);
        if (pid < 0) {
            args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
            args.cgroup = 0;
            in_cgroup = 0;
        }
    }
    if (!in_cgroup) pid = RSYS(SYS_clone3, &args, sizeof args);
    if (pid == 0) child_main(plan, in_cgroup);
    if (own_pidns >= 0) {
        long r = RSYS(SYS_setns, own_pidns, CLONE_NEWPID);
        x_close(own_pidns);
        spawn_own_pidns = -1;
        if (r < 0) {
            // Never go on with the container's pid namespace as the one for our children.
            if (pid > 0) { RSYS(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0); RSYS(SYS_wait4, pid, NULL, 0, NULL); x_close(pidfd); }
            RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &corral_saved_sigmask, NULL, 8);
            return (int)r;
        }
    }
    RSYS(SYS_rt_sigprocmask, SIG_SETMASK, &corral_saved_sigmask, NULL, 8);
    if (pid < 0) return (int)pid;
    out->child_pid = (pid_t)pid;
    out->child_pidfd = pidfd;
    out->in_cgroup = in_cgroup;
    return 0;
}
