/* tcp_congestion: TCP_CONGESTION and TCP_CC_INFO. A new socket's algorithm is the host's
 * net.ipv4.tcp_congestion_control (printed as read, and compared with /proc); getsockopt's
 * lengths; setsockopt with reno, cubic, bbr, an unknown name, "", short and over-long values,
 * first with CAP_NET_ADMIN (the case runs as root) and then without it (capset clears it from
 * the effective set); the capability is the caller's at the setsockopt, not the socket
 * creator's (do_tcp_setsockopt's ns_capable): a socket created privileged is refused after
 * the drop, and one created unprivileged may switch once the capability is raised again
 * (it stays permitted); what a change does to a connected socket; the
 * TCP_CC_INFO length per algorithm (struct tcp_bbr_info for bbr, nothing for cubic and reno)
 * and its values right after connect and after a transfer (normalised); the TCP_INFO fields
 * the algorithm sets; and a 2 MiB echo through the peer under each algorithm, byte-exact. */
#include "tcp_lib.h"
#include <linux/capability.h>
#include <sys/syscall.h>

#define TCP_CC_INFO_NAME 26
#define TRANSFER (2 << 20)

/* struct tcp_bbr_info (linux/inet_diag.h). */
struct bbr_info {
    uint32_t bw_lo, bw_hi, min_rtt, pacing_gain, cwnd_gain;
};

/* The tcp_info fields this case reads, by offset (struct tcp_info, 280 bytes on 6.18). */
#define INFO_CA_STATE 1
#define INFO_SND_SSTHRESH 76
#define INFO_SND_CWND 80
#define INFO_PACING_RATE 104
#define INFO_MAX_PACING_RATE 112

static unsigned char pattern[1 << 16];

static void read_proc(const char *name, char *out, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/%s", name);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(out, (int)size, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\n")] = 0;
}

static void get_name(int fd, socklen_t len)
{
    char name[32];
    memset(name, 0x55, sizeof name);
    tr_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len);
}

static void set_name(int fd, const char *value, socklen_t len)
{
    tr_setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, value, len);
}

/* The current algorithm's name as a string. */
static void print_name(int fd, const char *what)
{
    char name[17] = { 0 };
    socklen_t len = 16;
    int ret = getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len);
    printf("%s: algorithm \"%s\" (ret %d)\n", what, ret == 0 ? name : "?", ret);
}

/* TCP_CC_INFO of `len` bytes; the values that vary per run are normalised. */
static void print_cc_info(int fd, socklen_t len, const char *what, int exact_gains)
{
    unsigned char buf[64];
    memset(buf, 0xee, sizeof buf);
    socklen_t out = len;
    int ret = getsockopt(fd, IPPROTO_TCP, TCP_CC_INFO_NAME, buf, &out);
    printf("%s: TCP_CC_INFO(len=%u) = %d %s outlen=%u", what, (unsigned)len, ret,
           ret ? trace_errno_name(errno) : "", (unsigned)out);
    if (ret == 0 && out >= sizeof(struct bbr_info)) {
        struct bbr_info info;
        memcpy(&info, buf, sizeof info);
        uint64_t bw = info.bw_lo | ((uint64_t)info.bw_hi << 32);
        printf(" bw=%s min_rtt=%s", bw ? "nonzero" : "0", info.min_rtt ? "nonzero" : "0");
        if (exact_gains) {
            printf(" pacing_gain=%u cwnd_gain=%u", info.pacing_gain, info.cwnd_gain);
        } else {
            /* Which phase a transfer ends in is timing: print whether the gains are BBR's. */
            int pacing_known = info.pacing_gain == 739 || info.pacing_gain == 88 ||
                               info.pacing_gain == 320 || info.pacing_gain == 192 ||
                               info.pacing_gain == 256;
            int cwnd_known = info.cwnd_gain == 739 || info.cwnd_gain == 512 ||
                             info.cwnd_gain == 256;
            printf(" pacing_gain=%s cwnd_gain=%s", pacing_known ? "bbr-gain" : "other",
                   cwnd_known ? "bbr-gain" : "other");
        }
    } else if (ret == 0) {
        /* Bytes past outlen stay untouched. */
        printf(" untouched=%s", buf[out] == 0xee ? "yes" : "no");
        if (out > 0)
            printf(" first-bytes-zero=%s", buf[0] == 0 ? "yes" : "no");
    }
    printf("\n");
}

static uint32_t info_u32(const unsigned char *info, size_t at)
{
    uint32_t v;
    memcpy(&v, info + at, sizeof v);
    return v;
}

static uint64_t info_u64(const unsigned char *info, size_t at)
{
    uint64_t v;
    memcpy(&v, info + at, sizeof v);
    return v;
}

static const char *rate_class(uint64_t rate)
{
    return rate == UINT64_MAX ? "~0" : rate == 0 ? "0" : "finite";
}

/* The TCP_INFO fields the algorithm sets. `exact` prints ssthresh and cwnd as they are
 * (only right after the handshake, before any data; after a transfer they are timing). */
static void print_tcp_info(int fd, const char *what, int exact)
{
    unsigned char info[280];
    socklen_t len = sizeof info;
    memset(info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0) {
        printf("%s: TCP_INFO failed %s\n", what, trace_errno_name(errno));
        return;
    }
    uint32_t ssthresh = info_u32(info, INFO_SND_SSTHRESH);
    printf("%s: ca_state=%u", what, info[INFO_CA_STATE]);
    if (exact)
        printf(" snd_ssthresh=%u snd_cwnd=%u", ssthresh, info_u32(info, INFO_SND_CWND));
    printf(" pacing_rate=%s max_pacing_rate=%s\n", rate_class(info_u64(info, INFO_PACING_RATE)),
           rate_class(info_u64(info, INFO_MAX_PACING_RATE)));
}

/* Sends TRANSFER bytes to the peer's echo service and reads them back, nonblocking. */
static void echo_transfer(int fd, const char *what)
{
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    struct echo_totals t = echo_nonblocking(fd, pattern, sizeof pattern, TRANSFER, 0);
    size_t sent = t.sent, received = t.received;
    uint64_t hash = t.hash;
    uint64_t want = FNV_START;
    for (size_t done = 0; done < TRANSFER; done += sizeof pattern)
        want = fnv_update(want, pattern, sizeof pattern);
    fcntl(fd, F_SETFL, flags);
    printf("%s: sent %zu received %zu\n", what, sent, received);
    check(received == TRANSFER && hash == want, "%s byte-exact", what);
}

/* capset(2): clear CAP_NET_ADMIN from the effective set (it stays permitted). */
static void drop_net_admin(void)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) {
        printf("capget failed: %s\n", trace_errno_name(errno));
        return;
    }
    data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
    int ret = (int)syscall(SYS_capset, &header, data);
    printf("capset(effective without CAP_NET_ADMIN) = %d\n", ret);
}

/* capset(2): put CAP_NET_ADMIN back into the effective set (drop_net_admin kept it
 * permitted). */
static void raise_net_admin(void)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) {
        printf("capget failed: %s\n", trace_errno_name(errno));
        return;
    }
    data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective |= CAP_TO_MASK(CAP_NET_ADMIN);
    int ret = (int)syscall(SYS_capset, &header, data);
    printf("capset(effective with CAP_NET_ADMIN) = %d\n", ret);
}

/* A connection to the echo service running `algorithm` (set before connect). */
static int connect_with(const char *algorithm)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    set_name(fd, algorithm, (socklen_t)strlen(algorithm));
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    return fd;
}

int main(void)
{
    trace_start("tcp_congestion");
    trace_fill(pattern, sizeof pattern, 7);
    char host_default[64], allowed[256], available[256];
    read_proc("tcp_congestion_control", host_default, sizeof host_default);
    read_proc("tcp_allowed_congestion_control", allowed, sizeof allowed);
    read_proc("tcp_available_congestion_control", available, sizeof available);
    printf("/proc: default \"%s\", allowed \"%s\", available \"%s\"\n", host_default, allowed,
           available);

    note("a new socket's algorithm: the host's default");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    print_name(fd, "new socket");
    char name[17] = { 0 };
    socklen_t len = 16;
    getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len);
    check(strcmp(name, host_default) == 0, "default equals /proc tcp_congestion_control");
    note("getsockopt lengths: cut to the caller's length, at most TCP_CA_NAME_MAX (16)");
    get_name(fd, 16);
    get_name(fd, 32);
    get_name(fd, 4);
    get_name(fd, 2);
    get_name(fd, 1);
    get_name(fd, 0);
    print_cc_info(fd, 64, "unconnected, default algorithm", 1);

    note("with CAP_NET_ADMIN: every available algorithm, unknown names, lengths");
    set_name(fd, "reno", 4);
    print_name(fd, "after reno");
    print_cc_info(fd, 64, "reno", 1);
    set_name(fd, "cubic", 5);
    print_name(fd, "after cubic");
    print_cc_info(fd, 64, "cubic", 1);
    set_name(fd, "bbr", 3);
    print_name(fd, "after bbr");
    print_cc_info(fd, 64, "bbr", 1);
    print_cc_info(fd, 8, "bbr, 8 bytes", 1);
    print_cc_info(fd, 0, "bbr, 0 bytes", 1);
    set_name(fd, "nosuchalgo", 10);
    set_name(fd, "", 0);
    set_name(fd, "\0", 1);
    set_name(fd, "ren", 3);
    set_name(fd, "reno", 3);
    set_name(fd, "reno\0garbage", 12);
    print_name(fd, "after reno NUL garbage");
    set_name(fd, "cubic\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    print_name(fd, "after cubic padded to 20");
    set_name(fd, "bbrbbrbbrbbrbbrbbr", 18);
    set_name(fd, "renorenorenoren", 15);
    set_name(fd, "cubiccccccccccccccc", 19);
    print_name(fd, "after over-long names");
    set_name(fd, "CUBIC", 5);
    set_name(fd, "bbr ", 4);
    tr_close(fd);

    note("connected: TCP_CC_INFO and TCP_INFO right after the handshake");
    fd = connect_with("bbr");
    print_cc_info(fd, 64, "bbr connected", 1);
    print_tcp_info(fd, "bbr connected", 1);
    int cubic_fd = connect_with("cubic");
    print_cc_info(cubic_fd, 64, "cubic connected", 1);
    print_tcp_info(cubic_fd, "cubic connected", 1);
    int reno_fd = connect_with("reno");
    print_cc_info(reno_fd, 64, "reno connected", 1);
    print_tcp_info(reno_fd, "reno connected", 1);

    note("2 MiB echoed under each algorithm");
    echo_transfer(fd, "bbr");
    print_cc_info(fd, 64, "bbr after transfer", 0);
    print_tcp_info(fd, "bbr after transfer", 0);
    echo_transfer(cubic_fd, "cubic");
    print_cc_info(cubic_fd, 64, "cubic after transfer", 0);
    echo_transfer(reno_fd, "reno");
    print_cc_info(reno_fd, 64, "reno after transfer", 0);
    tr_close(cubic_fd);
    tr_close(reno_fd);

    note("changing the algorithm of a connected, idle socket");
    set_name(fd, "cubic", 5);
    print_name(fd, "bbr socket now");
    print_cc_info(fd, 64, "switched to cubic", 1);
    set_name(fd, "bbr", 3);
    /* tcp_reinit_congestion_control zeroes the state; bbr_init sets no gains. */
    print_cc_info(fd, 64, "switched back to bbr", 1);
    echo_transfer(fd, "bbr after switching");
    print_cc_info(fd, 64, "bbr after switching and a transfer", 0);

    note("SO_MAX_PACING_RATE caps the pacing rate TCP_INFO reports");
    uint64_t max_rate = 1000000;
    tr_setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &max_rate, sizeof max_rate);
    unsigned char info[280];
    socklen_t info_len = sizeof info;
    getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &info_len);
    printf("pacing_rate=%llu max_pacing_rate=%llu\n",
           (unsigned long long)info_u64(info, INFO_PACING_RATE),
           (unsigned long long)info_u64(info, INFO_MAX_PACING_RATE));
    tr_close(fd);

    note("a socket created with CAP_NET_ADMIN, used after the capability is dropped");
    int created_privileged = tr_socket(AF_INET, SOCK_STREAM, 0);
    note("without CAP_NET_ADMIN: only tcp_allowed_congestion_control and the current one");
    drop_net_admin();
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    print_name(fd, "new socket");
    set_name(fd, host_default, (socklen_t)strlen(host_default));
    set_name(fd, "reno", 4);
    set_name(fd, "cubic", 5);
    set_name(fd, "bbr", 3);
    print_name(fd, "after reno, cubic, bbr");
    set_name(fd, "nosuchalgo", 10);
    set_name(fd, "", 0);
    set_name(fd, "\0", 1);
    set_name(fd, "bbrbbrbbrbbrbbrbbr", 18);
    set_name(fd, "reno\0garbage", 12);
    print_name(fd, "after reno NUL garbage");
    tr_close(fd);
    note("the caller's capability counts, not the creator's: the privileged socket is refused");
    set_name(created_privileged, "cubic", 5);
    set_name(created_privileged, "reno", 4);
    print_name(created_privileged, "socket created privileged");
    int created_unprivileged = tr_socket(AF_INET, SOCK_STREAM, 0);
    note("an unprivileged connection under the default algorithm, echoed");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    print_name(fd, "unprivileged connection");
    echo_transfer(fd, "default algorithm");
    tr_close(fd);
    note("the capability raised again: the socket created unprivileged may take cubic");
    raise_net_admin();
    set_name(created_unprivileged, "cubic", 5);
    print_name(created_unprivileged, "socket created unprivileged");
    drop_net_admin();
    set_name(created_unprivileged, "bbr", 3);
    set_name(created_unprivileged, "cubic", 5);
    print_name(created_unprivileged, "dropped again");
    tr_close(created_unprivileged);
    tr_close(created_privileged);
    return trace_end();
}
