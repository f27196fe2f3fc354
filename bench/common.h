/*
 * common.h: what the bench/ programs share: the clock, the command line's address and port,
 * and the latency summary the clients print. Header-only (static functions), because
 * scripts/lib/topology.sh's build_tool compiles each program from its one .c file.
 */
#ifndef IPSHIM_BENCH_COMMON_H
#define IPSHIM_BENCH_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A port given on the command line (1..65535), or -1 after saying what is wrong. */
static inline int parse_port(const char *text)
{
    char *end;
    long port = strtol(text, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "bad port %s\n", text);
        return -1;
    }
    return (int)port;
}

/* A server's MODE argument: its index in `names` (the order of the program's enum), or -1
 * after saying what is wrong. */
static inline int parse_mode(const char *text, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    fprintf(stderr, "unknown mode %s\n", text);
    return -1;
}

/* The server a client talks to, from its ADDRESS and PORT arguments: 0, or -1 after saying
 * what is wrong. */
static inline int parse_server(const char *address, const char *port, struct sockaddr_in *server)
{
    *server = (struct sockaddr_in){ .sin_family = AF_INET };
    if (inet_pton(AF_INET, address, &server->sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", address);
        return -1;
    }
    int number = parse_port(port);
    if (number < 0)
        return -1;
    server->sin_port = htons((uint16_t)number);
    return 0;
}

/* SO_SNDTIMEO, which bounds a blocking connect (tcp(7)) and send, and SO_RCVTIMEO, which
 * bounds each receive: 0, or -1 with errno. */
static inline int set_io_timeouts(int fd, int seconds)
{
    struct timeval timeout = { .tv_sec = seconds };
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0)
        return -1;
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

/* Sends all `size` bytes with blocking sends (MSG_NOSIGNAL: a reset is an error, not a
 * signal; EINTR retried): 0, or -1 with errno. */
static inline int send_all(int fd, const unsigned char *data, size_t size)
{
    size_t sent = 0;
    while (sent < size) {
        ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        sent += (size_t)n;
    }
    return 0;
}

/* Sorts `count` (> 0) round-trip times and prints their summary as the end of a key=value
 * line: p50_ns, p99_ns, mean_ns, min_ns, max_ns. */
static inline void print_latencies(uint64_t *samples, long count)
{
    qsort(samples, (size_t)count, sizeof *samples, compare_u64);
    uint64_t sum = 0;
    for (long i = 0; i < count; i++)
        sum += samples[i];
    printf("p50_ns=%llu p99_ns=%llu mean_ns=%llu min_ns=%llu max_ns=%llu\n",
           (unsigned long long)samples[count / 2], (unsigned long long)samples[(count * 99) / 100],
           (unsigned long long)(sum / (uint64_t)count), (unsigned long long)samples[0],
           (unsigned long long)samples[count - 1]);
}

#endif
