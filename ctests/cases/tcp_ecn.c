/* tcp_ecn: ECN for TCP (RFC 3168). The case sets net.ipv4.tcp_ecn=1 in its world's host
 * namespace (restored at exit) and re-executes itself, so that a fresh process (under the
 * shim: a fresh stack reading /proc/sys) observes: a connection to the peer's echo service
 * negotiating ECN (ECE|CWR on the SYN, ECE on the SYN-ACK, ECT(0) on new data only; TCP_INFO's
 * TCPI_OPT_ECN and TCPI_OPT_ECN_SEEN), IP_TOS reading and keeping the ECN bits TCP set, then a
 * path that marks CE: the peer's eth0 marks every ECT(0) TCP packet towards the host CE (an
 * eBPF classifier the case loads in the peer while it runs), so the host's ACK carries ECE,
 * the peer answers with CWR and the ECE stops; last the host as the server for a kernel client
 * that asks for ECN (tcp_ecn=1 in the peer's namespace while it runs). A second fresh process
 * under tcp_ecn=0 neither asks as a client nor accepts as a server. */
#include "tcp_lib.h"
#include "peer.h"
#include "sysctl_switch.h"

#include <netinet/tcp.h>
#include <sys/wait.h>

#define LISTEN_PORT 5317
#define MARKER_STOP_PORT 7999

static const char *marker_py =
    "import ctypes, socket, struct, subprocess, sys\n"
    "# Marks CE on every ECT(0) TCP packet leaving (argv[1] 'egress': towards the host) or\n"
    "# entering ('ingress': from the host) the peer's eth0: a direct-action eBPF classifier\n"
    "# on clsact, loaded with bpf(2) and attached over\n"
    "# rtnetlink (no compiler, no bpffs). Removed when a datagram reaches UDP port 7999, or\n"
    "# after 5 s whatever happens.\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "R0, R1, R2, R3, R4, R5, R6, R7, R8, FP = 0, 1, 2, 3, 4, 5, 6, 7, 8, 10\n"
    "def I(code, dst=0, src=0, off=0, imm=0):\n"
    "    return [code, dst, src, off, imm]\n"
    "def load(offset, to, length):\n"
    "    return [I(0xbf, R1, R6), I(0xb7, R2, imm=offset), I(0xbf, R3, FP), I(0x07, R3, imm=to),\n"
    "            I(0xb7, R4, imm=length), I(0x85, imm=26)]\n"
    "prog = [I(0xbf, R6, R1)]\n"
    "prog += load(12, -8, 2) + [I(0x55, R0, off='out'), I(0x69, R1, FP, off=-8),\n"
    "                           I(0x55, R1, off='out', imm=0x0008)]\n"
    "prog += load(14, -24, 10) + [I(0x55, R0, off='out'), I(0x71, R1, FP, off=-15),\n"
    "                             I(0x55, R1, off='out', imm=6)]\n"
    "prog += [I(0x71, R1, FP, off=-23), I(0x57, R1, imm=3), I(0x55, R1, off='out', imm=2)]\n"
    "prog += [I(0x69, R7, FP, off=-24), I(0xbf, R8, R7), I(0x47, R8, imm=0x0300),\n"
    "         I(0x6b, FP, R8, off=-32)]\n"
    "prog += [I(0xbf, R1, R6), I(0xb7, R2, imm=14), I(0xbf, R3, FP), I(0x07, R3, imm=-32),\n"
    "         I(0xb7, R4, imm=2), I(0xb7, R5, imm=0), I(0x85, imm=9)]\n"
    "prog += [I(0xbf, R1, R6), I(0xb7, R2, imm=24), I(0xbf, R3, R7), I(0xbf, R4, R8),\n"
    "         I(0xb7, R5, imm=2), I(0x85, imm=10)]\n"
    "out_at = len(prog)\n"
    "prog += [I(0xb7, R0, imm=0), I(0x95)]\n"
    "code = b''\n"
    "for at, (c, d, s, off, imm) in enumerate(prog):\n"
    "    if off == 'out':\n"
    "        off = out_at - at - 1\n"
    "    code += struct.pack('<BBhi', c, (s << 4) | d, off, imm)\n"
    "insns = ctypes.create_string_buffer(code)\n"
    "license = ctypes.create_string_buffer(b'GPL')\n"
    "attr = struct.pack('<IIQQIIQII16s', 3, len(code) // 8, ctypes.addressof(insns),\n"
    "                   ctypes.addressof(license), 0, 0, 0, 0, 0, b'ipshim_ce')\n"
    "attr = ctypes.create_string_buffer(attr + bytes(144 - len(attr)))\n"
    "def nlattr(kind, payload):\n"
    "    length = 4 + len(payload)\n"
    "    return struct.pack('<HH', length, kind) + payload + bytes((4 - length % 4) % 4)\n"
    "stop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "stop.bind(('0.0.0.0', 7999))\n"
    "stop.settimeout(5)\n"
    "subprocess.run(['tc', 'qdisc', 'del', 'dev', 'eth0', 'clsact'], stderr=subprocess.DEVNULL)\n"
    "subprocess.run(['tc', 'qdisc', 'add', 'dev', 'eth0', 'clsact'], check=True)\n"
    "try:\n"
    "    fd = libc.syscall(321, 5, attr, 144)\n"
    "    if fd < 0:\n"
    "        sys.exit('BPF_PROG_LOAD failed: errno %d' % ctypes.get_errno())\n"
    "    options = nlattr(6, struct.pack('<I', fd)) + nlattr(7, b'ipshim_ce\\0') + \\\n"
    "        nlattr(8, struct.pack('<I', 1))\n"
    "    parent = 0xFFFFFFF2 if sys.argv[1] == 'ingress' else 0xFFFFFFF3\n"
    "    body = struct.pack('<BBHiIII', 0, 0, 0, socket.if_nametoindex('eth0'), 0, parent,\n"
    "                       (1 << 16) | 0x0300)\n"
    "    body += nlattr(1, b'bpf\\0') + nlattr(2 | 0x8000, options)\n"
    "    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n"
    "    nl.bind((0, 0))\n"
    "    nl.send(struct.pack('<IHHII', 16 + len(body), 44, 1 | 4 | 0x400 | 0x200, 1, 0) + body)\n"
    "    error = struct.unpack('<i', nl.recv(65536)[16:20])[0]\n"
    "    print('CE marking on' if error == 0 else 'RTM_NEWTFILTER failed: %d' % error)\n"
    "    print('ready', flush=True)\n"
    "    try:\n"
    "        stop.recv(64)\n"
    "        print('stopped by the host')\n"
    "    except socket.timeout:\n"
    "        print('stopped by the timeout')\n"
    "finally:\n"
    "    subprocess.run(['tc', 'qdisc', 'del', 'dev', 'eth0', 'clsact'])\n"
    "    print('CE marking off')\n";

static const char *client_py =
    "import socket, struct, sys\n"
    "# A kernel client asking for ECN (net.ipv4.tcp_ecn=1 in the peer's namespace for the\n"
    "# duration): connects to the host, sends, reads the echo, reports what it negotiated.\n"
    "path = '/proc/sys/net/ipv4/tcp_ecn'\n"
    "old = open(path).read().strip()\n"
    "open(path, 'w').write('1')\n"
    "try:\n"
    "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)\n"
    "    s.sendall(b'from a kernel client')\n"
    "    got = b''\n"
    "    for _ in range(100):  # until the host's FIN: it closes first\n"
    "        chunk = s.recv(64)\n"
    "        if not chunk:\n"
    "            break\n"
    "        got += chunk\n"
    "    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)\n"
    "    print('client echo %r ecn=%d ecn_seen=%d' % (got, info[5] >> 3 & 1, info[5] >> 4 & 1))\n"
    "    s.close()\n"
    "finally:\n"
    "    open(path, 'w').write(old)\n";

static const char *ecn_path = "/proc/sys/net/ipv4/tcp_ecn";
/* TCP_INFO's ECN bits and congestion state, the only fields this case looks at. */
static void print_ecn_info(int fd, const char *when)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO %s: -1 %s\n", when, strerrorname_np(errno));
        return;
    }
    printf("TCP_INFO %s: TCPI_OPT_ECN=%d TCPI_OPT_ECN_SEEN=%d ca_state=%u\n", when,
           !!(info.tcpi_options & TCPI_OPT_ECN), !!(info.tcpi_options & TCPI_OPT_ECN_SEEN),
           info.tcpi_ca_state);
}

static void echo_round(int fd, const char *text)
{
    char buf[128];
    size_t len = strlen(text);
    tr_send(fd, text, len, 0);
    quiet_wait_bytes(fd, (int)len, 3000);
    tr_recv(fd, buf, sizeof buf, 0);
}

static void negotiation(void)
{
    note("client with tcp_ecn=1: the echo service's kernel (tcp_ecn=2) accepts");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    print_ecn_info(fd, "before connect");
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    print_ecn_info(fd, "connected");
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    echo_round(fd, "hello, ecn");
    print_ecn_info(fd, "after the echo (ECT(0) data seen)");
    note("IP_TOS keeps the ECN bits the stack owns");
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0x13);
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    tr_close(fd);

    note("data to the discard service: the last segment sent was ECT(0) data");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_send(fd, "discarded", 9, 0);
    usleep(100 * 1000);
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    tr_setint(fd, IPPROTO_IP, IP_TOS, 0x10);
    tr_getint(fd, IPPROTO_IP, IP_TOS);
    tr_close(fd);
}

static void loopback(void)
{
    note("loopback: both ends are ours, both use ECN");
    int listener = tr_listener("127.0.0.1", LISTEN_PORT + 1, 4);
    int client = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(client, "127.0.0.1", LISTEN_PORT + 1);
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    int served = tr_accept4(listener, &from, &len, 0);
    print_ecn_info(client, "client");
    print_ecn_info(served, "accepted");
    char buf[16];
    tr_send(client, "over lo", 7, 0);
    quiet_wait_bytes(served, 7, 3000);
    tr_recv(served, buf, sizeof buf, 0);
    print_ecn_info(served, "accepted, after data");
    tr_getint(client, IPPROTO_IP, IP_TOS);
    tr_close(client);
    tr_close(served);
    tr_close(listener);
}

static void stop_marker(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(MARKER_STOP_PORT) };
    inet_pton(AF_INET, PEER_ADDR, &to.sin_addr);
    sendto(fd, "off", 3, 0, (struct sockaddr *)&to, sizeof to);
    close(fd);
}

static void congestion_experienced(void)
{
    note("the peer marks its ECT(0) packets CE: ECE until the peer's CWR");
    struct peer_job marker;
    if (peer_start_python(&marker, PEER_NS, "python3 mark-ce.py egress", marker_py,
                          (const char *const[]){ "egress", NULL }) != 0)
        return;
    peer_wait_ready(&marker, 3000);
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    echo_round(fd, "marked");
    print_ecn_info(fd, "after a CE-marked echo");
    stop_marker();
    peer_finish(&marker, 6000);
    note("our data carries ECE; the peer's echo comes back with CWR");
    echo_round(fd, "after the mark");
    usleep(100 * 1000);
    print_ecn_info(fd, "after the CWR");
    tr_close(fd);
}

static void sender_reduces(void)
{
    note("the peer's eth0 marks our ECT(0) data CE on arrival: the peer echoes ECE, we enter CWR");
    struct peer_job marker;
    if (peer_start_python(&marker, PEER_NS, "python3 mark-ce.py ingress", marker_py,
                          (const char *const[]){ "ingress", NULL }) != 0)
        return;
    peer_wait_ready(&marker, 3000);
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_connect4(fd, PEER_ADDR, PORT_ECHO);
    echo_round(fd, "to be marked");
    print_ecn_info(fd, "after an echo that carried ECE");
    stop_marker();
    peer_finish(&marker, 6000);
    note("our next data carries CWR; its ACK ends the CWR state");
    echo_round(fd, "reduced");
    usleep(100 * 1000);
    print_ecn_info(fd, "after the CWR went out");
    tr_close(fd);
}

static void server(void)
{
    note("a kernel client with tcp_ecn=1 connects to a listener of ours");
    int listener = tr_listener("0.0.0.0", LISTEN_PORT, 4);
    char port[8];
    snprintf(port, sizeof port, "%d", LISTEN_PORT);
    struct peer_job client;
    if (peer_start_python(&client, PEER_NS, "python3 ecn-client.py", client_py,
                          (const char *const[]){ HOST_ADDR, port, NULL }) != 0) {
        tr_close(listener);
        return;
    }
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    int fd = tr_accept4(listener, &from, &len, 0);
    char buf[64];
    quiet_wait_bytes(fd, 20, 3000);
    ssize_t n = tr_recv(fd, buf, sizeof buf, 0);
    print_ecn_info(fd, "after the client's data");
    if (n > 0)
        tr_send(fd, buf, (size_t)n, 0);
    /* Our FIN goes first, so no delayed ACK of the client's FIN is in the picture. */
    tr_close(fd);
    peer_finish(&client, 5000);
    tr_close(listener);
}

/* Writes VALUE into net.ipv4.tcp_ecn and runs a fresh copy of the case as WHAT. */
static void run_with(const char *value, const char *what)
{
    int written = sysctl_write(ecn_path, value) == 0;
    note("net.ipv4.tcp_ecn = %s (write %s)", value, written ? "ok" : "failed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *child_argv[] = { "tcp_ecn", (char *)what, NULL };
        execv("/proc/self/exe", child_argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        printf("child: could not run\n");
    else
        printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "observe")) {
        trace_start("tcp_ecn (fresh process, tcp_ecn=1)");
        negotiation();
        loopback();
        congestion_experienced();
        sender_reduces();
        server();
        return trace_end();
    }
    if (argc == 2 && !strcmp(argv[1], "observe-off")) {
        trace_start("tcp_ecn (fresh process, tcp_ecn=0)");
        note("client with tcp_ecn=0: the SYN does not ask");
        int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_connect4(fd, PEER_ADDR, PORT_ECHO);
        echo_round(fd, "no ecn");
        print_ecn_info(fd, "after the echo");
        tr_close(fd);
        note("server with tcp_ecn=0: the kernel client asks, the listener refuses");
        server();
        return trace_end();
    }
    trace_start("tcp_ecn");
    char ecn_old[16];
    if (sysctl_save(ecn_path, ecn_old, sizeof ecn_old) <= 0) {
        printf("tcp_ecn: unreadable\n");
        return trace_end();
    }
    sysctl_restore_on_signals();
    run_with("1", "observe");
    /* The next process under the shim starts with an empty ARP cache: so does the kernel's. */
    peer_run(HOST_NS, "ip neigh flush dev eth0",
             (char *const[]){ "ip", "neigh", "flush", "dev", "eth0", NULL }, 3000);
    run_with("0", "observe-off");
    sysctl_restore();
    return trace_end();
}
