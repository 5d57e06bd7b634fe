// Scheduling and memory placement of the container process: linux.memoryPolicy (set_mempolicy), process.execCPUAffinity
// (sched_setaffinity), process.scheduler (sched_setattr) and process.ioPriority (ioprio_set). The planner validated
// every value; the child only makes the raw syscalls, on stack memory, and reports the stage of a failure.
#include "internal.h"

#include <string.h>
#include <sys/mman.h>

_Static_assert(sizeof(unsigned long) == sizeof(uint64_t), "kernel bitmaps are read as 64-bit words");

/// The kernel's struct sched_attr up to SCHED_ATTR_SIZE_VER0 (48 bytes): no utilization clamps (the planner refuses
/// the flags that would read them).
struct sched_attr_v0 {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
_Static_assert(sizeof(struct sched_attr_v0) == 48, "SCHED_ATTR_SIZE_VER0");

#define IOPRIO_WHO_PROCESS 1

static void set_affinity(const struct corral_plan *p, const uint64_t *mask, int words, int which) {
    long r = RSYS(SYS_sched_setaffinity, 0, (size_t)words * sizeof(uint64_t), mask);
    if (r < 0) child_fail(p, CORRAL_STAGE_CPU_AFFINITY, (int)r, which, "sched_setaffinity", NULL);
}

void apply_initial_affinity(const struct corral_plan *p) {
    if (p->cpus_initial) set_affinity(p, p->cpus_initial, p->ncpus_initial, 0);
}

/// The end of the runtime's part of the setup: `final`, or with `initial` alone every CPU again (the kernel keeps a
/// mask set with sched_setaffinity across a cgroup move, narrowed to the cpuset; widening it hands the process the
/// cgroup's cpuset, as runc and crun do).
static void apply_final_affinity(const struct corral_plan *p) {
    if (p->cpus_final) {
        set_affinity(p, p->cpus_final, p->ncpus_final, 1);
    } else if (p->cpus_initial) {
        uint64_t all[128];   // 8192 CPUs, x86_64's largest NR_CPUS; the kernel ignores bits past nr_cpu_ids
        memset(all, 0xff, sizeof all);
        set_affinity(p, all, (int)(sizeof all / sizeof all[0]), 2);
    }
}

void apply_scheduling(const struct corral_plan *p) {
    long r;
    if (p->set_mempolicy) {
        // set_mempolicy reads maxnode - 1 bits (a historical off-by-one): pass one more than the mask holds.
        unsigned long maxnode = p->mempolicy_nodes ? (unsigned long)p->nmempolicy_words * 64 + 1 : 0;
        r = RSYS(SYS_set_mempolicy, p->mempolicy_mode, p->mempolicy_nodes, maxnode);
        if (r < 0) child_fail(p, CORRAL_STAGE_MEMPOLICY, (int)r, -1, "set_mempolicy", NULL);
    }
    // Before the scheduler: a SCHED_DEADLINE task may not narrow its affinity, and needs one spanning its root domain.
    apply_final_affinity(p);
    if (p->set_scheduler) {
        struct sched_attr_v0 attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.sched_policy = p->scheduler.policy;
        attr.sched_flags = p->scheduler.flags;
        attr.sched_nice = p->scheduler.nice;
        attr.sched_priority = p->scheduler.priority;
        attr.sched_runtime = p->scheduler.runtime;
        attr.sched_deadline = p->scheduler.deadline;
        attr.sched_period = p->scheduler.period;
        r = RSYS(SYS_sched_setattr, 0, &attr, 0);
        if (r < 0) child_fail(p, CORRAL_STAGE_SCHEDULER, (int)r, -1, "sched_setattr", NULL);
    }
    if (p->ioprio >= 0) {
        // The calling process only: it leads a session and process group of its own, and children inherit it.
        r = RSYS(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, p->ioprio);
        if (r < 0) child_fail(p, CORRAL_STAGE_IOPRIO, (int)r, -1, "ioprio_set", NULL);
    }
}
