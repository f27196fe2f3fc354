/* tcp_blocking: how blocking TCP calls end: SO_RCVTIMEO on recv and accept (EAGAIN),
 * SO_SNDTIMEO on connect (EINPROGRESS, then EALREADY) and on a send into a full window
 * (the count queued so far), a signal interrupting recv/accept/connect (EINTR without
 * SA_RESTART; with SA_RESTART recv keeps waiting until data comes), a signal interrupting
 * a send that queued some bytes (the count), and a blocking connect that ARP fails. */
#include "tcp_lib.h"
#include <pthread.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void set_alarm_handler(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
}

/* A one-shot timer of `ms` (setitimer; trace_watchdog re-arms the case's own alarm). */
static void alarm_in(int ms)
{
    struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

struct delayed_send {
    int fd;
    int delay_ms;
};

static void *send_later(void *arg)
{
    struct delayed_send *d = arg;
    usleep((useconds_t)d->delay_ms * 1000);
    send(d->fd, "late", 4, 0);
    return NULL;
}

int main(void)
{
    trace_start("tcp_blocking");
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;
    struct timespec started;
    struct timeval short_timeout = { 0, 200000 };

    int listener = tr_listener("127.0.0.1", 5670, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5670);
    len = sizeof sa;
    int server = tr_accept4(listener, &sa, &len, 0);

    note("SO_RCVTIMEO: recv and accept give EAGAIN after the timeout");
    tr_setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &short_timeout, sizeof short_timeout);
    clock_gettime(CLOCK_MONOTONIC, &started);
    tr_recv(server, buf, sizeof buf, 0);
    check(ms_since(&started) >= 150, "recv waited");
    tr_setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &short_timeout, sizeof short_timeout);
    clock_gettime(CLOCK_MONOTONIC, &started);
    len = sizeof sa;
    tr_accept4(listener, &sa, &len, 0);
    check(ms_since(&started) >= 150, "accept waited");

    note("a signal without SA_RESTART: EINTR");
    struct timeval none = { 0, 0 };
    tr_setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    tr_setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    set_alarm_handler(0);
    alarm_in(150);
    tr_recv(server, buf, sizeof buf, 0);
    alarm_in(150);
    len = sizeof sa;
    tr_accept4(listener, &sa, &len, 0);
    printf("alarms %d\n", (int)alarms);

    note("SA_RESTART: recv keeps waiting until the data comes");
    set_alarm_handler(1);
    alarm_in(100);
    struct delayed_send later = { .fd = client, .delay_ms = 300 };
    pthread_t thread;
    pthread_create(&thread, NULL, send_later, &later);
    tr_recv(server, buf, sizeof buf, 0);
    pthread_join(thread, NULL);
    printf("alarms %d\n", (int)alarms);

    note("a send into a window that stays full: SO_SNDTIMEO, then a signal, return the count");
    int small = 4096;
    tr_setsockopt(server, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    tr_setsockopt(client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    static char big[4 << 20];
    tr_setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &short_timeout, sizeof short_timeout);
    ssize_t n = send(client, big, sizeof big, 0);
    printf("send with SO_SNDTIMEO: %s\n", n > 0 && n < (ssize_t)sizeof big ? "partial count" :
                                          n < 0 ? trace_errno_name(errno) : "all");
    n = send(client, big, sizeof big, 0);
    printf("again, window still full: %s\n", n > 0 ? "a count" : trace_errno_name(errno));
    tr_setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    set_alarm_handler(0);
    alarm_in(150);
    n = send(client, big, sizeof big, 0);
    printf("send interrupted by a signal: %s\n", n > 0 ? "a count" : trace_errno_name(errno));
    tr_close(client);
    tr_close(server);

    note("connect to an address nobody answers: SO_SNDTIMEO, then a signal, then ARP fails");
    trace_watchdog(); /* it took SIGALRM back: the handler is installed again */
    set_alarm_handler(0);
    client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &short_timeout, sizeof short_timeout);
    tr_connect4(client, "198.18.0.215", 5671);
    tr_connect4(client, "198.18.0.215", 5671);
    tr_setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    alarm_in(150);
    tr_connect4(client, "198.18.0.215", 5671);
    tr_connect4(client, "198.18.0.215", 5671);
    tr_getint(client, SOL_SOCKET, SO_ERROR);
    tr_close(client);
    tr_close(listener);
    return trace_end();
}
