import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// Bind mounts the parent prepares instead of the child: in a user namespace the child cannot open a source only
/// the host's root may read (runc opens them before too), and an idmapped mount needs a detached mount and a user
/// namespace with the mount's maps, both made here. Each source becomes an `open_tree` clone with its attributes
/// (and idmap) applied; the child only attaches it.
enum BindSources {
    /// Mount index → detached mount fd, in one contiguous block above every fd this process has open (the child
    /// keeps exactly that block). Empty when no mount needs it.
    static func prepare(_ plan: LaunchPlan) throws(RuntimeError) -> [Int: Int32] {
        let inUserNS = plan.newUserNS || plan.joins.contains { $0.flag == Planner.cloneNewUser }
        let wanted = plan.mounts.indices.filter { plan.mounts[$0].kind == .bind && (inUserNS || plan.mounts[$0].idmap != nil) }
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
                    let r = corral_mount_setattr(fd, 0, m.attrSet, m.attrClr)
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
