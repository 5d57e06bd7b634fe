import CCorral
import CorralSpec
import Glibc

/// The verbs that work on a container's cgroups: pause, resume, update, ps, events.
extension Commands {
    /// The container's cgroups as recorded at create.
    static func cgroups(_ h: StateStore.Handle) throws(RuntimeError) -> CgroupManager {
        guard let set = h.state.cgroups, !set.isEmpty else {
            throw RuntimeError(.unsupported, "container \(h.id) has no cgroups recorded (created by an older corral)")
        }
        return CgroupManager(set)
    }

    static let pause = Verb(name: "pause", usage: "<container-id>", summary: "pause suspends all processes inside the container",
                            options: []) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        switch h.status {
        case .running, .created: break
        default: throw .notRunning   // runc: pausing a paused or stopped container is "container not running"
        }
        try cgroups(h).freeze()
        AuditRecords.record(h, "paused", log: ctx.log)
        return 0
    }

    static let resume = Verb(name: "resume", usage: "<container-id>", summary: "resumes all processes that have been previously paused",
                             options: []) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        guard h.status == .paused else { throw RuntimeError(.invalidState, "container not paused") }
        try cgroups(h).thaw()
        AuditRecords.record(h, "resumed", log: ctx.log)
        return 0
    }

    // MARK: update

    static let updateOptions: [OptionSpec] = [
        OptionSpec(["r", "resources"], value: true, "path to the file containing the resources to update or '-' to read from the standard input"),
        OptionSpec(["blkio-weight"], value: true, "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)"),
        OptionSpec(["cpu-period"], value: true, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
        OptionSpec(["cpu-quota"], value: true, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
        OptionSpec(["cpu-share"], value: true, "CPU shares (relative weight vs. other containers)"),
        OptionSpec(["cpu-rt-period"], value: true, "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"),
        OptionSpec(["cpu-rt-runtime"], value: true, "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
        OptionSpec(["cpuset-cpus"], value: true, "CPU(s) to use"),
        OptionSpec(["cpuset-mems"], value: true, "Memory node(s) to use"),
        OptionSpec(["memory"], value: true, "Memory limit (in bytes)"),
        OptionSpec(["memory-reservation"], value: true, "Memory reservation or soft_limit (in bytes)"),
        OptionSpec(["memory-swap"], value: true, "Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
        OptionSpec(["pids-limit"], value: true, "Maximum number of pids allowed in the container (default: 0)"),
        OptionSpec(["l3-cache-schema"], value: true, "The string of Intel RDT/CAT L3 cache schema (not supported)"),
        OptionSpec(["mem-bw-schema"], value: true, "The string of Intel RDT/MBA memory bandwidth schema (not supported)"),
    ]

    static let update = Verb(name: "update", usage: "[command options] <container-id>", summary: "update container resource constraints",
                             options: updateOptions) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        let resources = try updateDocument(o)
        switch h.status {
        case .running, .created, .paused: break
        default: throw .notRunning
        }
        if let d = resources.devices, !d.isEmpty {
            // runc's update never changes device rules (containerd sends the whole resources document).
            ctx.log.debug("update: devices are not updated on a live container; \(d.count) rule(s) ignored")
        }
        let limits = try CgroupLimits(resources, prefix: "", includeDevices: false)
        let host = CgroupHost.detect()
        try limits.validate(on: host, update: true)
        let m = try cgroups(h)
        if let unit = h.state.systemdUnit {
            // systemd first (runc's order), so its idea of the unit matches the files written next.
            try SystemdCgroups.update(unit: unit, limits: limits, set: m.set, unified: host.mode == .v2,
                                      note: { ctx.log.debug($0) })
        }
        if let v2 = m.set.v2, let root = host.v2?.mountPoint {
            let enable = limits.v2Controllers(on: host)
            if !enable.isEmpty { CgroupManager.enableV2(enable, from: root, to: v2) }
        }
        let before = h.state.monitor?.audit == true ? AuditRecords.limits(of: m.set) : nil
        try CgroupWriter.apply(limits, to: m.set, update: true)
        if let before { AuditRecords.record(h, "updated", JSONObject([("before", .object(before)), ("after", .object(AuditRecords.limits(of: m.set)))]), log: ctx.log) }
        return 0
    }

    /// The update as a resources document: from --resources (file or stdin; every flag is then ignored, as in
    /// runc) or from the flags. Zero means "unchanged".
    static func updateDocument(_ o: ParsedOptions) throws(RuntimeError) -> Resources {
        if o.has("l3-cache-schema") || o.has("mem-bw-schema") {
            throw RuntimeError(.unsupported, "Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by this version of corral")
        }
        if let path = o.string("resources") {
            let bytes: [UInt8]
            if path == "-" {
                bytes = Subprocess.readAll(0)
            } else {
                bytes = try Files.read(path, limit: Spec.maxDocumentBytes)
            }
            do { return try Spec.parseResources(bytes) } catch {
                throw RuntimeError(.config, "invalid resources document: \(error.description)")
            }
        }
        var r = Resources()
        func uint(_ key: String) throws(RuntimeError) -> UInt64? {
            guard let s = o.string(key) else { return nil }
            guard let v = UInt64(s) else { throw RuntimeError(.usage, "invalid value for \(key): strconv.ParseUint: parsing \(JSONValue.quoted(s)): invalid syntax") }
            return v
        }
        func int(_ key: String) throws(RuntimeError) -> Int64? {
            guard let s = o.string(key) else { return nil }
            guard let v = Int64(s) else { throw RuntimeError(.usage, "invalid value for \(key): strconv.ParseInt: parsing \(JSONValue.quoted(s)): invalid syntax") }
            return v
        }
        func bytes(_ key: String) throws(RuntimeError) -> Int64? {
            guard let s = o.string(key) else { return nil }
            if s == "-1" { return -1 }
            guard let v = Units.ramInBytes(s) else { throw RuntimeError(.usage, "invalid value for \(key): invalid size: '\(s)'") }
            return v
        }
        var mem = Memory(limit: try bytes("memory"), reservation: try bytes("memory-reservation"), swap: try bytes("memory-swap"))
        if mem.limit == nil && mem.reservation == nil && mem.swap == nil { mem = Memory() }
        r.memory = mem
        r.cpu = CPU(shares: try uint("cpu-share"), quota: try int("cpu-quota"), period: try uint("cpu-period"),
                    realtimeRuntime: try int("cpu-rt-runtime"), realtimePeriod: try uint("cpu-rt-period"),
                    cpus: o.string("cpuset-cpus"), mems: o.string("cpuset-mems"))
        if let w = try int("blkio-weight") {
            guard w >= 0 && w <= Int64(UInt16.max) else { throw RuntimeError(.usage, "invalid value for blkio-weight: \(w)") }
            r.blockIO = BlockIO(weight: UInt16(w))
        }
        if let p = try int("pids-limit") { r.pids = Pids(limit: p) }
        return r
    }

    // MARK: ps

    static let ps = Verb(name: "ps", usage: "[command options] <container-id> [ps options]",
                         summary: "ps displays the processes running inside a container",
                         options: [OptionSpec(["f", "format"], value: true, "select one of: table or json (default: \"table\")")],
                         stopAtPositional: true, arity: 1...Int.max) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o), lock: false)
        let format = o.string("format") ?? "table"
        guard format == "table" || format == "json" else { throw RuntimeError(.usage, "invalid format option") }
        let pids = try cgroups(h).pids
        if format == "json" {
            // Go's encoder: a nil slice (no processes) is null.
            printOut((pids.isEmpty ? "null" : "[" + pids.map { String($0) }.joined(separator: ",") + "]") + "\n")
            return 0
        }
        // Like runc: ps(1) with the given arguments (default -ef), keeping the header and the lines whose PID
        // column is one of the container's.
        var args = Array(o.positional.dropFirst())
        if args.isEmpty { args = ["-ef"] }
        let r = Subprocess.run(["ps"] + args)
        guard r.status == 0 else {
            throw RuntimeError(.system, "\(r.status < 0 ? "exec: \"ps\": executable file not found in $PATH" : "exit status \(r.status)"): \(r.output)")
        }
        let lines = r.output.splitASCII("\n", omittingEmptySubsequences: false)
        guard let header = lines.first, let pidIndex = header.splitASCII(" ").firstIndex(of: "PID") else {
            throw RuntimeError(.system, "couldn't find PID field in ps output")
        }
        let wanted = Set(pids)
        var out = String(header) + "\n"
        for line in lines.dropFirst() where !line.isEmpty {
            let fields = line.splitASCII(" ")
            guard pidIndex < fields.count, let p = Int32(fields[pidIndex]) else {
                throw RuntimeError(.system, "unable to parse pid: \(pidIndex < fields.count ? String(fields[pidIndex]) : "")")
            }
            if wanted.contains(p) { out += line + "\n" }
        }
        printOut(out)
        return 0
    }

    // MARK: events

    static let events = Verb(name: "events", usage: "[command options] <container-id>",
                             summary: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
                             options: [OptionSpec(["interval"], value: true, "set the stats collection interval (default: 5s)"),
                                       OptionSpec(["stats"], "display the container's stats then exit"),
                                       OptionSpec(["denials"], "follow what the seccomp profile denied (audit mode), as JSON lines")]) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        let h = try ctx.store.open(id, lock: false)
        if o.bool("denials") { return try DenialStream.follow(h) }
        let intervalText = o.string("interval") ?? "5s"
        guard let interval = Units.duration(intervalText) else {
            throw RuntimeError(.usage, "invalid value \(JSONValue.quoted(intervalText)) for flag -interval: parse error")
        }
        if interval <= 0 { throw RuntimeError(.usage, "duration interval must be greater than 0") }
        if h.status == .stopped { throw RuntimeError(.invalidState, "container with id \(id) is not running") }
        let m = try cgroups(h)
        if o.bool("stats") {
            printOut(CgroupStats.event(type: "stats", id: id, data: CgroupStats.collect(m.set)))
            return 0
        }
        // runc: a stats event every interval and an oom event whenever one happens, until the cgroup is gone.
        let watch = OOMWatch(m.set)
        var next = Clock.monotonicSeconds() + interval
        while true {
            let wait = max(0, next - Clock.monotonicSeconds())
            var p = pollfd(fd: watch?.fd ?? -1, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(min(wait * 1000, Double(Int32.max)).rounded(.up)))
            if r < 0 && errno != EINTR { throw .system("poll", errno) }
            if r > 0, let watch {
                switch watch.consume() {
                case .oom: printOut(CgroupStats.event(type: "oom", id: id, data: nil))
                case .gone: return 0
                case .none: break
                }
                continue
            }
            if Clock.monotonicSeconds() >= next {
                next += interval
                if !m.exists { return 0 }
                printOut(CgroupStats.event(type: "stats", id: id, data: CgroupStats.collect(m.set)))
            }
        }
    }
}
