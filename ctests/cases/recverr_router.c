/* recverr_router: errors the real topology produces, read from the IP_RECVERR queue: time
 * exceeded from the router (198.18.0.1) for a datagram sent with IP_TTL 1 to 198.19.0.2, port
 * unreachable from 198.19.0.2 itself with TTL 2, and fragmentation needed from the router for
 * a 1472-byte DF datagram to 198.19.0.2 behind its 1400-byte link: the error carries the MTU
 * (ee_info) and the next such send fails locally (EMSGSIZE, SO_EE_ORIGIN_LOCAL, ee_info from
 * the learnt path MTU). The kernel world's PMTU exceptions are flushed before and after. The
 * router rate-limits only the time exceeded (frag needed never is): one token per run. */
#include "trace.h"
#include "error_queue.h"
#include "peer.h"
#include "path_mtu.h"

/* Waits (silently, bounded) for the error queue to fill, then prints the poll state. */
static void wait_error(int fd)
{
    struct pollfd p = { .fd = fd, .events = 0 };
    poll(&p, 1, 3000);
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    tr_poll(&p, 1, 0);
}

int main(void)
{
    trace_start("recverr_router");
    trace_fixed_port(33434);
    trace_fixed_port(33435);
    static char big[1472];
    trace_fill(big, sizeof big, 3);
    flush_route_cache();
    /* The router's time exceeded is rate-limited per destination (a token a second, burst
     * 6); an earlier case may have spent the tokens for 198.18.0.2, so wait for one. */
    usleep(1200 * 1000);

    note("IP_TTL 1: the router answers time exceeded");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(fd, IPPROTO_IP, IP_TTL, 1);
    tr_sendto4(fd, "probe", 5, 0, REMOTE_ADDR, 33434);
    wait_error(fd);
    read_errors(fd, 64, 256, 2);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);

    note("IP_TTL 2: the remote's port unreachable");
    tr_setint(fd, IPPROTO_IP, IP_TTL, 2);
    tr_sendto4(fd, "probe", 5, 0, REMOTE_ADDR, 33435);
    wait_error(fd);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    read_errors(fd, 64, 256, 2);
    tr_close(fd);

    note("a DF datagram too big for the 1400-byte link: fragmentation needed, then local");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    tr_connect4(fd, REMOTE_ADDR, PORT_DISCARD);
    tr_send(fd, big, sizeof big, 0);
    wait_error(fd);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    read_errors(fd, 64, 256, 2);
    tr_send(fd, big, sizeof big, 0);
    read_errors(fd, 64, 256, 2);
    tr_send(fd, big, 1372, 0);
    tr_close(fd);
    flush_route_cache();
    return trace_end();
}
