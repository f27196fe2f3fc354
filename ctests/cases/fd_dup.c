/* fd_dup: descriptor numbering and sharing. dup/dup2/dup3/F_DUPFD/F_DUPFD_CLOEXEC give
 * new numbers for the same socket (bind through one, getsockname through another);
 * closing one keeps the others working; O_NONBLOCK (file status, shared) and
 * FD_CLOEXEC (descriptor flag, not shared) through fcntl and FIONBIO. */
#include "trace.h"

static void name_of(int fd)
{
    struct sockaddr_in s;
    socklen_t len = sizeof s;
    tr_getsockname(fd, SA(&s), &len);
}

static void flags_of(int fd)
{
    tr_fcntl(fd, F_GETFL, 0);
    tr_fcntl(fd, F_GETFD, 0);
}

int main(void)
{
    trace_start("fd_dup");
    unsigned char buf[64];

    note("numbering after close and reopen");
    int a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int b = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(a);
    a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(b);
    int pipefd[2];
    tr_pipe(pipefd);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    b = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(c);

    note("dup shares the socket");
    int d = tr_dup(a);
    tr_bind4(a, HOST_ADDR, 8000);
    name_of(d);
    tr_bind4(d, HOST_ADDR, 8001);
    tr_getint(d, SOL_SOCKET, SO_TYPE);

    note("dup2 onto a free number, onto itself, onto an open socket");
    int e = tr_dup2(a, 20);
    name_of(e);
    tr_dup2(a, a);
    name_of(a);
    tr_dup2(a, b); /* b's own socket is closed silently */
    name_of(b);
    tr_dup2(a, -1);
    tr_dup2(99, 21);
    tr_dup2(a, 1 << 20);

    note("dup3: flags, and the same-number error");
    int f = tr_dup3(a, 21, O_CLOEXEC);
    flags_of(f);
    tr_dup3(a, a, 0);
    tr_dup3(a, 22, O_NONBLOCK);
    tr_dup3(a, 22, 0);
    flags_of(22);

    note("F_DUPFD and F_DUPFD_CLOEXEC: lowest free number at or above the argument");
    int g = tr_fcntl(a, F_DUPFD, 10);
    int h = tr_fcntl(a, F_DUPFD, 10);
    int i = tr_fcntl(a, F_DUPFD_CLOEXEC, 20);
    flags_of(g);
    flags_of(i);
    tr_fcntl(a, F_DUPFD, -1);
    name_of(i);

    note("data through one dup, read through another");
    int s = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(s, "to-dup", 6, 0, HOST_ADDR, 8000);
    quiet_wait_readable(g, 3000);
    tr_recv(h, buf, sizeof buf, 0);
    tr_connect4(e, HOST_ADDR, (unsigned)quiet_local_port(s));
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    tr_getpeername(i, SA(&peer), &len);
    tr_send(f, "back", 4, 0);
    quiet_wait_readable(s, 3000);
    tr_recv(s, buf, sizeof buf, 0);

    note("O_NONBLOCK is shared by all dups; FD_CLOEXEC is per descriptor");
    tr_fcntl(a, F_SETFL, O_NONBLOCK);
    flags_of(a);
    flags_of(d);
    tr_recv(d, buf, sizeof buf, 0);
    tr_fcntl(d, F_SETFL, 0);
    flags_of(a);
    int on = 1;
    tr_ioctl_int(e, FIONBIO, &on);
    flags_of(a);
    tr_recv(a, buf, sizeof buf, 0);
    on = 0;
    tr_ioctl_int(a, FIONBIO, &on);
    flags_of(e);
    tr_fcntl(a, F_SETFD, FD_CLOEXEC);
    flags_of(a);
    flags_of(d);
    tr_fcntl(a, F_SETFD, 0);
    flags_of(a);
    note("F_SETFL ignores access mode and creation flags");
    tr_fcntl(a, F_SETFL, O_RDONLY | O_APPEND | O_NONBLOCK);
    flags_of(a);
    tr_fcntl(a, F_SETFL, O_WRONLY);
    flags_of(a);

    note("closing dups one by one: the socket lives until the last");
    tr_close(a);
    name_of(a);
    name_of(d);
    tr_close(d);
    tr_close(e);
    tr_close(b);
    tr_close(f);
    tr_close(22);
    tr_close(g);
    tr_close(h);
    name_of(i);
    tr_sendto4(s, "last", 4, 0, HOST_ADDR, 8000);
    quiet_wait_readable(i, 3000);
    tr_recv(i, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(i);
    note("the port is free once the last descriptor is closed");
    int j = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(j, HOST_ADDR, 8000);
    tr_close(j);
    tr_close(s);

    note("a socket dup'd onto a pipe's number, and a pipe dup'd onto a socket's");
    tr_pipe(pipefd);
    int k = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_dup2(k, pipefd[0]);
    tr_getint(pipefd[0], SOL_SOCKET, SO_TYPE);
    tr_dup2(pipefd[1], k);
    tr_getint(k, SOL_SOCKET, SO_TYPE);
    signal(SIGPIPE, SIG_IGN); /* the pipe's read end was replaced: EPIPE, not death */
    tr_write(k, "p", 1);
    tr_close(k);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    tr_close(pipefd[1]);
    return trace_end();
}
