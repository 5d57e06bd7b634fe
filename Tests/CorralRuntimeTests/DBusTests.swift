// The D-Bus client systemd's driver talks through: message encoding and decoding against byte sequences written out
// from the specification, every malformed-input refusal, and a real dbus-daemon (a private bus started here) for
// authentication, Hello, method calls, error replies and signals.
import XCTest
import Glibc
@testable import CorralRuntime

final class DBusTests: XCTestCase {
    /// org.freedesktop.DBus.Hello as every client sends it first (serial 1), byte for byte: the fixed header, the
    /// header fields array (PATH, DESTINATION, INTERFACE, MEMBER in our order), padding to 8, no body.
    func testHelloEncodesAsTheSpecificationLaysItOut() throws {
        var m = DBusMessage.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                                 interface: "org.freedesktop.DBus", member: "Hello")
        m.serial = 1
        let bytes = m.encoded()
        XCTAssertEqual(Array(bytes[0..<4]), [0x6c, 1, 0, 1], "little endian, method call, no flags, version 1")
        XCTAssertEqual(Array(bytes[4..<8]), [0, 0, 0, 0], "empty body")
        XCTAssertEqual(Array(bytes[8..<12]), [1, 0, 0, 0], "serial 1")
        XCTAssertEqual(bytes.count % 8, 0, "the header is padded to 8")
        // First field: code 1 (PATH), signature "o", the path.
        XCTAssertEqual(Array(bytes[16..<20]), [1, 1, 0x6f, 0])
        XCTAssertEqual(Array(bytes[20..<24]), [21, 0, 0, 0], "path length")
        XCTAssertEqual(String(decoding: bytes[24..<45], as: UTF8.self), "/org/freedesktop/DBus")
        let back = try DBusMessage.decode(bytes)
        XCTAssertEqual(back, m)
    }

    /// Every type the systemd calls use survives a round trip, with the alignment the specification asks for.
    func testRoundTripOfSystemdShapedBodies() throws {
        let props: DBusValue = .array(element: "(sv)", [
            .structure([.string("Description"), .variant(.string("corral container x"))]),
            .structure([.string("Delegate"), .variant(.bool(true))]),
            .structure([.string("PIDs"), .variant(.array(element: "u", [.uint32(4242)]))]),
            .structure([.string("MemoryMax"), .variant(.uint64(536_870_912))]),
            .structure([.string("CPUQuotaPerSecUSec"), .variant(.uint64(500_000))]),
            .structure([.string("AllowedCPUs"), .variant(.array(element: "y", [.byte(3)]))]),
            .structure([.string("DeviceAllow"), .variant(.array(element: "(ss)", [.structure([.string("/dev/null"), .string("rwm")])]))]),
            .structure([.string("Weird"), .variant(.array(element: "{sv}", [.dictEntry(.string("k"), .variant(.int64(-1)))]))]),
        ])
        var m = DBusMessage.call(destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1",
                                 interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit",
                                 [.string("corral-x.scope"), .string("replace"), props, .array(element: "(sa(sv))", [])])
        m.serial = 7
        let bytes = m.encoded()
        XCTAssertEqual(try DBusMessage.length(of: bytes[...]), bytes.count)
        let back = try DBusMessage.decode(bytes)
        XCTAssertEqual(back, m)
        XCTAssertEqual(back.body.map(\.signature).joined(), "ssa(sv)a(sa(sv))")
        var signal = DBusMessage(kind: .signal, serial: 9, path: "/org/freedesktop/systemd1",
                                 interface: "org.freedesktop.systemd1.Manager", member: "JobRemoved",
                                 body: [.uint32(12), .objectPath("/org/freedesktop/systemd1/job/12"), .string("corral-x.scope"), .string("done")])
        signal.sender = ":1.0"
        XCTAssertEqual(try DBusMessage.decode(signal.encoded()), signal)
    }

    /// An array's length counts from its first element, after the padding to that element's alignment: 8 for
    /// dict entries and structs even when the array is empty (the bug the recorded PropertiesChanged signals showed:
    /// "{sv}" alone is no complete type, and the padding was counted into the length).
    func testArrayLengthExcludesThePaddingBeforeItsFirstElement() throws {
        var w = DBusWriter()
        w.write(.uint32(7))
        w.write(.array(element: "{su}", [.dictEntry(.string("k"), .uint32(1))]))
        XCTAssertEqual(w.bytes, [7, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0x6b, 0, 0, 0, 1, 0, 0, 0])
        var e = DBusWriter()
        e.write(.array(element: "(ss)", []))
        XCTAssertEqual(e.bytes, [0, 0, 0, 0, 0, 0, 0, 0], "an empty array of structs is still padded to 8, length 0")
        var r = DBusReader(bytes: w.bytes, position: 0)
        XCTAssertEqual(try r.read(try DBusType.parse("u")), .uint32(7))
        XCTAssertEqual(try r.read(try DBusType.parse("a{su}")), .array(element: "{su}", [.dictEntry(.string("k"), .uint32(1))]))
    }

    /// Malformed input is an error, never a trap: every truncation of a valid message, flipped bytes everywhere,
    /// and hand-made lies about lengths, padding, strings and nesting.
    func testMalformedMessagesAreErrors() throws {
        var m = DBusMessage.call(destination: "d", path: "/p", interface: "i", member: "M",
                                 [.string("abc"), .array(element: "(sv)", [.structure([.string("k"), .variant(.uint32(1))])])])
        m.serial = 3
        let good = m.encoded()
        for n in 0..<good.count {
            let cut = Array(good[0..<n])
            if let total = try? DBusMessage.length(of: cut[...]), total == cut.count { continue }
            XCTAssertThrowsError(try DBusMessage.decode(cut), "truncated to \(n)")
        }
        for i in 0..<good.count {
            for flip: UInt8 in [0x01, 0x80, 0xff] {
                var bad = good
                bad[i] ^= flip
                _ = try? DBusMessage.decode(bad)   // must not trap; a changed byte may still be a valid message
            }
        }
        XCTAssertThrowsError(try DBusType.parseList(String(repeating: "a", count: 40) + "y"), "nesting deeper than 32")
        XCTAssertThrowsError(try DBusType.parseList("a{vs}"), "dict key must be basic")
        XCTAssertThrowsError(try DBusType.parseList("()"), "empty struct")
        XCTAssertThrowsError(try DBusType.parseList("(i"), "unterminated struct")
        XCTAssertThrowsError(try DBusType.parseList("z"), "unknown code")
        var huge = good
        huge[4] = 0xff; huge[5] = 0xff; huge[6] = 0xff; huge[7] = 0x7f
        XCTAssertThrowsError(try DBusMessage.length(of: huge[...]), "a body length over the bound")
        var order = good
        order[0] = UInt8(ascii: "B")
        XCTAssertThrowsError(try DBusMessage.length(of: order[...]), "big endian is not spoken here")
    }

    /// A real bus: authentication, Hello, a method call, an error reply, and a signal routed back to us.
    func testAgainstARealDBusDaemon() throws {
        guard access("/usr/bin/dbus-daemon", X_OK) == 0 else { throw XCTSkip("no dbus-daemon (Debian's dbus-daemon package)") }
        var template = Array("/tmp/corral-dbus-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = String(cString: try XCTUnwrap(made))
        defer { Files.removeAll(dir) }
        let socket = dir + "/bus"
        let config = dir + "/bus.conf"
        let conf = """
            <busconfig><type>custom</type><listen>unix:path=\(socket)</listen><auth>EXTERNAL</auth>
            <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
            <allow own="*"/></policy></busconfig>
            """
        let fd = open(config, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        _ = Array(conf.utf8).withUnsafeBytes { Files.writeAll(fd, $0) }
        close(fd)
        var pid: pid_t = 0
        let argv = ["/usr/bin/dbus-daemon", "--config-file=" + config, "--nofork", "--nopidfile"]
        let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgv { free(p) } }
        XCTAssertEqual(cArgv.withUnsafeBufferPointer { posix_spawn(&pid, argv[0], nil, nil, UnsafeMutablePointer(mutating: $0.baseAddress!), environ) }, 0)
        defer { kill(pid, SIGTERM); var s: Int32 = 0; waitpid(pid, &s, 0) }
        for _ in 0..<200 where access(socket, F_OK) != 0 { usleep(10_000) }

        let c = try DBusConnection(path: socket, bus: true)
        XCTAssertTrue(c.uniqueName?.hasPrefix(":1.") ?? false, "\(String(describing: c.uniqueName))")
        let id = try c.call(.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                                  interface: "org.freedesktop.DBus", member: "GetId"))
        XCTAssertEqual(id.body.first?.stringValue?.utf8.count, 32, "the bus id is 32 hex digits")
        XCTAssertThrowsError(try c.call(.call(destination: "org.example.Nobody", path: "/x", interface: "org.example.X",
                                              member: "Y"))) { e in
            XCTAssertEqual((e as? DBusError)?.name, "org.freedesktop.DBus.Error.ServiceUnknown")
        }
        try c.addMatch("type='signal',interface='org.corral.Test',member='Ping'")
        try c.send(DBusMessage(kind: .signal, path: "/org/corral", interface: "org.corral.Test", member: "Ping",
                               body: [.string("hello"), .uint32(5)]))
        let sig = try c.waitForSignal(timeoutMS: 5000) { $0.member == "Ping" }
        XCTAssertEqual(sig.body, [.string("hello"), .uint32(5)])
        XCTAssertEqual(sig.sender, c.uniqueName)
    }
}
