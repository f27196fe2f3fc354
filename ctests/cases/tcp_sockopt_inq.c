/* tcp_sockopt_inq: TCP_INQ makes every successful read carry a TCP_CM_INQ control message
 * with the bytes still unread (1 once the peer's FIN is in); off again, none. */
#include "tcp_lib.h"

/* recvmsg with room for one control message; prints the TCP_CM_INQ value it carried. */
static void recv_with_inq(int fd, size_t want)
{
    char buf[64];
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buf, want };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                          .msg_controllen = sizeof control };
    ssize_t n = recvmsg(fd, &msg, 0);
    printf("recvmsg(fd%d, %zu) = %zd", fd, want, n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (n >= 0 && c) {
        int inq;
        memcpy(&inq, CMSG_DATA(c), sizeof inq);
        printf(" cmsg level=%d type=%d len=%zu inq=%d", c->cmsg_level, c->cmsg_type,
               (size_t)c->cmsg_len, inq);
    } else if (n >= 0) {
        printf(" no cmsg");
    }
    printf(" flags=0x%x\n", msg.msg_flags);
}

int main(void)
{
    trace_start("tcp_sockopt_inq");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, "127.0.0.1", 6101);
    trace_fixed_port(6101);
    tr_listen(listener, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(client, IPPROTO_TCP, TCP_INQ, 1);
    tr_connect4(client, "127.0.0.1", 6101);
    int server = accept(listener, NULL, NULL);
    note("a read leaves 6 bytes, the next none");
    tr_send(server, "hello world", 11, 0);
    quiet_wait_bytes(client, 11, 2000);
    recv_with_inq(client, 5);
    recv_with_inq(client, 6);
    note("after the FIN: 1, so that a reader goes on to see the end");
    tr_shutdown(server, SHUT_WR);
    quiet_wait_events(client, POLLRDHUP, 2000);
    recv_with_inq(client, 6);
    note("nothing queued, not at the end: EAGAIN carries nothing");
    int other = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(other, IPPROTO_TCP, TCP_INQ, 1);
    tr_connect4(other, "127.0.0.1", 6101);
    int other_server = accept(listener, NULL, NULL);
    char buf[8];
    tr_recv(other, buf, sizeof buf, MSG_DONTWAIT);
    tr_send(other_server, "abc", 3, 0);
    quiet_wait_bytes(other, 3, 2000);
    recv_with_inq(other, 8);
    note("TCP_INQ off: no control message");
    tr_setint(client, IPPROTO_TCP, TCP_INQ, 0);
    recv_with_inq(client, 6);
    close(other_server);
    tr_close(other);
    tr_close(client);
    close(server);
    tr_close(listener);
    trace_end();
    return 0;
}
