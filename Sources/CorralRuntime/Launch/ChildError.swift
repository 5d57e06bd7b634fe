import CCorral
import CorralSpec
import Glibc

/// Renders the child's fixed-size error message as runc words it.
enum ChildError {
    static func describe(_ m: corral_msg, plan: LaunchPlan) -> RuntimeError {
        let detail = withUnsafePointer(to: m.detail) {
            $0.withMemoryRebound(to: CChar.self, capacity: 512) { String(cString: $0) }
        }
        let err = errnoText(m.err)
        let stage = corral_stage(rawValue: UInt32(m.stage))
        switch stage {
        case CORRAL_STAGE_EXEC_LOOKUP:
            // Go's exec.LookPath wording; Docker maps "executable file not found" / "no such file" to exit 127.
            switch corral_exec_lookup(rawValue: UInt32(bitPattern: m.index)) {
            case CORRAL_EXEC_NOT_IN_PATH: return RuntimeError(.childSetup, "exec: \"\(detail)\": executable file not found in $PATH")
            case CORRAL_EXEC_NOT_EXECUTABLE: return RuntimeError(.childSetup, "exec: \"\(detail)\": permission denied")
            case CORRAL_EXEC_RUNTIME_BINARY: return RuntimeError(.childSetup, "exec: \"\(detail)\": refusing to run the container runtime's own binary inside the container (CVE-2019-5736)")
            default: return RuntimeError(.childSetup, "exec: \"\(detail)\": stat \(detail): \(err)")
            }
        case CORRAL_STAGE_MOUNT:
            var what = "mount"
            if m.index >= 0 && Int(m.index) < plan.mounts.count {
                let op = plan.mounts[Int(m.index)]
                let source = op.source ?? op.fstype ?? op.label
                what = "error mounting \"\(source)\" to rootfs at \"\(op.dest)\""
            }
            return RuntimeError(.childSetup, "error during container init: \(what): \(detail): \(err)")
        case CORRAL_STAGE_SYSCTL_HOST_NS:
            // runc's texts for a sysctl whose namespace is the host's.
            let op = m.index >= 0 && Int(m.index) < plan.sysctl.count ? plan.sysctl[Int(m.index)] : nil
            let name = op?.name ?? detail
            switch op?.namespace {
            case Planner.namespaceFlags[.ipc]:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" is not allowed in the hosts ipc namespace")
            case Planner.namespaceFlags[.uts]:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" is not allowed in the hosts uts namespace")
            default:
                return RuntimeError(.config, "linux.sysctl: sysctl \"\(name)\" not allowed in host network namespace")
            }
        case CORRAL_STAGE_SCHEDULER:
            var hint = ""
            if m.err == EPERM, let s = plan.scheduler, s.isRealTime || s.isDeadline {
                hint = s.isRealTime
                    ? " (a real-time policy needs CAP_SYS_NICE outside a user namespace, and real-time runtime in the container's cpu cgroup where the kernel has RT group scheduling: linux.resources.cpu.realtimeRuntime)"
                    : " (SCHED_DEADLINE needs CAP_SYS_NICE outside a user namespace and a CPU affinity spanning its whole scheduling domain)"
            } else if m.err == EBUSY, plan.scheduler?.isDeadline == true {
                hint = " (the kernel's SCHED_DEADLINE admission control: not enough deadline bandwidth left)"
            }
            return RuntimeError(.childSetup, "error during container init: process.scheduler: sched_setattr \(plan.scheduler?.text ?? ""): \(err)\(hint)")
        case CORRAL_STAGE_IOPRIO:
            return RuntimeError(.childSetup, "error during container init: process.ioPriority: ioprio_set \(plan.ioPriority?.text ?? ""): \(err)")
        case CORRAL_STAGE_CPU_AFFINITY:
            let a = plan.cpuAffinity
            let what = switch m.index {
            case 0: "process.execCPUAffinity.initial: sched_setaffinity \(JSONValue.quoted(a?.initialText ?? ""))"
            case 1: "process.execCPUAffinity.final: sched_setaffinity \(JSONValue.quoted(a?.finalText ?? ""))"
            default: "process.execCPUAffinity: resetting the CPU affinity after execCPUAffinity.initial"
            }
            // The kernel intersects the mask with the cpuset of the cgroup the process is in: the runtime's for
            // `initial`, the container's for `final`.
            let hint = m.err == EINVAL && m.index < 2
                ? " (no CPU of the list is in the cpuset of \(m.index == 0 ? "the runtime's cgroup" : "the container's cgroup"))" : ""
            return RuntimeError(.childSetup, "error during container init: \(what): \(err)\(hint)")
        case CORRAL_STAGE_MEMPOLICY:
            let hint = m.err == EINVAL ? " (are the nodes in the container's cpuset.mems?)" : ""
            return RuntimeError(.childSetup, "error during container init: linux.memoryPolicy: set_mempolicy \(plan.memoryPolicy?.text ?? ""): \(err)\(hint)")
        case CORRAL_STAGE_PERSONALITY:
            return RuntimeError(.childSetup, "error during container init: linux.personality: personality 0x\(String(UInt32(bitPattern: plan.personality ?? 0), radix: 16)): \(err)")
        case CORRAL_STAGE_LANDLOCK:
            return landlock(m, detail: detail, err: err, plan: plan.landlock)
        case CORRAL_STAGE_CWD:
            return RuntimeError(.childSetup, "error during container init: chdir to cwd (\"\(plan.cwd)\") set in config.json failed: \(err)")
        default:
            return RuntimeError(.childSetup, "error during container init: \(detail): \(err)")
        }
    }

    /// The Landlock stage, named by the annotation that asked for what failed.
    private static func landlock(_ m: corral_msg, detail: String, err: String, plan: LandlockPlan?) -> RuntimeError {
        typealias P = LandlockPlanner
        let first = P.field(plan?.keys.first ?? P.prefix + "*")
        let fsKeys = [P.fsRO, P.fsRW].filter { plan?.keys.contains($0) ?? false }
        let fs = P.field(fsKeys.first ?? P.fsRO)
        let text: String
        if m.index >= 0 {
            let rule = plan.flatMap { Int(m.index) < $0.paths.count ? $0.paths[Int(m.index)] : nil }
            text = "\(P.field(rule?.annotation ?? P.fsRW)): \(detail): \(err)"
        } else {
            let setNames = fsKeys.joined(separator: " or ")
            switch corral_landlock_failure(rawValue: m.index) {
            case CORRAL_LANDLOCK_PORT:
                let net = [P.connectTCP, P.bindTCP].first { plan?.keys.contains($0) ?? false } ?? P.connectTCP
                text = "\(P.field(net)): landlock_add_rule for TCP port \(detail): \(err)"
            case CORRAL_LANDLOCK_PROGRAM:
                text = "\(fs): the program \(JSONValue.quoted(detail)) is in no path of \(setNames) (they are all it may execute): execve would fail with permission denied"
            case CORRAL_LANDLOCK_INTERPRETER:
                text = "\(fs): the interpreter \(JSONValue.quoted(detail)) of the program is in no path of \(setNames) (they are all it may execute): execve would fail with permission denied"
            case CORRAL_LANDLOCK_RESTRICT:
                text = "\(first): landlock_restrict_self is refused: \(err) (does the seccomp profile, linux.seccomp, block it?)"
            default:
                text = "\(first): \(detail): \(err)"
            }
        }
        return RuntimeError(.childSetup, "error during container init: " + text)
    }
}
