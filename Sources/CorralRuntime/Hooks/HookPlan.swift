import CorralSpec

/// The six hook kinds of the runtime spec, in lifecycle order; the raw value is the config key and the word
/// used in error texts ("error running prestart hook #0: ...").
enum HookKind: String, CaseIterable {
    case prestart, createRuntime, createContainer, startContainer, poststart, poststop
}

/// One hook as it will be executed: `path` is absolute and exec'd directly (no PATH lookup), `argv` includes
/// argv[0] (`[path]` when the config has no args, as Go's exec does), `env` is exactly the configured list, or
/// nil when the config has none: then the hook gets the runtime's own environment, as with runc and crun (Go's
/// exec.Cmd with a nil Env). An empty list is an empty environment.
struct PlannedHook: Equatable {
    var path: String
    var argv: [String]
    var env: [String]?
    /// Seconds, nil for none.
    var timeout: Int?
}

/// Every hook of a container by kind, validated.
struct HookPlan: Equatable {
    private(set) var lists: [HookKind: [PlannedHook]] = [:]

    subscript(kind: HookKind) -> [PlannedHook] {
        get { lists[kind] ?? [] }
        set { lists[kind] = newValue.isEmpty ? nil : newValue }
    }

    var isEmpty: Bool { lists.isEmpty }

    /// Hooks the runtime runs while the init waits before pivot_root (the HOOKS sync message).
    var runsBeforePivot: Bool { !self[.prestart].isEmpty || !self[.createRuntime].isEmpty || !self[.createContainer].isEmpty }

    /// The kinds run after `create` (by the init at `start`, by `start`, by `delete`): what `hooks.json` keeps.
    static let afterCreate: [HookKind] = [.startContainer, .poststart, .poststop]

    /// Validates `hooks` of config.json: `path` must be absolute (the spec says so; runc would resolve a relative
    /// one against the bundle) and `timeout`, when set, greater than zero. Errors name the JSON path and value.
    static func plan(_ hooks: Hooks?) throws(RuntimeError) -> HookPlan {
        var plan = HookPlan()
        guard let hooks else { return plan }
        let byKind: [(HookKind, [Hook]?)] = [
            (.prestart, hooks.prestart), (.createRuntime, hooks.createRuntime), (.createContainer, hooks.createContainer),
            (.startContainer, hooks.startContainer), (.poststart, hooks.poststart), (.poststop, hooks.poststop),
        ]
        for (kind, list) in byKind {
            var planned: [PlannedHook] = []
            for (i, h) in (list ?? []).enumerated() {
                let field = "hooks.\(kind.rawValue)[\(i)]"
                if !h.path.hasBytePrefix("/") {
                    throw RuntimeError(.config, "\(field).path: must be an absolute path, got \"\(h.path)\"")
                }
                if let t = h.timeout, t <= 0 {
                    throw RuntimeError(.config, "\(field).timeout: must be greater than zero, got \(t)")
                }
                let args = h.args ?? []
                planned.append(PlannedHook(path: h.path, argv: args.isEmpty ? [h.path] : args, env: h.env,
                                           timeout: h.timeout))
            }
            plan[kind] = planned
        }
        return plan
    }
}
