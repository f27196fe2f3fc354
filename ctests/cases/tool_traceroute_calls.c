/* tool_traceroute_calls: the system calls traceroute(8) 2.1.2 makes for its UDP probes (strace
 * of a native run), replayed through the trace wrappers so that every field it reads is
 * compared, not only what it prints. Per probe: socket, bind(0.0.0.0:0) with a 28-byte
 * address length (sizeof sockaddr_in6), IP_MTU_DISCOVER=DONT, SO_TIMESTAMP, IP_RECVTTL,
 * O_NONBLOCK, IP_TTL, connect (28 bytes), IP_RECVERR after connect, a 32-byte send. Three
 * probes at once: TTL 1 (time exceeded from the router), TTL 2 to a closed port (port
 * unreachable from the remote), TTL 2 to the remote's UDP echo (a reply as data). Then
 * poll(POLLIN|POLLERR) on all three and recvmsg with a 28-byte name, a 1280-byte buffer and
 * MSG_ERRQUEUE after POLLERR (SO_TIMESTAMP, IP_TTL, IP_RECVERR control messages), without it
 * after POLLIN (SO_TIMESTAMP, IP_TTL). */
#include "tool_run.h"

#include <fcntl.h>

static int probe(int ttl, unsigned port)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    struct sockaddr_storage any = { 0 };
    struct sockaddr_in *sin = (struct sockaddr_in *)&any;
    sin->sin_family = AF_INET;
    tr_bind(fd, SA(&any), 28);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    tr_setint(fd, SOL_SOCKET, SO_TIMESTAMP, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK);
    tr_setint(fd, IPPROTO_IP, IP_TTL, ttl);
    struct sockaddr_storage to = { 0 };
    *(struct sockaddr_in *)&to = sin4(REMOTE_ADDR, port);
    tr_connect(fd, SA(&to), 28);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_sendto(fd, "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_", 32, 0, NULL, 0);
    return fd;
}

static struct timeval before_sending;

/* The SO_TIMESTAMP control message of MSG, if any, lies between the first send and now:
 * traceroute subtracts its send time from it to print the round-trip time. */
static void check_stamp(struct msghdr *msg)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_TIMESTAMP)
            continue;
        struct timeval stamp;
        memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
        check(timercmp(&stamp, &before_sending, >=) && timercmp(&stamp, &now, <=),
              "SO_TIMESTAMP after the send and before the recvmsg");
    }
}

static void receive(int fd, int flags)
{
    char data[1280], control[1024];
    struct sockaddr_storage name;
    struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
    struct msghdr msg = {
        .msg_name = &name, .msg_namelen = 28, .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control, .msg_controllen = sizeof control,
    };
    if (tr_recvmsg(fd, &msg, flags) >= 0)
        check_stamp(&msg);
}

int main(void)
{
    trace_start("tool_traceroute_calls");
    tool_fresh_host_caches();
    /* One time exceeded from the router, one port unreachable from the remote. */
    tool_wait_for_icmp_tokens(1);
    trace_fixed_port(33434); /* traceroute's base port, in the ephemeral range */
    trace_fixed_port(33435);
    gettimeofday(&before_sending, NULL);

    note("three probes, as traceroute sends them");
    int fds[3];
    fds[0] = probe(1, 33434);
    fds[1] = probe(2, 33435);
    fds[2] = probe(2, PORT_ECHO);

    note("wait for all three answers, then poll as traceroute does");
    for (int i = 0; i < 3; i++)
        quiet_wait_readable(fds[i], 3000);
    struct pollfd p[3];
    for (int i = 0; i < 3; i++)
        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN | POLLERR };
    tr_poll(p, 3, 5000);

    note("errors from the error queue, the echo as data");
    for (int i = 0; i < 3; i++) {
        receive(fds[i], (p[i].revents & POLLERR) ? MSG_ERRQUEUE : 0);
        receive(fds[i], MSG_ERRQUEUE);
        tr_getint(fds[i], SOL_SOCKET, SO_ERROR);
    }
    note("the connected socket with a port unreachable: sk_err was cleared with its entry");
    receive(fds[1], 0);
    for (int i = 0; i < 3; i++)
        tr_close(fds[i]);
    return trace_end();
}
