/* sockopt_socket_filter: classic BPF socket filters on UDP and UDP-Lite: SO_ATTACH_FILTER's
 * validation (every bpf_check_classic refusal, lengths, NULL and bad pointers, the optmem
 * charge limit), SO_GET_FILTER (count with len 0, EINVAL below the count, the instructions),
 * SO_MEMINFO's optmem, SO_DETACH_FILTER, SO_LOCK_FILTER, SO_ATTACH_REUSEPORT_CBPF and
 * SO_DETACH_REUSEPORT_BPF; then the effect on datagrams sent over loopback: drops (counted
 * by SO_RXQ_OVFL), trims (never below the UDP header) and the ancillary loads lo shows. */
#include "trace.h"
#include "socket_filter.h"

#include <linux/filter.h>
#include <sys/mman.h>

#ifndef SO_LOCK_FILTER
#define SO_LOCK_FILTER 44
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* SO_GET_FILTER offering `offered` bytes of a large buffer: result, length, instructions. */
static void get_filter(int fd, socklen_t offered)
{
    static struct sock_filter buf[4200];
    memset(buf, 0xee, sizeof buf);
    socklen_t len = offered;
    int r = getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, buf, &len);
    int saved = errno;
    printf("getsockopt(fd%d, SO_GET_FILTER, len=%u) = %s len=%u", fd, offered,
           r < 0 ? trace_errno_name(saved) : "0", len);
    if (r == 0) {
        unsigned shown = 0;
        for (unsigned i = 0; i < 8 && buf[i].code != 0xeeee; i++, shown++)
            printf(" {%#x %u %u %#x}", buf[i].code, buf[i].jt, buf[i].jf, buf[i].k);
        unsigned total = 0;
        while (total < 4200 && buf[total].code != 0xeeee)
            total++;
        printf(" written=%u", total);
        (void)shown;
    }
    printf("\n");
}

static void optmem(int fd)
{
    unsigned info[9] = { 0 };
    socklen_t len = sizeof info;
    int r = getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len);
    printf("getsockopt(fd%d, SO_MEMINFO) = %d optmem=%u\n", fd, r, info[6]);
}

static void detach(int fd)
{
    int one = 1;
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof one);
}

static struct sock_filter big[4097];

/* `count` copies of `insn`, then `ret #0`, labelled "COUNT x WHAT": around the optmem
 * boundary, one more copy makes the translated program too big to charge. */
static void attach_repeated(int fd, struct sock_filter insn, int count, const char *what)
{
    for (int i = 0; i < count; i++)
        big[i] = insn;
    big[count] = STMT(BPF_RET | BPF_K, 0);
    char label[64];
    snprintf(label, sizeof label, "%d x %s", count, what);
    attach_filter(fd, big, (unsigned)count + 1, label);
}

static void validation(int fd)
{
    note("bpf_check_classic: each refusal");
    struct sock_filter bad_opcode[] = { { 0xffff, 0, 0, 0 }, STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, bad_opcode, 2, "opcode 0xffff");
    struct sock_filter ld_msh[] = { STMT(BPF_LD | BPF_W | BPF_MSH, 0), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, ld_msh, 2, "ld msh");
    struct sock_filter no_ret[] = { STMT(BPF_LD | BPF_IMM, 1) };
    attach_filter(fd, no_ret, 1, "no ret");
    struct sock_filter ret_x[] = { { BPF_RET | BPF_X, 0, 0, 0 } };
    attach_filter(fd, ret_x, 1, "ret x");
    struct sock_filter div0[] = { STMT(BPF_ALU | BPF_DIV | BPF_K, 0), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, div0, 2, "div #0");
    struct sock_filter mod0[] = { STMT(BPF_ALU | BPF_MOD | BPF_K, 0), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, mod0, 2, "mod #0");
    struct sock_filter lsh32[] = { STMT(BPF_ALU | BPF_LSH | BPF_K, 32), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, lsh32, 2, "lsh #32");
    struct sock_filter rsh31[] = { STMT(BPF_ALU | BPF_RSH | BPF_K, 31), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, rsh31, 2, "rsh #31");
    struct sock_filter st16[] = { STMT(BPF_ST, 16), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, st16, 2, "st M[16]");
    struct sock_filter ld_unset[] = { STMT(BPF_LD | BPF_MEM, 3), STMT(BPF_RET | BPF_A, 0) };
    attach_filter(fd, ld_unset, 2, "ld M[3] unwritten");
    struct sock_filter ldx_unset[] = { STMT(BPF_LDX | BPF_MEM, 15), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, ldx_unset, 2, "ldx M[15] unwritten");
    struct sock_filter one_path[] = { JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                                      STMT(BPF_ST, 3), STMT(BPF_LD | BPF_MEM, 3),
                                      STMT(BPF_RET | BPF_A, 0) };
    attach_filter(fd, one_path, 4, "M[3] written on one path");
    struct sock_filter ja_out[] = { STMT(BPF_JMP | BPF_JA, 1), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, ja_out, 2, "ja past the end");
    struct sock_filter jt_out[] = { JUMP(BPF_JMP | BPF_JGT | BPF_K, 0, 1, 0), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, jt_out, 2, "jt past the end");
    struct sock_filter jf_out[] = { JUMP(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, jf_out, 2, "jf past the end");
    struct sock_filter ja_x[] = { { BPF_JMP | BPF_JA | BPF_X, 0, 0, 0 }, STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, ja_x, 2, "ja|x");
    struct sock_filter anc64[] = { STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + 64), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, anc64, 2, "ancillary 64");
    struct sock_filter anc2[] = { STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + 2), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, anc2, 2, "ancillary 2");
    struct sock_filter anc_ind[] = { STMT(BPF_LD | BPF_W | BPF_IND, SKF_AD_OFF + 64), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, anc_ind, 2, "ind at SKF_AD_OFF+64");
    struct sock_filter net_off[] = { STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF), STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, net_off, 2, "ld [SKF_NET_OFF]");
    struct sock_filter twice[] = { STMT(BPF_ALU | BPF_DIV | BPF_K, 0), STMT(BPF_LD | BPF_IMM, 0) };
    attach_filter(fd, twice, 2, "div #0 and no ret");

    note("lengths and pointers (bpf_check_basics_ok, copy_from_user)");
    struct sock_filter ret0[] = { STMT(BPF_RET | BPF_K, 0) };
    attach_filter(fd, ret0, 0, "len 0");
    attach_filter(fd, NULL, 1, "NULL");
    attach_filter(fd, BADPTR, 1, "BADPTR");
    attach_filter(fd, BADPTR, 0, "BADPTR, len 0");
    attach_filter(fd, BADPTR, 4097, "BADPTR, len 4097");
    /* One readable instruction at the end of a page, the next page unreadable. */
    unsigned char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages != MAP_FAILED) {
        mprotect(pages + 4096, 4096, PROT_NONE);
        struct sock_filter *edge = (struct sock_filter *)(pages + 4096 - sizeof(struct sock_filter));
        *edge = STMT(BPF_RET | BPF_K, 0);
        attach_filter(fd, edge, 1, "one instruction before an unreadable page");
        detach(fd);
        attach_filter(fd, edge, 2, "two instructions across into an unreadable page");
        munmap(pages, 8192);
    }
    for (int i = 0; i < 4097; i++)
        big[i] = STMT(BPF_RET | BPF_K, 0);
    attach_filter(fd, big, 4097, "4097 x ret");
    struct sock_fprog prog[2] = { { .len = 1, .filter = ret0 } };
    const socklen_t optlens[] = { 15, 17, 8, 4, 3, 0 };
    for (size_t i = 0; i < sizeof optlens / sizeof optlens[0]; i++) {
        int r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, optlens[i]);
        printf("setsockopt(fd%d, SO_ATTACH_FILTER, {len=1, ret #0}, optlen=%u) = %s\n", fd,
               optlens[i], r < 0 ? trace_errno_name(errno) : "0");
    }
    tr_setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, NULL, 16);
    tr_setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, BADPTR, 16);
    get_filter(fd, 0);

    note("the memory charge: bpf_prog_size of the eBPF translation against optmem_max");
    attach_filter(fd, big, 4096, "4096 x ret");
    get_filter(fd, 0);
    optmem(fd);
    for (int i = 0; i < 4095; i++)
        big[i] = STMT(BPF_LD | BPF_W | BPF_ABS, 0);
    attach_filter(fd, big, 4096, "4095 x ld [0]");
    get_filter(fd, 0);
    struct sock_filter small[] = { STMT(BPF_RET | BPF_K, 1) };
    attach_filter(fd, small, 1, "ret #1 while 4096 x ret is charged");
    for (int i = 0; i < 4091; i++)
        big[i] = STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
    big[4091] = STMT(BPF_RET | BPF_A, 0);
    attach_filter(fd, big, 4092, "4091 x ld cpu while ret #1 is charged");
    attach_filter(fd, small, 1, "ret #1 while 4091 x ld cpu is charged");
    optmem(fd);
    detach(fd);
    for (int i = 0; i < 4091; i++)
        big[i] = STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
    for (int i = 4091; i < 4094; i++)
        big[i] = STMT(BPF_MISC | BPF_TAX, 0);
    big[4094] = STMT(BPF_RET | BPF_A, 0);
    attach_filter(fd, big, 4095, "4091 x ld cpu, 3 x tax");
    optmem(fd);
    big[4094] = STMT(BPF_MISC | BPF_TAX, 0);
    big[4095] = STMT(BPF_RET | BPF_A, 0);
    attach_filter(fd, big, 4096, "4091 x ld cpu, 4 x tax");
    attach_repeated(fd, STMT(BPF_LD | BPF_W | BPF_ABS, 1), 1168, "ld [1]");
    attach_repeated(fd, STMT(BPF_LD | BPF_W | BPF_ABS, 1), 1169, "ld [1]");
    attach_repeated(fd, STMT(BPF_LDX | BPF_B | BPF_MSH, 1), 861, "ldx msh");
    attach_repeated(fd, STMT(BPF_LDX | BPF_B | BPF_MSH, 1), 862, "ldx msh");
    detach(fd);
}

static void read_back(int fd)
{
    note("SO_GET_FILTER and SO_MEMINFO");
    get_filter(fd, 0);
    get_filter(fd, 64);
    optmem(fd);
    struct sock_filter prog[] = { STMT(BPF_LD | BPF_IMM, 5), STMT(BPF_ST, 1),
                                  JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x80000000, 1, 0),
                                  STMT(BPF_RET | BPF_K, 0x1234), STMT(BPF_RET | BPF_A, 0) };
    attach_filter(fd, prog, 5, "5 instructions");
    get_filter(fd, 0);
    for (socklen_t len = 1; len <= 6; len++)
        get_filter(fd, len);
    get_filter(fd, 40);
    get_filter(fd, 100);
    get_filter(fd, 3);
    optmem(fd);
    socklen_t len = 0;
    int r = getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len);
    printf("getsockopt(fd%d, SO_GET_FILTER, NULL, len=0) = %d len=%u\n", fd, r, len);
    len = 5;
    r = getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, BADPTR, &len);
    printf("getsockopt(fd%d, SO_GET_FILTER, BADPTR, len=5) = %s\n", fd,
           r < 0 ? trace_errno_name(errno) : "0");

    note("an invalid replacement keeps the filter; a valid one replaces it");
    attach_filter(fd, prog, 2, "2 instructions, no ret");
    get_filter(fd, 0);
    struct sock_filter one[] = { STMT(BPF_RET | BPF_K, 0xffff) };
    attach_filter(fd, one, 1, "ret #0xffff");
    get_filter(fd, 8);
    optmem(fd);
    detach(fd);
    detach(fd);
    int zero = 0;
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, 0);
    get_filter(fd, 0);
    optmem(fd);
}

static void locking(void)
{
    note("SO_LOCK_FILTER");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(fd, SOL_SOCKET, SO_LOCK_FILTER);
    struct sock_filter one[] = { STMT(BPF_RET | BPF_K, 0xffff) };
    attach_filter(fd, one, 1, "ret #0xffff");
    tr_setint(fd, SOL_SOCKET, SO_LOCK_FILTER, 1);
    tr_getint(fd, SOL_SOCKET, SO_LOCK_FILTER);
    attach_filter(fd, one, 1, "ret #0xffff (locked)");
    struct sock_filter no_ret[] = { STMT(BPF_LD | BPF_IMM, 1) };
    attach_filter(fd, no_ret, 1, "no ret (locked)");
    attach_filter(fd, NULL, 0, "NULL, len 0 (locked)");
    detach(fd);
    get_filter(fd, 8);
    tr_setint(fd, SOL_SOCKET, SO_LOCK_FILTER, 0);
    tr_setint(fd, SOL_SOCKET, SO_LOCK_FILTER, 5);
    tr_getint(fd, SOL_SOCKET, SO_LOCK_FILTER);
    tr_close(fd);

    note("locked with no filter");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_LOCK_FILTER, 1);
    detach(fd);
    attach_filter(fd, one, 1, "ret #0xffff (locked)");
    tr_close(fd);
}

static void reuseport(void)
{
    note("SO_ATTACH_REUSEPORT_CBPF and SO_DETACH_REUSEPORT_BPF");
    struct sock_filter pick[] = { STMT(BPF_RET | BPF_K, 0) };
    struct sock_filter no_ret[] = { STMT(BPF_LD | BPF_IMM, 1) };
    int one = 1;
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, no SO_REUSEPORT");
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, no_ret, 1, "no ret, no SO_REUSEPORT");
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, no_ret, 1, "no ret");
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, BADPTR, 1, "BADPTR");
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, unbound");
    get_filter(fd, 0);
    tr_bind4(fd, "127.0.0.1", 4242);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, bound");
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_close(fd);

    note("a program attached before bind makes a group of its own: it cannot join another");
    int holder = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(holder, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(holder, "127.0.0.1", 4244);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, unbound");
    tr_setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_bind4(fd, "127.0.0.1", 4244);
    tr_bind4(fd, "127.0.0.1", 4245);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(fd, "127.0.0.1", 4244);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, joined the group");
    tr_close(fd);
    tr_close(holder);

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "127.0.0.1", 4243);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, bound without SO_REUSEPORT");
    tr_setint(fd, SOL_SOCKET, SO_LOCK_FILTER, 1);
    attach_filter_as(fd, SO_ATTACH_REUSEPORT_CBPF, pick, 1, "ret #0, locked");
    tr_close(fd);
}

/* Sends `count` datagrams of the given lengths from `from` to `to_port` on 127.0.0.1 and
 * prints what `to` receives (length, first byte), with SO_RXQ_OVFL's drop count. */
static void exchange(int from, int to, unsigned to_port, const unsigned *lengths, int count)
{
    static char buf[8192];
    for (int i = 0; i < count; i++) {
        memset(buf, 'a' + i, lengths[i]);
        struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(to_port) };
        inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
        sendto(from, buf, lengths[i], 0, (struct sockaddr *)&dst, sizeof dst);
    }
    for (int i = 0; i < count + 1; i++) {
        char control[64];
        struct iovec iov = { buf, sizeof buf };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                              .msg_controllen = sizeof control };
        ssize_t n = recvmsg(to, &msg, MSG_DONTWAIT);
        if (n < 0) {
            printf("  recv = -1 %s\n", trace_errno_name(errno));
            break;
        }
        unsigned drops = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                memcpy(&drops, CMSG_DATA(c), sizeof drops);
        printf("  recv = %zd first=%c drops=%u\n", n, n > 0 ? buf[0] : '-', drops);
    }
}

static void effect(int protocol)
{
    note(protocol == IPPROTO_UDPLITE ? "effect on UDP-Lite over loopback" : "effect over loopback");
    int to = tr_socket(AF_INET, SOCK_DGRAM, protocol);
    int from = tr_socket(AF_INET, SOCK_DGRAM, protocol);
    tr_bind4(to, "127.0.0.1", 4300);
    tr_setint(to, SOL_SOCKET, SO_RXQ_OVFL, 1);
    /* Drop datagrams whose payload starts with 'b', trim those of 100+ bytes to UDP
     * header + 10, keep the rest whole (ret #0xffff). */
    struct sock_filter prog[] = {
        STMT(BPF_LD | BPF_B | BPF_ABS, 8),
        JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'b', 0, 1),
        STMT(BPF_RET | BPF_K, 0),
        STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        JUMP(BPF_JMP | BPF_JGE | BPF_K, 108, 0, 1),
        STMT(BPF_RET | BPF_K, 18),
        STMT(BPF_RET | BPF_K, 0xffff),
    };
    attach_filter(to, prog, 7, "drop 'b', trim 100+ to 10");
    const unsigned lengths[] = { 5, 6, 150, 99, 100, 0 };
    exchange(from, to, 4300, lengths, 6);

    note("a filter returning less than the UDP header keeps the header: empty datagrams");
    struct sock_filter tiny[] = { STMT(BPF_RET | BPF_K, 3) };
    attach_filter(to, tiny, 1, "ret #3");
    const unsigned two[] = { 7, 1 };
    exchange(from, to, 4300, two, 2);

    note("loads past the data, division by X = 0: the program returns 0 (drop)");
    struct sock_filter past[] = { STMT(BPF_LD | BPF_B | BPF_ABS, 12), STMT(BPF_RET | BPF_K, 0xffff) };
    attach_filter(to, past, 2, "ld [12] (payload byte 4)");
    const unsigned lens3[] = { 4, 5, 3 };
    exchange(from, to, 4300, lens3, 3);
    struct sock_filter divx[] = { STMT(BPF_LD | BPF_W | BPF_LEN, 0), STMT(BPF_ALU | BPF_SUB | BPF_K, 8),
                                  STMT(BPF_MISC | BPF_TAX, 0), STMT(BPF_LD | BPF_IMM, 100),
                                  STMT(BPF_ALU | BPF_DIV | BPF_X, 0), STMT(BPF_ALU | BPF_ADD | BPF_K, 8),
                                  STMT(BPF_RET | BPF_A, 0) };
    attach_filter(to, divx, 7, "ret 8 + 100 / payload length");
    const unsigned lens4[] = { 0, 3, 60 };
    exchange(from, to, 4300, lens4, 3);

    note("ancillary and header loads over lo: each value is the kept payload length");
    struct { const char *name; unsigned short code; unsigned k; } loads[] = {
        { "PROTOCOL", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL },
        { "PKTTYPE", BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE },
        { "IFINDEX", BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX },
        { "HATYPE", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE },
        { "MARK", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_MARK },
        { "QUEUE", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_QUEUE },
        { "RXHASH", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RXHASH },
        { "VLAN_TAG", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG },
        { "VLAN_TAG_PRESENT", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT },
        { "VLAN_TPID", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TPID },
        { "PAY_OFFSET", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PAY_OFFSET },
        { "NLATTR", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_NLATTR },
        { "[SKF_NET_OFF+9]", BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 9 },
        { "[SKF_NET_OFF] msh", BPF_LDX | BPF_B | BPF_MSH, SKF_NET_OFF },
        { "[SKF_LL_OFF+12]", BPF_LD | BPF_H | BPF_ABS, SKF_LL_OFF + 12 },
        { "[SKF_LL_OFF+0]", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF },
        { "[SKF_LL_OFF+14]", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF + 14 },
        { "[SKF_NET_OFF-1]", BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF - 1 },
        { "[SKF_LL_OFF-1]", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF - 1 },
    };
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        /* A = value (or X for msh), kept = 8 + (value & 0xfff). */
        struct sock_filter probe[] = {
            STMT(loads[i].code, loads[i].k),
            STMT(BPF_MISC | BPF_TXA, 0),
            STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
            STMT(BPF_ALU | BPF_ADD | BPF_K, 8),
            STMT(BPF_RET | BPF_A, 0),
        };
        if (loads[i].code != (BPF_LDX | BPF_B | BPF_MSH))
            probe[1] = STMT(BPF_MISC | BPF_TAX, 0);
        printf("# %s\n", loads[i].name);
        if (i == 4)
            tr_setint(from, SOL_SOCKET, SO_MARK, 0x123);
        attach_filter(to, probe, 5, loads[i].name);
        const unsigned len[] = { 5000 };
        exchange(from, to, 4300, len, 1);
    }
    tr_close(from);
    tr_close(to);
}

/* Which member of a SO_REUSEPORT group gets each datagram (payload "<d>..." sent from one
 * local socket; the group program picks member d). */
static void group_exchange(int *members, int count, const char *const *payloads, int n)
{
    int from = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < n; i++) {
        struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(4400) };
        inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
        sendto(from, payloads[i], strlen(payloads[i]), 0, (struct sockaddr *)&dst, sizeof dst);
    }
    close(from);
    int unexpected = 0;
    for (int m = 0; m < count; m++) {
        char buf[64];
        for (int i = 0; i < n + 1; i++) {
            ssize_t r = recv(members[m], buf, sizeof buf - 1, MSG_DONTWAIT);
            if (r < 0)
                break;
            buf[r] = 0;
            /* Payloads starting with '?' go wherever the hash sends them: counted only. */
            if (buf[0] == '?')
                unexpected++;
            else
                printf("  member %d received \"%s\"\n", m, buf);
        }
    }
    printf("  hashed datagrams received: %d\n", unexpected);
}

static void reuseport_effect(void)
{
    note("a reuseport group's classic program picks the member by index (data at the payload)");
    int members[3];
    for (int i = 0; i < 3; i++) {
        members[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(members[i], SOL_SOCKET, SO_REUSEPORT, 1);
        tr_bind4(members[i], "127.0.0.1", 4400);
    }
    struct sock_filter pick[] = {
        STMT(BPF_LD | BPF_B | BPF_ABS, 0),
        STMT(BPF_ALU | BPF_SUB | BPF_K, '0'),
        STMT(BPF_RET | BPF_A, 0),
    };
    attach_filter_as(members[1], SO_ATTACH_REUSEPORT_CBPF, pick, 3, "ret payload[0] - '0'");
    const char *const payloads[] = { "0a", "1b", "2c", "1d", "0e", "?9", "?x" };
    group_exchange(members, 3, payloads, 7);
    note("the length instead: LEN is the payload's (the UDP header is pulled)");
    struct sock_filter by_length[] = {
        STMT(BPF_LD | BPF_W | BPF_LEN, 0),
        STMT(BPF_ALU | BPF_SUB | BPF_K, 2),
        STMT(BPF_RET | BPF_A, 0),
    };
    attach_filter_as(members[0], SO_ATTACH_REUSEPORT_CBPF, by_length, 3, "ret len - 2");
    const char *const sized[] = { "aa", "bbb", "cccc", "?d" };
    group_exchange(members, 3, sized, 4);
    int one = 1;
    note("detached through another member: the group's program goes");
    tr_setsockopt(members[2], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_setsockopt(members[0], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof one);
    tr_setsockopt(members[1], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, 2);
    const char *const hashed[] = { "?1", "?2", "?0" };
    group_exchange(members, 3, hashed, 3);
    for (int i = 0; i < 3; i++)
        tr_close(members[i]);
}

/* Our own broadcasts come back through dev_loopback_xmit: on eth0, PACKET_LOOPBACK, with
 * the mac header at the network header. Kept payload = value & 0xfff. */
static void broadcast_copies(void)
{
    note("the looped-back copy of our own broadcast, as a filter sees it");
    static const struct { const char *name; unsigned short code; unsigned k; } loads[] = {
        { "PKTTYPE", BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE },
        { "IFINDEX", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX },
        { "HATYPE", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE },
        { "[SKF_LL_OFF+0]", BPF_LD | BPF_B | BPF_ABS, SKF_LL_OFF },
        { "[SKF_LL_OFF+12]", BPF_LD | BPF_H | BPF_ABS, SKF_LL_OFF + 12 },
        { "PAY_OFFSET", BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PAY_OFFSET },
    };
    enum { COUNT = sizeof loads / sizeof loads[0] };
    int fds[COUNT];
    for (int i = 0; i < COUNT; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fds[i], "0.0.0.0", 4500 + i);
        struct sock_filter probe[] = {
            STMT(loads[i].code, loads[i].k),
            STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
            STMT(BPF_ALU | BPF_ADD | BPF_K, 8),
            STMT(BPF_RET | BPF_A, 0),
        };
        attach_filter(fds[i], probe, 4, loads[i].name);
    }
    int from = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(from, SOL_SOCKET, SO_BROADCAST, 1);
    static char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < COUNT; i++) {
        struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(4500 + i) };
        inet_pton(AF_INET, "198.18.0.255", &dst.sin_addr);
        sendto(from, buf, 3000, 0, (struct sockaddr *)&dst, sizeof dst);
    }
    for (int i = 0; i < COUNT; i++) {
        quiet_wait_readable(fds[i], 1000);
        ssize_t n = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
        printf("%s: recv = %zd\n", loads[i].name, n);
        tr_close(fds[i]);
    }
    tr_close(from);
}

int main(void)
{
    trace_start("sockopt_socket_filter");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    note("no filter");
    get_filter(fd, 0);
    get_filter(fd, 64);
    tr_getint(fd, SOL_SOCKET, SO_LOCK_FILTER);
    detach(fd);
    validation(fd);
    read_back(fd);
    tr_close(fd);
    locking();
    reuseport();
    reuseport_effect();

    note("UDP-Lite takes filters too");
    fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    struct sock_filter one[] = { STMT(BPF_RET | BPF_K, 0xffff) };
    attach_filter(fd, one, 1, "ret #0xffff");
    get_filter(fd, 1);
    tr_close(fd);

    effect(IPPROTO_UDP);
    effect(IPPROTO_UDPLITE);
    broadcast_copies();
    return trace_end();
}
