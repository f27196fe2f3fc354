/* peer_port_unreachable: datagrams from the peer to closed ports of the host's address. No
 * error for broadcasts or a wrong UDP checksum; the peer's connected socket gets ECONNREFUSED;
 * a fragmented datagram's error quotes at most 576 bytes; then bursts show the HOST's ICMP
 * rate limit (icmp_ratelimit 1000 ms, icmp_ratemask, a per-destination token bucket of 6 that
 * regains one token a second: inet_peer_xrlim_allow) by how many port unreachables reach the
 * peer, and what those errors look like (TOS, TTL, DF, length). The peer counts them with a
 * raw ICMP socket, matching each error to its datagram by the quoted destination port. */
#include "trace.h"
#include "peer.h"

/* Runs in the peer. argv: host address. Prints only counts and header fields. Each phase
 * sends to its own closed ports, so every error is attributed by the port it quotes. */
static const char peer_program[] =
    "import errno, socket, struct, sys, time\n"
    "host = sys.argv[1]\n"
    "icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "errors = []  # (quoted destination port, shape)\n"
    "def drain(seconds):\n"
    "    deadline = time.monotonic() + seconds\n"
    "    while True:\n"
    "        left = deadline - time.monotonic()\n"
    "        if left <= 0: return\n"
    "        icmp.settimeout(left)\n"
    "        try: pkt, addr = icmp.recvfrom(70000)\n"
    "        except socket.timeout: return\n"
    "        ihl = (pkt[0] & 15) * 4\n"
    "        msg = pkt[ihl:]\n"
    "        if addr[0] != host or len(msg) < 8 + 20 + 8 or msg[0] != 3: continue\n"
    "        inner = msg[8:]\n"
    "        iihl = (inner[0] & 15) * 4\n"
    "        dport, ulen = struct.unpack('!HH', inner[iihl + 2:iihl + 6])\n"
    "        errors.append((dport, 'type=%d code=%d tos=0x%02x ttl=%d df=%d total=%d quoted=%d'\n"
    "                       ' quoted_udp_len=%d' % (msg[0], msg[1], pkt[1], pkt[8], (pkt[6] >> 6) & 1,\n"
    "                       struct.unpack('!H', pkt[2:4])[0], len(inner), ulen)))\n"
    "def report(what, ports):\n"
    "    got = [(p, shape) for p, shape in errors if p in ports]\n"
    "    print('%s: %d port unreachables, for ports %s' % (what, len(got), sorted(p for p, _ in got)))\n"
    "    for shape in sorted(set(shape for _, shape in got)): print('  error', shape)\n"
    "def err(e): return errno.errorcode.get(e.errno, str(e.errno))\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while s >> 16: s = (s & 0xffff) + (s >> 16)\n"
    "    return ~s & 0xffff\n"
    "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "u.bind(('198.18.0.1', 0))\n"
    "u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "# 1: no error is due for these (icmp_send's and __udp4_lib_rcv's exceptions)\n"
    "u.sendto(b'bcast', ('198.18.0.255', 20100))\n"
    "u.sendto(b'bcast', ('255.255.255.255', 20101))\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "payload = b'bad checksum'\n"
    "good = csum(socket.inet_aton('198.18.0.1') + socket.inet_aton(host) +\n"
    "            struct.pack('!BBHHHHH', 0, 17, 8 + len(payload), 40000, 20102, 8 + len(payload), 0) + payload)\n"
    "udp = struct.pack('!HHHH', 40000, 20102, 8 + len(payload), (good or 0xffff) ^ 0x00ff) + payload\n"
    "hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 28 + len(payload), 1, 0, 64, 17, 0,\n"
    "                  socket.inet_aton('198.18.0.1'), socket.inet_aton(host))\n"
    "raw.sendto(hdr + udp, (host, 0))\n"
    "drain(0.5)\n"
    "report('broadcasts and a wrong checksum to closed ports', range(20100, 20103))\n"
    "# 2: a connected socket (two errors: the datagram and the send after the refusal)\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.connect((host, 1))\n"
    "s.send(b'closed')\n"
    "s.settimeout(3)\n"
    "try:\n"
    "    s.recv(100); print('connected: recv returned data')\n"
    "except socket.timeout:\n"
    "    print('connected: recv timed out')\n"
    "except OSError as e:\n"
    "    print('connected: recv', err(e))\n"
    "try:\n"
    "    s.send(b'again'); print('connected: second send ok')\n"
    "except OSError as e:\n"
    "    print('connected: second send', err(e))\n"
    "s.close()\n"
    "drain(0.3)\n"
    "report('connected socket', [1])\n"
    "# 3: a fragmented datagram: the error quotes at most 576 bytes of IP packet\n"
    "u.sendto(bytes(3000), (host, 20200))\n"
    "drain(0.2)\n"
    "report('3000 bytes', [20200])\n"
    "# 4: a burst of 10. The bucket was full before phase 2 (capped at 6 tokens); phases 2 and\n"
    "# 3 took 3 and gave back 0.5 in the 0.5 s they lasted: 3.5 tokens, so 3 errors, 0.5 left.\n"
    "# (Half a token of margin either way keeps the count independent of scheduling.)\n"
    "for i in range(10): u.sendto(bytes(100 + i), (host, 20000 + i))\n"
    "drain(0.3)\n"
    "report('burst of 10', range(20000, 20010))\n"
    "# 5: 2 s after the burst the bucket holds 0.5 + 2 tokens: 2 errors\n"
    "drain(1.7)\n"
    "for i in range(5): u.sendto(bytes(100 + i), (host, 20300 + i))\n"
    "drain(0.5)\n"
    "report('burst of 5, 2 s later', range(20300, 20305))\n"
    "report('anything else', set(p for p, _ in errors) - set(range(20000, 20400)) - {1})\n";

/* Runs in the remote: one closed port, through the gateway. argv: host address. */
static const char remote_program[] =
    "import errno, socket, struct, sys\n"
    "host = sys.argv[1]\n"
    "icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "icmp.settimeout(2)\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.connect((host, 1))\n"
    "s.send(b'from the remote')\n"
    "s.settimeout(2)\n"
    "try:\n"
    "    s.recv(100); print('recv returned data')\n"
    "except socket.timeout:\n"
    "    print('recv timed out')\n"
    "except OSError as e:\n"
    "    print('recv', errno.errorcode.get(e.errno, str(e.errno)))\n"
    "try:\n"
    "    pkt, addr = icmp.recvfrom(2000)\n"
    "    ihl = (pkt[0] & 15) * 4\n"
    "    print('error from %s type=%d code=%d tos=0x%02x ttl=%d total=%d' % (addr[0], pkt[ihl],\n"
    "          pkt[ihl + 1], pkt[1], pkt[8], struct.unpack('!H', pkt[2:4])[0]))\n"
    "except socket.timeout:\n"
    "    print('no ICMP error seen')\n";

int main(void)
{
    trace_start("peer_port_unreachable");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, 5009);

    /* The kernel keeps the per-destination bucket (an inet_peer) across runs: an earlier run
     * may have emptied it. It holds 6 tokens and regains one per second, so after 6 s it is
     * full whatever happened before; the shim starts each process with a full one. */
    note("waiting 6 s for the host's ICMP token bucket towards the peer to be full");
    usleep(6200 * 1000);
    trace_watchdog();

    note("closed ports of the host's address, from the peer");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 port_unreachable.py 198.18.0.2", peer_program,
                      (const char *const[]){ HOST_ADDR, NULL });
    peer_finish(&job, 9000);

    trace_watchdog();

    note("from the remote, through the gateway (its own token bucket)");
    peer_start_python(&job, REMOTE_NS, "python3 port_unreachable_remote.py 198.18.0.2",
                      remote_program, (const char *const[]){ HOST_ADDR, NULL });
    peer_finish(&job, 5000);

    note("the case's own socket was never involved");
    tr_recv(fd, (char[16]){ 0 }, 16, MSG_DONTWAIT);
    tr_close(fd);
    return trace_end();
}
