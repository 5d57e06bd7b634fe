import XCTest

@testable import CorralSpec

final class JSONTests: XCTestCase {
    func parse(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do {
            return try JSONValue.parse(s)
        } catch {
            XCTFail("parse failed for \(s): \(error)", file: file, line: line)
            return nil
        }
    }

    func testScalars() throws {
        XCTAssertEqual(parse("null"), .null)
        XCTAssertEqual(parse(" true "), .bool(true))
        XCTAssertEqual(parse("\tfalse\n"), .bool(false))
        XCTAssertEqual(parse("0"), .number("0"))
        XCTAssertEqual(parse("-0"), .number("-0"))
        XCTAssertEqual(parse("1.5e+10"), .number("1.5e+10"))
        XCTAssertEqual(parse("-12.25E-3"), .number("-12.25E-3"))
        XCTAssertEqual(parse("\"\""), .string(""))
        XCTAssertEqual(parse("[]"), .array([]))
        XCTAssertEqual(parse("{}"), .object(JSONObject()))
    }

    func testBigIntegers() throws {
        let v = try JSONValue.parse("[18446744073709551615, -1, 9223372036854775807, -9223372036854775808, 18446744073709551616, 1.0, 1e3, -0]")
        XCTAssertEqual(v[0]?.uint64Value, UInt64.max)
        XCTAssertNil(v[0]?.int64Value)
        XCTAssertEqual(v[1]?.int64Value, -1)
        XCTAssertNil(v[1]?.uint64Value)
        XCTAssertEqual(v[2]?.int64Value, Int64.max)
        XCTAssertEqual(v[3]?.int64Value, Int64.min)
        XCTAssertNil(v[4]?.uint64Value)
        XCTAssertNil(v[5]?.int64Value)
        XCTAssertNil(v[6]?.int64Value)
        XCTAssertEqual(v[7]?.int64Value, 0)
        XCTAssertNil(v[7]?.uint64Value)
        // Exact text round trip.
        XCTAssertEqual(v.serialized(), "[18446744073709551615,-1,9223372036854775807,-9223372036854775808,18446744073709551616,1.0,1e3,-0]")
        XCTAssertEqual(JSONValue(UInt64.max), .number("18446744073709551615"))
        XCTAssertEqual(JSONValue(Int64(-1)).int64Value, -1)
        XCTAssertEqual(JSONValue(UInt32(7)).uint64Value, 7)
    }

    func testEscapesAndSurrogates() throws {
        XCTAssertEqual(parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        XCTAssertEqual(parse(#""\u0041\u00e9\u4e2d""#), .string("Aé中"))
        XCTAssertEqual(parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(parse(#""\uD83D\uDE00x""#), .string("😀x"))
        // Lone surrogates become U+FFFD like Go.
        XCTAssertEqual(parse(#""\ud83d""#), .string("\u{FFFD}"))
        XCTAssertEqual(parse(#""\ude00a""#), .string("\u{FFFD}a"))
        XCTAssertEqual(parse(#""\ud83d\u0041""#), .string("\u{FFFD}A"))
        XCTAssertEqual(parse("\"héllo 😀\""), .string("héllo 😀"))
        // Invalid UTF-8 is replaced, as Go does.
        XCTAssertEqual(try JSONValue.parse([0x22, 0xFF, 0x22]), .string("\u{FFFD}"))
    }

    func testGoStringEscaping() {
        let s: JSONValue = .string("a\"b\\c/<>&\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é😀\u{2028}\u{2029}\u{2027}")
        XCTAssertEqual(
            s.serialized(),
            #""a\"b\\c/\u003c\u003e\u0026\u0000\u0001\u0008\u000c\n\r\t\u001f"# + "\u{7f}é😀" + #"\u2028\u2029"# + "\u{2027}\"")
        // And it parses back to the same string.
        XCTAssertEqual(try JSONValue.parse(s.serialized()), s)
        XCTAssertEqual(JSONValue.quoted("x<y"), #""x\u003cy""#)
    }

    func testObjectOrderAndDuplicates() throws {
        let v = try JSONValue.parse(#"{"b":1,"a":2,"b":3}"#)
        XCTAssertEqual(v.objectValue?.keys, ["b", "a"])
        XCTAssertEqual(v["b"], 3)
        XCTAssertEqual(v.serialized(), #"{"b":3,"a":2}"#)
        // Equality ignores order.
        XCTAssertEqual(try JSONValue.parse(#"{"a":2,"b":3}"#), v)
        XCTAssertNotEqual(try JSONValue.parse(#"{"a":2,"b":4}"#), v)

        var o = JSONObject()
        for k in 0..<40 { o["k\(k)"] = JSONValue(k) }
        XCTAssertEqual(o.count, 40)
        XCTAssertEqual(o["k33"], 33)
        o["k5"] = nil
        XCTAssertNil(o["k5"])
        XCTAssertEqual(o["k39"], 39)
        XCTAssertEqual(o.keys.count, 39)
        XCTAssertEqual(o.keys[5], "k6")
        o["k6"] = "x"
        XCTAssertEqual(o.keys[5], "k6")
        var seen: [String] = []
        for (k, _) in o { seen.append(k) }
        XCTAssertEqual(seen, o.keys)

        // Large objects (indexed) fold duplicates the same way.
        let big = "{" + (0..<20).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k3":"dup"}"#
        let bv = try JSONValue.parse(big)
        XCTAssertEqual(bv.objectValue?.count, 20)
        XCTAssertEqual(bv["k3"], "dup")
        XCTAssertEqual(bv.objectValue?.keys[3], "k3")
        XCTAssertEqual(bv["k19"], 19)
        XCTAssertEqual(try JSONValue.parse(Array(big.utf8)), bv)

        var doc: JSONValue = ["a": 1, "z": [true, nil, "s"]]
        doc["b"] = ["c": 2]
        doc["a"] = nil
        XCTAssertEqual(doc.serialized(), #"{"z":[true,null,"s"],"b":{"c":2}}"#)
        var notObject: JSONValue = [1]
        notObject["x"] = 1
        XCTAssertEqual(notObject, [1])
        XCTAssertNil(notObject[5])
        XCTAssertNil(notObject[-1])
    }

    func testPrettyGoStyle() {
        let v: JSONValue = ["a": 1, "b": [], "c": [:], "d": ["x", ["y": false]], "e": nil]
        let expected = """
            {
            \t"a": 1,
            \t"b": [],
            \t"c": {},
            \t"d": [
            \t\t"x",
            \t\t{
            \t\t\t"y": false
            \t\t}
            \t],
            \t"e": null
            }
            """
        XCTAssertEqual(v.serialized(indent: "\t"), expected)
        XCTAssertEqual(v.serialized(), #"{"a":1,"b":[],"c":{},"d":["x",{"y":false}],"e":null}"#)
        XCTAssertEqual(try JSONValue.parse(expected), v)
        XCTAssertEqual(JSONValue.array([]).serialized(indent: "  "), "[]")
        XCTAssertEqual(JSONValue.array([1]).serialized(indent: "  "), "[\n  1\n]")
    }

    func testRoundTripEngineConfigs() throws {
        for name in ["hardened-config.docker.pretty.json", "hardened-config.podman.pretty.json", "hardened-config.ctr.pretty.json"] {
            guard let bytes = readTestFile(dataDir + name) else { throw XCTSkip("\(dataDir + name) is not present") }
            let v = try JSONValue.parse(bytes)
            let compact = v.serialized()
            XCTAssertEqual(try JSONValue.parse(compact), v)
            XCTAssertEqual(try JSONValue.parse(v.serialized(indent: "\t")), v)
            XCTAssertEqual(JSONValue.parse(compact, orFail: ()).serialized(), compact)
        }
    }

    /// Invalid documents with Go's messages and our 0-based offsets.
    func testInvalid() {
        let cases: [(String, String)] = [
            ("", "unexpected end of JSON input at offset 0"),
            ("   ", "unexpected end of JSON input at offset 3"),
            ("{", "unexpected end of JSON input at offset 1"),
            ("[1,", "unexpected end of JSON input at offset 3"),
            ("\"abc", "unexpected end of JSON input at offset 4"),
            ("\"a\\", "unexpected end of JSON input at offset 3"),
            ("tru", "unexpected end of JSON input at offset 3"),
            ("-", "unexpected end of JSON input at offset 1"),
            ("1.", "unexpected end of JSON input at offset 2"),
            ("1e", "unexpected end of JSON input at offset 2"),
            ("x", "invalid character 'x' looking for beginning of value at offset 0"),
            ("[1,]", "invalid character ']' looking for beginning of value at offset 3"),
            ("{,}", "invalid character ',' looking for beginning of object key string at offset 1"),
            ("{\"a\":1,}", "invalid character '}' looking for beginning of object key string at offset 7"),
            ("{\"a\" 1}", "invalid character '1' after object key at offset 5"),
            ("{\"a\":1 \"b\":2}", "invalid character '\"' after object key:value pair at offset 7"),
            ("[1 2]", "invalid character '2' after array element at offset 3"),
            ("{} {}", "invalid character '{' after top-level value at offset 3"),
            ("01", "invalid character '1' after top-level value at offset 1"),
            ("[01]", "invalid character '1' after array element at offset 2"),
            ("-a", "invalid character 'a' in numeric literal at offset 1"),
            ("1.e5", "invalid character 'e' after decimal point in numeric literal at offset 2"),
            ("1e+x", "invalid character 'x' in exponent of numeric literal at offset 3"),
            ("+1", "invalid character '+' looking for beginning of value at offset 0"),
            (".5", "invalid character '.' looking for beginning of value at offset 0"),
            ("NaN", "invalid character 'N' looking for beginning of value at offset 0"),
            ("trUe", "invalid character 'U' in literal true (expecting 'u') at offset 2"),
            ("nul1", "invalid character '1' in literal null (expecting 'l') at offset 3"),
            ("fals", "unexpected end of JSON input at offset 4"),
            ("\"a\nb\"", "invalid character '\\n' in string literal at offset 2"),
            ("\"a\u{1}b\"", "invalid character '\\x01' in string literal at offset 2"),
            ("\"\\x\"", "invalid character 'x' in string escape code at offset 2"),
            ("\"\\u12G4\"", "invalid character 'G' in \\u hexadecimal character escape at offset 5"),
            ("\"\\'\"", "invalid character '\\'' in string escape code at offset 2"),
            ("[\"a\" \"b\"]", "invalid character '\"' after array element at offset 5"),
            ("\u{FEFF}{}", "invalid character 'ï' looking for beginning of value at offset 0"),
        ]
        for (input, expected) in cases {
            do {
                let v = try JSONValue.parse(input)
                XCTFail("\(input.debugDescription) parsed as \(v)")
            } catch {
                XCTAssertEqual(error.description, expected, "input \(input.debugDescription)")
            }
        }
        // Depth limit.
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        XCTAssertThrowsError(try JSONValue.parse(deep))
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        XCTAssertNoThrow(try JSONValue.parse(ok))
    }

    func testLiterals() {
        let v: JSONValue = ["s": "x", "i": -3, "b": true, "n": nil, "a": [1, "2"]]
        XCTAssertEqual(v["s"]?.stringValue, "x")
        XCTAssertEqual(v["i"]?.int64Value, -3)
        XCTAssertEqual(v["b"]?.boolValue, true)
        XCTAssertEqual(v["n"], .null)
        XCTAssertEqual(v["a"]?.arrayValue?.count, 2)
        XCTAssertNil(v["missing"])
        XCTAssertNil(v["s"]?.int64Value)
    }
}

extension JSONValue {
    /// Test helper: parse or trap (used where the input was just produced by us).
    static func parse(_ s: String, orFail: ()) -> JSONValue {
        do { return try JSONValue.parse(s) } catch { fatalError("\(error)") }
    }
}
