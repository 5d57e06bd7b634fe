import Glibc

/// The project's shared reference data: `../shared/data` beside the package (where CI places it), else the
/// workplace copy. Tests that need it skip when neither exists.
let sharedDataDir: String = {
    var root = "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
    root = "/" + root
    for candidate in [root + "/../shared/data", "/work/shared/data"] where access(candidate, R_OK) == 0 { return candidate }
    return "/work/shared/data"
}()
