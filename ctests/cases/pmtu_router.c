/* pmtu_router: path MTU discovery against the real router. The peer forwards to the remote
 * (198.19.0.2) over a 1400-byte link, so a 1472-byte datagram (1500 on the wire) with DF gets
 * ICMP fragmentation needed (MTU 1400) back. For each IP_MTU_DISCOVER mode, a socket connected
 * to the remote sends 1472 bytes: whether DF is set (ip_dont_fragment), EMSGSIZE locally
 * (ip_append_data) or later from the error (udp_err, a hard error on a connected socket),
 * IP_MTU before and after (ENOTCONN unconnected), which sockets' cached routes see the learned
 * MTU (a route cached before the exception existed keeps its MTU until a send revalidates
 * it), what the remote receives. The host's learned MTUs are dropped before and after, so the
 * kernel world starts as fresh as the shim. */
#include "trace.h"
#include "peer.h"
#include "peer_capture.h"
#include "path_mtu.h"

#define REMOTE_PORT 5041

static const char receiver[] =
    "import socket, sys, time\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', int(sys.argv[1])))\n"
    "s.settimeout(0.5)\n"
    "print('ready', flush=True)\n"
    "deadline = time.monotonic() + 8\n"
    "while time.monotonic() < deadline:\n"
    "    try: d = s.recv(70000)\n"
    "    except socket.timeout: continue\n"
    "    tag = d[:16].split(b':')[0].decode(errors='replace')\n"
    "    print('got %s: %d bytes' % (tag, len(d)))\n"
    "    if tag == 'end': break\n";

static void send_tagged(int fd, const char *tag, size_t size)
{
    tr_send(fd, tagged_payload(tag, size), size, 0);
}

static int connected_socket(int mode)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, mode);
    tr_connect4(fd, REMOTE_ADDR, REMOTE_PORT);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    return fd;
}

/* The router answers within a millisecond; 300 ms is plenty and bounded. */
static void let_errors_arrive(void)
{
    usleep(300 * 1000);
}

int main(void)
{
    trace_start("pmtu_router");
    forget_path_mtus();
    struct peer_job job;
    peer_start_python(&job, REMOTE_NS, "python3 receiver.py 5041", receiver,
                      (const char *const[]){ "5041", NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    note("IP_MTU needs a cached route");
    int unconnected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(unconnected, IPPROTO_IP, IP_MTU);

    note("no DF: the router fragments, nothing is learned");
    int dont = connected_socket(IP_PMTUDISC_DONT);
    send_tagged(dont, "dont", 1472);
    int interface = connected_socket(IP_PMTUDISC_INTERFACE);
    send_tagged(interface, "interface", 1472);
    int omit = connected_socket(IP_PMTUDISC_OMIT);
    send_tagged(omit, "omit", 1472);
    let_errors_arrive();
    tr_getint(dont, IPPROTO_IP, IP_MTU);

    note("WANT: DF while it fits; the router's error teaches 1400 and reaches the socket");
    int want = connected_socket(IP_PMTUDISC_WANT);
    send_tagged(want, "want-1", 1472);
    let_errors_arrive();
    tr_getint(want, IPPROTO_IP, IP_MTU);
    send_tagged(want, "want-2", 1472);
    send_tagged(want, "want-3", 1472);
    tr_getint(want, SOL_SOCKET, SO_ERROR);
    note("sockets whose route was cached before: their own MTU until a send revalidates it");
    tr_getint(dont, IPPROTO_IP, IP_MTU);
    tr_getint(interface, IPPROTO_IP, IP_MTU);
    send_tagged(dont, "dont-after", 1472);
    tr_getint(dont, IPPROTO_IP, IP_MTU);
    send_tagged(interface, "interface-after", 1472);
    tr_getint(interface, IPPROTO_IP, IP_MTU);
    send_tagged(omit, "omit-after", 1472);
    tr_getint(omit, IPPROTO_IP, IP_MTU);

    note("DO: the learned MTU refuses at once");
    int do_ = connected_socket(IP_PMTUDISC_DO);
    send_tagged(do_, "do-1472", 1472);
    send_tagged(do_, "do-1372", 1372);
    send_tagged(do_, "do-1373", 1373);
    int do_unconnected = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(do_unconnected, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    tr_sendto4(do_unconnected, "do-unconnected:", 1472, 0, REMOTE_ADDR, REMOTE_PORT);
    tr_sendto4(do_unconnected, "do-unconnected:", 1372, 0, REMOTE_ADDR, REMOTE_PORT);

    note("PROBE: the device MTU, DF; the router refuses again");
    int probe = connected_socket(IP_PMTUDISC_PROBE);
    send_tagged(probe, "probe-1472", 1472);
    let_errors_arrive();
    send_tagged(probe, "probe-again", 1472);
    send_tagged(probe, "probe-1372", 1372);
    tr_getint(probe, IPPROTO_IP, IP_MTU);

    note("IP_MTU_DISCOVER values");
    for (int v = -1; v <= 6; v++)
        tr_setint(unconnected, IPPROTO_IP, IP_MTU_DISCOVER, v);
    tr_getint(unconnected, IPPROTO_IP, IP_MTU_DISCOVER);
    tr_setsockopt(unconnected, IPPROTO_IP, IP_MTU, "\0\0\0\0", 4);

    int end = connected_socket(IP_PMTUDISC_DONT);
    send_tagged(end, "end", 10);
    peer_finish(&job, 9000);
    tr_close(end);
    tr_close(probe);
    tr_close(do_unconnected);
    tr_close(do_);
    tr_close(want);
    tr_close(omit);
    tr_close(interface);
    tr_close(dont);
    tr_close(unconnected);
    forget_path_mtus();
    return trace_end();
}
