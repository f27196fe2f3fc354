/* frag_output: the fragments the host sends, as the peer captures them (AF_PACKET on its eth0):
 * sizes and offsets at the MTU boundaries (1472/1473 bytes of UDP data, 2952/2953, 65507),
 * MF and DF on each fragment, one IP ID shared by all fragments of a datagram, the IDs of a
 * connected socket (its own counter, +1 per datagram whatever the IP_MTU_DISCOVER mode:
 * ip_select_ident_segs) and of an unconnected IP_PMTUDISC_DO socket (0), UDP-Lite, and a
 * corked (MSG_MORE) datagram fragmented when it is pushed. IDs print as 0, "nonzero", or for
 * the connected socket "+N" from its previous datagram (the others come from a hashed
 * generator that skips ahead by a random amount with time: __ip_select_ident). */
#include "trace.h"
#include "peer.h"
#include "peer_capture.h"

#define PEER_PORT 5081

static const char sniffer[] = PEER_CAPTURE_PY
    "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', port))\n"
    "lite = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)\n"
    "lite.bind(('0.0.0.0', port))\n"
    "frames = [f[14:] for f in host_frames(host, 8, (17, 136))]\n"
    "tags, last_id = {}, {}\n"
    "for ip in frames:\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    tot, ident, frag = struct.unpack('!HHH', ip[2:8])\n"
    "    off, mf, df = (frag & 0x1fff) * 8, frag >> 13 & 1, frag >> 14 & 1\n"
    "    line = 'proto=%d len=%d df=%d mf=%d off=%d' % (ip[9], tot, df, mf, off)\n"
    "    if off == 0:\n"
    "        tag = ip[ihl + 8:ihl + 24].split(b':')[0].decode(errors='replace')\n"
    "        tags[ident] = tag\n"
    "        sock = tag.split('-')[0]\n"
    "        if ident == 0: idtext = 'id=0'\n"
    "        elif sock == 'c' and sock in last_id: idtext = 'id=+%d' % ((ident - last_id[sock]) & 0xffff)\n"
    "        else: idtext = 'id=nonzero'\n"
    "        last_id[sock] = ident\n"
    "        print('tag=%s %s %s' % (tag, line, idtext))\n"
    "    else:\n"
    "        print('  fragment of %s: %s' % (tags.get(ident, 'another id'), line))\n"
    "print('%d frames' % len(frames))\n";

static char buf[65536];

static void send_tagged(int fd, const char *tag, size_t size, int flags)
{
    struct sockaddr_in to = sin4(PEER_ADDR, PEER_PORT);
    tr_sendto(fd, tagged_payload(tag, size), size, flags, SA(&to), sizeof to);
}

int main(void)
{
    trace_start("frag_output");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 sniffer.py 198.18.0.2 5081", sniffer,
                      (const char *const[]){ HOST_ADDR, "5081", NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    int u = tr_socket(AF_INET, SOCK_DGRAM, 0);
    note("unconnected, IP_PMTUDISC_WANT (the default)");
    send_tagged(u, "u-1472", 1472, 0);
    send_tagged(u, "u-1473", 1473, 0);
    send_tagged(u, "u-2952", 2952, 0);
    send_tagged(u, "u-2953", 2953, 0);
    send_tagged(u, "u-65507", 65507, 0);
    note("unconnected, IP_PMTUDISC_DO: id 0");
    tr_setint(u, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    send_tagged(u, "u-do", 100, 0);
    send_tagged(u, "u-do-1473", 1473, 0);
    tr_setint(u, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    send_tagged(u, "u-dont", 100, 0);

    note("connected: the socket's own counter in every mode");
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(c, PEER_ADDR, PEER_PORT);
    send_tagged(c, "c-want", 100, 0);
    send_tagged(c, "c-want-3000", 3000, 0);
    tr_setint(c, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    send_tagged(c, "c-dont", 100, 0);
    tr_setint(c, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    send_tagged(c, "c-do", 100, 0);
    tr_setint(c, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT);
    send_tagged(c, "c-omit", 100, 0);
    note("sendto another address from a connected socket still uses its counter");
    send_tagged(c, "c-sendto", 100, 0);

    note("corked with MSG_MORE, pushed past the MTU");
    send_tagged(u, "k-cork", 1000, MSG_MORE);
    memset(buf, '.', 1000);
    tr_send(u, buf, 1000, 0);

    note("UDP-Lite");
    int l = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_bind4(l, "0.0.0.0", 5082); /* a fixed port: the capture comparison sees its checksum */
    send_tagged(l, "l-3000", 3000, 0);

    send_tagged(u, "end", 10, 0);
    peer_finish(&job, 9000);
    tr_close(l);
    tr_close(c);
    tr_close(u);
    return trace_end();
}
