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

/// One criu(8) command line: built from the container's plan and the flags, run from a forked child (see
/// corral_criu_spawn), its failure reported with the log's path and its error lines.
struct CriuInvocation {
    static let dumpLog = "dump.log"
    static let restoreLog = "restore.log"
    /// The standard descriptors of the init as the host saw them at dump (runc's file and format): a restore hands
    /// its own fd N to the restored process where entry N was a pipe.
    static let descriptorsFile = "descriptors.json"

    var binary: String
    var args: [String] = []
    var logPath: String
    /// Added to criu's environment (which its action scripts inherit).
    var environment: [String] = []

    /// A socket the runtime answers on while criu runs (restore's hooks): `handle` gets called with `fd` whenever
    /// it is readable.
    struct Service {
        var fd: Int32
        var handle: (Int32) -> Void
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

    /// What both directions pass: images, work directory, log, cgroup mode and the behaviour flags.
    mutating func common(_ o: CriuOptions, config: Spec, log: String) {
        args += ["-D", o.imagePath]
        if let w = o.workPath { args += ["--work-dir", w] }
        args += ["-o", log, "-v4"]
        args.append(o.manageCgroupsMode.isEmpty ? "--manage-cgroups" : "--manage-cgroups=" + o.manageCgroupsMode)
        if o.shellJob { args.append("--shell-job") }
        if o.tcpEstablished { args.append("--tcp-established") }
        if o.extUnixSk { args.append("--ext-unix-sk") }
        if o.fileLocks { args.append("--file-locks") }
        if o.autoDedup { args.append("--auto-dedup") }
        if o.lazyPages { args.append("--lazy-pages") }
        if o.emptyNetwork { args += ["--empty-ns", "net"] }
        // runc's criu configuration file: the annotation org.criu.config names another one ("" for none). The
        // command line refuses a missing file where the RPC ignored it, so only an existing one is passed.
        let file = config.annotations?["org.criu.config"] ?? "/etc/criu/runc.conf"
        if !file.isEmpty && Files.exists(file) { args += ["--config", file] }
    }

    /// A mount criu must not dump (or must find on the host at restore): `key` is its path in the container;
    /// `value` the key itself at dump, the host path to bind at restore.
    mutating func external(mount key: String, _ value: String) {
        args += ["--ext-mount-map", key + ":" + value]
    }

    /// Every mount that comes from outside the container's own filesystems, as runc lists them: bind mounts (the
    /// `type: cgroup` mount's per-hierarchy binds included), masked files (binds of /dev/null) and device nodes.
    /// `dump`: the key alone; restore: where the host has it now.
    static func externalMounts(_ plan: LaunchPlan, maskedFiles: [String], dump: Bool) -> [(String, String)] {
        var out: [(String, String)] = []
        for m in plan.mounts where m.kind == .bind {
            out.append((m.dest, dump ? m.dest : (m.source ?? m.dest)))
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

    /// Runs criu and waits for it. `root`: (rootfs, mount point) for restore's private bind; `placed` runs once the
    /// child exists and before it execs (restore puts it into the container's cgroups there). A failure names
    /// criu's exit status and its log, and quotes the log's error lines at warning level (runc's logCriuErrors).
    /// `criu check --feature NAME` (what runc asks criu's RPC before a pre-dump or a lazy-pages dump).
    static func hasFeature(_ binary: String, _ name: String, log: Logger) -> Bool {
        let probe = CriuInvocation(binary: binary, args: ["check", "--feature", name], logPath: "")
        do { try probe.run(log: log, quiet: true) } catch { return false }
        return true
    }

    func run(root: (String, String)? = nil, log: Logger, quiet: Bool = false, service: Service? = nil,
             placed: ((Int32) throws(RuntimeError) -> Void)? = nil) throws(RuntimeError) {
        log.debug("criu: \(binary) \(args.joined(separator: " "))")
        let arena = PlanArena()
        let argv = arena.strings([binary] + args)
        var env: [String] = []
        var i = 0
        while let e = environ[i] { env.append(String(cString: e)); i += 1 }
        env += environment
        let envp = arena.strings(env)
        var gate: Int32 = -1, report: Int32 = -1
        let pid = corral_criu_spawn(binary, argv, envp, root.map { arena.string($0.0) } ?? nil,
                                    root.map { arena.string($0.1) } ?? nil, placed == nil ? 0 : 1, quiet ? 1 : 0,
                                    &gate, &report)
        if pid < 0 { throw .system("start criu", -pid) }
        defer { close(report) }
        if let placed {
            do throws(RuntimeError) {
                try placed(pid)
            } catch {
                close(gate)   // no byte: the child exits without running criu
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                throw error
            }
            var go: UInt8 = 1
            _ = write(gate, &go, 1)
            close(gate)
        }
        var step: Int32 = 0, err: Int32 = 0
        let failedEarly = corral_criu_report(report, &step, &err) == 1
        if !failedEarly, let service {
            // Answer the service until criu exits (its pidfd becomes readable).
            let pidfd = corral_pidfd_open(pid)
            while pidfd >= 0 {
                var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: service.fd, events: Int16(POLLIN), revents: 0)]
                let r = poll(&fds, 2, -1)
                if r < 0 { if errno == EINTR { continue }; break }
                if fds[1].revents & Int16(POLLIN) != 0 { service.handle(service.fd) }
                if fds[0].revents != 0 { break }
            }
            if pidfd >= 0 { close(pidfd) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if failedEarly {
            let what: String
            switch UInt32(step) {
            case CORRAL_CRIU_STEP_UNSHARE.rawValue: what = "unshare a mount namespace for criu"
            case CORRAL_CRIU_STEP_PRIVATE.rawValue: what = "make criu's mount namespace private"
            case CORRAL_CRIU_STEP_BIND.rawValue: what = "bind-mount \(root?.0 ?? "") on \(root?.1 ?? "")"
            default: what = "exec \(binary)"
            }
            throw .system(what, err)
        }
        if status != 0 {
            if logPath.isEmpty { throw RuntimeError(.system, "criu failed: exit status \((status >> 8) & 0xff)") }
            quoteErrors(log: log)
            let how = status & 0x7f == 0 ? "exit status \((status >> 8) & 0xff)" : "signal: \(status & 0x7f)"
            throw RuntimeError(.system, "criu failed: \(how)\nlog file: \(logPath)")
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
