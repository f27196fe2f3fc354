/* udp_connect: connect(2) on UDP sockets: the implicit bind and the source address
 * it picks, getpeername, AF_UNSPEC disconnect, connect to 0.0.0.0 and to broadcast
 * (SO_BROADCAST), address length and family errors, reconnect, send on a
 * connected/unconnected socket. */
#include "trace.h"

static void names(int fd)
{
    struct sockaddr_in s;
    socklen_t len = sizeof s;
    tr_getsockname(fd, SA(&s), &len);
    len = sizeof s;
    tr_getpeername(fd, SA(&s), &len);
}

static int udp(void)
{
    return tr_socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    trace_start("udp_connect");
    struct sockaddr_in s;
    socklen_t len;

    note("unconnected: getpeername");
    int fd = udp();
    names(fd);
    len = sizeof s;
    tr_getpeername(fd, SA(&s), &len);
    tr_send(fd, "x", 1, 0);

    note("connect binds a port and picks the source address of the route");
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    names(fd);
    int port = quiet_local_port(fd);
    check(trace_port_is_ephemeral((unsigned)port), "autobound port within ip_local_port_range");
    tr_send(fd, "x", 1, 0);
    tr_sendto4(fd, "y", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, "z", 1, 0, PEER_ADDR, PORT_ECHO);

    note("reconnect elsewhere keeps the port");
    tr_connect4(fd, REMOTE_ADDR, PORT_DISCARD);
    names(fd);
    expect_long("port kept", quiet_local_port(fd), port);

    note("disconnect with AF_UNSPEC");
    struct sockaddr_in unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sin_family = AF_UNSPEC;
    tr_connect(fd, SA(&unspec), sizeof unspec);
    names(fd);
    check(quiet_local_port(fd) == port, "autobound port kept after disconnect");
    tr_send(fd, "x", 1, 0);
    tr_connect(fd, SA(&unspec), sizeof unspec);
    tr_connect(fd, SA(&unspec), sizeof(sa_family_t));
    tr_connect(fd, SA(&unspec), 1);
    tr_connect(fd, SA(&unspec), 0);
    tr_close(fd);

    note("disconnect of a socket that was bound to an address first");
    fd = udp();
    tr_bind4(fd, HOST_ADDR, 6000);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    names(fd);
    tr_connect(fd, SA(&unspec), sizeof unspec);
    names(fd);
    tr_close(fd);

    note("bound to the wildcard address, connected, then disconnected");
    fd = udp();
    tr_bind4(fd, "0.0.0.0", 6001);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    names(fd);
    tr_connect(fd, SA(&unspec), sizeof unspec);
    names(fd);
    tr_close(fd);

    note("AF_UNSPEC disconnect on a never-connected socket");
    fd = udp();
    tr_connect(fd, SA(&unspec), sizeof unspec);
    names(fd);
    tr_close(fd);

    note("source address by destination");
    const char *destinations[] = { PEER_ADDR, "198.18.0.77", REMOTE_ADDR, "127.0.0.1",
                                   "127.9.9.9", HOST_ADDR, "0.0.0.0" };
    for (size_t i = 0; i < sizeof destinations / sizeof destinations[0]; i++) {
        fd = udp();
        if (tr_connect4(fd, destinations[i], 4242) == 0)
            names(fd);
        tr_close(fd);
    }

    note("destination port 0");
    fd = udp();
    tr_connect4(fd, PEER_ADDR, 0);
    names(fd);
    tr_send(fd, "x", 1, 0);
    tr_close(fd);

    note("broadcast without and with SO_BROADCAST");
    const char *broadcasts[] = { "255.255.255.255", "198.18.0.255" };
    for (size_t i = 0; i < 2; i++) {
        fd = udp();
        tr_connect4(fd, broadcasts[i], PORT_DISCARD);
        names(fd);
        tr_sendto4(fd, "b", 1, 0, broadcasts[i], PORT_DISCARD);
        tr_setint(fd, SOL_SOCKET, SO_BROADCAST, 1);
        tr_connect4(fd, broadcasts[i], PORT_DISCARD);
        names(fd);
        tr_send(fd, "b", 1, 0);
        tr_close(fd);
    }

    note("connect errors");
    fd = udp();
    struct sockaddr_in peer = sin4(PEER_ADDR, PORT_DISCARD);
    tr_connect(fd, SA(&peer), 0);
    tr_connect(fd, SA(&peer), 2);
    tr_connect(fd, SA(&peer), sizeof peer - 1);
    tr_connect(fd, NULL, sizeof peer);
    tr_connect(fd, NULL, 0);
    struct sockaddr_in six = peer;
    six.sin_family = AF_INET6;
    tr_connect(fd, SA(&six), sizeof six);
    struct sockaddr_in unix_family = peer;
    unix_family.sin_family = AF_UNIX;
    tr_connect(fd, SA(&unix_family), sizeof unix_family);
    struct sockaddr_storage big;
    memset(&big, 0, sizeof big);
    memcpy(&big, &peer, sizeof peer);
    tr_connect(fd, SA(&big), sizeof big);
    names(fd);
    tr_connect(fd, SA(&big), sizeof big + 1);
    tr_close(fd);

    note("a destination beyond the gateway (connect sends nothing)");
    fd = udp();
    tr_connect4(fd, "203.0.113.1", 9);
    names(fd);
    tr_close(fd);

    note("getpeername/getsockname with short and odd lengths");
    fd = udp();
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    unsigned char raw[32];
    for (socklen_t l = 0; l <= 17; l += (l < 4 ? 1 : 4)) {
        memset(raw, 0xee, sizeof raw);
        len = l;
        tr_getpeername(fd, SA(raw), &len);
        printf("  bytes ");
        for (int k = 0; k < 18; k++)
            printf("%02x", raw[k]);
        printf("\n");
    }
    len = (socklen_t)-1;
    tr_getsockname(fd, SA(&big), &len);
    tr_close(fd);
    return trace_end();
}
