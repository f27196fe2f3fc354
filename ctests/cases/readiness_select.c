/* readiness_select: select/pselect over a UDP socket and a pipe. Not readable before
 * the echo arrives, readable after; write sets; exception set; a closed descriptor
 * (EBADF); nfds bounds; the timeout is not printed after the call. */
#include "trace.h"

int main(void)
{
    trace_start("readiness_select");
    unsigned char buf[64];
    int pipefd[2];
    fd_set r, w, x;
    struct timeval tv;

    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_pipe(pipefd);
    int nfds = (fd > pipefd[1] ? fd : pipefd[1]) + 1;

    note("nothing readable yet; socket and pipe write end writable");
    FD_ZERO(&r); FD_ZERO(&w); FD_ZERO(&x);
    FD_SET(fd, &r); FD_SET(pipefd[0], &r);
    FD_SET(fd, &w); FD_SET(pipefd[1], &w);
    FD_SET(fd, &x);
    tv = (struct timeval){ 0, 0 };
    tr_select(nfds, &r, &w, &x, &tv);

    note("after the echo arrives");
    tr_sendto4(fd, "select", 6, 0, PEER_ADDR, PORT_ECHO);
    FD_ZERO(&r); FD_SET(fd, &r); FD_SET(pipefd[0], &r);
    tv = (struct timeval){ 3, 0 };
    tr_select(nfds, &r, NULL, NULL, &tv);
    FD_ZERO(&r); FD_SET(fd, &r); FD_SET(pipefd[0], &r);
    FD_ZERO(&x); FD_SET(fd, &x);
    tv = (struct timeval){ 0, 0 };
    tr_select(nfds, &r, NULL, &x, &tv);
    tr_recv(fd, buf, sizeof buf, 0);

    note("the pipe");
    tr_write(pipefd[1], "p", 1);
    FD_ZERO(&r); FD_SET(fd, &r); FD_SET(pipefd[0], &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(nfds, &r, NULL, NULL, &tv);
    tr_read(pipefd[0], buf, sizeof buf);

    note("timeout expiry with nothing ready");
    FD_ZERO(&r); FD_SET(fd, &r);
    tv = (struct timeval){ 0, 20000 };
    tr_select(fd + 1, &r, NULL, NULL, &tv);

    note("nfds too small to include the socket");
    tr_sendto4(fd, "small", 5, 0, PEER_ADDR, PORT_ECHO);
    quiet_wait_readable(fd, 3000);
    FD_ZERO(&r); FD_SET(fd, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(fd, &r, NULL, NULL, &tv);
    FD_ZERO(&r); FD_SET(fd, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(fd + 1, &r, NULL, NULL, &tv);
    tr_recv(fd, buf, sizeof buf, 0);

    note("pselect");
    struct timespec ts = { 0, 0 };
    sigset_t mask;
    sigemptyset(&mask);
    FD_ZERO(&r); FD_SET(fd, &r);
    FD_ZERO(&w); FD_SET(fd, &w);
    tr_pselect(fd + 1, &r, &w, NULL, &ts, &mask);

    note("errors: negative nfds, bad timeout, a closed descriptor, a bad set pointer");
    FD_ZERO(&r); FD_SET(fd, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(-1, &r, NULL, NULL, &tv);
    tv = (struct timeval){ 0, -1 };
    tr_select(fd + 1, &r, NULL, NULL, &tv);
    FD_ZERO(&r); FD_SET(40, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select(41, &r, NULL, NULL, &tv);
    tv = (struct timeval){ 0, 0 };
    tr_select(fd + 1, BADPTR, NULL, NULL, &tv);

    note("a socket closed while still in the set");
    int gone = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(gone);
    FD_ZERO(&r); FD_SET(gone, &r); FD_SET(fd, &r);
    tv = (struct timeval){ 0, 0 };
    tr_select((gone > fd ? gone : fd) + 1, &r, NULL, NULL, &tv);

    tr_close(fd);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    return trace_end();
}
