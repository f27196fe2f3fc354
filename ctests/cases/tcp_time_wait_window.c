/* tcp_time_wait_window: the window of the ACKs around TIME_WAIT. The peer's python server
 * echoes a request, waits for the host's FIN (which its kernel ACKs on its own), and closes a
 * moment later, so the host's FIN_WAIT2 meets a lone FIN:
 * - the host half-closes (shutdown SHUT_WR): the full socket in FIN_WAIT2 ACKs the FIN
 *   (tcp_fin → tcp_send_ack → tcp_select_window) and then enters TIME_WAIT;
 * - the host closes first: the orphan in FIN_WAIT2 becomes a TIME_WAIT record at once
 *   (tcp_rcv_state_process → tcp_time_wait(TCP_FIN_WAIT2)), which ACKs the FIN
 *   (tcp_timewait_state_process → tcp_v4_timewait_ack: tw_rcv_wnd >> tw_rcv_wscale, the
 *   control socket's DF and id 0).
 * A small SO_RCVBUF set before connect gives rcv_wscale 0, so the window field shows every
 * byte (Linux rounds to the MSS and never shrinks the offered right edge); the last
 * connection keeps the default buffer (scaled window). */
#include "tcp_lib.h"
#include "peer.h"

#define SERVER_PORT 5680
#define CONNECTIONS 3

static const char *server_source =
    "import socket, sys, time\n"
    "l = socket.socket()\n"
    "l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "l.bind((sys.argv[1], int(sys.argv[2])))\n"
    "l.listen(8)\n"
    "l.settimeout(8)\n"
    "print('ready', flush=True)\n"
    "for i in range(int(sys.argv[3])):\n"
    "    c, _ = l.accept()\n"
    "    c.settimeout(5)\n"
    "    data = c.recv(100)\n"
    "    c.sendall(data)\n"
    "    rest = c.recv(100)\n"
    "    time.sleep(0.3)\n"
    "    c.close()\n"
    "    print('closed', i, 'after', len(rest), 'more bytes', flush=True)\n";

static int echoed_connection(int receive_buffer)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer)
        tr_setint(fd, SOL_SOCKET, SO_RCVBUF, receive_buffer);
    tr_connect4(fd, PEER_ADDR, SERVER_PORT);
    tr_send(fd, "hello, echo", 11, 0);
    quiet_wait_bytes(fd, 11, 3000);
    char buf[64];
    tr_recv(fd, buf, sizeof buf, 0);
    return fd;
}

int main(void)
{
    trace_start("tcp_time_wait_window");
    char buf[64];
    struct peer_job job;
    char connections[8];
    snprintf(connections, sizeof connections, "%d", CONNECTIONS);
    peer_start_python(&job, PEER_NS, "python3 server.py", server_source,
                      (const char *const[]){ PEER_ADDR, "5680", connections, NULL });
    peer_wait_ready(&job, 5000);

    note("half close: the full socket in FIN_WAIT2 ACKs the server's FIN");
    int fd = echoed_connection(16384);
    tr_shutdown(fd, SHUT_WR);
    quiet_wait_revents(fd, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    tr_close(fd);
    usleep(100 * 1000);

    note("close first: the TIME_WAIT record ACKs the server's FIN");
    fd = echoed_connection(16384);
    tr_close(fd);
    usleep(500 * 1000);

    note("close first with the default buffer (a scaled window)");
    fd = echoed_connection(0);
    tr_close(fd);
    usleep(500 * 1000);
    peer_finish(&job, 5000);
    return trace_end();
}
