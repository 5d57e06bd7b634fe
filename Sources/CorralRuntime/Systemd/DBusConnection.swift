import CCorralHost
import CCorral
import Glibc

/// A blocking D-Bus connection over a unix socket: EXTERNAL authentication, `Hello` on a message bus, method calls
/// that wait for their reply (with a deadline), and signals kept for `waitForSignal`. Single-threaded, as corral is;
/// every read is bounded (DBusMessage.maxLength) and every malformed byte an error.
final class DBusConnection {
    private let fd: Int32
    private var serial: UInt32 = 0
    private var buffer: [UInt8] = []
    /// Signals that arrived while a reply was awaited.
    private var pendingSignals: [DBusMessage] = []
    /// Replies that arrived while a signal was awaited (a peer may answer a call that was sent before the wait).
    private var pendingReplies: [DBusMessage] = []
    /// Our unique name on a message bus (nil on a peer-to-peer connection such as systemd's private socket).
    private(set) var uniqueName: String?

    /// The text of the error a deadline ends a wait with.
    static let timeoutText = "timed out waiting for systemd"

    /// The system bus (DBUS_SYSTEM_BUS_ADDRESS's unix:path=, else /run/dbus/system_bus_socket).
    static var systemBusPath: String {
        if let env = getenv("DBUS_SYSTEM_BUS_ADDRESS").map({ String(cString: $0) }) {
            for part in env.splitASCII(";") {
                for kv in part.splitASCII(",") where kv.hasBytePrefix("unix:path=") || kv.hasBytePrefix("path=") {
                    let v = kv.splitASCII("=", maxSplits: 1)
                    if v.count == 2 { return String(v[1]) }
                }
            }
        }
        return "/run/dbus/system_bus_socket"
    }

    /// Connects and authenticates. `bus`: a message bus (say Hello and take a unique name) rather than a peer.
    convenience init(path: String, bus: Bool, timeoutMS: Int32 = 10_000) throws(DBusError) {
        let fd = corral_connect_unix(path)
        if fd < 0 { throw DBusError("connect to \(path): \(errnoText(-fd))") }
        try self.init(connected: fd, bus: bus, timeoutMS: timeoutMS)
    }

    /// Takes over an already connected stream socket (closed on failure and at deinit) and authenticates on it;
    /// tests hand it one end of a socketpair whose other end holds a scripted peer's bytes.
    init(connected fd: Int32, bus: Bool, timeoutMS: Int32 = 10_000) throws(DBusError) {
        // Every stored property is set from here on, so a throw below runs deinit, which closes the fd.
        self.fd = fd
        try authenticate(timeoutMS: timeoutMS)
        if bus {
            let reply = try call(.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                                        interface: "org.freedesktop.DBus", member: "Hello"), timeoutMS: timeoutMS)
            uniqueName = reply.body.first?.stringValue
        }
    }

    deinit { close(fd) }

    // MARK: authentication

    /// The SASL exchange: a NUL byte, then AUTH EXTERNAL with our uid in hex as the initial response. dbus-daemon
    /// and sd-bus answer OK at once; a server may instead ask for the response with DATA (sd-bus does when the
    /// client sends none, godbus's servers do), which an empty DATA answers: "the credentials of the socket".
    /// BEGIN after OK. No unix fd passing is negotiated (nothing corral sends or expects carries fds).
    private func authenticate(timeoutMS: Int32) throws(DBusError) {
        let uid = getuid().decimal.utf8.map { b in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0xf)]], as: UTF8.self)
        }.joined()
        try send([0] + Array("AUTH EXTERNAL \(uid)\r\n".utf8))
        var dataRounds = 0
        while true {
            let line = try readLine(timeoutMS: timeoutMS)
            if line.hasBytePrefix("OK ") || line == "OK" {
                try send(Array("BEGIN\r\n".utf8))
                return
            }
            if (line == "DATA" || line.hasBytePrefix("DATA ")) && dataRounds < 4 {
                dataRounds += 1
                try send(Array("DATA\r\n".utf8))
                continue
            }
            // REJECTED <mechanisms>, ERROR, or anything else: EXTERNAL is all we speak.
            throw DBusError("authentication refused: \(line)")
        }
    }

    private func readLine(timeoutMS: Int32) throws(DBusError) -> String {
        let deadline = DBusConnection.now() + Int64(timeoutMS)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = buffer[..<nl]
                buffer.removeSubrange(...nl)
                var text = String(decoding: line, as: UTF8.self)
                if text.hasByteSuffix("\r") { text.removeLast() }
                return text
            }
            guard buffer.count < 512 else { throw DBusError("authentication line too long") }
            try fill(deadline: deadline)
        }
    }

    // MARK: messages

    private func send(_ bytes: [UInt8]) throws(DBusError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DBusError("send: \(errnoText(errno))")
            }
            off += n
        }
    }

    /// Sends `message` with the next serial; returns the serial.
    @discardableResult
    func send(_ message: DBusMessage) throws(DBusError) -> UInt32 {
        serial &+= 1
        if serial == 0 { serial = 1 }
        var m = message
        m.serial = serial
        try send(m.encoded())
        return serial
    }

    /// Reads more bytes, waiting at most until `deadline` (ms, CLOCK_MONOTONIC).
    private func fill(deadline: Int64) throws(DBusError) {
        let left = deadline - DBusConnection.now()
        guard left > 0 else { throw DBusError(DBusConnection.timeoutText) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, Int32(min(left, Int64(Int32.max))))
        if r < 0 { if errno == EINTR { return }; throw DBusError("poll: \(errnoText(errno))") }
        if r == 0 { throw DBusError(DBusConnection.timeoutText) }
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { if errno == EINTR { return }; throw DBusError("recv: \(errnoText(errno))") }
        if n == 0 { throw DBusError("the connection was closed") }
        buffer += chunk[0..<n]
    }

    /// The next message of any kind, waiting at most `timeoutMS` (a peer's side of a conversation, in tests).
    func receive(timeoutMS: Int32) throws(DBusError) -> DBusMessage {
        try receive(deadline: DBusConnection.now() + Int64(timeoutMS))
    }

    /// The next message, waiting until `deadline`.
    private func receive(deadline: Int64) throws(DBusError) -> DBusMessage {
        while true {
            if let total = try DBusMessage.length(of: buffer[...]), buffer.count >= total {
                let bytes = Array(buffer[0..<total])
                buffer.removeFirst(total)
                return try DBusMessage.decode(bytes)
            }
            try fill(deadline: deadline)
        }
    }

    /// Calls a method and waits for its return; an error reply is thrown with its name and text. Signals that
    /// arrive meanwhile are kept for `waitForSignal`; other traffic is dropped.
    func call(_ message: DBusMessage, timeoutMS: Int32 = 30_000) throws(DBusError) -> DBusMessage {
        let s = try send(message)
        let deadline = DBusConnection.now() + Int64(timeoutMS)
        while true {
            let m: DBusMessage
            if let i = pendingReplies.firstIndex(where: { $0.replySerial == s }) {
                m = pendingReplies.remove(at: i)
            } else {
                m = try receive(deadline: deadline)
            }
            switch m.kind {
            case .methodReturn where m.replySerial == s:
                return m
            case .error where m.replySerial == s:
                // godbus's text for an error reply: its message, else its name (runc's errors end with it).
                let text = m.body.first?.stringValue ?? ""
                throw DBusError(text.isEmpty ? (m.errorName ?? "error") : text, name: m.errorName)
            case .signal:
                if pendingSignals.count < 1024 { pendingSignals.append(m) }
            default:
                continue
            }
        }
    }

    /// Waits for a signal that `matches` (already received ones first); replies met on the way are kept for `call`.
    func waitForSignal(timeoutMS: Int32, _ matches: (DBusMessage) -> Bool) throws(DBusError) -> DBusMessage {
        if let i = pendingSignals.firstIndex(where: matches) { return pendingSignals.remove(at: i) }
        let deadline = DBusConnection.now() + Int64(timeoutMS)
        while true {
            let m = try receive(deadline: deadline)
            if m.kind == .signal && matches(m) { return m }
            if m.kind == .methodReturn || m.kind == .error, pendingReplies.count < 64 { pendingReplies.append(m) }
        }
    }

    /// Asks the bus to route matching signals to us (no-op on a peer-to-peer connection).
    func addMatch(_ rule: String) throws(DBusError) {
        guard uniqueName != nil else { return }
        _ = try call(.call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
                           interface: "org.freedesktop.DBus", member: "AddMatch", [.string(rule)]))
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
