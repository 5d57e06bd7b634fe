// The cgroup v2 device program (BPF_PROG_TYPE_CGROUP_DEVICE): generation, loading, attaching.
// Host shim: runs in the runtime process only, never in a cloned container child.
#ifndef CORRAL_DEVICES_BPF_H
#define CORRAL_DEVICES_BPF_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One device-cgroup exception for the cgroup v2 device program (the emulated rule list, never type 'a').
struct corral_dev_rule {
    char type;                ///< 'c' or 'b'
    int64_t major, minor;     ///< -1 = wildcard
    uint32_t access;          ///< BPF_DEVCG_ACC_* bits: mknod 1, read 2, write 4
    int allow;
};
/// Writes runc's device filter (BPF_PROG_TYPE_CGROUP_DEVICE) into `insns` (struct bpf_insn, 8 bytes each, room for
/// `max_insns`): the exceptions, then `default_allow`. Returns the instruction count or -E2BIG / -EINVAL.
int corral_devices_bpf_gen(const struct corral_dev_rule *rules, int nrules, int default_allow, void *insns, int max_insns);
/// BPF_PROG_LOAD of such a program (license "Apache"). fd or -errno; on failure `log` holds the verifier's log.
int corral_devices_bpf_load(const void *insns, int ninsns, char *log, int loglen);
/// BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to a cgroup2 directory fd. 0 or -errno.
int corral_devices_bpf_attach(int cgroup_fd, int prog_fd);
/// Ids of the device programs attached to the cgroup (up to max_ids); returns the count or -errno.
int corral_devices_bpf_query(int cgroup_fd, uint32_t *ids, int max_ids);
/// Detaches every device program attached to the cgroup; returns how many or -errno.
int corral_devices_bpf_detach_all(int cgroup_fd);

#ifdef __cplusplus
}
#endif
#endif
