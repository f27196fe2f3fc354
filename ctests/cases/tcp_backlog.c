/* tcp_backlog: a TCP listener's queues with the kernel peer as client. listen(fd, 1) takes two
 * connections ("len > max"); more clients stay in SYN_SENT until accept() makes room and their
 * retransmitted SYN gets in; listen() again with 0 and -1 succeeds. Then, each part in a fresh
 * process started after a per-namespace sysctl was written in the host namespace (restored
 * after): net.core.somaxconn=0 (listen(fd, 5) then holds one connection), tcp_syncookies=2
 * (every SYN gets a cookie: the connection works; without the peer's timestamps it has no SACK
 * and no window scaling, which TCP_INFO shows), the SYN queue overflowing (two crafted SYNs
 * from addresses the peer blackholes: with tcp_syncookies=1 the next client gets a cookie, with
 * 0 it is dropped), and a final ACK that finds the accept queue full (crafted clients whose
 * replies the peer captures: tcp_abort_on_overflow=0 drops it and the SYN-ACK comes again after
 * 1 s, =1 answers with a reset, which a real client reads as ECONNRESET). A kernel client
 * cannot be made to send its final ACK late, hence the crafted ones. */
#include "trace.h"
#include "peer.h"
#include "tcp_lib.h"
#include "sysctl_switch.h"

#include <netinet/tcp.h>
#include <sys/wait.h>

#define PORT 6100

/* ---- peer programs ------------------------------------------------------- */

/* N nonblocking kernel clients, each given 0.3 s to connect; prints which did, says ready,
 * then waits up to 4 s for the others and prints how each ended. */
static const char CLIENTS_PY[] =
    "import socket, select, sys, time\n"
    "host, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])\n"
    "def connected(c):\n"
    "    return bool(select.select([], [c], [], 0)[1]) and c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0\n"
    "clients = []\n"
    "for i in range(n):\n"
    "    c = socket.socket(); c.setblocking(False)\n"
    "    try: c.connect((host, 6100))\n"
    "    except BlockingIOError: pass\n"
    "    select.select([], [c], [], 0.3)\n"
    "    clients.append(c)\n"
    "for i, c in enumerate(clients):\n"
    "    print('client', i, 'connected' if connected(c) else 'pending', flush=True)\n"
    "print('ready', flush=True)\n"
    "deadline = time.time() + wait\n"
    "while time.time() < deadline and not all(connected(c) for c in clients):\n"
    "    time.sleep(0.05)\n"
    "for i, c in enumerate(clients):\n"
    "    print('client', i, 'finally', 'connected' if connected(c) else 'pending', flush=True)\n"
    "time.sleep(0.3)\n";

/* One kernel client that sends a byte and closes first (so the host never holds TIME_WAIT);
 * tcp_timestamps of the peer as argv[2] while it connects. */
static const char ONE_CLIENT_PY[] =
    "import socket, sys, time, subprocess\n"
    "host, ts = sys.argv[1], sys.argv[2]\n"
    "old = open('/proc/sys/net/ipv4/tcp_timestamps').read().strip()\n"
    "open('/proc/sys/net/ipv4/tcp_timestamps', 'w').write(ts)\n"
    "try:\n"
    "    c = socket.create_connection((host, 6100), timeout=3)\n"
    "finally:\n"
    "    open('/proc/sys/net/ipv4/tcp_timestamps', 'w').write(old)\n"
    "c.sendall(b'x')\n"
    "print('connected', flush=True)\n"
    "print('ready', flush=True)\n"
    "time.sleep(0.2)\n"
    "c.close()\n"
    "time.sleep(0.3)\n";

/* Crafted TCP from addresses in 198.19.77.0/24, which the peer routes into a blackhole (so its
 * kernel never answers the host's segments with resets); an AF_PACKET socket on eth0 sees what
 * the host sends them before the peer's routing drops it. */
static const char CRAFT_PY[] =
    "import random, socket, struct, select, subprocess, sys, time\n"
    "HOST = sys.argv[1]\n"
    "PORT0 = random.randrange(40000, 60000, 16)  # inside ip_local_port_range: printed as EPHEMERAL\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16\n"
    "    return (~s) & 0xffff\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "cap.bind(('eth0', 0))\n"
    "def send(src, sport, seq, ack, flags):\n"
    "    opts = struct.pack('!BBH', 2, 4, 1460) if flags & 2 else b''\n"
    "    tcp = struct.pack('!HHIIBBHHH', sport, 6100, seq, ack, (5 + len(opts) // 4) << 4, flags, 64240, 0, 0) + opts\n"
    "    ph = socket.inet_aton(src) + socket.inet_aton(HOST) + struct.pack('!BBH', 0, 6, len(tcp))\n"
    "    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]\n"
    "    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(HOST))\n"
    "    raw.sendto(ip[:10] + struct.pack('!H', csum(ip)) + ip[12:] + tcp, (HOST, 0))\n"
    "def replies(seconds):\n"
    "    out = []; end = time.time() + seconds\n"
    "    while True:\n"
    "        left = end - time.time()\n"
    "        if left <= 0 or not select.select([cap], [], [], left)[0]: return out\n"
    "        f = cap.recv(65535)[14:]\n"
    "        if len(f) < 40 or f[9] != 6 or socket.inet_ntoa(f[12:16]) != HOST: continue\n"
    "        dst = socket.inet_ntoa(f[16:20])\n"
    "        if not dst.startswith('198.19.77.'): continue\n"
    "        t = f[(f[0] & 15) * 4:]\n"
    "        sport, dport, seq, ack, off, fl = struct.unpack('!HHIIBB', t[:14])\n"
    "        if not 0 < dport - PORT0 < 16: continue\n"
    "        out.append((dst, dport, seq, ack, fl))\n"
    "names = {0x12: 'SYN-ACK', 0x04: 'RST', 0x14: 'RST-ACK', 0x10: 'ACK'}\n"
    "def show(what, got, isn, only=None):\n"
    "    got = [g for g in got if only is None or g[0] == only]\n"
    "    if not got: print(what, 'no answer', flush=True)\n"
    "    for dst, dport, seq, ack, fl in got:\n"
    "        rel = (seq - isn.get(dst, seq)) & 0xffffffff\n"
    "        print(what, dst, names.get(fl, hex(fl)), 'seq=ISN+%d' % rel, 'ack=%d' % ack if fl & 0x10 else '', flush=True)\n"
    "subprocess.run(['ip', 'route', 'replace', 'blackhole', '198.19.77.0/24'], check=True)\n"
    "try:\n"
    "    mode = sys.argv[2]\n"
    "    isn = {}\n"
    "    def syn(n):\n"
    "        src = '198.19.77.%d' % n; send(src, PORT0 + n, 1000, 0, 2)\n"
    "        got = replies(0.3); show('SYN from .%d:' % n, got, isn, src)\n"
    "        for dst, dport, seq, ack, fl in got:\n"
    "            if fl == 0x12: isn[dst] = seq\n"
    "    def ack(n):\n"
    "        src = '198.19.77.%d' % n; send(src, PORT0 + n, 1001, (isn.get(src, 0) + 1) & 0xffffffff, 0x10)\n"
    "        show('ACK from .%d:' % n, replies(0.3), isn, src)\n"
    "    if mode == 'flood':\n"
    "        syn(1); syn(2)\n"
    "        print('ready', flush=True)\n"
    "        time.sleep(1.2)\n"
    "    else:\n"
    "        syn(1); syn(2); ack(1); syn(3); ack(2); ack(3)\n"
    "        show('after 1.2 s:', replies(1.2), isn)\n"
    "        print('ready', flush=True)\n"
    "        time.sleep(0.5)\n"
    "        ack(3)\n"
    "        time.sleep(1.0)\n"
    "finally:\n"
    "    subprocess.run(['ip', 'route', 'del', 'blackhole', '198.19.77.0/24'])\n";

/* ---- the parts (each in its own process) ----------------------------------------------------------- */

/* A listener's TCP_INFO: tcpi_unacked is sk_ack_backlog (the accept queue's length) and
 * tcpi_sacked sk_max_ack_backlog (listen()'s backlog after the somaxconn clamp). */
static void print_listener_info(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO: %s\n", strerrorname_np(errno));
        return;
    }
    printf("TCP_INFO: state=%u accept queue=%u max=%u\n", info.tcpi_state, info.tcpi_unacked,
           info.tcpi_sacked);
}

/* accept() everything waiting, without blocking; returns how many. */
static int accept_all(int listener, int *fds, int max)
{
    int count = 0;
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < 16; i++) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0)
            break;
        if (count < max)
            fds[count] = fd;
        else
            close(fd);
        count++;
    }
    return count;
}

/* After the peer's clients exited (their FIN came): their delayed ACK goes out before anything
 * the host does next, in both worlds, instead of racing it. */
static void settle(void)
{
    usleep(200 * 1000);
}

/* Closes with SO_LINGER 0 (a reset): a FIN to a crafted client's blackholed address would be
 * retransmitted by the kernel world's orphan for minutes, into the next runs' captures. */
static void close_all(int *fds, int count)
{
    struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };
    for (int i = 0; i < count; i++) {
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
        close(fds[i]);
    }
}

/* listen(fd, 1), four clients, accept. */
static void backlog_part(void)
{
    note("listen(fd, 1): four clients, nothing accepted until they tried");
    int listener = tr_listener("0.0.0.0", PORT, 1);
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 clients.py 4", CLIENTS_PY,
                      (const char *const[]){ HOST_ADDR, "4", "4", NULL });
    peer_wait_ready(&job, 5000);
    print_listener_info(listener);
    int fds[8];
    int first = accept_all(listener, fds, 8);
    printf("accepted at once: %d\n", first);
    int later = 0;
    for (int i = 0; i < 40 && later < 4 - first; i++) {
        quiet_wait_events(listener, POLLIN, 100);
        later += accept_all(listener, fds + first + later, 8 - first - later);
    }
    printf("accepted after the retransmitted SYNs: %d\n", later);
    peer_finish(&job, 5000);
    settle();
    close_all(fds, first + later > 8 ? 8 : first + later);
    note("listen() again, negative and zero backlogs");
    tr_listen(listener, 0);
    print_listener_info(listener);
    tr_listen(listener, -1);
    print_listener_info(listener);
    tr_listen(listener, 7);
    print_listener_info(listener);
    tr_close(listener);
}

/* listen(fd, 5) under net.core.somaxconn 0: sk_max_ack_backlog is 0, one connection fits. */
static void somaxconn_part(void)
{
    int listener = tr_listener("0.0.0.0", PORT, 5);
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 clients.py 2", CLIENTS_PY,
                      (const char *const[]){ HOST_ADDR, "2", "0", NULL });
    peer_wait_ready(&job, 5000);
    print_listener_info(listener);
    int fds[8];
    int count = accept_all(listener, fds, 8);
    printf("accepted: %d\n", count);
    peer_finish(&job, 5000);
    settle();
    close_all(fds, count > 8 ? 8 : count);
    tr_close(listener);
}

static void print_options(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO: %s\n", strerrorname_np(errno));
        return;
    }
    printf("TCP_INFO: state=%u options=%s%s%s snd_wscale=%s rcv_wscale=%s\n", info.tcpi_state,
           info.tcpi_options & TCPI_OPT_TIMESTAMPS ? "TS " : "",
           info.tcpi_options & TCPI_OPT_SACK ? "SACK " : "",
           info.tcpi_options & TCPI_OPT_WSCALE ? "WSCALE" : "-",
           info.tcpi_snd_wscale ? "nonzero" : "0", info.tcpi_rcv_wscale ? "nonzero" : "0");
}

/* One client; what the accepted connection negotiated. */
static void one_client_part(const char *peer_timestamps)
{
    int listener = tr_listener("0.0.0.0", PORT, 5);
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 one_client.py", ONE_CLIENT_PY,
                      (const char *const[]){ HOST_ADDR, peer_timestamps, NULL });
    peer_wait_ready(&job, 5000);
    quiet_wait_events(listener, POLLIN, 2000);
    int fd = tr_accept4(listener, NULL, NULL, 0);
    if (fd >= 0) {
        quiet_wait_bytes(fd, 1, 2000);
        char byte;
        tr_recv(fd, &byte, 1, 0);
        print_options(fd);
        quiet_wait_events(fd, POLLIN, 2000);
        tr_recv(fd, &byte, 1, 0);
        tr_close(fd);
    }
    peer_finish(&job, 5000);
    tr_close(listener);
}

/* Crafted clients: "flood" (two requests that never complete, then a kernel client) or
 * "overflow" (a final ACK on a full accept queue). */
static void crafted_part(const char *mode)
{
    int listener = tr_listener("0.0.0.0", PORT, 1);
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 craft.py", CRAFT_PY,
                      (const char *const[]){ HOST_ADDR, mode, NULL });
    peer_wait_ready(&job, 5000);
    int fds[8];
    if (!strcmp(mode, "flood")) {
        /* The kernel client comes after the two requests filled the SYN queue. */
        struct peer_job client;
        peer_start_python(&client, PEER_NS, "python3 clients.py 1", CLIENTS_PY,
                          (const char *const[]){ HOST_ADDR, "1", "0", NULL });
        peer_wait_ready(&client, 5000);
        printf("accepted: %d\n", accept_all(listener, fds, 8) > 0 ? 1 : 0);
        peer_finish(&client, 6000);
        settle();
    } else {
        int first = accept_all(listener, fds, 8);
        printf("accepted at once: %d\n", first);
        quiet_wait_events(listener, POLLIN, 700);
        int later = accept_all(listener, fds + first, 8 - first);
        printf("accepted after the ACK came again: %d\n", later);
        close_all(fds, first + later); /* while the peer still blackholes the resets */
        peer_finish(&job, 5000);
        tr_close(listener);
        return;
    }
    peer_finish(&job, 5000);
    tr_close(listener);
}

static void observe(const char *what)
{
    trace_fixed_port(PORT);
    if (!strcmp(what, "backlog"))
        backlog_part();
    else if (!strcmp(what, "somaxconn"))
        somaxconn_part();
    else if (!strcmp(what, "syncookies2_ts"))
        one_client_part("1");
    else if (!strcmp(what, "syncookies2_nots"))
        one_client_part("0");
    else if (!strcmp(what, "syncookies1_nots"))
        one_client_part("0");
    else if (!strcmp(what, "flood"))
        crafted_part("flood");
    else if (!strcmp(what, "overflow"))
        crafted_part("overflow");
}

static void run_child(const char *what)
{
    /* Each process under the shim starts with an empty ARP cache: so does the kernel's. */
    peer_run(HOST_NS, "ip neigh flush dev eth0",
             (char *const[]){ "ip", "neigh", "flush", "dev", "eth0", NULL }, 3000);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { "tcp_backlog", "observe", (char *)what, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        printf("child %s: could not run\n", what);
    else
        printf("child %s: exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Writes VALUE into net.NAME ("ipv4.tcp_syncookies") of the host namespace, runs the child
 * WHAT, restores. */
static void with_sysctl(const char *name, const char *value, const char *what)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/net/%s", name);
    for (char *dot = path + strlen("/proc/sys/net/"); *dot; dot++)
        if (*dot == '.')
            *dot = '/';
    char old[64];
    if (sysctl_save(path, old, sizeof old) <= 0) {
        printf("%s: unreadable\n", name);
        return;
    }
    int ret = sysctl_write(path, value);
    note("net.%s = %s (write %s): %s", name, value, ret == 0 ? "ok" : "failed", what);
    run_child(what);
    sysctl_restore();
    char now[64];
    sysctl_read(path, now, sizeof now);
    check(!strcmp(now, old), "net.%s restored", name);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "observe")) {
        trace_start("tcp_backlog (fresh process)");
        alarm(9);
        observe(argv[2]);
        return trace_end();
    }
    trace_start("tcp_backlog");
    alarm(28); /* the parts run one after another; the runner's own limit is 30 s */
    sysctl_restore_on_signals();
    /* Every part runs in a fresh process and this one opens no socket: under the shim two
     * live stacks on one interface would both answer the peer. */
    note("the defaults: listen(fd, 1)");
    run_child("backlog");
    with_sysctl("core.somaxconn", "0", "somaxconn");
    with_sysctl("ipv4.tcp_syncookies", "2", "syncookies2_ts");
    with_sysctl("ipv4.tcp_syncookies", "2", "syncookies2_nots");
    with_sysctl("ipv4.tcp_syncookies", "1", "syncookies1_nots");
    with_sysctl("ipv4.tcp_syncookies", "1", "flood");
    with_sysctl("ipv4.tcp_syncookies", "0", "flood");
    with_sysctl("ipv4.tcp_abort_on_overflow", "0", "overflow");
    with_sysctl("ipv4.tcp_abort_on_overflow", "1", "overflow");
    return trace_end();
}
