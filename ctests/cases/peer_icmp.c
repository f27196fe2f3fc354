/* peer_icmp: ICMP messages the peer crafts and sends as whole Ethernet frames (an AF_PACKET
 * socket on its eth0) to the host's address, while the case holds a UDP socket. For each the
 * peer prints the replies it sees: type, code, length, TOS, TTL, DF, whether the checksum,
 * identifier, sequence and data came back right, and the frame's addresses. Covered: echo
 * (plain, TOS, a non-zero code, odd length, TTL 1, DF, Ethernet padding), what gets no reply
 * (bad ICMP or IP checksum, bad version/IHL/length, martian sources, another host's MAC,
 * address mask requests, unknown types), timestamp requests (icmp_timestamp), and frames
 * sent to the Ethernet broadcast or a multicast MAC (ip_rcv accepts them: the route, not the
 * frame, decides). */
#include "trace.h"
#include "peer.h"

/* Runs in the peer. argv: host address, host MAC, part (1 or 2: two runs, each well within
 * the case's watchdog). */
static const char icmp_prober[] =
    "import socket, struct, sys, time\n"
    "host, host_mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "s.bind(('eth0', 0))\n"
    "me = s.getsockname()[4]\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "def icmp(typ, code, rest, data, bad=False):\n"
    "    m = struct.pack('!BBH', typ, code, 0) + rest + data\n"
    "    c = csum(m) ^ (0x1111 if bad else 0)\n"
    "    return m[:2] + struct.pack('!H', c) + m[4:]\n"
    "def ipv4(payload, src='198.18.0.1', dst=None, tos=0, ttl=64, df=0, proto=1, ver=4, ihl=5,\n"
    "         total=None, bad=False):\n"
    "    total = 20 + len(payload) if total is None else total\n"
    "    h = struct.pack('!BBHHHBBH4s4s', (ver << 4) | ihl, tos, total, 0x1234, df << 14, ttl, proto, 0,\n"
    "                    socket.inet_aton(src), socket.inet_aton(dst or host))\n"
    "    c = csum(h) ^ (0x1111 if bad else 0)\n"
    "    return h[:10] + struct.pack('!H', c) + h[12:] + payload\n"
    "def frame(packet, dst_mac=None, pad=b''):\n"
    "    return (dst_mac or host_mac) + me + b'\\x08\\x00' + packet + pad\n"
    "REST = struct.pack('!HH', 0x4242, 7)\n"
    "DATA = bytes(range(56))\n"
    "def echo(data=DATA, code=0, bad=False):\n"
    "    return icmp(8, code, REST, data, bad)\n"
    "def hw(b): return b.hex(':')\n"
    "def probe(what, f, sent_data=DATA):\n"
    "    while True:\n"
    "        s.settimeout(0.001)\n"
    "        try: s.recv(70000)\n"
    "        except socket.timeout: break\n"
    "    s.send(f)\n"
    "    replies = []\n"
    "    deadline = time.monotonic() + 0.25\n"
    "    while True:\n"
    "        left = deadline - time.monotonic()\n"
    "        if left <= 0: break\n"
    "        s.settimeout(left)\n"
    "        try: r = s.recv(70000)\n"
    "        except socket.timeout: break\n"
    "        if r[6:12] == me: continue  # our own frames, seen on the way out\n"
    "        ip = r[14:]\n"
    "        if len(ip) < 28 or ip[9] != 1 or ip[12:16] != socket.inet_aton(host): continue\n"
    "        ihl = (ip[0] & 15) * 4\n"
    "        total = struct.unpack('!H', ip[2:4])[0]\n"
    "        m = ip[ihl:total]\n"
    "        line = 'reply type=%d code=%d icmp_len=%d tos=0x%02x ttl=%d df=%d ihl=%d icmp_csum=%s to=%s' % (\n"
    "            m[0], m[1], len(m), ip[1], ip[8], (ip[6] >> 6) & 1, ihl, 'ok' if csum(m) == 0 else 'BAD',\n"
    "            socket.inet_ntoa(ip[16:20]))\n"
    "        if m[0] == 0:\n"
    "            line += ' id_seq=%s data=%s' % ('same' if m[4:8] == REST else m[4:8].hex(),\n"
    "                                          'same' if m[8:] == sent_data else 'len %d differs' % (len(m) - 8))\n"
    "        if m[0] == 14:\n"
    "            o, rcv, xmt = struct.unpack('!III', m[8:20])\n"
    "            line += ' originate=%s receive==transmit=%s' % ('same' if o == 12345 else 'differs', rcv == xmt)\n"
    "        line += ' eth %s > %s' % (hw(r[6:12]), hw(r[0:6]))\n"
    "        replies.append(line)\n"
    "    print('%s: %d replies' % (what, len(replies)))\n"
    "    for line in replies: print('  ' + line)\n"
    "if sys.argv[3] == '1':\n"
    " probe('echo', frame(ipv4(echo())))\n"
    " probe('echo, TOS 0x13', frame(ipv4(echo(), tos=0x13)))\n"
    " probe('echo, code 5', frame(ipv4(echo(code=5))))\n"
    " probe('echo, 7 bytes of data', frame(ipv4(echo(DATA[:7]))), DATA[:7])\n"
    " probe('echo, TTL 1', frame(ipv4(echo(), ttl=1)))\n"
    " probe('echo, DF', frame(ipv4(echo(), df=1)))\n"
    " probe('echo, 10 bytes of Ethernet padding', frame(ipv4(echo()), pad=b'\\0' * 10))\n"
    " probe('echo, no data, padded to 60 bytes', frame(ipv4(echo(b'')), pad=b'\\0' * 18), b'')\n"
    " probe('echo, bad ICMP checksum', frame(ipv4(echo(bad=True))))\n"
    " probe('echo, bad IP checksum', frame(ipv4(echo(), bad=True)))\n"
    " probe('echo, IP version 5', frame(ipv4(echo(), ver=5)))\n"
    " probe('echo, IHL 4', frame(ipv4(echo(), ihl=4)))\n"
    " probe('echo, IP total length past the frame', frame(ipv4(echo(), total=20 + 8 + 56 + 4)))\n"
    " probe('echo, IP total length 24 (the ICMP header cut)', frame(ipv4(echo(), total=24)))\n"
    "else:\n"
    " probe('echo from 198.18.0.2 (ourselves)', frame(ipv4(echo(), src=host)))\n"
    " probe('echo from 0.0.0.0', frame(ipv4(echo(), src='0.0.0.0')))\n"
    " probe('echo from 127.0.0.1', frame(ipv4(echo(), src='127.0.0.1')))\n"
    " probe('echo from 198.18.0.255', frame(ipv4(echo(), src='198.18.0.255')))\n"
    " probe('echo from 224.0.0.9', frame(ipv4(echo(), src='224.0.0.9')))\n"
    " probe('echo from 198.19.0.2 (off-link, through the peer)', frame(ipv4(echo(), src='198.19.0.2')))\n"
    " probe('echo to another host\\'s MAC', frame(ipv4(echo()), dst_mac=bytes.fromhex('020000000099')))\n"
    " probe('echo to the Ethernet broadcast', frame(ipv4(echo()), dst_mac=b'\\xff' * 6))\n"
    " probe('echo to a multicast MAC', frame(ipv4(echo()), dst_mac=bytes.fromhex('01005e000001')))\n"
    " probe('timestamp request', frame(ipv4(icmp(13, 0, REST, struct.pack('!III', 12345, 0, 0)))))\n"
    " probe('address mask request', frame(ipv4(icmp(17, 0, REST, bytes(4)))))\n"
    " probe('type 99', frame(ipv4(icmp(99, 0, REST, DATA))))\n"
    " probe('echo reply (unsolicited)', frame(ipv4(icmp(0, 0, REST, DATA))))\n";

int main(void)
{
    trace_start("peer_icmp");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, 5014);
    for (int part = 1; part <= 2; part++) {
        char label[96], part_arg[2] = { (char)('0' + part), '\0' };
        snprintf(label, sizeof label, "python3 icmp_prober.py 198.18.0.2 02:00:00:00:00:02 %d", part);
        peer_run(PEER_NS, label,
                 (char *const[]){ "python3", "-c", (char *)icmp_prober, HOST_ADDR,
                                  "02:00:00:00:00:02", part_arg, NULL },
                 8000);
        trace_watchdog();
    }
    tr_close(fd);
    return trace_end();
}
