import CCorralHost
import CorralSpec
import Glibc

/// The monitor's control messages, one SOCK_SEQPACKET packet each: a type byte, then a payload.
///
///     create → monitor   'C' config JSON          first, right after the spawn (`MonitorConfig`)
///     create → monitor   'L' + listener fd        the init's seccomp listener (audit mode), during the launch
///     create → monitor   'G' {"pid","startTime"}  the init is parked and recorded: watch it
///     monitor → create   'A'                      armed (pidfd held, start and exit watched)
///     monitor → create   'E' text                 the monitor cannot watch the container (create fails)
///     exec → monitor     'L' + listener fd        over <state dir>/monitor.sock: an exec'd process's listener
///     monitor → exec     'A'                      taken
///     start → monitor    'S'                      over monitor.sock: the init was released (no answer)
enum MonitorMessage {
    static let config = UInt8(ascii: "C")
    static let listener = UInt8(ascii: "L")
    static let go = UInt8(ascii: "G")
    static let ack = UInt8(ascii: "A")
    static let error = UInt8(ascii: "E")
    static let started = UInt8(ascii: "S")

    /// Largest packet: a config with a 4096-instruction filter in hex is about 70 KiB.
    static let maxSize = 256 * 1024

    static let socketName = "monitor.sock"

    static func send(_ sock: Int32, _ type: UInt8, _ payload: String = "", fd: Int32 = -1) -> Int32 {
        let bytes = [type] + Array(payload.utf8)
        return bytes.withUnsafeBytes { corral_packet_send(sock, $0.baseAddress, $0.count, fd) }
    }

    /// One packet: (type, payload, passed fd or -1); nil on EOF; an error (-errno, -ETIMEDOUT) as `failure`.
    static func receive(_ sock: Int32, timeoutMS: Int32) -> (type: UInt8, payload: [UInt8], fd: Int32)? {
        var buf = [UInt8](repeating: 0, count: maxSize)
        var fd: Int32 = -1
        let n = buf.withUnsafeMutableBytes { corral_packet_recv(sock, $0.baseAddress, $0.count, &fd, timeoutMS) }
        if n <= 0 { return nil }
        return (buf[0], Array(buf[1..<Int(n)]), fd)
    }
}

/// What create tells the monitor about the container it watches.
struct MonitorConfig: Equatable {
    var cgroups = CgroupSet()
    var wallLimit: Double?
    var cpuLimit: Double?
    var seccompAudit = false
    /// The profile's program as compiled (before the audit rewrite): the monitor evaluates it for each
    /// notification to give the errno the profile meant.
    var filter: [UInt8] = []
    var audit = false
    var auditSink: String?
    /// The monitor's own cgroup directories, which it joins once create has its answer.
    var ownCgroups: [String] = []

    func json() -> JSONValue {
        var o = JSONObject()
        o["cgroups"] = cgroups.json()
        o["ownCgroups"] = JSONValue(ownCgroups)
        if let wallLimit { o["wallLimit"] = .number("\(wallLimit)") }
        if let cpuLimit { o["cpuLimit"] = .number("\(cpuLimit)") }
        if seccompAudit {
            o["seccompAudit"] = .bool(true)
            o["filter"] = .string(SHA256.hex(filter))
        }
        if audit { o["audit"] = .bool(true) }
        if let auditSink { o["auditSink"] = .string(auditSink) }
        return .object(o)
    }

    init() {}

    init(json: JSONValue) {
        cgroups = CgroupSet(json: json["cgroups"])
        ownCgroups = json["ownCgroups"]?.arrayValue?.compactMap { $0.stringValue } ?? []
        wallLimit = json["wallLimit"]?.numberText.flatMap { Double($0) }
        cpuLimit = json["cpuLimit"]?.numberText.flatMap { Double($0) }
        seccompAudit = json["seccompAudit"]?.boolValue ?? false
        filter = json["filter"]?.stringValue.map { MonitorConfig.unhex($0) } ?? []
        audit = json["audit"]?.boolValue ?? false
        auditSink = json["auditSink"]?.stringValue
    }

    static func unhex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count / 2)
        var hi: UInt8?
        for c in s.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            default: return []
            }
            if let h = hi { out.append(h << 4 | v); hi = nil } else { hi = v }
        }
        return out
    }
}
