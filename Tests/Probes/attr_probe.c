// attr_probe: prints the scheduling and memory attributes of the calling process, one `key=value` line each, read
// with the kernel's own getters (the calls busybox has no applet for). ProcessAttributeTests runs it inside
// containers; built static by the tests (cc -static -O2), like escape_probe.
//
//   sched_policy, sched_priority, sched_nice, sched_flags, sched_runtime, sched_deadline, sched_period  sched_getattr(2)
//   ioprio_class, ioprio_level                                                                       ioprio_get(2)
//   cpus                                                        sched_getaffinity(2), as a list ("0-1")
//   mempolicy_mode, mempolicy_flags, mempolicy_nodes            get_mempolicy(2): mode, MPOL_F_* bits, node list
//   personality                                                 personality(0xffffffff), hex
//
// A getter that fails prints `<key>_error=<errno text>` instead.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sched_attr_v0 {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

/// Prints the set bits of mask[words] as a list: "0-3,7".
static void print_list(const char *key, const unsigned long *mask, int words) {
    printf("%s=", key);
    int first = 1, bits = words * 64;
    for (int i = 0; i < bits; i++) {
        if (!(mask[i / 64] >> (i % 64) & 1)) continue;
        int j = i;
        while (j + 1 < bits && (mask[(j + 1) / 64] >> ((j + 1) % 64) & 1)) j++;
        printf(first ? "" : ",");
        if (i == j) printf("%d", i); else printf("%d-%d", i, j);
        first = 0;
        i = j;
    }
    printf("\n");
}

int main(void) {
    struct sched_attr_v0 a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0) {
        printf("sched_policy=%u\nsched_priority=%u\nsched_nice=%d\nsched_flags=0x%llx\n", a.sched_policy,
               a.sched_priority, a.sched_nice, (unsigned long long)a.sched_flags);
        printf("sched_runtime=%llu\nsched_deadline=%llu\nsched_period=%llu\n", (unsigned long long)a.sched_runtime,
               (unsigned long long)a.sched_deadline, (unsigned long long)a.sched_period);
    } else {
        printf("sched_error=%s\n", strerror(errno));
    }

    long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
    if (io >= 0) printf("ioprio_class=%ld\nioprio_level=%ld\n", io >> 13, io & 7);
    else printf("ioprio_error=%s\n", strerror(errno));

    unsigned long cpus[128];   // 8192 CPUs
    memset(cpus, 0, sizeof cpus);
    if (syscall(SYS_sched_getaffinity, 0, sizeof cpus, cpus) >= 0) print_list("cpus", cpus, 128);
    else printf("cpus_error=%s\n", strerror(errno));

    int mode = 0;
    unsigned long nodes[16];   // 1024 nodes
    memset(nodes, 0, sizeof nodes);
    if (syscall(SYS_get_mempolicy, &mode, nodes, (unsigned long)(sizeof nodes * 8), NULL, 0UL) == 0) {
        printf("mempolicy_mode=%d\nmempolicy_flags=0x%x\n", mode & 0xff, mode & ~0xff);
        print_list("mempolicy_nodes", nodes, 16);
    } else {
        printf("mempolicy_error=%s\n", strerror(errno));
    }

    long persona = syscall(SYS_personality, 0xffffffffUL);
    if (persona >= 0) printf("personality=0x%lx\n", persona);
    else printf("personality_error=%s\n", strerror(errno));
    return 0;
}
