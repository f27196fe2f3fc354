/* udp_loopback: datagrams between sockets of one process, via 127.0.0.1 and via the
 * host's own address 198.18.0.2; IP_PKTINFO on receipt; replies to the source
 * address; connected pairs; ECONNREFUSED from a closed local port. */
#include "trace.h"

static unsigned char big[65507], in[70000];

static void receive(int fd)
{
    char control[256];
    struct sockaddr_in name;
    struct iovec iov = { in, sizeof in };
    struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = control,
                        .msg_controllen = sizeof control };
    if (quiet_wait_readable(fd, 3000) != 1)
        printf("nothing within 3 s\n");
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
}

/* Silent: until one of the sockets (c may be -1) has a datagram, at most 3 s. */
static void wait_any(int a, int b, int c)
{
    struct pollfd p[3] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN },
                           { .fd = c, .events = POLLIN } };
    if (poll(p, 3, 3000) < 1)
        printf("nothing within 3 s\n");
}

int main(void)
{
    trace_start("udp_loopback");
    struct sockaddr_in from;
    socklen_t fromlen;

    const char *via[] = { "127.0.0.1", HOST_ADDR };
    for (int i = 0; i < 2; i++) {
        note("via %s: receiver bound to the wildcard address", via[i]);
        int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
        tr_bind4(rx, "0.0.0.0", 7000 + i);
        int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_sendto4(tx, "hello", 5, 0, via[i], 7000 + i);
        receive(rx);
        struct sockaddr_in txname;
        socklen_t len = sizeof txname;
        tr_getsockname(tx, SA(&txname), &len);
        note("reply to the source address");
        fromlen = sizeof from;
        tr_sendto4(tx, "again", 5, 0, via[i], 7000 + i);
        quiet_wait_readable(rx, 3000);
        tr_recvfrom(rx, in, sizeof in, 0, SA(&from), &fromlen);
        expect_long("source port is the sender's port", ntohs(from.sin_port),
                    quiet_local_port(tx));
        tr_sendto(rx, "reply", 5, 0, SA(&from), fromlen);
        tr_setint(tx, IPPROTO_IP, IP_PKTINFO, 1);
        receive(tx);
        note("largest datagram");
        trace_fill(big, sizeof big, (unsigned)i);
        tr_sendto4(tx, big, sizeof big, 0, via[i], 7000 + i);
        receive(rx);
        check(memcmp(in, big, sizeof big) == 0, "65507 bytes intact");
        tr_close(tx);
        tr_close(rx);
    }

    note("receiver bound to 127.0.0.1; datagrams to 198.18.0.2 and to 127.0.0.1");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", 7002);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(tx, "wrong", 5, 0, HOST_ADDR, 7002);
    tr_sendto4(tx, "right", 5, 0, "127.0.0.1", 7002);
    receive(rx);
    fromlen = sizeof from;
    tr_recvfrom(rx, in, sizeof in, MSG_DONTWAIT, SA(&from), &fromlen);
    tr_close(tx);
    tr_close(rx);

    note("a connected pair");
    int a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int b = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(a, HOST_ADDR, 7003);
    tr_bind4(b, HOST_ADDR, 7004);
    tr_connect4(a, HOST_ADDR, 7004);
    tr_connect4(b, HOST_ADDR, 7003);
    tr_send(a, "a->b", 4, 0);
    quiet_wait_readable(b, 3000);
    tr_recv(b, in, sizeof in, 0);
    tr_send(b, "b->a", 4, 0);
    quiet_wait_readable(a, 3000);
    tr_recv(a, in, sizeof in, 0);
    note("a third socket's datagram to a connected socket is filtered");
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(c, "c->a", 4, 0, HOST_ADDR, 7003);
    tr_send(b, "b->a", 4, 0);
    quiet_wait_readable(a, 3000);
    tr_recv(a, in, sizeof in, 0);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_close(c);
    note("peer closed: ECONNREFUSED on the survivor");
    tr_close(b);
    tr_send(a, "gone", 4, 0);
    quiet_wait_readable(a, 3000);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_close(a);

    note("127.0.0.1 port with no socket: connected sender gets ECONNREFUSED");
    a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(a, "127.0.0.1", 7999);
    tr_send(a, "nobody", 6, 0);
    quiet_wait_readable(a, 3000);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_close(a);

    note("two SO_REUSEADDR sockets on one port: which gets a unicast datagram");
    a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    b = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(a, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(b, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(a, "0.0.0.0", 7005);
    tr_bind4(b, "0.0.0.0", 7005);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(tx, "who", 3, 0, "127.0.0.1", 7005);
    wait_any(a, b, -1);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_recv(b, in, sizeof in, MSG_DONTWAIT);
    note("a third socket bound to the more specific 127.0.0.1");
    c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(c, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(c, "127.0.0.1", 7005);
    tr_sendto4(tx, "who", 3, 0, "127.0.0.1", 7005);
    wait_any(a, b, c);
    tr_recv(a, in, sizeof in, MSG_DONTWAIT);
    tr_recv(b, in, sizeof in, MSG_DONTWAIT);
    tr_recv(c, in, sizeof in, MSG_DONTWAIT);
    tr_close(tx);
    tr_close(c);
    tr_close(b);
    tr_close(a);
    return trace_end();
}
