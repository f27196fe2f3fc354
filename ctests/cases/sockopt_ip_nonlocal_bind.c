/* sockopt_ip_nonlocal_bind: net.ipv4.ip_nonlocal_bind = 1 in the case's own network
 * namespace (set before the first socket, since the shim reads the host's sysctls when the
 * first socket is opened; restored at exit): bind accepts an address that is not ours without
 * IP_FREEBIND, and the other address rules stay (multicast, broadcast, the wildcard). */
#include "trace.h"

#define SYSCTL "/proc/sys/net/ipv4/ip_nonlocal_bind"

static char saved[16] = "0\n";

static void write_sysctl(const char *value)
{
    FILE *f = fopen(SYSCTL, "w");
    if (!f) {
        printf("cannot write %s\n", SYSCTL);
        return;
    }
    fputs(value, f);
    fclose(f);
}

static void restore(void)
{
    write_sysctl(saved);
}

int main(void)
{
    trace_start("sockopt_ip_nonlocal_bind");
    FILE *f = fopen(SYSCTL, "r");
    if (f) {
        if (!fgets(saved, sizeof saved, f))
            strcpy(saved, "0\n");
        fclose(f);
    }
    atexit(restore);
    write_sysctl("1\n");

    note("ip_nonlocal_bind=1: any address binds");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_getint(fd, IPPROTO_IP, IP_FREEBIND);
    tr_bind4(fd, "198.18.0.77", 6100);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    tr_getsockname(fd, SA(&sin), &len);
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_close(fd);
    const char *addrs[] = { "8.8.8.8", "198.19.0.2", "239.1.1.1", "198.18.0.255", "0.0.0.0",
                            "127.0.0.9" };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_bind4(fd, addrs[i], 6101);
        len = sizeof sin;
        tr_getsockname(fd, SA(&sin), &len);
        tr_close(fd);
    }
    restore();
    return trace_end();
}
