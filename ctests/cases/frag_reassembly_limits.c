/* frag_reassembly_limits: reassembly under the limits of net.ipv4.ipfrag_*, set in the host
 * namespace of each world before the case opens a socket (they are per network namespace;
 * the shim reads them at start-up): ipfrag_time 2 s, ipfrag_max_dist 3, ipfrag_low_thresh 0 and
 * ipfrag_high_thresh 8000 (each 1500-byte fragment costs its skb, 2304 bytes, each queue 200
 * more; a fragment is refused once the total is above the limit: inet_frag_find). The peer
 * crafts the fragments: ECN codepoints combined (CE with ECT stays CE, Not-ECT with CE drops
 * the datagram: ip_frag_ecn_table), two datagrams interleaved within the distance, one whose
 * fragments are too far apart (ip_frag_too_far restarts its queue), fragments refused above
 * the memory limit, and an expiry: the first fragment alone gets ICMP time exceeded
 * (fragment reassembly) back after ipfrag_time, a later fragment alone nothing (ip_expire).
 * The sysctls are restored at the end. Fragment queues another case left in the kernel
 * world's host within its ipfrag_time would count against the limit (peer_fragments_crafted
 * leaves a few for 30 s: run this case first or 30 s later). */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5071

static const char crafter[] =
    "import random, select, socket, struct, sys, time\n"
    "base = random.randrange(0, 60000)\n"
    "src, dst, port = '198.18.0.1', sys.argv[1], int(sys.argv[2])\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while s >> 16: s = (s & 0xffff) + (s >> 16)\n"
    "    return ~s & 0xffff\n"
    "def udp(tag, size=2952):\n"
    "    payload = (tag + ':').encode()\n"
    "    payload += bytes((i * 7 + len(tag)) & 255 for i in range(size - len(payload)))\n"
    "    length = 8 + size\n"
    "    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, length)\n"
    "    c = csum(pseudo + struct.pack('!HHHH', 40000, port, length, 0) + payload) or 0xffff\n"
    "    return struct.pack('!HHHH', 40000, port, length, c) + payload\n"
    "names = {}\n"
    "def frag(ident, off, data, more, tos=0):\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x45, tos, 20 + len(data), ident, (more << 13) | (off // 8),\n"
    "                    64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))\n"
    "    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + data\n"
    "class Datagram:\n"
    "    def __init__(self, n, tag, tos=(0, 0)):\n"
    "        self.ident, d = base + n, udp(tag)\n"
    "        names[self.ident] = tag\n"
    "        self.f = [frag(self.ident, 0, d[:1480], 1, tos[0]), frag(self.ident, 1480, d[1480:], 0, tos[1])]\n"
    "def send(label, pkts):\n"
    "    for p in pkts: raw.sendto(p, (dst, 0))\n"
    "    print('sent %s: %d fragments' % (label, len(pkts)))\n"
    "w = Datagram(1, 'warm-up'); send('warm-up', w.f)\n"
    "a = Datagram(2, 'ecn-ect0-ce', (2, 3)); send('ECT(0) then CE', a.f)\n"
    "b = Datagram(3, 'ecn-notect-ce', (0, 3)); send('Not-ECT then CE', b.f)\n"
    "c = Datagram(4, 'ecn-ect1-ect0', (1, 2)); send('ECT(1) then ECT(0)', c.f)\n"
    "p, x, y = Datagram(5, 'too-far'), Datagram(6, 'near-x'), Datagram(7, 'near-y')\n"
    "send('too-far/near-x/near-y interleaved', [p.f[0], x.f[0], y.f[0], x.f[1], y.f[1], p.f[1]])\n"
    "time.sleep(2.6)\n"
    "h = [Datagram(10 + i, 'memory-%d' % i) for i in range(6)]\n"
    "send('memory: 1 first, 2-4 seconds, 1 second, 5 second then first',\n"
    "     [h[1].f[0], h[2].f[1], h[3].f[1], h[1].f[1], h[4].f[1], h[5].f[1], h[5].f[0]])\n"
    "time.sleep(2.6)\n"
    "f, g = Datagram(20, 'first-only'), Datagram(21, 'second-only')\n"
    "send('first fragment only', f.f[:1])\n"
    "send('second fragment only', g.f[1:])\n"
    "deadline = time.monotonic() + 3.5\n"
    "while time.monotonic() < deadline:\n"
    "    r, _, _ = select.select([icmp], [], [], 0.2)\n"
    "    if not r: continue\n"
    "    m = icmp.recv(2000)\n"
    "    ihl = (m[0] & 15) * 4\n"
    "    if m[12:16] != socket.inet_aton(dst) or m[ihl] != 11: continue\n"
    "    q = m[ihl + 8:]\n"
    "    qid, qfrag = struct.unpack('!HH', q[4:8])\n"
    "    print('time exceeded code %d from the host, %d bytes, quoting %s offset %d mf %d, %d bytes of it' % (\n"
    "          m[ihl + 1], len(m), names.get(qid, '?'), (qfrag & 0x1fff) * 8, qfrag >> 13 & 1, len(q)))\n"
    "send('last', [frag(base + 30, 0, udp('last', 20), 0)])\n";

static void set_sysctls(const char *label, const char *settings)
{
    peer_run(HOST_NS, label, (char *const[]){ "sh", "-c", (char *)settings, NULL }, 3000);
}

int main(void)
{
    trace_start("frag_reassembly_limits");
    set_sysctls("sysctl -qw ipfrag_time=2 ipfrag_max_dist=3 ipfrag_low_thresh=0 ipfrag_high_thresh=8000",
                "sysctl -qw net.ipv4.ipfrag_time=2 net.ipv4.ipfrag_max_dist=3"
                " net.ipv4.ipfrag_low_thresh=0 net.ipv4.ipfrag_high_thresh=8000");
    trace_fixed_port(40000);
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVTOS, 1);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);

    trace_watchdog();
    peer_run(PEER_NS, "python3 crafter.py 198.18.0.2 5071",
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, "5071", NULL }, 9500);
    trace_watchdog();

    note("what arrived, in order");
    static char data[4000];
    for (int i = 0; i < 16; i++) {
        if (quiet_wait_readable(fd, 2000) <= 0)
            break;
        char control[64];
        struct sockaddr_in from;
        struct iovec iov = { data, sizeof data };
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof control };
        ssize_t n = tr_recvmsg(fd, &m, MSG_DONTWAIT);
        if (n <= 0)
            break;
        const char *colon = memchr(data, ':', 24);
        note("tag %.*s", colon ? (int)(colon - data) : 0, data);
        if (strncmp(data, "last:", 5) == 0)
            break;
    }
    tr_recv(fd, data, sizeof data, MSG_DONTWAIT);
    tr_close(fd);
    set_sysctls("sysctl -qw ipfrag_high_thresh=4194304 ipfrag_low_thresh=3145728 ipfrag_time=30 ipfrag_max_dist=64",
                "sysctl -qw net.ipv4.ipfrag_high_thresh=4194304 net.ipv4.ipfrag_low_thresh=3145728"
                " net.ipv4.ipfrag_time=30 net.ipv4.ipfrag_max_dist=64");
    return trace_end();
}
