import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// Bind mounts the parent prepares for the child: in a user namespace the child cannot open a source only the
/// host's root may read (runc's parent opens those too), and an idmapped mount needs a detached mount and a user
/// namespace with the mount's maps, both made here. Each source becomes an `open_tree` clone with its attributes
/// (and idmap) applied. The child still prefers its own view of a source it can open (so the kernel keeps the
/// flags the source's mount has locked, as with runc) and attaches this one only when it cannot, or always when it
/// is idmapped. Sources inside the rootfs are the child's alone (they may appear only through earlier mounts).
enum BindSources {
    /// Mount index → detached mount fd, in one contiguous block above every fd this process has open (the child
    /// keeps exactly that block). Empty when no mount needs it.
    static func prepare(_ plan: LaunchPlan) throws(RuntimeError) -> [Int: Int32] {
        let inUserNS = plan.newUserNS || plan.joins.contains { $0.flag == Planner.cloneNewUser }
        // A source inside the rootfs is the child's alone: it may only exist once the mounts before it are made.
        let wanted = plan.mounts.indices.filter {
            plan.mounts[$0].kind == .bind && !plan.mounts[$0].sourceInRoot && (inUserNS || plan.mounts[$0].idmap != nil)
        }
        guard !wanted.isEmpty else { return [:] }
        var made: [Int: Int32] = [:]
        var userns: [String: Int32] = [:]   // one user namespace per distinct pair of maps
        defer { for fd in userns.values { close(fd) } }
        do throws(RuntimeError) {
            for i in wanted {
                let m = plan.mounts[i]
                let what = "error mounting \"\(m.source ?? "")\" to rootfs at \"\(m.dest)\""
                let fd = corral_open_tree_clone(m.source ?? "", m.recursive ? 1 : 0)
                if fd < 0 { throw RuntimeError(.childSetup, "\(what): open_tree: \(errnoText(-fd))") }
                made[i] = fd
                if m.attrSet != 0 || m.attrClr != 0 {
                    var (set, clr) = (m.attrSet, m.attrClr)
                    if inUserNS {
                        let flags = corral_mount_flags(fd)
                        if flags < 0 { throw RuntimeError(.childSetup, "\(what): statfs: \(errnoText(Int32(-flags)))") }
                        (set, clr) = try keepLocked(set: set, clr: clr, source: msFlags(statfs: UInt64(flags)), m, what: what)
                    }
                    let r = corral_mount_setattr(fd, 0, set, clr)
                    if r < 0 { throw RuntimeError(.childSetup, "\(what): mount_setattr: \(errnoText(-r))") }
                }
                if m.rattrSet != 0 || m.rattrClr != 0 {
                    let r = corral_mount_setattr(fd, 1, m.rattrSet, m.rattrClr)
                    if r < 0 { throw RuntimeError(.childSetup, "\(what): mount_setattr: \(errnoText(-r))") }
                }
                if let idmap = m.idmap {
                    let uid = mapText(idmap.uid), gid = mapText(idmap.gid)
                    let key = uid + "|" + gid
                    var ns = userns[key] ?? -1
                    if ns < 0 {
                        ns = corral_userns_fd(uid, gid)
                        if ns < 0 { throw RuntimeError(.childSetup, "\(what): user namespace for the idmap: \(errnoText(-ns))") }
                        userns[key] = ns
                    }
                    let r = corral_mount_setattr_idmap(fd, ns, idmap.recursive ? 1 : 0)
                    if r < 0 { throw RuntimeError(.childSetup, "\(what): idmap: \(errnoText(-r))") }
                }
            }
            return try contiguous(made)
        } catch {
            for fd in made.values { close(fd) }
            throw error
        }
    }

    /// statfs(2)'s f_flags as MS_* mount flags (strictatime when neither noatime nor relatime is shown).
    static func msFlags(statfs f: UInt64) -> UInt64 {
        let map: [(UInt64, UInt64)] = [(0x1, MS.rdonly), (0x2, MS.nosuid), (0x4, MS.nodev), (0x8, MS.noexec),
                                       (0x400, MS.noatime), (0x800, MS.nodiratime), (0x1000, MS.relatime)]
        var ms: UInt64 = 0
        for (st, flag) in map where f & st != 0 { ms |= flag }
        if ms & (MS.noatime | MS.relatime) == 0 { ms |= MS.strictatime }
        return ms
    }

    /// What the kernel would do to a bind the child made itself in its user namespace, done to the clone this
    /// process made outside it (which the kernel does not lock): the source's ro, nosuid, nodev, noexec and atime
    /// mode are locked. Where the planned attributes would give one up (the kernel's EPERM), runc's rules: an option
    /// that cleared it explicitly, or asked for another atime mode, is an error; otherwise the source's are kept.
    static func keepLocked(set: UInt64, clr: UInt64, source src: UInt64, _ m: MountOp,
                           what: String) throws(RuntimeError) -> (set: UInt64, clr: UInt64) {
        let four: [(UInt64, UInt64)] = [(MS.rdonly, MountAttr.rdonly), (MS.nosuid, MountAttr.nosuid),
                                        (MS.nodev, MountAttr.nodev), (MS.noexec, MountAttr.noexec)]
        var lost = false
        for (ms, attr) in four where src & ms != 0 && clr & attr != 0 && set & attr == 0 { lost = true }
        let srcAtime = src & MS.atimeFlags
        if clr & MountAttr.atimeMask != 0 {
            let mode = set & MountAttr.atimeMask
            var result: UInt64 = mode == MountAttr.noatime ? MS.noatime : mode == MountAttr.strictatime ? MS.strictatime : MS.relatime
            if set & MountAttr.nodiratime != 0 { result |= MS.nodiratime }
            if result != srcAtime { lost = true }
        }
        guard lost else { return (set, clr) }
        let prefix = "\(what): failed to set user-requested vfs flags on bind-mount"
        let cannot = src & m.msCleared & MS.lockable
        if cannot != 0 {
            throw RuntimeError(.childSetup, "\(prefix): cannot clear locked flags \(msNames(cannot)): operation not permitted")
        }
        if m.msAtime != 0 && m.msAtime != srcAtime {
            throw RuntimeError(.childSetup, "\(prefix): cannot change locked atime flags \(msNames(srcAtime)): operation not permitted")
        }
        var keep: UInt64 = 0
        for (ms, attr) in four where src & ms != 0 { keep |= attr }
        return (set | keep, clr & ~keep)
    }

    /// The mount(8) names of MS_* flags, for errors.
    static func msNames(_ ms: UInt64) -> String {
        let names: [(UInt64, String)] = [(MS.rdonly, "ro"), (MS.nosuid, "nosuid"), (MS.nodev, "nodev"), (MS.noexec, "noexec"),
                                         (MS.noatime, "noatime"), (MS.nodiratime, "nodiratime"), (MS.relatime, "relatime"),
                                         (MS.strictatime, "strictatime")]
        return names.filter { ms & $0.0 != 0 }.map { $0.1 }.joined(separator: ",")
    }

    static func mapText(_ maps: [IDMapping]) -> String {
        maps.map { $0.containerID.decimal + " " + $0.hostID.decimal + " " + $0.size.decimal + "\n" }.joined()
    }

    /// Moves the fds to consecutive numbers above the highest fd open now (nothing is open above it, and this
    /// process is single-threaded, so F_DUPFD hands them out in order).
    private static func contiguous(_ fds: [Int: Int32]) throws(RuntimeError) -> [Int: Int32] {
        let highest = (Files.entries("/proc/self/fd") ?? []).compactMap { Int32($0.name) }.max() ?? 2
        var out: [Int: Int32] = [:]
        var next = highest + 1
        for (i, fd) in fds.sorted(by: { $0.key < $1.key }) {
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, next)
            if moved < 0 {
                let e = errno
                for f in out.values { close(f) }
                throw .system("fcntl F_DUPFD", e)
            }
            close(fd)
            out[i] = moved
            next = moved + 1
        }
        return out
    }
}
