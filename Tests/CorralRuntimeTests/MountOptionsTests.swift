// MountOptions.classify: every option name of the table, filesystem data, refusals, and option order.
import XCTest
@testable import CorralRuntime

final class MountOptionsTests: XCTestCase {
    /// The classification of one option list, flattened to something Equatable and readable in a diff.
    struct Got: Equatable, CustomStringConvertible {
        var set: UInt64 = 0, clr: UInt64 = 0, rset: UInt64 = 0, rclr: UInt64 = 0
        var prop: UInt64 = 0, propRec = false
        var bind = false, recursive = false, remount = false
        var data: [String] = [], superblock: [String] = []
        var copyUp = false

        init(set: UInt64 = 0, clr: UInt64 = 0, rset: UInt64 = 0, rclr: UInt64 = 0, prop: UInt64 = 0, propRec: Bool = false,
             bind: Bool = false, recursive: Bool = false, remount: Bool = false, data: [String] = [], superblock: [String] = [],
             copyUp: Bool = false) {
            self.set = set; self.clr = clr; self.rset = rset; self.rclr = rclr; self.prop = prop; self.propRec = propRec
            self.bind = bind; self.recursive = recursive; self.remount = remount; self.data = data; self.superblock = superblock
            self.copyUp = copyUp
        }

        init(_ c: ClassifiedOptions) {
            self.init(set: c.attrSet, clr: c.attrClr, rset: c.rattrSet, rclr: c.rattrClr, prop: c.propagation,
                      propRec: c.propagationRecursive, bind: c.bind, recursive: c.recursive, remount: c.remount,
                      data: c.data, superblock: c.superblockFlags, copyUp: c.copyUp)
        }

        var description: String {
            func h(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
            return "set=\(h(set)) clr=\(h(clr)) rset=\(h(rset)) rclr=\(h(rclr)) prop=\(h(prop))\(propRec ? "(rec)" : "")"
                + " bind=\(bind) rec=\(recursive) remount=\(remount) data=\(data) sb=\(superblock) copyup=\(copyUp)"
        }
    }

    private func classify(_ opts: [String], file: StaticString = #filePath, line: UInt = #line) -> Got? {
        do { return Got(try MountOptions.classify(opts, path: "mounts[3].options")) } catch {
            XCTFail("\(opts) refused: \(error.message)", file: file, line: line)
            return nil
        }
    }

    private let atime = MountAttr.atimeMask

    func testEveryOptionName() {
        let table: [(String, Got)] = [
            ("ro", Got(set: MountAttr.rdonly)), ("rw", Got()),
            ("nosuid", Got(set: MountAttr.nosuid)), ("suid", Got()),
            ("nodev", Got(set: MountAttr.nodev)), ("dev", Got()),
            ("noexec", Got(set: MountAttr.noexec)), ("exec", Got()),
            ("noatime", Got(set: MountAttr.noatime, clr: atime)), ("atime", Got()),
            ("relatime", Got(set: MountAttr.relatime, clr: atime)), ("norelatime", Got()),
            ("strictatime", Got(set: MountAttr.strictatime, clr: atime)), ("nostrictatime", Got()),
            ("nodiratime", Got(set: MountAttr.nodiratime)), ("diratime", Got(clr: MountAttr.nodiratime)),
            ("nosymfollow", Got(set: MountAttr.nosymfollow)), ("symfollow", Got(clr: MountAttr.nosymfollow)),
            ("rro", Got(rset: MountAttr.rdonly)), ("rrw", Got(rclr: MountAttr.rdonly)),
            ("rnosuid", Got(rset: MountAttr.nosuid)), ("rsuid", Got(rclr: MountAttr.nosuid)),
            ("rnodev", Got(rset: MountAttr.nodev)), ("rdev", Got(rclr: MountAttr.nodev)),
            ("rnoexec", Got(rset: MountAttr.noexec)), ("rexec", Got(rclr: MountAttr.noexec)),
            ("rnodiratime", Got(rset: MountAttr.nodiratime)), ("rdiratime", Got(rclr: MountAttr.nodiratime)),
            ("rnoatime", Got(rset: MountAttr.noatime, rclr: atime)), ("ratime", Got(rset: MountAttr.relatime, rclr: atime)),
            ("rrelatime", Got(rset: MountAttr.relatime, rclr: atime)), ("rnorelatime", Got(rset: MountAttr.relatime, rclr: atime)),
            ("rstrictatime", Got(rset: MountAttr.strictatime, rclr: atime)),
            ("rnostrictatime", Got(rset: MountAttr.relatime, rclr: atime)),
            ("rnosymfollow", Got(rset: MountAttr.nosymfollow)), ("rsymfollow", Got(rclr: MountAttr.nosymfollow)),
            ("bind", Got(bind: true)), ("rbind", Got(bind: true, recursive: true)), ("remount", Got(remount: true)),
            ("private", Got(prop: Propagation.private)), ("rprivate", Got(prop: Propagation.private, propRec: true)),
            ("shared", Got(prop: Propagation.shared)), ("rshared", Got(prop: Propagation.shared, propRec: true)),
            ("slave", Got(prop: Propagation.slave)), ("rslave", Got(prop: Propagation.slave, propRec: true)),
            ("unbindable", Got(prop: Propagation.unbindable)), ("runbindable", Got(prop: Propagation.unbindable, propRec: true)),
            ("sync", Got(data: ["sync"], superblock: ["sync"])), ("async", Got()),
            ("dirsync", Got(data: ["dirsync"], superblock: ["dirsync"])),
            ("mand", Got(data: ["mand"], superblock: ["mand"])), ("nomand", Got()),
            ("lazytime", Got(data: ["lazytime"], superblock: ["lazytime"])), ("nolazytime", Got()),
            ("noiversion", Got()),
            ("defaults", Got()), ("silent", Got()), ("loud", Got()),
            ("tmpcopyup", Got(copyUp: true)),
        ]
        for (opt, want) in table {
            XCTAssertEqual(classify([opt]), want, opt)
        }
        // idmapped mounts (the maps come from the mount or the container, see MountPlanner.idmapOf).
        for (opts, recursive) in [(["idmap"], false), (["rbind", "ridmap"], true), (["ridmap", "idmap"], true)] {
            let c = try? MountOptions.classify(opts, path: "mounts[0].options")
            XCTAssertEqual(c?.idmap, true, "\(opts)")
            XCTAssertEqual(c?.idmapRecursive, recursive, "\(opts)")
        }
        // `corral features` lists exactly the options given a meaning here.
        XCTAssertEqual(MountOptions.recognized, (table.map { $0.0 } + ["idmap", "ridmap"]).sorted())
    }

    func testKernelValues() {
        // MOUNT_ATTR_* (linux/mount.h) and MS_* propagation: kernel ABI, checked once here.
        XCTAssertEqual([MountAttr.rdonly, MountAttr.nosuid, MountAttr.nodev, MountAttr.noexec, MountAttr.atimeMask,
                        MountAttr.relatime, MountAttr.noatime, MountAttr.strictatime, MountAttr.nodiratime, MountAttr.nosymfollow],
                       [0x1, 0x2, 0x4, 0x8, 0x70, 0x0, 0x10, 0x20, 0x80, 0x200000])
        XCTAssertEqual([Propagation.rec, Propagation.unbindable, Propagation.private, Propagation.slave, Propagation.shared],
                       [0x4000, 0x20000, 0x40000, 0x80000, 0x100000])
        XCTAssertEqual([MS.rdonly, MS.nosuid, MS.nodev, MS.noexec, MS.synchronous, MS.mandlock, MS.dirsync, MS.nosymfollow,
                        MS.noatime, MS.nodiratime, MS.silent, MS.relatime, MS.iVersion, MS.strictatime, MS.lazytime],
                       [1, 2, 4, 8, 16, 64, 128, 256, 1024, 2048, 1 << 15, 1 << 21, 1 << 23, 1 << 24, 1 << 25])
    }

    func testFilesystemDataKeepsOrderAndText() {
        XCTAssertEqual(classify(["mode=755", "nosuid", "size=65536k", "uid=0", "gid=5", "newinstance", "ptmxmode=0666", "RO"]),
                       Got(set: MountAttr.nosuid, data: ["mode=755", "size=65536k", "uid=0", "gid=5", "newinstance", "ptmxmode=0666", "RO"]))
    }

    func testCombinations() {
        XCTAssertEqual(classify(["rbind", "bind"]), Got(bind: true, recursive: true), "rbind is not undone by bind")
        XCTAssertEqual(classify(["noatime", "strictatime"]), Got(set: MountAttr.strictatime, clr: atime), "atime is one enum: last wins")
        XCTAssertEqual(classify(["nodiratime", "diratime"]), Got(clr: MountAttr.nodiratime))
        XCTAssertEqual(classify(["diratime", "nodiratime"]), Got(set: MountAttr.nodiratime))
        XCTAssertEqual(classify(["rro", "rrw"]), Got(rclr: MountAttr.rdonly))
        XCTAssertEqual(classify(["private", "rshared"]), Got(prop: Propagation.shared, propRec: true), "last propagation wins")
        XCTAssertEqual(classify(["rnoatime", "noexec", "rro", "sync", "dirsync"]),
                       Got(set: MountAttr.noexec, rset: MountAttr.rdonly | MountAttr.noatime, rclr: atime,
                           data: ["sync", "dirsync"], superblock: ["sync", "dirsync"]))
    }

    /// mount(8) and runc: of two contradicting options the later one wins (runc keeps a "clear" bit per flag).
    func testLaterOptionOverridesEarlierOne() {
        let cases: [([String], String, (Got) -> Bool)] = [
            (["ro", "rw"], "rw after ro leaves the mount writable", { $0.set & MountAttr.rdonly == 0 }),
            (["nosuid", "suid"], "suid after nosuid", { $0.set & MountAttr.nosuid == 0 }),
            (["nodev", "dev"], "dev after nodev", { $0.set & MountAttr.nodev == 0 }),
            (["noexec", "exec"], "exec after noexec", { $0.set & MountAttr.noexec == 0 }),
            (["noatime", "atime"], "atime after noatime", { $0.set & MountAttr.atimeMask != MountAttr.noatime }),
            (["strictatime", "nostrictatime"], "nostrictatime after strictatime",
             { $0.set & MountAttr.atimeMask != MountAttr.strictatime }),
            (["sync", "async"], "async after sync", { !$0.data.contains("sync") }),
            (["mand", "nomand"], "nomand after mand", { !$0.data.contains("mand") }),
        ]
        for (opts, what, ok) in cases {
            guard let got = classify(opts) else { continue }
            XCTAssertTrue(ok(got), "\(what): \(opts) classified as \(got)")
        }
    }

    /// The mount(2) flags a bind mount decides with: set, or cleared explicitly, the later option winning (runc's
    /// Flags and ClearedFlags).
    func testMountFlagsSetAndClearedExplicitly() throws {
        func ms(_ opts: [String]) throws -> [UInt64] {
            let c = try MountOptions.classify(opts, path: "o")
            return [c.msFlags, c.msCleared]
        }
        XCTAssertEqual(try ms(["bind", "rprivate", "rro"]), [0, 0])
        XCTAssertEqual(try ms(["ro", "rw"]), [0, MS.rdonly])
        XCTAssertEqual(try ms(["rw", "ro"]), [MS.rdonly, 0])
        XCTAssertEqual(try ms(["nodiratime", "norelatime", "suid"]), [MS.nodiratime, MS.relatime | MS.nosuid])
        XCTAssertEqual(try ms(["sync", "loud", "noiversion"]), [MS.synchronous, MS.silent | MS.iVersion])
    }

    func testRefusals() {
        let cases: [([String], RuntimeError.Code, String)] = [
            (["rw", ""], .config, "mounts[3].options[1]: empty mount option"),
            (["iversion"], .unsupported, "mounts[3].options[0]: mount option \"iversion\" cannot be requested through the new mount API (fsconfig has no i_version flag)"),
        ]
        for (opts, code, message) in cases {
            do {
                let c = try MountOptions.classify(opts, path: "mounts[3].options")
                XCTFail("\(opts) accepted: \(Got(c))")
            } catch {
                XCTAssertEqual(error.message, message)
                XCTAssertEqual(error.code, code, message)
            }
        }
    }
}
