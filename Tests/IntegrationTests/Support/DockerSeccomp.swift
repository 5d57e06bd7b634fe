// Docker's seccomp profile format (moby profiles/seccomp: archMap, includes/excludes by arch, capability and
// minimum kernel) converted to OCI `linux.seccomp` the way moby's setupSeccomp does for one architecture.
// Test support only: the runtime itself takes OCI form, like runc.
import Glibc
import CorralSpec

enum DockerSeccomp {
    /// Path of Docker's default profile in the shared data.
    static let defaultProfilePath = sharedDataDir + "/docker-default-seccomp.json"

    /// Go's GOARCH of this machine (moby compares `includes.arches` with it) and the matching libseccomp arch
    /// (moby picks the `archMap` entry with it).
    static var goArch: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    static let seccompArchOf: [String: String] = [
        "amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "386": "SCMP_ARCH_X86", "arm": "SCMP_ARCH_ARM",
        "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X", "riscv64": "SCMP_ARCH_RISCV64",
    ]

    /// Loads and converts Docker's default profile for a container whose bounding set is `bounding`.
    static func defaultProfile(bounding: [String] = []) throws -> JSONValue {
        guard let text = readFile(defaultProfilePath) else {
            throw HarnessError("cannot read \(defaultProfilePath)")
        }
        return try convert(JSONValue.parse(text), bounding: bounding)
    }

    /// moby's `setupSeccomp`: architectures from `archMap` (the native one plus its sub-architectures) or
    /// `architectures`; every rule kept only when its `includes` all hold and none of its `excludes` does, where
    /// `arches` are Go arch names, `caps` are checked against the bounding set and `minKernel` against `kernel`.
    static func convert(_ p: JSONValue, goArch: String = goArch, bounding: [String],
                        kernel: (Int, Int) = kernelVersion()) throws -> JSONValue {
        if p["architectures"]?.arrayValue != nil && p["archMap"]?.arrayValue != nil {
            throw HarnessError("both 'architectures' and 'archMap' are specified in the seccomp profile")
        }
        var out = JSONObject()
        out["defaultAction"] = p["defaultAction"] ?? "SCMP_ACT_ERRNO"
        if let e = p["defaultErrnoRet"] { out["defaultErrnoRet"] = e }
        var arches: [JSONValue] = p["architectures"]?.arrayValue ?? []
        let native = seccompArchOf[goArch] ?? ""
        for a in p["archMap"]?.arrayValue ?? [] where a["architecture"]?.stringValue == native {
            arches.append(.string(native))
            arches += a["subArchitectures"]?.arrayValue ?? []
        }
        if !arches.isEmpty { out["architectures"] = .array(arches) }
        for key in ["flags", "listenerPath", "listenerMetadata"] { if let v = p[key] { out[key] = v } }

        func minKernelOK(_ v: JSONValue?) -> Bool? {
            guard let s = v?.stringValue else { return nil }
            let parts = s.split(separator: ".").compactMap { Int($0) }
            let want = (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
            return kernel.0 > want.0 || (kernel.0 == want.0 && kernel.1 >= want.1)
        }
        func strings(_ v: JSONValue?) -> [String] { v?.arrayValue?.compactMap { $0.stringValue } ?? [] }

        var calls: [JSONValue] = []
        rules: for call in p["syscalls"]?.arrayValue ?? [] {
            if let ex = call["excludes"] {
                if strings(ex["arches"]).contains(goArch) { continue rules }
                if strings(ex["caps"]).contains(where: { bounding.contains($0) }) { continue rules }
                if minKernelOK(ex["minKernel"]) == true { continue rules }
            }
            if let inc = call["includes"] {
                let arches = strings(inc["arches"])
                if !arches.isEmpty && !arches.contains(goArch) { continue rules }
                if strings(inc["caps"]).contains(where: { !bounding.contains($0) }) { continue rules }
                if minKernelOK(inc["minKernel"]) == false { continue rules }
            }
            var names = call["names"]?.arrayValue ?? []
            if let n = call["name"]?.stringValue, !n.isEmpty { names = [.string(n)] }
            var c = JSONObject()
            c["names"] = .array(names)
            c["action"] = call["action"] ?? "SCMP_ACT_ERRNO"
            if let e = call["errnoRet"] { c["errnoRet"] = e }
            if let args = call["args"]?.arrayValue, !args.isEmpty {
                c["args"] = .array(args.map { a in
                    var o = JSONObject()
                    o["index"] = a["index"] ?? 0
                    o["value"] = a["value"] ?? 0
                    if let v2 = a["valueTwo"], v2.numberText != "0" { o["valueTwo"] = v2 }
                    o["op"] = a["op"] ?? "SCMP_CMP_EQ"
                    return .object(o)
                })
            }
            calls.append(.object(c))
        }
        out["syscalls"] = .array(calls)
        return .object(out)
    }
}
