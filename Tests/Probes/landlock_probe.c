/*
 * landlock_probe: the operations Landlock's network rules and scopes govern, one line per operation, for
 * Tests/IntegrationTests/LandlockTests.swift. Run inside a container (or on the host for `abi`):
 *
 *     landlock_probe abi                      `abi N` (the kernel's Landlock ABI) or `abi <ERRNO>`
 *     landlock_probe OP ARG [OP ARG ...]      in order, listeners kept open until the end:
 *         listen PORT      bind 127.0.0.1:PORT and listen          `listen PORT ok|<ERRNO>`
 *         connect PORT     connect to 127.0.0.1:PORT               `connect PORT ok|<ERRNO>`
 *         kill PID         kill(PID, 0)                            `kill PID ok|<ERRNO>`
 *         abstract NAME    connect to the abstract unix socket NAME  `abstract NAME ok|<ERRNO>`
 *
 * <ERRNO> is the errno's name (EACCES, EPERM, ...). Built by the integration tests with `cc -static -O2`
 * (EscapeProbes in EscapeProbeTests.swift). Not part of any SwiftPM target.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

static const char *errname(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EADDRINUSE: return "EADDRINUSE";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

static void report(const char *op, const char *arg, int r) {
    printf("%s %s %s\n", op, arg, r == 0 ? "ok" : errname(r));
    fflush(stdout);
}

static struct sockaddr_in loopback(const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "abi") == 0) {
        long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U);
        if (v < 0) printf("abi %s\n", errname(errno)); else printf("abi %ld\n", v);
        return 0;
    }
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: landlock_probe abi | landlock_probe OP ARG [OP ARG ...]\n");
        return 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *op = argv[i], *arg = argv[i + 1];
        int r = 0;
        if (strcmp(op, "listen") == 0 || strcmp(op, "connect") == 0) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = loopback(arg);
            int one = 1;
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (op[0] == 'l') r = bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0 ? 0 : errno;
            else { r = connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno; close(s); }
        } else if (strcmp(op, "kill") == 0) {
            r = kill(atoi(arg), 0) == 0 ? 0 : errno;
        } else if (strcmp(op, "abstract") == 0) {
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            struct sockaddr_un a;
            memset(&a, 0, sizeof a);
            a.sun_family = AF_UNIX;
            size_t n = strlen(arg);
            if (n > sizeof a.sun_path - 2) n = sizeof a.sun_path - 2;
            memcpy(a.sun_path + 1, arg, n);
            r = connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0 ? 0 : errno;
            close(s);
        } else {
            fprintf(stderr, "landlock_probe: unknown operation %s\n", op);
            return 2;
        }
        report(op, arg, r);
    }
    return 0;
}
