/* tcp_socket: creating TCP sockets (the protocol numbers, SOCK_NONBLOCK/SOCK_CLOEXEC, the
 * protocols SOCK_STREAM refuses) and the defaults a fresh one reports: SO_TYPE,
 * SO_PROTOCOL, SO_DOMAIN, SO_ACCEPTCONN, SO_ERROR, buffer sizes, SO_KEEPALIVE,
 * TCP_NODELAY, TCP_MAXSEG before a connection, TCP_CORK, TCP_KEEP*, TCP_SYNCNT. */
#include "tcp_lib.h"

int main(void)
{
    trace_start("tcp_socket");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    tr_close(fd);
    tr_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
    tr_socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP);
    tr_socket(AF_INET, SOCK_STREAM, 200);
    fd = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    tr_fcntl(fd, F_GETFL, 0);
    tr_fcntl(fd, F_GETFD, 0);
    tr_close(fd);

    note("defaults of a fresh socket");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_getint(fd, SOL_SOCKET, SO_TYPE);
    tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
    tr_getint(fd, SOL_SOCKET, SO_DOMAIN);
    tr_getint(fd, SOL_SOCKET, SO_ACCEPTCONN);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_SNDBUF);
    tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    tr_getint(fd, SOL_SOCKET, SO_KEEPALIVE);
    tr_getint(fd, SOL_SOCKET, SO_REUSEADDR);
    tr_getint(fd, SOL_SOCKET, SO_OOBINLINE);
    tr_getint(fd, SOL_SOCKET, SO_RCVLOWAT);
    tr_getint(fd, IPPROTO_TCP, TCP_NODELAY);
    tr_getint(fd, IPPROTO_TCP, TCP_MAXSEG);
    tr_getint(fd, IPPROTO_TCP, TCP_CORK);
    tr_getint(fd, IPPROTO_TCP, TCP_KEEPIDLE);
    tr_getint(fd, IPPROTO_TCP, TCP_KEEPINTVL);
    tr_getint(fd, IPPROTO_TCP, TCP_KEEPCNT);
    tr_getint(fd, IPPROTO_TCP, TCP_SYNCNT);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    tr_getint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT);
    tr_getint(fd, IPPROTO_IP, IP_TTL);
    tr_getint(fd, IPPROTO_IP, IP_TOS);

    note("set and read back");
    tr_setint(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_NODELAY);
    tr_setint(fd, IPPROTO_TCP, TCP_MAXSEG, 1000);
    tr_getint(fd, IPPROTO_TCP, TCP_MAXSEG);
    tr_setint(fd, IPPROTO_TCP, TCP_MAXSEG, 10);
    tr_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0);
    tr_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30);
    tr_getint(fd, IPPROTO_TCP, TCP_KEEPIDLE);
    tr_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    tr_getint(fd, SOL_SOCKET, SO_KEEPALIVE);
    tr_setint(fd, SOL_SOCKET, SO_SNDBUF, 10000);
    tr_getint(fd, SOL_SOCKET, SO_SNDBUF);
    tr_setint(fd, IPPROTO_TCP, 9999, 1);
    tr_close(fd);
    return trace_end();
}
