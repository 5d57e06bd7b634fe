import CorralSpec
import Glibc

extension Commands {
    /// `spec`: runc's default config.json, or with `--profile agent` the hardened agent container (AgentProfile).
    static let spec = Verb(name: "spec", usage: "[command options]", summary: "create a new specification file",
                           options: [OptionSpec(["b", "bundle"], value: true, "path to the root of the bundle directory"),
                                     OptionSpec(["rootless"], "generate a configuration for a rootless container"),
                                     OptionSpec(["profile"], value: true, "write a hardened profile instead of runc's default: agent")],
                           arity: 0...0) { ctx, o throws(RuntimeError) in
        let dir = o.string("bundle") ?? "."
        let path = dir + "/config.json"
        if Files.exists(path) { throw RuntimeError(.exists, "File \(path) exists. Remove it first") }
        if !Files.isDirectory(dir) { throw .system("stat \(dir)", ENOENT) }
        let text: String
        switch o.string("profile") {
        case nil:
            text = DefaultSpec.json(rootless: o.bool("rootless"))
        case "agent":
            if o.bool("rootless") { throw RuntimeError(.usage, "--profile agent is made for root: it cannot be combined with --rootless") }
            text = AgentProfile.config(userNamespace: AgentProfile.hostAllowsUserNamespaces).serialized(indent: "\t")
        case let other?:
            throw RuntimeError(.usage, "--profile: unknown profile \(JSONValue.quoted(other)) (known: agent)")
        }
        try Files.writeAtomic(path, text, mode: 0o666 & ~0o022)
        return 0
    }
}
