/* signals_restart: blocking receives interrupted by SIGUSR1 under each way of
 * installing a handler. signal() and bsd_signal() (BSD semantics: SA_RESTART, the
 * receive restarts and gets a datagram a helper thread sends later), siginterrupt(1)
 * and siginterrupt(0), sysv_signal() (no restart, one-shot handler), sigaction with
 * and without SA_RESTART for read/readv/recvfrom/recvmsg/recvmmsg, SA_SIGINFO, SIG_IGN
 * and a blocked signal (no interruption at all). The flags and handler read back
 * with sigaction are printed: a hooking layer must show the program's own handler.
 * The signal comes from a process-directed POSIX timer (SIGALRM stays the watchdog);
 * the case's helper thread blocks it, so only a thread of the shim could steal it. */
#include "trace.h"

#include <pthread.h>
#include <time.h>

#define RX_PORT 9261

extern __sighandler_t sysv_signal(int, __sighandler_t);
extern __sighandler_t bsd_signal(int, __sighandler_t);

static volatile sig_atomic_t handled;
static volatile sig_atomic_t last_signo;
static int rx;
static unsigned char buf[64];

static void on_usr1(int sig)
{
    handled++;
    last_signo = sig;
}

static void on_usr1_info(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    handled++;
    last_signo = info->si_signo == sig ? sig : -1;
}

static void show_action(const char *when)
{
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    const char *h = now.sa_handler == SIG_DFL          ? "SIG_DFL"
                    : now.sa_handler == SIG_IGN        ? "SIG_IGN"
                    : now.sa_handler == on_usr1       ? "on_usr1"
                    : (void *)now.sa_sigaction == (void *)on_usr1_info ? "on_usr1_info"
                                                       : "OTHER";
    printf("sigaction(SIGUSR1) %s: handler=%s%s%s%s%s\n", when, h,
           now.sa_flags & SA_RESTART ? " SA_RESTART" : "",
           now.sa_flags & SA_RESETHAND ? " SA_RESETHAND" : "",
           now.sa_flags & SA_NODEFER ? " SA_NODEFER" : "",
           now.sa_flags & SA_SIGINFO ? " SA_SIGINFO" : "");
}

static timer_t timer;

static void arm(int ms)
{
    struct itimerspec it = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
    handled = 0;
    trace_watchdog(); /* 10 s for each blocking call, not for the whole case */
    timer_settime(timer, 0, &it, NULL);
}

static void finish(void)
{
    printf("handler ran %d time(s)\n", (int)handled);
}

static void *send_later(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin4("127.0.0.1", RX_PORT);
    sendto(fd, "late", 4, 0, SA(&to), sizeof to);
    close(fd);
    return NULL;
}

/* The helper thread is created with SIGUSR1 blocked: it cannot take the signal. */
static pthread_t start_late_sender(void)
{
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    pthread_t t;
    pthread_create(&t, NULL, send_later, NULL);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return t;
}

/* When the call was interrupted (failed) the late datagram is still to come or
 * queued: take it. Otherwise check that nothing else is queued. */
static void end_late_sender(pthread_t t, long call_result)
{
    pthread_join(t, NULL);
    finish();
    if (call_result < 0)
        quiet_wait_readable(rx, 3000);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
}

/* A blocking recv, SIGUSR1 after 100 ms, a datagram after 300 ms. */
static void recv_with_late_datagram(void)
{
    pthread_t t = start_late_sender();
    arm(100);
    long r = tr_recv(rx, buf, sizeof buf, 0);
    end_late_sender(t, r);
}

static void install(void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Each receive call in turn, SIGUSR1 after 100 ms, a datagram after 300 ms. */
static void every_receive_call(void)
{
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    struct mmsghdr mm = { .msg_hdr = m };
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    for (int call = 0; call < 5; call++) {
        pthread_t t = start_late_sender();
        arm(100);
        long r;
        switch (call) {
        case 0: r = tr_read(rx, buf, sizeof buf); break;
        case 1: r = tr_readv(rx, &iov, 1); break;
        case 2: r = tr_recvfrom(rx, buf, sizeof buf, 0, SA(&from), &fromlen); break;
        case 3: r = tr_recvmsg(rx, &m, 0); break;
        default: r = tr_recvmmsg(rx, &mm, 1, 0, NULL); break;
        }
        end_late_sender(t, r);
    }
}

int main(void)
{
    trace_start("signals_restart");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        return 1;
    }
    show_action("at start");

    note("signal(): BSD semantics, the receive restarts");
    __sighandler_t old = signal(SIGUSR1, on_usr1);
    printf("signal() returned %s\n", old == SIG_DFL ? "SIG_DFL" : "OTHER");
    show_action("after signal()");
    recv_with_late_datagram();
    old = signal(SIGUSR1, on_usr1);
    printf("signal() returned %s\n", old == on_usr1 ? "on_usr1" : "OTHER");

    note("siginterrupt(SIGUSR1, 1): EINTR");
    printf("siginterrupt(SIGUSR1, 1) = %d\n", siginterrupt(SIGUSR1, 1));
    show_action("after siginterrupt(1)");
    recv_with_late_datagram();
    note("siginterrupt(SIGUSR1, 0): restarts again");
    printf("siginterrupt(SIGUSR1, 0) = %d\n", siginterrupt(SIGUSR1, 0));
    show_action("after siginterrupt(0)");
    recv_with_late_datagram();

    note("bsd_signal()");
    signal(SIGUSR1, SIG_DFL);
    bsd_signal(SIGUSR1, on_usr1);
    show_action("after bsd_signal()");
    recv_with_late_datagram();

    note("sysv_signal(): no restart, and the handler is reset on delivery");
    sysv_signal(SIGUSR1, on_usr1);
    show_action("after sysv_signal()");
    recv_with_late_datagram();
    show_action("after delivery");

    note("sigaction without SA_RESTART: every receive call is interrupted");
    install(on_usr1, 0);
    every_receive_call();
    note("sigaction with SA_RESTART: every receive call restarts");
    install(on_usr1, SA_RESTART);
    every_receive_call();
    note("SA_RESTART with SO_RCVTIMEO set: interrupted all the same");
    struct timeval tv = { 2, 0 };
    tr_setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    every_receive_call();
    tv = (struct timeval){ 0, 0 };
    tr_setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    note("SA_SIGINFO with SA_RESTART");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1_info;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    show_action("after SA_SIGINFO");
    recv_with_late_datagram();
    printf("si_signo matched: %s\n", last_signo == SIGUSR1 ? "yes" : "no");

    note("SIG_IGN: the receive is not disturbed");
    signal(SIGUSR1, SIG_IGN);
    show_action("after SIG_IGN");
    recv_with_late_datagram();

    note("a blocked SIGUSR1: not disturbed, delivered when unblocked");
    install(on_usr1, 0);
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    recv_with_late_datagram();
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    finish();

    note("invalid signal numbers");
    errno = 0;
    int bad = signal(0, on_usr1) == SIG_ERR;
    printf("signal(0) = %s %s\n", bad ? "SIG_ERR" : "OTHER", trace_errno_name(errno));
    errno = 0;
    bad = signal(SIGKILL, on_usr1) == SIG_ERR;
    printf("signal(SIGKILL) = %s %s\n", bad ? "SIG_ERR" : "OTHER", trace_errno_name(errno));
    errno = 0;
    int r = siginterrupt(99, 1);
    printf("siginterrupt(99, 1) = %d %s\n", r, trace_errno_name(errno));
    errno = 0;
    r = sigaction(SIGSTOP, &sa, NULL);
    printf("sigaction(SIGSTOP) = %d %s\n", r, trace_errno_name(errno));
    errno = 0;
    r = sigaction(65, &sa, NULL);
    printf("sigaction(65) = %d %s\n", r, trace_errno_name(errno));

    timer_delete(timer);
    tr_close(rx);
    return trace_end();
}
