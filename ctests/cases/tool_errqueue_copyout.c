/* tool_errqueue_copyout: how a MSG_ERRQUEUE read copies its results out to the program, for
 * the buffer shapes tools use: recvmsg with a name buffer larger than sockaddr_in (tracepath:
 * 128, traceroute: 28), shorter (4: the address cut, msg_namelen still 16), absent; no control
 * buffer (MSG_CTRUNC), one too short for the IP_RECVERR message (MSG_CTRUNC, the messages that
 * fit), a bad control pointer; recvfrom and recv with MSG_ERRQUEUE (address but no control
 * messages); recvmmsg with MSG_ERRQUEUE; readiness through select (readable and writable) and
 * epoll; a blocking socket never waits on an empty queue. The errors are port unreachables
 * from a closed port of 127.0.0.1 (loopback is never rate-limited): they carry the datagram as
 * data, IP_TTL and SO_TIMESTAMP. */
#include "trace.h"

/* COUNT port unreachables on FD's error queue. Each one also sets sk_err (IP_RECVERR does that
 * on unconnected sockets too), which the next send would report instead of sending: wait
 * until it is set, and clear it, before sending again (silently: timing only). */
static void provoke(int fd, int count)
{
    for (int i = 0; i < count; i++) {
        tr_sendto4(fd, "tool-probe-0123456789abcdef", 27, 0, "127.0.0.1", PORT_CLOSED);
        for (int tries = 0; tries < 200; tries++) {
            int pending = 0;
            socklen_t len = sizeof pending;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &len) == 0 && pending != 0)
                break;
            usleep(5000);
        }
    }
}

static void read_with(int fd, void *name, socklen_t namelen, void *control, size_t controllen,
                      size_t datalen)
{
    char data[128];
    struct iovec iov = { .iov_base = data, .iov_len = datalen };
    struct msghdr msg = {
        .msg_name = name, .msg_namelen = namelen, .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = controllen,
    };
    tr_recvmsg(fd, &msg, MSG_ERRQUEUE);
}

int main(void)
{
    trace_start("tool_errqueue_copyout");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_fcntl(fd, F_GETFL, 0); /* blocking: MSG_ERRQUEUE must still never wait */

    note("nothing queued: EAGAIN at once, even on a blocking socket");
    read_with(fd, NULL, 0, NULL, 0, 64);

    note("three errors queued; select sees the socket readable and writable, not exceptional");
    provoke(fd, 3);
    fd_set r, w, e;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    FD_SET(fd, &e);
    struct timeval zero = { 0 };
    tr_select(fd + 1, &r, &w, &e, &zero);
    int ep = tr_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLERR, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct epoll_event got[2];
    tr_epoll_wait(ep, got, 2, 0);
    tr_close(ep);

    char name[128], control[512];
    note("tracepath's shapes: a 128-byte name, 24 bytes of data");
    memset(name, 0xaa, sizeof name);
    read_with(fd, name, 128, control, sizeof control, 24);
    note("a 4-byte name: the address is cut, msg_namelen says 16");
    memset(name, 0xaa, sizeof name);
    read_with(fd, name, 4, control, sizeof control, 64);
    note("no name, no control buffer: MSG_CTRUNC");
    read_with(fd, NULL, 0, NULL, 0, 64);
    read_with(fd, NULL, 0, NULL, 0, 64);

    note("a control buffer with room for SO_TIMESTAMP and IP_TTL only");
    provoke(fd, 3);
    read_with(fd, name, sizeof name, control, 32 + 24, 64);
    note("a control buffer with room for a header only");
    read_with(fd, name, sizeof name, control, sizeof(struct cmsghdr), 64);
    note("a control buffer in an unmapped page (put_cmsg's faults are not errors)");
    read_with(fd, name, sizeof name, BADPTR, 256, 64);
    read_with(fd, name, sizeof name, control, sizeof control, 64);

    note("recvfrom and recv with MSG_ERRQUEUE: the address, no control messages");
    provoke(fd, 3);
    char data[64];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    tr_recvfrom(fd, data, sizeof data, MSG_ERRQUEUE, SA(&from), &fromlen);
    note("taking an entry set sk_err from the ICMP error behind it (sock_dequeue_err_skb)");
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    fromlen = 2;
    tr_recvfrom(fd, data, sizeof data, MSG_ERRQUEUE, SA(&from), &fromlen);
    tr_recv(fd, data, 8, MSG_ERRQUEUE);
    tr_recv(fd, data, 8, MSG_ERRQUEUE);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);

    note("recvmmsg with MSG_ERRQUEUE: two entries, then EAGAIN ends the batch");
    provoke(fd, 2);
    struct mmsghdr mm[3];
    char mdata[3][64], mcontrol[3][256];
    struct sockaddr_in mname[3];
    struct iovec miov[3];
    for (int i = 0; i < 3; i++) {
        miov[i] = (struct iovec){ .iov_base = mdata[i], .iov_len = sizeof mdata[i] };
        mm[i].msg_hdr = (struct msghdr){
            .msg_name = &mname[i], .msg_namelen = sizeof mname[i], .msg_iov = &miov[i],
            .msg_iovlen = 1, .msg_control = mcontrol[i], .msg_controllen = sizeof mcontrol[i],
        };
    }
    tr_recvmmsg(fd, mm, 3, MSG_ERRQUEUE, NULL);
    tr_recvmmsg(fd, mm, 3, MSG_ERRQUEUE, NULL);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);
    return trace_end();
}
