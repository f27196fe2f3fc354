/* udp_arp_failure: datagrams to an on-link address nobody answers ARP for (198.18.0.99).
 * The sends succeed (the datagram waits in the neighbour's queue); resolution sends
 * mcast_solicit (3) requests retrans_time (1 s) apart, then fails: the queued datagrams are
 * dropped with a local ICMP host unreachable (arp_error_report -> ipv4_link_failure). Host
 * unreachable is not a "fatal" ICMP error (icmp_err_convert), so without IP_RECVERR neither a
 * connected nor an unconnected socket reports it (__udp4_lib_err). The peer counts the ARP
 * requests it sees. Only outcomes are printed, never how long resolution took. */
#include "trace.h"
#include "peer.h"

#define NOBODY "198.18.0.99"

/* Runs in the peer: counts ARP requests for argv[1] until argv[2] seconds after "ready". */
static const char arp_counter[] =
    "import socket, struct, sys, time\n"
    "target = socket.inet_aton(sys.argv[1])\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))\n"
    "s.bind(('eth0', 0))\n"
    "s.settimeout(0.2)\n"
    "print('ready', flush=True)\n"
    "requests = []\n"
    "deadline = time.monotonic() + float(sys.argv[2])\n"
    "while time.monotonic() < deadline:\n"
    "    try:\n"
    "        f = s.recv(100)\n"
    "    except socket.timeout:\n"
    "        continue\n"
    "    if len(f) < 42 or f[12:14] != b'\\x08\\x06': continue\n"
    "    op = struct.unpack('!H', f[20:22])[0]\n"
    "    if op == 1 and f[38:42] == target:\n"
    "        requests.append('who-has %s tell %s from %s to %s sha %s tha %s' % (\n"
    "            socket.inet_ntoa(f[38:42]), socket.inet_ntoa(f[28:32]), f[6:12].hex(':'),\n"
    "            f[0:6].hex(':'), f[22:28].hex(':'), f[32:38].hex(':')))\n"
    "print('%d ARP requests for %s' % (len(requests), sys.argv[1]))\n"
    "for r in sorted(set(requests)): print(r)\n";

int main(void)
{
    trace_start("udp_arp_failure");
    char buf[64];

    struct peer_job arp;
    peer_start_python(&arp, PEER_NS, "python3 arp_counter.py 198.18.0.99 4.5", arp_counter,
                      (const char *const[]){ NOBODY, "4.5", NULL });
    peer_wait_ready(&arp, 3000);

    note("an unconnected and a connected socket send to " NOBODY);
    int unconnected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int connected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(connected, NOBODY, PORT_DISCARD);
    tr_sendto4(unconnected, "lost", 4, 0, NOBODY, PORT_DISCARD);
    tr_send(connected, "lost", 4, 0);

    note("nothing is known yet");
    tr_getint(connected, SOL_SOCKET, SO_ERROR);
    tr_recv(connected, buf, sizeof buf, MSG_DONTWAIT);

    note("resolution fails after about 3 s: wait 4.5 s");
    struct pollfd p[2] = { { .fd = connected, .events = POLLIN },
                           { .fd = unconnected, .events = POLLIN } };
    tr_poll(p, 2, 4500);
    peer_finish(&arp, 3000);
    trace_watchdog();

    note("neither socket reports anything");
    tr_getint(connected, SOL_SOCKET, SO_ERROR);
    tr_recv(connected, buf, sizeof buf, MSG_DONTWAIT);
    tr_getint(unconnected, SOL_SOCKET, SO_ERROR);
    tr_recv(unconnected, buf, sizeof buf, MSG_DONTWAIT);

    /* No second attempt: its resolution would outlive the case, and a run started at once
     * would find the neighbour entry still INCOMPLETE. */
    tr_close(connected);
    tr_close(unconnected);
    return trace_end();
}
