/* recverr_local: local errors on the IP_RECVERR queue (ip_local_error): EMSGSIZE from a send
 * larger than the path MTU under IP_PMTUDISC_DO/PROBE, on unconnected and connected sockets
 * (msg_name's port is inet_dport, whatever the send's destination), from a corked send, and
 * none without IP_RECVERR or under WANT. Then what the queue does: POLLERR (and POLLPRI with
 * SO_SELECT_ERR_QUEUE), sk_err untouched, no IP control messages for local errors, MSG_CTRUNC
 * on a short control buffer, purge when IP_RECVERR goes off, and the receive buffer limit
 * (each entry charges its skb's truesize to SO_RCVBUF). The peer is never sent anything. */
#include "trace.h"
#include "error_queue.h"

#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif
#ifndef SO_SELECT_ERR_QUEUE
#define SO_SELECT_ERR_QUEUE 45
#endif

static char big[1600];

/* `times` reads of the error queue with `controllen` bytes of control room, whether or not
 * the queue empties on the way (each EAGAIN is part of the trace). */
static void read_entries(int fd, size_t controllen, int times)
{
    for (int i = 0; i < times; i++)
        read_one_error(fd, 64, controllen);
}

/* A UDP socket with IP_RECVERR on and IP_PMTUDISC_DO: sends above the MTU fail locally and
 * queue an error. */
static int recverr_do_socket(void)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    return fd;
}

static void poll_now(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };
    tr_poll(&p, 1, 0);
}

int main(void)
{
    trace_start("recverr_local");
    trace_fill(big, sizeof big, 7);

    note("unconnected, IP_PMTUDISC_DO, no IP_RECVERR: EMSGSIZE, nothing queued");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    tr_sendto4(fd, big, 1473, 0, PEER_ADDR, PORT_DISCARD);
    poll_now(fd);
    read_entries(fd, 256, 1);

    note("IP_RECVERR on: the same send queues a local error (ee_info: the MTU)");
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_sendto4(fd, big, 1473, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, big, 1472, MSG_DONTWAIT, "127.0.0.1", PORT_CLOSED + 1000);
    poll_now(fd);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_setint(fd, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1);
    poll_now(fd);
    read_entries(fd, 256, 2);
    poll_now(fd);

    note("IP control messages are not attached to local errors; SO_TIMESTAMP is");
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTOS, 1);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 256, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 0);

    note("a short control buffer: MSG_CTRUNC");
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 40, 1);
    read_entries(fd, 10, 1);
    read_entries(fd, 0, 1);

    note("IP_RECVERR off purges the queue");
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 0);
    poll_now(fd);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    read_entries(fd, 256, 1);

    note("IP_PMTUDISC_WANT fragments instead: no error");
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 256, 1);

    note("IP_PMTUDISC_PROBE: the device MTU is the limit");
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
    tr_sendto4(fd, big, 1473, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 256, 1);
    tr_close(fd);

    note("connected: msg_name carries the peer's port");
    fd = recverr_do_socket();
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_send(fd, big, 1473, 0);
    tr_sendto4(fd, big, 1473, 0, "198.18.0.3", 4242);
    read_entries(fd, 256, 2);

    note("corked: the second part goes over the limit");
    tr_send(fd, big, 1000, MSG_MORE);
    tr_send(fd, big, 500, 0);
    read_entries(fd, 256, 1);
    tr_send(fd, big, 100, 0);
    read_entries(fd, 256, 1);
    tr_close(fd);

    note("the receive buffer limits the queue (SO_RCVBUF at its minimum)");
    fd = recverr_do_socket();
    tr_setint(fd, SOL_SOCKET, SO_RCVBUF, 0);
    tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    for (int i = 0; i < 4; i++)
        tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 256, 4);
    tr_setint(fd, SOL_SOCKET, SO_RCVBUF, 4000);
    for (int i = 0; i < 6; i++)
        tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    read_entries(fd, 256, 6);
    tr_close(fd);

    note("recvmmsg with MSG_ERRQUEUE; epoll, edge-triggered, sees each new entry");
    fd = recverr_do_socket();
    int ep = tr_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    tr_epoll_wait(ep, &ev, 1, 0);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    tr_epoll_wait(ep, &ev, 1, 0);
    tr_epoll_wait(ep, &ev, 1, 0);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, 10);
    tr_epoll_wait(ep, &ev, 1, 0);
    {
        struct mmsghdr mm[3];
        unsigned char d[3][16];
        char c[3][128];
        struct sockaddr_in n[3];
        struct iovec v[3];
        memset(mm, 0, sizeof mm);
        for (int i = 0; i < 3; i++) {
            v[i] = (struct iovec){ d[i], sizeof d[i] };
            mm[i].msg_hdr = (struct msghdr){ .msg_name = &n[i], .msg_namelen = sizeof n[i],
                                             .msg_iov = &v[i], .msg_iovlen = 1,
                                             .msg_control = c[i], .msg_controllen = sizeof c[i] };
        }
        tr_recvmmsg(fd, mm, 3, MSG_ERRQUEUE, NULL);
        for (int i = 0; i < 2; i++)
            printf("  [%d] flags=%#x controllen=%zu\n", i, (unsigned)mm[i].msg_hdr.msg_flags,
                   (size_t)mm[i].msg_hdr.msg_controllen);
    }
    tr_epoll_wait(ep, &ev, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(ep);
    tr_close(fd);

    note("IP_RECVERR_RFC4884: 0 or 1, as an int or a byte");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(fd, IPPROTO_IP, IP_RECVERR_RFC4884);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR_RFC4884, 2);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR_RFC4884, -1);
    unsigned char one = 1;
    tr_setsockopt(fd, IPPROTO_IP, IP_RECVERR_RFC4884, &one, 1);
    tr_getint(fd, IPPROTO_IP, IP_RECVERR_RFC4884);
    tr_setsockopt(fd, IPPROTO_IP, IP_RECVERR_RFC4884, &one, 0);
    tr_getint(fd, IPPROTO_IP, IP_RECVERR_RFC4884);
    tr_close(fd);

    note("SIOCGSTAMP after reading a local error (sock_recv_timestamp writes sk_stamp)");
    fd = recverr_do_socket();
    struct timeval stamp;
    tr_ioctl_stamp(fd, &stamp);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    tr_ioctl_stamp(fd, &stamp);
    read_entries(fd, 256, 1);
    tr_ioctl_stamp(fd, &stamp);
    tr_close(fd);

    note("an empty queue and MSG_ERRQUEUE on recv/recvfrom, with MSG_PEEK");
    fd = recverr_do_socket();
    char buf[8];
    tr_recv(fd, buf, sizeof buf, MSG_ERRQUEUE);
    tr_sendto4(fd, big, 1500, 0, PEER_ADDR, PORT_DISCARD);
    tr_recv(fd, buf, sizeof buf, MSG_ERRQUEUE | MSG_PEEK);
    tr_recv(fd, buf, sizeof buf, MSG_ERRQUEUE);
    tr_close(fd);
    return trace_end();
}
