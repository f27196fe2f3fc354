/* peer_multicast: multicast received from the peer and looped back, by membership, and the
 * IGMPv3 reports the peer sees.
 *
 * Sockets (all SO_REUSEADDR, IP_PKTINFO):
 *   A  0.0.0.0:5021     joins 239.77.2.3 (any source)
 *   B  239.77.2.3:5021   no join: IP_MULTICAST_ALL (default 1) lets A's group in
 *   C  0.0.0.0:5021     no join, IP_MULTICAST_ALL 0: nothing multicast
 *   D  0.0.0.0:5022     joins 232.77.1.1 from source 198.18.0.1 only (INCLUDE)
 *   D2 0.0.0.0:5022     joins 232.77.1.1 from source 198.18.0.77 only: the host accepts the
 *                       datagram (D's filter) but D2's own filter refuses it (ip_mc_sf_allow)
 *   E  0.0.0.0:5023     joins 239.77.2.4 and blocks source 198.18.0.1 (EXCLUDE)
 * The peer (198.18.0.1) sends to 239.77.2.3 (joined), 239.77.9.9 (not joined: dropped by the
 * host, ip_check_mc_rcu), 232.77.1.1 and 239.77.2.4; then a general IGMPv3 query. The case then
 * sends to 239.77.2.3:5021 itself with IP_MULTICAST_LOOP on (A and B get the copy) and off.
 * A capture on the peer prints the host's reports: per group the records in order, repeats
 * folded (retransmission timing and how records share a report are timers). Only this
 * case's groups (239.77/16, 232.77/16) are printed: the kernel world's host may still be
 * reporting the groups an earlier case left, and keeps their deleted records (mc_tomb) for a
 * while, which a rejoin of the same group would take back (igmpv3_del_delrec). */
#include "trace.h"
#include "peer.h"
#include "igmp_capture.h"

#include <netinet/in.h>

/* Runs in the peer: the datagrams. */
static const char sender[] =
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('198.18.0.1', 0))\n"
    "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('198.18.0.1'))\n"
    "for tag, group, port in (('joined', '239.77.2.3', 5021), ('not-joined', '239.77.9.9', 5021),\n"
    "                         ('source-included', '232.77.1.1', 5022),\n"
    "                         ('source-excluded', '239.77.2.4', 5023)):\n"
    "    print('sent %s: %d' % (tag, s.sendto(tag.encode(), (group, port))))\n";

/* Runs in the peer: a general IGMPv3 query (max response 1 s), with a router alert option as
 * queriers send it (RFC 3376 4). */
static const char query[] =
    "import socket, struct\n"
    "q = bytearray([0x11, 10, 0, 0, 0, 0, 0, 0, 2, 125, 0, 0])\n"
    "c = sum(struct.unpack('!6H', bytes(q)))\n"
    "c = (c & 0xffff) + (c >> 16)\n"
    "q[2:4] = struct.pack('!H', ~c & 0xffff)\n"
    "r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)\n"
    "r.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('198.18.0.1'))\n"
    "r.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b'\\x94\\x04\\x00\\x00')\n"
    "print('query sent:', r.sendto(bytes(q), ('224.0.0.1', 0)))\n";

static int udp_socket(const char *bind_to, unsigned port)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_bind4(fd, bind_to, port);
    return fd;
}

static void join(int fd, const char *group)
{
    struct ip_mreqn m = { .imr_ifindex = 0 };
    inet_pton(AF_INET, group, &m.imr_multiaddr);
    note("IP_ADD_MEMBERSHIP %s", group);
    tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
}

static void source_option(int fd, int name, const char *group, const char *source)
{
    struct ip_mreq_source m = { .imr_interface = { 0 } };
    inet_pton(AF_INET, group, &m.imr_multiaddr);
    inet_pton(AF_INET, source, &m.imr_sourceaddr);
    note("%s %s from %s", name == IP_BLOCK_SOURCE ? "IP_BLOCK_SOURCE" : "IP_ADD_SOURCE_MEMBERSHIP",
         group, source);
    tr_setsockopt(fd, IPPROTO_IP, name, &m, sizeof m);
}

/* Reads whatever is queued, without waiting. */
static void drain(const char *name, int fd)
{
    note("socket %s", name);
    for (int k = 0; k < 6; k++) {
        char data[64], control[128];
        struct sockaddr_in from;
        struct iovec iov = { data, sizeof data };
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof control };
        if (tr_recvmsg(fd, &m, MSG_DONTWAIT) < 0)
            break;
    }
}

int main(void)
{
    trace_start("peer_multicast");
    alarm(20); /* the peer's 9 s capture outlasts the default 10 s watchdog */
    struct peer_job reports;
    peer_start_python(&reports, PEER_NS, "python3 igmp_capture.py 9 239.77. 232.77.",
                      igmp_capture_py, (const char *const[]){ "9", "239.77.", "232.77.", NULL });
    peer_wait_ready(&reports, 5000);

    int a = udp_socket("0.0.0.0", 5021);
    int b = udp_socket("239.77.2.3", 5021);
    int c = udp_socket("0.0.0.0", 5021);
    tr_setint(c, IPPROTO_IP, IP_MULTICAST_ALL, 0);
    int d = udp_socket("0.0.0.0", 5022);
    int d2 = udp_socket("0.0.0.0", 5022);
    int e = udp_socket("0.0.0.0", 5023);
    join(a, "239.77.2.3");
    source_option(d, IP_ADD_SOURCE_MEMBERSHIP, "232.77.1.1", "198.18.0.1");
    source_option(d2, IP_ADD_SOURCE_MEMBERSHIP, "232.77.1.1", "198.18.0.77");
    join(e, "239.77.2.4");
    source_option(e, IP_BLOCK_SOURCE, "239.77.2.4", "198.18.0.1");

    /* The change reports and their retransmission (within 1 s). */
    usleep(1500 * 1000);
    peer_run(PEER_NS, "python3 multicast_sender.py",
             (char *const[]){ "python3", "-c", (char *)sender, NULL }, 5000);
    usleep(300 * 1000);
    drain("A 0.0.0.0:5021 joined 239.77.2.3", a);
    drain("B 239.77.2.3:5021", b);
    drain("C 0.0.0.0:5021 IP_MULTICAST_ALL 0", c);
    drain("D 0.0.0.0:5022 232.77.1.1 from 198.18.0.1", d);
    drain("D2 0.0.0.0:5022 232.77.1.1 from 198.18.0.77", d2);
    drain("E 0.0.0.0:5023 239.77.2.4 blocking 198.18.0.1", e);

    note("our own datagrams to 239.77.2.3:5021, IP_MULTICAST_LOOP on, then off");
    int s = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(s, IPPROTO_IP, IP_MULTICAST_LOOP);
    tr_sendto4(s, "loop-on", 7, 0, "239.77.2.3", 5021);
    tr_setint(s, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    tr_sendto4(s, "loop-off", 8, 0, "239.77.2.3", 5021);
    usleep(100 * 1000);
    drain("A", a);
    drain("B", b);
    drain("C", c);

    note("IP_MULTICAST_IF lo: only members on lo get it (L joined 239.77.8.8 on lo), never the wire");
    int l = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(l, IPPROTO_IP, IP_PKTINFO, 1);
    tr_bind4(l, "0.0.0.0", 5024);
    struct ip_mreqn on_lo = { .imr_ifindex = 1 };
    inet_pton(AF_INET, "239.77.8.8", &on_lo.imr_multiaddr);
    tr_setsockopt(l, IPPROTO_IP, IP_ADD_MEMBERSHIP, &on_lo, sizeof on_lo);
    struct ip_mreqn lo_if = { .imr_ifindex = 1 };
    tr_setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo_if, sizeof lo_if);
    tr_sendto4(s, "via-lo", 6, 0, "239.77.8.8", 5024);
    tr_sendto4(s, "via-lo-not-member", 17, 0, "239.77.2.3", 5021);
    struct ip_mreqn eth_if = { .imr_ifindex = 2 };
    tr_setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &eth_if, sizeof eth_if);
    tr_setint(s, IPPROTO_IP, IP_MULTICAST_LOOP, 1);
    tr_sendto4(s, "via-eth0", 8, 0, "239.77.8.8", 5024);
    usleep(100 * 1000);
    drain("L 0.0.0.0:5024 joined 239.77.8.8 on lo", l);
    drain("A", a);
    tr_close(l);

    /* A general query: each group is reported (current state) within 1 s. */
    peer_run(PEER_NS, "python3 igmp_query.py",
             (char *const[]){ "python3", "-c", (char *)query, NULL }, 5000);
    usleep(1500 * 1000);

    /* Closing leaves the groups (reported with retransmissions). */
    tr_close(s);
    tr_close(a);
    tr_close(b);
    tr_close(c);
    tr_close(d);
    tr_close(d2);
    tr_close(e);
    peer_finish(&reports, 10000);
    return trace_end();
}
