/* tcp_shutdown: half close both ways with the peer's kernel: shutdown(SHUT_WR) then the
 * echo's FIN; shutdown(SHUT_RD); EPIPE with SIGPIPE (send, write, sendmsg) and without it
 * (MSG_NOSIGNAL); a reset from the peer (ECONNRESET, then EPIPE); sending after the peer's
 * FIN until its reset arrives; poll bits at each step. */
#include "tcp_lib.h"
#include "peer.h"

static const char *server_source =
    "import socket, struct, sys\n"
    "server = socket.socket()\n"
    "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "server.bind(('0.0.0.0', 5610))\n"
    "server.listen(4)\n"
    "server.settimeout(8)\n"
    "print('ready', flush=True)\n"
    "conn, _ = server.accept()\n"
    "print('first got', conn.recv(100))\n"
    "conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\n"
    "conn.close()\n"
    "conn, _ = server.accept()\n"
    "conn.close()\n"
    "print('second closed')\n";

static void print_poll(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&p, 1, 0);
}

int main(void)
{
    trace_start("tcp_shutdown");
    catch_sigpipe();
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;

    note("shutdown(SHUT_WR): the echo service answers, then closes");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_shutdown(fd, 7);
    print_poll(fd);
    tr_send(fd, "abc", 3, 0);
    tr_shutdown(fd, SHUT_WR);
    /* The echo's data and FIN take a moment: a poll at once would race with them (the shim
     * receives through one more thread wake-up than the kernel does). */
    quiet_wait_revents(fd, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    print_poll(fd);
    tr_recv(fd, buf, 3, MSG_WAITALL);
    quiet_wait_revents(fd, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    print_poll(fd);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    sigpipe_count = 0;
    tr_send(fd, "late", 4, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_send(fd, "late", 4, MSG_NOSIGNAL);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_write(fd, "late", 4);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    struct iovec iov = { .iov_base = "late", .iov_len = 4 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    tr_sendmsg(fd, &msg, MSG_DONTWAIT);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_send(fd, "", 0, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_shutdown(fd, SHUT_WR);
    tr_shutdown(fd, SHUT_RD);
    tr_shutdown(fd, SHUT_RDWR);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    tr_close(fd);

    note("shutdown(SHUT_RD): reads end at once; data still flows in");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_shutdown(fd, SHUT_RD);
    print_poll(fd);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_send(fd, "xy", 2, 0);
    /* The echo is queued although reads are shut (measured natively: FIONREAD 2, then
     * recv returns it). poll reports POLLRDHUP at once after SHUT_RD, so quiet_wait_bytes
     * would not wait: sleep in 1 ms steps (at most 3 s) until it is there, so both worlds
     * print the same whatever the round-trip time. */
    for (int waited = 0, n = 0; waited < 3000; waited++) {
        if (ioctl(fd, FIONREAD, &n) < 0 || n >= 2)
            break;
        usleep(1000);
    }
    int queued = 0;
    tr_ioctl_int(fd, FIONREAD, &queued);
    print_poll(fd);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_shutdown(fd, SHUT_WR);
    quiet_wait_revents(fd, POLLIN, POLLHUP, POLLHUP, 3000);
    print_poll(fd);
    tr_close(fd);

    note("the peer resets; then it closes with a FIN and resets what we send after");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 server.py", server_source, NULL);
    peer_wait_ready(&job, 5000);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, 5610);
    tr_send(fd, "x", 1, 0);
    quiet_wait_revents(fd, POLLIN, POLLERR, POLLERR, 3000);
    print_poll(fd);
    sigpipe_count = 0;
    tr_recv(fd, buf, sizeof buf, 0);
    print_poll(fd);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_send(fd, "y", 1, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_getint(fd, SOL_SOCKET, SO_ERROR);
    len = sizeof sa;
    tr_getpeername(fd, SA(&sa), &len);
    tr_close(fd);

    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, 5610);
    quiet_wait_revents(fd, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    print_poll(fd);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_send(fd, "z", 1, 0);
    quiet_wait_revents(fd, POLLIN, POLLERR, POLLERR, 3000);
    print_poll(fd);
    sigpipe_count = 0;
    tr_send(fd, "z", 1, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_send(fd, "z", 1, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_recv(fd, buf, sizeof buf, 0);
    print_poll(fd);
    tr_close(fd);
    peer_finish(&job, 5000);

    note("shutdown before connect: ENOTCONN, and the shutdown bits stay");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_shutdown(fd, SHUT_WR);
    print_poll(fd);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    print_poll(fd);
    sigpipe_count = 0;
    tr_send(fd, "abc", 3, 0);
    printf("SIGPIPE count %d\n", (int)sigpipe_count);
    tr_shutdown(fd, SHUT_RD);
    print_poll(fd);
    tr_close(fd);
    return trace_end();
}
