import CCorral

/// Thin Swift names for the C helpers (kept in one place so the rest of the runtime reads as Swift).
func corralErrnoText(_ err: Int32) -> String? {
    guard let p = corral_errno_text(err) else { return nil }
    return String(cString: p)
}
