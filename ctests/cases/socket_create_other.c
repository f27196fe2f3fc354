/* socket_create_other: the AF_INET socket types UDP does not serve: SOCK_STREAM,
 * SOCK_RAW, ping sockets (SOCK_DGRAM/IPPROTO_ICMP) and UDP-Lite. Creation only. */
#include "trace.h"

int main(void)
{
    trace_start("socket_create_other");

    note("stream");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    tr_close(fd);
    tr_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
    tr_socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP);
    fd = tr_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    tr_fcntl(fd, F_GETFL, 0);
    tr_fcntl(fd, F_GETFD, 0);
    tr_close(fd);

    note("raw (the case runs as root)");
    fd = tr_socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_RAW, 0);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_RAW, 200);
    tr_close(fd);

    note("SOCK_PACKET (the obsolete packet interface, AF_INET domain)");
    fd = tr_socket(AF_INET, SOCK_PACKET, htons(3));
    if (fd >= 0)
        tr_close(fd);

    note("ping socket: depends on net.ipv4.ping_group_range");
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");
    if (f) {
        char range[64] = "";
        if (fgets(range, sizeof range, f))
            printf("ping_group_range %s", range);
        fclose(f);
    }
    fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd >= 0)
        tr_close(fd);

    note("UDP-Lite");
    fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    if (fd >= 0) {
        tr_getint(fd, SOL_SOCKET, SO_PROTOCOL);
        tr_close(fd);
    }
    return trace_end();
}
