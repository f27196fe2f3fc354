/* tcp_large_io: single calls that move many megabytes through 127.0.0.1. A blocking send
 * of 8 and 64 MiB returns the whole count; recv(MSG_WAITALL) of 8 and 64 MiB returns it
 * in one call; with a large SO_RCVBUF a plain recv, a readv over 1024 iovecs and a
 * MSG_PEEK each return everything queued (3 MiB) at once; MSG_TRUNC discards 2 MiB;
 * recvmsg(MSG_WAITALL) fills 1024 iovecs; a read that faults answers EFAULT and leaves the
 * bytes queued. Counts and FNV-1a hashes are printed. */
#include "tcp_lib.h"
#include <pthread.h>
#include <sys/mman.h>

#define MIB (1 << 20)
#define LARGEST (64 * MIB)
#define QUEUED (3 * MIB)
#define IOVECS 1024

static unsigned char source[LARGEST];
static unsigned char sink[LARGEST];

struct sender {
    int fd;
    size_t offset;
    size_t len;
    ssize_t result;
    int error;
};

static void *send_once(void *arg)
{
    struct sender *s = arg;
    s->result = send(s->fd, source + s->offset, s->len, 0);
    s->error = s->result < 0 ? errno : 0;
    return NULL;
}

static void start_sender(pthread_t *thread, struct sender *s, int fd, size_t offset, size_t len)
{
    *s = (struct sender){ .fd = fd, .offset = offset, .len = len };
    pthread_create(thread, NULL, send_once, s);
}

static void finish_sender(pthread_t thread, struct sender *s)
{
    pthread_join(thread, NULL);
    printf("send(%zu bytes) = %zd %s\n", s->len, s->result,
           s->result < 0 ? trace_errno_name(s->error) : "");
}

/* Prints a receive's result, and whether the bytes are the source's from `offset`. */
static void report(const char *call, ssize_t n, int error, size_t offset)
{
    if (n < 0) {
        printf("%s = -1 %s\n", call, trace_errno_name(error));
        return;
    }
    uint64_t hash = fnv_update(FNV_START, sink, (size_t)n);
    printf("%s = %zd hash=%016llx\n", call, n, (unsigned long long)hash);
    check(memcmp(sink, source + offset, (size_t)n) == 0, "the bytes are the stream's");
}

static void print_queued(int fd)
{
    int queued = -1;
    ioctl(fd, FIONREAD, &queued);
    printf("FIONREAD = %d\n", queued);
}

/* Silent: sleeps until `count` bytes are queued (quiet_wait_bytes's poll returns at once
 * while anything is readable), at most 5 s. */
static int wait_queued(int fd, int count)
{
    int queued = 0;
    for (int round = 0; round < 500; round++) {
        if (ioctl(fd, FIONREAD, &queued) < 0 || queued >= count)
            break;
        usleep(10000);
    }
    return queued - count;
}

static struct iovec iov[IOVECS];

static void cut_sink(size_t each)
{
    for (int i = 0; i < IOVECS; i++)
        iov[i] = (struct iovec){ .iov_base = sink + (size_t)i * each, .iov_len = each };
}

int main(void)
{
    trace_start("tcp_large_io");
    trace_fill(source, sizeof source, 11);
    pthread_t thread;
    struct sender s;
    ssize_t n;

    note("a listener with SO_RCVBUF 4 MiB (the accepted socket inherits it)");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(listener, SOL_SOCKET, SO_RCVBUF, 4 * MIB);
    tr_getint(listener, SOL_SOCKET, SO_RCVBUF);
    tr_bind4(listener, "127.0.0.1", 5640);
    tr_listen(listener, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5640);
    int server = tr_accept4(listener, NULL, NULL, 0);
    tr_getint(server, SOL_SOCKET, SO_RCVBUF);

    note("one blocking send and one recv(MSG_WAITALL) of 8 MiB, then of 64 MiB");
    size_t offset = 0;
    size_t sizes[] = { 8 * MIB, 64 * MIB };
    for (int i = 0; i < 2; i++) {
        start_sender(&thread, &s, client, 0, sizes[i]);
        n = recv(server, sink, sizes[i], MSG_WAITALL);
        int error = errno;
        char call[64];
        snprintf(call, sizeof call, "recv(len=%zu, MSG_WAITALL)", sizes[i]);
        report(call, n, error, 0);
        finish_sender(thread, &s);
    }

    note("3 MiB queued and unread: a plain recv of 8 MiB takes all of it");
    start_sender(&thread, &s, client, offset, QUEUED);
    finish_sender(thread, &s);
    printf("queued: %s\n", wait_queued(server, QUEUED) == 0 ? "3 MiB" : "other");
    n = recv(server, sink, 8 * MIB, 0);
    report("recv(len=8388608, 0)", n, errno, offset);
    print_queued(server);

    note("3 MiB queued: readv over 1024 iovecs of 4 KiB takes all of it");
    start_sender(&thread, &s, client, offset, QUEUED);
    finish_sender(thread, &s);
    printf("queued: %s\n", wait_queued(server, QUEUED) == 0 ? "3 MiB" : "other");
    cut_sink(4096);
    n = readv(server, iov, IOVECS);
    report("readv(1024 x 4096)", n, errno, offset);
    print_queued(server);

    note("3 MiB queued: MSG_PEEK shows all of it, MSG_TRUNC discards 2 MiB, recv the rest");
    start_sender(&thread, &s, client, offset, QUEUED);
    finish_sender(thread, &s);
    printf("queued: %s\n", wait_queued(server, QUEUED) == 0 ? "3 MiB" : "other");
    n = recv(server, sink, 8 * MIB, MSG_PEEK);
    report("recv(len=8388608, MSG_PEEK)", n, errno, offset);
    print_queued(server);
    n = recv(server, NULL, 2 * MIB, MSG_TRUNC);
    printf("recv(NULL, len=2097152, MSG_TRUNC) = %zd %s\n", n, n < 0 ? trace_errno_name(errno) : "");
    print_queued(server);
    n = recv(server, sink, 8 * MIB, 0);
    report("recv(len=8388608, 0)", n, errno, offset + 2 * MIB);
    print_queued(server);

    note("recvmsg(MSG_WAITALL) over 1024 iovecs of 8 KiB while 8 MiB are sent");
    cut_sink(8192);
    start_sender(&thread, &s, client, 0, 8 * MIB);
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = IOVECS };
    n = recvmsg(server, &msg, MSG_WAITALL);
    report("recvmsg(1024 x 8192, MSG_WAITALL)", n, errno, 0);
    printf("msg_flags = %#x\n", msg.msg_flags);
    finish_sender(thread, &s);

    note("8 KiB queued, read into a page followed by an inaccessible one: EFAULT, nothing lost");
    unsigned char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                -1, 0);
    if (pages != MAP_FAILED && mprotect(pages + 4096, 4096, PROT_NONE) == 0) {
        start_sender(&thread, &s, client, 0, 8192);
        finish_sender(thread, &s);
        printf("queued: %s\n", wait_queued(server, 8192) == 0 ? "8 KiB" : "other");
        n = recv(server, pages, 8192, 0);
        printf("recv(len=8192 over a PROT_NONE page, 0) = %zd %s\n", n,
               n < 0 ? trace_errno_name(errno) : "");
        print_queued(server);
        n = recv(server, sink, 8 * MIB, 0);
        report("recv(len=8388608, 0)", n, errno, 0);
        munmap(pages, 8192);
    }

    note("the client closes: MSG_WAITALL for 8 MiB returns the last 1 MiB, then 0");
    start_sender(&thread, &s, client, 0, MIB);
    finish_sender(thread, &s);
    tr_shutdown(client, SHUT_WR);
    n = recv(server, sink, 8 * MIB, MSG_WAITALL);
    report("recv(len=8388608, MSG_WAITALL)", n, errno, 0);
    n = recv(server, sink, 8 * MIB, MSG_WAITALL);
    report("recv(len=8388608, MSG_WAITALL)", n, errno, 0);

    tr_close(client);
    tr_close(server);
    tr_close(listener);
    return trace_end();
}
