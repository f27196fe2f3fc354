/* sockopt_ip_multicast: the multicast options of a UDP socket, their membership state and
 * every errno: IP_MULTICAST_IF (in_addr, ip_mreq, ip_mreqn), IP_ADD/DROP_MEMBERSHIP (ip_mreq
 * and ip_mreqn: EADDRINUSE, EADDRNOTAVAIL, ENODEV, EINVAL, ENOBUFS at igmp_max_memberships),
 * the source options (ADD/DROP_SOURCE_MEMBERSHIP, BLOCK/UNBLOCK_SOURCE, igmp_max_msf),
 * IP_MSFILTER set and get, and the group_req forms (MCAST_*). The state is read back through
 * IP_MSFILTER / MCAST_MSFILTER and the errno of further calls. Then a TCP socket (fresh and
 * listening): the options it refuses, and the interface named by address or index in the
 * source memberships and filters it takes. */
#include "trace.h"

#include <arpa/inet.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

static struct in_addr addr(const char *text)
{
    struct in_addr a;
    inet_pton(AF_INET, text, &a);
    return a;
}

static int mreq(int fd, int name, const char *group, const char *iface)
{
    struct ip_mreq m = { addr(group), addr(iface) };
    return tr_setsockopt(fd, IPPROTO_IP, name, &m, sizeof m);
}

static int mreqn(int fd, int name, const char *group, const char *iface, int ifindex)
{
    struct ip_mreqn m = { addr(group), addr(iface), ifindex };
    return tr_setsockopt(fd, IPPROTO_IP, name, &m, sizeof m);
}

static int source(int fd, int name, const char *group, const char *iface, const char *src)
{
    struct ip_mreq_source m = { addr(group), addr(iface), addr(src) };
    return tr_setsockopt(fd, IPPROTO_IP, name, &m, sizeof m);
}

/* IP_MSFILTER's get: the caller names the group, the interface and its room. */
static void msfilter_get(int fd, const char *group, const char *iface, unsigned room, socklen_t len)
{
    unsigned char buf[IP_MSFILTER_SIZE(16)];
    memset(buf, 0xaa, sizeof buf);
    struct ip_msfilter *f = (struct ip_msfilter *)buf;
    f->imsf_multiaddr = addr(group);
    f->imsf_interface = addr(iface);
    f->imsf_fmode = 7;
    f->imsf_numsrc = room;
    socklen_t l = len;
    if (tr_getsockopt(fd, IPPROTO_IP, IP_MSFILTER, buf, &l) == 0) {
        char a[INET_ADDRSTRLEN];
        printf("  msfilter fmode=%u numsrc=%u:", f->imsf_fmode, f->imsf_numsrc);
        for (unsigned i = 0; i < room && i < 16 && 16 + 4 * i < l; i++)
            printf(" %s", inet_ntop(AF_INET, &f->imsf_slist[i], a, sizeof a));
        printf("\n");
    }
}

static int msfilter_set(int fd, const char *group, const char *iface, unsigned mode,
                        unsigned count, const char *const *sources, socklen_t len)
{
    unsigned char buf[IP_MSFILTER_SIZE(16)];
    memset(buf, 0, sizeof buf);
    struct ip_msfilter *f = (struct ip_msfilter *)buf;
    f->imsf_multiaddr = addr(group);
    f->imsf_interface = addr(iface);
    f->imsf_fmode = mode;
    f->imsf_numsrc = count;
    for (unsigned i = 0; i < count && i < 16; i++)
        f->imsf_slist[i] = addr(sources[i]);
    return tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, buf, len);
}

static void put_storage(struct sockaddr_storage *ss, int family, const char *a)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = (sa_family_t)family;
    sin->sin_addr = addr(a);
}

static int group_req(int fd, int name, unsigned ifindex, int family, const char *group, socklen_t len)
{
    struct group_req r;
    memset(&r, 0, sizeof r);
    r.gr_interface = ifindex;
    put_storage(&r.gr_group, family, group);
    return tr_setsockopt(fd, IPPROTO_IP, name, &r, len);
}

static int group_source_req(int fd, int name, unsigned ifindex, int gfamily, const char *group,
                            int sfamily, const char *src, socklen_t len)
{
    struct group_source_req r;
    memset(&r, 0, sizeof r);
    r.gsr_interface = ifindex;
    put_storage(&r.gsr_group, gfamily, group);
    put_storage(&r.gsr_source, sfamily, src);
    return tr_setsockopt(fd, IPPROTO_IP, name, &r, len);
}

static void group_filter_get(int fd, unsigned ifindex, int family, const char *group, unsigned room,
                             socklen_t len)
{
    static unsigned char buf[GROUP_FILTER_SIZE(12)];
    memset(buf, 0xaa, sizeof buf);
    struct group_filter *g = (struct group_filter *)buf;
    memset(g, 0, GROUP_FILTER_SIZE(0));
    g->gf_interface = ifindex;
    put_storage(&g->gf_group, family, group);
    g->gf_fmode = 7;
    g->gf_numsrc = room;
    socklen_t l = len;
    if (tr_getsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, buf, &l) == 0) {
        char a[INET_ADDRSTRLEN];
        printf("  group_filter fmode=%u numsrc=%u:", g->gf_fmode, g->gf_numsrc);
        for (unsigned i = 0; i < room && i < 12 && GROUP_FILTER_SIZE(i) < l; i++) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&g->gf_slist[i];
            printf(" [family=%d port=%d %s]", sin->sin_family, ntohs(sin->sin_port),
                   inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a));
        }
        printf("\n");
    }
}

static int group_filter_set(int fd, unsigned ifindex, int family, const char *group, unsigned mode,
                            unsigned count, const char *const *sources, socklen_t len)
{
    static unsigned char buf[GROUP_FILTER_SIZE(12)];
    memset(buf, 0, sizeof buf);
    struct group_filter *g = (struct group_filter *)buf;
    g->gf_interface = ifindex;
    put_storage(&g->gf_group, family, group);
    g->gf_fmode = mode;
    g->gf_numsrc = count;
    for (unsigned i = 0; i < count && i < 12; i++)
        put_storage(&g->gf_slist[i], AF_INET, sources[i]);
    return tr_setsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, buf, len);
}

static void multicast_if(int fd)
{
    note("IP_MULTICAST_IF: default, every length");
    for (socklen_t len = 0; len <= 12; len += (len < 5 ? 1 : 7)) {
        unsigned char raw[16];
        memset(raw, 0xee, sizeof raw);
        socklen_t l = len;
        tr_getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, raw, &l);
    }
    note("IP_MULTICAST_IF: in_addr form");
    const char *addrs[] = { "198.18.0.2", "127.0.0.1", "127.0.0.5", "198.18.0.9", "224.0.0.1",
                            "198.18.0.255", "0.0.0.0" };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        struct in_addr a = addr(addrs[i]);
        tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a);
        tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    }
    note("IP_MULTICAST_IF: ip_mreq form (imr_interface) and ip_mreqn (address, index)");
    mreq(fd, IP_MULTICAST_IF, "239.1.1.1", "198.18.0.2");
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreq(fd, IP_MULTICAST_IF, "0.0.0.0", "0.0.0.0");
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "0.0.0.0", 2);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "198.18.0.2", 1);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "198.18.0.77", 2);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "0.0.0.0", 99);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "198.18.0.77", 0);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "0.0.0.0", 0);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    note("IP_MULTICAST_IF: lengths and pointers");
    unsigned char bytes[16] = { 198, 18, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 9, 9, 9, 9 };
    const int lens[] = { 0, 1, 3, 4, 5, 7, 8, 11, 12, 16 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, bytes, (socklen_t)lens[i]);
        tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    }
    tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, NULL, 4);
    tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, BADPTR, 3);
    tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, BADPTR, 12);
    socklen_t l = 4;
    tr_getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, BADPTR, &l);
    l = (socklen_t)-1;
    tr_getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, bytes, &l);
}

/* A TCP socket: which multicast options it refuses, and the interface named by its address
 * or its index in those it takes (the stack's interface is 2, holding 198.18.0.2). */
static void tcp_interfaces(int fd)
{
    note("TCP: IP_MULTICAST_IF and IP_ADD_MEMBERSHIP by address and by index");
    struct in_addr host = addr("198.18.0.2");
    tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &host, sizeof host);
    mreqn(fd, IP_MULTICAST_IF, "0.0.0.0", "0.0.0.0", 2);
    tr_getint(fd, IPPROTO_IP, IP_MULTICAST_IF);
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "198.18.0.2");
    mreqn(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0", 2);
    mreq(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "198.18.0.2");
    note("TCP: source memberships and filters by interface address");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.1.1.5", "198.18.0.2", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.1.1.5", "198.18.0.2", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.1.1.6", "127.0.0.1", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.1.1.7", "198.18.0.9", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.1.1.8", "0.0.0.0", "198.18.0.1");
    msfilter_get(fd, "239.1.1.5", "198.18.0.2", 4, IP_MSFILTER_SIZE(4));
    msfilter_get(fd, "239.1.1.6", "127.0.0.1", 4, IP_MSFILTER_SIZE(4));
    msfilter_get(fd, "239.1.1.8", "0.0.0.0", 4, IP_MSFILTER_SIZE(4));
    msfilter_get(fd, "239.1.1.5", "198.18.0.9", 4, IP_MSFILTER_SIZE(4));
    note("TCP: the group joined by route (0.0.0.0) is found by the interface's address");
    const char *one[] = { "198.18.0.3" };
    msfilter_set(fd, "239.1.1.9", "198.18.0.2", MCAST_EXCLUDE, 1, one, IP_MSFILTER_SIZE(1));
    msfilter_set(fd, "239.1.1.8", "198.18.0.2", MCAST_EXCLUDE, 1, one, IP_MSFILTER_SIZE(1));
    msfilter_get(fd, "239.1.1.8", "0.0.0.0", 4, IP_MSFILTER_SIZE(4));
    source(fd, IP_BLOCK_SOURCE, "239.1.1.8", "198.18.0.2", "198.18.0.4");
    msfilter_get(fd, "239.1.1.8", "198.18.0.2", 4, IP_MSFILTER_SIZE(4));
    group_req(fd, MCAST_LEAVE_GROUP, 2, AF_INET, "239.1.1.8", sizeof(struct group_req));
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "239.1.1.5", "198.18.0.2", "198.18.0.1");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "239.1.1.5", "198.18.0.2", "198.18.0.1");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "239.1.1.6", "127.0.0.1", "198.18.0.1");
    note("TCP: the group_req forms by index");
    group_req(fd, MCAST_JOIN_GROUP, 2, AF_INET, "239.1.1.10", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 2, AF_INET, "239.1.1.10", sizeof(struct group_req));
    group_req(fd, MCAST_LEAVE_GROUP, 2, AF_INET, "239.1.1.10", sizeof(struct group_req));
    tr_setint(fd, IPPROTO_IP, IP_UNICAST_IF, htonl(2));
    tr_getint(fd, IPPROTO_IP, IP_UNICAST_IF);
}

static void memberships(int fd)
{
    note("IP_ADD_MEMBERSHIP: ip_mreq and ip_mreqn, duplicates, interfaces");
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "198.18.0.2");
    mreqn(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0", 2);
    mreqn(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0", 1);
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.1", "127.0.0.1");
    mreqn(fd, IP_ADD_MEMBERSHIP, "239.1.1.2", "0.0.0.0", 99);
    mreq(fd, IP_ADD_MEMBERSHIP, "239.1.1.2", "198.18.0.9");
    mreqn(fd, IP_ADD_MEMBERSHIP, "239.1.1.2", "198.18.0.9", 2);
    mreq(fd, IP_ADD_MEMBERSHIP, "198.18.0.1", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "0.0.0.0", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "255.255.255.255", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "224.0.0.1", "0.0.0.0");
    mreq(fd, IP_ADD_MEMBERSHIP, "239.255.255.255", "198.18.0.2");
    note("IP_ADD_MEMBERSHIP: lengths and pointers");
    struct ip_mreqn m = { addr("239.1.1.3"), addr("0.0.0.0"), 0 };
    const int lens[] = { 0, 4, 7, 8, 9, 11, 12, 16 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char buf[16] = { 0 };
        memcpy(buf, &m, sizeof m);
        buf[3] = (unsigned char)(10 + i);
        tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, buf, (socklen_t)lens[i]);
    }
    tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, NULL, 8);
    tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, BADPTR, 7);
    tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, BADPTR, 12);
    tr_setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, BADPTR, 8);
    tr_setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, BADPTR, 4);
    tr_getint(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP);
    tr_getint(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP);

    note("IP_DROP_MEMBERSHIP");
    mreq(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreq(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreqn(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0", 2);
    mreqn(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0", 99);
    mreq(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "198.18.0.9");
    mreq(fd, IP_DROP_MEMBERSHIP, "239.1.1.1", "127.0.0.1");
    mreq(fd, IP_DROP_MEMBERSHIP, "239.9.9.9", "0.0.0.0");
    mreq(fd, IP_DROP_MEMBERSHIP, "198.18.0.1", "0.0.0.0");
    mreq(fd, IP_DROP_MEMBERSHIP, "239.255.255.255", "0.0.0.0");
    mreq(fd, IP_DROP_MEMBERSHIP, "224.0.0.1", "198.18.0.2");
    struct ip_mreq short_form = { addr("239.1.1.10"), addr("0.0.0.0") };
    tr_setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &short_form, 7);
    tr_setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &short_form, 0);

    note("igmp_max_memberships");
    int many = tr_socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 24; i++) {
        char group[32];
        snprintf(group, sizeof group, "239.2.0.%d", i);
        mreq(many, IP_ADD_MEMBERSHIP, group, "0.0.0.0");
    }
    mreq(many, IP_ADD_MEMBERSHIP, "239.2.0.3", "0.0.0.0");
    mreq(many, IP_DROP_MEMBERSHIP, "239.2.0.3", "0.0.0.0");
    mreq(many, IP_ADD_MEMBERSHIP, "239.2.0.30", "0.0.0.0");
    mreq(many, IP_ADD_MEMBERSHIP, "239.2.0.31", "0.0.0.0");
    tr_close(many);
}

static void sources(int fd)
{
    const char *const none[] = { NULL };
    (void)none;
    note("source-specific (INCLUDE) memberships");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.1", "198.18.0.2", "198.18.0.7");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.5");
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    msfilter_get(fd, "232.1.1.1", "198.18.0.2", 1, IP_MSFILTER_SIZE(1));
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 0, IP_MSFILTER_SIZE(0));
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 8, 15);
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 8, 16);
    msfilter_get(fd, "232.1.1.1", "127.0.0.1", 8, IP_MSFILTER_SIZE(8));
    msfilter_get(fd, "232.1.1.1", "198.18.0.9", 8, IP_MSFILTER_SIZE(8));
    msfilter_get(fd, "198.18.0.1", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    msfilter_get(fd, "232.1.1.2", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    source(fd, IP_BLOCK_SOURCE, "232.1.1.1", "0.0.0.0", "198.18.0.9");
    source(fd, IP_UNBLOCK_SOURCE, "232.1.1.1", "0.0.0.0", "198.18.0.1");
    mreq(fd, IP_ADD_MEMBERSHIP, "232.1.1.1", "0.0.0.0");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.9");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.1");
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.7");
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    source(fd, IP_DROP_SOURCE_MEMBERSHIP, "232.1.1.1", "0.0.0.0", "198.18.0.5");
    msfilter_get(fd, "232.1.1.1", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    mreq(fd, IP_DROP_MEMBERSHIP, "232.1.1.1", "0.0.0.0");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "198.18.0.1", "0.0.0.0", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "232.1.1.3", "198.18.0.9", "198.18.0.1");

    note("any-source (EXCLUDE) memberships with blocked sources; igmp_max_msf");
    mreq(fd, IP_ADD_MEMBERSHIP, "239.3.3.3", "0.0.0.0");
    msfilter_get(fd, "239.3.3.3", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    source(fd, IP_BLOCK_SOURCE, "239.3.3.3", "0.0.0.0", "198.18.0.1");
    source(fd, IP_BLOCK_SOURCE, "239.3.3.3", "0.0.0.0", "198.18.0.1");
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.3.3.3", "0.0.0.0", "198.18.0.4");
    source(fd, IP_UNBLOCK_SOURCE, "239.3.3.3", "0.0.0.0", "198.18.0.1");
    source(fd, IP_UNBLOCK_SOURCE, "239.3.3.3", "0.0.0.0", "198.18.0.1");
    msfilter_get(fd, "239.3.3.3", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.3.3.3", "0.0.0.0", "198.18.0.4");
    for (int i = 20; i < 32; i++) {
        char src[32];
        snprintf(src, sizeof src, "198.18.0.%d", i);
        source(fd, IP_BLOCK_SOURCE, "239.3.3.3", "0.0.0.0", src);
    }
    msfilter_get(fd, "239.3.3.3", "0.0.0.0", 16, IP_MSFILTER_SIZE(16));
    msfilter_get(fd, "239.3.3.3", "0.0.0.0", 3, IP_MSFILTER_SIZE(3));
    msfilter_get(fd, "239.3.3.3", "0.0.0.0", 3, IP_MSFILTER_SIZE(0));

    note("source options: lengths and pointers");
    struct ip_mreq_source ms = { addr("239.3.3.3"), addr("0.0.0.0"), addr("198.18.0.60") };
    tr_setsockopt(fd, IPPROTO_IP, IP_UNBLOCK_SOURCE, &ms, 11);
    tr_setsockopt(fd, IPPROTO_IP, IP_UNBLOCK_SOURCE, &ms, 13);
    tr_setsockopt(fd, IPPROTO_IP, IP_UNBLOCK_SOURCE, &ms, 0);
    tr_setsockopt(fd, IPPROTO_IP, IP_BLOCK_SOURCE, NULL, 12);
    tr_setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, BADPTR, 12);
    tr_setsockopt(fd, IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, BADPTR, 8);
    tr_getint(fd, IPPROTO_IP, IP_BLOCK_SOURCE);
}

static void msfilters(int fd)
{
    const char *const three[] = { "198.18.0.1", "198.18.0.3", "198.18.0.1" };
    const char *const twelve[] = { "1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.5", "1.0.0.6",
                                   "1.0.0.7", "1.0.0.8", "1.0.0.9", "1.0.0.10", "1.0.0.11",
                                   "1.0.0.12" };
    note("IP_MSFILTER set");
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_INCLUDE, 3, three, IP_MSFILTER_SIZE(3));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_INCLUDE, 0, three, IP_MSFILTER_SIZE(0));
    mreq(fd, IP_ADD_MEMBERSHIP, "239.4.4.4", "0.0.0.0");
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_INCLUDE, 3, three, IP_MSFILTER_SIZE(3));
    msfilter_get(fd, "239.4.4.4", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    msfilter_set(fd, "239.4.4.4", "198.18.0.2", MCAST_EXCLUDE, 0, three, IP_MSFILTER_SIZE(0));
    msfilter_get(fd, "239.4.4.4", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    source(fd, IP_ADD_SOURCE_MEMBERSHIP, "239.4.4.4", "0.0.0.0", "198.18.0.4");
    msfilter_get(fd, "239.4.4.4", "0.0.0.0", 8, IP_MSFILTER_SIZE(8));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 10, twelve, IP_MSFILTER_SIZE(10));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 11, twelve, IP_MSFILTER_SIZE(11));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 2, twelve, IP_MSFILTER_SIZE(2) - 1);
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 2, twelve, IP_MSFILTER_SIZE(2) + 3);
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", 2, 2, twelve, IP_MSFILTER_SIZE(2));
    msfilter_set(fd, "198.18.0.1", "0.0.0.0", MCAST_EXCLUDE, 2, twelve, IP_MSFILTER_SIZE(2));
    msfilter_set(fd, "239.4.4.4", "198.18.0.9", MCAST_EXCLUDE, 2, twelve, IP_MSFILTER_SIZE(2));
    msfilter_set(fd, "239.4.4.4", "127.0.0.1", MCAST_EXCLUDE, 2, twelve, IP_MSFILTER_SIZE(2));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 2, twelve, 15);
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_EXCLUDE, 2, twelve, 0);
    msfilter_get(fd, "239.4.4.4", "0.0.0.0", 12, IP_MSFILTER_SIZE(12));
    msfilter_set(fd, "239.4.4.4", "0.0.0.0", MCAST_INCLUDE, 0, twelve, IP_MSFILTER_SIZE(0));
    msfilter_get(fd, "239.4.4.4", "0.0.0.0", 12, IP_MSFILTER_SIZE(12));
    tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, NULL, 16);
    tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, BADPTR, 15);
    tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, BADPTR, 200000);
    socklen_t l = 20;
    tr_getsockopt(fd, IPPROTO_IP, IP_MSFILTER, BADPTR, &l);
    l = 12;
    tr_getsockopt(fd, IPPROTO_IP, IP_MSFILTER, BADPTR, &l);
    l = (socklen_t)-1;
    unsigned char raw[32] = { 0 };
    tr_getsockopt(fd, IPPROTO_IP, IP_MSFILTER, raw, &l);
}

static void group_forms(int fd)
{
    const char *const two[] = { "198.18.0.1", "198.18.0.8" };
    note("MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP (group_req)");
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 2, AF_INET, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 1, AF_INET, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 99, AF_INET, "239.5.5.6", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET6, "239.5.5.6", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET, "198.18.0.1", sizeof(struct group_req));
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET, "239.5.5.7", sizeof(struct group_req) - 1);
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET, "239.5.5.7", sizeof(struct group_req) + 8);
    group_req(fd, MCAST_LEAVE_GROUP, 1, AF_INET, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_LEAVE_GROUP, 1, AF_INET, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_LEAVE_GROUP, 0, AF_INET6, "239.5.5.5", sizeof(struct group_req));
    group_req(fd, MCAST_LEAVE_GROUP, 0, AF_INET, "239.5.5.7", sizeof(struct group_req));
    group_req(fd, MCAST_LEAVE_GROUP, 0, AF_INET, "239.5.5.7", 0);
    tr_setsockopt(fd, IPPROTO_IP, MCAST_JOIN_GROUP, BADPTR, sizeof(struct group_req));
    tr_setsockopt(fd, IPPROTO_IP, MCAST_JOIN_GROUP, BADPTR, 8);

    note("MCAST_*_SOURCE (group_source_req)");
    const socklen_t gsr = sizeof(struct group_source_req);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", AF_INET, "198.18.0.1", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 2, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 2, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 1, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 99, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 0, AF_INET6, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", 0, "198.18.0.3", gsr);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr - 1);
    group_source_req(fd, MCAST_JOIN_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr + 1);
    group_filter_get(fd, 2, AF_INET, "232.6.6.6", 8, GROUP_FILTER_SIZE(8));
    group_filter_get(fd, 0, AF_INET, "232.6.6.6", 8, GROUP_FILTER_SIZE(8));
    group_filter_get(fd, 1, AF_INET, "232.6.6.6", 8, GROUP_FILTER_SIZE(8));
    group_filter_get(fd, 2, AF_INET, "232.6.6.6", 1, GROUP_FILTER_SIZE(1));
    group_filter_get(fd, 2, AF_INET, "232.6.6.6", 0, GROUP_FILTER_SIZE(0));
    group_filter_get(fd, 2, AF_INET, "232.6.6.6", 8, GROUP_FILTER_SIZE(0) - 1);
    group_filter_get(fd, 2, AF_INET6, "232.6.6.6", 8, GROUP_FILTER_SIZE(8));
    group_filter_get(fd, 2, AF_INET, "198.18.0.1", 8, GROUP_FILTER_SIZE(8));
    group_source_req(fd, MCAST_BLOCK_SOURCE, 2, AF_INET, "232.6.6.6", AF_INET, "198.18.0.4", gsr);
    group_source_req(fd, MCAST_LEAVE_SOURCE_GROUP, 2, AF_INET, "232.6.6.6", AF_INET, "198.18.0.1", gsr);
    group_source_req(fd, MCAST_LEAVE_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", AF_INET, "198.18.0.1", gsr);
    group_source_req(fd, MCAST_LEAVE_SOURCE_GROUP, 0, AF_INET, "232.6.6.6", AF_INET, "198.18.0.3", gsr);
    group_filter_get(fd, 2, AF_INET, "232.6.6.6", 8, GROUP_FILTER_SIZE(8));
    group_req(fd, MCAST_JOIN_GROUP, 0, AF_INET, "239.6.6.7", sizeof(struct group_req));
    group_source_req(fd, MCAST_BLOCK_SOURCE, 0, AF_INET, "239.6.6.7", AF_INET, "198.18.0.4", gsr);
    group_source_req(fd, MCAST_BLOCK_SOURCE, 2, AF_INET, "239.6.6.7", AF_INET, "198.18.0.5", gsr);
    group_source_req(fd, MCAST_UNBLOCK_SOURCE, 2, AF_INET, "239.6.6.7", AF_INET, "198.18.0.9", gsr);
    group_filter_get(fd, 2, AF_INET, "239.6.6.7", 8, GROUP_FILTER_SIZE(8));
    tr_setsockopt(fd, IPPROTO_IP, MCAST_BLOCK_SOURCE, BADPTR, gsr);
    tr_setsockopt(fd, IPPROTO_IP, MCAST_BLOCK_SOURCE, BADPTR, 12);

    note("MCAST_MSFILTER (group_filter)");
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", MCAST_INCLUDE, 2, two, GROUP_FILTER_SIZE(2));
    group_filter_get(fd, 2, AF_INET, "239.6.6.7", 8, GROUP_FILTER_SIZE(8));
    group_filter_set(fd, 0, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 1, two, GROUP_FILTER_SIZE(1));
    group_filter_get(fd, 2, AF_INET, "239.6.6.7", 8, GROUP_FILTER_SIZE(8));
    group_filter_set(fd, 2, AF_INET6, "239.6.6.7", MCAST_EXCLUDE, 1, two, GROUP_FILTER_SIZE(1));
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 11, two, GROUP_FILTER_SIZE(11));
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 2, two, GROUP_FILTER_SIZE(2) - 1);
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 0, two, GROUP_FILTER_SIZE(0) - 1);
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", 5, 0, two, GROUP_FILTER_SIZE(0));
    group_filter_set(fd, 99, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 0, two, GROUP_FILTER_SIZE(0));
    group_filter_set(fd, 1, AF_INET, "239.6.6.7", MCAST_EXCLUDE, 0, two, GROUP_FILTER_SIZE(0));
    group_filter_set(fd, 2, AF_INET, "239.6.6.7", MCAST_INCLUDE, 0, two, GROUP_FILTER_SIZE(0));
    group_filter_get(fd, 2, AF_INET, "239.6.6.7", 8, GROUP_FILTER_SIZE(8));
    tr_setsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, BADPTR, GROUP_FILTER_SIZE(0));
    tr_setsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, BADPTR, 100);
    tr_setsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, BADPTR, 200000);
    socklen_t l = GROUP_FILTER_SIZE(0);
    tr_getsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, BADPTR, &l);
    l = 100;
    tr_getsockopt(fd, IPPROTO_IP, MCAST_MSFILTER, BADPTR, &l);
    tr_getint(fd, IPPROTO_IP, MCAST_JOIN_GROUP);
}

int main(void)
{
    trace_start("sockopt_ip_multicast");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    multicast_if(fd);
    memberships(fd);
    sources(fd);
    msfilters(fd);
    group_forms(fd);
    tr_close(fd);

    note("UDP-Lite: the same state");
    int lite = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    mreq(lite, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreq(lite, IP_ADD_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    source(lite, IP_BLOCK_SOURCE, "239.1.1.1", "0.0.0.0", "198.18.0.1");
    msfilter_get(lite, "239.1.1.1", "0.0.0.0", 4, IP_MSFILTER_SIZE(4));
    mreq(lite, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    mreq(lite, IP_DROP_MEMBERSHIP, "239.1.1.1", "0.0.0.0");
    struct in_addr a = addr("127.0.0.1");
    tr_setsockopt(lite, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a);
    tr_getint(lite, IPPROTO_IP, IP_MULTICAST_IF);
    tr_close(lite);

    int stream = tr_socket(AF_INET, SOCK_STREAM, 0);
    tcp_interfaces(stream);
    tr_close(stream);
    note("TCP, listening: the same");
    stream = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_listen(stream, 1);
    tcp_interfaces(stream);
    tr_close(stream);
    return trace_end();
}
