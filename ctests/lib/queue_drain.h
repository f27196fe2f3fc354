/* queue_drain.h: reading everything a socket has queued, in a case (include after trace.h).
 *
 * drain_traced: each datagram through tr_recvmsg, so the trace shows its data, msg_flags and
 * control messages. drain_texts: each payload as text, one line each, for cases that only
 * want to see which socket got what. Both read with MSG_DONTWAIT and stop at the first
 * failure (EAGAIN: the queue is empty), after at most `most` datagrams. */
#ifndef IPSHIM_CTESTS_QUEUE_DRAIN_H
#define IPSHIM_CTESTS_QUEUE_DRAIN_H

#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Each recvmsg offers `data_len` bytes of data room (at most 4096) and `control_len` bytes of
 * control room (at most 512); both sizes appear in the trace, so a case keeps the ones it was
 * written with. With `with_name`, a sockaddr_in msg_name is offered too. */
static inline void drain_traced(int fd, int most, size_t data_len, size_t control_len,
                                int with_name)
{
    static unsigned char data[4096];
    union {
        struct cmsghdr align;
        unsigned char bytes[512];
    } control;
    for (int i = 0; i < most; i++) {
        struct sockaddr_in from;
        struct iovec iov = { data, data_len < sizeof data ? data_len : sizeof data };
        struct msghdr m = { .msg_name = with_name ? &from : NULL,
                            .msg_namelen = with_name ? sizeof from : 0,
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = &control,
                            .msg_controllen = control_len < sizeof control ? control_len
                                                                           : sizeof control };
        if (tr_recvmsg(fd, &m, MSG_DONTWAIT) < 0)
            break;
    }
}

/* Prints `LABEL received "TEXT"` for each datagram (payloads cut to 63 bytes), then
 * `LABEL done`. */
static inline void drain_texts(int fd, const char *label, int most)
{
    char buf[64];
    for (int i = 0; i < most; i++) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        if (n < 0)
            break;
        buf[n] = 0;
        printf("%s received \"%s\"\n", label, buf);
    }
    printf("%s done\n", label);
}

#endif
