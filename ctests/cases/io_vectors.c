/* io_vectors: readv/writev and multi-iovec sendmsg/recvmsg on UDP. Gather with empty
 * and NULL-based entries, scatter across several buffers (a datagram longer than the
 * iovecs is cut silently, MSG_TRUNC reports it), an unused iovec with a bad base, a
 * bad base that is reached (EFAULT: is the datagram consumed?), iovcnt 0, -1, 1024,
 * 1025, a bad iovec array, and a length sum beyond SSIZE_MAX. */
#include "trace.h"

#include <limits.h>

#define RX_PORT 9201

static unsigned char a[64], b[64], c[64];

/* The tracer would read the (huge) iovec lengths; this call prints only its result. */
static void writev_raw(const char *what, int fd, const struct iovec *iov, int n)
{
    errno = 0;
    ssize_t r = writev(fd, iov, n);
    printf("writev(fd%d, %s) = %zd%s%s\n", fd, what, r, r < 0 ? " " : "",
           r < 0 ? trace_errno_name(errno) : "");
}

static void readv_raw(const char *what, int fd, const struct iovec *iov, int n)
{
    errno = 0;
    ssize_t r = readv(fd, iov, n);
    printf("readv(fd%d, %s) = %zd%s%s\n", fd, what, r, r < 0 ? " " : "",
           r < 0 ? trace_errno_name(errno) : "");
}

static void queue(int tx, const char *text)
{
    tr_send(tx, text, strlen(text), 0);
}

static void drain(int rx)
{
    unsigned char buf[128];
    tr_recv(rx, buf, sizeof buf, MSG_DONTWAIT);
}

int main(void)
{
    trace_start("io_vectors");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(tx, "127.0.0.1", RX_PORT);

    note("writev gathers, skipping empty and NULL-based entries");
    struct iovec g[4] = { { "ab", 2 }, { NULL, 0 }, { "", 0 }, { "cdefgh", 6 } };
    tr_writev(tx, g, 4);
    quiet_wait_readable(rx, 3000);
    drain(rx);
    struct iovec g2[2] = { { "xyz", 3 }, { BADPTR, 0 } };
    tr_writev(tx, g2, 2);
    quiet_wait_readable(rx, 3000);
    drain(rx);

    note("writev with a bad base in the middle: EFAULT, nothing sent");
    struct iovec gb[3] = { { "ab", 2 }, { BADPTR, 4 }, { "cd", 2 } };
    tr_writev(tx, gb, 3);
    tr_writev(tx, BADPTR, 1);
    drain(rx);

    note("writev iovcnt bounds");
    tr_writev(tx, g, 0);
    quiet_wait_readable(rx, 3000);
    drain(rx);
    tr_writev(tx, g, -1);
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++)
        many[i] = (struct iovec){ (void *)"m", 1 };
    tr_writev(tx, many, 1024);
    quiet_wait_readable(rx, 3000);
    unsigned char big[2048];
    tr_recv(rx, big, sizeof big, MSG_DONTWAIT);
    tr_writev(tx, many, 1025);
    drain(rx);

    note("writev with lengths summing past SSIZE_MAX, and one length past SSIZE_MAX");
    struct iovec huge[2] = { { a, (size_t)SSIZE_MAX }, { b, (size_t)SSIZE_MAX } };
    writev_raw("{a, SSIZE_MAX} {b, SSIZE_MAX}", tx, huge, 2);
    struct iovec huge1 = { a, (size_t)SSIZE_MAX + 1 };
    writev_raw("{a, SSIZE_MAX+1}", tx, &huge1, 1);
    struct iovec toolong = { a, 70000 };
    writev_raw("{a, 70000}", tx, &toolong, 1);
    drain(rx);

    note("readv scatters; the part that does not fit is dropped");
    struct iovec s[4] = { { a, 3 }, { b, 0 }, { NULL, 0 }, { c, 4 } };
    queue(tx, "0123456789");
    quiet_wait_readable(rx, 3000);
    tr_readv(rx, s, 4);
    printf("a=%.3s c=%.4s\n", (char *)a, (char *)c);
    drain(rx);

    note("recvmsg over several iovecs with MSG_TRUNC, MSG_PEEK");
    struct msghdr m = { .msg_iov = s, .msg_iovlen = 4 };
    queue(tx, "0123456789");
    quiet_wait_readable(rx, 3000);
    tr_recvmsg(rx, &m, MSG_PEEK);
    tr_recvmsg(rx, &m, MSG_TRUNC);
    drain(rx);

    note("a datagram spread over three 1000-byte buffers");
    static unsigned char d1[1000], d2[1000], d3[1000], payload[2500];
    trace_fill(payload, sizeof payload, 7);
    tr_send(tx, payload, sizeof payload, 0);
    quiet_wait_readable(rx, 3000);
    struct iovec three[3] = { { d1, 1000 }, { d2, 1000 }, { d3, 1000 } };
    tr_readv(rx, three, 3);
    check(memcmp(d3, payload + 2000, 500) == 0, "third buffer holds bytes 2000..2499");

    note("an unused iovec with a bad base is never touched");
    struct iovec unused[2] = { { a, 16 }, { BADPTR, 16 } };
    queue(tx, "short");
    quiet_wait_readable(rx, 3000);
    tr_readv(rx, unused, 2);
    drain(rx);

    note("a bad base that the datagram reaches: EFAULT");
    struct iovec reached[2] = { { a, 3 }, { BADPTR, 16 } };
    queue(tx, "0123456789");
    quiet_wait_readable(rx, 3000);
    tr_readv(rx, reached, 2);
    drain(rx);
    queue(tx, "0123456789");
    quiet_wait_readable(rx, 3000);
    m.msg_iov = reached;
    m.msg_iovlen = 2;
    tr_recvmsg(rx, &m, MSG_PEEK);
    drain(rx);

    note("readv iovcnt bounds, bad iovec array");
    queue(tx, "zero");
    quiet_wait_readable(rx, 3000);
    tr_readv(rx, s, 0);
    drain(rx);
    queue(tx, "bounds");
    quiet_wait_readable(rx, 3000);
    tr_readv(rx, s, -1);
    tr_readv(rx, many, 1025);
    tr_readv(rx, BADPTR, 1);
    struct iovec h2[2] = { { a, (size_t)SSIZE_MAX }, { b, (size_t)SSIZE_MAX } };
    readv_raw("{a, SSIZE_MAX} {b, SSIZE_MAX}", rx, h2, 2);
    for (int i = 0; i < 1024; i++)
        many[i] = (struct iovec){ big + i, 1 };
    tr_readv(rx, many, 1024);
    drain(rx);

    note("readv and writev on a non-blocking empty socket");
    tr_fcntl(rx, F_SETFL, O_NONBLOCK);
    tr_readv(rx, s, 4);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
