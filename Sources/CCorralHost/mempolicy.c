// Which memory policies the kernel takes (`corral features`, the planner's checks): a probe on a scratch page.
#include "host.h"
#include "corral_mempolicy.h"

#include <sys/mman.h>

int corral_mempolicy_probe(int mode, int node) {
    long page = sysconf(_SC_PAGESIZE);
    void *addr = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) return -errno;
    uint64_t mask[16];   // nodes 0..1023
    memset(mask, 0, sizeof mask);
    int with_nodes = node >= 0 && node < 1024;
    if (with_nodes) mask[node / 64] = 1ULL << (node % 64);
    long r = RSYS(SYS_mbind, addr, (unsigned long)page, mode, with_nodes ? mask : NULL,
                  with_nodes ? (unsigned long)(sizeof mask * 8 + 1) : 0UL, 0U);
    munmap(addr, (size_t)page);
    return (int)r;
}
