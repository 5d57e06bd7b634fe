import CorralSpec
import Glibc

/// process.scheduler as sched_setattr(2) takes it (struct sched_attr), validated.
struct SchedulerPlan: Equatable {
    var policy: UInt32
    var flags: UInt64
    var nice: Int32
    var priority: UInt32
    var runtime: UInt64
    var deadline: UInt64
    var period: UInt64
    /// What the config asked for ("SCHED_FIFO priority 10"), for the child's error message.
    var text: String
    var isRealTime: Bool { policy == 1 || policy == 2 }
    var isDeadline: Bool { policy == 6 }
}

/// process.ioPriority as ioprio_set(2) takes it: class << 13 | level.
struct IOPriorityPlan: Equatable {
    var value: Int32
    /// "IOPRIO_CLASS_BE priority 4", for the child's error message.
    var text: String
}

/// process.execCPUAffinity as sched_setaffinity(2) masks (see `CPUList.words`); an empty mask is "not given".
struct CPUAffinityPlan: Equatable {
    var initial: [UInt64] = []
    var final: [UInt64] = []
    var initialText = ""
    var finalText = ""
}

/// Plans the scheduling attributes of a process (create's init and exec's process alike): process.scheduler,
/// process.ioPriority and process.execCPUAffinity. Every rule the kernel would enforce with a bare EINVAL, and
/// every value it would silently ignore or clamp, is an error here naming the JSON path and the value.
enum SchedulingPlanner {
    static let policyNumbers: [SchedulerPolicy: UInt32] = [
        .SCHED_OTHER: 0, .SCHED_FIFO: 1, .SCHED_RR: 2, .SCHED_BATCH: 3, .SCHED_ISO: 4, .SCHED_IDLE: 5,
        .SCHED_DEADLINE: 6,
    ]
    static let flagBits: [SchedulerFlag: UInt64] = [
        .SCHED_FLAG_RESET_ON_FORK: 0x01, .SCHED_FLAG_RECLAIM: 0x02, .SCHED_FLAG_DL_OVERRUN: 0x04,
        .SCHED_FLAG_KEEP_POLICY: 0x08, .SCHED_FLAG_KEEP_PARAMS: 0x10, .SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
        .SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
    ]
    static let resetOnFork: UInt64 = 0x01
    /// The kernel truncates SCHED_DEADLINE times to 2^DL_SCALE (10) ns units and reserves the top bit.
    static let deadlineMinNS: UInt64 = 1024
    static let deadlineMaxNS: UInt64 = 1 << 63 - 1

    static func scheduler(_ s: Scheduler?) throws(RuntimeError) -> SchedulerPlan? {
        guard let s else { return nil }
        let name = s.policy.rawValue
        if s.policy == .SCHED_ISO {
            throw RuntimeError(.unsupported, "process.scheduler.policy: unsupported value \"SCHED_ISO\" (Linux does not implement it)")
        }
        let rt = s.policy == .SCHED_FIFO || s.policy == .SCHED_RR
        let dl = s.policy == .SCHED_DEADLINE
        let nice = s.nice ?? 0, priority = s.priority ?? 0
        if nice < -20 || nice > 19 {
            throw RuntimeError(.config, "process.scheduler.nice: \(nice) is outside -20..19")
        }
        if nice != 0 && (rt || dl) {
            throw RuntimeError(.config, "process.scheduler.nice: only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE take a nice value (got \(nice) with \(name))")
        }
        if rt && !(1...99).contains(priority) {
            throw RuntimeError(.config, "process.scheduler.priority: \(name) needs a priority in 1..99 (got \(priority))")
        }
        if !rt && priority != 0 {
            throw RuntimeError(.config, "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority (got \(priority) with \(name))")
        }
        let runtime = s.runtime ?? 0, deadline = s.deadline ?? 0, period = s.period ?? 0
        if !dl {
            for (field, v) in [("runtime", runtime), ("deadline", deadline), ("period", period)] where v != 0 {
                throw RuntimeError(.config, "process.scheduler.\(field): only SCHED_DEADLINE takes runtime, deadline and period (got \(v) with \(name))")
            }
        } else {
            try checkDeadline(runtime: runtime, deadline: deadline, period: period)
        }
        var flags: UInt64 = 0
        for (i, f) in (s.flags ?? []).enumerated() {
            let path = "process.scheduler.flags[\(i)]"
            switch f {
            case .SCHED_FLAG_UTIL_CLAMP_MIN, .SCHED_FLAG_UTIL_CLAMP_MAX:
                // They clamp to sched_util_min/max, values the spec does not carry: the clamp would be to 0.
                throw RuntimeError(.unsupported, "\(path): unsupported value \"\(f.rawValue)\" (the spec gives no utilization value to clamp to)")
            case .SCHED_FLAG_RECLAIM where !dl, .SCHED_FLAG_DL_OVERRUN where !dl:
                throw RuntimeError(.config, "\(path): \(f.rawValue) applies to SCHED_DEADLINE only (policy \(name))")
            default:
                flags |= flagBits[f]!
            }
        }
        var text = name
        if rt { text += " priority \(priority)" }
        if nice != 0 { text += " nice \(nice)" }
        if dl { text += " runtime \(runtime) deadline \(deadline) period \(period)" }
        let names = (s.flags ?? []).map(\.rawValue)
        if !names.isEmpty { text += " flags " + names.joined(separator: "|") }
        return SchedulerPlan(policy: policyNumbers[s.policy]!, flags: flags, nice: nice, priority: UInt32(priority),
                             runtime: runtime, deadline: deadline, period: period, text: text)
    }

    /// sched(7)'s rules for SCHED_DEADLINE (the kernel's __checkparam_dl), with this host's period bounds
    /// (kernel.sched_deadline_period_min_us / _max_us). A period of 0 means "equal to the deadline".
    private static func checkDeadline(runtime: UInt64, deadline: UInt64, period: UInt64) throws(RuntimeError) {
        let p = "process.scheduler"
        if runtime < deadlineMinNS {
            throw RuntimeError(.config, "\(p).runtime: SCHED_DEADLINE needs a runtime of at least \(deadlineMinNS) ns (got \(runtime))")
        }
        for (field, v) in [("runtime", runtime), ("deadline", deadline), ("period", period)] where v > deadlineMaxNS {
            throw RuntimeError(.config, "\(p).\(field): \(v) is above 2^63-1 ns")
        }
        if deadline < runtime {
            throw RuntimeError(.config, "\(p).deadline: SCHED_DEADLINE needs runtime <= deadline (runtime \(runtime), deadline \(deadline))")
        }
        if period != 0 && period < deadline {
            throw RuntimeError(.config, "\(p).period: SCHED_DEADLINE needs deadline <= period (deadline \(deadline), period \(period))")
        }
        let effective = period != 0 ? period : deadline
        func sysctl(_ name: String) -> UInt64? {
            Files.readString("/proc/sys/kernel/" + name).flatMap { UInt64(String($0.trimmingBlanks())) }
        }
        if let minUS = sysctl("sched_deadline_period_min_us"), let maxUS = sysctl("sched_deadline_period_max_us"),
           effective < minUS * 1000 || effective > maxUS * 1000 {
            let field = period != 0 ? "period" : "deadline"
            throw RuntimeError(.config, "\(p).\(field): a SCHED_DEADLINE period of \(effective) ns is outside this host's \(minUS * 1000)..\(maxUS * 1000) ns (kernel.sched_deadline_period_min_us, kernel.sched_deadline_period_max_us)")
        }
    }

    static func ioPriority(_ p: IOPriority?) throws(RuntimeError) -> IOPriorityPlan? {
        guard let p else { return nil }
        if p.priority < 0 || p.priority > 7 {
            throw RuntimeError(.config, "process.ioPriority.priority: \(p.priority) is outside 0..7")
        }
        let cls: Int32 = switch p.class {
        case .IOPRIO_CLASS_RT: 1
        case .IOPRIO_CLASS_BE: 2
        case .IOPRIO_CLASS_IDLE: 3
        }
        return IOPriorityPlan(value: cls << 13 | Int32(p.priority), text: "\(p.class.rawValue) priority \(p.priority)")
    }

    /// Both lists of process.execCPUAffinity, each needing at least one CPU that is online here (the kernel
    /// refuses a mask without one). Masks cover every possible CPU of the host: sched_setaffinity(2) refuses a
    /// shorter one.
    static func cpuAffinity(_ a: CPUAffinity?) throws(RuntimeError) -> CPUAffinityPlan? {
        guard let a else { return nil }
        let online = CPUList.host("/sys/devices/system/cpu/online")
        let possibleBits = (CPUList.host("/sys/devices/system/cpu/possible")?.max).map { $0 + 1 } ?? 1024
        var plan = CPUAffinityPlan()
        for (field, text) in [("initial", a.initial), ("final", a.final)] {
            let path = "process.execCPUAffinity.\(field)"
            guard let list = try CPUList.parse(text ?? "", field: path) else { continue }
            if let online, !list.ids.contains(where: online.contains) {
                throw RuntimeError(.config, "\(path): no CPU of \(JSONValue.quoted(text ?? "")) is online on this host (online: \(online))")
            }
            if field == "initial" {
                plan.initial = list.words(minBits: possibleBits)
                plan.initialText = list.description
            } else {
                plan.final = list.words(minBits: possibleBits)
                plan.finalText = list.description
            }
        }
        return plan.initial.isEmpty && plan.final.isEmpty ? nil : plan
    }
}
