/* close_range: close_range(2) and closefrom(3) over bound UDP sockets, then binding
 * the same ports again (the ports must be free: the sockets are gone), fd numbers
 * reused from the bottom; CLOSE_RANGE_CLOEXEC (nothing closed, FD_CLOEXEC set), a
 * range that keeps one socket, a socket kept alive by a dup outside the range
 * (EADDRINUSE), bad flags and first > last (EINVAL), and fclose of an fdopen'ed socket. */
#include "trace.h"

#include <linux/close_range.h>

#define PORT_A 9251
#define PORT_B 9252
#define PORT_C 9253

static int bound_socket(unsigned port)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_bind4(fd, "127.0.0.1", port);
    return fd;
}

static void call_close_range(unsigned first, unsigned last, int flags, const char *text)
{
    errno = 0;
    int r = close_range(first, last, (unsigned)flags);
    printf("close_range(%u, %s, %s) = %d%s%s\n", first, text,
           flags == 0 ? "0"
           : flags == CLOSE_RANGE_CLOEXEC ? "CLOSE_RANGE_CLOEXEC"
           : flags == CLOSE_RANGE_UNSHARE ? "CLOSE_RANGE_UNSHARE"
                                          : "0x100",
           r, r < 0 ? " " : "", r < 0 ? trace_errno_name(errno) : "");
}

int main(void)
{
    trace_start("close_range");
    unsigned char buf[16];

    note("close_range(3, ~0U) closes every socket; the ports are free again");
    int a = bound_socket(PORT_A);
    int b = bound_socket(PORT_B);
    call_close_range(3, ~0U, 0, "~0U");
    tr_fcntl(a, F_GETFD, 0);
    tr_send(b, "x", 1, 0);
    a = bound_socket(PORT_A);
    b = bound_socket(PORT_B);

    note("CLOSE_RANGE_CLOEXEC closes nothing");
    call_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC, "~0U");
    tr_fcntl(a, F_GETFD, 0);
    tr_fcntl(b, F_GETFD, 0);
    int probe = bound_socket(PORT_A);
    if (probe >= 0)
        tr_close(probe);

    note("a range that leaves the first socket open");
    call_close_range((unsigned)b, (unsigned)b + 10, 0, "b+10");
    tr_fcntl(a, F_GETFD, 0);
    tr_fcntl(b, F_GETFD, 0);
    b = bound_socket(PORT_B);
    tr_sendto4(b, "to-a", 4, 0, "127.0.0.1", PORT_A);
    quiet_wait_readable(a, 3000);
    tr_recv(a, buf, sizeof buf, MSG_DONTWAIT);

    note("a dup above the range keeps the socket (and its port) alive");
    int high = tr_dup2(a, 40);
    call_close_range(3, 39, 0, "39");
    int again = bound_socket(PORT_A);
    if (again >= 0)
        tr_close(again);
    int c = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(c, "to-high", 7, 0, "127.0.0.1", PORT_A);
    quiet_wait_readable(high, 3000);
    tr_recv(high, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(c);

    note("invalid calls");
    call_close_range(10, 5, 0, "5");
    call_close_range(3, ~0U, 0x100, "~0U");
    call_close_range(100, ~0U, 0, "~0U");
    call_close_range(3, ~0U, CLOSE_RANGE_UNSHARE, "~0U");

    note("closefrom(3)");
    a = bound_socket(PORT_A);
    b = bound_socket(PORT_B);
    c = bound_socket(PORT_C);
    closefrom(3);
    printf("closefrom(3)\n");
    tr_fcntl(a, F_GETFD, 0);
    tr_fcntl(40, F_GETFD, 0);
    a = bound_socket(PORT_A);
    b = bound_socket(PORT_B);
    c = bound_socket(PORT_C);

    note("closefrom(b) keeps a");
    closefrom(b);
    printf("closefrom(fd%d)\n", b);
    tr_fcntl(a, F_GETFD, 0);
    tr_fcntl(b, F_GETFD, 0);
    tr_fcntl(c, F_GETFD, 0);
    b = bound_socket(PORT_B);

    note("fdopen and fclose of a socket");
    FILE *f = fdopen(a, "r");
    printf("fdopen(fd%d) = %s\n", a, f ? "FILE" : "NULL");
    if (f)
        printf("fclose = %d\n", fclose(f));
    tr_fcntl(a, F_GETFD, 0);
    a = bound_socket(PORT_A);

    note("what is left");
    tr_close(a);
    tr_close(b);
    tr_close(c);
    return trace_end();
}
