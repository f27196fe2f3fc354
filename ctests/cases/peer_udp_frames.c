/* peer_udp_frames: UDP datagrams the peer crafts as whole Ethernet frames (AF_PACKET on its
 * eth0) to a socket the case binds to 0.0.0.0 with IP_PKTINFO, IP_RECVTTL and IP_RECVTOS.
 * Which are delivered, with what length and ancillary data: frames to another host's MAC
 * (PACKET_OTHERHOST, dropped by ip_rcv) or to the Ethernet broadcast or a multicast MAC
 * (accepted); a UDP length longer than the packet, shorter than it (trimmed:
 * __udp4_lib_rcv), below 8; TTL 0; a TOS; IP options; source port 0; destinations that are
 * not ours (127.0.0.1, another address of the subnet: no forwarding). Every payload is a
 * short tag, printed as the datagram's data. */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5015

/* Runs in the peer. argv: host address, host MAC, port. */
static const char udp_crafter[] =
    "import socket, struct, sys, time\n"
    "host, host_mac, port = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "s.bind(('eth0', 0))\n"
    "me = s.getsockname()[4]\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "def udp(data, src, dst, sport=40001, ulen=None, covered=None):\n"
    "    ulen = 8 + len(data) if ulen is None else ulen\n"
    "    covered = data if covered is None else covered\n"
    "    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, ulen)\n"
    "    c = csum(pseudo + struct.pack('!HHHH', sport, port, ulen, 0) + covered) or 0xffff\n"
    "    return struct.pack('!HHHH', sport, port, ulen, c) + data\n"
    "def send(tag, dst=None, dst_mac=None, tos=0, ttl=64, options=b'', **kw):\n"
    "    dst = dst or host\n"
    "    payload = udp(tag.encode(), '198.18.0.1', dst, **kw)\n"
    "    ihl = 5 + len(options) // 4\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, tos, ihl * 4 + len(payload), 0x4321, 0, ttl, 17, 0,\n"
    "                    socket.inet_aton('198.18.0.1'), socket.inet_aton(dst)) + options\n"
    "    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]\n"
    "    s.send((dst_mac or host_mac) + me + b'\\x08\\x00' + h + payload)\n"
    "    print('sent', tag)\n"
    "    time.sleep(0.02)  # keep the order of arrival the order of sending\n"
    "send('plain')\n"
    "send('other-mac', dst_mac=bytes.fromhex('020000000099'))\n"
    "send('bcast-mac', dst_mac=b'\\xff' * 6)\n"
    "send('mcast-mac', dst_mac=bytes.fromhex('01005e000001'))\n"
    "send('ulen-long', ulen=8 + 9 + 4)\n"
    "send('ulen-short-xxxx', ulen=8 + 10, covered=b'ulen-short')\n"
    "send('ulen-7', ulen=7, covered=b'')\n"
    "send('ttl0', ttl=0)\n"
    "send('tos-b8', tos=0xb8)\n"
    "send('ip-options', options=b'\\x01\\x01\\x01\\x00')\n"
    "send('record-route', options=b'\\x07\\x07\\x04' + bytes(4) + b'\\x00')\n"
    "send('sport0', sport=0)\n"
    "send('to-127.0.0.1', dst='127.0.0.1')\n"
    "send('to-198.18.0.50', dst='198.18.0.50')\n"
    "send('last')\n";

int main(void)
{
    trace_start("peer_udp_frames");
    trace_fixed_port(40001); /* the crafted datagrams' source port */
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTOS, 1);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);

    peer_run(PEER_NS, "python3 udp_crafter.py 198.18.0.2 02:00:00:00:00:02 5015",
             (char *const[]){ "python3", "-c", (char *)udp_crafter, HOST_ADDR,
                              "02:00:00:00:00:02", "5015", NULL },
             6000);

    note("what arrived, in order");
    for (int i = 0; i < 16; i++) {
        if (quiet_wait_readable(fd, 2000) <= 0)
            break;
        char data[64], control[256];
        struct sockaddr_in from;
        struct iovec iov = { data, sizeof data };
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof control };
        ssize_t n = tr_recvmsg(fd, &m, MSG_DONTWAIT);
        if (n < 0 || (n == 4 && memcmp(data, "last", 4) == 0))
            break;
    }
    tr_recv(fd, (char[16]){ 0 }, 16, MSG_DONTWAIT);
    tr_close(fd);
    return trace_end();
}
