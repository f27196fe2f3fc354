/* raw_hdrincl: IP_HDRINCL sends as the peer captures them (AF_PACKET on its eth0). The kernel
 * keeps the caller's header but owns tot_len and the header checksum, fills saddr when 0 and
 * the id when 0 (left 0 when DF is set: ip_select_ident without a socket); the packet goes
 * where sendto's address routes, whatever daddr the header names. Refusals: shorter than a
 * header (EINVAL), longer than the device MTU (EMSGSIZE, queued as a local error with
 * IP_RECVERR), IP_OPTIONS with IP_HDRINCL (EINVAL). IP_HDRINCL turned on on an ICMP socket
 * sends a whole echo request, whose reply comes back on the same socket. */
#include "raw_lib.h"
#include "peer.h"
#include "peer_capture.h"

/* Protocol 253 (RFC 3692 experimentation): the peer has no handler for it. */
#define TEST_PROTOCOL 253

static const char sniffer[] = PEER_CAPTURE_PY
    "host = socket.inet_aton(sys.argv[1])\n"
    "for f in host_frames(host, 6, (1, 253)):\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    total, ident, frag = struct.unpack('!HHH', ip[2:8])\n"
    "    tag = ip[ihl + 8:ihl + 20].split(b':')[0].decode(errors='replace')\n"
    "    ident_text = ('%#x' % ident) if tag.startswith('fixed') else ('nonzero' if ident else '0')\n"
    "    print('proto=%d len=%d (frame %d) id=%s frag=%#06x ttl=%d tos=%#04x csum=%s src=%s dst=%s tag=%s' % (\n"
    "        ip[9], total, len(f) - 14, ident_text, frag, ip[8], ip[1],\n"
    "        'ok' if csum(ip[:ihl]) == 0 else 'BAD', socket.inet_ntoa(ip[12:16]),\n"
    "        socket.inet_ntoa(ip[16:20]), tag))\n";

/* An IPv4 header (IHL 5) for PROTOCOL with the given fields, then 8 bytes of zeros and TAG
 * (the capture reads the tag after 8 bytes, where a transport header would end). */
static size_t build(uint8_t *p, uint8_t protocol, uint16_t tot_len, uint16_t id, uint16_t frag,
                    uint8_t ttl, const char *src, const char *dst, const char *tag)
{
    memset(p, 0, 28);
    p[0] = 0x45;
    p[2] = (uint8_t)(tot_len >> 8);
    p[3] = (uint8_t)tot_len;
    p[4] = (uint8_t)(id >> 8);
    p[5] = (uint8_t)id;
    p[6] = (uint8_t)(frag >> 8);
    p[7] = (uint8_t)frag;
    p[8] = ttl;
    p[9] = protocol;
    p[10] = 0x12; /* a wrong checksum: the kernel recomputes it */
    p[11] = 0x34;
    inet_pton(AF_INET, src, p + 12);
    inet_pton(AF_INET, dst, p + 16);
    size_t n = strlen(tag);
    memcpy(p + 28, tag, n);
    return 28 + n;
}

int main(void)
{
    trace_start("raw_hdrincl");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 capture.py 198.18.0.2", sniffer,
                      (const char *const[]){ HOST_ADDR, NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    static uint8_t pkt[4000];
    struct sockaddr_in peer = sin4(PEER_ADDR, 0);
    int fd = tr_socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    note("kernel fixups: saddr 0, id 0, wrong tot_len and checksum");
    size_t n = build(pkt, TEST_PROTOCOL, 9999, 0, 0, 33, "0.0.0.0", PEER_ADDR, "zeros:");
    tr_sendto(fd, pkt, n, 0, SA(&peer), sizeof peer);
    note("id 0 with DF stays 0; a given id and source are kept");
    n = build(pkt, TEST_PROTOCOL, 0, 0, 0x4000, 34, "0.0.0.0", PEER_ADDR, "df:");
    tr_sendto(fd, pkt, n, 0, SA(&peer), sizeof peer);
    n = build(pkt, TEST_PROTOCOL, 0, 0x1234, 0, 35, HOST_ADDR, PEER_ADDR, "fixed-id:");
    tr_sendto(fd, pkt, n, 0, SA(&peer), sizeof peer);
    note("routed by sendto's address, not the header's daddr");
    n = build(pkt, TEST_PROTOCOL, 0, 0, 0, 36, "0.0.0.0", "198.18.0.77", "other-dst:");
    tr_sendto(fd, pkt, n, 0, SA(&peer), sizeof peer);
    note("refusals");
    tr_sendto(fd, pkt, 19, 0, SA(&peer), sizeof peer);
    n = build(pkt, TEST_PROTOCOL, 0, 0, 0, 37, "0.0.0.0", PEER_ADDR, "too-big:");
    tr_sendto(fd, pkt, 1501, 0, SA(&peer), sizeof peer);
    tr_sendto(fd, pkt, 1500, 0, SA(&peer), sizeof peer);
    note("an unreadable buffer: the length checks first, then the copy");
    tr_sendto(fd, BADPTR, 1501, 0, SA(&peer), sizeof peer);
    tr_sendto(fd, BADPTR, 19, 0, SA(&peer), sizeof peer);
    tr_sendto(fd, BADPTR, 40, 0, SA(&peer), sizeof peer);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_sendto(fd, pkt, 1501, 0, SA(&peer), sizeof peer);
    uint8_t in[2048];
    raw_receive(fd, in, sizeof in, MSG_ERRQUEUE, "local error");
    raw_receive(fd, in, sizeof in, MSG_ERRQUEUE, "local error again");
    uint8_t nop_options[4] = { 1, 1, 1, 0 };
    tr_setsockopt(fd, IPPROTO_IP, IP_OPTIONS, nop_options, sizeof nop_options);
    n = build(pkt, TEST_PROTOCOL, 0, 0, 0, 38, "0.0.0.0", PEER_ADDR, "options:");
    tr_sendto(fd, pkt, n, 0, SA(&peer), sizeof peer);
    tr_close(fd);

    note("IP_HDRINCL on an ICMP socket: a whole echo request, the reply on the same socket");
    int icmp = tr_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    tr_setint(icmp, IPPROTO_IP, IP_HDRINCL, 1);
    memset(pkt, 0, 20);
    pkt[0] = 0x45;
    pkt[8] = 40;
    pkt[9] = IPPROTO_ICMP;
    inet_pton(AF_INET, PEER_ADDR, pkt + 16);
    n = 20 + raw_echo_request(pkt + 20, 8, 0, 0x5151, 9, "whole-echo:");
    tr_sendto(icmp, pkt, n, 0, SA(&peer), sizeof peer);
    ssize_t got = raw_receive(icmp, in, sizeof in, 0, "echo reply");
    if (got > 0)
        raw_print_ip(in, (size_t)got, -1);

    note("the capture ends with the end tag");
    n = build(pkt, TEST_PROTOCOL, 0, 0, 0, 64, "0.0.0.0", PEER_ADDR, "end:");
    int last = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    sendto(last, pkt, n, 0, SA(&peer), sizeof peer);
    peer_finish(&job, 7000);
    close(last);
    tr_close(icmp);
    return trace_end();
}
