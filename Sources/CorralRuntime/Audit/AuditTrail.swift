import CCorralHost
import CorralSpec
import Glibc

/// A container's audit trail: `<root>/.audit/<id>.jsonl`, append-only JSON lines chained by hashes, outside the
/// container's state directory so `delete` keeps it (a new container of the same id continues the same chain).
///
/// Every line is one JSON object whose first keys are, in this order,
///
///     {"seq":N,"time":"<RFC 3339, UTC, ns>","event":"…","id":"<container id>","prev":"<hex>", …event fields}
///
/// `seq` counts lines from 1; `prev` is the SHA-256 (lowercase hex) of the previous line's bytes, without its
/// newline, and 64 zeros on the first line. Changing, removing or inserting a line breaks the chain at the next
/// line (`verify` names it); only the last line can be changed unseen, which is what the policy's sink is for (a
/// copy of every line, elsewhere). Writers (create, start's monitor, exec, kill, pause, resume, update, delete and
/// the monitor) append under flock(2) on the file: read the last line, hash it, write the new one in one write(2).
struct AuditTrail {
    let path: String
    let id: String
    let sink: String?

    static let directoryName = ".audit"
    static let genesis = String(repeating: "0", count: 64)

    init(root: String, id: String, sink: String?) {
        self.path = root + "/" + AuditTrail.directoryName + "/" + id + ".jsonl"
        self.id = id
        self.sink = sink
    }

    /// Appends one event; the trail's failures are errors (an audited container must not run unrecorded), the
    /// sink's are warnings.
    @discardableResult
    func append(_ event: String, _ fields: JSONObject = JSONObject(), warn: (String) -> Void) throws(RuntimeError) -> String {
        let dir = String(path.utf8.prefix(upTo: path.utf8.lastIndex(of: UInt8(ascii: "/"))!))!
        var fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        var created = false
        if fd < 0 && errno == ENOENT {
            try Files.mkdirAll(dir, mode: 0o700)
            fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            created = fd >= 0
        }
        if fd < 0 { throw .system("open audit trail \(path)", errno) }
        defer { close(fd) }
        if flock(fd, LOCK_EX) != 0 { throw .system("lock audit trail \(path)", errno) }
        let (last, complete) = AuditTrail.lastLine(fd)
        var seq: Int64 = 1
        var prev = AuditTrail.genesis
        if let last {
            prev = SHA256.hex(SHA256.digest(last))
            let lastSeq = (try? JSONValue.parse(last))?["seq"]?.int64Value ?? 0
            seq = lastSeq + 1
        }
        let line = AuditTrail.line(seq: seq, time: Clock.rfc3339Nano(Clock.now()), event: event, id: id, prev: prev, fields: fields)
        // A torn last line (a writer killed mid-write) stays as it is, and `verify` reports it.
        let bytes = Array(((complete ? "" : "\n") + line + "\n").utf8)
        let ok = bytes.withUnsafeBytes { Files.writeAll(fd, $0) }
        if !ok { throw .system("write audit trail \(path)", errno) }
        // On disk before the command goes on: a record of a container that ran must survive a host crash (a new
        // trail's directory entry too).
        if fdatasync(fd) != 0 { throw .system("sync audit trail \(path)", errno) }
        if created {
            let d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if d >= 0 { _ = fsync(d); close(d) }
        }
        if let sink { AuditSink.send(line, to: sink, warn: warn) }
        return line
    }

    /// The `event` of the trail's last line (nil without a trail).
    func lastEvent() -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 { return nil }
        defer { close(fd) }
        guard let last = AuditTrail.lastLine(fd).line else { return nil }
        return (try? JSONValue.parse(last))?["event"]?.stringValue
    }

    /// The serialised line (without newline): the chain's keys first, then the event's fields.
    static func line(seq: Int64, time: String, event: String, id: String, prev: String, fields: JSONObject) -> String {
        var o = JSONObject()
        o["seq"] = JSONValue(seq)
        o["time"] = .string(time)
        o["event"] = .string(event)
        o["id"] = .string(id)
        o["prev"] = .string(prev)
        for (k, v) in fields where o[k] == nil { o[k] = v }
        return JSONValue.object(o).serialized()
    }

    /// The file's last line (without its newline) and whether the file ends with a newline. Reads backwards in
    /// growing chunks: lines are small, trails are long.
    static func lastLine(_ fd: Int32) -> (line: [UInt8]?, complete: Bool) {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return (nil, true) }
        let size = Int(st.st_size)
        var chunk = 4096
        while true {
            let n = min(chunk, size)
            var buf = [UInt8](repeating: 0, count: n)
            let got = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(size - n)) }
            guard got == n else { return (nil, true) }
            let complete = buf.last == 0x0A
            let body = complete ? buf.dropLast() : buf[...]
            if let nl = body.lastIndex(of: 0x0A) { return (Array(body[(nl + 1)...]), complete) }
            if n == size { return (Array(body), complete) }
            chunk *= 4
        }
    }

    // MARK: verify

    /// What `verify` found: the number of lines, and the first problem with its line number (1-based).
    struct Verdict: Equatable {
        var lines: Int
        var problem: (line: Int, text: String)?

        static func == (a: Verdict, b: Verdict) -> Bool {
            a.lines == b.lines && a.problem?.line == b.problem?.line && a.problem?.text == b.problem?.text
        }
    }

    /// Checks a whole trail: every line a JSON object with the chain's keys, `seq` counting from 1, one id, and
    /// `prev` the hash of the line before.
    static func verify(_ bytes: [UInt8]) -> Verdict {
        if bytes.isEmpty { return Verdict(lines: 0, problem: (0, "the trail is empty")) }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let complete = bytes.last == 0x0A
        if complete { lines.removeLast() }
        var expectedPrev = genesis
        var firstID: String?
        for (i, raw) in lines.enumerated() {
            let n = i + 1
            func problem(_ text: String) -> Verdict { Verdict(lines: lines.count, problem: (n, text)) }
            if n == lines.count && !complete { return problem("the line is incomplete (no newline: a write was cut short)") }
            guard let json = try? JSONValue.parse(Array(raw)), case .object(let o) = json else {
                return problem("not a JSON object")
            }
            guard let seq = o["seq"]?.int64Value else { return problem("no seq") }
            if seq != Int64(n) { return problem("seq is \(seq), expected \(n) (a line was removed or inserted before it)") }
            guard let prev = o["prev"]?.stringValue else { return problem("no prev") }
            if prev != expectedPrev {
                return problem(n == 1 ? "prev of the first line is not 64 zeros"
                               : "prev is not the SHA-256 of line \(n - 1) (line \(n - 1) was changed, or lines were removed or inserted)")
            }
            guard o["time"]?.stringValue != nil, o["event"]?.stringValue != nil else { return problem("no time or event") }
            guard let id = o["id"]?.stringValue else { return problem("no id") }
            if let firstID, id != firstID { return problem("id \(JSONValue.quoted(id)) is not the trail's (\(JSONValue.quoted(firstID)))") }
            firstID = id
            expectedPrev = SHA256.hex(SHA256.digest(raw))
        }
        return Verdict(lines: lines.count, problem: nil)
    }
}

/// The policy's audit sink: every audited container's lines, also written elsewhere. A path is a file the line is
/// appended to (O_APPEND, one write); `unix:PATH` is a socket that gets one line per write (a stream socket with a
/// newline-terminated line per connection, or a datagram socket with one line per datagram). The sink never
/// blocks a verb: a socket that is not listening or full is a warning, and the line stays in the trail.
enum AuditSink {
    static func isValid(_ sink: String) -> Bool {
        if sink.hasBytePrefix("unix:") { return sink.utf8.count > 6 && sink.utf8.count <= 5 + 107 }
        return sink.hasBytePrefix("/")
    }

    static func send(_ line: String, to sink: String, warn: (String) -> Void) {
        let bytes = Array((line + "\n").utf8)
        if sink.hasBytePrefix("unix:") {
            let path = String(sink.utf8.dropFirst(5))!
            let fd = corral_connect_unix_type(path, Int32(SOCK_STREAM.rawValue))
            let sock = fd == -EPROTOTYPE ? corral_connect_unix_type(path, Int32(SOCK_DGRAM.rawValue)) : fd
            if sock < 0 { warn("audit sink \(sink): connect: \(errnoText(-sock))"); return }
            defer { close(sock) }
            let n = bytes.withUnsafeBytes { Glibc.send(sock, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if n != bytes.count { warn("audit sink \(sink): send: \(n < 0 ? errnoText(errno) : "short write")") }
            return
        }
        let fd = open(sink, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { warn("audit sink \(sink): open: \(errnoText(errno))"); return }
        defer { close(fd) }
        if !bytes.withUnsafeBytes({ Files.writeAll(fd, $0) }) { warn("audit sink \(sink): write: \(errnoText(errno))") }
    }
}
