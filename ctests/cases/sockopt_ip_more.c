/* sockopt_ip_more: defaults of the ip(7) options beyond what UDP needs on its own path
 * (issue #3 brings them with their effect on the wire): IP_HDRINCL, IP_RECVOPTS,
 * IP_RETOPTS, IP_MINTTL, IP_NODEFRAG, IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_ALL. */
#include "trace.h"

int main(void)
{
    trace_start("sockopt_ip_more");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("defaults on a UDP socket");
    const int ip_defaults[] = { IP_HDRINCL, IP_RECVOPTS, IP_RETOPTS, IP_MINTTL, IP_NODEFRAG,
                                IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_ALL };
    for (size_t i = 0; i < sizeof ip_defaults / sizeof ip_defaults[0]; i++)
        tr_getint(fd, IPPROTO_IP, ip_defaults[i]);

    tr_close(fd);
    return 0;
}
