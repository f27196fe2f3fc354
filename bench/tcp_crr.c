/*
 * tcp_crr: TCP connection rate (connect, request, response, close), a client of scripts/bench.
 *
 *   tcp_crr ADDRESS PORT SECONDS [PAYLOAD_BYTES]
 *       For SECONDS, one connection after another to bench/tcp_echo.c reply: connect, write
 *       PAYLOAD_BYTES (its first 4 bytes: the length, big-endian, for the server), read the
 *       echoed reply and the server's FIN, close. Prints one line of key=value
 *       pairs: seconds, connections, conn_per_s, failed, slow (connections that took over
 *       200 ms: a SYN or a segment was retransmitted), p50_ns, p99_ns, max_ns (per connection).
 *
 * The server closes first (HTTP/1.0 style), so TIME_WAIT stays on its side and the client's
 * ephemeral ports are reusable at once. Plain blocking calls, as an unmodified application makes
 * them; the same binary runs natively and under the shim. Everything is bounded: connect and each
 * receive give up after SO_SNDTIMEO/SO_RCVTIMEO, the run ends after SECONDS (plus at most one
 * timeout) or after MAX_FAILED failed connections. When no connection succeeded it prints
 * "error=<call>:<errno name>" (for the table) and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define IO_TIMEOUT_SECONDS 3
#define MAX_FAILED 20
#define SLOW_NS 200000000u
/* At most this many per-connection times are kept for the percentiles. */
#define MAX_SAMPLES 10000000

/* The call and errno of the last failure, for the report. */
static const char *last_failed_call = "";
static int last_failed_errno;

static int failed(int fd, const char *call, int err)
{
    last_failed_call = call;
    last_failed_errno = err;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* One connection: returns 0 when the whole reply and the server's FIN arrived. */
static int one_connection(const struct sockaddr_in *server, const unsigned char *payload, size_t size,
                          unsigned char *reply)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return failed(-1, "socket", errno);
    if (set_io_timeouts(fd, IO_TIMEOUT_SECONDS) < 0)
        return failed(fd, "setsockopt", errno);
    if (connect(fd, (const struct sockaddr *)server, sizeof *server) < 0)
        return failed(fd, "connect", errno == EINPROGRESS ? ETIMEDOUT : errno);
    if (send_all(fd, payload, size) < 0)
        return failed(fd, "send", errno);
    size_t got = 0;
    for (;;) {
        /* One byte of room past the reply: a read that returns 0 is the server's FIN. */
        ssize_t n = recv(fd, reply, size + 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failed(fd, "recv", errno == EAGAIN ? ETIMEDOUT : errno);
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != size)
        return failed(fd, "recv", EPROTO); /* short or long reply */
    if (close(fd) < 0)
        return failed(-1, "close", errno);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s ADDRESS PORT SECONDS [PAYLOAD_BYTES]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in server;
    if (parse_server(argv[1], argv[2], &server) < 0)
        return 2;
    double seconds = atof(argv[3]);
    long size = argc == 5 ? atol(argv[4]) : 64;
    if (seconds <= 0 || seconds > 60 || size < 4 || size > 65536) {
        fprintf(stderr, "seconds must be in (0, 60], payload 4..65536 bytes\n");
        return 2;
    }
    unsigned char *payload = calloc(1, (size_t)size), *reply = malloc((size_t)size + 1);
    size_t capacity = 1 << 16;
    uint64_t *samples = malloc(sizeof(uint64_t) * capacity);
    if (!payload || !reply || !samples) {
        perror("malloc");
        return 2;
    }
    payload[0] = (unsigned char)(size >> 24);
    payload[1] = (unsigned char)(size >> 16);
    payload[2] = (unsigned char)(size >> 8);
    payload[3] = (unsigned char)size;
    /* One connection first: ARP, page faults and the server's first accept stay out. */
    one_connection(&server, payload, (size_t)size, reply);
    unsigned long long connections = 0, failures = 0, slow = 0;
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), now = start;
    while (now < end && failures < MAX_FAILED) {
        int result = one_connection(&server, payload, (size_t)size, reply);
        uint64_t done = now_ns();
        if (result < 0) {
            failures++;
        } else {
            connections++;
            uint64_t took = done - now;
            if (took > SLOW_NS)
                slow++;
            if (connections > capacity && capacity < MAX_SAMPLES) {
                uint64_t *grown = realloc(samples, sizeof(uint64_t) * capacity * 2);
                if (grown) {
                    samples = grown;
                    capacity *= 2;
                }
            }
            if (connections <= capacity)
                samples[connections - 1] = took;
        }
        now = done;
    }
    double elapsed = (double)(now - start) / 1e9;
    if (failures > 0) {
        const char *name = strerrorname_np(last_failed_errno);
        fprintf(stderr, "tcp_crr: %llu connections failed, the last in %s: %s\n", failures,
                last_failed_call, strerror(last_failed_errno));
        if (connections == 0) {
            printf("error=%s:%s\n", last_failed_call, name ? name : "unknown");
            return 1;
        }
    }
    if (connections == 0) {
        printf("error=no-connection-in-time\n");
        return 1;
    }
    size_t kept = connections < capacity ? (size_t)connections : capacity;
    qsort(samples, kept, sizeof *samples, compare_u64);
    printf("seconds=%.3f connections=%llu conn_per_s=%.0f failed=%llu slow=%llu p50_ns=%llu p99_ns=%llu "
           "max_ns=%llu\n",
           elapsed, connections, (double)connections / elapsed, failures, slow,
           (unsigned long long)samples[kept / 2], (unsigned long long)samples[(kept * 99) / 100],
           (unsigned long long)samples[kept - 1]);
    return failures < MAX_FAILED ? 0 : 1;
}
