import CCorralHost
import CSeccomp
import CorralSpec
import Glibc

/// `<state dir>/denials.jsonl`: what the container was refused, one JSON object per line, appended by its monitor
/// in seccomp audit mode. Every line has `time` and `kind`:
///
///     {"time":"…","kind":"syscall","syscall":"mount","nr":165,"arch":"x86_64","args":["0x…",…six],
///      "pid":4242,"command":"escape_probe","errno":"EPERM","errnoValue":1}
///     {"time":"…","kind":"oom","oomKills":1}                    memory.events oom_kill / memory.oom_control
///     {"time":"…","kind":"pids-limit","hits":3}                 pids.events max (forks refused)
///     {"time":"…","kind":"suppressed","count":9000,"syscalls":{"mount":9000}}  (+ "other":{"oom":n} if any)
///
/// Rate limit: a token bucket of `burst` lines refilled at `perSecond` lines a second. A denial that finds the
/// bucket empty is still answered at once (the errno never waits for the log) but only counted; the counts go out
/// as one `suppressed` line when lines may be written again, or at the latest a second later. A container that
/// hammers a denied syscall costs the monitor a few ioctls per call, and the disk at most `perSecond` lines.
/// The audit trail gets the same lines as `denied` events (with the same limit).
final class DenialLog {
    let fd: Int32
    let burst: Double
    let perSecond: Double
    private var tokens: Double
    private var refilled: Double
    /// Held-back syscalls by (arch, nr), other kinds by name: names are resolved when the summary is written.
    private var suppressedCalls: [UInt64: Int] = [:]
    private var suppressedKinds: [String: Int] = [:]
    private var suppressedTotal = 0
    private(set) var lastFlush: Double = 0
    /// Lines written (what the trail mirrors), for the monitor's `denied` audit events.
    var onLine: ((JSONObject) -> Void)?

    static let fileName = "denials.jsonl"

    init(fd: Int32, burst: Double = 64, perSecond: Double = 16, now: Double) {
        self.fd = fd
        self.burst = burst
        self.perSecond = perSecond
        self.tokens = burst
        self.refilled = now
        self.lastFlush = now
    }

    deinit { close(fd) }

    /// True when a line may be written now (takes a token).
    func admit(now: Double) -> Bool {
        tokens = min(burst, tokens + (now - refilled) * perSecond)
        refilled = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Counts a syscall line that was not written.
    func suppress(arch: UInt32, nr: Int32) {
        suppressedCalls[UInt64(arch) << 32 | UInt64(UInt32(bitPattern: nr)), default: 0] += 1
        suppressedTotal += 1
    }

    /// Counts another line (oom, pids-limit) that was not written.
    func suppress(kind: String) {
        suppressedKinds[kind, default: 0] += 1
        suppressedTotal += 1
    }

    var hasSuppressed: Bool { suppressedTotal > 0 }

    /// Writes the `suppressed` summary, if anything was held back.
    func flushSuppressed(now: Double) {
        lastFlush = now
        guard suppressedTotal > 0 else { return }
        var o = DenialLog.header("suppressed")
        o["count"] = JSONValue(suppressedTotal)
        var counts: [String: Int] = [:]
        for (key, n) in suppressedCalls {
            counts[DenialLog.syscallName(arch: UInt32(key >> 32), nr: Int32(bitPattern: UInt32(truncatingIfNeeded: key))), default: 0] += n
        }
        var names = JSONObject()
        for k in counts.keys.sorted() { names[k] = JSONValue(counts[k]!) }
        o["syscalls"] = .object(names)
        if !suppressedKinds.isEmpty {
            var kinds = JSONObject()
            for k in suppressedKinds.keys.sorted() { kinds[k] = JSONValue(suppressedKinds[k]!) }
            o["other"] = .object(kinds)
        }
        suppressedCalls = [:]
        suppressedKinds = [:]
        suppressedTotal = 0
        write(o)
    }

    /// Writes one line (and hands it to `onLine`).
    func write(_ o: JSONObject) {
        let bytes = Array((JSONValue.object(o).serialized() + "\n").utf8)
        _ = bytes.withUnsafeBytes { Files.writeAll(fd, $0) }
        onLine?(o)
    }

    /// A line's first keys.
    static func header(_ kind: String) -> JSONObject {
        var o = JSONObject()
        o["time"] = .string(Clock.rfc3339Nano(Clock.now()))
        o["kind"] = .string(kind)
        return o
    }

    /// A denied syscall's line.
    static func syscall(_ n: corral_notif, errno e: Int32, command: String?) -> JSONObject {
        var o = header("syscall")
        o["syscall"] = .string(syscallName(arch: n.arch, nr: n.nr))
        o["nr"] = JSONValue(n.nr)
        o["arch"] = .string(archName(n.arch, nr: n.nr))
        let args = [n.args.0, n.args.1, n.args.2, n.args.3, n.args.4, n.args.5]
        o["args"] = .array(args.map { .string("0x" + String($0, radix: 16)) })
        o["pid"] = JSONValue(Int(n.pid))
        if let command { o["command"] = .string(command) }
        o["errno"] = .string(corral_errno_name(e).map { String(cString: $0) } ?? String(e))
        o["errnoValue"] = JSONValue(e)
        return o
    }

    /// libseccomp's name of a syscall number on an audit architecture; "syscall_<nr>" when it has none.
    static func syscallName(arch: UInt32, nr: Int32) -> String {
        var a = arch
        if arch == SeccompCompiler.SCMP_ARCH_X86_64_TOKEN && nr & 0x4000_0000 != 0 { a = SeccompCompiler.SCMP_ARCH_X32_TOKEN }
        guard let p = seccomp_syscall_resolve_num_arch(a, nr) else { return "syscall_\(nr)" }
        defer { free(p) }
        return String(cString: p)
    }

    static func archName(_ arch: UInt32, nr: Int32) -> String {
        switch arch {
        case 0xC000_003E: return nr & 0x4000_0000 != 0 ? "x32" : "x86_64"
        case 0x4000_0003: return "x86"
        case 0xC000_00B7: return "aarch64"
        case 0x4000_0028: return "arm"
        default: return "0x" + String(arch, radix: 16)
        }
    }
}
