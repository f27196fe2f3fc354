/* ip_options_loopback: IP_OPTIONS on datagrams that never leave the host (127.0.0.1 and our
 * own address): ip_options_build fills the slots on output, ip_options_compile on input fills
 * the next ones (the receiving address), and the receiver sees both in IP_RECVOPTS and
 * IP_RETOPTS; a source route through ourselves; options on a fragmented loopback datagram
 * (lo's MTU is 65536: none). Times print as TTTTTTTT. */
#include "trace.h"
#include "ip_options_cmsg.h"

#ifndef IP_OPTIONS
#define IP_OPTIONS 4
#endif

static void receive_one(int fd)
{
    static char data[70000];
    union {
        char buf[256];
        struct cmsghdr align;
    } control;
    struct sockaddr_in from;
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf };
    ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    note("recvmsg = %zd %s from %s flags=%#x controllen=%zu", n, n < 0 ? trace_errno_name(errno) : "",
         n >= 0 ? inet_ntoa(from.sin_addr) : "-", m.msg_flags, (size_t)m.msg_controllen);
    if (n < 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        print_options_message(c);
}

static void send_with(int fd, const char *what, const unsigned char *opts, socklen_t len,
                      const char *to, size_t size)
{
    note("%s", what);
    tr_setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opts, len);
    static char buf[70000];
    memset(buf, 'x', size);
    tr_sendto4(fd, buf, size, 0, to, 5096);
}

int main(void)
{
    trace_start("ip_options_loopback");
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(rx, IPPROTO_IP, IP_RECVOPTS, 1);
    tr_setint(rx, IPPROTO_IP, IP_RETOPTS, 1);
    tr_bind4(rx, "0.0.0.0", 5096);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);

    static const unsigned char rr[15] = { 7, 15, 4 };
    send_with(tx, "record route with three slots, to 127.0.0.1", rr, sizeof rr, "127.0.0.1", 10);
    receive_one(rx);
    send_with(tx, "the same to our own address", rr, sizeof rr, HOST_ADDR, 10);
    receive_one(rx);
    static const unsigned char ts[20] = { 68, 20, 5, 1 };
    send_with(tx, "timestamp and address, to 127.0.0.1", ts, sizeof ts, "127.0.0.1", 10);
    receive_one(rx);
    static const unsigned char ts_only[12] = { 68, 12, 5, 0 };
    send_with(tx, "timestamp only, to our address", ts_only, sizeof ts_only, HOST_ADDR, 10);
    receive_one(rx);
    static const unsigned char ra[4] = { 148, 4, 0, 0 };
    send_with(tx, "router alert", ra, sizeof ra, "127.0.0.1", 10);
    receive_one(rx);
    static const unsigned char lsrr[7] = { 131, 7, 4, 127, 0, 0, 1 };
    send_with(tx, "loose source route through 127.0.0.1", lsrr, sizeof lsrr, HOST_ADDR, 10);
    receive_one(rx);
    send_with(tx, "record route on a 65000-byte datagram", rr, sizeof rr, "127.0.0.1", 65000);
    receive_one(rx);
    send_with(tx, "record route on a 3000-byte datagram to our address", rr, sizeof rr, HOST_ADDR, 3000);
    receive_one(rx);
    receive_one(rx);
    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
