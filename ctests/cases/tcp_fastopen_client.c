/* tcp_fastopen_client: TCP Fast Open (RFC 7413) as a client, with the peer's kernel as the
 * server (net.ipv4.tcp_fastopen=3 and a fixed net.ipv4.tcp_fastopen_key in the peer
 * namespace, so both worlds get the same cookie; both restored at the end). The first
 * sendto(MSG_FASTOPEN) asks for a cookie and sends its data after the handshake; later ones
 * put the data in the SYN (TCPI_OPT_SYN_DATA); a non-blocking one answers the bytes the SYN
 * took; TCP_FASTOPEN_CONNECT defers the SYN to the first write; the errno of the corners;
 * and, in a fresh process with net.ipv4.tcp_fastopen=0, EOPNOTSUPP. */
#define _GNU_SOURCE
#include "peer.h"
#include "tcp_lib.h"
#include "sysctl_switch.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>

#define TFO_PORT 7070
#define TFO_KEY "00112233-44556677-8899aabb-ccddeeff"

/* The peer's server: Fast Open on, one connection at a time; it reads until the client's FIN
 * and prints whether the data came in the SYN (TCPI_OPT_SYN_DATA), its length and its FNV-1a
 * hash (the bytes, checked exactly without sending them back: the host's window after
 * receiving data depends on the kernel's per-buffer accounting, which the shim does not
 * model, and would make the wire differ for reasons other than Fast Open). */
static const char *server_py =
    "import socket, struct, sys\n"
    "def swap(name, value):\n"
    "    path = '/proc/sys/net/ipv4/' + name\n"
    "    old = open(path).read().strip()\n"
    "    open(path, 'w').write(value)\n"
    "    return old\n"
    "count = int(sys.argv[1])\n"
    "old_mode = swap('tcp_fastopen', '3')\n"
    "old_key = swap('tcp_fastopen_key', '" TFO_KEY "')\n"
    "try:\n"
    "    s = socket.socket()\n"
    "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)\n"
    "    s.bind(('0.0.0.0', 7070))\n"
    "    s.listen(8)\n"
    "    s.settimeout(6)\n"
    "    print('ready', flush=True)\n"
    "    for n in range(count):\n"
    "        c, _ = s.accept()\n"
    "        options = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[5]\n"
    "        c.settimeout(4)\n"
    "        data = b''\n"
    "        while True:\n"
    "            chunk = c.recv(65536)\n"
    "            if not chunk:\n"
    "                break\n"
    "            data += chunk\n"
    "        c.close()\n"
    "        digest = 2166136261\n"
    "        for byte in data:\n"
    "            digest = ((digest ^ byte) * 16777619) & 0xffffffff\n"
    "        print('connection %d: syn_data=%d received=%d fnv=%08x' % (n + 1, (options >> 5) & 1, len(data), digest))\n"
    "finally:\n"
    "    swap('tcp_fastopen', old_mode)\n"
    "    swap('tcp_fastopen_key', old_key)\n";

static struct sockaddr_in server_address(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TFO_PORT) };
    inet_pton(AF_INET, PEER_ADDR, &a.sin_addr);
    return a;
}

/* TCP_INFO's state, TCPI_OPT_SYN_DATA and tcpi_fastopen_client_fail. */
static void print_fastopen_info(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO: %s\n", trace_errno_name(errno));
        return;
    }
    /* tcpi_fastopen_client_fail: bits 1-2 of the byte after tcpi_rcv_wscale (glibc's struct
     * does not name them). */
    unsigned fail = (((const unsigned char *)&info)[7] >> 1) & 3;
    printf("TCP_INFO: state=%u syn_data=%d fastopen_client_fail=%u\n", info.tcpi_state,
           !!(info.tcpi_options & TCPI_OPT_SYN_DATA), fail);
}

/* FNV-1a, 32 bits (the peer's python computes the same). */
static unsigned fnv32(const char *data, size_t len)
{
    unsigned hash = 2166136261u;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)data[i]) * 16777619u;
    return hash;
}

/* shutdown(SHUT_WR), then waits for the server's end of the stream; prints the FNV-1a hash of
 * what was sent (the peer prints the hash of what it received). */
static void finish(int fd, const char *sent, size_t len)
{
    printf("sent in all: %zu bytes fnv=%08x\n", len, fnv32(sent, len));
    tr_shutdown(fd, SHUT_WR);
    quiet_wait_events(fd, POLLIN, 3000);
    char buf[16];
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

static void fresh_process_without_client_bit(void)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = server_address();
    tr_sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    tr_setint(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT);
    tr_close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "no-client")) {
        trace_start("tcp_fastopen_client (fresh process, tcp_fastopen=0)");
        fresh_process_without_client_bit();
        return trace_end();
    }
    trace_start("tcp_fastopen_client");
    note("the host's cached cookies are forgotten (the kernel keeps them in tcp_metrics)");
    peer_run(HOST_NS, "ip tcp_metrics flush all",
             (char *const[]){ "ip", "tcp_metrics", "flush", "all", NULL }, 3000);

    struct peer_job server;
    peer_start_python(&server, PEER_NS, "python3 fastopen echo server", server_py,
                      (const char *const[]){ "5", NULL });
    peer_wait_ready(&server, 4000);
    struct sockaddr_in to = server_address();

    note("first connection: no cookie yet; the SYN asks for one, the data follows the handshake");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_sendto(fd, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(fd);
    note("MSG_FASTOPEN on a connected socket, then without it");
    tr_sendto(fd, "again", 5, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    tr_send(fd, "again", 5, 0);
    finish(fd, "helloagain", 10);
    tr_close(fd);

    note("second connection: the cached cookie and the data ride in the SYN");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_sendto(fd, "world", 5, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(fd);
    finish(fd, "world", 5);
    tr_close(fd);

    note("non-blocking, 2000 bytes: the SYN takes one MSS less 40 bytes of option room");
    /* The rest (580 bytes) fits one segment: the wire shows no GSO frame the shim would cut. */
    static char big[2000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_fcntl(fd, F_SETFL, O_NONBLOCK);
    ssize_t first = tr_sendto(fd, big, sizeof big, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    quiet_wait_revents(fd, POLLOUT, POLLOUT, POLLOUT, 3000);
    if (first > 0)
        tr_send(fd, big + first, sizeof big - (size_t)first, 0);
    print_fastopen_info(fd);
    finish(fd, big, sizeof big);
    tr_close(fd);

    note("TCP_FASTOPEN_CONNECT: connect() answers 0 at once, the first write sends SYN+data");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
    tr_getint(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT);
    tr_connect(fd, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(fd);
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    tr_poll(&p, 1, 0);
    struct sockaddr_in name;
    socklen_t name_len = sizeof name;
    tr_getpeername(fd, (struct sockaddr *)&name, &name_len);
    tr_fcntl(fd, F_SETFL, O_NONBLOCK);
    tr_connect(fd, (struct sockaddr *)&to, sizeof to);
    tr_write(fd, "abc", 3);
    quiet_wait_revents(fd, POLLOUT, POLLOUT, POLLOUT, 3000);
    print_fastopen_info(fd);
    finish(fd, "abc", 3);
    tr_close(fd);

    note("a blocking TCP_FASTOPEN_CONNECT write waits for the handshake");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
    tr_connect(fd, (struct sockaddr *)&to, sizeof to);
    tr_write(fd, "defer", 5);
    print_fastopen_info(fd);
    finish(fd, "defer", 5);
    tr_close(fd);

    note("corners: no address, a short one, AF_UNSPEC, a listener");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_send(fd, "x", 1, MSG_FASTOPEN);
    tr_sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, 4);
    struct sockaddr_in unspec = { .sin_family = AF_UNSPEC };
    tr_sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&unspec, sizeof unspec);
    tr_close(fd);
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_listen(fd, 1);
    tr_sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    tr_close(fd);

    peer_finish(&server, 8000);

    note("net.ipv4.tcp_fastopen=0 on the host, in a fresh process (sysctls are read at start)");
    const char *path = "/proc/sys/net/ipv4/tcp_fastopen";
    char old[32] = "";
    if (sysctl_save(path, old, sizeof old) > 0) {
        sysctl_restore_on_signals();
        sysctl_write(path, "0");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = { argv[0], "no-client", NULL };
            execv("/proc/self/exe", args);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        sysctl_restore();
    }
    return trace_end();
}
