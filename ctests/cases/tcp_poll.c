/* tcp_poll: readiness of TCP sockets in each state through poll, select and epoll (level
 * and edge triggered): a fresh socket (OUT|HUP), a listener before and after a connection
 * is queued, a handshake that gets no answer, established, data, the peer's FIN (RDHUP),
 * both directions shut (HUP), a reset (ERR), and after the error was read. */
#include "tcp_lib.h"

static void print_poll(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI };
    tr_poll(&p, 1, 0);
}

static void print_select(int fd)
{
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    FD_SET(fd, &e);
    struct timeval zero = { 0, 0 };
    tr_select(fd + 1, &r, &w, &e, &zero);
}

int main(void)
{
    trace_start("tcp_poll");
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;

    note("a fresh socket");
    int fresh = tr_socket(AF_INET, SOCK_STREAM, 0);
    print_poll(fresh);
    print_select(fresh);
    tr_bind4(fresh, "127.0.0.1", 0);
    print_poll(fresh);

    note("a listener, then a queued connection");
    int listener = tr_listener("127.0.0.1", 5630, 4);
    print_poll(listener);
    print_select(listener);
    int ep = tr_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
    struct epoll_event out[4];
    tr_epoll_wait(ep, out, 4, 0);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5630);
    quiet_wait_events(listener, POLLIN, 2000);
    print_poll(listener);
    tr_epoll_wait(ep, out, 4, 0);
    tr_epoll_wait(ep, out, 4, 0);
    len = sizeof sa;
    int server = tr_accept4(listener, &sa, &len, SOCK_NONBLOCK);
    print_poll(listener);

    note("established, data, edge-triggered epoll on the accepted socket");
    print_poll(client);
    print_poll(server);
    print_select(server);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = 2;
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev);
    tr_epoll_wait(ep, out, 4, 0);
    tr_epoll_wait(ep, out, 4, 0);
    tr_send(client, "data", 4, 0);
    quiet_wait_bytes(server, 4, 2000);
    print_poll(server);
    tr_epoll_wait(ep, out, 4, 0);
    tr_epoll_wait(ep, out, 4, 0);
    tr_recv(server, buf, sizeof buf, 0);
    print_poll(server);
    tr_send(client, "more", 4, 0);
    quiet_wait_bytes(server, 8, 2000);
    tr_epoll_wait(ep, out, 4, 0);

    note("the client's FIN");
    tr_shutdown(client, SHUT_WR);
    quiet_wait_revents(server, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 2000);
    print_poll(server);
    print_poll(client);
    tr_epoll_wait(ep, out, 4, 0);
    tr_recv(server, buf, sizeof buf, 0);
    tr_recv(server, buf, sizeof buf, 0);
    print_poll(server);
    print_select(server);
    note("both directions shut");
    tr_shutdown(server, SHUT_WR);
    quiet_wait_revents(client, POLLIN, POLLHUP, POLLHUP, 2000);
    print_poll(server);
    print_poll(client);
    tr_epoll_wait(ep, out, 4, 0);
    tr_close(server);
    tr_close(client);

    note("a reset, then after the error was read");
    client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5630);
    quiet_wait_events(listener, POLLIN, 2000);
    len = sizeof sa;
    server = tr_accept4(listener, &sa, &len, 0);
    struct linger linger = { 1, 0 };
    tr_setsockopt(server, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = 3;
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, client, &ev);
    tr_close(server);
    quiet_wait_revents(client, POLLIN, POLLERR, POLLERR, 2000);
    print_poll(client);
    print_select(client);
    tr_epoll_wait(ep, out, 4, 0);
    tr_getint(client, SOL_SOCKET, SO_ERROR);
    print_poll(client);
    tr_epoll_wait(ep, out, 4, 0);
    tr_close(client);

    note("a handshake nobody answers");
    client = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    tr_connect4(client, "198.18.0.214", 5631);
    print_poll(client);
    print_select(client);
    tr_close(client);

    tr_close(ep);
    tr_close(listener);
    tr_close(fresh);
    return trace_end();
}
