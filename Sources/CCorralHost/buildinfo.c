// The build's commit, patched into the linked binary by scripts/build. Declared in corral_buildinfo.h.
#include "corral_buildinfo.h"

#define MARKER "CORRAL-BUILD-COMMIT:"

/// scripts/build finds the marker (it occurs once in the binary) and overwrites what follows it, NUL-padded, up to
/// the array's end. Not const: the compiler must not fold the "unknown" it starts with into its callers.
char corral_build_commit_slot[64] __attribute__((used)) = MARKER "unknown";

const char *corral_build_commit(void) { return corral_build_commit_slot + sizeof MARKER - 1; }
