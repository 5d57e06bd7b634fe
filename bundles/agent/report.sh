#!/bin/sh
# Runs INSIDE the agent container (bundles/agent): prints what an untrusted agent process can see.
# Copied into rootfs/agent/ by scripts/demo. Keep it busybox-sh compatible.

section() { printf '\n== %s\n' "$1"; }

section "identity (id)"
id

section "root filesystem read-only?"
if err=$(touch /probe-write 2>&1); then
    echo "WRITABLE: / accepted a write (unexpected)"
    rm -f /probe-write
else
    echo "read-only: $err"
fi

section "/tmp writable (tmpfs)?"
if echo agent-was-here > /tmp/probe && [ "$(cat /tmp/probe)" = agent-was-here ]; then
    echo "writable: /tmp/probe written and read back"
    rm -f /tmp/probe
else
    echo "NOT writable (unexpected)"
fi
grep ' /tmp ' /proc/mounts || true

section "privileges (/proc/self/status)"
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
echo "blocked by seccomp: $(unshare -U true 2>&1 || true)"
echo "blocked without CAP_SYS_ADMIN: $(mount -t tmpfs none /tmp 2>&1 || true)"
echo "masked: /proc/keys reads $( (wc -c < /proc/keys) 2>&1) bytes, /proc/timer_list $( (wc -c < /proc/timer_list) 2>&1); /sys/firmware lists '$(ls /sys/firmware 2>&1)'"
echo "read-only /proc/sys: $( (echo x > /proc/sys/kernel/domainname) 2>&1 || true)"

section "hostname"
hostname

section "namespaces (ls -l /proc/self/ns)"
ls -l /proc/self/ns

section "pid 1"
echo "my pid: $$"
echo "pid 1 comm: $(cat /proc/1/comm)"
echo "visible processes: $(ls -d /proc/[0-9]* | wc -l)"

section "network interfaces"
ip link 2>/dev/null || true
cat /proc/net/dev
echo "interfaces: $(awk -F: 'NR > 2 { gsub(/ /, "", $1); printf "%s ", $1 }' /proc/net/dev)"

section "resource limits (cgroups)"
echo "my cgroups:"; sed 's/^/  /' /proc/self/cgroup
# The limit files, when a cgroup filesystem is mounted at /sys/fs/cgroup (v1 per-controller dirs, or cgroup2).
show() { [ -r "$2" ] && echo "$1: $(cat "$2")"; }
if [ -d /sys/fs/cgroup/memory ] || [ -r /sys/fs/cgroup/cgroup.controllers ]; then
    show "memory limit (bytes)" /sys/fs/cgroup/memory/memory.limit_in_bytes || show "memory.max" /sys/fs/cgroup/memory.max
    show "cpu quota/period (us)" /sys/fs/cgroup/cpu/cpu.cfs_quota_us && show "cpu period (us)" /sys/fs/cgroup/cpu/cpu.cfs_period_us \
        || show "cpu.max" /sys/fs/cgroup/cpu.max
    show "pids limit" /sys/fs/cgroup/pids/pids.max || show "pids.max" /sys/fs/cgroup/pids.max
else
    echo "no cgroup filesystem at /sys/fs/cgroup in this container; probing the limits instead:"
fi
# Probes that need no cgroup files: how many processes can I start, and can I take 600 MiB?
( i=0; while [ $i -lt 80 ]; do sleep 1 & i=$((i+1)); echo $i > /tmp/.pids-probe; done ) 2>/dev/null
read n < /tmp/.pids-probe
echo "pids: $n of 80 extra processes could be started before fork failed"
until rm -f /tmp/.pids-probe 2>/dev/null; do :; done   # forks work again once those sleeps are gone
if dd if=/dev/zero of=/dev/null bs=600M count=1 2>/dev/null; then
    echo "memory: a 600 MiB buffer was allowed (no limit below that)"
else
    echo "memory: a 600 MiB buffer was refused or OOM-killed (limit below 600 MiB)"
fi
