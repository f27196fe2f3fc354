/* sysctl_defaults: the /proc/sys/net defaults a socket starts from, read when the stack
 * starts. For each per-namespace sysctl the case writes a new value in its world's host
 * namespace (it runs as root there), re-executes itself (a fresh process: under the shim, a
 * fresh start that reads /proc/sys again) to print what a socket sees, then restores the
 * value: ip_default_ttl (IP_TTL), ip_no_pmtu_disc (IP_MTU_DISCOVER), ip_nonlocal_bind (bind
 * to an address not ours), ip_local_port_range (the ports bind(0) picks, and exhaustion),
 * ip_unprivileged_port_start (bind below 1024 without CAP_NET_BIND_SERVICE),
 * igmp_max_memberships (IP_ADD_MEMBERSHIP), igmp_max_msf (IP_ADD_SOURCE_MEMBERSHIP) and
 * net.core.optmem_max (the longest IP_MSFILTER), which are per namespace too. Groups are
 * joined on lo, so no IGMP report reaches the wire (its timing is not this case's subject).
 * net.core.rmem_default/wmem_default/rmem_max/wmem_max are not per namespace on this kernel
 * (a write would change the whole machine): they are only read, and SO_RCVBUF/SO_SNDBUF are
 * compared with them. udp_rmem_min/udp_wmem_min matter only under the host-wide udp_mem
 * pressure, which a case cannot create: they are not exercised here. */
#include "trace.h"
#include "sysctl_switch.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long read_number(const char *path)
{
    char buf[64];
    return sysctl_read(path, buf, sizeof buf) > 0 ? strtol(buf, NULL, 10) : -1;
}

/* ---- the child: what a fresh process's sockets see ---------------------- */

static void drop_capability(int cap)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0)
        return;
    data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
    syscall(SYS_capset, &header, data);
}

static void observe(const char *what)
{
    if (!strcmp(what, "ip_default_ttl") || !strcmp(what, "ip_no_pmtu_disc")) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_getint(fd, IPPROTO_IP, IP_TTL);
        tr_getint(fd, IPPROTO_IP, IP_MTU_DISCOVER);
        tr_close(fd);
    } else if (!strcmp(what, "ip_nonlocal_bind")) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fd, "198.18.0.99", 5000);
        tr_close(fd);
    } else if (!strcmp(what, "ip_local_port_range")) {
        char range[64];
        unsigned low = 0, high = 0;
        if (sysctl_read("/proc/sys/net/ipv4/ip_local_port_range", range, sizeof range) > 0)
            sscanf(range, "%u %u", &low, &high);
        int fds[3];
        int ports[3] = { -1, -1, -1 };
        for (int i = 0; i < 3; i++) {
            fds[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
            if (tr_bind4(fds[i], "0.0.0.0", 0) == 0)
                ports[i] = quiet_local_port(fds[i]);
        }
        check(ports[0] >= (int)low && ports[0] <= (int)high, "first port inside %u-%u", low, high);
        check(ports[1] >= (int)low && ports[1] <= (int)high && ports[1] != ports[0],
              "second port inside %u-%u and different", low, high);
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in to = sin4(PEER_ADDR, PORT_DISCARD);
        tr_connect(fd, SA(&to), sizeof to); /* autobind on connect, same range */
        for (int i = 0; i < 3; i++)
            tr_close(fds[i]);
        tr_close(fd);
    } else if (!strcmp(what, "igmp_max_memberships")) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        const char *groups[] = { "224.1.1.1", "224.1.1.2", "224.1.1.3" };
        for (int i = 0; i < 3; i++) {
            struct ip_mreq mreq;
            inet_pton(AF_INET, groups[i], &mreq.imr_multiaddr);
            inet_pton(AF_INET, "127.0.0.1", &mreq.imr_interface);
            tr_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq);
        }
        tr_close(fd);
    } else if (!strcmp(what, "igmp_max_msf")) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        const char *sources[] = { "127.0.0.5", "127.0.0.6", "127.0.0.7" };
        for (int i = 0; i < 3; i++) {
            struct ip_mreq_source mreq;
            inet_pton(AF_INET, "232.1.1.1", &mreq.imr_multiaddr);
            inet_pton(AF_INET, "127.0.0.1", &mreq.imr_interface);
            inet_pton(AF_INET, sources[i], &mreq.imr_sourceaddr);
            tr_setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &mreq, sizeof mreq);
        }
        tr_close(fd);
    } else if (!strcmp(what, "optmem_max")) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        static unsigned char filter[2048];
        struct ip_msfilter *msf = (struct ip_msfilter *)filter;
        inet_pton(AF_INET, "224.1.1.1", &msf->imsf_multiaddr);
        inet_pton(AF_INET, "127.0.0.1", &msf->imsf_interface);
        msf->imsf_fmode = MCAST_INCLUDE;
        msf->imsf_numsrc = 0;
        tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, filter, 2048);
        tr_setsockopt(fd, IPPROTO_IP, IP_MSFILTER, filter, 1000);
        tr_close(fd);
    } else if (!strcmp(what, "ip_unprivileged_port_start")) {
        drop_capability(CAP_NET_BIND_SERVICE);
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fd, "0.0.0.0", 600);
        tr_close(fd);
        fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fd, "0.0.0.0", 400);
        tr_close(fd);
    }
}

/* ---- the parent ---------------------------------------------------------- */

static void run_child(const char *what)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "sysctl_defaults", "observe", (char *)what, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        printf("child for %s: could not run\n", what);
    else
        printf("child for %s: exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Writes `value` into /proc/sys/net/DIR/NAME, runs the child, restores the old value. */
static void with_value_in(const char *dir, const char *name, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/%s/%s", dir, name);
    char old[64];
    if (sysctl_save(path, old, sizeof old) <= 0) {
        printf("%s: unreadable\n", name);
        return;
    }
    int ret = sysctl_write(path, value);
    note("net.%s.%s = %s (write %s)", dir, name, value, ret == 0 ? "ok" : "failed");
    run_child(name);
    sysctl_restore();
    char now[64];
    sysctl_read(path, now, sizeof now);
    check(!strcmp(now, old), "net.%s.%s restored", dir, name);
}

static void with_value(const char *name, const char *value)
{
    with_value_in("ipv4", name, value);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "observe")) {
        trace_start("sysctl_defaults (fresh process)");
        observe(argv[2]);
        return trace_end();
    }
    trace_start("sysctl_defaults");
    sysctl_restore_on_signals();

    note("net.core buffers: not per namespace, read only");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int rcvbuf = tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    int sndbuf = tr_getint(fd, SOL_SOCKET, SO_SNDBUF);
    check(rcvbuf == read_number("/proc/sys/net/core/rmem_default"), "SO_RCVBUF == rmem_default");
    check(sndbuf == read_number("/proc/sys/net/core/wmem_default"), "SO_SNDBUF == wmem_default");
    int huge = 1 << 30;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &huge, sizeof huge);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &huge, sizeof huge);
    rcvbuf = tr_getint(fd, SOL_SOCKET, SO_RCVBUF);
    sndbuf = tr_getint(fd, SOL_SOCKET, SO_SNDBUF);
    check(rcvbuf == 2 * read_number("/proc/sys/net/core/rmem_max"), "SO_RCVBUF 1 GiB == 2 * rmem_max");
    check(sndbuf == 2 * read_number("/proc/sys/net/core/wmem_max"), "SO_SNDBUF 1 GiB == 2 * wmem_max");
    tr_close(fd);

    note("the defaults as they are");
    const char *names[] = { "ip_default_ttl",       "ip_nonlocal_bind",
                            "ip_local_port_range",  "ip_unprivileged_port_start",
                            "igmp_max_memberships", "igmp_max_msf",
                            "optmem_max" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        run_child(names[i]);

    with_value("ip_default_ttl", "77");
    with_value("ip_default_ttl", "1");
    with_value("ip_no_pmtu_disc", "1");
    with_value("ip_no_pmtu_disc", "3");
    with_value("ip_nonlocal_bind", "1");
    with_value("ip_local_port_range", "40000 40001");
    with_value("ip_unprivileged_port_start", "500");
    with_value("ip_unprivileged_port_start", "0");
    with_value("igmp_max_memberships", "1");
    with_value("igmp_max_msf", "1");
    with_value_in("core", "optmem_max", "1024");
    return trace_end();
}
