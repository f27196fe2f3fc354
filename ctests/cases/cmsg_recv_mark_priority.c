/* cmsg_recv_mark_priority: SO_RCVMARK and SO_RCVPRIORITY add SO_MARK and SO_PRIORITY control
 * messages (sock_recv_mark, sock_recv_priority: skb->mark and skb->priority, u32 each, after
 * the timestamps and SO_RXQ_OVFL, before the IP ones). Datagrams through loopback from
 * senders with SO_MARK / SO_PRIORITY / IP_TOS set on the socket or in a control message, and
 * from the peer (the mark is cleared when a packet crosses network namespaces). */
#include "trace.h"
#include "peer.h"
#include "control_build.h"
#include "queue_drain.h"

#define RX_PORT 5071
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY 82
#endif

static const char sender[] =
    "import socket, sys\n"
    "port = int(sys.argv[1])\n"
    "for tag, tos, prio in (('plain', None, None), ('tos10', 0x10, None), ('prio5', None, 5)):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    if tos is not None: s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)\n"
    "    if prio is not None: s.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, prio)\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 77)\n"
    "    print('sent %s: %d' % (tag, s.sendto(tag.encode(), ('198.18.0.2', port))))\n";

static int rx;

static void drain(void)
{
    usleep(30 * 1000);
    drain_traced(rx, 16, 256, 256, 0);
}

static void send_with(int fd, const char *text, int level, int type, unsigned value)
{
    struct control control;
    memset(&control, 0, sizeof control);
    struct sockaddr_in dest = sin4("127.0.0.1", RX_PORT);
    struct iovec iov = { (void *)text, strlen(text) };
    struct msghdr m = { .msg_name = &dest, .msg_namelen = sizeof dest, .msg_iov = &iov,
                        .msg_iovlen = 1 };
    if (level >= 0) {
        control_add(&control, level, type, &value, sizeof value);
        m.msg_control = control.u.bytes;
        m.msg_controllen = control.len;
    }
    tr_sendmsg(fd, &m, 0);
}

int main(void)
{
    trace_start("cmsg_recv_mark_priority");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "0.0.0.0", RX_PORT);
    tr_setint(rx, SOL_SOCKET, SO_RCVMARK, 1);
    tr_setint(rx, SOL_SOCKET, SO_RCVPRIORITY, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 1);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("through loopback");
    send_with(tx, "plain", -1, 0, 0);
    send_with(tx, "cmsg-mark", SOL_SOCKET, SO_MARK, 9);
    send_with(tx, "cmsg-prio", SOL_SOCKET, SO_PRIORITY, 4);
    send_with(tx, "cmsg-tos", IPPROTO_IP, IP_TOS, 0x10);
    drain();
    tr_setint(tx, SOL_SOCKET, SO_MARK, 5);
    tr_setint(tx, SOL_SOCKET, SO_PRIORITY, 3);
    send_with(tx, "opt-mark-prio", -1, 0, 0);
    send_with(tx, "opt-and-cmsg", SOL_SOCKET, SO_PRIORITY, 1);
    tr_setint(tx, IPPROTO_IP, IP_TOS, 0x08);
    send_with(tx, "opt-tos", -1, 0, 0);
    drain();

    note("from the peer");
    peer_run(PEER_NS, "python3 sender.py",
             (char *const[]){ "python3", "-c", (char *)sender, "5071", NULL }, 5000);
    quiet_wait_readable(rx, 2000);
    drain();

    note("only SO_RCVPRIORITY, then only SO_RCVMARK");
    tr_setint(rx, SOL_SOCKET, SO_RCVMARK, 0);
    send_with(tx, "prio-only", -1, 0, 0);
    drain();
    tr_setint(rx, SOL_SOCKET, SO_RCVMARK, 1);
    tr_setint(rx, SOL_SOCKET, SO_RCVPRIORITY, 0);
    send_with(tx, "mark-only", -1, 0, 0);
    drain();

    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
