// cgroup v2 device control: the BPF_PROG_TYPE_CGROUP_DEVICE program built from the emulated rule list (runc's
// devicefilter layout), and the bpf(2) calls to load, attach, query and detach it. Plus the two small syscalls the
// cgroup code needs that Swift's Glibc module does not export (eventfd for v1 OOM notification).
//
// Runs in the runtime process only (never in the cloned child), so ordinary libc is fine here.
#include "host.h"
#include "corral_devices_bpf.h"

#include <linux/bpf.h>
#include <string.h>
#include <sys/eventfd.h>

// The program, as runc generates it (libcontainer/cgroups/ebpf/devicefilter):
//   r2 = ctx->access_type & 0xffff   (BPF_DEVCG_DEV_BLOCK / _CHAR)
//   r3 = ctx->access_type >> 16      (BPF_DEVCG_ACC_* requested)
//   r4 = ctx->major, r5 = ctx->minor
//   per exception: if type, requested access ⊆ rule access, major, minor all match → return allow
//   finally: return default_allow
// Exceptions of one emulated list all have the polarity opposite to the default, so their order does not matter.
// Majors/minors are compared with 32-bit jumps (JMP32) so values above INT32_MAX match too.

static int emit(struct bpf_insn *out, int cap, int *n, struct bpf_insn insn) {
    if (*n >= cap) return -E2BIG;
    out[(*n)++] = insn;
    return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

int corral_devices_bpf_gen(const struct corral_dev_rule *rules, int nrules, int default_allow,
                           void *buf, int max_insns) {
    struct bpf_insn *out = buf;
    int n = 0;
    struct bpf_insn head[] = {
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
        INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
        INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
        INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
    };
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        if (emit(out, max_insns, &n, head[i]) < 0) return -E2BIG;

    for (int r = 0; r < nrules; r++) {
        const struct corral_dev_rule *rule = &rules[r];
        int type;
        if (rule->type == 'c') type = BPF_DEVCG_DEV_CHAR;
        else if (rule->type == 'b') type = BPF_DEVCG_DEV_BLOCK;
        else return -EINVAL;   // 'a' never reaches here: the emulator folds it into default_allow
        if (rule->access == 0 || (rule->access & ~7u)) return -EINVAL;
        int check_access = rule->access != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
        int has_major = rule->major >= 0, has_minor = rule->minor >= 0;
        if (rule->major > 0xffffffffLL || rule->minor > 0xffffffffLL) return -EINVAL;
        // Block length first, so every "no match" jump can go straight to the next block.
        int len = 1 + (check_access ? 3 : 0) + has_major + has_minor + 2;
        int at = 0;   // index within the block of the instruction being emitted
#define SKIP (int16_t)(len - at - 1)
        if (emit(out, max_insns, &n, INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, 0, SKIP, type)) < 0) return -E2BIG;
        at++;
        if (check_access) {
            if (emit(out, max_insns, &n, INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0)) < 0) return -E2BIG;
            at++;
            if (emit(out, max_insns, &n, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)rule->access)) < 0) return -E2BIG;
            at++;
            if (emit(out, max_insns, &n, INSN(BPF_JMP32 | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, SKIP, 0)) < 0) return -E2BIG;
            at++;
        }
        if (has_major) {
            if (emit(out, max_insns, &n, INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_4, 0, SKIP, (int32_t)(uint32_t)rule->major)) < 0) return -E2BIG;
            at++;
        }
        if (has_minor) {
            if (emit(out, max_insns, &n, INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, SKIP, (int32_t)(uint32_t)rule->minor)) < 0) return -E2BIG;
            at++;
        }
#undef SKIP
        if (emit(out, max_insns, &n, INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, rule->allow ? 1 : 0)) < 0) return -E2BIG;
        if (emit(out, max_insns, &n, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)) < 0) return -E2BIG;
    }
    if (emit(out, max_insns, &n, INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, default_allow ? 1 : 0)) < 0) return -E2BIG;
    if (emit(out, max_insns, &n, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)) < 0) return -E2BIG;
    return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
    return RSYS(SYS_bpf, cmd, attr, sizeof *attr);
}

int corral_devices_bpf_load(const void *insns, int ninsns, char *log, int loglen) {
    static const char license[] = "Apache";
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = (uint32_t)ninsns;
    attr.license = (uint64_t)(uintptr_t)license;
    long fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) {
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        return (int)fd;
    }
    // Again with the verifier's log, so the error can say why.
    if (log && loglen > 1) {
        log[0] = 0;
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)loglen;
        attr.log_level = 1;
        long again = sys_bpf(BPF_PROG_LOAD, &attr);
        if (again >= 0) { fcntl((int)again, F_SETFD, FD_CLOEXEC); return (int)again; }
    }
    return (int)fd;
}

int corral_devices_bpf_attach(int cgroup_fd, int prog_fd) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    long r = sys_bpf(BPF_PROG_ATTACH, &attr);
    return r < 0 ? (int)r : 0;
}

int corral_devices_bpf_query(int cgroup_fd, uint32_t *ids, int max_ids) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.query.prog_cnt = (uint32_t)max_ids;
    long r = sys_bpf(BPF_PROG_QUERY, &attr);
    return r < 0 ? (int)r : (int)attr.query.prog_cnt;
}

int corral_devices_bpf_detach_all(int cgroup_fd) {
    uint32_t ids[64];
    int n = corral_devices_bpf_query(cgroup_fd, ids, 64);
    if (n < 0) return n;
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.prog_id = ids[i];
        long pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
        if (pfd < 0) return (int)pfd;
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t)cgroup_fd;
        attr.attach_bpf_fd = (uint32_t)pfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        long r = sys_bpf(BPF_PROG_DETACH, &attr);
        close((int)pfd);
        if (r < 0) return (int)r;
    }
    return n;
}

int corral_eventfd(unsigned int initval) {
    int fd = eventfd(initval, EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}
