// Loading the seccomp filter in the child. The filter is compiled by the parent (libseccomp, cached) and only
// handed to the kernel here: no parsing, no allocation after clone.
#include "internal.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>

void load_seccomp(const struct corral_plan *p) {
    if (!p->seccomp_filter) return;
    struct sock_fprog prog = { .len = (unsigned short)p->seccomp_len, .filter = (struct sock_filter *)p->seccomp_filter };
    long r = RSYS(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
    if (r < 0) child_fail(p, CORRAL_STAGE_SECCOMP, (int)r, -1, "load seccomp filter", NULL);
    if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
        // The listener goes to the parent, which hands it to linux.seccomp.listenerPath with the state.
        child_exchange(p, CORRAL_MSG_SECCOMP_FD, (int)r, CORRAL_MSG_SECCOMP_DONE, CORRAL_STAGE_SECCOMP, "hand over seccomp listener");
        x_close((int)r);
    }
}
