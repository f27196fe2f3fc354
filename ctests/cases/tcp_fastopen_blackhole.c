/* tcp_fastopen_blackhole: Fast Open's blackhole detection with
 * net.ipv4.tcp_fastopen_blackhole_timeout_sec=10 on the host (read at start, so the body runs
 * in a fresh process; the old value is put back). The peer's kernel is the Fast Open server
 * (tcp_fastopen=3, a fixed key, restored at the end). A connection whose SYN carried the
 * cookie and data loses every ACK (the peer's route back is a blackhole) until its third
 * retransmission timeout: tcp_fastopen_active_detect_blackhole pauses active Fast Open, so
 * the next MSG_FASTOPEN sends a plain SYN and its data after the handshake. */
#define _GNU_SOURCE
#include "peer.h"
#include "tcp_lib.h"
#include "sysctl_switch.h"

#include <stdlib.h>
#include <sys/wait.h>

#define TFO_PORT 7071
#define TFO_KEY "00112233-44556677-8899aabb-ccddeeff"
#define BLACKHOLE_SYSCTL "/proc/sys/net/ipv4/tcp_fastopen_blackhole_timeout_sec"

/* The peer's server: Fast Open on; serves COUNT connections one after the other, reading
 * each until the client's FIN; prints whether its data came in the SYN (TCPI_OPT_SYN_DATA),
 * and how many bytes it received. */
static const char *server_py =
    "import socket, sys\n"
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
    "    s.bind(('0.0.0.0', 7071))\n"
    "    s.listen(8)\n"
    "    s.settimeout(8)\n"
    "    print('ready', flush=True)\n"
    "    for n in range(count):\n"
    "        c, _ = s.accept()\n"
    "        options = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[5]\n"
    "        c.settimeout(6)\n"
    "        received = 0\n"
    "        while True:\n"
    "            chunk = c.recv(65536)\n"
    "            if not chunk:\n"
    "                break\n"
    "            received += len(chunk)\n"
    "        c.close()\n"
    "        print('connection %d: syn_data=%d received=%d' % (n + 1, (options >> 5) & 1, received))\n"
    "finally:\n"
    "    swap('tcp_fastopen', old_mode)\n"
    "    swap('tcp_fastopen_key', old_key)\n";

static struct sockaddr_in server_address(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TFO_PORT) };
    inet_pton(AF_INET, PEER_ADDR, &a.sin_addr);
    return a;
}

/* TCP_INFO's TCPI_OPT_SYN_DATA and tcpi_fastopen_client_fail (bits 1-2 of byte 7). */
static void print_fastopen_info(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO: %s\n", trace_errno_name(errno));
        return;
    }
    unsigned fail = (((const unsigned char *)&info)[7] >> 1) & 3;
    printf("TCP_INFO: state=%u syn_data=%d fastopen_client_fail=%u\n", info.tcpi_state,
           !!(info.tcpi_options & TCPI_OPT_SYN_DATA), fail);
}

/* shutdown(SHUT_WR), then waits for the server's end of the stream. */
static void finish(int fd)
{
    tr_shutdown(fd, SHUT_WR);
    quiet_wait_events(fd, POLLIN, 4000);
    char buf[16];
    tr_recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(fd);
}

static void peer_route(const char *verb)
{
    char label[96];
    snprintf(label, sizeof label, "ip route %s blackhole " HOST_ADDR "/32", verb);
    peer_run(PEER_NS, label,
             (char *const[]){ "ip", "route", (char *)verb, "blackhole", HOST_ADDR "/32", NULL },
             3000);
}

static void body(void)
{
    char value[32] = "";
    sysctl_read(BLACKHOLE_SYSCTL, value, sizeof value);
    printf("tcp_fastopen_blackhole_timeout_sec = %s", value);
    note("the host's cached cookies are forgotten (the kernel keeps them in tcp_metrics)");
    peer_run(HOST_NS, "ip tcp_metrics flush all",
             (char *const[]){ "ip", "tcp_metrics", "flush", "all", NULL }, 3000);
    struct peer_job server;
    peer_start_python(&server, PEER_NS, "python3 fastopen server", server_py,
                      (const char *const[]){ "3", NULL });
    peer_wait_ready(&server, 4000);
    struct sockaddr_in to = server_address();

    note("first connection: the SYN asks for a cookie");
    int first = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_sendto(first, "a", 1, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(first);
    finish(first);

    note("second connection: cookie and data in the SYN; then no ACK comes back");
    int second = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_sendto(second, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(second);
    peer_route("add");
    tr_send(second, "lost", 4, 0);
    note("waiting 2.6 s: the third retransmission timeout (about 1.5 s) pauses Fast Open");
    usleep(2600 * 1000);
    peer_route("del");

    note("third connection: Fast Open paused: a plain SYN, the data after the handshake");
    int third = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_sendto(third, "again", 5, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to);
    print_fastopen_info(third);
    finish(second);
    finish(third);
    peer_finish(&server, 9000);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "body")) {
        trace_start("tcp_fastopen_blackhole (fresh process)");
        body();
        return trace_end();
    }
    trace_start("tcp_fastopen_blackhole");
    note("net.ipv4.tcp_fastopen_blackhole_timeout_sec=10 on the host, then a fresh process");
    char old[32] = "";
    if (sysctl_save(BLACKHOLE_SYSCTL, old, sizeof old) > 0) {
        sysctl_restore_on_signals();
        check(sysctl_write(BLACKHOLE_SYSCTL, "10") == 0, "sysctl written");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = { argv[0], "body", NULL };
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
