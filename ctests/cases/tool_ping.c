/* tool_ping: the unmodified ping(8) (iputils) run natively and under the shim must print the
 * same lines, times aside. As root with the default ping_group_range ("1 0") ping opens a raw
 * ICMP socket (SOCK_RAW, IPPROTO_ICMP) and reads the replies with their IP header; the router
 * answers the echo requests itself. ping's own timing figures are replaced by T through sed
 * (tool_run only normalises "N.N ms" forms); ping's exit status is printed through the pipe. */
#include "tool_run.h"

/* ping's own figures: "time=0.136 ms", "time 301ms", "= 0.1/0.2/0.3/0.0 ms". */
#define SED_TIMES " | sed -E 's/time=[0-9.]+/time=T/; s/time [0-9]+ms/time Tms/; s/= [0-9.\\/]+ ms/= T ms/'"

int main(void)
{
    trace_start("tool_ping");
    tool_fresh_host_caches();
    note("two echo requests to the router, 0.2 s apart");
    tool_run("ping -c 2 -i 0.2 -n 198.18.0.1 | sed (times as T)",
             (char *const[]){ "sh", "-c",
                              "(ping -c 2 -i 0.2 -n " PEER_ADDR "; echo ping exit: $?)" SED_TIMES,
                              NULL },
             6000);
    note("an address nobody has on the peer's link: no reply in 1 s");
    tool_run("ping -c 1 -W 1 -n 198.18.0.77 | sed (times as T)",
             (char *const[]){ "sh", "-c",
                              "(ping -c 1 -W 1 -n 198.18.0.77; echo ping exit: $?)" SED_TIMES,
                              NULL },
             6000);
    return trace_end();
}
