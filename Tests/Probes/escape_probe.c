/*
 * escape_probe: run inside a container, tries the ways out an adversary would try and prints one line per probe:
 *
 *     BLOCKED <name> <errno name: text, or what stopped it>
 *     ALLOWED <name> <what got through>
 *     NA      <name> <why the probe has no target here>        (only ptrace-pid1 when the probe is pid 1)
 *     ERROR   <name> <the probe itself misbehaved: crashed, hung, reported nothing>
 *
 * and a last line `END <number of probes>`. Every probe is a real attempt at the operation, made in its own forked
 * child (a probe that succeeds at unshare or setsid must not change what the next one sees; a probe that dies of
 * SIGSYS, a seccomp kill, counts as BLOCKED). Operations that would change the host if they got through are made
 * harmless: sysctls are written their own value back, privileged syscalls get arguments that fail AFTER the
 * privilege check (so EPERM means blocked and any other errno means the check passed), /proc/sysrq-trigger and
 * /sys/kernel/uevent_helper are only opened for writing, and TIOCSTI pushes a single space.
 *
 *     escape_probe [--abstract NAME]   all probes (NAME: an abstract unix socket a host process listens on)
 *     escape_probe session             one line `SESSION pid= ppid= pgrp= sid= tty_nr= tpgid=` from /proc/self/stat
 *                                      (fields 1, 4, 5, 6, 7, 8) and one line `TIOCSTI fd0= fd1= fd2= devtty=`
 *
 * Built by the integration tests with `cc -static -O2` (Tests/IntegrationTests/EscapeProbeTests.swift); syscall
 * numbers and constants newer than Debian 12's headers have fallbacks below. Not part of any SwiftPM target.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

/* Syscalls numbered alike on every architecture since 5.1 (asm-generic/unistd.h). */
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x1
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif
#ifndef KEY_SPEC_SESSION_KEYRING
#define KEY_SPEC_SESSION_KEYRING (-3)
#endif
#ifndef SYSLOG_ACTION_READ_ALL
#define SYSLOG_ACTION_READ_ALL 3
#endif
#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif

/* ---------------------------------------------------------------- results */

enum verdict { BLOCKED, ALLOWED, NA };

struct result {
    enum verdict verdict;
    char detail[600];
};

static void say(struct result *r, enum verdict v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    r->verdict = v;
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* "EPERM: Operation not permitted" */
static const char *errtext(int e) {
    static char buf[4][96];
    static int slot;
    char *b = buf[slot++ % 4];
    const char *name = strerrorname_np(e);
    snprintf(b, sizeof buf[0], "%s: %s", name ? name : "E?", strerror(e));
    return b;
}

#define BLOCK_ERRNO(r, e, what) say(r, BLOCKED, "%s: %s", what, errtext(e))

/* Appends to a detail being built up across several attempts. */
static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len >= size - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- state taken before any probe runs */

static pid_t main_pid;
static char start_fds[600];      /* "fd 7 -> /..." for every fd >= 3 open at start, "" when none */
static struct stat root_stat;
static const char *abstract_name; /* --abstract NAME */

static void snapshot_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) { snprintf(start_fds, sizeof start_fds, "(cannot list /proc/self/fd: %s)", errtext(errno)); return; }
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd < 3 || fd == self) continue;
        char path[64], link[256] = "?";
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n >= 0) link[n] = 0;
        append(start_fds, sizeof start_fds, "%sfd %d -> %s", start_fds[0] ? ", " : "", fd, link);
    }
    closedir(d);
}

/* Fields of /proc/<pid>/stat after the comm field: [0] state (field 3), [1] ppid (4), [2] pgrp (5),
 * [3] session (6), [4] tty_nr (7), [5] tpgid (8). */
static int read_stat(const char *path, long out[6]) {
    char buf[1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char state;
    if (sscanf(p + 1, " %c %ld %ld %ld %ld %ld", &state, &out[1], &out[2], &out[3], &out[4], &out[5]) != 6) return -1;
    out[0] = state;
    return 0;
}

/* ---------------------------------------------------------------- helpers shared by probes */

static ssize_t read_small(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    errno = e;
    if (n >= 0) buf[n] = 0;
    return n;
}

/* Opens `path` for writing; when that works writes `value` (NULL: the file's own current content, read first, so
 * the write changes nothing) and reports ALLOWED: a writable procfs/sysfs/cgroup knob is the escape. */
static void try_write(struct result *r, const char *path, const char *value) {
    char own[4096] = "";
    int readable = 1;
    if (!value) {
        readable = read_small(path, own, sizeof own) >= 0;
        value = own[0] ? own : "\n";  /* an empty value is written back as an empty line */
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { say(r, BLOCKED, "open %s for writing: %s", path, errtext(errno)); return; }
    if (!readable) {
        close(fd);
        say(r, ALLOWED, "opened %s for writing (not written: its value could not be read back)", path);
        return;
    }
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    if (n < 0) say(r, ALLOWED, "opened %s for writing (the write itself failed: %s)", path, errtext(e));
    else say(r, ALLOWED, "wrote %zd bytes to %s (its own value)", n, path);
}

/* The part of a detail after its first ": " (the errno of "open X for writing: E: text"). */
static const char *after_colon(const char *detail) {
    const char *p = strstr(detail, ": ");
    return p ? p + 2 : detail;
}

/* Opens `path` for writing and writes nothing: for files where any byte acts on the host. */
static void try_open_write_only(struct result *r, const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { say(r, BLOCKED, "open %s for writing: %s", path, errtext(errno)); return; }
    close(fd);
    say(r, ALLOWED, "opened %s for writing (nothing written: any byte acts on the host)", path);
}

/* A privileged syscall given arguments that fail only after the privilege check: EPERM (and ENOSYS, a kernel or
 * filter without it) means blocked, anything else means the check passed. */
static void gate(struct result *r, long ret, const char *what) {
    if (ret >= 0) { say(r, ALLOWED, "%s returned %ld", what, ret); return; }
    int e = errno;
    if (e == EPERM || e == EACCES || e == ENOSYS) BLOCK_ERRNO(r, e, what);
    else say(r, ALLOWED, "%s passed the privilege check (failed later with %s)", what, errtext(e));
}

/* A fresh directory under a writable place (/tmp, /dev/shm) or NULL. */
static const char *scratch_dir(const char *tag) {
    static char path[128];
    const char *bases[] = {"/tmp", "/dev/shm", "/run", NULL};
    for (int i = 0; bases[i]; i++) {
        snprintf(path, sizeof path, "%s/escape-probe-%s-%d", bases[i], tag, (int)getpid());
        if (mkdir(path, 0700) == 0 || errno == EEXIST) return path;
    }
    return NULL;
}

/* Mount points of the given filesystem type from /proc/self/mountinfo, NUL-separated in `out`. */
static int mounts_of_type(const char *fstype, char *out, size_t size) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return -1;
    char line[4096];
    size_t used = 0;
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - ");
        if (!dash) continue;
        char type[64] = "", mp[1024] = "";
        if (sscanf(dash + 3, "%63s", type) != 1 || strcmp(type, fstype)) continue;
        if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1) continue;
        size_t len = strlen(mp) + 1;
        if (used + len > size) break;
        memcpy(out + used, mp, len);
        used += len;
        count++;
    }
    fclose(f);
    if (used < size) out[used] = 0;
    return count;
}

/* ---------------------------------------------------------------- probes: procfs and sysfs knobs */

static void p_sysctl_hostname(struct result *r) { try_write(r, "/proc/sys/kernel/hostname", NULL); }
static void p_sysctl_drop_caches(struct result *r) { try_write(r, "/proc/sys/vm/drop_caches", "4"); /* 4: no-op */ }
static void p_core_pattern(struct result *r) { try_write(r, "/proc/sys/kernel/core_pattern", NULL); }
static void p_modprobe(struct result *r) { try_write(r, "/proc/sys/kernel/modprobe", NULL); }
static void p_sysrq(struct result *r) { try_open_write_only(r, "/proc/sysrq-trigger"); }
static void p_uevent_helper(struct result *r) { try_open_write_only(r, "/sys/kernel/uevent_helper"); }

/* CVE-2022-0492 and its elders: a writable release_agent in any cgroup v1 mount runs a host program as root. */
static void p_release_agent(struct result *r) {
    char mps[8192], detail[600] = "";
    int n = mounts_of_type("cgroup", mps, sizeof mps);
    if (n <= 0) { say(r, BLOCKED, "no cgroup v1 mount inside (%s)", n < 0 ? errtext(errno) : "none listed"); return; }
    for (char *mp = mps; *mp; mp += strlen(mp) + 1) {
        char path[8300];
        snprintf(path, sizeof path, "%s/release_agent", mp);
        struct result one;
        try_write(&one, path, NULL);
        if (one.verdict == ALLOWED) { *r = one; return; }
        append(detail, sizeof detail, "%s%s: %s", detail[0] ? "; " : "", mp, after_colon(one.detail));
    }
    say(r, BLOCKED, "%d cgroup mounts: %s", n, detail);
}

/* Raising the container's own limits from inside (memory, pids, cpu quota), v1 and v2 file names. */
static void p_cgroup_limits(struct result *r) {
    static const char *files[] = {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "pids.max",
                                  "cpu.cfs_quota_us", "memory.max", "cpu.max", NULL};
    static char v1[8192], v2[8192];
    char detail[600] = "";
    int n1 = mounts_of_type("cgroup", v1, sizeof v1), n2 = mounts_of_type("cgroup2", v2, sizeof v2);
    if (n1 <= 0) v1[0] = 0;
    if (n2 <= 0) v2[0] = 0;
    if (n1 <= 0 && n2 <= 0) { say(r, BLOCKED, "no cgroup mount inside"); return; }
    int tried = 0;
    for (char *list = v1; list; list = list == v1 ? v2 : NULL) {
        for (char *mp = list; *mp; mp += strlen(mp) + 1) {
            for (int i = 0; files[i]; i++) {
                char path[8300];
                snprintf(path, sizeof path, "%s/%s", mp, files[i]);
                if (access(path, F_OK) != 0) continue;
                tried++;
                struct result one;
                try_write(&one, path, NULL);
                if (one.verdict == ALLOWED) { *r = one; return; }
                append(detail, sizeof detail, "%s%s: %s", detail[0] ? "; " : "", files[i], after_colon(one.detail));
            }
        }
    }
    if (!tried) say(r, BLOCKED, "no limit file in the cgroup mounts");
    else say(r, BLOCKED, "%s", detail);
}

/* ---------------------------------------------------------------- probes: mounts */

static void mount_probe(struct result *r, const char *source, const char *type, const char *data) {
    const char *dir = scratch_dir(type);
    if (!dir) { say(r, BLOCKED, "no writable directory for a mount point: %s", errtext(errno)); return; }
    if (mount(source, dir, type, MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0) {
        say(r, BLOCKED, "mount -t %s %s: %s", type, dir, errtext(errno));
        rmdir(dir);
        return;
    }
    char extra[200] = "";
    if (!strcmp(type, "cgroup")) {
        char ra[1200];
        snprintf(ra, sizeof ra, "%s/release_agent", dir);
        snprintf(extra, sizeof extra, "; release_agent %s", access(ra, W_OK) == 0 ? "writable" : "not writable");
    }
    umount2(dir, MNT_DETACH);
    rmdir(dir);
    say(r, ALLOWED, "mounted %s at %s%s", type, dir, extra);
}

static void p_mount_tmpfs(struct result *r) { mount_probe(r, "tmpfs", "tmpfs", "size=1m"); }
/* A fresh procfs has none of the masked or read-only paths. */
static void p_mount_proc(struct result *r) { mount_probe(r, "proc", "proc", NULL); }
/* A new mount of a v1 hierarchy shows its root, release_agent included (CVE-2022-0492). */
static void p_mount_cgroup(struct result *r) { mount_probe(r, "cgroup", "cgroup", "memory"); }

static void p_fsopen(struct result *r) {
    long fd = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fd < 0) BLOCK_ERRNO(r, errno, "fsopen tmpfs");
    else say(r, ALLOWED, "fsopen(\"tmpfs\") gave fd %ld (new mount API)", fd);
}

static void p_remount_root_rw(struct result *r) {
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL) < 0) { BLOCK_ERRNO(r, errno, "remount / read-write"); return; }
    say(r, ALLOWED, "remounted / without MS_RDONLY");
}

static void p_write_rootfs(struct result *r) {
    const char *path = "/escape-probe-was-here";
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) { BLOCK_ERRNO(r, errno, "create /escape-probe-was-here"); return; }
    close(fd);
    unlink(path);
    say(r, ALLOWED, "created a file in the read-only root");
}

/* pivot_root on non-mount points: EINVAL, but only after the CAP_SYS_ADMIN check. */
static void p_pivot_root(struct result *r) { gate(r, syscall(SYS_pivot_root, "/etc", "/etc"), "pivot_root"); }

/* Classic chroot break-out: chroot into a subdirectory, walk .. past it, chroot("."). */
static void p_chroot(struct result *r) {
    const char *dir = scratch_dir("chroot");
    if (!dir) { say(r, BLOCKED, "no writable directory: %s", errtext(errno)); return; }
    if (chroot(dir) < 0) { BLOCK_ERRNO(r, errno, "chroot"); rmdir(dir); return; }
    for (int i = 0; i < 64; i++) if (chdir("..") < 0) break;
    int rerooted = chroot(".") == 0;
    struct stat now;
    stat("/", &now);
    int outside = now.st_dev != root_stat.st_dev || now.st_ino != root_stat.st_ino;
    /* After pivot_root the walk stops at the container's root; a chroot-based (no pivot) container is left. */
    say(r, ALLOWED, "chroot succeeded (CAP_SYS_CHROOT); the .. walk %s %s (dev %u:%u ino %lu)",
        rerooted ? "re-rooted" : "stopped", outside ? "OUTSIDE the container root" : "at the container root",
        major(now.st_dev), minor(now.st_dev), (unsigned long)now.st_ino);
}

/* ---------------------------------------------------------------- probes: namespaces */

static void unshare_probe(struct result *r, int flag, const char *what) {
    if (unshare(flag) < 0) BLOCK_ERRNO(r, errno, what);
    else say(r, ALLOWED, "%s succeeded", what);
}
static void p_unshare_user(struct result *r) { unshare_probe(r, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)"); }
static void p_unshare_mount(struct result *r) { unshare_probe(r, CLONE_NEWNS, "unshare(CLONE_NEWNS)"); }
static void p_unshare_net(struct result *r) { unshare_probe(r, CLONE_NEWNET, "unshare(CLONE_NEWNET)"); }
static void p_unshare_pid(struct result *r) { unshare_probe(r, CLONE_NEWPID, "unshare(CLONE_NEWPID)"); }
static void p_unshare_cgroup(struct result *r) { unshare_probe(r, CLONE_NEWCGROUP, "unshare(CLONE_NEWCGROUP)"); }

/* The same through clone(2) flags, which a filter on unshare alone would miss. */
static void p_clone_newuser(struct result *r) {
    long pid = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
    if (pid == 0) syscall(SYS_exit, 0);
    if (pid < 0) { BLOCK_ERRNO(r, errno, "clone(CLONE_NEWUSER)"); return; }
    waitpid((pid_t)pid, NULL, 0);
    say(r, ALLOWED, "clone(CLONE_NEWUSER) created pid %ld", pid);
}

static const char *ns_names[] = {"mnt", "net", "pid", "uts", "ipc", "cgroup", "user", "time", NULL};

static void p_setns_proc1(struct result *r) {
    char ok[200] = "", detail[500] = "";
    for (int i = 0; ns_names[i]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/1/ns/%s", ns_names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { append(detail, sizeof detail, " %s:open %s", ns_names[i], strerrorname_np(errno)); continue; }
        if (setns(fd, 0) == 0) append(ok, sizeof ok, " %s", ns_names[i]);
        else append(detail, sizeof detail, " %s:%s", ns_names[i], strerrorname_np(errno));
        close(fd);
    }
    if (ok[0]) say(r, ALLOWED, "setns into /proc/1/ns/{%s }", ok);
    else say(r, BLOCKED, "setns /proc/1/ns/*:%s", detail);
}

/* Any namespace visible under /proc that is not ours is a host (or other container) namespace: join it. */
static void p_setns_foreign(struct result *r) {
    struct stat own[8];
    for (int i = 0; ns_names[i]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", ns_names[i]);
        if (stat(path, &own[i]) < 0) own[i].st_ino = 0;
    }
    DIR *d = opendir("/proc");
    if (!d) { BLOCK_ERRNO(r, errno, "opendir /proc"); return; }
    int procs = 0, foreign = 0;
    char detail[500] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        procs++;
        for (int i = 0; ns_names[i]; i++) {
            char path[300];
            struct stat st;
            snprintf(path, sizeof path, "/proc/%s/ns/%s", e->d_name, ns_names[i]);
            if (stat(path, &st) < 0 || !own[i].st_ino || st.st_ino == own[i].st_ino) continue;
            foreign++;
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && setns(fd, 0) == 0) {
                say(r, ALLOWED, "joined foreign namespace %s (inode %lu)", path, (unsigned long)st.st_ino);
                closedir(d);
                return;
            }
            append(detail, sizeof detail, " %s:%s", path, strerrorname_np(errno));
            if (fd >= 0) close(fd);
        }
    }
    closedir(d);
    if (foreign) say(r, BLOCKED, "%d foreign namespaces visible, none joined:%s", foreign, detail);
    else say(r, BLOCKED, "no foreign namespace visible (%d processes scanned)", procs);
}

/* ---------------------------------------------------------------- probes: kernel attack surface */

static void p_keyctl_join(struct result *r) {
    long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape-probe");
    if (id < 0) BLOCK_ERRNO(r, errno, "keyctl(JOIN_SESSION_KEYRING)");
    else say(r, ALLOWED, "joined a new session keyring %ld", id);
}

static void p_add_key(struct result *r) {
    long id = syscall(SYS_add_key, "user", "escape-probe", "x", 1, KEY_SPEC_SESSION_KEYRING);
    if (id < 0) BLOCK_ERRNO(r, errno, "add_key(user)");
    else say(r, ALLOWED, "added key %ld to the session keyring", id);
}

static void p_bpf_prog(struct result *r) {
    struct bpf_insn insns[2] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},  /* r0 = 0 */
        {.code = BPF_JMP | BPF_EXIT},                                           /* exit  */
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd < 0) BLOCK_ERRNO(r, errno, "bpf(BPF_PROG_LOAD socket filter)");
    else say(r, ALLOWED, "loaded a socket filter program (fd %ld)", fd);
}

static void p_bpf_map(struct result *r) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) BLOCK_ERRNO(r, errno, "bpf(BPF_MAP_CREATE array)");
    else say(r, ALLOWED, "created an array map (fd %ld)", fd);
}

/* The least privileged form (own process, user space only): if this is refused, every form is. */
static void p_perf_event(struct result *r) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) BLOCK_ERRNO(r, errno, "perf_event_open(self, cpu-clock, user only)");
    else say(r, ALLOWED, "perf_event_open gave fd %ld", fd);
}

static void p_userfaultfd(struct result *r) {
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd >= 0) { say(r, ALLOWED, "userfaultfd(UFFD_USER_MODE_ONLY) gave fd %ld", fd); return; }
    int e1 = errno;
    fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) { say(r, ALLOWED, "userfaultfd() gave fd %ld", fd); return; }
    int e2 = errno;
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev >= 0) { say(r, ALLOWED, "opened /dev/userfaultfd"); return; }
    say(r, BLOCKED, "userfaultfd(user mode only): %s; userfaultfd(): %s; /dev/userfaultfd: %s", errtext(e1), errtext(e2),
        errtext(errno));
}

static void p_io_uring(struct result *r) {
    char params[120];  /* struct io_uring_params (120 bytes), all zero */
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 4, params);
    if (fd < 0) BLOCK_ERRNO(r, errno, "io_uring_setup");
    else say(r, ALLOWED, "io_uring_setup gave fd %ld", fd);
}

/* "Shocker": open_by_handle_at with a real handle of / and with a forged one for inode 2 (an ext4 root). */
static void p_open_by_handle(struct result *r) {
    struct { struct file_handle h; unsigned char bytes[MAX_HANDLE_SZ]; } fh;
    int mount_id;
    char detail[300] = "";
    int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0) == 0) {
        int fd = open_by_handle_at(rootfd, &fh.h, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) { say(r, ALLOWED, "open_by_handle_at opened the handle of /"); return; }
        append(detail, sizeof detail, "handle of /: %s", errtext(errno));
    } else {
        append(detail, sizeof detail, "name_to_handle_at /: %s", errtext(errno));
    }
    fh.h.handle_bytes = 8;
    fh.h.handle_type = 1;  /* FILEID_INO32_GEN: inode 2, generation 0 */
    uint32_t forged[2] = {2, 0};
    memcpy(fh.h.f_handle, forged, sizeof forged);
    int fd = open_by_handle_at(rootfd, &fh.h, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        fstat(fd, &st);
        say(r, ALLOWED, "open_by_handle_at opened forged inode 2 (dev %u:%u)", major(st.st_dev), minor(st.st_dev));
        return;
    }
    say(r, BLOCKED, "%s; forged inode 2: %s", detail, errtext(errno));
}

static void mknod_probe(struct result *r, mode_t type, unsigned maj, unsigned min) {
    char detail[400] = "";
    const char *dirs[] = {"/dev", "/tmp", "/dev/shm", NULL};
    for (int i = 0; dirs[i]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/escape-probe-%u-%u-%d", dirs[i], maj, min, (int)getpid());
        if (mknod(path, type | 0600, makedev(maj, min)) < 0) {
            append(detail, sizeof detail, "%s%s: %s", detail[0] ? "; " : "", dirs[i], errtext(errno));
            continue;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int e = errno;
        unlink(path);
        if (fd >= 0) say(r, ALLOWED, "created %s (%u:%u) and opened it", path, maj, min);
        else say(r, ALLOWED, "created %s (%u:%u); opening it: %s", path, maj, min, errtext(e));
        return;
    }
    say(r, BLOCKED, "mknod %u:%u in %s", maj, min, detail);
}
static void p_mknod_block(struct result *r) { mknod_probe(r, S_IFBLK, 8, 0); }
static void p_mknod_char(struct result *r) { mknod_probe(r, S_IFCHR, 1, 1); }

static void socket_probe(struct result *r, int family, int type, int proto, const char *what) {
    int fd = socket(family, type | SOCK_CLOEXEC, proto);
    if (fd < 0) BLOCK_ERRNO(r, errno, what);
    else say(r, ALLOWED, "%s gave fd %d", what, fd);
}
static void p_raw_socket(struct result *r) { socket_probe(r, AF_INET, SOCK_RAW, IPPROTO_RAW, "socket(AF_INET, SOCK_RAW)"); }
static void p_packet_socket(struct result *r) {
    socket_probe(r, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), "socket(AF_PACKET, SOCK_RAW)");
}
/* vsock reaches the hypervisor host; AF_ALG is kernel crypto attack surface. */
static void p_vsock(struct result *r) { socket_probe(r, AF_VSOCK, SOCK_STREAM, 0, "socket(AF_VSOCK)"); }
static void p_alg(struct result *r) { socket_probe(r, AF_ALG, SOCK_SEQPACKET, 0, "socket(AF_ALG)"); }

/* A host process listening on an abstract unix socket (the containerd-shim attack, CVE-2020-15257): abstract
 * names belong to the network namespace. */
static void p_abstract_unix(struct result *r) {
    if (!abstract_name) { say(r, BLOCKED, "no --abstract NAME given; nothing to connect to"); return; }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { BLOCK_ERRNO(r, errno, "socket(AF_UNIX)"); return; }
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(abstract_name);
    if (len > sizeof a.sun_path - 2) len = sizeof a.sun_path - 2;
    memcpy(a.sun_path + 1, abstract_name, len);
    if (connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0)
        say(r, BLOCKED, "connect @%s: %s", abstract_name, errtext(errno));
    else say(r, ALLOWED, "connected to the host's abstract socket @%s", abstract_name);
}

/* kexec and module syscalls with arguments that fail after the capability check. */
static void p_kexec_load(struct result *r) { gate(r, syscall(SYS_kexec_load, 0L, 0L, NULL, 0x100L), "kexec_load(bogus flag)"); }
static void p_kexec_file_load(struct result *r) {
#ifdef SYS_kexec_file_load
    gate(r, syscall(SYS_kexec_file_load, -1L, -1L, 0L, "", 0x100L), "kexec_file_load(bogus flag)");
#else
    say(r, BLOCKED, "kexec_file_load: not on this architecture");
#endif
}
static void p_init_module(struct result *r) { gate(r, syscall(SYS_init_module, NULL, 0L, ""), "init_module(empty image)"); }
static void p_finit_module(struct result *r) { gate(r, syscall(SYS_finit_module, -1L, "", 0L), "finit_module(fd -1)"); }
static void p_delete_module(struct result *r) {
    gate(r, syscall(SYS_delete_module, "escape_probe_no_such_module", (long)O_NONBLOCK), "delete_module(no such module)");
}
/* In a pid namespace reboot(RESTART) kills the namespace's init; a bogus command stops after the check. */
static void p_reboot(struct result *r) {
    gate(r, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x0bad0bad, NULL), "reboot(bogus command)");
}
/* acct() of a missing file: ENOENT only after CAP_SYS_PACCT. */
static void p_acct(struct result *r) { gate(r, syscall(SYS_acct, "/escape-probe-no-such-file"), "acct(missing file)"); }

static void p_fanotify(struct result *r) {
    int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
    if (fd < 0) BLOCK_ERRNO(r, errno, "fanotify_init(FAN_CLASS_NOTIF)");
    else say(r, ALLOWED, "fanotify_init gave fd %d (whole-filesystem watches)", fd);
}

static void p_dmesg(struct result *r) {
    char buf[256];
    int n = klogctl(SYSLOG_ACTION_READ_ALL, buf, sizeof buf);
    if (n < 0) BLOCK_ERRNO(r, errno, "syslog(READ_ALL)");
    else say(r, ALLOWED, "read %d bytes of the kernel log", n);
}

/* adjtimex is in Docker-style allow lists (read-only use); setting the tick needs CAP_SYS_TIME. Same value. */
static void p_adjtimex(struct result *r) {
    struct timex t;
    memset(&t, 0, sizeof t);
    if (adjtimex(&t) < 0) { BLOCK_ERRNO(r, errno, "adjtimex(read)"); return; }
    t.modes = ADJ_TICK;
    if (adjtimex(&t) < 0) BLOCK_ERRNO(r, errno, "adjtimex(ADJ_TICK, same tick)");
    else say(r, ALLOWED, "set the host clock's tick (to its own value %ld)", t.tick);
}

static void p_ioperm(struct result *r) {
#if defined(__x86_64__) || defined(__i386__)
    if (syscall(SYS_ioperm, 0x80L, 1L, 1L) == 0) { say(r, ALLOWED, "ioperm(0x80) granted port I/O"); return; }
    int e = errno;
    if (syscall(SYS_iopl, 3L) == 0) { say(r, ALLOWED, "iopl(3) granted port I/O"); return; }
    say(r, BLOCKED, "ioperm: %s; iopl: %s", errtext(e), errtext(errno));
#else
    say(r, BLOCKED, "no port I/O on this architecture");
#endif
}

static void p_rt_sched(struct result *r) {
    struct sched_param sp = {.sched_priority = 1};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) { BLOCK_ERRNO(r, errno, "sched_setscheduler(SCHED_FIFO)"); return; }
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &sp);
    say(r, ALLOWED, "became a real-time (SCHED_FIFO) task");
}

static void p_vhangup(struct result *r) {
    if (syscall(SYS_vhangup) < 0) BLOCK_ERRNO(r, errno, "vhangup");
    else say(r, ALLOWED, "vhangup() hung up the controlling terminal");
}

/* ---------------------------------------------------------------- probes: privileges */

static void p_setuid_root(struct result *r) {
    if (getuid() == 0) { say(r, BLOCKED, "already uid 0 (nothing to gain)"); return; }
    if (setuid(0) < 0) BLOCK_ERRNO(r, errno, "setuid(0)");
    else say(r, ALLOWED, "setuid(0) made uid %d root", (int)getuid());
}

static void p_cap_raise(struct result *r) {
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) { BLOCK_ERRNO(r, errno, "capget"); return; }
    if (d[0].effective & (1u << CAP_SYS_ADMIN)) { say(r, ALLOWED, "CAP_SYS_ADMIN is already effective"); return; }
    d[0].effective |= 1u << CAP_SYS_ADMIN;
    d[0].permitted |= 1u << CAP_SYS_ADMIN;
    if (syscall(SYS_capset, &h, d) < 0) BLOCK_ERRNO(r, errno, "capset(+CAP_SYS_ADMIN)");
    else say(r, ALLOWED, "capset raised CAP_SYS_ADMIN");
}

/* CVE-2016-9962 family: pid 1 of a container that is not ours to trace (the runtime's parked init, another
 * user's process). The probe's own parent is fair game, so this needs a pid 1 that is not the probe. */
static void p_ptrace_pid1(struct result *r) {
    if (main_pid == 1) { say(r, NA, "the probe is pid 1 (run it with exec to give this probe a target)"); return; }
    if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) < 0) { BLOCK_ERRNO(r, errno, "ptrace(PTRACE_ATTACH, 1)"); return; }
    int st;
    waitpid(1, &st, __WALL);
    ptrace(PTRACE_DETACH, 1, NULL, NULL);
    char exe[256] = "?";
    ssize_t n = readlink("/proc/1/exe", exe, sizeof exe - 1);
    if (n >= 0) exe[n] = 0;
    say(r, ALLOWED, "attached to pid 1 (%s)", exe);
}

/* CVE-2019-5736: the executable behind /proc/<pid>/exe opened for writing. Nothing is written. */
static void exe_probe(struct result *r, const char *path) {
    char target[256] = "?";
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n >= 0) target[n] = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { say(r, BLOCKED, "open %s (%s) for writing: %s", path, target, errtext(errno)); return; }
    close(fd);
    say(r, ALLOWED, "opened %s (%s) for writing", path, target);
}
static void p_self_exe(struct result *r) { exe_probe(r, "/proc/self/exe"); }
static void p_pid1_exe(struct result *r) { exe_probe(r, "/proc/1/exe"); }

static void p_fd_leak(struct result *r) {
    if (start_fds[0]) say(r, ALLOWED, "open at start: %s", start_fds);
    else say(r, BLOCKED, "only fds 0-2 were open at start");
}

/* CVE-2024-21626: a working directory outside the container's root (a leaked host directory fd as cwd). */
static void p_cwd(struct result *r) {
    char cwd[4096], link[4096];
    if (!getcwd(cwd, sizeof cwd)) { say(r, ALLOWED, "getcwd failed (%s): the cwd is outside the root", errtext(errno)); return; }
    if (cwd[0] != '/') { say(r, ALLOWED, "getcwd: %s", cwd); return; }
    ssize_t n = readlink("/proc/self/cwd", link, sizeof link - 1);
    if (n < 0) { say(r, ALLOWED, "readlink /proc/self/cwd: %s", errtext(errno)); return; }
    link[n] = 0;
    if (link[0] != '/') { say(r, ALLOWED, "/proc/self/cwd -> %s", link); return; }
    /* Walk .. until it stops moving: it must stop at the container's root. */
    int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st, up;
    if (fd < 0 || fstat(fd, &st) < 0) { say(r, ALLOWED, "cannot open the cwd: %s", errtext(errno)); return; }
    for (int i = 0; fd >= 0 && i < 256; i++) {
        fstat(fd, &st);
        int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0) break;
        fstat(parent, &up);
        close(fd);
        fd = parent;
        if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) break;
    }
    if (fd >= 0) close(fd);
    if (st.st_dev != root_stat.st_dev || st.st_ino != root_stat.st_ino)
        say(r, ALLOWED, "cwd %s: walking .. ends at dev %u:%u ino %lu, not at the container root", cwd,
            major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    else say(r, BLOCKED, "cwd %s (/proc/self/cwd -> %s) is inside the root", cwd, link);
}

/* ---------------------------------------------------------------- probes: host memory */

static void read_probe(struct result *r, const char *const *paths) {
    char detail[400] = "";
    for (int i = 0; paths[i]; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) { append(detail, sizeof detail, "%s%s: %s", detail[0] ? "; " : "", paths[i], errtext(errno)); continue; }
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        int e = errno;
        close(fd);
        if (n > 0) { say(r, ALLOWED, "read %zd bytes of %s", n, paths[i]); return; }
        if (n == 0) append(detail, sizeof detail, "%s%s: reads empty (masked)", detail[0] ? "; " : "", paths[i]);
        else append(detail, sizeof detail, "%s%s: read: %s", detail[0] ? "; " : "", paths[i], errtext(e));
    }
    say(r, BLOCKED, "%s", detail);
}
static void p_kcore(struct result *r) { static const char *const p[] = {"/proc/kcore", NULL}; read_probe(r, p); }
static void p_dev_mem(struct result *r) {
    static const char *const p[] = {"/dev/mem", "/dev/kmem", "/dev/port", NULL};
    read_probe(r, p);
}

/* ---------------------------------------------------------------- probes: the terminal */

static void tiocsti_fd(struct result *r, int fd) {
    char c = ' ';
    if (ioctl(fd, TIOCSTI, &c) < 0) { say(r, BLOCKED, "ioctl(%d, TIOCSTI): %s", fd, errtext(errno)); return; }
    char tty[128] = "?";
    ttyname_r(fd, tty, sizeof tty);
    say(r, ALLOWED, "pushed one byte into the input of %s (fd %d)", tty, fd);
}
static void p_tiocsti0(struct result *r) { tiocsti_fd(r, 0); }
static void p_tiocsti1(struct result *r) { tiocsti_fd(r, 1); }
static void p_tiocsti2(struct result *r) { tiocsti_fd(r, 2); }

/* /dev/tty is whatever controlling terminal the process has: the caller's, if the runtime did not setsid. */
static void p_tiocsti_devtty(struct result *r) {
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) { say(r, BLOCKED, "open /dev/tty: %s", errtext(errno)); return; }
    tiocsti_fd(r, fd);
    if (r->verdict == BLOCKED) append(r->detail, sizeof r->detail, " (/dev/tty opened: a controlling terminal exists)");
}

/* A new session taking a terminal that is already another session's controlling terminal (steal = 1). */
static void p_tiocsctty_steal(struct result *r) {
    if (setsid() < 0) { BLOCK_ERRNO(r, errno, "setsid"); return; }
    char detail[300] = "";
    for (int fd = 0; fd < 3; fd++) {
        if (ioctl(fd, TIOCSCTTY, 1) == 0) {
            char tty[128] = "?";
            ttyname_r(fd, tty, sizeof tty);
            say(r, ALLOWED, "made %s (fd %d) its controlling terminal", tty, fd);
            return;
        }
        append(detail, sizeof detail, " fd%d:%s", fd, strerrorname_np(errno));
    }
    say(r, BLOCKED, "ioctl(TIOCSCTTY, steal):%s", detail);
}

/* The container's first process must lead its own session, with no controlling terminal: otherwise it shares
 * the caller's session (job-control signals, SIGHUP, /dev/tty, TIOCSTI). */
static long start_stat[6];
static int start_stat_ok;
static void p_own_session(struct result *r) {
    if (!start_stat_ok) { say(r, ALLOWED, "cannot read /proc/self/stat"); return; }
    if (start_stat[3] != main_pid)
        say(r, ALLOWED, "pid %d is in session %ld (0: a session led from outside the container)", (int)main_pid,
            start_stat[3]);
    else say(r, BLOCKED, "pid %d leads its own session (sid %ld, pgrp %ld)", (int)main_pid, start_stat[3], start_stat[2]);
}
static void p_ctty(struct result *r) {
    if (!start_stat_ok) { say(r, ALLOWED, "cannot read /proc/self/stat"); return; }
    if (start_stat[4] != 0)
        say(r, ALLOWED, "controlling terminal %ld:%ld (tty_nr %ld)", (start_stat[4] >> 8) & 0xfff,
            (start_stat[4] & 0xff) | ((start_stat[4] >> 12) & 0xfff00), start_stat[4]);
    else say(r, BLOCKED, "no controlling terminal (tty_nr 0)");
}

/* ---------------------------------------------------------------- the table */

struct probe {
    const char *name;
    void (*run)(struct result *);
};

static const struct probe probes[] = {
    {"proc-sys-hostname", p_sysctl_hostname},
    {"proc-sys-drop-caches", p_sysctl_drop_caches},
    {"proc-sys-core-pattern", p_core_pattern},
    {"proc-sys-modprobe", p_modprobe},
    {"proc-sysrq-trigger", p_sysrq},
    {"sys-uevent-helper", p_uevent_helper},
    {"cgroup-release-agent", p_release_agent},
    {"cgroup-raise-limits", p_cgroup_limits},
    {"mount-tmpfs", p_mount_tmpfs},
    {"mount-proc", p_mount_proc},
    {"mount-cgroup-v1", p_mount_cgroup},
    {"fsopen-tmpfs", p_fsopen},
    {"remount-root-rw", p_remount_root_rw},
    {"write-rootfs", p_write_rootfs},
    {"pivot-root", p_pivot_root},
    {"chroot-escape", p_chroot},
    {"unshare-user", p_unshare_user},
    {"unshare-mount", p_unshare_mount},
    {"unshare-net", p_unshare_net},
    {"unshare-pid", p_unshare_pid},
    {"unshare-cgroup", p_unshare_cgroup},
    {"clone-newuser", p_clone_newuser},
    {"setns-proc1", p_setns_proc1},
    {"setns-foreign", p_setns_foreign},
    {"keyctl-join-session", p_keyctl_join},
    {"add-key", p_add_key},
    {"bpf-prog-load", p_bpf_prog},
    {"bpf-map-create", p_bpf_map},
    {"perf-event-open", p_perf_event},
    {"userfaultfd", p_userfaultfd},
    {"io-uring-setup", p_io_uring},
    {"open-by-handle-at", p_open_by_handle},
    {"mknod-block-8-0", p_mknod_block},
    {"mknod-char-1-1", p_mknod_char},
    {"socket-raw", p_raw_socket},
    {"socket-packet", p_packet_socket},
    {"socket-vsock", p_vsock},
    {"socket-alg", p_alg},
    {"abstract-unix-host", p_abstract_unix},
    {"kexec-load", p_kexec_load},
    {"kexec-file-load", p_kexec_file_load},
    {"init-module", p_init_module},
    {"finit-module", p_finit_module},
    {"delete-module", p_delete_module},
    {"reboot", p_reboot},
    {"acct", p_acct},
    {"fanotify-init", p_fanotify},
    {"dmesg-read", p_dmesg},
    {"adjtimex-set", p_adjtimex},
    {"ioperm", p_ioperm},
    {"rt-scheduler", p_rt_sched},
    {"vhangup", p_vhangup},
    {"setuid-root", p_setuid_root},
    {"capset-raise", p_cap_raise},
    {"ptrace-pid1", p_ptrace_pid1},
    {"proc-self-exe-write", p_self_exe},
    {"proc-1-exe-write", p_pid1_exe},
    {"fd-leak", p_fd_leak},
    {"cwd-outside-root", p_cwd},
    {"proc-kcore-read", p_kcore},
    {"dev-mem-read", p_dev_mem},
    {"tiocsti-fd0", p_tiocsti0},
    {"tiocsti-fd1", p_tiocsti1},
    {"tiocsti-fd2", p_tiocsti2},
    {"tiocsti-devtty", p_tiocsti_devtty},
    {"tiocsctty-steal", p_tiocsctty_steal},
    {"own-session", p_own_session},
    {"controlling-tty", p_ctty},
};

/* ---------------------------------------------------------------- runner */

static void print_line(const char *verdict, const char *name, const char *detail) {
    char line[900];
    int n = snprintf(line, sizeof line, "%s %s %s\n", verdict, name, detail);
    if (n > (int)sizeof line - 1) n = (int)sizeof line - 1, line[n - 1] = '\n';
    for (char *p = line; p < line + n - 1; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(1, line + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
    }
}

/* Runs one probe in a child with a 5 s alarm and returns its verdict through a pipe. */
static void run_probe(const struct probe *p) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) { print_line("ERROR", p->name, errtext(errno)); return; }
    pid_t pid = fork();
    if (pid < 0) { print_line("ERROR", p->name, errtext(errno)); close(fds[0]); close(fds[1]); return; }
    if (pid == 0) {
        close(fds[0]);
        alarm(5);
        struct result r;
        memset(&r, 0, sizeof r);
        p->run(&r);
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
        _exit(0);
    }
    close(fds[1]);
    struct result r;
    ssize_t n = read(fds[0], &r, sizeof r);
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (n == (ssize_t)sizeof r) {
        r.detail[sizeof r.detail - 1] = 0;
        print_line(r.verdict == ALLOWED ? "ALLOWED" : r.verdict == NA ? "NA" : "BLOCKED", p->name, r.detail);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        print_line("BLOCKED", p->name, "killed by SIGSYS (seccomp)");
    } else if (WIFSIGNALED(st)) {
        char d[80];
        snprintf(d, sizeof d, "the probe died of signal %d (%s)", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? "timed out after 5 s" : strsignal(WTERMSIG(st)));
        print_line("ERROR", p->name, d);
    } else {
        print_line("ERROR", p->name, "the probe exited without a verdict");
    }
}

static void session_mode(void) {
    long s[6];
    char line[300];
    if (read_stat("/proc/self/stat", s) < 0) { print_line("ERROR", "session", "cannot read /proc/self/stat"); return; }
    int n = snprintf(line, sizeof line, "SESSION pid=%d ppid=%ld pgrp=%ld sid=%ld tty_nr=%ld tpgid=%ld\n", (int)getpid(),
                     s[1], s[2], s[3], s[4], s[5]);
    if (write(1, line, (size_t)n) < 0) {}
    char out[300] = "TIOCSTI";
    for (int fd = 0; fd < 3; fd++) {
        char c = ' ';
        int ok = ioctl(fd, TIOCSTI, &c) == 0;
        append(out, sizeof out, " fd%d=%s", fd, ok ? "pushed" : strerrorname_np(errno));
    }
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) append(out, sizeof out, " devtty=open:%s", strerrorname_np(errno));
    else {
        char c = ' ';
        int ok = ioctl(tty, TIOCSTI, &c) == 0;
        append(out, sizeof out, " devtty=%s", ok ? "pushed" : strerrorname_np(errno));
    }
    append(out, sizeof out, "\n");
    if (write(1, out, strlen(out)) < 0) {}
}

int main(int argc, char **argv) {
    /* Before anything opens a descriptor. */
    snapshot_fds();
    main_pid = getpid();
    start_stat_ok = read_stat("/proc/self/stat", start_stat) == 0;
    stat("/", &root_stat);
    signal(SIGPIPE, SIG_IGN);

    if (argc > 1 && !strcmp(argv[1], "session")) {
        session_mode();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "syscall")) {
        /* "escape_probe syscall NR": the errno a bare syscall(NR) gets (seccomp's answer for unknown numbers). */
        long r = syscall(strtol(argv[2], NULL, 10), 0, 0, 0, 0, 0, 0);
        printf("syscall %s: %s\n", argv[2], r < 0 ? strerrorname_np(errno) : "ok");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--abstract") && i + 1 < argc) abstract_name = argv[++i];
        else { fprintf(stderr, "usage: escape_probe [--abstract NAME] | escape_probe session | escape_probe syscall NR\n"); return 2; }
    }
    size_t count = sizeof probes / sizeof probes[0];
    for (size_t i = 0; i < count; i++) run_probe(&probes[i]);
    char end[32];
    int n = snprintf(end, sizeof end, "END %zu\n", count);
    if (write(1, end, (size_t)n) < 0) {}
    return 0;
}
