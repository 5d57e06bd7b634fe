// Fuzz target `config`: config.json bytes → JSON parser → Spec.parse → Planner.plan, exactly the path of
// `corral create` up to its first side effect (the plan is validated completely before the state directory, the
// cgroups or any process exist). Also serialises the parsed JSON again (the writer runs on state.json data)
// and resolves the cgroups on a pure cgroup2 host, since that validation differs from the hybrid one.
import Glibc
import CorralSpec
@testable import CorralRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let json = try? JSONValue.parse(bytes) else { return 0 }
    _ = json.serialized()
    let spec: Spec
    do { spec = try Spec.decode(json) } catch {
        _ = error.description
        return 0
    }
    _ = try? CgroupPlan.make(spec, id: "fuzz", host: FuzzFixture.v2Host, systemd: false)
    var options = PlanOptions(id: "fuzz", bundle: FuzzFixture.bundle)
    options.terminalRelay = true
    options.cgroupHost = FuzzFixture.hybridHost
    options.seccompCacheDir = nil
    do {
        _ = try Planner.plan(spec, options: options, warn: FuzzFixture.ignore, note: FuzzFixture.ignore)
    } catch {
        _ = error.message
    }
    return 0
}
