/* sigio_async_poll: the O_ASYNC write-space signal armed by poll. sock_wake_async(
 * SOCK_WAKE_SPACE) signals only when SOCKWQ_ASYNC_NOSPACE is set (and clears it); a send that
 * runs out of room sets it, and so does tcp_poll when it finds the socket unwritable ("send
 * SIGIO later"). With TCP_NOTSENT_LOWAT 1 and TCP_CORK, one send is taken whole but leaves the
 * socket unwritable (its bytes are not sent), so no send ever meets a full buffer: uncorking
 * sends them, the loopback ACK calls sk_stream_write_space, and a POLL_OUT comes only when a
 * poll, select or epoll looked at the socket in between. UDP's datagram_poll arms it the
 * same way: corked data filling half the send buffer, then the datagram sent (sock_wfree)
 * or SO_SNDBUF raised (sk_write_space) signal once. */
#include "tcp_lib.h"
#include <linux/sockios.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>

#define MAX_SIGNALS 64

static volatile sig_atomic_t rt_count;
static int rt_code[MAX_SIGNALS];
static int rt_fd[MAX_SIGNALS];
static sigset_t watched_signals;
static int rt_seen;

static void on_rt(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (rt_count < MAX_SIGNALS) {
        rt_code[rt_count] = info->si_code;
        rt_fd[rt_count] = info->si_fd;
    }
    rt_count++;
}

/* Waits for the ACK of the uncorked bytes (the reader sees them, then a pause for the ACK
 * to come back), lets the handlers run, and prints the signals since the last call. */
static void signals_after(const char *step, int client, int accepted)
{
    quiet_wait_events(accepted, POLLIN, 1000);
    usleep(250 * 1000);
    sigprocmask(SIG_UNBLOCK, &watched_signals, NULL);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    printf("%s: %d signal(s)", step, rt_count - rt_seen);
    for (int i = rt_seen; i < rt_count && i < MAX_SIGNALS; i++)
        printf(" [%s %s]", rt_code[i] == POLL_OUT ? "POLL_OUT" : "other",
               rt_fd[i] == client ? "client" : "other fd");
    printf("\n");
    rt_seen = rt_count;
    char buf[256];
    while (recv(accepted, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

/* One corked send that the socket takes whole but that leaves it unwritable. */
static void corked_send(int client)
{
    tr_setint(client, IPPROTO_TCP, TCP_CORK, 1);
    tr_send(client, "0123456789", 10, 0);
}

static void uncork(int client)
{
    tr_setint(client, IPPROTO_TCP, TCP_CORK, 0);
}

/* Lets the handlers run and prints the signals since the last call (UDP: everything has
 * happened inside the calls, over loopback). */
static void udp_signals_after(const char *step, int sender)
{
    usleep(20 * 1000);
    sigprocmask(SIG_UNBLOCK, &watched_signals, NULL);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    printf("%s: %d signal(s)", step, rt_count - rt_seen);
    for (int i = rt_seen; i < rt_count && i < MAX_SIGNALS; i++)
        printf(" [%s %s]", rt_code[i] == POLL_OUT ? "POLL_OUT" : "other",
               rt_fd[i] == sender ? "sender" : "other fd");
    printf("\n");
    rt_seen = rt_count;
}

/* UDP: datagram_poll arms the bit when corked data fills half the send buffer; the corked
 * datagram's memory freed (sock_wfree) or a larger SO_SNDBUF is write space. */
static void udp_write_space(void)
{
    int receiver = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(receiver, "127.0.0.1", 5642);
    int sender = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(sender, "127.0.0.1", 5642);
    tr_setint(sender, SOL_SOCKET, SO_SNDBUF, 4096);
    printf("sender: F_SETOWN(pid) = %d, F_SETSIG = %d, F_SETFL(O_ASYNC|O_NONBLOCK) = %d\n",
           fcntl(sender, F_SETOWN, getpid()), fcntl(sender, F_SETSIG, SIGRTMIN + 3),
           fcntl(sender, F_SETFL, fcntl(sender, F_GETFL) | O_ASYNC | O_NONBLOCK));
    static char corked[3000];
    char buf[4096];
    struct pollfd pollfd = { .fd = sender, .events = POLLOUT };

    note("UDP: 3000 corked bytes, uncorked without a poll: no signal");
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 1);
    tr_send(sender, corked, sizeof corked, 0);
    /* The head of one 3000-byte datagram comes from kmalloc-4k: 4096 + struct sk_buff,
     * over half of the 8192-byte buffer. */
    int queued = -1;
    ioctl(sender, SIOCOUTQ, &queued);
    printf("SIOCOUTQ = %d\n", queued);
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 0);
    udp_signals_after("uncorked", sender);
    tr_recv(receiver, buf, sizeof buf, MSG_DONTWAIT);

    note("UDP: a poll found them filling half the buffer: the datagram sent is one POLL_OUT");
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 1);
    tr_send(sender, corked, sizeof corked, 0);
    tr_poll(&pollfd, 1, 0);
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 0);
    udp_signals_after("uncorked after poll", sender);
    tr_recv(receiver, buf, sizeof buf, MSG_DONTWAIT);

    note("UDP: a larger SO_SNDBUF is write space too (sk_write_space)");
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 1);
    tr_send(sender, corked, sizeof corked, 0);
    tr_poll(&pollfd, 1, 0);
    tr_setint(sender, SOL_SOCKET, SO_SNDBUF, 65536);
    udp_signals_after("SO_SNDBUF raised", sender);
    tr_setint(sender, IPPROTO_UDP, UDP_CORK, 0);
    udp_signals_after("uncorked", sender);
    tr_recv(receiver, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(sender);
    tr_close(receiver);
}

int main(void)
{
    trace_start("sigio_async_poll");
    struct sigaction action = { 0 };
    action.sa_flags = SA_SIGINFO;
    action.sa_sigaction = on_rt;
    sigaction(SIGRTMIN + 3, &action, NULL);
    sigemptyset(&watched_signals);
    sigaddset(&watched_signals, SIGRTMIN + 3);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);

    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, "127.0.0.1", 5641);
    tr_listen(listener, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5641);
    int accepted = accept(listener, NULL, NULL);
    printf("accept = %s\n", accepted >= 0 ? "fd" : "-1");
    tr_setint(client, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1);
    printf("F_SETOWN(pid) = %d, F_SETSIG = %d, F_SETFL(O_ASYNC|O_NONBLOCK) = %d\n",
           fcntl(client, F_SETOWN, getpid()), fcntl(client, F_SETSIG, SIGRTMIN + 3),
           fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_ASYNC | O_NONBLOCK));
    signals_after("set up", client, accepted);

    note("nobody looked: the unwritable socket becomes writable without a signal");
    corked_send(client);
    uncork(client);
    signals_after("uncorked", client, accepted);

    note("poll found it unwritable: one POLL_OUT when it becomes writable");
    corked_send(client);
    struct pollfd pollfd = { .fd = client, .events = POLLOUT };
    tr_poll(&pollfd, 1, 0);
    uncork(client);
    signals_after("uncorked after poll", client, accepted);

    note("poll for POLLIN only arms it too (tcp_poll ignores the events asked for)");
    corked_send(client);
    pollfd.events = POLLIN;
    tr_poll(&pollfd, 1, 0);
    uncork(client);
    signals_after("uncorked after poll(POLLIN)", client, accepted);

    note("select for writing");
    corked_send(client);
    fd_set writable;
    FD_ZERO(&writable);
    FD_SET(client, &writable);
    struct timeval zero = { 0, 0 };
    printf("select(write client, timeout 0) = %d\n", select(client + 1, NULL, &writable, NULL, &zero));
    uncork(client);
    signals_after("uncorked after select", client, accepted);

    note("epoll_wait on a level-triggered EPOLLOUT interest");
    int epoll = epoll_create1(0);
    struct epoll_event event = { .events = EPOLLOUT, .data.u32 = 7 };
    printf("epoll_ctl(ADD client, EPOLLOUT) = %d\n", epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event));
    struct epoll_event ready[4];
    printf("epoll_wait (writable) = %d\n", epoll_wait(epoll, ready, 4, 0));
    corked_send(client);
    printf("epoll_wait (unwritable) = %d\n", epoll_wait(epoll, ready, 4, 0));
    uncork(client);
    signals_after("uncorked after epoll_wait", client, accepted);
    printf("epoll_wait (writable again) = %d\n", epoll_wait(epoll, ready, 4, 0));
    close(epoll);

    note("epoll_wait on an EPOLLIN interest added while writable: nothing queued, no ->poll");
    epoll = epoll_create1(0);
    event.events = EPOLLIN;
    printf("epoll_ctl(ADD client, EPOLLIN) = %d\n", epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event));
    corked_send(client);
    printf("epoll_wait (unwritable) = %d\n", epoll_wait(epoll, ready, 4, 0));
    uncork(client);
    signals_after("uncorked after epoll_wait(EPOLLIN)", client, accepted);
    note("but EPOLL_CTL_MOD while unwritable calls ->poll (ep_modify)");
    corked_send(client);
    printf("epoll_ctl(MOD client, EPOLLIN) = %d\n", epoll_ctl(epoll, EPOLL_CTL_MOD, client, &event));
    uncork(client);
    signals_after("uncorked after EPOLL_CTL_MOD", client, accepted);
    close(epoll);

    note("one arming, one signal: a second write-space event is silent");
    corked_send(client);
    tr_poll(&pollfd, 1, 0);
    uncork(client);
    signals_after("uncorked after poll", client, accepted);
    corked_send(client);
    uncork(client);
    signals_after("uncorked again", client, accepted);

    note("after SHUT_WR poll reports POLLOUT and arms nothing");
    corked_send(client);
    tr_shutdown(client, SHUT_WR);
    pollfd.events = POLLOUT;
    tr_poll(&pollfd, 1, 0);
    signals_after("shut down", client, accepted);

    tr_close(client);
    tr_close(accepted);
    tr_close(listener);
    udp_write_space();
    return trace_end();
}
