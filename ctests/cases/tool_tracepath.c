/* tool_tracepath: the unmodified tracepath(8) of iputils, run natively and under the shim,
 * must print the same hops, path MTU and verdict (times aside). It lives on IP_RECVERR:
 * IP_MTU_DISCOVER=DO, IP_RECVTTL, IP_TTL per hop, a 65507-byte first probe (local EMSGSIZE
 * queued with the device MTU), then recvfrom(MSG_DONTWAIT) answering the pending sk_err
 * (EHOSTUNREACH, EMSGSIZE, ECONNREFUSED) and recvmsg(MSG_ERRQUEUE) with IP_TTL and
 * sock_extended_err (time exceeded from the router, fragmentation needed with MTU 1400 from
 * the router, port unreachable from the destination), select() for readability. See
 * tool_run.h for what is reset before each run and how times print. */
#include "tool_run.h"

int main(void)
{
    trace_start("tool_tracepath");
    tool_fresh_host_caches();
    /* The router sends 5 errors in all (below), the remote 2. */
    tool_wait_for_icmp_tokens(5);

    /* Router: 2 time exceeded (hop 1 twice); frag needed is not rate limited. Remote: 1. */
    note("through the router to the remote, over its 1400-byte link");
    tool_run("tracepath -n 198.19.0.2",
             (char *const[]){ "tracepath", "-n", REMOTE_ADDR, NULL }, 7000);

    /* Router: 2 port unreachables (4 of its 6 tokens so far). Each run is killed after 7 s
     * (tracepath waits 1 s for each of up to 3 probes per hop when nothing answers), so even
     * a failing case ends within the runner's 30 s. */
    note("to the router itself: reached at hop 1");
    tool_fresh_host_caches();
    tool_run("tracepath -n 198.18.0.1",
             (char *const[]){ "tracepath", "-n", PEER_ADDR, NULL }, 7000);

    /* Router: 1 time exceeded; remote: 1. A 1000-byte probe fits every link: no EMSGSIZE.
     * -m 3 changes nothing when the tool works; it bounds a failing run. */
    note("-l 1000: probes that need no fragmentation");
    tool_fresh_host_caches();
    tool_run("tracepath -n -l 1000 -m 3 198.19.0.2",
             (char *const[]){ "tracepath", "-n", "-l", "1000", "-m", "3", REMOTE_ADDR, NULL },
             7000);
    return trace_end();
}
