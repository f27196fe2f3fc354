/*
 * tcp_echo: the peer namespaces' TCP server for scripts/bench, in C so that a benchmark
 * measures the client and not a Python server.
 *
 *   tcp_echo echo  PORT   RFC 862 echo over TCP: every byte read is written back, until the
 *                         client closes; then the server closes too. bench/tcp_rr.c uses it.
 *   tcp_echo reply PORT   one exchange per connection, as an HTTP/1.0 server answers: the
 *                         request's first 4 bytes give its whole length (big-endian, header
 *                         included); once that many bytes have been read and written back the
 *                         server closes (FIN). bench/tcp_crr.c uses it. A client that closes
 *                         early just ends its connection. The server closing first keeps TIME_WAIT on
 *                         the server's side, as with HTTP/1.0, so that the client's ephemeral
 *                         ports are free again as soon as each connection is done and a long
 *                         run never exhausts them.
 *
 * One thread with epoll and nonblocking sockets: many connections (lingering ones included) are
 * served at once and none can stall the others. Errors on one connection close that connection;
 * only a failure to set the listener up ends the program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define MAX_EVENTS 64
/* An echo that the client does not read fast enough is kept here until it can be sent; beyond
 * this the connection stops reading (TCP's own flow control then pushes back on the client). */
#define PENDING_CAPACITY (256 * 1024)

enum mode { MODE_ECHO, MODE_REPLY };
static const char *const MODE_NAMES[] = { "echo", "reply" };

struct connection {
    int fd;
    /* reply mode: the length header as it arrives, and the bytes received so far. */
    unsigned char header[4];
    uint64_t received;
    size_t pending_start, pending_end;
    unsigned char pending[PENDING_CAPACITY];
};

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        perror("setsockopt SO_REUSEADDR");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        exit(1);
    }
    /* somaxconn clamps it; a connection-rate client has at most one connection in flight. */
    if (listen(fd, 4096) < 0) {
        perror("listen");
        exit(1);
    }
    return fd;
}

static void drop(int epoll_fd, struct connection *c)
{
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Sends what is pending; returns -1 when the connection failed. */
static int flush_pending(struct connection *c)
{
    while (c->pending_start < c->pending_end) {
        ssize_t sent = send(c->fd, c->pending + c->pending_start, c->pending_end - c->pending_start,
                            MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        c->pending_start += (size_t)sent;
    }
    c->pending_start = c->pending_end = 0;
    return 0;
}

/* Serves one readiness event; returns 1 when the connection is finished (to be closed). */
static int serve(struct connection *c, enum mode mode)
{
    if (flush_pending(c) < 0)
        return 1;
    for (;;) {
        if (c->pending_end == PENDING_CAPACITY)
            return 0; /* wait for EPOLLOUT to drain */
        ssize_t got = recv(c->fd, c->pending + c->pending_end, PENDING_CAPACITY - c->pending_end, 0);
        if (got == 0)
            return 1; /* the client closed: close too (after what could be echoed) */
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : 1;
        }
        for (size_t i = 0; i < (size_t)got && c->received + i < sizeof c->header; i++)
            c->header[c->received + i] = c->pending[c->pending_end + i];
        c->pending_end += (size_t)got;
        c->received += (uint64_t)got;
        if (flush_pending(c) < 0)
            return 1;
        if (mode == MODE_REPLY && c->received >= sizeof c->header) {
            uint32_t length = (uint32_t)c->header[0] << 24 | (uint32_t)c->header[1] << 16 |
                              (uint32_t)c->header[2] << 8 | c->header[3];
            if (c->received < length)
                continue;
            /* One reply per connection. The rest of a large reply that the send buffer could
             * not take at once is sent by a bounded wait (at most a second), then we close. */
            for (int tries = 0; c->pending_start < c->pending_end && tries < 1000; tries++) {
                usleep(1000);
                if (flush_pending(c) < 0)
                    break;
            }
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s echo|reply PORT\n", argv[0]);
        return 2;
    }
    int mode = parse_mode(argv[1], MODE_NAMES, sizeof MODE_NAMES / sizeof MODE_NAMES[0]);
    int port = parse_port(argv[2]);
    if (mode < 0 || port < 0)
        return 2;
    int listener = listen_on(port);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        perror("epoll_create1");
        return 1;
    }
    struct epoll_event event = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) < 0) {
        perror("epoll_ctl");
        return 1;
    }
    int one = 1;
    for (;;) {
        struct epoll_event events[MAX_EVENTS];
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
        if (ready < 0) {
            if (errno != EINTR)
                perror("epoll_wait");
            continue;
        }
        for (int i = 0; i < ready; i++) {
            struct connection *c = events[i].data.ptr;
            if (c != NULL) {
                if (serve(c, mode))
                    drop(epoll_fd, c);
                continue;
            }
            /* The listener: accept everything queued. */
            for (;;) {
                int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        perror("accept4");
                    break;
                }
                /* Echoes leave at once: Nagle would hold a small echo for the client's ACK. */
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = malloc(sizeof *c);
                if (c == NULL) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                c->pending_start = c->pending_end = 0;
                c->received = 0;
                struct epoll_event conn_event = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                                  .data.ptr = c };
                if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &conn_event) < 0) {
                    perror("epoll_ctl");
                    close(fd);
                    free(c);
                    continue;
                }
                /* Data may have come with (or right after) the handshake: serve it now, as
                 * edge-triggered epoll reports only later arrivals. */
                if (serve(c, mode))
                    drop(epoll_fd, c);
            }
        }
    }
}
