// criu's RPC messages as bytes: the protobuf wire format corral writes and reads without generated code.
@testable import CorralRuntime
import XCTest

final class CriuRPCTests: XCTestCase {
    func testRequestBytesAreProtobufs() {
        // criu_req { type: DUMP, opts { images_dir_fd: 5, pid: 300, log_file: "dump.log", orphan_pts_master: true } }
        var opts = CriuRPC.Options()
        opts.int(.imagesDirFD, 5)
        opts.int(.pid, 300)
        opts.string(.logFile, "dump.log")
        opts.flag(.orphanPtsMaster)
        var req = ProtoWriter()
        req.int(1, CriuRPC.RequestType.dump.rawValue)
        req.message(2, opts.message)
        let inner: [UInt8] = [0x08, 0x05, 0x10, 0xac, 0x02, 0x52, 0x08] + Array("dump.log".utf8) + [0x90, 0x03, 0x01]
        XCTAssertEqual(req.bytes, [0x08, 0x01, 0x12, UInt8(inner.count)] + inner)
        XCTAssertEqual(opts.summary, ["imagesDirFD=5", "pid=300", "logFile=dump.log", "orphanPtsMaster"])
    }

    func testPairsWithANumberAreTwoFieldMessages() {
        // criu_opts { inherit_fd { key: "pipe:[7]", fd: 3 }, ps { address: "h", port: 27 } }
        var opts = CriuRPC.Options()
        opts.pair(.inheritFD, "pipe:[7]", 3)
        opts.pair(.pageServer, "h", 27)
        let fd: [UInt8] = [0x0a, 8] + Array("pipe:[7]".utf8) + [0x10, 0x03]
        XCTAssertEqual(opts.message.bytes, [0xda, 0x01, UInt8(fd.count)] + fd + [0x5a, 5, 0x0a, 1, UInt8(ascii: "h"), 0x10, 27])
        XCTAssertEqual(opts.summary, ["inheritFD=pipe:[7]:3", "pageServer=h:27"])
    }

    func testNegativeInt32IsTenBytes() {
        var w = ProtoWriter()
        w.int(1, -1)
        XCTAssertEqual(w.bytes, [0x08] + [UInt8](repeating: 0xff, count: 9) + [0x01])
        XCTAssertEqual(ProtoMessage(w.bytes[...])?.int(1), -1)
    }

    func testResponseIsReadWithNestedMessages() throws {
        // criu_resp { type: RESTORE, success: true, restore { pid: 4242 }, cr_errmsg: "" } and a notification.
        var restore = ProtoWriter()
        restore.int(1, 4242)
        var resp = ProtoWriter()
        resp.int(1, CriuRPC.RequestType.restore.rawValue)
        resp.bool(2, true)
        resp.message(4, restore)
        let m = try XCTUnwrap(ProtoMessage(resp.bytes[...]))
        XCTAssertEqual(m.int(CriuRPC.Resp.type), 2)
        XCTAssertEqual(m.bool(CriuRPC.Resp.success), true)
        XCTAssertEqual(m.message(CriuRPC.Resp.restore)?.int(1), 4242)
        XCTAssertNil(m.string(CriuRPC.Resp.crErrmsg))

        var note = ProtoWriter()
        note.string(1, "orphan-pts-master")
        note.int(2, 0)
        var n = ProtoWriter()
        n.int(1, CriuRPC.RequestType.notify.rawValue)
        n.bool(2, true)
        n.message(5, note)
        XCTAssertEqual(ProtoMessage(n.bytes[...])?.message(CriuRPC.Resp.notify)?.string(1), "orphan-pts-master")
    }

    func testUnknownFieldsAreSkippedAndTruncationIsRefused() {
        // A fixed64 (wire type 1) and a fixed32 (5) field criu might add, then a varint corral knows.
        let bytes: [UInt8] = [0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x10, 0x01]
        XCTAssertEqual(ProtoMessage(bytes[...])?.bool(2), true)
        XCTAssertNil(ProtoMessage([0x12, 0x05, 0x01][...]), "a length past the end")
        XCTAssertNil(ProtoMessage([0x08, 0x80][...]), "a varint cut short")
        XCTAssertNil(ProtoMessage([0x0b][...]), "a group (wire type 3)")
    }

    func testCgroupModesAreCriusEnum() {
        XCTAssertEqual(CriuRPC.cgroupMode("ignore"), 0)
        XCTAssertEqual(CriuRPC.cgroupMode("soft"), 3)
        XCTAssertEqual(CriuRPC.cgroupMode("full"), 4)
        XCTAssertEqual(CriuRPC.cgroupMode("strict"), 5)
        XCTAssertNil(CriuRPC.cgroupMode(""))
    }
}
