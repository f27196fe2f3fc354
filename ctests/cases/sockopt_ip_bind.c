/* sockopt_ip_bind: what the ip(7) options do to bind, connect and the port choice:
 * IP_FREEBIND and IP_TRANSPARENT (binding an address that is not ours, then sending from
 * it), IP_TRANSPARENT's capability check (CAP_NET_ADMIN or CAP_NET_RAW, dropped for a
 * moment), IP_BIND_ADDRESS_NO_PORT (bind takes the address, connect or send the port),
 * IP_LOCAL_PORT_RANGE (the ephemeral port inside the socket's own range), IP_PROTOCOL (reads
 * the local port on a UDP socket). net.ipv4.ip_nonlocal_bind has its own case,
 * sockopt_ip_nonlocal_bind. */
#include "trace.h"

#include <linux/capability.h>
#include <sys/syscall.h>

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif

#define NOT_OURS "198.18.0.77"

static void show_name(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    tr_getsockname(fd, SA(&sin), &len);
}

/* Sets the effective capability set to the permitted one minus `drop` (the permitted set
 * keeps them all, so they come back with drop = 0). */
static int set_effective(unsigned drop)
{
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return -1;
    data[0].effective = data[0].permitted & ~drop;
    return (int)syscall(SYS_capset, &header, data);
}

static void nonlocal(void)
{
    note("an address that is not ours: refused, then IP_FREEBIND, then IP_TRANSPARENT");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, NOT_OURS, 6001);
    tr_setint(fd, IPPROTO_IP, IP_FREEBIND, 1);
    tr_bind4(fd, NOT_OURS, 6001);
    show_name(fd);
    note("sending from a freely bound address needs IP_TRANSPARENT");
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_TRANSPARENT, 1);
    tr_getint(fd, IPPROTO_IP, IP_TRANSPARENT);
    tr_bind4(fd, NOT_OURS, 6002);
    show_name(fd);
    tr_sendto4(fd, "spoofed", 7, 0, PEER_ADDR, PORT_DISCARD);
    tr_setint(fd, IPPROTO_IP, IP_FREEBIND, 0);
    tr_close(fd);

    note("freebind cleared again before bind");
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_FREEBIND, 1);
    tr_setint(fd, IPPROTO_IP, IP_FREEBIND, 0);
    tr_bind4(fd, NOT_OURS, 6003);
    unsigned char one = 1;
    tr_setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, 1);
    tr_bind4(fd, "8.8.8.8", 6003);
    show_name(fd);
    tr_close(fd);

    note("IP_TRANSPARENT without CAP_NET_ADMIN and CAP_NET_RAW");
    int before = tr_socket(AF_INET, SOCK_DGRAM, 0);
    if (set_effective(1u << CAP_NET_ADMIN | 1u << CAP_NET_RAW) != 0)
        printf("capset failed\n");
    int fd2 = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd2, IPPROTO_IP, IP_TRANSPARENT, 1);
    tr_setint(fd2, IPPROTO_IP, IP_TRANSPARENT, 0);
    tr_setsockopt(fd2, IPPROTO_IP, IP_TRANSPARENT, NULL, 0);
    unsigned char two = 2;
    tr_setsockopt(fd2, IPPROTO_IP, IP_TRANSPARENT, &two, 1);
    tr_getint(fd2, IPPROTO_IP, IP_TRANSPARENT);
    tr_setint(fd2, IPPROTO_IP, IP_FREEBIND, 1);
    tr_getint(fd2, IPPROTO_IP, IP_FREEBIND);
    tr_close(fd2);
    note("either capability is enough");
    const unsigned drops[] = { 1u << CAP_NET_ADMIN, 1u << CAP_NET_RAW };
    for (size_t i = 0; i < 2; i++) {
        if (set_effective(drops[i]) != 0)
            printf("capset failed\n");
        int fd3 = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(fd3, IPPROTO_IP, IP_TRANSPARENT, 1);
        tr_getint(fd3, IPPROTO_IP, IP_TRANSPARENT);
        tr_close(fd3);
    }
    if (set_effective(0) != 0)
        printf("capset failed\n");
    tr_close(before);
}

static void bind_address_no_port(void)
{
    note("IP_BIND_ADDRESS_NO_PORT: bind keeps the address, the port comes later");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    tr_bind4(fd, HOST_ADDR, 0);
    show_name(fd);
    tr_getint(fd, IPPROTO_IP, IP_PROTOCOL);
    tr_bind4(fd, "127.0.0.1", 0);
    show_name(fd);
    tr_bind4(fd, HOST_ADDR, 6010);
    show_name(fd);
    tr_bind4(fd, HOST_ADDR, 6011);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    tr_bind4(fd, HOST_ADDR, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    show_name(fd);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    tr_bind4(fd, "127.0.0.1", 0);
    tr_sendto4(fd, "x", 1, 0, "127.0.0.1", 9);
    show_name(fd);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    tr_bind4(fd, "0.0.0.0", 0);
    show_name(fd);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    show_name(fd);
    tr_close(fd);
}

static void local_port_range(void)
{
    note("IP_LOCAL_PORT_RANGE: one port");
    trace_fixed_port(45000);
    trace_fixed_port(32768);
    trace_fixed_port(60999);
    int a = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int b = tr_socket(AF_INET, SOCK_DGRAM, 0);
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    const int one_port = 45000 | 45000 << 16;
    tr_setint(a, IPPROTO_IP, IP_LOCAL_PORT_RANGE, one_port);
    tr_setint(b, IPPROTO_IP, IP_LOCAL_PORT_RANGE, one_port);
    tr_setint(c, IPPROTO_IP, IP_LOCAL_PORT_RANGE, one_port);
    tr_bind4(a, "0.0.0.0", 0);
    show_name(a);
    tr_getint(a, IPPROTO_IP, IP_PROTOCOL);
    tr_bind4(b, "0.0.0.0", 0);
    tr_sendto4(b, "x", 1, 0, "127.0.0.1", 9);
    tr_connect4(c, PEER_ADDR, PORT_DISCARD);
    note("a specific address shares the port with nobody on the wildcard");
    tr_close(a);
    tr_bind4(b, HOST_ADDR, 0);
    show_name(b);
    tr_connect4(c, PEER_ADDR, PORT_DISCARD);
    show_name(c);
    tr_close(b);
    tr_close(c);

    note("IP_LOCAL_PORT_RANGE: only one bound set, or bounds outside the sysctl's range");
    const int ranges[] = { 0 | 32768 << 16, 60999, 1000 | 2000 << 16, 50000 | 0x7fff << 16,
                           40000 | 30000 << 16 };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, ranges[i]);
        tr_bind4(fd, "0.0.0.0", 0);
        show_name(fd);
        tr_close(fd);
    }
    note("an explicit port ignores the range");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, one_port);
    tr_bind4(fd, "0.0.0.0", 6020);
    show_name(fd);
    tr_getint(fd, IPPROTO_IP, IP_PROTOCOL);
    unsigned char byte[4] = { 0xee, 0xee, 0xee, 0xee };
    socklen_t len = 2;
    tr_getsockopt(fd, IPPROTO_IP, IP_PROTOCOL, byte, &len);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "0.0.0.0", 200);
    len = 2;
    tr_getsockopt(fd, IPPROTO_IP, IP_PROTOCOL, byte, &len);
    tr_close(fd);
}

int main(void)
{
    trace_start("sockopt_ip_bind");
    nonlocal();
    bind_address_no_port();
    local_port_range();
    return trace_end();
}
