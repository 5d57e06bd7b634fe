import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// linux.memoryPolicy as set_mempolicy(2) takes it: the mode with its flags ORed in, and the node mask.
struct MemoryPolicyPlan: Equatable {
    var mode: Int32
    /// Bit n of word n/64 is node n; empty for no nodes (NULL to the kernel).
    var nodes: [UInt64]
    /// "MPOL_BIND nodes 0", for the child's error message.
    var text: String
}

/// Plans linux.memoryPolicy against this host: its NUMA nodes (/sys/devices/system/node/online) and what its
/// kernel implements (a probe with mbind(2) on a scratch page, which takes the same modes and flags and leaves
/// nothing behind). set_mempolicy(2)'s rules are checked here, so that the only failure left to the child is
/// the container's own cpuset (a node outside cpuset.mems).
enum MemoryPolicyPlanner {
    static let modeNumbers: [MemoryPolicyMode: Int32] = [
        .MPOL_DEFAULT: 0, .MPOL_PREFERRED: 1, .MPOL_BIND: 2, .MPOL_INTERLEAVE: 3, .MPOL_LOCAL: 4,
        .MPOL_PREFERRED_MANY: 5, .MPOL_WEIGHTED_INTERLEAVE: 6,
    ]
    static let flagBits: [MemoryPolicyFlag: Int32] = [
        .MPOL_F_NUMA_BALANCING: 1 << 13, .MPOL_F_RELATIVE_NODES: 1 << 14, .MPOL_F_STATIC_NODES: 1 << 15,
    ]
    static let onlineNodesFile = "/sys/devices/system/node/online"
    /// Relative node numbers are not host nodes; the kernel's MAX_NUMNODES is at most 1024 (NODES_SHIFT 10).
    static let maxRelativeNode = 1023

    static func plan(_ mp: MemoryPolicy?) throws(RuntimeError) -> MemoryPolicyPlan? {
        guard let mp else { return nil }
        let p = "linux.memoryPolicy"
        guard let online = CPUList.host(onlineNodesFile) else {
            throw RuntimeError(.unsupported, "\(p): this host has no NUMA memory policy support (no \(onlineNodesFile))")
        }
        let mode = mp.mode.rawValue
        let flags = mp.flags ?? []
        // runc main's words lead the message (bats memorypolicy.bats).
        let nodes = try CPUList.parse(mp.nodes ?? "", field: "\(p).nodes: invalid memory policy node")
        let relative = flags.contains(.MPOL_F_RELATIVE_NODES)
        switch mp.mode {
        case .MPOL_DEFAULT, .MPOL_LOCAL:
            if let nodes {
                throw RuntimeError(.config, "\(p).nodes: \(mode) takes no nodes: mode requires 0 nodes but got \(nodes.ids.count) (\(JSONValue.quoted(mp.nodes ?? "")))")
            }
            if let f = flags.first { throw RuntimeError(.config, "\(p).flags[0]: \(mode) takes no flags (got \(f.rawValue))") }
        case .MPOL_BIND, .MPOL_INTERLEAVE, .MPOL_WEIGHTED_INTERLEAVE, .MPOL_PREFERRED_MANY:
            if nodes == nil { throw RuntimeError(.config, "\(p).nodes: \(mode) needs at least one node") }
        case .MPOL_PREFERRED:
            // No nodes means local allocation, which the kernel refuses to combine with a node-numbering flag.
            if nodes == nil, let i = flags.firstIndex(where: { $0 != .MPOL_F_NUMA_BALANCING }) {
                throw RuntimeError(.config, "\(p).flags[\(i)]: \(flags[i].rawValue) needs nodes")
            }
        }
        var bits: Int32 = 0
        for (i, f) in flags.enumerated() {
            switch f {
            case .MPOL_F_STATIC_NODES where relative:
                throw RuntimeError(.config, "\(p).flags[\(i)]: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other")
            case .MPOL_F_NUMA_BALANCING where mp.mode != .MPOL_BIND && mp.mode != .MPOL_PREFERRED_MANY:
                throw RuntimeError(.config, "\(p).flags[\(i)]: MPOL_F_NUMA_BALANCING applies to MPOL_BIND and MPOL_PREFERRED_MANY only (mode \(mode))")
            default:
                bits |= flagBits[f]!
            }
        }
        if let nodes {
            if relative {
                // Positions within the allowed nodes, folded onto them by the kernel: not host node numbers.
                if let n = nodes.max, n > maxRelativeNode {
                    throw RuntimeError(.config, "\(p).nodes: relative node \(n) is above \(maxRelativeNode)")
                }
            } else if let missing = nodes.ids.first(where: { !online.contains($0) }) {
                throw RuntimeError(.config, "\(p).nodes: node \(missing) of \(JSONValue.quoted(mp.nodes ?? "")) is not online on this host (online: \(online))")
            }
        }
        let value = modeNumbers[mp.mode]! | bits
        let r = probe(value, node: online.ids.first ?? 0)
        if r != 0 {
            let what = flags.isEmpty ? mode : ([mode] + flags.map(\.rawValue)).joined(separator: "|")
            throw RuntimeError(.unsupported, "\(p).mode: \(what) is not supported by the running kernel: \(errnoText(r))")
        }
        var text = mode
        if let nodes { text += " nodes " + nodes.description }
        if !flags.isEmpty { text += " flags " + flags.map(\.rawValue).joined(separator: "|") }
        return MemoryPolicyPlan(mode: value, nodes: nodes?.words() ?? [], text: text)
    }

    /// Whether the kernel takes `mode` (MPOL_* | MPOL_F_*) with node `node` (none for MPOL_DEFAULT and
    /// MPOL_LOCAL): 0 or the errno.
    static func probe(_ mode: Int32, node: Int) -> Int32 {
        let base = mode & 0xff
        return -corral_mempolicy_probe(mode, base == 0 || base == 4 ? -1 : Int32(node))
    }

    /// The modes and flags `create` accepts on this host, for `corral features` (empty without NUMA support).
    static func supported() -> (modes: [String], flags: [String]) {
        guard let first = CPUList.host(onlineNodesFile)?.ids.first else { return ([], []) }
        let modes = MemoryPolicyMode.allCases.filter { probe(modeNumbers[$0]!, node: first) == 0 }
        let flags = MemoryPolicyFlag.allCases.filter { probe(modeNumbers[.MPOL_BIND]! | flagBits[$0]!, node: first) == 0 }
        return (modes.map(\.rawValue), flags.map(\.rawValue))
    }
}
