import CCorral
import Glibc

/// Copies between our stdio and the pty master of a container we started in the foreground (runc does the same
/// when `run` has a terminal and no --console-socket). Our terminal is put in raw mode meanwhile.
final class TerminalRelay {
    let master: Int32
    private var saved: termios?
    private(set) var draining = true
    private var stdinOpen = true

    init(master: Int32) {
        self.master = master
        var t = termios()
        if isatty(0) != 0 && tcgetattr(0, &t) == 0 {
            saved = t
            var raw = t
            cfmakeraw(&raw)
            tcsetattr(0, TCSANOW, &raw)
        }
        copyWindowSize()
    }

    func copyWindowSize() {
        var ws = winsize()
        if ioctl(0, UInt(TIOCGWINSZ), &ws) == 0 { _ = corral_ioctl_winsize(master, ws.ws_row, ws.ws_col) }
    }

    func pollFDs() -> [pollfd] {
        [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
         pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
    }

    func service(_ fds: [pollfd]) {
        guard fds.count == 2 else { return }
        var buf = [UInt8](repeating: 0, count: 32768)
        if fds[0].revents != 0 {
            let n = buf.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 { _ = buf.withUnsafeBytes { Files.writeAll(1, UnsafeRawBufferPointer(rebasing: $0[0..<n])) } } else { draining = false }
        }
        if fds[1].revents != 0 {
            let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n > 0 { _ = buf.withUnsafeBytes { Files.writeAll(master, UnsafeRawBufferPointer(rebasing: $0[0..<n])) } } else { stdinOpen = false }
        }
    }

    func restore() {
        if var t = saved { tcsetattr(0, TCSANOW, &t) }
        close(master)
    }
}
