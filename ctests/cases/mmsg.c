/* mmsg: sendmmsg/recvmmsg partial results. sendmmsg stops at the first failing
 * message and returns the count sent so far (the error is dropped); recvmmsg
 * returns what it received before an error and leaves the error in SO_ERROR;
 * MSG_WAITFORONE; vlen 0 and beyond UIO_MAXIOV; bad arrays and timeouts; per-message
 * msg_len, msg_flags (MSG_TRUNC) and source addresses. All over 127.0.0.1. */
#include "trace.h"

#define RX_PORT 9221
#define N 4

static int rx, tx;
static struct mmsghdr rm[N];
static struct iovec ri[N];
static unsigned char rbuf[N][32];
static struct sockaddr_in rfrom[N];

static void reset_rx(size_t buflen)
{
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < N; i++) {
        ri[i] = (struct iovec){ rbuf[i], buflen };
        rm[i].msg_hdr.msg_iov = &ri[i];
        rm[i].msg_hdr.msg_iovlen = 1;
        rm[i].msg_hdr.msg_name = &rfrom[i];
        rm[i].msg_hdr.msg_namelen = sizeof rfrom[i];
    }
}

static void queue(int count)
{
    char text[16];
    for (int i = 0; i < count; i++) {
        snprintf(text, sizeof text, "d%d", i);
        tr_send(tx, text, strlen(text), 0);
    }
    quiet_wait_readable(rx, 3000);
}

static void drain_all(void)
{
    unsigned char buf[64];
    for (int i = 0; i < 8; i++)
        if (tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT) < 0)
            break;
}

int main(void)
{
    trace_start("mmsg");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(tx, "127.0.0.1", RX_PORT + 1);
    tr_connect4(tx, "127.0.0.1", RX_PORT);

    note("sendmmsg: the third message has a bad iovec: two are sent");
    struct sockaddr_in to = sin4("127.0.0.1", RX_PORT);
    struct iovec si[3] = { { "one", 3 }, { "two", 3 }, { "three", 5 } };
    struct mmsghdr sm[3];
    memset(sm, 0, sizeof sm);
    for (int i = 0; i < 3; i++) {
        sm[i].msg_hdr.msg_iov = &si[i];
        sm[i].msg_hdr.msg_iovlen = 1;
        sm[i].msg_hdr.msg_name = &to;
        sm[i].msg_hdr.msg_namelen = sizeof to;
    }
    int u = tr_socket(AF_INET, SOCK_DGRAM, 0);
    sm[2].msg_hdr.msg_iov = BADPTR;
    tr_sendmmsg(u, sm, 3, 0);
    tr_getint(u, SOL_SOCKET, SO_ERROR);
    drain_all();
    note("sendmmsg: the first message fails");
    sm[0].msg_hdr.msg_namelen = 8;
    tr_sendmmsg(u, sm, 3, 0);
    sm[0].msg_hdr.msg_namelen = sizeof to;
    sm[1].msg_hdr.msg_namelen = 8;
    tr_sendmmsg(u, sm, 3, 0);
    tr_getint(u, SOL_SOCKET, SO_ERROR);
    drain_all();
    sm[1].msg_hdr.msg_namelen = sizeof to;
    sm[2].msg_hdr.msg_iov = &si[2];
    note("sendmmsg: vlen 0, a bad array, MSG_DONTWAIT, vlen 2000 failing at entry 2");
    tr_sendmmsg(u, sm, 0, 0);
    tr_sendmmsg(u, BADPTR, 1, 0);
    tr_sendmmsg(u, sm, 3, MSG_DONTWAIT);
    drain_all();
    /* A 2000-entry array where entry 2 fails: the count stops there, the clamp to
     * UIO_MAXIOV is not reached; the array is big enough for what the kernel reads. */
    static struct mmsghdr many[2000];
    memset(many, 0, sizeof many);
    for (int i = 0; i < 2000; i++) {
        many[i].msg_hdr.msg_iov = &si[0];
        many[i].msg_hdr.msg_iovlen = 1;
        many[i].msg_hdr.msg_name = &to;
        many[i].msg_hdr.msg_namelen = sizeof to;
    }
    many[2].msg_hdr.msg_iov = BADPTR;
    tr_sendmmsg(u, many, 2000, 0);
    drain_all();
    note("sendmmsg: vlen 2000 of empty datagrams to the discard port of 127.0.0.1");
    struct sockaddr_in discard = sin4("127.0.0.1", RX_PORT + 2);
    int sink = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind(sink, SA(&discard), sizeof discard);
    tr_setint(sink, SOL_SOCKET, SO_RCVBUF, 1 << 20);
    for (int i = 0; i < 2000; i++) {
        many[i].msg_hdr.msg_iov = NULL;
        many[i].msg_hdr.msg_iovlen = 0;
        many[i].msg_hdr.msg_name = &discard;
    }
    errno = 0;
    int sent = sendmmsg(u, many, 2000, 0);
    printf("sendmmsg(fd%d, n=2000, 0) = %d %s\n", u, sent, sent < 0 ? trace_errno_name(errno) : "");
    tr_close(sink);

    note("recvmmsg: fewer queued than asked, MSG_DONTWAIT");
    queue(3);
    reset_rx(sizeof rbuf[0]);
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    reset_rx(sizeof rbuf[0]);
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    note("recvmmsg: MSG_WAITFORONE returns what is there after the first");
    queue(2);
    reset_rx(sizeof rbuf[0]);
    tr_recvmmsg(rx, rm, N, MSG_WAITFORONE, NULL);
    note("recvmmsg: more queued than asked; short buffers (MSG_TRUNC per message)");
    queue(3);
    reset_rx(1);
    tr_recvmmsg(rx, rm, 2, 0, NULL);
    tr_recvmmsg(rx, rm, 2, MSG_DONTWAIT | MSG_TRUNC, NULL);
    drain_all();

    note("recvmmsg: the second message has a bad buffer");
    queue(3);
    reset_rx(sizeof rbuf[0]);
    ri[1].iov_base = BADPTR;
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    tr_getint(rx, SOL_SOCKET, SO_ERROR);
    tr_getint(rx, SOL_SOCKET, SO_ERROR);
    drain_all();
    note("recvmmsg: the error left by a partial receive is returned by the next call");
    queue(2);
    reset_rx(sizeof rbuf[0]);
    ri[1].iov_base = BADPTR;
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    reset_rx(sizeof rbuf[0]);
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    drain_all();
    note("recvmmsg: the first message has a bad buffer");
    queue(2);
    reset_rx(sizeof rbuf[0]);
    ri[0].iov_base = BADPTR;
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    tr_getint(rx, SOL_SOCKET, SO_ERROR);
    drain_all();

    note("recvmmsg: vlen 0, bad array, bad and invalid timeouts, empty queue");
    reset_rx(sizeof rbuf[0]);
    tr_recvmmsg(rx, rm, 0, MSG_DONTWAIT, NULL);
    tr_recvmmsg(rx, BADPTR, 2, MSG_DONTWAIT, NULL);
    struct timespec ts = { 0, -1 };
    tr_recvmmsg(rx, rm, N, 0, &ts);
    ts = (struct timespec){ 0, 1000000000 };
    tr_recvmmsg(rx, rm, N, 0, &ts);
    ts = (struct timespec){ -1, 0 };
    tr_recvmmsg(rx, rm, N, 0, &ts);
    tr_recvmmsg(rx, rm, N, 0, BADPTR);
    tr_recvmmsg(rx, rm, N, MSG_DONTWAIT, NULL);
    queue(1);
    ts = (struct timespec){ 0, 0 };
    tr_recvmmsg(rx, rm, 1, 0, &ts);

    note("recvmmsg: vlen past UIO_MAXIOV with one datagram queued");
    queue(1);
    static struct mmsghdr rmany[1100];
    static struct iovec rmanyiov[1100];
    static unsigned char one[1100][4];
    for (int i = 0; i < 1100; i++) {
        rmanyiov[i] = (struct iovec){ one[i], 4 };
        rmany[i].msg_hdr.msg_iov = &rmanyiov[i];
        rmany[i].msg_hdr.msg_iovlen = 1;
    }
    errno = 0;
    int got = recvmmsg(rx, rmany, 1100, MSG_DONTWAIT, NULL);
    printf("recvmmsg(fd%d, n=1100, MSG_DONTWAIT) = %d %s\n", rx, got,
           got < 0 ? trace_errno_name(errno) : "");

    tr_close(u);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
