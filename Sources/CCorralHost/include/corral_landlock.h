// The kernel's Landlock ABI, for the planner and `corral features`.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_LANDLOCK_H
#define CORRAL_LANDLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/// landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the highest Landlock ABI the kernel offers
/// (1 and up), or -errno when it has none (ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot).
int corral_landlock_abi(void);

#ifdef __cplusplus
}
#endif
#endif
