// Each container joins a new session keyring named "_ses.<id>" (runc's name), unless --no-new-keyring: seen from
// inside through /proc/keys (unmasked for this test), which lists the keyrings the process can see.
import XCTest
import Glibc
import CorralSpec

final class KeyringTests: RuntimeTestCase {
    private func keys(extra: [String]) throws -> (id: String, keys: String) {
        bundle.config["linux"]?["maskedPaths"] = nil
        bundle.setShell("cat /proc/keys")
        try bundle.writeConfig()
        let id = rt.id("key")
        let r = rt.run(bundle, id: id, extra: extra)
        XCTAssertEqual(r.status, 0, "\(r)")
        return (id, r.stdout)
    }

    func testNewSessionKeyringPerContainer() throws {
        let (id, keys) = try keys(extra: [])
        XCTAssertTrue(keys.contains("_ses.\(id)"), "the container's own session keyring: \(keys)")
    }

    func testNoNewKeyringKeepsTheCallersKeyring() throws {
        let (id, keys) = try keys(extra: ["--no-new-keyring"])
        XCTAssertFalse(keys.contains("_ses.\(id)"), "no keyring of its own with --no-new-keyring: \(keys)")
    }
}
