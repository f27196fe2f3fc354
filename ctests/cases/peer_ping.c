/* peer_ping: the peer pings the host's address while the case holds a UDP socket (under the
 * shim the stack, and so the address, exists only while the program has an AF_INET socket):
 * plain echo, a 3000-byte echo (fragmented both ways on the 1500-byte link), and the subnet
 * broadcast address (a host ignores broadcast echo requests: icmp_echo_ignore_broadcasts).
 * Printed: ping's reply lines and counts without times. First, that the peer's commands
 * run without the shim (peer.c drops LD_PRELOAD) although the case runs under it. */
#include "trace.h"
#include "peer.h"

int main(void)
{
    trace_start("peer_ping");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, HOST_ADDR, 5007);

    note("a command in the peer runs natively: no LD_PRELOAD, no shim mapped");
    peer_run(PEER_NS, "sh -c 'echo LD_PRELOAD=${LD_PRELOAD-unset}; grep -c ipshim /proc/self/maps'",
             (char *const[]){ "sh", "-c",
                              "echo LD_PRELOAD=${LD_PRELOAD-unset}; grep -c ipshim /proc/self/maps",
                              NULL },
             3000);

    note("three echo requests, 56 bytes of data");
    peer_run(PEER_NS, "ping -c 3 -i 0.2 -W 1 198.18.0.2",
             (char *const[]){ "ping", "-c", "3", "-i", "0.2", "-W", "1", HOST_ADDR, NULL }, 4000);

    note("3000 bytes of data: the request and the reply are fragmented (MTU 1500)");
    peer_run(PEER_NS, "ping -c 2 -i 0.2 -W 1 -s 3000 198.18.0.2",
             (char *const[]){ "ping", "-c", "2", "-i", "0.2", "-W", "1", "-s", "3000", HOST_ADDR,
                              NULL },
             4000);

    note("the largest echo that fits a datagram: 65507 - 8 bytes of data");
    peer_run(PEER_NS, "ping -c 1 -W 1 -s 65499 198.18.0.2",
             (char *const[]){ "ping", "-c", "1", "-W", "1", "-s", "65499", HOST_ADDR, NULL }, 3000);

    note("the subnet's broadcast address");
    peer_run(PEER_NS, "ping -b -c 2 -i 0.2 -W 1 198.18.0.255",
             (char *const[]){ "ping", "-b", "-c", "2", "-i", "0.2", "-W", "1", "198.18.0.255",
                              NULL },
             4000);

    note("the socket is still usable afterwards");
    tr_sendto4(fd, "echo", 4, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(fd, 3000);
    char buf[64];
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(fd);

    note("the program no longer has a socket: the address still answers");
    peer_run(PEER_NS, "ping -c 1 -W 1 198.18.0.2",
             (char *const[]){ "ping", "-c", "1", "-W", "1", HOST_ADDR, NULL }, 3000);
    return trace_end();
}
