/* readiness_corners: poll/select/epoll corners beyond the readiness_* cases: select's remaining
 * time, glibc's select normalisation, nfds above RLIMIT_NOFILE, signal masks of ppoll /
 * pselect / epoll_pwait applied atomically, epoll_pwait2, EPOLLEXCLUSIVE and ELOOP rules,
 * a socket added from another thread while a thread sleeps in epoll_wait (fast path and
 * emulated), nested epolls woken through a pipe, edge triggering over a pipe and a socket,
 * an epoll inside select, timeouts never cut short. */
#include "trace.h"
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/timerfd.h>

static unsigned char buf[256];
static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void echo_once(int fd, const char *text)
{
    tr_sendto4(fd, text, strlen(text), 0, PEER_ADDR, PORT_ECHO);
    if (quiet_wait_readable(fd, 3000) != 1)
        printf("no reply within 3 s\n");
}

static void add(int ep, int fd, unsigned events, uint64_t data)
{
    struct epoll_event ev = { .events = events, .data.u64 = data };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- threads ---- */

struct waiter {
    int ep;
    int timeout;
    int ret;
    int err;
    struct epoll_event ev[4];
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    w->ret = epoll_wait(w->ep, w->ev, 4, w->timeout);
    w->err = errno;
    return NULL;
}

static void print_waiter(const char *what, struct waiter *w)
{
    if (w->ret < 0)
        printf("%s: epoll_wait = -1 %s\n", what, trace_errno_name(w->err));
    else if (w->ret == 0)
        printf("%s: epoll_wait = 0\n", what);
    else
        printf("%s: epoll_wait = %d first={events=%#x data=%llu}\n", what, w->ret, w->ev[0].events,
               (unsigned long long)w->ev[0].data.u64);
}

struct delayed_write {
    int fd;
    int delay_ms;
};

static void *write_later(void *arg)
{
    struct delayed_write *d = arg;
    usleep(d->delay_ms * 1000);
    if (write(d->fd, "w", 1) != 1)
        perror("write");
    return NULL;
}

int main(void)
{
    trace_start("readiness_corners");
    int pipefd[2];
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_pipe(pipefd);
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);

    note("select writes the remaining time back (glibc + pselect6)");
    fd_set r, w;
    FD_ZERO(&w);
    FD_SET(fd, &w);
    struct timeval tv = { 2, 0 };
    tr_select(fd + 1, NULL, &w, NULL, &tv);
    check(tv.tv_sec == 1 && tv.tv_usec > 900000, "remaining time just under 2 s");
    FD_ZERO(&r);
    FD_SET(fd, &r);
    tv = (struct timeval){ 0, 50000 };
    tr_select(fd + 1, &r, NULL, NULL, &tv);
    check(tv.tv_sec == 0 && tv.tv_usec == 0, "remaining time zero after expiry");
    note("tv_usec beyond a second is normalised; negative values are EINVAL");
    FD_ZERO(&w);
    FD_SET(fd, &w);
    tv = (struct timeval){ 0, 1500000 };
    tr_select(fd + 1, NULL, &w, NULL, &tv);
    check(tv.tv_sec == 1 && tv.tv_usec > 400000, "1.5 s left");
    tv = (struct timeval){ -1, 0 };
    tr_select(fd + 1, NULL, &w, NULL, &tv);
    tv = (struct timeval){ 0, -1 };
    tr_select(fd + 1, NULL, &w, NULL, &tv);
    note("a closed fd next to a shim socket: EBADF, the sets untouched");
    FD_ZERO(&r);
    FD_SET(fd, &r);
    FD_SET(40, &r);
    tv = (struct timeval){ 1, 0 };
    tr_select(41, &r, NULL, NULL, &tv);
    check(FD_ISSET(40, &r) && FD_ISSET(fd, &r), "sets left as they were");

    note("poll: nfds above RLIMIT_NOFILE is EINVAL");
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 64;
    setrlimit(RLIMIT_NOFILE, &low);
    struct pollfd many[65];
    for (int i = 0; i < 65; i++)
        many[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
    many[0].fd = fd;
    many[0].events = POLLOUT;
    int n = poll(many, 65, 0);
    printf("poll(65 fds, limit 64) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    n = poll(many, 64, 0);
    printf("poll(64 fds, limit 64) = %d revents[0]=%#x\n", n, many[0].revents);
    setrlimit(RLIMIT_NOFILE, &old);

    note("signal masks: installed only for the wait, atomically");
    sigset_t block, open_mask, keep_blocked;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&open_mask);
    keep_blocked = block;
    raise(SIGUSR1);
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct timespec zero = { 0, 0 }, second = { 1, 0 };
    tr_ppoll(&p, 1, &zero, &keep_blocked);
    check(!got_usr1, "still pending");
    tr_ppoll(&p, 1, &second, &open_mask);
    check(got_usr1, "handler ran during ppoll");
    got_usr1 = 0;
    raise(SIGUSR1);
    FD_ZERO(&r);
    FD_SET(fd, &r);
    tr_pselect(fd + 1, &r, NULL, NULL, &second, &open_mask);
    check(got_usr1, "handler ran during pselect");
    got_usr1 = 0;
    raise(SIGUSR1);
    int ep = tr_epoll_create1(0);
    add(ep, fd, EPOLLIN, 3);
    struct epoll_event evs[8];
    n = epoll_pwait(ep, evs, 8, 1000, &open_mask);
    printf("epoll_pwait(ep, 1000, unblocking) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    check(got_usr1, "handler ran during epoll_pwait");
    got_usr1 = 0;
    raise(SIGUSR1);
    n = epoll_pwait(ep, evs, 8, 0, &open_mask);
    printf("epoll_pwait(ep, 0, unblocking) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    got_usr1 = 0;
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    n = ppoll(&p, 1, &zero, (sigset_t *)BADPTR);
    printf("ppoll(bad mask) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");

    note("epoll_pwait2");
    struct timespec fifty = { 0, 50000000 }, bad_ts = { 0, 1000000000 };
    long t0 = now_ms();
    n = epoll_pwait2(ep, evs, 8, &fifty, NULL);
    long elapsed = now_ms() - t0;
    printf("epoll_pwait2(50 ms) = %d\n", n);
    check(elapsed >= 50, "did not return before 50 ms");
    n = epoll_pwait2(ep, evs, 8, &bad_ts, NULL);
    printf("epoll_pwait2(bad timespec) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    n = epoll_pwait2(ep, evs, 8, (struct timespec *)BADPTR, NULL);
    printf("epoll_pwait2(bad pointer) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    n = epoll_wait(ep, evs, 0x7fffffff / 12 + 1, 0);
    printf("epoll_wait(max above EP_MAX_EVENTS) = %d %s\n", n, n < 0 ? trace_errno_name(errno) : "");

    note("EPOLLEXCLUSIVE rules");
    int fresh = tr_socket(AF_INET, SOCK_DGRAM, 0);
    struct epoll_event ex = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, .data.u64 = 9 };
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, &ex);
    ex.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP;
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, &ex);
    ex.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLET;
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, fresh, &ex);
    int inner = tr_epoll_create1(0);
    ex.events = EPOLLIN | EPOLLEXCLUSIVE;
    tr_epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ex);
    tr_epoll_ctl(ep, EPOLL_CTL_DEL, fresh, NULL);

    note("ELOOP by depth: a chain of epolls");
    int chain[7];
    for (int i = 0; i < 7; i++)
        chain[i] = tr_epoll_create1(0);
    add(chain[6], fresh, EPOLLIN, 6);
    for (int i = 5; i >= 0; i--)
        add(chain[i], chain[i + 1], EPOLLIN, i);
    echo_once(fresh, "deep");
    for (int i = 0; i < 7; i++)
        tr_epoll_wait(chain[i], evs, 8, 0);
    tr_recv(fresh, buf, sizeof buf, 0);
    for (int i = 0; i < 7; i++)
        tr_close(chain[i]);

    note("edge-triggered over a pipe and a socket together");
    int et = tr_epoll_create1(0);
    add(et, fd, EPOLLIN | EPOLLET, 1);
    add(et, pipefd[0], EPOLLIN | EPOLLET, 2);
    tr_epoll_wait(et, evs, 8, 0);
    tr_write(pipefd[1], "a", 1);
    echo_once(fd, "et");
    tr_epoll_wait(et, evs, 8, 0);
    tr_epoll_wait(et, evs, 8, 0);
    tr_write(pipefd[1], "b", 1);
    tr_epoll_wait(et, evs, 8, 0);
    tr_epoll_wait(et, evs, 8, 0);
    tr_read(pipefd[0], buf, sizeof buf);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(et);

    note("an epoll in select");
    FD_ZERO(&r);
    FD_SET(ep, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(ep + 1, &r, NULL, NULL, &tv);
    echo_once(fd, "sel");
    FD_ZERO(&r);
    FD_SET(ep, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(ep + 1, &r, NULL, NULL, &tv);
    tr_recv(fd, buf, sizeof buf, 0);

    note("nested: the outer sleeps, a thread writes a pipe in the inner");
    int outer = tr_epoll_create1(0);
    add(inner, pipefd[0], EPOLLIN, 22);
    add(inner, fd, EPOLLIN, 23);
    add(outer, inner, EPOLLIN, 21);
    pthread_t thread;
    struct delayed_write dw = { pipefd[1], 100 };
    pthread_create(&thread, NULL, write_later, &dw);
    tr_epoll_wait(outer, evs, 8, 3000);
    pthread_join(thread, NULL);
    tr_epoll_wait(inner, evs, 8, 0);
    tr_read(pipefd[0], buf, sizeof buf);
    tr_epoll_wait(outer, evs, 8, 0);
    note("nested: the outer sleeps, the echo arrives on the socket in the inner");
    tr_sendto4(fd, "nest", 4, 0, PEER_ADDR, PORT_ECHO);
    tr_epoll_wait(outer, evs, 8, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(outer);
    tr_close(inner);

    note("a thread sleeps in epoll_wait on a pipe-only set; a socket is added and gets data");
    int lone = tr_epoll_create1(0);
    int late = tr_socket(AF_INET, SOCK_DGRAM, 0);
    add(lone, pipefd[0], EPOLLIN, 30);
    struct waiter wt = { .ep = lone, .timeout = 3000 };
    pthread_create(&thread, NULL, wait_thread, &wt);
    usleep(100000);
    add(lone, late, EPOLLIN, 31);
    tr_sendto4(late, "late", 4, 0, PEER_ADDR, PORT_ECHO);
    pthread_join(thread, NULL);
    print_waiter("fast-path sleeper", &wt);
    tr_recv(late, buf, sizeof buf, 0);

    note("a thread sleeps in epoll_wait; a socket with data already queued is added");
    int queued = tr_socket(AF_INET, SOCK_DGRAM, 0);
    echo_once(queued, "queued");
    wt = (struct waiter){ .ep = lone, .timeout = 3000 };
    pthread_create(&thread, NULL, wait_thread, &wt);
    usleep(100000);
    add(lone, queued, EPOLLIN, 32);
    pthread_join(thread, NULL);
    print_waiter("emulated sleeper", &wt);
    tr_recv(queued, buf, sizeof buf, 0);
    tr_close(queued);
    tr_close(late);
    tr_close(lone);

    note("blocked: the timeout is kept");
    t0 = now_ms();
    tr_epoll_wait(ep, evs, 8, 300);
    elapsed = now_ms() - t0;
    check(elapsed >= 300, "epoll_wait did not return before 300 ms");
    p = (struct pollfd){ .fd = fd, .events = POLLIN };
    t0 = now_ms();
    tr_poll(&p, 1, 300);
    elapsed = now_ms() - t0;
    check(elapsed >= 300, "poll did not return before 300 ms");
    /* CPU use while blocked is measured by scripts/bench, never asserted in a test. */

    note("a timerfd and a pty next to the socket");
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    int pty = posix_openpt(O_RDWR | O_NOCTTY);
    printf("timerfd %s, pty %s\n", tfd >= 0 ? "ok" : "failed", pty >= 0 ? "ok" : "failed");
    struct itimerspec its = { .it_value = { 0, 100000000 } };
    timerfd_settime(tfd, 0, &its, NULL);
    struct pollfd tp[3] = { { .fd = fd, .events = POLLIN }, { .fd = tfd, .events = POLLIN },
                            { .fd = pty, .events = POLLIN } };
    n = poll(tp, 3, 3000);
    printf("poll(socket, timerfd, pty) = %d revents=[%#x %#x %#x]\n", n, tp[0].revents, tp[1].revents,
           tp[2].revents);
    int tep = tr_epoll_create1(0);
    add(tep, fd, EPOLLIN, 50);
    add(tep, tfd, EPOLLIN, 51);
    timerfd_settime(tfd, 0, &its, NULL);
    tr_epoll_wait(tep, evs, 8, 3000);
    tr_close(tep);
    close(tfd);
    close(pty);

    note("shutdown(SHUT_RD) and EPOLLRDHUP");
    int hup = tr_epoll_create1(0);
    add(hup, fd, EPOLLIN | EPOLLRDHUP, 40);
    tr_epoll_wait(hup, evs, 8, 0);
    tr_shutdown(fd, SHUT_RD);
    tr_epoll_wait(hup, evs, 8, 0);
    tr_close(hup);

    tr_close(ep);
    tr_close(fresh);
    tr_close(fd);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    return trace_end();
}
