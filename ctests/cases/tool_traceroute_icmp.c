/* tool_traceroute_icmp: traceroute -I (ICMP echo probes on one raw ICMP socket; the hops
 * answer time exceeded, the remote echo replies, both read from the raw socket with their
 * IP header) and traceroute -T (TCP SYN probes on a raw TCP socket with IP_RECVERR: time
 * exceeded read from its error queue, the remote's SYN-ACK from the raw socket itself),
 * natively and under the shim: the same hops, times aside. Each run waits for full ICMP
 * buckets first (tool_run.h). */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_traceroute_icmp");
    tool_fresh_host_caches();
    tool_wait_for_full_icmp_buckets();
    note("ICMP echo probes");
    tool_run("traceroute -I -n 198.19.0.2",
             (char *const[]){ "traceroute", "-I", "-n", REMOTE_ADDR, NULL }, 9000);
    tool_wait_for_full_icmp_buckets();
    note("TCP SYN probes to port 80");
    tool_run("traceroute -T -n -p 80 198.19.0.2",
             (char *const[]){ "traceroute", "-T", "-n", "-p", "80", REMOTE_ADDR, NULL }, 9000);
    return trace_end();
}
