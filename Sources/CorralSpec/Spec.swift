// The OCI runtime-spec v1.3 config.json model (Linux). Property names are exactly the JSON keys;
// absent optional fields are nil (never defaulted here: defaults belong to the planner), required
// fields are non-optional and their absence is a SpecError. Unknown keys are ignored (spec
// extensibility); unknown values of closed sets are errors.

import Glibc

/// A decoded config.json.
public struct Spec: Equatable, Sendable {
    public var ociVersion: String
    public var process: Process?
    /// REQUIRED on Linux by the spec but kept optional here like Go's `*Root`: `create` must
    /// reject a nil root ("root must be specified", as runc), `spec`/`features` don't care.
    public var root: Root?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]?
    public var hooks: Hooks?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(
        ociVersion: String, process: Process? = nil, root: Root? = nil, hostname: String? = nil,
        domainname: String? = nil, mounts: [Mount]? = nil, hooks: Hooks? = nil,
        annotations: [String: String]? = nil, linux: Linux? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
    }
}

/// `root`: the container's root filesystem.
public struct Root: Equatable, Sendable {
    /// Absolute, or relative to the bundle. Must not be empty.
    public var path: String
    public var readonly: Bool?
    public init(path: String, readonly: Bool? = nil) {
        self.path = path
        self.readonly = readonly
    }
}

/// `mounts[]`. Options stay strings: filesystem-specific data is legal and the planner
/// classifies flags vs data.
public struct Mount: Equatable, Sendable {
    /// Should be absolute; runc 1.1 accepts a relative destination (with a warning), so we do too.
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    /// Per-mount idmap mappings (runtime-spec 1.2, `idmap`/`ridmap` options).
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    public init(
        destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil,
        uidMappings: [IDMapping]? = nil, gidMappings: [IDMapping]? = nil
    ) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
    }
}

/// A uid/gid mapping range (user namespace or idmapped mount).
public struct IDMapping: Equatable, Sendable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32
    public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
        self.containerID = containerID
        self.hostID = hostID
        self.size = size
    }
}

/// `hooks`: lifecycle hooks by kind (the kinds are fixed keys).
public struct Hooks: Equatable, Sendable {
    /// Deprecated by the spec but still honoured (runtime namespace, before pivot_root).
    public var prestart: [Hook]?
    public var createRuntime: [Hook]?
    public var createContainer: [Hook]?
    public var startContainer: [Hook]?
    public var poststart: [Hook]?
    public var poststop: [Hook]?
    public init(
        prestart: [Hook]? = nil, createRuntime: [Hook]? = nil, createContainer: [Hook]? = nil,
        startContainer: [Hook]? = nil, poststart: [Hook]? = nil, poststop: [Hook]? = nil
    ) {
        self.prestart = prestart
        self.createRuntime = createRuntime
        self.createContainer = createContainer
        self.startContainer = startContainer
        self.poststart = poststart
        self.poststop = poststop
    }
}

/// One entry of `hooks.<kind>`: a program, its args and env, and a timeout in seconds.
public struct Hook: Equatable, Sendable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    /// Seconds; must be > 0 when set (checked at decode).
    public var timeout: Int?
    public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
        self.path = path
        self.args = args
        self.env = env
        self.timeout = timeout
    }
}

// MARK: - Entry points

extension Spec {
    /// Decodes config.json bytes. Invalid JSON is reported at path `config.json`.
    public static func parse(_ bytes: [UInt8]) throws(SpecError) -> Spec {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw SpecError(path: "config.json", message: error.description)
        }
        return try decode(json)
    }

    /// Decodes an already-parsed config.json (useful when the caller also keeps the raw JSON,
    /// e.g. to snapshot it into the container state).
    public static func decode(_ json: JSONValue) throws(SpecError) -> Spec {
        let d = SpecDecoder()
        do throws(SpecError) {
            return try Spec(d, try d.object(json))
        } catch {
            throw SpecDecoder.finish(error, root: "")
        }
    }

    /// Reads and decodes a config.json file. Errors opening/reading it are reported at path
    /// `config.json` with Go's wording, e.g. "open /b/config.json: no such file or directory".
    public static func load(path: String) throws(SpecError) -> Spec {
        let bytes = try readFile(path)
        return try parse(bytes)
    }

    /// Decodes an `exec --process` file: a bare `process` object; paths start with `process`.
    public static func parseProcess(_ bytes: [UInt8]) throws(SpecError) -> Process {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw SpecError(path: "process", message: error.description)
        }
        let d = SpecDecoder()
        do throws(SpecError) {
            return try Process(d, try d.object(json))
        } catch {
            throw SpecDecoder.finish(error, root: "process")
        }
    }

    /// Decodes a `update --resources` document (a bare `linux.resources` object); paths start
    /// with `resources`.
    public static func parseResources(_ bytes: [UInt8]) throws(SpecError) -> Resources {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw SpecError(path: "resources", message: error.description)
        }
        let d = SpecDecoder()
        do throws(SpecError) {
            return try Resources(d, try d.object(json))
        } catch {
            throw SpecDecoder.finish(error, root: "resources")
        }
    }

    /// The largest config.json (or process.json, resources document) corral reads: a stated bound instead of
    /// minutes spent on a hostile 60 MB document. Real configs are a few KiB; one with thousands of env entries
    /// stays below 1 MiB.
    public static let maxDocumentBytes = 16 << 20

    /// Reads a whole file with open/read (no Foundation). Errors use Go's os error wording with
    /// a lowercase strerror text. A file larger than `limit` bytes is an error.
    public static func readFile(_ path: String, limit: Int = Int.max) throws(SpecError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw SpecError(path: "config.json", message: "open \(path): \(errnoText(errno))")
        }
        defer { close(fd) }
        var st = stat()
        // Regular files say their size; /proc and cgroup files say 0 and are small: start with a page.
        var room = fstat(fd, &st) == 0 && st.st_size > 0 ? Int(st.st_size) + 1 : 4096
        func tooLarge() -> SpecError {
            SpecError(path: "config.json", message: "read \(path): larger than the limit of \(limit) bytes")
        }
        if room - 1 > limit { throw tooLarge() }
        room = min(room, limit == Int.max ? room : limit + 1)
        var out: [UInt8] = []
        while true {
            // Read straight into uninitialised array storage: no zero-filled bounce buffer.
            var failure: Int32 = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: room) { buf, count in
                count = 0
                while count < buf.count {
                    let n = read(fd, buf.baseAddress! + count, buf.count - count)
                    if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                    if n == 0 { return }
                    count += n
                }
            }
            if failure != 0 {
                throw SpecError(path: "config.json", message: "read \(path): \(errnoText(failure))")
            }
            if out.isEmpty { out = chunk } else { out += chunk }
            if out.count > limit { throw tooLarge() }
            if chunk.count < room { break }   // end of file before the buffer filled
            room *= 2
        }
        return out
    }

    /// strerror with a lowercase first letter, which matches Go's syscall.Errno strings for the
    /// common cases ("no such file or directory", "permission denied", "is a directory").
    public static func errnoText(_ e: Int32) -> String {
        guard let p = strerror(e) else { return "errno \(e)" }
        let s = String(cString: p)
        guard let f = s.first else { return s }
        return f.lowercased() + s.dropFirst()
    }

    /// Accepts 1.0.0 … 1.3.x, with any SemVer pre-release/build suffix (1.0.2-dev, 1.3.0+dev).
    public static func isSupportedVersion(_ v: String) -> Bool {
        var core = Substring(v)
        if let i = core.utf8.firstIndex(where: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") }) {
            if core.utf8.index(after: i) == core.utf8.endIndex { return false }
            core = core[..<i]
        }
        let parts = core.splitASCII(".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        var nums: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
            if p.utf8.count > 1 && p.utf8.first == UInt8(ascii: "0") { return false }  // SemVer: no leading zeros
            guard p.utf8.count <= 9, let n = Int(p) else { return false }
            nums.append(n)
        }
        return nums[0] == 1 && nums[1] <= 3
    }

    public static let supportedVersionRange = "1.0.0 to 1.3.x"
}

// MARK: - Decoding

extension Spec {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        let version = try d.reqString(o, "ociVersion")
        guard Spec.isSupportedVersion(version) else {
            throw d.error(
                "ociVersion",
                "unsupported version \(JSONValue.quoted(version)) (supported: \(Spec.supportedVersionRange))")
        }
        ociVersion = version
        process = try d.optObject(o, "process") { (p) throws(SpecError) in try Process(d, p) }
        root = try d.optObject(o, "root") { (r) throws(SpecError) in try Root(d, r) }
        hostname = try d.optString(o, "hostname")
        domainname = try d.optString(o, "domainname")
        mounts = try d.optObjects(o, "mounts") { (m) throws(SpecError) in try Mount(d, m) }
        hooks = try d.optObject(o, "hooks") { (h) throws(SpecError) in try Hooks(d, h) }
        annotations = try d.optStringMap(o, "annotations")
        linux = try d.optObject(o, "linux") { (l) throws(SpecError) in try Linux(d, l) }
    }
}

extension Root {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        path = try d.reqString(o, "path")
        if path.isEmpty { throw d.error("path", "must not be empty") }
        readonly = try d.optBool(o, "readonly")
    }
}

extension Mount {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        destination = try d.reqString(o, "destination")
        type = try d.optString(o, "type")
        source = try d.optString(o, "source")
        options = try d.optStringArray(o, "options")
        uidMappings = try d.optObjects(o, "uidMappings") { (m) throws(SpecError) in try IDMapping(d, m) }
        gidMappings = try d.optObjects(o, "gidMappings") { (m) throws(SpecError) in try IDMapping(d, m) }
    }
}

extension IDMapping {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        containerID = try d.reqUInt32(o, "containerID")
        hostID = try d.reqUInt32(o, "hostID")
        size = try d.reqUInt32(o, "size")
    }
}

extension Hooks {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        func list(_ key: String) throws(SpecError) -> [Hook]? {
            try d.optObjects(o, key) { (h) throws(SpecError) in try Hook(d, h) }
        }
        prestart = try list("prestart")
        createRuntime = try list("createRuntime")
        createContainer = try list("createContainer")
        startContainer = try list("startContainer")
        poststart = try list("poststart")
        poststop = try list("poststop")
    }
}

extension Hook {
    init(_ d: SpecDecoder, _ o: JSONObject) throws(SpecError) {
        path = try d.reqString(o, "path")
        args = try d.optStringArray(o, "args")
        env = try d.optStringArray(o, "env")
        timeout = try d.optInt(o, "timeout")
        if let t = timeout, t <= 0 { throw d.error("timeout", "must be greater than zero, got \(t)") }
    }
}
