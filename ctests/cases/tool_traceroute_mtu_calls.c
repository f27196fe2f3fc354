/* tool_traceroute_mtu_calls: the system calls of `traceroute --mtu` (strace of a native run)
 * replayed through the trace wrappers: a connected socket with IP_MTU_DISCOVER=PROBE,
 * SO_TIMESTAMP, IP_RECVTTL, IP_RECVERR; a 64972-byte send fails with EMSGSIZE and queues a
 * local error (name = the connected peer, no data, SO_TIMESTAMP stamped at the recvmsg, no
 * IP_TTL, IP_RECVERR with the device MTU and an AF_UNSPEC offender); IP_MTU; a 1472-byte
 * probe at TTL 2 gets fragmentation needed (MTU 1400) from the router with 520 bytes of
 * quoted payload; a new socket's IP_MTU then shows the path MTU the host learnt, PROBE still
 * sends 1500 bytes, the error that comes back is reported by the next send, and a 1372-byte
 * probe reaches the remote's closed port. */
#include "tool_run.h"

static struct timeval before_sending;

static void receive_error(int fd)
{
    static char data[1280];
    char control[1024];
    struct sockaddr_storage name;
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
    struct msghdr msg = {
        .msg_name = &name, .msg_namelen = 28, .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof control,
    };
    if (tr_recvmsg(fd, &msg, MSG_ERRQUEUE) < 0)
        return;
    struct timeval now;
    gettimeofday(&now, NULL);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMP)
            continue;
        struct timeval stamp;
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        check(timercmp(&stamp, &before_sending, >=) && timercmp(&stamp, &now, <=),
              "SO_TIMESTAMP after the send and before the recvmsg");
    }
}

static int probe_socket(int ttl, unsigned port)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_storage any = { 0 };
    ((struct sockaddr_in *)&any)->sin_family = AF_INET;
    tr_bind(fd, SA(&any), 28);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK);
    tr_setint(fd, IPPROTO_IP, IP_TTL, ttl);
    struct sockaddr_storage to = { 0 };
    *(struct sockaddr_in *)&to = sin4(REMOTE_ADDR, port);
    tr_connect(fd, SA(&to), 28);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    return fd;
}

static void wait_and_poll(int fd)
{
    quiet_wait_readable(fd, 3000);
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLERR };
    tr_poll(&p, 1, 5000);
}

int main(void)
{
    trace_start("tool_traceroute_mtu_calls");
    tool_fresh_host_caches();
    /* One port unreachable from the remote; fragmentation needed is not rate limited. */
    tool_wait_for_icmp_tokens(1);
    for (unsigned port = 33434; port <= 33436; port++)
        trace_fixed_port(port); /* traceroute's base port, in the ephemeral range */
    gettimeofday(&before_sending, NULL);
    static char payload[64972];
    memset(payload, '@', sizeof payload);

    note("a probe larger than the device MTU with PROBE: a local error");
    int fd = probe_socket(1, 33434);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_send(fd, payload, sizeof payload, 0);
    wait_and_poll(fd);
    receive_error(fd);
    receive_error(fd);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);

    note("1472 bytes at TTL 2: fragmentation needed from the router");
    fd = probe_socket(2, 33435);
    tr_send(fd, payload, 1472, 0);
    wait_and_poll(fd);
    receive_error(fd);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);

    note("a new socket to the same destination: the path MTU the host learnt");
    fd = probe_socket(2, 33436);
    tr_getint(fd, IPPROTO_IP, IP_MTU);
    tr_send(fd, payload, 1472, 0); /* PROBE ignores the path MTU: 1500 bytes leave */
    wait_and_poll(fd);
    note("the next send reports the pending error (sock_alloc_send_pskb's sock_error)");
    tr_send(fd, payload, 1372, 0);
    receive_error(fd);
    tr_send(fd, payload, 1372, 0);
    wait_and_poll(fd);
    receive_error(fd);
    receive_error(fd);
    tr_close(fd);
    return trace_end();
}
