import CorralSpec
import Glibc

/// How a monitored container ended: `<state dir>/result.json`, written by its monitor when the init is gone, and
/// `state`'s extra `"result"` field (engines decode `state` into structs and ignore keys they do not know).
///
///     {"reason":"timeout","signal":9,"signalName":"SIGKILL","finished":"2026-…Z","wallSeconds":2.0,
///      "cpuSeconds":0.01,"oomKills":0,"pidsLimitHits":0,"limits":{"wall":2.0}}
///
/// `reason` is the first that applies of: `timeout` / `cpu-timeout` (the monitor killed it at a run limit),
/// `oom` (the init was SIGKILLed and the memory cgroup counted an OOM kill), `pids-limit` (it failed after a
/// fork was refused at pids.max), `signal`, `exit`, and `unknown` (the kernel could not tell the status).
/// `exitCode` is there for an exit, `signal` for a death by signal.
struct RunResult: Equatable {
    enum Reason: String { case exit, signal, timeout, cpuTimeout = "cpu-timeout", oom, pidsLimit = "pids-limit", unknown }

    var reason: Reason
    var exitCode: Int32?
    var signal: Int32?
    var coreDumped = false
    var finished = ""
    var wallSeconds: Double?
    var cpuSeconds: Double?
    var oomKills: UInt64?
    var pidsLimitHits: UInt64?
    var wallLimit: Double?
    var cpuLimit: Double?

    static let fileName = "result.json"

    /// The reason from the facts: the wait status (nil when unknown), the limit the monitor enforced (if it
    /// killed the container), and the OOM kills and refused forks counted while it ran.
    static func decide(status: Int32?, killedFor: Reason?, oomKills: UInt64, pidsLimitHits: UInt64) -> RunResult {
        var r = RunResult(reason: .unknown)
        if let status {
            if status & 0x7f == 0 {
                r.exitCode = (status >> 8) & 0xff
            } else {
                r.signal = status & 0x7f
                r.coreDumped = status & 0x80 != 0
            }
        }
        let failed = r.signal != nil || (r.exitCode ?? 1) != 0
        if let killedFor {
            r.reason = killedFor
        } else if oomKills > 0 && (r.signal == SIGKILL || status == nil) {
            r.reason = .oom
        } else if pidsLimitHits > 0 && failed {
            r.reason = .pidsLimit
        } else if r.signal != nil {
            r.reason = .signal
        } else if r.exitCode != nil {
            r.reason = .exit
        }
        r.oomKills = oomKills
        r.pidsLimitHits = pidsLimitHits
        return r
    }

    func json() -> JSONObject {
        var o = JSONObject()
        o["reason"] = .string(reason.rawValue)
        if let exitCode { o["exitCode"] = JSONValue(exitCode) }
        if let signal {
            o["signal"] = JSONValue(signal)
            o["signalName"] = .string(RunResult.signalName(signal))
            if coreDumped { o["coreDumped"] = .bool(true) }
        }
        if !finished.isEmpty { o["finished"] = .string(finished) }
        if let wallSeconds { o["wallSeconds"] = .number(RunResult.seconds(wallSeconds)) }
        if let cpuSeconds { o["cpuSeconds"] = .number(RunResult.seconds(cpuSeconds)) }
        if let oomKills { o["oomKills"] = JSONValue(oomKills) }
        if let pidsLimitHits { o["pidsLimitHits"] = JSONValue(pidsLimitHits) }
        if wallLimit != nil || cpuLimit != nil {
            var l = JSONObject()
            if let wallLimit { l["wall"] = .number(RunResult.seconds(wallLimit)) }
            if let cpuLimit { l["cpu"] = .number(RunResult.seconds(cpuLimit)) }
            o["limits"] = .object(l)
        }
        return o
    }

    /// result.json of a container directory, as JSON (what `state` shows), nil when there is none yet.
    static func load(dir: String) -> JSONValue? {
        guard let bytes = try? Files.read(dir + "/" + fileName, limit: 65536) else { return nil }
        return try? JSONValue.parse(bytes)
    }

    /// Seconds with millisecond precision, as a JSON number.
    static func seconds(_ s: Double) -> String {
        let ms = Int((s * 1000).rounded())
        let frac = ms % 1000
        return "\(ms / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + "\(frac)"
    }

    /// "SIGKILL" for 9; "SIG<n>" for a number without a name (real-time signals).
    static func signalName(_ n: Int32) -> String {
        if let name = Signals.names.first(where: { $0.value == n && $0.key != "IOT" && $0.key != "POLL" })?.key {
            return "SIG" + name
        }
        return "SIG\(n)"
    }
}
