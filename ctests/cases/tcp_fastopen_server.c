/* tcp_fastopen_server: TCP Fast Open (RFC 7413) as a server. The host's listener sets
 * TCP_FASTOPEN_KEY (the same key in both worlds, so the cookies on the wire are the same)
 * and TCP_FASTOPEN; the peer's kernel is the client with sendto(MSG_FASTOPEN) (its cached
 * cookies flushed first). The first connection gets a cookie in the SYN-ACK, the next ones
 * carry their data in the SYN: accept() returns at once, the data is readable, TCP_INFO
 * shows TCPI_OPT_SYN_DATA on both sides. Also the options' values and errno. */
#define _GNU_SOURCE
#include "peer.h"
#include "tcp_lib.h"
#include "sysctl_switch.h"

#include <fcntl.h>

#define TFO_PORT 7071

/* The peer's client: three connections with MSG_FASTOPEN, each shutting down its side and
 * waiting for the server's end; it prints the FNV-1a hash of what it sent, the host prints
 * the hash of what it read (nothing flows back: the peer's window after receiving data
 * would depend on when python reads it). 1400 bytes at most: all of it rides in the SYN. */
static const char *client_py =
    "import socket, subprocess\n"
    "subprocess.run(['ip', 'tcp_metrics', 'flush', 'all'])\n"
    "for n, data in enumerate([b'hello', b'world', bytes(range(200)) * 7]):\n"
    "    c = socket.socket()\n"
    "    sent = c.sendto(data, socket.MSG_FASTOPEN, ('198.18.0.2', 7071))\n"
    "    c.settimeout(4)\n"
    "    options = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[5]\n"
    "    c.shutdown(socket.SHUT_WR)\n"
    "    end = c.recv(16)\n"
    "    c.close()\n"
    "    digest = 2166136261\n"
    "    for byte in data:\n"
    "        digest = ((digest ^ byte) * 16777619) & 0xffffffff\n"
    "    print('connection %d: sent=%d syn_data=%d fnv=%08x end=%r' % (n + 1, sent, (options >> 5) & 1, digest, end))\n";

static const unsigned char key[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

/* FNV-1a, 32 bits (the peer's python computes the same). */
static unsigned fnv32(const char *data, size_t len)
{
    unsigned hash = 2166136261u;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)data[i]) * 16777619u;
    return hash;
}

/* Reads what the connection sends until the peer's FIN; prints its length and hash. */
static void serve(int fd)
{
    static char buf[8192];
    size_t total = 0;
    for (int round = 0; round < 1000 && total < sizeof buf; round++) {
        if (!(quiet_wait_events(fd, POLLIN, 3000) & (POLLIN | POLLHUP | POLLERR)))
            break;
        ssize_t n = recv(fd, buf + total, sizeof buf - total, MSG_DONTWAIT);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    printf("read: %zu bytes fnv=%08x\n", total, fnv32(buf, total));
}

static const char *mode_path = "/proc/sys/net/ipv4/tcp_fastopen";

int main(void)
{
    trace_start("tcp_fastopen_server");
    /* Before the first socket: the shim reads /proc/sys when it starts. */
    char old_mode[32];
    sysctl_save(mode_path, old_mode, sizeof old_mode);
    sysctl_restore_on_signals();
    note("net.ipv4.tcp_fastopen=3 on the host (restored at the end)");
    sysctl_write(mode_path, "3");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    note("TCP_FASTOPEN_KEY: 16 or 32 bytes; getsockopt shows the listener's own key");
    unsigned char got[40];
    socklen_t len = sizeof got;
    tr_getsockopt(listener, IPPROTO_TCP, TCP_FASTOPEN_KEY, got, &len);
    tr_setsockopt(listener, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, 15);
    tr_setsockopt(listener, IPPROTO_TCP, TCP_FASTOPEN_KEY, key, sizeof key);
    len = sizeof got;
    tr_getsockopt(listener, IPPROTO_TCP, TCP_FASTOPEN_KEY, got, &len);
    tr_setint(listener, IPPROTO_TCP, TCP_FASTOPEN, -1);
    tr_setint(listener, IPPROTO_TCP, TCP_FASTOPEN, 16);
    tr_getint(listener, IPPROTO_TCP, TCP_FASTOPEN);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, HOST_ADDR, TFO_PORT);
    tr_listen(listener, 8);

    struct peer_job client;
    peer_start_python(&client, PEER_NS, "python3 fastopen client", client_py, NULL);
    for (int n = 1; n <= 3; n++) {
        note("connection %d", n);
        if (!(quiet_wait_events(listener, POLLIN, 5000) & POLLIN)) {
            printf("no connection\n");
            break;
        }
        int fd = tr_accept4(listener, NULL, NULL, 0);
        if (fd < 0)
            break;
        struct tcp_info info;
        socklen_t info_len = sizeof info;
        memset(&info, 0, sizeof info);
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len);
        printf("TCP_INFO: syn_data=%d tfo_child=%d\n", !!(info.tcpi_options & TCPI_OPT_SYN_DATA),
               !!(info.tcpi_options & 0x80));
        serve(fd);
        tr_close(fd);
    }
    peer_finish(&client, 8000);
    tr_close(listener);
    sysctl_restore();
    return trace_end();
}
