/* sockopt_ip_more: the ip(7) options beyond what UDP needs on its own path, on a UDP socket:
 * their defaults (IP_HDRINCL, IP_RECVOPTS, IP_RETOPTS, IP_MINTTL, IP_NODEFRAG,
 * IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_ALL, ...); the raw-only ones refused (IP_HDRINCL and
 * IP_NODEFRAG with ENOPROTOOPT, IP_ROUTER_ALERT with EINVAL) whatever the value or length;
 * IP_PKTOPTIONS (TCP only: ENOPROTOOPT); IP_PASSSEC and SO_PEERSEC as this kernel answers
 * them without a security module labelling packets (no SCM_SECURITY on receive). */
#include "trace.h"

#ifndef SO_PEERSEC
#define SO_PEERSEC 31
#endif

int main(void)
{
    trace_start("sockopt_ip_more");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("defaults on a UDP socket");
    const int ip_defaults[] = { IP_HDRINCL, IP_RECVOPTS, IP_RETOPTS, IP_MINTTL, IP_NODEFRAG,
                                IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_ALL, IP_ROUTER_ALERT,
                                IP_PASSSEC, IP_RECVORIGDSTADDR, IP_CHECKSUM, IP_RECVFRAGSIZE,
                                IP_UNICAST_IF, IP_MULTICAST_IF };
    for (size_t i = 0; i < sizeof ip_defaults / sizeof ip_defaults[0]; i++)
        tr_getint(fd, IPPROTO_IP, ip_defaults[i]);

    note("raw-only options on a datagram socket");
    const int raw_only[] = { IP_HDRINCL, IP_NODEFRAG, IP_ROUTER_ALERT };
    for (size_t i = 0; i < sizeof raw_only / sizeof raw_only[0]; i++) {
        tr_setint(fd, IPPROTO_IP, raw_only[i], 1);
        tr_setint(fd, IPPROTO_IP, raw_only[i], 0);
        unsigned char one = 1;
        tr_setsockopt(fd, IPPROTO_IP, raw_only[i], &one, 1);
        tr_setsockopt(fd, IPPROTO_IP, raw_only[i], NULL, 0);
        tr_setsockopt(fd, IPPROTO_IP, raw_only[i], BADPTR, 4);
        tr_getint(fd, IPPROTO_IP, raw_only[i]);
    }

    note("IP_PKTOPTIONS is TCP's");
    unsigned char control[64];
    socklen_t len = sizeof control;
    tr_getsockopt(fd, IPPROTO_IP, IP_PKTOPTIONS, control, &len);
    len = 0;
    tr_getsockopt(fd, IPPROTO_IP, IP_PKTOPTIONS, control, &len);
    tr_setint(fd, IPPROTO_IP, IP_PKTOPTIONS, 1);
    tr_setsockopt(fd, IPPROTO_IP, IP_PKTOPTIONS, BADPTR, 4);

    note("SO_PEERSEC and IP_PASSSEC without labelled packets");
    char label[256];
    len = sizeof label;
    tr_getsockopt(fd, SOL_SOCKET, SO_PEERSEC, label, &len);
    len = 0;
    tr_getsockopt(fd, SOL_SOCKET, SO_PEERSEC, label, &len);
    tr_setint(fd, SOL_SOCKET, SO_PEERSEC, 1);
    tr_setint(fd, IPPROTO_IP, IP_PASSSEC, 1);
    tr_getint(fd, IPPROTO_IP, IP_PASSSEC);
    tr_bind4(fd, "127.0.0.1", 6300);
    int sender = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(sender, "labelled?", 9, 0, "127.0.0.1", 6300);
    quiet_wait_readable(fd, 2000);
    char data[32];
    struct iovec iov = { data, sizeof data };
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } cbuf;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.bytes,
                          .msg_controllen = sizeof cbuf.bytes };
    tr_recvmsg(fd, &msg, MSG_DONTWAIT);
    tr_connect4(sender, "127.0.0.1", 6300);
    len = sizeof label;
    tr_getsockopt(sender, SOL_SOCKET, SO_PEERSEC, label, &len);
    tr_close(sender);

    tr_close(fd);
    return trace_end();
}
