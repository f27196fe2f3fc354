/* tcp_bulk: megabytes echoed byte-exact through the peer's kernel echo service: 4 MiB with
 * nonblocking sends and receives driven by poll; 3 MiB written by one blocking send (the
 * call returns once every byte is queued) while a thread reads; 1 MiB by sendfile from a
 * file, then a splice from a pipe. Totals and FNV-1a hashes are printed. */
#include "tcp_lib.h"
#include <pthread.h>

#define NONBLOCKING_TOTAL (4 << 20)
#define BLOCKING_TOTAL (3 << 20)
#define FILE_TOTAL (1 << 20)

static unsigned char pattern[1 << 16];

static uint64_t pattern_hash(size_t total)
{
    uint64_t hash = FNV_START;
    for (size_t done = 0; done < total; done += sizeof pattern) {
        size_t n = total - done < sizeof pattern ? total - done : sizeof pattern;
        hash = fnv_update(hash, pattern, n);
    }
    return hash;
}

struct reader {
    int fd;
    size_t total;
    uint64_t hash;
    int error;
};

/* Reads until EOF; never prints (the main thread prints what it found). */
static void *read_all(void *arg)
{
    struct reader *r = arg;
    static unsigned char buf[1 << 16];
    r->hash = FNV_START;
    for (int rounds = 0; rounds < 1000000; rounds++) {
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n < 0) {
            r->error = errno;
            break;
        }
        if (n == 0)
            break;
        r->hash = fnv_update(r->hash, buf, (size_t)n);
        r->total += (size_t)n;
    }
    return NULL;
}

static void report(const char *what, struct reader *r, size_t want)
{
    printf("%s: received %zu bytes, error %s\n", what, r->total, trace_errno_name(r->error));
    check(r->total == want && r->hash == pattern_hash(want), "%s byte-exact", what);
}

int main(void)
{
    trace_start("tcp_bulk");
    trace_fill(pattern, sizeof pattern, 42);

    note("4 MiB, nonblocking, poll-driven");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_fcntl(fd, F_SETFL, O_NONBLOCK);
    struct echo_totals t = echo_nonblocking(fd, pattern, sizeof pattern, NONBLOCKING_TOTAL, 1);
    size_t sent = t.sent;
    struct reader r = { .fd = fd, .total = t.received, .hash = t.hash, .error = t.error };
    static unsigned char buf[1 << 16];
    printf("sent %zu bytes\n", sent);
    report("nonblocking", &r, NONBLOCKING_TOTAL);
    quiet_wait_revents(fd, POLLIN, POLLHUP, POLLHUP, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(fd);

    note("3 MiB in one blocking send, a thread reads");
    static unsigned char big[BLOCKING_TOTAL];
    for (size_t i = 0; i < BLOCKING_TOTAL; i += sizeof pattern)
        memcpy(big + i, pattern, sizeof pattern);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    struct reader tr = { .fd = fd };
    pthread_t thread;
    pthread_create(&thread, NULL, read_all, &tr);
    tr_send(fd, big, BLOCKING_TOTAL, 0);
    tr_shutdown(fd, SHUT_WR);
    pthread_join(thread, NULL);
    report("blocking", &tr, BLOCKING_TOTAL);
    tr_close(fd);

    note("1 MiB by sendfile, then 64 KiB spliced from a pipe");
    char path[] = "/tmp/ipshim-tcp-bulk-XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    for (size_t i = 0; i < FILE_TOTAL; i += sizeof pattern)
        if (write(file, pattern, sizeof pattern) != (ssize_t)sizeof pattern)
            note("short file write");
    lseek(file, 0, SEEK_SET);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    struct reader fr = { .fd = fd };
    pthread_create(&thread, NULL, read_all, &fr);
    off_t offset = 0;
    ssize_t n = sendfile(fd, file, &offset, FILE_TOTAL);
    printf("sendfile(offset 0, %d) = %zd, offset now %ld, file position %ld\n", FILE_TOTAL, n,
           (long)offset, (long)lseek(file, 0, SEEK_CUR));
    n = sendfile(fd, file, NULL, FILE_TOTAL / 2);
    printf("sendfile(NULL, %d) = %zd, file position %ld\n", FILE_TOTAL / 2, n,
           (long)lseek(file, 0, SEEK_CUR));
    n = sendfile(fd, file, NULL, FILE_TOTAL);
    printf("sendfile(NULL, %d) = %zd, file position %ld\n", FILE_TOTAL, n,
           (long)lseek(file, 0, SEEK_CUR));
    int pipefd[2];
    if (pipe(pipefd) == 0) {
        ssize_t w = write(pipefd[1], pattern, sizeof pattern);
        printf("pipe write %zd\n", w);
        size_t spliced = 0;
        for (int i = 0; i < 64 && spliced < sizeof pattern; i++) {
            n = splice(pipefd[0], NULL, fd, NULL, sizeof pattern - spliced, 0);
            if (n <= 0)
                break;
            spliced += (size_t)n;
        }
        printf("spliced %zu\n", spliced);
        n = splice(pipefd[0], NULL, fd, NULL, 100, SPLICE_F_NONBLOCK);
        printf("splice(empty pipe, SPLICE_F_NONBLOCK) = %zd %s\n", n,
               n < 0 ? trace_errno_name(errno) : "");
        loff_t off = 0;
        n = splice(pipefd[0], NULL, fd, &off, 100, 0);
        printf("splice(offset on the socket) = %zd %s\n", n, n < 0 ? trace_errno_name(errno) : "");
        n = splice(file, NULL, fd, NULL, 100, 0);
        printf("splice(file to socket) = %zd %s\n", n, n < 0 ? trace_errno_name(errno) : "");
        close(pipefd[0]);
        close(pipefd[1]);
    }
    tr_shutdown(fd, SHUT_WR);
    pthread_join(thread, NULL);
    report("sendfile", &fr, FILE_TOTAL + FILE_TOTAL + sizeof pattern);
    close(file);
    tr_close(fd);
    return trace_end();
}
