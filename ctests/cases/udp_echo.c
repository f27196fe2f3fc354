/* udp_echo: datagrams to the peer's UDP echo (port 7) and back, through every send
 * and receive call: sendto/recvfrom, send/recv, write/read, writev/readv,
 * sendmsg/recvmsg, sendmmsg/recvmmsg; sizes 0, 1, 1472 (one full frame), 1473
 * (fragmented), 65507 (the largest) and 65508 (EMSGSIZE); MSG_PEEK, MSG_TRUNC,
 * msg_flags, FIONREAD, control messages on the replies. */
#include "trace.h"

static unsigned char out[70000], in[70000];

/* Every receive is preceded by a silent wait, so a lost reply fails the case
 * (a timeout line) instead of blocking until the watchdog. */
static int wait_reply(int fd)
{
    if (quiet_wait_readable(fd, 3000) == 1)
        return 1;
    printf("no reply within 3 s\n");
    return 0;
}

static void echo_size(int fd, size_t size, unsigned seed)
{
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    trace_fill(out, size, seed);
    if (tr_sendto4(fd, out, size, 0, PEER_ADDR, PORT_ECHO) < 0)
        return;
    if (!wait_reply(fd))
        return;
    ssize_t n = tr_recvfrom(fd, in, sizeof in, 0, SA(&from), &fromlen);
    check(n == (ssize_t)size && memcmp(in, out, size) == 0, "echo of %zu bytes intact", size);
}

int main(void)
{
    trace_start("udp_echo");
    struct sockaddr_in from;
    socklen_t fromlen;
    int value;

    note("unconnected socket: sendto/recvfrom, sizes");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    echo_size(fd, 1, 1);
    echo_size(fd, 0, 2);
    echo_size(fd, 16, 3);
    echo_size(fd, 1472, 4);
    echo_size(fd, 1473, 5);
    echo_size(fd, 9000, 6);
    echo_size(fd, 65507, 7);
    trace_fill(out, sizeof out, 8);
    tr_sendto4(fd, out, 65508, 0, PEER_ADDR, PORT_ECHO);
    tr_sendto4(fd, out, 65535, 0, PEER_ADDR, PORT_ECHO);
    tr_sendto4(fd, out, 65536, 0, PEER_ADDR, PORT_ECHO);
    tr_sendto4(fd, out, 70000, 0, PEER_ADDR, PORT_ECHO);
    note("nothing queued after the errors");
    fromlen = sizeof from;
    tr_recvfrom(fd, in, sizeof in, MSG_DONTWAIT, SA(&from), &fromlen);

    note("recvfrom without an address buffer, and with a short one");
    tr_sendto4(fd, "abc", 3, 0, PEER_ADDR, PORT_ECHO);
    wait_reply(fd);
    tr_recvfrom(fd, in, sizeof in, 0, NULL, NULL);
    tr_sendto4(fd, "abcd", 4, 0, PEER_ADDR, PORT_ECHO);
    wait_reply(fd);
    fromlen = 4;
    memset(&from, 0xee, sizeof from);
    tr_recvfrom(fd, in, sizeof in, 0, SA(&from), &fromlen);
    tr_close(fd);

    note("connected socket: send/recv, write/read, writev/readv");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_send(fd, "hello", 5, 0);
    wait_reply(fd);
    tr_recv(fd, in, sizeof in, 0);
    tr_write(fd, "world", 5);
    wait_reply(fd);
    tr_read(fd, in, sizeof in);
    tr_write(fd, "", 0);
    wait_reply(fd);
    tr_read(fd, in, sizeof in);
    struct iovec parts[3] = { { "abc", 3 }, { "", 0 }, { "defgh", 5 } };
    tr_writev(fd, parts, 3);
    wait_reply(fd);
    unsigned char a[2], b[4], c[8];
    struct iovec pieces[3] = { { a, sizeof a }, { b, sizeof b }, { c, sizeof c } };
    tr_readv(fd, pieces, 3);
    check(memcmp(a, "ab", 2) == 0 && memcmp(b, "cdef", 4) == 0 && memcmp(c, "gh", 2) == 0,
          "readv scattered the datagram in order");

    note("FIONREAD: size of the next datagram");
    value = -1;
    tr_ioctl_int(fd, FIONREAD, &value);
    tr_send(fd, "0123456789", 10, 0);
    tr_send(fd, "xyz", 3, 0);
    wait_reply(fd);
    tr_ioctl_int(fd, FIONREAD, &value);

    note("MSG_PEEK leaves the datagram; read takes it");
    tr_recv(fd, in, 4, MSG_PEEK);
    tr_recv(fd, in, sizeof in, MSG_PEEK);
    tr_recv(fd, in, 4, MSG_PEEK | MSG_TRUNC);
    tr_read(fd, in, sizeof in);
    wait_reply(fd);
    tr_ioctl_int(fd, FIONREAD, &value);
    note("MSG_TRUNC with a short buffer returns the real length; the rest is dropped");
    tr_recv(fd, in, 1, MSG_TRUNC);
    tr_recv(fd, in, sizeof in, MSG_DONTWAIT);
    note("short buffer without MSG_TRUNC");
    tr_send(fd, "0123456789", 10, 0);
    wait_reply(fd);
    tr_recv(fd, in, 4, 0);
    tr_recv(fd, in, sizeof in, MSG_DONTWAIT);
    note("zero-length buffer");
    tr_send(fd, "0123456789", 10, 0);
    wait_reply(fd);
    tr_recv(fd, in, 0, MSG_PEEK);
    tr_recv(fd, NULL, 0, MSG_TRUNC);
    tr_recv(fd, in, sizeof in, MSG_DONTWAIT);

    note("recvmsg: name, msg_flags, MSG_TRUNC in msg_flags");
    struct sockaddr_in name;
    char control[512];
    struct iovec iov = { in, sizeof in };
    struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof name, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = control,
                        .msg_controllen = sizeof control };
    tr_send(fd, "recvmsg!", 8, 0);
    wait_reply(fd);
    tr_recvmsg(fd, &m, 0);
    tr_send(fd, "truncated datagram", 18, 0);
    wait_reply(fd);
    iov.iov_len = 5;
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_PEEK);
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, 0);
    tr_send(fd, "truncated datagram", 18, 0);
    wait_reply(fd);
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, MSG_TRUNC);
    iov.iov_len = sizeof in;

    note("sendmsg with several iovecs and no name on a connected socket");
    struct iovec three[3] = { { "one,", 4 }, { "two,", 4 }, { "three", 5 } };
    struct msghdr sm = { .msg_iov = three, .msg_iovlen = 3 };
    tr_sendmsg(fd, &sm, 0);
    wait_reply(fd);
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, 0);
    note("sendmsg with a name on a connected socket goes to the name");
    struct sockaddr_in discard = sin4(PEER_ADDR, PORT_DISCARD);
    sm.msg_name = &discard;
    sm.msg_namelen = sizeof discard;
    tr_sendmsg(fd, &sm, 0);
    tr_close(fd);

    note("control messages on replies: IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, SO_TIMESTAMP");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTOS, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_sendto4(fd, "cmsg", 4, 0, PEER_ADDR, PORT_ECHO);
    wait_reply(fd);
    m.msg_namelen = sizeof name;
    m.msg_controllen = sizeof control;
    tr_recvmsg(fd, &m, 0);
    struct timeval stamp;
    tr_ioctl_stamp(fd, &stamp);
    note("control buffer too small: MSG_CTRUNC");
    tr_sendto4(fd, "cmsg", 4, 0, PEER_ADDR, PORT_ECHO);
    wait_reply(fd);
    m.msg_namelen = sizeof name;
    m.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo)) + 4;
    tr_recvmsg(fd, &m, 0);
    note("no control buffer at all");
    tr_sendto4(fd, "cmsg", 4, 0, PEER_ADDR, PORT_ECHO);
    wait_reply(fd);
    m.msg_namelen = sizeof name;
    m.msg_control = NULL;
    m.msg_controllen = 0;
    tr_recvmsg(fd, &m, 0);
    m.msg_control = control;
    tr_close(fd);

    note("sendmmsg/recvmmsg: three datagrams");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    struct iovec siov[3] = { { "first", 5 }, { "second", 6 }, { "third", 5 } };
    struct mmsghdr smsgs[3];
    memset(smsgs, 0, sizeof smsgs);
    for (int i = 0; i < 3; i++) {
        smsgs[i].msg_hdr.msg_iov = &siov[i];
        smsgs[i].msg_hdr.msg_iovlen = 1;
    }
    tr_sendmmsg(fd, smsgs, 3, 0);
    unsigned char bufs[3][32];
    struct iovec riov[3];
    struct sockaddr_in rnames[3];
    struct mmsghdr rmsgs[3];
    memset(rmsgs, 0, sizeof rmsgs);
    for (int i = 0; i < 3; i++) {
        riov[i].iov_base = bufs[i];
        riov[i].iov_len = sizeof bufs[i];
        rmsgs[i].msg_hdr.msg_iov = &riov[i];
        rmsgs[i].msg_hdr.msg_iovlen = 1;
        rmsgs[i].msg_hdr.msg_name = &rnames[i];
        rmsgs[i].msg_hdr.msg_namelen = sizeof rnames[i];
    }
    note("blocking recvmmsg waits for all three");
    tr_recvmmsg(fd, rmsgs, 3, 0, NULL);
    note("SIOCGSTAMP without SO_TIMESTAMP: the last datagram's time");
    tr_ioctl_stamp(fd, &stamp);
    tr_close(fd);
    return trace_end();
}
