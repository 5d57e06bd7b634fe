/// Version strings printed by `--version` and recorded in state.
public enum Version {
    public static let corral = "0.1.0"
    /// The runtime-spec version corral implements (state's ociVersion, `--version`'s "spec:" line).
    public static let spec = "1.3.0"
}
