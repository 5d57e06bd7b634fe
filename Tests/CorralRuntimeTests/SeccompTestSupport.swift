// A classic-BPF interpreter over `struct seccomp_data`, so the unit tests can ask a compiled filter what it returns for
// a syscall (number, architecture, arguments) without loading it into the kernel.
import Glibc
@testable import CorralRuntime
import CorralSpec

/// AUDIT_ARCH_* values as they appear in `seccomp_data.arch`.
enum AuditArch {
    static let x86_64: UInt32 = 0xC000_003E
    static let i386: UInt32 = 0x4000_0003
    /// x32 syscalls use the x86_64 audit arch with bit 30 set in the number.
    static let x32Bit: Int32 = 0x4000_0000
}

/// Runs a seccomp BPF program (`struct sock_filter` records) like the kernel's classic BPF interpreter.
struct BPFProgram {
    struct Insn { var code: UInt16; var jt: UInt8; var jf: UInt8; var k: UInt32 }
    let insns: [Insn]

    init(_ bytes: [UInt8]) {
        var out: [Insn] = []
        var i = 0
        while i + 8 <= bytes.count {
            let code = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
            let k = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
            out.append(Insn(code: code, jt: bytes[i + 2], jf: bytes[i + 3], k: k))
            i += 8
        }
        insns = out
    }

    /// The filter's return value (SECCOMP_RET_*), or nil when the program is malformed (falls off its end, bad
    /// opcode, out-of-range load): the kernel would have refused it.
    func run(nr: Int32, arch: UInt32 = AuditArch.x86_64, args: [UInt64] = []) -> UInt32? {
        var data = [UInt8](repeating: 0, count: 64)
        func put32(_ off: Int, _ v: UInt32) { for b in 0..<4 { data[off + b] = UInt8(truncatingIfNeeded: v >> UInt32(8 * b)) } }
        put32(0, UInt32(bitPattern: nr))
        put32(4, arch)
        for (i, a) in args.prefix(6).enumerated() {
            put32(16 + i * 8, UInt32(truncatingIfNeeded: a))
            put32(20 + i * 8, UInt32(truncatingIfNeeded: a >> 32))
        }
        var a: UInt32 = 0, x: UInt32 = 0
        var mem = [UInt32](repeating: 0, count: 16)
        var pc = 0
        var steps = 0
        while pc < insns.count {
            steps += 1
            if steps > 100_000 { return nil }
            let ins = insns[pc]
            let cls = ins.code & 0x07
            switch cls {
            case 0x00, 0x01: // LD, LDX
                let mode = ins.code & 0xe0
                var v: UInt32
                switch mode {
                case 0x00: v = ins.k // IMM
                case 0x20: // ABS
                    guard ins.code & 0x18 == 0x00, Int(ins.k) + 4 <= 64, ins.k % 4 == 0 else { return nil }
                    let o = Int(ins.k)
                    v = UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
                case 0x60: guard ins.k < 16 else { return nil }; v = mem[Int(ins.k)] // MEM
                case 0x80: v = 64 // LEN
                default: return nil
                }
                if cls == 0x00 { a = v } else { x = v }
                pc += 1
            case 0x02: guard ins.k < 16 else { return nil }; mem[Int(ins.k)] = a; pc += 1 // ST
            case 0x03: guard ins.k < 16 else { return nil }; mem[Int(ins.k)] = x; pc += 1 // STX
            case 0x04: // ALU
                let src = ins.code & 0x08 != 0 ? x : ins.k
                switch ins.code & 0xf0 {
                case 0x00: a = a &+ src
                case 0x10: a = a &- src
                case 0x20: a = a &* src
                case 0x30: guard src != 0 else { return nil }; a = a / src
                case 0x40: a |= src
                case 0x50: a &= src
                case 0x60: a = src >= 32 ? 0 : a << src
                case 0x70: a = src >= 32 ? 0 : a >> src
                case 0x80: a = 0 &- a
                case 0x90: guard src != 0 else { return nil }; a = a % src
                case 0xa0: a ^= src
                default: return nil
                }
                pc += 1
            case 0x05: // JMP
                let src = ins.code & 0x08 != 0 ? x : ins.k
                let op = ins.code & 0xf0
                if op == 0x00 { pc += 1 + Int(ins.k); continue } // JA
                let taken: Bool
                switch op {
                case 0x10: taken = a == src
                case 0x20: taken = a > src
                case 0x30: taken = a >= src
                case 0x40: taken = a & src != 0
                default: return nil
                }
                pc += 1 + Int(taken ? ins.jt : ins.jf)
            case 0x06: // RET
                return ins.code & 0x18 == 0x10 ? a : ins.k
            case 0x07: // MISC
                if ins.code & 0xf8 == 0x00 { x = a } else { a = x }
                pc += 1
            default:
                return nil
            }
        }
        return nil
    }

    /// Instruction codes present (to look for the binary tree's range jumps).
    var codes: Set<UInt16> { Set(insns.map { $0.code }) }
}

/// x86_64 syscall numbers used by the tables (asked from libseccomp, so they match what it compiled).
func nr(_ name: String) -> Int32 {
    guard let n = SeccompCompiler.syscallNumber(name) else { fatalError("libseccomp does not know \(name)") }
    return n
}

/// Short builders for profiles.
func rule(_ names: [String], _ action: SeccompAction, errno: UInt32? = nil, args: [SeccompArg]? = nil) -> Syscall {
    Syscall(names: names, action: action, errnoRet: errno, args: args)
}

func arg(_ index: UInt32, _ op: SeccompOperator, _ value: UInt64, _ two: UInt64? = nil) -> SeccompArg {
    SeccompArg(index: index, value: value, valueTwo: two, op: op)
}

/// Compiles `s` without a cache; returns the program and the debug notes.
func compileProfile(_ s: Seccomp) throws -> (BPFProgram, SeccompProgram, [String]) {
    var notes: [String] = []
    guard let p = try SeccompPlanner.plan(s, cacheDir: nil, note: { notes.append($0) }) else {
        throw RuntimeError(.config, "no program")
    }
    return (BPFProgram(p.filter), p, notes)
}

/// SECCOMP_RET_* shorthands for expectations.
enum Ret {
    static let allow: UInt32 = 0x7fff_0000
    static let killThread: UInt32 = 0
    static let killProcess: UInt32 = 0x8000_0000
    static let trap: UInt32 = 0x0003_0000
    static let log: UInt32 = 0x7ffc_0000
    static let notify: UInt32 = 0x7fc0_0000
    static func errno(_ e: Int32) -> UInt32 { 0x0005_0000 | UInt32(e) }
    static func trace(_ d: UInt32) -> UInt32 { 0x7ff0_0000 | d }
}

/// A fresh directory under /tmp for cache tests (caller removes it).
func makeScratchDir() -> String {
    var template = Array("/tmp/corral-seccomp-test-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return p.map { String(cString: $0) } ?? "/tmp"
}

func removeTree(_ path: String) {
    Files.removeAll(path)
}
