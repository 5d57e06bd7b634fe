// What `--version` says about the build: the commit the binary was built from.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_BUILDINFO_H
#define CORRAL_BUILDINFO_H

#ifdef __cplusplus
extern "C" {
#endif

/// The commit of the build (`git describe --always --dirty`), or "unknown". scripts/build writes it into the
/// linked binary after the link (see buildinfo.c), so a new commit does not change any compiler or linker input.
const char *corral_build_commit(void);

#ifdef __cplusplus
}
#endif
#endif
