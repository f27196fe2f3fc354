/* sockopt_basic: getsockopt defaults and set/get round trips of the socket(7) basics
 * and the ip(7) options UDP uses, on a fresh UDP socket: SO_TYPE, SO_PROTOCOL,
 * SO_DOMAIN, SO_ERROR, SO_RCVBUF/SO_SNDBUF (the kernel doubles), SO_REUSEADDR,
 * SO_REUSEPORT, SO_BROADCAST, SO_RCVTIMEO/SO_SNDTIMEO, IP_TTL, IP_TOS, IP_PKTINFO,
 * IP_RECVTTL, IP_RECVTOS, IP_MTU_DISCOVER; short and long optlen; bad values. */
#include "trace.h"

static void set_get(int fd, int level, int name, int value)
{
    tr_setint(fd, level, name, value);
    tr_getint(fd, level, name);
}

/* getsockopt with every length 0..8 (one byte answers, truncation). */
static void lengths(int fd, int level, int name)
{
    unsigned char raw[8];
    for (socklen_t len = 0; len <= 8; len++) {
        memset(raw, 0xee, sizeof raw);
        socklen_t l = len;
        tr_getsockopt(fd, level, name, raw, &l);
    }
}

int main(void)
{
    trace_start("sockopt_basic");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("read-only identity options");
    tr_getint(fd, SOL_SOCKET, SO_TYPE);
    tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
    tr_getint(fd, SOL_SOCKET, SO_DOMAIN);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_ACCEPTCONN);
    tr_setint(fd, SOL_SOCKET, SO_TYPE, 1);
    tr_setint(fd, SOL_SOCKET, SO_PROTOCOL, 6);
    tr_setint(fd, SOL_SOCKET, SO_DOMAIN, 10);
    tr_setint(fd, SOL_SOCKET, SO_ERROR, 1);

    note("defaults");
    const int socket_defaults[] = { SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST, SO_KEEPALIVE,
                                    SO_DONTROUTE, SO_OOBINLINE, SO_PRIORITY, SO_RCVLOWAT,
                                    SO_SNDLOWAT, SO_TIMESTAMP, SO_NO_CHECK, SO_PASSCRED,
                                    SO_MARK };
    for (size_t i = 0; i < sizeof socket_defaults / sizeof socket_defaults[0]; i++)
        tr_getint(fd, SOL_SOCKET, socket_defaults[i]);
    const int ip_defaults[] = { IP_TTL, IP_TOS, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS,
                                IP_MTU_DISCOVER, IP_RECVERR, IP_MULTICAST_TTL,
                                IP_MULTICAST_LOOP, IP_FREEBIND, IP_TRANSPARENT, IP_MTU };
    /* The rest of ip(7)'s options (IP_HDRINCL, IP_RECVOPTS, ...) are in sockopt_ip_more. */
    for (size_t i = 0; i < sizeof ip_defaults / sizeof ip_defaults[0]; i++)
        tr_getint(fd, IPPROTO_IP, ip_defaults[i]);

    note("buffer sizes: set values are doubled, with a floor and a ceiling");
    int rcvbuf_default = tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    int sndbuf_default = tr_getint(fd, SOL_SOCKET, SO_SNDBUF);
    (void)rcvbuf_default;
    (void)sndbuf_default;
    const int sizes[] = { 0, 1, 256, 1024, 2303, 2304, 4096, 65536, 100000, 1 << 30, -1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        set_get(fd, SOL_SOCKET, SO_RCVBUF, sizes[i]);
        set_get(fd, SOL_SOCKET, SO_SNDBUF, sizes[i]);
    }
    set_get(fd, SOL_SOCKET, SO_RCVBUFFORCE, 8192);
    set_get(fd, SOL_SOCKET, SO_SNDBUFFORCE, 8192);

    note("boolean options: any non-zero is on");
    const int booleans[] = { SO_REUSEADDR, SO_REUSEPORT, SO_BROADCAST };
    for (size_t i = 0; i < 3; i++) {
        set_get(fd, SOL_SOCKET, booleans[i], 1);
        set_get(fd, SOL_SOCKET, booleans[i], 7);
        set_get(fd, SOL_SOCKET, booleans[i], -1);
        set_get(fd, SOL_SOCKET, booleans[i], 0);
    }
    const int ip_booleans[] = { IP_PKTINFO, IP_RECVTTL, IP_RECVTOS };
    for (size_t i = 0; i < 3; i++) {
        set_get(fd, IPPROTO_IP, ip_booleans[i], 1);
        set_get(fd, IPPROTO_IP, ip_booleans[i], 42);
        set_get(fd, IPPROTO_IP, ip_booleans[i], 0);
    }

    note("IP_TTL: 1..255, -1 restores the default");
    const int ttls[] = { 1, 64, 255, 0, 256, -2, 1000, 7, -1 };
    for (size_t i = 0; i < sizeof ttls / sizeof ttls[0]; i++)
        set_get(fd, IPPROTO_IP, IP_TTL, ttls[i]);

    note("IP_TOS: the low bits, ECN bits");
    const int toses[] = { 0x10, 0xb8, 0x03, 0xff, 0x100, -1, 0 };
    for (size_t i = 0; i < sizeof toses / sizeof toses[0]; i++)
        set_get(fd, IPPROTO_IP, IP_TOS, toses[i]);

    note("IP_MTU_DISCOVER: modes and out of range");
    const int modes[] = { IP_PMTUDISC_DONT, IP_PMTUDISC_WANT, IP_PMTUDISC_DO,
                          IP_PMTUDISC_PROBE, IP_PMTUDISC_INTERFACE, IP_PMTUDISC_OMIT, 6, -1 };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        set_get(fd, IPPROTO_IP, IP_MTU_DISCOVER, modes[i]);

    note("IP_MTU needs a connected socket");
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_connect4(fd, REMOTE_ADDR, PORT_DISCARD);
    tr_getint(fd, IPPROTO_IP, IP_MTU);

    note("timeouts: struct timeval");
    struct timeval tv = { 1, 500000 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tv = (struct timeval){ 0, 0 };
    socklen_t len = sizeof tv;
    tr_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    tv = (struct timeval){ 0, 1 };
    tr_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    len = sizeof tv;
    tr_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len);
    tv = (struct timeval){ 0, 1000000 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tv = (struct timeval){ -1, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    len = sizeof tv;
    tr_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    tv = (struct timeval){ 0, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    len = sizeof tv;
    tr_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv - 1);
    len = sizeof tv - 1;
    tr_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
    len = sizeof tv + 8;
    unsigned char wide[32];
    tr_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, wide, &len);

    note("getsockopt lengths 0..8: int options");
    lengths(fd, SOL_SOCKET, SO_TYPE);
    lengths(fd, SOL_SOCKET, SO_RCVBUF);
    note("getsockopt lengths 0..8: IP options (one-byte answers)");
    lengths(fd, IPPROTO_IP, IP_TTL);
    lengths(fd, IPPROTO_IP, IP_TOS);
    lengths(fd, IPPROTO_IP, IP_PKTINFO);

    note("setsockopt with one byte and with more than an int");
    unsigned char one = 33;
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, &one, 1);
    tr_getint(fd, IPPROTO_IP, IP_TTL);
    one = 0x28;
    tr_setsockopt(fd, IPPROTO_IP, IP_TOS, &one, 1);
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    one = 1;
    tr_setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, 1);
    tr_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 1);
    int eight[2] = { 12, 99 };
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, eight, sizeof eight);
    tr_getint(fd, IPPROTO_IP, IP_TTL);
    tr_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, eight, sizeof eight);
    tr_getint(fd, SOL_SOCKET, SO_BROADCAST);

    note("SO_ERROR after a refused send reads and clears");
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(c, "127.0.0.1", 8999);
    tr_send(c, "x", 1, 0);
    struct pollfd error_wait = { .fd = c, .events = 0 }; /* silent: until POLLERR, 3 s at most */
    poll(&error_wait, 1, 3000);
    tr_getint(c, SOL_SOCKET, SO_ERROR);
    tr_getint(c, SOL_SOCKET, SO_ERROR);
    tr_close(c);

    note("options survive in dups and are per socket");
    int d = tr_dup(fd);
    tr_getint(d, IPPROTO_IP, IP_TTL);
    int other = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(other, IPPROTO_IP, IP_TTL);
    tr_close(other);
    tr_close(d);
    tr_close(fd);
    return trace_end();
}
