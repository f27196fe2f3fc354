/* tcp_repair: TCP_REPAIR, the checkpoint/restore interface CRIU uses. A connection to the
 * peer's echo service is dumped in repair mode (TCP_QUEUE_SEQ and a MSG_PEEK of each queue,
 * TCP_REPAIR_WINDOW, TCP_TIMESTAMP, the negotiated options), closed without a FIN or a
 * reset, restored into a new socket bound to the same port (sequence numbers, connect
 * without a handshake, TCP_REPAIR_OPTIONS, the windows, both queues), taken out of repair
 * mode (a window probe) and used again: the peer sees one byte-exact conversation. Then the
 * errno sweep: wrong states, bad values, and EPERM without CAP_NET_ADMIN. Sequence numbers
 * print relative to the dumped ones. */
#include "tcp_lib.h"

#include <linux/capability.h>
#include <sys/syscall.h>

/* TCP option kinds (linux/tcp.h's TCPOPT_*, which glibc's netinet/tcp.h names otherwise). */
#define REPAIR_OPT_MSS 2
#define REPAIR_OPT_WINDOW 3
#define REPAIR_OPT_SACK_PERM 4
#define REPAIR_OPT_TIMESTAMP 8

#ifndef TCP_REPAIR_OFF_NO_WP
#define TCP_REPAIR_OFF_NO_WP -1
#endif

static const char *queue_name(int queue)
{
    switch (queue) {
    case TCP_NO_QUEUE: return "TCP_NO_QUEUE";
    case TCP_RECV_QUEUE: return "TCP_RECV_QUEUE";
    case TCP_SEND_QUEUE: return "TCP_SEND_QUEUE";
    default: return "?";
    }
}

static void set_queue(int fd, int queue)
{
    int ret = setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue);
    printf("setsockopt(fd%d, TCP_REPAIR_QUEUE, %s) = %d%s%s\n", fd, queue_name(queue), ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
}

/* TCP_QUEUE_SEQ of the selected queue, printed relative to `base`. */
static unsigned get_queue_seq(int fd, const char *what, unsigned base)
{
    unsigned seq = 0;
    socklen_t len = sizeof seq;
    int ret = getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, &len);
    if (ret < 0)
        printf("getsockopt(fd%d, TCP_QUEUE_SEQ) = -1 %s\n", fd, trace_errno_name(errno));
    else if (!*what)
        printf("getsockopt(fd%d, TCP_QUEUE_SEQ) = 0 (dumped) len=%u\n", fd, (unsigned)len);
    else
        printf("getsockopt(fd%d, TCP_QUEUE_SEQ) = 0 %s%+d len=%u\n", fd, what,
               (int)(seq - base), (unsigned)len);
    return seq;
}

static void set_queue_seq(int fd, unsigned seq, const char *what, int delta)
{
    int ret = setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof seq);
    printf("setsockopt(fd%d, TCP_QUEUE_SEQ, %s%+d) = %d%s%s\n", fd, what, delta, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
}

static void print_window(const char *what, const struct tcp_repair_window *w, unsigned snd_base,
                         unsigned rcv_base)
{
    printf("%s: snd_wl1=rcv%+d snd_wnd=%u max_window=%u rcv_wnd=%u rcv_wup=rcv%+d\n", what,
           (int)(w->snd_wl1 - rcv_base), w->snd_wnd, w->max_window, w->rcv_wnd,
           (int)(w->rcv_wup - rcv_base));
    (void)snd_base;
}

static int get_window(int fd, struct tcp_repair_window *w, socklen_t len)
{
    int ret = getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, w, &len);
    printf("getsockopt(fd%d, TCP_REPAIR_WINDOW, len=%u) = %d%s%s\n", fd, (unsigned)len, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
    return ret;
}

static void set_window(int fd, const struct tcp_repair_window *w, socklen_t len,
                       const char *what)
{
    int ret = setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, w, len);
    printf("setsockopt(fd%d, TCP_REPAIR_WINDOW, %s, len=%u) = %d%s%s\n", fd, what,
           (unsigned)len, ret, ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
}

static void set_options(int fd, const struct tcp_repair_opt *opts, int count, const char *what)
{
    int ret = setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts,
                         (socklen_t)(count * sizeof *opts));
    printf("setsockopt(fd%d, TCP_REPAIR_OPTIONS, %s) = %d%s%s\n", fd, what, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
}

/* recv(MSG_PEEK) of the selected queue, printed as the bytes. */
static void peek_queue(int fd, int flags)
{
    char buf[64];
    tr_recv(fd, buf, sizeof buf, flags);
}

static unsigned get_timestamp(int fd)
{
    unsigned ts = 0;
    socklen_t len = sizeof ts;
    int ret = getsockopt(fd, IPPROTO_TCP, TCP_TIMESTAMP, &ts, &len);
    printf("getsockopt(fd%d, TCP_TIMESTAMP) = %d%s%s low_bit=%u\n", fd, ret, ret < 0 ? " " : "",
           ret < 0 ? trace_errno_name(errno) : "", ts & 1);
    return ts;
}

static void print_info(int fd, const char *what)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) {
        printf("%s: TCP_INFO -1 %s\n", what, trace_errno_name(errno));
        return;
    }
    printf("%s: state=%u options=0x%x snd_wscale=%u rcv_wscale=%u snd_mss=%u unacked=%u\n",
           what, info.tcpi_state, info.tcpi_options, info.tcpi_snd_wscale,
           info.tcpi_rcv_wscale, info.tcpi_snd_mss, info.tcpi_unacked);
}

/* Silent: until SIOCOUTQ shows nothing unacknowledged (the peer acknowledged everything). */
static void quiet_wait_acked(int fd, int timeout_ms)
{
    for (int round = 0; round < timeout_ms / 10; round++) {
        int queued = 0;
        if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued == 0)
            return;
        usleep(10000);
    }
}

/* Without CAP_NET_ADMIN (capset): TCP_REPAIR is EPERM. The case's last step: the process
 * drops it for good (a forked child of a shim process gets no stack, so no child does it). */
static void without_cap_net_admin(void)
{
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    syscall(SYS_capget, &header, data);
    data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
    data[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
    int dropped = syscall(SYS_capset, &header, data) == 0;
    printf("capset without CAP_NET_ADMIN: %s\n", dropped ? "ok" : "failed");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR, 0);
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR);
    tr_close(fd);
}

int main(void)
{
    trace_start("tcp_repair");
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;

    note("a connection to the echo service, with the echo of \"hello\" left unread");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    len = sizeof sa;
    getsockname(fd, SA(&sa), &len);
    unsigned port = ntohs(sa.sin_port);
    tr_send(fd, "ping", 4, 0);
    quiet_wait_bytes(fd, 4, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_send(fd, "hello", 5, 0);
    quiet_wait_bytes(fd, 5, 3000);
    quiet_wait_acked(fd, 3000);
    /* The delayed ACK of the echo goes out: the peer has nothing to retransmit while the
     * connection is being moved (however long that takes in either world). */
    usleep(300000);
    print_info(fd, "before");

    note("outside repair mode");
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR);
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE);
    set_queue(fd, TCP_SEND_QUEUE);
    get_queue_seq(fd, "", 0);
    struct tcp_repair_window window;
    get_window(fd, &window, sizeof window);
    tr_setint(fd, IPPROTO_TCP, TCP_TIMESTAMP, 1000);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, 0);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR, 2);

    note("repair mode on: the dump");
    tr_getint(fd, SOL_SOCKET, SO_REUSEADDR);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR);
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE);
    tr_getint(fd, SOL_SOCKET, SO_REUSEADDR);
    memset(buf, 0, sizeof buf);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    printf("buffer after the refused read: %s\n", buf[0] ? "written" : "untouched");
    tr_recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    tr_send(fd, "x", 1, MSG_DONTWAIT);
    get_queue_seq(fd, "", 0);
    set_queue(fd, 3);
    set_queue(fd, -1);
    set_queue(fd, TCP_RECV_QUEUE);
    unsigned rcv_seq = get_queue_seq(fd, "", 0);
    peek_queue(fd, MSG_PEEK);
    set_queue_seq(fd, rcv_seq, "rcv", 0);
    set_queue(fd, TCP_SEND_QUEUE);
    unsigned snd_seq = get_queue_seq(fd, "", 0);
    peek_queue(fd, MSG_PEEK);
    note("data queued as sent in repair mode: nothing goes on the wire");
    tr_send(fd, "xyz", 3, 0);
    get_queue_seq(fd, "snd", snd_seq);
    int queued = 0;
    tr_ioctl_int(fd, SIOCOUTQ, &queued);
    tr_ioctl_int(fd, SIOCOUTQNSD, &queued);
    tr_ioctl_int(fd, FIONREAD, &queued);
    peek_queue(fd, MSG_PEEK);
    peek_queue(fd, MSG_PEEK | MSG_DONTWAIT);
    snd_seq = get_queue_seq(fd, "snd", snd_seq);
    get_window(fd, &window, 16);
    get_window(fd, &window, sizeof window);
    print_window("window", &window, snd_seq, rcv_seq);
    check(window.max_window >= window.snd_wnd, "max_window >= snd_wnd");
    unsigned timestamp = get_timestamp(fd);
    struct tcp_info info;
    len = sizeof info;
    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
    int mss = 0;
    len = sizeof mss;
    getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len);
    printf("TCP_MAXSEG %d\n", mss);
    struct tcp_repair_opt late = { REPAIR_OPT_MSS, 1000 };
    set_options(fd, &late, 1, "MSS after data was sent");

    note("closed in repair mode: no FIN, no reset");
    tr_close(fd);

    note("a new socket restores it");
    int fd2 = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd2, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_getint(fd2, IPPROTO_TCP, TCP_MAXSEG);
    get_queue_seq(fd2, "", 0);
    set_queue_seq(fd2, 5, "", 5);
    set_queue(fd2, TCP_SEND_QUEUE);
    get_queue_seq(fd2, "zero", 0);
    set_queue_seq(fd2, snd_seq - 3, "snd", -3);
    get_queue_seq(fd2, "snd", snd_seq);
    set_queue(fd2, TCP_RECV_QUEUE);
    set_queue_seq(fd2, rcv_seq - 5, "rcv", -5);
    get_queue_seq(fd2, "rcv", rcv_seq);
    set_options(fd2, &late, 1, "MSS while closed");
    tr_recv(fd2, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    tr_send(fd2, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    tr_getint(fd2, SOL_SOCKET, SO_REUSEADDR);
    tr_setint(fd2, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_getint(fd2, SOL_SOCKET, SO_REUSEADDR);
    tr_bind4(fd2, HOST_ADDR, port);
    tr_connect4(fd2, PEER_ADDR, PORT_ECHO);
    len = sizeof sa;
    getsockname(fd2, SA(&sa), &len);
    check(ntohs(sa.sin_port) == port, "same port");
    print_info(fd2, "restored");
    len = sizeof mss;
    getsockopt(fd2, IPPROTO_TCP, TCP_MAXSEG, &mss, &len);
    printf("TCP_MAXSEG %d\n", mss);
    set_queue(fd2, TCP_SEND_QUEUE);
    get_queue_seq(fd2, "snd", snd_seq);
    set_queue(fd2, TCP_RECV_QUEUE);
    get_queue_seq(fd2, "rcv", rcv_seq);
    set_queue_seq(fd2, rcv_seq, "rcv", 0);

    note("options, timestamp and windows");
    struct tcp_repair_opt opts[4] = {
        { REPAIR_OPT_MSS, (unsigned)mss },
        { REPAIR_OPT_WINDOW, info.tcpi_snd_wscale | (info.tcpi_rcv_wscale << 16) },
        { REPAIR_OPT_SACK_PERM, 0 },
        { REPAIR_OPT_TIMESTAMP, 0 },
    };
    struct tcp_repair_opt bad_scale = { REPAIR_OPT_WINDOW, 15 };
    set_options(fd2, &bad_scale, 1, "WINDOW 15");
    struct tcp_repair_opt bad_sack = { REPAIR_OPT_SACK_PERM, 1 };
    set_options(fd2, &bad_sack, 1, "SACK_PERM 1");
    struct tcp_repair_opt bad_ts = { REPAIR_OPT_TIMESTAMP, 1 };
    set_options(fd2, &bad_ts, 1, "TIMESTAMP 1");
    opts[0].opt_val = 1460;
    set_options(fd2, opts, 4, "MSS 1460, WINDOW, SACK_PERM, TIMESTAMP");
    set_options(fd2, opts, 0, "none");
    print_info(fd2, "options");
    len = sizeof mss;
    getsockopt(fd2, IPPROTO_TCP, TCP_MAXSEG, &mss, &len);
    printf("TCP_MAXSEG %d\n", mss);
    unsigned value = timestamp;
    int ret = setsockopt(fd2, IPPROTO_TCP, TCP_TIMESTAMP, &value, sizeof value);
    printf("setsockopt(fd%d, TCP_TIMESTAMP, dumped) = %d\n", fd2, ret);
    unsigned now_ts = get_timestamp(fd2);
    check(now_ts - timestamp < 5000, "TCP_TIMESTAMP continues from the dumped value");
    note("the queues: the receive queue's bytes, the send queue's as sent");
    set_queue(fd2, TCP_RECV_QUEUE);
    tr_send(fd2, "hello", 5, 0);
    get_queue_seq(fd2, "rcv", rcv_seq);
    set_queue(fd2, TCP_SEND_QUEUE);
    tr_send(fd2, "xyz", 3, 0);
    get_queue_seq(fd2, "snd", snd_seq);
    tr_ioctl_int(fd2, SIOCOUTQ, &queued);
    tr_ioctl_int(fd2, SIOCOUTQNSD, &queued);
    tr_ioctl_int(fd2, FIONREAD, &queued);
    peek_queue(fd2, MSG_PEEK);
    set_queue(fd2, TCP_RECV_QUEUE);
    peek_queue(fd2, MSG_PEEK);
    set_queue(fd2, TCP_NO_QUEUE);
    tr_recv(fd2, buf, sizeof buf, MSG_PEEK);
    note("the windows, once the receive queue is back (rcv_wup may not pass rcv_nxt)");
    struct tcp_repair_window bad = window;
    bad.max_window = bad.snd_wnd - 1;
    set_window(fd2, &bad, sizeof bad, "max_window < snd_wnd");
    bad = window;
    bad.rcv_wup = rcv_seq + 1;
    set_window(fd2, &bad, sizeof bad, "rcv_wup after rcv_nxt");
    bad = window;
    bad.snd_wl1 = rcv_seq + window.rcv_wnd + 1;
    set_window(fd2, &bad, sizeof bad, "snd_wl1 beyond the window");
    set_window(fd2, &window, 16, "short");
    set_window(fd2, &window, sizeof window, "dumped");
    struct tcp_repair_window again;
    get_window(fd2, &again, sizeof again);
    check(memcmp(&again, &window, sizeof window) == 0, "TCP_REPAIR_WINDOW reads back");


    note("repair mode off: a window probe, then the conversation goes on");
    tr_setint(fd2, IPPROTO_TCP, TCP_REPAIR, 0);
    tr_getint(fd2, IPPROTO_TCP, TCP_REPAIR);
    tr_getint(fd2, IPPROTO_TCP, TCP_REPAIR_QUEUE);
    tr_getint(fd2, SOL_SOCKET, SO_REUSEADDR);
    tr_recv(fd2, buf, 5, 0);
    note("the restored \"xyz\" reaches the peer by retransmission, and comes back");
    quiet_wait_bytes(fd2, 3, 5000);
    tr_recv(fd2, buf, sizeof buf, 0);
    tr_send(fd2, "world", 5, 0);
    quiet_wait_bytes(fd2, 5, 3000);
    tr_recv(fd2, buf, sizeof buf, 0);
    quiet_wait_acked(fd2, 3000);
    print_info(fd2, "after");
    set_queue(fd2, TCP_SEND_QUEUE);
    get_queue_seq(fd2, "snd", snd_seq);
    tr_shutdown(fd2, SHUT_WR);
    quiet_wait_events(fd2, POLLRDHUP, 3000);
    tr_recv(fd2, buf, sizeof buf, 0);
    tr_close(fd2);

    note("repair mode on a closed socket, connect(AF_UNSPEC) and a listener");
    int fd3 = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
    tr_getint(fd3, IPPROTO_TCP, TCP_REPAIR);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR, 1);
    note("SO_REUSEADDR 0 in repair mode ends the forced reuse: the port in use is refused");
    int holder = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(holder, HOST_ADDR, 5999);
    tr_setint(fd3, SOL_SOCKET, SO_REUSEADDR, 0);
    tr_getint(fd3, SOL_SOCKET, SO_REUSEADDR);
    tr_bind4(fd3, HOST_ADDR, 5999);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_getint(fd3, SOL_SOCKET, SO_REUSEADDR);
    tr_bind4(fd3, HOST_ADDR, 5999);
    tr_close(holder);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
    tr_setint(fd3, IPPROTO_TCP, TCP_QUEUE_SEQ, 1000);
    struct tcp_repair_window plain;
    get_window(fd3, &plain, sizeof plain);
    print_window("plain", &plain, 0, 0);
    plain = (struct tcp_repair_window){ 5, 100, 200, 300, 1 };
    set_window(fd3, &plain, sizeof plain, "rcv_wup 1 on a closed socket");
    plain.rcv_wup = 0;
    set_window(fd3, &plain, sizeof plain, "snd_wl1 5, rcv_wup 0");
    get_window(fd3, &plain, sizeof plain);
    print_window("plain", &plain, 0, 0);
    tr_connect4(fd3, PEER_ADDR, PORT_DISCARD);
    get_window(fd3, &plain, sizeof plain);
    printf("connected: snd_wl1=%u snd_wnd=%u max_window=%u rcv_wup=%u\n", plain.snd_wl1,
           plain.snd_wnd, plain.max_window, plain.rcv_wup);
    tr_send(fd3, "abc", 3, 0);
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    tr_connect(fd3, &unspec, sizeof unspec);
    tr_getint(fd3, SOL_SOCKET, SO_ERROR);
    tr_getint(fd3, IPPROTO_TCP, TCP_REPAIR);
    tr_setint(fd3, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
    tr_close(fd3);
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_listen(listener, 1);
    tr_setint(listener, IPPROTO_TCP, TCP_REPAIR, 1);
    tr_close(listener);

    note("without CAP_NET_ADMIN");
    without_cap_net_admin();
    return trace_end();
}
