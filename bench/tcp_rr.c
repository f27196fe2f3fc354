/*
 * tcp_rr: TCP request/response latency, a client of scripts/bench.
 *
 *   tcp_rr ADDRESS PORT ROUND_TRIPS [PAYLOAD_BYTES]
 *       One connection with TCP_NODELAY to a TCP echo server (bench/tcp_echo.c echo): write
 *       PAYLOAD_BYTES, read until all of them came back, repeat. Prints one line of key=value
 *       pairs: round_trips, p50_ns, p99_ns, mean_ns, min_ns, max_ns.
 *
 * Plain blocking connect/send/recv, as an unmodified application would call them; the same
 * binary runs natively and under the shim. Everything is bounded: connect and each receive give
 * up after SO_SNDTIMEO/SO_RCVTIMEO (TCP does not lose a request, so a timeout means the
 * connection is stuck and ends the run), and an overall deadline ends the run early. A failure
 * prints "error=<what>" on stdout (for the table) and exits 1.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define WARMUP_ROUND_TRIPS 500
#define IO_TIMEOUT_SECONDS 5
#define RR_DEADLINE_SECONDS 60.0

/* Reports a failure on stdout in the table's form ("error=connect:ECONNREFUSED") and exits. */
static void fail(const char *what, int err)
{
    const char *name = strerrorname_np(err);
    printf("error=%s:%s\n", what, name ? name : "unknown");
    fprintf(stderr, "tcp_rr: %s: %s\n", what, strerror(err));
    exit(1);
}

static int connect_to(const struct sockaddr_in *server)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket", errno);
    if (set_io_timeouts(fd, IO_TIMEOUT_SECONDS) < 0)
        fail("setsockopt", errno);
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        fail("setsockopt TCP_NODELAY", errno);
    if (connect(fd, (const struct sockaddr *)server, sizeof *server) < 0)
        fail("connect", errno == EINPROGRESS ? ETIMEDOUT : errno);
    return fd;
}

/* One request and its whole echo. */
static void round_trip(int fd, const unsigned char *payload, size_t size, unsigned char *reply)
{
    if (send_all(fd, payload, size) < 0)
        fail("send", errno);
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(fd, reply + got, size - got, 0);
        if (n == 0)
            fail("recv", ECONNRESET); /* the server closed: no echo will come */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("recv", errno == EAGAIN ? ETIMEDOUT : errno);
        }
        got += (size_t)n;
    }
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s ADDRESS PORT ROUND_TRIPS [PAYLOAD_BYTES]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in server;
    if (parse_server(argv[1], argv[2], &server) < 0)
        return 2;
    long count = atol(argv[3]);
    long size = argc == 5 ? atol(argv[4]) : 64;
    if (count < 1 || count > 10000000 || size < 1 || size > (1 << 20)) {
        fprintf(stderr, "round trips must be 1..10000000, payload 1..1048576 bytes\n");
        return 2;
    }
    unsigned char *payload = calloc(1, (size_t)size), *reply = malloc((size_t)size);
    uint64_t *samples = malloc(sizeof(uint64_t) * (size_t)count);
    if (!payload || !reply || !samples) {
        perror("malloc");
        return 2;
    }
    int fd = connect_to(&server);
    /* Warm-up: caches, page faults and the server's first wake-ups stay out of the numbers. */
    for (int i = 0; i < WARMUP_ROUND_TRIPS; i++)
        round_trip(fd, payload, (size_t)size, reply);
    uint64_t deadline = now_ns() + (uint64_t)(RR_DEADLINE_SECONDS * 1e9);
    long measured = 0;
    while (measured < count && now_ns() < deadline) {
        uint64_t start = now_ns();
        round_trip(fd, payload, (size_t)size, reply);
        samples[measured++] = now_ns() - start;
    }
    close(fd);
    printf("round_trips=%ld ", measured);
    print_latencies(samples, measured);
    return measured == count ? 0 : 1;
}
