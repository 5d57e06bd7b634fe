// Unix sockets: connecting to --console-socket, --pidfd-socket, seccomp agents and the monitor; listening for the
// monitor.
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
/// Connects a unix socket of `type` (SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM) to `path`, close-on-exec: fd or
/// -errno (-EPROTOTYPE when the socket there is of another type).
int corral_connect_unix_type(const char *path, int type);
/// Binds and listens on a unix socket of `type` at `path` (mode 0600), close-on-exec: fd or -errno.
int corral_listen_unix_type(const char *path, int type);

#ifdef __cplusplus
}
#endif
#endif
