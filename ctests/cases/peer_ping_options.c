/* peer_ping_options: echo requests carrying IP options, from the peer to the host's address:
 * Record Route (the replier adds its address, RFC 791 / ip_options_echo) and Timestamp
 * (tsonly). Printed: ping's reply lines and the options it decoded, timestamps normalised. */
#include "trace.h"
#include "peer.h"

int main(void)
{
    trace_start("peer_ping_options");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, 5008);

    note("Record Route");
    peer_run(PEER_NS, "ping -c 1 -W 1 -R 198.18.0.2",
             (char *const[]){ "ping", "-c", "1", "-W", "1", "-R", HOST_ADDR, NULL }, 3000);

    note("Timestamp, timestamps only");
    peer_run(PEER_NS, "ping -c 1 -W 1 -T tsonly 198.18.0.2",
             (char *const[]){ "ping", "-c", "1", "-W", "1", "-T", "tsonly", HOST_ADDR, NULL },
             3000);

    note("Timestamp with addresses");
    peer_run(PEER_NS, "ping -c 1 -W 1 -T tsandaddr 198.18.0.2",
             (char *const[]){ "ping", "-c", "1", "-W", "1", "-T", "tsandaddr", HOST_ADDR, NULL },
             3000);

    tr_close(fd);
    return trace_end();
}
