/* sockopt_copy: how getsockopt/setsockopt copy their value. optlen 0, 1, 2, 3, 5, 8
 * and negative; NULL optval with and without a length; a NULL optlen; for int options
 * of SOL_SOCKET, IPPROTO_IP (ip(7) answers a byte when optlen < 4) and IPPROTO_UDP,
 * for structs (SO_LINGER, SO_RCVTIMEO), and for unknown options. The bytes the call left in the buffer
 * beyond the returned length are printed as well (the buffer starts as 0xAA). */
#include "trace.h"

static unsigned char val[32];

static void show_buffer(void)
{
    printf("buffer:");
    for (int i = 0; i < 12; i++)
        printf(" %02x", val[i]);
    printf("\n");
}

static void get_with_len(int fd, int level, int name, int len)
{
    memset(val, 0xaa, sizeof val);
    socklen_t l = (socklen_t)len;
    tr_getsockopt(fd, level, name, val, &l);
    show_buffer();
}

static void set_with_len(int fd, int level, int name, int len, const void *bytes, size_t n)
{
    memset(val, 0, sizeof val);
    memcpy(val, bytes, n);
    tr_setsockopt(fd, level, name, val, (socklen_t)len);
}

int main(void)
{
    trace_start("sockopt_copy");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int lens[] = { 0, 1, 2, 3, 5, 8, -1 };
    struct {
        int level, name;
    } ints[] = { { SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_RCVBUF },
                 { SOL_SOCKET, SO_REUSEADDR }, { IPPROTO_IP, IP_TTL },
                 { IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_MULTICAST_TTL },
                 { IPPROTO_IP, IP_MULTICAST_LOOP }, { IPPROTO_IP, IP_PKTINFO },
                 { IPPROTO_IP, IP_MTU_DISCOVER }, { IPPROTO_UDP, 1 /* UDP_CORK */ } };

    note("getsockopt of int options with every length");
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++)
            get_with_len(fd, ints[i].level, ints[i].name, lens[j]);

    note("getsockopt of struct options with short and long lengths");
    int slens[] = { 0, 4, 7, 8, 15, 16, 20 };
    for (size_t j = 0; j < sizeof slens / sizeof slens[0]; j++) {
        get_with_len(fd, SOL_SOCKET, SO_LINGER, slens[j]);
        get_with_len(fd, SOL_SOCKET, SO_RCVTIMEO, slens[j]);
    }

    note("getsockopt with NULL optval, NULL optlen, bad pointers");
    socklen_t l = 4;
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, NULL, &l);
    l = 0;
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, NULL, &l);
    l = 4;
    tr_getsockopt(fd, IPPROTO_IP, IP_TTL, NULL, &l);
    l = 0;
    tr_getsockopt(fd, IPPROTO_IP, IP_TTL, NULL, &l);
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, val, NULL);
    tr_getsockopt(fd, IPPROTO_IP, IP_TTL, val, NULL);
    l = 0;
    tr_getsockopt(fd, SOL_SOCKET, SO_TYPE, BADPTR, &l);
    l = 4;
    tr_getsockopt(fd, SOL_SOCKET, 9999, NULL, &l);
    tr_getsockopt(fd, SOL_SOCKET, 9999, val, NULL);
    tr_getsockopt(fd, IPPROTO_IP, 200, val, NULL);

    note("setsockopt of int options: lengths 0..8, negative, NULL optval");
    unsigned char seven[8] = { 7, 0, 0, 0, 0, 0, 0, 0 };
    unsigned char big[8] = { 0x21, 0x43, 0x65, 0x07, 0, 0, 0, 0 };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (ints[i].name == SO_TYPE && ints[i].level == SOL_SOCKET)
            continue;
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            set_with_len(fd, ints[i].level, ints[i].name, lens[j], seven, sizeof seven);
            get_with_len(fd, ints[i].level, ints[i].name, 4);
        }
        set_with_len(fd, ints[i].level, ints[i].name, 4, big, sizeof big);
        set_with_len(fd, ints[i].level, ints[i].name, 1, big, sizeof big);
        get_with_len(fd, ints[i].level, ints[i].name, 4);
        tr_setsockopt(fd, ints[i].level, ints[i].name, NULL, 4);
        tr_setsockopt(fd, ints[i].level, ints[i].name, NULL, 0);
        tr_setsockopt(fd, ints[i].level, ints[i].name, BADPTR, 0);
        tr_setsockopt(fd, ints[i].level, ints[i].name, BADPTR, 1);
    }

    note("setsockopt of struct options with short and long lengths");
    struct linger lg = { 1, 5 };
    struct timeval tv = { 1, 500000 };
    for (size_t j = 0; j < sizeof slens / sizeof slens[0]; j++) {
        set_with_len(fd, SOL_SOCKET, SO_LINGER, slens[j], &lg, sizeof lg);
        get_with_len(fd, SOL_SOCKET, SO_LINGER, sizeof lg);
        set_with_len(fd, SOL_SOCKET, SO_RCVTIMEO, slens[j], &tv, sizeof tv);
        get_with_len(fd, SOL_SOCKET, SO_RCVTIMEO, sizeof tv);
    }
    tr_setsockopt(fd, SOL_SOCKET, SO_LINGER, NULL, sizeof lg);
    tr_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, NULL, sizeof tv);

    note("unknown options: length and pointer checks against ENOPROTOOPT");
    tr_setsockopt(fd, SOL_SOCKET, 9999, NULL, 4);
    tr_setsockopt(fd, SOL_SOCKET, 9999, val, (socklen_t)-1);
    tr_setsockopt(fd, IPPROTO_IP, 200, NULL, 4);
    tr_setsockopt(fd, IPPROTO_IP, 200, val, (socklen_t)-1);
    tr_setsockopt(fd, 1234, 1, BADPTR, 4);
    tr_setsockopt(fd, IPPROTO_UDP, 200, NULL, 4);
    get_with_len(fd, 1234, 1, 4);
    l = 4;
    tr_getsockopt(fd, 1234, 1, val, BADPTR);
    get_with_len(fd, IPPROTO_UDP, 200, -1);
    get_with_len(fd, IPPROTO_IP, 200, -1);

    tr_close(fd);
    return trace_end();
}
