// linux.netDevices: moving a host interface into a container's network namespace.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_NETDEV_H
#define CORRAL_NETDEV_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// linux.netDevices: moves the host interface `host_name` into the network namespace `netns_fd`, renamed to
/// `new_name` in the same request, then restores its addresses and up state there. 0 or -errno; `what` (room
/// `what_len`) names the step that failed.
int corral_netdev_move(const char *host_name, const char *new_name, int netns_fd, char *what, int what_len);

#ifdef __cplusplus
}
#endif
#endif
