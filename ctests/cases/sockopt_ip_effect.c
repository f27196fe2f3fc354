/* sockopt_ip_effect: what the ip(7) options change on the wire, as the peer captures the
 * case's datagrams (AF_PACKET on its eth0): IP_TTL (1, 255, a one-byte value, -1 back to
 * ip_default_ttl), IP_TOS with its ECN bits on a datagram socket, IP_UNICAST_IF (the output
 * interface of unicast sends and of connect), IP_MULTICAST_TTL and IP_MULTICAST_IF on a send
 * to a group; and on receive, IP_MINTTL (which UDP does not enforce). */
#include "trace.h"
#include "peer.h"
#include "peer_capture.h"

#include <arpa/inet.h>

#define PEER_PORT 5031
#define MINTTL_PORT 6200

/* Runs in the peer. argv: host address, port. */
static const char sniffer[] = PEER_CAPTURE_PY
    "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', port))  # an open port: no ICMP errors back\n"
    "for f in host_frames(host, 6):\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    tag = ip[ihl + 8:ihl + 8 + 16].split(b':')[0].decode(errors='replace')\n"
    "    print('tag=%s eth_dst=%s ttl=%d tos=0x%02x dst=%s' % (tag, f[0:6].hex(':'), ip[8], ip[1],\n"
    "          socket.inet_ntoa(ip[16:20])))\n";

static const char sender[] =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 2)\n"
    "s.sendto(b'low-ttl', (sys.argv[1], int(sys.argv[2])))\n"
    "print('sent')\n";

int main(void)
{
    trace_start("sockopt_ip_effect");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 sniffer.py 198.18.0.2 5031", sniffer,
                      (const char *const[]){ HOST_ADDR, "5031", NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, "default:", 8, 0, PEER_ADDR, PEER_PORT);
    note("IP_TTL");
    tr_setint(fd, IPPROTO_IP, IP_TTL, 1);
    tr_sendto4(fd, "ttl1:", 5, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TTL, 255);
    tr_sendto4(fd, "ttl255:", 7, 0, PEER_ADDR, PEER_PORT);
    unsigned char byte = 33;
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, &byte, 1);
    tr_sendto4(fd, "ttl33:", 6, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TTL, -1);
    tr_sendto4(fd, "ttl-default:", 12, 0, PEER_ADDR, PEER_PORT);
    note("IP_TOS: a datagram socket sends the ECN bits it is given");
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0x03);
    tr_sendto4(fd, "tos03:", 6, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0xff);
    tr_sendto4(fd, "tosff:", 6, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0x1b9);
    tr_sendto4(fd, "tos1b9:", 7, 0, PEER_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0);

    note("IP_UNICAST_IF: the output interface");
    tr_setint(fd, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(2));
    tr_sendto4(fd, "unicast-if-2:", 13, 0, PEER_ADDR, PEER_PORT);
    tr_sendto4(fd, "unicast-if-2-remote:", 20, 0, REMOTE_ADDR, PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(1));
    tr_sendto4(fd, "unicast-if-lo:", 14, 0, PEER_ADDR, PEER_PORT);
    int local = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(local, "127.0.0.1", 6201);
    tr_sendto4(fd, "lo", 2, 0, "127.0.0.1", 6201);
    quiet_wait_readable(local, 1000);
    char buf[64];
    tr_recv(local, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(local);
    int connected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(connected, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(1));
    tr_connect4(connected, PEER_ADDR, PEER_PORT);
    tr_setint(connected, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(2));
    tr_connect4(connected, PEER_ADDR, PEER_PORT);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    tr_getsockname(connected, SA(&sin), &len);
    tr_send(connected, "connected-if-2:", 15, 0);
    tr_close(connected);
    tr_setint(fd, IPPROTO_IP, IP_UNICAST_IF, 0);

    note("a socket bound to a device (SO_BINDTODEVICE) refuses other interfaces");
    int bound = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(bound, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(2));
    tr_setsockopt(bound, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 5);
    tr_getint(bound, IPPROTO_IP, IP_UNICAST_IF);
    tr_setint(bound, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(2));
    tr_setint(bound, IPPROTO_IP, IP_UNICAST_IF, (int)htonl(1));
    tr_setint(bound, IPPROTO_IP, IP_UNICAST_IF, 0);
    struct ip_mreqn by_index = { { 0 }, { 0 }, 2 };
    tr_setsockopt(bound, IPPROTO_IP, IP_MULTICAST_IF, &by_index, sizeof by_index);
    by_index.imr_ifindex = 1;
    tr_setsockopt(bound, IPPROTO_IP, IP_MULTICAST_IF, &by_index, sizeof by_index);
    struct in_addr loopback = { htonl(INADDR_LOOPBACK) };
    tr_setsockopt(bound, IPPROTO_IP, IP_MULTICAST_IF, &loopback, sizeof loopback);
    tr_getint(bound, IPPROTO_IP, IP_MULTICAST_IF);
    tr_close(bound);

    note("IP_MULTICAST_TTL and IP_MULTICAST_IF on a send to a group");
    tr_sendto4(fd, "mcast-default:", 14, 0, "239.1.2.3", PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, 5);
    struct in_addr ours;
    inet_pton(AF_INET, HOST_ADDR, &ours);
    tr_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ours, sizeof ours);
    tr_sendto4(fd, "mcast-ttl5:", 11, 0, "239.1.2.3", PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, -1);
    tr_setint(fd, IPPROTO_IP, IP_TTL, 9);
    tr_sendto4(fd, "mcast-ttl-reset:", 16, 0, "239.1.2.3", PEER_PORT);
    tr_setint(fd, IPPROTO_IP, IP_TTL, -1);

    note("IP_MINTTL: UDP delivers datagrams below it");
    int low = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(low, IPPROTO_IP, IP_MINTTL, 255);
    tr_bind4(low, "0.0.0.0", MINTTL_PORT);
    peer_run(PEER_NS, "python3 sender.py 198.18.0.2 6200",
             (char *const[]){ "python3", "-c", (char *)sender, HOST_ADDR, "6200", NULL }, 4000);
    quiet_wait_readable(low, 2000);
    tr_recv(low, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(low);

    tr_sendto4(fd, "end:", 4, 0, PEER_ADDR, PEER_PORT);
    peer_finish(&job, 8000);
    tr_close(fd);
    return trace_end();
}
