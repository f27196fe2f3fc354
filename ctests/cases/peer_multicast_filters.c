/* peer_multicast_filters: two sockets share group 239.77.5.1 and change their source filters
 * step by step; the interface's filter is their union (ip_mc_add_src / ip_mc_del_src:
 * EXCLUDE if any socket excludes, a source blocked only if every EXCLUDE socket blocks it and
 * no INCLUDE socket wants it), and the host reports only what changes the union (RFC 3376
 * 5.1). After each step the peer (198.18.0.1) sends one datagram to the group: who gets it
 * shows both filters, the host's (ip_check_mc_rcu) and each socket's (ip_mc_sf_allow).
 * Steps are 1.2 s apart, so each step's reports and their retransmission are over before the
 * next; the peer's capture prints per group the records in order, repeats folded.
 *
 *   1. A: MCAST_JOIN_GROUP (group_req, ifindex 2); B: IP_ADD_MEMBERSHIP: one report (users 2)
 *   2. B: IP_BLOCK_SOURCE 198.18.0.1: A still wants it, the union is unchanged, no report
 *   3. A: IP_BLOCK_SOURCE 198.18.0.1: now every socket blocks it: BLOCK
 *   4. A: IP_MSFILTER INCLUDE {198.18.0.1}: the union lets it in again: ALLOW
 *   5. B: IP_DROP_MEMBERSHIP: only A's INCLUDE filter is left: TO_IN
 *   6. A: MCAST_MSFILTER get, then IP_MSFILTER INCLUDE {} (= leave): BLOCK
 * Also: a datagram to 224.0.0.1 (all-hosts, joined implicitly by every interface, never
 * reported) reaches a wildcard socket without a join. */
#include "trace.h"
#include "peer.h"
#include "igmp_capture.h"

#include <netinet/in.h>
#include <unistd.h>

#define GROUP "239.77.5.1"
#define PORT 5031

static const char sender[] =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('198.18.0.1', 0))\n"
    "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('198.18.0.1'))\n"
    "print('sent %s: %d' % (sys.argv[1], s.sendto(sys.argv[1].encode(), (sys.argv[2], 5031))))\n";

static int udp_socket(void)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(fd, "0.0.0.0", PORT);
    return fd;
}

static void block_source(int fd)
{
    struct ip_mreq_source m = { .imr_interface = { 0 } };
    inet_pton(AF_INET, GROUP, &m.imr_multiaddr);
    inet_pton(AF_INET, PEER_ADDR, &m.imr_sourceaddr);
    tr_setsockopt(fd, IPPROTO_IP, IP_BLOCK_SOURCE, &m, sizeof m);
}

static void msfilter(int fd, unsigned mode, int with_source)
{
    char buf[IP_MSFILTER_SIZE(1)];
    struct ip_msfilter *f = (struct ip_msfilter *)buf;
    memset(buf, 0, sizeof buf);
    inet_pton(AF_INET, GROUP, &f->imsf_multiaddr);
    f->imsf_fmode = mode;
    f->imsf_numsrc = with_source ? 1 : 0;
    inet_pton(AF_INET, PEER_ADDR, &f->imsf_slist[0]);
    tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, buf, IP_MSFILTER_SIZE(f->imsf_numsrc));
}

/* The peer sends TAG to DESTINATION; then each socket reads what it got. */
static void round_trip(const char *tag, const char *destination, int a, int b)
{
    peer_run(PEER_NS, "python3 multicast_sender.py",
             (char *const[]){ "python3", "-c", (char *)sender, (char *)tag, (char *)destination,
                              NULL },
             5000);
    usleep(200 * 1000);
    int fds[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        note("socket %c", i == 0 ? 'A' : 'B');
        char data[64];
        while (tr_recv(fds[i], data, sizeof data, MSG_DONTWAIT) >= 0)
            ;
    }
}

static void step(const char *what)
{
    usleep(1200 * 1000);
    note("%s", what);
}

int main(void)
{
    trace_start("peer_multicast_filters");
    alarm(25); /* the peer's 15 s capture outlasts the default 10 s watchdog */
    struct peer_job reports;
    peer_start_python(&reports, PEER_NS, "python3 igmp_capture.py 15 239.77.5.", igmp_capture_py,
                      (const char *const[]){ "15", "239.77.5.", NULL });
    peer_wait_ready(&reports, 5000);

    int a = udp_socket();
    int b = udp_socket();
    note("1. A joins with MCAST_JOIN_GROUP, B with IP_ADD_MEMBERSHIP");
    struct group_req g = { .gr_interface = 2 };
    struct sockaddr_in *group = (struct sockaddr_in *)&g.gr_group;
    group->sin_family = AF_INET;
    inet_pton(AF_INET, GROUP, &group->sin_addr);
    tr_setsockopt(a, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof g);
    struct ip_mreq m = { .imr_interface = { 0 } };
    inet_pton(AF_INET, GROUP, &m.imr_multiaddr);
    tr_setsockopt(b, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    round_trip("step1", GROUP, a, b);
    round_trip("all-hosts", "224.0.0.1", a, b);

    step("2. B blocks 198.18.0.1");
    block_source(b);
    round_trip("step2", GROUP, a, b);

    step("3. A blocks 198.18.0.1 too");
    block_source(a);
    round_trip("step3", GROUP, a, b);

    step("4. A: IP_MSFILTER INCLUDE {198.18.0.1}");
    msfilter(a, MCAST_INCLUDE, 1);
    round_trip("step4", GROUP, a, b);

    step("5. B: IP_DROP_MEMBERSHIP");
    tr_setsockopt(b, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof m);
    round_trip("step5", GROUP, a, b);

    step("6. A: MCAST_MSFILTER get, then IP_MSFILTER INCLUDE {}");
    char buf[GROUP_FILTER_SIZE(2)];
    struct group_filter *gf = (struct group_filter *)buf;
    memset(buf, 0, sizeof buf);
    gf->gf_interface = 2;
    memcpy(&gf->gf_group, &g.gr_group, sizeof g.gr_group);
    gf->gf_numsrc = 2;
    socklen_t len = sizeof buf;
    tr_getsockopt(a, IPPROTO_IP, MCAST_MSFILTER, buf, &len);
    msfilter(a, MCAST_INCLUDE, 0);
    round_trip("step6", GROUP, a, b);

    step("end");
    tr_close(a);
    tr_close(b);
    peer_finish(&reports, 16000);
    return trace_end();
}
