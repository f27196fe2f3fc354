/* tcp_reuseport_cbpf: SO_ATTACH_REUSEPORT_CBPF on TCP listeners. The group's classic BPF
 * program runs over each SYN with the TCP header pulled (run_bpf_filter) and its value
 * indexes the group's members in the order they called listen(); a value past the last
 * member falls back to the 4-tuple hash, as does SO_DETACH_REUSEPORT_BPF. A listener without
 * SO_REUSEPORT refuses the program (EINVAL). */
#include "tcp_lib.h"
#include "peer.h"

#include <linux/filter.h>

#define TCP_PORT 5643
#define GROUP 4
#define CONNECTIONS 24

static const char *client_source =
    "import socket, sys\n"
    "conns = []\n"
    "for i in range(int(sys.argv[3])):\n"
    "    conns.append(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5))\n"
    "print('ready', flush=True)\n"
    "for c in conns:\n"
    "    c.settimeout(5)\n"
    "    c.recv(1)\n"
    "    c.close()\n"
    "print('done')\n";

static int attach(int fd, unsigned value, const char *what)
{
    struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, value) };
    struct sock_fprog program = { 1, code };
    int ret = setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program);
    printf("setsockopt(fd%d, SO_ATTACH_REUSEPORT_CBPF, %s) = %d%s%s\n", fd, what, ret,
           ret < 0 ? " " : "", ret < 0 ? trace_errno_name(errno) : "");
    return ret;
}

/* The peer makes CONNECTIONS connections; every listener accepts what reaches it. */
static void round_of_connections(const int *fds, int *counts)
{
    struct peer_job job;
    char count[8];
    snprintf(count, sizeof count, "%d", CONNECTIONS);
    peer_start_python(&job, PEER_NS, "python3 connect_many.py", client_source,
                      (const char *const[]){ HOST_ADDR, "5643", count, NULL });
    int accepted[CONNECTIONS];
    int total = 0;
    for (int round = 0; round < 300 && total < CONNECTIONS; round++) {
        struct pollfd p[GROUP];
        for (int i = 0; i < GROUP; i++)
            p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        poll(p, GROUP, 10);
        for (int i = 0; i < GROUP; i++) {
            int c;
            while (total < CONNECTIONS && (c = accept(fds[i], NULL, NULL)) >= 0) {
                counts[i]++;
                accepted[total++] = c;
            }
        }
    }
    peer_wait_ready(&job, 5000);
    /* Each is closed once the peer closed it, and 15 ms later: these connections received
     * no data, so their ATO is 0 and the ACK of the peer's FIN leaves when the delayed-ACK
     * timer fires at the next tick (4 ms at most), before our FIN in both worlds; closing
     * at once would race that tick. */
    for (int i = 0; i < total; i++)
        send(accepted[i], "y", 1, MSG_NOSIGNAL);
    for (int i = 0; i < total; i++)
        quiet_wait_events(accepted[i], POLLIN, 3000);
    usleep(15 * 1000);
    for (int i = 0; i < total; i++) {
        char byte;
        while (recv(accepted[i], &byte, 1, MSG_DONTWAIT) > 0)
            ;
        close(accepted[i]);
    }
    peer_finish(&job, 8000);
}

static void print_counts(const char *what, const int *counts)
{
    int total = 0;
    int spread = 0;
    for (int i = 0; i < GROUP; i++) {
        total += counts[i];
        spread += counts[i] >= 1;
    }
    printf("%s: %d accepted; more than one listener got some: %s;", what, total,
           spread > 1 ? "yes" : "no");
    for (int i = 0; i < GROUP; i++)
        if (counts[i] == total)
            printf(" all on listener #%d", i);
    printf("\n");
}

int main(void)
{
    trace_start("tcp_reuseport_cbpf");
    note("a listener without SO_REUSEPORT refuses the program");
    int lonely = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_bind4(lonely, "0.0.0.0", TCP_PORT + 1);
    tr_listen(lonely, 1);
    attach(lonely, 0, "ret #0");
    tr_close(lonely);

    note("four SO_REUSEPORT listeners; the third gets a program returning 1");
    int fds[GROUP];
    for (int i = 0; i < GROUP; i++) {
        fds[i] = tr_socket(AF_INET, SOCK_STREAM, 0);
        tr_setint(fds[i], SOL_SOCKET, SO_REUSEPORT, 1);
        tr_bind4(fds[i], "0.0.0.0", TCP_PORT);
        tr_listen(fds[i], 64);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    attach(fds[2], 1, "ret #1");
    int counts[GROUP] = { 0 };
    round_of_connections(fds, counts);
    print_counts("ret #1", counts);

    note("a value past the last member: the hash decides");
    attach(fds[0], 7, "ret #7");
    int spread[GROUP] = { 0 };
    round_of_connections(fds, spread);
    print_counts("ret #7", spread);

    note("ret #3, then SO_DETACH_REUSEPORT_BPF from another member: the hash again");
    attach(fds[1], 3, "ret #3");
    int third[GROUP] = { 0 };
    round_of_connections(fds, third);
    print_counts("ret #3", third);
    tr_setint(fds[0], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, 0);
    int after[GROUP] = { 0 };
    round_of_connections(fds, after);
    print_counts("detached", after);
    for (int i = 0; i < GROUP; i++)
        tr_close(fds[i]);
    return trace_end();
}
