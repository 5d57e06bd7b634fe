import CCorralHost
import Glibc

/// criu's RPC protocol (images/rpc.proto of criu 3.x; the field numbers are the protocol's): the request types,
/// the options corral sets, and one request/notification/response exchange on a `criu swrk` socket.
enum CriuRPC {
    /// criu_req_type.
    enum RequestType: Int32, CustomStringConvertible {
        case dump = 1, restore = 2, preDump = 4, notify = 6

        /// The enum's name in the proto file, as runc's errors print it ("criu failed: type DUMP errno 0").
        var description: String {
            switch self {
            case .dump: return "DUMP"
            case .restore: return "RESTORE"
            case .preDump: return "PRE_DUMP"
            case .notify: return "NOTIFY"
            }
        }
    }

    /// criu_opts field numbers.
    enum Field: Int {
        case imagesDirFD = 1, pid = 2, leaveRunning = 3, extUnixSk = 4, tcpEstablished = 5, evasiveDevices = 6
        case shellJob = 7, fileLocks = 8, logLevel = 9, logFile = 10, pageServer = 11, notifyScripts = 12
        case root = 13, parentImg = 14, trackMem = 15, autoDedup = 16, workDirFD = 17, linkRemap = 18
        case extMnt = 23, manageCgroups = 24, cgRoot = 25, rstSibling = 26, inheritFD = 27
        case manageCgroupsMode = 34, external = 37, emptyNs = 38, joinNs = 39, freezeCgroup = 44
        case tcpSkipInFlight = 46, lazyPages = 48, statusFD = 49, orphanPtsMaster = 50, configFile = 51
        case lsmProfile = 53, lsmMountContext = 63
    }

    /// criu_resp field numbers.
    enum Resp {
        static let type = 1, success = 2, restore = 4, notify = 5, crErrno = 7, crErrmsg = 9
    }

    /// Prefix of the error when criu closed the socket without a final response (it died or refused the request).
    static let noAnswer = "criu sent no answer"

    /// --manage-cgroups-mode as criu_cg_mode; nil for "" (criu's default, soft).
    static func cgroupMode(_ mode: String) -> Int32? {
        switch mode {
        case "ignore": return 0
        case "soft": return 3
        case "full": return 4
        case "strict": return 5
        default: return nil
        }
    }

    /// A criu_opts message being built, with a readable account of it for the debug log.
    struct Options {
        private(set) var message = ProtoWriter()
        private(set) var summary: [String] = []

        private static func name(_ f: Field) -> String { "\(f)" }

        mutating func flag(_ f: Field) {
            message.bool(f.rawValue, true)
            summary.append(Self.name(f))
        }

        mutating func int(_ f: Field, _ v: Int32, _ shown: String? = nil) {
            message.int(f.rawValue, v)
            summary.append("\(Self.name(f))=\(shown ?? String(v))")
        }

        mutating func string(_ f: Field, _ v: String) {
            message.string(f.rawValue, v)
            summary.append("\(Self.name(f))=\(v)")
        }

        /// A two-field message (ext_mount_map {key, val}, join_namespace {ns, ns_file}, cgroup_root {ctrl, path}).
        mutating func pair(_ f: Field, _ a: String, _ b: String) {
            var m = ProtoWriter()
            m.string(1, a)
            m.string(2, b)
            message.message(f.rawValue, m)
            summary.append("\(Self.name(f))=\(a):\(b)")
        }

        /// A two-field message whose second field is a number: inherit_fd {key, fd} (criu gives our fd to the
        /// restored file whose key this is), criu_page_server_info {address, port}.
        mutating func pair(_ f: Field, _ a: String, _ b: Int32) {
            var m = ProtoWriter()
            m.string(1, a)
            m.int(2, b)
            message.message(f.rawValue, m)
            summary.append("\(Self.name(f))=\(a):\(b)")
        }
    }

    /// Sends the request and answers criu's notifications until its final response, which is returned. A
    /// notification `notify` refuses is answered with notify_success=false (criu then fails the request) and its
    /// error is thrown once criu has answered.
    static func exchange(_ sock: Int32, request: RequestType, opts: Options,
                         notify: ((String, Int32, Int32) throws(RuntimeError) -> Void)?) throws(RuntimeError) -> ProtoMessage {
        var req = ProtoWriter()
        req.int(1, request.rawValue)
        req.message(2, opts.message)
        // criu that exits before it reads (a bad option, a config file it refuses) is reported by its exit status.
        do { try post(sock, req) } catch { throw RuntimeError(.system, noAnswer) }
        var refused: RuntimeError?
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var fd: Int32 = -1
            let n = buf.withUnsafeMutableBytes { corral_packet_recv(sock, $0.baseAddress, $0.count, &fd, -1) }
            if n < 0 { throw .system("read from criu", Int32(-n)) }
            if n == 0 { throw RuntimeError(.system, noAnswer) }
            guard let resp = ProtoMessage(buf[0..<Int(n)]) else {
                if fd >= 0 { close(fd) }
                throw RuntimeError(.system, "criu sent a malformed response (\(n) bytes)")
            }
            guard resp.int(Resp.type) == RequestType.notify.rawValue else {
                if fd >= 0 { close(fd) }
                if let refused { throw refused }
                return resp
            }
            let note = resp.message(Resp.notify)
            var ok = true
            if refused == nil, let notify {
                do throws(RuntimeError) {
                    try notify(note?.string(1) ?? "", note?.int(2) ?? 0, fd)
                } catch {
                    refused = error
                    ok = false
                }
            }
            if fd >= 0 { close(fd) }
            var ack = ProtoWriter()
            ack.int(1, RequestType.notify.rawValue)
            ack.bool(3, ok)
            try post(sock, ack)
        }
    }

    private static func post(_ sock: Int32, _ m: ProtoWriter) throws(RuntimeError) {
        let r = m.bytes.withUnsafeBytes { corral_packet_send(sock, $0.baseAddress, $0.count, -1) }
        if r < 0 { throw .system("write to criu", -r) }
    }
}
