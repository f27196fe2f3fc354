/* udplite_options: SOL_UDP and SOL_UDPLITE on UDP and UDP-Lite sockets: every name 0..120
 * with get (4 and 0 bytes), set 0 and 1; then the values of UDP_ENCAP (0, ESPINUDP 2,
 * L2TPINUDP 3, the removed NON_IKE 1, others), UDP_SEGMENT (0..65535), UDP_GRO, UDP_CORK,
 * UDP_NO_CHECK6_*, UDPLITE_SEND_CSCOV / UDPLITE_RECV_CSCOV (1..7 become 8, above 65535
 * becomes 65535, refused on UDP), short and NULL values. */
#include "trace.h"

static void sweep(int protocol, int level)
{
    for (int name = 0; name <= 120; name++) {
        int fd = socket(AF_INET, SOCK_DGRAM, protocol);
        int value = -7;
        socklen_t len = 4;
        int r = getsockopt(fd, level, name, &value, &len);
        int r0;
        socklen_t len0 = 0;
        r0 = getsockopt(fd, level, name, &value, &len0);
        if (r < 0 && r0 < 0 && errno == ENOPROTOOPT) {
            int v = 1;
            int s = setsockopt(fd, level, name, &v, 4);
            if (s < 0 && errno == ENOPROTOOPT) {
                close(fd);
                continue; /* unknown name: only the known ones print */
            }
        }
        printf("level %d name %d: get4=%s", level, name, r < 0 ? trace_errno_name(errno) : "0");
        for (int v = 0; v <= 1; v++) {
            int s = setsockopt(fd, level, name, &v, 4);
            printf(" set%d=%s", v, s < 0 ? trace_errno_name(errno) : "0");
            int back = -7;
            socklen_t l = 4;
            if (s == 0 && getsockopt(fd, level, name, &back, &l) == 0)
                printf("->%d", back);
        }
        int s = setsockopt(fd, level, name, &value, 3);
        printf(" setlen3=%s", s < 0 ? trace_errno_name(errno) : "0");
        s = setsockopt(fd, level, name, NULL, 4);
        printf(" setnull=%s\n", s < 0 ? trace_errno_name(errno) : "0");
        close(fd);
    }
}

static void values(int fd, int level, int name, const int *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tr_setint(fd, level, name, list[i]);
        tr_getint(fd, level, name);
    }
}

int main(void)
{
    trace_start("udplite_options");
    note("sweeps (unknown names skipped)");
    sweep(IPPROTO_UDP, IPPROTO_UDP);
    sweep(IPPROTO_UDP, IPPROTO_UDPLITE);
    sweep(IPPROTO_UDPLITE, IPPROTO_UDP);
    sweep(IPPROTO_UDPLITE, IPPROTO_UDPLITE);

    const int protocols[] = { IPPROTO_UDP, IPPROTO_UDPLITE };
    for (int p = 0; p < 2; p++) {
        note("values on %s", p ? "UDP-Lite" : "UDP");
        int fd = tr_socket(AF_INET, SOCK_DGRAM, protocols[p]);
        const int encaps[] = { 0, 1, 2, 3, 4, -1, 5, 0 };
        values(fd, IPPROTO_UDP, 100 /* UDP_ENCAP */, encaps, 8);
        const int segments[] = { 0, 1, 1472, 65535, 65536, -1, 0x7fffffff, 0 };
        values(fd, IPPROTO_UDP, 103 /* UDP_SEGMENT */, segments, 8);
        const int booleans[] = { 1, 2, -1, 0 };
        values(fd, IPPROTO_UDP, 104 /* UDP_GRO */, booleans, 4);
        values(fd, IPPROTO_UDP, 1 /* UDP_CORK */, booleans, 4);
        values(fd, IPPROTO_UDP, 101 /* UDP_NO_CHECK6_TX */, booleans, 4);
        values(fd, IPPROTO_UDP, 102 /* UDP_NO_CHECK6_RX */, booleans, 4);
        const int coverages[] = { 0, 1, 7, 8, 9, 20, 65535, 65536, 0x7fffffff, -1, -100, 0 };
        values(fd, IPPROTO_UDPLITE, 10 /* UDPLITE_SEND_CSCOV */, coverages, 12);
        values(fd, IPPROTO_UDPLITE, 11 /* UDPLITE_RECV_CSCOV */, coverages, 12);
        unsigned char lengths[8] = { 9, 0, 0, 0, 0, 0, 0, 0 };
        for (socklen_t len = 0; len <= 8; len += 2) {
            tr_setsockopt(fd, IPPROTO_UDP, 103, lengths, len);
            tr_getint(fd, IPPROTO_UDP, 103);
        }
        for (socklen_t len = 0; len <= 8; len++) {
            unsigned char out[8];
            memset(out, 0xaa, sizeof out);
            socklen_t l = len;
            tr_getsockopt(fd, IPPROTO_UDP, 103, out, &l);
        }
        tr_setsockopt(fd, IPPROTO_UDP, 103, NULL, 0);
        tr_setsockopt(fd, IPPROTO_UDP, 103, BADPTR, 4);
        socklen_t l = 4;
        tr_getsockopt(fd, IPPROTO_UDP, 103, NULL, &l);
        tr_getsockopt(fd, IPPROTO_UDP, 103, BADPTR, &l);
        tr_getsockopt(fd, IPPROTO_UDP, 103, &l, NULL);
        l = (socklen_t)-1;
        unsigned char out[8];
        tr_getsockopt(fd, IPPROTO_UDP, 103, out, &l);
        tr_close(fd);
    }
    return trace_end();
}
