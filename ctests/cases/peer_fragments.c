/* peer_fragments: large datagrams from the peer (one hop, MTU 1500) and from the remote
 * (behind the peer, MTU 1400) to a socket the case binds: 3000, 20000 and 65507 bytes, each
 * arriving as fragments the host must reassemble (ip_defrag). The case echoes each back (the
 * host fragments it; towards the remote the peer fragments it again) and the sender checks
 * the echo byte for byte. Printed: sizes, hashes, the senders' verdicts. */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5010

/* Runs in the peer or the remote. argv: host address, port, sizes... */
static const char sender[] =
    "import socket, sys\n"
    "host, port = sys.argv[1], int(sys.argv[2])\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(4)\n"
    "for size in map(int, sys.argv[3:]):\n"
    "    data = bytes((i * 7 + size) & 255 for i in range(size))\n"
    "    try:\n"
    "        s.sendto(data, (host, port))\n"
    "        echo, addr = s.recvfrom(70000)\n"
    "        print('%d bytes: echo of %d bytes from %s:%d, %s' % (size, len(echo), addr[0], addr[1],\n"
    "              'identical' if echo == data else 'DIFFERENT'))\n"
    "    except socket.timeout:\n"
    "        print('%d bytes: no echo' % size)\n"
    "    except OSError as e:\n"
    "        print('%d bytes: error %s' % (size, e.strerror))\n";

static void echo_datagrams(int fd, int count)
{
    static char buf[65536];
    for (int i = 0; i < count; i++) {
        if (quiet_wait_readable(fd, 5000) <= 0) {
            note("no datagram within 5 s");
            return;
        }
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = tr_recvfrom(fd, buf, sizeof buf, 0, SA(&from), &fromlen);
        if (n < 0)
            return;
        tr_sendto(fd, buf, (size_t)n, 0, SA(&from), fromlen);
    }
}

int main(void)
{
    trace_start("peer_fragments");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);
    const char *const args[] = { HOST_ADDR, "5010", "3000", "20000", "65507", NULL };

    for (int role = PEER_NS; role <= REMOTE_NS; role++) {
        note("from the %s", role == PEER_NS ? "peer" : "remote");
        struct peer_job job;
        peer_start_python(&job, (enum peer_role)role,
                          "python3 sender.py 198.18.0.2 5010 3000 20000 65507", sender, args);
        echo_datagrams(fd, 3);
        peer_finish(&job, 5000);
        trace_watchdog();
    }
    tr_close(fd);
    return trace_end();
}
