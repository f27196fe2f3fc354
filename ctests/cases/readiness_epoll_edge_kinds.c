/* readiness_epoll_edge_kinds: an edge-triggered EPOLLIN interest is not re-reported by a send (the write-space
 * wakeup carries EPOLLOUT only), nor EPOLLOUT by an arrival. */
#include "trace.h"
int main(void)
{
    trace_start("readiness_epoll_edge_kinds");
    unsigned char buf[64];
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int ep = tr_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 1 }, out[4];
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    tr_sendto4(fd, "a", 1, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(fd, 3000);
    tr_epoll_wait(ep, out, 4, 0);
    tr_epoll_wait(ep, out, 4, 0);
    tr_sendto4(fd, "b", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_epoll_wait(ep, out, 4, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    note("EPOLLOUT|ET: an arrival does not re-report it");
    ev.events = EPOLLOUT | EPOLLET;
    tr_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    tr_epoll_wait(ep, out, 4, 0);
    tr_sendto4(fd, "c", 1, 0, PEER_ADDR, PORT_ECHO);
    tr_epoll_wait(ep, out, 4, 0);
    quiet_wait_readable(fd, 3000);
    tr_epoll_wait(ep, out, 4, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_epoll_wait(ep, out, 4, 0);
    return trace_end();
}
