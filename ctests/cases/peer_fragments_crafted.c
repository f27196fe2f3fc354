/* peer_fragments_crafted: fragments the peer builds itself (a raw socket), to a socket the
 * case binds: in order, reversed, a duplicate fragment (dropped, the datagram survives), an
 * overlapping fragment (the whole datagram is discarded: ip_frag_queue, RFC 5722's rule that
 * Linux also applies to IPv4), two datagrams interleaved, the largest datagram in reverse
 * order, a reassembled datagram over 65535 bytes (dropped), and UDP checksums: zero (none,
 * accepted), wrong (dropped), wrong in a fragmented datagram (dropped after reassembly).
 * Every payload starts with its scenario's tag; the case prints what it received. No
 * scenario leaves an incomplete datagram holding its first fragment behind: its expiry
 * 30 s later would send an ICMP time exceeded (ip_expire) and spend the host's ICMP tokens. */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5012

/* Runs in the peer. argv: host address, port. */
static const char crafter[] =
    "import random, socket, struct, sys\n"
    "# Fresh IP IDs each run: a queue left incomplete by an earlier run (overlap-tail) must not\n"
    "# complete a datagram of this one.\n"
    "base = random.randrange(0, 60000)\n"
    "src, dst, port = '198.18.0.1', sys.argv[1], int(sys.argv[2])\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while s >> 16: s = (s & 0xffff) + (s >> 16)\n"
    "    return ~s & 0xffff\n"
    "def udp(tag, size, checksum='good'):\n"
    "    payload = (tag + ':').encode()\n"
    "    payload += bytes((i * 13 + len(tag)) & 255 for i in range(size - len(payload)))\n"
    "    length = (8 + size) & 0xffff\n"
    "    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, length)\n"
    "    c = csum(pseudo + struct.pack('!HHHH', 40000, port, length, 0) + payload) or 0xffff\n"
    "    c = {'good': c, 'zero': 0, 'bad': c ^ 0x5555}[checksum]\n"
    "    return struct.pack('!HHHH', 40000, port, length, c) + payload\n"
    "def frag(ident, off, data, more):\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(data), ident, (more << 13) | (off // 8),\n"
    "                    64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))\n"
    "    return (h[:10] + struct.pack('!H', csum(h)) + h[12:] + data)\n"
    "def pieces(ident, dgram, size=1480):\n"
    "    return [frag(ident, o, dgram[o:o + size], o + size < len(dgram))\n"
    "            for o in range(0, len(dgram), size)]\n"
    "def send(tag, pkts):\n"
    "    for p in pkts: raw.sendto(p, (dst, 0))\n"
    "    print('sent %s: %d fragments' % (tag, len(pkts)))\n"
    "send('in-order', pieces(base + 1, udp('in-order', 3000)))\n"
    "send('reversed', pieces(base + 2, udp('reversed', 3000))[::-1])\n"
    "f = pieces(base + 3, udp('duplicate', 3000))\n"
    "send('duplicate', [f[0], f[1], f[1], f[2]])\n"
    "d = udp('overlap-inside', 3000)\n"
    "f = pieces(base + 4, d)\n"
    "send('overlap-inside', [f[0], f[1], frag(base + 4, 1472, d[1472:1488], 1), f[2]])\n"
    "d = udp('overlap-tail', 3000)\n"
    "f = pieces(base + 13, d)\n"
    "send('overlap-tail', [f[0], frag(base + 13, 1472, d[1472:2952], 1), f[1], f[2]])\n"
    "a, b = pieces(base + 5, udp('interleaved-a', 3000)), pieces(base + 6, udp('interleaved-b', 3000))\n"
    "send('interleaved', [a[0], b[0], a[1], b[1], a[2], b[2]])\n"
    "send('largest', pieces(base + 7, udp('largest', 65507))[::-1])\n"
    "send('oversize', pieces(base + 8, udp('oversize', 65520)))\n"
    "send('zero-checksum', [frag(base + 9, 0, udp('zero-checksum', 100, 'zero'), 0)])\n"
    "send('bad-checksum', [frag(base + 10, 0, udp('bad-checksum', 100, 'bad'), 0)])\n"
    "send('bad-checksum-fragmented', pieces(base + 11, udp('bad-checksum-fragmented', 3000, 'bad')))\n"
    "send('last', [frag(base + 12, 0, udp('last', 100), 0)])\n";

int main(void)
{
    trace_start("peer_fragments_crafted");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);
    trace_fixed_port(40000); /* the crafted datagrams' source port */

    peer_run(PEER_NS, "python3 crafter.py 198.18.0.2 5012",
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, "5012", NULL }, 8000);

    note("what arrived, in order");
    static char buf[65536];
    for (int i = 0; i < 16; i++) {
        if (quiet_wait_readable(fd, 2000) <= 0)
            break;
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = tr_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, SA(&from), &fromlen);
        if (n <= 0)
            break;
        const char *colon = memchr(buf, ':', (size_t)n < 32 ? (size_t)n : 32);
        note("tag %.*s", colon ? (int)(colon - buf) : 0, buf);
        if (colon && strncmp(buf, "last:", 5) == 0)
            break;
    }
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(fd);
    return trace_end();
}
