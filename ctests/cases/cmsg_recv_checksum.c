/* cmsg_recv_checksum: when IP_CHECKSUM's control message appears (ip_cmsg_recv_checksum: only
 * for CHECKSUM_COMPLETE datagrams, which udp_unicast_rcv_skb makes of datagrams whose checksum
 * software verified while the socket had IP_CHECKSUM on) and what it holds (the 32-bit sum of
 * the payload). The peer crafts whole frames (AF_PACKET, checksums computed in full: no
 * offload) of several sizes, without a checksum, and to the broadcast address; the peer's own
 * UDP socket sends with checksum offload, small and fragmented; loopback never has one. */
#include "trace.h"
#include "peer.h"
#include "queue_drain.h"

#define CASE_PORT 5081

/* Runs in the peer. argv: host address, host MAC, port, mode. */
static const char crafter[] =
    "import socket, struct, sys, time\n"
    "host, host_mac, port, mode = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3]), sys.argv[4]\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "if mode == 'frames':\n"
    "    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "    s.bind(('eth0', 0))\n"
    "    me = s.getsockname()[4]\n"
    "    def send(tag, size, dst=None, mac=None, nocsum=False):\n"
    "        dst = dst or host\n"
    "        data = (tag.encode() + b'.' * size)[:max(size, len(tag))]\n"
    "        ulen = 8 + len(data)\n"
    "        pseudo = socket.inet_aton('198.18.0.1') + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, ulen)\n"
    "        c = 0 if nocsum else (csum(pseudo + struct.pack('!HHHH', 40002, port, ulen, 0) + data) or 0xffff)\n"
    "        payload = struct.pack('!HHHH', 40002, port, ulen, c) + data\n"
    "        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0x1234, 0, 64, 17, 0,\n"
    "                        socket.inet_aton('198.18.0.1'), socket.inet_aton(dst))\n"
    "        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]\n"
    "        s.send((mac or host_mac) + me + b'\\x08\\x00' + h + payload)\n"
    "        print('sent', tag, len(data))\n"
    "        time.sleep(0.02)\n"
    "    send('tiny', 4)\n"
    "    send('forty', 40)\n"
    "    send('sixty-eight', 68)\n"
    "    send('sixty-nine', 69)\n"
    "    send('hundred', 100)\n"
    "    send('thousand', 1000)\n"
    "    send('no-checksum', 20, nocsum=True)\n"
    "    send('bcast', 20, dst='198.18.0.255', mac=b'\\xff' * 6)\n"
    "elif mode == 'lazy':\n"
    "    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "    s.bind(('eth0', 0))\n"
    "    me = s.getsockname()[4]\n"
    "    for tag in ('plain-read', 'peeked', 'fionread', 'truncated', 'polled'):\n"
    "        data = (tag.encode() + b'.' * 100)[:100]\n"
    "        ulen = 8 + len(data)\n"
    "        pseudo = socket.inet_aton('198.18.0.1') + socket.inet_aton(host) + struct.pack('!BBH', 0, 17, ulen)\n"
    "        c = csum(pseudo + struct.pack('!HHHH', 40002, port, ulen, 0) + data) or 0xffff\n"
    "        payload = struct.pack('!HHHH', 40002, port, ulen, c) + data\n"
    "        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0x1234, 0, 64, 17, 0,\n"
    "                        socket.inet_aton('198.18.0.1'), socket.inet_aton(host))\n"
    "        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]\n"
    "        s.send(host_mac + me + b'\\x08\\x00' + h + payload)\n"
    "        print('sent', tag)\n"
    "        time.sleep(0.02)\n"
    "else:\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    for tag, size in (('small', 20), ('big', 3000)):\n"
    "        data = (tag.encode() + b'.' * size)[:size]\n"
    "        print('sent %s: %d' % (tag, s.sendto(data, (host, port))))\n"
    "        time.sleep(0.02)\n";

static int fd;

static void receive_all(void)
{
    usleep(100 * 1000);
    drain_traced(fd, 16, 4096, 256, 0);
}

static void peer_send(const char *mode)
{
    char label[96];
    snprintf(label, sizeof label, "python3 crafter.py 198.18.0.2 02:00:00:00:00:02 5081 %s", mode);
    peer_run(PEER_NS, label,
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, "02:00:00:00:00:02",
                              "5081", (char *)mode, NULL },
             6000);
}

int main(void)
{
    trace_start("cmsg_recv_checksum");
    trace_fixed_port(40002);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_BROADCAST, 1);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);

    note("IP_CHECKSUM on: crafted frames");
    tr_setint(fd, IPPROTO_IP, IP_CHECKSUM, 1);
    peer_send("frames");
    receive_all();
    note("IP_CHECKSUM on: the peer's own UDP socket (checksum offload), small and fragmented");
    peer_send("socket");
    receive_all();

    note("IP_CHECKSUM turned on after the datagrams arrived");
    tr_setint(fd, IPPROTO_IP, IP_CHECKSUM, 0);
    peer_send("frames");
    usleep(100 * 1000);
    tr_setint(fd, IPPROTO_IP, IP_CHECKSUM, 1);
    receive_all();

    note("lazy verification of 100-byte datagrams: plain read, MSG_PEEK, FIONREAD, short buffer, poll");
    peer_send("lazy");
    usleep(100 * 1000);
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } control;
    unsigned char data[256];
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                        .msg_controllen = sizeof control };
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_DONTWAIT | MSG_PEEK);
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    int avail = 0;
    tr_ioctl_int(fd, FIONREAD, &avail);
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    iov.iov_len = 50;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    iov.iov_len = sizeof data;
    quiet_wait_readable(fd, 1000);
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_DONTWAIT);

    note("through loopback");
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in own = sin4(HOST_ADDR, CASE_PORT), lo = sin4("127.0.0.1", CASE_PORT);
    tr_sendto(tx, "own", 3, 0, SA(&own), sizeof own);
    tr_sendto(tx, "lo", 2, 0, SA(&lo), sizeof lo);
    receive_all();
    tr_close(tx);
    tr_close(fd);
    return trace_end();
}
