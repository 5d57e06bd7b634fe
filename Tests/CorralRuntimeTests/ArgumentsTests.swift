// ArgParser and the CLI tables (no root): the exact argv lines containerd's shim (go-runc) and Podman/conmon pass
// to runc, as recorded in /work/shared/data/engines/argv-contract-runc.log, parsed the way Corral.main does it.
import CCorralHost
import XCTest
import Glibc
@testable import CorralRuntime
import CorralSpec
import CCorral

/// A command line parsed like Corral.main: globals up to the verb, then the verb's own options.
struct ParsedCommandLine {
    var globals: ParsedOptions
    var verb: String?
    /// nil when the verb is not one of Corral.verbs (e.g. the not-yet verbs).
    var options: ParsedOptions?

    static func parse(_ argv: [String]) throws(RuntimeError) -> ParsedCommandLine {
        let g = try ArgParser.parse(ArraySlice(argv), Corral.globalOptions, stopAtPositional: true)
        guard let name = g.positional.first else { return ParsedCommandLine(globals: g, verb: nil, options: nil) }
        guard let verb = Corral.verbs.first(where: { $0.name == name }) else {
            return ParsedCommandLine(globals: g, verb: name, options: nil)
        }
        let o = try ArgParser.parse(ArraySlice(g.positional).dropFirst(), verb.options + [OptionSpec(["h", "help"], "show help")],
                                    stopAtPositional: verb.stopAtPositional)
        return ParsedCommandLine(globals: g, verb: name, options: o)
    }

    static func parse(_ line: String) throws(RuntimeError) -> ParsedCommandLine {
        try parse(line.split(separator: " ").map(String.init))
    }
}

final class ArgumentsTests: XCTestCase {
    static let contractLog = sharedDataDir + "/engines/argv-contract-runc.log"

    /// Placeholders of the recorded log and the concrete values substituted for them.
    static let placeholders: [(String, String)] = [
        ("<EXEC_ROOT>", "/run/docker"), ("<BUNDLE>", "/run/containerd/io.containerd.runtime.v2.task/moby/0123abcd"),
        ("<PODMAN_RUNDIR>", "/run/containers/storage/overlay-containers/0123abcd/userdata"),
        ("<PODMAN_BUNDLE>", "/var/lib/containers/storage/overlay-containers/0123abcd/userdata"),
        ("<ID>", "0123abcd"), ("<N>", "4242"), ("<X>", "XyZ12"),
    ]

    static func substitute(_ line: String) -> String {
        var s = line
        for (k, v) in placeholders { s = s.unitReplacing(k, v) }
        return s
    }

    private func parse(_ line: String, file: StaticString = #filePath, line l: UInt = #line) -> ParsedCommandLine? {
        do { return try ParsedCommandLine.parse(ArgumentsTests.substitute(line)) } catch {
            XCTFail("\(line): \(error.message)", file: file, line: l)
            return nil
        }
    }

    private func expectUsageError(_ argv: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let p = try ParsedCommandLine.parse(argv)
            XCTFail("\(argv) parsed: \(p.globals) \(p.options.map { "\($0)" } ?? "")",
                    file: file, line: line)
        } catch {
            XCTAssertEqual(error.message, message, "\(argv)", file: file, line: line)
            XCTAssertEqual(error.code, .usage, "\(argv)", file: file, line: line)
        }
    }

    // MARK: the recorded engine lines

    func testShimCreateLine() throws {
        let p = try XCTUnwrap(parse("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json create --bundle <BUNDLE> --pid-file <BUNDLE>/init.pid <ID>"))
        let b = "/run/containerd/io.containerd.runtime.v2.task/moby/0123abcd"
        XCTAssertEqual(p.globals.string("root"), "/run/docker/runtime-runc/moby")
        XCTAssertEqual(p.globals.string("log"), b + "/log.json")
        XCTAssertEqual(p.globals.string("log-format"), "json")
        XCTAssertEqual(p.verb, "create")
        let o = try XCTUnwrap(p.options)
        XCTAssertEqual(o.string("bundle"), b)
        XCTAssertEqual(o.string("pid-file"), b + "/init.pid")
        XCTAssertFalse(o.has("console-socket"))
        XCTAssertEqual(o.positional, ["0123abcd"])
    }

    func testShimCreateWithConsoleSocketAndSystemdCgroup() throws {
        let p = try XCTUnwrap(parse("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json --systemd-cgroup create --bundle <BUNDLE> --pid-file <BUNDLE>/init.pid --console-socket /tmp/pty<N>/pty.sock <ID>"))
        XCTAssertTrue(p.globals.bool("systemd-cgroup"))
        XCTAssertEqual(p.options?.string("console-socket"), "/tmp/pty4242/pty.sock")
        XCTAssertEqual(p.options?.positional, ["0123abcd"])
    }

    func testPodmanLines() throws {
        let p = try XCTUnwrap(parse("--systemd-cgroup --log-format=json --log <PODMAN_RUNDIR>/oci-log create --bundle <PODMAN_BUNDLE> --pid-file <PODMAN_RUNDIR>/pidfile --console-socket /tmp/conmon-term.<X> <ID>"))
        XCTAssertEqual(p.globals.string("log-format"), "json", "--log-format=json")
        XCTAssertEqual(p.globals.string("log"), "/run/containers/storage/overlay-containers/0123abcd/userdata/oci-log")
        XCTAssertNil(p.globals.string("root"))
        XCTAssertEqual(p.options?.string("bundle"), "/var/lib/containers/storage/overlay-containers/0123abcd/userdata")
        XCTAssertEqual(p.options?.string("console-socket"), "/tmp/conmon-term.XyZ12")
        XCTAssertEqual(p.options?.positional, ["0123abcd"])
        let start = try XCTUnwrap(parse("start <ID>"))
        XCTAssertEqual(start.verb, "start")
        XCTAssertEqual(start.options?.positional, ["0123abcd"])
    }

    func testKillDeleteStartStateLines() throws {
        let prefix = "--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json "
        let kill = try XCTUnwrap(parse(prefix + "kill <ID> 9"))
        XCTAssertEqual(kill.verb, "kill")
        XCTAssertEqual(kill.options?.positional, ["0123abcd", "9"])
        XCTAssertFalse(kill.options?.bool("all") ?? true)
        let killAll = try XCTUnwrap(parse("kill --all <ID> KILL"))
        XCTAssertTrue(killAll.options?.bool("all") ?? false)
        XCTAssertEqual(killAll.options?.positional, ["0123abcd", "KILL"])
        XCTAssertTrue(try XCTUnwrap(parse("kill -a <ID> 15")).options?.bool("all") ?? false)

        let del = try XCTUnwrap(parse(prefix + "delete --force <ID>"))
        XCTAssertEqual(del.verb, "delete")
        XCTAssertTrue(del.options?.bool("force") ?? false)
        XCTAssertEqual(del.options?.positional, ["0123abcd"])
        XCTAssertFalse(try XCTUnwrap(parse(prefix + "delete <ID>")).options?.bool("force") ?? true)
        XCTAssertTrue(try XCTUnwrap(parse("delete -f <ID>")).options?.bool("force") ?? false)

        XCTAssertEqual(try XCTUnwrap(parse(prefix + "start <ID>")).options?.positional, ["0123abcd"])
        // CRI-O polls `state`; go-runc's State is `state <id>` after the globals.
        let state = try XCTUnwrap(parse("--root /run/runc state <ID>"))
        XCTAssertEqual(state.verb, "state")
        XCTAssertEqual(state.globals.string("root"), "/run/runc")
        XCTAssertEqual(state.options?.positional, ["0123abcd"])
    }

    /// The other verbs the engines use: each is either a verb of this version (its flags parse) or refused clearly
    /// as not yet supported (then only the globals are parsed), never "No help topic".
    func testOtherEngineVerbs() throws {
        let lines: [(String, [String: String], [String])] = [
            ("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json exec --process /tmp/runc-process<N> --detach --pid-file <BUNDLE>/<ID>.pid <ID>",
             ["process": "/tmp/runc-process4242", "pid-file": "/run/containerd/io.containerd.runtime.v2.task/moby/0123abcd/0123abcd.pid"], ["0123abcd"]),
            ("--log-format=json --log <PODMAN_BUNDLE>/<ID>/oci-log exec --pid-file <PODMAN_BUNDLE>/<ID>/exec_pid --process <PODMAN_BUNDLE>/<ID>/exec-process-<N> --detach --tty --console-socket /tmp/conmon-term.<X> <ID>",
             ["console-socket": "/tmp/conmon-term.XyZ12"], ["0123abcd"]),
            ("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json ps --format json <ID>", ["format": "json"], ["0123abcd"]),
            ("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json pause <ID>", [:], ["0123abcd"]),
            ("resume <ID>", [:], ["0123abcd"]),
            ("update --resources=/var/tmp/podman<N> <ID>", ["resources": "/var/tmp/podman4242"], ["0123abcd"]),
            ("--root <EXEC_ROOT>/runtime-runc/moby --log <BUNDLE>/log.json --log-format json update --resources - <ID>",
             ["resources": "-"], ["0123abcd"]),
        ]
        for (line, values, positional) in lines {
            guard let p = parse(line) else { continue }
            let verb = try XCTUnwrap(p.verb, line)
            if let o = p.options {
                for (k, v) in values { XCTAssertEqual(o.string(k), v, "\(verb) --\(k)") }
                XCTAssertEqual(o.positional, positional, line)
            } else {
                XCTAssertTrue(Corral.notYet.contains(verb), "\(verb) is neither a verb nor refused clearly")
                XCTAssertEqual(p.globals.positional.last, "0123abcd", line)
            }
        }
    }

    /// Every runtime invocation recorded from containerd-shim-runc-v2 and Podman parses: globals before the verb,
    /// then the verb's flags, and the container id as the first positional.
    func testEveryRecordedLineParses() throws {
        guard let bytes = try? Spec.readFile(ArgumentsTests.contractLog) else {
            throw XCTSkip("\(ArgumentsTests.contractLog) is not available")
        }
        var seen = 0
        for raw in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let trimmed = raw.drop(while: { $0 == " " })
            guard trimmed.hasPrefix("runtime ") else { continue }
            let line = ArgumentsTests.substitute(String(trimmed.dropFirst("runtime ".count)))
            seen += 1
            guard let p = parse(line) else { continue }
            guard let verb = p.verb else { XCTFail("no verb: \(line)"); continue }
            if let o = p.options {
                // <ID>, or the smoke test's c1...c6.
                let id = o.positional.first ?? ""
                XCTAssertTrue(id == "0123abcd" || (id.count == 2 && id.hasPrefix("c")), "id \(id): \(line)")
                XCTAssertNoThrow(try StateStore.validate(id: o.positional.first ?? ""), line)
                if verb == "create" { XCTAssertNotNil(o.string("bundle"), line); XCTAssertNotNil(o.string("pid-file"), line) }
                if verb == "kill" {
                    XCTAssertEqual(o.positional.count, 2, line)
                    XCTAssertNoThrow(try Signals.parse(o.positional[1]), line)
                }
            } else {
                XCTAssertTrue(Corral.notYet.contains(verb), "unknown verb \(verb): \(line)")
            }
        }
        XCTAssertGreaterThan(seen, 50, "the log has the recorded invocations")
    }

    // MARK: parser rules

    func testFlagSpellings() throws {
        for argv in [["--root", "R", "state", "x"], ["--root=R", "state", "x"], ["-root", "R", "state", "x"], ["-root=R", "state", "x"]] {
            let p = try ParsedCommandLine.parse(argv)
            XCTAssertEqual(p.globals.string("root"), "R", "\(argv)")
            XCTAssertEqual(p.verb, "state", "\(argv)")
            XCTAssertEqual(p.options?.positional, ["x"], "\(argv)")
        }
        // Repeated flags: the last one counts (Go's flag package).
        XCTAssertEqual(try ParsedCommandLine.parse(["--root", "a", "--root", "b", "list"]).globals.string("root"), "b")
        // A value may start with a dash.
        XCTAssertEqual(try ParsedCommandLine.parse(["--log", "-", "list"]).globals.string("log"), "-")
        // Short and long names of one option share the key.
        XCTAssertEqual(try ParsedCommandLine.parse(["create", "-b", "/b", "x"]).options?.string("bundle"), "/b")
        XCTAssertEqual(try ParsedCommandLine.parse(["create", "--bundle=/b=c", "x"]).options?.string("bundle"), "/b=c",
                       "only the first = splits")
        XCTAssertEqual(try ParsedCommandLine.parse(["list", "--format=json"]).options?.string("format"), "json")
        XCTAssertEqual(try ParsedCommandLine.parse(["list", "-f", "json"]).options?.string("format"), "json")
    }

    func testBooleanFlags() throws {
        let cases: [([String], Bool)] = [
            (["run", "--detach", "x"], true), (["run", "-d", "x"], true), (["run", "--detach=true", "x"], true),
            (["run", "--detach=false", "x"], false), (["run", "--detach=1", "x"], true), (["run", "--detach=0", "x"], false),
            (["run", "-detach=false", "x"], false), (["run", "x"], false),
        ]
        for (argv, want) in cases {
            let p = try ParsedCommandLine.parse(argv)
            XCTAssertEqual(p.options?.bool("detach"), want, "\(argv)")
            XCTAssertEqual(p.options?.positional, ["x"], "\(argv): a boolean flag never takes the next word")
        }
        XCTAssertTrue(try ParsedCommandLine.parse(["--debug", "list"]).globals.bool("debug"))
        XCTAssertFalse(try ParsedCommandLine.parse(["--debug=false", "list"]).globals.bool("debug"))
        expectUsageError(["run", "--detach=yes", "x"], "invalid boolean value \"yes\" for -detach")
    }

    func testDoubleDashEndsOptions() throws {
        let p = try ParsedCommandLine.parse(["kill", "--", "-x", "--all"])
        XCTAssertEqual(p.options?.positional, ["-x", "--all"])
        XCTAssertFalse(p.options?.bool("all") ?? true)
        let g = try ParsedCommandLine.parse(["--root", "R", "--", "state", "x"])
        XCTAssertEqual(g.globals.string("root"), "R")
        XCTAssertEqual(g.verb, "state")
        XCTAssertEqual(g.options?.positional, ["x"])
    }

    func testGlobalsStopAtTheVerb() throws {
        // Everything after the verb belongs to the verb, even a spelling of a global flag.
        let p = try ParsedCommandLine.parse(["--debug", "delete", "--force", "x"])
        XCTAssertEqual(p.globals.positional, ["delete", "--force", "x"])
        XCTAssertTrue(p.options?.bool("force") ?? false)
        expectUsageError(["state", "--root", "R", "x"], "flag provided but not defined: -root")
        // Verb flags may follow positionals (urfave/cli reorders them for runc's verbs).
        let late = try ParsedCommandLine.parse(["delete", "x", "--force"])
        XCTAssertTrue(late.options?.bool("force") ?? false)
        XCTAssertEqual(late.options?.positional, ["x"])
    }

    func testUsageErrors() throws {
        expectUsageError(["--root"], "flag needs an argument: -root")
        expectUsageError(["create", "--bundle"], "flag needs an argument: -bundle")
        expectUsageError(["--bogus", "state", "x"], "flag provided but not defined: -bogus")
        expectUsageError(["create", "--bogus=1", "x"], "flag provided but not defined: -bogus")
        expectUsageError(["kill", "-s", "x"], "flag provided but not defined: -s")
        let p = try ParsedCommandLine.parse(["create", "--preserve-fds", "two", "x"])
        XCTAssertThrowsError(try p.options!.int("preserve-fds", default: 0)) { e in
            XCTAssertEqual((e as? RuntimeError)?.message, "invalid value \"two\" for flag -preserve-fds: parse error")
        }
        XCTAssertEqual(try ParsedCommandLine.parse(["create", "--preserve-fds=3", "x"]).options?.int("preserve-fds", default: 0), 3)
        XCTAssertEqual(try ParsedCommandLine.parse(["create", "x"]).options?.int("preserve-fds", default: 0), 0)
    }

    func testVerbTable() {
        let names = Corral.verbs.map { $0.name }
        for core in ["create", "start", "run", "state", "kill", "delete", "list", "spec"] {
            XCTAssertTrue(names.contains(core), "\(core) is a verb")
        }
        XCTAssertEqual(Set(names).count, names.count, "no verb twice")
        XCTAssertTrue(Set(names).isDisjoint(with: Corral.notYet), "a verb is either implemented or refused, not both")
        let create = Corral.verbs.first { $0.name == "create" }!
        XCTAssertEqual(create.options.map { $0.key }, ["bundle", "console-socket", "pid-file", "no-pivot", "no-new-keyring",
                                                       "preserve-fds", "pidfd-socket"])
        let run = Corral.verbs.first { $0.name == "run" }!
        XCTAssertEqual(Set(run.options.map { $0.key }), Set(create.options.map { $0.key } + ["detach", "keep", "no-subreaper"]))
        XCTAssertEqual(Corral.globalOptions.map { $0.key }, ["root", "log", "log-format", "debug", "systemd-cgroup", "rootless",
                                                             "policy", "criu", "help", "version"])
        // runc 1.1.5's checkpoint and restore flags (`runc checkpoint --help`, `runc restore --help`), every one.
        let checkpoint = Corral.verbs.first { $0.name == "checkpoint" }!
        XCTAssertTrue(Set(checkpoint.options.map { $0.key }).isSuperset(of: [
            "image-path", "work-path", "parent-path", "leave-running", "tcp-established", "ext-unix-sk", "shell-job",
            "lazy-pages", "status-fd", "page-server", "file-locks", "pre-dump", "manage-cgroups-mode", "empty-ns",
            "auto-dedup"]))
        let restore = Corral.verbs.first { $0.name == "restore" }!
        XCTAssertTrue(Set(restore.options.map { $0.key }).isSuperset(of: [
            "console-socket", "image-path", "work-path", "tcp-established", "ext-unix-sk", "shell-job", "file-locks",
            "manage-cgroups-mode", "bundle", "detach", "pid-file", "no-subreaper", "no-pivot", "empty-ns", "auto-dedup",
            "lazy-pages", "lsm-profile", "lsm-mount-context"]))
        XCTAssertTrue(restore.options.contains { $0.names == ["d", "detach"] } && restore.options.contains { $0.names == ["b", "bundle"] })
    }

    /// main finds its verb through a switch (so it builds only that one); it must name exactly the listed and hidden verbs.
    func testVerbLookupMatchesTheVerbTable() {
        for v in Corral.verbs + Corral.hiddenVerbs {
            XCTAssertEqual(Corral.verb(named: v.name)?.name, v.name, "verb(named:) finds \(v.name)")
            XCTAssertEqual(Corral.verb(named: v.name)?.usage, v.usage, "verb(named:) gives \(v.name) its own definition")
        }
        for name in ["", "help", "Create", "nope"] { XCTAssertNil(Corral.verb(named: name), "\(name) is no verb") }
    }

    /// The name help, --version and runc's texts give the program: the last component of argv[0].
    func testProgramNameIsTheLastComponentOfTheCommand() {
        let cases: [(String?, String)] = [("/usr/sbin/runc", "runc"), ("./corral", "corral"), ("runc", "runc"),
                                          ("/a/b/docker-runc", "docker-runc"), ("", "corral"), (nil, "corral")]
        for (argv0, name) in cases { XCTAssertEqual(Corral.programName(argv0), name, "\(argv0 ?? "nil")") }
    }

    // MARK: Corral.main end to end (no container is made: every case fails or is a no-op before launching)

    /// Runs Corral.main with `--root <tmp> --log <tmp> --log-format json` and returns (status, log records).
    private func main(_ args: [String]) throws -> (Int32, [JSONObject]) {
        let b = UnitBundle()
        let log = b.dir + "/log.json"
        let status = Corral.main(["corral", "--root", b.dir + "/state", "--log", log, "--log-format", "json"] + args)
        var records: [JSONObject] = []
        if let text = Files.readString(log) {
            for line in text.split(separator: "\n") {
                let v = try JSONValue.parse(String(line))
                records.append(try XCTUnwrap(v.objectValue, String(line)))
            }
        }
        return (status, records)
    }

    func testMainErrorRecords() throws {
        let cases: [([String], String)] = [
            (["state", "nope"], "container does not exist"),
            (["kill", "nope", "KILL"], "container does not exist"),
            (["delete", "nope"], "container does not exist"),
            (["start", "nope"], "container does not exist"),
            (["state", "a/b"], "invalid container ID format"),
            (["state"], "\"state\" requires exactly 1 argument(s)"),
            // runc's checkArgs: extra arguments are a usage error, never ignored.
            (["create", "--bundle", "/nonexistent-corral-unit", "a", "b"], "\"create\" requires exactly 1 argument(s)"),
            (["delete", "a", "b"], "\"delete\" requires exactly 1 argument(s)"),
            (["kill", "a", "KILL", "extra"], "\"kill\" requires a maximum of 2 argument(s)"),
            (["list", "extra"], "\"list\" requires exactly 0 argument(s)"),
            (["exec"], "\"exec\" requires a minimum of 1 argument(s)"),
            (["frobnicate"], "No help topic for 'frobnicate'"),
            (["state", "--bogus", "x"], "flag provided but not defined: -bogus"),
        ]
        for (args, message) in cases {
            let (status, records) = try main(args)
            XCTAssertEqual(status, 1, "\(args)")
            XCTAssertEqual(records.count, 1, "\(args): one record per failure")
            guard let r = records.first else { continue }
            XCTAssertEqual(r.keys, ["level", "msg", "time"], "\(args)")
            XCTAssertEqual(r["level"]?.stringValue, "error", "\(args)")
            XCTAssertEqual(r["msg"]?.stringValue, message, "\(args)")
        }
    }

    /// exec fails with runc's "exec failed: " prefix and exit status 255, so it cannot be mistaken for the exec'd
    /// process's own status.
    func testMainExecErrorRecord() throws {
        let (status, records) = try main(["exec", "--process", "/p.json", "nope"])
        XCTAssertEqual(status, 255)
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?["msg"]?.stringValue, "exec failed: container does not exist")
    }

    /// --preserve-fds beyond any fd a process can have is refused while parsing: `3 + N` trapped (Int overflow) in
    /// exec before the container was looked up, and the launcher's Int32 fd floor trapped at create after the state
    /// directory existed.
    func testPreserveFDsBeyondAnyFdIsRefused() throws {
        func count(_ v: String) throws(RuntimeError) -> Int {
            try Commands.preserveFDs(ArgParser.parse(["--preserve-fds", v, "x"], Commands.createOptions))
        }
        XCTAssertEqual(try count("0"), 0)
        XCTAssertEqual(try count("\(Commands.maxPreserveFDs)"), Commands.maxPreserveFDs)
        for v in ["\(Commands.maxPreserveFDs + 1)", "4294967296", "9223372036854775807"] {
            XCTAssertThrowsError(try count(v)) { e in
                XCTAssertEqual((e as? RuntimeError)?.message, "--preserve-fds: \(v) is more file descriptors than a process can have")
            }
        }
        let (status, records) = try main(["exec", "--preserve-fds", "9223372036854775807", "nope", "sh"])
        XCTAssertEqual(status, 255)
        XCTAssertEqual(records.first?["msg"]?.stringValue,
                       "exec failed: --preserve-fds: 9223372036854775807 is more file descriptors than a process can have")
        let (createStatus, createRecords) = try main(["create", "--preserve-fds", "4294967296", "--bundle", "/nonexistent-corral-unit", "x"])
        XCTAssertEqual(createStatus, 1)
        XCTAssertEqual(createRecords.first?["msg"]?.stringValue, "--preserve-fds: 4294967296 is more file descriptors than a process can have")
    }

    func testMainForceDeleteOfUnknownIdSucceeds() throws {
        let (status, records) = try main(["delete", "--force", "nope"])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(records.count, 0)
        // The unit tests' --root is never made: list names it, as runc main's does.
        let (listStatus, listRecords) = try main(["list", "--quiet"])
        XCTAssertEqual(listStatus, 1)
        XCTAssertEqual(listRecords.first?["msg"]?.stringValue?.hasSuffix("/state: no such file or directory"), true, "\(listRecords)")
    }

    /// The C start-up seal finds the verb as ArgParser does, for every global option in both spellings.
    func testEarlyVerbMatchesTheGlobalOptionTable() throws {
        func early(_ args: [String]) -> String? {
            var cargs = args.map { strdup($0) }
            defer { cargs.forEach { free($0) } }
            return cargs.withUnsafeMutableBufferPointer { b in
                corral_early_verb(Int32(b.count), b.baseAddress).map { String(cString: $0) }
            }
        }
        for spec in Corral.globalOptions {
            for name in spec.names {
                let dash = name.count > 1 ? "--" : "-"
                var layouts = [[dash + name] + (spec.takesValue ? ["value"] : []) + ["create", "--bundle", "b", "id"]]
                if spec.takesValue { layouts.append([dash + name + "=value", "run", "id"]) }
                for argv in layouts {
                    let parsed = try ParsedCommandLine.parse(argv)
                    XCTAssertEqual(early(["corral"] + argv), parsed.verb, "\(argv)")
                }
            }
        }
        XCTAssertEqual(early(["corral", "--", "exec", "id"]), try ParsedCommandLine.parse(["--", "exec", "id"]).verb)
        XCTAssertNil(early(["corral", "--root", "/r"]))
    }
}


/// `corral spec --profile agent`: the hardened agent container, which bundles/agent/config.json is (with the demo's
/// arguments).
final class AgentProfileTests: XCTestCase {
    func testSpecWritesTheAgentProfileAndTheBundleIsIt() throws {
        let dir = "/tmp/corral-unit-profile-\(getpid())"
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        defer { Files.removeAll(dir) }
        XCTAssertEqual(Corral.main(["corral", "spec", "--profile", "agent", "--bundle", dir]), 0)
        let written = try JSONValue.parse(Files.read(dir + "/config.json"))
        XCTAssertEqual(written, AgentProfile.config(userNamespace: AgentProfile.hostAllowsUserNamespaces))
        XCTAssertEqual(written["process"]?["noNewPrivileges"], true)
        XCTAssertEqual(written["root"]?["readonly"], true)
        XCTAssertEqual(written["process"]?["user"]?["uid"], 1001)
        let names = Set((written["linux"]?["seccomp"]?["syscalls"]?.arrayValue ?? [])
            .flatMap { $0["names"]?.arrayValue ?? [] }.compactMap { $0.stringValue })
        for never in ["ptrace", "bpf", "io_uring_setup", "userfaultfd", "keyctl", "perf_event_open", "unshare", "setns"] {
            XCTAssertFalse(names.contains(never), never)
        }
        // bundles/agent is this profile with the demo's arguments.
        let bundleURL = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        var bundle = try JSONValue.parse(Files.read("/" + bundleURL + "/bundles/agent/config.json"))
        XCTAssertEqual(bundle["process"]?["args"], ["/bin/sh", "/agent/report.sh"])
        bundle["process"]?["args"] = ["sh"]
        XCTAssertEqual(bundle, AgentProfile.config(userNamespace: true), "bundles/agent/config.json is `spec --profile agent` (user namespace on)")
        XCTAssertEqual(unlink(dir + "/config.json"), 0)
        XCTAssertEqual(Corral.main(["corral", "spec", "--profile", "nope", "--bundle", dir]), 1)
        XCTAssertFalse(Files.exists(dir + "/config.json"), "nothing written for an unknown profile")
    }
}
