/* tcp_port_reuse: the peer's kernel as a server that closes first (HTTP/1.0 style), so it
 * keeps each connection in TIME_WAIT: one local port reused for several connections in a row
 * connects at once every time (the ISN of a 4-tuple grows with the clock and the timestamp
 * offset is one per pair of hosts: secure_tcp_seq / secure_tcp_ts_off), and after the
 * server's FIN the socket is in delayed-ACK ("pingpong") mode until the delayed-ACK timer
 * fires (TCP_QUICKACK reads 0, then 1). */
#include "tcp_lib.h"
#include "peer.h"

#include <time.h>

#define SERVER_PORT 5611
#define CLIENT_PORT 45610
#define ROUNDS 4

static const char *server_source =
    "import socket, sys\n"
    "l = socket.socket()\n"
    "l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "l.bind((sys.argv[1], int(sys.argv[2])))\n"
    "l.listen(8)\n"
    "l.settimeout(8)\n"
    "print('ready', flush=True)\n"
    "for i in range(int(sys.argv[3])):\n"
    "    c, _ = l.accept()\n"
    "    data = c.recv(100)\n"
    "    c.sendall(b'reply to ' + data)\n"
    "    c.close()\n"
    "print('served', sys.argv[3])\n";

int main(void)
{
    trace_start("tcp_port_reuse");
    char buf[256];
    struct peer_job job;
    char rounds[8];
    snprintf(rounds, sizeof rounds, "%d", ROUNDS);
    peer_start_python(&job, PEER_NS, "python3 server.py", server_source,
                      (const char *const[]){ PEER_ADDR, "5611", rounds, NULL });
    peer_wait_ready(&job, 5000);

    for (int round = 0; round < ROUNDS; round++) {
        note("one connection from the same local port; the server closes first");
        int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        tr_bind4(fd, HOST_ADDR, CLIENT_PORT);
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        tr_connect4(fd, PEER_ADDR, SERVER_PORT);
        /* A SYN the server's TIME_WAIT refuses is retransmitted after 1 s. */
        printf("connected within 500 ms: %s\n", ms_since(&start) < 500 ? "yes" : "no");
        tr_send(fd, "request", 7, 0);
        quiet_wait_revents(fd, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
        tr_recv(fd, buf, sizeof buf, 0);
        tr_recv(fd, buf, sizeof buf, 0);
        if (round == 0) {
            note("after the server's FIN: delayed-ACK mode until the timer sends the ACK");
            tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
            usleep(150 * 1000);
            tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
        }
        tr_close(fd);
        /* Let the last ACK reach us, so the 4-tuple is free (not in LAST_ACK) again. */
        usleep(20 * 1000);
    }
    peer_finish(&job, 8000);
    return trace_end();
}
