// Host side, run by the runtime process only (never in the container child): linux.netDevices. A host network
// interface is moved into the container's network namespace and renamed in one RTM_NEWLINK, its addresses are
// carried over (a move drops them) and it is brought up again if it was up, as runc and youki do.
#include "host.h"
#include "corral_netdev.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/// One netlink request of at most 1 KiB: header, payload, then attributes appended.
struct nl_req {
    struct nlmsghdr h;
    char body[1024];
};

static void *nl_tail(struct nl_req *r) { return (char *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len); }

static int nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len) {
    size_t need = RTA_SPACE(len);
    if (NLMSG_ALIGN(r->h.nlmsg_len) + need > sizeof *r) return -E2BIG;
    struct rtattr *a = nl_tail(r);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    r->h.nlmsg_len = (uint32_t)(NLMSG_ALIGN(r->h.nlmsg_len) + need);
    return 0;
}

static int nl_socket(void) {
    int fd = (int)RSYS(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    return fd;
}

/// Sends a request and reads its acknowledgement (NLM_F_ACK). 0 or -errno from the kernel's answer.
static int nl_talk(int fd, struct nl_req *r) {
    static uint32_t seq = 1;
    r->h.nlmsg_seq = seq++;
    r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (RSYS(SYS_sendto, fd, r, r->h.nlmsg_len, 0, NULL, 0) < 0) return -errno;
    char buf[4096] __attribute__((aligned(4)));
    for (;;) {
        long n = RSYS(SYS_recvfrom, fd, buf, sizeof buf, 0, NULL, NULL);
        if (n < 0) return (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        }
    }
}

/// Fills `addrs` (room for `max`) with the interface's addresses that move with it (permanent, global scope) as
/// RTM_NEWADDR payloads (ifaddrmsg + IFA_LOCAL / IFA_ADDRESS / IFA_BROADCAST attributes copied). Returns the count
/// or -errno.
struct saved_addr { struct ifaddrmsg ifa; unsigned char local[16], address[16], broadcast[4]; int has_local, has_address, has_broadcast; };

static int save_addrs(int fd, int ifindex, struct saved_addr *addrs, int max) {
    struct nl_req r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    r.h.nlmsg_type = RTM_GETADDR;
    r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    r.h.nlmsg_seq = 0x7fff0001;
    if (RSYS(SYS_sendto, fd, &r, r.h.nlmsg_len, 0, NULL, 0) < 0) return -errno;
    int count = 0;
    char buf[8192] __attribute__((aligned(4)));
    for (;;) {
        long n = RSYS(SYS_recvfrom, fd, buf, sizeof buf, 0, NULL, NULL);
        if (n < 0) return (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) return count;
            if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            if (h->nlmsg_type != RTM_NEWADDR) continue;
            struct ifaddrmsg *ifa = NLMSG_DATA(h);
            if ((int)ifa->ifa_index != ifindex || count >= max) continue;
            struct saved_addr *s = &addrs[count];
            memset(s, 0, sizeof *s);
            s->ifa = *ifa;
            size_t alen = ifa->ifa_family == AF_INET6 ? 16 : 4;
            int len = (int)IFA_PAYLOAD(h);
            for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (RTA_PAYLOAD(a) < alen && a->rta_type != IFA_BROADCAST) continue;
                if (a->rta_type == IFA_LOCAL) { memcpy(s->local, RTA_DATA(a), alen); s->has_local = 1; }
                if (a->rta_type == IFA_ADDRESS) { memcpy(s->address, RTA_DATA(a), alen); s->has_address = 1; }
                if (a->rta_type == IFA_BROADCAST && RTA_PAYLOAD(a) == 4) { memcpy(s->broadcast, RTA_DATA(a), 4); s->has_broadcast = 1; }
            }
            // As runc main: only permanent addresses of global scope move along. Dynamic ones (DHCP, SLAAC) belong
            // to the host's network, host and link scope ones to the host (link-local IPv6 comes back by itself
            // when the link goes up).
            if (!(ifa->ifa_flags & IFA_F_PERMANENT) || ifa->ifa_scope != RT_SCOPE_UNIVERSE) continue;
            count++;
        }
    }
}

int corral_netdev_move(const char *host_name, const char *new_name, int netns_fd, char *what, int what_len) {
    snprintf(what, (size_t)what_len, "%s", "find the interface");
    unsigned ifindex = if_nametoindex(host_name);
    if (ifindex == 0) return -ENODEV;
    int fd = nl_socket();
    if (fd < 0) return fd;
    struct saved_addr addrs[32];
    snprintf(what, (size_t)what_len, "%s", "read its addresses");
    int naddrs = save_addrs(fd, (int)ifindex, addrs, 32);
    if (naddrs < 0) { x_close(fd); return naddrs; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", host_name);
    int sock = (int)RSYS(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int was_up = sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
    x_close(sock);

    // Move and rename at once: the kernel never shows the host's name inside, or the new name on the host.
    struct nl_req r;
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    r.h.nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = (int)ifindex;
    uint32_t nsfd = (uint32_t)netns_fd;
    int e = nl_attr(&r, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
    if (e == 0) e = nl_attr(&r, IFLA_IFNAME, new_name, strlen(new_name) + 1);
    snprintf(what, (size_t)what_len, "%s", "move it into the container's network namespace");
    if (e == 0) e = nl_talk(fd, &r);
    x_close(fd);
    if (e < 0) return e;

    // Inside: addresses back, and up again if it was. A netlink socket works in the namespace it was made in.
    int self = (int)RSYS(SYS_openat, AT_FDCWD, "/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return self;
    snprintf(what, (size_t)what_len, "%s", "enter the container's network namespace");
    if (RSYS(SYS_setns, netns_fd, CLONE_NEWNET) < 0) { e = -errno; x_close(self); return e; }
    fd = nl_socket();
    RSYS(SYS_setns, self, CLONE_NEWNET);   // back at once; the socket stays in the container's namespace
    x_close(self);
    if (fd < 0) return fd;
    unsigned inside = 0;
    // The new index: ask by name through the socket's namespace.
    memset(&r, 0, sizeof r);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    r.h.nlmsg_type = RTM_GETLINK;
    r.h.nlmsg_flags = NLM_F_REQUEST;
    r.h.nlmsg_seq = 0x7fff0002;
    nl_attr(&r, IFLA_IFNAME, new_name, strlen(new_name) + 1);
    snprintf(what, (size_t)what_len, "%s", "find it in the container");
    if (RSYS(SYS_sendto, fd, &r, r.h.nlmsg_len, 0, NULL, 0) < 0) { e = -errno; x_close(fd); return e; }
    {
        char buf[4096] __attribute__((aligned(4)));
        long n = RSYS(SYS_recvfrom, fd, buf, sizeof buf, 0, NULL, NULL);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (n < 0) { x_close(fd); return (int)n; }
        if (NLMSG_OK(h, (unsigned)n) && h->nlmsg_type == NLMSG_ERROR) { e = ((struct nlmsgerr *)NLMSG_DATA(h))->error; x_close(fd); return e ? e : -ENODEV; }
        if (!NLMSG_OK(h, (unsigned)n) || h->nlmsg_type != RTM_NEWLINK) { x_close(fd); return -ENODEV; }
        inside = (unsigned)((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
    }
    for (int i = 0; i < naddrs; i++) {
        struct saved_addr *s = &addrs[i];
        memset(&r, 0, sizeof r);
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
        r.h.nlmsg_type = RTM_NEWADDR;
        r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
        *ifa = s->ifa;
        ifa->ifa_index = inside;
        size_t alen = s->ifa.ifa_family == AF_INET6 ? 16 : 4;
        e = 0;
        if (s->has_local) e = nl_attr(&r, IFA_LOCAL, s->local, alen);
        if (e == 0 && s->has_address) e = nl_attr(&r, IFA_ADDRESS, s->address, alen);
        if (e == 0 && s->has_broadcast) e = nl_attr(&r, IFA_BROADCAST, s->broadcast, 4);
        snprintf(what, (size_t)what_len, "%s", "restore its addresses");
        if (e == 0) e = nl_talk(fd, &r);
        if (e < 0 && e != -EEXIST) { x_close(fd); return e; }
    }
    if (was_up) {
        memset(&r, 0, sizeof r);
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
        r.h.nlmsg_type = RTM_NEWLINK;
        struct ifinfomsg *up = NLMSG_DATA(&r.h);
        up->ifi_family = AF_UNSPEC;
        up->ifi_index = (int)inside;
        up->ifi_flags = IFF_UP;
        up->ifi_change = IFF_UP;
        snprintf(what, (size_t)what_len, "%s", "bring it up");
        e = nl_talk(fd, &r);
        if (e < 0) { x_close(fd); return e; }
    }
    x_close(fd);
    return 0;
}
