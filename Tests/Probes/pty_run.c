/*
 * pty_run: runs a command the way an interactive shell runs a foreground job, on a fresh pseudo-terminal, and
 * reports afterwards what the job did to that terminal. Host side of the terminal-escape tests
 * (Tests/IntegrationTests/EscapeProbeTests.swift); built with `cc -static -O2`.
 *
 *     pty_run [--kill-group] [--leak-host-fd] [--listen-abstract NAME] [--timeout SEC] -- COMMAND ARGS...
 *
 * Process layout, as with a login shell:
 *     pty_run (P)      holds the master; copies everything the terminal prints to its stdout
 *       session (S)    setsid(), the pty slave becomes its controlling terminal (TIOCSCTTY); the "shell"
 *         job (G)      its own process group, made the terminal's foreground group; stdio on the slave; execs COMMAND
 *
 * The terminal is put in non-canonical mode without echo, so every byte pushed into its input queue (TIOCSTI) is
 * counted by FIONREAD. After the job exits S, still the controlling process (so the terminal is not hung up yet):
 *   - counts and reads the bytes waiting in the terminal's input queue: nobody reads them, so any byte there was
 *     injected by the job or something it started;
 *   - lists the processes still in the terminal's session or in the job's process group (a detached container
 *     must be in neither);
 *   - with --kill-group sends SIGKILL to the job's process group (`kill -- -PGID`, what a shell or a CI runner
 *     does to clean up a job) and reports the result: ESRCH when no process is left in it.
 * --leak-host-fd gives the job the host's / as descriptor 7 (not close-on-exec): a runtime must not pass a
 * descriptor it was not asked to into the container. --listen-abstract listens on an abstract unix socket (host
 * network namespace) for the probe's connect attempt.
 *
 * Output: the terminal's output, then one line
 *     PTY-RESULT status=<job exit status> injected=<n> bytes=<hex or -> members=<pid:comm,... or -> group-kill=<-|ok|ESRCH>
 * Exit status 0 when the report was produced, 2 on usage or setup errors, 3 on timeout.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

static void die(const char *what) {
    fprintf(stderr, "pty_run: %s: %s\n", what, strerror(errno));
    _exit(2);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len >= size - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

/* pid:comm of every process (but `self`) whose session is `sid` or whose process group is `pgid`. */
static void members(pid_t self, pid_t sid, pid_t pgid, char *out, size_t size) {
    out[0] = 0;
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == self) continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
        if (!open_paren || !close_paren) continue;
        char state;
        long ppid, pgrp, session;
        if (sscanf(close_paren + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) != 4) continue;
        if (state == 'Z' || state == 'X') continue;
        if (session != sid && pgrp != pgid) continue;
        *close_paren = 0;
        append(out, size, "%s%d:%s", out[0] ? "," : "", pid, open_paren + 1);
    }
    closedir(d);
}

/* The session leader S: everything from setsid to the report. Never returns. */
static void session(const char *slave_name, int report, char **argv, int kill_group, int leak_fd) {
    if (setsid() < 0) die("setsid");
    int slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) die("open pty slave");
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("TIOCSCTTY");
    struct termios t;
    if (tcgetattr(slave, &t) < 0) die("tcgetattr");
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHOE | ECHOK | ECHONL | IEXTEN);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(slave, TCSANOW, &t) < 0) die("tcsetattr");
    struct winsize ws = {.ws_row = 24, .ws_col = 120};
    ioctl(slave, TIOCSWINSZ, &ws);
    signal(SIGTTOU, SIG_IGN);  /* tcsetpgrp from the session leader's own (background) group */

    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) die("pipe");
    pid_t job = fork();
    if (job < 0) die("fork");
    if (job == 0) {
        setpgid(0, 0);
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1) _exit(126);  /* wait until we are the foreground group */
        for (int fd = 0; fd < 3; fd++)
            if (dup2(slave, fd) < 0) _exit(126);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        if (leak_fd) {
            int root = open("/", O_RDONLY | O_DIRECTORY);  /* deliberately not O_CLOEXEC */
            if (root >= 0 && root != 7) { dup2(root, 7); close(root); }
        }
        signal(SIGTTOU, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "pty_run: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(job, job);
    if (tcsetpgrp(slave, job) < 0) die("tcsetpgrp");
    close(go[0]);
    write_all(go[1], "g", 1);
    close(go[1]);

    int st = 0;
    while (waitpid(job, &st, 0) < 0 && errno == EINTR) {}
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(200 * 1000);  /* let anything the job left running settle */

    tcsetpgrp(slave, getpgrp());  /* back to the foreground: a background read of the terminal fails with EIO */
    int queued = 0;
    if (ioctl(slave, FIONREAD, &queued) < 0) queued = -1;
    char bytes[200] = "";
    fcntl(slave, F_SETFL, fcntl(slave, F_GETFL) | O_NONBLOCK);
    unsigned char in[64];
    ssize_t n = read(slave, in, sizeof in);
    for (ssize_t i = 0; i < n; i++) append(bytes, sizeof bytes, "%02x", in[i]);

    char left[600];
    members(getpid(), getsid(0), job, left, sizeof left);
    const char *killed = "-";
    if (kill_group) killed = kill(-job, SIGKILL) == 0 ? "ok" : strerrorname_np(errno);

    char line[1100];
    int len = snprintf(line, sizeof line, "PTY-RESULT status=%d injected=%d bytes=%s members=%s group-kill=%s\n", status,
                       queued, bytes[0] ? bytes : "-", left[0] ? left : "-", killed);
    write_all(report, line, (size_t)len);
    _exit(0);
}

int main(int argc, char **argv) {
    int kill_group = 0, leak_fd = 0, i = 1;
    double timeout = 60;
    const char *abstract_name = NULL;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--kill-group")) kill_group = 1;
        else if (!strcmp(argv[i], "--leak-host-fd")) leak_fd = 1;
        else if (!strcmp(argv[i], "--listen-abstract") && i + 1 < argc) abstract_name = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout = atof(argv[++i]);
        else if (!strcmp(argv[i], "--")) { i++; break; }
        else break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: pty_run [--kill-group] [--leak-host-fd] [--listen-abstract NAME] [--timeout SEC] -- CMD...\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    if (abstract_name) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        size_t len = strlen(abstract_name);
        if (len > sizeof a.sun_path - 2) len = sizeof a.sun_path - 2;
        memcpy(a.sun_path + 1, abstract_name, len);
        if (s < 0 || bind(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0 ||
            listen(s, 16) < 0)
            die("listen on the abstract socket");
    }

    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("open a pty");
    char *name = ptsname(master);
    if (!name) die("ptsname");
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) die("pipe");

    pid_t s = fork();
    if (s < 0) die("fork");
    if (s == 0) {
        close(master);
        close(report[0]);
        session(name, report[1], argv + i, kill_group, leak_fd);
    }
    close(report[1]);

    char result[1200] = "";
    size_t got = 0;
    int exited = 0, master_open = 1, report_open = 1;
    double deadline = now() + timeout, quiet_since = 0;
    while (master_open || report_open || !exited) {
        if (now() > deadline) {
            kill(-s, SIGKILL);
            kill(s, SIGKILL);
            waitpid(s, NULL, 0);
            write_all(1, "\nPTY-RESULT timeout\n", 20);
            return 3;
        }
        struct pollfd p[2] = {{.fd = master_open ? master : -1, .events = POLLIN},
                              {.fd = report_open ? report[0] : -1, .events = POLLIN}};
        poll(p, 2, 50);
        if (master_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 0) { write_all(1, buf, (size_t)n); quiet_since = 0; }
            else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {}
            else master_open = 0;  /* EIO: every slave descriptor is closed (or hung up) */
        }
        if (report_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(report[0], result + got, sizeof result - 1 - got);
            if (n > 0) got += (size_t)n;
            else if (n == 0 || errno != EINTR) report_open = 0;
        }
        if (!exited && waitpid(s, NULL, WNOHANG) == s) exited = 1;
        /* A detached process may keep the slave open after the session ended: stop reading after 300 ms quiet. */
        if (exited && !report_open && master_open) {
            if (!quiet_since) quiet_since = now();
            else if (now() - quiet_since > 0.3) master_open = 0;
        }
    }
    result[got] = 0;
    write_all(1, "\n", 1);
    if (got) write_all(1, result, got);
    else write_all(1, "PTY-RESULT none: the session process reported nothing\n", 55);
    return 0;
}
