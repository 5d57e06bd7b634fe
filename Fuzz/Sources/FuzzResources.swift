// Fuzz target `resources`: an `update --resources` document → Spec.parseResources → CgroupLimits, validated on
// both fixture hosts as `update` does (and once more as create's linux.resources with device rules), up to the
// first cgroup file write.
import Glibc
import CorralSpec
@testable import CorralRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResources(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let resources: Resources
    do { resources = try Spec.parseResources(fuzzBytes(data, size)) } catch {
        _ = error.description
        return 0
    }
    for host in [FuzzFixture.hybridHost, FuzzFixture.v2Host] {
        do {
            let limits = try CgroupLimits(resources, prefix: "", includeDevices: false)
            try limits.validate(on: host, update: true)
            _ = limits.v2Controllers(on: host)
        } catch {
            _ = error.message
        }
    }
    do {
        let limits = try CgroupLimits(resources, prefix: "linux.resources", includeDevices: true)
        try limits.validate(on: FuzzFixture.v2Host)
    } catch {
        _ = error.message
    }
    return 0
}
