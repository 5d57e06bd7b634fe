import CorralSpec
import Glibc

extension Commands {
    /// `check`: evaluates a bundle's config.json against the policy (the file, then the config's annotations)
    /// without creating anything; prints every rule's verdict and exits 1 when one is broken.
    static let check = Verb(name: "check", usage: "[command options]",
                            summary: "check a bundle against the policy without creating anything",
                            options: [OptionSpec(["b", "bundle"], value: true, "path to the root of the bundle directory, defaults to the current directory")],
                            arity: 0...0) { ctx, o throws(RuntimeError) in
        let bundle = Files.absolute(o.string("bundle") ?? ".")
        let raw = try Files.read(bundle + "/config.json", limit: Spec.maxDocumentBytes)
        let spec: Spec
        do throws(SpecError) { spec = try Spec.parse(raw) } catch { throw RuntimeError.config(error) }
        guard let base = try Policy.load(path: ctx.globals.policyPath) else {
            throw RuntimeError(.config, "no policy: \(Policy.defaultPath) does not exist and --policy was not given")
        }
        let policy = try base.tightened(by: spec.annotations ?? [:])
        let verdicts = PolicyCheck.evaluate(policy, spec, bundle: bundle)
        printOut(verdicts.map { $0.text + "\n" }.joined())
        let broken = verdicts.filter { !$0.passed }.count
        printOut("check: \(verdicts.count - broken) passed, \(broken) failed\n")
        return broken == 0 ? 0 : 1
    }
}
