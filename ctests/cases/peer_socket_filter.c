/* peer_socket_filter: classic BPF socket filters on datagrams from the peer. One socket's
 * filter drops some datagrams (by a payload byte, by the IP header's TTL through
 * SKF_NET_OFF, by length) and trims others (to a length the datagram names, never below the
 * UDP header); SO_RXQ_OVFL shows the drops. Probe sockets reveal, as kept lengths, what the
 * filter's ancillary and header loads read for a unicast and a broadcast datagram from the
 * wire, and for a fragmented one. The case prints what it receives. */
#include "trace.h"
#include "peer.h"
#include "queue_drain.h"
#include "socket_filter.h"

#include <linux/filter.h>

#define FILTER_PORT 5030
#define PROBE_PORT 5031

/* Runs in the peer. argv: host address, then items "port:ttl:kind:payload" where kind is
 * u (unicast to the host) or b (the subnet broadcast); payload "xN" is N bytes of 'x'. */
static const char sender[] =
    "import socket, sys, time\n"
    "host = sys.argv[1]\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "n = 0\n"
    "for item in sys.argv[2:]:\n"
    "    port, ttl, kind, payload = item.split(':', 3)\n"
    "    if payload[:1] == 'x' and payload[1:].isdigit():\n"
    "        data = b'x' * int(payload[1:])\n"
    "    else:\n"
    "        data = payload.encode()\n"
    "    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))\n"
    "    dst = host if kind == 'u' else '198.18.0.255'\n"
    "    s.sendto(data, (dst, int(port)))\n"
    "    n += 1\n"
    "    time.sleep(0.01)\n"
    "print('sent %d datagrams' % n)\n";

/* Runs in the peer: whole frames with a full UDP checksum (no offload), so the host verifies
 * them in software (CHECKSUM_NONE). argv: host address, host MAC, port. */
static const char crafter[] =
    "import socket, struct, sys, time\n"
    "host, host_mac, port = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return ~t & 0xffff\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "s.bind(('eth0', 0))\n"
    "me = s.getsockname()[4]\n"
    "for tag, size in (('forty', 40), ('hundred', 100), ('thousand', 1000)):\n"
    "    data = (tag.encode() + b'.' * size)[:size]\n"
    "    ulen = 8 + len(data)\n"
    "    pseudo = socket.inet_aton('198.18.0.1') + socket.inet_aton(host) + struct.pack('!BBH', 0, 17, ulen)\n"
    "    c = csum(pseudo + struct.pack('!HHHH', 40003, port, ulen, 0) + data) or 0xffff\n"
    "    payload = struct.pack('!HHHH', 40003, port, ulen, c) + data\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0x1234, 0, 64, 17, 0,\n"
    "                    socket.inet_aton('198.18.0.1'), socket.inet_aton(host))\n"
    "    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]\n"
    "    s.send(host_mac + me + b'\\x08\\x00' + h + payload)\n"
    "    print('sent', tag, len(data))\n"
    "    time.sleep(0.02)\n";

/* Everything queued on fd: length, the first bytes as text, SO_RXQ_OVFL's count. */
static void drain(int fd, const char *label)
{
    static char buf[8192];
    for (int i = 0; i < 16; i++) {
        char control[64];
        struct iovec iov = { buf, sizeof buf };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                              .msg_controllen = sizeof control };
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0)
            break;
        unsigned drops = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                memcpy(&drops, CMSG_DATA(c), sizeof drops);
        int shown = n < 12 ? (int)n : 12;
        printf("%s: %zd bytes \"%.*s\" drops=%u\n", label, n, shown, buf, drops);
    }
    printf("%s: done\n", label);
}

static void send_from_peer(const char *label, const char *const *items, int count)
{
    char *argv[24];
    int argc = 0;
    argv[argc++] = "python3";
    argv[argc++] = "-c";
    argv[argc++] = (char *)sender;
    argv[argc++] = HOST_ADDR;
    for (int i = 0; i < count && argc < 23; i++)
        argv[argc++] = (char *)items[i];
    argv[argc] = NULL;
    peer_run(PEER_NS, label, argv, 8000);
    usleep(200 * 1000);
}

static void drop_and_trim(void)
{
    note("drop by payload byte, by TTL and by length; trim to the length a datagram names");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, FILTER_PORT);
    tr_setint(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
    struct sock_filter prog[] = {
        /* 0: TTL < 20 (IP header byte 8): drop. */
        STMT(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 8),
        JUMP(BPF_JMP | BPF_JGE | BPF_K, 20, 1, 0),
        STMT(BPF_RET | BPF_K, 0),
        /* 3: payload starting 'D': drop. */
        STMT(BPF_LD | BPF_B | BPF_ABS, 8),
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'D', 0, 1),
        STMT(BPF_RET | BPF_K, 0),
        /* 6: 'T' then a digit d: keep the UDP header and d bytes. */
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'T', 0, 5),
        STMT(BPF_LD | BPF_B | BPF_ABS, 9),
        STMT(BPF_ALU | BPF_SUB | BPF_K, '0'),
        STMT(BPF_ALU | BPF_ADD | BPF_K, 8),
        STMT(BPF_RET | BPF_A, 0),
        STMT(BPF_RET | BPF_K, 0),
        /* 12: longer than 1000 bytes of payload: drop; else keep it whole. */
        STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        JUMP(BPF_JMP | BPF_JGT | BPF_K, 1008, 0, 1),
        STMT(BPF_RET | BPF_K, 0),
        STMT(BPF_RET | BPF_K, 0x40000),
    };
    /* Instruction 11 is unreachable padding that keeps jf of 6 in range. */
    attach_filter(fd, prog, sizeof prog / sizeof prog[0], "ttl, 'D', 'T<d>', length");
    const char *const items[] = {
        "5030:64:u:hello",     "5030:64:u:Dropped",  "5030:64:u:T3trimmed",
        "5030:64:u:T0empty",   "5030:10:u:lowttl",   "5030:64:u:x1000",
        "5030:64:u:x1001",     "5030:64:u:x3000",    "5030:64:u:T9",
        "5030:19:u:T5ttl",     "5030:20:u:T5ttl",    "5030:64:u:last",
    };
    send_from_peer("python3 sender.py (12 datagrams)", items, 12);
    drain(fd, "filtered");
    tr_close(fd);
}

struct probe {
    const char *name;
    unsigned short code;
    unsigned k;
};

static void probes(void)
{
    note("what ancillary and header loads read from the wire (kept payload = value & 0xfff)");
    static const struct probe list[] = {
        { "PROTOCOL", BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL },
        { "PKTTYPE", BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE },
        { "IFINDEX", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX },
        { "HATYPE", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE },
        { "MARK", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_MARK },
        { "RXHASH", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RXHASH },
        { "PAY_OFFSET", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PAY_OFFSET },
        { "LEN", BPF_LD | BPF_W | BPF_LEN, 0 },
        { "[SKF_LL_OFF+0] (destination MAC)", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF },
        { "[SKF_LL_OFF+5]", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF + 5 },
        { "[SKF_LL_OFF+11] (source MAC)", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF + 11 },
        { "[SKF_LL_OFF+6] (source MAC)", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF + 6 },
        { "[SKF_LL_OFF+12] (ethertype)", BPF_LD | BPF_H | BPF_ABS, SKF_LL_OFF + 12 },
        { "[SKF_NET_OFF+19] (destination)", BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 19 },
        { "[SKF_NET_OFF+6] (flags)", BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 6 },
        { "[SKF_NET_OFF+2] (total length)", BPF_LD | BPF_H | BPF_ABS, SKF_NET_OFF + 2 },
    };
    enum { COUNT = sizeof list / sizeof list[0] };
    int fds[COUNT];
    for (int i = 0; i < COUNT; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fds[i], "0.0.0.0", PROBE_PORT + i);
        struct sock_filter probe[] = {
            STMT(list[i].code, list[i].k),
            STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
            STMT(BPF_ALU | BPF_ADD | BPF_K, 8),
            STMT(BPF_RET | BPF_A, 0),
        };
        attach_filter(fds[i], probe, 4, list[i].name);
    }
    /* To each probe: a unicast datagram, a broadcast one, a fragmented one. */
    static char item_text[COUNT * 3][32];
    const char *items[COUNT * 3];
    for (int i = 0; i < COUNT; i++) {
        snprintf(item_text[3 * i], 32, "%d:64:u:x4000", PROBE_PORT + i);
        snprintf(item_text[3 * i + 1], 32, "%d:64:b:x1400", PROBE_PORT + i);
        snprintf(item_text[3 * i + 2], 32, "%d:64:u:x1200", PROBE_PORT + i);
    }
    /* The peer's argv holds at most 19 items per run: one run per datagram kind. */
    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < COUNT; i++)
            items[i] = item_text[3 * i + kind];
        send_from_peer(kind == 0   ? "python3 sender.py (4000 bytes, fragmented, to each probe)"
                       : kind == 1 ? "python3 sender.py (1400 bytes, broadcast, to each probe)"
                                   : "python3 sender.py (1200 bytes, unicast, to each probe)",
                       items, COUNT);
        for (int i = 0; i < COUNT; i++)
            drain(fds[i], list[i].name);
        trace_watchdog();
    }
    for (int i = 0; i < COUNT; i++)
        tr_close(fds[i]);
}

/* IP_CHECKSUM of datagrams a filter trims: the sum udp_lib_checksum_complete took before
 * the trim, over the whole payload. */
static void checksum_of_trimmed(void)
{
    note("IP_CHECKSUM of software-checksummed datagrams a filter trims to 10 bytes");
    trace_fixed_port(40003);
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, FILTER_PORT + 100);
    tr_setint(fd, IPPROTO_IP, IP_CHECKSUM, 1);
    struct sock_filter trim[] = { STMT(BPF_RET | BPF_K, 8 + 10) };
    attach_filter(fd, trim, 1, "ret #18");
    peer_run(PEER_NS, "python3 crafter.py 198.18.0.2 02:00:00:00:00:02 5130",
             (char *const[]){ "python3", "-c", (char *)crafter, HOST_ADDR, "02:00:00:00:00:02",
                              "5130", NULL },
             6000);
    usleep(100 * 1000);
    drain_traced(fd, 4, 2048, 256, 0);
    tr_close(fd);
}

int main(void)
{
    trace_start("peer_socket_filter");
    drop_and_trim();
    probes();
    checksum_of_trimmed();
    return trace_end();
}
