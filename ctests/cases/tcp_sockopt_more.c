/* tcp_sockopt_more: the SOL_TCP names beyond the basic ones on fresh, listening and connected
 * sockets (TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_NOTSENT_LOWAT, TCP_INQ, TCP_SAVE_SYN / TCP_SAVED_SYN, Fast Open's queue, the repair family,
 * TCP_ULP, TCP_MD5SIG's refusals, TCP_TX_DELAY, TCP_RTO_MAX_MS / RTO_MIN_US / DELACK_MAX_US). */
#include "tcp_lib.h"

static void sweep_int(int fd, int name, const int *values, int count)
{
    for (int i = 0; i < count; i++) {
        tr_setint(fd, IPPROTO_TCP, name, values[i]);
        tr_getint(fd, IPPROTO_TCP, name);
    }
}

int main(void)
{
    trace_start("tcp_sockopt_more");

    note("a fresh socket: values, ranges and refusals");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    static const int linger2[] = { 0, 1, 119, 121, 1000, -1 };
    sweep_int(fd, TCP_LINGER2, linger2, 6);
    static const int defer[] = { 1, 2, 3, 4, 8, 100, 1000, -1, 0 };
    sweep_int(fd, TCP_DEFER_ACCEPT, defer, 9);
    static const int clamp[] = { 1, 1151, 5000, -1, 0 };
    sweep_int(fd, TCP_WINDOW_CLAMP, clamp, 5);
    static const int bools[] = { 0, 1, 2, -1 };
    sweep_int(fd, TCP_THIN_LINEAR_TIMEOUTS, bools, 4);
    sweep_int(fd, TCP_THIN_DUPACK, bools, 4);
    sweep_int(fd, TCP_INQ, bools, 4);
    sweep_int(fd, TCP_FASTOPEN_NO_COOKIE, bools, 4);
    static const int save[] = { 1, 2, 3, -1, 0 };
    sweep_int(fd, TCP_SAVE_SYN, save, 5);
    static const int fastopen[] = { 5, 100000, -1, 0 };
    sweep_int(fd, TCP_FASTOPEN, fastopen, 4);
    static const int lowat[] = { 1, 16384, -1, 0 };
    sweep_int(fd, TCP_NOTSENT_LOWAT, lowat, 4);
    static const int delay[] = { 5, -5, 100000000, 0 };
    sweep_int(fd, TCP_TX_DELAY, delay, 4);
    static const int rto_max[] = { 999, 1000, 1001, 120000, 120001 };
    sweep_int(fd, 44 /* TCP_RTO_MAX_MS */, rto_max, 5);
    static const int micros[] = { 0, 4000, 4001, 8000, 199999, 200000, 200001, -1 };
    sweep_int(fd, 45 /* TCP_RTO_MIN_US */, micros, 8);
    sweep_int(fd, 46 /* TCP_DELACK_MAX_US */, micros, 8);
    static const int repair[] = { 0, -1, 2 };
    sweep_int(fd, TCP_REPAIR, repair, 3);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE);
    tr_setint(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_QUEUE_SEQ);
    tr_setint(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, 1);
    tr_setint(fd, IPPROTO_TCP, TCP_TIMESTAMP, 1);
    tr_getint(fd, IPPROTO_TCP, 43 /* TCP_IS_MPTCP */);
    tr_setint(fd, IPPROTO_TCP, 43, 1);
    char name[16];
    socklen_t len = sizeof name;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_ULP, name, &len);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_ULP, "", 0);
    len = sizeof name;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, name, &len);
    struct tcp_md5sig md5;
    memset(&md5, 0, sizeof md5);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, 8);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof md5);
    ((struct sockaddr_in *)&md5.tcpm_addr)->sin_family = AF_INET;
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof md5);
    md5.tcpm_keylen = 81;
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof md5);
    char key[32] = { 1, 2, 3 };
    tr_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, 8);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, 16);
    unsigned char got[40];
    len = sizeof got;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, got, &len);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, 32);
    len = sizeof got;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_KEY, got, &len);
    len = 8;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, got, &len);
    tr_setint(fd, IPPROTO_TCP, 15, 1);
    tr_setsockopt(fd, IPPROTO_TCP, 15, "", 0);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_INFO, "", 0);
    tr_close(fd);

    note("TCP_WINDOW_CLAMP 0 is refused once listening; TCP_FASTOPEN on a listener");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_setint(listener, IPPROTO_TCP, TCP_SAVE_SYN, 1);
    tr_setint(listener, IPPROTO_TCP, TCP_DEFER_ACCEPT, 0);
    tr_bind4(listener, "127.0.0.1", 6100);
    trace_fixed_port(6100);
    tr_listen(listener, 4);
    tr_setint(listener, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
    tr_setint(listener, IPPROTO_TCP, TCP_FASTOPEN, 3);
    tr_getint(listener, IPPROTO_TCP, TCP_FASTOPEN);
    tr_setint(listener, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1);

    note("TCP_SAVED_SYN on the accepted socket: the SYN's headers, once");
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 6100);
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    int server = tr_accept4(listener, &peer, &peer_len, 0);
    tr_getint(server, IPPROTO_TCP, TCP_SAVE_SYN);
    unsigned char syn[128];
    len = 10;
    int ret = getsockopt(server, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len);
    printf("getsockopt(TCP_SAVED_SYN, 10) = %d %s\n", ret, ret < 0 ? trace_errno_name(errno) : "");
    len = sizeof syn;
    ret = getsockopt(server, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len);
    /* An IPv4 header without options, then the TCP header of the SYN (with its options). */
    printf("getsockopt(TCP_SAVED_SYN) = %d len=%u ip_version=%d ihl=%d protocol=%d "
           "tcp_doff=%d syn=%d\n",
           ret, (unsigned)len, len ? syn[0] >> 4 : -1, len ? syn[0] & 15 : -1,
           len > 9 ? syn[9] : -1, len > 32 ? syn[32] >> 4 : -1, len > 33 ? (syn[33] & 2) >> 1 : -1);
    len = sizeof syn;
    ret = getsockopt(server, IPPROTO_TCP, TCP_SAVED_SYN, syn, &len);
    printf("getsockopt(TCP_SAVED_SYN again) = %d len=%u\n", ret, (unsigned)len);

    note("on a connected socket");
    tr_setint(client, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
    tr_setint(client, IPPROTO_TCP, TCP_FASTOPEN, 1);
    tr_setint(client, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
    tr_setint(client, IPPROTO_TCP, TCP_QUEUE_SEQ, 1);
    tr_getint(client, IPPROTO_TCP, TCP_LINGER2);
    tr_close(client);
    tr_close(server);
    tr_close(listener);
    trace_end();
    return 0;
}
