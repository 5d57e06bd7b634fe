import CCorral
import Glibc

/// Owns the C memory a `corral_plan` points into. It lives until the launch has its READY or ERROR message;
/// the cloned child has its own copy of these pages, so nothing here is shared with it after clone.
final class PlanArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for b in blocks { free(b) } }

    func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    func string(_ s: String?) -> UnsafePointer<CChar>? { s.map { string($0) } }

    /// NULL-terminated array of C strings.
    func strings(_ list: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let p = array(UnsafePointer<CChar>?.self, count: list.count + 1)
        for (i, s) in list.enumerated() { p[i] = string(s) }
        p[list.count] = nil
        return UnsafePointer(p)
    }

    func array<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    func copy<T>(_ values: [T]) -> UnsafePointer<T> {
        let p = array(T.self, count: values.count)
        for (i, v) in values.enumerated() { p[i] = v }
        return UnsafePointer(p)
    }
}
