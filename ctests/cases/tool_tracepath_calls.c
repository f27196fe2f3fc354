/* tool_tracepath_calls: the system calls tracepath(8) makes (iputils 20221126, strace of a
 * native run), replayed through the trace wrappers so that every field the tool reads is
 * compared, not only what it prints: IP_MTU_DISCOVER=DO, IP_RECVERR, IP_RECVTTL, IP_TTL; a
 * 65507-byte probe (local EMSGSIZE, queued with the device MTU, no payload, no IP_TTL, offender
 * AF_UNSPEC); 1472-byte probes to the remote answered by time exceeded (TTL 1) and
 * fragmentation needed (TTL 2, MTU 1400) from the router; a 1372-byte probe answered by the
 * remote's port unreachable. After each: select() for readability, recvfrom(MSG_DONTWAIT)
 * answering the pending error of this UNCONNECTED socket (IP_RECVERR sets sk_err for every
 * error), then recvmsg(MSG_ERRQUEUE) with tracepath's 24-byte buffer (MSG_TRUNC) and its
 * 128-byte name, then EAGAIN. The payloads are a fixed pattern instead of tracepath's times. */
#include "tool_run.h"

static void wait_and_read_errors(int fd, size_t data_room)
{
    quiet_wait_readable(fd, 3000);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    struct timeval one_second = { .tv_sec = 1 };
    tr_select(fd + 1, &readable, NULL, NULL, &one_second);

    static char data[1500];
    tr_recvfrom(fd, data, data_room, MSG_DONTWAIT, NULL, NULL);

    char ahead[24], control[512];
    struct sockaddr_storage name;
    for (int i = 0; i < 2; i++) {
        struct iovec iov = { .iov_base = ahead, .iov_len = sizeof ahead };
        struct msghdr msg = {
            .msg_name = &name, .msg_namelen = 128, .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control, .msg_controllen = sizeof control,
        };
        tr_recvmsg(fd, &msg, MSG_ERRQUEUE);
    }
}

int main(void)
{
    trace_start("tool_tracepath_calls");
    tool_fresh_host_caches();
    /* One time exceeded from the router, one port unreachable from the remote (fragmentation
     * needed is not rate limited): one token in each bucket is enough. */
    tool_wait_for_icmp_tokens(1);
    for (unsigned port = 44444; port <= 44447; port++)
        trace_fixed_port(port); /* tracepath's base port, in the ephemeral range */

    static char probe[65507];
    trace_fill(probe, sizeof probe, 44);

    int fd = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
    tr_setint(fd, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(fd, IPPROTO_IP, IP_TTL, 1);

    note("the first probe is as large as UDP allows: a local EMSGSIZE, queued");
    tr_sendto4(fd, probe, sizeof probe, 0, REMOTE_ADDR, 44444);
    char ahead[24], control[512];
    struct sockaddr_storage name;
    for (int i = 0; i < 2; i++) {
        struct iovec iov = { .iov_base = ahead, .iov_len = sizeof ahead };
        struct msghdr msg = {
            .msg_name = &name, .msg_namelen = 128, .msg_iov = &iov, .msg_iovlen = 1,
            .msg_control = control, .msg_controllen = sizeof control,
        };
        tr_recvmsg(fd, &msg, MSG_ERRQUEUE);
    }
    tr_getint(fd, IPPROTO_IP, IP_MTU);

    note("hop 1: time exceeded from the router");
    tr_sendto4(fd, probe, 1472, 0, REMOTE_ADDR, 44444);
    wait_and_read_errors(fd, 1500);

    note("hop 2: the router cannot forward 1500 bytes onto the 1400-byte link");
    tr_setint(fd, IPPROTO_IP, IP_TTL, 2);
    tr_sendto4(fd, probe, 1472, 0, REMOTE_ADDR, 44446);
    wait_and_read_errors(fd, 1500);

    note("hop 2 again with the path MTU: port unreachable from the remote");
    tr_sendto4(fd, probe, 1372, 0, REMOTE_ADDR, 44447);
    wait_and_read_errors(fd, 1400);

    note("nothing left");
    tr_recvfrom(fd, probe, 1400, MSG_DONTWAIT, NULL, NULL);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);
    return trace_end();
}
