import CCorral
import CCorralHost
import CorralSpec
import Glibc

extension Commands {
    static let checkpointOptions: [OptionSpec] = [
        OptionSpec(["image-path"], value: true, "path for saving criu image files"),
        OptionSpec(["work-path"], value: true, "path for saving work files and logs"),
        OptionSpec(["parent-path"], value: true, "path for previous criu image files in pre-dump"),
        OptionSpec(["leave-running"], "leave the process running after checkpointing"),
        OptionSpec(["tcp-established"], "allow open tcp connections"),
        OptionSpec(["tcp-skip-in-flight"], "skip in-flight tcp connections"),
        OptionSpec(["link-remap"], "allow one to link unlinked files back when possible"),
        OptionSpec(["ext-unix-sk"], "allow external unix sockets"),
        OptionSpec(["shell-job"], "allow shell jobs"),
        OptionSpec(["lazy-pages"], "use userfaultfd to lazily restore memory pages"),
        OptionSpec(["status-fd"], value: true, "criu writes \\0 to this FD once lazy-pages is ready (default: -1)"),
        OptionSpec(["page-server"], value: true, "ADDRESS:PORT of the page server"),
        OptionSpec(["file-locks"], "handle file locks, for safety"),
        OptionSpec(["pre-dump"], "dump container's memory information only, leave the container running after this"),
        OptionSpec(["manage-cgroups-mode"], value: true, "cgroups mode: 'soft' (default), 'full', 'strict' and 'ignore'"),
        OptionSpec(["empty-ns"], value: true, "create a namespace, but don't restore its properties"),
        OptionSpec(["auto-dedup"], "enable auto deduplication of memory images"),
    ]

    static let checkpoint = Verb(name: "checkpoint", usage: "[command options] <container-id>",
                                 summary: "checkpoint a running container", options: checkpointOptions) { ctx, o throws(RuntimeError) in
        try Checkpoint.run(ctx, id: try containerID(o), o)
        return 0
    }
}

/// `checkpoint`: criu dumps the container's process tree into the image directory; the container is then
/// removed (as `delete --force` would) unless --leave-running or --pre-dump keeps it. A failed dump leaves the
/// container as it was (runc 1.1.5 destroys it even then).
enum Checkpoint {
    static func run(_ ctx: Context, id: String, _ o: ParsedOptions) throws(RuntimeError) {
        let h = try ctx.store.open(id)
        let status = h.status
        switch status {
        case .running, .paused: break
        default: throw RuntimeError(.invalidState, "Container cannot be checkpointed in \(status.rawValue) state")
        }
        let opts = try CriuOptions.parse(o, creatingImages: true)
        let binary = try CriuInvocation.resolveBinary(ctx.globals.criu)
        let raw = try Files.read(h.dir + "/" + ContainerState.configName)
        let spec: Spec
        do { spec = try Spec.parse(raw) } catch { throw RuntimeError.config(error) }
        // The container's plan again (from the config saved at create): which mounts are binds, its devices, its
        // joined namespaces.
        var planOptions = PlanOptions(id: id, bundle: h.state.bundle, hasConsoleSocket: spec.process?.terminal ?? false)
        planOptions.systemdCgroup = ctx.globals.systemdCgroup
        let plan = try Planner.plan(spec, options: planOptions, warn: { _ in }, note: { ctx.log.debug($0) })
        if let ll = plan.landlock { throw LandlockPlanner.notRestorable(ll, verb: "checkpoint") }
        if h.state.monitor != nil {
            // Its images could not be restored (Restore): the monitor's watch cannot be resumed mid-run.
            throw RuntimeError(.unsupported, "checkpoint of a container with run limits, seccomp audit mode or an audit trail is not supported by this version of corral: its monitor cannot be resumed on restore")
        }
        if opts.lazyPages && opts.statusFD >= 0 {
            let flags = fcntl(Int32(opts.statusFD), F_GETFL)
            if flags < 0 { throw .system("invalid --status-fd argument \(opts.statusFD)", errno) }
            if flags & O_ACCMODE == O_RDONLY { throw RuntimeError(.invalidArgument, "invalid --status-fd argument \(opts.statusFD): not writable") }
        }
        // runc asks criu first whether it can track memory (pre-dump) and restore lazily; criu itself would fail
        // later, with less to say (a pre-dump without soft-dirty tracking aborts).
        var missing: [String] = []
        if opts.preDump && !CriuInvocation.hasFeature(binary, "mem_dirty_track", log: ctx.log) { missing.append("MemTrack") }
        if opts.lazyPages && !CriuInvocation.hasFeature(binary, "uffd-noncoop", log: ctx.log) { missing.append("LazyPages") }
        if !missing.isEmpty {
            throw RuntimeError(.unsupported, "CRIU is missing features: [\(missing.joined(separator: " "))]")
        }
        try Files.mkdirAll(opts.imagePath, mode: 0o700)
        if let w = opts.workPath { try Files.mkdirAll(w, mode: 0o700) }

        var criu = CriuInvocation(binary: binary, request: opts.preDump ? .preDump : .dump,
                                  logPath: opts.logPath(CriuInvocation.dumpLog))
        criu.opts.int(.pid, h.state.pid)
        criu.common(opts, config: spec, log: CriuInvocation.dumpLog)
        criu.opts.string(.root, h.state.rootfs)
        if opts.leaveRunning { criu.opts.flag(.leaveRunning) }
        if opts.tcpSkipInFlight { criu.opts.flag(.tcpSkipInFlight) }
        if opts.linkRemap { criu.opts.flag(.linkRemap) }
        if let parent = opts.parentPath {
            criu.opts.string(.parentImg, parent)
            criu.opts.flag(.trackMem)
        }
        if let ps = opts.pageServer { criu.opts.pair(.pageServer, ps.address, Int32(truncatingIfNeeded: ps.port)) }
        if opts.lazyPages && opts.statusFD >= 0 { criu.opts.int(.statusFD, Int32(truncatingIfNeeded: opts.statusFD)) }
        // Joined network and pid namespaces stay outside the image; restore hands them back by key (runc's keys).
        for join in plan.joins where join.type == "network" || join.type == "pid" {
            var st = stat()
            if stat(join.path, &st) != 0 { throw .system("stat \(join.path)", errno) }
            criu.opts.string(.external, "\(join.type == "network" ? "net" : "pid")[\(st.st_ino)]:\(externalKey(join.type))")
        }
        // criu freezes the tree through the container's freezer (v1, or the cgroup2 directory) instead of ptrace.
        if let set = h.state.cgroups, let freezer = set.v1("freezer") ?? set.v2 {
            criu.opts.string(.freezeCgroup, freezer)
        }
        if !opts.preDump {
            var maskedFiles: [String] = []
            for p in plan.maskedPaths {
                var st = stat()
                if stat("/proc/\(h.state.pid)/root\(p)", &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR { maskedFiles.append(p) }
            }
            for (key, value) in CriuInvocation.externalMounts(plan, maskedFiles: maskedFiles, dump: true) {
                criu.external(mount: key, value)
            }
            let fds = (0..<3).map { JSONValue.string(Files.readLink("/proc/\(h.state.pid)/fd/\($0)") ?? "") }
            try Files.writeAtomic(opts.imagePath + "/" + CriuInvocation.descriptorsFile, JSONValue.array(fds).serialized(), mode: 0o600)
        }
        try criu.run(log: ctx.log)
        if !opts.leaveRunning && !opts.preDump {
            // criu has killed the tree; what remains is the container's record and cgroups (runc: Destroy, whose
            // failure is only a warning).
            do { try Commands.destroy(h, force: true, log: ctx.log) } catch { ctx.log.warn(error.message) }
        }
    }

    /// runc's key for an external namespace: "extRoot" + capitalised name + "NS".
    static func externalKey(_ type: String) -> String {
        type == "network" ? "extRootNetNS" : "extRootPidNS"
    }
}
