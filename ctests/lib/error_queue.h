/* error_queue.h: reading the IP_RECVERR error queue in a case (include after trace.h).
 * tr_recvmsg prints each entry: the data, msg_name, msg_flags and the control messages
 * (IP_RECVERR's sock_extended_err and offender, and whatever else is enabled). */
#ifndef IPSHIM_CTESTS_ERROR_QUEUE_H
#define IPSHIM_CTESTS_ERROR_QUEUE_H

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* One recvmsg(MSG_ERRQUEUE) with a fresh msghdr: `datalen` bytes of data room (at most 128:
 * a short one shows MSG_TRUNC), `controllen` bytes of control room (at most 512: a short one
 * shows MSG_CTRUNC), and a sockaddr_in name filled with 0xaa beforehand, so that a name the
 * call does not write is visible. Returns what recvmsg returned. */
static inline ssize_t read_one_error(int fd, size_t datalen, size_t controllen)
{
    unsigned char data[128];
    union {
        char buf[512];
        struct cmsghdr align;
    } control;
    struct sockaddr_in name;
    memset(&name, 0xaa, sizeof name);
    struct iovec iov = { data, datalen < sizeof data ? datalen : sizeof data };
    struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = controllen < sizeof control.buf ? controllen
                                                                          : sizeof control.buf };
    return tr_recvmsg(fd, &m, MSG_ERRQUEUE);
}

/* Reads up to `times` entries as read_one_error does, stopping after the first failure
 * (EAGAIN: the queue is empty). */
static inline void read_errors(int fd, size_t datalen, size_t controllen, int times)
{
    for (int i = 0; i < times; i++)
        if (read_one_error(fd, datalen, controllen) < 0)
            return;
}

#endif
