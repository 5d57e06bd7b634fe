import CorralSpec
import Glibc

/// `linux.seccomp` validated and reduced to what the kernel and libseccomp take: actions as SECCOMP_RET_* values,
/// errnos resolved, conditions as (index, operator, a, b), flags as SECCOMP_FILTER_FLAG_* bits. Pure: no libseccomp,
/// no kernel calls (those are in `SeccompCompiler` and `SeccompKernel`), so it also runs on a cache hit.
///
/// Semantics follow runc: ERRNO/TRACE without `errnoRet` return EPERM; a rule whose action equals the default action
/// is skipped (libseccomp refuses it); conditions of one rule are ANDed, except when two of them test the same argument,
/// then each condition becomes a rule of its own (ORed), as runc has always done.
struct SeccompProfile: Equatable {
    /// One argument comparison (`struct scmp_arg_cmp`); `op` is libseccomp's `enum scmp_compare`.
    struct Condition: Equatable {
        var index: UInt32
        var op: UInt32
        var a: UInt64
        var b: UInt64
    }

    /// One `syscalls[]` entry.
    struct Rule: Equatable {
        var names: [String]
        var action: UInt32
        var conditions: [Condition]
        /// JSON path for errors and notes, e.g. `linux.seccomp.syscalls[3]`.
        var path: String
    }

    var defaultAction: UInt32
    /// libseccomp's arch names ("x86_64", "x86", "x32"), in config order, without duplicates.
    var architectures: [(name: String, path: String)]
    var rules: [Rule]
    /// SECCOMP_FILTER_FLAG_* for seccomp(2); NEW_LISTENER when a rule notifies.
    var flags: UInt32
    var listenerPath: String?
    var listenerMetadata: String?
    /// `linux.seccomp.flags[i]` entries, kept for kernel-support errors.
    var flagPaths: [(flag: UInt32, name: String, path: String)]
    /// Actions that need kernel support checks, with the path of their first use.
    var actionPaths: [(action: UInt32, name: String, path: String)]

    static func == (l: SeccompProfile, r: SeccompProfile) -> Bool {
        l.defaultAction == r.defaultAction && l.architectures.map { $0.name } == r.architectures.map { $0.name }
            && l.rules == r.rules && l.flags == r.flags && l.listenerPath == r.listenerPath
            && l.listenerMetadata == r.listenerMetadata
    }

    var notifies: Bool { flags & SeccompProfile.flagNewListener != 0 }

    // MARK: kernel constants (include/uapi/linux/seccomp.h; libseccomp's SCMP_ACT_* have the same values)

    static let retKillProcess: UInt32 = 0x8000_0000
    static let retKillThread: UInt32 = 0x0000_0000
    static let retTrap: UInt32 = 0x0003_0000
    static let retErrno: UInt32 = 0x0005_0000
    static let retUserNotif: UInt32 = 0x7fc0_0000
    static let retTrace: UInt32 = 0x7ff0_0000
    static let retLog: UInt32 = 0x7ffc_0000
    static let retAllow: UInt32 = 0x7fff_0000

    static let flagTsync: UInt32 = 1
    static let flagLog: UInt32 = 2
    static let flagSpecAllow: UInt32 = 4
    static let flagNewListener: UInt32 = 8
    static let flagTsyncESRCH: UInt32 = 16
    static let flagWaitKillableRecv: UInt32 = 32

    /// The kernel caps a filter's errno at MAX_ERRNO; a larger value would silently become 4095.
    static let maxErrno: UInt32 = 4095
    /// Syscalls have six arguments.
    static let argumentCount: UInt32 = 6

    /// Syscalls the child needs between loading a NOTIFY filter and handing the listener to the agent: notifying on
    /// them would block the child before anyone can answer. runc refuses `write` for its own hand-over; corral's is a
    /// `sendmsg` on the sync socket. Both are refused so configs stay portable between the two.
    static let notifyForbidden = ["write", "sendmsg"]

    // MARK: validation

    /// Validates `s` (errors name the JSON path under `linux.seccomp`) and resolves it.
    static func resolve(_ s: Seccomp) throws(RuntimeError) -> SeccompProfile {
        let base = "linux.seccomp"
        func fail(_ path: String, _ msg: String) -> RuntimeError { RuntimeError(.config, "\(path): \(msg)") }

        if s.defaultAction == .SCMP_ACT_NOTIFY {
            throw fail(base + ".defaultAction", "SCMP_ACT_NOTIFY cannot be used as default action")
        }
        var actionPaths: [(UInt32, String, String)] = []
        func noteAction(_ a: SeccompAction, _ value: UInt32, _ path: String) {
            if !actionPaths.contains(where: { $0.0 == value & 0xffff_0000 }) {
                actionPaths.append((value & 0xffff_0000, a.rawValue, path))
            }
        }
        let def = try action(s.defaultAction, errno: s.defaultErrnoRet, errnoPath: base + ".defaultErrnoRet")
        noteAction(s.defaultAction, def, base + ".defaultAction")

        var arches: [(String, String)] = []
        for (i, a) in (s.architectures ?? []).enumerated() {
            let name = archName(a)
            if !arches.contains(where: { $0.0 == name }) { arches.append((name, "\(base).architectures[\(i)]")) }
        }

        var rules: [Rule] = []
        var notifyPath: String? = nil
        for (i, call) in (s.syscalls ?? []).enumerated() {
            let path = "\(base).syscalls[\(i)]"
            if call.names.isEmpty { throw fail(path + ".names", "must list at least one syscall") }
            for (j, n) in call.names.enumerated() where n.isEmpty {
                throw fail("\(path).names[\(j)]", "empty string is not a valid syscall")
            }
            let act = try action(call.action, errno: call.errnoRet, errnoPath: path + ".errnoRet")
            noteAction(call.action, act, path + ".action")
            if call.action == .SCMP_ACT_NOTIFY {
                if notifyPath == nil { notifyPath = path + ".action" }
                for (j, n) in call.names.enumerated() where notifyForbidden.contains(n) {
                    throw fail("\(path).names[\(j)]", "SCMP_ACT_NOTIFY cannot be used for the \(n) syscall")
                }
            }
            var conds: [Condition] = []
            for (j, arg) in (call.args ?? []).enumerated() {
                if arg.index >= argumentCount {
                    throw fail("\(path).args[\(j)].index", "\(arg.index) is not a syscall argument (0-5)")
                }
                conds.append(Condition(index: arg.index, op: compare(arg.op), a: arg.value, b: arg.valueTwo ?? 0))
            }
            rules.append(Rule(names: call.names, action: act, conditions: conds, path: path))
        }

        var flags: UInt32 = 0
        var flagPaths: [(UInt32, String, String)] = []
        for (i, f) in (s.flags ?? []).enumerated() {
            let bit = flagBit(f)
            flags |= bit
            flagPaths.append((bit, f.rawValue, "\(base).flags[\(i)]"))
        }
        var listener: String? = nil
        if let p = s.listenerPath, !p.isEmpty { listener = p }
        if let np = notifyPath, listener == nil {
            throw fail(base + ".listenerPath", "required when SCMP_ACT_NOTIFY is used (\(np))")
        }
        if let p = listener, p.utf8.count > 107 {
            throw fail(base + ".listenerPath", "\"\(p)\" is too long for a unix socket address (at most 107 bytes)")
        }
        // A listenerPath gets its listener even when no rule notifies (crun's test_seccomp_listener waits for it):
        // one that never fires, rather than a path left unused without a word.
        if listener != nil {
            flags |= flagNewListener
            // TSYNC and NEW_LISTENER together need TSYNC_ESRCH (the kernel cannot report a thread id and a listener fd
            // in one return value).
            if flags & flagTsync != 0 { flags |= flagTsyncESRCH }
        } else if let wk = flagPaths.first(where: { $0.0 == flagWaitKillableRecv }) {
            throw fail(wk.2, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a listener (linux.seccomp.listenerPath; the kernel refuses it without one)")
        }

        return SeccompProfile(defaultAction: def, architectures: arches,
                              rules: rules, flags: flags, listenerPath: listener,
                              listenerMetadata: listener != nil ? s.listenerMetadata : nil,
                              flagPaths: flagPaths, actionPaths: actionPaths)
    }

    /// SECCOMP_RET_* value of an action; ERRNO/TRACE default to EPERM like runc.
    static func action(_ a: SeccompAction, errno: UInt32?, errnoPath: String) throws(RuntimeError) -> UInt32 {
        if let e = errno, e > maxErrno {
            throw RuntimeError(.config, "\(errnoPath): \(e) is above the largest errno a seccomp filter can return (\(maxErrno))")
        }
        let data = errno ?? UInt32(EPERM)
        switch a {
        case .SCMP_ACT_KILL, .SCMP_ACT_KILL_THREAD: return retKillThread
        case .SCMP_ACT_KILL_PROCESS: return retKillProcess
        case .SCMP_ACT_TRAP: return retTrap
        case .SCMP_ACT_ERRNO: return retErrno | data
        case .SCMP_ACT_TRACE: return retTrace | data
        case .SCMP_ACT_ALLOW: return retAllow
        case .SCMP_ACT_LOG: return retLog
        case .SCMP_ACT_NOTIFY: return retUserNotif
        }
    }

    /// SECCOMP_FILTER_FLAG_* bit of a config flag.
    static func flagBit(_ f: SeccompFlag) -> UInt32 {
        switch f {
        case .SECCOMP_FILTER_FLAG_TSYNC: flagTsync
        case .SECCOMP_FILTER_FLAG_LOG: flagLog
        case .SECCOMP_FILTER_FLAG_SPEC_ALLOW: flagSpecAllow
        case .SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: flagWaitKillableRecv
        }
    }

    /// libseccomp's `enum scmp_compare`.
    static func compare(_ op: SeccompOperator) -> UInt32 {
        switch op {
        case .SCMP_CMP_NE: 1
        case .SCMP_CMP_LT: 2
        case .SCMP_CMP_LE: 3
        case .SCMP_CMP_EQ: 4
        case .SCMP_CMP_GE: 5
        case .SCMP_CMP_GT: 6
        case .SCMP_CMP_MASKED_EQ: 7
        }
    }

    /// libseccomp's name of an architecture (`seccomp_arch_resolve_name`): "SCMP_ARCH_X86_64" -> "x86_64".
    static func archName(_ a: SeccompArch) -> String {
        String(a.rawValue.dropFirst("SCMP_ARCH_".count)).lowercased()
    }

    /// The architecture this binary runs on, in libseccomp's spelling (part of the cache key).
    static var nativeArch: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #elseif arch(i386)
        return "x86"
        #elseif arch(arm)
        return "arm"
        #elseif arch(powerpc64le)
        return "ppc64le"
        #elseif arch(s390x)
        return "s390x"
        #elseif arch(riscv64)
        return "riscv64"
        #else
        return "unknown"
        #endif
    }

    // MARK: canonical form

    /// Everything the BPF program depends on, as compact JSON with a fixed key order: the default action, the
    /// architectures and the rules with resolved actions and conditions. Flags, listenerPath and listenerMetadata are
    /// not part of it: they are passed to seccomp(2) or used at hand-over, never compiled into the program.
    var canonicalJSON: String {
        var o = JSONObject()
        o["defaultAction"] = JSONValue(defaultAction)
        o["architectures"] = JSONValue(architectures.map { $0.name })
        o["syscalls"] = .array(rules.map { r in
            var ro = JSONObject()
            ro["names"] = JSONValue(r.names)
            ro["action"] = JSONValue(r.action)
            ro["args"] = .array(r.conditions.map { c in
                .array([JSONValue(c.index), JSONValue(c.op), JSONValue(c.a), JSONValue(c.b)])
            })
            return .object(ro)
        })
        return JSONValue.object(o).serialized()
    }
}
