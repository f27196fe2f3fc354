/* tcp_echo_100mib: issue #5's "100 MiB echoed through a kernel echo server, byte-exact". A
 * seeded pseudo-random pattern is written by blocking sends to the peer's echo service (port 7,
 * the peer's kernel stack) while a thread reads the echo and compares every byte with the
 * pattern, regenerated from the seed at that offset; both sides keep a 64-bit FNV-1a of the
 * stream. Only sizes, verdicts and the hash are printed: how the stream was cut into reads is
 * scheduling. 100 MiB takes about 1.5 s in either world here, well inside the runner's 30 s, so
 * CI runs the whole size too; IPSHIM_ECHO_MIB (1..1024) changes it by hand. */
#include "tcp_lib.h"
#include <pthread.h>

#define DEFAULT_MIB 100
#define MAX_MIB 1024
#define CHUNK (1 << 16)
#define PATTERN_SEED 0x1b873593u

/* splitmix64: the pattern's word number `index`, from the seed. */
static uint64_t pattern_word(uint64_t index)
{
    uint64_t z = index * 0x9e3779b97f4a7c15u + PATTERN_SEED;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The pattern's bytes [offset, offset + length): byte i is byte (i % 8) of word i / 8,
 * least significant first. */
static void fill_pattern(unsigned char *out, uint64_t offset, size_t length)
{
    size_t done = 0;
    while (done < length) {
        uint64_t at = offset + done;
        uint64_t word = pattern_word(at / 8);
        for (unsigned shift = (unsigned)(at % 8); shift < 8 && done < length; shift++)
            out[done++] = (unsigned char)(word >> (8 * shift));
    }
}

static uint64_t fnv64_update(uint64_t hash, const unsigned char *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3u;
    }
    return hash;
}

#define FNV64_START 0xcbf29ce484222325u

struct reader {
    int fd;
    uint64_t total;
    uint64_t hash;
    uint64_t first_difference; /* offset of the first byte unlike the pattern; UINT64_MAX: none */
    int error;
};

/* Reads until EOF, comparing as it goes; never prints (the main thread reports). */
static void *read_and_compare(void *arg)
{
    struct reader *r = arg;
    static unsigned char got[CHUNK], want[CHUNK];
    r->hash = FNV64_START;
    r->first_difference = UINT64_MAX;
    /* Bounded: a read returns at least one byte, and the stream is at most MAX_MIB. */
    for (long rounds = 0; rounds < (long)MAX_MIB * (1 << 20) + 2; rounds++) {
        ssize_t n = recv(r->fd, got, sizeof got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r->error = errno;
            break;
        }
        if (n == 0)
            break;
        fill_pattern(want, r->total, (size_t)n);
        if (r->first_difference == UINT64_MAX && memcmp(got, want, (size_t)n) != 0) {
            size_t i = 0;
            while (got[i] == want[i])
                i++;
            r->first_difference = r->total + i;
        }
        r->hash = fnv64_update(r->hash, got, (size_t)n);
        r->total += (uint64_t)n;
    }
    return NULL;
}

static long size_in_mib(void)
{
    const char *text = getenv("IPSHIM_ECHO_MIB");
    if (text == NULL || *text == '\0')
        return DEFAULT_MIB;
    char *end;
    long mib = strtol(text, &end, 10);
    return *end == '\0' && mib >= 1 && mib <= MAX_MIB ? mib : DEFAULT_MIB;
}

int main(void)
{
    trace_start("tcp_echo_100mib");
    long mib = size_in_mib();
    uint64_t total = (uint64_t)mib << 20;
    note("%ld MiB of a seeded pattern through the peer's echo service; a thread reads and compares",
         mib);
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    struct reader r = { .fd = fd };
    pthread_t thread;
    if (pthread_create(&thread, NULL, read_and_compare, &r) != 0) {
        note("pthread_create failed");
        return trace_end();
    }
    static unsigned char chunk[CHUNK];
    uint64_t sent = 0, hash = FNV64_START;
    int send_error = 0;
    while (sent < total && send_error == 0) {
        size_t length = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
        fill_pattern(chunk, sent, length);
        hash = fnv64_update(hash, chunk, length);
        /* A blocking send returns once every byte is queued (or on an error). */
        size_t queued = 0;
        for (int tries = 0; queued < length && tries < 1000; tries++) {
            ssize_t n = send(fd, chunk + queued, length - queued, MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR) {
                send_error = errno;
                break;
            }
            if (n > 0)
                queued += (size_t)n;
        }
        sent += queued;
        /* Progress re-arms the 10 s watchdog: only a stalled stream trips it. */
        if (sent % (1 << 20) == 0)
            trace_watchdog();
    }
    printf("sent %llu bytes, error %s\n", (unsigned long long)sent, trace_errno_name(send_error));
    tr_shutdown(fd, SHUT_WR);
    pthread_join(thread, NULL);
    trace_watchdog();
    printf("received %llu bytes, error %s\n", (unsigned long long)r.total,
           trace_errno_name(r.error));
    if (r.first_difference == UINT64_MAX)
        printf("first byte unlike the pattern: none\n");
    else
        printf("first byte unlike the pattern: at offset %llu\n",
               (unsigned long long)r.first_difference);
    check(r.total == total && r.first_difference == UINT64_MAX, "every byte echoed, in order");
    check(r.hash == hash, "the checksums of what was sent and what came back agree");
    printf("fnv64 of the stream: %016llx\n", (unsigned long long)r.hash);
    tr_close(fd);
    return trace_end();
}
