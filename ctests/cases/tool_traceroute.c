/* tool_traceroute: the unmodified traceroute(8) (Dmitry Butskoy's 2.x, default UDP method)
 * run natively and under the shim must print the same hops (times aside). It opens one
 * socket per probe, 16 at once: bind to 0.0.0.0:0 with a 28-byte address length,
 * IP_MTU_DISCOVER=DONT, SO_TIMESTAMP, IP_RECVTTL, O_NONBLOCK, IP_TTL, connect to port
 * 33434+n, IP_RECVERR after connect, send 32 bytes; then poll(POLLIN|POLLERR) and
 * recvmsg(MSG_ERRQUEUE) with SO_TIMESTAMP, IP_TTL and IP_RECVERR control messages (time
 * exceeded from the router, port unreachable from the remote). The router answers the three
 * TTL-1 probes; the remote answers exactly 6 of the 13 others (its rate limit: hops 2 and 3),
 * and traceroute stops at hop 2. See tool_run.h for what is reset before the run. */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_traceroute");
    tool_fresh_host_caches();
    tool_wait_for_full_icmp_buckets();
    note("UDP probes to closed ports 33434 and up");
    tool_run("traceroute -n 198.19.0.2",
             (char *const[]){ "traceroute", "-n", REMOTE_ADDR, NULL }, 9000);
    return trace_end();
}
