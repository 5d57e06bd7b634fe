import CorralRuntime
import Glibc

exit(Corral.main(CommandLine.arguments, sealExecutable: true))
