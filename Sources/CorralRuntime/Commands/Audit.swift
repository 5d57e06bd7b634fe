import CorralSpec
import Glibc

extension Commands {
    /// `corral audit verify ID|FILE`: checks a container's audit trail (`<root>/.audit/<id>.jsonl`, kept after
    /// delete) or any copy of one (a path: anything with a `/`, or a file that exists). Prints the number of lines
    /// and exits 0 when the chain holds; otherwise names the first line where it breaks and exits 1.
    static let audit = Verb(name: "audit", usage: "verify <container-id>|<file>",
                            summary: "verify the hash chain of a container's audit trail", options: [],
                            arity: 2...2) { ctx, o throws(RuntimeError) in
        guard o.positional[0] == "verify" else {
            throw RuntimeError(.usage, "unknown audit command \(JSONValue.quoted(o.positional[0])) (known: verify)")
        }
        let target = o.positional[1]
        var path = target
        if !target.utf8.contains(UInt8(ascii: "/")) {
            let trail = AuditTrail(root: ctx.store.root, id: target, sink: nil).path
            if (try? StateStore.validate(id: target)) != nil, Files.exists(trail) || !Files.exists(target) { path = trail }
        }
        let bytes: [UInt8]
        do throws(RuntimeError) { bytes = try Files.read(path) } catch {
            throw RuntimeError(.notFound, "audit verify: \(error.message)")
        }
        let verdict = AuditTrail.verify(bytes)
        if let p = verdict.problem {
            throw RuntimeError(.invalidState, "audit verify \(path): line \(p.line): \(p.text)")
        }
        printOut("\(path): \(verdict.lines) line\(verdict.lines == 1 ? "" : "s"), chain intact\n")
        return 0
    }
}
