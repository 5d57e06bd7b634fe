// linux.personality: the execution domain of the container process. LINUX32 makes `uname -m` report the
// 32-bit machine (i686 on x86_64); LINUX is the default. Kept apart from HardeningTests (it was refused
// before corral implemented it).
import XCTest
import Glibc
import CorralSpec

final class HardeningPersonalityTests: CVETestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        // Deliberate difference: runc 1.1.5 ignores linux.personality altogether (uname -m stays x86_64).
        if RuntimeUnderTest.isRunc { throw XCTSkip("runc 1.1.5 ignores linux.personality") }
        var u = utsname()
        uname(&u)
        let machine = withUnsafePointer(to: u.machine) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
        if machine != "x86_64" { throw XCTSkip("the expectations are written for an x86_64 host, not \(machine)") }
    }

    func testPersonalityLinux32() throws {
        bundle.setLinux("personality", ["domain": "LINUX32"])
        XCTAssertEqual(runArgs(["/bin/uname", "-m"])?.trimmed, "i686")
    }

    func testPersonalityLinux() throws {
        bundle.setLinux("personality", ["domain": "LINUX"])
        XCTAssertEqual(runArgs(["/bin/uname", "-m"])?.trimmed, "x86_64")
    }

    /// An unknown domain is a config error naming the field, and nothing runs.
    func testUnknownPersonalityDomainIsRefused() throws {
        bundle.setLinux("personality", ["domain": "LINUX16"])
        bundle.setArgs(["/bin/uname", "-m"])
        let r = runtime.run(bundle)
        XCTAssertNotEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("personality"), "\(r)")
        XCTAssertEqual(r.stdout, "", "nothing may run: \(r)")
    }
}
