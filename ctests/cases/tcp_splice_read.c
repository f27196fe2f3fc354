/* tcp_splice_read: splice and sendfile from a TCP socket keep in the socket what the output
 * did not take: a full nonblocking pipe answers EAGAIN and the bytes stay queued for recv;
 * once the pipe has room the same bytes arrive through it. sendfile from a socket works into
 * a pipe only, and sendfile into a socket only from a regular file or block device (EINVAL
 * otherwise, ESPIPE for an offset on a pipe or socket). Over 127.0.0.1, one process. */
#include "tcp_lib.h"
#include <fcntl.h>
#include <sys/sendfile.h>

static void print_result(const char *what, ssize_t n)
{
    printf("%s = %zd%s%s\n", what, n, n < 0 ? " " : "", n < 0 ? trace_errno_name(errno) : "");
}

int main(void)
{
    trace_start("tcp_splice_read");
    char buf[4096];
    int queued = 0;
    int listener = tr_listener("127.0.0.1", 5791, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 5791);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int server = tr_accept4(listener, &sa, &len, 0);

    note("a full nonblocking pipe: EAGAIN, the bytes stay in the socket");
    int pipefd[2];
    tr_pipe(pipefd);
    fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    size_t filled = 0;
    memset(buf, 'p', sizeof buf);
    for (int i = 0; i < 1024; i++) {
        ssize_t n = write(pipefd[1], buf, sizeof buf);
        if (n <= 0)
            break;
        filled += (size_t)n;
    }
    printf("pipe filled: %s\n", filled > 0 ? "yes" : "no");
    tr_send(client, "0123456789", 10, 0);
    quiet_wait_bytes(server, 10, 2000);
    print_result("splice(socket to full pipe, NONBLOCK)",
                 splice(server, NULL, pipefd[1], NULL, 10, SPLICE_F_NONBLOCK));
    tr_ioctl_int(server, FIONREAD, &queued);
    tr_recv(server, buf, sizeof buf, 0);

    note("the pipe drained: the bytes go through it");
    size_t drained = 0;
    for (int i = 0; i < 1024; i++) {
        ssize_t n = read(pipefd[0], buf, sizeof buf);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
    printf("pipe drained: %s\n", drained == filled ? "all" : "not all");
    tr_send(client, "abcde", 5, 0);
    quiet_wait_bytes(server, 5, 2000);
    print_result("splice(socket to pipe)", splice(server, NULL, pipefd[1], NULL, 100, 0));
    tr_ioctl_int(server, FIONREAD, &queued);
    tr_read(pipefd[0], buf, sizeof buf);

    note("sendfile from a socket: only into a pipe; the bytes stay otherwise");
    char path[] = "/tmp/ipshim-splice-XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    tr_send(client, "fghij", 5, 0);
    quiet_wait_bytes(server, 5, 2000);
    print_result("sendfile(file, socket)", sendfile(file, server, NULL, 100));
    print_result("sendfile(socket, socket)", sendfile(client, server, NULL, 100));
    off_t offset = 0;
    print_result("sendfile(pipe, socket, &offset)", sendfile(pipefd[1], server, &offset, 100));
    tr_ioctl_int(server, FIONREAD, &queued);
    print_result("sendfile(pipe, socket)", sendfile(pipefd[1], server, NULL, 100));
    tr_ioctl_int(server, FIONREAD, &queued);
    tr_read(pipefd[0], buf, sizeof buf);

    note("sendfile to a socket: only from a regular file or block device");
    tr_write(pipefd[1], "klm", 3);
    print_result("sendfile(socket, pipe)", sendfile(client, pipefd[0], NULL, 3));
    print_result("sendfile(socket, pipe, &offset)", sendfile(client, pipefd[0], &offset, 3));
    tr_read(pipefd[0], buf, sizeof buf);
    close(file);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    tr_close(client);
    tr_close(server);
    tr_close(listener);
    return trace_end();
}
