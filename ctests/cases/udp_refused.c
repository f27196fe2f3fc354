/* udp_refused: ICMP port unreachable from the peer (port 1 is closed). A connected
 * socket reports ECONNREFUSED on its next call, once; an unconnected one reports
 * nothing. Also SO_ERROR and POLLERR. Only two ICMP errors come from the peer: its
 * rate limit (a burst of 6, then 1/s per destination) must never decide the outcome,
 * even when the runner is run again at once. */
#include "trace.h"

int main(void)
{
    trace_start("udp_refused");
    unsigned char buf[64];
    struct pollfd p;

    note("connected to a closed port: the error comes back on recv");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_CLOSED);
    tr_send(fd, "ping", 4, 0);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    tr_poll(&p, 1, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    note("reported once");
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
    tr_poll(&p, 1, 0);

    tr_close(fd);

    note("again through SO_ERROR, to a closed port of 127.0.0.1 (never rate-limited)");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, "127.0.0.1", PORT_CLOSED);
    tr_send(fd, "ping", 4, 0);
    p = (struct pollfd){ .fd = fd, .events = 0 };
    tr_poll(&p, 1, 3000);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_send(fd, "ping", 0, MSG_DONTWAIT | MSG_PEEK);
    tr_close(fd);

    note("unconnected: the error is not reported");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, "ping", 4, 0, PEER_ADDR, PORT_CLOSED);
    /* Give the ICMP error time to arrive; then prove it was dropped. A datagram from
     * the echo port afterwards shows the socket still works. */
    usleep(300000);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    tr_poll(&p, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    tr_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, SA(&from), &fromlen);
    tr_sendto4(fd, "echo", 4, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(fd, 3000);
    fromlen = sizeof from;
    tr_recvfrom(fd, buf, sizeof buf, 0, SA(&from), &fromlen);
    tr_close(fd);
    return trace_end();
}
