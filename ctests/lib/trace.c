/* trace.c: see trace.h for the contract. Each tr_* wrapper: save nothing, call the
 * real function once, capture errno, build one line, print it, restore errno. */
#include "trace.h"

#include <linux/errqueue.h>
#include <netinet/udp.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

/* ---- state -------------------------------------------------------------- */

static unsigned port_range_low = 32768, port_range_high = 60999;
static unsigned fixed_ports[64];
static unsigned fixed_port_count;
static void *bad_page;

/* ---- line builder ------------------------------------------------------- */

struct line {
    char text[8192];
    size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
    if (l->len >= sizeof l->text - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof l->text - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof l->text - l->len ? (size_t)n : sizeof l->text - 1 - l->len;
}

static void emit(struct line *l)
{
    fputs(l->text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

const char *trace_errno_name(int err)
{
    if (err == 0)
        return "0";
    const char *name = strerrorname_np(err);
    if (name)
        return name;
    static char unknown[32];
    snprintf(unknown, sizeof unknown, "E#%d", err);
    return unknown;
}

static void put_result(struct line *l, long ret, int err)
{
    if (ret < 0)
        put(l, " = %ld %s", ret, trace_errno_name(err));
    else
        put(l, " = %ld", ret);
}

/* The end of a wrapper: prints its line, then hands the call's result back to the case with
 * the call's errno (printing may have changed errno). */
static long finish(struct line *l, long ret, int err)
{
    emit(l);
    errno = err;
    return ret;
}

/* `finish` after the " = result" part, for wrappers that print nothing after it. */
static long finish_with_result(struct line *l, long ret, int err)
{
    put_result(l, ret, err);
    return finish(l, ret, err);
}

/* ---- names -------------------------------------------------------------- */

struct name {
    long value;
    const char *text;
};
#define N(x) { x, #x }

static const char *lookup(const struct name *table, long value)
{
    for (; table->text; table++)
        if (table->value == value)
            return table->text;
    return NULL;
}

static void put_enum(struct line *l, const struct name *table, long value)
{
    const char *t = lookup(table, value);
    if (t)
        put(l, "%s", t);
    else
        put(l, "%ld", value);
}

/* Bits that have a name print by name, the rest as hex; 0 prints as 0. */
static void put_bits(struct line *l, const struct name *table, unsigned long value)
{
    if (value == 0) {
        put(l, "0");
        return;
    }
    const char *sep = "";
    for (; table->text; table++) {
        if (table->value && (value & table->value) == (unsigned long)table->value) {
            put(l, "%s%s", sep, table->text);
            value &= ~(unsigned long)table->value;
            sep = "|";
        }
    }
    if (value)
        put(l, "%s0x%lx", sep, value);
}

static const struct name families[] = {
    N(AF_UNSPEC), N(AF_UNIX), N(AF_INET), N(AF_INET6), N(AF_PACKET), N(AF_NETLINK), { 0, NULL }
};
static const struct name sock_types[] = {
    N(SOCK_STREAM), N(SOCK_DGRAM), N(SOCK_RAW), N(SOCK_RDM), N(SOCK_SEQPACKET), N(SOCK_DCCP),
    N(SOCK_PACKET), { 0, NULL }
};
static const struct name protocols[] = {
    N(IPPROTO_IP), N(IPPROTO_ICMP), N(IPPROTO_IGMP), N(IPPROTO_TCP), N(IPPROTO_UDP),
    N(IPPROTO_UDPLITE), N(IPPROTO_RAW), N(IPPROTO_SCTP), N(IPPROTO_IPV6), N(IPPROTO_ICMPV6),
    { 0, NULL }
};
static const struct name msg_flags[] = {
    N(MSG_OOB), N(MSG_PEEK), N(MSG_DONTROUTE), N(MSG_CTRUNC), N(MSG_TRUNC), N(MSG_DONTWAIT),
    N(MSG_EOR), N(MSG_WAITALL), N(MSG_CONFIRM), N(MSG_ERRQUEUE), N(MSG_NOSIGNAL), N(MSG_MORE),
    N(MSG_WAITFORONE), N(MSG_CMSG_CLOEXEC), { 0, NULL }
};
static const struct name levels[] = {
    N(SOL_SOCKET), N(IPPROTO_IP), N(IPPROTO_TCP), N(IPPROTO_UDP), N(IPPROTO_UDPLITE),
    N(IPPROTO_RAW), N(IPPROTO_IPV6), { 0, NULL }
};
static const struct name socket_options[] = {
    N(SO_DEBUG), N(SO_REUSEADDR), N(SO_TYPE), N(SO_ERROR), N(SO_DONTROUTE), N(SO_BROADCAST),
    N(SO_SNDBUF), N(SO_RCVBUF), N(SO_SNDBUFFORCE), N(SO_RCVBUFFORCE), N(SO_KEEPALIVE),
    N(SO_OOBINLINE), N(SO_NO_CHECK), N(SO_PRIORITY), N(SO_LINGER), N(SO_BSDCOMPAT),
    N(SO_REUSEPORT), N(SO_PASSCRED), N(SO_PEERCRED), N(SO_RCVLOWAT), N(SO_SNDLOWAT),
    { 20, "SO_RCVTIMEO" }, { 21, "SO_SNDTIMEO" }, N(SO_BINDTODEVICE), N(SO_ATTACH_FILTER),
    N(SO_DETACH_FILTER), N(SO_PEERNAME), { 29, "SO_TIMESTAMP" }, N(SO_ACCEPTCONN),
    N(SO_PEERSEC), N(SO_PASSSEC), { 35, "SO_TIMESTAMPNS" }, N(SO_MARK), { 37, "SO_TIMESTAMPING" },
    N(SO_PROTOCOL), N(SO_DOMAIN), N(SO_RXQ_OVFL), N(SO_WIFI_STATUS), N(SO_PEEK_OFF),
    N(SO_NOFCS), N(SO_LOCK_FILTER), N(SO_SELECT_ERR_QUEUE), N(SO_BUSY_POLL), N(SO_MAX_PACING_RATE),
    N(SO_BPF_EXTENSIONS), N(SO_INCOMING_CPU), N(SO_COOKIE), N(SO_INCOMING_NAPI_ID),
    N(SO_ZEROCOPY), N(SO_TXTIME), N(SO_BINDTOIFINDEX), { 63, "SO_TIMESTAMP_NEW" },
    { 64, "SO_TIMESTAMPNS_NEW" }, { 65, "SO_TIMESTAMPING_NEW" }, { 66, "SO_RCVTIMEO_NEW" },
    { 67, "SO_SNDTIMEO_NEW" }, { 0, NULL }
};
static const struct name ip_options[] = {
    N(IP_TOS), N(IP_TTL), N(IP_HDRINCL), N(IP_OPTIONS), N(IP_RECVOPTS), N(IP_RETOPTS),
    N(IP_PKTINFO), N(IP_PKTOPTIONS), N(IP_MTU_DISCOVER), N(IP_RECVERR), N(IP_RECVTTL),
    N(IP_RECVTOS), N(IP_MTU), N(IP_FREEBIND), N(IP_IPSEC_POLICY), N(IP_XFRM_POLICY),
    N(IP_PASSSEC), N(IP_TRANSPARENT), N(IP_ORIGDSTADDR), N(IP_MINTTL), N(IP_NODEFRAG),
    N(IP_CHECKSUM), N(IP_BIND_ADDRESS_NO_PORT), N(IP_RECVFRAGSIZE), { 26, "IP_RECVERR_RFC4884" },
    N(IP_MULTICAST_IF), N(IP_MULTICAST_TTL), N(IP_MULTICAST_LOOP), N(IP_ADD_MEMBERSHIP),
    N(IP_DROP_MEMBERSHIP), N(IP_UNBLOCK_SOURCE), N(IP_BLOCK_SOURCE),
    N(IP_ADD_SOURCE_MEMBERSHIP), N(IP_DROP_SOURCE_MEMBERSHIP), N(IP_MSFILTER),
    N(IP_MULTICAST_ALL), N(IP_UNICAST_IF), { 51, "IP_LOCAL_PORT_RANGE" }, { 0, NULL }
};
static const struct name udp_options[] = {
    N(UDP_CORK), N(UDP_ENCAP), N(UDP_NO_CHECK6_TX), N(UDP_NO_CHECK6_RX), N(UDP_SEGMENT),
    N(UDP_GRO), { 0, NULL }
};
static const struct name poll_bits[] = {
    { POLLIN, "IN" }, { POLLPRI, "PRI" }, { POLLOUT, "OUT" }, { POLLERR, "ERR" },
    { POLLHUP, "HUP" }, { POLLNVAL, "NVAL" }, { POLLRDNORM, "RDNORM" }, { POLLRDBAND, "RDBAND" },
    { POLLWRNORM, "WRNORM" }, { POLLWRBAND, "WRBAND" }, { POLLMSG, "MSG" },
    { POLLRDHUP, "RDHUP" }, { 0, NULL }
};
static const struct name epoll_bits[] = {
    { EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" }, { EPOLLERR, "ERR" },
    { EPOLLHUP, "HUP" }, { EPOLLRDNORM, "RDNORM" }, { EPOLLRDBAND, "RDBAND" },
    { EPOLLWRNORM, "WRNORM" }, { EPOLLWRBAND, "WRBAND" }, { EPOLLMSG, "MSG" },
    { EPOLLRDHUP, "RDHUP" }, { EPOLLEXCLUSIVE, "EXCLUSIVE" }, { EPOLLWAKEUP, "WAKEUP" },
    { EPOLLONESHOT, "ONESHOT" }, { EPOLLET, "ET" }, { 0, NULL }
};
static const struct name epoll_ops[] = {
    N(EPOLL_CTL_ADD), N(EPOLL_CTL_DEL), N(EPOLL_CTL_MOD), { 0, NULL }
};
static const struct name fcntl_cmds[] = {
    N(F_DUPFD), N(F_DUPFD_CLOEXEC), N(F_GETFD), N(F_SETFD), N(F_GETFL), N(F_SETFL),
    N(F_GETOWN), N(F_SETOWN), N(F_GETSIG), N(F_SETSIG), { 0, NULL }
};
static const struct name open_flags[] = {
    N(O_WRONLY), N(O_RDWR), N(O_APPEND), N(O_NONBLOCK), N(O_ASYNC), N(O_DIRECT),
    N(O_NOATIME), N(O_CLOEXEC), N(O_LARGEFILE), N(O_DSYNC), N(O_SYNC), N(O_PATH), { 0, NULL }
};
static const struct name fd_flags[] = { N(FD_CLOEXEC), { 0, NULL } };
static const struct name ioctls[] = {
    N(FIONBIO), N(FIONREAD), N(SIOCOUTQ), N(FIOCLEX), N(FIONCLEX), N(FIOASYNC), { 0, NULL }
};
static const struct name shutdown_hows[] = { N(SHUT_RD), N(SHUT_WR), N(SHUT_RDWR), { 0, NULL } };
static const struct name pmtudisc_modes[] = {
    N(IP_PMTUDISC_DONT), N(IP_PMTUDISC_WANT), N(IP_PMTUDISC_DO), N(IP_PMTUDISC_PROBE),
    N(IP_PMTUDISC_INTERFACE), N(IP_PMTUDISC_OMIT), { 0, NULL }
};
static const struct name ee_origins[] = {
    N(SO_EE_ORIGIN_NONE), N(SO_EE_ORIGIN_LOCAL), N(SO_EE_ORIGIN_ICMP), N(SO_EE_ORIGIN_ICMP6),
    N(SO_EE_ORIGIN_TXSTATUS), N(SO_EE_ORIGIN_ZEROCOPY), N(SO_EE_ORIGIN_TXTIME), { 0, NULL }
};

static const struct name *options_of_level(int level)
{
    switch (level) {
    case SOL_SOCKET:
        return socket_options;
    case IPPROTO_IP:
        return ip_options;
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
        return udp_options;
    default:
        return NULL;
    }
}

static void put_level_name(struct line *l, int level, int name)
{
    put_enum(l, levels, level);
    put(l, ", ");
    const struct name *t = options_of_level(level);
    if (t)
        put_enum(l, t, name);
    else
        put(l, "%d", name);
}

/* ---- values ------------------------------------------------------------- */

static int is_bad(const void *p)
{
    return bad_page && (const char *)p >= (const char *)bad_page &&
           (const char *)p < (const char *)bad_page + 4096;
}

/* Returns 1 (and prints NULL/BADPTR) when the pointer must not be read. */
static int put_unreadable(struct line *l, const void *p)
{
    if (p == NULL) {
        put(l, "NULL");
        return 1;
    }
    if (is_bad(p)) {
        put(l, "BADPTR");
        return 1;
    }
    return 0;
}

int trace_port_is_ephemeral(unsigned port)
{
    return port >= port_range_low && port <= port_range_high;
}

const char *trace_port_name(unsigned port)
{
    static char text[16];
    if (trace_port_is_ephemeral(port)) {
        for (unsigned i = 0; i < fixed_port_count; i++)
            if (fixed_ports[i] == port)
                goto number;
        return "EPHEMERAL";
    }
number:
    snprintf(text, sizeof text, "%u", port);
    return text;
}

static void put_in_addr(struct line *l, struct in_addr a)
{
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, text, sizeof text);
    put(l, "%s", text);
}

/* addr:port for AF_INET; other families by name, with the length when it is not the
 * natural one. len is what the call was given (or returned). */
static void put_sockaddr(struct line *l, const struct sockaddr *sa, socklen_t len)
{
    if (put_unreadable(l, sa))
        return;
    if (len < sizeof(sa_family_t)) {
        put(l, "{len=%u}", (unsigned)len);
        return;
    }
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    if (sa->sa_family != AF_INET) {
        put(l, "{");
        put_enum(l, families, sa->sa_family);
        if (len >= offsetof(struct sockaddr_in, sin_zero)) {
            put(l, " ");
            put_in_addr(l, in->sin_addr);
            put(l, ":%s", trace_port_name(ntohs(in->sin_port)));
        }
        put(l, "}");
    } else if (len < offsetof(struct sockaddr_in, sin_zero)) {
        put(l, "{AF_INET short}");
    } else {
        put_in_addr(l, in->sin_addr);
        put(l, ":%s", trace_port_name(ntohs(in->sin_port)));
    }
    if (len != sizeof(struct sockaddr_in))
        put(l, "/len=%u", (unsigned)len);
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Short buffers in hex, long ones as a hash. */
static void put_bytes(struct line *l, const void *buf, size_t n)
{
    if (n > 0 && put_unreadable(l, buf))
        return;
    const unsigned char *p = buf;
    if (n <= 16) {
        put(l, "\"");
        for (size_t i = 0; i < n; i++)
            put(l, "%02x", p[i]);
        put(l, "\"");
    } else {
        put(l, "fnv=%08x", fnv1a(p, n));
    }
}

static void put_iov_bytes(struct line *l, const struct iovec *iov, size_t iovcnt, size_t total)
{
    /* Gather the first `total` bytes so a datagram prints the same whatever iovec
     * layout carried it. */
    static unsigned char gathered[1 << 17];
    size_t have = 0;
    for (size_t i = 0; i < iovcnt && have < total && have < sizeof gathered; i++) {
        if (iov[i].iov_len && is_bad(iov[i].iov_base)) {
            put(l, "BADPTR");
            return;
        }
        size_t take = iov[i].iov_len;
        if (take > total - have)
            take = total - have;
        if (take > sizeof gathered - have)
            take = sizeof gathered - have;
        if (take)
            memcpy(gathered + have, iov[i].iov_base, take);
        have += take;
    }
    put_bytes(l, gathered, have);
}

/* Timestamps vary: within 10 s of the real-time clock they print as NOW. */
static void put_timestamp(struct line *l, long long sec)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long delta = (long long)now.tv_sec - sec;
    put(l, "%s", delta >= -10 && delta <= 10 ? "NOW" : "FAR");
}

static void put_timeval_duration(struct line *l, const struct timeval *tv)
{
    put(l, "{%lld.%06lld}", (long long)tv->tv_sec, (long long)tv->tv_usec);
}

/* ---- control messages --------------------------------------------------- */

static void put_cmsg_data(struct line *l, const struct cmsghdr *c)
{
    const unsigned char *data = CMSG_DATA(c);
    size_t n = c->cmsg_len > CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
    int value;
    if (c->cmsg_level == IPPROTO_IP) {
        switch (c->cmsg_type) {
        case IP_PKTINFO:
            if (n >= sizeof(struct in_pktinfo)) {
                struct in_pktinfo pi;
                memcpy(&pi, data, sizeof pi);
                put(l, " ifindex=%d spec_dst=", pi.ipi_ifindex);
                put_in_addr(l, pi.ipi_spec_dst);
                put(l, " addr=");
                put_in_addr(l, pi.ipi_addr);
                return;
            }
            break;
        case IP_TTL:
        case IP_RECVFRAGSIZE:
        case IP_CHECKSUM:
            if (n >= sizeof(int)) {
                memcpy(&value, data, sizeof value);
                put(l, " value=%d", value);
                return;
            }
            break;
        case IP_TOS:
            if (n >= 1) {
                put(l, " value=0x%02x", data[0]);
                if (n != 1)
                    put(l, " extra=%zu", n - 1);
                return;
            }
            break;
        case IP_ORIGDSTADDR:
            put(l, " ");
            put_sockaddr(l, (const struct sockaddr *)data, n);
            return;
        case IP_RECVERR:
            if (n >= sizeof(struct sock_extended_err)) {
                struct sock_extended_err ee;
                memcpy(&ee, data, sizeof ee);
                put(l, " errno=%s origin=", trace_errno_name(ee.ee_errno));
                put_enum(l, ee_origins, ee.ee_origin);
                put(l, " type=%u code=%u pad=%u info=%u data=%u", ee.ee_type, ee.ee_code,
                    ee.ee_pad, ee.ee_info, ee.ee_data);
                if (n >= sizeof ee + sizeof(struct sockaddr_in)) {
                    put(l, " offender=");
                    put_sockaddr(l, (const struct sockaddr *)(data + sizeof ee),
                                 sizeof(struct sockaddr_in));
                }
                return;
            }
            break;
        }
    } else if (c->cmsg_level == SOL_SOCKET) {
        switch (c->cmsg_type) {
        case 29: /* SO_TIMESTAMP_OLD: struct timeval */
            if (n >= sizeof(struct timeval)) {
                struct timeval tv;
                memcpy(&tv, data, sizeof tv);
                put(l, " tv=");
                put_timestamp(l, tv.tv_sec);
                return;
            }
            break;
        case 35: /* SO_TIMESTAMPNS_OLD */
        case 37: /* SO_TIMESTAMPING_OLD: three timespecs */
            if (n >= sizeof(struct timespec)) {
                struct timespec ts;
                put(l, " ts=");
                for (size_t i = 0; i + sizeof ts <= n; i += sizeof ts) {
                    memcpy(&ts, data + i, sizeof ts);
                    if (i)
                        put(l, ",");
                    if (ts.tv_sec == 0 && ts.tv_nsec == 0)
                        put(l, "0");
                    else
                        put_timestamp(l, ts.tv_sec);
                }
                return;
            }
            break;
        case SO_RXQ_OVFL:
            if (n >= 4) {
                uint32_t drops;
                memcpy(&drops, data, 4);
                put(l, " drops=%u", drops);
                return;
            }
            break;
        }
    }
    put(l, " data=");
    put_bytes(l, data, n);
}

static const char *cmsg_type_name(int level, int type)
{
    if (level == IPPROTO_IP) {
        /* IP_RECVOPTS cmsgs come back as IP_OPTIONS; IP_RETOPTS keeps its number. */
        return lookup(ip_options, type);
    }
    if (level == SOL_SOCKET) {
        switch (type) {
        case SCM_RIGHTS:
            return "SCM_RIGHTS";
        case SCM_CREDENTIALS:
            return "SCM_CREDENTIALS";
        }
        return lookup(socket_options, type);
    }
    return NULL;
}

static void put_cmsgs(struct line *l, const struct msghdr *m)
{
    if (m->msg_control == NULL || is_bad(m->msg_control) || m->msg_controllen == 0)
        return;
    int count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c && count < 32;
         c = CMSG_NXTHDR((struct msghdr *)m, c), count++) {
        put(l, " cmsg[");
        put_enum(l, levels, c->cmsg_level);
        const char *t = cmsg_type_name(c->cmsg_level, c->cmsg_type);
        if (t)
            put(l, " %s", t);
        else
            put(l, " %d", c->cmsg_type);
        put(l, " len=%zu", (size_t)c->cmsg_len);
        put_cmsg_data(l, c);
        put(l, "]");
    }
}

/* ---- life cycle ----------------------------------------------------------- */

void trace_watchdog(void)
{
    /* The default SIGALRM action kills the case: a hung case fails instead of
     * hanging the run. */
    signal(SIGALRM, SIG_DFL);
    alarm(10);
}

void trace_start(const char *case_name)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    trace_watchdog();
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        unsigned low, high;
        if (fscanf(f, "%u %u", &low, &high) == 2) {
            port_range_low = low;
            port_range_high = high;
        }
        fclose(f);
    }
    /* High in the address space, away from anything malloc would reuse. */
    bad_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bad_page == MAP_FAILED) {
        perror("mmap");
        exit(99);
    }
    printf("# case %s\n", case_name);
}

int trace_end(void)
{
    printf("# end\n");
    fflush(stdout);
    return 0;
}

void *trace_bad_ptr(void)
{
    return bad_page;
}

void trace_fixed_port(unsigned port)
{
    if (fixed_port_count < sizeof fixed_ports / sizeof fixed_ports[0])
        fixed_ports[fixed_port_count++] = port;
}

struct sockaddr_in sin4(const char *addr, unsigned port)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    s.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &s.sin_addr) != 1) {
        fprintf(stderr, "sin4: bad address %s\n", addr);
        exit(99);
    }
    return s;
}

int quiet_local_port(int fd)
{
    struct sockaddr_in s;
    socklen_t len = sizeof s;
    if (getsockname(fd, (struct sockaddr *)&s, &len) < 0)
        return -1;
    return ntohs(s.sin_port);
}

int quiet_wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms);
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

int check(int condition, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("check ", stdout);
    vprintf(fmt, ap);
    printf(": %s\n", condition ? "yes" : "no");
    va_end(ap);
    fflush(stdout);
    return condition;
}

int expect_long(const char *what, long got, long want)
{
    if (got == want)
        printf("expect %s: ok\n", what);
    else
        printf("expect %s: FAILED got=%ld want=%ld\n", what, got, want);
    fflush(stdout);
    return got == want;
}

void trace_fill(void *buf, size_t len, unsigned seed)
{
    unsigned char *p = buf;
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

/* ---- wrappers: sockets ---------------------------------------------------- */

static void put_socket_args(struct line *l, int domain, int type, int protocol)
{
    put_enum(l, families, domain);
    put(l, ", ");
    int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!lookup(sock_types, base)) {
        put(l, "%d", type); /* not a type with flags: print it whole */
        put(l, ", %d", protocol);
        return;
    }
    put_enum(l, sock_types, base);
    if (type & SOCK_NONBLOCK)
        put(l, "|SOCK_NONBLOCK");
    if (type & SOCK_CLOEXEC)
        put(l, "|SOCK_CLOEXEC");
    put(l, ", ");
    put_enum(l, protocols, protocol);
}

int tr_socket(int domain, int type, int protocol)
{
    int ret = socket(domain, type, protocol);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "socket(");
    put_socket_args(&l, domain, type, protocol);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

int tr_socketpair(int domain, int type, int protocol, int sv[2])
{
    int ret = socketpair(domain, type, protocol, sv);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "socketpair(");
    put_socket_args(&l, domain, type, protocol);
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret == 0)
        put(&l, " [fd%d fd%d]", sv[0], sv[1]);
    return finish(&l, ret, err);
}

static int addr_call(const char *what, int (*call)(int, const struct sockaddr *, socklen_t),
                     int fd, const struct sockaddr *addr, socklen_t len)
{
    int ret = call(fd, addr, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "%s(fd%d, ", what, fd);
    put_sockaddr(&l, addr, len);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

int tr_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    return addr_call("bind", bind, fd, addr, len);
}

int tr_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return addr_call("connect", connect, fd, addr, len);
}

int tr_listen(int fd, int backlog)
{
    int ret = listen(fd, backlog);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "listen(fd%d, %d)", fd, backlog);
    return finish_with_result(&l, ret, err);
}

int tr_shutdown(int fd, int how)
{
    int ret = shutdown(fd, how);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "shutdown(fd%d, ", fd);
    put_enum(&l, shutdown_hows, how);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

static int name_call(const char *what, int (*call)(int, struct sockaddr *, socklen_t *), int fd,
                     struct sockaddr *addr, socklen_t *len)
{
    socklen_t given = 0;
    int len_readable = len && !is_bad(len);
    if (len_readable)
        given = *len;
    int ret = call(fd, addr, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "%s(fd%d", what, fd);
    if (len_readable)
        put(&l, ", len=%u", (unsigned)given);
    else {
        put(&l, ", len=");
        put_unreadable(&l, len);
    }
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret == 0 && len_readable) {
        /* The kernel writes min(given, actual) bytes and returns the actual length. */
        put(&l, " ");
        put_sockaddr(&l, addr, *len < given ? *len : given);
        if (*len != given)
            put(&l, " outlen=%u", (unsigned)*len);
    }
    return finish(&l, ret, err);
}

int tr_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_call("getsockname", getsockname, fd, addr, len);
}

int tr_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    return name_call("getpeername", getpeername, fd, addr, len);
}

/* Option values: timevals and linger by shape, 4-byte values as int, others in hex. */
static void put_optval(struct line *l, int level, int name, const void *val, socklen_t len)
{
    if (len > 0 && put_unreadable(l, val))
        return;
    if (level == SOL_SOCKET && (name == 20 || name == 21) && len == sizeof(struct timeval)) {
        put_timeval_duration(l, val);
    } else if (level == SOL_SOCKET && name == SO_LINGER && len == sizeof(struct linger)) {
        const struct linger *lg = val;
        put(l, "{onoff=%d linger=%d}", lg->l_onoff, lg->l_linger);
    } else if (len == sizeof(int)) {
        int v;
        memcpy(&v, val, sizeof v);
        put(l, "%d", v);
        if (level == IPPROTO_IP && name == IP_MTU_DISCOVER && lookup(pmtudisc_modes, v))
            put(l, " (%s)", lookup(pmtudisc_modes, v));
    } else {
        put(l, "bytes:");
        put_bytes(l, val, len);
    }
}

int tr_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    socklen_t given = 0;
    int len_readable = len && !is_bad(len);
    if (len_readable)
        given = *len;
    int ret = getsockopt(fd, level, name, val, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "getsockopt(fd%d, ", fd);
    put_level_name(&l, level, name);
    if (len_readable)
        put(&l, ", len=%d)", (int)given);
    else {
        put(&l, ", len=");
        put_unreadable(&l, len);
        put(&l, ")");
    }
    put_result(&l, ret, err);
    if (ret == 0 && len_readable) {
        socklen_t out = *len;
        put(&l, " val=");
        put_optval(&l, level, name, val, out <= given ? out : given);
        put(&l, " outlen=%d", (int)out);
    }
    return finish(&l, ret, err);
}

int tr_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    int ret = setsockopt(fd, level, name, val, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "setsockopt(fd%d, ", fd);
    put_level_name(&l, level, name);
    put(&l, ", ");
    if ((int)len < 0 || len > 4096)
        put(&l, "len=%d", (int)len);
    else {
        put_optval(&l, level, name, val, len);
        if (len != sizeof(int))
            put(&l, " len=%u", (unsigned)len);
    }
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

int tr_setint(int fd, int level, int name, int value)
{
    return tr_setsockopt(fd, level, name, &value, sizeof value);
}

int tr_getint(int fd, int level, int name)
{
    int value = 0;
    socklen_t len = sizeof value;
    if (tr_getsockopt(fd, level, name, &value, &len) < 0)
        return -1;
    return value;
}

int tr_bind4(int fd, const char *addr, unsigned port)
{
    struct sockaddr_in s = sin4(addr, port);
    return tr_bind(fd, SA(&s), sizeof s);
}

int tr_connect4(int fd, const char *addr, unsigned port)
{
    struct sockaddr_in s = sin4(addr, port);
    return tr_connect(fd, SA(&s), sizeof s);
}

/* ---- wrappers: data ------------------------------------------------------- */

static void put_flags(struct line *l, int flags)
{
    put_bits(l, msg_flags, (unsigned)flags);
}

ssize_t tr_send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t ret = send(fd, buf, len, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "send(fd%d, len=%zu ", fd, len);
    put_bytes(&l, buf, len);
    put(&l, ", ");
    put_flags(&l, flags);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

ssize_t tr_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                  socklen_t tolen)
{
    ssize_t ret = sendto(fd, buf, len, flags, to, tolen);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "sendto(fd%d, len=%zu ", fd, len);
    put_bytes(&l, buf, len);
    put(&l, ", ");
    put_flags(&l, flags);
    put(&l, ", ");
    if (to == NULL && tolen == 0)
        put(&l, "NULL");
    else
        put_sockaddr(&l, to, tolen);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

ssize_t tr_sendto4(int fd, const void *buf, size_t len, int flags, const char *addr,
                   unsigned port)
{
    struct sockaddr_in s = sin4(addr, port);
    return tr_sendto(fd, buf, len, flags, SA(&s), sizeof s);
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static void put_msghdr_in(struct line *l, const struct msghdr *m)
{
    if (put_unreadable(l, m))
        return;
    put(l, "{name=");
    if (m->msg_name == NULL)
        put(l, "NULL");
    else
        put_sockaddr(l, m->msg_name, m->msg_namelen);
    /* Beyond UIO_MAXIOV the kernel reads no iovec (EMSGSIZE); neither do we. */
    int iov_readable = m->msg_iov && !is_bad(m->msg_iov) && m->msg_iovlen <= 1024;
    put(l, " iovlen=%zu", (size_t)m->msg_iovlen);
    if (iov_readable) {
        put(l, " len=%zu ", iov_total(m->msg_iov, m->msg_iovlen));
        put_iov_bytes(l, m->msg_iov, m->msg_iovlen, iov_total(m->msg_iov, m->msg_iovlen));
    }
    if (m->msg_controllen) {
        put(l, " controllen=%zu", (size_t)m->msg_controllen);
        put_cmsgs(l, m);
    }
    put(l, "}");
}

ssize_t tr_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    ssize_t ret = sendmsg(fd, msg, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "sendmsg(fd%d, ", fd);
    put_msghdr_in(&l, msg);
    put(&l, ", ");
    put_flags(&l, flags);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

ssize_t tr_recv(int fd, void *buf, size_t len, int flags)
{
    ssize_t ret = recv(fd, buf, len, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "recv(fd%d, len=%zu, ", fd, len);
    put_flags(&l, flags);
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret >= 0) {
        put(&l, " ");
        put_bytes(&l, buf, (size_t)ret < len ? (size_t)ret : len);
    }
    return finish(&l, ret, err);
}

ssize_t tr_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                    socklen_t *fromlen)
{
    socklen_t given = 0;
    int len_readable = fromlen && !is_bad(fromlen);
    if (len_readable)
        given = *fromlen;
    ssize_t ret = recvfrom(fd, buf, len, flags, from, fromlen);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "recvfrom(fd%d, len=%zu, ", fd, len);
    put_flags(&l, flags);
    if (from || fromlen) {
        put(&l, ", fromlen=");
        if (len_readable)
            put(&l, "%u", (unsigned)given);
        else
            put_unreadable(&l, fromlen);
    }
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret >= 0) {
        put(&l, " ");
        put_bytes(&l, buf, (size_t)ret < len ? (size_t)ret : len);
        if (from && len_readable) {
            put(&l, " from=");
            put_sockaddr(&l, from, *fromlen < given ? *fromlen : given);
            if (*fromlen != given)
                put(&l, " outlen=%u", (unsigned)*fromlen);
        }
    }
    return finish(&l, ret, err);
}

static void put_msghdr_out(struct line *l, const struct msghdr *m, socklen_t namelen_given,
                           size_t ret)
{
    if (m->msg_name && !is_bad(m->msg_name)) {
        put(l, " name=");
        put_sockaddr(l, m->msg_name,
                     m->msg_namelen < namelen_given ? m->msg_namelen : namelen_given);
        if (m->msg_namelen != namelen_given)
            put(l, " namelen=%u", (unsigned)m->msg_namelen);
    }
    size_t space = iov_total(m->msg_iov, m->msg_iovlen);
    put(l, " ");
    put_iov_bytes(l, m->msg_iov, m->msg_iovlen, ret < space ? ret : space);
    put(l, " flags=");
    put_flags(l, m->msg_flags);
    if (m->msg_control && !is_bad(m->msg_control)) {
        put(l, " controllen=%zu", (size_t)m->msg_controllen);
        put_cmsgs(l, m);
    }
}

ssize_t tr_recvmsg(int fd, struct msghdr *msg, int flags)
{
    socklen_t namelen_given = 0;
    size_t controllen_given = 0;
    int readable = msg && !is_bad(msg);
    if (readable) {
        namelen_given = msg->msg_namelen;
        controllen_given = msg->msg_controllen;
    }
    ssize_t ret = recvmsg(fd, msg, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "recvmsg(fd%d", fd);
    if (readable) {
        put(&l, ", {iovlen=%zu", (size_t)msg->msg_iovlen);
        if (msg->msg_iov && !is_bad(msg->msg_iov) && msg->msg_iovlen <= 1024)
            put(&l, " len=%zu", iov_total(msg->msg_iov, msg->msg_iovlen));
        if (msg->msg_name)
            put(&l, " namelen=%u", (unsigned)namelen_given);
        if (controllen_given)
            put(&l, " controllen=%zu", controllen_given);
        put(&l, "}");
    } else {
        put(&l, ", ");
        put_unreadable(&l, msg);
    }
    put(&l, ", ");
    put_flags(&l, flags);
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret >= 0 && readable)
        put_msghdr_out(&l, msg, namelen_given, (size_t)ret);
    return finish(&l, ret, err);
}

int tr_sendmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags)
{
    int ret = sendmmsg(fd, msgs, n, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "sendmmsg(fd%d, n=%u, ", fd, n);
    put_flags(&l, flags);
    put(&l, ")");
    put_result(&l, ret, err);
    for (int i = 0; i < ret && msgs; i++)
        put(&l, " [%d]len=%u", i, msgs[i].msg_len);
    return finish(&l, ret, err);
}

int tr_recvmmsg(int fd, struct mmsghdr *msgs, unsigned n, int flags, struct timespec *timeout)
{
    socklen_t namelen_given[64];
    for (unsigned i = 0; i < n && i < 64 && msgs && !is_bad(msgs); i++)
        namelen_given[i] = msgs[i].msg_hdr.msg_namelen;
    int ret = recvmmsg(fd, msgs, n, flags, timeout);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "recvmmsg(fd%d, n=%u, ", fd, n);
    put_flags(&l, flags);
    put(&l, ", timeout=%s)", timeout ? "set" : "NULL");
    put_result(&l, ret, err);
    for (int i = 0; i < ret && i < 64; i++) {
        put(&l, " [%d]len=%u", i, msgs[i].msg_len);
        put_msghdr_out(&l, &msgs[i].msg_hdr, namelen_given[i], msgs[i].msg_len);
    }
    return finish(&l, ret, err);
}

ssize_t tr_read(int fd, void *buf, size_t len)
{
    ssize_t ret = read(fd, buf, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "read(fd%d, len=%zu)", fd, len);
    put_result(&l, ret, err);
    if (ret >= 0) {
        put(&l, " ");
        put_bytes(&l, buf, (size_t)ret);
    }
    return finish(&l, ret, err);
}

ssize_t tr_write(int fd, const void *buf, size_t len)
{
    ssize_t ret = write(fd, buf, len);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "write(fd%d, len=%zu ", fd, len);
    put_bytes(&l, buf, len);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

ssize_t tr_readv(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t ret = readv(fd, iov, iovcnt);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "readv(fd%d, iovcnt=%d", fd, iovcnt);
    if (iov && !is_bad(iov) && iovcnt > 0 && iovcnt <= 1024)
        put(&l, " len=%zu", iov_total(iov, (size_t)iovcnt));
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret >= 0 && iovcnt <= 1024) {
        put(&l, " ");
        put_iov_bytes(&l, iov, (size_t)iovcnt, (size_t)ret);
    }
    return finish(&l, ret, err);
}

ssize_t tr_writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t ret = writev(fd, iov, iovcnt);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "writev(fd%d, iovcnt=%d", fd, iovcnt);
    if (iov && !is_bad(iov) && iovcnt > 0 && iovcnt <= 1024) {
        size_t total = iov_total(iov, (size_t)iovcnt);
        put(&l, " len=%zu ", total);
        put_iov_bytes(&l, iov, (size_t)iovcnt, total);
    }
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

/* ---- wrappers: descriptors ----------------------------------------------- */

int tr_close(int fd)
{
    int ret = close(fd);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "close(fd%d)", fd);
    return finish_with_result(&l, ret, err);
}

int tr_pipe(int fds[2])
{
    int ret = pipe(fds);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "pipe()");
    put_result(&l, ret, err);
    if (ret == 0)
        put(&l, " [fd%d fd%d]", fds[0], fds[1]);
    return finish(&l, ret, err);
}

int tr_dup(int fd)
{
    int ret = dup(fd);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "dup(fd%d)", fd);
    return finish_with_result(&l, ret, err);
}

int tr_dup2(int fd, int newfd)
{
    int ret = dup2(fd, newfd);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "dup2(fd%d, %d)", fd, newfd);
    return finish_with_result(&l, ret, err);
}

int tr_dup3(int fd, int newfd, int flags)
{
    int ret = dup3(fd, newfd, flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "dup3(fd%d, %d, ", fd, newfd);
    put_bits(&l, open_flags, (unsigned)flags);
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

int tr_fcntl(int fd, int cmd, long arg)
{
    int ret;
    int takes_arg = !(cmd == F_GETFD || cmd == F_GETFL || cmd == F_GETOWN || cmd == F_GETSIG);
    ret = takes_arg ? fcntl(fd, cmd, arg) : fcntl(fd, cmd);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "fcntl(fd%d, ", fd);
    put_enum(&l, fcntl_cmds, cmd);
    if (cmd == F_SETFL) {
        put(&l, ", ");
        put_bits(&l, open_flags, (unsigned long)arg);
    } else if (cmd == F_SETFD) {
        put(&l, ", ");
        put_bits(&l, fd_flags, (unsigned long)arg);
    } else if (takes_arg) {
        put(&l, ", %ld", arg);
    }
    put(&l, ")");
    if (ret >= 0 && cmd == F_GETFL) {
        /* Access mode is a value, not a bit set: O_RDONLY is 0. */
        put(&l, " = 0x%x ", ret);
        int mode = ret & O_ACCMODE;
        put(&l, "%s", mode == O_RDONLY ? "O_RDONLY" : mode == O_WRONLY ? "O_WRONLY" : "O_RDWR");
        if (ret & ~O_ACCMODE) {
            put(&l, "|");
            put_bits(&l, open_flags, (unsigned)(ret & ~O_ACCMODE));
        }
    } else if (ret >= 0 && cmd == F_GETFD) {
        put(&l, " = %d ", ret);
        put_bits(&l, fd_flags, (unsigned)ret);
    } else {
        put_result(&l, ret, err);
    }
    return finish(&l, ret, err);
}

int tr_ioctl_int(int fd, unsigned long request, int *arg)
{
    int in = 0;
    int arg_readable = arg && !is_bad(arg);
    if (arg_readable)
        in = *arg;
    int ret = ioctl(fd, request, arg);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "ioctl(fd%d, ", fd);
    put_enum(&l, ioctls, (long)request);
    if (!arg_readable) {
        put(&l, ", ");
        put_unreadable(&l, arg);
    } else if (request == FIONBIO || request == FIOASYNC) {
        put(&l, ", %d", in);
    }
    put(&l, ")");
    put_result(&l, ret, err);
    if (ret >= 0 && arg_readable && request != FIONBIO && request != FIOASYNC)
        put(&l, " val=%d", *arg);
    return finish(&l, ret, err);
}

int tr_ioctl_stamp(int fd, struct timeval *tv)
{
    int ret = ioctl(fd, SIOCGSTAMP, tv);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "ioctl(fd%d, SIOCGSTAMP)", fd);
    put_result(&l, ret, err);
    if (ret >= 0 && tv && !is_bad(tv)) {
        put(&l, " tv=");
        put_timestamp(&l, tv->tv_sec);
    }
    return finish(&l, ret, err);
}

/* ---- wrappers: readiness -------------------------------------------------- */

static void put_pollfds(struct line *l, const struct pollfd *fds, nfds_t n, int results)
{
    put(l, "[");
    for (nfds_t i = 0; i < n && i < 64; i++) {
        put(l, "%sfd%d ", i ? ", " : "", fds[i].fd);
        if (results)
            put_bits(l, poll_bits, (unsigned short)fds[i].revents);
        else
            put_bits(l, poll_bits, (unsigned short)fds[i].events);
    }
    put(l, "]");
}

int tr_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    struct line l = { .len = 0 };
    put(&l, "poll(");
    int readable = fds && !is_bad(fds);
    if (readable)
        put_pollfds(&l, fds, n, 0);
    else
        put_unreadable(&l, fds);
    put(&l, ", %lu, %d)", (unsigned long)n, timeout_ms);
    int ret = poll(fds, n, timeout_ms);
    int err = errno;
    put_result(&l, ret, err);
    if (ret >= 0 && readable) {
        put(&l, " revents=");
        put_pollfds(&l, fds, n, 1);
    }
    return finish(&l, ret, err);
}

int tr_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask)
{
    struct line l = { .len = 0 };
    put(&l, "ppoll(");
    int readable = fds && !is_bad(fds);
    if (readable)
        put_pollfds(&l, fds, n, 0);
    else
        put_unreadable(&l, fds);
    if (timeout)
        put(&l, ", %lu, {%ld.%09ld}, %s)", (unsigned long)n, (long)timeout->tv_sec,
            (long)timeout->tv_nsec, mask ? "mask" : "NULL");
    else
        put(&l, ", %lu, NULL, %s)", (unsigned long)n, mask ? "mask" : "NULL");
    int ret = ppoll(fds, n, timeout, mask);
    int err = errno;
    put_result(&l, ret, err);
    if (ret >= 0 && readable) {
        put(&l, " revents=");
        put_pollfds(&l, fds, n, 1);
    }
    return finish(&l, ret, err);
}

static void put_fdset(struct line *l, int nfds, const fd_set *set)
{
    if (put_unreadable(l, set))
        return;
    put(l, "[");
    const char *sep = "";
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
        if (FD_ISSET(fd, set)) {
            put(l, "%sfd%d", sep, fd);
            sep = " ";
        }
    put(l, "]");
}

static void put_select(struct line *l, int nfds, fd_set *r, fd_set *w, fd_set *e)
{
    put_fdset(l, nfds, r);
    put(l, ", ");
    put_fdset(l, nfds, w);
    put(l, ", ");
    put_fdset(l, nfds, e);
}

int tr_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *timeout)
{
    struct line l = { .len = 0 };
    put(&l, "select(%d, ", nfds);
    put_select(&l, nfds, r, w, e);
    if (timeout)
        put(&l, ", {%ld.%06ld})", (long)timeout->tv_sec, (long)timeout->tv_usec);
    else
        put(&l, ", NULL)");
    int ret = select(nfds, r, w, e, timeout);
    int err = errno;
    put_result(&l, ret, err);
    if (ret >= 0) {
        put(&l, " -> ");
        put_select(&l, nfds, r, w, e);
    }
    return finish(&l, ret, err);
}

int tr_pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *timeout,
               const sigset_t *mask)
{
    struct line l = { .len = 0 };
    put(&l, "pselect(%d, ", nfds);
    put_select(&l, nfds, r, w, e);
    if (timeout)
        put(&l, ", {%ld.%09ld}", (long)timeout->tv_sec, (long)timeout->tv_nsec);
    else
        put(&l, ", NULL");
    put(&l, ", %s)", mask ? "mask" : "NULL");
    int ret = pselect(nfds, r, w, e, timeout, mask);
    int err = errno;
    put_result(&l, ret, err);
    if (ret >= 0) {
        put(&l, " -> ");
        put_select(&l, nfds, r, w, e);
    }
    return finish(&l, ret, err);
}

int tr_epoll_create1(int flags)
{
    int ret = epoll_create1(flags);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "epoll_create1(%s)", flags == EPOLL_CLOEXEC ? "EPOLL_CLOEXEC" : flags ? "?" : "0");
    return finish_with_result(&l, ret, err);
}

int tr_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    int ret = epoll_ctl(epfd, op, fd, ev);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "epoll_ctl(fd%d, ", epfd);
    put_enum(&l, epoll_ops, op);
    put(&l, ", fd%d, ", fd);
    if (!put_unreadable(&l, ev)) {
        put(&l, "{");
        put_bits(&l, epoll_bits, ev->events);
        put(&l, " data=%llu}", (unsigned long long)ev->data.u64);
    }
    put(&l, ")");
    return finish_with_result(&l, ret, err);
}

int tr_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
    int ret = epoll_wait(epfd, evs, max, timeout_ms);
    int err = errno;
    struct line l = { .len = 0 };
    put(&l, "epoll_wait(fd%d, max=%d, %d)", epfd, max, timeout_ms);
    put_result(&l, ret, err);
    if (ret > 0 && !is_bad(evs)) {
        /* Printed sorted by data: the order of events that are ready at the same time
         * is the kernel's ready-list order, an implementation detail no program can
         * rely on. The events themselves are compared exactly. */
        struct epoll_event sorted[64];
        int n = ret < 64 ? ret : 64;
        memcpy(sorted, evs, (size_t)n * sizeof sorted[0]);
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && sorted[j - 1].data.u64 > sorted[j].data.u64; j--) {
                struct epoll_event t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        put(&l, " [");
        for (int i = 0; i < n; i++) {
            put(&l, "%s{", i ? ", " : "");
            put_bits(&l, epoll_bits, sorted[i].events);
            put(&l, " data=%llu}", (unsigned long long)sorted[i].data.u64);
        }
        put(&l, "]");
    }
    return finish(&l, ret, err);
}
