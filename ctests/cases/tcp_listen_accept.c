/* tcp_listen_accept: passive open with the peer's kernel as the client (a python program
 * in the peer namespace): listen, accept/accept4 (blocking, EAGAIN, SOCK_NONBLOCK|
 * SOCK_CLOEXEC, address truncation, NULL address), echo through the accepted socket, the
 * client's FIN, a reset for a port nobody listens on, a connection still in the accept
 * queue reset when the listener closes; wrong-state calls on listeners. */
#include "tcp_lib.h"
#include "peer.h"

static const char *client_source =
    "import socket, sys\n"
    "host = sys.argv[1]\n"
    "def connect(port):\n"
    "    return socket.create_connection((host, port), timeout=5)\n"
    "def read_exactly(s, n):\n"
    "    data = b''\n"
    "    while len(data) < n:\n"
    "        chunk = s.recv(n - len(data))\n"
    "        if not chunk:\n"
    "            break\n"
    "        data += chunk\n"
    "    return data\n"
    "s = connect(5602)\n"
    "s.sendall(b'hello from the peer')\n"
    "print('echo1', read_exactly(s, 19) == b'hello from the peer')\n"
    "s.shutdown(socket.SHUT_WR)\n"
    "print('after FIN', s.recv(100), s.recv(100))\n"
    "s.close()\n"
    "s = connect(5602)\n"
    "s.sendall(b'second')\n"
    "print('echo2', read_exactly(s, 6))\n"
    "s.close()\n"
    "try:\n"
    "    connect(5603)\n"
    "    print('5603 connected')\n"
    "except ConnectionRefusedError:\n"
    "    print('5603 refused')\n"
    "s = connect(5602)\n"
    "s.sendall(b'unaccepted')\n"
    "try:\n"
    "    print('unaccepted got', s.recv(100))\n"
    "except Exception as error:\n"
    "    print('unaccepted', type(error).__name__)\n";

int main(void)
{
    trace_start("tcp_listen_accept");
    char buf[256];
    struct sockaddr_in sa;
    socklen_t len;

    note("wrong-state calls before listening");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    len = sizeof sa;
    tr_getsockname(fd, SA(&sa), &len);
    printf("accept on an unbound socket: ");
    tr_accept4(fd, &sa, &len, SOCK_NONBLOCK);
    int udp = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_listen(udp, 1);
    len = sizeof sa;
    tr_accept4(udp, &sa, &len, 0);
    tr_close(udp);
    tr_close(fd);

    note("listen on an unbound socket picks a port");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_listen(fd, 1);
    len = sizeof sa;
    tr_getsockname(fd, SA(&sa), &len);
    tr_listen(fd, 10);
    tr_bind4(fd, "0.0.0.0", 5604);
    tr_close(fd);

    note("the listener");
    int listener = tr_listener("0.0.0.0", 5602, 4);
    len = sizeof sa;
    tr_getsockname(listener, SA(&sa), &len);
    len = sizeof sa;
    tr_getpeername(listener, SA(&sa), &len);
    tr_getint(listener, SOL_SOCKET, SO_ACCEPTCONN);
    tr_fcntl(listener, F_SETFL, O_NONBLOCK);
    len = sizeof sa;
    tr_accept4(listener, &sa, &len, 0);
    struct pollfd p = { .fd = listener, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&p, 1, 0);
    tr_send(listener, "x", 1, MSG_NOSIGNAL);
    tr_recv(listener, buf, sizeof buf, 0);
    tr_shutdown(listener, SHUT_WR);
    tr_fcntl(listener, F_SETFL, 0);

    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 client.py", client_source,
                      (const char *const[]){ HOST_ADDR, NULL });

    note("first connection: blocking accept, echo, the client's FIN");
    len = sizeof sa;
    int conn = tr_accept4(listener, &sa, &len, 0);
    len = sizeof sa;
    tr_getsockname(conn, SA(&sa), &len);
    len = sizeof sa;
    tr_getpeername(conn, SA(&sa), &len);
    tr_getint(conn, SOL_SOCKET, SO_ACCEPTCONN);
    tr_fcntl(conn, F_GETFL, 0);
    tr_recv(conn, buf, 19, MSG_WAITALL);
    tr_send(conn, buf, 19, 0);
    quiet_wait_revents(conn, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    struct pollfd c = { .fd = conn, .events = POLLIN | POLLOUT | POLLRDHUP };
    tr_poll(&c, 1, 0);
    tr_recv(conn, buf, sizeof buf, 0);
    tr_recv(conn, buf, sizeof buf, 0);
    tr_send(conn, "after", 5, MSG_NOSIGNAL);
    tr_close(conn);

    note("second connection: accept4 SOCK_NONBLOCK|SOCK_CLOEXEC, a 4-byte address buffer");
    quiet_wait_events(listener, POLLIN, 3000);
    tr_poll(&p, 1, 0);
    memset(&sa, 0, sizeof sa);
    len = 4;
    conn = tr_accept4(listener, &sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("family=%d port_bytes_untouched=%d\n", sa.sin_family, sa.sin_port == 0);
    tr_fcntl(conn, F_GETFL, 0);
    tr_fcntl(conn, F_GETFD, 0);
    quiet_wait_bytes(conn, 6, 3000);
    tr_recv(conn, buf, sizeof buf, 0);
    tr_write(conn, buf, 6);
    quiet_wait_revents(conn, POLLIN | POLLRDHUP, POLLRDHUP, POLLRDHUP, 3000);
    tr_read(conn, buf, sizeof buf);
    tr_close(conn);

    note("third: a connection nobody accepts; the listener closes");
    quiet_wait_events(listener, POLLIN, 3000);
    tr_poll(&p, 1, 0);
    /* The client writes right after its handshake: let its data arrive (and be ACKed) first,
     * so the reset acknowledges it in every run rather than racing it. */
    usleep(200 * 1000);
    tr_close(listener);
    peer_finish(&job, 8000);

    note("accept with a NULL address");
    listener = tr_listener(HOST_ADDR, 5602, 0);
    char *const argv[] = { "python3", "-c",
                           "import socket,sys; s=socket.create_connection((sys.argv[1],5602),timeout=5); "
                           "s.sendall(b'null'); s.close(); print('sent')",
                           HOST_ADDR, NULL };
    peer_run(PEER_NS, "python3 -c connect-and-send", argv, 5000);
    /* The client's FIN is ACKed by the delayed-ACK timer (pingpong mode after a FIN) about
     * 40 ms after it came; python's exit takes about as long. Wait well past the timer so
     * that ACK goes before our FIN in every run. */
    usleep(150 * 1000);
    conn = accept(listener, NULL, NULL);
    printf("accept(NULL, NULL) %s\n", conn >= 0 ? "= fd" : trace_errno_name(errno));
    quiet_wait_bytes(conn, 4, 3000);
    tr_recv(conn, buf, sizeof buf, 0);
    tr_recv(conn, buf, sizeof buf, 0);
    tr_close(conn);
    tr_close(listener);
    return trace_end();
}
