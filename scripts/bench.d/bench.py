#!/usr/bin/env python3
"""Driver of scripts/bench: bundles, the interleaved rounds, statistics, the report, and the cleanup sweep.

Standard library only. scripts/bench runs `measure` inside a private mount namespace in which the cgroup2 mount of
a hybrid host is unmounted, so corral, crun and runc all see the same pure cgroup v1; `sweep` is its cleanup and is
idempotent. All timing happens in benchtimer (timer.c): this process only starts one timer per measurement and
parses its one-line answer, so Python's own process overhead stays outside every figure.

  bench.py measure --work DIR --runtime NAME=PATH ... --out FILE.md [--json FILE.json] --cgparent NAME ...
  bench.py sweep   --work DIR --runtime NAME=PATH ... --cgparent NAME

Besides the interleaved rounds (every measure, each runtime in turn, the first one rotated every round), three
phases look at a runtime among others:
  neighbour   plain `run` of each runtime right after another runtime's, no warm-up in between, in the order
              X Y Z X Z Y every round (each runtime follows each other one); "right after runc" is kept apart
  background  plain `run` while another runtime (runc) creates and force-deletes containers in a loop
  scale       N detached containers started (create + start), `list` and `state` with N present, `delete --force`
              of all N, and the memory a running container costs the host (timer.c, mode scale)
"""
import argparse
import copy
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

MiB = 1024.0

# Single-operation measures (one timer call each) and what each call yields.
SINGLE_MODES = ("run", "life", "state", "kill", "exec")
TPUT_MODES = ("seq", "par")
CONFIGS = ("plain", "hard")


# ---------------------------------------------------------------------------------------------------------------
# Bundles


def docker_profile_to_oci(path):
    """Converts moby's profiles/seccomp/default.json to the OCI linux.seccomp form for amd64 with no capabilities,
    as runc's and containerd's default-profile code does: keep rules whose `includes` match (arch amd64, no caps
    required) and whose `excludes` do not (we hold no capabilities, so `excludes.caps` never excludes)."""
    with open(path) as f:
        prof = json.load(f)
    arches = []
    for m in prof.get("archMap") or []:
        if m.get("architecture") == "SCMP_ARCH_X86_64":
            arches = [m["architecture"]] + list(m.get("subArchitectures") or [])
    amd64 = {"amd64", "x86_64"}
    rules = []
    for s in prof.get("syscalls") or []:
        inc = s.get("includes") or {}
        exc = s.get("excludes") or {}
        if inc.get("caps"):
            continue
        if inc.get("arches") and not amd64 & set(inc["arches"]):
            continue
        if exc.get("arches") and amd64 & set(exc["arches"]):
            continue
        r = {"names": list(s["names"]), "action": s["action"]}
        if s.get("args"):
            r["args"] = s["args"]
        if "errnoRet" in s:
            r["errnoRet"] = s["errnoRet"]
        rules.append(r)
    out = {"defaultAction": prof["defaultAction"]}
    if "defaultErrnoRet" in prof:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    out["architectures"] = arches
    out["syscalls"] = rules
    return out


def hardened_seccomp(agent_config, docker_profile):
    """linux.seccomp of bundles/agent when it has one (the project's own conversion), else our conversion."""
    try:
        with open(agent_config) as f:
            sec = json.load(f).get("linux", {}).get("seccomp")
        if sec and sec.get("syscalls"):
            return sec, "bundles/agent/config.json"
    except (OSError, ValueError):
        pass
    return docker_profile_to_oci(docker_profile), "converted from " + os.path.basename(docker_profile)


def make_configs(base, rootfs, cgbase, seccomp):
    """plain = `runc spec` with terminal false, args /bin/true, absolute root; hard = plain + the agent hardening."""
    plain = copy.deepcopy(base)
    plain["process"]["terminal"] = False
    plain["process"]["args"] = ["/bin/true"]
    plain["root"] = {"path": rootfs, "readonly": bool(base.get("root", {}).get("readonly", True))}
    hard = copy.deepcopy(plain)
    hard["root"]["readonly"] = True
    hard["mounts"] = [m for m in hard.get("mounts", []) if m.get("destination") != "/tmp"] + [
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=16m"]}]
    hard["process"]["user"] = {"uid": 1001, "gid": 1001}
    hard["process"]["capabilities"] = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
    hard["process"]["noNewPrivileges"] = True
    hard["linux"]["seccomp"] = seccomp
    res = hard["linux"].setdefault("resources", {})
    res["memory"] = {"limit": 256 * 1024 * 1024}
    res["pids"] = {"limit": 128}
    return {"plain": plain, "hard": hard}


def write_bundles(work, runtimes, base, seccomp, cgparent, par, scale_max):
    """work/bundles/RT/CFG/{s0..s<par-1>,sleep,bg}/config.json and work/bundles/RT/scale/k<k> (plain sleep, k <
    scale_max), each slot with its own cgroupsPath; root is shared per runtime (work/rootfs/RT) through an absolute
    root.path."""
    for rt in runtimes:
        rootfs = os.path.join(work, "rootfs", rt)
        for cfg, spec in make_configs(base, rootfs, cgparent, seccomp).items():
            slots = ["s%d" % k for k in range(par)] + ["sleep", "bg"]
            for slot in slots:
                c = copy.deepcopy(spec)
                c["linux"]["cgroupsPath"] = "/%s/%s-%s-%s" % (cgparent, rt, cfg, slot)
                if slot in ("sleep", "bg"):
                    c["process"]["args"] = ["/bin/sleep", "1000"]
                d = os.path.join(work, "bundles", rt, cfg, slot)
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, "config.json"), "w") as f:
                    json.dump(c, f, indent=1)
            if cfg == "plain":
                for k in range(scale_max):
                    c = copy.deepcopy(spec)
                    c["linux"]["cgroupsPath"] = "/%s/%s-scale-k%d" % (cgparent, rt, k)
                    c["process"]["args"] = ["/bin/sleep", "1000"]
                    d = os.path.join(work, "bundles", rt, "scale", "k%d" % k)
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, "config.json"), "w") as f:
                        json.dump(c, f)
        os.makedirs(os.path.join(work, "state", rt), exist_ok=True)


# ---------------------------------------------------------------------------------------------------------------
# Running the timer


class Failure(Exception):
    pass


def error_text(errfile):
    """The gist of a runtime's stderr: runc's logrus msg="..." when present, else the last non-empty line."""
    try:
        with open(errfile, errors="replace") as f:
            lines = [l.strip() for l in f.read().splitlines() if l.strip()]
    except OSError:
        return ""
    if not lines:
        return ""
    line = lines[-1]
    m = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
    if m:
        line = m.group(1).replace('\\"', '"')
    return line[:220]


def run_timer(timer, mode, n, rtpath, root, bundledir, cid, errfile, env=None):
    """One timer call. The timer and the runtimes it starts get their own process group: a terminal's Ctrl-C
    reaches only this driver, which then kills the whole group before sweeping, so no runtime is still creating
    a container while the sweep deletes them."""
    argv = [timer, mode, str(n), rtpath, root, bundledir, cid, errfile]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         process_group=0, env=env)
    try:
        out, err = p.communicate(timeout=330)
    except BaseException as e:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        if isinstance(e, subprocess.TimeoutExpired):
            raise Failure("timeout")
        raise
    lines = [l for l in out.splitlines() if l.strip()]
    oks = [l for l in lines if l.startswith("ok ")]
    if p.returncode == 0 and oks:
        return {k: int(v) for k, v in (kv.split("=", 1) for kv in oks[-1].split()[1:])}
    if p.returncode == -signal.SIGALRM:
        raise Failure("timeout (runtime hung)")
    errs = [l for l in lines if l.startswith("err ")]
    if errs:
        f = dict(kv.split("=", 1) for kv in errs[0].split()[1:])
        text = error_text(f.get("errfile", ""))
        raise Failure("%s %s%s" % (f.get("step", "?"), f.get("status", "?"), (": " + text) if text else ""))
    raise Failure("timer rc %d: %s" % (p.returncode, (err or "").strip()[:200]))


def own_cgroup_procs():
    """cgroup.procs of this process's own cgroup in one hierarchy (v1: the first mounted controller hierarchy;
    v2: the unified one). The timer re-attaches itself there to warm the kernel's attach lock (timer.c)."""
    mounts = {}
    try:
        for line in open("/proc/self/mountinfo"):
            left, right = line.split(" - ", 1)
            fields = right.split()
            if fields[0] == "cgroup":
                for opt in fields[2].split(","):
                    mounts.setdefault(opt, left.split()[4])
            elif fields[0] == "cgroup2":
                mounts.setdefault("", left.split()[4])
        for line in open("/proc/self/cgroup"):
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                if c in mounts:
                    f = os.path.join(mounts[c] + path, "cgroup.procs")
                    if os.access(f, os.W_OK):
                        return f
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------------------------------------------------------
# Statistics and the report


class Results:
    """samples[cfg][rt][metric] = {round: value}; errors[cfg][rt][mode] = first message; skip after 2 failures."""

    def __init__(self, runtimes):
        self.runtimes = runtimes
        self.samples = {c: {r: {} for r in runtimes} for c in CONFIGS}
        self.errors = {c: {r: {} for r in runtimes} for c in CONFIGS}
        self.fails = {c: {r: {} for r in runtimes} for c in CONFIGS}

    def skipped(self, cfg, rt, mode):
        return self.fails[cfg][rt].get(mode, 0) >= 2

    def record(self, cfg, rt, mode, rnd, values):
        self.fails[cfg][rt][mode] = 0
        for k, v in values.items():
            self.samples[cfg][rt].setdefault(k, {})[rnd] = v

    def fail(self, cfg, rt, mode, msg):
        self.fails[cfg][rt][mode] = self.fails[cfg][rt].get(mode, 0) + 1
        self.errors[cfg][rt].setdefault(mode, msg)


def derive(res, seq_n, par_n):
    """Adds split totals and throughputs, converts units: ms, MiB, containers/s."""
    for cfg in CONFIGS:
        for rt in res.runtimes:
            s = res.samples[cfg][rt]
            if all(k in s for k in ("create", "start", "wait", "delete")):
                s["split"] = {r: s["create"][r] + s["start"][r] + s["wait"][r] + s["delete"][r]
                              for r in s["create"] if all(r in s[k] for k in ("start", "wait", "delete"))}
            ms = ("run", "create", "start", "wait", "delete", "state", "kill", "split", "exec", "exect", "nrun",
                  "nrun_runc", "brun")
            for k in list(s):
                if k in ("run_rss", "create_rss", "init_rss"):
                    s[k] = {r: v / MiB for r, v in s[k].items() if v >= 0}
                elif k in ms:
                    s[k] = {r: v / 1e6 for r, v in s[k].items()}
                elif k.startswith("n") and "_" in k and k.split("_", 1)[0][1:].isdigit():
                    # scale, N containers: up/down per container, list/state per call (ms); memory in KiB
                    n, what = int(k.split("_", 1)[0][1:]), k.split("_", 1)[1]
                    if what in ("up", "down"):
                        s[k] = {r: v / 1e6 / n for r, v in s[k].items()}
                    elif what in ("list", "state"):
                        s[k] = {r: v / 1e6 for r, v in s[k].items()}
                    else:
                        s[k] = {r: v for r, v in s[k].items() if v >= 0}
                elif k == "seq_total":
                    s["seq"] = {r: seq_n / (v / 1e9) for r, v in s[k].items()}
                elif k == "par_total":
                    s["par"] = {r: par_n / (v / 1e9) for r, v in s[k].items()}


# (metric, label, unit, mode that produces it, higher_is_better, target vs crun per config). Targets: the speed
# issues (plain `run` <= 0.7 x crun also right after another runtime's container, hardened `run` <= 0.5, `exec` <=
# 0.5, throughput >= 1.5, peak RSS of `create` <= 0.8, `list` of 500 <= 0.5); every measure <= 0.5 x runc (>= 2 for
# throughput). A row nobody measured in a config is left out.
ROWS = [
    ("run", "`run` of /bin/true", "ms", "run", False, {"plain": ("<=", 0.7), "hard": ("<=", 0.5)}),
    ("nrun", "— `run` right after another runtime's `run` (neighbour interleave)", "ms", "nrun", False,
     {"plain": ("<=", 0.7)}),
    ("nrun_runc", "— `run` right after a runc `run`", "ms", "nrun", False, {"plain": ("<=", 0.7)}),
    ("brun", "— `run` while runc creates and deletes in a loop", "ms", "brun", False, {}),
    ("split", "split lifecycle: create+start+wait+delete", "ms", "life", False, {"plain": ("<=", 0.75)}),
    ("create", "— create", "ms", "life", False, {"hard": ("<=", 0.5)}),
    ("start", "— start", "ms", "life", False, {"plain": ("<=", 0.6), "hard": ("<=", 0.6)}),
    ("wait", "— wait for exit", "ms", "life", False, {}),
    ("delete", "— delete", "ms", "life", False, {"plain": ("<=", 0.6), "hard": ("<=", 0.6)}),
    ("state", "`state` of a created container", "ms", "state", False, {"plain": ("<=", 0.6), "hard": ("<=", 0.6)}),
    ("kill", "`kill KILL` + `delete -f` of a running sleep", "ms", "kill", False, {}),
    ("exec", "`exec` of /bin/true into a running container", "ms", "exec", False,
     {"plain": ("<=", 0.5), "hard": ("<=", 0.5)}),
    ("exect", "`exec -t` of /bin/true (a pty as the caller's terminal)", "ms", "exec", False, {}),
    ("seq", "100 sequential lifecycles", "/s", "seq", True, {"plain": (">=", 1.5), "hard": (">=", 1.5)}),
    ("par", "20 parallel lifecycles", "/s", "par", True, {"plain": (">=", 1.5), "hard": (">=", 1.5)}),
    ("create_rss", "peak RSS of `create` (ru_maxrss)", "MiB", "life", False, {"plain": ("<=", 0.8), "hard": ("<=", 0.8)}),
    ("run_rss", "peak RSS of `run`", "MiB", "run", False, {}),
    ("init_rss", "RSS of a created container (VmRSS)", "MiB", "life", False, {}),
]


def scale_rows(ns):
    """Rows of the scale phase for each N measured."""
    rows = []
    for n in ns:
        rows += [
            ("n%d_up" % n, "%d detached containers: create + start, per container" % n, "ms", "scale", False, {}),
            ("n%d_list" % n, "— `list` with %d present" % n, "ms", "scale", False,
             {"plain": ("<=", 0.5)} if n >= 500 else {}),
            ("n%d_state" % n, "— `state` of one with %d present" % n, "ms", "scale", False, {}),
            ("n%d_down" % n, "— `delete --force` of all %d, per container" % n, "ms", "scale", False, {}),
            ("n%d_priv" % n, "— private memory of a container's init (smaps_rollup)" , "KiB", "scale", False, {}),
            ("n%d_kmem" % n, "— kernel memory per container (Slab+KernelStack+PageTables+Percpu growth, host-wide)",
             "KiB", "scale", False, {}),
            ("n%d_memcg" % n, "— memory.usage_in_bytes of a container's memory cgroup", "KiB", "scale", False, {}),
        ]
    return rows


def fmt_value(v, unit):
    if unit == "ms":
        return "%.2f ms" % v
    if unit == "MiB":
        return "%.1f MiB" % v
    if unit == "KiB":
        return "%.0f KiB" % v
    return "%.0f /s" % v


def paired_ratio(a, b):
    """Median over rounds of a[r]/b[r], using only rounds in which both were measured."""
    rs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    return statistics.median(rs) if rs else None


def table(res, cfg, rows, ref="corral"):
    others = [r for r in res.runtimes if r != ref]
    hdr = ["measure"] + res.runtimes + ["%s/%s" % (ref, o) for o in others] + ["targets (speed issues)"]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for metric, label, unit, mode, higher, targets in rows:
        if not any(res.samples[cfg][rt].get(metric) or mode in res.errors[cfg][rt] for rt in res.runtimes):
            continue
        cells = [label + (" (higher is better)" if higher else "")]
        vals = {}
        for rt in res.runtimes:
            s = res.samples[cfg][rt].get(metric)
            if s:
                vals[rt] = s
                cells.append(fmt_value(statistics.median(s.values()), unit))
            elif mode in res.errors[cfg][rt]:
                cells.append("n/a (error: %s)" % res.errors[cfg][rt][mode].replace("|", "\\|"))
            else:
                cells.append("—")
        ratios = {}
        for o in others:
            r = paired_ratio(vals[ref], vals[o]) if ref in vals and o in vals else None
            ratios[o] = r
            cells.append("%.2f" % r if r is not None else "—")
        checks = []
        if cfg in targets and "crun" in ratios:
            op, t = targets[cfg]
            r = ratios["crun"]
            ok = r is not None and (r <= t if op == "<=" else r >= t)
            checks.append("crun %s %g: %s" % (op, t, "ok" if ok else "MISS"))
        # The container's own process (wait for exit) and its memory are the same program under every runtime.
        if "runc" in ratios and ratios["runc"] is not None and metric != "wait" and unit != "KiB":
            r = ratios["runc"]
            op, t = (">=", 2.0) if higher else ("<=", 0.5)
            ok = r is not None and (r <= t if op == "<=" else r >= t)
            checks.append("runc %s %g: %s" % (op, t, "ok" if ok else "MISS"))
        cells.append("; ".join(checks))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def sh(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info(args, runtimes, layout, seccomp_src):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    debian = ""
    try:
        debian = open("/etc/debian_version").read().strip()
    except OSError:
        pass
    vers = {}
    for rt, path in runtimes.items():
        v = sh([path, "--version"]).splitlines()
        size = os.path.getsize(path) / 1024 / 1024
        linkage = "static" if "statically linked" in sh(["file", "-L", path]) or \
            "not a dynamic executable" in sh(["ldd", path]) else "dynamic"
        vers[rt] = "%s (%s, %.2f MiB, %s)" % (v[0] if v else "?", path, size, linkage)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    commit = sh(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"])
    if commit:
        vers["corral"] += "; tree %s%s" % (commit, " + uncommitted changes in Sources/" if dirty else "")
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("host", "%s: %s, %d cores, %s RAM" % (platform.node(), cpu, os.cpu_count() or 0, mem)),
        ("kernel / OS", "%s / Debian %s" % (platform.release(), debian)),
        ("cgroups", layout),
        ("load average at start", " ".join(open("/proc/loadavg").read().split()[0:3])),
    ] + [("version " + rt, vers[rt]) for rt in runtimes] + [
        ("hard seccomp", "%s (%d rules, %d syscall names)" % (
            seccomp_src, len(args.seccomp["syscalls"]), sum(len(s["names"]) for s in args.seccomp["syscalls"]))),
    ]


def cgroup_layout():
    def fstype(p):
        try:
            return sh(["stat", "-fc", "%T", p])
        except Exception:
            return ""
    top = fstype("/sys/fs/cgroup")
    if top == "cgroup2fs":
        return "pure cgroup v2"
    uni = fstype("/sys/fs/cgroup/unified") if os.path.isdir("/sys/fs/cgroup/unified") else ""
    if uni == "cgroup2fs":
        return "hybrid (v1 + cgroup2 at /sys/fs/cgroup/unified) — crun 1.8.1 would refuse this"
    return "pure cgroup v1 as seen by the runtimes"


# ---------------------------------------------------------------------------------------------------------------
# Cleanup


def cgroup_mounts():
    mounts = []
    try:
        for line in open("/proc/self/mountinfo"):
            left, right = line.split(" - ", 1)
            if right.split()[0] in ("cgroup", "cgroup2"):
                mounts.append(left.split()[4])
    except OSError:
        pass
    return mounts


def remove_cgroups(cgparent):
    """rmdir every cgroup under /<cgparent> in every mounted hierarchy, deepest first; kill leftover tasks."""
    if not cgparent or "/" in cgparent or cgparent in (".", ".."):
        return
    for m in cgroup_mounts():
        top = os.path.join(m, cgparent)
        if not os.path.isdir(top):
            continue
        for attempt in range(20):
            dirs = [d for d, _, _ in os.walk(top)]
            for d in sorted(dirs, key=len, reverse=True):
                try:
                    os.rmdir(d)
                except OSError:
                    try:
                        for pid in open(os.path.join(d, "cgroup.procs")).read().split():
                            try:
                                os.kill(int(pid), signal.SIGKILL)
                            except OSError:
                                pass
                    except OSError:
                        pass
            if not os.path.isdir(top):
                break
            time.sleep(0.05)


def sweep(work, runtimes, cgparent):
    """Deletes (--force, by id) every container left in each runtime's state root, then the bench's cgroups."""
    roots = [(rt, path, os.path.join(work, "state", rt)) for rt, path in runtimes.items()]
    roots += [(rt, path, os.path.join(work, "state", "bg-" + rt)) for rt, path in runtimes.items()]
    for rt, path, root in roots:
        if not os.path.isdir(root):
            continue
        for cid in sorted(os.listdir(root)):
            if not os.path.isdir(os.path.join(root, cid)) or cid.startswith("."):
                continue
            try:
                subprocess.run([path, "--root", root, "delete", "--force", cid], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
            except (OSError, subprocess.SubprocessError):
                pass
    remove_cgroups(cgparent)


# ---------------------------------------------------------------------------------------------------------------
# The interleaved rounds


def memcg_mount():
    """Mount point of the v1 memory controller, or None."""
    try:
        for line in open("/proc/self/mountinfo"):
            left, right = line.split(" - ", 1)
            fields = right.split()
            if fields[0] == "cgroup" and "memory" in fields[2].split(","):
                return left.split()[4]
    except OSError:
        pass
    return None


def parse_scale(spec):
    """"100:3,500:2" -> [(100, 3), (500, 2)] (N containers, rounds)."""
    out = []
    for part in (spec or "").split(","):
        if part.strip():
            n, _, r = part.strip().partition(":")
            out.append((int(n), int(r or 1)))
    return out


def neighbour_order(names):
    """Every ordered pair of runtimes once per round (with the wrap to the next round): X Y Z X Z Y for three;
    for any other number an Eulerian circuit of the complete directed graph (each runtime has as many runtimes to
    follow as to precede, so one exists), found with Hierholzer's algorithm."""
    names = list(names)
    if len(names) == 3:
        x, y, z = names
        return [x, y, z, x, z, y]
    if len(names) < 3:
        return names   # X Y, and the wrap Y X
    unused = {a: [b for b in names if b != a] for a in names}
    stack, circuit = [names[0]], []
    while stack:
        if unused[stack[-1]]:
            stack.append(unused[stack[-1]].pop(0))
        else:
            circuit.append(stack.pop())
    circuit.reverse()
    return circuit[:-1]   # the circuit ends where it began: that step is the wrap into the next round


def measure(args, runtimes):
    names = list(runtimes)
    res = Results(names)
    work = args.work
    errdir = os.path.join(work, "err")
    os.makedirs(errdir, exist_ok=True)
    rounds, trounds = args.rounds, min(args.tput_rounds, args.rounds)
    # Throughput rounds are spread evenly over the single-operation rounds.
    tput_at = sorted({int(i * rounds / trounds) for i in range(trounds)}) if trounds > 0 else []
    timer_env = dict(os.environ)
    timer_env.pop("BENCH_WARM_PROCS", None)
    timer_env.pop("BENCH_MEMCG_PREFIX", None)
    cold_env = dict(timer_env)   # neighbour and background phases: no warm-up, whatever ran before
    if args.attach == "warm" and args.warm_procs:
        timer_env["BENCH_WARM_PROCS"] = args.warm_procs
    start = time.monotonic()
    deadline = start + args.budget
    timings = {}

    def one(cfg, rt, mode, rnd, metric=None, env=None, n=None, key=None):
        """One timer call; records its values under `key` (default: the round). `metric` renames a single value
        (the neighbour and background phases record `run` as nrun/brun)."""
        if res.skipped(cfg, rt, metric or mode):
            return None
        if n is None:
            n = args.seq if mode == "seq" else args.par if mode == "par" else 1
        cid = "%s-%s-%s" % (cfg, mode, rnd)
        bundledir = os.path.join(work, "bundles", rt, "scale" if mode == "scale" else cfg)
        errfile = os.path.join(errdir, "%s-%s-%s" % (rt, cfg, mode))
        # A cgroup.procs write waits for an RCU grace period unless another attach happened less than one grace
        # period ago (timer.c, warm_attach). "warm": the timer re-attaches itself right before each command, so
        # every runtime finds the lock warm. "cold": a pause before each measurement lets it go cold for everyone.
        if args.settle_ms > 0 and env is None:
            time.sleep(args.settle_ms / 1000.0)
        t0 = time.monotonic()
        try:
            v = run_timer(args.timer, mode, n, runtimes[rt], os.path.join(work, "state", rt), bundledir, cid, errfile,
                          env=env or timer_env)
        except Failure as e:
            res.fail(cfg, rt, metric or mode, str(e))
            return None
        finally:
            timings[metric or mode] = timings.get(metric or mode, 0) + time.monotonic() - t0
        if rnd == "w":
            return v
        if mode in TPUT_MODES:
            v = {mode + "_total": v["total"]}
        elif metric:
            v = {metric: v["run"]}
        elif mode == "scale":
            v = {"n%d_%s" % (n, k): val for k, val in v.items()}
        res.record(cfg, rt, metric or mode, rnd if key is None else key, v)
        return v

    # Warm-up: every measure once per runtime, not recorded (page cache, first cgroup creation, dentries).
    for cfg in CONFIGS:
        for mode in SINGLE_MODES:
            for rt in names:
                one(cfg, rt, mode, "w")
    done = 0
    tdone = 0
    stopped_early = False
    prev = None   # the runtime whose `run` came last in the neighbour sequence
    for rnd in range(rounds):
        if time.monotonic() > deadline:
            stopped_early = True
            break
        order = names[rnd % len(names):] + names[:rnd % len(names)]  # rotate who goes first
        for cfg in CONFIGS:
            for mode in SINGLE_MODES:
                for rt in order:
                    one(cfg, rt, mode, rnd)
        # Neighbour: plain `run`s back to back with nothing in between; each runtime follows each other one.
        seen = {}
        for rt in neighbour_order(order):
            k = seen.get(rt, 0)
            seen[rt] = k + 1
            v = one("plain", rt, "run", rnd, metric="nrun", env=cold_env, key="%d.%d" % (rnd, k))
            if v and prev == "runc" and rt != "runc":
                res.record("plain", rt, "nrun", rnd, {"nrun_runc": v["nrun"]})
            prev = rt if v else None
        if rnd in tput_at:
            for cfg in CONFIGS:
                for mode in TPUT_MODES:
                    for rt in order:
                        one(cfg, rt, mode, rnd)
            tdone += 1
        done += 1
        if not args.quiet:
            print("bench: round %d/%d done (%.0f s)%s" % (rnd + 1, rounds, time.monotonic() - start,
                                                        " +throughput" if rnd in tput_at else ""), flush=True)

    # Background: runc creates and force-deletes a sleep container in a loop while each runtime's `run` is timed.
    bg_rt = "runc" if "runc" in runtimes else names[-1]
    if args.bg_rounds > 0:
        bg_root = os.path.join(work, "state", "bg-" + bg_rt)
        os.makedirs(bg_root, exist_ok=True)
        loop = ('while :; do "$0" --root "$1" create --bundle "$2" bg >/dev/null 2>&1; '
                '"$0" --root "$1" delete --force bg >/dev/null 2>&1; done')
        bg = subprocess.Popen(["bash", "-c", loop, runtimes[bg_rt], bg_root,
                               os.path.join(work, "bundles", bg_rt, "plain", "bg")],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              process_group=0)
        try:
            time.sleep(0.5)
            for rnd in range(args.bg_rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                for rt in order:
                    one("plain", rt, "run", rnd, metric="brun", env=cold_env)
        finally:
            try:
                os.killpg(bg.pid, signal.SIGKILL)
            except OSError:
                pass
            bg.wait()
            subprocess.run([runtimes[bg_rt], "--root", bg_root, "delete", "--force", "bg"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        if not args.quiet:
            print("bench: background phase done (%.0f s)" % (time.monotonic() - start), flush=True)

    # Scale: N detached containers per runtime, one runtime at a time.
    memcg = memcg_mount()
    for n, srounds in args.scale:
        for rnd in range(srounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for rt in order:
                env = dict(timer_env)
                if memcg:
                    env["BENCH_MEMCG_PREFIX"] = "%s/%s/%s-scale-k" % (memcg, args.cgparent, rt)
                one("plain", rt, "scale", "%d-%d" % (n, rnd), env=env, n=n, key=rnd)
            if not args.quiet:
                print("bench: scale %d round %d/%d done (%.0f s)" % (n, rnd + 1, srounds, time.monotonic() - start),
                      flush=True)
    if not args.quiet:
        print("bench: seconds per measure: " + ", ".join("%s %.0f" % kv for kv in sorted(timings.items())),
              flush=True)
    return res, done, tdone, stopped_early, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("action", choices=("measure", "sweep"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--runtime", action="append", default=[], help="NAME=PATH, corral first")
    ap.add_argument("--cgparent", required=True)
    ap.add_argument("--timer")
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--tput-rounds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=420)
    ap.add_argument("--attach", choices=("warm", "cold"), default="warm")
    ap.add_argument("--settle-ms", type=float, default=None, help="pause before each measurement (cold: 50)")
    ap.add_argument("--bg-rounds", type=int, default=20, help="rounds of the background phase (0: none)")
    ap.add_argument("--scale", default="100:3,500:2", help="N:rounds,... of the scale phase ('' for none)")
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--par", type=int, default=20)
    ap.add_argument("--agent-config")
    ap.add_argument("--docker-profile")
    ap.add_argument("--label", default="")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    args.scale = parse_scale(args.scale)
    runtimes = dict(r.split("=", 1) for r in args.runtime)

    if args.action == "sweep":
        sweep(args.work, runtimes, args.cgparent)
        return 0

    # Ctrl-C and SIGTERM both end the run through the cleanup below; set explicitly because a driver started in
    # the background by scripts/bench inherits SIGINT ignored. A second signal must not cut the cleanup short.
    def on_signal(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    layout = cgroup_layout()
    if args.settle_ms is None:
        args.settle_ms = 50.0 if args.attach == "cold" else 0.0
    args.warm_procs = own_cgroup_procs() if args.attach == "warm" else None
    interrupted = False
    try:
        base_dir = os.path.join(args.work, "spec")
        os.makedirs(base_dir, exist_ok=True)
        subprocess.run([runtimes.get("runc", "runc"), "spec", "--bundle", base_dir], check=True)
        with open(os.path.join(base_dir, "config.json")) as f:
            base = json.load(f)
        args.seccomp, seccomp_src = hardened_seccomp(args.agent_config, args.docker_profile)
        write_bundles(args.work, runtimes, base, args.seccomp, args.cgparent, args.par,
                      max([n for n, _ in args.scale] or [0]))
        info = machine_info(args, runtimes, layout, seccomp_src)
        res, done, tdone, early, elapsed = measure(args, runtimes)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sweep(args.work, runtimes, args.cgparent)
    if interrupted:
        print("bench: interrupted; containers, cgroups and bundles removed", file=sys.stderr)
        return 130

    derive(res, args.seq, args.par)
    bg_name = "runc" if "runc" in runtimes else list(runtimes)[-1]
    names = list(runtimes)
    lines = ["# corral benchmark%s" % (" (" + args.label + ")" if args.label else ""), ""]
    lines += ["| | |", "|---|---|"] + ["| %s | %s |" % (k, v) for k, v in info]
    lines += ["| rounds | %d interleaved rounds of the single-operation measures (+1 warm-up), %d of them also with "
              "the throughput measures (%d sequential, %d parallel); runtime order rotated every round%s; %.0f s |"
              % (done, tdone, args.seq, args.par, " (stopped early: time budget)" if early else "", elapsed),
              "| cgroup attach | %s |" % (
                  "warm: right before each measured command the timer re-attaches itself to its own cgroup (%s), so "
                  "no runtime waits for the RCU grace period that a cold cgroup v1 attach costs (6-15 ms here), "
                  "whatever ran before it (BENCH_ATTACH=cold measures the other case)" % args.warm_procs
                  if args.warm_procs else
                  "cold: %g ms pause before each measurement, so every create/run pays the RCU grace period of the "
                  "first cgroup v1 attach after a quiet spell (a sporadic start)" % args.settle_ms),
              "| method | each command timed in-process by a C timer (posix_spawn + wait4, CLOCK_MONOTONIC; "
              "scripts/bench.d/timer.c); peak RSS = wait4 ru_maxrss; created-container RSS = VmRSS of the --pid-file "
              "pid; values are medians over rounds, ratios are medians of the per-round ratios |",
              "| isolation | private mount namespace (unshare -m) with the cgroup2 mount hidden: all runtimes see "
              "the same cgroup v1; own --root and own cgroupsPath per runtime and slot |",
              "| neighbour | every round, plain `run`s back to back with each runtime right after each other one "
              "(X Y Z X Z Y for three), no warm-up: what a runtime pays after another runtime's container; \"right "
              "after a runc `run`\" compares corral and crun in the same position |",
              "| background | %s | " % ("%d rounds of plain `run` per runtime while %s creates and force-deletes a "
                                        "sleep container in a loop, no warm-up" % (args.bg_rounds, bg_name)
                                        if args.bg_rounds else "not run"),
              "| scale | %s |" % ("; ".join("%d containers, %d round(s)" % (n, r) for n, r in args.scale) +
                                 ": per runtime, N plain sleep containers created and started one after another "
                                 "(own cgroupsPath each), then `list` and `state` timed once with all N running, "
                                 "then `delete --force` of each. Memory per running container: the init's private "
                                 "pages (smaps_rollup Private_*; the runtime leaves no process of its own), the "
                                 "growth of the host's kernel memory (Slab + KernelStack + PageTables + Percpu in "
                                 "/proc/meminfo, divided by N: namespaces, cgroups, mounts, the task; host-wide, "
                                 "so other work on the machine adds noise), and the memory cgroup's usage (what "
                                 "the kernel charged to the container after it entered its cgroup)"
                                 if args.scale else "not run"), ""]
    for cfg, title in (("plain", "plain (`runc spec`, terminal false, /bin/true)"),
                       ("hard", "hardened (read-only root, tmpfs /tmp, uid 1001, no capabilities, no_new_privileges, "
                                "Docker's default seccomp, memory 256 MiB, pids 128)")):
        lines += ["## " + title, "", "Ratios are corral ÷ other: below 1 corral is faster/smaller; for throughput "
                  "(containers/s) above 1 corral is faster.", "",
                  table(res, cfg, ROWS + scale_rows([n for n, _ in args.scale])), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
        print("bench: results written to %s" % args.out, file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": dict(info), "rounds": done, "tput_rounds": tdone, "samples": res.samples,
                       "errors": res.errors}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
