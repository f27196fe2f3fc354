/* udp_recverr: IP_RECVERR on UDP: the port-unreachable error queued with its
 * sock_extended_err and offender address, read with MSG_ERRQUEUE, on connected and
 * unconnected sockets. One ICMP error from the peer (it rate-limits), one from
 * 127.0.0.1. */
#include "trace.h"

static void read_error_queue(int fd)
{
    unsigned char data[64];
    char control[256];
    struct sockaddr_in name;
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = control,
                        .msg_controllen = sizeof control };
    tr_recvmsg(fd, &m, MSG_ERRQUEUE);
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_ERRQUEUE);
}

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
    read_error_queue(fd);
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
    read_error_queue(fd);
    tr_close(fd);

    note("empty error queue");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    read_error_queue(fd);
    tr_close(fd);
    return trace_end();
}
