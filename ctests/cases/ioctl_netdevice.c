/* ioctl_netdevice: the netdevice(7) "get" ioctls on an AF_INET datagram socket, for the
 * host's eth0 (the shim's interface), lo, an alias label, unknown and over-long names:
 * SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR, SIOCGIFINDEX, SIOCGIFNAME,
 * SIOCGIFMTU, SIOCGIFFLAGS, SIOCGIFHWADDR, SIOCGIFTXQLEN, SIOCGIFMETRIC, SIOCGIFMAP,
 * SIOCGIFPFLAGS, SIOCETHTOOL (ETHTOOL_GDRVINFO, ETHTOOL_GLINK). The whole 40-byte ifreq is
 * printed after each call (its union starts as 0xAA), so bytes the kernel leaves alone show
 * too; bad and NULL pointers answer EFAULT. */
#include "trace.h"

#include <linux/ethtool.h>
#include <net/if.h>

struct request {
    unsigned long code;
    const char *name;
};
#define R(x) { x, #x }

static const struct request requests[] = {
    R(SIOCGIFADDR),   R(SIOCGIFNETMASK), R(SIOCGIFBRDADDR), R(SIOCGIFDSTADDR),
    R(SIOCGIFINDEX),  R(SIOCGIFMTU),     R(SIOCGIFFLAGS),   R(SIOCGIFHWADDR),
    R(SIOCGIFTXQLEN), R(SIOCGIFMETRIC),  R(SIOCGIFMAP),     R(SIOCGIFPFLAGS),
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The name's 16 bytes as text up to the first NUL, other bytes as \xNN; then the union. */
static void print_ifreq(const struct ifreq *ifr)
{
    const unsigned char *bytes = (const unsigned char *)ifr;
    printf("  name=\"");
    for (size_t i = 0; i < IFNAMSIZ && bytes[i]; i++)
        printf(bytes[i] >= 0x20 && bytes[i] < 0x7f ? "%c" : "\\x%02x", bytes[i]);
    printf("\" data:");
    for (size_t i = IFNAMSIZ; i < sizeof *ifr; i++)
        printf("%s%02x", i % 4 == 0 ? " " : "", bytes[i]);
    printf("\n");
}

/* One call with `name` in ifr_name and the union prefilled with 0xAA (or `family` as the
 * address's family when nonzero, for devinet's 4.4BSD address match). */
static void get(int fd, const struct request *r, const char *name, int family, const char *addr)
{
    struct ifreq ifr;
    memset(&ifr, 0xaa, sizeof ifr);
    memset(ifr.ifr_name, 0, sizeof ifr.ifr_name);
    memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ));
    if (family) {
        struct sockaddr_in sin = { .sin_family = (sa_family_t)family };
        inet_pton(AF_INET, addr, &sin.sin_addr);
        memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    }
    errno = 0;
    int ret = ioctl(fd, r->code, &ifr);
    int err = errno;
    printf("ioctl(fd%d, %s, \"%.16s\"%s%s) = %d%s%s\n", fd, r->name, name,
           family ? " match " : "", family ? addr : "", ret, ret < 0 ? " " : "",
           ret < 0 ? trace_errno_name(err) : "");
    print_ifreq(&ifr);
}

static void get_name(int fd, int index)
{
    struct ifreq ifr;
    memset(&ifr, 0xaa, sizeof ifr);
    ifr.ifr_ifindex = index;
    errno = 0;
    int ret = ioctl(fd, SIOCGIFNAME, &ifr);
    int err = errno;
    printf("ioctl(fd%d, SIOCGIFNAME, index %d) = %d%s%s\n", fd, index, ret, ret < 0 ? " " : "",
           ret < 0 ? trace_errno_name(err) : "");
    print_ifreq(&ifr);
}

/* SIOCETHTOOL: ifr_data points at the command. Driver name and link state only: versions
 * and bus info would print the running kernel's build. */
static void ethtool(int fd, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    struct ethtool_drvinfo info;
    memset(&info, 0, sizeof info);
    info.cmd = ETHTOOL_GDRVINFO;
    ifr.ifr_data = (char *)&info;
    errno = 0;
    int ret = ioctl(fd, SIOCETHTOOL, &ifr);
    int err = errno;
    printf("ioctl(fd%d, SIOCETHTOOL GDRVINFO, \"%s\") = %d%s%s driver=\"%.32s\"\n", fd, name, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "", info.driver);
    struct ethtool_value link = { .cmd = ETHTOOL_GLINK, .data = 0xaaaa };
    ifr.ifr_data = (char *)&link;
    errno = 0;
    ret = ioctl(fd, SIOCETHTOOL, &ifr);
    err = errno;
    printf("ioctl(fd%d, SIOCETHTOOL GLINK, \"%s\") = %d%s%s link=%u\n", fd, name, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "", link.data);
    ifr.ifr_data = BADPTR;
    errno = 0;
    ret = ioctl(fd, SIOCETHTOOL, &ifr);
    err = errno;
    printf("ioctl(fd%d, SIOCETHTOOL BADPTR, \"%s\") = %d%s%s\n", fd, name, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "");
}

int main(void)
{
    trace_start("ioctl_netdevice");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const char *names[] = { "eth0", "lo", "eth0:1", "lo:0", "nosuch0", "" };

    for (size_t n = 0; n < COUNT(names); n++) {
        note("every get request on \"%s\"", names[n]);
        for (size_t i = 0; i < COUNT(requests); i++)
            get(fd, &requests[i], names[n], 0, NULL);
    }

    note("a 16-byte name without NUL: the kernel reads 15 bytes of it");
    get(fd, &requests[0], "eth0\0\0\0\0\0\0\0\0\0\0\0x", 0, NULL);
    get(fd, &requests[4], "abcdefghijklmnop", 0, NULL);
    get(fd, &requests[4], "eth0", 0, NULL);

    note("devinet's 4.4BSD match: an AF_INET address in the request, ours or another");
    get(fd, &requests[0], "eth0", AF_INET, HOST_ADDR);
    get(fd, &requests[0], "eth0", AF_INET, PEER_ADDR);
    get(fd, &requests[1], "eth0", AF_INET, "127.0.0.1");
    get(fd, &requests[0], "lo", AF_INET, HOST_ADDR);

    note("SIOCGIFNAME by index");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    int eth0_index = ioctl(fd, SIOCGIFINDEX, &ifr) == 0 ? ifr.ifr_ifindex : -1;
    int indexes[] = { 1, eth0_index, 0, -1, 9999 };
    for (size_t i = 0; i < COUNT(indexes); i++)
        get_name(fd, indexes[i]);

    note("SIOCETHTOOL");
    ethtool(fd, "eth0");
    ethtool(fd, "lo");
    ethtool(fd, "nosuch0");

    note("bad and NULL ifreq pointers");
    for (size_t i = 0; i < COUNT(requests); i++) {
        errno = 0;
        int ret = ioctl(fd, requests[i].code, BADPTR);
        int err = errno;
        printf("ioctl(fd%d, %s, BADPTR) = %d %s\n", fd, requests[i].name, ret,
               trace_errno_name(ret < 0 ? err : 0));
        errno = 0;
        ret = ioctl(fd, requests[i].code, NULL);
        err = errno;
        printf("ioctl(fd%d, %s, NULL) = %d %s\n", fd, requests[i].name, ret,
               trace_errno_name(ret < 0 ? err : 0));
    }
    errno = 0;
    int ret = ioctl(fd, SIOCGIFNAME, BADPTR);
    printf("ioctl(fd%d, SIOCGIFNAME, BADPTR) = %d %s\n", fd, ret,
           trace_errno_name(ret < 0 ? errno : 0));
    errno = 0;
    ret = ioctl(fd, SIOCETHTOOL, BADPTR);
    printf("ioctl(fd%d, SIOCETHTOOL, BADPTR) = %d %s\n", fd, ret,
           trace_errno_name(ret < 0 ? errno : 0));

    tr_close(fd);
    return trace_end();
}
