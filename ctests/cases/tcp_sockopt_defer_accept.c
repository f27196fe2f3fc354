/* tcp_sockopt_defer_accept: TCP_DEFER_ACCEPT drops the handshake's bare ACK, so accept()
 * finds nothing until data arrives; without data the connection is accepted after the
 * deferral (1 s: one SYN-ACK timeout, then the client's ACK of the resent SYN-ACK). Also
 * TCP_LINGER2 and TCP_NOTSENT_LOWAT read back on a live connection. */
#include "tcp_lib.h"

int main(void)
{
    trace_start("tcp_sockopt_defer_accept");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, "127.0.0.1", 6102);
    trace_fixed_port(6102);
    tr_listen(listener, 4);
    tr_setint(listener, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
    tr_getint(listener, IPPROTO_TCP, TCP_DEFER_ACCEPT);

    note("the handshake completes for the client, but accept() waits for data");
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", 6102);
    printf("listener readable after 300 ms: %s\n",
           quiet_wait_events(listener, POLLIN, 300) ? "yes" : "no");
    tr_send(client, "data", 4, 0);
    printf("listener readable after the data: %s\n",
           quiet_wait_events(listener, POLLIN, 2000) ? "yes" : "no");
    int server = accept(listener, NULL, NULL);
    printf("accept = %s\n", server >= 0 ? "fd" : "-1");
    char buf[16];
    quiet_wait_bytes(server, 4, 2000);
    tr_recv(server, buf, sizeof buf, MSG_DONTWAIT);

    note("no data: accepted once the deferral ends");
    int quiet = tr_socket(AF_INET, SOCK_STREAM, 0);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    tr_connect4(quiet, "127.0.0.1", 6102);
    int ready = quiet_wait_events(listener, POLLIN, 4000);
    long waited = ms_since(&start);
    printf("listener readable: %s, after %s\n", ready ? "yes" : "no",
           waited >= 900 && waited < 3500 ? "about 1 s" : "another time");
    int quiet_server = accept(listener, NULL, NULL);
    printf("accept = %s\n", quiet_server >= 0 ? "fd" : "-1");
    tr_recv(quiet_server, buf, sizeof buf, MSG_DONTWAIT);

    note("TCP_LINGER2 / TCP_NOTSENT_LOWAT on a live connection");
    tr_setint(server, IPPROTO_TCP, TCP_LINGER2, 30);
    tr_getint(server, IPPROTO_TCP, TCP_LINGER2);
    tr_setint(server, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4096);
    tr_getint(server, IPPROTO_TCP, TCP_NOTSENT_LOWAT);
    struct pollfd p = { .fd = server, .events = POLLOUT };
    tr_poll(&p, 1, 0);
    tr_close(quiet_server);
    tr_close(quiet);
    tr_close(server);
    tr_close(client);
    tr_close(listener);
    trace_end();
    return 0;
}
