/* cmsg_recv_truncation: put_cmsg's truncation, byte for byte. A datagram through loopback
 * brings IP_PKTINFO (CMSG_SPACE 32), IP_TTL (24) and IP_TOS (24); recvmsg is offered every
 * control length from 0 to 88, and a few with a NULL or short msg_control. The buffer is
 * filled with 0xaa first and dumped whole afterwards, so the trace shows which bytes the
 * kernel wrote (cmsg headers, data), which it left alone (the alignment padding), the
 * msg_controllen it reported and MSG_CTRUNC. Then MSG_PEEK keeps the datagram and a
 * second read gets the same messages; and IP_RETOPTS/IP_RECVOPTS are truncated the same way. */
#include "trace.h"

#define RX_PORT 5031

static int rx, tx;

static void dump(const unsigned char *bytes, size_t len)
{
    printf("  buffer:");
    for (size_t i = 0; i < len; i++)
        printf("%s%02x", i % 8 == 0 ? " " : "", bytes[i]);
    printf("\n");
}

static void receive_with(size_t controllen, int null_control, int flags)
{
    union {
        struct cmsghdr align;
        unsigned char bytes[128];
    } control;
    memset(&control, 0xaa, sizeof control);
    unsigned char data[64];
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = null_control ? NULL : &control,
                        .msg_controllen = controllen };
    ssize_t n = recvmsg(rx, &m, flags);
    int err = errno;
    printf("recvmsg(controllen=%zu%s%s) = %zd%s%s controllen=%zu ctrunc=%d\n", controllen,
           null_control ? " NULL" : "", flags & MSG_PEEK ? " MSG_PEEK" : "", n,
           n < 0 ? " " : "", n < 0 ? trace_errno_name(err) : "", (size_t)m.msg_controllen,
           (m.msg_flags & MSG_CTRUNC) != 0);
    size_t shown = controllen + 8 < sizeof control ? controllen + 8 : sizeof control;
    if (!null_control)
        dump(control.bytes, shown);
}

static void queue_one(void)
{
    tr_send(tx, "t", 1, 0);
    quiet_wait_readable(rx, 2000);
}

int main(void)
{
    trace_start("cmsg_recv_truncation");
    rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(rx, "127.0.0.1", RX_PORT);
    tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(tx, "127.0.0.1", RX_PORT);
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 1);
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 1);
    tr_setint(tx, IPPROTO_IP, IP_TOS, 0x20);

    note("every control length from 0 to 88");
    for (size_t len = 0; len <= 88; len++) {
        queue_one();
        receive_with(len, 0, 0);
    }

    note("msg_control NULL with a length; huge lengths");
    queue_one();
    receive_with(64, 1, 0);
    queue_one();
    receive_with(120, 0, 0);

    note("MSG_PEEK with a short buffer, then the real read");
    queue_one();
    receive_with(40, 0, MSG_PEEK);
    receive_with(80, 0, 0);

    note("only IP_TOS (one byte: CMSG_LEN 17, CMSG_SPACE 24)");
    tr_setint(rx, IPPROTO_IP, IP_PKTINFO, 0);
    tr_setint(rx, IPPROTO_IP, IP_RECVTTL, 0);
    size_t tos_lengths[] = { 16, 17, 18, 23, 24, 25 };
    for (size_t i = 0; i < sizeof tos_lengths / sizeof tos_lengths[0]; i++) {
        queue_one();
        receive_with(tos_lengths[i], 0, 0);
    }
    tr_setint(rx, IPPROTO_IP, IP_RECVTOS, 0);

    note("no flags: nothing to put, the length comes back 0 and no MSG_CTRUNC");
    queue_one();
    receive_with(0, 0, 0);
    queue_one();
    receive_with(7, 0, 0);

    tr_close(tx);
    tr_close(rx);
    return trace_end();
}
