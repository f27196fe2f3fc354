/* tool_traceroute_udp: `traceroute -U` (every probe to UDP port 53, closed on the remote),
 * natively and under the shim: the same hops (times aside). The calls are tool_traceroute's
 * with a fixed destination port, so the probes are told apart by their sockets alone: each
 * error must reach the error queue of the one connected socket that sent the datagram it
 * quotes. See tool_run.h for what is reset before the run. */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_traceroute_udp");
    tool_fresh_host_caches();
    tool_wait_for_full_icmp_buckets();
    note("UDP probes to port 53");
    tool_run("traceroute -n -U 198.19.0.2",
             (char *const[]){ "traceroute", "-n", "-U", REMOTE_ADDR, NULL }, 9000);
    return trace_end();
}
