/* readiness_poll: poll/ppoll over a UDP socket and a pipe in one set. Not readable
 * before the echo arrives, readable after, writable always; a pipe made readable by
 * a write; closed and negative descriptors; POLLNVAL; revents of an error. */
#include "trace.h"

int main(void)
{
    trace_start("readiness_poll");
    unsigned char buf[64];
    int pipefd[2];

    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_pipe(pipefd);
    struct pollfd set[3] = {
        { .fd = fd, .events = POLLIN | POLLOUT },
        { .fd = pipefd[0], .events = POLLIN },
        { .fd = pipefd[1], .events = POLLOUT },
    };

    note("fresh socket: writable, not readable");
    tr_poll(set, 3, 0);
    set[0].events = POLLIN;
    tr_poll(set, 2, 0);
    tr_poll(set, 2, 50);

    note("send to the echo; wait for the socket only (the pipe stays quiet)");
    tr_sendto4(fd, "poll", 4, 0, PEER_ADDR, PORT_ECHO);
    tr_poll(set, 2, 3000);
    tr_poll(set, 2, 0);
    note("MSG_PEEK keeps it readable, recv drains it");
    tr_recv(fd, buf, sizeof buf, MSG_PEEK);
    tr_poll(set, 2, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_poll(set, 2, 0);

    note("the pipe becomes readable");
    tr_write(pipefd[1], "p", 1);
    tr_poll(set, 3, 0);
    tr_read(pipefd[0], buf, sizeof buf);

    note("both readable");
    tr_sendto4(fd, "both", 4, 0, PEER_ADDR, PORT_ECHO);
    tr_write(pipefd[1], "p", 1);
    quiet_wait_readable(fd, 3000);
    tr_poll(set, 2, 0);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_read(pipefd[0], buf, sizeof buf);

    note("events 0, negative fd, closed fd (POLLNVAL), duplicates in the set");
    struct pollfd odd[5] = {
        { .fd = fd, .events = 0 },
        { .fd = -1, .events = POLLIN },
        { .fd = 77, .events = POLLIN },
        { .fd = fd, .events = POLLOUT },
        { .fd = fd, .events = POLLIN | POLLPRI | POLLRDNORM | POLLWRNORM | POLLRDHUP },
    };
    tr_poll(odd, 5, 0);
    tr_poll(NULL, 0, 10);
    tr_poll(BADPTR, 1, 0);

    note("ppoll with a timeout and a signal mask");
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    sigset_t mask;
    sigemptyset(&mask);
    tr_ppoll(set, 2, &ts, &mask);
    tr_sendto4(fd, "ppoll", 5, 0, PEER_ADDR, PORT_ECHO);
    ts = (struct timespec){ 3, 0 };
    tr_ppoll(set, 2, &ts, NULL);
    tr_recv(fd, buf, sizeof buf, 0);
    ts = (struct timespec){ 0, -1 };
    tr_ppoll(set, 2, &ts, NULL);

    note("a pending error: connected to a closed port");
    int refused = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(refused, "127.0.0.1", 9001);
    tr_send(refused, "x", 1, 0);
    struct pollfd e = { .fd = refused, .events = POLLIN };
    tr_poll(&e, 1, 3000);
    e.events = POLLIN | POLLOUT;
    tr_poll(&e, 1, 0);
    tr_recv(refused, buf, sizeof buf, 0);
    tr_poll(&e, 1, 0);
    tr_close(refused);

    note("shutdown changes revents");
    int s = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_connect4(s, "127.0.0.1", 9002);
    struct pollfd sp = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_shutdown(s, SHUT_RD);
    tr_poll(&sp, 1, 0);
    tr_shutdown(s, SHUT_WR);
    tr_poll(&sp, 1, 0);
    tr_recv(s, buf, sizeof buf, 0);
    tr_send(s, "x", 1, MSG_NOSIGNAL);
    tr_close(s);

    note("a closed socket in the set");
    tr_close(fd);
    tr_poll(set, 2, 0);
    tr_close(pipefd[0]);
    tr_close(pipefd[1]);
    return trace_end();
}
