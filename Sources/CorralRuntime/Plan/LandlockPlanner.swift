import CCorral
import CCorralHost
import CorralSpec

/// A Landlock ruleset as the child builds it (`corral_plan.landlock_*`): the rights it handles, masked to the
/// kernel's ABI, one rule per path and per TCP port, the scopes, and what best-effort left out. `record()` is what
/// `state.json` keeps for the audit trail.
struct LandlockPlan: Equatable {
    /// io.corral.landlock.mode.
    enum Mode: String { case enforce, bestEffort = "best-effort" }

    /// Rights beneath one path inside the container (LANDLOCK_ACCESS_FS_* bits) and the annotation that named it.
    struct PathRule: Equatable {
        var path: String
        var access: UInt64
        var annotation: String
    }

    /// Rights on one TCP port (LANDLOCK_ACCESS_NET_* bits).
    struct PortRule: Equatable {
        var port: UInt16
        var access: UInt64
    }

    /// The kernel's ABI the plan was made for.
    var abi: Int
    var mode: Mode
    var handledFS: UInt64 = 0
    var handledNet: UInt64 = 0
    var scoped: UInt64 = 0
    var paths: [PathRule] = []
    var ports: [PortRule] = []
    /// What best-effort left out because the kernel lacks it, e.g. "fs.ioctl_dev (ABI 5)".
    var dropped: [String] = []
    /// The rule annotations present (not the mode), in `LandlockPlanner.keys` order, for messages.
    var keys: [String] = []

    /// False when best-effort found nothing the kernel can enforce: the child then does no Landlock work at all.
    var enforced: Bool { handledFS | handledNet | scoped != 0 }

    /// For state.json (`landlock`): names as in the kernel's UAPI header, lower case, without prefix.
    func record() -> JSONValue {
        typealias P = LandlockPlanner
        var o = JSONObject()
        o["abi"] = JSONValue(abi)
        o["mode"] = .string(mode.rawValue)
        o["handledAccessFS"] = JSONValue(P.names(handledFS, P.fsRights))
        o["handledAccessNet"] = JSONValue(P.names(handledNet, P.netRights))
        o["scoped"] = JSONValue(P.names(scoped, P.scopes))
        o["paths"] = .array(paths.map { r in
            .object(JSONObject([("path", .string(r.path)), ("access", JSONValue(P.names(r.access, P.fsRights)))]))
        })
        o["tcpPorts"] = .array(ports.map { r in
            .object(JSONObject([("port", JSONValue(Int(r.port))), ("access", JSONValue(P.names(r.access, P.netRights)))]))
        })
        o["dropped"] = JSONValue(dropped)
        return .object(o)
    }

    /// One line for the debug log.
    var summary: String {
        var parts = ["ABI \(abi)", mode.rawValue, "\(paths.count) path rules", "\(ports.count) TCP port rules"]
        let s = LandlockPlanner.names(scoped, LandlockPlanner.scopes)
        parts.append(s.isEmpty ? "no scopes" : "scoped " + s.joined(separator: ","))
        parts.append("dropped: " + (dropped.isEmpty ? "none" : dropped.joined(separator: ", ")))
        return "landlock: " + parts.joined(separator: ", ")
    }
}

/// Plans Landlock from the container's annotations (the runtime spec has no Landlock field; engines pass
/// annotations through: podman and ctr with `--annotation`). Every key under `io.corral.landlock.` must be one of:
///
/// - `fs.rw`: paths inside the container (comma- or colon-separated) where the process has every filesystem right
///   (read, write, create, remove, rename, truncate, device ioctl, execute);
/// - `fs.ro`: paths where it may read files, list directories and execute;
/// - `net.connect-tcp`, `net.bind-tcp`: TCP ports (comma-separated, ranges as 8000-8010) it may connect to / bind;
/// - `scope`: `signal` (no signal to a process outside its Landlock domain), `abstract-unix-socket` (no connection
///   to an abstract unix socket made outside it);
/// - `mode`: `enforce` (the default: what the kernel cannot enforce fails create, the annotation named) or
///   `best-effort` (what this kernel's ABI offers is enforced, the rest is recorded as dropped).
///
/// A rule annotation present means its whole kind is handled: with either fs annotation, nothing outside both path
/// sets can be read, written or executed; with net.connect-tcp present (even empty), only the listed ports can be
/// connected to. A path must exist in the container at create. The program and its interpreter must lie in one of
/// the sets (the child checks, and create fails rather than an execve after `start`); so must the libraries it
/// loads (read) and the devices it opens (/dev/null is a path like any other).
enum LandlockPlanner {
    static let prefix = "io.corral.landlock."
    static let fsRW = prefix + "fs.rw"
    static let fsRO = prefix + "fs.ro"
    static let bindTCP = prefix + "net.bind-tcp"
    static let connectTCP = prefix + "net.connect-tcp"
    static let scope = prefix + "scope"
    static let mode = prefix + "mode"
    /// Every key, in the order rules are planned and named in messages.
    static let keys = [fsRW, fsRO, bindTCP, connectTCP, scope, mode]

    /// A kernel right or scope: its name (UAPI spelling, or the annotation's for scopes), bit and first ABI.
    typealias Right = (name: String, bit: UInt64, abi: Int)

    /// LANDLOCK_ACCESS_FS_*.
    static let fsRights: [Right] = [
        ("execute", 1 << 0, 1), ("write_file", 1 << 1, 1), ("read_file", 1 << 2, 1), ("read_dir", 1 << 3, 1),
        ("remove_dir", 1 << 4, 1), ("remove_file", 1 << 5, 1), ("make_char", 1 << 6, 1), ("make_dir", 1 << 7, 1),
        ("make_reg", 1 << 8, 1), ("make_sock", 1 << 9, 1), ("make_fifo", 1 << 10, 1), ("make_block", 1 << 11, 1),
        ("make_sym", 1 << 12, 1), ("refer", 1 << 13, 2), ("truncate", 1 << 14, 3), ("ioctl_dev", 1 << 15, 5),
    ]
    /// LANDLOCK_ACCESS_NET_*.
    static let netRights: [Right] = [("bind_tcp", 1 << 0, 4), ("connect_tcp", 1 << 1, 4)]
    /// LANDLOCK_SCOPE_*, by the names the scope annotation takes.
    static let scopes: [Right] = [("abstract-unix-socket", 1 << 0, 6), ("signal", 1 << 1, 6)]

    static let allFS: UInt64 = fsRights.reduce(0) { $0 | $1.bit }
    /// fs.ro: read files, list directories, execute.
    static let readOnly: UInt64 = 1 << 0 | 1 << 2 | 1 << 3
    /// Enforce mode's floor per kind: the ABI that has every right the kind's promise rests on (fs: refer,
    /// truncate and device ioctl too, so "read-only" also means not truncated and no ioctl on a device outside).
    static let fsABI = 5, netABI = 4, scopeABI = 6
    static let maxPaths = Int(CORRAL_LANDLOCK_MAX_PATHS)
    static let maxPorts = 1024

    /// What the kernel offers: its Landlock ABI, 0 without Landlock (then `error` says why).
    struct Host: Equatable {
        var abi: Int
        var error: Int32 = 0

        /// This kernel's, asked once per process.
        static let live: Host = {
            let r = corral_landlock_abi()
            return r > 0 ? Host(abi: Int(r)) : Host(abi: 0, error: -r)
        }()
    }

    static func names(_ bits: UInt64, _ table: [Right]) -> [String] {
        table.filter { bits & $0.bit != 0 }.map(\.name)
    }

    static func field(_ key: String) -> String { "annotations[" + JSONValue.quoted(key) + "]" }

    /// nil when no Landlock annotation is present (nothing is asked of the kernel then) or only the mode is.
    /// `host` is the live kernel unless a test gives one.
    ///
    /// landlock_restrict_self(2) needs no_new_privs or CAP_SYS_ADMIN, and at that point (right before execve) the
    /// capabilities are already the container's. Landlock therefore requires process.noNewPrivileges: true. Setting
    /// no_new_privs behind the config's back would silently break its setuid programs, and relying on CAP_SYS_ADMIN
    /// would sandbox a process that holds the capability sandboxes are meant to keep away.
    static func plan(_ annotations: [String: String]?, noNewPrivileges: Bool, host: Host? = nil,
                     note: (String) -> Void = { _ in }) throws(RuntimeError) -> LandlockPlan? {
        guard let annotations, annotations.keys.contains(where: { $0.hasBytePrefix(prefix) }) else { return nil }
        for k in annotations.keys.sorted() where k.hasBytePrefix(prefix) && !keys.contains(k) {
            throw RuntimeError(.config, "\(field(k)): unknown Landlock annotation (known: \(keys.joined(separator: ", ")))")
        }
        var modeValue = LandlockPlan.Mode.enforce
        if let m = annotations[mode] {
            guard let v = LandlockPlan.Mode(rawValue: trim(Substring(m))) else {
                throw RuntimeError(.config, "\(field(mode)): unsupported value \(JSONValue.quoted(m)) (supported: enforce, best-effort)")
            }
            modeValue = v
        }
        let present = keys.filter { $0 != mode && annotations[$0] != nil }
        guard let first = present.first else { return nil }
        if !noNewPrivileges {
            throw RuntimeError(.config, "\(field(first)): Landlock needs process.noNewPrivileges: true (landlock_restrict_self(2) is refused without no_new_privs once the capabilities are dropped)")
        }

        // What the annotations ask for, as if the kernel had every ABI.
        var paths: [LandlockPlan.PathRule] = []
        for (key, access) in [(fsRW, allFS), (fsRO, readOnly)] {
            guard let value = annotations[key] else { continue }
            for p in try parsePaths(value, key: key) {
                if let i = paths.firstIndex(where: { $0.path == p }) { paths[i].access |= access; continue }
                paths.append(LandlockPlan.PathRule(path: p, access: access, annotation: key))
                if paths.count > maxPaths {
                    throw RuntimeError(.config, "\(field(key)): more than \(maxPaths) Landlock paths (\(fsRW) and \(fsRO) together)")
                }
            }
        }
        var portAccess: [UInt16: UInt64] = [:]
        var handledNet: UInt64 = 0
        for (key, bit) in [(bindTCP, UInt64(1) << 0), (connectTCP, UInt64(1) << 1)] {
            guard let value = annotations[key] else { continue }
            handledNet |= bit
            for port in try parsePorts(value, key: key) { portAccess[port, default: 0] |= bit }
        }
        var scoped: UInt64 = 0
        if let value = annotations[scope] {
            for item in value.split(separator: ",") {
                let name = trim(item)
                if name.isEmpty { continue }
                guard let s = scopes.first(where: { $0.name == name }) else {
                    throw RuntimeError(.config, "\(field(scope)): unsupported value \(JSONValue.quoted(name)) (supported: \(scopes.map(\.name).reversed().joined(separator: ", ")))")
                }
                scoped |= s.bit
            }
        }
        var plan = LandlockPlan(abi: 0, mode: modeValue, keys: present)
        plan.handledFS = annotations[fsRW] != nil || annotations[fsRO] != nil ? allFS : 0
        plan.handledNet = handledNet
        plan.scoped = scoped
        plan.paths = paths
        plan.ports = portAccess.keys.sorted().map { LandlockPlan.PortRule(port: $0, access: portAccess[$0]!) }

        // What this kernel offers.
        let host = host ?? .live
        plan.abi = host.abi
        if modeValue == .enforce {
            for key in present {
                let needed = switch key {
                case fsRW, fsRO: fsABI
                case bindTCP, connectTCP: netABI
                default: scoped != 0 ? scopeABI : 0
                }
                if host.abi >= needed { continue }
                let offer = host.abi > 0 ? "this kernel offers ABI \(host.abi)"
                    : "this kernel has no Landlock (landlock_create_ruleset: \(errnoText(host.error)))"
                throw RuntimeError(.config, "\(field(key)): needs Landlock ABI \(needed) and \(offer); \(field(mode)) \"best-effort\" enforces only what the kernel offers")
            }
        } else {
            var dropped: [String] = []
            func mask(_ bits: UInt64, _ table: [Right], _ kind: String) -> UInt64 {
                var bits = bits
                for r in table where bits & r.bit != 0 && r.abi > host.abi {
                    bits &= ~r.bit
                    dropped.append("\(kind).\(r.name) (ABI \(r.abi))")
                }
                return bits
            }
            plan.handledFS = mask(plan.handledFS, fsRights, "fs")
            plan.handledNet = mask(plan.handledNet, netRights, "net")
            plan.scoped = mask(plan.scoped, scopes, "scope")
            plan.dropped = dropped
            plan.paths = plan.handledFS == 0 ? [] : plan.paths.map { var r = $0; r.access &= plan.handledFS; return r }
            plan.ports = plan.handledNet == 0 ? [] : plan.ports.compactMap { r in
                var r = r
                r.access &= plan.handledNet
                return r.access == 0 ? nil : r
            }
        }
        note(plan.summary)
        return plan
    }

    /// CRIU knows nothing of Landlock: a restored process would run without its ruleset, so neither a checkpoint
    /// (which would be good for nothing else) nor a restore of such a container is made.
    static func notRestorable(_ plan: LandlockPlan, verb: String) -> RuntimeError {
        RuntimeError(.unsupported, "\(field(plan.keys.first ?? prefix + "*")): \(verb) of a container under Landlock is not supported: CRIU cannot give the restored process its Landlock ruleset")
    }

    /// Comma- or colon-separated absolute paths, cleaned (".." cannot climb above "/"); empty items are skipped.
    static func parsePaths(_ value: String, key: String) throws(RuntimeError) -> [String] {
        var out: [String] = []
        for item in value.split(whereSeparator: { $0 == "," || $0 == ":" }) {
            let p = trim(item)
            if p.isEmpty { continue }
            guard p.hasBytePrefix("/"), !p.utf8.contains(0) else {
                throw RuntimeError(.config, "\(field(key)): \(JSONValue.quoted(p)) is not an absolute path")
            }
            if p.utf8.count >= 4096 { throw RuntimeError(.config, "\(field(key)): a path is longer than 4095 bytes") }
            let clean = Files.clean(p)
            if !out.contains(clean) { out.append(clean) }
        }
        return out
    }

    /// Comma-separated TCP ports (0-65535) and ranges "low-high".
    static func parsePorts(_ value: String, key: String) throws(RuntimeError) -> [UInt16] {
        var out = Set<UInt16>()
        for item in value.split(separator: ",") {
            let t = trim(item)
            if t.isEmpty { continue }
            let bounds = t.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let low = bounds.first.flatMap { UInt16(trim($0)) }
            let high = bounds.count == 2 ? UInt16(trim(bounds[1])) : low
            guard let low, let high, low <= high, bounds.allSatisfy({ $0.allSatisfy { $0 != "+" } }) else {
                throw RuntimeError(.config, "\(field(key)): invalid port \(JSONValue.quoted(t)) (a number 0-65535 or a range such as 8000-8010)")
            }
            if Int(high) - Int(low) >= maxPorts { throw RuntimeError(.config, "\(field(key)): more than \(maxPorts) ports") }
            for p in low...high { out.insert(p) }
            if out.count > maxPorts { throw RuntimeError(.config, "\(field(key)): more than \(maxPorts) ports") }
        }
        return out.sorted()
    }

    /// `s` without leading and trailing spaces and tabs.
    static func trim(_ s: Substring) -> String {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" }
        var t = s.drop(while: blank)
        while let last = t.last, blank(last) { t = t.dropLast() }
        return String(t)
    }
}
