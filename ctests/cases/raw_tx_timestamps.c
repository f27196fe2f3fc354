/* raw_tx_timestamps: SO_TIMESTAMPING's transmit reports on a ping socket (allowed by
 * net.ipv4.ping_group_range, set in the case's own namespace before the first AF_INET socket
 * and restored at the end) and on raw sockets (with and without IP_HDRINCL) sending ICMP echo
 * requests to the peer: the reports, their
 * OPT_ID keys, the looped frame, OPT_TSONLY, OPT_CMSG. Times print as "nonzero"/"zero". */
#include "trace.h"
#include "tx_report.h"
#include "peer.h"
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/ip_icmp.h>

static void echo(int fd, unsigned seq, int hdrincl)
{
    unsigned char packet[64];
    memset(packet, 0, sizeof packet);
    size_t off = 0;
    if (hdrincl) {
        packet[0] = 0x45;
        packet[3] = 28 + 6;
        packet[8] = 64;
        packet[9] = IPPROTO_ICMP;
        inet_pton(AF_INET, HOST_ADDR, packet + 12);
        inet_pton(AF_INET, PEER_ADDR, packet + 16);
        off = 20;
    }
    unsigned char *icmp = packet + off;
    icmp[0] = ICMP_ECHO;
    icmp[5] = 0x33;
    icmp[7] = seq;
    memcpy(icmp + 8, "stamp", 6);
    icmp[13] = 0x5a;
    unsigned sum = 0;
    for (int i = 0; i < 14; i += 2)
        sum += (icmp[i] << 8) | icmp[i + 1];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    icmp[2] = sum >> 8;
    icmp[3] = sum & 0xff;
    struct sockaddr_in to = sin4(PEER_ADDR, 0);
    ssize_t n = sendto(fd, packet, off + 14, 0, SA(&to), sizeof to);
    printf("sendto(echo seq=%u) = %zd%s%s\n", seq, n, n < 0 ? " " : "",
           n < 0 ? trace_errno_name(errno) : "");
    usleep(100 * 1000);
}

static void one_kind(const char *what, int type, int protocol, int hdrincl)
{
    note("%s", what);
    int fd = tr_socket(AF_INET, type, protocol);
    if (fd < 0)
        return;
    if (hdrincl)
        tr_setint(fd, IPPROTO_IP, IP_HDRINCL, 1);
    /* The first echo resolves the peer's address: no report waits for ARP here. */
    echo(fd, 0, hdrincl);
    drain(fd, 1);
    struct pollfd p = { fd, POLLIN, 0 };
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED |
                  SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID);
    echo(fd, 1, hdrincl);
    echo(fd, 2, hdrincl);
    tr_poll(&p, 1, 0);
    drain(fd, 5);
    tr_setint(fd, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                  SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_CMSG);
    echo(fd, 3, hdrincl);
    drain(fd, 2);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMPING,
              SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                  SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
    echo(fd, 4, hdrincl);
    drain(fd, 2);
    tr_close(fd);
}

int main(void)
{
    trace_start("raw_tx_timestamps");
    peer_run(HOST_NS, "sysctl -w net.ipv4.ping_group_range=0 0",
             (char *const[]){ "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 0", NULL },
             3000);
    one_kind("ping socket", SOCK_DGRAM, IPPROTO_ICMP, 0);
    one_kind("raw socket", SOCK_RAW, IPPROTO_ICMP, 0);
    one_kind("raw socket with IP_HDRINCL", SOCK_RAW, IPPROTO_ICMP, 1);
    peer_run(HOST_NS, "sysctl -w net.ipv4.ping_group_range=1 0",
             (char *const[]){ "sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0", NULL },
             3000);
    return trace_end();
}
