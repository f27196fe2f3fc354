/* tcp_urgent: urgent data through loopback (send MSG_OOB, the urgent pointer): POLLPRI,
 * SIOCATMARK before and after the mark, recv(MSG_OOB) once and twice, a normal read
 * stopping at the mark, MSG_OOB with MSG_PEEK, SO_OOBINLINE keeping the byte in the
 * stream, urgent data on an unconnected socket. */
#include "tcp_lib.h"

static void print_poll(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI | POLLRDBAND };
    tr_poll(&p, 1, 0);
}

int main(void)
{
    trace_start("tcp_urgent");
    char buf[64];
    struct sockaddr_in sa;
    socklen_t len;
    int value;

    int fresh = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_send(fresh, "x", 1, MSG_OOB | MSG_NOSIGNAL);
    tr_close(fresh);

    int listener = tr_listener("127.0.0.1", 5660, 2);
    for (int inline_mode = 0; inline_mode < 2; inline_mode++) {
        note(inline_mode ? "SO_OOBINLINE" : "urgent byte kept apart");
        int client = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_connect4(client, "127.0.0.1", 5660);
        len = sizeof sa;
        int server = tr_accept4(listener, &sa, &len, 0);
        if (inline_mode)
            tr_setint(server, SOL_SOCKET, SO_OOBINLINE, 1);
        tr_ioctl_int(server, SIOCATMARK, &value);
        tr_send(client, "ab", 2, 0);
        tr_send(client, "c", 1, MSG_OOB);
        tr_send(client, "de", 2, 0);
        quiet_wait_bytes(server, inline_mode ? 5 : 4, 2000);
        print_poll(server);
        tr_ioctl_int(server, SIOCATMARK, &value);
        tr_ioctl_int(server, FIONREAD, &value);
        tr_recv(server, buf, sizeof buf, MSG_OOB | MSG_PEEK);
        tr_recv(server, buf, sizeof buf, 0);
        tr_ioctl_int(server, SIOCATMARK, &value);
        print_poll(server);
        tr_recv(server, buf, sizeof buf, MSG_OOB);
        tr_recv(server, buf, sizeof buf, MSG_OOB);
        tr_ioctl_int(server, SIOCATMARK, &value);
        tr_recv(server, buf, sizeof buf, 0);
        tr_recv(server, buf, sizeof buf, MSG_DONTWAIT);
        print_poll(server);
        tr_close(client);
        tr_close(server);
    }
    tr_close(listener);
    return trace_end();
}
