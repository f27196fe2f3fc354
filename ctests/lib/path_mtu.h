/* path_mtu.h: forgetting the path MTUs the kernel world's host has learnt, so that one run
 * of a case (or an earlier case) cannot decide what the next one sees (include after peer.h).
 * The shim world needs nothing: the shim's PMTU cache lives in the case's own process. In the
 * shim world the host namespace has no IPv4 routes, so these commands fail there, harmlessly
 * (the status is not printed, stderr is discarded). */
#ifndef IPSHIM_CTESTS_PATH_MTU_H
#define IPSHIM_CTESTS_PATH_MTU_H

#include "peer.h"

/* `ip route flush cache`: outdates every exception (fnhe_genid), so no route sees a learnt
 * MTU any more. Enough when nothing depends on how a socket's cached route meets a later
 * exception. */
static inline void flush_route_cache(void)
{
    peer_run(HOST_NS, "ip route flush cache",
             (char *const[]){ "ip", "route", "flush", "cache", NULL }, 3000);
}

/* Forgets every learned path MTU of the host namespace. `ip route flush cache` alone only
 * outdates the exceptions; their objects stay and are reused empty, which changes how
 * sockets' cached routes see a later exception. Replacing the default route frees its
 * nexthop with all its exceptions. */
static inline void forget_path_mtus(void)
{
    peer_run(HOST_NS, "ip route del default; ip route add default via 198.18.0.1; ip route flush cache",
             (char *const[]){ "sh", "-c",
                              "ip route del default; ip route add default via 198.18.0.1 dev eth0;"
                              " ip route flush cache; exit 0",
                              NULL },
             3000);
}

#endif
