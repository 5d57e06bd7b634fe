// Path-precise decoding helpers shared by the Spec* model files. Decoding walks the JSONValue
// tree once and keeps no path state on the happy path: an error is thrown with the path
// relative to the value that failed (".type"), and every enclosing level prefixes its own
// component while the error propagates ("[2].type", ".namespaces[2].type", ...). Typed throws
// make that propagation a plain return, so a valid config pays nothing for precise paths.

/// A config.json (or process.json / resources JSON) that is not valid or not supported.
/// `path` is the JSON path of the offending value, e.g. `linux.namespaces[2].type`
/// (`config.json` when the document as a whole is at fault).
public struct SpecError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// A closed set of spec values. Case names equal the spec spelling (`.SCMP_ACT_ALLOW`, `.pid`,
/// `.RLIMIT_NOFILE`), so code can be written from the spec text alone.
public protocol SpecEnum: RawRepresentable, CaseIterable, Hashable, Sendable where RawValue == String {}

extension SpecEnum {
    /// "a, b, c" in declaration (spec) order, for error messages and `features`.
    public static var supportedList: String { allCases.map { $0.rawValue }.joined(separator: ", ") }
    public static var allRawValues: [String] { allCases.map { $0.rawValue } }
}

/// Decoding helpers. Stateless: paths are assembled while errors propagate (see above).
struct SpecDecoder {
    /// Turns a relative path (".a[1].b", or "" for the document itself) into the public form,
    /// prefixed with `root` ("" for config.json, "process", "resources").
    static func finish(_ e: SpecError, root: String) -> SpecError {
        var rel = Substring(e.path)
        if root.isEmpty && rel.first == "." { rel = rel.dropFirst() }
        let full = root + rel
        return SpecError(path: full.isEmpty ? "config.json" : full, message: e.message)
    }

    @inline(__always) func error(_ message: String) -> SpecError { SpecError(path: "", message: message) }
    @inline(__always) func error(_ key: String, _ message: String) -> SpecError {
        SpecError(path: "." + key, message: message)
    }

    static func excerpt(_ v: JSONValue) -> String {
        let text = v.serialized()
        if text.count <= 40 { return text }
        return String(text.prefix(40))
    }

    static func typeMessage(_ expected: String, _ v: JSONValue) -> String {
        "expected \(expected), got \(excerpt(v))"
    }

    static let missing = "required field is missing"

    // MARK: field access

    /// The member, treating JSON null as absent (Go decodes null into a nil pointer/slice).
    @inline(__always) static func field(_ o: JSONObject, _ key: String) -> JSONValue? {
        guard let v = o[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    func required(_ o: JSONObject, _ key: String) throws(SpecError) -> JSONValue {
        guard let v = o[key] else { throw error(key, SpecDecoder.missing) }
        return v
    }

    // MARK: scalar conversions (the value itself; errors at the current path)

    func string(_ v: JSONValue) throws(SpecError) -> String {
        if case .string(let s) = v { return try noNUL(s) }
        throw error(SpecDecoder.typeMessage("string", v))
    }

    /// Strings reach the kernel as C strings, which end at the first NUL: "/tmp\u{0}/../../etc" would be seen by a
    /// policy checker as one path and used as another. Every config string with a NUL is refused.
    @inline(__always) func noNUL(_ s: String) throws(SpecError) -> String {
        if s.utf8.contains(0) {
            throw error("string contains a NUL byte: \(JSONValue.quoted(String(decoding: s.utf8.prefix(64), as: UTF8.self)))")
        }
        return s
    }
    func bool(_ v: JSONValue) throws(SpecError) -> Bool {
        if case .bool(let b) = v { return b }
        throw error(SpecDecoder.typeMessage("boolean", v))
    }
    func uint64(_ v: JSONValue) throws(SpecError) -> UInt64 {
        if let n = v.uint64Value { return n }
        throw error(SpecDecoder.typeMessage("unsigned 64-bit integer", v))
    }
    func int64(_ v: JSONValue) throws(SpecError) -> Int64 {
        if let n = v.int64Value { return n }
        throw error(SpecDecoder.typeMessage("64-bit integer", v))
    }
    func uint32(_ v: JSONValue) throws(SpecError) -> UInt32 {
        if let n = v.uint64Value, let r = UInt32(exactly: n) { return r }
        throw error(SpecDecoder.typeMessage("unsigned 32-bit integer", v))
    }
    func uint16(_ v: JSONValue) throws(SpecError) -> UInt16 {
        if let n = v.uint64Value, let r = UInt16(exactly: n) { return r }
        throw error(SpecDecoder.typeMessage("unsigned 16-bit integer", v))
    }
    func int32(_ v: JSONValue) throws(SpecError) -> Int32 {
        if let n = v.int64Value, let r = Int32(exactly: n) { return r }
        throw error(SpecDecoder.typeMessage("32-bit integer", v))
    }
    func int(_ v: JSONValue) throws(SpecError) -> Int {
        if let n = v.int64Value, let r = Int(exactly: n) { return r }
        throw error(SpecDecoder.typeMessage("integer", v))
    }
    func object(_ v: JSONValue) throws(SpecError) -> JSONObject {
        if case .object(let o) = v { return o }
        throw error(SpecDecoder.typeMessage("object", v))
    }
    func array(_ v: JSONValue) throws(SpecError) -> [JSONValue] {
        if case .array(let a) = v { return a }
        throw error(SpecDecoder.typeMessage("array", v))
    }
    func enumValue<E: SpecEnum>(_ v: JSONValue, _: E.Type) throws(SpecError) -> E {
        let s = try string(v)
        if let e = E(rawValue: s) { return e }
        throw error("unsupported value \(JSONValue.quoted(s)) (supported: \(E.supportedList))")
    }

    // MARK: keyed helpers

    /// Runs `body`; an error from it gets `.key` prefixed to its path.
    @inline(__always) func at<T>(_ key: String, _ body: () throws(SpecError) -> T) throws(SpecError) -> T {
        do throws(SpecError) {
            return try body()
        } catch {
            throw SpecError(path: "." + key + error.path, message: error.message)
        }
    }

    @inline(__always) func at<T>(index: Int, _ body: () throws(SpecError) -> T) throws(SpecError) -> T {
        do throws(SpecError) {
            return try body()
        } catch {
            throw SpecError(path: "[\(index)]" + error.path, message: error.message)
        }
    }

    @inline(__always) func at<T>(mapKey: String, _ body: () throws(SpecError) -> T) throws(SpecError) -> T {
        do throws(SpecError) {
            return try body()
        } catch {
            throw SpecError(path: "[" + JSONValue.quoted(mapKey) + "]" + error.path, message: error.message)
        }
    }

    func reqString(_ o: JSONObject, _ key: String) throws(SpecError) -> String {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try string(v) }
    }
    func optString(_ o: JSONObject, _ key: String) throws(SpecError) -> String? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try string(v) }
    }
    func optBool(_ o: JSONObject, _ key: String) throws(SpecError) -> Bool? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        if case .bool(let b) = v { return b }
        throw error(key, SpecDecoder.typeMessage("boolean", v))
    }
    func reqBool(_ o: JSONObject, _ key: String) throws(SpecError) -> Bool {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try bool(v) }
    }
    func reqUInt32(_ o: JSONObject, _ key: String) throws(SpecError) -> UInt32 {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try uint32(v) }
    }
    func optUInt32(_ o: JSONObject, _ key: String) throws(SpecError) -> UInt32? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try uint32(v) }
    }
    func optUInt16(_ o: JSONObject, _ key: String) throws(SpecError) -> UInt16? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try uint16(v) }
    }
    func reqUInt64(_ o: JSONObject, _ key: String) throws(SpecError) -> UInt64 {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try uint64(v) }
    }
    func optUInt64(_ o: JSONObject, _ key: String) throws(SpecError) -> UInt64? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try uint64(v) }
    }
    func reqInt64(_ o: JSONObject, _ key: String) throws(SpecError) -> Int64 {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try int64(v) }
    }
    func optInt64(_ o: JSONObject, _ key: String) throws(SpecError) -> Int64? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try int64(v) }
    }
    func optInt32(_ o: JSONObject, _ key: String) throws(SpecError) -> Int32? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try int32(v) }
    }
    func reqInt(_ o: JSONObject, _ key: String) throws(SpecError) -> Int {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try int(v) }
    }
    func optInt(_ o: JSONObject, _ key: String) throws(SpecError) -> Int? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try int(v) }
    }
    func reqEnum<E: SpecEnum>(_ o: JSONObject, _ key: String, _ t: E.Type) throws(SpecError) -> E {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try enumValue(v, t) }
    }
    func optEnum<E: SpecEnum>(_ o: JSONObject, _ key: String, _ t: E.Type) throws(SpecError) -> E? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try enumValue(v, t) }
    }

    /// An optional array whose elements are converted by `element` (called with the element's
    /// index on the path).
    func optArray<T>(_ o: JSONObject, _ key: String, _ element: (JSONValue) throws(SpecError) -> T) throws(SpecError) -> [T]? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try arrayOf(v, element) }
    }

    func reqArray<T>(_ o: JSONObject, _ key: String, _ element: (JSONValue) throws(SpecError) -> T) throws(SpecError) -> [T] {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try arrayOf(v, element) }
    }

    /// No list in a config may be longer (NGROUPS_MAX, the largest the kernel takes anywhere); lists that cost a
    /// mount each have lower bounds in the planner.
    static let maxArrayCount = 65536

    func arrayOf<T>(_ v: JSONValue, _ element: (JSONValue) throws(SpecError) -> T) throws(SpecError) -> [T] {
        let a = try array(v)
        if a.count > SpecDecoder.maxArrayCount {
            throw error("too many entries: \(a.count) (at most \(SpecDecoder.maxArrayCount))")
        }
        var out: [T] = []
        out.reserveCapacity(a.count)
        for i in 0..<a.count {
            do throws(SpecError) {
                out.append(try element(a[i]))
            } catch {
                throw SpecError(path: "[\(i)]" + error.path, message: error.message)
            }
        }
        return out
    }

    func optStringArray(_ o: JSONObject, _ key: String) throws(SpecError) -> [String]? {
        try optArray(o, key) { (v) throws(SpecError) in try self.string(v) }
    }
    func reqStringArray(_ o: JSONObject, _ key: String) throws(SpecError) -> [String] {
        try reqArray(o, key) { (v) throws(SpecError) in try self.string(v) }
    }

    /// An optional array of objects, each decoded by `make`.
    func optObjects<T>(_ o: JSONObject, _ key: String, _ make: (JSONObject) throws(SpecError) -> T) throws(SpecError) -> [T]? {
        try optArray(o, key) { (v) throws(SpecError) in try make(try self.object(v)) }
    }

    /// An optional nested object decoded by `make` with `key` on the path.
    func optObject<T>(_ o: JSONObject, _ key: String, _ make: (JSONObject) throws(SpecError) -> T) throws(SpecError) -> T? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in try make(try object(v)) }
    }
    func reqObject<T>(_ o: JSONObject, _ key: String, _ make: (JSONObject) throws(SpecError) -> T) throws(SpecError) -> T {
        let v = try required(o, key)
        return try at(key) { () throws(SpecError) in try make(try object(v)) }
    }

    /// An optional JSON object used as a map; values converted by `value` with the key on the path.
    func optMap<T>(_ o: JSONObject, _ key: String, _ value: (JSONValue) throws(SpecError) -> T) throws(SpecError) -> [String: T]? {
        guard let v = SpecDecoder.field(o, key) else { return nil }
        return try at(key) { () throws(SpecError) in
            let m = try object(v)
            var out = [String: T](minimumCapacity: m.count)
            for (k, e) in m {
                out[k] = try at(mapKey: k) { () throws(SpecError) in
                    _ = try noNUL(k)
                    return try value(e)
                }
            }
            return out
        }
    }

    func optStringMap(_ o: JSONObject, _ key: String) throws(SpecError) -> [String: String]? {
        try optMap(o, key) { (v) throws(SpecError) in try self.string(v) }
    }
}

/// True for "/..." (the spec's notion of absolute on Linux).
@inline(__always) func isAbsolutePath(_ s: String) -> Bool { s.utf8.first == UInt8(ascii: "/") }
