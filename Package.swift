// swift-tools-version:6.0
// corral: a runc-compatible OCI container runtime. No Swift package dependencies: the toolchain's
// own libraries only (stdlib + Glibc), plus a C target that does everything after clone().
import PackageDescription

let package = Package(
    name: "corral",
    products: [
        .executable(name: "corral", targets: ["corral"]),
    ],
    targets: [
        // C executor: raw syscalls, the clone()d child, mounts, pivot_root. Never calls back into Swift.
        .target(name: "CCorral", cSettings: [.define("_GNU_SOURCE")]),
        // Pure Swift: JSON reader/writer and the OCI runtime-spec model with path-precise validation.
        .target(name: "CorralSpec"),
        // Planning, state, commands, errors and logs.
        .target(name: "CorralRuntime", dependencies: ["CCorral", "CorralSpec"]),
        // Thin entry point.
        .executableTarget(name: "corral", dependencies: ["CorralRuntime"]),
        .testTarget(name: "CorralSpecTests", dependencies: ["CorralSpec"]),
        .testTarget(name: "CorralRuntimeTests", dependencies: ["CorralRuntime", "CorralSpec"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CorralSpec"]),
    ],
    swiftLanguageModes: [.v5]
)
