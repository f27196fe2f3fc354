/* threads_stress: four threads at once create, bind, dup, send to themselves, close
 * and receive on UDP sockets over 127.0.0.1, interleaved with pipes (fd numbers are
 * shared by the whole process), then all send to one shared receiver. Threads print
 * nothing: the main thread prints per-thread counts and the first unexpected errno,
 * how many datagrams the shared receiver got, and that no descriptor leaked. */
#include "trace.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 150
#define SHARED_PORT 9281
#define PER_THREAD_TO_SHARED 50

struct worker {
    int id;
    int round_trips;    /* datagrams sent to itself and received back */
    int shared_sent;    /* datagrams sent to the shared receiver */
    int first_errno;    /* first unexpected failure, 0 if none */
    const char *first_call;
};

static void failed(struct worker *w, const char *call)
{
    if (!w->first_errno) {
        w->first_errno = errno ? errno : -1;
        w->first_call = call;
    }
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0) {
            failed(w, "socket");
            continue;
        }
        struct sockaddr_in a = sin4("127.0.0.1", 0);
        socklen_t len = sizeof a;
        if (bind(s, SA(&a), sizeof a) < 0 || getsockname(s, SA(&a), &len) < 0)
            failed(w, "bind/getsockname");
        int d = dup(s);
        if (d < 0)
            failed(w, "dup");
        char msg[8] = { 'p', (char)('0' + w->id), (char)i };
        if (sendto(d, msg, 3, 0, SA(&a), sizeof a) != 3)
            failed(w, "sendto");
        close(s);
        struct timeval tv = { 2, 0 };
        setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char got[8];
        ssize_t r = recv(d, got, sizeof got, 0);
        if (r == 3 && memcmp(got, msg, 3) == 0)
            w->round_trips++;
        else
            failed(w, "recv");
        if (close(d) < 0)
            failed(w, "close");
        int p[2];
        if (pipe(p) == 0) {
            close(p[0]);
            close(p[1]);
        } else
            failed(w, "pipe");
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in shared = sin4("127.0.0.1", SHARED_PORT);
    for (int i = 0; i < PER_THREAD_TO_SHARED; i++) {
        char msg[2] = { (char)('0' + w->id), (char)i };
        if (sendto(s, msg, 2, 0, SA(&shared), sizeof shared) == 2)
            w->shared_sent++;
        else
            failed(w, "sendto shared");
    }
    close(s);
    return NULL;
}

int main(void)
{
    trace_start("threads_stress");
    int shared = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(shared, SOL_SOCKET, SO_RCVBUF, 1 << 20);
    tr_bind4(shared, "127.0.0.1", SHARED_PORT);

    note("%d threads x %d rounds", THREADS, ROUNDS);
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){ .id = i };
        pthread_create(&threads[i], NULL, work, &workers[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++)
        printf("thread %d: round trips %d/%d, sent to shared %d/%d, first error %s%s%s\n", i,
               workers[i].round_trips, ROUNDS, workers[i].shared_sent, PER_THREAD_TO_SHARED,
               workers[i].first_errno > 0 ? trace_errno_name(workers[i].first_errno)
                                          : workers[i].first_errno ? "?" : "none",
               workers[i].first_call ? " in " : "",
               workers[i].first_call ? workers[i].first_call : "");

    note("the shared receiver: every datagram, in per-sender order");
    int per_sender[THREADS] = { 0 };
    int out_of_order = 0, total = 0, junk = 0;
    for (int i = 0; i < THREADS * PER_THREAD_TO_SHARED; i++) {
        char msg[8];
        /* Delivery may lag the send (it does not under the kernel's loopback). */
        quiet_wait_readable(shared, 3000);
        ssize_t r = recv(shared, msg, sizeof msg, MSG_DONTWAIT);
        if (r < 0)
            break;
        int id = msg[0] - '0';
        if (r != 2 || id < 0 || id >= THREADS) {
            junk++;
            continue;
        }
        if (msg[1] != (char)per_sender[id])
            out_of_order++;
        per_sender[id]++;
        total++;
    }
    printf("received %d, out of order %d, malformed %d\n", total, out_of_order, junk);
    unsigned char buf[8];
    tr_recv(shared, buf, sizeof buf, MSG_DONTWAIT);

    note("no descriptor leaked: the next socket is the lowest free number");
    tr_close(shared);
    int next = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(next);
    return trace_end();
}
