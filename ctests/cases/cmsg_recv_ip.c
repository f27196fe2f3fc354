/* cmsg_recv_ip: the SOL_IP control messages recvmsg adds on a UDP socket (ip_cmsg_recv_offset),
 * one flag at a time and all together (their order): IP_PKTINFO (ifindex, spec_dst, header
 * destination), IP_TTL, IP_TOS, IP_RECVOPTS, IP_RETOPTS, IP_ORIGDSTADDR, IP_CHECKSUM,
 * IP_RECVFRAGSIZE. Datagrams come through loopback (127.0.0.1, our own address, the subnet
 * broadcast, with IP_TOS/IP_TTL set by the sender) and from the peer (unicast, TOS/TTL,
 * IP options: record route, timestamp, router alert, NOPs; broadcasts; a fragmented datagram),
 * and from the remote (fragmented on its 1400-byte link). */
#include "trace.h"
#include "peer.h"
#include "queue_drain.h"

#define RX_PORT 5021

/* Runs in the peer: one datagram per line of what it prints; IP options set on the socket
 * (IP_OPTIONS) go into every datagram it sends. */
static const char sender[] =
    "import socket, sys, time\n"
    "port = int(sys.argv[1])\n"
    "def send(tag, addr='198.18.0.2', size=0, tos=None, ttl=None, options=None):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    s.bind(('198.18.0.1', 0))\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "    if tos is not None: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)\n"
    "    if ttl is not None: s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)\n"
    "    if options is not None: s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, options)\n"
    "    data = tag.encode()\n"
    "    if size: data = data + b'.' * (size - len(data))\n"
    "    print('sent %s: %d' % (tag, s.sendto(data, (addr, port))))\n"
    "    s.close()\n"
    "    time.sleep(0.02)\n"
    "rr = bytes([7, 11, 4]) + bytes(8) + bytes([0])\n"
    "ts = bytes([68, 12, 5, 0]) + bytes(8)\n"
    "tsaddr = bytes([68, 20, 5, 1]) + bytes(16)\n"
    "ra = bytes([148, 4, 0, 0])\n"
    "prespec = bytes([68, 20, 5, 3, 198, 18, 0, 1, 0, 0, 0, 0, 198, 18, 0, 2, 0, 0, 0, 0])\n"
    "mode = sys.argv[2]\n"
    "if mode == 'plain':\n"
    "    send('unicast')\n"
    "    send('tos-ttl', tos=0x28, ttl=9)\n"
    "    send('tos-ecn', tos=0x03)\n"
    "elif mode == 'options':\n"
    "    send('rr', options=rr)\n"
    "    send('ra-nop', options=bytes([1]) + ra + bytes([1, 1, 0]))\n"
    "    send('rr-full', options=bytes([7, 7, 8, 198, 18, 0, 1, 0]))\n"
    "    send('nop-only', options=bytes([1, 1, 1, 1]))\n"
    "    send('rr-ra', options=rr[:11] + ra + bytes([0]))\n"
    "elif mode == 'timestamps':\n"
    "    send('ts', options=ts)\n"
    "    send('tsaddr', options=tsaddr)\n"
    "    send('ts-full', options=bytes([68, 8, 9, 0, 1, 2, 3, 4]))\n"
    "    send('tsprespec', options=prespec)\n"
    "elif mode == 'broadcast':\n"
    "    send('subnet-bcast', addr='198.18.0.255')\n"
    "    send('limited-bcast', addr='255.255.255.255')\n"
    "elif mode == 'fragments':\n"
    "    send('big', size=3000)\n"
    "    send('small', size=20)\n";

static const char remote_sender[] =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "print('sent remote-big: %d' % s.sendto(b'r' * 3000, ('198.18.0.2', int(sys.argv[1]))))\n";

static int rx;

static void receive_all(const char *what)
{
    note("%s", what);
    drain_traced(rx, 8, 4096, 512, 1);
}

/* Option lists print decoded; the times a timestamp option carries differ per run, so each
 * time slot prints as T (set) or 0 (empty). */
static void print_options(const unsigned char *o, size_t len)
{
    for (size_t at = 0; at < len;) {
        if (o[at] == 0 || o[at] == 1) {
            printf(" %s", o[at] ? "nop" : "end");
            at++;
            continue;
        }
        size_t olen = at + 1 < len ? o[at + 1] : 0;
        if (olen < 2 || at + olen > len) {
            printf(" bad@%zu", at);
            return;
        }
        if (o[at] == 68 && olen >= 4) {
            int flag = o[at + 3] & 0x0f;
            printf(" ts(len=%zu ptr=%u oflw=%u flag=%d", olen, o[at + 2], o[at + 3] >> 4, flag);
            for (size_t i = at + 4; i + 4 <= at + olen; i += 4) {
                int is_addr = flag != 0 && ((i - at - 4) / 4) % 2 == 0;
                const unsigned char *b = o + i;
                if (is_addr)
                    printf(" %u.%u.%u.%u", b[0], b[1], b[2], b[3]);
                else
                    printf(" %s", (b[0] | b[1] | b[2] | b[3]) ? "T" : "0");
            }
            printf(")");
        } else {
            printf(" opt%u(", o[at]);
            for (size_t i = at + 1; i < at + olen; i++)
                printf("%02x", o[i]);
            printf(")");
        }
        at += olen;
    }
}

static void receive_options_only(const char *what)
{
    note("%s", what);
    for (int k = 0; k < 8; k++) {
        union {
            struct cmsghdr align;
            unsigned char bytes[512];
        } control;
        unsigned char data[256];
        struct iovec iov = { data, sizeof data };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                            .msg_controllen = sizeof control };
        ssize_t n = recvmsg(rx, &m, MSG_DONTWAIT);
        if (n < 0) {
            printf("recvmsg = -1 %s\n", trace_errno_name(errno));
            break;
        }
        printf("recvmsg = %zd \"%.*s\" flags=%#x controllen=%zu", n, (int)n, (char *)data,
               (unsigned)m.msg_flags, (size_t)m.msg_controllen);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            printf(" [level=%d type=%d len=%zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
            print_options(CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0));
            printf("]");
        }
        printf("\n");
    }
}

static const int flags[] = { IP_PKTINFO,        IP_RECVTTL,  IP_RECVTOS,     IP_RECVOPTS,
                             IP_RETOPTS,        IP_RECVORIGDSTADDR, IP_CHECKSUM,
                             IP_RECVFRAGSIZE };
#define FLAGS (sizeof flags / sizeof flags[0])

static void set_all(int value)
{
    for (size_t i = 0; i < FLAGS; i++)
        tr_setint(rx, IPPROTO_IP, flags[i], value);
}

static void loopback_round(int tx, int tx_bcast)
{
    struct sockaddr_in lo = sin4("127.0.0.1", RX_PORT), own = sin4(HOST_ADDR, RX_PORT);
    tr_sendto(tx, "via-lo", 6, 0, SA(&lo), sizeof lo);
    tr_sendto(tx, "via-own", 7, 0, SA(&own), sizeof own);
    quiet_wait_readable(rx, 2000);
    usleep(50 * 1000);
    (void)tx_bcast;
}

static void peer_round(const char *mode)
{
    char label[64];
    snprintf(label, sizeof label, "python3 sender.py %d %s", RX_PORT, mode);
    peer_run(PEER_NS, label, (char *const[]){ "python3", "-c", (char *)sender, "5021", (char *)mode,
                                              NULL },
             5000);
    quiet_wait_readable(rx, 2000);
    usleep(200 * 1000);
}

int main(void)
{
    trace_start("cmsg_recv_ip");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(rx, SOL_SOCKET, SO_BROADCAST, 1);
    tr_bind4(rx, "0.0.0.0", RX_PORT);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("one flag at a time, datagrams through loopback");
    for (size_t i = 0; i < FLAGS; i++) {
        tr_setint(rx, IPPROTO_IP, flags[i], 1);
        loopback_round(tx, -1);
        receive_all("received");
        tr_setint(rx, IPPROTO_IP, flags[i], 0);
    }

    note("every flag: loopback with the sender's TOS and TTL, and a broadcast");
    set_all(1);
    loopback_round(tx, -1);
    receive_all("plain");
    tr_setint(tx, IPPROTO_IP, IP_TOS, 0x48);
    tr_setint(tx, IPPROTO_IP, IP_TTL, 3);
    loopback_round(tx, -1);
    receive_all("TOS 0x48 TTL 3");
    tr_setint(tx, SOL_SOCKET, SO_BROADCAST, 1);
    struct sockaddr_in bcast = sin4("198.18.0.255", RX_PORT);
    tr_sendto(tx, "bcast", 5, 0, SA(&bcast), sizeof bcast);
    struct sockaddr_in limited = sin4("255.255.255.255", RX_PORT);
    tr_sendto(tx, "limited", 7, 0, SA(&limited), sizeof limited);
    quiet_wait_readable(rx, 2000);
    usleep(50 * 1000);
    receive_all("broadcasts sent by ourselves");

    note("every flag: from the peer");
    peer_round("plain");
    receive_all("unicast, TOS and TTL");
    peer_round("options");
    receive_all("IP options");
    peer_round("broadcast");
    receive_all("broadcasts");
    peer_round("fragments");
    receive_all("fragmented and small");

    note("every flag: a fragmented datagram from the remote (1400-byte link)");
    peer_run(REMOTE_NS, "python3 remote_sender.py",
             (char *const[]){ "python3", "-c", (char *)remote_sender, "5021", NULL }, 5000);
    quiet_wait_readable(rx, 2000);
    usleep(100 * 1000);
    receive_all("from the remote");

    note("options only: IP_RECVOPTS and IP_RETOPTS without the others");
    set_all(0);
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 1);
    tr_setint(rx, IPPROTO_IP, IP_RETOPTS, 1);
    peer_round("options");
    receive_options_only("IP options");
    peer_round("timestamps");
    receive_options_only("timestamp options");
    note("IP_RETOPTS alone, then IP_RECVOPTS alone");
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 0);
    peer_round("timestamps");
    receive_options_only("timestamp options");
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 1);
    tr_setint(rx, IPPROTO_IP, IP_RETOPTS, 0);
    peer_round("options");
    receive_options_only("IP options");

    note("IP_PKTINFO turned on after the datagram was queued");
    set_all(0);
    loopback_round(tx, -1);
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
    receive_all("queued before");

    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
