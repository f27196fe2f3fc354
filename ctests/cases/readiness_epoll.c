/* readiness_epoll: epoll over a UDP socket and a pipe: level-triggered, edge-triggered,
 * EPOLLONESHOT re-armed with EPOLL_CTL_MOD; an epoll fd inside another epoll and
 * inside poll; one socket in two epoll sets; close removing a socket from its sets;
 * the epoll_ctl errors (EEXIST, ENOENT, EINVAL, EBADF, EPERM, ELOOP). */
#include "trace.h"

#define MAX_EVENTS 8

static unsigned char buf[256];

/* Sends one datagram to the echo port and waits (silently) for the reply. */
static void echo_once(int fd, const char *text)
{
    tr_sendto4(fd, text, strlen(text), 0, PEER_ADDR, PORT_ECHO);
    if (quiet_wait_readable(fd, 3000) != 1)
        printf("no reply within 3 s\n");
}

static void add(int ep, int fd, unsigned events)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)fd };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void mod(int ep, int fd, unsigned events)
{
    struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)fd };
    tr_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static int wait_events(int ep, int timeout_ms)
{
    struct epoll_event evs[MAX_EVENTS];
    return tr_epoll_wait(ep, evs, MAX_EVENTS, timeout_ms);
}

int main(void)
{
    trace_start("readiness_epoll");
    int pipefd[2];
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_pipe(pipefd);

    note("level-triggered: stays ready until drained");
    int ep = tr_epoll_create1(EPOLL_CLOEXEC);
    add(ep, fd, EPOLLIN);
    add(ep, pipefd[0], EPOLLIN);
    wait_events(ep, 0);
    wait_events(ep, 30);
    echo_once(fd, "level");
    wait_events(ep, 0);
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    wait_events(ep, 0);
    note("the pipe alone; then one event per wait with max=1");
    tr_write(pipefd[1], "p", 1);
    wait_events(ep, 0);
    echo_once(fd, "both");
    struct epoll_event one;
    int n1 = epoll_wait(ep, &one, 1, 0);
    int n2 = epoll_wait(ep, &one, 1, 0);
    check(n1 == 1 && n2 == 1, "max=1 waits each return one event");
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_read(pipefd[0], buf, sizeof buf);
    wait_events(ep, 0);

    note("EPOLLOUT on a UDP socket (level-triggered: always)");
    mod(ep, fd, EPOLLIN | EPOLLOUT);
    wait_events(ep, 0);
    wait_events(ep, 0);
    mod(ep, fd, EPOLLIN);

    note("edge-triggered: one event per new arrival");
    mod(ep, fd, EPOLLIN | EPOLLET);
    echo_once(fd, "edge-1");
    wait_events(ep, 0);
    wait_events(ep, 0);
    note("a second arrival while the first is unread: a blocking wait sees the new edge");
    /* (Waiting for readability first would return at once: edge-1 is still queued.) */
    tr_sendto4(fd, "edge-2", 6, 0, PEER_ADDR, PORT_ECHO);
    wait_events(ep, 3000);
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    wait_events(ep, 0);
    note("edge-triggered EPOLLOUT: reported once, again after a send");
    mod(ep, fd, EPOLLOUT | EPOLLET);
    wait_events(ep, 0);
    wait_events(ep, 0);
    tr_sendto4(fd, "out", 3, 0, PEER_ADDR, PORT_DISCARD);
    wait_events(ep, 0);

    note("EPOLLONESHOT: one event, then silent until re-armed with MOD");
    mod(ep, fd, EPOLLIN | EPOLLONESHOT);
    echo_once(fd, "oneshot");
    wait_events(ep, 0);
    wait_events(ep, 0);
    mod(ep, fd, EPOLLIN | EPOLLONESHOT);
    wait_events(ep, 0);
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    mod(ep, fd, EPOLLIN);
    wait_events(ep, 0);

    note("epoll inside epoll");
    int outer = tr_epoll_create1(0);
    add(outer, ep, EPOLLIN);
    wait_events(outer, 0);
    echo_once(fd, "nested");
    wait_events(outer, 0);
    wait_events(ep, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    wait_events(outer, 0);

    note("epoll inside poll");
    struct pollfd p[2] = { { .fd = ep, .events = POLLIN }, { .fd = outer, .events = POLLIN } };
    tr_poll(p, 2, 0);
    echo_once(fd, "poll");
    tr_poll(p, 2, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_poll(p, 2, 0);
    note("blocking wait on the outer set, woken by the echo");
    tr_sendto4(fd, "wake", 4, 0, PEER_ADDR, PORT_ECHO);
    wait_events(outer, 3000);
    tr_recv(fd, buf, sizeof buf, 0);

    note("one socket in two epoll sets");
    int second = tr_epoll_create1(0);
    add(second, fd, EPOLLIN | EPOLLET);
    echo_once(fd, "two-sets");
    wait_events(ep, 0);
    wait_events(second, 0);
    wait_events(second, 0);
    tr_recv(fd, buf, sizeof buf, 0);

    note("epoll_ctl errors");
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int fresh = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_epoll_ctl(ep, EPOLL_CTL_MOD, fresh, &ev);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, fresh, &ev);
    tr_epoll_ctl(ep, 99, fresh, &ev);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev);
    tr_epoll_ctl(fd, EPOLL_CTL_ADD, fresh, &ev);
    tr_epoll_ctl(-1, EPOLL_CTL_ADD, fresh, &ev);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, 77, &ev);
    int devnull = open("/dev/null", O_RDONLY);
    printf("open(/dev/null) = %d\n", devnull);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, devnull, &ev);
    close(devnull);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, BADPTR);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, NULL);
    tr_epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev);
    struct epoll_event exclusive = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = 2 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, &exclusive);
    tr_epoll_ctl(ep, EPOLL_CTL_MOD, fresh, &exclusive);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, fresh, NULL);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, fresh, NULL);
    struct epoll_event evs[MAX_EVENTS];
    tr_epoll_wait(ep, evs, 0, 0);
    tr_epoll_wait(ep, evs, -1, 0);
    tr_epoll_wait(fd, evs, MAX_EVENTS, 0);
    tr_epoll_wait(ep, BADPTR, MAX_EVENTS, 0);
    tr_epoll_create1(12345);
    tr_close(fresh);

    note("close removes a socket from every set (when it was the last reference)");
    tr_close(fd);
    int again = tr_socket(AF_INET, SOCK_DGRAM, 0);
    expect_long("number reused", again, fd);
    echo_once(again, "reused");
    wait_events(ep, 0);
    wait_events(second, 0);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, again, NULL);
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, again, &ev);
    wait_events(ep, 0);
    tr_recv(again, buf, sizeof buf, 0);

    note("a dup keeps the registration alive after closing the registered number");
    int keep = tr_dup(again);
    tr_close(again);
    tr_sendto4(keep, "dup", 3, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(keep, 3000);
    wait_events(ep, 0);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, again, NULL);
    tr_recv(keep, buf, sizeof buf, 0);
    tr_close(keep);

    tr_close(second);
    tr_close(outer);
    tr_close(ep);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    return trace_end();
}
