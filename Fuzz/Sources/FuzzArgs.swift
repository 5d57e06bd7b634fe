// Fuzz target `args`: the input split at NUL bytes is argv[1...] (as the kernel hands it over, NUL-separated).
// Runs what `Corral.main` does with it before any verb acts: the global options, the verb's options, and the
// pure value parsers the verbs apply first (container id, --preserve-fds, exec's flags and --cgroup, update's
// flags, kill's signal, events' interval, help texts). Corral.main itself is not called: its verbs act.
import Glibc
import CorralSpec
@testable import CorralRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArgs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let argv = fuzzBytes(data, size).split(separator: 0, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    do {
        try fuzzCommandLine(ArraySlice(argv))
    } catch {
        _ = error.message
    }
    return 0
}

private func fuzzCommandLine(_ args: ArraySlice<String>) throws(RuntimeError) {
    let globals = try ArgParser.parse(args, Corral.globalOptions, stopAtPositional: true)
    _ = globals.string("log-format").flatMap { Logger.Format(rawValue: $0) }
    _ = (globals.bool("debug"), globals.bool("systemd-cgroup"), globals.bool("version"), globals.bool("help"))
    let rest = ArraySlice(globals.positional)
    guard let name = rest.first else { return }
    if name == "help" {
        if let v = rest.dropFirst().first, let verb = Corral.verbs.first(where: { $0.name == v }) {
            _ = Corral.help(verb)
        } else {
            _ = Corral.usage()
        }
        return
    }
    guard let verb = Corral.verbs.first(where: { $0.name == name }) else { return }
    let o = try ArgParser.parse(rest.dropFirst(), verb.options + [OptionSpec(["h", "help"], "show help")],
                                stopAtPositional: verb.stopAtPositional)
    if o.bool("help") {
        _ = Corral.help(verb)
        return
    }
    _ = try? Commands.containerID(o)
    switch name {
    case "create", "run", "exec":
        _ = try? Commands.preserveFDs(o)
    default: break
    }
    switch name {
    case "exec":
        // Exec.flags (private there) spelled out: the same option names.
        let flags = ExecFlags(cwd: o.string("cwd"), env: o.strings("env"), tty: o.bool("tty"), user: o.string("user"),
                              additionalGids: o.strings("additional-gids"), processLabel: o.string("process-label"),
                              apparmor: o.string("apparmor"),
                              noNewPrivs: o.has("no-new-privs") ? o.bool("no-new-privs") : nil, caps: o.strings("cap"))
        do {
            let p = try ExecPlanner.processFromFlags(FuzzFixture.config, args: Array(o.positional.dropFirst()), flags: flags)
            try ExecPlanner.validate(p)
        } catch {
            _ = error.message
        }
        _ = try? ExecPlanner.cgroups(FuzzFixture.cgroupSet, sub: o.strings("cgroup"))
        _ = try? ExecPlanner.checkTerminal(terminal: o.bool("tty"), detach: o.bool("detach"),
                                           consoleSocket: o.string("console-socket") != nil)
    case "update":
        // --resources reads a file or stdin: the `resources` target covers the document itself.
        guard !o.has("resources") else { return }
        let r = try Commands.updateDocument(o)
        let limits = try CgroupLimits(r, prefix: "", includeDevices: false)
        try limits.validate(on: FuzzFixture.hybridHost, update: true)
    case "kill":
        _ = try Signals.parse(o.positional.dropFirst().first ?? "SIGTERM")
    case "events":
        _ = Units.duration(o.string("interval") ?? "5s")
    default:
        break
    }
}
