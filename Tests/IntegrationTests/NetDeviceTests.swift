// linux.netDevices (runtime-spec 1.3): a host interface moves into the container's network namespace under its
// new name, with its addresses and up state; the host no longer has it.
import XCTest
import Glibc
import CorralSpec

final class NetDeviceTests: RuntimeTestCase {
    private var device = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 has no linux.netDevices (added in runc 1.3)") }
        guard runCommand(["ip", "-V"]).status == 0 else { throw XCTSkip("no ip(8) (iproute2) on this host") }
        device = "crlnd" + randomHex(6)
        // A veth pair (this kernel has no dummy driver); the end that stays is removed in tearDown.
        let add = runCommand(["ip", "link", "add", device, "type", "veth", "peer", "name", device + "p"])
        guard add.status == 0 else { throw XCTSkip("cannot create a veth pair: \(add.stderr)") }
        XCTAssertEqual(runCommand(["ip", "addr", "add", "10.213.91.7/24", "dev", device]).status, 0)
        XCTAssertEqual(runCommand(["ip", "link", "set", device, "up"]).status, 0)
    }

    override func tearDown() {
        if !device.isEmpty {
            _ = runCommand(["ip", "link", "del", device])
            _ = runCommand(["ip", "link", "del", device + "p"])
        }
        super.tearDown()
    }

    func testAHostInterfaceMovesInWithItsAddressAndName() throws {
        // A host-scope address is not added back, as in runc main (its netdev.bats): only global ones move along.
        XCTAssertEqual(runCommand(["ip", "addr", "add", "127.0.0.33/32", "dev", device]).status, 0)
        bundle.config["linux"]?["netDevices"] = [device: ["name": "eth7"]]
        bundle.setShell("sleep 30")
        let id = rt.id("netdev")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        XCTAssertNotEqual(runCommand(["ip", "link", "show", device]).status, 0, "the host no longer has \(device)")
        let r = rt("exec", id, "/bin/sh", "-c", "ip -o -4 addr show eth7 | awk '{print $4}'; ip -o link show eth7")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout.nonEmptyLines.first, "10.213.91.7/24", r.stdout)
        XCTAssertFalse(r.stdout.contains("127.0.0.33"), "the host-scope address is not carried over: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("UP"), "the interface is up again: \(r.stdout)")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    func testNetDevicesNeedANetworkNamespace() throws {
        bundle.removeNamespace("network")
        bundle.config["linux"]?["netDevices"] = [device: [:]]
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("netdev"), message: "moving network devices needs a network namespace")
        XCTAssertEqual(runCommand(["ip", "link", "show", device]).status, 0, "the device stays on the host")
    }

    /// Sets the config's network namespace to `path` (joined instead of new).
    private func joinNetwork(_ path: String) {
        bundle.removeNamespace("network")
        var list = bundle.config["linux"]?["namespaces"]?.arrayValue ?? []
        list.append(["type": "network", "path": .string(path)])
        bundle.config["linux"]?["namespaces"] = .array(list)
    }

    func testADeviceMovesIntoAJoinedNetworkNamespace() throws {
        // runc main moves devices into a namespace joined by path too (its checkpoint.bats netdevice case).
        let name = "crlns" + randomHex(6)
        guard runCommand(["ip", "netns", "add", name]).status == 0 else { throw XCTSkip("ip netns add failed here") }
        defer { _ = runCommand(["ip", "netns", "del", name]) }
        joinNetwork("/run/netns/" + name)
        bundle.config["linux"]?["netDevices"] = [device: ["name": "eth8"]]
        bundle.setShell("sleep 30")
        let id = rt.id("netdevj")
        XCTAssertEqual(rt.create(bundle, id: id).status, 0)
        let seen = runCommand(["ip", "-n", name, "-o", "-4", "addr", "show", "eth8"])
        XCTAssertTrue(seen.stdout.contains("10.213.91.7/24"), "the joined namespace has the device with its address: \(seen)")
        XCTAssertEqual(rt("delete", "--force", id).status, 0)
    }

    func testTheHostsOwnNetworkNamespaceTakesNoDevices() throws {
        // Joined by path, but the host's: moving would only rename a host interface; refused and nothing moves.
        joinNetwork("/proc/self/ns/net")
        bundle.config["linux"]?["netDevices"] = [device: ["name": "eth8"]]
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("netdevh"), message: "the container's network namespace is the host's")
        XCTAssertEqual(runCommand(["ip", "link", "show", device]).status, 0, "the device keeps its name on the host")
    }

    func testAMissingDeviceFailsCleanly() throws {
        bundle.config["linux"]?["netDevices"] = ["crl-missing0": [:]]
        try bundle.writeConfig()
        rt.expectCleanFailure(bundle: bundle, id: rt.id("netdev"), message: "no such device")
    }
}
