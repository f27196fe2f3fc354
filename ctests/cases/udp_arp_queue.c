/* udp_arp_queue: datagrams sent while the next hop's address is being resolved wait in the
 * neighbour's queue (unres_qlen_bytes, 212992 bytes here) and all leave, in order, once the
 * reply comes. The host's neighbour table is flushed first (in the shim world the shim starts
 * with an empty one anyway); then a burst of 40 datagrams of 1000 bytes and 4 of 3000 bytes
 * (fragmented) goes to the peer, and 10 of 1000 bytes to the remote through the gateway.
 * The receivers print what arrived and whether it is intact and in order. */
#include "trace.h"
#include "peer.h"

#define PEER_PORT 5016

/* Runs in the peer and the remote. argv: port, expected count. */
static const char counter[] =
    "import socket, sys, time\n"
    "port, expected = int(sys.argv[1]), int(sys.argv[2])\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', port))\n"
    "s.settimeout(0.5)\n"
    "print('ready', flush=True)\n"
    "got = []\n"
    "deadline = time.monotonic() + 5\n"
    "while len(got) < expected and time.monotonic() < deadline:\n"
    "    try: got.append(s.recv(70000))\n"
    "    except socket.timeout: pass\n"
    "def intact(d): return len(d) >= 2 and d == bytes([d[0], d[1]]) * (len(d) // 2)\n"
    "sizes = {}\n"
    "for d in got: sizes[len(d)] = sizes.get(len(d), 0) + 1\n"
    "print('received %d: %s' % (len(got), ', '.join('%d of %d bytes' % (n, k) for k, n in sorted(sizes.items()))))\n"
    "print('intact: %s' % all(intact(d) for d in got))\n"
    "print('in order: %s' % ([d[0] for d in got] == sorted(d[0] for d in got)))\n";

static void send_burst(int fd, const char *to, int count, size_t size, int first_seq)
{
    static unsigned char buf[3000];
    struct sockaddr_in addr = sin4(to, PEER_PORT);
    int sent = 0;
    for (int i = 0; i < count; i++) {
        /* Every 2-byte pair is (sequence, size tag): the receiver checks both. */
        for (size_t k = 0; k + 1 < size; k += 2) {
            buf[k] = (unsigned char)(first_seq + i);
            buf[k + 1] = (unsigned char)(size / 1000);
        }
        if (sendto(fd, buf, size, 0, SA(&addr), sizeof addr) == (ssize_t)size)
            sent++;
    }
    printf("sent %d of %d datagrams of %zu bytes to %s\n", sent, count, size, to);
}

int main(void)
{
    trace_start("udp_arp_queue");
    peer_run(HOST_NS, "ip neigh flush dev eth0",
             (char *const[]){ "ip", "neigh", "flush", "dev", "eth0", NULL }, 3000);

    struct peer_job peer, remote;
    peer_start_python(&peer, PEER_NS, "python3 counter.py 5016 44", counter,
                      (const char *const[]){ "5016", "44", NULL });
    peer_wait_ready(&peer, 4000);
    peer_start_python(&remote, REMOTE_NS, "python3 counter.py 5016 10", counter,
                      (const char *const[]){ "5016", "10", NULL });
    peer_wait_ready(&remote, 4000);
    trace_watchdog();

    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    note("one burst, sent before any ARP reply can have come back");
    send_burst(fd, PEER_ADDR, 40, 1000, 0);
    send_burst(fd, PEER_ADDR, 4, 3000, 40);
    send_burst(fd, REMOTE_ADDR, 10, 1000, 100);
    peer_finish(&peer, 6000);
    peer_finish(&remote, 2000);
    tr_close(fd);
    return trace_end();
}
