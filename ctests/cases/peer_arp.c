/* peer_arp: ARP requests the peer crafts (an AF_PACKET socket on its eth0) for the host's
 * address and others, while the case holds a UDP socket (under the shim the address exists
 * only then). For each request the peer prints the replies it sees, field by field with the
 * frame's length. What Linux does (arp_process): reply to a request for a local address from
 * a sender that passes the route check, also to a unicast request, to a duplicate-address
 * probe (sender 0.0.0.0, the reply goes to 0.0.0.0), and to hardware type 6 (IEEE 802); no
 * reply for other addresses, loopback, broadcast, a sender that is our own address, or a
 * truncated frame. */
#include "trace.h"
#include "peer.h"

/* Runs in the peer. argv: host address, host MAC. */
static const char arp_prober[] =
    "import socket, struct, sys, time\n"
    "host, host_mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))\n"
    "s.bind(('eth0', 0))\n"
    "me = s.getsockname()[4]\n"
    "ip = socket.inet_aton\n"
    "def hw(b): return b.hex(':')\n"
    "def probe(what, sip, tip, dst=b'\\xff' * 6, hrd=1, op=1, sha=None, cut=0, trailer=b''):\n"
    "    sha = sha or me\n"
    "    frame = dst + me + b'\\x08\\x06' + struct.pack('!HHBBH', hrd, 0x0800, 6, 4, op)\n"
    "    frame += sha + ip(sip) + b'\\0' * 6 + ip(tip)\n"
    "    frame = (frame[:len(frame) - cut] if cut else frame) + trailer\n"
    "    while True:\n"
    "        s.settimeout(0.001)\n"
    "        try: s.recv(2000)\n"
    "        except socket.timeout: break\n"
    "    s.send(frame)\n"
    "    replies = []\n"
    "    deadline = time.monotonic() + 0.25\n"
    "    while True:\n"
    "        left = deadline - time.monotonic()\n"
    "        if left <= 0: break\n"
    "        s.settimeout(left)\n"
    "        try: f = s.recv(2000)\n"
    "        except socket.timeout: break\n"
    "        if len(f) < 42 or f[12:14] != b'\\x08\\x06' or f[20:22] != b'\\x00\\x02': continue\n"
    "        hrd, pro, hln, pln, op = struct.unpack('!HHBBH', f[14:22])\n"
    "        replies.append('reply len=%d eth %s > %s hrd=%d pro=0x%04x hln=%d pln=%d %s is-at %s'\n"
    "                       ' tell %s at %s' % (len(f), hw(f[6:12]), hw(f[0:6]), hrd, pro, hln, pln,\n"
    "                       socket.inet_ntoa(f[28:32]), hw(f[22:28]), socket.inet_ntoa(f[38:42]),\n"
    "                       hw(f[32:38])))\n"
    "    print('%s: %d replies' % (what, len(replies)))\n"
    "    for r in replies: print('  ' + r)\n"
    "probe('who-has host tell peer', '198.18.0.1', host)\n"
    "probe('unicast who-has host tell peer', '198.18.0.1', host, dst=host_mac)\n"
    "probe('who-has 198.18.0.99', '198.18.0.1', '198.18.0.99')\n"
    "probe('probe: who-has host tell 0.0.0.0', '0.0.0.0', host)\n"
    "probe('who-has host tell 198.19.0.2 (off-link sender)', '198.19.0.2', host)\n"
    "probe('who-has 127.0.0.1', '198.18.0.1', '127.0.0.1')\n"
    "probe('who-has 198.18.0.255', '198.18.0.1', '198.18.0.255')\n"
    "probe('who-has 224.0.0.1', '198.18.0.1', '224.0.0.1')\n"
    "probe('who-has host tell host (conflict)', host, host)\n"
    "probe('hardware type 6 (IEEE 802)', '198.18.0.1', host, hrd=6)\n"
    "probe('hardware type 7', '198.18.0.1', host, hrd=7)\n"
    "probe('opcode 3', '198.18.0.1', host, op=3)\n"
    "probe('truncated by 1 byte', '198.18.0.1', host, cut=1)\n"
    "probe('18 bytes of trailer', '198.18.0.1', host, trailer=b'\\xaa' * 18)\n";

int main(void)
{
    trace_start("peer_arp");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, 5013);
    peer_run(PEER_NS, "python3 arp_prober.py 198.18.0.2 02:00:00:00:00:02",
             (char *const[]){ "python3", "-c", (char *)arp_prober, HOST_ADDR, "02:00:00:00:00:02",
                              NULL },
             9000);
    tr_close(fd);
    return trace_end();
}
