/* tcp_sockopt_recverr: IP_RECVERR on a TCP socket. A connect whose SYN the peer (a router)
 * answers with ICMP host unreachable fails with EHOSTUNREACH and leaves the error on the
 * socket's error queue (tcp_v4_err → ip_icmp_error): POLLERR until it is read with
 * MSG_ERRQUEUE, which returns the quoted TCP header, the original destination and a
 * sock_extended_err naming the router. */
#include "tcp_lib.h"
#include <linux/errqueue.h>

int main(void)
{
    trace_start("tcp_sockopt_recverr");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    trace_fixed_port(80);
    note("198.19.0.99 does not exist behind the router: ICMP host unreachable (~3 s)");
    tr_connect4(fd, "198.19.0.99", 80);
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    tr_poll(&p, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);

    unsigned char data[64];
    char control[256];
    struct sockaddr_in from;
    struct iovec iov = { data, sizeof data };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                          .msg_iovlen = 1, .msg_control = control,
                          .msg_controllen = sizeof control };
    ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE);
    printf("recvmsg(MSG_ERRQUEUE) = %zd%s%s flags=0x%x namelen=%u\n", n, n < 0 ? " " : "",
           n < 0 ? trace_errno_name(errno) : "", msg.msg_flags, (unsigned)msg.msg_namelen);
    if (n >= 20) {
        char addr[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
        /* The quoted SYN: our header, its flags and data offset (ports and sequence vary). */
        printf("  from %s:%d; quoted dport %d flags 0x%02x doff %d window %d\n", addr,
               ntohs(from.sin_port), data[2] << 8 | data[3], data[13], data[12] >> 4,
               data[14] << 8 | data[15]);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            printf("  cmsg level=%d type=%d len=%zu\n", c->cmsg_level, c->cmsg_type,
                   (size_t)c->cmsg_len);
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) {
                struct sock_extended_err *e = (void *)CMSG_DATA(c);
                struct sockaddr_in *o = (void *)SO_EE_OFFENDER(e);
                inet_ntop(AF_INET, &o->sin_addr, addr, sizeof addr);
                printf("  ee_errno=%s origin=%d type=%d code=%d info=%u data=%u offender=%s\n",
                       trace_errno_name(e->ee_errno), e->ee_origin, e->ee_type, e->ee_code,
                       e->ee_info, e->ee_data, addr);
            }
        }
    }
    tr_poll(&p, 1, 0);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    char buf[8];
    tr_recv(fd, buf, sizeof buf, MSG_ERRQUEUE);
    tr_close(fd);
    trace_end();
    return 0;
}
