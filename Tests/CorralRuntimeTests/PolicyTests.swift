// The administrator's policy: parsing (unknown rules refused), every rule's verdict with the JSON path and value,
// and annotations that may only tighten.
import XCTest
@testable import CorralRuntime
import CorralSpec

final class PolicyTests: XCTestCase {
    private let strict = """
        {"capabilities": ["CAP_NET_BIND_SERVICE"], "hostNamespaces": false,
         "forbiddenBindSources": ["/", "/proc", "/sys", "/var/run/docker.sock"], "readonlyRoot": true,
         "noNewPrivileges": true, "seccomp": true, "limits": ["memory", "pids", "cpu"], "nonRootUser": true}
        """

    private func policy(_ text: String) throws -> Policy { try Policy.parse(try JSONValue.parse(text), source: "p.json") }

    private func spec(_ edits: [(String, String?)]) throws -> Spec {
        try Spec.parse(Array(PlanFixture.config(edits).serialized().utf8))
    }

    /// A config that meets every rule of `strict`.
    private var good: [(String, String?)] {
        [("process.user", #"{"uid": 1001, "gid": 1001}"#), ("process.noNewPrivileges", "true"),
         ("process.capabilities", #"{"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"]}"#),
         ("root", #"{"path": "rootfs", "readonly": true}"#),
         ("linux.seccomp", #"{"defaultAction": "SCMP_ACT_ERRNO"}"#),
         ("linux.resources", #"{"memory": {"limit": 1048576}, "pids": {"limit": 10}, "cpu": {"quota": 5000, "period": 100000}}"#),
         ("mounts", #"[{"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind"]}]"#)]
    }

    func testEveryRuleAndItsVerdict() throws {
        let p = try policy(strict)
        let ok = PolicyCheck.evaluate(p, try spec(good), bundle: "/b")
        XCTAssertEqual(ok.map(\.text), ["ok   capabilities", "ok   hostNamespaces", "ok   forbiddenBindSources", "ok   readonlyRoot",
                                        "ok   noNewPrivileges", "ok   seccomp", "ok   limits", "ok   nonRootUser"])
        let cases: [((String, String?), String)] = [
            (("process.capabilities", #"{"bounding": ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"]}"#),
             #"FAIL capabilities: process.capabilities.bounding[1]: "CAP_SYS_ADMIN""#),
            (("linux.namespaces", #"[{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}, {"type": "ipc"}, {"type": "uts"}]"#),
             #"FAIL hostNamespaces: linux.namespaces[2].path: "/proc/1/ns/net""#),
            (("linux.namespaces", #"[{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]"#),
             "FAIL hostNamespaces: linux.namespaces: no network namespace of its own (the host's is shared)"),
            (("mounts", #"[{"destination": "/s", "type": "bind", "source": "/var/run/docker.sock"}]"#),
             #"FAIL forbiddenBindSources: mounts[0].source: "/var/run/docker.sock""#),
            (("mounts", #"[{"destination": "/s", "source": "/proc/1", "options": ["rbind"]}]"#),
             #"FAIL forbiddenBindSources: mounts[0].source: "/proc/1""#),
            (("mounts", #"[{"destination": "/s", "source": "/", "options": ["rbind"]}]"#),
             #"FAIL forbiddenBindSources: mounts[0].source: "/""#),
            (("root", #"{"path": "rootfs"}"#), "FAIL readonlyRoot: root.readonly: absent"),
            (("process.noNewPrivileges", "false"), "FAIL noNewPrivileges: process.noNewPrivileges: false"),
            (("linux.seccomp", #"{"defaultAction": "SCMP_ACT_ALLOW"}"#), #"FAIL seccomp: linux.seccomp.defaultAction: "SCMP_ACT_ALLOW""#),
            (("linux.resources", #"{"memory": {"limit": 1048576}, "pids": {"limit": 10}}"#), "FAIL limits: linux.resources.cpu.quota: absent"),
            (("process.user", #"{"uid": 0, "gid": 0}"#), "FAIL nonRootUser: process.user.uid: 0"),
        ]
        for (edit, text) in cases {
            let s = try spec(good.filter { $0.0 != edit.0 } + [edit])
            let verdicts = PolicyCheck.evaluate(p, s, bundle: "/b")
            XCTAssertTrue(verdicts.map(\.text).contains(text), "\(edit.0): \(verdicts.map(\.text))")
            XCTAssertEqual(verdicts.filter { !$0.passed }.count, 1, "\(edit.0): only its own rule breaks")
        }
        // A bind below / that is not forbidden, and a relative source, pass.
        let fine = try spec(good.filter { $0.0 != "mounts" } + [("mounts", #"[{"destination": "/s", "type": "bind", "source": "data"}]"#)])
        XCTAssertTrue(PolicyCheck.evaluate(p, fine, bundle: "/b").allSatisfy(\.passed))
    }

    func testPolicyFileErrors() {
        let cases: [(String, String)] = [
            ("[]", "policy p.json: expected an object"),
            (#"{"readonlyRoot": "yes"}"#, "policy p.json: readonlyRoot: expected a boolean"),
            (#"{"capabilities": ["CAP_FROB"]}"#, #"policy p.json: capabilities: unknown capability "CAP_FROB""#),
            (#"{"limits": ["disk"]}"#, #"policy p.json: limits: unknown limit "disk" (known: cpu, memory, pids)"#),
            (#"{"noRoot": true}"#, "policy p.json: noRoot: unknown rule (known: allowLooseningAnnotations, audit, capabilities, forbiddenBindSources, hostNamespaces, limits, noNewPrivileges, nonRootUser, readonlyRoot, runLimits, seccomp, seccompAudit)"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try policy(text), text) { XCTAssertEqual(($0 as? RuntimeError)?.message, message) }
        }
    }

    /// Annotations may only tighten: narrower capabilities, more limits, more forbidden sources, a rule turned on.
    func testAnnotationsOnlyTighten() throws {
        let p = try policy(#"{"capabilities": ["CAP_NET_BIND_SERVICE", "CAP_KILL"], "limits": ["memory"], "readonlyRoot": true}"#)
        let tighter = try p.tightened(by: ["io.corral.policy.capabilities": "CAP_KILL", "io.corral.policy.limits": "memory,pids",
                                           "io.corral.policy.nonRootUser": "true", "other": "x"])
        XCTAssertEqual(tighter.capabilities, ["CAP_KILL"])
        XCTAssertEqual(tighter.limits, ["memory", "pids"])
        XCTAssertEqual(tighter.nonRootUser, true)
        let loosening: [(String, String, String)] = [
            ("io.corral.policy.capabilities", "CAP_SYS_ADMIN", #"annotations["io.corral.policy.capabilities"]: "CAP_SYS_ADMIN" loosens the policy's rule "capabilities" (the policy does not allow that)"#),
            ("io.corral.policy.limits", "pids", #"annotations["io.corral.policy.limits"]: "pids" loosens the policy's rule "limits" (the policy does not allow that)"#),
            ("io.corral.policy.readonlyRoot", "false", #"annotations["io.corral.policy.readonlyRoot"]: "false" loosens the policy's rule "readonlyRoot" (the policy does not allow that)"#),
            ("io.corral.policy.readonlyRoot", "maybe", #"annotations["io.corral.policy.readonlyRoot"]: expected "true" or "false", got "maybe""#),
            ("io.corral.policy.frob", "1", #"annotations["io.corral.policy.frob"]: unknown policy rule "frob""#),
        ]
        for (k, v, message) in loosening {
            XCTAssertThrowsError(try p.tightened(by: [k: v]), k) { XCTAssertEqual(($0 as? RuntimeError)?.message, message) }
        }
        var lenient = p
        lenient.allowLooseningAnnotations = true
        XCTAssertEqual(try lenient.tightened(by: ["io.corral.policy.readonlyRoot": "false"]).readonlyRoot, false)
    }
}
