/* ip_options_sockopt: IP_OPTIONS set and get on a UDP socket (do_ip_setsockopt,
 * ip_options_get / ip_options_compile without an skb, ip_options_undo for getsockopt): the
 * default (empty), each option kind (NOP, EOL, record route, timestamp with each flag, loose
 * and strict source route, router alert, security, unknown), padding to 4, what getsockopt
 * gives back (reserved slots zeroed, the source route's first hop restored), short optlen,
 * optlen 0 (removes the list), more than 40 bytes, every malformed form and its errno, a NULL
 * value, and the list surviving a failed set. The case runs as root: CAP_NET_RAW is what
 * lets unknown options through. */
#include "trace.h"

#ifndef IP_OPTIONS
#define IP_OPTIONS 4
#endif

static int fd;

static void set_options(const char *what, const unsigned char *bytes, socklen_t len)
{
    note("%s", what);
    tr_setsockopt(fd, IPPROTO_IP, IP_OPTIONS, bytes, len);
}

static void get_options(socklen_t offered)
{
    unsigned char buf[64];
    memset(buf, 0xee, sizeof buf);
    socklen_t len = offered;
    tr_getsockopt(fd, IPPROTO_IP, IP_OPTIONS, buf, &len);
}

int main(void)
{
    trace_start("ip_options_sockopt");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("default: no options");
    get_options(40);
    get_options(0);

    static const unsigned char nop[] = { 1 };
    set_options("one NOP, padded with END", nop, sizeof nop);
    get_options(40);
    get_options(2);
    get_options(0);

    static const unsigned char eol_junk[] = { 1, 0, 7, 7, 7, 7, 7, 7 };
    set_options("NOP, END, then junk: the junk becomes END", eol_junk, sizeof eol_junk);
    get_options(40);

    static const unsigned char rr[] = { 7, 11, 4, 9, 9, 9, 9, 8, 8, 8, 8 };
    set_options("record route, pointer 4, junk in the slots", rr, sizeof rr);
    get_options(40);
    static const unsigned char rr_mid[] = { 7, 11, 8, 9, 9, 9, 9, 8, 8, 8, 8, 0 };
    set_options("record route, pointer 8", rr_mid, sizeof rr_mid);
    get_options(40);
    static const unsigned char rr_full[] = { 7, 11, 12, 9, 9, 9, 9, 8, 8, 8, 8, 0 };
    set_options("record route, full (pointer 12)", rr_full, sizeof rr_full);
    get_options(40);
    static const unsigned char rr_max[40] = { 7, 39, 4 };
    set_options("record route of 39 bytes", rr_max, 40);
    get_options(40);
    get_options(5);

    static const unsigned char ts_only[] = { 68, 12, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
    set_options("timestamp only", ts_only, sizeof ts_only);
    get_options(40);
    static const unsigned char ts_addr[] = { 68, 12, 5, 1, 1, 2, 3, 4, 5, 6, 7, 8 };
    set_options("timestamp and address", ts_addr, sizeof ts_addr);
    get_options(40);
    static const unsigned char ts_pre_ours[] = { 68, 12, 5, 3, 198, 18, 0, 2, 5, 6, 7, 8 };
    set_options("timestamp, prespecified: our address", ts_pre_ours, sizeof ts_pre_ours);
    get_options(40);
    static const unsigned char ts_pre_other[] = { 68, 12, 5, 3, 198, 18, 0, 1, 5, 6, 7, 8 };
    set_options("timestamp, prespecified: the peer", ts_pre_other, sizeof ts_pre_other);
    get_options(40);
    static const unsigned char ts_pre_zero[] = { 68, 12, 5, 3, 0, 0, 0, 0, 5, 6, 7, 8 };
    set_options("timestamp, prespecified: 0.0.0.0", ts_pre_zero, sizeof ts_pre_zero);
    get_options(40);
    static const unsigned char ts_flag2[] = { 68, 8, 5, 2, 0, 0, 0, 0 };
    set_options("timestamp, flag 2 (unknown)", ts_flag2, sizeof ts_flag2);
    get_options(40);
    static const unsigned char ts_full[] = { 68, 8, 9, 0x30, 1, 2, 3, 4 };
    set_options("timestamp, full, overflow 3", ts_full, sizeof ts_full);
    get_options(40);
    static const unsigned char ts_overflow[] = { 68, 8, 9, 0xf0, 1, 2, 3, 4 };
    set_options("timestamp, full, overflow 15", ts_overflow, sizeof ts_overflow);
    static const unsigned char ts_pre_overflow[] = { 68, 8, 9, 0xf3, 1, 2, 3, 4 };
    set_options("timestamp, prespecified, full, overflow 15 (only other flags count it)",
                ts_pre_overflow, sizeof ts_pre_overflow);
    get_options(40);
    static const unsigned char ts_flag2_twice[] = { 68, 8, 5, 2, 0, 0, 0, 0,
                                                    68, 8, 5, 0, 0, 0, 0, 0 };
    set_options("timestamp with flag 2 (unknown), then another timestamp", ts_flag2_twice,
                sizeof ts_flag2_twice);
    static const unsigned char ts_tsaddr_short[] = { 68, 8, 5, 1, 0, 0, 0, 0 };
    set_options("timestamp and address with room for one time only", ts_tsaddr_short,
                sizeof ts_tsaddr_short);
    static const unsigned char ts_ptr4[] = { 68, 8, 4, 0, 0, 0, 0, 0 };
    set_options("timestamp, pointer 4", ts_ptr4, sizeof ts_ptr4);
    static const unsigned char ts_len3[] = { 68, 3, 5, 0 };
    set_options("timestamp, length 3", ts_len3, sizeof ts_len3);
    static const unsigned char ts_ptr_odd[] = { 68, 8, 6, 0, 0, 0, 0, 0 };
    set_options("timestamp, pointer 6", ts_ptr_odd, sizeof ts_ptr_odd);

    static const unsigned char lsrr[] = { 131, 11, 4, 198, 18, 0, 1, 198, 19, 0, 2 };
    set_options("loose source route: 198.18.0.1, 198.19.0.2", lsrr, sizeof lsrr);
    get_options(40);
    get_options(6);
    static const unsigned char ssrr[] = { 1, 137, 7, 4, 198, 18, 0, 1 };
    set_options("NOP, strict source route: 198.18.0.1", ssrr, sizeof ssrr);
    get_options(40);
    static const unsigned char srr_ptr8[] = { 131, 11, 8, 198, 18, 0, 1, 198, 19, 0, 2, 0 };
    set_options("source route, pointer 8", srr_ptr8, sizeof srr_ptr8);
    static const unsigned char srr_len9[] = { 131, 9, 4, 198, 18, 0, 1, 1, 2, 0, 0, 0 };
    set_options("source route, length 9", srr_len9, sizeof srr_len9);
    static const unsigned char srr_len3[] = { 131, 3, 4, 0 };
    set_options("source route, length 3 (no hop)", srr_len3, sizeof srr_len3);
    static const unsigned char srr_two[] = { 131, 7, 4, 1, 2, 3, 4, 137, 7, 4, 1, 2, 3, 4, 0, 0 };
    set_options("two source routes", srr_two, sizeof srr_two);

    static const unsigned char ra[] = { 148, 4, 0, 0 };
    set_options("router alert", ra, sizeof ra);
    get_options(40);
    static const unsigned char ra_value[] = { 148, 4, 0, 1 };
    set_options("router alert with value 1", ra_value, sizeof ra_value);
    get_options(40);
    static const unsigned char ra_short[] = { 148, 2, 0, 0 };
    set_options("router alert, length 2", ra_short, sizeof ra_short);

    static const unsigned char sec[] = { 130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    set_options("security (130)", sec, sizeof sec);
    get_options(40);
    static const unsigned char unknown[] = { 30, 4, 1, 2 };
    set_options("unknown type 30", unknown, sizeof unknown);
    get_options(40);
    static const unsigned char cipso[] = { 134, 10, 0, 0, 0, 1, 1, 4, 0, 0, 0, 0 };
    set_options("CIPSO (no DOI configured)", cipso, sizeof cipso);

    static const unsigned char combo[] = { 1, 7, 7, 4, 0, 0, 0, 0, 68, 12, 5, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 148, 4, 0, 0, 131, 7, 4, 198, 18, 0, 1 };
    set_options("NOP, record route, timestamp, router alert, source route", combo, sizeof combo);
    get_options(40);

    note("malformed lists");
    static const unsigned char len_zero[] = { 7, 0, 4, 0 };
    set_options("length 0", len_zero, sizeof len_zero);
    static const unsigned char len_one[] = { 7, 1, 4, 0 };
    set_options("length 1", len_one, sizeof len_one);
    static const unsigned char too_long[] = { 7, 9, 4, 0 };
    set_options("length past the end", too_long, sizeof too_long);
    static const unsigned char lone[] = { 1, 1, 1, 7 };
    set_options("a type octet alone at the end", lone, sizeof lone);
    static const unsigned char rr_ptr3[] = { 7, 7, 3, 0, 0, 0, 0 };
    set_options("record route, pointer 3", rr_ptr3, sizeof rr_ptr3);
    static const unsigned char rr_ptr5[] = { 7, 7, 5, 0, 0, 0, 0 };
    set_options("record route, pointer 5 (slot past the end)", rr_ptr5, sizeof rr_ptr5);
    static const unsigned char rr_len2[] = { 7, 2, 1, 1 };
    set_options("record route, length 2", rr_len2, sizeof rr_len2);
    static const unsigned char rr_two[] = { 7, 3, 4, 7, 3, 4, 0, 0 };
    set_options("two record routes", rr_two, sizeof rr_two);

    note("the list survives a failed set");
    set_options("router alert", ra, sizeof ra);
    set_options("record route, pointer 3", rr_ptr3, sizeof rr_ptr3);
    get_options(40);

    note("lengths");
    static const unsigned char forty[40] = { 1, 1, 1, 1 };
    set_options("40 bytes of NOP/END", forty, 40);
    get_options(40);
    static const unsigned char forty_one[41] = { 1 };
    set_options("41 bytes", forty_one, 41);
    set_options("NULL value, optlen 4", NULL, 4);
    set_options("NULL value, optlen 41", NULL, 41);
    get_options(40);
    set_options("NULL value, optlen 0: removes the list", NULL, 0);
    get_options(40);
    set_options("router alert", ra, sizeof ra);
    set_options("empty value: removes the list", ra, 0);
    get_options(40);

    note("getsockopt with a negative length");
    {
        unsigned char buf[8];
        socklen_t len = (socklen_t)-1;
        tr_getsockopt(fd, IPPROTO_IP, IP_OPTIONS, buf, &len);
    }

    note("options on other socket kinds");
    int udplite = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_setsockopt(udplite, IPPROTO_IP, IP_OPTIONS, ra, sizeof ra);
    {
        unsigned char buf[8];
        socklen_t len = sizeof buf;
        tr_getsockopt(udplite, IPPROTO_IP, IP_OPTIONS, buf, &len);
    }
    tr_close(udplite);
    tr_close(fd);
    return trace_end();
}
