/* sockopt_socket_peek_off: SO_PEEK_OFF's effect on UDP: MSG_PEEK reads from the offset
 * (skipping whole datagrams the offset goes past), each peek moves the offset forward by
 * what it returned (the full length with MSG_TRUNC), each read moves it back; MSG_TRUNC
 * flags with an offset; turning it off with -1. Datagrams travel over 127.0.0.1. */
#include "trace.h"

static void peek(int fd, size_t len, int flags)
{
    char buf[64];
    memset(buf, 0, sizeof buf);
    struct iovec iov = { buf, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    tr_recvmsg(fd, &msg, flags);
    tr_getint(fd, SOL_SOCKET, SO_PEEK_OFF);
}

int main(void)
{
    trace_start("sockopt_socket_peek_off");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", 5200);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(tx, "abcdef", 6, 0, "127.0.0.1", 5200);
    tr_sendto4(tx, "ghij", 4, 0, "127.0.0.1", 5200);
    tr_sendto4(tx, "", 0, 0, "127.0.0.1", 5200);
    tr_sendto4(tx, "klmnopq", 7, 0, "127.0.0.1", 5200);
    quiet_wait_readable(rx, 1000);

    note("without an offset");
    tr_getint(rx, SOL_SOCKET, SO_PEEK_OFF);
    peek(rx, 3, MSG_PEEK);
    peek(rx, 3, MSG_PEEK);

    note("offset 0: each peek advances");
    tr_setint(rx, SOL_SOCKET, SO_PEEK_OFF, 0);
    peek(rx, 2, MSG_PEEK);
    peek(rx, 2, MSG_PEEK);
    peek(rx, 10, MSG_PEEK);
    peek(rx, 10, MSG_PEEK);
    peek(rx, 2, MSG_PEEK | MSG_TRUNC);
    peek(rx, 10, MSG_PEEK);
    peek(rx, 10, MSG_PEEK | MSG_DONTWAIT);

    note("offset set inside the second datagram");
    tr_setint(rx, SOL_SOCKET, SO_PEEK_OFF, 7);
    peek(rx, 2, MSG_PEEK);
    peek(rx, 3, MSG_PEEK);
    tr_setint(rx, SOL_SOCKET, SO_PEEK_OFF, 3);
    peek(rx, 3, MSG_PEEK);

    note("reads move the offset back");
    tr_setint(rx, SOL_SOCKET, SO_PEEK_OFF, 8);
    peek(rx, 64, 0);
    peek(rx, 2, MSG_PEEK);
    peek(rx, 64, 0);
    peek(rx, 64, MSG_PEEK);
    peek(rx, 64, 0);

    note("turned off");
    tr_setint(rx, SOL_SOCKET, SO_PEEK_OFF, -1);
    peek(rx, 3, MSG_PEEK);
    peek(rx, 64, 0);
    peek(rx, 64, MSG_DONTWAIT);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
