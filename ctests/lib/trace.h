/*
 * trace.h: the ctests trace library.
 *
 * A case is a C program that makes socket calls through the tr_* wrappers below.
 * Every wrapper makes the real call once, prints ONE line describing the call, its
 * meaningful arguments and its result (`= N` or `= -1 ENAME`), restores errno and
 * returns the real result. The same program runs in the kernel world and under the
 * shim; the runner diffs the two outputs, so the kernel's trace is the expected value.
 * Nothing here knows what the kernel "should" answer.
 *
 * Values that legitimately differ between two runs are normalised when printed:
 *   - ports inside /proc/sys/net/ipv4/ip_local_port_range print as EPHEMERAL unless
 *     the case declared them fixed with trace_fixed_port();
 *   - timestamps (SO_TIMESTAMP*, SIOCGSTAMP) print as NOW when within 10 s of the
 *     clock, else as FAR;
 *   - byte buffers longer than 16 bytes print as their length and an FNV-1a hash.
 * Pointers from trace_bad_ptr() (a PROT_NONE page) are never dereferenced by the
 * printers; they print as BADPTR. NULL prints as NULL.
 */
#ifndef IPSHIM_CTESTS_TRACE_H
#define IPSHIM_CTESTS_TRACE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np, recvmmsg, ppoll, dup3 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/sockios.h>

/* The test topology (DESIGN.md, "The network the tests use"). */
#define HOST_ADDR "198.18.0.2"
#define PEER_ADDR "198.18.0.1"
#define REMOTE_ADDR "198.19.0.2"
#define PEER_REMOTE_SIDE_ADDR "198.19.0.1"
#define PORT_ECHO 7
#define PORT_DISCARD 9
#define PORT_CLOSED 1

/* ---- life cycle and plumbing ------------------------------------------- */

/* Must be the first call in main: line-buffered stdout, the 10 s watchdog (alarm),
 * the port range, the bad page. Prints "# case NAME". */
void trace_start(const char *case_name);
/* Re-arms the 10 s watchdog (after a case used setitimer/alarm itself). */
void trace_watchdog(void);
/* Prints "# end" and returns 0: `return trace_end();` closes main. */
int trace_end(void);

/* A pointer into a PROT_NONE page: the kernel answers EFAULT for it. */
void *trace_bad_ptr(void);
#define BADPTR (trace_bad_ptr())

/* Declares a port inside the ephemeral range as chosen by the case (printed as is). */
void trace_fixed_port(unsigned port);
/* The port as it will be printed: a number or EPHEMERAL. Returns a static buffer
 * valid until the next call. */
const char *trace_port_name(unsigned port);
/* 1 when port is within ip_local_port_range. */
int trace_port_is_ephemeral(unsigned port);

/* sockaddr_in from dotted quad and port (host order). */
struct sockaddr_in sin4(const char *addr, unsigned port);
#define SA(p) ((struct sockaddr *)(p))

/* Silent helpers (no trace line): port / address of a socket, -1 on error. */
int quiet_local_port(int fd);
int quiet_wait_readable(int fd, int timeout_ms);

/* ---- printing helpers for the case's own lines ------------------------- */

/* "# text" */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "check TEXT: yes|no". Both worlds print the answer; the diff does the judging. */
int check(int condition, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "expect WHAT: ok" or "expect WHAT: FAILED got=G want=W". Use for internal
 * consistency (a port seen twice), never for what the kernel is believed to answer. */
int expect_long(const char *what, long got, long want);
/* Prints errno as the trace does: "EAGAIN", or "0" when errno is 0. */
const char *trace_errno_name(int err);
void trace_fill(void *buf, size_t len, unsigned seed); /* deterministic pattern */

/* ---- wrapped calls: same signature and result as the libc call --------- */

int tr_socket(int domain, int type, int protocol);
int tr_socketpair(int domain, int type, int protocol, int sv[2]);
int tr_bind(int fd, const struct sockaddr *addr, socklen_t len);
int tr_connect(int fd, const struct sockaddr *addr, socklen_t len);
int tr_listen(int fd, int backlog);
int tr_shutdown(int fd, int how);
int tr_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int tr_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int tr_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int tr_setsockopt(int fd, int level, int name, const void *val, socklen_t len);

ssize_t tr_send(int fd, const void *buf, size_t len, int flags);
ssize_t tr_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                  socklen_t tolen);
ssize_t tr_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t tr_recv(int fd, void *buf, size_t len, int flags);
ssize_t tr_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                    socklen_t *fromlen);
ssize_t tr_recvmsg(int fd, struct msghdr *msg, int flags);
int tr_sendmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags);
int tr_recvmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags, struct timespec *timeout);
ssize_t tr_read(int fd, void *buf, size_t len);
ssize_t tr_write(int fd, const void *buf, size_t len);
ssize_t tr_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t tr_writev(int fd, const struct iovec *iov, int iovcnt);

int tr_close(int fd);
int tr_pipe(int fds[2]);
int tr_dup(int fd);
int tr_dup2(int fd, int newfd);
int tr_dup3(int fd, int newfd, int flags);
int tr_fcntl(int fd, int cmd, long arg); /* arg ignored for the F_GET* commands */
int tr_ioctl_int(int fd, unsigned long request, int *arg); /* FIONBIO, FIONREAD, SIOCOUTQ */
int tr_ioctl_stamp(int fd, struct timeval *tv);            /* SIOCGSTAMP */

int tr_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int tr_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask);
int tr_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout);
int tr_pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
               const sigset_t *mask);
int tr_epoll_create1(int flags);
int tr_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int tr_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms);

/* ---- convenience forms (they print through the wrappers above) --------- */

int tr_bind4(int fd, const char *addr, unsigned port);
int tr_connect4(int fd, const char *addr, unsigned port);
ssize_t tr_sendto4(int fd, const void *buf, size_t len, int flags, const char *addr,
                   unsigned port);
int tr_setint(int fd, int level, int name, int value);
int tr_getint(int fd, int level, int name); /* prints; returns the value or -1 */

#endif
