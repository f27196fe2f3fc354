/* cmsg_send_pktinfo: sendmsg with IP_PKTINFO (ipi_spec_dst: the source address; ipi_ifindex:
 * the output interface), IP_TTL and IP_TOS control messages, to ourselves through loopback
 * (127.0.0.1 and our own address), to the peer (a receiver there prints the source, TTL and
 * TOS it saw), and to the broadcast addresses. Sources that are ours, loopback, not ours,
 * broadcast, multicast, 0; interfaces lo, eth0 and one that does not exist; on an unbound, a
 * bound and a connected socket. */
#include "trace.h"
#include "peer.h"
#include "control_build.h"
#include "queue_drain.h"

#define RX_PORT 5051
#define PEER_PORT 5052

/* Runs in the peer: prints what each datagram looked like on arrival. */
static const char receiver[] =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL\n"
    "s.setsockopt(socket.IPPROTO_IP, 13, 1)  # IP_RECVTOS\n"
    "s.bind(('0.0.0.0', int(sys.argv[1])))\n"
    "s.settimeout(3)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    try:\n"
    "        data, anc, flags, addr = s.recvmsg(2048, 256)\n"
    "    except socket.timeout:\n"
    "        break\n"
    "    if data == b'end':\n"
    "        break\n"
    "    ttl = tos = None\n"
    "    for level, kind, value in anc:\n"
    "        if kind == 2: ttl = int.from_bytes(value[:4], 'little')\n"
    "        if kind == 1: tos = value[0]\n"
    "    print('got %s from %s ttl=%s tos=%s' % (data.decode(), addr[0], ttl, tos))\n";

static int rx, tx;

static void add_pktinfo(struct control *c, int ifindex, const char *spec_dst)
{
    struct in_pktinfo pi = { .ipi_ifindex = ifindex };
    inet_pton(AF_INET, spec_dst, &pi.ipi_spec_dst);
    control_add(c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
}

static void send_with(int fd, const char *text, const char *to, unsigned port, struct control *c)
{
    struct sockaddr_in dest = sin4(to ? to : "0.0.0.0", port);
    struct iovec iov = { (void *)text, strlen(text) };
    struct msghdr m = { .msg_name = to ? &dest : NULL, .msg_namelen = to ? sizeof dest : 0,
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = c && c->len ? c->u.bytes : NULL,
                        .msg_controllen = c ? c->len : 0 };
    tr_sendmsg(fd, &m, 0);
}

static void pktinfo_to(int fd, const char *text, const char *to, unsigned port, int ifindex,
                       const char *spec_dst)
{
    struct control c = { .len = 0 };
    add_pktinfo(&c, ifindex, spec_dst);
    send_with(fd, text, to, port, &c);
}

static void drain_rx(void)
{
    usleep(30 * 1000);
    drain_traced(rx, 16, 256, 256, 1);
}

int main(void)
{
    trace_start("cmsg_send_pktinfo");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "0.0.0.0", RX_PORT);
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 1);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);

    struct peer_job job;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", PEER_PORT);
    peer_start_python(&job, PEER_NS, "python3 receiver.py", receiver,
                      (const char *const[]){ port_text, NULL });
    peer_wait_ready(&job, 3000);

    note("to 127.0.0.1: each ipi_spec_dst, then each ipi_ifindex");
    const char *sources[] = { "0.0.0.0",      "127.0.0.1",   HOST_ADDR,     "127.0.0.5",
                              "198.18.0.9",   "198.18.0.255", "255.255.255.255", "224.0.0.1",
                              "0.1.2.3",      PEER_ADDR };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        pktinfo_to(tx, "lo-src", "127.0.0.1", RX_PORT, 0, sources[i]);
    int ifindexes[] = { 1, 2, 99, -1 };
    for (size_t i = 0; i < 4; i++)
        pktinfo_to(tx, "lo-if", "127.0.0.1", RX_PORT, ifindexes[i], "0.0.0.0");
    pktinfo_to(tx, "lo-if2-src", "127.0.0.1", RX_PORT, 2, "127.0.0.1");
    pktinfo_to(tx, "lo-if1-own", "127.0.0.1", RX_PORT, 1, HOST_ADDR);
    drain_rx();

    note("to our own address");
    for (size_t i = 0; i < 4; i++)
        pktinfo_to(tx, "own-src", HOST_ADDR, RX_PORT, 0, sources[i]);
    for (size_t i = 0; i < 3; i++)
        pktinfo_to(tx, "own-if", HOST_ADDR, RX_PORT, ifindexes[i], "0.0.0.0");
    drain_rx();

    note("to the peer");
    pktinfo_to(tx, "p-none", PEER_ADDR, PEER_PORT, 0, "0.0.0.0");
    pktinfo_to(tx, "p-own", PEER_ADDR, PEER_PORT, 0, HOST_ADDR);
    pktinfo_to(tx, "p-lo", PEER_ADDR, PEER_PORT, 0, "127.0.0.1");
    pktinfo_to(tx, "p-foreign", PEER_ADDR, PEER_PORT, 0, "198.18.0.9");
    pktinfo_to(tx, "p-if2", PEER_ADDR, PEER_PORT, 2, "0.0.0.0");
    pktinfo_to(tx, "p-if1", PEER_ADDR, PEER_PORT, 1, "0.0.0.0");
    pktinfo_to(tx, "p-if99", PEER_ADDR, PEER_PORT, 99, "0.0.0.0");
    pktinfo_to(tx, "r-if2", REMOTE_ADDR, PEER_PORT, 2, "0.0.0.0");

    note("to 0.0.0.0 (the local host), with and without a bound source");
    pktinfo_to(tx, "zero-dst", "0.0.0.0", RX_PORT, 0, "0.0.0.0");
    pktinfo_to(tx, "zero-dst-own", "0.0.0.0", RX_PORT, 0, HOST_ADDR);
    pktinfo_to(tx, "zero-dst-lo", "0.0.0.0", RX_PORT, 1, "0.0.0.0");
    drain_rx();

    note("ipi_ifindex lo for addresses that are not ours: does the datagram come back?");
    pktinfo_to(tx, "peer-via-lo", PEER_ADDR, RX_PORT, 1, "0.0.0.0");
    pktinfo_to(tx, "remote-via-lo", REMOTE_ADDR, RX_PORT, 1, "0.0.0.0");
    tr_setint(tx, SOL_SOCKET, SO_BROADCAST, 1);
    pktinfo_to(tx, "bcast-via-lo", "198.18.0.255", RX_PORT, 1, "0.0.0.0");
    pktinfo_to(tx, "lbcast-via-lo", "255.255.255.255", RX_PORT, 1, "0.0.0.0");
    tr_setint(tx, SOL_SOCKET, SO_BROADCAST, 0);
    drain_rx();

    note("IP_TTL and IP_TOS to the peer");
    struct control c = { .len = 0 };
    int ttl = 7, tos = 0x28;
    control_add(&c, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    control_add(&c, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    send_with(tx, "ttl7-tos28", PEER_ADDR, PEER_PORT, &c);
    c.len = 0;
    unsigned char tos_byte = 0xb9;
    control_add(&c, IPPROTO_IP, IP_TOS, &tos_byte, 1);
    ttl = 255;
    control_add(&c, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    add_pktinfo(&c, 0, HOST_ADDR);
    send_with(tx, "tosb9-ttl255", PEER_ADDR, PEER_PORT, &c);
    c.len = 0;
    ttl = 1;
    control_add(&c, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    ttl = 2;
    control_add(&c, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    send_with(tx, "ttl1-then-2", PEER_ADDR, PEER_PORT, &c);

    note("IP_RETOPTS: the options each datagram carries (received with IP_RECVOPTS)");
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 1);
    unsigned char rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 }, nops[4] = { 1, 1, 1, 1 },
                  ra[4] = { 148, 4, 0, 0 }, rr3[3] = { 7, 3, 4 };
    struct {
        const char *what;
        const unsigned char *bytes;
        size_t len;
    } lists[] = { { "retopts-rr", rr, sizeof rr }, { "retopts-nops", nops, sizeof nops },
                  { "retopts-ra", ra, sizeof ra },  { "retopts-rr3", rr3, sizeof rr3 },
                  { "retopts-empty", rr, 0 } };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        c.len = 0;
        control_add(&c, IPPROTO_IP, IP_RETOPTS, lists[i].bytes, lists[i].len);
        send_with(tx, lists[i].what, "127.0.0.1", RX_PORT, &c);
        send_with(tx, lists[i].what, HOST_ADDR, RX_PORT, &c);
    }
    drain_rx();
    note("IP_RETOPTS replaces the socket's IP_OPTIONS for one datagram");
    tr_setsockopt(tx, IPPROTO_IP, IP_OPTIONS, ra, sizeof ra);
    send_with(tx, "socket-options", "127.0.0.1", RX_PORT, NULL);
    c.len = 0;
    control_add(&c, IPPROTO_IP, IP_RETOPTS, rr, 0);
    send_with(tx, "retopts-none", "127.0.0.1", RX_PORT, &c);
    c.len = 0;
    control_add(&c, IPPROTO_IP, IP_RETOPTS, rr, sizeof rr);
    send_with(tx, "retopts-rr", "127.0.0.1", RX_PORT, &c);
    send_with(tx, "socket-options-again", "127.0.0.1", RX_PORT, NULL);
    tr_setsockopt(tx, IPPROTO_IP, IP_OPTIONS, NULL, 0);
    drain_rx();
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 0);

    note("broadcasts");
    tr_setint(tx, SOL_SOCKET, SO_BROADCAST, 1);
    pktinfo_to(tx, "b-none", "198.18.0.255", PEER_PORT, 0, "0.0.0.0");
    pktinfo_to(tx, "b-if2", "198.18.0.255", PEER_PORT, 2, "0.0.0.0");
    pktinfo_to(tx, "b-if1", "198.18.0.255", PEER_PORT, 1, "0.0.0.0");
    pktinfo_to(tx, "l-none", "255.255.255.255", PEER_PORT, 0, "0.0.0.0");
    pktinfo_to(tx, "l-if2", "255.255.255.255", PEER_PORT, 2, "0.0.0.0");
    pktinfo_to(tx, "l-if1", "255.255.255.255", PEER_PORT, 1, "0.0.0.0");
    pktinfo_to(tx, "l-own", "255.255.255.255", PEER_PORT, 0, HOST_ADDR);

    note("bound and connected sockets");
    int bound = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(bound, HOST_ADDR, 0);
    pktinfo_to(bound, "bound-lo", "127.0.0.1", RX_PORT, 0, "127.0.0.1");
    pktinfo_to(bound, "bound-zero", "127.0.0.1", RX_PORT, 0, "0.0.0.0");
    pktinfo_to(bound, "bound-peer", PEER_ADDR, PEER_PORT, 0, "0.0.0.0");
    int connected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(connected, "127.0.0.1", RX_PORT);
    pktinfo_to(connected, "conn-own", NULL, 0, 0, HOST_ADDR);
    pktinfo_to(connected, "conn-if2", NULL, 0, 2, "0.0.0.0");
    tr_send(connected, "conn-plain", 10, 0);
    drain_rx();
    tr_close(bound);
    tr_close(connected);

    send_with(tx, "end", PEER_ADDR, PEER_PORT, NULL);
    peer_finish(&job, 5000);
    drain_rx();
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
