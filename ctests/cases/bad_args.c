/* bad_args: what socket calls answer for bad descriptors (EBADF: closed, -1, huge),
 * descriptors that are not sockets (ENOTSOCK: a pipe, /dev/null), bad pointers
 * (EFAULT, from a PROT_NONE page), bad lengths (EINVAL) and unknown options
 * (ENOPROTOOPT). Whether a datagram survives a failed copy-out is printed too. */
#include "trace.h"

static void socket_calls(int fd)
{
    struct sockaddr_in s = sin4(HOST_ADDR, 0);
    socklen_t len = sizeof s;
    unsigned char buf[16];
    memset(buf, 0, sizeof buf);
    int value = 0;
    socklen_t vlen = sizeof value;
    tr_bind(fd, SA(&s), sizeof s);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_getsockname(fd, SA(&s), &len);
    len = sizeof s;
    tr_getpeername(fd, SA(&s), &len);
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &vlen);
    tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_send(fd, "x", 1, 0);
    len = sizeof s;
    tr_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, SA(&s), &len);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    tr_sendmsg(fd, &m, MSG_DONTWAIT);
    tr_recvmsg(fd, &m, MSG_DONTWAIT);
    tr_shutdown(fd, SHUT_RDWR);
    tr_listen(fd, 1);
    value = 0;
    tr_ioctl_int(fd, FIONREAD, &value);
}

int main(void)
{
    trace_start("bad_args");
    unsigned char buf[64];
    int value;
    socklen_t len;

    note("EBADF: a closed descriptor");
    int closed = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_close(closed);
    socket_calls(closed);
    tr_read(closed, buf, sizeof buf);
    tr_write(closed, "x", 1);
    tr_close(closed);
    note("EBADF: -1 and a huge number");
    socket_calls(-1);
    tr_close(-1);
    socket_calls(1 << 20);

    note("ENOTSOCK: a pipe");
    int pipefd[2];
    tr_pipe(pipefd);
    socket_calls(pipefd[0]);
    note("ENOTSOCK: /dev/null");
    int devnull = open("/dev/null", O_RDWR);
    printf("open(/dev/null) = %d\n", devnull);
    socket_calls(devnull);
    tr_close(devnull);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);

    note("EFAULT: socket calls with a bad pointer, UDP socket");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind(fd, BADPTR, sizeof(struct sockaddr_in));
    tr_bind4(fd, HOST_ADDR, 8100);
    tr_connect(fd, BADPTR, sizeof(struct sockaddr_in));
    tr_sendto(fd, "x", 1, 0, BADPTR, sizeof(struct sockaddr_in));
    tr_sendto4(fd, BADPTR, 10, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(fd, BADPTR, 0, 0, PEER_ADDR, PORT_DISCARD);
    struct sockaddr_in s;
    len = sizeof s;
    tr_getsockname(fd, BADPTR, &len);
    tr_getsockname(fd, SA(&s), BADPTR);
    tr_getpeername(fd, SA(&s), BADPTR);
    len = sizeof s;
    tr_getpeername(fd, BADPTR, &len);
    len = sizeof value;
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, BADPTR, &len);
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, BADPTR);
    tr_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, BADPTR, sizeof(int));
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, BADPTR, sizeof(int));
    tr_ioctl_int(fd, FIONREAD, BADPTR);
    tr_ioctl_int(fd, FIONBIO, BADPTR);

    note("EFAULT on receive: empty queue first, then with a datagram queued");
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_recv(fd, BADPTR, 16, MSG_DONTWAIT);
    tr_sendto4(tx, "one", 3, 0, HOST_ADDR, 8100);
    quiet_wait_readable(fd, 3000);
    tr_recv(fd, BADPTR, 16, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_sendto4(tx, "two", 3, 0, HOST_ADDR, 8100);
    quiet_wait_readable(fd, 3000);
    tr_recv(fd, BADPTR, 16, MSG_DONTWAIT | MSG_PEEK);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_sendto4(tx, "three", 5, 0, HOST_ADDR, 8100);
    quiet_wait_readable(fd, 3000);
    len = sizeof s;
    tr_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, BADPTR, &len);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_sendto4(tx, "four", 4, 0, HOST_ADDR, 8100);
    quiet_wait_readable(fd, 3000);
    tr_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, SA(&s), BADPTR);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_sendto4(tx, "five", 4, 0, HOST_ADDR, 8100);
    quiet_wait_readable(fd, 3000);
    tr_recvmsg(fd, BADPTR, MSG_DONTWAIT);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    note("sendmsg/recvmsg with bad inner pointers");
    struct iovec bad_base = { BADPTR, 8 };
    struct msghdr m = { .msg_iov = &bad_base, .msg_iovlen = 1 };
    struct sockaddr_in to = sin4(HOST_ADDR, 8100);
    m.msg_name = &to;
    m.msg_namelen = sizeof to;
    tr_sendmsg(tx, &m, 0);
    tr_sendmsg(tx, BADPTR, 0);
    m.msg_iov = BADPTR;
    tr_sendmsg(tx, &m, 0);
    struct iovec good = { "six", 3 };
    m.msg_iov = &good;
    m.msg_control = BADPTR;
    m.msg_controllen = 64;
    tr_sendmsg(tx, &m, 0);
    m.msg_control = NULL;
    m.msg_controllen = 0;
    m.msg_name = BADPTR;
    tr_sendmsg(tx, &m, 0);
    m.msg_name = NULL;
    m.msg_namelen = 0;
    m.msg_iovlen = 1025;
    tr_sendmsg(tx, &m, 0);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(tx);

    note("EINVAL and friends: lengths");
    value = 1;
    tr_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, (socklen_t)-1);
    tr_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, 0);
    tr_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &value, 2);
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, &value, (socklen_t)-1);
    tr_setsockopt(fd, IPPROTO_IP, IP_TTL, &value, 0);
    len = (socklen_t)-1;
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len);
    len = (socklen_t)-1;
    tr_getsockopt(fd, IPPROTO_IP, IP_TTL, &value, &len);
    len = (socklen_t)-1;
    tr_getsockname(fd, SA(&s), &len);

    note("ENOPROTOOPT: unknown options and levels");
    len = sizeof value;
    tr_getsockopt(fd, SOL_SOCKET, 9999, &value, &len);
    len = sizeof value;
    tr_getsockopt(fd, IPPROTO_IP, 200, &value, &len);
    len = sizeof value;
    tr_getsockopt(fd, IPPROTO_UDP, 200, &value, &len);
    len = sizeof value;
    tr_getsockopt(fd, IPPROTO_TCP, 1, &value, &len);
    len = sizeof value;
    tr_getsockopt(fd, 999, 1, &value, &len);
    tr_setint(fd, SOL_SOCKET, 9999, 1);
    tr_setint(fd, IPPROTO_IP, 200, 1);
    tr_setint(fd, IPPROTO_UDP, 200, 1);
    tr_setint(fd, IPPROTO_TCP, 1, 1);
    tr_setint(fd, 999, 1, 1);

    note("operations UDP does not support");
    tr_listen(fd, 5);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int r = accept(fd, SA(&peer), &plen);
    printf("accept(fd%d) = %d %s\n", fd, r, r < 0 ? trace_errno_name(errno) : "");
    tr_send(fd, "x", 1, MSG_OOB);
    tr_recv(fd, buf, sizeof buf, MSG_OOB | MSG_DONTWAIT);
    tr_shutdown(fd, 99);
    tr_shutdown(fd, SHUT_RD);
    tr_shutdown(fd, SHUT_RDWR);
    tr_close(fd);
    return trace_end();
}
