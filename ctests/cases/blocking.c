/* blocking: blocking receives and what ends them. Woken by the echo reply; by an
 * ICMP error; SO_RCVTIMEO expiry (EAGAIN; the elapsed time is never printed);
 * MSG_DONTWAIT and O_NONBLOCK (EAGAIN at once); SIGALRM without SA_RESTART (EINTR)
 * and with SA_RESTART (the call restarts and receives a datagram sent later by a
 * helper thread); poll/epoll_wait/select interrupted (they never restart). */
#include "trace.h"

#include <pthread.h>

static volatile sig_atomic_t alarms;
static unsigned char buf[256];

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* SIGALRM after `ms`, handled by on_alarm with or without SA_RESTART. This takes
 * over the watchdog's timer; trace_watchdog() gives it back. */
static void arm_alarm(int ms, int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_alarm(void)
{
    printf("alarms delivered: %d\n", (int)alarms);
    trace_watchdog();
}

struct delayed_send {
    int port;
    int delay_ms;
};

/* Sends one datagram to 127.0.0.1:port after a delay; prints nothing (the main
 * thread is blocked and prints what it receives). */
static void *send_later(void *arg)
{
    struct delayed_send *d = arg;
    usleep((useconds_t)d->delay_ms * 1000);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin4("127.0.0.1", (unsigned)d->port);
    sendto(fd, "late", 4, 0, SA(&to), sizeof to);
    close(fd);
    return NULL;
}

int main(void)
{
    trace_start("blocking");

    note("blocking recv woken by the echo reply");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_send(fd, "wake", 4, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_send(fd, "wake", 4, 0);
    tr_read(fd, buf, sizeof buf);
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    tr_send(fd, "wake", 4, 0);
    tr_recvmsg(fd, &m, 0);

    note("blocking recv woken by an ICMP port unreachable");
    int refused = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(refused, "127.0.0.1", 9101);
    tr_send(refused, "x", 1, 0);
    tr_recv(refused, buf, sizeof buf, 0);
    tr_close(refused);

    note("MSG_DONTWAIT and O_NONBLOCK");
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    tr_fcntl(fd, F_SETFL, O_NONBLOCK);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_read(fd, buf, sizeof buf);
    tr_recvmsg(fd, &m, 0);
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    tr_recvfrom(fd, buf, sizeof buf, 0, SA(&from), &fromlen);
    note("O_NONBLOCK with data queued");
    tr_send(fd, "nb", 2, 0);
    quiet_wait_readable(fd, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_fcntl(fd, F_SETFL, 0);

    note("SO_RCVTIMEO expires: EAGAIN");
    struct timeval tv = { 0, 200000 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_read(fd, buf, sizeof buf);
    tr_recvmsg(fd, &m, 0);
    note("SO_RCVTIMEO with data arriving in time");
    tv = (struct timeval){ 3, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    tr_send(fd, "in-time", 7, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tv = (struct timeval){ 0, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    note("SIGALRM without SA_RESTART: EINTR");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", 9102);
    arm_alarm(100, 0);
    tr_recv(rx, buf, sizeof buf, 0);
    disarm_alarm();
    arm_alarm(100, 0);
    fromlen = sizeof from;
    tr_recvfrom(rx, buf, sizeof buf, 0, SA(&from), &fromlen);
    disarm_alarm();

    note("SIGALRM with SA_RESTART: recv restarts and gets the datagram sent later");
    struct delayed_send later = { 9102, 600 };
    pthread_t thread;
    pthread_create(&thread, NULL, send_later, &later);
    arm_alarm(100, 1);
    tr_recv(rx, buf, sizeof buf, 0);
    disarm_alarm();
    pthread_join(thread, NULL);

    note("SA_RESTART but SO_RCVTIMEO set: not restarted");
    tv = (struct timeval){ 2, 0 };
    tr_setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    arm_alarm(100, 1);
    tr_recv(rx, buf, sizeof buf, 0);
    disarm_alarm();
    tv = (struct timeval){ 0, 0 };
    tr_setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    note("poll, select and epoll_wait are interrupted even with SA_RESTART");
    struct pollfd p = { .fd = rx, .events = POLLIN };
    arm_alarm(100, 1);
    tr_poll(&p, 1, 3000);
    disarm_alarm();
    fd_set r;
    FD_ZERO(&r);
    FD_SET(rx, &r);
    struct timeval st = { 3, 0 };
    arm_alarm(100, 1);
    tr_select(rx + 1, &r, NULL, NULL, &st);
    disarm_alarm();
    int ep = tr_epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, rx, &ev);
    arm_alarm(100, 1);
    tr_epoll_wait(ep, &ev, 1, 3000);
    disarm_alarm();
    tr_close(ep);

    note("a blocked poll woken by a datagram from another thread");
    later = (struct delayed_send){ 9102, 100 };
    pthread_create(&thread, NULL, send_later, &later);
    tr_poll(&p, 1, 3000);
    pthread_join(thread, NULL);
    tr_recv(rx, buf, sizeof buf, 0);

    tr_close(rx);
    tr_close(fd);
    return trace_end();
}
