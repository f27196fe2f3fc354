/* tcp_loopback: client and server in one process, through 127.0.0.1 and the host's own
 * address 198.18.0.2: nonblocking connect and accept, data both ways, names, queue sizes,
 * half close, a refused port, close with unread data (reset), SO_LINGER 0, many
 * connections to one listener (backlog). */
#include "tcp_lib.h"

static void print_poll(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&p, 1, 0);
}

static void pair(const char *addr, unsigned port, int *client, int *server, int listener)
{
    *client = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    tr_connect4(*client, addr, port);
    quiet_wait_events(*client, POLLOUT, 2000);
    print_poll(*client);
    tr_getint(*client, SOL_SOCKET, SO_ERROR);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    quiet_wait_events(listener, POLLIN, 2000);
    *server = tr_accept4(listener, &sa, &len, 0);
}

int main(void)
{
    trace_start("tcp_loopback");
    char buf[4096];
    struct sockaddr_in sa;
    socklen_t len;
    int queued;

    for (int round = 0; round < 2; round++) {
        const char *addr = round == 0 ? "127.0.0.1" : HOST_ADDR;
        note("through %s", addr);
        int listener = tr_listener(addr, 5620, 8);
        int client, server;
        pair(addr, 5620, &client, &server, listener);
        len = sizeof sa;
        tr_getsockname(client, SA(&sa), &len);
        len = sizeof sa;
        tr_getpeername(client, SA(&sa), &len);
        len = sizeof sa;
        tr_getsockname(server, SA(&sa), &len);
        len = sizeof sa;
        tr_getpeername(server, SA(&sa), &len);
        check(ntohs(sa.sin_port) == quiet_local_port(client), "accepted peer port = client's");

        tr_send(client, "ping", 4, 0);
        quiet_wait_bytes(server, 4, 2000);
        tr_ioctl_int(server, FIONREAD, &queued);
        tr_recv(server, buf, sizeof buf, MSG_PEEK);
        tr_recv(server, buf, 2, 0);
        tr_recv(server, buf, sizeof buf, 0);
        tr_recv(server, buf, sizeof buf, MSG_DONTWAIT);
        trace_fill(buf, 3000, 7);
        tr_send(server, buf, 3000, 0);
        quiet_wait_bytes(client, 3000, 2000);
        tr_recv(client, buf, 3000, MSG_WAITALL);
        tr_ioctl_int(client, SIOCOUTQ, &queued);

        note("SO_RCVLOWAT 5: poll waits for 5 bytes; a blocking read returns 3 at SO_RCVTIMEO");
        tr_setint(server, SOL_SOCKET, SO_RCVLOWAT, 5);
        tr_send(client, "abc", 3, 0);
        quiet_wait_bytes(server, 3, 2000);
        print_poll(server);
        struct timeval timeout = { 0, 200000 };
        tr_setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        tr_recv(server, buf, sizeof buf, 0);
        check(ms_since(&started) >= 150, "the read waited for the timeout");
        tr_send(client, "defgh", 5, 0);
        quiet_wait_bytes(server, 5, 2000);
        print_poll(server);
        tr_recv(server, buf, sizeof buf, 0);
        tr_recv(server, buf, sizeof buf, 0);
        tr_setint(server, SOL_SOCKET, SO_RCVLOWAT, 1);

        note("MSG_PEEK|MSG_WAITALL waits for the whole length (here: until SO_RCVTIMEO)");
        tr_send(client, "123", 3, 0);
        quiet_wait_bytes(server, 3, 2000);
        clock_gettime(CLOCK_MONOTONIC, &started);
        tr_recv(server, buf, 6, MSG_PEEK | MSG_WAITALL);
        check(ms_since(&started) >= 150, "the peek waited for the timeout");
        tr_send(client, "456", 3, 0);
        quiet_wait_bytes(server, 6, 2000);
        tr_recv(server, buf, 6, MSG_PEEK | MSG_WAITALL);
        tr_recv(server, buf, 6, MSG_WAITALL);

        note("half close from the client");
        tr_shutdown(client, SHUT_WR);
        quiet_wait_revents(server, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 2000);
        print_poll(server);
        tr_recv(server, buf, sizeof buf, 0);
        tr_send(server, "after", 5, 0);
        quiet_wait_bytes(client, 5, 2000);
        tr_recv(client, buf, sizeof buf, 0);
        tr_close(server);
        quiet_wait_revents(client, POLLIN, POLLHUP, POLLHUP, 2000);
        print_poll(client);
        tr_recv(client, buf, sizeof buf, 0);
        tr_close(client);

        note("close with unread data: a reset");
        pair(addr, 5620, &client, &server, listener);
        tr_send(client, "unread", 6, 0);
        quiet_wait_bytes(server, 6, 2000);
        tr_close(server);
        quiet_wait_revents(client, POLLIN, POLLERR, POLLERR, 2000);
        print_poll(client);
        tr_recv(client, buf, sizeof buf, 0);
        tr_recv(client, buf, sizeof buf, 0);
        tr_send(client, "x", 1, MSG_NOSIGNAL);
        tr_close(client);

        note("SO_LINGER 0 on the client: a reset, nothing in TIME_WAIT");
        pair(addr, 5620, &client, &server, listener);
        struct linger linger = { .l_onoff = 1, .l_linger = 0 };
        tr_setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
        tr_close(client);
        quiet_wait_revents(server, POLLIN, POLLERR, POLLERR, 2000);
        print_poll(server);
        tr_getint(server, SOL_SOCKET, SO_ERROR);
        tr_recv(server, buf, sizeof buf, 0);
        tr_close(server);

        note("a port nobody listens on");
        client = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_connect4(client, addr, 5621);
        tr_close(client);
        client = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        tr_connect4(client, addr, 5621);
        quiet_wait_events(client, POLLOUT, 2000);
        print_poll(client);
        tr_getint(client, SOL_SOCKET, SO_ERROR);
        tr_close(client);

        note("three connections queued on the listener, accepted in order");
        int clients[3], servers[3];
        for (int i = 0; i < 3; i++) {
            clients[i] = socket(AF_INET, SOCK_STREAM, 0);
            sa = sin4(addr, 5620);
            int r = connect(clients[i], SA(&sa), sizeof sa);
            printf("connect %d: %s\n", i, r == 0 ? "0" : trace_errno_name(errno));
            char tag = (char)('a' + i);
            send(clients[i], &tag, 1, 0);
        }
        for (int i = 0; i < 3; i++) {
            len = sizeof sa;
            servers[i] = accept(listener, SA(&sa), &len);
            check(ntohs(sa.sin_port) == quiet_local_port(clients[i]), "accepted %d in order", i);
            quiet_wait_bytes(servers[i], 1, 2000);
            tr_recv(servers[i], buf, sizeof buf, 0);
        }
        for (int i = 0; i < 3; i++) {
            close(clients[i]);
            close(servers[i]);
        }
        tr_close(listener);
    }
    return trace_end();
}
