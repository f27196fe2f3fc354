/* tcp_connect: active open against the peer's kernel: a blocking connect and an echo round
 * trip, ECONNREFUSED from a closed port (blocking and nonblocking, SO_ERROR), nonblocking
 * connect (EINPROGRESS, EALREADY, POLLOUT, SO_ERROR 0, then 0 and EISCONN), names before and
 * after, connect on a listener and after a failure. */
#include "tcp_lib.h"

int main(void)
{
    trace_start("tcp_connect");
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;

    note("blocking connect to the peer's echo service");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    len = sizeof sa;
    tr_getsockname(fd, SA(&sa), &len);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    len = sizeof sa;
    tr_getsockname(fd, SA(&sa), &len);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, IPPROTO_TCP, TCP_MAXSEG);
    tr_send(fd, "hello, echo", 11, 0);
    quiet_wait_bytes(fd, 11, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_write(fd, "second", 6);
    quiet_wait_bytes(fd, 6, 3000);
    tr_read(fd, buf, sizeof buf);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(fd);

    note("a closed port: the peer answers with a reset");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_CLOSED);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_send(fd, "x", 1, MSG_NOSIGNAL);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    note("connect again after the failure");
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_send(fd, "again", 5, 0);
    quiet_wait_bytes(fd, 5, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(fd);

    note("nonblocking connect to a closed port");
    fd = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    tr_connect4(fd, PEER_ADDR, PORT_CLOSED);
    int revents = quiet_wait_events(fd, POLLOUT, 3000);
    printf("waited: revents POLLOUT=%d POLLERR=%d POLLHUP=%d\n", !!(revents & POLLOUT),
           !!(revents & POLLERR), !!(revents & POLLHUP));
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&p, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_poll(&p, 1, 0);
    tr_connect4(fd, PEER_ADDR, PORT_CLOSED);
    tr_close(fd);

    note("nonblocking connect to the echo service");
    fd = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    revents = quiet_wait_events(fd, POLLOUT, 3000);
    printf("waited: revents POLLOUT=%d POLLERR=%d\n", !!(revents & POLLOUT),
           !!(revents & POLLERR));
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_send(fd, "nonblocking", 11, 0);
    quiet_wait_bytes(fd, 11, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(fd);

    note("EALREADY while the handshake runs: an on-link address nobody answers (ARP)");
    fd = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    tr_connect4(fd, "198.18.0.213", 5999);
    tr_connect4(fd, "198.18.0.213", 5999);
    tr_connect4(fd, "198.18.0.213", 6000);
    struct pollfd q = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&q, 1, 0);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_send(fd, "x", 1, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(fd);

    note("connect on a listener, bad addresses");
    fd = tr_listener("0.0.0.0", 5601, 4);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    sa = sin4(PEER_ADDR, PORT_ECHO);
    tr_connect(fd, SA(&sa), sizeof sa - 1);
    sa.sin_family = AF_INET6;
    tr_connect(fd, SA(&sa), sizeof sa);
    tr_connect4(fd, "198.18.0.255", PORT_ECHO);
    tr_connect4(fd, "224.0.0.1", PORT_ECHO);
    tr_close(fd);
    return trace_end();
}
