// CVE-2019-5736: the re-exec from a read-only view of the binary, and the arguments the C start-up saw.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_EXESEAL_H
#define CORRAL_EXESEAL_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Re-executes the running binary from a read-only detached mount of itself (CVE-2019-5736) unless it already
/// runs from a read-only mount. Returns 0 when nothing was needed, -errno on failure; never returns on success.
int corral_reexec_readonly(char *const argv[]);
/// The process's argc/argv as the start-up code saw them (0/NULL before it ran). The executable reads its
/// arguments here rather than through CommandLine, whose one-time set-up code sits in a part of the standard
/// library that nothing else on the command paths touches (one more 64 KiB window of the binary in memory).
int corral_argc(void);
char **corral_argv(void);
/// The verb as Corral.main's argument parser finds it, for the start-up seal: the first argument that is neither an
/// option nor the value of a value-taking global option (`--root X`; `--root=X` carries its own); NULL when there is
/// none. Keeps its own list of those options (Swift has not started): ArgumentsTests checks it against
/// Corral.globalOptions. A miss would only cost the early seal; Corral.main seals again.
const char *corral_early_verb(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
