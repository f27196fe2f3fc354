/* ping_socket: ICMP echo through a ping socket (SOCK_DGRAM, IPPROTO_ICMP), allowed for the
 * case's group by net.ipv4.ping_group_range (set in the case's own namespace before the first
 * AF_INET socket, restored at the end). The echo identifier is the socket's "port"
 * (ping_get_port): chosen at the first send or connect, or named by bind; the kernel writes it
 * and the checksum into every request and hands the socket the replies that carry it, ICMP
 * header first. Identifiers the kernel chose print as ID. sk_reuse starts set on ping sockets,
 * so two may bind the same identifier (the later one gets the replies). Also: send's header checks
 * (ping_common_sendmsg), bind's (ping_check_bind_addr), MSG_TRUNC, IP_RECVTTL, and an ICMP
 * time exceeded quoting a request, read from the IP_RECVERR queue (ping_err). */
#include "raw_lib.h"
#include "peer.h"

static int bound_ident(int fd)
{
    struct sockaddr_in name;
    socklen_t len = sizeof name;
    if (getsockname(fd, SA(&name), &len) < 0)
        return -1;
    return ntohs(name.sin_port);
}

static void show_name(int fd, const char *what)
{
    int ident = bound_ident(fd);
    printf("%s: identifier %s\n", what, ident < 0 ? "error" : ident == 0 ? "0" : "nonzero");
}

int main(void)
{
    trace_start("ping_socket");
    peer_run(HOST_NS, "sysctl -w net.ipv4.ping_group_range=0 0",
             (char *const[]){ "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0", NULL },
             3000);
    uint8_t out[256], in[2048];
    struct sockaddr_in peer = sin4(PEER_ADDR, 0);

    note("socket and options");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    show_name(fd, "new socket");
    tr_getint(fd, SOL_SOCKET, SO_TYPE);
    tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
    tr_getint(fd, IPPROTO_IP, IP_HDRINCL);
    uint32_t filter = 0;
    tr_setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    socklen_t len = sizeof filter;
    tr_getsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, &len);

    note("send checks: a whole ICMP header, echo request with code 0, a destination");
    size_t n = raw_echo_request(out, 8, 0, 0x7777, 1, "ping-one");
    tr_sendto(fd, out, 4, 0, SA(&peer), sizeof peer);
    show_name(fd, "after a refused send");
    raw_echo_request(out, 0, 0, 0x7777, 1, "ping-one");
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    raw_echo_request(out, 8, 1, 0x7777, 1, "ping-one");
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    raw_echo_request(out, 8, 0, 0x7777, 1, "ping-one");
    tr_send(fd, out, n, 0);
    note("an unreadable buffer: the length checks first, then the header's copy");
    tr_sendto(fd, BADPTR, 4, 0, SA(&peer), sizeof peer);
    tr_sendto(fd, BADPTR, 16, 0, SA(&peer), sizeof peer);

    note("echo: the identifier is the socket's, the reply comes ICMP header first");
    int ident = bound_ident(fd);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    ssize_t got = raw_receive(fd, in, sizeof in, 0, "reply");
    if (got > 0)
        raw_print_icmp(in, (size_t)got, ident);
    n = raw_echo_request(out, 8, 0, 0, 2, "ping-two-truncated");
    tr_sendto(fd, out, n, 0, SA(&peer), sizeof peer);
    got = raw_receive(fd, in, 10, MSG_TRUNC, "truncated");
    raw_receive(fd, in, sizeof in, 0, "empty");

    note("bind names the identifier");
    int a = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    tr_bind4(a, "198.18.0.99", 0);
    tr_bind4(a, "198.18.0.255", 0);
    struct sockaddr_in shortaddr = sin4(HOST_ADDR, 0);
    tr_bind(a, SA(&shortaddr), 8);
    struct sockaddr_in other = sin4(HOST_ADDR, 0);
    other.sin_family = AF_INET6;
    tr_bind(a, SA(&other), sizeof other);
    trace_fixed_port(4242);
    tr_bind4(a, HOST_ADDR, 4242);
    len = sizeof other;
    tr_getsockname(a, SA(&other), &len);
    tr_bind4(a, HOST_ADDR, 4243);
    int b = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    tr_bind4(b, "0.0.0.0", 4242);
    note("sk_reuse starts set (INET_PROTOSW_REUSE): a shared identifier until one clears it");
    tr_getint(b, SOL_SOCKET, SO_REUSEADDR);
    int c = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    tr_setint(c, SOL_SOCKET, SO_REUSEADDR, 0);
    tr_bind4(c, "0.0.0.0", 4242);
    tr_close(c);
    note("the socket bound last gets the replies");
    n = raw_echo_request(out, 8, 0, 1, 3, "ping-4242");
    tr_sendto(a, out, n, 0, SA(&peer), sizeof peer);
    raw_receive(a, in, sizeof in, 0, "reply 4242, first bound");
    got = raw_receive(b, in, sizeof in, 0, "reply 4242, bound last");
    if (got > 0)
        raw_print_icmp(in, (size_t)got, -1);

    note("connect: send without an address; getpeername needs a port");
    tr_connect4(b, PEER_ADDR, 0);
    show_name(b, "after connect");
    len = sizeof other;
    tr_getpeername(b, SA(&other), &len);
    tr_connect4(b, PEER_ADDR, 7);
    len = sizeof other;
    tr_getpeername(b, SA(&other), &len);
    n = raw_echo_request(out, 8, 0, 0, 4, "ping-connected");
    tr_send(b, out, n, 0);
    got = raw_receive(b, in, sizeof in, 0, "connected reply");
    if (got > 0)
        raw_print_icmp(in, (size_t)got, bound_ident(b));
    tr_shutdown(fd, SHUT_RD);

    note("time exceeded from the router: the error queue (IP_RECVERR)");
    peer_run(HOST_NS, "sleep 1.2 (one ICMP error token)",
             (char *const[]){ "sleep", "1.2", NULL }, 3000);
    trace_watchdog();
    int e = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    tr_setint(e, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(e, IPPROTO_IP, IP_TTL, 1);
    n = raw_echo_request(out, 8, 0, 0, 5, "ping-ttl1");
    struct sockaddr_in remote = sin4(REMOTE_ADDR, 0);
    tr_sendto(e, out, n, 0, SA(&remote), sizeof remote);
    quiet_wait_readable(e, 1500);
    raw_poll(e, 0, "error queued");
    got = raw_receive(e, in, sizeof in, MSG_ERRQUEUE, "error");
    if (got > 0)
        raw_print_icmp(in, (size_t)got, bound_ident(e));
    tr_getint(e, SOL_SOCKET, SO_ERROR);
    raw_receive(e, in, sizeof in, 0, "after the error");

    tr_close(e);
    tr_close(b);
    tr_close(a);
    tr_close(fd);
    peer_run(HOST_NS, "sysctl -w net.ipv4.ping_group_range=1 0",
             (char *const[]){ "sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0", NULL },
             3000);
    return trace_end();
}
