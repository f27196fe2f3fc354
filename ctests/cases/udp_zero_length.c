/* udp_zero_length: zero-length datagrams. Every send call with length 0 (write and
 * writev with nothing to write, send, sendto, sendmsg with iovlen 0, NULL and bad
 * buffers of length 0), what arrives (recv returns 0 with the source address), how a
 * zero-length datagram looks to FIONREAD, poll, MSG_PEEK and MSG_TRUNC, and zero-length
 * receives (read/readv of 0 bytes, recv into NULL/BADPTR) with and without a datagram
 * queued. Also a zero-length datagram through the peer's echo service. */
#include "trace.h"

#define RX_PORT 9271

static int rx, tx;
static unsigned char buf[64];

static void settle(void)
{
    quiet_wait_readable(rx, 3000);
}

/* Sends a one-byte marker after what the case sent, then receives everything up to
 * and including the marker: shows exactly which datagrams a call produced, with no
 * timing guess (loopback keeps the order). */
static void take_all(void)
{
    tr_send(tx, "|", 1, 0);
    struct sockaddr_in from;
    for (int i = 0; i < 6; i++) {
        quiet_wait_readable(rx, 3000);
        socklen_t fromlen = sizeof from;
        ssize_t r = tr_recvfrom(rx, buf, sizeof buf, MSG_DONTWAIT, SA(&from), &fromlen);
        if (r < 0 || (r == 1 && buf[0] == '|'))
            break;
    }
}

int main(void)
{
    trace_start("udp_zero_length");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(tx, "127.0.0.1", RX_PORT + 1);
    tr_connect4(tx, "127.0.0.1", RX_PORT);

    note("each send call with length 0");
    struct iovec empty = { buf, 0 };
    struct iovec none[1];
    tr_write(tx, buf, 0);
    take_all();
    tr_write(tx, NULL, 0);
    take_all();
    tr_writev(tx, &empty, 1);
    take_all();
    tr_writev(tx, none, 0);
    take_all();
    tr_send(tx, buf, 0, 0);
    take_all();
    tr_send(tx, NULL, 0, 0);
    take_all();
    tr_send(tx, BADPTR, 0, 0);
    take_all();
    tr_sendto4(tx, NULL, 0, 0, "127.0.0.1", RX_PORT);
    take_all();
    struct msghdr m = { .msg_iov = NULL, .msg_iovlen = 0 };
    tr_sendmsg(tx, &m, 0);
    take_all();
    m.msg_iov = &empty;
    m.msg_iovlen = 1;
    tr_sendmsg(tx, &m, 0);
    take_all();
    struct mmsghdr mm[2] = { { .msg_hdr = m }, { .msg_hdr = m } };
    tr_sendmmsg(tx, mm, 2, 0);
    take_all();

    note("a queued zero-length datagram: FIONREAD, poll, MSG_PEEK, MSG_TRUNC");
    tr_send(tx, "", 0, 0);
    settle();
    int avail = -1;
    tr_ioctl_int(rx, FIONREAD, &avail);
    struct pollfd p = { .fd = rx, .events = POLLIN };
    tr_poll(&p, 1, 0);
    tr_recv(rx, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    tr_recv(rx, buf, 0, MSG_TRUNC | MSG_PEEK | MSG_DONTWAIT);
    tr_recv(rx, NULL, 0, MSG_DONTWAIT);
    tr_poll(&p, 1, 0);
    tr_send(tx, "", 0, 0);
    tr_send(tx, "a", 1, 0);
    settle();
    tr_ioctl_int(rx, FIONREAD, &avail);
    tr_recv(rx, BADPTR, 16, MSG_DONTWAIT);
    tr_ioctl_int(rx, FIONREAD, &avail);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);

    note("zero-length receives of a one-byte datagram");
    tr_send(tx, "b", 1, 0);
    settle();
    tr_read(rx, buf, 0);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(rx, buf, 0, MSG_DONTWAIT);
    tr_send(tx, "c", 1, 0);
    settle();
    tr_readv(rx, &empty, 1);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(rx, NULL, 0, MSG_DONTWAIT);
    tr_send(tx, "d", 1, 0);
    settle();
    tr_recv(rx, NULL, 0, MSG_DONTWAIT);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_send(tx, "e", 1, 0);
    settle();
    tr_recv(rx, NULL, 16, MSG_DONTWAIT);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
    tr_send(tx, "f", 1, 0);
    settle();
    struct msghdr rm = { .msg_iov = NULL, .msg_iovlen = 0 };
    tr_recvmsg(rx, &rm, MSG_DONTWAIT);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);

    note("zero-length receives with nothing queued");
    tr_read(rx, buf, 0);
    tr_recv(rx, buf, 0, MSG_DONTWAIT);
    tr_recvmsg(rx, &rm, MSG_DONTWAIT);

    note("a zero-length datagram through the peer's echo service");
    int e = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(e, PEER_ADDR, PORT_ECHO);
    tr_send(e, "", 0, 0);
    quiet_wait_readable(e, 2000);
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    tr_recvfrom(e, buf, sizeof buf, MSG_DONTWAIT, SA(&from), &fromlen);
    tr_close(e);

    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
