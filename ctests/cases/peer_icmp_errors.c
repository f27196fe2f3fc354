/* peer_icmp_errors: ICMP errors the peer crafts (a raw ICMP socket) quoting UDP datagrams
 * "from" the host's sockets, and what each socket then reports: the error queue entry of
 * IP_RECVERR (sock_extended_err, offender, msg_name, the quoted payload as data, MSG_TRUNC),
 * sk_err (SO_ERROR, the next call's error, POLLERR), hard vs soft errors without IP_RECVERR
 * on connected and unconnected sockets (__udp4_lib_err, icmp_err_convert). Covered: every
 * destination-unreachable code 0..15 and unknown ones (16, 255: icmp_unreach drops them),
 * fragmentation needed with several MTUs and under IP_PMTUDISC_DONT, time exceeded 0/1 and an
 * unknown code, parameter problem (pointer -> ee_info), source quench (ignored), quotes that
 * are cut short (fewer than 8 bytes of UDP header), have IP options, a bad IHL, another
 * protocol, a source address that is not the socket's, a port nobody holds (a socket closed
 * before), a connected socket's other peer, UDP-Lite. Frag-needed quotes name 198.19.0.77
 * (nobody), so the host's PMTU for real neighbours is never changed. IP_RECVERR_RFC4884 with
 * extension structures valid and not (ee_rfc4884 prints as ee_data: len | flags << 16). */
#include "trace.h"
#include "error_queue.h"
#include "peer.h"
#include "path_mtu.h"

#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif

/* Runs in the peer. argv: host address, part. Each line of the table is one ICMP error;
 * the program prints how many it sent. */
static const char crafter[] =
    "import socket, struct, sys, time\n"
    "host, part = sys.argv[1], sys.argv[2]\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "def quote(sport, dport, payload=b'abcd', src=None, dst='198.18.0.1', proto=17, ihl=5, cut=None):\n"
    "    opts = b'\\x01' * ((ihl - 5) * 4) if ihl > 5 else b''\n"
    "    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload\n"
    "    total = 20 + len(opts) + len(udp)\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total, 0x4242, 0x4000, 63, proto, 0,\n"
    "                    socket.inet_aton(src or host), socket.inet_aton(dst)) + opts\n"
    "    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]\n"
    "    q = h + udp\n"
    "    return q if cut is None else q[:cut]\n"
    "sent = 0\n"
    "def send(typ, code, rest, quoted):\n"
    "    global sent\n"
    "    m = struct.pack('!BBH', typ, code, 0) + rest + quoted\n"
    "    m = m[:2] + struct.pack('!H', csum(m)) + m[4:]\n"
    "    s.sendto(m, (host, 0))\n"
    "    sent += 1\n"
    "    time.sleep(0.002)\n"
    "Z = bytes(4)\n"
    "NOBODY = '198.19.0.77'  # frag needed quotes it: the host's PMTU cache learns only about it\n"
    "def mtu(v): return struct.pack('!HH', 0, v)\n"
    "def ptr(p): return struct.pack('!BBH', p, 0, 0)\n"
    "if part == 'codes':\n"
    "    for code in list(range(16)) + [16, 255]:\n"
    "        send(3, code, Z, quote(5031, 9, dst=NOBODY if code == 4 else '198.18.0.1'))\n"
    "    for m in (1400, 1000, 552, 500, 68, 0, 65535):\n"
    "        send(3, 4, mtu(m), quote(5031, 9, dst=NOBODY))\n"
    "    send(11, 0, Z, quote(5031, 9))\n"
    "    send(11, 1, Z, quote(5031, 9))\n"
    "    send(11, 7, Z, quote(5031, 9))\n"
    "    send(12, 0, ptr(12), quote(5031, 9))\n"
    "    send(12, 1, ptr(0), quote(5031, 9))\n"
    "    send(12, 2, ptr(255), quote(5031, 9))\n"
    "    send(4, 0, Z, quote(5031, 9))\n"
    "elif part == 'hardsoft':\n"
    "    for code in range(16):\n"
    "        send(3, code, Z, quote(5100 + code, 9, dst=NOBODY if code == 4 else '198.18.0.1'))\n"
    "    send(11, 0, Z, quote(5116, 9))\n"
    "    send(12, 0, ptr(8), quote(5117, 9))\n"
    "    send(3, 4, mtu(1280), quote(5118, 9, dst=NOBODY))\n"
    "    send(3, 4, mtu(1280), quote(5119, 9, dst=NOBODY))\n"
    "    send(3, 3, Z, quote(5120, 9))\n"
    "    send(3, 0, Z, quote(5121, 9))\n"
    "    send(3, 4, mtu(1280), quote(5122, 9, dst=NOBODY))\n"
"elif part == 'quotes':\n"
    "    send(3, 3, Z, quote(5036, 9, cut=20 + 4))\n"
    "    send(3, 3, Z, quote(5036, 9, cut=20 + 7))\n"
    "    send(3, 3, Z, quote(5036, 9, payload=b'', cut=20 + 8))\n"
    "    send(3, 3, Z, quote(5036, 9, payload=bytes(range(100))))\n"
    "    send(3, 3, Z, quote(5036, 9, payload=b'xyz', ihl=6))\n"
    "    send(3, 3, Z, quote(5036, 9, ihl=4))\n"
    "    send(3, 3, Z, quote(5036, 9, proto=6))\n"
    "    send(3, 3, Z, quote(5036, 9, src='198.18.0.9'))\n"
    "    send(3, 3, Z, quote(5037, 9))\n"
    "    send(3, 3, Z, quote(5038, 10))\n"
    "    send(3, 3, Z, quote(5038, 9, dst='198.18.0.3'))\n"
    "    send(3, 3, Z, quote(5038, 9))\n"
    "    send(3, 3, Z, quote(5039, 9, proto=136))\n"
    "    send(3, 3, Z, quote(5039, 9))\n"
    "elif part == 'rfc4884':\n"
    "    def ext(version=2, bad=False):\n"
    "        obj = struct.pack('!HBB', 8, 1, 1) + bytes([1, 2, 3, 4])\n"
    "        h = bytes([version << 4, 0, 0, 0])\n"
    "        c = csum(h + obj) ^ (0x0f0f if bad else 0)\n"
    "        return h[:2] + struct.pack('!H', c) + obj\n"
    "    orig = quote(5041, 9, payload=bytes(100))\n"
    "    L = struct.pack('!BBH', 0, 32, 0)\n"
    "    send(11, 0, L, orig + ext())\n"
    "    send(11, 0, L, orig + ext(bad=True))\n"
    "    send(11, 0, L, orig + ext(version=1, bad=True))\n"
    "    send(11, 0, struct.pack('!BBH', 0, 16, 0), orig + ext())\n"
    "    send(11, 0, L, orig)\n"
    "    send(11, 0, L, orig + ext()[:3])\n"
    "    send(3, 1, L, orig + ext())\n"
    "    send(3, 4, struct.pack('!BBH', 0, 32, 1300), quote(5041, 9, payload=bytes(100), dst=NOBODY) + ext())\n"
    "    send(12, 0, struct.pack('!BBH', 9, 32, 0), orig + ext())\n"
    "    send(11, 0, L, quote(5042, 9, payload=bytes(100)) + ext())\n"
"elif part == 'sequence':\n"
    "    for i in range(4):\n"
    "        send(3, 3, Z, quote(5043, 9, b'full%d' % i))\n"
    "    send(3, 3, Z, quote(5040, 9, b'one'))\n"
    "    send(3, 0, Z, quote(5040, 9, b'two'))\n"
    "    send(11, 0, Z, quote(5040, 9, b'three'))\n"
    "print('sent', sent)\n";

static int udp_socket(int protocol, unsigned port, int recverr, const char *peer)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, protocol);
    if (recverr)
        tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_bind4(fd, HOST_ADDR, port);
    if (peer)
        tr_connect4(fd, peer, PORT_DISCARD);
    return fd;
}

static void crafted(const char *part)
{
    char label[80];
    snprintf(label, sizeof label, "python3 crafter.py 198.18.0.2 %s", part);
    peer_run(PEER_NS, label,
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, (char *)part, NULL },
             5000);
    /* The shim's progress thread takes the frames as they come; give both worlds time. */
    usleep(300 * 1000);
    trace_watchdog();
}

static void poll_now(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    tr_poll(&p, 1, 0);
}

int main(void)
{
    trace_start("peer_icmp_errors");
    for (unsigned port = 5031; port <= 5043; port++)
        trace_fixed_port(port);
    for (unsigned port = 5100; port <= 5122; port++)
        trace_fixed_port(port);
    /* The kernel world's host keeps PMTU exceptions (for 198.19.0.77 here) for 10 minutes;
     * they change nothing in this trace (ee_info is the MTU the error carried), but are
     * removed before and after so that no other case meets them. */
    flush_route_cache();

    note("every code, on an unconnected socket with IP_RECVERR");
    int fd = udp_socket(0, 5031, 1, NULL);
    crafted("codes");
    poll_now(fd);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    read_errors(fd, 64, 512, 40);
    poll_now(fd);
    tr_close(fd);

    note("hard and soft without IP_RECVERR: one connected socket per error (codes 0..15,");
    note("time exceeded, parameter problem, frag needed under WANT and DONT), an unconnected");
    note("one (port unreachable), one with IP_RECVERR (net unreachable, soft), and one");
    note("unconnected with IP_RECVERR under DONT (frag needed)");
    int sockets[23];
    for (int i = 0; i < 23; i++) {
        unsigned port = 5100 + i;
        int recverr = port >= 5121;
        const char *peer = port == 5104 || port == 5118 || port == 5119 ? "198.19.0.77"
                           : port == 5120 || port == 5122 ? NULL
                                                          : PEER_ADDR;
        sockets[i] = udp_socket(0, port, recverr, peer);
        if (port == 5119 || port == 5122)
            tr_setint(sockets[i], IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    }
    crafted("hardsoft");
    char buf[64];
    for (int i = 0; i < 23; i++)
        tr_getint(sockets[i], SOL_SOCKET, SO_ERROR);
    read_errors(sockets[21], 64, 512, 2);
    read_errors(sockets[22], 64, 512, 1);
    for (int i = 0; i < 23; i++)
        tr_close(sockets[i]);

    note("odd quotes; a closed socket's port; a connected socket's other peers; UDP-Lite");
    fd = udp_socket(0, 5036, 1, NULL);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTOS, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVORIGDSTADDR, 1);
    int gone = udp_socket(0, 5037, 1, NULL);
    tr_close(gone);
    int other = udp_socket(0, 5038, 1, PEER_ADDR);
    int lite = udp_socket(IPPROTO_UDPLITE, 5039, 1, NULL);
    crafted("quotes");
    read_errors(fd, 64, 512, 10);
    gone = udp_socket(0, 5037, 1, NULL);
    read_errors(gone, 64, 512, 1);
    read_errors(other, 64, 512, 3);
    read_errors(lite, 64, 512, 3);
    tr_close(fd);
    tr_close(gone);
    tr_close(other);
    tr_close(lite);

    note("IP_RECVERR_RFC4884: the original datagram's length and the extension's validity");
    fd = udp_socket(0, 5041, 1, NULL);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR_RFC4884, 1);
    tr_getint(fd, IPPROTO_IP, IP_RECVERR_RFC4884);
    int without = udp_socket(0, 5042, 1, NULL);
    crafted("rfc4884");
    read_errors(fd, 128, 512, 10);
    read_errors(without, 128, 512, 1);
    tr_close(fd);
    tr_close(without);

    note("sk_err through a sequence of errors, calls and queue reads");
    fd = udp_socket(0, 5040, 1, NULL);
    note("(and on a socket whose receive buffer takes two errors, four errors: sk_err is set");
    note("for every one, the queue keeps what fits)");
    int small = udp_socket(0, 5043, 1, NULL);
    tr_setint(small, SOL_SOCKET, SO_RCVBUF, 0);
    crafted("sequence");
    poll_now(fd);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    poll_now(fd);
    read_errors(fd, 2, 512, 1);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    read_errors(fd, 64, 512, 1);
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    poll_now(fd);
    read_errors(fd, 64, 512, 1);
    poll_now(fd);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);
    tr_getint(small, SOL_SOCKET, SO_ERROR);
    read_errors(small, 64, 512, 4);
    tr_close(small);
    flush_route_cache();
    return trace_end();
}
