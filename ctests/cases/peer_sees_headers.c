/* peer_sees_headers: the IPv4 and UDP headers of the case's datagrams as the peer captures
 * them (AF_PACKET on its eth0): TTL, TOS, DF, the IP ID (a per-socket counter once connected:
 * ip_select_ident_segs), fragment offsets and lengths, the IP header checksum, the Ethernet
 * destination of a broadcast. Random IDs are not printed; a connected socket's are, as the
 * step from the previous datagram. */
#include "trace.h"
#include "peer.h"

#define PEER_PORT 5021

/* Runs in the peer. argv: host address, port. */
static const char sniffer[] =
    "import socket, struct, sys, time\n"
    "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', port))  # an open port: no ICMP errors back\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "s.bind(('eth0', 0))\n"
    "s.settimeout(0.5)\n"
    "# The UDP checksum is only said to be present: the kernel leaves it to the device\n"
    "# (CHECKSUM_PARTIAL, which veth never completes), the shim writes the full sum.\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "print('ready', flush=True)\n"
    "frames = []\n"
    "deadline = time.monotonic() + 5\n"
    "while time.monotonic() < deadline:\n"
    "    try: f = s.recv(70000)\n"
    "    except socket.timeout: continue\n"
    "    ip = f[14:]\n"
    "    if len(ip) < 20 or ip[9] != 17 or ip[12:16] != host: continue\n"
    "    frames.append(f)\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    if struct.unpack('!H', ip[6:8])[0] & 0x1fff == 0 and ip[ihl + 8:ihl + 11] == b'end': break\n"
    "first_id = {}\n"
    "last_connected_id = None\n"
    "for f in frames:\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    total, ident, frag = struct.unpack('!HHH', ip[2:8])\n"
    "    off, mf, df = (frag & 0x1fff) * 8, (frag >> 13) & 1, (frag >> 14) & 1\n"
    "    line = 'eth_dst=%s len=%d ttl=%d tos=0x%02x df=%d mf=%d off=%d ip_csum=%s' % (\n"
    "        f[0:6].hex(':'), total, ip[8], ip[1], df, mf, off, 'ok' if csum(ip[:ihl]) == 0 else 'BAD')\n"
    "    if off == 0:\n"
    "        sport, dport, ulen, ucsum = struct.unpack('!HHHH', ip[ihl:ihl + 8])\n"
    "        tag = ip[ihl + 8:ihl + 8 + 12].split(b':')[0].decode(errors='replace')\n"
    "        first_id[ident] = tag\n"
    "        line = 'tag=%s ' % tag + line + ' udp_len=%d dport=%d' % (ulen, dport)\n"
    "        if tag.startswith('connected'):\n"
    "            line += ' id=%s' % ('first' if last_connected_id is None else\n"
    "                                '+%d' % ((ident - last_connected_id) & 0xffff))\n"
    "            last_connected_id = ident\n"
    "        line += ' udp_csum=%s' % ('zero' if ucsum == 0 else 'present')\n"
    "    else:\n"
    "        line = '  fragment of %s: ' % first_id.get(ident, '?') + line\n"
    "    print(line)\n"
    "print('%d frames' % len(frames))\n";

int main(void)
{
    trace_start("peer_sees_headers");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 sniffer.py 198.18.0.2 5021", sniffer,
                      (const char *const[]){ HOST_ADDR, "5021", NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, "default:", 8, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TTL, 7);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0x28);
    tr_sendto4(fd, "ttl7-tos28:", 11, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TTL, -1);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    tr_sendto4(fd, "pmtu-dont:", 10, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT);
    tr_sendto4(fd, "", 0, 0, PEER_ADDR, PEER_PORT);
    static char big[4000];
    memcpy(big, "fragmented:", 11);
    tr_sendto4(fd, big, 3000, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, SOL_SOCKET, SO_BROADCAST, 1);
    tr_sendto4(fd, "broadcast:", 10, 0, "198.18.0.255", PEER_PORT);

    int connected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(connected, PEER_ADDR, PEER_PORT);
    tr_send(connected, "connected-1:", 12, 0);
    tr_send(connected, "connected-2:", 12, 0);
    memcpy(big, "connected-3:", 12);
    tr_send(connected, big, 3000, 0);
    tr_send(connected, "connected-4:", 12, 0);
    tr_sendto4(fd, "end:", 4, 0, PEER_ADDR, PEER_PORT);
    peer_finish(&job, 6000);
    tr_close(connected);
    tr_close(fd);
    return trace_end();
}
