/* cmsg_send_errors: every way sendmsg's control buffer can be malformed or refused on a UDP
 * socket, with the errno of udp_cmsg_send / ip_cmsg_send / __sock_cmsg_send: cmsg_len below
 * the header or past msg_controllen (first or second message), msg_controllen shorter than
 * a header or not a multiple of 8, unknown levels (skipped) and types (EINVAL) at SOL_IP,
 * SOL_SOCKET and SOL_UDP, wrong data sizes for IP_TTL/IP_TOS/IP_PKTINFO/IP_RETOPTS/UDP_SEGMENT
 * and the socket-level ones, values out of range, SCM_RIGHTS and SCM_CREDENTIALS on an inet
 * socket, SO_MARK, SO_PRIORITY, SO_TIMESTAMPING, SCM_TXTIME, SCM_TS_OPT_ID; on UDP and
 * UDP-Lite. After each accepted send the receiver shows what arrived. */
#include "trace.h"
#include "control_build.h"
#include "queue_drain.h"
#include <linux/capability.h>
#include <linux/net_tstamp.h>
#include <sys/syscall.h>
#include <time.h>

#define RX_PORT 5061
#ifndef SCM_TXTIME
#define SCM_TXTIME 61
#endif
#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int rx;

static ssize_t send_control(int fd, const char *text, struct control *c, size_t controllen)
{
    struct sockaddr_in dest = sin4("127.0.0.1", RX_PORT);
    struct iovec iov = { (void *)text, strlen(text) };
    struct msghdr m = { .msg_name = &dest, .msg_namelen = sizeof dest, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = c->u.bytes, .msg_controllen = controllen };
    return tr_sendmsg(fd, &m, 0);
}

static void send_one(int fd, const char *text, struct control *c)
{
    send_control(fd, text, c, c->len);
}

/* Sends `text` with one control message: `len` bytes of `data`, or an int. */
static void send_single(int fd, const char *text, int level, int type, const void *data,
                        size_t len)
{
    struct control c;
    memset(&c, 0, sizeof c);
    control_add(&c, level, type, data, len);
    send_one(fd, text, &c);
}

static void send_single_int(int fd, const char *text, int level, int type, int value)
{
    send_single(fd, text, level, type, &value, sizeof value);
}

static void drain(void)
{
    usleep(20 * 1000);
    drain_traced(rx, 64, 2048, 256, 0);
}

/* Reads every queued datagram; prints their sizes run-length encoded ("1000x3 500x1"). */
static void drain_counting(void)
{
    usleep(20 * 1000);
    static unsigned char data[65536];
    long last = -1, run = 0;
    printf("  received:");
    for (int k = 0; k < 400; k++) {
        ssize_t n = recv(rx, data, sizeof data, MSG_DONTWAIT);
        if (n < 0)
            break;
        if (n != last && run) {
            printf(" %ldx%ld", last, run);
            run = 0;
        }
        last = n;
        run++;
    }
    if (run)
        printf(" %ldx%ld", last, run);
    printf("\n");
}

static void run(int fd)
{
    struct control c;
    unsigned char zeros[64] = { 0 };

    note("cmsg_len below the header, past the buffer, and short buffers");
    long deltas[] = { -16, -9, -1, 1, 8 };
    for (size_t i = 0; i < 5; i++) {
        memset(&c, 0, sizeof c);
        control_add_raw(&c, IPPROTO_IP, IP_TTL, &(int){ 9 }, sizeof(int), deltas[i]);
        send_one(fd, "len", &c);
    }
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 9);
    size_t lengths[] = { 1, 8, 15, 16, 19, 20, 21, 23, 24, 25 };
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        send_control(fd, "ctl-len", &c, lengths[i]);
    drain();
    note("a second message past the end, cut short, or with a bad length");
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 9);
    control_add_int(&c, IPPROTO_IP, IP_TOS, 0x10);
    size_t second[] = { 24 + 8, 24 + 15, 24 + 16, 24 + 19, 24 + 20, 48 };
    for (size_t i = 0; i < sizeof second / sizeof second[0]; i++)
        send_control(fd, "second", &c, second[i]);
    ((struct cmsghdr *)(c.u.bytes + 24))->cmsg_len = 15;
    send_one(fd, "second-short", &c);
    ((struct cmsghdr *)(c.u.bytes + 24))->cmsg_len = 0;
    send_one(fd, "second-zero", &c);
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, 99, 1);
    control_add_raw(&c, IPPROTO_IP, IP_TTL, &(int){ 9 }, sizeof(int), -20);
    send_one(fd, "unknown-then-bad", &c);
    memset(&c, 0, sizeof c);
    control_add_int(&c, SOL_UDP, 99, 1);
    control_add_raw(&c, IPPROTO_IP, IP_TTL, &(int){ 9 }, sizeof(int), -20);
    send_one(fd, "udp-unknown-then-bad", &c);
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 9);
    control_add_raw(&c, SOL_UDP, UDP_SEGMENT, zeros, 2, 100);
    send_one(fd, "ip-then-bad-udp", &c);
    drain();

    note("levels: unknown ones are skipped");
    int levels[] = { 41, 255, 999, -1, 6 };
    for (size_t i = 0; i < 5; i++)
        send_single_int(fd, "level", levels[i], 1, 1);
    drain();

    note("SOL_IP: types and sizes");
    int ip_types[] = { 0, IP_OPTIONS, IP_HDRINCL, IP_RECVOPTS, IP_RECVTTL, IP_RECVTOS,
                       IP_MTU_DISCOVER, IP_RECVERR, IP_ORIGDSTADDR, 52, 99 };
    for (size_t i = 0; i < sizeof ip_types / sizeof ip_types[0]; i++)
        send_single_int(fd, "ip-type", IPPROTO_IP, ip_types[i], 1);
    size_t sizes[] = { 0, 1, 2, 3, 4, 5, 8, 12, 16 };
    int kinds[] = { IP_TTL, IP_TOS, IP_PKTINFO };
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            memset(&c, 0, sizeof c);
            unsigned char data[16] = { 5 };
            control_add(&c, IPPROTO_IP, kinds[k], data, sizes[i]);
            send_one(fd, "ip-size", &c);
        }
    drain();
    note("IP_TTL and IP_TOS values");
    int ttls[] = { -1, 0, 1, 255, 256, 0x10000 + 5 };
    for (size_t i = 0; i < 6; i++)
        send_single_int(fd, "ttl", IPPROTO_IP, IP_TTL, ttls[i]);
    int toses[] = { -1, 0, 0xff, 0x100, 0x1ff };
    for (size_t i = 0; i < 5; i++)
        send_single_int(fd, "tos", IPPROTO_IP, IP_TOS, toses[i]);
    drain();
    note("IP_PROTOCOL (raw sockets only use it; its checks still apply)");
    int protocols[] = { 0, 1, 17, 255, 256 };
    for (size_t i = 0; i < 5; i++)
        send_single_int(fd, "proto", IPPROTO_IP, 52, protocols[i]);
    send_single(fd, "proto-byte", IPPROTO_IP, 52, zeros, 1);
    drain();

    note("IP_RETOPTS: empty, NOPs, record route, bad lists, longer than 40");
    struct {
        const char *what;
        unsigned char bytes[48];
        size_t len;
    } lists[] = {
        { "empty", { 0 }, 0 },
        { "nop4", { 1, 1, 1, 1 }, 4 },
        { "end", { 0 }, 1 },
        { "rr", { 7, 7, 4, 0, 0, 0, 0, 0 }, 8 },
        { "rr-bad-ptr", { 7, 7, 3, 0, 0, 0, 0, 0 }, 8 },
        { "rr-bad-len", { 7, 2, 4, 0 }, 4 },
        { "rr-too-long", { 7, 9, 4, 0, 0, 0, 0, 0 }, 8 },
        { "ts", { 68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
        { "ts-bad-flag", { 68, 12, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
        { "ra", { 148, 4, 0, 0 }, 4 },
        { "unknown", { 30, 4, 0, 0 }, 4 },
        { "lsrr", { 131, 7, 4, 198, 18, 0, 1, 0 }, 8 },
        { "ssrr", { 137, 7, 4, 198, 18, 0, 1, 0 }, 8 },
        { "lsrr-empty", { 131, 3, 4, 0 }, 4 },
        { "cipso", { 134, 6, 0, 0, 0, 1 }, 6 },
        { "sec", { 130, 11, 0 }, 12 },
        { "nop44", { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 44 },
        { "rr-44", { 7, 43, 4 }, 44 },
        { "nop3", { 1, 1, 1 }, 3 },
    };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        send_single(fd, lists[i].what, IPPROTO_IP, IP_RETOPTS, lists[i].bytes, lists[i].len);
    drain();

    note("SOL_SOCKET: types, sizes, values (run as root: CAP_NET_ADMIN)");
    int fds[2] = { 0, 1 };
    send_single(fd, "rights", SOL_SOCKET, SCM_RIGHTS, fds, sizeof fds);
    struct ucred cred = { 1, 0, 0 }; /* not checked on an inet socket */
    send_single(fd, "creds", SOL_SOCKET, SCM_CREDENTIALS, &cred, sizeof cred);
    send_single(fd, "rights-empty", SOL_SOCKET, SCM_RIGHTS, zeros, 0);
    int socket_types[] = { SO_MARK, SO_PRIORITY, SO_TIMESTAMPING, 65, SCM_TXTIME,
                           SCM_TS_OPT_ID, SO_RCVBUF, SO_TIMESTAMP, 999 };
    size_t socket_sizes[] = { 0, 2, 4, 8 };
    for (size_t t = 0; t < sizeof socket_types / sizeof socket_types[0]; t++)
        for (size_t i = 0; i < 4; i++) {
            memset(&c, 0, sizeof c);
            unsigned char data[8] = { 1 };
            control_add(&c, SOL_SOCKET, socket_types[t], data, socket_sizes[i]);
            send_one(fd, "sol-socket", &c);
        }
    unsigned priorities[] = { 0, 6, 7, 0xffffffff };
    for (size_t i = 0; i < 4; i++)
        send_single(fd, "prio", SOL_SOCKET, SO_PRIORITY, &priorities[i], 4);
    unsigned stamping[] = { SOF_TIMESTAMPING_TX_SOFTWARE, SOF_TIMESTAMPING_TX_SCHED,
                            SOF_TIMESTAMPING_TX_ACK, SOF_TIMESTAMPING_RX_SOFTWARE,
                            SOF_TIMESTAMPING_SOFTWARE, SOF_TIMESTAMPING_OPT_ID };
    for (size_t i = 0; i < sizeof stamping / sizeof stamping[0]; i++)
        send_single(fd, "stamping", SOL_SOCKET, SO_TIMESTAMPING, &stamping[i], 4);
    drain();

    note("SOL_UDP: UDP_SEGMENT sizes and values, unknown types");
    unsigned short segments[] = { 0, 1, 100, 1472, 1473, 65535 };
    for (size_t i = 0; i < sizeof segments / sizeof segments[0]; i++)
        send_single(fd, "gso", SOL_UDP, UDP_SEGMENT, &segments[i], 2);
    size_t gso_sizes[] = { 0, 1, 4 };
    for (size_t i = 0; i < 3; i++)
        send_single(fd, "gso-size", SOL_UDP, UDP_SEGMENT, zeros, gso_sizes[i]);
    note("UDP_SEGMENT with larger datagrams: through loopback, and to the peer (MTU 1500)");
    static unsigned char big[70000];
    struct {
        const char *to;
        unsigned port;
        size_t len;
        unsigned short gso;
    } gso_sends[] = {
        { "127.0.0.1", RX_PORT, 3000, 1000 }, { "127.0.0.1", RX_PORT, 2000, 1500 },
        { "127.0.0.1", RX_PORT, 129000, 1000 }, { "127.0.0.1", RX_PORT, 60000, 400 },
        { "127.0.0.1", RX_PORT, 20000, 500 },  { PEER_ADDR, PORT_DISCARD, 3000, 1473 },
        { PEER_ADDR, PORT_DISCARD, 1400, 1473 }, { PEER_ADDR, PORT_DISCARD, 1473, 1473 },
        /* Segmented sends to the peer are left out: the kernel hands veth one GSO
         * super-frame, the shim the segments; the wire comparison would differ. */
    };
    for (size_t i = 0; i < sizeof gso_sends / sizeof gso_sends[0]; i++) {
        memset(&c, 0, sizeof c);
        control_add(&c, SOL_UDP, UDP_SEGMENT, &gso_sends[i].gso, 2);
        struct sockaddr_in dest = sin4(gso_sends[i].to, gso_sends[i].port);
        size_t len = gso_sends[i].len < sizeof big ? gso_sends[i].len : sizeof big;
        struct iovec iov = { big, len };
        struct msghdr m = { .msg_name = &dest, .msg_namelen = sizeof dest, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = c.u.bytes, .msg_controllen = c.len };
        errno = 0;
        ssize_t n = sendmsg(fd, &m, 0);
        printf("sendmsg(to=%s len=%zu gso=%u) = %zd %s\n", gso_sends[i].to, len,
               gso_sends[i].gso, n, n < 0 ? trace_errno_name(errno) : "");
        if (strcmp(gso_sends[i].to, "127.0.0.1") == 0)
            drain_counting();
    }
    int udp_types[] = { 1, 100, 104, 99 };
    for (size_t i = 0; i < 4; i++)
        send_single_int(fd, "udp-type", SOL_UDP, udp_types[i], 1);
    note("order: a bad SOL_UDP message after a bad SOL_IP one, and the reverse");
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 0);
    control_add_int(&c, SOL_UDP, 99, 1);
    send_one(fd, "ip-bad-then-udp-bad", &c);
    memset(&c, 0, sizeof c);
    control_add_int(&c, SOL_SOCKET, 999, 0);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 0);
    send_one(fd, "socket-bad-then-ip-bad", &c);
    memset(&c, 0, sizeof c);
    control_add_int(&c, IPPROTO_IP, IP_TTL, 0);
    control_add_int(&c, SOL_SOCKET, 999, 0);
    send_one(fd, "ip-bad-then-socket-bad", &c);
    drain();
}

/* Drops CAP_NET_ADMIN and CAP_NET_RAW from the effective set (the permitted set keeps them). */
static int drop_net_caps(void)
{
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return -1;
    data[0].effective &= ~((1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW));
    return (int)syscall(SYS_capset, &header, data);
}

static void options_needing_a_flag(int fd)
{
    struct control c;
    note("SCM_TXTIME with SO_TXTIME on; SCM_TS_OPT_ID with SOF_TIMESTAMPING_OPT_ID");
    struct {
        int clockid;
        unsigned flags;
    } txtime = { CLOCK_MONOTONIC, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    unsigned long long when = 0;
    size_t sizes[] = { 4, 8, 12 };
    for (size_t i = 0; i < 3; i++) {
        memset(&c, 0, sizeof c);
        unsigned char data[12] = { 0 };
        memcpy(data, &when, sizeof when);
        control_add(&c, SOL_SOCKET, SCM_TXTIME, data, sizes[i]);
        send_one(fd, "txtime", &c);
    }
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_OPT_ID);
    size_t id_sizes[] = { 2, 4, 8 };
    for (size_t i = 0; i < 3; i++) {
        memset(&c, 0, sizeof c);
        unsigned char data[8] = { 7 };
        control_add(&c, SOL_SOCKET, SCM_TS_OPT_ID, data, id_sizes[i]);
        send_one(fd, "ts-opt-id", &c);
    }
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, 0);
    drain();
}

static void unprivileged(void)
{
    note("without CAP_NET_ADMIN and CAP_NET_RAW (a socket made after dropping them)");
    check(drop_net_caps() == 0, "capabilities dropped");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    unsigned marks[] = { 0, 1 };
    for (size_t i = 0; i < 2; i++)
        send_single(fd, "mark", SOL_SOCKET, SO_MARK, &marks[i], 4);
    send_single(fd, "mark-short", SOL_SOCKET, SO_MARK, &marks[1], 2);
    unsigned priorities[] = { 0, 6, 7, 0xffffffff };
    for (size_t i = 0; i < 4; i++)
        send_single(fd, "prio", SOL_SOCKET, SO_PRIORITY, &priorities[i], 4);
    send_single(fd, "prio-short", SOL_SOCKET, SO_PRIORITY, &priorities[2], 2);
    unsigned char unknown[4] = { 30, 4, 0, 0 }, sec[12] = { 130, 11, 0 }, ra[4] = { 148, 4, 0, 0 };
    send_single(fd, "retopts-unknown", IPPROTO_IP, IP_RETOPTS, unknown, sizeof unknown);
    send_single(fd, "retopts-sec", IPPROTO_IP, IP_RETOPTS, sec, sizeof sec);
    send_single(fd, "retopts-ra", IPPROTO_IP, IP_RETOPTS, ra, sizeof ra);
    drain();
    tr_close(fd);
}

int main(void)
{
    trace_start("cmsg_send_errors");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 1);

    note("UDP (senders on fixed ports: UDP-Lite frames on the wire show them)");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "0.0.0.0", RX_PORT + 1);
    run(fd);
    tr_close(fd);
    tr_close(rx);

    note("UDP-Lite");
    rx = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 1);
    fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_bind4(fd, "0.0.0.0", RX_PORT + 2);
    run(fd);
    tr_close(fd);
    tr_close(rx);

    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    options_needing_a_flag(fd);
    tr_close(fd);
    unprivileged();
    tr_close(rx);
    return trace_end();
}
