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
        // The child-safe C executor: everything that may run after clone() in the container child (namespaces, mounts,
        // rootfs, /dev, console, process attributes, seccomp loading, hooks, copy-up) plus the plan and message
        // structs. Raw syscalls and stack memory only; never calls back into Swift.
        .target(name: "CCorral", cSettings: [.define("_GNU_SOURCE")]),
        // Host shims, run by the runtime process only: pidfds, signals, unix sockets, /proc files, the exe seal, the
        // cgroup v2 device program, idmapped mount preparation, network devices, probes. One header per concern.
        .target(name: "CCorralHost", cSettings: [.define("_GNU_SOURCE")]),
        // Pure Swift: JSON reader/writer and the OCI runtime-spec model with path-precise validation.
        .target(name: "CorralSpec"),
        // libseccomp (Debian's libseccomp-dev): the parent compiles linux.seccomp to BPF with it. `link "seccomp"` in
        // the module map picks libseccomp.a under -static-executable, so the release binary stays fully static.
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp"),
        // libcap: capability names, as the kernel and libcap spell them.
        .systemLibrary(name: "CCap", path: "Sources/CCap"),
        // Planning, state, commands, errors and logs.
        .target(name: "CorralRuntime", dependencies: ["CCorral", "CCorralHost", "CorralSpec", "CSeccomp", "CCap"]),
        // Thin entry point.
        .executableTarget(name: "corral", dependencies: ["CorralRuntime", "CCorralHost"]),
        .testTarget(name: "CorralSpecTests", dependencies: ["CorralSpec"]),
        // Fixtures/: recorded data (D-Bus traffic) that tests read from disk, not sources.
        .testTarget(name: "CorralRuntimeTests", dependencies: ["CorralRuntime", "CorralSpec"], exclude: ["Fixtures"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CorralSpec"]),
    ],
    swiftLanguageModes: [.v5]
)
