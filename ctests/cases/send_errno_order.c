/* send_errno_order: which error wins when the payload pointer is bad (EFAULT) and
 * something else is wrong too: no destination (EDESTADDRREQ), wrong family
 * (EAFNOSUPPORT), short namelen (EINVAL), port 0, broadcast without SO_BROADCAST
 * (EACCES), too long (EMSGSIZE), MSG_OOB, no route, a pending ICMP error. Also
 * whether a failed send still bound an ephemeral port, and that nothing was sent. */
#include "trace.h"

#define RX_PORT 9241

static void show_port(int fd)
{
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    tr_getsockname(fd, SA(&me), &len);
}

int main(void)
{
    trace_start("send_errno_order");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    unsigned char buf[64];

    note("unconnected socket, bad payload");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_send(fd, BADPTR, 5, 0);
    tr_send(fd, NULL, 5, 0);
    tr_write(fd, BADPTR, 5);
    show_port(fd);
    struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
    tr_sendto(fd, BADPTR, 5, 0, SA(&six), sizeof six);
    struct sockaddr_in peer = sin4(PEER_ADDR, PORT_DISCARD);
    tr_sendto(fd, BADPTR, 5, 0, SA(&peer), 8);
    tr_sendto(fd, BADPTR, 5, 0, SA(&peer), 0);
    struct sockaddr_in unspec = peer;
    unspec.sin_family = AF_UNSPEC;
    tr_sendto(fd, BADPTR, 5, 0, SA(&unspec), sizeof unspec);
    tr_sendto4(fd, BADPTR, 5, 0, PEER_ADDR, 0);
    tr_sendto4(fd, BADPTR, 5, 0, "198.18.0.255", PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 5, 0, "255.255.255.255", PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 70000, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 65508, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 65507, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 5, MSG_OOB, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 5, 0, "10.1.2.3", PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 5, 0, "0.0.0.0", RX_PORT);
    tr_sendto4(fd, BADPTR, 5, 0, "224.0.0.1", PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 5, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 0, 0, "127.0.0.1", RX_PORT);
    quiet_wait_readable(rx, 1000);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    show_port(fd);
    tr_close(fd);

    note("a fresh socket: is the port bound by a send that failed with EFAULT?");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, BADPTR, 5, 0, PEER_ADDR, PORT_DISCARD);
    show_port(fd);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, BADPTR, 5, 0, "198.18.0.255", PORT_DISCARD);
    show_port(fd);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(fd, BADPTR, 70000, 0, PEER_ADDR, PORT_DISCARD);
    show_port(fd);
    tr_close(fd);

    note("connected socket: broadcast after SO_BROADCAST is cleared, bad payload");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_BROADCAST, 1);
    tr_connect4(fd, "198.18.0.255", PORT_DISCARD);
    tr_setint(fd, SOL_SOCKET, SO_BROADCAST, 0);
    tr_write(fd, BADPTR, 5);
    tr_send(fd, BADPTR, 70000, 0);
    tr_close(fd);

    note("a pending ICMP port unreachable and a bad payload");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, "127.0.0.1", RX_PORT + 1);
    tr_send(fd, "x", 1, 0);
    quiet_wait_readable(fd, 1000);
    tr_send(fd, BADPTR, 5, 0);
    tr_send(fd, BADPTR, 5, 0);
    tr_send(fd, "x", 1, 0);
    quiet_wait_readable(fd, 1000);
    tr_send(fd, BADPTR, 70000, 0);
    tr_send(fd, BADPTR, 5, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);

    note("after shutdown(SHUT_WR)");
    tr_connect4(fd, "127.0.0.1", RX_PORT);
    tr_shutdown(fd, SHUT_WR);
    tr_send(fd, BADPTR, 5, 0);
    tr_send(fd, "y", 1, 0);
    quiet_wait_readable(rx, 1000);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(fd);

    note("sendmsg: bad iovec together with other errors");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    struct iovec bad = { BADPTR, 5 };
    struct msghdr m = { .msg_iov = &bad, .msg_iovlen = 1 };
    tr_sendmsg(fd, &m, 0);
    m.msg_name = &six;
    m.msg_namelen = sizeof six;
    tr_sendmsg(fd, &m, 0);
    struct sockaddr_in bcast = sin4("198.18.0.255", PORT_DISCARD);
    m.msg_name = &bcast;
    m.msg_namelen = sizeof bcast;
    tr_sendmsg(fd, &m, 0);
    m.msg_control = BADPTR;
    m.msg_controllen = 64;
    tr_sendmsg(fd, &m, 0);
    m.msg_control = NULL;
    m.msg_controllen = 0;
    struct iovec two[2] = { { "ab", 2 }, { BADPTR, 70000 } };
    m.msg_iov = two;
    m.msg_iovlen = 2;
    m.msg_name = &peer;
    m.msg_namelen = sizeof peer;
    tr_sendmsg(fd, &m, 0);
    show_port(fd);
    tr_close(fd);
    tr_close(rx);
    return trace_end();
}
