/* peer_broadcast: the peer sends to the subnet broadcast 198.18.0.255, the limited broadcast
 * 255.255.255.255 (with SO_BROADCAST) and unicast 198.18.0.2, all to one port, on which the
 * case has sockets bound to 0.0.0.0, 198.18.0.2, 198.18.0.255 and 255.255.255.255 (all with
 * SO_REUSEADDR). A broadcast goes to every socket whose bound address is the wildcard or the
 * broadcast address itself (__udp4_lib_mcast_deliver, __udp_is_mcast_sock); a unicast to
 * the best-scoring one only (udp4_lib_lookup2). IP_PKTINFO shows which address each
 * datagram was sent to. */
#include "trace.h"
#include "peer.h"

#define CASE_PORT 5011

/* Runs in the peer. Bound to its own address so that 255.255.255.255 has a device (eth0). */
static const char sender[] =
    "import socket, sys\n"
    "port = int(sys.argv[1])\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('198.18.0.1', 0))\n"
    "try:\n"
    "    s.sendto(b'no-so-broadcast', ('198.18.0.255', port))\n"
    "except OSError as e:\n"
    "    print('without SO_BROADCAST:', e.strerror)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)\n"
    "for tag, addr in (('subnet-bcast', '198.18.0.255'), ('limited-bcast', '255.255.255.255'),\n"
    "                  ('unicast', '198.18.0.2')):\n"
    "    print('sent %s: %d' % (tag, s.sendto(tag.encode(), (addr, port))))\n";

static const char *const bound_to[] = { "0.0.0.0", HOST_ADDR, "198.18.0.255", "255.255.255.255" };
#define SOCKETS (sizeof bound_to / sizeof bound_to[0])

int main(void)
{
    trace_start("peer_broadcast");
    int fds[SOCKETS];
    for (size_t i = 0; i < SOCKETS; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(fds[i], SOL_SOCKET, SO_REUSEADDR, 1);
        tr_setint(fds[i], IPPROTO_IP, IP_PKTINFO, 1);
        tr_bind4(fds[i], bound_to[i], CASE_PORT);
    }

    peer_run(PEER_NS, "python3 broadcast_sender.py 5011",
             (char *const[]){ "python3", "-c", (char *)sender, "5011", NULL }, 5000);
    /* The datagrams were sent when the peer exited; give delivery a moment, then read
     * everything without waiting. */
    usleep(300 * 1000);

    for (size_t i = 0; i < SOCKETS; i++) {
        note("socket bound to %s", bound_to[i]);
        for (int k = 0; k < 4; k++) {
            char data[64], control[128];
            struct sockaddr_in from;
            struct iovec iov = { data, sizeof data };
            struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                                .msg_iovlen = 1, .msg_control = control,
                                .msg_controllen = sizeof control };
            if (tr_recvmsg(fds[i], &m, MSG_DONTWAIT) < 0)
                break;
        }
    }
    for (size_t i = 0; i < SOCKETS; i++)
        tr_close(fds[i]);
    return trace_end();
}
