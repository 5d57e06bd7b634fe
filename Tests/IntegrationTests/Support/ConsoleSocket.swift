// A `--console-socket` listener: a unix stream socket on which the runtime sends the PTY master
// as one SCM_RIGHTS file descriptor (runc/go-runc protocol), plus a name as the message payload.
import Glibc
import XCTest

/// Listens on a unix stream socket and receives file descriptors passed with SCM_RIGHTS.
final class ConsoleSocket {
    let path: String
    private var fd: Int32

    /// Binds and listens on `path` (which must not exist; at most 107 bytes).
    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errnoString())") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw HarnessError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in bytes.enumerated() { buf[i] = b }
            buf[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errnoString()
            Glibc.close(fd)
            throw HarnessError("bind \(path): \(e)")
        }
        guard listen(fd, 4) == 0 else { throw HarnessError("listen: \(errnoString())") }
    }

    deinit { close() }

    /// Closes the listener and unlinks the socket path.
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
            unlink(path)
        }
    }

    /// What one connection delivered.
    struct Received {
        /// Every descriptor that arrived (caller owns them).
        var fds: [Int32]
        /// The message payload (runc sends the pty's name).
        var payload: String
    }

    /// Accepts one connection (waiting up to `timeout` s) and reads one message with its fds.
    func receive(timeout: Double = 10) throws -> Received {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else {
            throw HarnessError("nobody connected to the console socket within \(timeout) s")
        }
        let conn = accept(fd, nil, nil)  // accept4 is not visible from Swift
        guard conn >= 0 else { throw HarnessError("accept: \(errnoString())") }
        _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
        defer { Glibc.close(conn) }
        var cpfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
        guard poll(&cpfd, 1, Int32(timeout * 1000)) == 1 else {
            throw HarnessError("no message on the console socket within \(timeout) s")
        }

        var payload = [UInt8](repeating: 0, count: 4096)
        // Control buffer for up to 8 fds; UInt64 storage keeps cmsghdr alignment.
        var control = [UInt64](repeating: 0, count: 8)
        let controlBytes = control.count * 8
        let n: Int = payload.withUnsafeMutableBytes { pbuf in
            control.withUnsafeMutableBytes { cbuf in
                var iov = iovec(iov_base: pbuf.baseAddress, iov_len: pbuf.count)
                return withUnsafeMutablePointer(to: &iov) { iovPtr in
                    var msg = msghdr()
                    msg.msg_iov = iovPtr
                    msg.msg_iovlen = 1
                    msg.msg_control = cbuf.baseAddress
                    msg.msg_controllen = controlBytes
                    return recvmsg(conn, &msg, Int32(MSG_CMSG_CLOEXEC))
                }
            }
        }
        guard n >= 0 else { throw HarnessError("recvmsg: \(errnoString())") }

        // Walk the cmsghdr list by hand (CMSG_* are macros Swift cannot import):
        // { size_t cmsg_len; int cmsg_level; int cmsg_type; data (aligned to size_t) }.
        var fds: [Int32] = []
        control.withUnsafeBytes { cbuf in
            let headerSize = MemoryLayout<Int>.size + 2 * MemoryLayout<Int32>.size
            var offset = 0
            while offset + headerSize <= cbuf.count {
                let len = cbuf.load(fromByteOffset: offset, as: Int.self)
                let level = cbuf.load(fromByteOffset: offset + MemoryLayout<Int>.size, as: Int32.self)
                let type = cbuf.load(fromByteOffset: offset + MemoryLayout<Int>.size + 4, as: Int32.self)
                if len < headerSize || offset + len > cbuf.count { break }
                if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                    let count = (len - headerSize) / MemoryLayout<Int32>.size
                    for i in 0..<count {
                        fds.append(cbuf.load(fromByteOffset: offset + headerSize + 4 * i, as: Int32.self))
                    }
                }
                offset += (len + 7) & ~7
            }
        }
        let text = String(decoding: payload[0..<n].filter { $0 != 0 }, as: UTF8.self)
        return Received(fds: fds, payload: text)
    }
}

/// ioctl TIOCGPTN (`_IOR('T', 0x30, unsigned int)`): the pty number of a master; a macro Swift
/// cannot import.
let ioctlTIOCGPTN: UInt = 0x8004_5430

/// Reads from `fd` until `until` holds for the accumulated text, EOF/EIO (pty slave closed) or
/// `timeout` seconds pass. Returns what was read.
func readAvailable(fd: Int32, timeout: Double = 10, until: (String) -> Bool = { _ in false }) -> String {
    var bytes: [UInt8] = []
    let deadline = monotonicNow() + timeout
    var buf = [UInt8](repeating: 0, count: 4096)
    while monotonicNow() < deadline {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let remaining = max(1, Int32((deadline - monotonicNow()) * 1000))
        let p = poll(&pfd, 1, min(remaining, 100))
        if p < 0 && errno != EINTR { break }
        if p <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            bytes.append(contentsOf: buf[0..<n])
            if until(String(decoding: bytes, as: UTF8.self)) { break }
            continue
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
        break  // 0 = EOF, EIO = every slave fd closed
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Runtime {
    /// `create --console-socket` on a fresh socket in the bundle directory; returns what arrived on it (the pty
    /// master and its name). Throws when create fails (after recording the failure). The caller closes the fds.
    func createWithConsole(_ bundle: TestBundle, id: String,
                           file: StaticString = #filePath, line: UInt = #line) throws -> ConsoleSocket.Received {
        let sock = try ConsoleSocket(path: bundle.dir + "/console.sock")
        defer { sock.close() }
        let c = create(bundle, id: id, extra: ["--console-socket", sock.path])
        XCTAssertEqual(c.status, 0, "\(c)", file: file, line: line)
        guard c.status == 0 else { throw HarnessError("create with a console socket failed: \(c)") }
        return try sock.receive(timeout: 10)
    }
}
