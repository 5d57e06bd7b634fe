import CCorralHost
import CCorral
import CorralSpec
import Glibc

/// Global options (given before the verb, as with runc).
struct GlobalOptions {
    var root = "/run/corral"
    /// `--root` was given: `list` then reports a root that does not exist (runc main), not an empty one.
    var rootGiven = false
    var logPath: String?
    var logFormat = Logger.Format.text
    var debug = false
    var systemdCgroup = false
    var rootless = "auto"
    /// `--criu`: the criu binary checkpoint and restore run (looked up in $PATH without a slash).
    var criu = "criu"
    /// `--policy FILE`: the administrator's policy (default /etc/corral/policy.json when it exists).
    var policyPath: String?
}

/// What every verb gets: the global options and the logger.
final class Context {
    let globals: GlobalOptions
    let log: Logger
    /// The name the runtime was run by (`Corral.programName`), for texts that name the program.
    let programName: String
    var store: StateStore { StateStore(root: globals.root) }

    init(globals: GlobalOptions, log: Logger, programName: String) {
        self.globals = globals
        self.log = log
        self.programName = programName
    }
}

/// A verb of the CLI: its flags, help and implementation. Returns the process exit status.
struct Verb {
    let name: String
    let usage: String
    let summary: String
    let options: [OptionSpec]
    var stopAtPositional = false
    /// How many positional arguments the verb takes (runc's checkArgs); more or fewer is a usage error.
    var arity: ClosedRange<Int> = 1...1
    let run: (Context, ParsedOptions) throws(RuntimeError) -> Int32

    /// runc's texts for a wrong number of arguments.
    func checkArity(_ n: Int) throws(RuntimeError) {
        if arity.contains(n) { return }
        if arity.lowerBound == arity.upperBound {
            throw RuntimeError(.usage, "\"\(name)\" requires exactly \(arity.lowerBound) argument(s)")
        }
        if n < arity.lowerBound {
            throw RuntimeError(.usage, "\"\(name)\" requires a minimum of \(arity.lowerBound) argument(s)")
        }
        throw RuntimeError(.usage, "\"\(name)\" requires a maximum of \(arity.upperBound) argument(s)")
    }
}

/// The `corral` command line. `main` never returns into anything that could run Swift after a clone: every
/// verb is a short synchronous function in this single-threaded process.
public enum Corral {
    /// runc's global options. The value-taking ones are listed again in C (corral_early_verb, for the start-up
    /// seal); ArgumentsTests keeps the two in step.
    static let globalOptions: [OptionSpec] = [
        OptionSpec(["root"], value: true, "root directory for storage of container state (default: \"/run/corral\")"),
        OptionSpec(["log"], value: true, "set the log file to write corral logs to (default is stderr)"),
        OptionSpec(["log-format"], value: true, "set the log format ('text' (default), or 'json')"),
        OptionSpec(["debug"], "enable debug logging"),
        OptionSpec(["systemd-cgroup"], "enable systemd cgroup support"),
        OptionSpec(["rootless"], value: true, "ignore cgroup permission errors ('true', 'false', or 'auto')"),
        OptionSpec(["policy"], value: true, "path to the policy every container must meet (default: /etc/corral/policy.json when it exists)"),
        OptionSpec(["criu"], value: true, "path to the criu binary used for checkpoint and restore (default: \"criu\")"),
        OptionSpec(["h", "help"], "show help"),
        OptionSpec(["v", "version"], "print the version"),
    ]

    static var verbs: [Verb] {
        [Commands.create, Commands.start, Commands.run, Commands.exec, Commands.state, Commands.kill, Commands.delete,
         Commands.list, Commands.spec, Commands.pause, Commands.resume, Commands.update, Commands.ps, Commands.events,
         Commands.features, Commands.checkpoint, Commands.restore, Commands.check, Commands.audit]
    }

    /// Verbs the runtime starts itself and `help` does not list (the container monitor, see `MonitorLoop`).
    static var hiddenVerbs: [Verb] { [Commands.monitor] }

    /// The verb a command line names, listed or hidden. A switch instead of a search through `verbs`: each verb is
    /// a lazily made static, and building all twenty (their option tables, ~300 allocations and a swift_once each)
    /// cost every command more than the one it runs. ArgumentsTests keeps the switch and `verbs` in step.
    static func verb(named name: String) -> Verb? {
        switch name {
        case "create": return Commands.create
        case "start": return Commands.start
        case "run": return Commands.run
        case "exec": return Commands.exec
        case "state": return Commands.state
        case "kill": return Commands.kill
        case "delete": return Commands.delete
        case "list": return Commands.list
        case "spec": return Commands.spec
        case "pause": return Commands.pause
        case "resume": return Commands.resume
        case "update": return Commands.update
        case "ps": return Commands.ps
        case "events": return Commands.events
        case "features": return Commands.features
        case "checkpoint": return Commands.checkpoint
        case "restore": return Commands.restore
        case "check": return Commands.check
        case "audit": return Commands.audit
        case "monitor": return Commands.monitor
        default: return nil
        }
    }

    /// Verbs whose processes enter containers: they must not run from a writable binary.
    static let sealedVerbs: [String] = ["create", "run", "exec"]

    /// Verbs of runc's CLI that this version does not implement; they fail clearly instead of pretending (none
    /// since checkpoint and restore).
    static let notYet: [String] = []

    /// `sealExecutable`: the `corral` executable passes true so that verbs which start container processes re-exec
    /// from a read-only view of the binary first; in-process callers (tests) leave it off.
    public static func main(_ argv: [String], sealExecutable: Bool = false) -> Int32 {
        let name = programName(argv.first)
        var args = argv.dropFirst()
        // Globals come before the verb: parse up to the first positional.
        let parsed: ParsedOptions
        do {
            parsed = try ArgParser.parse(args, globalOptions, stopAtPositional: true)
        } catch {
            printErr(error.message)
            return 1
        }
        var g = GlobalOptions()
        if let r = parsed.string("root") { g.root = r; g.rootGiven = true }
        g.logPath = parsed.string("log")
        if let f = parsed.string("log-format") {
            guard let fmt = Logger.Format(rawValue: f) else {
                printErr("invalid log-format: \(f)")
                return 1
            }
            g.logFormat = fmt
        }
        g.debug = parsed.bool("debug")
        g.systemdCgroup = parsed.bool("systemd-cgroup")
        if let r = parsed.string("rootless") { g.rootless = r }
        g.policyPath = parsed.string("policy")
        if let c = parsed.string("criu"), !c.isEmpty { g.criu = c }

        if parsed.bool("version") {
            printOut(versionText(name))
            return 0
        }
        args = ArraySlice(parsed.positional)
        guard let verbName = args.first else {
            printOut(usage(name))
            return 0
        }
        if parsed.bool("help") && verbName != "help" {
            printOut(usage(name))
            return 0
        }
        if verbName == "help" {
            if let v = args.dropFirst().first, let verb = verbs.first(where: { $0.name == v }) {
                printOut(help(verb, name))
            } else {
                printOut(usage(name))
            }
            return 0
        }

        let log: Logger
        do {
            log = try Logger(path: g.logPath, format: g.logFormat, debug: g.debug)
        } catch {
            printErr(error.message)
            return 1
        }
        let ctx = Context(globals: g, log: log, programName: name)
        if sealExecutable && sealedVerbs.contains(verbName) {
            // Verbs that start container processes run from a read-only view of this binary (CVE-2019-5736).
            let r = corral_reexec_readonly(corral_argv())
            if r < 0 {
                return fail(ctx, RuntimeError(.system, "cannot re-execute from a read-only view of the corral binary (CVE-2019-5736 protection): \(errnoText(-r))"))
            }
        }
        guard let verb = verb(named: verbName) else {
            if notYet.contains(verbName) {
                return fail(ctx, RuntimeError(.unsupported, "\"\(verbName)\" is not supported by this version of corral"))
            }
            return fail(ctx, RuntimeError(.usage, "No help topic for '\(verbName)'"))
        }
        do throws(RuntimeError) {
            let opts = try ArgParser.parse(args.dropFirst(), verb.options + [OptionSpec(["h", "help"], "show help")],
                                           stopAtPositional: verb.stopAtPositional)
            if opts.bool("help") {
                printOut(help(verb, name))
                return 0
            }
            try verb.checkArity(opts.positional.count)
            // --systemd-cgroup only matters where cgroups are made (create/run: CgroupPath.resolve fails there
            // as runc does without systemd); the other verbs use the paths recorded at create, as runc's do.
            return try verb.run(ctx, opts)
        } catch {
            return fail(ctx, error)
        }
    }

    /// Logs the error as a record and, when records go to a file, also prints it plainly on stderr (runc's fatal()).
    static func fail(_ ctx: Context, _ error: RuntimeError) -> Int32 {
        ctx.log.error(error.message)
        if !ctx.log.logsToStderr { printErr(error.message) }
        return 1
    }

    /// The name texts give the program: the last component of the path it was run by, as most Unix programs do
    /// ("corral" when there is none). Installed under runc's name (engines that exec "runc"), corral's help,
    /// `--version` and "<name> run failed" lines then say runc, as the tools and tests reading them expect.
    /// Runs in every command: one scan for the last slash, no list of components.
    static func programName(_ argv0: String?) -> String {
        guard let a = argv0 else { return "corral" }
        let name = a.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(a[a.utf8.index(after: $0)...]) } ?? a
        return name.isEmpty ? "corral" : name
    }

    /// runc's layout (go-runc reads "<name> version X", "commit: X" and "spec: X"), with its libseccomp line.
    /// Under another name a last line says what the program is.
    static func versionText(_ name: String) -> String {
        var s = "\(name) version \(Version.corral)\ncommit: \(String(cString: corral_build_commit()))\n"
        s += "spec: \(Version.spec)\nlibseccomp: \(SeccompCompiler.libseccompVersion)\n"
        if name != "corral" { s += "runtime: corral \(Version.corral)\n" }
        return s
    }

    static func usage(_ name: String) -> String {
        var s = "NAME:\n   \(name) - Open Container Initiative runtime\n\nUSAGE:\n   \(name) [global options] command [command options] [arguments...]\n\nVERSION:\n   \(Version.corral)\nspec: \(Version.spec)\n\nCOMMANDS:\n"
        for v in verbs { s += "   " + v.name.padding(to: 12) + v.summary + "\n" }
        s += "\nGLOBAL OPTIONS:\n" + ArgParser.describe(globalOptions) + "\n"
        return s
    }

    static func help(_ v: Verb, _ name: String) -> String {
        var s = "NAME:\n   \(name) \(v.name) - \(v.summary)\n\nUSAGE:\n   \(name) \(v.name) \(v.usage)\n"
        if !v.options.isEmpty { s += "\nOPTIONS:\n" + ArgParser.describe(v.options) + "\n" }
        return s
    }
}

func printOut(_ s: String) { _ = Array(s.utf8).withUnsafeBytes { Files.writeAll(1, $0) } }
func printErr(_ s: String) { _ = Array((s + "\n").utf8).withUnsafeBytes { Files.writeAll(2, $0) } }
