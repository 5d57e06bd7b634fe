import Glibc
import XCTest

@testable import CorralSpec

/// A minimal valid config with `extra` members spliced into the top-level object.
func cfg(_ extra: String = "", version: String = "1.0.2-dev") -> String {
    #"{"ociVersion":"\#(version)","root":{"path":"rootfs"}"# + (extra.isEmpty ? "" : "," + extra) + "}"
}

func specError(_ text: String) -> String? {
    do {
        _ = try Spec.parse(Array(text.utf8))
        return nil
    } catch {
        return error.description
    }
}

final class SpecTests: XCTestCase {
    // MARK: real engine configs

    func loadFixture(_ name: String) throws -> [UInt8] {
        guard let bytes = readTestFile(dataDir + name) else { throw XCTSkip("\(dataDir + name) is not present") }
        return bytes
    }

    func testDockerHardenedConfig() throws {
        let spec = try Spec.parse(try loadFixture("hardened-config.docker.pretty.json"))
        XCTAssertEqual(spec.ociVersion, "1.0.2-dev")
        XCTAssertEqual(spec.root?.readonly, true)
        let p = try XCTUnwrap(spec.process)
        XCTAssertEqual(p.user, User(uid: 1001, gid: 1001, additionalGids: [1001]))
        XCTAssertEqual(p.cwd, "/")
        XCTAssertEqual(p.noNewPrivileges, true)
        XCTAssertEqual(p.oomScoreAdj, 0)
        XCTAssertEqual(p.capabilities, Capabilities(bounding: ["CAP_NET_BIND_SERVICE"]))
        XCTAssertNil(p.terminal)
        XCTAssertNil(p.rlimits)
        let linux = try XCTUnwrap(spec.linux)
        XCTAssertEqual(linux.sysctl?["net.ipv4.ping_group_range"], "0 2147483647")
        XCTAssertEqual(linux.namespaces?.map { $0.type }, [.mount, .network, .uts, .pid, .ipc])
        let r = try XCTUnwrap(linux.resources)
        XCTAssertEqual(r.memory?.limit, 536_870_912)
        XCTAssertEqual(r.memory?.swap, 1_073_741_824)
        XCTAssertEqual(r.memory?.disableOOMKiller, false)
        XCTAssertEqual(r.cpu?.quota, 50000)
        XCTAssertEqual(r.cpu?.shares, 0)
        XCTAssertEqual(r.pids?.limit, 64)
        XCTAssertEqual(r.blockIO?.weight, 0)
        XCTAssertEqual(r.devices?.last, DeviceCgroup(allow: false, type: .c, major: 10, minor: 229, access: "rwm"))
        let seccomp = try XCTUnwrap(linux.seccomp)
        XCTAssertEqual(seccomp.defaultAction, .SCMP_ACT_ERRNO)
        XCTAssertEqual(seccomp.architectures, [.SCMP_ARCH_X86_64, .SCMP_ARCH_X86, .SCMP_ARCH_X32])
        XCTAssertEqual(seccomp.syscalls?.count, 11)
        XCTAssertEqual(
            seccomp.syscalls?.first(where: { $0.args != nil })?.args,
            [SeccompArg(index: 0, value: 0, op: .SCMP_CMP_EQ)])
        XCTAssertEqual(spec.hooks?.prestart?.first?.path, "/proc/10370/exe")
        XCTAssertNil(spec.hooks?.poststop)
        XCTAssertEqual(spec.mounts?.last?.options, ["rbind", "ro", "rprivate"])
        XCTAssertTrue(linux.maskedPaths?.contains("/proc/kcore") ?? false)
    }

    func testPodmanAndCtrHardenedConfigs() throws {
        let podman = try Spec.parse(try loadFixture("hardened-config.podman.pretty.json"))
        XCTAssertNotNil(podman.annotations)
        XCTAssertNotNil(podman.linux?.seccomp?.defaultErrnoRet)
        XCTAssertEqual(podman.linux?.resources?.pids?.limit, 64)
        XCTAssertNil(podman.linux?.resources?.cpu?.shares)

        let ctr = try Spec.parse(try loadFixture("hardened-config.ctr.pretty.json"))
        XCTAssertEqual(ctr.linux?.resources?.cpu?.shares, 1024)
        // A wildcard minor is absent, not 0.
        let wild = ctr.linux?.resources?.devices?.first(where: { $0.major == 136 })
        XCTAssertNotNil(wild)
        XCTAssertNil(wild?.minor)
        XCTAssertNil(ctr.hooks)
    }

    func testExecProcessFiles() throws {
        let docker = try Spec.parseProcess(try loadFixture("exec-process.docker.json"))
        XCTAssertEqual(docker.args, ["sh", "-c", "echo exec-ok; id"])
        XCTAssertEqual(docker.user, User(uid: 0, gid: 0, additionalGids: [0]))
        XCTAssertEqual(docker.capabilities?.bounding?.count, 14)
        XCTAssertNil(docker.capabilities?.ambient)
        XCTAssertEqual(docker.oomScoreAdj, 0)

        let podman = try Spec.parseProcess(try loadFixture("exec-process.podman.json"))
        XCTAssertEqual(
            podman.rlimits,
            [
                POSIXRlimit(type: .RLIMIT_NOFILE, hard: 20000, soft: 20000),
                POSIXRlimit(type: .RLIMIT_NPROC, hard: 32768, soft: 32768),
            ])
        XCTAssertNil(podman.oomScoreAdj)
    }

    func testUpdateResourcesFiles() throws {
        let docker = try Spec.parseResources(try loadFixture("update-resources.docker-stdin.json"))
        XCTAssertEqual(docker.memory, Memory(limit: 268_435_456, reservation: 0, swap: 268_435_456, kernel: 0))
        XCTAssertEqual(docker.cpu, CPU(shares: 0, quota: 100_000, period: 100_000))
        XCTAssertEqual(docker.pids, Pids(limit: 100))
        let podman = try Spec.parseResources(try loadFixture("update-resources.podman-file.json"))
        XCTAssertEqual(podman, Resources(memory: Memory(limit: 268_435_456, swap: 536_870_912)))
    }

    // MARK: absent vs empty, unknown keys

    func testAbsentVersusEmpty() throws {
        let absent = try Spec.parse(Array(cfg().utf8))
        XCTAssertNil(absent.mounts)
        XCTAssertNil(absent.process)
        XCTAssertNil(absent.linux)
        XCTAssertNil(absent.hostname)

        let empty = try Spec.parse(Array(cfg(#""mounts":[],"hostname":"","linux":{"namespaces":[],"maskedPaths":[]}"#).utf8))
        XCTAssertEqual(empty.mounts, [])
        XCTAssertEqual(empty.hostname, "")
        XCTAssertEqual(empty.linux?.namespaces, [])
        XCTAssertEqual(empty.linux?.maskedPaths, [])
        XCTAssertNil(empty.linux?.readonlyPaths)
        XCTAssertNil(empty.linux?.resources)

        // Go decodes null as "absent".
        let nulls = try Spec.parse(Array(cfg(#""mounts":null,"linux":{"sysctl":null}"#).utf8))
        XCTAssertNil(nulls.mounts)
        XCTAssertNil(nulls.linux?.sysctl)

        let p = try Spec.parseProcess(Array(#"{"user":{"uid":0,"gid":0},"cwd":"/","args":[],"env":[]}"#.utf8))
        XCTAssertEqual(p.args, [])
        XCTAssertEqual(p.env, [])
        XCTAssertNil(p.capabilities)
        XCTAssertNil(p.user.additionalGids)
    }

    func testUnknownKeysIgnored() throws {
        let s = try Spec.parse(
            Array(
                cfg(
                    #""future":{"x":1},"windows":{"layerFolders":null},"linux":{"newThing":[1,2],"namespaces":[{"type":"pid","extra":true}]},"process":{"user":{"uid":1,"gid":2,"zz":0},"cwd":"/","later":"x"}"#
                ).utf8))
        XCTAssertEqual(s.linux?.namespaces, [Namespace(type: .pid)])
        XCTAssertEqual(s.process?.user, User(uid: 1, gid: 2))
    }

    func testEveryFieldDecodes() throws {
        let text = cfg(
            #"""
            "hostname":"h","domainname":"d","annotations":{"a":"b"},
            "process":{"terminal":true,"consoleSize":{"height":24,"width":80},"user":{"uid":1,"gid":2,"umask":18,"additionalGids":[3,4],"username":"u"},
              "args":["sh"],"commandLine":"c","env":["A=b"],"cwd":"/w",
              "capabilities":{"bounding":["CAP_KILL"],"effective":[],"inheritable":[],"permitted":["CAP_KILL"],"ambient":[]},
              "rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1024},{"type":"RLIMIT_LOCKS","hard":1,"soft":1}],
              "noNewPrivileges":false,"apparmorProfile":"ap","oomScoreAdj":-1000,
              "scheduler":{"policy":"SCHED_DEADLINE","nice":-5,"priority":1,"flags":["SCHED_FLAG_RESET_ON_FORK"],"runtime":1,"deadline":2,"period":3},
              "selinuxLabel":"sl","ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":7},"execCPUAffinity":{"initial":"0","final":"0-3"}},
            "mounts":[{"destination":"/m","type":"bind","source":"/s","options":["rbind","idmap"],
              "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],"gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]},
              {"destination":"relative/ok"}],
            "hooks":{"prestart":[{"path":"/p"}],"createRuntime":[{"path":"/cr","args":["cr","x"],"env":["E=1"],"timeout":5}],
              "createContainer":[{"path":"/cc"}],"startContainer":[{"path":"/sc"}],"poststart":[{"path":"/ps"}],"poststop":[{"path":"/pp"}]},
            "linux":{"uidMappings":[{"containerID":0,"hostID":1000,"size":1}],"gidMappings":[{"containerID":0,"hostID":1000,"size":1}],
              "sysctl":{"net.ipv4.ip_forward":"1"},"cgroupsPath":"system.slice:corral:x",
              "namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/x"},{"type":"mount"},{"type":"ipc"},{"type":"uts"},{"type":"user"},{"type":"cgroup"},{"type":"time"}],
              "devices":[{"type":"c","path":"/dev/fuse","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0},{"type":"p","path":"/dev/fifo"}],
              "netDevices":{"eth1":{"name":"net0"},"eth2":{}},
              "seccomp":{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_AARCH64"],
                "flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],"listenerPath":"/run/l.sock","listenerMetadata":"m",
                "syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["ptrace"],"action":"SCMP_ACT_TRACE","errnoRet":1},
                  {"names":["personality"],"action":"SCMP_ACT_NOTIFY","args":[{"index":0,"value":18446744073709551615,"valueTwo":7,"op":"SCMP_CMP_MASKED_EQ"}]}]},
              "rootfsPropagation":"rslave","maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],"mountLabel":"ml",
              "intelRdt":{"closID":"c","l3CacheSchema":"L3:0=f","memBwSchema":"MB:0=50","schemata":["L2:0=f"],"enableMonitoring":true},
              "personality":{"domain":"LINUX32","flags":[]},
              "timeOffsets":{"monotonic":{"secs":-10,"nanosecs":5},"boottime":{"secs":3}},
              "memoryPolicy":{"mode":"MPOL_INTERLEAVE","nodes":"0-1","flags":["MPOL_F_STATIC_NODES"]},
              "resources":{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}],
                "memory":{"limit":-1,"reservation":1,"swap":-1,"kernel":0,"kernelTCP":0,"swappiness":60,"disableOOMKiller":true,"useHierarchy":true,"checkBeforeUpdate":true},
                "cpu":{"shares":1024,"quota":-1,"burst":0,"period":100000,"realtimeRuntime":-1,"realtimePeriod":1,"cpus":"0-1","mems":"0","idle":1},
                "pids":{"limit":-1},
                "blockIO":{"weight":500,"leafWeight":10,"weightDevice":[{"major":8,"minor":0,"weight":100,"leafWeight":5}],
                  "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],"throttleWriteBpsDevice":[],"throttleReadIOPSDevice":[],"throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":10}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":0}],
                "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":1}]},
                "rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":10000}},
                "unified":{"memory.high":"max"}}}
            """#, version: "1.3.0")
        let s = try Spec.parse(Array(text.utf8))
        let p = try XCTUnwrap(s.process)
        XCTAssertEqual(p.consoleSize, Box(height: 24, width: 80))
        XCTAssertEqual(p.user, User(uid: 1, gid: 2, umask: 18, additionalGids: [3, 4], username: "u"))
        XCTAssertEqual(p.rlimits?[0].hard, UInt64.max)
        XCTAssertEqual(p.rlimits?[1].type.resource, 10)
        XCTAssertEqual(p.capabilities?.effective, [])
        XCTAssertEqual(p.oomScoreAdj, -1000)
        XCTAssertEqual(
            p.scheduler,
            Scheduler(policy: .SCHED_DEADLINE, nice: -5, priority: 1, flags: [.SCHED_FLAG_RESET_ON_FORK], runtime: 1, deadline: 2, period: 3))
        XCTAssertEqual(p.ioPriority?.class, .IOPRIO_CLASS_IDLE)
        XCTAssertEqual(p.execCPUAffinity, CPUAffinity(initial: "0", final: "0-3"))
        XCTAssertEqual(s.mounts?[0].uidMappings, [IDMapping(containerID: 0, hostID: 100000, size: 65536)])
        XCTAssertEqual(s.mounts?[1].destination, "relative/ok")
        XCTAssertEqual(s.hooks?.createRuntime, [Hook(path: "/cr", args: ["cr", "x"], env: ["E=1"], timeout: 5)])
        XCTAssertEqual(s.hooks?.poststop?.count, 1)
        let l = try XCTUnwrap(s.linux)
        XCTAssertEqual(l.namespaces?.count, 8)
        XCTAssertEqual(l.namespaces?[1].path, "/var/run/netns/x")
        XCTAssertEqual(l.devices?[0], Device(type: .c, path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0))
        XCTAssertEqual(l.devices?[1], Device(type: .p, path: "/dev/fifo"))
        XCTAssertEqual(l.netDevices, ["eth1": NetDevice(name: "net0"), "eth2": NetDevice()])
        XCTAssertEqual(l.seccomp?.syscalls?[2].args?[0].value, UInt64.max)
        XCTAssertEqual(l.seccomp?.syscalls?[2].args?[0].valueTwo, 7)
        XCTAssertEqual(l.seccomp?.flags, [.SECCOMP_FILTER_FLAG_TSYNC, .SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV])
        XCTAssertEqual(l.rootfsPropagation, .rslave)
        XCTAssertEqual(l.intelRdt?.schemata, ["L2:0=f"])
        XCTAssertEqual(l.personality, Personality(domain: .LINUX32, flags: []))
        XCTAssertEqual(l.timeOffsets?["monotonic"], TimeOffset(secs: -10, nanosecs: 5))
        XCTAssertEqual(l.memoryPolicy, MemoryPolicy(mode: .MPOL_INTERLEAVE, nodes: "0-1", flags: [.MPOL_F_STATIC_NODES]))
        let r = try XCTUnwrap(l.resources)
        XCTAssertEqual(r.memory?.limit, -1)
        XCTAssertEqual(r.cpu?.quota, -1)
        XCTAssertEqual(r.cpu?.idle, 1)
        XCTAssertEqual(r.pids?.limit, -1)
        XCTAssertEqual(r.blockIO?.weightDevice, [WeightDevice(major: 8, minor: 0, weight: 100, leafWeight: 5)])
        XCTAssertEqual(r.blockIO?.throttleWriteBpsDevice, [])
        XCTAssertEqual(r.blockIO?.throttleWriteIOPSDevice, [ThrottleDevice(major: 8, minor: 16, rate: 10)])
        XCTAssertEqual(r.hugepageLimits, [HugepageLimit(pageSize: "2MB", limit: 0)])
        XCTAssertEqual(r.network, Network(classID: 1_048_577, priorities: [InterfacePriority(name: "eth0", priority: 1)]))
        XCTAssertEqual(r.rdma?["mlx5_1"], Rdma(hcaHandles: 3, hcaObjects: 10000))
        XCTAssertEqual(r.unified, ["memory.high": "max"])
    }

    // MARK: versions

    func testVersions() {
        for good in ["1.0.0", "1.0.2-dev", "1.0.0-rc5", "1.1.0", "1.2.1", "1.3.0", "1.3.0+dev", "1.3.12", "1.2.0-rc.1+build.5"] {
            XCTAssertNil(specError(cfg(version: good)), good)
        }
        for bad in ["0.9.0", "2.0.0", "1.4.0", "9.0", "1.0", "", "1.01.0", "1.3.0-", "v1.0.0", "1.3.x", "1.0.0.0", " 1.0.0"] {
            XCTAssertEqual(
                specError(cfg(version: bad)),
                "ociVersion: unsupported version \(JSONValue.quoted(bad)) (supported: 1.0.0 to 1.3.x)", bad)
        }
    }

    // MARK: bad values, exact messages

    func testRejections() {
        let rl = RlimitType.supportedList
        let cases: [(String, String)] = [
            (#"{"root":{"path":"r"}}"#, "ociVersion: required field is missing"),
            (#"{"ociVersion":1}"#, "ociVersion: expected string, got 1"),
            ("[]", "config.json: expected object, got []"),
            ("{", "config.json: unexpected end of JSON input at offset 1"),
            (#"{"ociVersion":"1.0.0",}"#, "config.json: invalid character '}' looking for beginning of object key string at offset 22"),
            (cfg(#""linux":[]"#), "linux: expected object, got []"),
            (cfg(#""root":{"path":""}"#), "root.path: must not be empty"),
            (cfg(#""root":{}"#), "root.path: required field is missing"),
            (cfg(#""root":{"path":"r","readonly":"yes"}"#), #"root.readonly: expected boolean, got "yes""#),
            (cfg(#""hostname":7"#), "hostname: expected string, got 7"),
            // process
            (cfg(#""process":{"user":{"uid":0,"gid":0}}"#), "process.cwd: required field is missing"),
            (cfg(#""process":{"user":{"gid":0},"cwd":"/"}"#), "process.user.uid: required field is missing"),
            (cfg(#""process":{"user":{"uid":-1,"gid":0},"cwd":"/"}"#), "process.user.uid: expected unsigned 32-bit integer, got -1"),
            (cfg(#""process":{"user":{"uid":4294967296,"gid":0},"cwd":"/"}"#), "process.user.uid: expected unsigned 32-bit integer, got 4294967296"),
            (cfg(#""process":{"user":{"uid":0,"gid":1.0},"cwd":"/"}"#), "process.user.gid: expected unsigned 32-bit integer, got 1.0"),
            (cfg(#""process":{"user":{"uid":0,"gid":0,"additionalGids":[1,"2"]},"cwd":"/"}"#), #"process.user.additionalGids[1]: expected unsigned 32-bit integer, got "2""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0,"umask":-1},"cwd":"/"}"#), "process.user.umask: expected unsigned 32-bit integer, got -1"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"tmp"}"#), #"process.cwd: must be an absolute path, got "tmp""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","noNewPrivileges":"yes"}"#), #"process.noNewPrivileges: expected boolean, got "yes""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","oomScoreAdj":1.5}"#), "process.oomScoreAdj: expected integer, got 1.5"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","args":"sh"}"#), #"process.args: expected array, got "sh""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","consoleSize":{"width":80}}"#), "process.consoleSize.height: required field is missing"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":"CAP_KILL"}}"#), #"process.capabilities.bounding: expected array, got "CAP_KILL""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_FOO","hard":1,"soft":1}]}"#), #"process.rlimits[0].type: unsupported value "RLIMIT_FOO" (supported: \#(rl))"#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":"1024","soft":1}]}"#), #"process.rlimits[0].hard: expected unsigned 64-bit integer, got "1024""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":-1}]}"#), "process.rlimits[0].soft: expected unsigned 64-bit integer, got -1"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":1}]}"#), "process.rlimits[0].hard: required field is missing"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_CORE","hard":1,"soft":1},{"type":"RLIMIT_CORE","hard":2,"soft":2}]}"#), #"process.rlimits[1].type: duplicate rlimit type "RLIMIT_CORE""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","scheduler":{"policy":"SCHED_FAST"}}"#), #"process.scheduler.policy: unsupported value "SCHED_FAST" (supported: SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE)"#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","scheduler":{"policy":"SCHED_RR","nice":2147483648}}"#), "process.scheduler.nice: expected 32-bit integer, got 2147483648"),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","ioPriority":{"class":"IOPRIO_CLASS_X","priority":1}}"#), #"process.ioPriority.class: unsupported value "IOPRIO_CLASS_X" (supported: IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)"#),
            // mounts
            (cfg(#""mounts":{"destination":"/x"}"#), #"mounts: expected array, got {"destination":"/x"}"#),
            (cfg(#""mounts":[{"type":"tmpfs"}]"#), "mounts[0].destination: required field is missing"),
            (cfg(#""mounts":[{"destination":"/a"},{"destination":"/b"},{"destination":"/c"},{"destination":"/d","options":["ro",5]}]"#), "mounts[3].options[1]: expected string, got 5"),
            (cfg(#""mounts":["/x"]"#), #"mounts[0]: expected object, got "/x""#),
            (cfg(#""mounts":[{"destination":"/m","uidMappings":[{"containerID":0,"hostID":-1,"size":1}]}]"#), "mounts[0].uidMappings[0].hostID: expected unsigned 32-bit integer, got -1"),
            (cfg(#""mounts":[{"destination":"/m","options":[{"aaaaaaaaaaaaaaaaaaaaaaaa":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]}]"#), #"mounts[0].options[0]: expected string, got {"aaaaaaaaaaaaaaaaaaaaaaaa":"bbbbbbbbbbb"#),
            // hooks, annotations
            (cfg(#""hooks":{"prestart":[{"args":["x"]}]}"#), "hooks.prestart[0].path: required field is missing"),
            (cfg(#""hooks":{"poststop":[{"path":"/x","timeout":0}]}"#), "hooks.poststop[0].timeout: must be greater than zero, got 0"),
            (cfg(#""hooks":{"poststart":[{"path":"/x","timeout":"5"}]}"#), #"hooks.poststart[0].timeout: expected integer, got "5""#),
            (cfg(#""annotations":{"com.example":1}"#), #"annotations["com.example"]: expected string, got 1"#),
            // linux
            (cfg(#""linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"foo"}]}"#), #"linux.namespaces[2].type: unsupported value "foo" (supported: pid, network, mount, ipc, uts, user, cgroup, time)"#),
            (cfg(#""linux":{"namespaces":[{"type":"pid"},{"type":"pid","path":"/proc/1/ns/pid"}]}"#), #"linux.namespaces[1].type: duplicate namespace type "pid""#),
            (cfg(#""linux":{"namespaces":[{"path":"/x"}]}"#), "linux.namespaces[0].type: required field is missing"),
            (cfg(#""linux":{"namespaces":[{"type":3}]}"#), "linux.namespaces[0].type: expected string, got 3"),
            (cfg(#""linux":{"uidMappings":[{"containerID":0,"hostID":0}]}"#), "linux.uidMappings[0].size: required field is missing"),
            (cfg(#""linux":{"sysctl":{"net.core.somaxconn":true}}"#), #"linux.sysctl["net.core.somaxconn"]: expected string, got true"#),
            (cfg(#""linux":{"rootfsPropagation":"weird"}"#), #"linux.rootfsPropagation: unsupported value "weird" (supported: shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable)"#),
            (cfg(#""linux":{"maskedPaths":["/proc/acpi","proc/kcore"]}"#), #"linux.maskedPaths[1]: must be an absolute path, got "proc/kcore""#),
            (cfg(#""linux":{"readonlyPaths":[""]}"#), #"linux.readonlyPaths[0]: must be an absolute path, got """#),
            (cfg(#""linux":{"devices":[{"type":"x","path":"/dev/x"}]}"#), #"linux.devices[0].type: unsupported value "x" (supported: c, b, u, p)"#),
            (cfg(#""linux":{"devices":[{"type":"c","path":"/dev/x","minor":1}]}"#), "linux.devices[0].major: required field is missing"),
            (cfg(#""linux":{"devices":[{"type":"c","major":1,"minor":1}]}"#), "linux.devices[0].path: required field is missing"),
            (cfg(#""linux":{"devices":[{"type":"b","path":"/dev/x","major":8,"minor":0,"fileMode":-1}]}"#), "linux.devices[0].fileMode: expected unsigned 32-bit integer, got -1"),
            (cfg(#""linux":{"personality":{"domain":"LINUX64"}}"#), #"linux.personality.domain: unsupported value "LINUX64" (supported: LINUX, LINUX32)"#),
            (cfg(#""linux":{"timeOffsets":{"realtime":{"secs":1}}}"#), #"linux.timeOffsets: unsupported value "realtime" (supported: monotonic, boottime)"#),
            (cfg(#""linux":{"timeOffsets":{"boottime":{"secs":"1"}}}"#), #"linux.timeOffsets["boottime"].secs: expected 64-bit integer, got "1""#),
            (cfg(#""linux":{"memoryPolicy":{"mode":"MPOL_X"}}"#), #"linux.memoryPolicy.mode: invalid memory policy mode: unsupported value "MPOL_X" (supported: MPOL_DEFAULT, MPOL_BIND, MPOL_INTERLEAVE, MPOL_WEIGHTED_INTERLEAVE, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_LOCAL)"#),
            (cfg(#""linux":{"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0","flags":["MPOL_F_STATIC_NODES","MPOL_F_Y"]}}"#), #"linux.memoryPolicy.flags[1]: invalid memory policy flag: unsupported value "MPOL_F_Y" (supported: MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES)"#),
            (cfg(#""linux":{"netDevices":{"eth0":{"name":1}}}"#), #"linux.netDevices["eth0"].name: expected string, got 1"#),
            // resources
            (cfg(#""linux":{"resources":{"memory":{"limit":"1g"}}}"#), #"linux.resources.memory.limit: expected 64-bit integer, got "1g""#),
            (cfg(#""linux":{"resources":{"memory":{"limit":1.5}}}"#), "linux.resources.memory.limit: expected 64-bit integer, got 1.5"),
            (cfg(#""linux":{"resources":{"memory":{"limit":9223372036854775808}}}"#), "linux.resources.memory.limit: expected 64-bit integer, got 9223372036854775808"),
            (cfg(#""linux":{"resources":{"memory":{"swappiness":-1}}}"#), "linux.resources.memory.swappiness: expected unsigned 64-bit integer, got -1"),
            (cfg(#""linux":{"resources":{"cpu":{"shares":-2}}}"#), "linux.resources.cpu.shares: expected unsigned 64-bit integer, got -2"),
            (cfg(#""linux":{"resources":{"cpu":{"cpus":0}}}"#), "linux.resources.cpu.cpus: expected string, got 0"),
            (cfg(#""linux":{"resources":{"pids":{"limit":true}}}"#), "linux.resources.pids.limit: expected 64-bit integer, got true"),
            (cfg(#""linux":{"resources":{"blockIO":{"weight":70000}}}"#), "linux.resources.blockIO.weight: expected unsigned 16-bit integer, got 70000"),
            (cfg(#""linux":{"resources":{"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0}]}}}"#), "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is missing"),
            (cfg(#""linux":{"resources":{"devices":[{"access":"rwm"}]}}"#), "linux.resources.devices[0].allow: required field is missing"),
            (cfg(#""linux":{"resources":{"devices":[{"allow":true,"access":"rwx"}]}}"#), #"linux.resources.devices[0].access: unsupported value "rwx" (supported: a combination of r, w, m)"#),
            (cfg(#""linux":{"resources":{"devices":[{"allow":true,"type":"z"}]}}"#), #"linux.resources.devices[0].type: unsupported value "z" (supported: a, c, b)"#),
            (cfg(#""linux":{"resources":{"hugepageLimits":[{"limit":1}]}}"#), "linux.resources.hugepageLimits[0].pageSize: required field is missing"),
            (cfg(#""linux":{"resources":{"rdma":{"mlx":{"hcaHandles":-1}}}}"#), #"linux.resources.rdma["mlx"].hcaHandles: expected unsigned 32-bit integer, got -1"#),
            (cfg(#""linux":{"resources":{"unified":{"memory.max":1}}}"#), #"linux.resources.unified["memory.max"]: expected string, got 1"#),
            // seccomp
            (cfg(#""linux":{"seccomp":{"syscalls":[]}}"#), "linux.seccomp.defaultAction: required field is missing"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_DENY"}}"#), #"linux.seccomp.defaultAction: unsupported value "SCMP_ACT_DENY" (supported: SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)"#),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_KILL","defaultErrnoRet":1}}"#), "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_VAX"]}}"#), #"linux.seccomp.architectures[1]: unsupported value "SCMP_ARCH_VAX" (supported: \#(SeccompArch.supportedList))"#),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}}"#), #"linux.seccomp.flags[0]: unsupported value "SECCOMP_FILTER_FLAG_NEW_LISTENER" (supported: SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)"#),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}}"#), "linux.seccomp.syscalls[0].names: required field is missing"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]}}"#), "linux.seccomp.syscalls[0].action: required field is missing"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_FOO"}]}}"#), #"linux.seccomp.syscalls[0].action: unsupported value "SCMP_ACT_FOO" (supported: SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)"#),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}}"#), "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":-1}]}}"#), "linux.seccomp.syscalls[0].errnoRet: expected unsigned 32-bit integer, got -1"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a",1],"action":"SCMP_ACT_ALLOW"}]}}"#), "linux.seccomp.syscalls[0].names[1]: expected string, got 1"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}}"#), #"linux.seccomp.syscalls[0].args[0].op: unsupported value "SCMP_CMP_ABOUT" (supported: SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)"#),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":-1,"op":"SCMP_CMP_EQ"}]}]}}"#), "linux.seccomp.syscalls[0].args[0].value: expected unsigned 64-bit integer, got -1"),
            (cfg(#""linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"value":1,"op":"SCMP_CMP_EQ"}]}]}}"#), "linux.seccomp.syscalls[0].args[0].index: required field is missing"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(specError(input), expected, "input: \(input)")
        }
    }

    func testProcessFileErrors() {
        func err(_ s: String) -> String? {
            do {
                _ = try Spec.parseProcess(Array(s.utf8))
                return nil
            } catch {
                return error.description
            }
        }
        // runc runs a process without `user` as 0:0 and a user without gid with gid 0 (Go's zero values).
        XCTAssertNil(err(#"{"cwd":"/"}"#))
        XCTAssertEqual(try Spec.parseProcess(Array(#"{"cwd":"/","user":{"uid":5}}"#.utf8)).user, User(uid: 5, gid: 0))
        XCTAssertEqual(err(#"{"cwd":"/","user":{"gid":5}}"#), "process.user.uid: required field is missing")
        XCTAssertEqual(err(#"{"user":{"uid":0,"gid":0},"cwd":"x"}"#), #"process.cwd: must be an absolute path, got "x""#)
        XCTAssertEqual(err("[1]"), "process: expected object, got [1]")
        XCTAssertEqual(err("{x"), "process: invalid character 'x' looking for beginning of object key string at offset 1")
        XCTAssertEqual(
            err(#"{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":1,"soft":1},{"type":"RLIMIT_NOFILE","hard":1,"soft":1}]}"#),
            #"process.rlimits[1].type: duplicate rlimit type "RLIMIT_NOFILE""#)
        do {
            _ = try Spec.parseResources(Array(#"{"memory":{"limit":"x"}}"#.utf8))
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.description, #"resources.memory.limit: expected 64-bit integer, got "x""#)
        }
    }

    func testLoadErrors() throws {
        XCTAssertThrowsError(try Spec.load(path: "/nonexistent-corral/config.json")) { e in
            XCTAssertEqual("\(e)", "config.json: open /nonexistent-corral/config.json: no such file or directory")
        }
        XCTAssertThrowsError(try Spec.load(path: "/tmp")) { e in
            XCTAssertEqual("\(e)", "config.json: read /tmp: is a directory")
        }
        // A real file round trip.
        let path = "/tmp/corral-spec-test-\(getpid()).json"
        let text = DefaultSpec.json(rootless: false)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        defer { unlink(path) }
        let spec = try Spec.load(path: path)
        XCTAssertEqual(spec.hostname, "runc")
    }

    /// Strings end at a NUL in the kernel: a config string with one is refused with its path, wherever it is
    /// (values, map keys, nested arrays), so what a policy checker reads is what takes effect.
    func testNULBytesAreRefusedWithTheirPath() {
        let cases: [(String, String)] = [
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/tmp\u0000/../../etc"}"#),
             #"process.cwd: string contains a NUL byte: "/tmp\u0000/../../etc""#),
            (cfg(#""root":{"path":"rootfs\u0000/../../.."}"#), #"root.path: string contains a NUL byte: "rootfs\u0000/../../..""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","args":["sh","a\u0000b"]}"#),
             #"process.args[1]: string contains a NUL byte: "a\u0000b""#),
            (cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","env":["A=\u0000"]}"#),
             #"process.env[0]: string contains a NUL byte: "A=\u0000""#),
            (cfg(#""linux":{"sysctl":{"net.ipv4.ip_forward\u0000x":"1"}}"#),
             #"linux.sysctl["net.ipv4.ip_forward\u0000x"]: string contains a NUL byte: "net.ipv4.ip_forward\u0000x""#),
            (cfg(#""hostname":"a\u0000b""#), #"hostname: string contains a NUL byte: "a\u0000b""#),
            (cfg(#""mounts":[{"destination":"/x\u0000","type":"tmpfs","source":"tmpfs"}]"#),
             #"mounts[0].destination: string contains a NUL byte: "/x\u0000""#),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try Spec.parse(Array(text.utf8)), text) { e in
                XCTAssertEqual("\(e)", message, text)
            }
        }
    }

    /// Stated bounds: no list is longer than NGROUPS_MAX entries, no document larger than 16 MiB.
    func testBounds() throws {
        let many = "[" + Array(repeating: "\"A=1\"", count: 65537).joined(separator: ",") + "]"
        let text = cfg(#""process":{"user":{"uid":0,"gid":0},"cwd":"/","env":"# + many + "}")
        XCTAssertThrowsError(try Spec.parse(Array(text.utf8))) { e in
            XCTAssertEqual("\(e)", "process.env: too many entries: 65537 (at most 65536)")
        }
        let path = "/tmp/corral-spec-big-\(getpid()).json"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, off_t(Spec.maxDocumentBytes + 1)), 0)
        close(fd)
        defer { unlink(path) }
        XCTAssertThrowsError(try Spec.readFile(path, limit: Spec.maxDocumentBytes)) { e in
            XCTAssertEqual("\(e)", "config.json: read \(path): larger than the limit of 16777216 bytes")
        }
        XCTAssertEqual(try Spec.readFile(path).count, Spec.maxDocumentBytes + 1, "no limit unless asked")
    }

    func testSpecErrorShape() {
        let e = SpecError(path: "linux.namespaces[2].type", message: "x")
        XCTAssertEqual(e.description, "linux.namespaces[2].type: x")
        XCTAssertEqual(NamespaceType.allRawValues.count, 8)
        XCTAssertEqual(RlimitType.allCases.count, 16)
        XCTAssertEqual(Set(RlimitType.allCases.map { $0.resource }).count, 16)
    }

    // MARK: performance

    /// Prints the cost of one parse of the Docker hardened config (it is on every create's path).
    /// Meaningful numbers need a release build: `swift test -c release --filter testParseSpeed`.
    func testParseSpeed() throws {
        let bytes = try loadFixture("hardened-config.docker.pretty.json")
        func now() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
        }
        let n = 300
        _ = try Spec.parse(bytes)  // warm up
        var t0 = now()
        for _ in 0..<n { _ = try JSONValue.parse(bytes) }
        let jsonUs = (now() - t0) / Double(n)
        t0 = now()
        for _ in 0..<n { _ = try Spec.parse(bytes) }
        let specUs = (now() - t0) / Double(n)
        t0 = now()
        for _ in 0..<n { _ = try Spec.load(path: dataDir + "hardened-config.docker.pretty.json") }
        let loadUs = (now() - t0) / Double(n)
        print("PERF hardened-config.docker.pretty.json (\(bytes.count) bytes): JSON parse \(Int(jsonUs)) µs, Spec.parse \(Int(specUs)) µs, Spec.load \(Int(loadUs)) µs")
    }
}
