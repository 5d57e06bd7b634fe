// /dev planning (no root): the default nodes, linux.devices overrides, user-namespace binds, refused paths and
// the standard symlinks, both through DevicePlanner directly and through Planner.plan.
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec

final class DevicesTests: XCTestCase {
    private let chr = UInt32(S_IFCHR), blk = UInt32(S_IFBLK), fifo = UInt32(S_IFIFO)

    /// The OCI "default devices" as runc creates them: character nodes, 0666, root-owned.
    private func defaults(bind: Bool = false, except: Set<String> = []) -> [DeviceOp] {
        [("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8), ("/dev/urandom", 1, 9),
         ("/dev/tty", 5, 0)].filter { !except.contains($0.0) }.map {
            DeviceOp(path: $0.0, mode: chr | 0o666, major: $0.1, minor: $0.2, bindFromHost: bind)
        }
    }

    private func devices(_ json: String, userNS: Bool = false) throws(RuntimeError) -> [DeviceOp] {
        let spec = try! Spec.parse(Array("{\"ociVersion\": \"1.0.2\", \"linux\": {\"devices\": \(json)}}".utf8))
        return try DevicePlanner.devices(spec.linux?.devices ?? [], inUserNS: userNS)
    }

    func testDefaults() throws {
        XCTAssertEqual(try DevicePlanner.devices([], inUserNS: false), defaults())
        XCTAssertEqual(try DevicePlanner.devices([], inUserNS: true), defaults(bind: true),
                       "mknod is impossible in a user namespace: the host's nodes are bound instead")
    }

    func testConfigDevicesOverrideDefaultsAndAreAppended() throws {
        let got = try devices("""
            [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 0, "gid": 0},
             {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
             {"path": "dev/sda", "type": "b", "major": 8, "minor": 0, "fileMode": 432, "uid": 5, "gid": 6},
             {"path": "/dev/net/tun", "type": "u", "major": 10, "minor": 200, "fileMode": 8630},
             {"path": "/dev/./fifo", "type": "p", "major": 0, "minor": 0}]
            """)
        XCTAssertEqual(got, defaults(except: ["/dev/null"]) + [
            DeviceOp(path: "/dev/null", mode: chr | 0o600, major: 1, minor: 3),
            DeviceOp(path: "/dev/fuse", mode: chr | 0o666, major: 10, minor: 229),
            DeviceOp(path: "/dev/sda", mode: blk | 0o660, major: 8, minor: 0, uid: 5, gid: 6),
            // fileMode's type bits are ignored (8630 = 0o20666): the node type comes from `type`.
            DeviceOp(path: "/dev/net/tun", mode: chr | 0o666, major: 10, minor: 200),
            DeviceOp(path: "/dev/fifo", mode: fifo | 0o666, major: 0, minor: 0),
        ])
    }

    func testUserNamespaceBindsEverythingButFifos() throws {
        let got = try devices("""
            [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229},
             {"path": "/dev/p", "type": "p", "major": 0, "minor": 0}]
            """, userNS: true)
        XCTAssertEqual(got, defaults(bind: true) + [
            DeviceOp(path: "/dev/fuse", mode: chr | 0o666, major: 10, minor: 229, bindFromHost: true),
            DeviceOp(path: "/dev/p", mode: fifo | 0o666, major: 0, minor: 0, bindFromHost: false),
        ])
    }

    func testRefusedDevices() {
        let cases: [(String, String)] = [
            ("{\"path\": \"/dev\", \"type\": \"c\", \"major\": 1, \"minor\": 3}",
             "linux.devices[0].path: \"/dev\" is not a device path"),
            ("{\"path\": \"/dev/..\", \"type\": \"c\", \"major\": 1, \"minor\": 3}",
             "linux.devices[0].path: \"/dev/..\" is not a device path"),
            ("{\"path\": \"/dev/big\", \"type\": \"c\", \"major\": 4096, \"minor\": 0}",
             "linux.devices[0]: invalid device number 4096:0"),
            ("{\"path\": \"/dev/big\", \"type\": \"b\", \"major\": 1, \"minor\": 1048576}",
             "linux.devices[0]: invalid device number 1:1048576"),
            ("{\"path\": \"/dev/neg\", \"type\": \"c\", \"major\": -1, \"minor\": 0}",
             "linux.devices[0]: invalid device number -1:0"),
        ]
        for (device, message) in cases {
            do {
                let got = try devices("[{\"path\": \"/dev/ok\", \"type\": \"c\", \"major\": 1, \"minor\": 3}, \(device)]")
                XCTFail("accepted \(device): \(got)")
            } catch {
                XCTAssertEqual(error.message, message.unitReplacing("[0]", "[1]"), device)
                XCTAssertEqual(error.code, .config, device)
            }
        }
    }

    /// runc creates device nodes wherever the config says (inside the container), and /dev/ptmx is always the
    /// link to the container's devpts.
    func testDevicesOutsideDevAndPtmx() throws {
        var notes: [String] = []
        let spec = try Spec.parse(Array(("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, \"linux\": {\"devices\": " + """
            [{"path": "/tmp/foo", "type": "c", "major": 1, "minor": 3},
             {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2}]}}
            """).utf8))
        let got = try DevicePlanner.devices(spec.linux?.devices ?? [], inUserNS: false, note: { notes.append($0) })
        XCTAssertEqual(got, defaults() + [DeviceOp(path: "/tmp/foo", mode: chr | 0o666, major: 1, minor: 3)])
        XCTAssertEqual(notes, ["linux.devices[1]: /dev/ptmx is the link to the container's devpts (pts/ptmx), not a node"])
    }

    func testSymlinks() {
        let kcore = Files.exists("/proc/kcore")
        func links() -> [String] {
            DevicePlanner.symlinks().map {
                XCTAssertEqual($0.kind, .symlink)
                XCTAssertEqual($0.configIndex, -1)
                return "\($0.dest) -> \($0.source ?? "nil")"
            }
        }
        let standard = ["/dev/fd -> /proc/self/fd", "/dev/stdin -> /proc/self/fd/0", "/dev/stdout -> /proc/self/fd/1",
                        "/dev/stderr -> /proc/self/fd/2"] + (kcore ? ["/dev/core -> /proc/kcore"] : [])
        XCTAssertEqual(links(), standard + ["/dev/ptmx -> pts/ptmx"])
    }

    func testPlannerWiresDevices() throws {
        let b = UnitBundle()
        b.directory("hostdev")
        let dev = "[{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229}]"
        let p = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("linux.devices", dev)]), bundle: b))
        XCTAssertEqual(p.devices, defaults() + [DeviceOp(path: "/dev/fuse", mode: chr | 0o666, major: 10, minor: 229)])
        XCTAssertTrue(p.mounts.contains { $0.kind == .symlink && $0.dest == "/dev/ptmx" })

        // A new user namespace, or a joined one, binds the host's nodes.
        let map = "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]"
        let userNew = PlanFixture.config([("linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"user\"}]"),
                                          ("linux.uidMappings", map), ("linux.gidMappings", map)])
        XCTAssertEqual(PlanFixture.plan(userNew, bundle: b)?.devices, defaults(bind: true))
        let userJoined = PlanFixture.config([("linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}]")])
        XCTAssertEqual(PlanFixture.plan(userJoined, bundle: b)?.devices, defaults(bind: true))

        // /dev bound from the host: no nodes and no links are made, and linux.devices cannot be honoured.
        let devBind = "[{\"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"\(b.dir)/hostdev\", \"options\": [\"rbind\"]}]"
        let bound = try XCTUnwrap(PlanFixture.plan(PlanFixture.config([("mounts", devBind)]), bundle: b))
        XCTAssertEqual(bound.devices, [])
        XCTAssertFalse(bound.mounts.contains { $0.kind == .symlink })
        PlanFixture.expectError(PlanFixture.config([("mounts", devBind), ("linux.devices", dev)]), bundle: b, .config,
                                "linux.devices: cannot create devices when /dev is a bind mount")

        PlanFixture.expectError(PlanFixture.config([("linux.devices", "[{\"path\": \"/dev\", \"type\": \"c\", \"major\": 1, \"minor\": 3}]")]),
                                bundle: b, .config, "linux.devices[0].path: \"/dev\" is not a device path")
    }
}

extension String {
    /// Plain substring replacement (no Foundation).
    func unitReplacing(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

/// Capability names come from libcap: they must agree with the kernel's header both ways.
final class CapabilityTableTests: XCTestCase {
    func testTableMatchesLinuxCapabilityHeader() throws {
        guard let header = Files.readString("/usr/include/linux/capability.h") else {
            throw XCTSkip("/usr/include/linux/capability.h is absent (linux-libc-dev not installed)")
        }
        var fromHeader: [Int: String] = [:]
        for line in header.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 3, f[0] == "#define", f[1].hasPrefix("CAP_"), let n = Int(f[2]) else { continue }
            if f[1] == "CAP_LAST_CAP" { continue }
            fromHeader[n] = String(f[1])
        }
        XCTAssertGreaterThanOrEqual(fromHeader.count, 38, "parsed the header")
        for (n, name) in fromHeader {
            XCTAssertEqual(CapabilityNames.number(name), n, name)
            XCTAssertEqual(CapabilityNames.number(String(name.dropFirst(4))), n, "without the CAP_ prefix: \(name)")
            XCTAssertEqual(CapabilityNames.name(n), name, "capability \(n)")
        }
        XCTAssertNil(CapabilityNames.number("CAP_12"), "bare numbers are not capability names")
        XCTAssertNil(CapabilityNames.number("CAP_BOGUS"))
    }
}
