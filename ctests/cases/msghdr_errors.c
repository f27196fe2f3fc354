/* msghdr_errors: sendmsg/recvmsg with broken msghdr fields (bad msg/msg_iov/msg_name/
 * msg_control pointers, iovlen past UIO_MAXIOV, negative and oversized namelen,
 * MSG_CMSG_COMPAT), control buffers on receive (IP_PKTINFO + IP_TTL fitting, too
 * small: MSG_CTRUNC, NULL with a length, a bad pointer), control messages on send
 * (valid, unknown, malformed), and the optmem_max boundary for a sendmsg control
 * buffer (ENOBUFS). Whether each failed receive consumed the datagram is printed. */
#include "trace.h"

#define RX_PORT 9211

static int rx, tx;

static void queue(const char *text)
{
    tr_send(tx, text, strlen(text), 0);
    quiet_wait_readable(rx, 3000);
}

static void drain(void)
{
    unsigned char buf[128];
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
}

static long read_sysctl(const char *path)
{
    long v = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

int main(void)
{
    trace_start("msghdr_errors");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(tx, "127.0.0.1", RX_PORT);
    unsigned char data[64];
    struct sockaddr_in from;
    struct iovec iov = { data, sizeof data };
    struct msghdr m;

    note("recvmsg: broken msghdr with a datagram queued");
    queue("q1");
    tr_recvmsg(rx, BADPTR, 0);
    m = (struct msghdr){ .msg_iov = BADPTR, .msg_iovlen = 1 };
    tr_recvmsg(rx, &m, 0);
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1025 };
    tr_recvmsg(rx, &m, 0);
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_name = &from,
                         .msg_namelen = (socklen_t)-1 };
    tr_recvmsg(rx, &m, 0);
    m.msg_namelen = sizeof from;
    tr_recvmsg(rx, &m, MSG_DONTWAIT | (int)0x80000000);
    drain();

    note("recvmsg: a bad msg_name, a NULL msg_name with a length, a huge namelen");
    queue("q2");
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_name = BADPTR,
                         .msg_namelen = sizeof from };
    tr_recvmsg(rx, &m, 0);
    drain();
    queue("q3");
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_name = NULL, .msg_namelen = 16 };
    tr_recvmsg(rx, &m, 0);
    printf("namelen after: %u\n", (unsigned)m.msg_namelen);
    queue("q4");
    struct sockaddr_storage ss;
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_name = &ss, .msg_namelen = 4096 };
    tr_recvmsg(rx, &m, 0);
    queue("q5");
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_name = &from, .msg_namelen = 3 };
    tr_recvmsg(rx, &m, 0);

    note("recvmsg control: IP_PKTINFO and IP_TTL, then smaller buffers");
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } ctl;
    size_t sizes[] = { sizeof ctl, CMSG_SPACE(sizeof(struct in_pktinfo)),
                       CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_LEN(sizeof(int)) - 1,
                       CMSG_LEN(sizeof(struct in_pktinfo)), 20, sizeof(struct cmsghdr), 8, 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        queue("ctl");
        memset(&ctl, 0, sizeof ctl);
        m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
                             .msg_controllen = sizes[i] };
        tr_recvmsg(rx, &m, 0);
    }
    note("recvmsg control: NULL with a length, a bad pointer");
    queue("ctl-null");
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = NULL,
                         .msg_controllen = 100 };
    tr_recvmsg(rx, &m, 0);
    printf("controllen after: %zu flags=%#x\n", (size_t)m.msg_controllen, (unsigned)m.msg_flags);
    queue("ctl-bad");
    m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = BADPTR,
                         .msg_controllen = 100 };
    tr_recvmsg(rx, &m, 0);
    printf("controllen after: %zu flags=%#x\n", (size_t)m.msg_controllen, (unsigned)m.msg_flags);
    drain();
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 0);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 0);

    note("sendmsg: broken msghdr (each followed by a check of what arrived)");
    struct sockaddr_in to = sin4("127.0.0.1", RX_PORT);
    struct iovec good = { "s", 1 };
    int u = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendmsg(u, BADPTR, 0);
    m = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = BADPTR,
                         .msg_iovlen = 1 };
    tr_sendmsg(u, &m, 0);
    m.msg_iov = &good;
    m.msg_iovlen = 1025;
    tr_sendmsg(u, &m, 0);
    m.msg_iovlen = 1;
    m.msg_namelen = (socklen_t)-1;
    tr_sendmsg(u, &m, 0);
    m.msg_namelen = 200;
    tr_sendmsg(u, &m, 0);
    m.msg_namelen = 8;
    tr_sendmsg(u, &m, 0);
    m.msg_namelen = 0;
    tr_sendmsg(u, &m, 0);
    m.msg_name = BADPTR;
    m.msg_namelen = sizeof to;
    tr_sendmsg(u, &m, 0);
    m.msg_name = NULL;
    tr_sendmsg(u, &m, 0);
    m.msg_name = &to;
    tr_sendmsg(u, &m, (int)0x80000000);
    drain();

    note("sendmsg control: bad pointer, too short, cmsg_len past the buffer");
    m = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &good,
                         .msg_iovlen = 1, .msg_control = BADPTR, .msg_controllen = 64 };
    tr_sendmsg(u, &m, 0);
    memset(&ctl, 0, sizeof ctl);
    m.msg_control = &ctl;
    m.msg_controllen = 8;
    tr_sendmsg(u, &m, 0);
    struct cmsghdr *c = (struct cmsghdr *)ctl.bytes;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_TTL;
    c->cmsg_len = CMSG_LEN(sizeof(int)) + 64;
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    tr_sendmsg(u, &m, 0);
    c->cmsg_len = sizeof(struct cmsghdr) - 1;
    tr_sendmsg(u, &m, 0);
    drain();

    note("sendmsg control: valid IP_TTL, IP_TOS, IP_PKTINFO; unknown type; other level");
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    int ttl = 9;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    tr_sendmsg(u, &m, 0);
    quiet_wait_readable(rx, 3000);
    m.msg_control = &ctl;
    struct msghdr r = { .msg_iov = &iov, .msg_iovlen = 1 };
    union {
        struct cmsghdr align;
        unsigned char bytes[128];
    } rctl;
    r.msg_control = &rctl;
    r.msg_controllen = sizeof rctl;
    tr_recvmsg(rx, &r, MSG_DONTWAIT);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 0);
    ttl = 256;
    memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    tr_sendmsg(u, &m, 0);
    ttl = 0;
    memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    tr_sendmsg(u, &m, 0);
    drain();
    c->cmsg_type = IP_TOS;
    int tos = 0x10;
    memcpy(CMSG_DATA(c), &tos, sizeof tos);
    tr_sendmsg(u, &m, 0);
    c->cmsg_len = CMSG_LEN(1);
    tr_sendmsg(u, &m, 0);
    drain();
    drain();
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = { .ipi_ifindex = 0 };
    inet_pton(AF_INET, "127.0.0.1", &pi.ipi_spec_dst);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    m.msg_controllen = CMSG_SPACE(sizeof pi);
    tr_sendmsg(u, &m, 0);
    drain();
    c->cmsg_len = CMSG_LEN(sizeof(int));
    m.msg_controllen = CMSG_SPACE(sizeof(int));
    tr_sendmsg(u, &m, 0);
    c->cmsg_type = 99;
    tr_sendmsg(u, &m, 0);
    c->cmsg_level = 999;
    tr_sendmsg(u, &m, 0);
    drain();
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 99;
    tr_sendmsg(u, &m, 0);
    drain();

    note("sendmsg control buffer around optmem_max (contents zero)");
    long optmem = read_sysctl("/proc/sys/net/core/optmem_max");
    check(optmem > 0 && optmem < (1 << 22), "optmem_max readable");
    if (optmem > 0 && optmem < (1 << 22)) {
        unsigned char *big = calloc(1, (size_t)optmem + 64);
        long deltas[] = { -64, -1, 0, 1, 64 };
        for (int i = 0; i < 5; i++) {
            m.msg_control = big;
            m.msg_controllen = (size_t)(optmem + deltas[i]);
            errno = 0;
            ssize_t ret = sendmsg(u, &m, 0);
            printf("sendmsg(controllen=optmem_max%+ld) = %zd %s\n", deltas[i], ret,
                   ret < 0 ? trace_errno_name(errno) : "");
        }
        free(big);
        m.msg_controllen = (size_t)1 << 31;
        errno = 0;
        ssize_t ret = sendmsg(u, &m, 0);
        printf("sendmsg(controllen=2^31) = %zd %s\n", ret, ret < 0 ? trace_errno_name(errno) : "");
    }
    drain();

    tr_close(u);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
