/* tool_traceroute_options: traceroute(8) with options that change what the sockets see,
 * natively and under the shim (times aside):
 *   -m 1 -q 1: one probe, time exceeded only;
 *   -U -p 7 -q 1 -m 2: the remote's UDP echo answers, so the reply arrives as data (POLLIN,
 *     recvmsg without MSG_ERRQUEUE, SO_TIMESTAMP and IP_TTL). -m 2 keeps it to two probes so
 *     that the frames do not depend on how many answers one poll() returns: with 16 probes in
 *     flight traceroute sends a 17th whenever hop 1's answer comes back alone, and echoes
 *     arriving after it exited get a port unreachable from the kernel world's host only;
 *   -U -p 9 -m 3 -w 1: the remote's discard port, so hops 2 and 3 never answer and
 *     traceroute gives up after its 1 s wait.
 * The router sends 5 errors in all, the remote none (echo replies are not rate limited). See
 * tool_run.h for what is reset before each run. */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_traceroute_options");
    tool_fresh_host_caches();
    tool_wait_for_icmp_tokens(5); /* the router's 5 errors */

    note("one hop, one probe");
    tool_run("traceroute -n -m 1 -q 1 198.19.0.2",
             (char *const[]){ "traceroute", "-n", "-m", "1", "-q", "1", REMOTE_ADDR, NULL },
             8000);

    note("the remote's UDP echo port: the destination answers with data");
    tool_fresh_host_caches();
    tool_run("traceroute -n -U -p 7 -q 1 -m 2 198.19.0.2",
             (char *const[]){ "traceroute", "-n", "-U", "-p", "7", "-q", "1", "-m", "2",
                              REMOTE_ADDR, NULL },
             8000);

    note("the remote's discard port: no answer after hop 1");
    tool_fresh_host_caches();
    tool_run("traceroute -n -U -p 9 -m 3 -w 1 198.19.0.2",
             (char *const[]){ "traceroute", "-n", "-U", "-p", "9", "-m", "3", "-w", "1",
                              REMOTE_ADDR, NULL },
             8000);
    return trace_end();
}
