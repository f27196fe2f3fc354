/*
 * tcp_lib.h: helpers shared by the tcp_*.c cases (the runner builds only *.c files; these
 * are static, so a case may leave some unused).
 *
 * TCP traces must not depend on how the bytes were cut into segments: a case waits for
 * what it expects (quiet_wait_bytes, MSG_WAITALL) before it prints a receive, and prints
 * totals and hashes of streams, never the size of one read of a stream still arriving.
 */
#ifndef IPSHIM_CTESTS_TCP_LIB_H
#define IPSHIM_CTESTS_TCP_LIB_H

#include "trace.h"
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <time.h>

/* accept4 with its peer address printed (the port as trace_port_name prints it). */
static int tr_accept4(int fd, struct sockaddr_in *peer, socklen_t *len, int flags)
{
    socklen_t given = len ? *len : 0;
    int ret = accept4(fd, (struct sockaddr *)peer, len, flags);
    int err = errno;
    printf("accept4(fd%d, addrlen=%u, %s%s%s) = ", fd, (unsigned)given,
           flags & SOCK_NONBLOCK ? "SOCK_NONBLOCK" : "",
           (flags & SOCK_NONBLOCK) && (flags & SOCK_CLOEXEC) ? "|" : "",
           flags & SOCK_CLOEXEC ? "SOCK_CLOEXEC" : (flags ? "" : "0"));
    if (ret < 0) {
        printf("-1 %s\n", trace_errno_name(err));
    } else if (peer && len) {
        char addr[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof addr);
        printf("fd%d peer=%s:%s addrlen=%u\n", ret, addr, trace_port_name(ntohs(peer->sin_port)),
               (unsigned)*len);
    } else {
        printf("fd%d\n", ret);
    }
    errno = err;
    return ret;
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Silent: waits until `events` (or POLLERR/POLLHUP) show on fd, at most timeout_ms. */
static int quiet_wait_events(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    return poll(&p, 1, timeout_ms) > 0 ? p.revents : 0;
}

/* Silent: waits until at least `count` bytes are queued for reading (FIONREAD), or the
 * socket reports a hang-up or an error, at most timeout_ms. Returns what is queued. */
static int quiet_wait_bytes(int fd, int count, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int queued = 0;
    for (int round = 0; round < 10000; round++) {
        if (ioctl(fd, FIONREAD, &queued) < 0 || queued >= count)
            break;
        long left = timeout_ms - ms_since(&start);
        if (left <= 0)
            break;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        poll(&p, 1, left > 20 ? 20 : (int)left);
        if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) {
            ioctl(fd, FIONREAD, &queued);
            break;
        }
    }
    return queued;
}

/* Silent: waits until poll on fd shows exactly `want` among `mask`, at most timeout_ms
 * (state changes that arrive from the peer take a moment). Returns the last revents. */
static int quiet_wait_revents(int fd, short events, int mask, int want, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int revents = 0;
    for (int round = 0; round < 10000; round++) {
        struct pollfd p = { .fd = fd, .events = events };
        poll(&p, 1, 0);
        revents = p.revents;
        if ((revents & mask) == want || ms_since(&start) >= timeout_ms)
            break;
        usleep(2000);
    }
    return revents;
}

/* SIGPIPE counter. */
static volatile sig_atomic_t sigpipe_count;
static void count_sigpipe(int sig)
{
    (void)sig;
    sigpipe_count++;
}
static void catch_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_sigpipe;
    sigaction(SIGPIPE, &sa, NULL);
}

/* FNV-1a over a stream, in pieces. */
static uint64_t fnv_update(uint64_t hash, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}
#define FNV_START 0xcbf29ce484222325ULL

/* What echo_nonblocking saw: bytes sent and received, the FNV-1a hash of what came back, and
 * the errno of the last receive that returned nothing (0 for EOF). */
struct echo_totals {
    size_t sent, received;
    uint64_t hash;
    int error;
};

/* Sends `total` bytes of `pattern` (repeated) to an echo service over the nonblocking fd and
 * reads them back, driven by poll (3 s without an event ends it); with shut_when_sent,
 * shutdown(SHUT_WR) once every byte is queued. Prints nothing: the caller prints totals. */
static struct echo_totals echo_nonblocking(int fd, const unsigned char *pattern,
                                           size_t pattern_len, size_t total, int shut_when_sent)
{
    struct echo_totals t = { .hash = FNV_START };
    static unsigned char buf[1 << 16];
    int shut = 0;
    for (int rounds = 0; rounds < 200000 && t.received < total; rounds++) {
        struct pollfd p = { .fd = fd, .events = POLLIN | (t.sent < total ? POLLOUT : 0) };
        if (poll(&p, 1, 3000) <= 0)
            break;
        if (p.revents & POLLOUT) {
            size_t offset = t.sent % pattern_len;
            size_t n = pattern_len - offset;
            if (n > total - t.sent)
                n = total - t.sent;
            ssize_t w = send(fd, pattern + offset, n, 0);
            if (w > 0)
                t.sent += (size_t)w;
        }
        if (shut_when_sent && t.sent == total && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                t.error = n < 0 ? errno : 0;
                if (n == 0 || errno != EAGAIN)
                    break;
            } else {
                t.hash = fnv_update(t.hash, buf, (size_t)n);
                t.received += (size_t)n;
            }
        }
    }
    return t;
}

/* A listening socket on addr:port with SO_REUSEADDR (TIME_WAIT entries the kernel world's
 * host keeps from an earlier run must not make bind fail), printed. */
static int tr_listener(const char *addr, unsigned port, int backlog)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(fd, addr, port);
    tr_listen(fd, backlog);
    return fd;
}

#endif
