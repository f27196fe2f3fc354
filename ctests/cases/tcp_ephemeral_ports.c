/* tcp_ephemeral_ports: the local ports TCP picks by itself. connect() without bind takes
 * __inet_hash_connect's choice (ports of the range's low end's parity first), bind(0) and
 * listen() take inet_csk_find_open_port's (the other parity first; SO_REUSEADDR searches
 * the lower half of the range first). Then, with net.ipv4.ip_local_port_range narrowed to
 * four ports (written in this world's host namespace and restored; a fresh process reads
 * it), a port connect() chose is shared by connections to different destinations (only the
 * 4-tuple must be unique), a port bind() took is not, EADDRNOTAVAIL comes once every port
 * is used towards one destination, and IP_BIND_ADDRESS_NO_PORT leaves the choice to
 * connect(). Which port of a parity comes first is random: the case prints parities and
 * relations, and the exact port only where the kernel's choice is forced. Connections end
 * with SO_LINGER 0 so no TIME_WAIT outlives a run. */
#include "tcp_lib.h"
#include "sysctl_switch.h"

#include <sys/wait.h>

#define NARROW_LOW 40001
#define NARROW_HIGH 40004
#define NARROW_RANGE "40001 40004"
#define LOOPBACK_LISTENER "127.0.0.1"
#define LOOPBACK_PORT 5690

static const char *range_path = "/proc/sys/net/ipv4/ip_local_port_range";

static const char *parity_name(int port)
{
    return port < 0 ? "none" : port % 2 ? "odd" : "even";
}

/* A connection that ends with a reset, not TIME_WAIT. */
static void close_abortively(int fd)
{
    struct linger off = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    tr_close(fd);
}

static int connect_to_address(const char *address, int port)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    if (tr_connect4(fd, address, port) < 0) {
        tr_close(fd);
        return -1;
    }
    return fd;
}

static int connect_to(int port)
{
    return connect_to_address(PEER_ADDR, port);
}

/* ---- the default range ---------------------------------------------------- */

static void default_range(void)
{
    /* A listener of this process on loopback, so that only the "narrow" process talks to
     * the peer: under the shim each process resolves the peer's address again (its ARP
     * cache is its own), where the kernel's neighbour table outlives processes. */
    note("default range: connect() without bind (low end 32768 is even), to a loopback listener");
    int local = tr_listener(LOOPBACK_LISTENER, LOOPBACK_PORT, 8);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_to_address(LOOPBACK_LISTENER, LOOPBACK_PORT);
        printf("connect #%d local port: %s\n", i + 1, parity_name(quiet_local_port(fds[i])));
    }
    for (int i = 0; i < 4; i++)
        close_abortively(fds[i]);
    tr_close(local);

    note("default range: bind(0) and listen() without bind take the other parity");
    for (int i = 0; i < 4; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_bind4(fds[i], i % 2 ? HOST_ADDR : "0.0.0.0", 0);
        printf("bind(0) #%d local port: %s\n", i + 1, parity_name(quiet_local_port(fds[i])));
    }
    for (int i = 0; i < 4; i++)
        tr_close(fds[i]);
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_listen(listener, 1);
    printf("listen() local port: %s\n", parity_name(quiet_local_port(listener)));
    tr_close(listener);

    note("default range: SO_REUSEADDR bind(0) searches the lower half [32768, 46884) first");
    for (int i = 0; i < 3; i++) {
        int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        tr_bind4(fd, "0.0.0.0", 0);
        int port = quiet_local_port(fd);
        printf("SO_REUSEADDR bind(0) #%d: %s, %s half\n", i + 1, parity_name(port),
               port < 46884 ? "lower" : "upper");
        tr_close(fd);
    }
}

/* ---- the narrowed range, in a fresh process ------------------------------- */

static void narrow_range(void)
{
    note("range " NARROW_RANGE ": the low end 40001 is odd, so bind(0) prefers even ports");
    int bound[4];
    for (int i = 0; i < 4; i++) {
        bound[i] = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_bind4(bound[i], "0.0.0.0", 0);
        printf("bind(0) #%d local port: %s\n", i + 1, parity_name(quiet_local_port(bound[i])));
    }
    int extra = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(extra, "0.0.0.0", 0);
    tr_close(extra);
    for (int i = 0; i < 4; i++)
        tr_close(bound[i]);

    note("SO_REUSEADDR bind(0): lower half [40001, 40003) first, odd offset first: a fixed order");
    for (int i = 0; i < 4; i++) {
        bound[i] = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_setint(bound[i], SOL_SOCKET, SO_REUSEADDR, 1);
        tr_bind4(bound[i], "0.0.0.0", 0);
        printf("SO_REUSEADDR bind(0) #%d local port: %d\n", i + 1, quiet_local_port(bound[i]));
    }
    for (int i = 0; i < 4; i++)
        tr_close(bound[i]);

    note("connect() to the peer's echo port: odd ports (the low end's parity) first");
    int to_echo[5];
    int ports[5];
    for (int i = 0; i < 5; i++) {
        to_echo[i] = connect_to(PORT_ECHO);
        ports[i] = to_echo[i] < 0 ? -1 : quiet_local_port(to_echo[i]);
        printf("connect to :7 #%d local port: %s\n", i + 1, parity_name(ports[i]));
    }

    note("every port is used towards :7; a connection to :9 shares one of them");
    int to_discard = connect_to(PORT_DISCARD);
    int shared = to_discard < 0 ? -1 : quiet_local_port(to_discard);
    int matches = 0;
    for (int i = 0; i < 4; i++)
        matches += shared >= 0 && ports[i] == shared;
    printf("connect to :9 local port: %s one of the :7 connections' ports\n",
           matches == 1 ? "is" : "is not");

    note("bind(0) and listen() find no port: connect() holds all four");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(fd, "0.0.0.0", 0);
    tr_listen(fd, 1);
    tr_close(fd);

    note("IP_BIND_ADDRESS_NO_PORT: bind records the address, connect() finds the port");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
    tr_bind4(fd, HOST_ADDR, 0);
    struct sockaddr_in name;
    socklen_t len = sizeof name;
    tr_getsockname(fd, (struct sockaddr *)&name, &len);
    tr_bind4(fd, HOST_ADDR, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    int no_port = quiet_local_port(fd);
    printf("connect after IP_BIND_ADDRESS_NO_PORT local port: %s, %s\n", parity_name(no_port),
           no_port >= NARROW_LOW && no_port <= NARROW_HIGH ? "in range" : "out of range");
    int other = connect_to(PORT_DISCARD);
    int third = connect_to(PORT_DISCARD);
    int fourth = connect_to(PORT_DISCARD);
    int fifth = connect_to(PORT_DISCARD);

    note("a port bind() took is never shared by connect()");
    for (int i = 0; i < 4; i++)
        if (to_echo[i] >= 0)
            close_abortively(to_echo[i]);
    if (to_discard >= 0)
        close_abortively(to_discard);
    int closes[] = { fd, other, third, fourth, fifth };
    for (int i = 0; i < 5; i++)
        if (closes[i] >= 0)
            close_abortively(closes[i]);
    /* The peer's echo service (a python socketserver, listen backlog 5) must accept the
     * connections just reset before four more arrive: a reset child stays in its accept
     * queue until accept(), and a SYN that finds the queue full is dropped and sent again
     * 1 s later, depending on how fast the peer's python runs. */
    usleep(200 * 1000);
    int held = tr_socket(AF_INET, SOCK_STREAM, 0);
    trace_fixed_port(NARROW_LOW);
    tr_bind4(held, HOST_ADDR, NARROW_LOW);
    int shares = 0;
    int conns[4];
    for (int i = 0; i < 4; i++) {
        conns[i] = connect_to(PORT_ECHO);
        int port = conns[i] < 0 ? -1 : quiet_local_port(conns[i]);
        shares += port == NARROW_LOW;
    }
    printf("connections on the bound port %d: %d\n", NARROW_LOW, shares);
    for (int i = 0; i < 4; i++)
        if (conns[i] >= 0)
            close_abortively(conns[i]);
    tr_close(held);
}

/* Each part runs in a fresh process, and the parent opens no socket: under the shim two
 * processes would each run a stack on the interface, and the idle one would reset the
 * other's connections. */
static void run_child(char *part)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "tcp_ephemeral_ports", part, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        printf("child: could not run\n");
    else
        printf("child %s: exit %d\n", part, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "narrow")) {
        trace_start("tcp_ephemeral_ports (range " NARROW_RANGE ")");
        narrow_range();
        return trace_end();
    }
    if (argc == 2 && !strcmp(argv[1], "default")) {
        trace_start("tcp_ephemeral_ports (default range)");
        default_range();
        return trace_end();
    }
    trace_start("tcp_ephemeral_ports");
    sysctl_restore_on_signals();
    run_child("default");

    char old[64];
    if (sysctl_save(range_path, old, sizeof old) <= 0) {
        printf("ip_local_port_range: unreadable\n");
        return trace_end();
    }
    int written = sysctl_write(range_path, NARROW_RANGE) == 0;
    note("net.ipv4.ip_local_port_range = " NARROW_RANGE " (write %s)", written ? "ok" : "failed");
    run_child("narrow");
    sysctl_restore();
    char now[64] = "";
    sysctl_read(range_path, now, sizeof now);
    check(!strcmp(now, old), "ip_local_port_range restored");
    return trace_end();
}
