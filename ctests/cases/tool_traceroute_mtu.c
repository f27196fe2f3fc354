/* tool_traceroute_mtu: traceroute(8)'s path MTU modes, natively and under the shim (times
 * aside).
 *   --mtu: IP_MTU_DISCOVER=PROBE and one probe at a time, starting at 65000 bytes: a local
 *     EMSGSIZE on the connected socket (queued with the device MTU 1500, SO_TIMESTAMP but no
 *     IP_TTL), then 1500-byte probes until the router's fragmentation needed (MTU 1400) and
 *     1400-byte ones; it prints F=1500 at hop 1 and F=1400 at hop 2. The errors carry the
 *     router's 520 bytes of quoted payload. "-w 5,0,0" keeps its 5 s wait per probe and turns
 *     off the waits scaled by earlier round trips (3 x the previous one at the same hop):
 *     probes go one at a time here, and a few milliseconds of scheduling would print "*".
 *   -F with 1500-byte packets: DF (IP_MTU_DISCOVER=DO), 16 probes at once; hop 2 and beyond
 *     get fragmentation needed from the router: "!F-1400".
 * The router sends 6 time exceeded in all (fragmentation needed is not rate limited), the
 * remote 3 port unreachables. See tool_run.h for what is reset before each run. */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_traceroute_mtu");
    tool_fresh_host_caches();
    tool_wait_for_full_icmp_buckets();

    note("path MTU discovery, one probe at a time");
    tool_run("traceroute -n --mtu -w 5,0,0 198.19.0.2",
             (char *const[]){ "traceroute", "-n", "--mtu", "-w", "5,0,0", REMOTE_ADDR, NULL },
             8000);

    note("don't fragment, 1500-byte packets: the router cannot forward them onto its 1400-byte link");
    tool_fresh_host_caches();
    tool_run("traceroute -n -F 198.19.0.2 1500",
             (char *const[]){ "traceroute", "-n", "-F", REMOTE_ADDR, "1500", NULL }, 8000);
    return trace_end();
}
