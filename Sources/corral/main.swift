import CCorralHost
import CCorral
import CorralRuntime
import Glibc

/// Tells the C start-up code (CCorral/exeseal.c) that this is the corral executable, so create/run/exec re-exec
/// from a read-only view of the binary before Swift starts; test binaries that link the library do not define it.
@_cdecl("corral_seal_at_startup") func sealAtStartup() {}

// The arguments as the C start-up code saved them (see corral_argv in corral.h).
let argv = corral_argv()
let args = (0..<Int(corral_argc())).map { String(cString: argv![$0]!) }
exit(Corral.main(args, sealExecutable: true))
