/* udplite_coverage: UDP-Lite partial checksum coverage on the wire. The host sends with
 * UDPLITE_SEND_CSCOV 0 (full), 8, 12, 20 and larger than the datagram; a raw socket on the
 * peer prints each datagram's length field (the coverage) and whether the checksum over
 * that many bytes verifies. Then the peer sends datagrams with coverage 8, 12, 20 and full
 * to host sockets whose UDPLITE_RECV_CSCOV minimum is unset, 12 and 20: which ones arrive. */
#include "trace.h"
#include "peer.h"

#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif

static const char *sniffer =
    "import socket, struct, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 136)\n"
    "s.settimeout(3)\n"
    "print('ready', flush=True)\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return t\n"
    "for i in range(5):\n"
    "    try: p = s.recv(2000)\n"
    "    except socket.timeout: print('timeout'); break\n"
    "    ihl = (p[0] & 15) * 4\n"
    "    u = p[ihl:]\n"
    "    cov = struct.unpack('!H', u[4:6])[0]\n"
    "    n = len(u) if cov == 0 else cov\n"
    "    pseudo = p[12:20] + struct.pack('!BBH', 0, 136, len(u))\n"
    "    ok = csum(pseudo + u[:n]) == 0xffff\n"
    "    print('len', len(u), 'coverage field', cov, 'checksum', 'valid' if ok else 'BAD', flush=True)\n";

static const char *sender =
    "import socket, sys, time\n"
    "host = sys.argv[1]\n"
    "for cov in (8, 12, 20, 0):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)\n"
    "    s.bind(('0.0.0.0', 6100 + cov))\n"
    "    if cov: s.setsockopt(136, 10, cov)\n"
    "    for port in (5301, 5302, 5303):\n"
    "        s.sendto(('cov%d-' % cov).encode() + b'x' * 20, (host, port))\n"
    "    s.close()\n"
    "    time.sleep(0.05)\n"
    "print('sent', flush=True)\n";

int main(void)
{
    trace_start("udplite_coverage");
    note("send coverage as the peer sees it");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 sniffer.py", sniffer, (const char *const[]){ NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();
    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_bind4(fd, HOST_ADDR, 5300);
    char payload[32];
    trace_fill(payload, sizeof payload, 3);
    const int coverages[] = { 0, 8, 12, 20, 100 };
    for (int i = 0; i < 5; i++) {
        tr_setint(fd, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, coverages[i]);
        tr_getint(fd, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV);
        tr_sendto4(fd, payload, 24, 0, PEER_ADDR, PORT_DISCARD);
        usleep(50000);
    }
    peer_finish(&job, 5000);
    tr_close(fd);

    note("receive minimum coverage");
    int rx[3];
    const int minimums[] = { -1, 12, 20 };
    for (int i = 0; i < 3; i++) {
        rx[i] = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
        tr_bind4(rx[i], "0.0.0.0", 5301 + i);
        if (minimums[i] >= 0)
            tr_setint(rx[i], IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, minimums[i]);
    }
    peer_start_python(&job, PEER_NS, "python3 sender.py", sender,
                      (const char *const[]){ HOST_ADDR, NULL });
    peer_finish(&job, 5000);
    usleep(200000);
    for (int i = 0; i < 3; i++) {
        char buf[64];
        for (int k = 0; k < 6; k++) {
            ssize_t n = recv(rx[i], buf, sizeof buf - 1, MSG_DONTWAIT);
            if (n < 0)
                break;
            buf[n < 8 ? n : 8] = 0;
            printf("port %d received %zd bytes \"%s\"\n", 5301 + i, n, buf);
        }
        tr_close(rx[i]);
    }
    return trace_end();
}
