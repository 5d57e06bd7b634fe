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
