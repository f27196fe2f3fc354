/* tcp_errno: TCP calls in the wrong state and their errno: bind (twice, in use, after
 * connect, foreign address), listen (connected, connecting), connect (twice, AF_UNSPEC
 * disconnect), accept on a connected socket, send/sendto/recv unconnected (EPIPE with
 * SIGPIPE, ENOTCONN), MSG_OOB receive without urgent data, MSG_ERRQUEUE, MSG_TRUNC,
 * shutdown of a listener, ioctls by state, sendmmsg/recvmmsg on a stream. */
#include "tcp_lib.h"

int main(void)
{
    trace_start("tcp_errno");
    catch_sigpipe();
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;
    int value = 0;

    note("unconnected socket");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    sigpipe_count = 0;
    tr_send(fd, "x", 1, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_sendto4(fd, "x", 1, MSG_NOSIGNAL, PEER_ADDR, PORT_ECHO);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_OOB);
    tr_recv(fd, buf, sizeof buf, MSG_ERRQUEUE);
    tr_read(fd, buf, sizeof buf);
    tr_shutdown(fd, SHUT_RDWR);
    tr_ioctl_int(fd, FIONREAD, &value);
    tr_ioctl_int(fd, SIOCOUTQ, &value);
    tr_ioctl_int(fd, SIOCATMARK, &value);
    tr_ioctl_int(fd, SIOCOUTQNSD, &value);
    struct timeval tv;
    tr_ioctl_stamp(fd, &tv);
    len = sizeof sa;
    tr_accept4(fd, &sa, &len, 0);
    tr_close(fd);

    note("bind");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(fd, "198.18.0.99", 5640);
    tr_bind4(fd, "127.0.0.1", 5640);
    tr_bind4(fd, "127.0.0.1", 5641);
    int other = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(other, "127.0.0.1", 5640);
    tr_bind4(other, "0.0.0.0", 5640);
    tr_setint(other, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(other, "0.0.0.0", 5640);
    tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(other, "0.0.0.0", 5640);
    tr_listen(fd, 2);
    int third = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(third, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(third, "127.0.0.1", 5640);
    tr_close(third);
    tr_listen(other, 2);
    tr_close(other);

    note("a listener");
    tr_ioctl_int(fd, FIONREAD, &value);
    tr_ioctl_int(fd, SIOCOUTQ, &value);
    tr_ioctl_int(fd, SIOCATMARK, &value);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_OOB);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_shutdown(fd, SHUT_WR);
    tr_getint(fd, SOL_SOCKET, SO_ACCEPTCONN);
    tr_shutdown(fd, SHUT_RD);
    tr_getint(fd, SOL_SOCKET, SO_ACCEPTCONN);
    len = sizeof sa;
    tr_getsockname(fd, SA(&sa), &len);
    len = sizeof sa;
    tr_accept4(fd, &sa, &len, SOCK_NONBLOCK);
    tr_listen(fd, 3);
    tr_getint(fd, SOL_SOCKET, SO_ACCEPTCONN);

    note("a connection through loopback");
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5640);
    len = sizeof sa;
    int server = tr_accept4(fd, &sa, &len, 0);
    tr_bind4(client, "127.0.0.1", 0);
    tr_listen(client, 1);
    tr_listen(server, 1);
    len = sizeof sa;
    tr_accept4(client, &sa, &len, 0);
    tr_connect4(client, "127.0.0.1", 5640);
    tr_connect4(server, "127.0.0.1", 5640);
    tr_recv(server, buf, sizeof buf, MSG_OOB);
    tr_recv(server, buf, sizeof buf, MSG_ERRQUEUE);
    tr_ioctl_int(server, SIOCATMARK, &value);
    tr_ioctl_int(server, FIONREAD, &value);
    tr_send(client, "0123456789", 10, 0);
    quiet_wait_bytes(server, 10, 2000);
    tr_ioctl_int(server, FIONREAD, &value);
    tr_recv(server, buf, 4, MSG_TRUNC);
    tr_ioctl_int(server, FIONREAD, &value);
    tr_recv(server, buf, sizeof buf, MSG_PEEK | MSG_TRUNC);
    tr_recv(server, buf, sizeof buf, 0);
    tr_ioctl_stamp(server, &tv);

    note("sendmmsg / recvmmsg on a stream");
    struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
    struct mmsghdr msgs[2];
    memset(msgs, 0, sizeof msgs);
    msgs[0].msg_hdr.msg_iov = &iov[0];
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_iov = &iov[1];
    msgs[1].msg_hdr.msg_iovlen = 1;
    tr_sendmmsg(client, msgs, 2, 0);
    quiet_wait_bytes(server, 5, 2000);
    char in1[2], in2[8];
    struct iovec riov[2] = { { in1, sizeof in1 }, { in2, sizeof in2 } };
    struct mmsghdr rmsgs[2];
    memset(rmsgs, 0, sizeof rmsgs);
    rmsgs[0].msg_hdr.msg_iov = &riov[0];
    rmsgs[0].msg_hdr.msg_iovlen = 1;
    rmsgs[1].msg_hdr.msg_iov = &riov[1];
    rmsgs[1].msg_hdr.msg_iovlen = 1;
    tr_recvmmsg(server, rmsgs, 2, MSG_DONTWAIT, NULL);

    note("connect(AF_UNSPEC) disconnects");
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    tr_connect(client, &unspec, sizeof unspec);
    len = sizeof sa;
    tr_getpeername(client, SA(&sa), &len);
    tr_getint(client, SOL_SOCKET, SO_ERROR);
    quiet_wait_revents(server, POLLIN, POLLERR, POLLERR, 2000);
    tr_recv(server, buf, sizeof buf, 0);
    tr_send(server, "x", 1, MSG_NOSIGNAL);
    tr_connect4(client, "127.0.0.1", 5640);
    tr_close(client);
    tr_close(server);
    tr_close(fd);
    return trace_end();
}
