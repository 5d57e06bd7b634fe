import CCorral
import Glibc

/// A kernel constant from corral.h's enums (checked against the kernel's headers when CCorral is compiled).
func kernelConstant<T: RawRepresentable>(_ value: T) -> UInt64 where T.RawValue: BinaryInteger { UInt64(value.rawValue) }

/// MOUNT_ATTR_* of mount_setattr(2) (corral.h's `enum corral_mount_attr`).
enum MountAttr {
    static let rdonly = kernelConstant(CORRAL_MOUNT_ATTR_RDONLY)
    static let nosuid = kernelConstant(CORRAL_MOUNT_ATTR_NOSUID)
    static let nodev = kernelConstant(CORRAL_MOUNT_ATTR_NODEV)
    static let noexec = kernelConstant(CORRAL_MOUNT_ATTR_NOEXEC)
    static let atimeMask = kernelConstant(CORRAL_MOUNT_ATTR__ATIME)
    static let relatime = kernelConstant(CORRAL_MOUNT_ATTR_RELATIME)
    static let noatime = kernelConstant(CORRAL_MOUNT_ATTR_NOATIME)
    static let strictatime = kernelConstant(CORRAL_MOUNT_ATTR_STRICTATIME)
    static let nodiratime = kernelConstant(CORRAL_MOUNT_ATTR_NODIRATIME)
    static let nosymfollow = kernelConstant(CORRAL_MOUNT_ATTR_NOSYMFOLLOW)
}

/// MS_* propagation flags, as mount(2) and mount_setattr take them (corral.h's `enum corral_ms_flag`).
enum Propagation {
    static let rec = kernelConstant(CORRAL_MS_REC)
    static let unbindable = kernelConstant(CORRAL_MS_UNBINDABLE)
    static let `private` = kernelConstant(CORRAL_MS_PRIVATE)
    static let slave = kernelConstant(CORRAL_MS_SLAVE)
    static let shared = kernelConstant(CORRAL_MS_SHARED)
}

/// MS_* mount flags as mount(2) takes them: what a bind mount's options ask for is kept in this form (runc's Flags
/// and ClearedFlags), because a bind applies them with mount(2)'s remount semantics.
enum MS {
    static let rdonly = kernelConstant(CORRAL_MS_RDONLY)
    static let nosuid = kernelConstant(CORRAL_MS_NOSUID)
    static let nodev = kernelConstant(CORRAL_MS_NODEV)
    static let noexec = kernelConstant(CORRAL_MS_NOEXEC)
    static let synchronous = kernelConstant(CORRAL_MS_SYNCHRONOUS)
    static let mandlock = kernelConstant(CORRAL_MS_MANDLOCK)
    static let dirsync = kernelConstant(CORRAL_MS_DIRSYNC)
    static let nosymfollow = kernelConstant(CORRAL_MS_NOSYMFOLLOW)
    static let noatime = kernelConstant(CORRAL_MS_NOATIME)
    static let nodiratime = kernelConstant(CORRAL_MS_NODIRATIME)
    static let silent = kernelConstant(CORRAL_MS_SILENT)
    static let relatime = kernelConstant(CORRAL_MS_RELATIME)
    static let iVersion = kernelConstant(CORRAL_MS_I_VERSION)
    static let strictatime = kernelConstant(CORRAL_MS_STRICTATIME)
    static let lazytime = kernelConstant(CORRAL_MS_LAZYTIME)
    /// Every atime-related flag (the noatime/relatime/strictatime enum and nodiratime).
    static let atimeFlags = noatime | nodiratime | relatime | strictatime
    /// What the kernel locks (MNT_LOCK_*) on mounts a less privileged user namespace inherits.
    static let lockable = rdonly | nosuid | nodev | noexec | atimeFlags
}

/// What the options of one config mount mean, after classification.
struct ClassifiedOptions {
    var bind = false
    var recursive = false
    var remount = false
    var attrSet: UInt64 = 0
    var attrClr: UInt64 = 0
    var rattrSet: UInt64 = 0
    var rattrClr: UInt64 = 0
    var propagation: UInt64 = 0
    var propagationRecursive = false
    /// Superblock flags and filesystem-specific options, passed to fsconfig for new filesystems.
    var data: [String] = []
    /// Superblock-only flags, which a bind mount cannot honour.
    var superblockFlags: [String] = []
    /// `tmpcopyup`: a new tmpfs starts with a copy of what its destination directory held.
    var copyUp = false
    /// `idmap` / `ridmap`: an idmapped bind mount (`ridmap`: its submounts too).
    var idmap = false
    var idmapRecursive = false
    /// The mount(2) flags the options set and those they clear explicitly ("rw", "suid", "atime", ...), each
    /// option undoing an earlier opposite one: how a bind mount's flags are decided (`MountPlanner.bindAttributes`).
    var msFlags: UInt64 = 0
    var msCleared: UInt64 = 0
}

/// Classifies mount options as runc and mount(8) understand them: a later option overrides an earlier one
/// (`ro,rw` is read-write). Every option of runtime-spec's list is known; anything else is filesystem data
/// (fsconfig decides, and rejects what it does not know).
enum MountOptions {
    private enum Effect {
        case set(UInt64), clear(UInt64), atime(UInt64), rset(UInt64), rclear(UInt64), ratime(UInt64)
        case prop(UInt64, recursive: Bool)
        case bind(recursive: Bool), remount
        case unset(UInt64)         // "rw", "suid", ...: undo an earlier option; binds still inherit the source's flag
        case atimeDefault          // "atime", "norelatime", "nostrictatime": back to the kernel default
        case superblock(String)
        case superblockOff(String) // "async", "nomand", ...: undo an earlier superblock flag
        case copyUp
        case idmap(recursive: Bool)
        case none
    }

    private static let table: [String: Effect] = [
        "ro": .set(MountAttr.rdonly), "rw": .unset(MountAttr.rdonly),
        "nosuid": .set(MountAttr.nosuid), "suid": .unset(MountAttr.nosuid),
        "nodev": .set(MountAttr.nodev), "dev": .unset(MountAttr.nodev),
        "noexec": .set(MountAttr.noexec), "exec": .unset(MountAttr.noexec),
        "noatime": .atime(MountAttr.noatime), "atime": .atimeDefault,
        "relatime": .atime(MountAttr.relatime), "norelatime": .atimeDefault,
        "strictatime": .atime(MountAttr.strictatime), "nostrictatime": .atimeDefault,
        "nodiratime": .set(MountAttr.nodiratime), "diratime": .clear(MountAttr.nodiratime),
        "nosymfollow": .set(MountAttr.nosymfollow), "symfollow": .clear(MountAttr.nosymfollow),
        "rro": .rset(MountAttr.rdonly), "rrw": .rclear(MountAttr.rdonly),
        "rnosuid": .rset(MountAttr.nosuid), "rsuid": .rclear(MountAttr.nosuid),
        "rnodev": .rset(MountAttr.nodev), "rdev": .rclear(MountAttr.nodev),
        "rnoexec": .rset(MountAttr.noexec), "rexec": .rclear(MountAttr.noexec),
        "rnodiratime": .rset(MountAttr.nodiratime), "rdiratime": .rclear(MountAttr.nodiratime),
        "rnoatime": .ratime(MountAttr.noatime), "ratime": .ratime(MountAttr.relatime),
        "rrelatime": .ratime(MountAttr.relatime), "rnorelatime": .ratime(MountAttr.relatime),
        "rstrictatime": .ratime(MountAttr.strictatime), "rnostrictatime": .ratime(MountAttr.relatime),
        "rnosymfollow": .rset(MountAttr.nosymfollow), "rsymfollow": .rclear(MountAttr.nosymfollow),
        "bind": .bind(recursive: false), "rbind": .bind(recursive: true), "remount": .remount,
        "private": .prop(Propagation.private, recursive: false), "rprivate": .prop(Propagation.private, recursive: true),
        "shared": .prop(Propagation.shared, recursive: false), "rshared": .prop(Propagation.shared, recursive: true),
        "slave": .prop(Propagation.slave, recursive: false), "rslave": .prop(Propagation.slave, recursive: true),
        "unbindable": .prop(Propagation.unbindable, recursive: false),
        "runbindable": .prop(Propagation.unbindable, recursive: true),
        "sync": .superblock("sync"), "async": .superblockOff("sync"), "dirsync": .superblock("dirsync"),
        "mand": .superblock("mand"), "nomand": .superblockOff("mand"),
        "lazytime": .superblock("lazytime"), "nolazytime": .superblockOff("lazytime"),
        "noiversion": .none,  // "iversion" is refused (below), so there is nothing to undo
        "defaults": .none, "silent": .none, "loud": .none,
        "tmpcopyup": .copyUp,
        "idmap": .idmap(recursive: false), "ridmap": .idmap(recursive: true),
    ]

    /// The mount(2) flag each flag option sets, or clears (`clear`), as mount(8) and runc read them.
    private static let msTable: [String: (clear: Bool, flag: UInt64)] = [
        "ro": (false, MS.rdonly), "rw": (true, MS.rdonly), "nosuid": (false, MS.nosuid), "suid": (true, MS.nosuid),
        "nodev": (false, MS.nodev), "dev": (true, MS.nodev), "noexec": (false, MS.noexec), "exec": (true, MS.noexec),
        "sync": (false, MS.synchronous), "async": (true, MS.synchronous), "dirsync": (false, MS.dirsync),
        "mand": (false, MS.mandlock), "nomand": (true, MS.mandlock), "nosymfollow": (false, MS.nosymfollow),
        "symfollow": (true, MS.nosymfollow), "noatime": (false, MS.noatime), "atime": (true, MS.noatime),
        "nodiratime": (false, MS.nodiratime), "diratime": (true, MS.nodiratime), "relatime": (false, MS.relatime),
        "norelatime": (true, MS.relatime), "strictatime": (false, MS.strictatime), "nostrictatime": (true, MS.strictatime),
        "lazytime": (false, MS.lazytime), "nolazytime": (true, MS.lazytime), "silent": (false, MS.silent),
        "loud": (true, MS.silent), "noiversion": (true, MS.iVersion),
    ]

    /// Options of the spec's list that corral refuses, with the reason. `iversion` is MS_I_VERSION, a flag only
    /// mount(2) takes: fsconfig has no such parameter (filesystems that keep i_version turn it on themselves).
    static let refused: [String: String] = [
        "iversion": "cannot be requested through the new mount API (fsconfig has no i_version flag)",
    ]

    /// Every option `classify` gives a meaning to, sorted: `corral features` reports exactly these as its
    /// mountOptions (filesystem data such as `size=` is passed through, not listed, as the spec asks).
    static var recognized: [String] { table.keys.sorted() }

    /// Classifies `options`; `path` is the JSON path of the options array, for errors.
    static func classify(_ options: [String], path: String) throws(RuntimeError) -> ClassifiedOptions {
        var c = ClassifiedOptions()
        for (i, opt) in options.enumerated() {
            if let why = refused[opt] {
                throw RuntimeError(.unsupported, "\(path)[\(i)]: mount option \"\(opt)\" \(why)")
            }
            if let f = msTable[opt] {
                if f.clear { c.msFlags &= ~f.flag; c.msCleared |= f.flag } else { c.msFlags |= f.flag; c.msCleared &= ~f.flag }
            }
            guard let effect = table[opt] else {
                if opt.isEmpty { throw RuntimeError(.config, "\(path)[\(i)]: empty mount option") }
                c.data.append(opt)
                continue
            }
            switch effect {
            case .set(let a): c.attrSet |= a; c.attrClr &= ~a
            case .clear(let a): c.attrClr |= a; c.attrSet &= ~a
            case .atime(let a): c.attrClr |= MountAttr.atimeMask; c.attrSet = (c.attrSet & ~MountAttr.atimeMask) | a
            case .rset(let a): c.rattrSet |= a; c.rattrClr &= ~a
            case .rclear(let a): c.rattrClr |= a; c.rattrSet &= ~a
            case .ratime(let a): c.rattrClr |= MountAttr.atimeMask; c.rattrSet = (c.rattrSet & ~MountAttr.atimeMask) | a
            case .prop(let p, let rec): c.propagation = p; c.propagationRecursive = rec
            case .bind(let rec): c.bind = true; c.recursive = c.recursive || rec
            case .remount: c.remount = true
            case .unset(let a): c.attrSet &= ~a
            case .atimeDefault: c.attrSet &= ~MountAttr.atimeMask; c.attrClr &= ~MountAttr.atimeMask
            case .superblock(let f): c.data.append(f); c.superblockFlags.append(f)
            case .superblockOff(let f): c.data.removeAll { $0 == f }; c.superblockFlags.removeAll { $0 == f }
            case .copyUp: c.copyUp = true
            case .idmap(let rec): c.idmap = true; c.idmapRecursive = c.idmapRecursive || rec
            case .none: break
            }
        }
        return c
    }
}
