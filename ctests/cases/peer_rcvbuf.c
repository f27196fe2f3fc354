/* peer_rcvbuf: how many datagrams a socket's receive buffer holds, seen from a burst of the
 * peer's that the case reads only afterwards. The kernel admits a datagram while the memory
 * charged to the socket (each skb's truesize, not its payload) stays within SO_RCVBUF, and
 * always into an empty queue (__udp_enqueue_schedule_skb); the rest are dropped and counted.
 * Small, medium and large datagrams against a small SO_RCVBUF, and 1000-byte ones against
 * the default. Printed: the buffer sizes, and how many datagrams (which sequence numbers)
 * were queued. */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5020

/* Runs in the peer. argv: host address, port, count, size. Paced a little, so that the
 * host's receive path, not its link, is what runs out. */
static const char burst[] =
    "import socket, struct, sys, time\n"
    "host, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "for i in range(count):\n"
    "    s.sendto(struct.pack('!H', i) + bytes(size - 2), (host, port))\n"
    "    if i % 10 == 9: time.sleep(0.002)\n"
    "print('sent %d datagrams of %d bytes' % (count, size))\n";

static void run(int rcvbuf, int count, int size)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    if (rcvbuf)
        tr_setint(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf);
    tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    tr_bind4(fd, HOST_ADDR, CASE_PORT);
    char count_arg[16], size_arg[16], label[96];
    snprintf(count_arg, sizeof count_arg, "%d", count);
    snprintf(size_arg, sizeof size_arg, "%d", size);
    snprintf(label, sizeof label, "python3 burst.py 198.18.0.2 5020 %d %d", count, size);
    peer_run(PEER_NS, label,
             (char *const[]){ "python3", "-c", (char *)burst, HOST_ADDR, "5020", count_arg,
                              size_arg, NULL },
             5000);
    usleep(200 * 1000); /* let the last frames through the receive path */
    int queued = 0, first = -1, last = -1, gaps = 0;
    static unsigned char buf[65536];
    for (int i = 0; i < count; i++) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 2)
            break;
        int seq = buf[0] << 8 | buf[1];
        if (first < 0)
            first = seq;
        else if (seq != last + 1)
            gaps++;
        last = seq;
        queued++;
    }
    printf("queued %d of %d: sequence %d..%d, %d gaps\n", queued, count, first, last, gaps);
    tr_close(fd);
    trace_watchdog();
}

int main(void)
{
    trace_start("peer_rcvbuf");
    note("SO_RCVBUF 4096 (doubled to 8192)");
    run(4096, 40, 20);
    run(4096, 40, 1000);
    run(4096, 10, 3000);
    run(4096, 3, 20000);
    note("the default SO_RCVBUF");
    run(0, 400, 1000);
    return trace_end();
}
