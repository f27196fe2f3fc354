/* tcp_reuseport: SO_REUSEPORT groups. Four TCP listeners on one port share the connections
 * the peer makes: reuseport_select_sock_by_hash picks one per 4-tuple with a keyed hash
 * (inet_ehashfn, a per-boot secret), so which listener gets which connection differs from
 * run to run; the case prints that each connection reached exactly one listener and that
 * every listener got some. When one listener of the group closes, the connections queued on
 * it are reset, not handed to the others (tcp_migrate_req is 0): the peer sees a reset on
 * those and an answer on the rest. Four UDP sockets on one port share the datagrams the
 * same way (udp4_lib_lookup2's group). */
#include "tcp_lib.h"
#include "peer.h"

#define TCP_PORT 5641
#define UDP_PORT 5642
#define GROUP 4
#define CONNECTIONS 64
#define SECOND_ROUND 32

static const char *client_source =
    "import socket, sys, time\n"
    "host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
    "conns = []\n"
    "for i in range(count):\n"
    "    c = socket.create_connection((host, port), timeout=5)\n"
    "    c.sendall(b'x')\n"
    "    conns.append(c)\n"
    "print('ready', flush=True)\n"
    "answered = reset = 0\n"
    "for c in conns:\n"
    "    c.settimeout(5)\n"
    "    try:\n"
    "        data = c.recv(1)\n"
    "        if data == b'y':\n"
    "            answered += 1\n"
    "    except ConnectionResetError:\n"
    "        reset += 1\n"
    "    c.close()\n"
    "print('each connection answered or reset:', answered + reset == count)\n"
    "if sys.argv[4] == 'close':\n"
    "    print('some reset:', reset > 0, '- some answered:', answered > 0)\n"
    "else:\n"
    "    print('all answered:', answered == count)\n";

static const char *udp_source =
    "import socket, sys\n"
    "for i in range(int(sys.argv[3])):\n"
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "    s.sendto(b'd', (sys.argv[1], int(sys.argv[2])))\n"
    "    s.close()\n"
    "print('sent', sys.argv[3])\n";

static int make_listener(void)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(fd, "0.0.0.0", TCP_PORT);
    tr_listen(fd, 128);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Accepts from every listener in `fds` (skipping -1) until `want` connections came or 3 s
 * passed; answers each with one byte. Counts per listener in `counts`. */
static int accept_all(const int *fds, int *counts, int want, int *accepted)
{
    int total = 0;
    for (int round = 0; round < 300 && total < want; round++) {
        struct pollfd p[GROUP];
        for (int i = 0; i < GROUP; i++)
            p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        poll(p, GROUP, 10);
        for (int i = 0; i < GROUP; i++) {
            if (fds[i] < 0)
                continue;
            for (;;) {
                int c = accept(fds[i], NULL, NULL);
                if (c < 0)
                    break;
                counts[i]++;
                accepted[total++] = c;
                char byte = 0;
                recv(c, &byte, 1, MSG_WAITALL);
            }
        }
    }
    return total;
}

/* Answers each connection, then closes it once the peer has (its FIN read), so the
 * closing sequence on the wire does not depend on who is faster. */
static void answer_and_close(int *accepted, int count)
{
    for (int i = 0; i < count; i++)
        send(accepted[i], "y", 1, MSG_NOSIGNAL);
    for (int i = 0; i < count; i++) {
        char byte;
        quiet_wait_events(accepted[i], POLLIN, 3000);
        while (recv(accepted[i], &byte, 1, MSG_DONTWAIT) > 0)
            ;
        close(accepted[i]);
    }
}

static void print_spread(const char *what, const int *counts, int total, int want)
{
    int every = 1;
    for (int i = 0; i < GROUP; i++)
        every &= counts[i] >= 1;
    printf("%s: %d of %d accepted, every listener got at least one: %s\n", what, total, want,
           every ? "yes" : "no");
}

static void tcp_group(void)
{
    note("four SO_REUSEPORT listeners; the peer makes 64 connections");
    int fds[GROUP];
    for (int i = 0; i < GROUP; i++)
        fds[i] = make_listener();
    struct peer_job job;
    char count[8];
    snprintf(count, sizeof count, "%d", CONNECTIONS);
    peer_start_python(&job, PEER_NS, "python3 connect_many.py 64", client_source,
                      (const char *const[]){ HOST_ADDR, "5641", count, "keep", NULL });
    int counts[GROUP] = { 0 };
    int accepted[CONNECTIONS];
    int total = accept_all(fds, counts, CONNECTIONS, accepted);
    print_spread("first round", counts, total, CONNECTIONS);
    peer_wait_ready(&job, 5000);
    answer_and_close(accepted, total);
    peer_finish(&job, 8000);

    note("32 more connections; the first listener closes before accepting its share");
    snprintf(count, sizeof count, "%d", SECOND_ROUND);
    peer_start_python(&job, PEER_NS, "python3 connect_many.py 32", client_source,
                      (const char *const[]){ HOST_ADDR, "5641", count, "close", NULL });
    peer_wait_ready(&job, 5000);
    usleep(100 * 1000);
    tr_close(fds[0]);
    fds[0] = -1;
    int second[GROUP] = { 0 };
    int accepted2[SECOND_ROUND];
    /* What the other three hold is all there is: the rest went to the closed one. */
    int got = accept_all(fds, second, SECOND_ROUND, accepted2);
    printf("the other listeners accepted fewer than %d: %s, at least one: %s\n", SECOND_ROUND,
           got < SECOND_ROUND ? "yes" : "no", got >= 1 ? "yes" : "no");
    answer_and_close(accepted2, got);
    peer_finish(&job, 8000);

    note("new connections now reach only the remaining three");
    peer_start_python(&job, PEER_NS, "python3 connect_many.py 32", client_source,
                      (const char *const[]){ HOST_ADDR, "5641", count, "keep", NULL });
    int third[GROUP] = { 0 };
    int accepted3[SECOND_ROUND];
    got = accept_all(fds, third, SECOND_ROUND, accepted3);
    printf("third round: %d of %d accepted by the remaining listeners: %s\n", got, SECOND_ROUND,
           third[1] >= 1 && third[2] >= 1 && third[3] >= 1 ? "each got some" : "not each");
    peer_wait_ready(&job, 5000);
    answer_and_close(accepted3, got);
    peer_finish(&job, 8000);
    for (int i = 1; i < GROUP; i++)
        tr_close(fds[i]);
}

static void udp_group(void)
{
    note("four SO_REUSEPORT UDP sockets; 64 datagrams from 64 source ports");
    int fds[GROUP];
    for (int i = 0; i < GROUP; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(fds[i], SOL_SOCKET, SO_REUSEPORT, 1);
        tr_bind4(fds[i], "0.0.0.0", UDP_PORT);
    }
    char count[8];
    snprintf(count, sizeof count, "%d", CONNECTIONS);
    peer_run(PEER_NS, "python3 send_many.py 64",
             (char *const[]){ "python3", "-c", (char *)udp_source, HOST_ADDR, "5642", count,
                              NULL },
             8000);
    usleep(100 * 1000);
    int counts[GROUP] = { 0 };
    int total = 0;
    for (int i = 0; i < GROUP; i++) {
        char buf[8];
        while (recv(fds[i], buf, sizeof buf, MSG_DONTWAIT) > 0) {
            counts[i]++;
            total++;
        }
    }
    print_spread("UDP", counts, total, CONNECTIONS);
    for (int i = 0; i < GROUP; i++)
        tr_close(fds[i]);
}

int main(void)
{
    trace_start("tcp_reuseport");
    tcp_group();
    udp_group();
    return trace_end();
}
