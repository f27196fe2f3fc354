/* tx_timestamps: SO_TIMESTAMPING's transmit reports on a UDP socket sending to the peer:
 * TX_SOFTWARE and TX_SCHED (the error-queue entries, their order and ee_* fields), OPT_ID's
 * counter (per socket, per sendmsg SCM_TS_OPT_ID), OPT_TSONLY (no data), the looped frame
 * (length and the bytes that identify it), OPT_CMSG with IP_PKTINFO, SO_TIMESTAMPING set
 * per sendmsg with a control message, and EAGAIN once the queue is empty. Times print as
 * "nonzero"/"zero". */
#include "trace.h"
#include "tx_report.h"
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81
#endif
#ifndef SO_EE_ORIGIN_TIMESTAMPING
#define SO_EE_ORIGIN_TIMESTAMPING 4
#endif

/* A sendmsg with optional SO_TIMESTAMPING and SCM_TS_OPT_ID control messages. */
static void send_with(int fd, const char *what, size_t len, int tsflags, int id)
{
    unsigned char payload[200];
    memset(payload, 0x41, sizeof payload);
    payload[len - 1] = 0x5a;
    union {
        struct cmsghdr align;
        unsigned char bytes[64];
    } control;
    memset(&control, 0, sizeof control);
    size_t used = 0;
    struct cmsghdr *c = (struct cmsghdr *)control.bytes;
    if (tsflags >= 0) {
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SO_TIMESTAMPING;
        c->cmsg_len = CMSG_LEN(4);
        memcpy(CMSG_DATA(c), &tsflags, 4);
        used += CMSG_SPACE(4);
        c = (struct cmsghdr *)(control.bytes + used);
    }
    if (id >= 0) {
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_TS_OPT_ID;
        c->cmsg_len = CMSG_LEN(4);
        memcpy(CMSG_DATA(c), &id, 4);
        used += CMSG_SPACE(4);
    }
    struct iovec iov = { payload, len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = used ? control.bytes : NULL, .msg_controllen = used };
    ssize_t n = sendmsg(fd, &m, 0);
    printf("sendmsg(%s, len=%zu) = %zd%s%s\n", what, len, n, n < 0 ? " " : "",
           n < 0 ? trace_errno_name(errno) : "");
    usleep(20 * 1000);
}

int main(void)
{
    trace_start("tx_timestamps");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    /* A report comes when the device takes the frame: after ARP resolution (the shim gives
     * none to a datagram that waited for ARP), so the peer's address is resolved first. */
    send_with(fd, "no report", 1, -1, -1);
    usleep(100 * 1000);
    drain(fd, 1);

    note("TX_SOFTWARE | SOFTWARE: one report per datagram, the frame looped");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
    send_with(fd, "plain", 10, -1, -1);
    drain(fd, 2);

    note("TX_SCHED | TX_SOFTWARE | SOFTWARE | OPT_ID: two reports per datagram, ids count");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE |
                  SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID);
    send_with(fd, "plain", 20, -1, -1);
    send_with(fd, "plain", 30, -1, -1);
    drain(fd, 5);

    note("SCM_TS_OPT_ID chooses the id of one datagram; the counter does not move");
    send_with(fd, "SCM_TS_OPT_ID=1000", 40, -1, 1000);
    send_with(fd, "plain", 41, -1, -1);
    drain(fd, 5);

    note("OPT_TSONLY: no data; OPT_CMSG with IP_PKTINFO");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                  SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
    send_with(fd, "plain", 50, -1, -1);
    drain(fd, 2);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                  SOF_TIMESTAMPING_OPT_CMSG);
    send_with(fd, "plain", 60, -1, -1);
    drain(fd, 2);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    send_with(fd, "plain", 61, -1, -1);
    drain(fd, 2);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 0);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 0);

    note("report flags per sendmsg: SO_TIMESTAMPING control message");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_SOFTWARE);
    send_with(fd, "plain", 70, -1, -1);
    drain(fd, 1);
    send_with(fd, "SO_TIMESTAMPING=TX_SOFTWARE", 71, SOF_TIMESTAMPING_TX_SOFTWARE, -1);
    drain(fd, 2);
    send_with(fd, "SO_TIMESTAMPING=TX_SCHED", 72, SOF_TIMESTAMPING_TX_SCHED, -1);
    drain(fd, 2);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, 0);
    send_with(fd, "SO_TIMESTAMPING=TX_SOFTWARE, no SOFTWARE", 73, SOF_TIMESTAMPING_TX_SOFTWARE,
              -1);
    drain(fd, 2);

    note("poll sees POLLERR while a report waits");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE);
    send_with(fd, "plain", 80, -1, -1);
    struct pollfd p = { fd, POLLIN, 0 };
    tr_poll(&p, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    drain(fd, 2);
    tr_poll(&p, 1, 0);
    tr_close(fd);

    note("loopback: lo's zero Ethernet header, ifindex 1");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", 5071);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, "127.0.0.1", 5071);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED |
                  SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_CMSG |
                  SOF_TIMESTAMPING_OPT_ID);
    send_with(fd, "plain", 90, -1, -1);
    drain(fd, 3);
    tr_close(fd);
    tr_close(rx);
    return trace_end();
}
