/* readiness_threads: epoll fds shared by threads (ONESHOT and ET wake exactly one
 * harvester; two sleepers in the kernel's epoll_wait both come back when the first shim
 * socket is added), and a request/response loop through epoll, poll and select. */
#include "trace.h"
#include <pthread.h>

static unsigned char buf[256];

struct waiter {
    int ep, timeout, ret;
    struct epoll_event ev[4];
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    w->ret = epoll_wait(w->ep, w->ev, 4, w->timeout);
    return NULL;
}

static void two_waiters(int ep, int fd, unsigned events, const char *what)
{
    struct waiter a = { .ep = ep, .timeout = 800 }, b = { .ep = ep, .timeout = 800 };
    pthread_t ta, tb;
    pthread_create(&ta, NULL, wait_thread, &a);
    pthread_create(&tb, NULL, wait_thread, &b);
    usleep(100000);
    struct epoll_event ev = { .events = events, .data.u64 = 7 };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct sockaddr_in peer = sin4(PEER_ADDR, PORT_ECHO);
    sendto(fd, "x", 1, 0, SA(&peer), sizeof peer);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int got = (a.ret == 1) + (b.ret == 1);
    int zero = (a.ret == 0) + (b.ret == 0);
    printf("%s: %d thread(s) got the event, %d timed out\n", what, got, zero);
    recv(fd, buf, sizeof buf, 0);
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
}

int main(void)
{
    trace_start("readiness_threads");
    int pipefd[2];
    tr_pipe(pipefd);
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("two sleepers in the kernel's epoll_wait (pipe-only set); a ONESHOT socket is added");
    int ep = tr_epoll_create1(0);
    struct epoll_event pev = { .events = EPOLLIN, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &pev);
    two_waiters(ep, fd, EPOLLIN | EPOLLONESHOT, "oneshot, fast-path sleepers");
    note("the same with the socket's set already emulated (another socket in it), edge-triggered");
    int other = tr_socket(AF_INET, SOCK_DGRAM, 0);
    struct epoll_event oev = { .events = EPOLLIN, .data.u64 = 2 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, other, &oev);
    two_waiters(ep, fd, EPOLLIN | EPOLLET, "edge-triggered, emulated sleepers");

    note("request/response loops");
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 3 }, out[4];
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    struct sockaddr_in peer = sin4(PEER_ADDR, PORT_ECHO);
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        sendto(fd, "ping", 4, 0, SA(&peer), sizeof peer);
        if (epoll_wait(ep, out, 4, 3000) == 1 && out[0].data.u64 == 3 && recv(fd, buf, sizeof buf, 0) == 4)
            ok++;
    }
    printf("epoll loop: %d/300\n", ok);
    ok = 0;
    for (int i = 0; i < 300; i++) {
        sendto(fd, "ping", 4, 0, SA(&peer), sizeof peer);
        struct pollfd p[2] = { { .fd = pipefd[0], .events = POLLIN }, { .fd = fd, .events = POLLIN } };
        if (poll(p, 2, 3000) == 1 && p[1].revents == POLLIN && recv(fd, buf, sizeof buf, 0) == 4)
            ok++;
    }
    printf("poll loop: %d/300\n", ok);
    ok = 0;
    for (int i = 0; i < 300; i++) {
        sendto(fd, "ping", 4, 0, SA(&peer), sizeof peer);
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        FD_SET(pipefd[0], &r);
        struct timeval tv = { 3, 0 };
        if (select(fd + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &r) && recv(fd, buf, sizeof buf, 0) == 4)
            ok++;
    }
    printf("select loop: %d/300\n", ok);
    tr_close(ep);
    tr_close(other);
    tr_close(fd);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    return trace_end();
}
