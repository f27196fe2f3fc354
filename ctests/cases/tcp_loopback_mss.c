/* tcp_loopback_mss: TCP_MAXSEG of connections that stay inside the host, over 127.0.0.1 and
 * over the host's own address (which the kernel routes through lo, MTU 65536): 536 before
 * connect, then the connecting side's value (the peer's MSS less the timestamp option,
 * halved by tcp_bound_to_half_wnd) and the accepted side's, before and after data. */
#include "tcp_lib.h"

static void run(const char *addr, unsigned port)
{
    int listener = tr_listener(addr, port, 1);
    tr_getint(listener, IPPROTO_TCP, TCP_MAXSEG);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_getint(client, IPPROTO_TCP, TCP_MAXSEG);
    tr_connect4(client, addr, port);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int server = tr_accept4(listener, &sa, &len, 0);
    tr_getint(client, IPPROTO_TCP, TCP_MAXSEG);
    tr_getint(server, IPPROTO_TCP, TCP_MAXSEG);
    char buf[8];
    tr_send(client, "x", 1, 0);
    quiet_wait_bytes(server, 1, 3000);
    tr_recv(server, buf, sizeof buf, 0);
    tr_send(server, "y", 1, 0);
    quiet_wait_bytes(client, 1, 3000);
    tr_recv(client, buf, sizeof buf, 0);
    tr_getint(client, IPPROTO_TCP, TCP_MAXSEG);
    tr_getint(server, IPPROTO_TCP, TCP_MAXSEG);
    tr_close(client);
    tr_close(server);
    tr_close(listener);
}

int main(void)
{
    trace_start("tcp_loopback_mss");
    note("over 127.0.0.1");
    run("127.0.0.1", 5612);
    note("over the host's own address (routed through lo)");
    run(HOST_ADDR, 5613);
    return trace_end();
}
