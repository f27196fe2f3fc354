/* tcp_loss_recovery: loss detection and recovery against the peer's kernel, with losses made
 * deterministic. The peer drops, on its eth0 ingress, every IPv4 packet whose TOS byte is
 * 0x28 (a tc cls_bpf filter; netem's random loss would not be reproducible). The host sets IP_TOS 0x28 just for the segment to be
 * lost and then back to 0: TCP takes inet->tos when it (re)transmits, so the retransmission
 * passes. Each connection goes to the peer's discard service and writes ten 1000-byte
 * segments (TCP_NODELAY, inside the initial window); once SIOCOUTQ is 0 the TCP_INFO
 * counters that recovery moves are printed (they do not depend on timing):
 *   1. the first segment lost, the next one sent 20 ms later: the first SACK makes RACK mark
 *      it lost (it was sent more than the reordering window, min_rtt/4, before a segment
 *      that was delivered), one fast retransmission, recovery over. Without the pause the
 *      outcome would hang on microseconds: how long the second send took against a quarter
 *      of a veth RTT;
 *   2. the last segment lost: a tail loss probe retransmits it;
 *   3. two segments lost: RACK marks both, two retransmissions;
 *   4. nothing lost: no retransmission at all.
 * How long the transfer took is printed in coarse buckets only. */
#include "tcp_lib.h"
#include "peer.h"
#include <sys/ioctl.h>
#include <linux/sockios.h>

#define LOST_TOS 0x28
#define SEGMENT 1000
#define SEGMENTS 10

static void drop_filter(int on)
{
    if (on) {
        peer_run(PEER_NS, "tc qdisc add dev eth0 ingress",
                 (char *const[]){ "tc", "qdisc", "add", "dev", "eth0", "ingress", NULL }, 3000);
        /* A classic BPF program in direct-action mode (this kernel has cls_bpf but no
         * gact action): "ldb [15]; jeq #0x28; ret #TC_ACT_SHOT; ret #TC_ACT_OK". cls_bpf
         * runs a program at ingress with the Ethernet header pushed back, so [15] is the TOS
         * byte of the IPv4 header. */
        peer_run(PEER_NS, "tc filter ... bpf (drop TOS 0x28) da",
                 (char *const[]){ "tc", "filter", "add", "dev", "eth0", "parent", "ffff:",
                                  "protocol", "ip", "prio", "1", "bpf", "bytecode",
                                  "4,48 0 0 15,21 0 1 40,6 0 0 2,6 0 0 0", "da", NULL },
                 3000);
    } else {
        peer_run(PEER_NS, "tc qdisc del dev eth0 ingress",
                 (char *const[]){ "tc", "qdisc", "del", "dev", "eth0", "ingress", NULL }, 3000);
    }
}

static void set_tos(int fd, int tos)
{
    if (setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) != 0)
        printf("IP_TOS %#x: %s\n", tos, strerrorname_np(errno));
}

/* Waits (bounded) until everything written is acknowledged. */
static int wait_acknowledged(int fd, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 5) {
        int outq = -1;
        if (ioctl(fd, SIOCOUTQ, &outq) != 0)
            return -1;
        if (outq == 0)
            return 0;
        usleep(5000);
    }
    return -1;
}

/* struct tcp_info read by offset (the kernel's layout; glibc's struct stops earlier). */
static unsigned u32_at(const unsigned char *info, int at)
{
    unsigned value;
    memcpy(&value, info + at, sizeof value);
    return value;
}

static unsigned long long u64_at(const unsigned char *info, int at)
{
    unsigned long long value;
    memcpy(&value, info + at, sizeof value);
    return value;
}

static void print_info(int fd)
{
    unsigned char info[232];
    socklen_t len = sizeof info;
    memset(info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0) {
        printf("TCP_INFO: %s\n", strerrorname_np(errno));
        return;
    }
    printf("TCP_INFO: len=%u ca_state=%u unacked=%u sacked=%u lost=%u retrans=%u "
           "total_retrans=%u\n",
           (unsigned)len, info[1], u32_at(info, 24), u32_at(info, 28), u32_at(info, 32),
           u32_at(info, 36), u32_at(info, 100));
    printf("TCP_INFO: reordering=%u reord_seen=%u dsack_dups=%u bytes_acked=%llu "
           "bytes_retrans=%llu\n",
           u32_at(info, 88), u32_at(info, 220), u32_at(info, 216), u64_at(info, 120),
           u64_at(info, 208));
}

/* One connection: segments `lost` and `lost2` (0-based; -1: none) leave with the dropped
 * TOS. With `pause`, the case sleeps 20 ms after the first lost segment and after the one
 * that follows it, so what RACK sees does not depend on microseconds. */
static void run(const char *what, int lost, int lost2, int pause)
{
    note(what);
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    static char data[SEGMENT];
    memset(data, 'r', sizeof data);
    int written = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < SEGMENTS; i++) {
        int drop = i == lost || i == lost2;
        if (drop)
            set_tos(fd, LOST_TOS);
        ssize_t n = send(fd, data, sizeof data, 0);
        if (n > 0)
            written += (int)n;
        if (drop)
            set_tos(fd, 0);
        if (pause && (i == lost || i == lost + 1))
            usleep(20000);
    }
    printf("written %d bytes\n", written);
    int done = wait_acknowledged(fd, 5000);
    long took = ms_since(&start);
    /* Coarse on purpose: a fast retransmission takes about an RTT (well under 100 ms here),
     * a tail loss probe with one segment out 2·SRTT + 200 ms (capped by the RTO). */
    printf("all acknowledged: %s, %s\n", done == 0 ? "yes" : "no",
           took < 100 ? "under 100 ms" : took < 1000 ? "100 ms to 1 s" : "over 1 s");
    print_info(fd);
    tr_close(fd);
}

int main(void)
{
    trace_start("tcp_loss_recovery");
    drop_filter(1);
    run("first segment lost, the next sent 20 ms later: RACK marks it lost at the first SACK",
        0, -1, 1);
    run("last segment lost: tail loss probe", SEGMENTS - 1, -1, 0);
    run("third and sixth segments lost: both holes retransmitted in one recovery", 2, 5, 0);
    run("nothing lost", -1, -1, 0);
    drop_filter(0);
    return trace_end();
}
