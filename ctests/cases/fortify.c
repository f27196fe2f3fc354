/* fortify: glibc's fortified entry points (what a -D_FORTIFY_SOURCE=2 build calls):
 * __recv_chk, __recvfrom_chk, __read_chk, __poll_chk, __ppoll_chk. Called directly
 * with an explicit buffer size, and implicitly through the fortified headers (this
 * file defines _FORTIFY_SOURCE itself, the runner's -O1 makes it effective). Each must
 * behave like the plain call; a length past the buffer size aborts (SIGABRT, in a
 * child process) before any datagram is touched. */
#ifndef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#endif
#include "trace.h"

#include <sys/wait.h>

#define RX_PORT 9231

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                const sigset_t *mask, size_t fdslen);

static int rx, tx;

static void result(const char *what, long r, const void *buf)
{
    printf("%s = %ld", what, r);
    if (r < 0)
        printf(" %s", trace_errno_name(errno));
    else if (buf && r <= 16) {
        printf(" \"");
        for (long i = 0; i < r; i++)
            printf("%02x", ((const unsigned char *)buf)[i]);
        printf("\"");
    }
    printf("\n");
}

static void queue(const char *text)
{
    tr_send(tx, text, strlen(text), 0);
    quiet_wait_readable(rx, 3000);
}

/* Runs `call` in a child and prints how the child ended. */
static void in_child(const char *what, void (*call)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        call();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("child %s: killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
    else
        printf("child %s: exit %d\n", what, WEXITSTATUS(status));
}

/* The oversized lengths go through a volatile so the compiler does not warn about
 * the very overflow the child provokes. */
static volatile size_t too_long = 64;
static volatile nfds_t too_many = 2;

static void overflow_recv(void)
{
    char small[8];
    if (__recv_chk(rx, small, too_long, sizeof small, MSG_DONTWAIT) >= 0)
        _exit(1);
}

static void overflow_recvfrom(void)
{
    char small[8];
    if (__recvfrom_chk(rx, small, too_long, sizeof small, MSG_DONTWAIT, NULL, NULL) >= 0)
        _exit(1);
}

static void overflow_read(void)
{
    char small[8];
    if (__read_chk(rx, small, too_long, sizeof small) >= 0)
        _exit(1);
}

static void overflow_poll(void)
{
    struct pollfd p[1] = { { .fd = rx, .events = POLLIN } };
    if (__poll_chk(p, too_many, 0, sizeof p) >= 0)
        _exit(1);
}

int main(void)
{
    trace_start("fortify");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(tx, "127.0.0.1", RX_PORT + 1);
    tr_connect4(tx, "127.0.0.1", RX_PORT);
    char buf[32];
    struct sockaddr_in from;
    socklen_t fromlen;

    note("explicit __*_chk calls, buffer size large enough");
    errno = 0;
    result("__recv_chk(empty, MSG_DONTWAIT)", __recv_chk(rx, buf, 16, sizeof buf, MSG_DONTWAIT), buf);
    queue("chk1");
    errno = 0;
    result("__recv_chk(16, buflen=32)", __recv_chk(rx, buf, 16, sizeof buf, 0), buf);
    queue("chk2");
    fromlen = sizeof from;
    errno = 0;
    long r = __recvfrom_chk(rx, buf, sizeof buf, sizeof buf, 0, SA(&from), &fromlen);
    result("__recvfrom_chk(32, buflen=32)", r, buf);
    if (r >= 0)
        printf("from %s:%u fromlen=%u\n", inet_ntoa(from.sin_addr), ntohs(from.sin_port),
               (unsigned)fromlen);
    queue("chk3");
    errno = 0;
    result("__read_chk(32, buflen=32)", __read_chk(rx, buf, sizeof buf, sizeof buf), buf);
    queue("chk-bad");
    errno = 0;
    result("__recv_chk(BADPTR)", __recv_chk(rx, BADPTR, 16, 16, MSG_DONTWAIT), NULL);
    errno = 0;
    result("__recv_chk(after EFAULT)", __recv_chk(rx, buf, 16, sizeof buf, MSG_DONTWAIT), buf);
    errno = 0;
    result("__recv_chk(fd -1)", __recv_chk(-1, buf, 16, sizeof buf, 0), NULL);
    errno = 0;
    result("__read_chk(fd 999)", __read_chk(999, buf, 16, sizeof buf), NULL);
    struct pollfd p[2] = { { .fd = rx, .events = POLLIN }, { .fd = tx, .events = POLLOUT } };
    errno = 0;
    result("__poll_chk(empty rx, tx)", __poll_chk(p, 2, 0, sizeof p), NULL);
    printf("revents %#x %#x\n", (unsigned)p[0].revents, (unsigned)p[1].revents);
    queue("chk4");
    struct timespec zero = { 0, 0 };
    errno = 0;
    result("__ppoll_chk(queued rx, tx)", __ppoll_chk(p, 2, &zero, NULL, sizeof p), NULL);
    printf("revents %#x %#x\n", (unsigned)p[0].revents, (unsigned)p[1].revents);
    errno = 0;
    result("__recv_chk(len 0, datagram queued)", __recv_chk(rx, buf, 0, sizeof buf, 0), buf);
    errno = 0;
    result("__recv_chk(drain)", __recv_chk(rx, buf, 16, sizeof buf, MSG_DONTWAIT), buf);

    note("implicit: recv/recvfrom/read/poll through the fortified headers");
    /* A length the compiler cannot see makes the headers call the _chk variant. */
    volatile size_t len_unknown = sizeof buf;
    volatile nfds_t n_unknown = 2;
    queue("impl1");
    errno = 0;
    result("recv(buf[32])", recv(rx, buf, len_unknown, 0), buf);
    queue("impl2");
    fromlen = sizeof from;
    errno = 0;
    result("recvfrom(buf[32])", recvfrom(rx, buf, len_unknown, 0, SA(&from), &fromlen), buf);
    queue("impl3");
    errno = 0;
    result("read(buf[32])", read(rx, buf, len_unknown), buf);
    errno = 0;
    result("poll(p[2])", poll(p, n_unknown, 0), NULL);
    printf("revents %#x %#x\n", (unsigned)p[0].revents, (unsigned)p[1].revents);

    note("a length past the buffer aborts before touching the queue");
    queue("stays");
    in_child("__recv_chk(64, buflen=8)", overflow_recv);
    in_child("__recvfrom_chk(64, buflen=8)", overflow_recvfrom);
    in_child("__read_chk(64, buflen=8)", overflow_read);
    in_child("__poll_chk(n=2, fdslen=1 entry)", overflow_poll);
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);

    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
