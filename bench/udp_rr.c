/*
 * udp_rr: the client side of scripts/bench.
 *
 *   udp_rr rr   ADDRESS PORT ROUND_TRIPS [PAYLOAD_BYTES]
 *       Request/response latency against a UDP echo server (bench/udp_echo.c echo): one
 *       datagram out, wait for its echo, repeat. Prints one line of key=value pairs:
 *       round_trips, lost, p50_ns, p99_ns, mean_ns, min_ns, max_ns.
 *   udp_rr rate ADDRESS PORT SECONDS [PAYLOAD_BYTES]
 *       One-way rate against a counting sink (bench/udp_echo.c sink): send datagrams back to
 *       back for SECONDS, then ask the sink how many arrived. Prints seconds, sent,
 *       send_errors, sent_per_s, delivered, delivered_per_s.
 *
 * Plain blocking sendto/recv, as an unmodified application would call them; the same binary
 * runs natively and under the shim. Everything is bounded: a lost datagram costs one
 * SO_RCVTIMEO, too many losses or an overall deadline end the run early (reported, exit 1).
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

#define WARMUP_ROUND_TRIPS 500
#define RECEIVE_TIMEOUT_MS 200
#define MAX_LOST 100
#define RR_DEADLINE_SECONDS 60.0

static int open_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    struct timeval timeout = { .tv_sec = 0, .tv_usec = RECEIVE_TIMEOUT_MS * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0) {
        perror("setsockopt SO_RCVTIMEO");
        exit(2);
    }
    return fd;
}

/* One request and its echo. The first 8 payload bytes carry a sequence number so that a late
 * echo of an earlier (timed-out) request is recognised and skipped. Returns 0, or -1 on loss. */
static int round_trip(int fd, const struct sockaddr_in *server, unsigned char *payload, size_t size,
                      uint64_t sequence, unsigned char *reply)
{
    memcpy(payload, &sequence, sizeof sequence);
    if (sendto(fd, payload, size, 0, (const struct sockaddr *)server, sizeof *server) < 0) {
        perror("sendto");
        return -1;
    }
    for (;;) {
        ssize_t got = recv(fd, reply, 65536, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                perror("recv");
            return -1;
        }
        uint64_t echoed;
        if ((size_t)got == size && (memcpy(&echoed, reply, sizeof echoed), echoed == sequence))
            return 0;
        /* A stale echo: keep waiting for ours. */
    }
}

static int run_rr(const struct sockaddr_in *server, long count, size_t size)
{
    int fd = open_socket();
    unsigned char *payload = calloc(1, size), *reply = malloc(65536);
    uint64_t *samples = malloc(sizeof(uint64_t) * (size_t)count);
    if (!payload || !reply || !samples) {
        perror("malloc");
        return 2;
    }
    uint64_t sequence = 0;
    long lost = 0, measured = 0;
    /* Warm-up: ARP, caches, page faults and the server's first wake-ups stay out of the numbers. */
    for (int i = 0; i < WARMUP_ROUND_TRIPS && lost <= MAX_LOST; i++)
        if (round_trip(fd, server, payload, size, ++sequence, reply) < 0)
            lost++;
    uint64_t deadline = now_ns() + (uint64_t)(RR_DEADLINE_SECONDS * 1e9);
    lost = 0;
    while (measured < count && lost <= MAX_LOST && now_ns() < deadline) {
        uint64_t start = now_ns();
        if (round_trip(fd, server, payload, size, ++sequence, reply) < 0) {
            lost++;
            continue;
        }
        samples[measured++] = now_ns() - start;
    }
    if (measured == 0) {
        printf("round_trips=0 lost=%ld\n", lost);
        return 1;
    }
    printf("round_trips=%ld lost=%ld ", measured, lost);
    print_latencies(samples, measured);
    return measured == count ? 0 : 1;
}

/* Asks the sink for its counters ("STATS" -> "<datagrams> <bytes>"), which it then resets. */
static int sink_stats(int fd, const struct sockaddr_in *server, unsigned long long *datagrams)
{
    char answer[64];
    for (int attempt = 0; attempt < 10; attempt++) {
        if (sendto(fd, "STATS", 5, 0, (const struct sockaddr *)server, sizeof *server) < 0) {
            perror("sendto STATS");
            continue;
        }
        ssize_t got = recv(fd, answer, sizeof answer - 1, 0);
        if (got <= 0)
            continue;
        answer[got] = '\0';
        if (sscanf(answer, "%llu", datagrams) == 1)
            return 0;
    }
    fprintf(stderr, "the sink did not answer STATS\n");
    return -1;
}

static int run_rate(const struct sockaddr_in *server, double seconds, size_t size)
{
    int fd = open_socket();
    unsigned char *payload = calloc(1, size);
    if (!payload) {
        perror("malloc");
        return 2;
    }
    unsigned long long delivered = 0;
    /* Resets the sink's counters and resolves ARP before the clock starts. */
    if (sink_stats(fd, server, &delivered) < 0)
        return 1;
    unsigned long long sent = 0, send_errors = 0;
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), now = start;
    while (now < end) {
        /* Read the clock every 64 datagrams: a clock read costs about as much as a send. */
        for (int i = 0; i < 64; i++) {
            if (sendto(fd, payload, size, 0, (const struct sockaddr *)server, sizeof *server) < 0)
                send_errors++;
            else
                sent++;
        }
        now = now_ns();
    }
    double elapsed = (double)(now - start) / 1e9;
    /* Let the sink drain its queue before asking: STATS queues behind the last datagram. */
    usleep(100000);
    if (sink_stats(fd, server, &delivered) < 0)
        return 1;
    printf("seconds=%.3f sent=%llu send_errors=%llu sent_per_s=%.0f delivered=%llu delivered_per_s=%.0f\n",
           elapsed, sent, send_errors, (double)sent / elapsed, delivered, (double)delivered / elapsed);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s rr ADDRESS PORT ROUND_TRIPS [PAYLOAD_BYTES]\n"
                        "       %s rate ADDRESS PORT SECONDS [PAYLOAD_BYTES]\n",
                argv[0], argv[0]);
        return 2;
    }
    struct sockaddr_in server;
    if (parse_server(argv[2], argv[3], &server) < 0)
        return 2;
    long size = argc == 6 ? atol(argv[5]) : 64;
    if (size < 8 || size > 65507) {
        fprintf(stderr, "payload must be 8..65507 bytes\n");
        return 2;
    }
    if (strcmp(argv[1], "rr") == 0) {
        long count = atol(argv[4]);
        if (count < 1 || count > 10000000) {
            fprintf(stderr, "bad round-trip count\n");
            return 2;
        }
        return run_rr(&server, count, (size_t)size);
    }
    if (strcmp(argv[1], "rate") == 0) {
        double seconds = atof(argv[4]);
        if (seconds <= 0 || seconds > 60) {
            fprintf(stderr, "seconds must be in (0, 60]\n");
            return 2;
        }
        return run_rate(&server, seconds, (size_t)size);
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
