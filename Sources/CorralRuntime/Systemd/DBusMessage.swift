// D-Bus messages in the wire format (little endian), only as much of the specification as corral's calls to
// systemd need: method calls, returns, errors and signals, with every basic type, arrays, structs, dict entries
// and variants. Decoding is bounded and total: any malformed input is a DBusError, never a trap.

/// A D-Bus value with its type.
indirect enum DBusValue: Equatable {
    case byte(UInt8)
    case bool(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(UInt64)   // the IEEE 754 bits: compared exactly, no Double formatting needed
    case string(String)
    case objectPath(String)
    case signature(String)
    /// An array of values of `element` type (its signature), which an empty array still needs.
    case array(element: String, [DBusValue])
    case structure([DBusValue])
    case dictEntry(DBusValue, DBusValue)
    case variant(DBusValue)

    /// The value's type signature.
    var signature: String {
        switch self {
        case .byte: "y"
        case .bool: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .array(let element, _): "a" + element
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        case .dictEntry(let k, let v): "{" + k.signature + v.signature + "}"
        case .variant: "v"
        }
    }

    var stringValue: String? {
        switch self {
        case .string(let s), .objectPath(let s), .signature(let s): s
        default: nil
        }
    }

    var uint32Value: UInt32? { if case .uint32(let v) = self { return v }; return nil }
}

/// A malformed message, a protocol violation, an error reply or a transport failure.
struct DBusError: Error, Equatable {
    var message: String
    /// The error name of an error reply (e.g. "org.freedesktop.systemd1.NoSuchUnit"), nil otherwise.
    var name: String? = nil
    init(_ message: String, name: String? = nil) { self.message = message; self.name = name }
}

/// One D-Bus message.
struct DBusMessage: Equatable {
    enum Kind: UInt8 { case methodCall = 1, methodReturn = 2, error = 3, signal = 4 }

    var kind: Kind
    var flags: UInt8 = 0
    var serial: UInt32 = 0
    var path: String? = nil
    var interface: String? = nil
    var member: String? = nil
    var errorName: String? = nil
    var replySerial: UInt32? = nil
    var destination: String? = nil
    var sender: String? = nil
    var body: [DBusValue] = []

    /// NO_REPLY_EXPECTED.
    static let noReplyExpected: UInt8 = 0x1
    /// The most we read of one message (the specification allows 128 MiB; systemd's answers are small).
    static let maxLength = 1 << 20

    static func call(destination: String?, path: String, interface: String, member: String,
                     _ body: [DBusValue] = []) -> DBusMessage {
        DBusMessage(kind: .methodCall, path: path, interface: interface, member: member, destination: destination,
                    body: body)
    }

    // MARK: encoding

    func encoded() -> [UInt8] {
        var w = DBusWriter()
        w.put(UInt8(ascii: "l"))
        w.put(kind.rawValue)
        w.put(flags)
        w.put(UInt8(1))
        let bodyLengthAt = w.bytes.count
        w.put32(0)            // body length, patched below
        w.put32(serial)
        var fields: [DBusValue] = []
        func field(_ code: UInt8, _ v: DBusValue?) { if let v { fields.append(.structure([.byte(code), .variant(v)])) } }
        field(1, path.map { .objectPath($0) })
        field(2, interface.map { .string($0) })
        field(3, member.map { .string($0) })
        field(4, errorName.map { .string($0) })
        field(5, replySerial.map { .uint32($0) })
        field(6, destination.map { .string($0) })
        field(7, sender.map { .string($0) })
        let sig = body.map(\.signature).joined()
        if !sig.isEmpty { field(8, .signature(sig)) }
        w.write(.array(element: "(yv)", fields))
        w.align(8)
        let bodyStart = w.bytes.count
        for v in body { w.write(v) }
        let length = UInt32(w.bytes.count - bodyStart)
        for i in 0..<4 { w.bytes[bodyLengthAt + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
        return w.bytes
    }

    // MARK: decoding

    /// The total length of the message at the start of `bytes` once its fixed header (16 bytes) is there, nil
    /// while fewer bytes are available. Throws for a header no valid message has.
    static func length(of bytes: ArraySlice<UInt8>) throws(DBusError) -> Int? {
        guard bytes.count >= 16 else { return nil }
        let b = bytes.startIndex
        guard bytes[b] == UInt8(ascii: "l") else { throw DBusError("unsupported byte order \(bytes[b])") }
        guard bytes[b + 3] == 1 else { throw DBusError("unsupported protocol version \(bytes[b + 3])") }
        func u32(_ at: Int) -> Int {
            Int(bytes[b + at]) | Int(bytes[b + at + 1]) << 8 | Int(bytes[b + at + 2]) << 16 | Int(bytes[b + at + 3]) << 24
        }
        let body = u32(4), fields = u32(12)
        guard body <= maxLength, fields <= maxLength else { throw DBusError("message larger than \(maxLength) bytes") }
        let header = 16 + fields
        let total = (header + 7) / 8 * 8 + body
        guard total <= maxLength else { throw DBusError("message larger than \(maxLength) bytes") }
        return total
    }

    /// Decodes one complete message (exactly `length(of:)` bytes).
    static func decode(_ bytes: [UInt8]) throws(DBusError) -> DBusMessage {
        guard let total = try length(of: bytes[...]), total == bytes.count else { throw DBusError("truncated message") }
        var r = DBusReader(bytes: bytes, position: 1)
        guard let kind = Kind(rawValue: try r.byte()) else { throw DBusError("unknown message type") }
        var m = DBusMessage(kind: kind)
        m.flags = try r.byte()
        _ = try r.byte()
        let bodyLength = Int(try r.u32())
        m.serial = try r.u32()
        guard m.serial != 0 else { throw DBusError("message serial 0") }
        var signature = ""
        guard case .array(_, let fields) = try r.read(try DBusType.parse("a(yv)")) else { throw DBusError("bad header") }
        for f in fields {
            guard case .structure(let pair) = f, pair.count == 2, case .byte(let code) = pair[0],
                  case .variant(let v) = pair[1] else { throw DBusError("bad header field") }
            switch code {
            case 1: guard case .objectPath(let s) = v else { throw DBusError("bad PATH field") }; m.path = s
            case 2: guard case .string(let s) = v else { throw DBusError("bad INTERFACE field") }; m.interface = s
            case 3: guard case .string(let s) = v else { throw DBusError("bad MEMBER field") }; m.member = s
            case 4: guard case .string(let s) = v else { throw DBusError("bad ERROR_NAME field") }; m.errorName = s
            case 5: guard case .uint32(let s) = v else { throw DBusError("bad REPLY_SERIAL field") }; m.replySerial = s
            case 6: guard case .string(let s) = v else { throw DBusError("bad DESTINATION field") }; m.destination = s
            case 7: guard case .string(let s) = v else { throw DBusError("bad SENDER field") }; m.sender = s
            case 8: guard case .signature(let s) = v else { throw DBusError("bad SIGNATURE field") }; signature = s
            case 9: throw DBusError("unix fds in a message are not expected")
            default: break   // unknown fields are ignored, as the specification says
            }
        }
        try r.align(8)
        guard r.position + bodyLength == bytes.count else { throw DBusError("body length does not match") }
        let types = try DBusType.parseList(signature)
        for t in types { m.body.append(try r.read(t)) }
        guard r.position == bytes.count else { throw DBusError("body longer than its signature") }
        switch kind {
        case .methodCall: guard m.path != nil, m.member != nil else { throw DBusError("method call without path or member") }
        case .signal: guard m.path != nil, m.interface != nil, m.member != nil else { throw DBusError("signal without path, interface or member") }
        case .methodReturn: guard m.replySerial != nil else { throw DBusError("reply without reply serial") }
        case .error: guard m.replySerial != nil, m.errorName != nil else { throw DBusError("error without reply serial or name") }
        }
        return m
    }
}

/// A parsed type signature.
indirect enum DBusType: Equatable {
    case basic(UInt8)                 // y b n q i u x t d s o g h
    case array(DBusType)
    case structure([DBusType])
    case dictEntry(DBusType, DBusType)
    case variant

    var alignment: Int {
        switch self {
        case .basic(let c):
            switch c {
            case UInt8(ascii: "y"), UInt8(ascii: "g"): 1
            case UInt8(ascii: "n"), UInt8(ascii: "q"): 2
            case UInt8(ascii: "x"), UInt8(ascii: "t"), UInt8(ascii: "d"): 8
            default: 4
            }
        case .array: 4
        case .structure, .dictEntry: 8
        case .variant: 1
        }
    }

    static func parse(_ s: String) throws(DBusError) -> DBusType {
        let list = try parseList(s)
        guard list.count == 1 else { throw DBusError("not a single complete type: \"\(s)\"") }
        return list[0]
    }

    /// A signature as a list of complete types (at most 255 bytes, nesting at most 32 deep, as the spec says).
    static func parseList(_ s: String) throws(DBusError) -> [DBusType] {
        let b = Array(s.utf8)
        guard b.count <= 255 else { throw DBusError("signature longer than 255 bytes") }
        var i = 0
        var out: [DBusType] = []
        while i < b.count { out.append(try one(b, &i, depth: 0)) }
        return out
    }

    private static func one(_ b: [UInt8], _ i: inout Int, depth: Int) throws(DBusError) -> DBusType {
        guard depth < 32 else { throw DBusError("signature nested too deeply") }
        guard i < b.count else { throw DBusError("signature ends early") }
        let c = b[i]
        i += 1
        switch c {
        case UInt8(ascii: "y"), UInt8(ascii: "b"), UInt8(ascii: "n"), UInt8(ascii: "q"), UInt8(ascii: "i"),
             UInt8(ascii: "u"), UInt8(ascii: "x"), UInt8(ascii: "t"), UInt8(ascii: "d"), UInt8(ascii: "s"),
             UInt8(ascii: "o"), UInt8(ascii: "g"), UInt8(ascii: "h"):
            return .basic(c)
        case UInt8(ascii: "v"):
            return .variant
        case UInt8(ascii: "a"):
            if i < b.count && b[i] == UInt8(ascii: "{") {
                i += 1
                let k = try one(b, &i, depth: depth + 1)
                guard case .basic = k else { throw DBusError("dict entry key must be a basic type") }
                let v = try one(b, &i, depth: depth + 1)
                guard i < b.count, b[i] == UInt8(ascii: "}") else { throw DBusError("unterminated dict entry") }
                i += 1
                return .array(.dictEntry(k, v))
            }
            return .array(try one(b, &i, depth: depth + 1))
        case UInt8(ascii: "("):
            var fields: [DBusType] = []
            while i < b.count && b[i] != UInt8(ascii: ")") { fields.append(try one(b, &i, depth: depth + 1)) }
            guard i < b.count, !fields.isEmpty else { throw DBusError("empty or unterminated struct") }
            i += 1
            return .structure(fields)
        default:
            throw DBusError("invalid type code \(c) in signature")
        }
    }
}

/// Appends values with the alignment rules; offsets are from the start of the message (the body starts 8-aligned).
struct DBusWriter {
    var bytes: [UInt8] = []

    mutating func align(_ n: Int) { while bytes.count % n != 0 { bytes.append(0) } }

    /// The alignment of values whose signature starts as `signature` does.
    static func alignment(ofSignature signature: String) -> Int {
        switch signature.utf8.first {
        case UInt8(ascii: "y"), UInt8(ascii: "g"), UInt8(ascii: "v"): 1
        case UInt8(ascii: "n"), UInt8(ascii: "q"): 2
        case UInt8(ascii: "x"), UInt8(ascii: "t"), UInt8(ascii: "d"), UInt8(ascii: "("), UInt8(ascii: "{"): 8
        default: 4
        }
    }
    mutating func put(_ v: UInt8) { bytes.append(v) }
    mutating func put16(_ v: UInt16) { align(2); for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt16(i)))) } }
    mutating func put32(_ v: UInt32) { align(4); for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func put64(_ v: UInt64) { align(8); for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }

    mutating func write(_ v: DBusValue) {
        switch v {
        case .byte(let x): put(x)
        case .bool(let x): put32(x ? 1 : 0)
        case .int16(let x): put16(UInt16(bitPattern: x))
        case .uint16(let x): put16(x)
        case .int32(let x): put32(UInt32(bitPattern: x))
        case .uint32(let x): put32(x)
        case .int64(let x): put64(UInt64(bitPattern: x))
        case .uint64(let x), .double(let x): put64(x)
        case .string(let s), .objectPath(let s):
            put32(UInt32(s.utf8.count))
            bytes += s.utf8
            bytes.append(0)
        case .signature(let s):
            put(UInt8(truncatingIfNeeded: s.utf8.count))
            bytes += s.utf8
            bytes.append(0)
        case .array(let element, let items):
            put32(0)
            let lengthAt = bytes.count - 4
            // The first element's alignment, from the signature's first code: a dict entry ("{sv}") is no
            // complete type on its own, so the signature cannot simply be parsed.
            align(DBusWriter.alignment(ofSignature: element))
            let start = bytes.count
            for item in items { write(item) }
            let length = UInt32(bytes.count - start)
            for i in 0..<4 { bytes[lengthAt + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
        case .structure(let fields):
            align(8)
            for f in fields { write(f) }
        case .dictEntry(let k, let val):
            align(8)
            write(k)
            write(val)
        case .variant(let inner):
            write(.signature(inner.signature))
            write(inner)
        }
    }
}

/// Reads values by type, checking every length and alignment padding against the message.
struct DBusReader {
    let bytes: [UInt8]
    var position: Int

    mutating func align(_ n: Int) throws(DBusError) {
        while position % n != 0 {
            guard position < bytes.count else { throw DBusError("message ends inside padding") }
            guard bytes[position] == 0 else { throw DBusError("non-zero padding") }
            position += 1
        }
    }

    mutating func byte() throws(DBusError) -> UInt8 {
        guard position < bytes.count else { throw DBusError("message ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func fixed(_ size: Int) throws(DBusError) -> UInt64 {
        try align(size)
        guard position + size <= bytes.count else { throw DBusError("message ends early") }
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += size
        return v
    }

    mutating func u32() throws(DBusError) -> UInt32 { UInt32(truncatingIfNeeded: try fixed(4)) }

    private mutating func text(length: Int) throws(DBusError) -> String {
        guard length >= 0, position + length < bytes.count else { throw DBusError("string runs past the message") }
        let slice = bytes[position..<(position + length)]
        guard bytes[position + length] == 0, !slice.contains(0) else { throw DBusError("string not NUL-terminated") }
        guard let s = String(validating: slice, as: UTF8.self) else { throw DBusError("string is not UTF-8") }
        position += length + 1
        return s
    }

    mutating func read(_ t: DBusType, depth: Int = 0) throws(DBusError) -> DBusValue {
        guard depth < 64 else { throw DBusError("values nested too deeply") }
        switch t {
        case .basic(let c):
            switch c {
            case UInt8(ascii: "y"): return .byte(try byte())
            case UInt8(ascii: "b"):
                let v = try u32()
                guard v <= 1 else { throw DBusError("boolean \(v)") }
                return .bool(v == 1)
            case UInt8(ascii: "n"): return .int16(Int16(bitPattern: UInt16(truncatingIfNeeded: try fixed(2))))
            case UInt8(ascii: "q"): return .uint16(UInt16(truncatingIfNeeded: try fixed(2)))
            case UInt8(ascii: "i"): return .int32(Int32(bitPattern: try u32()))
            case UInt8(ascii: "u"), UInt8(ascii: "h"): return .uint32(try u32())
            case UInt8(ascii: "x"): return .int64(Int64(bitPattern: try fixed(8)))
            case UInt8(ascii: "t"): return .uint64(try fixed(8))
            case UInt8(ascii: "d"): return .double(try fixed(8))
            case UInt8(ascii: "s"): return .string(try text(length: Int(try u32())))
            case UInt8(ascii: "o"): return .objectPath(try text(length: Int(try u32())))
            case UInt8(ascii: "g"): return .signature(try text(length: Int(try byte())))
            default: throw DBusError("invalid type code \(c)")
            }
        case .array(let element):
            let length = Int(try u32())
            guard length <= 1 << 26 else { throw DBusError("array longer than the specification allows") }
            try align(element.alignment)
            let end = position + length
            guard end <= bytes.count else { throw DBusError("array runs past the message") }
            var items: [DBusValue] = []
            while position < end { items.append(try read(element, depth: depth + 1)) }
            guard position == end else { throw DBusError("array elements overrun its length") }
            return .array(element: DBusType.signature(of: element), items)
        case .structure(let fields):
            try align(8)
            var out: [DBusValue] = []
            for f in fields { out.append(try read(f, depth: depth + 1)) }
            return .structure(out)
        case .dictEntry(let k, let v):
            try align(8)
            return .dictEntry(try read(k, depth: depth + 1), try read(v, depth: depth + 1))
        case .variant:
            let sig = try text(length: Int(try byte()))
            return .variant(try read(try DBusType.parse(sig), depth: depth + 1))
        }
    }
}

extension DBusType {
    /// The signature text of a parsed type.
    static func signature(of t: DBusType) -> String {
        switch t {
        case .basic(let c): String(decoding: [c], as: UTF8.self)
        case .array(let e): "a" + signature(of: e)
        case .structure(let f): "(" + f.map { signature(of: $0) }.joined() + ")"
        case .dictEntry(let k, let v): "{" + signature(of: k) + signature(of: v) + "}"
        case .variant: "v"
        }
    }
}
