/* tcp_linger2_handoff: an orphan kept in FIN_WAIT2 by a TCP_LINGER2 longer than TIME_WAIT.
 * tcp_close arms the socket's timer for "tcp_fin_time - TCP_TIMEWAIT_LEN"; when it fires,
 * tcp_keepalive_timer hands the connection to a TIME_WAIT record (substate FIN_WAIT2) for
 * that time again, so TCP_LINGER2 61 lasts about 1 s on the socket, 1 s in the record, and
 * then nothing answers for it. Three loopback connections are closed at once by their
 * clients; each server closes its half at 0.5 s, 1.5 s and 2.5 s. Its FIN is ACKed while the
 * socket or the record lives (SO_ERROR 0 afterwards) and reset once both are gone (LAST_ACK
 * → ECONNRESET). (A 60 s TIME_WAIT record or socket cannot be waited for within a case;
 * stack/tests/tcp_fin_wait2_linger.rs covers TCP_LINGER2 100 and 120 in virtual time.) */
#include "tcp_lib.h"

#define CONNECTIONS 3

int main(void)
{
    trace_start("tcp_linger2_handoff");
    int listener = tr_listener("127.0.0.1", 5651, CONNECTIONS);
    int clients[CONNECTIONS], servers[CONNECTIONS];
    for (int i = 0; i < CONNECTIONS; i++) {
        clients[i] = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_setint(clients[i], IPPROTO_TCP, TCP_LINGER2, 61);
        tr_connect4(clients[i], "127.0.0.1", 5651);
        servers[i] = accept(listener, NULL, NULL);
        printf("accept = %s\n", servers[i] >= 0 ? "fd" : "-1");
    }
    note("the clients close: FIN_WAIT2 orphans once their FINs are ACKed");
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < CONNECTIONS; i++)
        tr_close(clients[i]);
    for (int i = 0; i < CONNECTIONS; i++) {
        char byte;
        quiet_wait_events(servers[i], POLLIN, 1000);
        printf("server %d sees the FIN: recv = %zd\n", i, recv(servers[i], &byte, 1, MSG_DONTWAIT));
    }
    const long close_at_ms[CONNECTIONS] = { 500, 1500, 2500 };
    for (int i = 0; i < CONNECTIONS; i++) {
        long wait = close_at_ms[i] - ms_since(&start);
        if (wait > 0)
            usleep((useconds_t)wait * 1000);
        printf("# server %d shuts down at %ld ms\n", i, close_at_ms[i]);
        tr_shutdown(servers[i], SHUT_WR);
        usleep(100 * 1000);
        tr_getint(servers[i], SOL_SOCKET, SO_ERROR);
    }
    for (int i = 0; i < CONNECTIONS; i++)
        tr_close(servers[i]);
    tr_close(listener);
    return trace_end();
}
