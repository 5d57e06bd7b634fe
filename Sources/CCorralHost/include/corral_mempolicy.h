// Probing which memory policies the kernel takes.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_MEMPOLICY_H
#define CORRAL_MEMPOLICY_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Whether the kernel takes memory policy `mode` (MPOL_* | MPOL_F_*) with node `node` (-1: no nodes): mbind(2) of
/// a scratch page, unmapped again, so the runtime's own policy is never touched. 0 or -errno.
int corral_mempolicy_probe(int mode, int node);

#ifdef __cplusplus
}
#endif
#endif
