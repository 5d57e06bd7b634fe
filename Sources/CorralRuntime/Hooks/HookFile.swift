import CorralSpec
import Glibc

/// `<root>/<id>/hooks.json`: the hooks that outlive `create` (startContainer, poststart, poststop), written by
/// `create` only when there are some. `start` and `delete` open it and get ENOENT for the common container
/// without hooks, so they never decode config.json (or any JSON) for nothing.
enum HookFile {
    static let name = "hooks.json"

    /// The file's contents for `plan`, nil when no hook runs after create.
    static func contents(_ plan: HookPlan) -> [UInt8]? {
        var o = JSONObject()
        for kind in HookPlan.afterCreate where !plan[kind].isEmpty {
            o[kind.rawValue] = .array(plan[kind].map { h in
                var e = JSONObject()
                e["path"] = .string(h.path)
                e["args"] = JSONValue(h.argv)
                if let env = h.env { e["env"] = JSONValue(env) }
                if let t = h.timeout { e["timeout"] = JSONValue(t) }
                return .object(e)
            })
        }
        return o.isEmpty ? nil : JSONValue.object(o).serializedBytes()
    }

    /// The hooks recorded for the container in `dir`; empty when it has no file. A corrupt file is an error
    /// (it was written by us: losing poststop hooks silently would be worse).
    static func load(dir: String) throws(RuntimeError) -> HookPlan {
        let path = dir + "/" + name
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return HookPlan() }
            throw .system("open \(path)", errno)
        }
        close(fd)
        let bytes = try Files.read(path)
        guard let json = try? JSONValue.parse(bytes), let o = json.objectValue else {
            throw RuntimeError(.system, "corrupt hooks file \(path)")
        }
        var plan = HookPlan()
        for kind in HookPlan.afterCreate {
            guard let list = o[kind.rawValue]?.arrayValue else { continue }
            var hooks: [PlannedHook] = []
            for e in list {
                guard let p = e["path"]?.stringValue, let argv = e["args"]?.arrayValue?.compactMap({ $0.stringValue })
                else { throw RuntimeError(.system, "corrupt hooks file \(path)") }
                let env = e["env"]?.arrayValue?.compactMap({ $0.stringValue })
                hooks.append(PlannedHook(path: p, argv: argv, env: env, timeout: e["timeout"]?.int64Value.map { Int($0) }))
            }
            plan[kind] = hooks
        }
        return plan
    }
}
