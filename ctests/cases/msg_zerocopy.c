/* msg_zerocopy: MSG_ZEROCOPY on UDP sockets sending to the peer: ignored without SO_ZEROCOPY,
 * with it each send takes the next id of the socket's counter and completes with an
 * SO_EE_ORIGIN_ZEROCOPY notification (ee_info..ee_data, consecutive ranges coalesced into the
 * queue's last notification; ee_code COPIED since the data was copied), a failed send gives
 * its id back, and the notification's own control messages. */
#include "trace.h"
#include <linux/errqueue.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static void read_error(int fd)
{
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } control;
    memset(&control, 0, sizeof control);
    unsigned char data[64];
    struct sockaddr_in from;
    memset(&from, 0xee, sizeof from);
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = &control,
                        .msg_controllen = sizeof control };
    ssize_t n = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
        printf("recvmsg(ERRQUEUE) = -1 %s\n", trace_errno_name(errno));
        return;
    }
    printf("recvmsg(ERRQUEUE) = %zd flags=%#x namelen=%u controllen=%zu\n", n, m.msg_flags,
           (unsigned)m.msg_namelen, (size_t)m.msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        printf("  cmsg level=%d type=%d len=%zu", c->cmsg_level, c->cmsg_type,
               (size_t)c->cmsg_len);
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) {
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof ee);
            struct sockaddr_in off;
            memcpy(&off, CMSG_DATA(c) + sizeof ee, sizeof off);
            printf(" errno=%s origin=%u type=%u code=%u info=%u data=%u offender=%u",
                   ee.ee_errno ? trace_errno_name(ee.ee_errno) : "0", ee.ee_origin, ee.ee_type,
                   ee.ee_code, ee.ee_info, ee.ee_data, off.sin_family);
        }
        printf("\n");
    }
}

static void zsend(int fd, size_t len, int flags)
{
    char payload[2000];
    memset(payload, 0x42, sizeof payload);
    tr_send(fd, payload, len, flags);
    usleep(20 * 1000);
}

int main(void)
{
    trace_start("msg_zerocopy");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);

    note("without SO_ZEROCOPY the flag is ignored");
    zsend(fd, 10, MSG_ZEROCOPY);
    read_error(fd);

    note("SO_ZEROCOPY: one id per send, consecutive completions coalesce");
    tr_setint(fd, SOL_SOCKET, SO_ZEROCOPY, 1);
    zsend(fd, 10, MSG_ZEROCOPY);
    struct pollfd p = { fd, POLLIN, 0 };
    tr_poll(&p, 1, 0);
    read_error(fd);
    read_error(fd);
    zsend(fd, 10, MSG_ZEROCOPY);
    zsend(fd, 20, MSG_ZEROCOPY);
    zsend(fd, 30, MSG_ZEROCOPY);
    zsend(fd, 30, 0);
    zsend(fd, 40, MSG_ZEROCOPY);
    read_error(fd);
    read_error(fd);

    note("a zero-length send takes no id; a failing send gives its id back");
    zsend(fd, 0, MSG_ZEROCOPY);
    zsend(fd, 1800, MSG_ZEROCOPY);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    zsend(fd, 1600, MSG_ZEROCOPY);
    zsend(fd, 5, MSG_ZEROCOPY);
    read_error(fd);
    read_error(fd);

    note("a notification's control messages (SO_TIMESTAMP, IP_PKTINFO)");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    zsend(fd, 5, MSG_ZEROCOPY);
    read_error(fd);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 0);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 0);

    note("corked: MSG_MORE sends share one id range");
    zsend(fd, 5, MSG_ZEROCOPY | MSG_MORE);
    zsend(fd, 5, MSG_ZEROCOPY | MSG_MORE);
    zsend(fd, 5, MSG_ZEROCOPY);
    read_error(fd);
    read_error(fd);

    note("SO_ZEROCOPY off again: the flag is ignored");
    tr_setint(fd, SOL_SOCKET, SO_ZEROCOPY, 0);
    zsend(fd, 5, MSG_ZEROCOPY);
    read_error(fd);
    tr_close(fd);
    return trace_end();
}
