/* udp_bind: bind(2) on UDP sockets: the errno precedence of the kernel's checks,
 * address classes (local, loopback, broadcast, multicast, foreign), port sharing
 * (SO_REUSEADDR, SO_REUSEPORT), binding twice, ports below 1024 as root,
 * ephemeral allocation, and getsockname before and after. */
#include "trace.h"

static int udp(void)
{
    return tr_socket(AF_INET, SOCK_DGRAM, 0);
}

static void name_of(int fd)
{
    struct sockaddr_in s;
    socklen_t len = sizeof s;
    tr_getsockname(fd, SA(&s), &len);
}

/* A fresh socket, one bind, its name, closed. */
static void bind_fresh(const struct sockaddr *addr, socklen_t len)
{
    int fd = udp();
    if (tr_bind(fd, addr, len) == 0)
        name_of(fd);
    tr_close(fd);
}

int main(void)
{
    trace_start("udp_bind");
    trace_fixed_port(40000);

    note("getsockname of an unbound socket");
    int fd = udp();
    name_of(fd);
    tr_close(fd);

    note("address length");
    struct sockaddr_in any = sin4("0.0.0.0", 5000);
    struct sockaddr_storage big;
    memset(&big, 0, sizeof big);
    memcpy(&big, &any, sizeof any);
    bind_fresh(SA(&any), 0);
    bind_fresh(SA(&any), 1);
    bind_fresh(SA(&any), 2);
    bind_fresh(SA(&any), 8);
    bind_fresh(SA(&any), sizeof any - 1);
    bind_fresh(SA(&any), sizeof any);
    bind_fresh(SA(&big), sizeof any + 1);
    bind_fresh(SA(&big), sizeof big);
    bind_fresh(SA(&big), sizeof big + 1);
    bind_fresh(NULL, 0);
    bind_fresh(NULL, sizeof any);

    note("address family");
    struct sockaddr_in unspec_any = sin4("0.0.0.0", 5001);
    unspec_any.sin_family = AF_UNSPEC;
    bind_fresh(SA(&unspec_any), sizeof unspec_any);
    struct sockaddr_in unspec_local = sin4(HOST_ADDR, 5001);
    unspec_local.sin_family = AF_UNSPEC;
    bind_fresh(SA(&unspec_local), sizeof unspec_local);
    bind_fresh(SA(&unspec_local), 2);
    bind_fresh(SA(&unspec_local), 4);
    struct sockaddr_in six = sin4(HOST_ADDR, 5001);
    six.sin_family = AF_INET6;
    bind_fresh(SA(&six), sizeof six);
    struct sockaddr_in unix_family = sin4("0.0.0.0", 5001);
    unix_family.sin_family = AF_UNIX;
    bind_fresh(SA(&unix_family), sizeof unix_family);
    note("short length and a bad family together: which check comes first");
    bind_fresh(SA(&six), sizeof six - 1);

    note("address classes");
    const char *addresses[] = {
        HOST_ADDR, "0.0.0.0", "127.0.0.1", "127.1.2.3", "198.18.0.255", "198.18.0.0",
        "255.255.255.255", "224.0.0.1", "239.1.2.3", PEER_ADDR, "198.18.0.99", REMOTE_ADDR,
        "10.1.2.3", "240.0.0.1", "0.1.2.3",
    };
    for (size_t i = 0; i < sizeof addresses / sizeof addresses[0]; i++) {
        struct sockaddr_in s = sin4(addresses[i], 5002);
        bind_fresh(SA(&s), sizeof s);
    }

    note("IP_FREEBIND allows a foreign address");
    fd = udp();
    tr_setint(fd, IPPROTO_IP, IP_FREEBIND, 1);
    if (tr_bind4(fd, "198.18.0.99", 5003) == 0)
        name_of(fd);
    tr_close(fd);

    note("bind twice");
    fd = udp();
    tr_bind4(fd, HOST_ADDR, 5004);
    tr_bind4(fd, HOST_ADDR, 5005);
    tr_bind4(fd, HOST_ADDR, 5004);
    tr_bind4(fd, "0.0.0.0", 0);
    name_of(fd);
    tr_close(fd);

    note("bind after an implicit bind by sendto");
    fd = udp();
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    name_of(fd);
    tr_bind4(fd, "0.0.0.0", 5006);
    tr_close(fd);

    note("port 0: an ephemeral port from ip_local_port_range");
    fd = udp();
    tr_bind4(fd, "0.0.0.0", 0);
    name_of(fd);
    int port = quiet_local_port(fd);
    check(trace_port_is_ephemeral((unsigned)port), "port within ip_local_port_range");
    int other = udp();
    tr_bind4(other, HOST_ADDR, 0);
    name_of(other);
    check(quiet_local_port(other) != port, "second ephemeral port differs from the first");
    note("the first socket's ephemeral port is in use");
    int third = udp();
    tr_bind4(third, "0.0.0.0", (unsigned)port);
    tr_close(third);
    tr_close(other);
    tr_close(fd);

    note("a chosen port inside the ephemeral range");
    fd = udp();
    tr_bind4(fd, HOST_ADDR, 40000);
    name_of(fd);
    tr_close(fd);

    note("privileged port (root)");
    fd = udp();
    tr_bind4(fd, HOST_ADDR, 80);
    name_of(fd);
    tr_close(fd);
    fd = udp();
    tr_bind4(fd, "0.0.0.0", 1023);
    name_of(fd);
    tr_close(fd);

    note("port in use, no options");
    int first = udp();
    tr_bind4(first, HOST_ADDR, 5010);
    int second = udp();
    tr_bind4(second, HOST_ADDR, 5010);
    tr_bind4(second, "0.0.0.0", 5010);
    tr_bind4(second, "127.0.0.1", 5010);
    name_of(second);
    tr_close(second);
    tr_close(first);
    note("after close the port is free again");
    first = udp();
    tr_bind4(first, HOST_ADDR, 5010);
    tr_close(first);

    note("wildcard first, then specific");
    first = udp();
    tr_bind4(first, "0.0.0.0", 5011);
    second = udp();
    tr_bind4(second, HOST_ADDR, 5011);
    tr_bind4(second, "127.0.0.1", 5011);
    tr_close(second);
    tr_close(first);

    note("SO_REUSEADDR on both, one, the other");
    int reuse_matrix[4][2] = { { 1, 1 }, { 1, 0 }, { 0, 1 }, { 0, 0 } };
    for (int i = 0; i < 4; i++) {
        first = udp();
        second = udp();
        if (reuse_matrix[i][0])
            tr_setint(first, SOL_SOCKET, SO_REUSEADDR, 1);
        if (reuse_matrix[i][1])
            tr_setint(second, SOL_SOCKET, SO_REUSEADDR, 1);
        tr_bind4(first, HOST_ADDR, 5012 + i);
        tr_bind4(second, HOST_ADDR, 5012 + i);
        tr_close(second);
        tr_close(first);
    }
    note("SO_REUSEADDR: wildcard and specific");
    first = udp();
    second = udp();
    tr_setint(first, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(second, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(first, "0.0.0.0", 5016);
    tr_bind4(second, HOST_ADDR, 5016);
    tr_close(second);
    tr_close(first);

    note("SO_REUSEPORT on both, one, the other");
    for (int i = 0; i < 4; i++) {
        first = udp();
        second = udp();
        if (reuse_matrix[i][0])
            tr_setint(first, SOL_SOCKET, SO_REUSEPORT, 1);
        if (reuse_matrix[i][1])
            tr_setint(second, SOL_SOCKET, SO_REUSEPORT, 1);
        tr_bind4(first, HOST_ADDR, 5020 + i);
        tr_bind4(second, HOST_ADDR, 5020 + i);
        tr_close(second);
        tr_close(first);
    }
    note("SO_REUSEPORT: three sockets, the third without");
    first = udp();
    second = udp();
    third = udp();
    tr_setint(first, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_setint(second, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(first, "0.0.0.0", 5024);
    tr_bind4(second, "0.0.0.0", 5024);
    tr_bind4(third, "0.0.0.0", 5024);
    tr_close(third);
    tr_close(second);
    tr_close(first);

    note("SO_REUSEADDR on one, SO_REUSEPORT on the other");
    first = udp();
    second = udp();
    tr_setint(first, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(second, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(first, HOST_ADDR, 5025);
    tr_bind4(second, HOST_ADDR, 5025);
    tr_close(second);
    tr_close(first);

    note("SO_REUSEADDR set on the first socket after its bind");
    first = udp();
    second = udp();
    tr_bind4(first, HOST_ADDR, 5026);
    tr_setint(first, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(second, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(second, HOST_ADDR, 5026);
    tr_close(second);
    tr_close(first);

    note("connected socket holds its port");
    first = udp();
    tr_bind4(first, HOST_ADDR, 5027);
    tr_connect4(first, PEER_ADDR, PORT_DISCARD);
    second = udp();
    tr_bind4(second, HOST_ADDR, 5027);
    tr_close(second);
    tr_close(first);
    return trace_end();
}
