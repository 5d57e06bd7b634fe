import CorralRuntime
import Glibc

/// Tells the C start-up code (CCorral/exeseal.c) that this is the corral executable, so create/run/exec re-exec
/// from a read-only view of the binary before Swift starts; test binaries that link the library do not define it.
@_cdecl("corral_seal_at_startup") func sealAtStartup() {}

exit(Corral.main(CommandLine.arguments, sealExecutable: true))
