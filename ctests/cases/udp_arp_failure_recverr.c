/* udp_arp_failure_recverr: as udp_arp_failure, with IP_RECVERR on both sockets. Then the
 * local ICMP host unreachable of a failed resolution (arp_error_report ->
 * ipv4_link_failure) is reported to the connected and the unconnected socket alike:
 * sk_err = EHOSTUNREACH and an entry in the error queue (__udp4_lib_err, ip_icmp_error).
 * The wait is bounded and only its outcome is printed. */
#include "trace.h"
#include "error_queue.h"
#include "peer.h"

#define NOBODY "198.18.0.97"

int main(void)
{
    trace_start("udp_arp_failure_recverr");
    char buf[64];

    note("an unconnected and a connected socket, IP_RECVERR on, send to " NOBODY);
    int unconnected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int connected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(unconnected, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(connected, IPPROTO_IP, IP_RECVERR, 1);
    tr_connect4(connected, NOBODY, PORT_DISCARD);
    /* The unconnected one first: its datagram is ahead in the neighbour's queue, so its
     * error is delivered before the connected one's wakes the case. */
    tr_sendto4(unconnected, "lost", 4, 0, NOBODY, PORT_DISCARD);
    tr_send(connected, "lost", 4, 0);

    note("resolution fails after about 3 s");
    struct pollfd p = { .fd = connected, .events = POLLIN };
    tr_poll(&p, 1, 6000);
    trace_watchdog();
    usleep(100 * 1000);

    note("the connected socket");
    tr_recv(connected, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(connected, buf, sizeof buf, MSG_DONTWAIT);
    tr_getint(connected, SOL_SOCKET, SO_ERROR);
    p = (struct pollfd){ .fd = connected, .events = POLLIN };
    tr_poll(&p, 1, 0);

    note("the unconnected socket");
    p = (struct pollfd){ .fd = unconnected, .events = POLLIN };
    tr_poll(&p, 1, 0);
    tr_getint(unconnected, SOL_SOCKET, SO_ERROR);
    tr_getint(unconnected, SOL_SOCKET, SO_ERROR);
    tr_recv(unconnected, buf, sizeof buf, MSG_DONTWAIT);

    note("the error queues");
    for (int i = 0; i < 2; i++) {
        int fd = i == 0 ? connected : unconnected;
        read_one_error(fd, 64, 256);
        read_one_error(fd, 64, 256);
    }
    tr_close(connected);
    tr_close(unconnected);
    return trace_end();
}
