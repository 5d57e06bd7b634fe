import CCorral
import CCorralHost
import CorralSpec
import Glibc

/// The flags `checkpoint` and `restore` share (runc's CriuOpts), checked as runc checks them.
struct CriuOptions {
    var imagePath: String
    var workPath: String?
    var parentPath: String?
    var leaveRunning = false
    var tcpEstablished = false
    var tcpSkipInFlight = false
    var linkRemap = false
    var extUnixSk = false
    var shellJob = false
    var fileLocks = false
    var preDump = false
    var autoDedup = false
    var lazyPages = false
    var statusFD = -1
    var pageServer: (address: String, port: Int)?
    /// "" (criu's default, soft), soft, full, strict or ignore.
    var manageCgroupsMode = ""
    /// Namespaces created empty on restore (and not dumped): always the network one, as runc (it does not manage
    /// network devices; an engine's hook sets the new one up).
    var emptyNetwork = true
    var lsmProfile: String?
    var lsmMountContext: String?

    /// Reads the flags; creates the image directory (runc: MkdirAll 0600, then Mkdir 0700 in Checkpoint, so a new
    /// one ends up 0600) and checks --parent-path against it.
    static func parse(_ o: ParsedOptions, creatingImages: Bool) throws(RuntimeError) -> CriuOptions {
        let image = Files.absolute(o.string("image-path").flatMap { $0.isEmpty ? nil : $0 } ?? "checkpoint")
        var c = CriuOptions(imagePath: image)
        if creatingImages { try Files.mkdirAll(image, mode: 0o600) }
        if let p = o.string("parent-path"), !p.isEmpty {
            if p.hasBytePrefix("/") { throw RuntimeError(.usage, "--parent-path must be relative") }
            let real = Files.clean(image + "/" + p)
            var st = stat()
            if stat(real, &st) != 0 { throw .system("invalid --parent-path: stat \(real)", errno) }
            if (st.st_mode & S_IFMT) != S_IFDIR { throw .system("invalid --parent-path: \(real)", ENOTDIR) }
            c.parentPath = p
        }
        if let w = o.string("work-path"), !w.isEmpty { c.workPath = Files.absolute(w) }
        c.leaveRunning = o.bool("leave-running")
        c.tcpEstablished = o.bool("tcp-established")
        c.tcpSkipInFlight = o.bool("tcp-skip-in-flight")
        c.linkRemap = o.bool("link-remap")
        c.extUnixSk = o.bool("ext-unix-sk")
        c.shellJob = o.bool("shell-job")
        c.fileLocks = o.bool("file-locks")
        c.preDump = o.bool("pre-dump")
        c.autoDedup = o.bool("auto-dedup")
        c.lazyPages = o.bool("lazy-pages")
        c.statusFD = try o.int("status-fd", default: -1)
        if let ps = o.string("page-server"), !ps.isEmpty {
            // Go's net.SplitHostPort: the port after the last colon, an IPv6 host in brackets.
            guard let colon = ps.utf8.lastIndex(of: UInt8(ascii: ":")) else {
                throw RuntimeError(.usage, "Use --page-server ADDRESS:PORT to specify page server")
            }
            var host = String(ps[..<colon])
            let port = String(ps[ps.index(after: colon)...])
            if host.hasBytePrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty || port.isEmpty { throw RuntimeError(.usage, "Use --page-server ADDRESS:PORT to specify page server") }
            guard let n = Int(port) else { throw RuntimeError(.usage, "Invalid port number") }
            c.pageServer = (host, n)
        }
        if let m = o.string("manage-cgroups-mode") {
            guard ["", "soft", "full", "strict", "ignore"].contains(m) else {
                throw RuntimeError(.usage, "Invalid manage cgroups mode")
            }
            c.manageCgroupsMode = m
        }
        for ns in o.strings("empty-ns") where ns != "network" {
            throw RuntimeError(.usage, "namespace \"\(ns)\" is not supported")
        }
        c.lsmProfile = o.string("lsm-profile").flatMap { $0.isEmpty ? nil : $0 }
        c.lsmMountContext = o.string("lsm-mount-context").flatMap { $0.isEmpty ? nil : $0 }
        return c
    }

    /// Where criu writes its log (-o is relative to the work directory, which defaults to the image directory).
    func logPath(_ name: String) -> String { (workPath ?? imagePath) + "/" + name }
}

/// One criu request (dump, pre-dump or restore) over criu's RPC: `criu swrk` is started on one end of a socket
/// pair (see corral_criu_spawn), gets the options as a criu_req, and answers with notifications (acknowledged;
/// those the caller asks for are handed to `notify`) and a final criu_resp. runc drives criu the same way; the
/// RPC alone can hand a restored terminal's new master over (orphan_pts_master). A failure names criu's log and
/// quotes its error lines.
struct CriuInvocation {
    static let dumpLog = "dump.log"
    static let restoreLog = "restore.log"
    /// The standard descriptors of the init as the host saw them at dump (runc's file and format): a restore hands
    /// its own fd N to the restored process where entry N was a pipe.
    static let descriptorsFile = "descriptors.json"

    var binary: String
    var request: CriuRPC.RequestType
    var opts = CriuRPC.Options()
    var logPath: String
    /// The image and work directories; `run` opens them (criu finds them as /proc/<our pid>/fd/N).
    private var directories: (images: String, work: String?) = ("", nil)

    init(binary: String, request: CriuRPC.RequestType, logPath: String) {
        self.binary = binary
        self.request = request
        self.logPath = logPath
    }

    /// `--criu PATH`, or "criu" looked up in $PATH as Go's exec.LookPath does (runc's text when it is missing).
    static func resolveBinary(_ name: String) throws(RuntimeError) -> String {
        if name.utf8.contains(UInt8(ascii: "/")) {
            if access(name, X_OK) != 0 { throw .system("exec: \"\(name)\"", errno) }
            return name
        }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.splitASCII(":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        throw RuntimeError(.notFound, "exec: \"\(name)\": executable file not found in $PATH")
    }

    /// What both directions pass: images, work directory, log, cgroup mode and the behaviour flags (runc's).
    mutating func common(_ o: CriuOptions, config: Spec, log: String) {
        directories = (o.imagePath, o.workPath)
        opts.string(.logFile, log)
        opts.int(.logLevel, 4)
        opts.flag(.manageCgroups)
        if let mode = CriuRPC.cgroupMode(o.manageCgroupsMode) { opts.int(.manageCgroupsMode, mode, o.manageCgroupsMode) }
        if o.shellJob { opts.flag(.shellJob) }
        if o.tcpEstablished { opts.flag(.tcpEstablished) }
        if o.extUnixSk { opts.flag(.extUnixSk) }
        if o.fileLocks { opts.flag(.fileLocks) }
        if o.autoDedup { opts.flag(.autoDedup) }
        if o.lazyPages { opts.flag(.lazyPages) }
        if o.emptyNetwork { opts.int(.emptyNs, 0x4000_0000, "net") }   // CLONE_NEWNET
        // A container's terminal: criu keeps its pty slave and makes a new master on restore, handed to us.
        opts.flag(.orphanPtsMaster)
        // runc's criu configuration file: the annotation org.criu.config names another one ("" for none).
        let file = config.annotations?["org.criu.config"] ?? "/etc/criu/runc.conf"
        if !file.isEmpty && Files.exists(file) { opts.string(.configFile, file) }
    }

    /// A mount criu must not dump (or must find on the host at restore): `key` is its path in the container;
    /// `value` the key itself at dump, the host path to bind at restore.
    mutating func external(mount key: String, _ value: String) {
        opts.pair(.extMnt, key, value)
    }

    /// Every mount that comes from outside the container's own filesystems, as runc lists them: bind mounts (the
    /// `type: cgroup` mount's per-hierarchy binds included), masked files (binds of /dev/null) and device nodes.
    /// `dump`: the key alone; restore: where the host has it now.
    static func externalMounts(_ plan: LaunchPlan, maskedFiles: [String], dump: Bool) -> [(String, String)] {
        var out: [(String, String)] = []
        for m in plan.mounts where m.kind == .bind {
            let key = resolvedInRoot(plan.rootfs, m.dest)
            out.append((key, dump ? key : (m.source ?? m.dest)))
        }
        if dump {
            for p in maskedFiles { out.append((p, "/dev/null")) }
        } else if !plan.maskedPaths.isEmpty {
            out.append(("/dev/null", "/dev/null"))
        }
        for d in plan.devices { out.append((d.path, d.path)) }
        // One entry per path: a masked /dev/null and the device are the same mount point.
        var seen = Set<String>()
        return out.filter { seen.insert($0.0).inserted }
    }

    /// A mount's destination where the mount really is: symlinks in the rootfs resolved inside it, as runc's
    /// SecureJoin does, so a bind on "/conf" -> "/real/conf" is the mount criu finds at /real/conf. As written when
    /// it does not resolve.
    static func resolvedInRoot(_ rootfs: String, _ dest: String) -> String {
        let root = open(rootfs, CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if root < 0 { return dest }
        defer { close(root) }
        let fd = corral_openat2(root, dest, CORRAL_O_PATH | O_CLOEXEC, 0, Files.resolveInRoot)
        if fd < 0 { return dest }
        defer { close(fd) }
        guard let top = Files.readLink("/proc/self/fd/\(root)"), let real = Files.readLink("/proc/self/fd/\(fd)") else { return dest }
        if real == top { return "/" }
        return real.hasBytePrefix(top + "/") ? String(real.dropFirst(top.count)) : dest
    }

    /// `criu check --feature NAME` (what runc asks criu's RPC before a pre-dump or a lazy-pages dump).
    static func hasFeature(_ binary: String, _ name: String, log: Logger) -> Bool {
        let arena = PlanArena()
        var gate: Int32 = -1, report: Int32 = -1
        let pid = corral_criu_spawn(binary, arena.strings([binary, "check", "--feature", name]), nil, nil, -1, 0, 1,
                                    &gate, &report)
        if pid < 0 { return false }
        close(report)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        log.debug("criu check --feature \(name): \(status == 0 ? "yes" : "no")")
        return status == 0
    }

    /// Runs the request and waits for criu's answer; returns the response (restore's carries the init's pid).
    /// `root`: (rootfs, mount point) for restore's private bind; `placed` runs once the child exists and before it
    /// execs criu (restore puts it into the container's cgroups there). `notify` gets every notification criu
    /// sends (script name, pid, an fd that came with it or -1); throwing fails the request, as a failed action
    /// script would.
    @discardableResult
    mutating func run(root: (String, String)? = nil, log: Logger,
                      placed: ((Int32) throws(RuntimeError) -> Void)? = nil,
                      notify: ((String, Int32, Int32) throws(RuntimeError) -> Void)? = nil) throws(RuntimeError) -> ProtoMessage {
        var pair: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) != 0 {
            throw .system("socketpair for criu", errno)
        }
        let sock = pair[0]
        defer { close(sock) }
        let arena = PlanArena()
        let argv = arena.strings([binary, "swrk", String(pair[1])])
        var gate: Int32 = -1, report: Int32 = -1
        let pid = corral_criu_spawn(binary, argv, root.map { arena.string($0.0) } ?? nil,
                                    root.map { arena.string($0.1) } ?? nil, pair[1], placed == nil ? 0 : 1, 0,
                                    &gate, &report)
        close(pair[1])
        if pid < 0 { throw .system("start criu", -pid) }
        defer { close(report) }
        func reap() -> Int32 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status
        }
        var step: Int32 = 0, err: Int32 = 0
        var reported = root == nil ? 0 : corral_criu_report(report, &step, &err)
        // criu opens the directories as /proc/<our pid>/fd/N and works in them (its cgroup yard is a tmpfs it
        // mounts there): with a mount namespace of its own they must be its mounts, so they are resolved inside
        // its root (RESOLVE_IN_ROOT). A plain open of /proc/<pid>/root/<path> would follow an absolute symlink on
        // the way from our own root, into our namespace: containerd's <bundle>/work is such a link, and criu's
        // mount of the yard then failed with EINVAL. They stay open until criu has answered.
        var dirFDs: [Int32] = []
        defer { for fd in dirFDs { close(fd) } }
        if reported == 2 || root == nil {
            var base = AT_FDCWD
            if root != nil {
                base = open("/proc/\(pid)/root", CORRAL_O_PATH | O_DIRECTORY | O_CLOEXEC)
                if base < 0 {
                    let e = errno
                    close(gate)
                    _ = reap()
                    throw .system("open criu's root /proc/\(pid)/root", e)
                }
            }
            defer { if base >= 0 { close(base) } }
            for (field, path) in [(CriuRPC.Field.imagesDirFD, directories.images), (.workDirFD, directories.work)] {
                guard let path else { continue }
                let fd = corral_openat2(base, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, root == nil ? 0 : Files.resolveInRoot)
                if fd < 0 {
                    close(gate)
                    _ = reap()
                    throw .system("open \(path)", -fd)
                }
                dirFDs.append(fd)
                opts.int(field, fd, path)
            }
        }
        log.debug("criu: \(binary) swrk: \(request) \(opts.summary.joined(separator: " "))")
        if reported != 1, let placed {
            do throws(RuntimeError) {
                try placed(pid)
            } catch {
                close(gate)   // no byte: the child exits without running criu
                _ = reap()
                throw error
            }
            var go: UInt8 = 1
            _ = write(gate, &go, 1)
            close(gate)
        }
        if reported != 1 { reported = corral_criu_report(report, &step, &err) }
        if reported == 1 {
            _ = reap()
            let what: String
            switch UInt32(step) {
            case CORRAL_CRIU_STEP_UNSHARE.rawValue: what = "unshare a mount namespace for criu"
            case CORRAL_CRIU_STEP_PRIVATE.rawValue: what = "make criu's mount namespace private"
            case CORRAL_CRIU_STEP_BIND.rawValue: what = "bind-mount \(root?.0 ?? "") on \(root?.1 ?? "")"
            default: what = "exec \(binary)"
            }
            throw .system(what, err)
        }
        let answer: Result<ProtoMessage, RuntimeError>
        do throws(RuntimeError) {
            answer = .success(try CriuRPC.exchange(sock, request: request, opts: opts, notify: notify))
        } catch {
            answer = .failure(error)
        }
        // criu swrk exits once it has answered (or when its socket closes).
        shutdown(sock, Int32(SHUT_RDWR))
        let status = reap()
        switch answer {
        case .success(let resp):
            if resp.bool(CriuRPC.Resp.success) == true { return resp }
            quoteErrors(log: log)
            var text = "criu failed: type \(request) errno \(resp.int(CriuRPC.Resp.crErrno) ?? 0)"
            if let m = resp.string(CriuRPC.Resp.crErrmsg), !m.isEmpty { text += " (\(m))" }
            throw RuntimeError(.system, text + "\nlog file: \(logPath)")
        case .failure(let error):
            if error.message.hasPrefix(CriuRPC.noAnswer) {
                quoteErrors(log: log)
                let how = status & 0x7f == 0 ? "exit status \((status >> 8) & 0xff)" : "signal: \(status & 0x7f)"
                throw RuntimeError(.system, "criu failed: \(how)\nlog file: \(logPath)")
            }
            throw error
        }
    }

    /// The lines of criu's log that contain "Error", each with up to five lines before it (grep -n -B5 Error).
    func quoteErrors(log: Logger) {
        guard let text = Files.readString(logPath) else {
            log.warn("cannot read criu log \(logPath)")
            return
        }
        let lines = text.splitASCII("\n", omittingEmptySubsequences: false)
        var printed = -1
        var quoted = false
        for (n, line) in lines.enumerated() where line.utf8.count >= 5 && line.containsBytes("Error") {
            if !quoted { log.warn("--- Quoting \"\(logPath)\""); quoted = true } else if n - 5 > printed + 1 { log.warn("...") }
            for k in max(printed + 1, n - 5)...n { log.warn("\(k + 1):\(lines[k])") }
            printed = n
        }
        if quoted { log.warn("---") }
    }
}
