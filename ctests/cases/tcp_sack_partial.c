/* tcp_sack_partial: SACK blocks off segment edges and SACK reneging, with a crafted receiver on
 * the peer (a raw socket plays the client, like a packetdrill script; its address is in
 * 198.19.77.0/24, which the peer routes into a blackhole so its kernel never answers the
 * host's segments with resets, and an AF_PACKET socket on the peer's eth0 sees what the host
 * sends). The host accepts, writes 10000 bytes in 1000-byte segments (the client's MSS), and
 * the client answers:
 *   - ACK 0 with SACK 2500-9500 (relative to the first data byte): only whole segments count
 *     (tcp_match_skb_to_sack splits a multi-segment skb at MSS multiples, never a segment), so
 *     3000-9000 is SACKed, RACK marks 0-3000 lost and all of it, the half-SACKed 2000-3000
 *     included, is sent again; 9000-10000 is not;
 *   - ACK 3000 without SACK: the cumulative ACK stops at a SACKed segment (reneging); after
 *     max(SRTT/2, 10 ms) (tcp_check_sack_reneging, here about 50 ms), not after an RTO
 *     (300 ms), the timer forgets the SACK marks and 3000-4000 is sent again.
 * The client prints the byte ranges it receives again (merged), never timings beyond "within". */
#include "trace.h"
#include "peer.h"
#include "tcp_lib.h"

#include <netinet/tcp.h>

#define PORT 6107
#define CLIENT_ADDR "198.19.77.9"

static const char CLIENT_PY[] =
    "import socket, struct, select, subprocess, sys, time\n"
    "HOST, PORT, SRC = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
    "SPORT = 41234\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16\n"
    "    return (~s) & 0xffff\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "cap.bind(('eth0', 0))\n"
    "def send(seq, ack, flags, opts=b''):\n"
    "    tcp = struct.pack('!HHIIBBHHH', SPORT, PORT, seq, ack, (5 + len(opts) // 4) << 4, flags, 64240, 0, 0) + opts\n"
    "    ph = socket.inet_aton(SRC) + socket.inet_aton(HOST) + struct.pack('!BBH', 0, 6, len(tcp))\n"
    "    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]\n"
    "    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, socket.inet_aton(SRC), socket.inet_aton(HOST))\n"
    "    raw.sendto(ip[:10] + struct.pack('!H', csum(ip)) + ip[12:] + tcp, (HOST, 0))\n"
    "def frames(seconds, until=None):\n"
    "    out = []; end = time.time() + seconds\n"
    "    while True:\n"
    "        left = end - time.time()\n"
    "        if left <= 0 or not select.select([cap], [], [], left)[0]: return out\n"
    "        f = cap.recv(262144)[14:]\n"
    "        if len(f) < 40 or f[9] != 6 or f[12:16] != socket.inet_aton(HOST) or f[16:20] != socket.inet_aton(SRC): continue\n"
    "        ihl = (f[0] & 15) * 4; total = struct.unpack('!H', f[2:4])[0]\n"
    "        t = f[ihl:max(total, ihl + 20) if total else len(f)]\n"
    "        sport, dport, seq, ack, off, fl = struct.unpack('!HHIIBB', t[:14])\n"
    "        if dport != SPORT: continue\n"
    "        out.append((seq, fl, len(t) - (off >> 4) * 4, time.time()))\n"
    "        if until and until(out): return out\n"
    "def ranges(segs, base):\n"
    "    spans = sorted(((s - base) & 0xffffffff, ((s - base) & 0xffffffff) + n) for s, fl, n, at in segs if n > 0)\n"
    "    merged = []\n"
    "    for a, b in spans:\n"
    "        if merged and a <= merged[-1][1]: merged[-1][1] = max(merged[-1][1], b)\n"
    "        else: merged.append([a, b])\n"
    "    return ' '.join('%d-%d' % (a, b) for a, b in merged) or 'nothing'\n"
    "subprocess.run(['ip', 'route', 'replace', 'blackhole', '198.19.77.0/24'], check=True)\n"
    "try:\n"
    "    MSS = struct.pack('!BBH', 2, 4, 1000); SACKOK = bytes([1, 1, 4, 2])\n"
    "    send(1000, 0, 0x02, MSS + SACKOK)\n"
    "    got = [g for g in frames(1.0, lambda o: o[-1][1] == 0x12) if g[1] == 0x12]\n"
    "    if not got: print('no SYN-ACK', flush=True); sys.exit(1)\n"
    "    base = (got[0][0] + 1) & 0xffffffff\n"
    "    time.sleep(0.1)  # an RTT of 100 ms: the RTO is 300 ms\n"
    "    send(1001, base, 0x10)\n"
    "    print('connected', flush=True)\n"
    "    seen = set()\n"
    "    def all_data(o):\n"
    "        for s, fl, n, at in o:\n"
    "            for k in range((s - base) & 0xffffffff, ((s - base) & 0xffffffff) + n, 1000): seen.add(k)\n"
    "        return len(seen) >= 10\n"
    "    data = frames(2.0, all_data)\n"
    "    print('data received:', ranges(data, base), flush=True)\n"
    "    time.sleep(0.02)\n"
    "    def sack(l, r): return bytes([1, 1, 5, 10]) + struct.pack('!II', (base + l) & 0xffffffff, (base + r) & 0xffffffff)\n"
    "    send(1001, base, 0x10, sack(2500, 9500))\n"
    "    print('sent ACK 0 SACK 2500-9500', flush=True)\n"
    "    print('sent again:', ranges(frames(0.1), base), flush=True)\n"
    "    sent_at = time.time()\n"
    "    send(1001, (base + 3000) & 0xffffffff, 0x10)\n"
    "    print('sent ACK 3000 (the SACKed 3000-9000 reneged)', flush=True)\n"
    "    later = frames(0.25)\n"
    "    first = [at for s, fl, n, at in later if n > 0]\n"
    "    print('sent again within 200 ms:', 'yes' if first and first[0] - sent_at < 0.2 else 'no', flush=True)\n"
    "    print('sent again:', ranges(later, base), flush=True)\n"
    "    send(1001, (base + 10000) & 0xffffffff, 0x10)\n"
    "    print('sent ACK 10000', flush=True)\n"
    "    print('sent after it:', ranges(frames(0.1), base), flush=True)\n"
    "    print('ready', flush=True)\n"
    "    time.sleep(0.5)\n"
    "finally:\n"
    "    subprocess.run(['ip', 'route', 'del', 'blackhole', '198.19.77.0/24'])\n";

int main(void)
{
    trace_start("tcp_sack_partial");
    alarm(9);
    trace_fixed_port(PORT);
    /* Each process under the shim starts with an empty ARP cache: so does the kernel's. */
    peer_run(HOST_NS, "ip neigh flush dev eth0",
             (char *const[]){ "ip", "neigh", "flush", "dev", "eth0", NULL }, 3000);
    int listener = tr_listener("0.0.0.0", PORT, 1);
    char port[16];
    snprintf(port, sizeof port, "%d", PORT);
    struct peer_job client;
    peer_start_python(&client, PEER_NS, "python3 sack-client.py", CLIENT_PY,
                      (const char *const[]){ HOST_ADDR, port, CLIENT_ADDR, NULL });
    quiet_wait_events(listener, POLLIN, 3000);
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    int fd = tr_accept4(listener, &from, &from_len, 0);
    static unsigned char data[10000];
    memset(data, 'x', sizeof data);
    ssize_t sent = send(fd, data, sizeof data, 0);
    printf("send(fd%d, 10000) = %zd\n", fd, sent);
    peer_wait_ready(&client, 5000);
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
        printf("TCP_INFO: ca_state=%u unacked=%u sacked=%u lost=%u retrans=%u total_retrans=%u\n",
               info.tcpi_ca_state, info.tcpi_unacked, info.tcpi_sacked, info.tcpi_lost,
               info.tcpi_retrans, info.tcpi_total_retrans);
    /* A reset while the peer still blackholes the client's address: a FIN would be
     * retransmitted by the kernel world's orphan into later runs. */
    struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    tr_close(fd);
    peer_finish(&client, 5000);
    tr_close(listener);
    return trace_end();
}
