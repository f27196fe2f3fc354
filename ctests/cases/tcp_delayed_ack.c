/* tcp_delayed_ack: when the host acknowledges, compared on the wire. Against the peer's
 * echo service: the first reply ACKed at once (quick-ACK mode), a request sent within the
 * ACK timeout of a reply (pingpong mode: the next reply's ACK rides on the next request),
 * the delayed-ACK timer firing (and leaving pingpong mode), TCP_QUICKACK 0 and 1 (1 sends the
 * owed ACK), TCP_QUICKACK and tcpi_ato/tcpi_rcv_mss read back. Against a scripted peer:
 * data while pingpong mode is on, and data after a long pause. Every wait is far from the 40 ms ACK timeout, so both worlds take the same
 * branch every run. */
#include "tcp_lib.h"
#include "peer.h"

#include <netinet/tcp.h>
#include <time.h>

static const char *server_source =
    "import socket, time\n"
    "server = socket.socket()\n"
    "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "server.bind(('0.0.0.0', 5621))\n"
    "server.listen(1)\n"
    "print('ready', flush=True)\n"
    "conn, _ = server.accept()\n"
    "conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
    "print('command', conn.recv(1))\n"
    "conn.sendall(b'abc')\n"
    "print('command', conn.recv(1))\n"
    "conn.sendall(b'one')\n"
    "time.sleep(0.3)\n"
    "conn.sendall(b'two')\n"
    "print('end', conn.recv(10))\n"
    "conn.close()\n";

static void sleep_ms(int ms)
{
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* tcpi_ato and tcpi_rcv_mss. */
static void print_ack_info(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO failed: %s\n", strerror(errno));
        return;
    }
    printf("tcpi_ato=%u tcpi_rcv_mss=%u\n", info.tcpi_ato, info.tcpi_rcv_mss);
}

/* One request/response with the echo service: send, wait for the whole reply, read it. */
static void round_trip(int fd, const char *request)
{
    char buf[64];
    int len = (int)strlen(request);
    tr_send(fd, request, len, 0);
    quiet_wait_bytes(fd, len, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
}

int main(void)
{
    trace_start("tcp_delayed_ack");
    char buf[64];

    note("request/response with the peer's echo service");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    print_ack_info(fd);
    note("the first reply is ACKed at once (quick-ACK mode)");
    round_trip(fd, "req1");
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    print_ack_info(fd);
    note("a request within the ACK timeout of the reply: pingpong mode, the reply's ACK waits");
    round_trip(fd, "req2");
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    note("the next request carries it");
    round_trip(fd, "req3");
    note("idle: the delayed-ACK timer sends it and leaves pingpong mode");
    sleep_ms(200);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    print_ack_info(fd);
    note("a request long after the reply: the next reply is ACKed at once again");
    round_trip(fd, "req4");
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    note("TCP_QUICKACK 0: the reply's ACK waits; TCP_QUICKACK 1 sends it");
    sleep_ms(100);
    tr_setint(fd, IPPROTO_TCP, TCP_QUICKACK, 0);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    round_trip(fd, "req5");
    tr_setint(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    note("TCP_QUICKACK 1 while the reply is unread: no ACK yet, the next request carries it");
    sleep_ms(100);
    tr_setint(fd, IPPROTO_TCP, TCP_QUICKACK, 0);
    tr_send(fd, "req7", 4, 0);
    quiet_wait_bytes(fd, 4, 3000);
    tr_setint(fd, IPPROTO_TCP, TCP_QUICKACK, 1);
    tr_send(fd, "req8", 4, 0);
    quiet_wait_bytes(fd, 8, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
    note("TCP_QUICKACK 0 again; the reply's ACK rides on our FIN");
    sleep_ms(100);
    tr_setint(fd, IPPROTO_TCP, TCP_QUICKACK, 0);
    round_trip(fd, "req6");
    tr_close(fd);

    note("a scripted peer: data in pingpong mode and after a pause");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 server.py", server_source, NULL);
    peer_wait_ready(&job, 5000);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, 5621);
    note("the peer's first data is ACKed at once");
    tr_send(fd, "b", 1, 0);
    quiet_wait_bytes(fd, 3, 3000);
    tr_recv(fd, buf, 3, 0);
    note("a command right after it: pingpong mode; 'one' is ACKed by the timer");
    tr_send(fd, "t", 1, 0);
    quiet_wait_bytes(fd, 3, 3000);
    tr_recv(fd, buf, 3, 0);
    tr_getint(fd, IPPROTO_TCP, TCP_QUICKACK);
    note("'two' 300 ms later: ACKed at once");
    quiet_wait_bytes(fd, 3, 3000);
    tr_recv(fd, buf, 3, 0);
    sleep_ms(100);
    tr_close(fd);
    peer_finish(&job, 5000);
    return trace_end();
}
