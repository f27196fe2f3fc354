/* sockopt_ip_ints: every integer ip(7) option of a UDP and a UDP-Lite socket, one by one:
 * the default, set then get of values around each boundary (0, 1, 255, 256, -1, ...), the
 * int-or-byte decoding of setsockopt (optlen 1..3, 5, 8, 0), getsockopt's one-byte answers
 * (optlen 1..3) and truncation, negative lengths, NULL and bad pointers. Options with their
 * own case for the effect: sockopt_ip_bind (IP_FREEBIND, IP_BIND_ADDRESS_NO_PORT,
 * IP_LOCAL_PORT_RANGE), sockopt_ip_effect (IP_TTL, IP_TOS, IP_MINTTL, IP_UNICAST_IF),
 * sockopt_ip_multicast (the IP_MULTICAST_* and membership options). */
#include "trace.h"

#include <arpa/inet.h>

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

struct option {
    int name;
    const int *values;
    size_t count;
};

static const int common_values[] = { 1, 0, 2, 255, 256, -1, -2, 0x10000, 0x7fffffff, 0 };
static const int ttl_values[] = { 1, 255, 0, 256, -2, -1, 64, 0x101, 2 };
static const int tos_values[] = { 0x10, 0xb8, 0x03, 0xff, 0x100, -1, 0x1fc, 0 };
static int unicast_if_values[6];
static int port_range_values[8];

static void lengths(int fd, int name)
{
    static const int lens[] = { 0, 1, 2, 3, 4, 5, 8 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char raw[8];
        memset(raw, 0xee, sizeof raw);
        socklen_t len = (socklen_t)lens[i];
        tr_getsockopt(fd, IPPROTO_IP, name, raw, &len);
    }
}

static void pointers(int fd, int name)
{
    socklen_t len = 4;
    tr_getsockopt(fd, IPPROTO_IP, name, NULL, &len);
    len = 0;
    tr_getsockopt(fd, IPPROTO_IP, name, NULL, &len);
    len = 4;
    tr_getsockopt(fd, IPPROTO_IP, name, BADPTR, &len);
    len = (socklen_t)-1;
    unsigned char raw[8];
    tr_getsockopt(fd, IPPROTO_IP, name, raw, &len);
    tr_getsockopt(fd, IPPROTO_IP, name, raw, NULL);
    tr_getsockopt(fd, IPPROTO_IP, name, raw, BADPTR);
    tr_setsockopt(fd, IPPROTO_IP, name, NULL, 4);
    tr_setsockopt(fd, IPPROTO_IP, name, NULL, 0);
    tr_setsockopt(fd, IPPROTO_IP, name, BADPTR, 0);
    tr_setsockopt(fd, IPPROTO_IP, name, BADPTR, 1);
    tr_setsockopt(fd, IPPROTO_IP, name, BADPTR, 4);
    tr_setsockopt(fd, IPPROTO_IP, name, raw, (socklen_t)-1);
}

static void byte_forms(int fd, int name)
{
    /* 0x02 in the first byte: a byte value 2; as an int (little endian) 0x04030202. */
    static const unsigned char bytes[8] = { 2, 2, 3, 4, 0, 0, 0, 0 };
    static const int lens[] = { 1, 2, 3, 5, 8, 0 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tr_setsockopt(fd, IPPROTO_IP, name, bytes, (socklen_t)lens[i]);
        tr_getint(fd, IPPROTO_IP, name);
    }
    unsigned char one = 1;
    tr_setsockopt(fd, IPPROTO_IP, name, &one, 1);
    tr_getint(fd, IPPROTO_IP, name);
}

static void exercise(int fd, const struct option *option)
{
    note("option %d", option->name);
    tr_getint(fd, IPPROTO_IP, option->name);
    lengths(fd, option->name);
    for (size_t i = 0; i < option->count; i++) {
        tr_setint(fd, IPPROTO_IP, option->name, option->values[i]);
        tr_getint(fd, IPPROTO_IP, option->name);
    }
    byte_forms(fd, option->name);
    pointers(fd, option->name);
    tr_setint(fd, IPPROTO_IP, option->name, 0);
}

int main(void)
{
    trace_start("sockopt_ip_ints");
    unicast_if_values[0] = (int)htonl(1);
    unicast_if_values[1] = (int)htonl(2);
    unicast_if_values[2] = (int)htonl(99);
    unicast_if_values[3] = 1; /* ifindex 16777216 in network order */
    unicast_if_values[4] = -1;
    unicast_if_values[5] = 0;
    port_range_values[0] = 40000 | 50000 << 16;
    port_range_values[1] = 50000 | 40000 << 16;
    port_range_values[2] = 45000 | 45000 << 16;
    port_range_values[3] = 0 | 50000 << 16;
    port_range_values[4] = 40000;
    port_range_values[5] = 1 | 65535 << 16;
    port_range_values[6] = -1;
    port_range_values[7] = 0;

#define OPT(n, v) { n, v, sizeof v / sizeof v[0] }
    const struct option options[] = {
        OPT(IP_TOS, tos_values),
        OPT(IP_TTL, ttl_values),
        OPT(IP_HDRINCL, common_values),
        OPT(IP_ROUTER_ALERT, common_values),
        OPT(IP_PKTINFO, common_values),
        OPT(IP_PKTOPTIONS, common_values),
        OPT(IP_RECVTTL, common_values),
        OPT(IP_RECVTOS, common_values),
        OPT(IP_FREEBIND, common_values),
        OPT(IP_PASSSEC, common_values),
        OPT(IP_TRANSPARENT, common_values),
        OPT(IP_RECVORIGDSTADDR, common_values),
        OPT(IP_MINTTL, common_values),
        OPT(IP_NODEFRAG, common_values),
        OPT(IP_CHECKSUM, common_values),
        OPT(IP_BIND_ADDRESS_NO_PORT, common_values),
        OPT(IP_RECVFRAGSIZE, common_values),
        OPT(IP_MULTICAST_TTL, common_values),
        OPT(IP_MULTICAST_LOOP, common_values),
        OPT(IP_MULTICAST_ALL, common_values),
        OPT(IP_UNICAST_IF, unicast_if_values),
        OPT(IP_LOCAL_PORT_RANGE, port_range_values),
        OPT(IP_PROTOCOL, common_values),
    };

    const int protocols[] = { 0, IPPROTO_UDPLITE };
    for (size_t p = 0; p < 2; p++) {
        note("protocol %d", protocols[p]);
        int fd = tr_socket(AF_INET, SOCK_DGRAM, protocols[p]);
        for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
            exercise(fd, &options[i]);
        tr_close(fd);
    }

    note("unknown SOL_IP names");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const int unknown[] = { 30, 31, 53, 54, 100, 199, 213, 1000, -1 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        tr_getint(fd, IPPROTO_IP, unknown[i]);
        tr_setint(fd, IPPROTO_IP, unknown[i], 1);
    }
    tr_close(fd);
    return trace_end();
}
