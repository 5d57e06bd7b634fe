// LandlockPlanner unit tests (no root, no kernel): the io.corral.landlock.* annotations parsed into a plan against a
// given Landlock ABI, every refusal checked by its exact text, and the child's Landlock errors as ChildError words them.
import XCTest
import CCorral
@testable import CorralRuntime
import CorralSpec

final class LandlockPlannerTests: XCTestCase {
    typealias P = LandlockPlanner
    let abi7 = P.Host(abi: 7)

    private func plan(_ a: [String: String], nnp: Bool = true, host: P.Host? = nil) throws -> LandlockPlan? {
        try P.plan(a, noNewPrivileges: nnp, host: host ?? abi7)
    }

    private func refusal(_ a: [String: String], nnp: Bool = true, host: P.Host? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try P.plan(a, noNewPrivileges: nnp, host: host ?? abi7)
            XCTFail("planned: \(a)", file: file, line: line)
            return ""
        } catch {
            XCTAssertEqual(error.code, .config, file: file, line: line)
            return error.message
        }
    }

    func testNothingWithoutLandlockAnnotations() throws {
        XCTAssertNil(try P.plan(nil, noNewPrivileges: false))
        XCTAssertNil(try P.plan(["org.example.x": "1", "io.corral.landlockish": "x"], noNewPrivileges: false))
        // The mode alone asks for no rule.
        XCTAssertNil(try P.plan(["io.corral.landlock.mode": "best-effort"], noNewPrivileges: false))
    }

    func testPathSetsAndRights() throws {
        let p = try XCTUnwrap(plan(["io.corral.landlock.fs.rw": "/tmp, /work/../work/out:/dev/null",
                                    "io.corral.landlock.fs.ro": "/usr:/bin,,/tmp", "io.corral.landlock.mode": " enforce "]))
        XCTAssertEqual(p.mode, .enforce)
        XCTAssertEqual(p.abi, 7)
        XCTAssertEqual(p.handledFS, 0xFFFF, "every filesystem right of ABI 7")
        XCTAssertEqual(p.handledNet, 0)
        XCTAssertEqual(p.scoped, 0)
        XCTAssertEqual(p.paths.map(\.path), ["/tmp", "/work/out", "/dev/null", "/usr", "/bin"])
        XCTAssertEqual(p.paths[0].access, 0xFFFF, "rw and ro on one path: the union")
        XCTAssertEqual(p.paths[0].annotation, "io.corral.landlock.fs.rw")
        XCTAssertEqual(p.paths[3].access, 0b1101, "ro: execute, read_file, read_dir")
        XCTAssertEqual(p.paths[3].annotation, "io.corral.landlock.fs.ro")
        XCTAssertEqual(p.keys, ["io.corral.landlock.fs.rw", "io.corral.landlock.fs.ro"])
        XCTAssertTrue(p.enforced)
        XCTAssertEqual(P.names(p.paths[3].access, P.fsRights), ["execute", "read_file", "read_dir"])
    }

    func testEmptySetsStillHandleTheirKind() throws {
        let p = try XCTUnwrap(plan(["io.corral.landlock.fs.ro": "", "io.corral.landlock.net.connect-tcp": " "]))
        XCTAssertEqual(p.handledFS, 0xFFFF)
        XCTAssertEqual(p.handledNet, 2, "connect_tcp handled: no port may be connected to")
        XCTAssertEqual(p.paths, [])
        XCTAssertEqual(p.ports, [])
    }

    func testPortsAndScopes() throws {
        let p = try XCTUnwrap(plan(["io.corral.landlock.net.connect-tcp": "443, 80,8000-8002",
                                    "io.corral.landlock.net.bind-tcp": "8001,0",
                                    "io.corral.landlock.scope": "signal, abstract-unix-socket"]))
        XCTAssertEqual(p.handledFS, 0)
        XCTAssertEqual(p.handledNet, 3)
        XCTAssertEqual(p.scoped, 3)
        XCTAssertEqual(p.ports, [.init(port: 0, access: 1), .init(port: 80, access: 2), .init(port: 443, access: 2),
                                 .init(port: 8000, access: 2), .init(port: 8001, access: 3), .init(port: 8002, access: 2)])
    }

    func testRecord() throws {
        let p = try XCTUnwrap(plan(["io.corral.landlock.fs.ro": "/bin", "io.corral.landlock.net.connect-tcp": "53",
                                    "io.corral.landlock.scope": "signal", "io.corral.landlock.mode": "best-effort"],
                                   host: P.Host(abi: 5)))
        XCTAssertEqual(p.record().serialized(), """
            {"abi":5,"mode":"best-effort","handledAccessFS":["execute","write_file","read_file","read_dir","remove_dir",\
            "remove_file","make_char","make_dir","make_reg","make_sock","make_fifo","make_block","make_sym","refer",\
            "truncate","ioctl_dev"],"handledAccessNet":["connect_tcp"],"scoped":[],"paths":[{"path":"/bin","access":\
            ["execute","read_file","read_dir"]}],"tcpPorts":[{"port":53,"access":["connect_tcp"]}],"dropped":\
            ["scope.signal (ABI 6)"]}
            """)
        XCTAssertEqual(p.summary, "landlock: ABI 5, best-effort, 1 path rules, 1 TCP port rules, no scopes, dropped: scope.signal (ABI 6)")
    }

    func testBestEffortMasksToTheABI() throws {
        let all = ["io.corral.landlock.fs.rw": "/tmp", "io.corral.landlock.fs.ro": "/", "io.corral.landlock.net.bind-tcp": "80",
                   "io.corral.landlock.scope": "signal", "io.corral.landlock.mode": "best-effort"]
        let p3 = try XCTUnwrap(plan(all, host: P.Host(abi: 3)))
        XCTAssertEqual(p3.handledFS, 0x7FFF, "no ioctl_dev below ABI 5")
        XCTAssertEqual(p3.paths.map(\.access), [0x7FFF, 0b1101])
        XCTAssertEqual(p3.handledNet, 0)
        XCTAssertEqual(p3.ports, [])
        XCTAssertEqual(p3.scoped, 0)
        XCTAssertEqual(p3.dropped, ["fs.ioctl_dev (ABI 5)", "net.bind_tcp (ABI 4)", "scope.signal (ABI 6)"])
        XCTAssertTrue(p3.enforced)
        let p1 = try XCTUnwrap(plan(all, host: P.Host(abi: 1)))
        XCTAssertEqual(p1.handledFS, 0x1FFF)
        XCTAssertEqual(p1.dropped.prefix(3), ["fs.refer (ABI 2)", "fs.truncate (ABI 3)", "fs.ioctl_dev (ABI 5)"])
        let none = try XCTUnwrap(plan(all, host: P.Host(abi: 0, error: ENOSYS)))
        XCTAssertFalse(none.enforced, "nothing the kernel can enforce: the child does no Landlock work")
        XCTAssertEqual(none.paths, [])
        XCTAssertEqual(none.dropped.count, 16 + 1 + 1)
    }

    func testEnforceRefusesWhatTheKernelLacks() {
        XCTAssertEqual(refusal(["io.corral.landlock.fs.ro": "/"], host: P.Host(abi: 4)),
                       "annotations[\"io.corral.landlock.fs.ro\"]: needs Landlock ABI 5 and this kernel offers ABI 4; annotations[\"io.corral.landlock.mode\"] \"best-effort\" enforces only what the kernel offers")
        XCTAssertEqual(refusal(["io.corral.landlock.net.connect-tcp": "80"], host: P.Host(abi: 3)),
                       "annotations[\"io.corral.landlock.net.connect-tcp\"]: needs Landlock ABI 4 and this kernel offers ABI 3; annotations[\"io.corral.landlock.mode\"] \"best-effort\" enforces only what the kernel offers")
        XCTAssertEqual(refusal(["io.corral.landlock.scope": "signal", "io.corral.landlock.mode": "enforce"], host: P.Host(abi: 5)),
                       "annotations[\"io.corral.landlock.scope\"]: needs Landlock ABI 6 and this kernel offers ABI 5; annotations[\"io.corral.landlock.mode\"] \"best-effort\" enforces only what the kernel offers")
        XCTAssertEqual(refusal(["io.corral.landlock.fs.rw": "/tmp"], host: P.Host(abi: 0, error: EOPNOTSUPP)),
                       "annotations[\"io.corral.landlock.fs.rw\"]: needs Landlock ABI 5 and this kernel has no Landlock (landlock_create_ruleset: operation not supported); annotations[\"io.corral.landlock.mode\"] \"best-effort\" enforces only what the kernel offers")
    }

    func testRefusals() {
        XCTAssertEqual(refusal(["io.corral.landlock.fs.rx": "/"]),
                       "annotations[\"io.corral.landlock.fs.rx\"]: unknown Landlock annotation (known: io.corral.landlock.fs.rw, io.corral.landlock.fs.ro, io.corral.landlock.net.bind-tcp, io.corral.landlock.net.connect-tcp, io.corral.landlock.scope, io.corral.landlock.mode)")
        XCTAssertEqual(refusal(["io.corral.landlock.fs.ro": "/", "io.corral.landlock.mode": "strict"]),
                       "annotations[\"io.corral.landlock.mode\"]: unsupported value \"strict\" (supported: enforce, best-effort)")
        XCTAssertEqual(refusal(["io.corral.landlock.net.bind-tcp": "80", "io.corral.landlock.fs.ro": "/"], nnp: false),
                       "annotations[\"io.corral.landlock.fs.ro\"]: Landlock needs process.noNewPrivileges: true (landlock_restrict_self(2) is refused without no_new_privs once the capabilities are dropped)")
        XCTAssertEqual(refusal(["io.corral.landlock.fs.rw": "/tmp,work"]),
                       "annotations[\"io.corral.landlock.fs.rw\"]: \"work\" is not an absolute path")
        XCTAssertEqual(refusal(["io.corral.landlock.net.connect-tcp": "80,http"]),
                       "annotations[\"io.corral.landlock.net.connect-tcp\"]: invalid port \"http\" (a number 0-65535 or a range such as 8000-8010)")
        for bad in ["90-80", "65536", "+80", "-1", "1-", "80-90-100"] {
            XCTAssertEqual(refusal(["io.corral.landlock.net.bind-tcp": bad]),
                           "annotations[\"io.corral.landlock.net.bind-tcp\"]: invalid port \(JSONValue.quoted(bad)) (a number 0-65535 or a range such as 8000-8010)")
        }
        XCTAssertEqual(refusal(["io.corral.landlock.net.bind-tcp": "1-65535"]),
                       "annotations[\"io.corral.landlock.net.bind-tcp\"]: more than 1024 ports")
        XCTAssertEqual(refusal(["io.corral.landlock.scope": "signal,ptrace"]),
                       "annotations[\"io.corral.landlock.scope\"]: unsupported value \"ptrace\" (supported: signal, abstract-unix-socket)")
        let many = (0...256).map { "/p\($0)" }.joined(separator: ",")
        XCTAssertEqual(refusal(["io.corral.landlock.fs.ro": many]),
                       "annotations[\"io.corral.landlock.fs.ro\"]: more than 256 Landlock paths (io.corral.landlock.fs.rw and io.corral.landlock.fs.ro together)")
    }

    func testTheConfigsAnnotationsReachThePlan() throws {
        // best-effort: the live kernel's ABI decides nothing here.
        let b = UnitBundle()
        let annotations = #"{"io.corral.landlock.fs.ro": "/bin", "io.corral.landlock.mode": "best-effort"}"#
        let plan = PlanFixture.plan(PlanFixture.config([("annotations", annotations), ("process.noNewPrivileges", "true")]), bundle: b)
        XCTAssertEqual(plan?.landlock?.keys, ["io.corral.landlock.fs.ro"])
        XCTAssertEqual(plan?.landlock?.mode, .bestEffort)
        XCTAssertNil(PlanFixture.plan(PlanFixture.base(), bundle: b)?.landlock)
        PlanFixture.expectError(PlanFixture.config([("annotations", annotations)]), bundle: b, .config,
                                "annotations[\"io.corral.landlock.fs.ro\"]: Landlock needs process.noNewPrivileges: true (landlock_restrict_self(2) is refused without no_new_privs once the capabilities are dropped)")
    }

    // MARK: the child's errors

    private func childError(index: Int32, err: Int32, detail: String, plan: LandlockPlan?) -> String {
        var m = corral_msg()
        m.type = Int32(CORRAL_MSG_ERROR.rawValue)
        m.stage = Int32(CORRAL_STAGE_LANDLOCK.rawValue)
        m.err = err
        m.index = index
        withUnsafeMutableBytes(of: &m.detail) { buf in
            for (i, b) in detail.utf8.enumerated() { buf[i] = b }
        }
        var launch = LaunchPlan()
        launch.landlock = plan
        return ChildError.describe(m, plan: launch).message
    }

    func testChildErrorsNameTheAnnotation() throws {
        let p = try XCTUnwrap(plan(["io.corral.landlock.fs.rw": "/work", "io.corral.landlock.fs.ro": "/bin",
                                    "io.corral.landlock.net.connect-tcp": "80"]))
        XCTAssertEqual(childError(index: 1, err: ENOENT, detail: "open /bin", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.fs.ro\"]: open /bin: no such file or directory")
        XCTAssertEqual(childError(index: CORRAL_LANDLOCK_PROGRAM.rawValue, err: EACCES, detail: "/opt/app", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.fs.ro\"]: the program \"/opt/app\" is in no path of io.corral.landlock.fs.ro or io.corral.landlock.fs.rw (they are all it may execute): execve would fail with permission denied")
        XCTAssertEqual(childError(index: CORRAL_LANDLOCK_INTERPRETER.rawValue, err: EACCES, detail: "/lib64/ld-linux-x86-64.so.2", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.fs.ro\"]: the interpreter \"/lib64/ld-linux-x86-64.so.2\" of the program is in no path of io.corral.landlock.fs.ro or io.corral.landlock.fs.rw (they are all it may execute): execve would fail with permission denied")
        XCTAssertEqual(childError(index: CORRAL_LANDLOCK_PORT.rawValue, err: EINVAL, detail: "80", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.net.connect-tcp\"]: landlock_add_rule for TCP port 80: invalid argument")
        XCTAssertEqual(childError(index: CORRAL_LANDLOCK_RESTRICT.rawValue, err: EPERM, detail: "landlock_restrict_self", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.fs.rw\"]: landlock_restrict_self is refused: operation not permitted (does the seccomp profile, linux.seccomp, block it?)")
        XCTAssertEqual(childError(index: CORRAL_LANDLOCK_RULESET.rawValue, err: EINVAL, detail: "landlock_create_ruleset", plan: p),
                       "error during container init: annotations[\"io.corral.landlock.fs.rw\"]: landlock_create_ruleset: invalid argument")
    }
}
