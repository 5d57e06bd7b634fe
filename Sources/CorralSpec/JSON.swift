// A small, strict JSON reader/writer over UTF-8 bytes (RFC 8259), written for one job: every CLI
// invocation is a fresh process that parses config.json or state, so there is no Foundation, no
// Codable, and no intermediate token stream. Output formatting follows Go's encoding/json because
// runc (written in Go) is the compatibility target for every byte we print.

/// A JSON document. Numbers keep their literal text so 64-bit values (e.g. RLIM_INFINITY
/// 18446744073709551615, or -1 memory limits) round-trip exactly; convert with `int64Value` /
/// `uint64Value`. Equality compares number *text* ("1.0" != "1") and objects order-insensitively.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The literal number text exactly as it appeared (or as produced by the integer initialisers).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object that remembers key insertion order (output order matters for golden outputs).
/// Setting an existing key keeps its position; parsing a document with duplicate keys keeps the
/// first position and the last value (Go's "last wins"). Equality ignores order.
public struct JSONObject: Equatable, Sendable, Sequence {
    /// One key/value pair (a single array of these: one allocation per object).
    @usableFromInline struct Member: Sendable {
        @usableFromInline var key: String
        @usableFromInline var value: JSONValue
        @inlinable init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var _members: [Member]
    /// Key → position, only built for larger objects (small ones are scanned linearly: cheaper
    /// than hashing for the handful of keys an OCI object has).
    @usableFromInline var _index: [String: Int]?

    @usableFromInline static let indexThreshold = 12

    public init() {
        _members = []
        _index = nil
    }

    /// Builds an object from pairs in order (a repeated key keeps its first position, last value).
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        _members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// Takes parsed members as they came; duplicates are folded (first position, last value).
    init(parsed members: [Member]) {
        _members = members
        _index = nil
        let n = members.count
        if n > JSONObject.indexThreshold {
            var idx = [String: Int](minimumCapacity: n)
            var hasDuplicates = false
            for i in 0..<n where idx.updateValue(i, forKey: members[i].key) != nil { hasDuplicates = true }
            if !hasDuplicates {
                _index = idx
                return
            }
        } else if n > 1 {
            var hasDuplicates = false
            outer: for i in 1..<n {
                for j in 0..<i where members[j].key == members[i].key {
                    hasDuplicates = true
                    break outer
                }
            }
            if !hasDuplicates { return }
        } else {
            return
        }
        // Rare: fold duplicates through the setter.
        _members = []
        for m in members { self[m.key] = m.value }
    }

    @inlinable
    func position(of key: String) -> Int? {
        if let idx = _index { return idx[key] }
        var i = 0
        let n = _members.count
        while i < n {
            if _members[i].key == key { return i }
            i += 1
        }
        return nil
    }

    /// Member lookup; assigning `nil` removes the key.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = position(of: key) else { return nil }
            return _members[i].value
        }
        set {
            if let i = position(of: key) {
                if let v = newValue {
                    _members[i].value = v
                } else {
                    _members.remove(at: i)
                    if _index != nil { rebuildIndex() }
                }
            } else if let v = newValue {
                _members.append(Member(key: key, value: v))
                if _index != nil {
                    _index![key] = _members.count - 1
                } else if _members.count > JSONObject.indexThreshold {
                    rebuildIndex()
                }
            }
        }
    }

    mutating func rebuildIndex() {
        if _members.count <= JSONObject.indexThreshold {
            _index = nil
            return
        }
        var idx = [String: Int](minimumCapacity: _members.count)
        for (i, m) in _members.enumerated() { idx[m.key] = i }
        _index = idx
    }

    /// Keys in insertion order.
    public var keys: [String] { _members.map { $0.key } }
    /// Values in insertion order.
    public var values: [JSONValue] { _members.map { $0.value } }
    public var count: Int { _members.count }
    public var isEmpty: Bool { _members.isEmpty }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for m in lhs._members {
            guard let v = rhs[m.key], v == m.value else { return false }
        }
        return true
    }

    public typealias Element = (key: String, value: JSONValue)

    /// Iterates members in insertion order.
    public struct Iterator: IteratorProtocol {
        let members: [Member]
        var i = 0
        public mutating func next() -> (key: String, value: JSONValue)? {
            guard i < members.count else { return nil }
            defer { i += 1 }
            return (members[i].key, members[i].value)
        }
    }

    public func makeIterator() -> Iterator { Iterator(members: _members) }
    public var underestimatedCount: Int { _members.count }
}

/// A JSON syntax error. `offset` is the 0-based byte offset of the offending byte (the input
/// length for an unexpected end). Messages use Go's encoding/json wording.
public struct JSONError: Error, CustomStringConvertible, Equatable, Sendable {
    public let offset: Int
    public let message: String
    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "\(message) at offset \(offset)" }
}

// MARK: - Literals and convenience initialisers

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(value.decimal) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

/// Convenience initialisers: integers become `.number` with their decimal text.
extension JSONValue {
    public init(_ v: Int64) { self = .number(v.decimal) }
    public init(_ v: UInt64) { self = .number(v.decimal) }
    public init(_ v: Int) { self = .number(v.decimal) }
    public init(_ v: UInt32) { self = .number(v.decimal) }
    public init(_ v: Int32) { self = .number(v.decimal) }
    public init(_ v: String) { self = .string(v) }
    public init(_ v: Bool) { self = .bool(v) }
    public init(_ v: [String]) { self = .array(v.map { .string($0) }) }
}

// MARK: - Accessors

extension JSONValue {
    /// Object member. The setter is a no-op on non-objects; assigning `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let o) = self { return o[key] }
            return nil
        }
        set {
            guard case .object(var o) = self else { return }
            self = .null  // drop the enum's reference so `o` is uniquely referenced (no copy)
            o[key] = newValue
            self = .object(o)
        }
    }

    /// Array element, or nil when out of bounds or not an array.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    /// The literal text of a number.
    public var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Exact Int64 value of a number written as a plain integer (like Go, `1.0` and `1e3` are not
    /// integers); nil for non-numbers or out of range.
    public var int64Value: Int64? {
        guard case .number(let n) = self else { return nil }
        return JSONValue.parseInt64(n)
    }

    /// Exact UInt64 value of a number written as a plain non-negative integer; nil otherwise.
    public var uint64Value: UInt64? {
        guard case .number(let n) = self else { return nil }
        return JSONValue.parseUInt64(n)
    }

    /// Parses `-?[0-9]+` exactly (no sign '+', no fraction or exponent).
    public static func parseInt64(_ text: String) -> Int64? {
        var utf8 = text.utf8.makeIterator()
        guard var c = utf8.next() else { return nil }
        var negative = false
        if c == UInt8(ascii: "-") {
            negative = true
            guard let d = utf8.next() else { return nil }
            c = d
        }
        var acc: Int64 = 0
        while true {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let d = Int64(c &- 0x30)
            let (m, o1) = acc.multipliedReportingOverflow(by: 10)
            if o1 { return nil }
            // Accumulate negatively so Int64.min is representable.
            let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            if o2 { return nil }
            acc = s
            guard let n = utf8.next() else { break }
            c = n
        }
        return acc
    }

    /// Parses `[0-9]+` exactly.
    public static func parseUInt64(_ text: String) -> UInt64? {
        var any = false
        var acc: UInt64 = 0
        for c in text.utf8 {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = acc.multipliedReportingOverflow(by: 10)
            if o1 { return nil }
            let (s, o2) = m.addingReportingOverflow(UInt64(c &- 0x30))
            if o2 { return nil }
            acc = s
            any = true
        }
        return any ? acc : nil
    }
}

// MARK: - Parsing

extension JSONValue {
    /// Parses one JSON document (RFC 8259, nothing but whitespace around it). Invalid UTF-8 inside
    /// strings and lone surrogate escapes become U+FFFD, as in Go's decoder.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        return try bytes.withUnsafeBufferPointer { (buf) throws(JSONError) -> JSONValue in
            var p = JSONParser(buf)
            return try p.parseDocument()
        }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        var t = text
        // String.withUTF8 is untyped-rethrows, so carry the error out in a Result.
        let result = t.withUTF8 { (buf) -> Result<JSONValue, JSONError> in
            var p = JSONParser(buf)
            do throws(JSONError) {
                return .success(try p.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// Recursive-descent parser over a borrowed buffer (no copies of the input).
struct JSONParser {
    let p: UnsafeBufferPointer<UInt8>
    var i: Int = 0
    var depth: Int = 0
    /// Go allows 10000; deep recursion on a small thread stack is the real limit here.
    static let maxDepth = 1000
    /// Reused scratch for strings containing escapes.
    var scratch: [UInt8] = []
    /// Elements/members of the containers being parsed, so each finished container is
    /// allocated once at its exact size instead of growing.
    var valueStack: [JSONValue] = []
    var memberStack: [JSONObject.Member] = []

    init(_ p: UnsafeBufferPointer<UInt8>) {
        self.p = p
        // Room for the members and elements of the nested containers being parsed at once: growing them from
        // empty reallocated four or five times per document (`list` parses one per container).
        memberStack.reserveCapacity(32)
        valueStack.reserveCapacity(32)
    }

    @inline(__always) mutating func skipWS() {
        while i < p.count {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    func eof() -> JSONError { JSONError(offset: p.count, message: "unexpected end of JSON input") }

    func invalid(_ context: String) -> JSONError {
        if i >= p.count { return eof() }
        return JSONError(offset: i, message: "invalid character \(quoteChar(p[i])) \(context)")
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        skipWS()
        let v = try parseValue()
        skipWS()
        if i < p.count { throw invalid("after top-level value") }
        return v
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard i < p.count else { throw eof() }
        switch p[i] {
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw invalid("looking for beginning of value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        i += 1
        for k in 1..<w.count {
            if i >= p.count { throw eof() }
            if p[i] != w[k] {
                throw invalid("in literal \(word) (expecting \(quoteChar(w[k])))")
            }
            i += 1
        }
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        if depth > JSONParser.maxDepth { throw JSONError(offset: i, message: "exceeded max depth") }
    }

    mutating func parseObject() throws(JSONError) -> JSONObject {
        try enter()
        i += 1  // '{'
        skipWS()
        if i < p.count && p[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return JSONObject()
        }
        let base = memberStack.count
        while true {
            guard i < p.count else { throw eof() }
            guard p[i] == UInt8(ascii: "\"") else { throw invalid("looking for beginning of object key string") }
            let key = try parseString()
            skipWS()
            guard i < p.count else { throw eof() }
            guard p[i] == UInt8(ascii: ":") else { throw invalid("after object key") }
            i += 1
            skipWS()
            let value = try parseValue()
            memberStack.append(JSONObject.Member(key: key, value: value))
            skipWS()
            guard i < p.count else { throw eof() }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                skipWS()
                continue
            }
            if p[i] == UInt8(ascii: "}") {
                i += 1
                depth -= 1
                let obj = JSONObject(parsed: Array(memberStack[base...]))
                memberStack.removeLast(memberStack.count - base)
                return obj
            }
            throw invalid("after object key:value pair")
        }
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enter()
        i += 1  // '['
        skipWS()
        if i < p.count && p[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array([])
        }
        let base = valueStack.count
        while true {
            let v = try parseValue()
            valueStack.append(v)
            skipWS()
            guard i < p.count else { throw eof() }
            if p[i] == UInt8(ascii: ",") {
                i += 1
                skipWS()
                continue
            }
            if p[i] == UInt8(ascii: "]") {
                i += 1
                depth -= 1
                let arr = Array(valueStack[base...])
                valueStack.removeLast(valueStack.count - base)
                return .array(arr)
            }
            throw invalid("after array element")
        }
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    mutating func parseNumber() throws(JSONError) -> String {
        let start = i
        if p[i] == UInt8(ascii: "-") {
            i += 1
            guard i < p.count else { throw eof() }
            guard JSONParser.isDigit(p[i]) else { throw invalid("in numeric literal") }
        }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < p.count && JSONParser.isDigit(p[i]) { i += 1 }
        }
        if i < p.count && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < p.count else { throw eof() }
            guard JSONParser.isDigit(p[i]) else { throw invalid("after decimal point in numeric literal") }
            while i < p.count && JSONParser.isDigit(p[i]) { i += 1 }
        }
        if i < p.count && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            guard i < p.count else { throw eof() }
            if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                i += 1
                guard i < p.count else { throw eof() }
            }
            guard JSONParser.isDigit(p[i]) else { throw invalid("in exponent of numeric literal") }
            while i < p.count && JSONParser.isDigit(p[i]) { i += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// Reads the 4 hex digits after `\u`; `i` points at the first digit.
    mutating func hex4() throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < p.count else { throw eof() }
            guard let h = JSONParser.hexValue(p[i]) else { throw invalid("in \\u hexadecimal character escape") }
            v = v << 4 | h
            i += 1
        }
        return v
    }

    mutating func parseString() throws(JSONError) -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw invalid("in string literal") }
            i += 1
        }
        guard i < p.count else { throw eof() }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i]))
        while true {
            guard i < p.count else { throw eof() }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c < 0x20 { throw invalid("in string literal") }
            if c != UInt8(ascii: "\\") {
                scratch.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < p.count else { throw eof() }
            let e = p[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if cp >= 0xD800 && cp < 0xDC00 {
                    // High surrogate: combine with a following \uDC00-\uDFFF escape, else U+FFFD.
                    if i + 1 < p.count && p[i] == UInt8(ascii: "\\") && p[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo < 0xE000 {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            cp = 0xFFFD
                            i = save  // the second escape is decoded on its own
                        }
                    } else {
                        cp = 0xFFFD
                    }
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    cp = 0xFFFD
                }
                appendUTF8(cp)
            default:
                i -= 1
                throw invalid("in string escape code")
            }
        }
    }

    mutating func appendUTF8(_ cp: UInt32) {
        if cp < 0x80 {
            scratch.append(UInt8(cp))
        } else if cp < 0x800 {
            scratch.append(UInt8(0xC0 | (cp >> 6)))
            scratch.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp < 0x10000 {
            scratch.append(UInt8(0xE0 | (cp >> 12)))
            scratch.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (cp & 0x3F)))
        } else {
            scratch.append(UInt8(0xF0 | (cp >> 18)))
            scratch.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (cp & 0x3F)))
        }
    }
}

/// Go's scanner quoteChar: `'x'`, `'\n'`, `'\x01'`, `'\''`, `'"'`.
func quoteChar(_ c: UInt8) -> String {
    if c == UInt8(ascii: "'") { return "'\\''" }
    if c == UInt8(ascii: "\"") { return "'\"'" }
    let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var s = "'"
    switch c {
    case 0x07: s += "\\a"
    case 0x08: s += "\\b"
    case 0x0C: s += "\\f"
    case 0x0A: s += "\\n"
    case 0x0D: s += "\\r"
    case 0x09: s += "\\t"
    case 0x0B: s += "\\v"
    case 0x5C: s += "\\\\"
    case 0x00..<0x20, 0x7F:
        s += "\\x"
        s.append(hex[Int(c >> 4)])
        s.append(hex[Int(c & 0xF)])
    case 0x80...0xA0, 0xAD:
        // Go converts the byte to the rune U+00XX; these are not printable there.
        s += "\\u00"
        s.append(hex[Int(c >> 4)])
        s.append(hex[Int(c & 0xF)])
    default:
        s.unicodeScalars.append(Unicode.Scalar(c))
    }
    s += "'"
    return s
}

// MARK: - Serialisation

extension JSONValue {
    /// Serialises like Go's encoding/json: `indent == nil` gives compact `json.Marshal` output,
    /// otherwise `json.MarshalIndent(v, "", indent)` (no trailing newline in either case).
    public func serialized(indent: String? = nil) -> String {
        var w = JSONWriter(indent: indent.map { Array($0.utf8) })
        w.write(self, level: 0)
        return String(decoding: w.out, as: UTF8.self)
    }

    /// Same as `serialized(indent:)` but as UTF-8 bytes (for writing to a file descriptor).
    public func serializedBytes(indent: String? = nil) -> [UInt8] {
        var w = JSONWriter(indent: indent.map { Array($0.utf8) })
        w.write(self, level: 0)
        return w.out
    }

    /// A JSON string literal for `s` with Go's escaping (quotes included).
    public static func quoted(_ s: String) -> String {
        var w = JSONWriter(indent: nil)
        w.writeString(s)
        return String(decoding: w.out, as: UTF8.self)
    }
}

/// Serialises a JSONValue with Go's escaping (what runc writes), compact or indented.
struct JSONWriter {
    var out: [UInt8] = []
    let indent: [UInt8]?

    init(indent: [UInt8]?) {
        self.indent = indent
        out.reserveCapacity(256)
    }

    mutating func newline(_ level: Int) {
        guard let ind = indent else { return }
        out.append(0x0A)
        for _ in 0..<level { out.append(contentsOf: ind) }
    }

    mutating func write(_ v: JSONValue, level: Int) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): writeString(s)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            if a.isEmpty {
                out.append(UInt8(ascii: "]"))
                return
            }
            for (k, e) in a.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                write(e, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            if o.isEmpty {
                out.append(UInt8(ascii: "}"))
                return
            }
            for k in 0..<o._members.count {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1)
                writeString(o._members[k].key)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(0x20) }
                write(o._members[k].value, level: level + 1)
            }
            newline(level)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Go's encodeState.string with HTML escaping on (the json.Marshal default), Go ≤ 1.21
    /// control-character spelling (`\u0008`, `\u000c`; only \n \r \t get short forms), as built
    /// into runc 1.1.x. U+2028/U+2029 are escaped too, as Go does.
    mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var str = s
        str.withUTF8 { buf in appendEscaped(buf) }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always) static func needsEscape(_ c: UInt8) -> Bool {
        c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == UInt8(ascii: "<")
            || c == UInt8(ascii: ">") || c == UInt8(ascii: "&") || c == 0xE2
    }

    @inline(__always) static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

    /// Copies runs of bytes that need no escaping in bulk; `buf` is valid UTF-8.
    mutating func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var i = 0
        let n = buf.count
        while i < n {
            let c = buf[i]
            if !JSONWriter.needsEscape(c) {
                i += 1
                continue
            }
            if c == 0xE2 {
                // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; other E2 sequences pass through.
                if !(i + 2 < n && buf[i + 1] == 0x80 && (buf[i + 2] == 0xA8 || buf[i + 2] == 0xA9)) {
                    i += 1
                    continue
                }
            }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0xE2:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x32, 0x30, 0x32, buf[i + 2] == 0xA8 ? 0x38 : 0x39])
                i += 2
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, JSONWriter.hexDigit(c >> 4), JSONWriter.hexDigit(c & 0xF)])
            }
            i += 1
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<n])) }
    }
}
