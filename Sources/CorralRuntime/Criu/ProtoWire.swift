/// The protocol buffers wire format, as much of it as criu's RPC (images/rpc.proto, proto2) needs: a writer for
/// varint and length-delimited fields, and a reader that splits a message into its fields. No schema, no
/// generated code: CriuRPC names the field numbers.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    private mutating func raw(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    mutating func uint(_ field: Int, _ v: UInt64) {
        key(field, 0)
        raw(v)
    }

    /// int32 and enums: a negative value is sign-extended to 64 bits (ten bytes), as protobuf encodes it.
    mutating func int(_ field: Int, _ v: Int32) { uint(field, UInt64(bitPattern: Int64(v))) }

    mutating func bool(_ field: Int, _ v: Bool) { uint(field, v ? 1 : 0) }

    mutating func bytes(_ field: Int, _ b: [UInt8]) {
        key(field, 2)
        raw(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }

    mutating func message(_ field: Int, _ m: ProtoWriter) { bytes(field, m.bytes) }
}

/// A decoded message: each field number with its values in order (varints as numbers, length-delimited fields as
/// bytes). Fixed-width fields are skipped; a truncated or malformed message is nil.
struct ProtoMessage {
    private(set) var varints: [Int: [UInt64]] = [:]
    private(set) var blobs: [Int: [[UInt8]]] = [:]

    init?(_ data: ArraySlice<UInt8>) {
        var i = data.startIndex
        func readVarint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < data.endIndex, shift < 64 {
                let b = data[i]
                i += 1
                v |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        while i < data.endIndex {
            guard let k = readVarint() else { return nil }
            let field = Int(k >> 3)
            switch k & 7 {
            case 0:
                guard let v = readVarint() else { return nil }
                varints[field, default: []].append(v)
            case 1:
                guard data.endIndex - i >= 8 else { return nil }
                i += 8
            case 2:
                guard let n = readVarint(), n <= UInt64(data.endIndex - i) else { return nil }
                blobs[field, default: []].append(Array(data[i..<(i + Int(n))]))
                i += Int(n)
            case 5:
                guard data.endIndex - i >= 4 else { return nil }
                i += 4
            default:
                return nil
            }
        }
    }

    func uint(_ field: Int) -> UInt64? { varints[field]?.last }
    func int(_ field: Int) -> Int32? { uint(field).map { Int32(truncatingIfNeeded: Int64(bitPattern: $0)) } }
    func bool(_ field: Int) -> Bool? { uint(field).map { $0 != 0 } }
    func string(_ field: Int) -> String? { blobs[field]?.last.map { String(decoding: $0, as: UTF8.self) } }
    func message(_ field: Int) -> ProtoMessage? { blobs[field]?.last.flatMap { ProtoMessage($0[...]) } }
}
