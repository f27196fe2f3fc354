/* tcp_sigurg: SIGURG when urgent data arrives (tcp_check_urg → sk_send_sigurg →
 * send_sigurg), once per new urgent pointer, to the owner F_SETOWN / F_SETOWN_EX set: none
 * without an owner, the process (pid), its process group (-pgrp), the calling thread
 * (F_OWNER_TID); F_GETOWN / F_GETOWN_EX answer as set. SIGURG carries SEND_SIG_PRIV's siginfo
 * (si_code SI_KERNEL, no sender) whatever F_SETSIG says; with O_ASYNC and F_SETSIG the owner
 * also gets that signal with si_code POLL_PRI (sk_wake_async(SOCK_WAKE_URG)), and, as the
 * urgent byte is queued, POLL_IN ones. The peer sends one MSG_OOB byte per request. The
 * signals are blocked while the case waits for POLLPRI and unblocked afterwards, so each
 * handler runs at a fixed point of the trace. */
#include "tcp_lib.h"
#include "peer.h"

#include <sys/syscall.h>

#define SERVER_PORT 5621

static const char *server_source =
    "import socket, sys\n"
    "l = socket.socket()\n"
    "l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "l.bind((sys.argv[1], int(sys.argv[2])))\n"
    "l.listen(1)\n"
    "l.settimeout(8)\n"
    "print('ready', flush=True)\n"
    "c, _ = l.accept()\n"
    "c.settimeout(8)\n"
    "sent = 0\n"
    "while True:\n"
    "    command = c.recv(1)\n"
    "    if command != b'u':\n"
    "        break\n"
    "    c.send(b'!', socket.MSG_OOB)\n"
    "    sent += 1\n"
    "print('urgent bytes sent', sent)\n";

static volatile sig_atomic_t urgent_count;
static volatile sig_atomic_t urgent_code;
static volatile sig_atomic_t urgent_pid;
#define MAX_RT 16
static volatile sig_atomic_t rt_count;
static int rt_code[MAX_RT];
static long rt_band[MAX_RT];
static int rt_fd[MAX_RT];

static void on_sigurg(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    urgent_count++;
    urgent_code = info->si_code;
    urgent_pid = info->si_pid;
}

static void on_rt(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    if (rt_count < MAX_RT) {
        rt_code[rt_count] = info->si_code;
        rt_band[rt_count] = info->si_band;
        rt_fd[rt_count] = info->si_fd;
    }
    rt_count++;
}

static sigset_t watched_signals;

/* One urgent byte from the peer: ask, wait for POLLPRI with the signals blocked, unblock
 * (pending handlers run now), print what arrived, read the byte. */
static void urgent_round(int fd, const char *what)
{
    int before = urgent_count;
    int rt_before = rt_count;
    send(fd, "u", 1, 0);
    int revents = quiet_wait_events(fd, POLLPRI, 3000);
    /* The POLL_IN signals of the byte's segment may follow POLLPRI by a moment. */
    usleep(50 * 1000);
    sigprocmask(SIG_UNBLOCK, &watched_signals, NULL);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);
    printf("%s: POLLPRI %s, SIGURG +%d", what, revents & POLLPRI ? "yes" : "no",
           urgent_count - before);
    if (urgent_count > before)
        printf(" (si_code %s, si_pid %d)", urgent_code == SI_KERNEL ? "SI_KERNEL" : "other",
               (int)urgent_pid);
    printf(", F_SETSIG signal +%d", rt_count - rt_before);
    for (int i = rt_before; i < rt_count && i < MAX_RT; i++)
        printf(" [si_code %d si_band %#lx si_fd %s]", rt_code[i], rt_band[i],
               rt_fd[i] == fd ? "= fd" : "other");
    printf("\n");
    char byte = 0;
    tr_recv(fd, &byte, 1, MSG_OOB);
}

static void print_owner(int fd)
{
    int owner = fcntl(fd, F_GETOWN);
    struct f_owner_ex ex = { 0, 0 };
    int ret = fcntl(fd, F_GETOWN_EX, &ex);
    const char *who = owner == 0                ? "0"
                      : owner == getpid()       ? "own pid"
                      : owner == -getpgrp()     ? "minus own pgrp"
                      : owner == gettid()       ? "own tid"
                                                : "other";
    const char *ex_who = ex.pid == 0 ? "0"
                         : ex.pid == getpid() ? "own pid/tid"
                         : ex.pid == getpgrp() ? "own pgrp"
                                               : "other";
    printf("F_GETOWN = %s; F_GETOWN_EX = %d, type %d pid %s\n", who, ret, ex.type, ex_who);
}

int main(void)
{
    trace_start("tcp_sigurg");
    struct sigaction action = { 0 };
    action.sa_sigaction = on_sigurg;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGURG, &action, NULL);
    action.sa_sigaction = on_rt;
    sigaction(SIGRTMIN + 2, &action, NULL);
    sigemptyset(&watched_signals);
    sigaddset(&watched_signals, SIGURG);
    sigaddset(&watched_signals, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &watched_signals, NULL);

    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 urgent_server.py", server_source,
                      (const char *const[]){ PEER_ADDR, "5621", NULL });
    peer_wait_ready(&job, 5000);
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, SERVER_PORT);

    note("no owner: no SIGURG");
    print_owner(fd);
    urgent_round(fd, "no owner");

    note("F_SETOWN(getpid()): one SIGURG per new urgent pointer");
    printf("F_SETOWN(pid) = %d\n", fcntl(fd, F_SETOWN, getpid()));
    print_owner(fd);
    urgent_round(fd, "owner pid");
    urgent_round(fd, "owner pid, second pointer");

    note("F_SETOWN(-getpgrp()): the process group");
    printf("F_SETOWN(-pgrp) = %d\n", fcntl(fd, F_SETOWN, -getpgrp()));
    print_owner(fd);
    urgent_round(fd, "owner pgrp");

    note("F_SETOWN_EX(F_OWNER_TID, gettid()): this thread");
    struct f_owner_ex thread = { F_OWNER_TID, gettid() };
    printf("F_SETOWN_EX(tid) = %d\n", fcntl(fd, F_SETOWN_EX, &thread));
    print_owner(fd);
    urgent_round(fd, "owner tid");

    note("F_SETSIG(SIGRTMIN+2) alone: SIGURG unchanged, no O_ASYNC signal");
    printf("F_SETOWN(pid) = %d\n", fcntl(fd, F_SETOWN, getpid()));
    printf("F_SETSIG = %d, F_GETSIG = %s\n", fcntl(fd, F_SETSIG, SIGRTMIN + 2),
           fcntl(fd, F_GETSIG) == SIGRTMIN + 2 ? "SIGRTMIN+2" : "other");
    urgent_round(fd, "F_SETSIG without O_ASYNC");

    note("O_ASYNC with F_SETSIG: POLL_PRI, then POLL_IN for the byte");
    int flags = fcntl(fd, F_GETFL);
    printf("F_SETFL(O_ASYNC) = %d\n", fcntl(fd, F_SETFL, flags | O_ASYNC));
    urgent_round(fd, "O_ASYNC and F_SETSIG");

    note("O_ASYNC without F_SETSIG: SIGURG only (kill_fasync skips SIGURG when signum is 0)");
    printf("F_SETSIG(0) = %d\n", fcntl(fd, F_SETSIG, 0));
    signal(SIGIO, SIG_IGN);
    urgent_round(fd, "O_ASYNC without F_SETSIG");

    note("F_SETOWN(0): no owner again");
    printf("F_SETFL(flags) = %d\n", fcntl(fd, F_SETFL, flags));
    printf("F_SETOWN(0) = %d\n", fcntl(fd, F_SETOWN, 0));
    print_owner(fd);
    urgent_round(fd, "owner cleared");

    tr_send(fd, "q", 1, 0);
    peer_finish(&job, 8000);
    tr_close(fd);
    return trace_end();
}
