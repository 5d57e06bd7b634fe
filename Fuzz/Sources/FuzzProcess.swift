// Fuzz target `process`: an `exec --process` file → Spec.parseProcess → ExecPlanner (validate, terminal check,
// plan) against the fixture container, the path of `corral exec` up to entering the container.
import Glibc
import CorralSpec
@testable import CorralRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcess(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let process: Process
    do { process = try Spec.parseProcess(fuzzBytes(data, size)) } catch {
        _ = error.description
        return 0
    }
    do {
        try ExecPlanner.validate(process)
        try ExecPlanner.checkTerminal(terminal: process.terminal ?? false, detach: false, consoleSocket: false)
        let config = FuzzFixture.config
        let target = ExecTarget(enterFlags: ExecPlanner.namespaceFlags(config), accountsRoot: FuzzFixture.rootfs,
                                setGroupsAllowed: true)
        _ = try ExecPlanner.plan(config: config, process: process, target: target, id: "fuzz", noNewKeyring: false,
                                 preserveFDs: 0, seccompCacheDir: nil, warn: FuzzFixture.ignore, note: FuzzFixture.ignore)
    } catch {
        _ = error.message
    }
    return 0
}
