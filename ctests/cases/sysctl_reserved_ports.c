/* sysctl_reserved_ports: net.ipv4.ip_local_reserved_ports and ip_autobind_reuse. With
 * ip_local_port_range narrowed to 40001-40004 and 40001-40003 reserved (written in this
 * world's host namespace, then restored; a fresh process reads them), every automatic choice
 * has one port left, 40004, whatever the random draws: UDP bind(0) and the autobind of
 * connect() (EADDRINUSE, then EAGAIN once it is taken), TCP bind(0), listen() and connect()
 * without a port (EADDRINUSE, EADDRNOTAVAIL), while an explicit bind to a reserved port
 * succeeds. Then ip_autobind_reuse = 1: a SO_REUSEADDR bind(0) that finds no free port shares
 * one whose holders set SO_REUSEADDR and do not listen, unless both sides set SO_REUSEPORT;
 * connect() is not relaxed. TCP talks over loopback only, and connections end with SO_LINGER 0
 * so that no TIME_WAIT outlives a run. */
#include "trace.h"
#include "sysctl_switch.h"

#include <sys/wait.h>

#define RANGE "40001 40004"
#define RESERVED "40001-40003"
#define RESERVED_LISTENER 40002

static const char *range_path = "/proc/sys/net/ipv4/ip_local_port_range";
static const char *reserved_path = "/proc/sys/net/ipv4/ip_local_reserved_ports";
static const char *reuse_path = "/proc/sys/net/ipv4/ip_autobind_reuse";

static int new_socket(int type, int reuse_address, int reuse_port)
{
    int fd = tr_socket(AF_INET, type, 0);
    if (reuse_address)
        tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (reuse_port)
        tr_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    return fd;
}

/* bind(0.0.0.0:0), then the port it got. */
static void bind_any(int fd)
{
    if (tr_bind4(fd, "0.0.0.0", 0) == 0)
        printf("  local port %d\n", quiet_local_port(fd));
}

/* A connection that ends with a reset, not TIME_WAIT. */
static void close_abortively(int fd)
{
    struct linger off = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    tr_close(fd);
}

static void reserved_udp(void)
{
    note("UDP: bind(0) takes the one port left, then the range is exhausted");
    int first = new_socket(SOCK_DGRAM, 0, 0);
    bind_any(first);
    int second = new_socket(SOCK_DGRAM, 0, 0);
    bind_any(second);
    note("UDP: connect() autobinds (inet_autobind: EAGAIN)");
    int third = new_socket(SOCK_DGRAM, 0, 0);
    tr_connect4(third, PEER_ADDR, PORT_DISCARD);
    note("UDP: an explicit bind to a reserved port");
    int explicit = new_socket(SOCK_DGRAM, 0, 0);
    tr_bind4(explicit, "0.0.0.0", 40002);
    tr_close(first);
    tr_close(second);
    tr_close(third);
    tr_close(explicit);
    note("UDP: two SO_REUSEADDR sockets share the port left (ip_autobind_reuse is TCP's)");
    int shared_a = new_socket(SOCK_DGRAM, 1, 0);
    bind_any(shared_a);
    int shared_b = new_socket(SOCK_DGRAM, 1, 0);
    bind_any(shared_b);
    tr_close(shared_a);
    tr_close(shared_b);
}

static void reserved_tcp(void)
{
    note("TCP: bind(0) takes the one port left; bind(0) and listen() then find none");
    int first = new_socket(SOCK_STREAM, 0, 0);
    bind_any(first);
    int second = new_socket(SOCK_STREAM, 0, 0);
    bind_any(second);
    int unbound = new_socket(SOCK_STREAM, 0, 0);
    tr_listen(unbound, 1);
    note("TCP: an explicit bind to a reserved port, and a listener there");
    int listener = new_socket(SOCK_STREAM, 0, 0);
    tr_bind4(listener, "127.0.0.1", RESERVED_LISTENER);
    tr_listen(listener, 4);
    note("TCP: connect() does not share the port bind() took");
    int client = new_socket(SOCK_STREAM, 0, 0);
    tr_connect4(client, "127.0.0.1", RESERVED_LISTENER);
    tr_close(client);
    tr_close(first);
    note("TCP: once it is free, connect() takes it");
    client = new_socket(SOCK_STREAM, 0, 0);
    if (tr_connect4(client, "127.0.0.1", RESERVED_LISTENER) == 0)
        printf("  local port %d\n", quiet_local_port(client));
    int accepted = accept(listener, NULL, NULL);
    check(accepted >= 0, "the listener accepted the connection");
    close_abortively(client);
    if (accepted >= 0)
        close_abortively(accepted);
    tr_close(second);
    tr_close(unbound);
    tr_close(listener);
    note("TCP: SO_REUSEADDR without ip_autobind_reuse: no sharing");
    int shared_a = new_socket(SOCK_STREAM, 1, 0);
    bind_any(shared_a);
    int shared_b = new_socket(SOCK_STREAM, 1, 0);
    bind_any(shared_b);
    tr_close(shared_a);
    tr_close(shared_b);
}

static void autobind_reuse(void)
{
    note("TCP with ip_autobind_reuse = 1: SO_REUSEADDR bind(0) shares the exhausted range");
    int first = new_socket(SOCK_STREAM, 1, 0);
    bind_any(first);
    int second = new_socket(SOCK_STREAM, 1, 0);
    bind_any(second);
    note("without SO_REUSEADDR: no sharing");
    int plain = new_socket(SOCK_STREAM, 0, 0);
    bind_any(plain);
    note("SO_REUSEADDR and SO_REUSEPORT against holders without SO_REUSEPORT: shares");
    int both = new_socket(SOCK_STREAM, 1, 1);
    bind_any(both);
    note("connect() is not relaxed");
    int client = new_socket(SOCK_STREAM, 1, 0);
    tr_connect4(client, "127.0.0.1", RESERVED_LISTENER);
    note("once a holder listens, no sharing");
    tr_listen(first, 4);
    int late = new_socket(SOCK_STREAM, 1, 0);
    bind_any(late);
    int unbound = new_socket(SOCK_STREAM, 1, 0);
    tr_listen(unbound, 1);
    tr_close(first);
    tr_close(second);
    tr_close(plain);
    tr_close(both);
    tr_close(client);
    tr_close(late);
    tr_close(unbound);
    note("SO_REUSEPORT on both sides is a conflict even in the relaxed search");
    int group_a = new_socket(SOCK_STREAM, 1, 1);
    bind_any(group_a);
    int group_b = new_socket(SOCK_STREAM, 1, 1);
    bind_any(group_b);
    tr_close(group_a);
    tr_close(group_b);
}

static void run_child(const char *part)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "sysctl_reserved_ports", (char *)part, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        printf("child: could not run\n");
    else
        printf("child %s: exit %d\n", part, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void write_value(const char *path, const char *name, const char *value)
{
    int written = sysctl_write(path, value) == 0;
    note("net.ipv4.%s = %s (write %s)", name, value, written ? "ok" : "failed");
}

int main(int argc, char **argv)
{
    if (argc == 2) {
        trace_start("sysctl_reserved_ports");
        for (unsigned port = 40001; port <= 40004; port++)
            trace_fixed_port(port);
        if (!strcmp(argv[1], "reserved")) {
            reserved_udp();
            reserved_tcp();
        } else if (!strcmp(argv[1], "autobind_reuse")) {
            autobind_reuse();
        }
        return trace_end();
    }
    trace_start("sysctl_reserved_ports");
    sysctl_restore_on_signals();
    char old_range[64], old_reserved[64], old_reuse[64];
    if (sysctl_save(range_path, old_range, sizeof old_range) <= 0 ||
        sysctl_save(reserved_path, old_reserved, sizeof old_reserved) <= 0 ||
        sysctl_save(reuse_path, old_reuse, sizeof old_reuse) <= 0) {
        sysctl_restore();
        printf("sysctls: unreadable\n");
        return trace_end();
    }
    printf("ip_local_reserved_ports before: \"%.*s\"\n", (int)strcspn(old_reserved, "\n"),
           old_reserved);
    printf("ip_autobind_reuse before: %.*s\n", (int)strcspn(old_reuse, "\n"), old_reuse);
    write_value(range_path, "ip_local_port_range", RANGE);
    write_value(reserved_path, "ip_local_reserved_ports", RESERVED);
    char shown[64] = "";
    sysctl_read(reserved_path, shown, sizeof shown);
    printf("ip_local_reserved_ports reads \"%.*s\"\n", (int)strcspn(shown, "\n"), shown);
    write_value(reuse_path, "ip_autobind_reuse", "0");
    run_child("reserved");
    write_value(reuse_path, "ip_autobind_reuse", "1");
    run_child("autobind_reuse");
    sysctl_restore();
    char now[64] = "";
    sysctl_read(range_path, now, sizeof now);
    check(!strcmp(now, old_range), "ip_local_port_range restored");
    sysctl_read(reserved_path, now, sizeof now);
    check(!strcmp(now, old_reserved), "ip_local_reserved_ports restored");
    sysctl_read(reuse_path, now, sizeof now);
    check(!strcmp(now, old_reuse), "ip_autobind_reuse restored");
    return trace_end();
}
