/* sockopt_socket_values: the socket(7) options beyond the basics, value by value on UDP:
 * SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_SNDLOWAT, SO_PEEK_OFF, SO_BUSY_POLL,
 * SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET, SO_MAX_PACING_RATE (int and u64),
 * SO_INCOMING_CPU, SO_TXTIME (struct sock_txtime, clocks, flags), SO_TIMESTAMPING (flags,
 * struct so_timestamping, BIND_PHC, its interplay with SO_TIMESTAMP), SO_BUF_LOCK (and the
 * locks SO_RCVBUF/SO_SNDBUF set), SO_RESERVE_MEM, SO_RCVMARK, SO_RCVPRIORITY, SO_ZEROCOPY
 * (UDP and UDP-Lite), SO_RXQ_OVFL, SO_LOCK_FILTER, SO_CNX_ADVICE, SO_MEMINFO, SO_COOKIE,
 * SO_NETNS_COOKIE lengths, SO_PEERCRED, SO_PEERNAME, SO_PEERGROUPS, the filter options'
 * errno without a filter (SO_GET_FILTER, SO_DETACH_FILTER, SO_ATTACH_FILTER with bad
 * lengths and programs, SO_ATTACH_BPF with a negative fd, the reuseport ones), then the
 * capability rules after dropping every effective capability. */
#include "trace.h"
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <sys/syscall.h>
#include <time.h>

static void set_get(int fd, int name, int value)
{
    tr_setint(fd, SOL_SOCKET, name, value);
    tr_getint(fd, SOL_SOCKET, name);
}

static void get_len(int fd, int name, socklen_t len)
{
    unsigned char value[64];
    memset(value, 0xaa, sizeof value);
    tr_getsockopt(fd, SOL_SOCKET, name, value, &len);
}

/* setsockopt with a value holding pointers or padding, printed without its bytes. */
static void set_quiet(int fd, int name, const char *what, const void *value, socklen_t len)
{
    int r = setsockopt(fd, SOL_SOCKET, name, value, len);
    printf("setsockopt(SOL_SOCKET, %d, %s, len=%u) = %s\n", name, what, len,
           r < 0 ? trace_errno_name(errno) : "0");
}

static void drop_capabilities(void)
{
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    syscall(SYS_capget, &header, data);
    data[0].effective = 0;
    data[1].effective = 0;
    check(syscall(SYS_capset, &header, data) == 0, "effective capabilities dropped");
}

int main(void)
{
    trace_start("sockopt_socket_values");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("SO_PRIORITY, SO_MARK (privileged here), SO_RCVLOWAT, SO_SNDLOWAT");
    const int priorities[] = { 0, 6, 7, -1, 255, 65536, 0x7fffffff, 0 };
    for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++)
        set_get(fd, SO_PRIORITY, priorities[i]);
    set_get(fd, SO_MARK, 5);
    set_get(fd, SO_MARK, -1);
    set_get(fd, SO_MARK, 0);
    const int lowats[] = { 0, 5, -1, -5, 0x7fffffff, 1 };
    for (size_t i = 0; i < sizeof lowats / sizeof lowats[0]; i++)
        set_get(fd, SO_RCVLOWAT, lowats[i]);
    set_get(fd, SO_SNDLOWAT, 5);

    note("SO_PEEK_OFF, SO_INCOMING_CPU: any int");
    const int anyints[] = { 0, 5, -1, -2, 0x7fffffff, -1 };
    for (size_t i = 0; i < sizeof anyints / sizeof anyints[0]; i++) {
        set_get(fd, SO_PEEK_OFF, anyints[i]);
        set_get(fd, SO_INCOMING_CPU, anyints[i]);
    }

    note("busy polling");
    const int polls[] = { 0, 1, -1, 0x7fffffff, 50, 0 };
    for (size_t i = 0; i < sizeof polls / sizeof polls[0]; i++)
        set_get(fd, SO_BUSY_POLL, polls[i]);
    const int prefers[] = { 0, 1, 2, -1, 0 };
    for (size_t i = 0; i < sizeof prefers / sizeof prefers[0]; i++)
        set_get(fd, SO_PREFER_BUSY_POLL, prefers[i]);
    const int budgets[] = { 0, 1, 8, 65535, 65536, -1, 0 };
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++)
        set_get(fd, SO_BUSY_POLL_BUDGET, budgets[i]);

    note("SO_MAX_PACING_RATE: an int, or a u64 when 8 bytes are offered");
    const socklen_t rate_lens[] = { 4, 8, 2, 7, 16 };
    for (size_t i = 0; i < 5; i++)
        get_len(fd, SO_MAX_PACING_RATE, rate_lens[i]);
    set_get(fd, SO_MAX_PACING_RATE, 1000);
    get_len(fd, SO_MAX_PACING_RATE, 8);
    set_get(fd, SO_MAX_PACING_RATE, -1);
    get_len(fd, SO_MAX_PACING_RATE, 8);
    set_get(fd, SO_MAX_PACING_RATE, -2);
    get_len(fd, SO_MAX_PACING_RATE, 8);
    unsigned long long rate = 0x123456789ULL;
    tr_setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, 8);
    get_len(fd, SO_MAX_PACING_RATE, 8);
    get_len(fd, SO_MAX_PACING_RATE, 4);
    tr_setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, 6);
    get_len(fd, SO_MAX_PACING_RATE, 8);

    note("SO_TXTIME: struct sock_txtime");
    get_len(fd, SO_TXTIME, 8);
    get_len(fd, SO_TXTIME, 16);
    get_len(fd, SO_TXTIME, 3);
    struct sock_txtime txtime = { CLOCK_MONOTONIC, 0 };
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    get_len(fd, SO_TXTIME, 8);
    txtime = (struct sock_txtime){ CLOCK_TAI, 3 };
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    get_len(fd, SO_TXTIME, 8);
    const unsigned bad_flags[] = { 4, 8, 0x80000000u };
    for (size_t i = 0; i < 3; i++) {
        txtime.flags = bad_flags[i];
        tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    }
    const int clocks[] = { CLOCK_REALTIME, 99, -1, CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID };
    for (size_t i = 0; i < 5; i++) {
        txtime = (struct sock_txtime){ clocks[i], 0 };
        tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    }
    get_len(fd, SO_TXTIME, 8);
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, 12);
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, 7);
    tr_setsockopt(fd, SOL_SOCKET, SO_TXTIME, &txtime, 4);

    note("SO_TIMESTAMPING: flags");
    get_len(fd, SO_TIMESTAMPING, 4);
    get_len(fd, SO_TIMESTAMPING, 8);
    get_len(fd, SO_TIMESTAMPING, 16);
    const int tsflags[] = { SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE,
                            SOF_TIMESTAMPING_OPT_ID,
                            SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_ID,
                            1 << 16, (1 << 16) | SOF_TIMESTAMPING_OPT_ID,
                            SOF_TIMESTAMPING_OPT_STATS,
                            SOF_TIMESTAMPING_OPT_STATS | SOF_TIMESTAMPING_OPT_TSONLY,
                            (1 << 19) - 1, 1 << 18, 1 << 19, -1, SOF_TIMESTAMPING_BIND_PHC,
                            SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_HARDWARE,
                            1 << 17, SOF_TIMESTAMPING_OPT_TX_SWHW, 0 };
    for (size_t i = 0; i < sizeof tsflags / sizeof tsflags[0]; i++)
        set_get(fd, SO_TIMESTAMPING, tsflags[i]);
    struct so_timestamping st = { SOF_TIMESTAMPING_SOFTWARE, 7 };
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, sizeof st);
    get_len(fd, SO_TIMESTAMPING, 8);
    st.flags |= SOF_TIMESTAMPING_BIND_PHC;
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, sizeof st);
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, 4);
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, 6);
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, 12);
    tr_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &st, 3);

    note("SO_TIMESTAMPING and SO_TIMESTAMP share the _NEW flag");
    int ts = tr_socket(AF_INET, SOCK_DGRAM, 0);
    set_get(ts, SO_TIMESTAMP, 1);
    set_get(ts, SO_TIMESTAMPING, SOF_TIMESTAMPING_RX_SOFTWARE);
    tr_getint(ts, SOL_SOCKET, SO_TIMESTAMP);
    tr_setint(ts, SOL_SOCKET, SO_TIMESTAMPING_NEW, SOF_TIMESTAMPING_RX_SOFTWARE);
    tr_getint(ts, SOL_SOCKET, SO_TIMESTAMP);
    tr_getint(ts, SOL_SOCKET, SO_TIMESTAMP_NEW);
    get_len(ts, SO_TIMESTAMPING_NEW, 8);
    get_len(ts, SO_TIMESTAMPING, 8);
    tr_setint(ts, SOL_SOCKET, SO_TIMESTAMPING, SOF_TIMESTAMPING_RX_SOFTWARE);
    get_len(ts, SO_TIMESTAMPING_NEW, 8);
    tr_close(ts);

    note("SO_BUF_LOCK and the locks the buffer sizes set");
    int bl = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const int locks[] = { 0, 1, 2, 3, 4, -1, 0 };
    for (size_t i = 0; i < sizeof locks / sizeof locks[0]; i++)
        set_get(bl, SO_BUF_LOCK, locks[i]);
    tr_setint(bl, SOL_SOCKET, SO_RCVBUF, 1000);
    tr_getint(bl, SOL_SOCKET, SO_BUF_LOCK);
    tr_setint(bl, SOL_SOCKET, SO_SNDBUF, 1000);
    tr_getint(bl, SOL_SOCKET, SO_BUF_LOCK);
    tr_setint(bl, SOL_SOCKET, SO_BUF_LOCK, 0);
    tr_getint(bl, SOL_SOCKET, SO_RCVBUF);
    tr_close(bl);

    note("SO_RESERVE_MEM, flags, SO_ZEROCOPY, SO_CNX_ADVICE");
    const int reserves[] = { 0, 1, -1, 4096 };
    for (size_t i = 0; i < 4; i++)
        set_get(fd, SO_RESERVE_MEM, reserves[i]);
    const int flags[] = { SO_RCVMARK, 82 /* SO_RCVPRIORITY */, SO_RXQ_OVFL, SO_ZEROCOPY,
                          SO_CNX_ADVICE };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        set_get(fd, flags[i], 5);
        set_get(fd, flags[i], -1);
        set_get(fd, flags[i], 1);
        set_get(fd, flags[i], 0);
    }
    int lite = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    set_get(lite, SO_ZEROCOPY, 1);
    set_get(lite, SO_ZEROCOPY, 0);
    tr_close(lite);

    note("SO_MEMINFO, SO_COOKIE, SO_NETNS_COOKIE lengths");
    int mi = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const socklen_t mlens[] = { 64, 36, 4, 3, 0 };
    for (size_t i = 0; i < 5; i++)
        get_len(mi, SO_MEMINFO, mlens[i]);
    tr_setint(mi, SOL_SOCKET, SO_RCVBUF, 1000);
    get_len(mi, SO_MEMINFO, 64);
    const socklen_t clens[] = { 0, 4, 7, 8, 9 };
    for (size_t i = 0; i < 5; i++) {
        unsigned char value[16];
        const int cookies[] = { SO_COOKIE, SO_NETNS_COOKIE };
        for (int c = 0; c < 2; c++) {
            socklen_t l = clens[i];
            int r = getsockopt(mi, SOL_SOCKET, cookies[c], value, &l);
            printf("getsockopt(%d, len=%u) = %s len=%u\n", cookies[c], clens[i],
                   r < 0 ? trace_errno_name(errno) : "0", l);
        }
    }
    unsigned long long cookie1 = 0, cookie2 = 0, again = 0;
    socklen_t len = 8;
    getsockopt(mi, SOL_SOCKET, SO_COOKIE, &cookie1, &len);
    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie2, &len);
    getsockopt(mi, SOL_SOCKET, SO_COOKIE, &again, &len);
    check(cookie1 != 0 && cookie2 != 0, "cookies nonzero");
    check(cookie1 != cookie2, "cookies of two sockets differ");
    check(cookie1 == again, "a socket's cookie is stable");
    unsigned long long netns1 = 0, netns2 = 0;
    getsockopt(mi, SOL_SOCKET, SO_NETNS_COOKIE, &netns1, &len);
    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &netns2, &len);
    check(netns1 == netns2, "both sockets in one namespace");
    tr_close(mi);

    note("peer credentials and names of a datagram socket");
    const socklen_t plens[] = { 12, 16, 5, 0 };
    for (size_t i = 0; i < 4; i++)
        get_len(fd, SO_PEERCRED, plens[i]);
    get_len(fd, SO_PEERGROUPS, 0);
    get_len(fd, SO_PEERGROUPS, 64);
    get_len(fd, 77 /* SO_PEERPIDFD */, 4);
    get_len(fd, SO_PEERNAME, 16);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    const socklen_t nlens[] = { 64, 17, 16, 8, 0 };
    for (size_t i = 0; i < 5; i++)
        get_len(fd, SO_PEERNAME, nlens[i]);
    tr_setint(fd, SOL_SOCKET, SO_PEERNAME, 1);
    tr_setint(fd, SOL_SOCKET, SO_PEERCRED, 1);
    tr_getint(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID);
    tr_getint(fd, SOL_SOCKET, SO_BPF_EXTENSIONS);

    note("socket filters: none attached; what fails before a program would run");
    int bf = tr_socket(AF_INET, SOCK_DGRAM, 0);
    get_len(bf, SO_GET_FILTER, 0);
    get_len(bf, SO_GET_FILTER, 64);
    int zero = 0;
    tr_setsockopt(bf, SOL_SOCKET, SO_DETACH_FILTER, &zero, 4);
    tr_setsockopt(bf, SOL_SOCKET, SO_DETACH_FILTER, &zero, 0);
    tr_setsockopt(bf, SOL_SOCKET, SO_DETACH_BPF, &zero, 4);
    struct sock_filter code[] = { { 0x06, 0, 0, 0xffffffff } };
    struct sock_fprog prog = { 1, code };
    set_quiet(bf, SO_ATTACH_FILTER, "fprog", &prog, 8);
    set_quiet(bf, SO_ATTACH_FILTER, "fprog", &prog, 24);
    struct sock_fprog empty = { 0, code };
    set_quiet(bf, SO_ATTACH_FILTER, "empty fprog", &empty, sizeof empty);
    struct sock_fprog huge = { 4097, code };
    set_quiet(bf, SO_ATTACH_FILTER, "4097 instructions", &huge, sizeof huge);
    struct sock_fprog null_program = { 1, NULL };
    set_quiet(bf, SO_ATTACH_FILTER, "NULL program", &null_program, sizeof null_program);
    int negative = -1;
    tr_setsockopt(bf, SOL_SOCKET, SO_ATTACH_BPF, &negative, 4);
    tr_setsockopt(bf, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &negative, 4);
    tr_setsockopt(bf, SOL_SOCKET, SO_ATTACH_BPF, &negative, 2);
    set_quiet(bf, SO_ATTACH_REUSEPORT_CBPF, "fprog", &prog, sizeof prog);
    tr_setsockopt(bf, SOL_SOCKET, 68 /* SO_DETACH_REUSEPORT_BPF */, &zero, 4);
    tr_setint(bf, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_setsockopt(bf, SOL_SOCKET, 68 /* SO_DETACH_REUSEPORT_BPF */, &zero, 4);
    note("SO_LOCK_FILTER: locking is for good");
    set_get(bf, SO_LOCK_FILTER, 0);
    set_get(bf, SO_LOCK_FILTER, 3);
    set_get(bf, SO_LOCK_FILTER, 1);
    set_get(bf, SO_LOCK_FILTER, 0);
    tr_setsockopt(bf, SOL_SOCKET, SO_DETACH_FILTER, &zero, 4);
    set_quiet(bf, SO_ATTACH_FILTER, "fprog (locked)", &prog, sizeof prog);
    set_quiet(bf, SO_ATTACH_FILTER, "fprog (locked)", &prog, 8);
    tr_close(bf);

    note("NULL and bad pointers");
    const int getters[] = { SO_PEERCRED, SO_MEMINFO, SO_COOKIE, SO_NETNS_COOKIE, SO_TXTIME,
                            SO_TIMESTAMPING, SO_MAX_PACING_RATE, SO_PEERNAME, SO_GET_FILTER,
                            SO_BINDTODEVICE, SO_PEEK_OFF, SO_BUF_LOCK };
    for (size_t i = 0; i < sizeof getters / sizeof getters[0]; i++) {
        socklen_t l = 8;
        tr_getsockopt(fd, SOL_SOCKET, getters[i], NULL, &l);
        l = 8;
        tr_getsockopt(fd, SOL_SOCKET, getters[i], BADPTR, &l);
        l = 0;
        tr_getsockopt(fd, SOL_SOCKET, getters[i], NULL, &l);
        unsigned char out[16];
        tr_getsockopt(fd, SOL_SOCKET, getters[i], out, NULL);
        l = (socklen_t)-1;
        tr_getsockopt(fd, SOL_SOCKET, getters[i], out, &l);
    }
    const int setters[] = { SO_TXTIME, SO_TIMESTAMPING, SO_MAX_PACING_RATE, SO_BINDTOIFINDEX,
                            SO_PEEK_OFF, SO_ATTACH_FILTER, SO_BUF_LOCK, SO_ZEROCOPY };
    const socklen_t set_lens[] = { 0, 3, 4, 8, 16 };
    for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++)
        for (size_t j = 0; j < 5; j++) {
            tr_setsockopt(fd, SOL_SOCKET, setters[i], NULL, set_lens[j]);
            tr_setsockopt(fd, SOL_SOCKET, setters[i], BADPTR, set_lens[j]);
        }

    note("device memory options belong to TCP");
    char devmem[16] = { 0 };
    tr_setsockopt(fd, SOL_SOCKET, 80 /* SO_DEVMEM_DONTNEED */, devmem, 16);
    tr_setsockopt(fd, SOL_SOCKET, 80, devmem, 0);
    tr_setsockopt(fd, SOL_SOCKET, 78 /* SO_DEVMEM_LINEAR */, devmem, 4);
    tr_close(fd);

    note("without capabilities");
    drop_capabilities();
    int up = tr_socket(AF_INET, SOCK_DGRAM, 0);
    set_get(up, SO_PRIORITY, 6);
    set_get(up, SO_PRIORITY, 7);
    set_get(up, SO_PRIORITY, -1);
    set_get(up, SO_MARK, 1);
    set_get(up, SO_MARK, 0);
    set_get(up, SO_DEBUG, 1);
    set_get(up, SO_DEBUG, 0);
    set_get(up, SO_BUSY_POLL, 10);
    set_get(up, SO_BUSY_POLL, 0);
    set_get(up, SO_PREFER_BUSY_POLL, 1);
    set_get(up, SO_PREFER_BUSY_POLL, 0);
    set_get(up, SO_BUSY_POLL_BUDGET, 1);
    set_get(up, SO_BUSY_POLL_BUDGET, 0);
    set_get(up, SO_BUSY_POLL_BUDGET, -1);
    tr_setint(up, SOL_SOCKET, SO_RCVBUFFORCE, 100000);
    tr_setint(up, SOL_SOCKET, SO_SNDBUFFORCE, 100000);
    txtime = (struct sock_txtime){ CLOCK_TAI, 0 };
    tr_setsockopt(up, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    txtime = (struct sock_txtime){ 99, 0 };
    tr_setsockopt(up, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    txtime = (struct sock_txtime){ CLOCK_MONOTONIC, 1 };
    tr_setsockopt(up, SOL_SOCKET, SO_TXTIME, &txtime, sizeof txtime);
    tr_setsockopt(up, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2);
    tr_setsockopt(up, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 4);
    tr_setsockopt(up, SOL_SOCKET, SO_BINDTODEVICE, "", 0);
    tr_setint(up, SOL_SOCKET, SO_BINDTOIFINDEX, 2);
    tr_close(up);
    return trace_end();
}
