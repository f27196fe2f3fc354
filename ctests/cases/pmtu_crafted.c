/* pmtu_crafted: ICMP "fragmentation needed" crafted by the peer, quoting datagrams of the
 * case's sockets, to show __ip_rt_update_pmtu's rules: a lower MTU is learned, a higher one
 * ignored, one below net.ipv4.route.min_pmtu (552) becomes 552 and locks the path (IP_PMTUDISC_
 * WANT then stops setting DF and fragments at 552), an MTU of 0 locks it too; an error for a
 * port no socket holds, or for a socket in IP_PMTUDISC_INTERFACE mode, teaches nothing
 * (udp_err's lookup, ip_sk_accept_pmtu); an IP_PMTUDISC_DONT socket learns the MTU without
 * hearing the error. The peer captures what the locked path gets. */
#include "trace.h"
#include "peer.h"
#include "peer_capture.h"
#include "path_mtu.h"

#define SINK_PORT 5053

static const char crafter[] =
    "import socket, struct, sys\n"
    "host, dst, sport, dport, mtu = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while s >> 16: s = (s & 0xffff) + (s >> 16)\n"
    "    return ~s & 0xffff\n"
    "ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 1028, 0, 0x4000, 64, 17, 0,\n"
    "                 socket.inet_aton(host), socket.inet_aton(dst))\n"
    "ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]\n"
    "quote = ip + struct.pack('!HHHH', sport, dport, 1008, 0)\n"
    "icmp = struct.pack('!BBHHH', 3, 4, 0, 0, mtu) + quote\n"
    "icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "s.sendto(icmp, (host, 0))\n"
    "print('sent fragmentation needed, mtu %d, about %s:%d > %s:%d' % (mtu, host, sport, dst, dport))\n";

static const char sniffer[] = PEER_CAPTURE_PY
    "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', port))\n"
    "for f in host_frames(host, 8):\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    tot, frag = struct.unpack('!H', ip[2:4])[0], struct.unpack('!H', ip[6:8])[0]\n"
    "    off = (frag & 0x1fff) * 8\n"
    "    tag = ip[ihl + 8:ihl + 20].split(b':')[0].decode(errors='replace') if off == 0 else '-'\n"
    "    print('tag=%s len=%d df=%d mf=%d off=%d' % (tag, tot, frag >> 14 & 1, frag >> 13 & 1, off))\n"
    "    if tag == 'end': break\n";

static void frag_needed(const char *dst, const char *sport, const char *dport, const char *mtu)
{
    char label[160];
    snprintf(label, sizeof label, "python3 crafter.py %s %s %s %s %s", HOST_ADDR, dst, sport, dport, mtu);
    peer_run(PEER_NS, label,
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, (char *)dst, (char *)sport,
                              (char *)dport, (char *)mtu, NULL },
             4000);
    usleep(150 * 1000); /* bounded: the error is one frame away */
}

static int bound_connected(int mode, unsigned port, const char *to, unsigned to_port)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, mode);
    tr_bind4(fd, "0.0.0.0", port);
    tr_connect4(fd, to, to_port);
    return fd;
}

static void send_tagged(int fd, const char *tag, size_t size)
{
    tr_send(fd, tagged_payload(tag, size), size, 0);
}

/* A crafted "fragmentation needed" about socket `fd`'s datagrams, then what the socket shows:
 * IP_MTU (the path MTU its route now has) and SO_ERROR (whether the error was reported). */
static void frag_needed_then_show(int fd, const char *dst, const char *sport, const char *dport,
                                  const char *mtu)
{
    frag_needed(dst, sport, dport, mtu);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
}

int main(void)
{
    trace_start("pmtu_crafted");
    forget_path_mtus();
    struct peer_job sniff;
    peer_start_python(&sniff, PEER_NS, "python3 sniffer.py 198.18.0.2 5053", sniffer,
                      (const char *const[]){ HOST_ADDR, "5053", NULL });
    peer_wait_ready(&sniff, 4000);
    trace_watchdog();

    note("lower, higher, below min_pmtu, then anything: locked");
    int want = bound_connected(IP_PMTUDISC_WANT, 5051, PEER_ADDR, SINK_PORT);
    tr_getint(want, IPPROTO_IP, IP_MTU);
    frag_needed_then_show(want, PEER_ADDR, "5051", "5053", "1200");
    frag_needed_then_show(want, PEER_ADDR, "5051", "5053", "1300");
    frag_needed_then_show(want, PEER_ADDR, "5051", "5053", "300");
    frag_needed_then_show(want, PEER_ADDR, "5051", "5053", "1000");
    trace_watchdog();

    note("a locked path: WANT sends without DF, fragments at 552; DO refuses above it");
    send_tagged(want, "want-1000", 1000);
    send_tagged(want, "want-100", 100);
    int do_ = bound_connected(IP_PMTUDISC_DO, 5052, PEER_ADDR, SINK_PORT);
    tr_getint(do_, IPPROTO_IP, IP_MTU);
    send_tagged(do_, "do-1000", 1000);
    send_tagged(do_, "do-524", 524);
    send_tagged(do_, "do-525", 525);

    note("an INTERFACE socket does not accept the MTU");
    int interface = bound_connected(IP_PMTUDISC_INTERFACE, 5054, "198.18.0.77", 5055);
    frag_needed_then_show(interface, "198.18.0.77", "5054", "5055", "800");
    int other = bound_connected(IP_PMTUDISC_WANT, 5056, "198.18.0.77", 5055);
    tr_getint(other, IPPROTO_IP, IP_MTU);
    trace_watchdog();

    note("no socket on the quoted port: nothing learned");
    frag_needed("198.18.0.78", "5057", "5058", "800");
    int late = bound_connected(IP_PMTUDISC_WANT, 5057, "198.18.0.78", 5058);
    tr_getint(late, IPPROTO_IP, IP_MTU);

    note("an MTU of 0");
    int zero = bound_connected(IP_PMTUDISC_WANT, 5059, "198.18.0.79", 5060);
    frag_needed_then_show(zero, "198.18.0.79", "5059", "5060", "0");
    trace_watchdog();

    note("a DONT socket learns the MTU without the error");
    int dont = bound_connected(IP_PMTUDISC_DONT, 5061, "198.18.0.80", 5062);
    frag_needed_then_show(dont, "198.18.0.80", "5061", "5062", "900");

    int end = bound_connected(IP_PMTUDISC_DONT, 5063, PEER_ADDR, SINK_PORT);
    send_tagged(end, "end", 10);
    peer_finish(&sniff, 6000);
    int fds[] = { end, dont, zero, late, other, interface, do_, want };
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
        tr_close(fds[i]);
    forget_path_mtus();
    return trace_end();
}
