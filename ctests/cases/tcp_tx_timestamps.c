/* tcp_tx_timestamps: SO_TIMESTAMPING's transmit reports on a TCP connection to the peer:
 * OPT_ID refused on a closed or listening socket, TX_SCHED and TX_SOFTWARE with the whole
 * frame looped, TX_ACK with the segment's payload, ee_data as the byte offset of each
 * write's last byte, OPT_TSONLY, OPT_CMSG with IP_PKTINFO, and MSG_ZEROCOPY completions
 * (one id per send with data, merged, COPIED); an error-queue read while stream bytes wait
 * takes the report alone. Times print as "nonzero"/"zero". */
#include "trace.h"
#include "tx_report.h"
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#define SOFTWARE_AND_ID (SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID)
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

/* sendmsg with one control message (level, type, int value). */
static void send_with_message(int fd, const char *what, int level, int type, int value)
{
    char payload[6] = "cmsg!";
    union {
        struct cmsghdr align;
        unsigned char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct cmsghdr *c = (struct cmsghdr *)control.bytes;
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &value, sizeof value);
    struct iovec iov = { payload, 5 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                        .msg_controllen = sizeof control.bytes };
    ssize_t n = sendmsg(fd, &m, 0);
    printf("sendmsg(%s) = %zd%s%s\n", what, n, n < 0 ? " " : "",
           n < 0 ? trace_errno_name(errno) : "");
    usleep(150 * 1000);
}

static void send_and_wait(int fd, size_t len, int flags)
{
    char payload[100];
    memset(payload, 0x41, sizeof payload);
    payload[len - 1] = 0x5a;
    tr_send(fd, payload, len, flags);
    /* The peer's delayed ACK comes within 40 ms or so. */
    usleep(150 * 1000);
}

int main(void)
{
    trace_start("tcp_tx_timestamps");
    int stamping = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED |
                   SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_SOFTWARE;

    note("OPT_ID needs a connection: EINVAL while closed or listening");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, stamping | SOF_TIMESTAMPING_OPT_ID);
    tr_getint(fd, SOL_SOCKET, SO_TIMESTAMPING);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_SOFTWARE);
    tr_listen(fd, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, stamping | SOF_TIMESTAMPING_OPT_ID);
    tr_getint(fd, SOL_SOCKET, SO_TIMESTAMPING);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    note("SCHED, SND (the frame), ACK (the payload); ids are byte offsets");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, stamping | SOF_TIMESTAMPING_OPT_ID);
    send_and_wait(fd, 10, 0);
    send_and_wait(fd, 5, 0);
    drain(fd, 7);

    note("OPT_TSONLY: no data");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              stamping | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
    send_and_wait(fd, 7, 0);
    drain(fd, 4);

    note("OPT_CMSG with IP_PKTINFO; without OPT_ID ee_data is 0");
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK |
                  SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_CMSG);
    send_and_wait(fd, 9, 0);
    drain(fd, 3);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 0);

    note("SO_TIMESTAMPING per sendmsg; SCM_TS_OPT_ID and unknown bits are EINVAL on TCP");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, SOFTWARE_AND_ID);
    send_with_message(fd, "SO_TIMESTAMPING=TX_ACK", SOL_SOCKET, SO_TIMESTAMPING,
                      SOF_TIMESTAMPING_TX_ACK);
    drain(fd, 2);
    send_with_message(fd, "SCM_TS_OPT_ID=5", SOL_SOCKET, 81, 5);
    send_with_message(fd, "SO_TIMESTAMPING=SOFTWARE", SOL_SOCKET, SO_TIMESTAMPING,
                      SOF_TIMESTAMPING_SOFTWARE);
    send_with_message(fd, "IP_TTL=0 (not looked at)", IPPROTO_IP, IP_TTL, 0);
    drain(fd, 1);

    note("TX_ACK only, without SOFTWARE: the report has no SO_TIMESTAMPING message");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_ACK);
    send_and_wait(fd, 3, 0);
    drain(fd, 2);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING, 0);

    note("MSG_ZEROCOPY: ignored without SO_ZEROCOPY; then one id per send, merged");
    send_and_wait(fd, 4, MSG_ZEROCOPY);
    drain(fd, 1);
    tr_setint(fd, SOL_SOCKET, SO_ZEROCOPY, 1);
    send_and_wait(fd, 4, MSG_ZEROCOPY);
    struct pollfd p = { fd, POLLIN, 0 };
    tr_poll(&p, 1, 0);
    drain(fd, 2);
    send_and_wait(fd, 4, MSG_ZEROCOPY);
    send_and_wait(fd, 4, 0);
    send_and_wait(fd, 4, MSG_ZEROCOPY);
    drain(fd, 2);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);

    note("MSG_ERRQUEUE with stream bytes queued: the report alone, the bytes stay");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID);
    send_and_wait(fd, 6, 0);
    int queued = 0;
    tr_ioctl_int(fd, FIONREAD, &queued);
    drain(fd, 2);
    tr_ioctl_int(fd, FIONREAD, &queued);
    char echo[16];
    tr_recv(fd, echo, sizeof echo, MSG_DONTWAIT);
    tr_close(fd);
    return trace_end();
}
