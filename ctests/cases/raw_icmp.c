/* raw_icmp: a raw ICMP socket (SOCK_RAW, IPPROTO_ICMP) talking to the router: echo requests
 * built by the case, replies read with their IP header; ICMP_FILTER (SOL_RAW) dropping a type,
 * its lengths and its errno on a socket of another protocol; the raw-only IP options
 * (IP_HDRINCL, IP_NODEFRAG, IP_ROUTER_ALERT); bind (address only), connect, MSG_TRUNC,
 * FIONREAD and poll. */
#include "raw_lib.h"

#include <sys/ioctl.h>

int main(void)
{
    trace_start("raw_icmp");
    uint8_t out[256], in[2048];

    note("socket, names, defaults");
    int fd = tr_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    struct sockaddr_in name;
    socklen_t len = sizeof name;
    tr_getsockname(fd, SA(&name), &len);
    len = sizeof name;
    tr_getpeername(fd, SA(&name), &len);
    tr_getint(fd, SOL_SOCKET, SO_TYPE);
    tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
    tr_getint(fd, SOL_SOCKET, SO_REUSEADDR);
    tr_getint(fd, IPPROTO_IP, IP_HDRINCL);
    tr_getint(fd, IPPROTO_IP, IP_NODEFRAG);
    tr_getint(fd, IPPROTO_IP, IP_ROUTER_ALERT);
    tr_getint(fd, IPPROTO_IP, IP_TTL);
    uint32_t filter = 0xdeadbeef;
    len = sizeof filter;
    tr_getsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, &len);

    note("echo request to the router, reply with its IP header");
    size_t n = raw_echo_request(out, 8, 0, 0x4242, 1, "raw-one");
    struct sockaddr_in peer = sin4(PEER_ADDR, 0);
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    ssize_t got = raw_receive(fd, in, sizeof in, 0, "reply 1");
    tr_sendto(fd, BADPTR, 16, 0, SA(&peer), sizeof peer);
    tr_send(fd, BADPTR, 16, 0);
    if (got > 0)
        raw_print_ip(in, (size_t)got, -1);

    note("ICMP_FILTER drops echo replies (bit 0)");
    filter = 1u << 0;
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    n = raw_echo_request(out, 8, 0, 0x4242, 2, "raw-filtered");
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    raw_poll(fd, 700, "filtered");
    raw_receive(fd, in, sizeof in, 0, "filtered");
    note("filter lengths: 2 bytes over the first two, 8 bytes cut to 4, get with 2 and 8");
    filter = 0;
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    uint8_t wide[8] = { 0xff, 0xff, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44 };
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, wide, 2);
    uint8_t back[8] = { 0 };
    len = sizeof back;
    tr_getsockopt(fd, SOL_RAW, ICMP_FILTER, back, &len);
    printf("filter bytes %02x %02x %02x %02x\n", back[0], back[1], back[2], back[3]);
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, wide, 8);
    len = 2;
    tr_getsockopt(fd, SOL_RAW, ICMP_FILTER, back, &len);
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, wide, 0);
    tr_setsockopt(fd, SOL_RAW, 2, &filter, sizeof filter);
    len = sizeof back;
    tr_getsockopt(fd, SOL_RAW, 2, back, &len);
    filter = 0;
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);

    note("raw-only IP options");
    tr_setint(fd, IPPROTO_IP, IP_NODEFRAG, 1);
    tr_getint(fd, IPPROTO_IP, IP_NODEFRAG);
    tr_setint(fd, IPPROTO_IP, IP_ROUTER_ALERT, 1);
    tr_getint(fd, IPPROTO_IP, IP_ROUTER_ALERT);
    tr_setint(fd, IPPROTO_IP, IP_ROUTER_ALERT, 0);

    note("bind: the address only");
    tr_bind4(fd, "198.18.0.99", 0);
    struct sockaddr_in shortaddr = sin4(HOST_ADDR, 0);
    tr_bind(fd, SA(&shortaddr), 8);
    tr_bind4(fd, HOST_ADDR, 999);
    len = sizeof name;
    tr_getsockname(fd, SA(&name), &len);

    note("connect, then send without an address; MSG_TRUNC; FIONREAD");
    tr_connect4(fd, PEER_ADDR, 0);
    len = sizeof name;
    tr_getpeername(fd, SA(&name), &len);
    tr_bind4(fd, HOST_ADDR, 0);
    n = raw_echo_request(out, 8, 0, 0x4242, 3, "raw-connected");
    tr_send(fd, out, n, 0);
    quiet_wait_readable(fd, 2000);
    int queued = -1;
    tr_ioctl_int(fd, FIONREAD, &queued);
    raw_poll(fd, 0, "queued");
    got = raw_receive(fd, in, 10, MSG_TRUNC, "truncated");
    n = raw_echo_request(out, 8, 0, 0x4242, 4, "raw-peek");
    tr_send(fd, out, n, 0);
    got = raw_receive(fd, in, sizeof in, MSG_PEEK, "peek");
    got = raw_receive(fd, in, sizeof in, 0, "read");
    if (got > 0)
        raw_print_ip(in, (size_t)got, -1);
    raw_receive(fd, in, sizeof in, 0, "empty");
    tr_connect4(fd, "198.18.0.255", 0);
    tr_send(fd, out, n, 0);

    note("another protocol: ICMP_FILTER is EOPNOTSUPP, IP_ROUTER_ALERT works");
    int udp = tr_socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    tr_setsockopt(udp, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    len = sizeof back;
    tr_getsockopt(udp, SOL_RAW, ICMP_FILTER, back, &len);
    len = sizeof name;
    tr_getsockname(udp, SA(&name), &len);
    tr_setint(udp, IPPROTO_IP, IP_ROUTER_ALERT, 1);

    note("IPPROTO_RAW: IP_HDRINCL on, IP_ROUTER_ALERT refused");
    int rawraw = tr_socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    tr_getint(rawraw, IPPROTO_IP, IP_HDRINCL);
    tr_setint(rawraw, IPPROTO_IP, IP_ROUTER_ALERT, 1);
    tr_setint(rawraw, IPPROTO_IP, IP_HDRINCL, 0);
    tr_getint(rawraw, IPPROTO_IP, IP_HDRINCL);
    tr_setsockopt(rawraw, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);

    tr_close(rawraw);
    tr_close(udp);
    tr_close(fd);
    return trace_end();
}
