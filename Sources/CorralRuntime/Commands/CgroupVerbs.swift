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
        return 0
    }

    static let resume = Verb(name: "resume", usage: "<container-id>", summary: "resumes all processes that have been previously paused",
                             options: []) { ctx, o throws(RuntimeError) in
        let h = try ctx.store.open(try containerID(o))
        guard h.status == .paused else { throw RuntimeError(.invalidState, "container not paused") }
        try cgroups(h).thaw()
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
        try CgroupWriter.apply(limits, to: m.set, update: true)
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
                bytes = readAll(0)
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

    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { out += buf[0..<n]; continue }
            if n < 0 && errno == EINTR { continue }
            return out
        }
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
                                       OptionSpec(["stats"], "display the container's stats then exit")]) { ctx, o throws(RuntimeError) in
        let id = try containerID(o)
        let h = try ctx.store.open(id, lock: false)
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
        var next = monotonicSeconds() + interval
        while true {
            let wait = max(0, next - monotonicSeconds())
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
            if monotonicSeconds() >= next {
                next += interval
                if !m.exists { return 0 }
                printOut(CgroupStats.event(type: "stats", id: id, data: CgroupStats.collect(m.set)))
            }
        }
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Value syntaxes of runc's flags: docker/go-units sizes and Go durations.
enum Units {
    /// go-units RAMInBytes: "512", "512k", "1.5g", "64MiB", "2 GB" (binary multiples, case-insensitive).
    static func ramInBytes(_ s: String) -> Int64? {
        var chars = Array(s)
        var number = ""
        while let c = chars.first, c.isNumber || c == "." { number.append(c); chars.removeFirst() }
        guard !number.isEmpty, !number.hasBytePrefix("."), !number.hasByteSuffix("."), let value = Double(number) else { return nil }
        if chars.first == " " { chars.removeFirst() }
        var rest = String(chars).lowercased()
        var mul: Double = 1
        if let u = rest.first, let m = ["k": 1024.0, "m": 1048576.0, "g": 1073741824.0, "t": 1099511627776.0, "p": 1125899906842624.0][u] {
            mul = m
            rest.removeFirst()
        }
        if rest.hasBytePrefix("i") { rest.removeFirst() }
        if rest.hasBytePrefix("b") { rest.removeFirst() }
        guard rest.isEmpty else { return nil }
        let bytes = value * mul
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }

    /// Go's time.ParseDuration, in seconds: "5s", "1.5s", "100ms", "1m30s", "250us"/"250µs", "10ns", "2h".
    static func duration(_ s: String) -> Double? {
        var rest = Substring(s)
        var sign = 1.0
        if rest.first == "-" || rest.first == "+" { if rest.first == "-" { sign = -1 }; rest.removeFirst() }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !rest.isEmpty {
            var number = ""
            while let c = rest.first, c.isNumber || c == "." { number.append(c); rest.removeFirst() }
            guard let v = Double(number) else { return nil }
            guard let unit = units.first(where: { rest.hasBytePrefix($0.0) && !(($0.0 == "m") && rest.hasBytePrefix("ms")) }) else { return nil }
            rest.removeFirst(unit.0.count)
            total += v * unit.1
        }
        return sign * total
    }
}

/// A host command with stdout and stderr captured together (runc's `ps` uses CombinedOutput).
enum Subprocess {
    /// status -1: it could not be started.
    static func run(_ argv: [String]) -> (status: Int32, output: String) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return (-1, "") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = cArgs.withUnsafeBufferPointer { posix_spawnp(&pid, argv[0], &actions, nil, UnsafeMutablePointer(mutating: $0.baseAddress!), environ) }
        close(fds[1])
        defer { close(fds[0]) }
        if rc != 0 { return (-1, "") }
        let out = Commands.readAll(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, String(decoding: out, as: UTF8.self))
    }
}
