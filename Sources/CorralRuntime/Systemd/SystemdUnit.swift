import CorralSpec

/// The systemd unit a container runs in with `--systemd-cgroup`, read from `linux.cgroupsPath` as runc reads it:
/// `slice:prefix:name` puts the container in the scope `prefix-name.scope` inside `slice` (empty: system.slice);
/// a name ending in `.slice` makes the container's unit that slice itself; an empty cgroupsPath is
/// `:runc:<id>` (runc's default prefix, so tools that derive the unit from the id find the same one).
struct SystemdUnit: Equatable {
    /// The unit's name: "docker-<id>.scope", or "<name>.slice".
    var name: String
    /// The slice it goes into ("system.slice", "-.slice" for the root slice): Slice= of a scope, Wants= of a slice.
    var parent: String
    /// Where the unit's cgroup sits below a hierarchy's root ("/system.slice/docker-<id>.scope"): systemd derives
    /// it from the names (`a-b.slice` lives at /a.slice/a-b.slice).
    var cgroupPath: String
    /// Text for Description= (`systemctl status` shows it).
    var description: String

    var isSlice: Bool { name.hasByteSuffix(".slice") }

    static let field = "linux.cgroupsPath"

    static func parse(cgroupsPath: String?, id: String) throws(RuntimeError) -> SystemdUnit {
        let path = cgroupsPath ?? ""
        var parent = "", prefix = "runc", name = id
        if !path.isEmpty {
            let parts = path.splitASCII(":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else {
                throw RuntimeError(.config, "\(field): expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \(JSONValue.quoted(path)) instead")
            }
            (parent, prefix, name) = (parts[0], parts[1], parts[2])
        }
        if parent.isEmpty { parent = "system.slice" }
        let unitName = name.hasByteSuffix(".slice") ? name : prefix + "-" + name + ".scope"
        try validate(unitName: unitName, cgroupsPath: path)
        let parentPath = try expandSlice(parent)
        let cgroupPath: String
        if unitName.hasByteSuffix(".slice") {
            // A slice's place follows from its own name, whatever slice was named as its parent.
            cgroupPath = try expandSlice(unitName)
        } else {
            cgroupPath = (parentPath == "/" ? "" : parentPath) + "/" + unitName
        }
        return SystemdUnit(name: unitName, parent: parent, cgroupPath: cgroupPath, description: "corral container \(name)")
    }

    /// runc's ExpandSlice: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice", "-.slice" → "/". Texts are runc's.
    static func expandSlice(_ slice: String) throws(RuntimeError) -> String {
        let suffix = ".slice"
        func invalid() -> RuntimeError { RuntimeError(.config, "\(field): invalid slice name: \(slice)") }
        guard slice.utf8.count >= suffix.utf8.count, slice.hasByteSuffix(suffix), !slice.contains("/") else { throw invalid() }
        let base = String(Substring(slice.utf8.dropLast(suffix.utf8.count)))
        if base == "-" { return "/" }
        var path = "", prefix = ""
        for component in base.splitASCII("-", omittingEmptySubsequences: false) {
            // "test--a.slice" and "-test.slice" are not slices (nor is ".slice").
            if component.isEmpty { throw invalid() }
            path += "/" + prefix + component + suffix
            prefix += component + "-"
        }
        return path
    }

    /// systemd's unit name rules (unit_name_is_valid): at most 255 bytes of letters, digits and ":-_.\@", a
    /// non-empty name before the type suffix. runc leaves this to systemd; checking first keeps a name with a
    /// "/" out of the cgroup paths derived from it, and fails before anything is made.
    static func validate(unitName: String, cgroupsPath: String) throws(RuntimeError) {
        let ok = unitName.utf8.count <= 255 && unitName.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "\\") || c == UInt8(ascii: "@")
        }
        // ".scope" and ".slice" are both six bytes.
        guard ok, unitName.utf8.count > 6 else {
            throw RuntimeError(.config, "\(field): \(JSONValue.quoted(cgroupsPath)) names the unit \(JSONValue.quoted(unitName)), which is not a valid systemd unit name")
        }
    }
}
