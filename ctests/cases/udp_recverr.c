/* udp_recverr: IP_RECVERR on UDP: the port-unreachable error queued with its
 * sock_extended_err and offender address, read with MSG_ERRQUEUE, on connected and
 * unconnected sockets. One ICMP error from the peer (it rate-limits), one from
 * 127.0.0.1. */
#include "trace.h"
#include "error_queue.h"

int main(void)
{
    trace_start("udp_recverr");
    unsigned char buf[64];
    struct pollfd p;

    note("connected, IP_RECVERR on");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_getint(fd, IPPROTO_IP, IP_RECVERR);
    tr_connect4(fd, PEER_ADDR, PORT_CLOSED);
    tr_send(fd, "ping", 4, 0);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    tr_poll(&p, 1, 3000);
    read_one_error(fd, 64, 256);
    read_one_error(fd, 64, 256);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);

    note("unconnected, IP_RECVERR on, a closed port of 127.0.0.1 (never rate-limited)");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_sendto4(fd, "ping", 4, 0, "127.0.0.1", PORT_CLOSED);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    tr_poll(&p, 1, 3000);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    read_one_error(fd, 64, 256);
    read_one_error(fd, 64, 256);
    tr_close(fd);

    note("empty error queue");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    read_one_error(fd, 64, 256);
    read_one_error(fd, 64, 256);
    tr_close(fd);
    return trace_end();
}
