import CorralSpec
import Glibc

/// The one error type of the runtime. `message` is what the user, the log and the engines see; the sentinel
/// texts are runc's verbatim because containerd, Docker and CRI-O match on them by substring.
public struct RuntimeError: Error, CustomStringConvertible {
    /// What kind of failure this is (for tests and exit-code decisions); the text is in `message`.
    public enum Code: Sendable, Equatable {
        case notFound, exists, invalidArgument, invalidState, unsupported, config, system, childSetup, usage
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static let notExist = RuntimeError(.notFound, "container does not exist")
    static let notRunning = RuntimeError(.invalidState, "container not running")
    static let alreadyExists = RuntimeError(.exists, "container with given ID already exists")

    /// `what: <errno text>` with Go's lowercase errno wording.
    static func system(_ what: String, _ err: Int32) -> RuntimeError {
        RuntimeError(.system, "\(what): \(errnoText(err))")
    }

    static func config(_ e: SpecError) -> RuntimeError {
        RuntimeError(.config, "invalid configuration: \(e.description)")
    }

    /// Prefixes the message with context, keeping the code (runc-style `a: b: cause` chains).
    func context(_ prefix: String) -> RuntimeError {
        RuntimeError(code, "\(prefix): \(message)")
    }
}

/// Go's errno texts (lowercase), which Docker maps to exit codes by exact substring.
func errnoText(_ err: Int32) -> String {
    if let t = corralErrnoText(err) { return t }
    return Spec.errnoText(err)
}
