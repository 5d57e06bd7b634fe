// Running host commands for the integration tests: posix_spawn + pipes + poll, no Foundation.
import Glibc

/// Result of a finished command.
struct ProcResult: CustomStringConvertible {
    /// Exit code, or 128+signal when the process was killed by a signal.
    var status: Int32
    var stdout: String
    var stderr: String
    /// True when the command was SIGKILLed because it exceeded its timeout.
    var timedOut: Bool

    var description: String {
        "status=\(status)\(timedOut ? " (TIMED OUT)" : "")\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)--------------"
    }
}

/// The test process must survive writing to a pipe whose reader died (a container that exits
/// without reading its stdin); children get SIGPIPE back to default via posix_spawnattr.
private let ignoreSIGPIPEOnce: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

/// Monotonic clock in seconds.
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs argv (absolute path or PATH lookup) with optional stdin bytes (nil = /dev/null), capturing
/// stdout/stderr, SIGKILLing it after `timeout` seconds. `env` entries are added to (or replace
/// entries of) the test process's environment; `cwd` runs the command in that directory.
///
/// The call returns as soon as the *direct* child has exited and the pipes have been drained of
/// what is buffered: a detached container may keep the pipes open forever, so waiting for EOF
/// would hang (`create` and `run --detach` hand their stdio to the container init).
func runCommand(_ argv: [String], stdin: [UInt8]? = nil, env: [String: String] = [:], timeout: Double = 20,
                cwd: String? = nil) -> ProcResult {
    _ = ignoreSIGPIPEOnce
    precondition(!argv.isEmpty, "runCommand needs argv[0]")

    func makePipe() -> (r: Int32, w: Int32) {
        var fds: [Int32] = [-1, -1]
        // pipe2 is not visible from Swift's Glibc module; the test process is single-threaded,
        // so setting FD_CLOEXEC right after pipe() cannot race with another spawn.
        guard pipe(&fds) == 0 else { fatalError("pipe: \(errnoString())") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
    let outPipe = makePipe()
    let errPipe = makePipe()
    let inPipe: (r: Int32, w: Int32)? = stdin.map { _ in makePipe() }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let inPipe {
        posix_spawn_file_actions_adddup2(&actions, inPipe.r, 0)
    } else {
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, outPipe.w, 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe.w, 2)

    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU] {
        sigaddset(&defaults, sig)
    }
    var emptyMask = sigset_t()
    sigemptyset(&emptyMask)
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setsigmask(&attr, &emptyMask)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    // Environment: ours, overlaid with `env`.
    var envList: [String] = []
    var overridden = Set<String>()
    if let environ = Glibc.environ as UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        var i = 0
        while let entry = environ[i] {
            let s = String(cString: entry)
            let key = String(s.prefix(while: { $0 != "=" }))
            if env[key] != nil { overridden.insert(key) } else { envList.append(s) }
            i += 1
        }
    }
    for (k, v) in env.sorted(by: { $0.key < $1.key }) { envList.append("\(k)=\(v)") }

    let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    let cEnv: [UnsafeMutablePointer<CChar>?] = envList.map { strdup($0) } + [nil]
    defer {
        for p in cArgv { free(p) }
        for p in cEnv { free(p) }
    }

    // posix_spawn_file_actions_addchdir_np is not visible from Swift; the test process is
    // single-threaded, so switching our own cwd around the spawn is safe.
    var savedCwd: String?
    if let cwd {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if getcwd(&buf, buf.count) != nil { savedCwd = String(cString: buf) }
        guard chdir(cwd) == 0 else { fatalError("chdir \(cwd): \(errnoString())") }
    }
    var pid: pid_t = 0
    let rc: Int32 = cArgv.withUnsafeBufferPointer { argvBuf in
        cEnv.withUnsafeBufferPointer { envBuf in
            let argvPtr = UnsafeMutablePointer(mutating: argvBuf.baseAddress!)
            let envPtr = UnsafeMutablePointer(mutating: envBuf.baseAddress!)
            if argv[0].contains("/") {
                return posix_spawn(&pid, argv[0], &actions, &attr, argvPtr, envPtr)
            }
            return posix_spawnp(&pid, argv[0], &actions, &attr, argvPtr, envPtr)
        }
    }
    if let savedCwd { _ = chdir(savedCwd) }

    close(outPipe.w)
    close(errPipe.w)
    if let inPipe { close(inPipe.r) }
    if rc != 0 {
        close(outPipe.r)
        close(errPipe.r)
        if let inPipe { close(inPipe.w) }
        return ProcResult(status: 127, stdout: "", stderr: "runCommand: cannot spawn \(argv[0]): \(String(cString: strerror(rc)))\n",
                          timedOut: false)
    }

    var outFD: Int32 = outPipe.r
    var errFD: Int32 = errPipe.r
    var inFD: Int32 = inPipe?.w ?? -1
    for fd in [outFD, errFD, inFD] where fd >= 0 {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    let input = stdin ?? []
    var inputOffset = 0
    if inFD >= 0 && input.isEmpty {
        close(inFD)
        inFD = -1
    }
    var outBytes: [UInt8] = []
    var errBytes: [UInt8] = []

    /// Reads whatever is available; closes the fd on EOF or error.
    func drain(_ fd: inout Int32, into bytes: inout [UInt8]) {
        guard fd >= 0 else { return }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: buf[0..<n])
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            close(fd)
            fd = -1
            return
        }
    }

    let deadline = monotonicNow() + timeout
    var exited = false
    var timedOut = false
    var waitStatus: Int32 = 0
    while true {
        var pfds: [pollfd] = []
        if outFD >= 0 { pfds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
        if errFD >= 0 { pfds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
        if inFD >= 0 { pfds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
        _ = poll(&pfds, nfds_t(pfds.count), 10)
        drain(&outFD, into: &outBytes)
        drain(&errFD, into: &errBytes)
        if inFD >= 0 {
            while inputOffset < input.count {
                let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + inputOffset, input.count - inputOffset) }
                if n > 0 { inputOffset += n; continue }
                if n < 0 && (errno == EAGAIN || errno == EINTR) { break }
                inputOffset = input.count  // EPIPE: the reader is gone
            }
            if inputOffset >= input.count {
                close(inFD)
                inFD = -1
            }
        }
        if exited { break }
        let r = waitpid(pid, &waitStatus, WNOHANG)
        if r == pid {
            exited = true
            continue  // one more round to drain what the child wrote just before exiting
        }
        if monotonicNow() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &waitStatus, 0)
            timedOut = true
            exited = true
            continue
        }
    }
    for fd in [outFD, errFD, inFD] where fd >= 0 { close(fd) }

    let termSig = waitStatus & 0x7f
    let status: Int32 = termSig == 0 ? (waitStatus >> 8) & 0xff : 128 + termSig
    return ProcResult(status: status, stdout: String(decoding: outBytes, as: UTF8.self),
                      stderr: String(decoding: errBytes, as: UTF8.self), timedOut: timedOut)
}

/// strerror(errno) as a Swift string.
func errnoString(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Starts argv in the background with stdio on /dev/null and returns its pid; the caller waits for it (waitpid)
/// or kills it. For commands a test interrupts (SIGKILL of a runtime mid-create, a foreground `run`).
func spawnBackground(_ argv: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for p in cArgv { free(p) } }
    var pid: pid_t = 0
    let rc = cArgv.withUnsafeBufferPointer { buf in
        posix_spawn(&pid, argv[0], &actions, nil, UnsafeMutablePointer(mutating: buf.baseAddress!), Glibc.environ)
    }
    if rc != 0 { throw HarnessError("posix_spawn \(argv[0]): \(errnoString(rc))") }
    return pid
}
