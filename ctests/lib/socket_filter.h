/* socket_filter.h: attaching classic BPF programs in a case (include after trace.h). */
#ifndef IPSHIM_CTESTS_SOCKET_FILTER_H
#define IPSHIM_CTESTS_SOCKET_FILTER_H

#include <errno.h>
#include <stdio.h>
#include <linux/filter.h>
#include <sys/socket.h>

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

/* setsockopt(name) with a sock_fprog of `count` instructions at `insns`, printed as one line
 * naming the program by `label` (never the pointer's value, which differs per run). */
static inline int attach_filter_as(int fd, int name, struct sock_filter *insns, unsigned count,
                                   const char *label)
{
    struct sock_fprog prog = { .len = (unsigned short)count, .filter = insns };
    int r = setsockopt(fd, SOL_SOCKET, name, &prog, sizeof prog);
    int saved = errno;
    printf("setsockopt(fd%d, %s, {len=%u, %s}) = %s\n", fd,
           name == SO_ATTACH_FILTER ? "SO_ATTACH_FILTER" : "SO_ATTACH_REUSEPORT_CBPF", count,
           label, r < 0 ? trace_errno_name(saved) : "0");
    errno = saved;
    return r;
}

/* SO_ATTACH_FILTER. */
static inline int attach_filter(int fd, struct sock_filter *insns, unsigned count,
                                const char *label)
{
    return attach_filter_as(fd, SO_ATTACH_FILTER, insns, count, label);
}

#endif
