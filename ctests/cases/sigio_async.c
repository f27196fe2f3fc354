/* sigio_async: O_ASYNC signals of UDP and TCP sockets (sock_wake_async → kill_fasync →
 * send_sigio). With F_SETOWN(pid), O_ASYNC and F_SETSIG(SIGRTMIN+3) every sk_wake_async call
 * queues one real-time signal whose si_code is the POLL_* reason, si_band band_table's bits
 * and si_fd the descriptor O_ASYNC was set through: a datagram queued (POLL_IN), an ICMP
 * error (POLL_ERR), a connection established (POLL_OUT), one to accept (POLL_IN on the
 * listener), data and a FIN (POLL_IN), a FIN after our own shutdown (POLL_HUP), a reset
 * (POLL_ERR). Without F_SETSIG the signal is a plain SIGIO with SEND_SIG_PRIV's siginfo, and
 * several while blocked arrive as one. Without an owner nothing is sent. Everything runs over
 * loopback, so each event happens inside the call that causes it; the signals are blocked
 * during each step and unblocked after it, so the handlers run at fixed points. */
#include "tcp_lib.h"

#define MAX_SIGNALS 256

static volatile sig_atomic_t rt_count;
static int rt_code[MAX_SIGNALS];
static long rt_band[MAX_SIGNALS];
static int rt_fd[MAX_SIGNALS];
static volatile sig_atomic_t sigio_count;
static volatile sig_atomic_t sigio_code;

static void on_rt(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (rt_count < MAX_SIGNALS) {
        rt_code[rt_count] = info->si_code;
        rt_band[rt_count] = info->si_band;
        rt_fd[rt_count] = info->si_fd;
    }
    rt_count++;
}

static void on_sigio(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    sigio_count++;
    sigio_code = info->si_code;
}

static sigset_t watched_signals;
static int rt_seen;
static int sigio_seen;

static const char *reason_name(int code)
{
    switch (code) {
    case POLL_IN: return "POLL_IN";
    case POLL_OUT: return "POLL_OUT";
    case POLL_MSG: return "POLL_MSG";
    case POLL_ERR: return "POLL_ERR";
    case POLL_PRI: return "POLL_PRI";
    case POLL_HUP: return "POLL_HUP";
    default: return "other";
    }
}

/* Unblocks the signals (pending handlers run), blocks them again, prints what arrived since
 * the last call. `fds` names the descriptors si_fd may be. */
static void signals_after(const char *step, const int *fds, const char *const *names, int count)
{
    usleep(20 * 1000);
    sigprocmask(SIG_UNBLOCK, &watched_signals, NULL);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    printf("%s: %d signal(s)", step, rt_count - rt_seen);
    for (int i = rt_seen; i < rt_count && i < MAX_SIGNALS; i++) {
        const char *fd_name = "other fd";
        for (int k = 0; k < count; k++)
            if (rt_fd[i] == fds[k])
                fd_name = names[k];
        printf(" [%s band %#lx %s]", reason_name(rt_code[i]), rt_band[i], fd_name);
    }
    if (sigio_count != sigio_seen)
        printf(", SIGIO x%d (si_code %s)", sigio_count - sigio_seen,
               sigio_code == SI_KERNEL ? "SI_KERNEL" : "other");
    printf("\n");
    rt_seen = rt_count;
    sigio_seen = sigio_count;
}

static void make_async(int fd, int signal)
{
    int owner = fcntl(fd, F_SETOWN, getpid());
    int sig = fcntl(fd, F_SETSIG, signal);
    int flags = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
    printf("fd%d: F_SETOWN(pid) = %d, F_SETSIG(%s) = %d, F_SETFL(O_ASYNC) = %d\n", fd, owner,
           signal ? "SIGRTMIN+3" : "0", sig, flags);
}

static void udp_events(void)
{
    note("UDP: each datagram queued is one POLL_IN");
    int receiver = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(receiver, "127.0.0.1", 5631);
    int sender = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const int fds[] = { receiver, sender };
    const char *const names[] = { "receiver", "sender" };
    make_async(receiver, SIGRTMIN + 3);
    for (int i = 0; i < 3; i++)
        tr_sendto4(sender, "datagram", 8, 0, "127.0.0.1", 5631);
    signals_after("three datagrams", fds, names, 2);
    char buf[64];
    for (int i = 0; i < 3; i++)
        tr_recv(receiver, buf, sizeof buf, MSG_DONTWAIT);
    signals_after("reading them", fds, names, 2);

    note("UDP: a connected socket's ICMP port unreachable is one POLL_ERR");
    tr_connect4(receiver, "127.0.0.1", PORT_CLOSED);
    tr_send(receiver, "x", 1, 0);
    signals_after("send to a closed port", fds, names, 2);
    tr_getint(receiver, SOL_SOCKET, SO_ERROR);
    signals_after("SO_ERROR read", fds, names, 2);

    note("UDP: without F_SETSIG, plain SIGIO; three while blocked arrive as one");
    int other = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(other, "127.0.0.1", 5632);
    make_async(other, 0);
    for (int i = 0; i < 3; i++)
        tr_sendto4(sender, "datagram", 8, 0, "127.0.0.1", 5632);
    signals_after("three datagrams, SIGIO", fds, names, 2);

    note("UDP: no owner, no signal");
    printf("F_SETOWN(0) = %d\n", fcntl(other, F_SETOWN, 0));
    tr_sendto4(sender, "datagram", 8, 0, "127.0.0.1", 5632);
    signals_after("datagram without owner", fds, names, 2);
    tr_close(other);
    tr_close(sender);
    tr_close(receiver);
}

static void tcp_events(void)
{
    note("TCP: accept-ready on the listener, established on the client");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, "127.0.0.1", 5633);
    tr_listen(listener, 4);
    make_async(listener, SIGRTMIN + 3);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    make_async(client, SIGRTMIN + 3);
    int fds[] = { listener, client, -1 };
    const char *names[] = { "listener", "client", "accepted" };
    tr_connect4(client, "127.0.0.1", 5633);
    signals_after("connect", fds, names, 3);
    int accepted = accept(listener, NULL, NULL);
    printf("accept = %s\n", accepted >= 0 ? "fd" : "-1");
    fds[2] = accepted;
    make_async(accepted, SIGRTMIN + 3);
    signals_after("accept", fds, names, 3);

    note("TCP: data, then the client's FIN: POLL_IN each on the accepted socket");
    tr_send(client, "hello", 5, 0);
    signals_after("send", fds, names, 3);
    char buf[64];
    tr_recv(accepted, buf, sizeof buf, 0);
    signals_after("recv", fds, names, 3);
    tr_shutdown(client, SHUT_WR);
    signals_after("client SHUT_WR", fds, names, 3);

    note("TCP: the accepted side's FIN reaches a client that already shut down: POLL_HUP");
    tr_shutdown(accepted, SHUT_WR);
    signals_after("accepted SHUT_WR", fds, names, 3);
    tr_close(client);
    tr_close(accepted);
    signals_after("both closed", fds, names, 3);

    note("TCP: a reset is POLL_ERR");
    client = tr_socket(AF_INET, SOCK_STREAM, 0);
    fds[1] = client;
    tr_connect4(client, "127.0.0.1", 5633);
    accepted = accept(listener, NULL, NULL);
    fds[2] = accepted;
    make_async(client, SIGRTMIN + 3);
    signals_after("second connection", fds, names, 3);
    struct linger abort_now = { 1, 0 };
    tr_setsockopt(accepted, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
    tr_close(accepted);
    signals_after("peer closes with SO_LINGER 0", fds, names, 3);
    tr_getint(client, SOL_SOCKET, SO_ERROR);
    tr_close(client);
    signals_after("closed", fds, names, 3);

    note("TCP: write space after a send ran out of it is one POLL_OUT (SOCKWQ_ASYNC_NOSPACE)");
    client = tr_socket(AF_INET, SOCK_STREAM, 0);
    fds[1] = client;
    tr_setint(client, SOL_SOCKET, SO_SNDBUF, 4096);
    tr_connect4(client, "127.0.0.1", 5633);
    accepted = accept(listener, NULL, NULL);
    fds[2] = accepted;
    make_async(client, SIGRTMIN + 3);
    fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
    static char block[65536];
    long sent = 0;
    int calls = 0;
    for (; calls < 1000; calls++) {
        ssize_t n = send(client, block, sizeof block, 0);
        if (n < 0)
            break;
        sent += n;
    }
    printf("sends until EAGAIN: %s\n", errno == EAGAIN && sent > 0 ? "yes" : "no");
    /* How often space freed up while filling depends on how the send buffer is charged
     * (the kernel counts skb truesize) and when loopback ACKs come: only "some" is compared.
     * The listener's POLL_IN is the connection made above. */
    usleep(20 * 1000);
    sigprocmask(SIG_UNBLOCK, &watched_signals, NULL);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    int listener_in = 0, client_out = 0, others = 0;
    for (int i = rt_seen; i < rt_count && i < MAX_SIGNALS; i++) {
        if (rt_fd[i] == listener && rt_code[i] == POLL_IN)
            listener_in++;
        else if (rt_fd[i] == client && rt_code[i] == POLL_OUT)
            client_out++;
        else
            others++;
    }
    printf("while filling: listener POLL_IN %d, client POLL_OUT %s, others %d\n", listener_in,
           client_out > 0 ? "some" : "none", others);
    rt_seen = rt_count;
    long received = 0;
    for (int round = 0; round < 1000 && received < sent; round++) {
        ssize_t n = recv(accepted, block, sizeof block, MSG_DONTWAIT);
        if (n > 0)
            received += n;
        else
            quiet_wait_events(accepted, POLLIN, 100);
    }
    printf("all received: %s\n", received == sent ? "yes" : "no");
    signals_after("the reader drained it", fds, names, 3);
    tr_close(client);
    tr_close(accepted);
    tr_close(listener);
}

int main(void)
{
    trace_start("sigio_async");
    struct sigaction action = { 0 };
    action.sa_flags = SA_SIGINFO;
    action.sa_sigaction = on_rt;
    sigaction(SIGRTMIN + 3, &action, NULL);
    action.sa_sigaction = on_sigio;
    sigaction(SIGIO, &action, NULL);
    sigemptyset(&watched_signals);
    sigaddset(&watched_signals, SIGRTMIN + 3);
    sigaddset(&watched_signals, SIGIO);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    udp_events();
    tcp_events();
    return trace_end();
}
