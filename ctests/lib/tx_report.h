/* tx_report.h: reading SO_TIMESTAMPING transmit reports and MSG_ZEROCOPY completions from
 * the error queue in a case (include after trace.h): each entry's length, flags, name, the
 * looped frame's identifying bytes, and every control message (SO_TIMESTAMPING's three
 * times as "nonzero"/"zero", IP_RECVERR's sock_extended_err and offender, IP_PKTINFO,
 * IP_TTL). */
#ifndef IPSHIM_CTESTS_TX_REPORT_H
#define IPSHIM_CTESTS_TX_REPORT_H

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <string.h>
#include <sys/socket.h>

/* One MSG_ERRQUEUE read, every field printed. */
static inline void read_error(int fd)
{
    union {
        struct cmsghdr align;
        unsigned char bytes[512];
    } control;
    memset(&control, 0, sizeof control);
    unsigned char data[256];
    memset(data, 0, sizeof data);
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
    printf("recvmsg(ERRQUEUE) = %zd flags=%#x namelen=%u", n, m.msg_flags,
           (unsigned)m.msg_namelen);
    if (m.msg_namelen >= sizeof from)
        printf(" name=%s:%u", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
    if (n >= 14) {
        int zero_macs = 1;
        for (int i = 0; i < 12; i++)
            zero_macs &= data[i] == 0;
        printf(" macs=%s data[12..14]=%02x%02x", zero_macs ? "zero" : "set", data[12], data[13]);
    }
    if (n >= 34)
        printf(" ip.proto=%u ip.len=%u", data[14 + 9], (data[16] << 8) | data[17]);
    if (n > 0)
        printf(" last=%02x", data[n - 1]);
    printf(" controllen=%zu\n", (size_t)m.msg_controllen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        printf("  cmsg level=%d type=%d len=%zu", c->cmsg_level, c->cmsg_type,
               (size_t)c->cmsg_len);
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
            struct timespec ts[3];
            memcpy(ts, CMSG_DATA(c), sizeof ts);
            for (int i = 0; i < 3; i++)
                printf(" ts%d=%s", i, ts[i].tv_sec || ts[i].tv_nsec ? "nonzero" : "zero");
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) {
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(c), sizeof ee);
            struct sockaddr_in off;
            memcpy(&off, CMSG_DATA(c) + sizeof ee, sizeof off);
            printf(" errno=%s origin=%u type=%u code=%u info=%u data=%u offender=%u/%s",
                   ee.ee_errno ? trace_errno_name(ee.ee_errno) : "0", ee.ee_origin, ee.ee_type,
                   ee.ee_code, ee.ee_info, ee.ee_data, off.sin_family, inet_ntoa(off.sin_addr));
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            printf(" ifindex=%d spec_dst=%s", pi.ipi_ifindex, inet_ntoa(pi.ipi_spec_dst));
            printf(" addr=%s", inet_ntoa(pi.ipi_addr));
        } else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) {
            int ttl;
            memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
            printf(" ttl=%d", ttl);
        }
        printf("\n");
    }
}

static inline void drain(int fd, int max)
{
    for (int i = 0; i < max; i++)
        read_error(fd);
}

#endif
