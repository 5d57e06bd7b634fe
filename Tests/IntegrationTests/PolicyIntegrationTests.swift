// The administrator's policy from the command line: `create` refuses a config that breaks a rule (naming it, the
// JSON path and the value) and leaves nothing behind; the agent profile meets a strict policy; `corral check`
// prints every verdict; an annotation may tighten but not loosen.
import XCTest
import Glibc
import CorralSpec

final class PolicyIntegrationTests: RuntimeTestCase {
    private var policyPath = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        if RuntimeUnderTest.isRunc { throw XCTSkip("the policy is corral's own (runc has none)") }
        policyPath = bundle.dir + "/policy.json"
        try writeFile(policyPath, """
            {"capabilities": ["CAP_NET_BIND_SERVICE"], "hostNamespaces": false,
             "forbiddenBindSources": ["/", "/proc", "/sys", "/var/run/docker.sock"], "readonlyRoot": true,
             "noNewPrivileges": true, "seccomp": true, "limits": ["memory", "pids", "cpu"], "nonRootUser": true}
            """)
    }

    /// The agent profile, pointed at this bundle's rootfs.
    private func useAgentProfile() throws {
        try makeDirectories(bundle.dir + "/agent-spec")
        XCTAssertEqual(rt.callRaw(["spec", "--profile", "agent", "--bundle", bundle.dir + "/agent-spec"]).status, 0)
        var config = try JSONValue.parse(readFile(bundle.dir + "/agent-spec/config.json") ?? "")
        config["root"]?["path"] = .string(bundle.rootfs)
        config["process"]?["args"] = ["/bin/true"]
        bundle.config = config
    }

    func testABrokenRuleRefusesCreateAndLeavesNothing() throws {
        try bundle.writeConfig()
        let before = HostSnapshot.take(root: rt.root, bundle: bundle.dir)
        let id = rt.id("policy")
        let r = rt.call(["--policy", policyPath, "create", "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("policy rule") && r.stderr.contains("capabilities"), r.stderr)
        XCTAssertEqual(HostSnapshot.take(root: rt.root, bundle: bundle.dir), before)
        XCTAssertNil(rt.stateJSON(id))
    }

    /// restore makes a container too: the policy refuses it there as at create, before any image is read.
    func testABrokenRuleRefusesRestore() throws {
        try bundle.writeConfig()
        let images = try makeTempDir("images")
        let id = rt.id("policy-rs")
        let r = rt.call(["--policy", policyPath, "restore", "--image-path", images, "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("policy rule") && r.stderr.contains("capabilities"), r.stderr)
        XCTAssertNil(rt.stateJSON(id))
    }

    func testTheAgentProfileMeetsAStrictPolicy() throws {
        try useAgentProfile()
        try bundle.writeConfig()
        let r = rt.call(["--policy", policyPath, "run", "--bundle", bundle.dir, rt.id("agent")])
        XCTAssertEqual(r.status, 0, "\(r)")
        let check = rt.callRaw(["--policy", policyPath, "check", "--bundle", bundle.dir])
        XCTAssertEqual(check.status, 0, "\(check)")
        XCTAssertTrue(check.stdout.contains("check: 8 passed, 0 failed"), check.stdout)
    }

    func testCheckPrintsEveryVerdict() throws {
        try bundle.writeConfig()
        let r = rt.callRaw(["--policy", policyPath, "check", "--bundle", bundle.dir])
        XCTAssertEqual(r.status, 1, "\(r)")
        let lines = r.stdout.nonEmptyLines
        XCTAssertEqual(lines.count, 9, r.stdout)
        XCTAssertTrue(lines.contains(#"FAIL capabilities: process.capabilities.bounding[0]: "CAP_AUDIT_WRITE""#), r.stdout)
        XCTAssertTrue(lines.contains("FAIL nonRootUser: process.user.uid: 0"), r.stdout)
        XCTAssertTrue(lines.contains("ok   readonlyRoot"), r.stdout)
        XCTAssertEqual(directoryEntries(rt.root), [], "check creates nothing")
    }

    func testAnAnnotationMayTightenButNotLoosen() throws {
        try useAgentProfile()
        bundle.config["annotations"] = ["io.corral.policy.noNewPrivileges": "false"]
        try bundle.writeConfig()
        let id = rt.id("loose")
        let r = rt.call(["--policy", policyPath, "create", "--bundle", bundle.dir, id])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("loosens the policy's rule"), r.stderr)
        XCTAssertNil(rt.stateJSON(id))
        bundle.config["annotations"] = ["io.corral.policy.capabilities": ""]   // no capability at all: tighter
        try bundle.writeConfig()
        let t = rt.call(["--policy", policyPath, "create", "--bundle", bundle.dir, rt.id("tight")])
        XCTAssertEqual(t.status, 1, "the agent keeps NET_BIND_SERVICE, which the tightened rule now refuses: \(t)")
        XCTAssertTrue(t.stderr.contains("policy rule") && t.stderr.contains("capabilities"), t.stderr)
    }
}
