// Unix sockets: connecting to --console-socket, --pidfd-socket and seccomp listeners.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_UNIXSOCK_H
#define CORRAL_UNIXSOCK_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Connects a SOCK_STREAM unix socket to `path` (O_CLOEXEC). fd or -errno.
int corral_connect_unix(const char *path);

#ifdef __cplusplus
}
#endif
#endif
