/* ioctl_netdevice_set: the netdevice(7) SIOCSIF* requests on an AF_INET datagram socket.
 * With CAP_NET_ADMIN (the case runs as root) only requests that change nothing: a wrong
 * address family (EINVAL), an alias label without an address (EADDRNOTAVAIL), an unknown
 * device (ENODEV), SIOCSIFMETRIC (EOPNOTSUPP), flags/MTU/txqlen set to their current values,
 * bad pointers (EFAULT). Then CAP_NET_ADMIN is dropped from the effective set and every set
 * request answers as the kernel answers an unprivileged caller, while the gets still work. */
#include "trace.h"

#include <linux/capability.h>
#include <net/if.h>
#include <sys/syscall.h>

struct request {
    unsigned long code;
    const char *name;
};
#define R(x) { x, #x }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct request address_sets[] = {
    R(SIOCSIFADDR), R(SIOCSIFNETMASK), R(SIOCSIFBRDADDR), R(SIOCSIFDSTADDR),
};
static const struct request device_sets[] = {
    R(SIOCSIFFLAGS),  R(SIOCSIFMTU),    R(SIOCSIFHWADDR), R(SIOCSIFTXQLEN),
    R(SIOCSIFMETRIC), R(SIOCSIFNAME),   R(SIOCSIFMAP),    R(SIOCADDMULTI),
    R(SIOCDELMULTI),  R(SIOCSIFPFLAGS), R(SIOCSIFSLAVE),  R(SIOCSIFHWBROADCAST),
};

/* One request: ifr_name = name, ifr_addr = {family, addr} (family 0: the union is zero). */
static int set_addr(int fd, const struct request *r, const char *name, int family,
                    const char *addr)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (family) {
        struct sockaddr_in sin = { .sin_family = (sa_family_t)family };
        inet_pton(AF_INET, addr, &sin.sin_addr);
        memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    }
    errno = 0;
    int ret = ioctl(fd, r->code, &ifr);
    int err = errno;
    printf("ioctl(fd%d, %s, \"%s\", family %d %s) = %d%s%s\n", fd, r->name, name, family,
           family ? addr : "-", ret, ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "");
    return ret;
}

/* A request whose union holds one int (flags, MTU, txqlen, metric). */
static void set_int(int fd, const struct request *r, const char *name, int value)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (r->code == SIOCSIFFLAGS)
        ifr.ifr_flags = (short)value;
    else
        ifr.ifr_ifru.ifru_ivalue = value;
    errno = 0;
    int ret = ioctl(fd, r->code, &ifr);
    int err = errno;
    printf("ioctl(fd%d, %s, \"%s\", %#x) = %d%s%s\n", fd, r->name, name, value, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(err) : "");
}

static int get_int(int fd, unsigned long code, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, code, &ifr) < 0)
        return -1;
    return code == SIOCGIFFLAGS ? (unsigned short)ifr.ifr_flags : ifr.ifr_ifru.ifru_ivalue;
}

static void bad_pointers(int fd)
{
    const struct request *lists[] = { address_sets, device_sets };
    size_t counts[] = { COUNT(address_sets), COUNT(device_sets) };
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            errno = 0;
            int ret = ioctl(fd, lists[l][i].code, BADPTR);
            printf("ioctl(fd%d, %s, BADPTR) = %d %s\n", fd, lists[l][i].name, ret,
                   trace_errno_name(ret < 0 ? errno : 0));
        }
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

int main(void)
{
    trace_start("ioctl_netdevice_set");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("with CAP_NET_ADMIN: address sets that stop before changing anything");
    for (size_t i = 0; i < COUNT(address_sets); i++) {
        set_addr(fd, &address_sets[i], "eth0", 0, NULL);
        set_addr(fd, &address_sets[i], "eth0", AF_INET6, "0.0.0.0");
        set_addr(fd, &address_sets[i], "nosuch0", AF_INET, "198.18.0.9");
        set_addr(fd, &address_sets[i], "lo", 0, NULL);
        if (address_sets[i].code != SIOCSIFADDR)
            set_addr(fd, &address_sets[i], "eth0:9", AF_INET, "198.18.0.9");
    }
    note("with CAP_NET_ADMIN: device sets to their current values, alias flags, metric");
    int flags = get_int(fd, SIOCGIFFLAGS, "eth0");
    set_int(fd, &device_sets[0], "eth0", flags);
    set_int(fd, &device_sets[0], "eth0:9", flags);
    set_int(fd, &device_sets[0], "eth0:9", flags & ~IFF_UP);
    set_int(fd, &device_sets[1], "eth0", get_int(fd, SIOCGIFMTU, "eth0"));
    set_int(fd, &device_sets[3], "eth0", get_int(fd, SIOCGIFTXQLEN, "eth0"));
    set_int(fd, &device_sets[4], "eth0", 0);
    set_int(fd, &device_sets[0], "nosuch0", flags);
    set_int(fd, &device_sets[1], "nosuch0", 1500);
    bad_pointers(fd);

    note("without CAP_NET_ADMIN");
    drop_net_admin();
    const char *names[] = { "eth0", "lo", "eth0:1", "nosuch0" };
    for (size_t n = 0; n < COUNT(names); n++) {
        for (size_t i = 0; i < COUNT(address_sets); i++) {
            set_addr(fd, &address_sets[i], names[n], AF_INET, "198.18.0.9");
            set_addr(fd, &address_sets[i], names[n], 0, NULL);
        }
        for (size_t i = 0; i < COUNT(device_sets); i++)
            set_int(fd, &device_sets[i], names[n], 0);
    }
    bad_pointers(fd);
    note("gets still answer");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    int ret = ioctl(fd, SIOCGIFADDR, &ifr);
    char text[INET_ADDRSTRLEN] = "-";
    if (ret == 0)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, text, sizeof text);
    printf("ioctl(fd%d, SIOCGIFADDR, \"eth0\") = %d %s\n", fd, ret, text);
    printf("flags of eth0 unchanged: %s\n", get_int(fd, SIOCGIFFLAGS, "eth0") == flags ? "yes" : "no");

    tr_close(fd);
    return trace_end();
}
