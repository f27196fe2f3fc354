/* socket_create: socket(AF_INET, SOCK_DGRAM, ...) with the protocols UDP serves, bad
 * types, bad flags, bad protocols; the fd numbers handed out; SOCK_NONBLOCK and
 * SOCK_CLOEXEC as fcntl sees them. (STREAM/RAW/ICMP: socket_create_other.) */
#include "trace.h"

static void show_flags(int fd)
{
    tr_fcntl(fd, F_GETFL, 0);
    tr_fcntl(fd, F_GETFD, 0);
}

int main(void)
{
    trace_start("socket_create");

    note("UDP sockets: protocol 0 and IPPROTO_UDP");
    int a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int b = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    tr_getint(a, SOL_SOCKET, SO_PROTOCOL);
    tr_getint(b, SOL_SOCKET, SO_PROTOCOL);
    show_flags(a);

    note("flags in the type argument");
    int c = tr_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    show_flags(c);
    int d = tr_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    show_flags(d);
    int e = tr_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    show_flags(e);

    note("protocols a datagram socket does not take");
    tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP);
    tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_RAW);
    tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_IGMP);
    tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_SCTP);
    tr_socket(AF_INET, SOCK_DGRAM, 200);
    tr_socket(AF_INET, SOCK_DGRAM, 255);
    tr_socket(AF_INET, SOCK_DGRAM, 256);
    tr_socket(AF_INET, SOCK_DGRAM, -1);

    note("bad types and flags");
    tr_socket(AF_INET, 0, 0);
    tr_socket(AF_INET, SOCK_RDM, 0);
    tr_socket(AF_INET, SOCK_SEQPACKET, 0);
    tr_socket(AF_INET, SOCK_DCCP, 0);
    tr_socket(AF_INET, 11, 0);
    tr_socket(AF_INET, 99, 0);
    tr_socket(AF_INET, -1, 0);
    tr_socket(AF_INET, SOCK_DGRAM | 0x100, 0);
    tr_socket(AF_INET, SOCK_DGRAM | 0x40000, 0);
    tr_socket(AF_INET, SOCK_DGRAM | O_APPEND, 0);

    note("bad domains");
    tr_socket(-1, SOCK_DGRAM, 0);
    tr_socket(AF_MAX, SOCK_DGRAM, 0);
    tr_socket(12345, SOCK_DGRAM, 0);

    note("fd numbering: the lowest free number is reused");
    tr_close(b);
    int f = tr_socket(AF_INET, SOCK_DGRAM, 0);
    expect_long("reused fd", f, b);
    tr_close(d);
    tr_close(c);
    int g = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int h = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int i = tr_socket(AF_INET, SOCK_DGRAM, 0);
    expect_long("lowest first", g, c);
    expect_long("next", h, d);
    check(i > e, "third new fd above the highest open one");

    note("many sockets: numbers stay dense");
    int many[40];
    int dense = 1;
    for (int k = 0; k < 40; k++) {
        many[k] = socket(AF_INET, SOCK_DGRAM, 0);
        if (k > 0 && many[k] != many[k - 1] + 1)
            dense = 0;
    }
    check(dense, "40 sockets got consecutive numbers");
    printf("first=%d last=%d\n", many[0], many[39]);
    for (int k = 0; k < 40; k++)
        close(many[k]);
    int j = tr_socket(AF_INET, SOCK_DGRAM, 0);
    expect_long("after closing them all", j, many[0]);

    tr_close(a);
    tr_close(e);
    tr_close(f);
    tr_close(g);
    tr_close(h);
    tr_close(i);
    tr_close(j);
    tr_close(j);
    return trace_end();
}
