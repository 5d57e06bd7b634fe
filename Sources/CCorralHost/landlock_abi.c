// The kernel's Landlock ABI version (LandlockPlanner, `corral features`).
#include "host.h"
#include "corral_landlock.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

int corral_landlock_abi(void) {
    return (int)RSYS(SYS_landlock_create_ruleset, NULL, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
}
