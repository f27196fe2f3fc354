/* sockopt_socket_sweep: every SOL_SOCKET name 0..100 on a fresh UDP socket and a fresh
 * UDP-Lite socket: getsockopt with 4, 64 and 0 bytes (the answer's length and bytes),
 * setsockopt of 0 and of 1 (and the value read back), an empty value and a NULL one. The
 * cookies (SO_COOKIE, SO_NETNS_COOKIE) differ per run and print as "nonzero". */
#include "trace.h"

static int varies(int name)
{
    return name == 57 /* SO_COOKIE */ || name == 71 /* SO_NETNS_COOKIE */;
}

static void get_line(int fd, int name, socklen_t offered)
{
    unsigned char value[64];
    memset(value, 0xaa, sizeof value);
    socklen_t len = offered;
    int r = getsockopt(fd, SOL_SOCKET, name, value, &len);
    if (r < 0) {
        printf(" get%u=%s", offered, trace_errno_name(errno));
        return;
    }
    printf(" get%u=len%u:", offered, len);
    if (varies(name)) {
        int nonzero = 0;
        for (socklen_t i = 0; i < len && i < sizeof value; i++)
            nonzero |= value[i];
        printf("%s", nonzero ? "nonzero" : "zero");
        return;
    }
    for (socklen_t i = 0; i < len && i < sizeof value; i++)
        printf("%02x", value[i]);
}

static void sweep(int protocol)
{
    for (int name = 0; name <= 100; name++) {
        int fd = socket(AF_INET, SOCK_DGRAM, protocol);
        printf("name %d:", name);
        get_line(fd, name, 4);
        get_line(fd, name, 64);
        get_line(fd, name, 0);
        for (int v = 0; v <= 1; v++) {
            close(fd);
            fd = socket(AF_INET, SOCK_DGRAM, protocol);
            int r = setsockopt(fd, SOL_SOCKET, name, &v, sizeof v);
            printf(" set%d=%s", v, r < 0 ? trace_errno_name(errno) : "0");
            if (r == 0) {
                int back = -7;
                socklen_t len = sizeof back;
                if (getsockopt(fd, SOL_SOCKET, name, &back, &len) == 0 && !varies(name))
                    printf("->%d", back);
            }
        }
        int v = 0;
        int r = setsockopt(fd, SOL_SOCKET, name, &v, 0);
        printf(" setlen0=%s", r < 0 ? trace_errno_name(errno) : "0");
        r = setsockopt(fd, SOL_SOCKET, name, NULL, 4);
        printf(" setnull=%s\n", r < 0 ? trace_errno_name(errno) : "0");
        close(fd);
    }
}

int main(void)
{
    trace_start("sockopt_socket_sweep");
    note("UDP");
    sweep(IPPROTO_UDP);
    note("UDP-Lite");
    sweep(IPPROTO_UDPLITE);
    return trace_end();
}
