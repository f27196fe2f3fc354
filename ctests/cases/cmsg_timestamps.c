/* cmsg_timestamps: the socket-level control messages recvmsg adds before the IP ones
 * (sock_recv_cmsgs): SO_TIMESTAMP, SO_TIMESTAMPNS, their _NEW forms, SO_TIMESTAMPING with
 * the software receive flags (and OPT_RX_FILTER), several at once with IP_PKTINFO (their
 * order), a timestamp cut short by a small buffer, and SO_RXQ_OVFL's drop count. Times print
 * as NOW when within 5 s of gettimeofday, 0 when zero, else FAR. */
#include "trace.h"
#include <linux/net_tstamp.h>

#define RX_PORT 5041
#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif

#ifndef SO_TIMESTAMP_NEW
#define SO_TIMESTAMP_NEW 63
#define SO_TIMESTAMPNS_NEW 64
#define SO_TIMESTAMPING_NEW 65
#endif

static int rx, tx;

static void put_time(long long sec, long long frac)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    if (sec == 0 && frac == 0)
        printf("0");
    else if (sec >= now.tv_sec - 5 && sec <= now.tv_sec + 5)
        printf("NOW");
    else
        printf("FAR");
}

/* Prints every control message; times normalised, everything else as values. */
static void receive(size_t controllen)
{
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } control;
    memset(&control, 0, sizeof control);
    unsigned char data[64];
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                        .msg_controllen = controllen };
    ssize_t n = recvmsg(rx, &m, MSG_DONTWAIT);
    int err = errno;
    printf("recvmsg(controllen=%zu) = %zd%s%s controllen=%zu ctrunc=%d", controllen, n,
           n < 0 ? " " : "", n < 0 ? trace_errno_name(err) : "", (size_t)m.msg_controllen,
           (m.msg_flags & MSG_CTRUNC) != 0);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c)) {
        size_t len = c->cmsg_len - CMSG_LEN(0);
        long long v[6] = { 0 };
        memcpy(v, CMSG_DATA(c), len < sizeof v ? len : sizeof v);
        printf(" [level=%d type=%d len=%zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && len >= 4) {
            unsigned drops;
            memcpy(&drops, CMSG_DATA(c), 4);
            printf(" drops=%u", drops);
        } else if (c->cmsg_level == SOL_SOCKET) {
            printf(" times=");
            for (size_t i = 0; i + 16 <= len && i < 48; i += 16) {
                printf(i ? "," : "");
                put_time(v[i / 8], v[i / 8 + 1]);
            }
            if (len >= 16)
                printf(" fraction<1e9:%d", v[1] >= 0 && v[1] < 1000000000);
            if (len % 16)
                printf(" tail=%zu", len % 16);
        } else if (c->cmsg_type == IP_PKTINFO && len >= 12) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            printf(" ifindex=%d", pi.ipi_ifindex);
        }
        printf("]");
    }
    printf("\n");
}

static void one(size_t controllen)
{
    tr_send(tx, "ts", 2, 0);
    quiet_wait_readable(rx, 2000);
    receive(controllen);
}

int main(void)
{
    trace_start("cmsg_timestamps");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(tx, "127.0.0.1", RX_PORT);

    /* Receive timestamps are taken only while some socket of the host wants them, and the
     * kernel turns them on asynchronously (net_enable_timestamp's deferred static key): a
     * socket with SO_TIMESTAMP held open for the whole case, and a pause, make sure every
     * datagram here is stamped on arrival, as the shim always does. */
    int keeper = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(keeper, SOL_SOCKET, SO_TIMESTAMP, 1);
    usleep(300 * 1000);

    note("each timestamp option alone");
    int names[] = { SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW };
    for (size_t i = 0; i < 4; i++) {
        tr_setint(rx, SOL_SOCKET, names[i], 1);
        one(256);
        tr_setint(rx, SOL_SOCKET, names[i], 0);
    }

    note("SO_TIMESTAMPING receive flags");
    int stamping[] = {
        SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE,
        SOF_TIMESTAMPING_SOFTWARE,
        SOF_TIMESTAMPING_RX_SOFTWARE,
        SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_RX_FILTER,
        SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_RX_FILTER,
    };
    for (size_t i = 0; i < sizeof stamping / sizeof stamping[0]; i++) {
        tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPING, stamping[i]);
        one(256);
    }
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPING_NEW,
              SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
    one(256);
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPING, 0);

    note("SO_TIMESTAMPNS + SO_TIMESTAMPING + IP_PKTINFO: the order");
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
    one(256);
    note("the same with short buffers");
    size_t lengths[] = { 16, 20, 32, 40, 48, 60, 80, 96, 100 };
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        one(lengths[i]);
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPING, 0);
    tr_setint(rx, SOL_SOCKET, SO_TIMESTAMPNS, 0);
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 0);

    note("SO_RXQ_OVFL: drops counted while a small buffer is full");
    tr_setint(rx, SOL_SOCKET, SO_RXQ_OVFL, 1);
    one(256);
    tr_setint(rx, SOL_SOCKET, SO_RCVBUF, 1);
    for (int i = 0; i < 5; i++)
        tr_send(tx, "drop?", 5, 0);
    quiet_wait_readable(rx, 2000);
    receive(256);
    receive(256);
    one(256);
    tr_setint(rx, SOL_SOCKET, SO_RXQ_OVFL, 0);
    one(256);

    tr_close(keeper);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
