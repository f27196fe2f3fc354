/* sockopt_socket_device: SO_BINDTODEVICE and SO_BINDTOIFINDEX on UDP: names (length
 * rules, NUL, too long, unknown: ENODEV), getsockopt's name copy (IFNAMSIZ rule), indexes
 * (negative, unknown), and the effect: a socket bound to eth0 or lo receives only what
 * comes in through that device (datagrams to 127.0.0.1 and to 198.18.0.2 from this host,
 * and from the peer); a bound socket sends through its device (the peer's echo answers);
 * ICMP errors reach it only through its device too (ours come back through lo).
 * SO_DONTROUTE: on-link destinations only (ENETUNREACH for the remote behind the gateway),
 * for send and connect, and MSG_DONTROUTE. */
#include "trace.h"
#include "queue_drain.h"
#include "error_queue.h"

static void get_device(int fd, socklen_t offered)
{
    char name[32];
    memset(name, 0, sizeof name);
    socklen_t len = offered;
    int r = getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len);
    printf("getsockopt(SO_BINDTODEVICE, len=%u) = %s len=%u name=\"%s\"\n", offered,
           r < 0 ? trace_errno_name(errno) : "0", len, name);
}

static void set_device(int fd, const char *name, socklen_t len)
{
    tr_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, len);
}

int main(void)
{
    trace_start("sockopt_socket_device");
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);

    note("names");
    get_device(fd, 16);
    get_device(fd, 0);
    set_device(fd, "eth0", 5);
    const socklen_t lens[] = { 16, 64, 15, 5, 0 };
    for (size_t i = 0; i < 5; i++)
        get_device(fd, lens[i]);
    tr_getint(fd, SOL_SOCKET, SO_BINDTOIFINDEX);
    set_device(fd, "lo", 2);
    get_device(fd, 16);
    set_device(fd, "lo\0xx", 5);
    set_device(fd, "", 1);
    get_device(fd, 16);
    set_device(fd, "eth0", 4);
    set_device(fd, "eth0", 3);
    set_device(fd, "nope", 4);
    get_device(fd, 16);
    set_device(fd, "eth0xxxxxxxxxxxxxxxxxx", 20);
    set_device(fd, "eth0xxxxxxxxxxxxxxxxxx", 4);
    set_device(fd, "eth0", 0);
    get_device(fd, 16);
    set_device(fd, NULL, 0);
    set_device(fd, NULL, 4);
    set_device(fd, BADPTR, 4);
    set_device(fd, BADPTR, 0);

    note("indexes");
    const int indexes[] = { 1, 2, 0, 999, -1, 0 };
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; i++) {
        tr_setint(fd, SOL_SOCKET, SO_BINDTOIFINDEX, indexes[i]);
        tr_getint(fd, SOL_SOCKET, SO_BINDTOIFINDEX);
        get_device(fd, 16);
    }
    int two = 2;
    tr_setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &two, 3);
    tr_setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &two, 8);
    get_device(fd, 16);
    tr_setint(fd, SOL_SOCKET, SO_BINDTOIFINDEX, 999);
    tr_sendto4(fd, "x", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_connect4(fd, PEER_ADDR, PORT_DISCARD);
    tr_close(fd);

    note("delivery: which device a datagram came in by");
    const char *devices[] = { "eth0", "lo", "" };
    for (int d = 0; d < 3; d++) {
        int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
        set_device(rx, devices[d], strlen(devices[d]));
        tr_bind4(rx, "0.0.0.0", 5100 + d);
        int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_sendto4(tx, "to-127.0.0.1", 12, 0, "127.0.0.1", 5100 + d);
        tr_sendto4(tx, "to-198.18.0.2", 13, 0, HOST_ADDR, 5100 + d);
        /* the peer's echo sends the datagram back to rx's port from port 7 */
        tr_sendto4(rx, "from-peer", 9, 0, PEER_ADDR, PORT_ECHO);
        quiet_wait_readable(rx, 1000);
        usleep(300000);
        drain_texts(rx, devices[d][0] ? devices[d] : "unbound", 8);
        tr_close(tx);
        tr_close(rx);
    }

    note("a bound socket sends through its device");
    int eth = tr_socket(AF_INET, SOCK_DGRAM, 0);
    set_device(eth, "eth0", 4);
    tr_connect4(eth, PEER_ADDR, PORT_ECHO);
    tr_send(eth, "echo-eth0", 9, 0);
    quiet_wait_readable(eth, 2000);
    drain_texts(eth, "eth0-connected", 8);
    tr_sendto4(eth, "to-own", 6, 0, HOST_ADDR, 5199);
    tr_close(eth);

    note("ICMP errors reach a bound socket only through its device: errors from our own");
    note("address come back through lo, the peer's through eth0 (IP_RECVERR, error queue)");
    const char *error_devices[] = { "eth0", "lo", "" };
    for (int d = 0; d < 3; d++) {
        int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
        tr_setint(fd, IPPROTO_IP, IP_RECVERR, 1);
        if (error_devices[d][0])
            set_device(fd, error_devices[d], (socklen_t)strlen(error_devices[d]));
        tr_sendto4(fd, "closed", 6, 0, HOST_ADDR, 5197);
        usleep(100000);
        read_one_error(fd, 64, 256);
        tr_getint(fd, SOL_SOCKET, SO_ERROR);
        if (d == 0) {
            tr_sendto4(fd, "closed", 6, 0, PEER_ADDR, PORT_CLOSED);
            quiet_wait_readable(fd, 2000);
            read_one_error(fd, 64, 256);
        }
        tr_close(fd);
    }

    note("SO_DONTROUTE: only on-link destinations");
    int dr = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(dr, SOL_SOCKET, SO_DONTROUTE, 1);
    tr_sendto4(dr, "r", 1, 0, REMOTE_ADDR, PORT_DISCARD);
    tr_sendto4(dr, "p", 1, 0, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(dr, "l", 1, 0, "127.0.0.1", 5198);
    tr_connect4(dr, REMOTE_ADDR, PORT_DISCARD);
    tr_connect4(dr, PEER_ADDR, PORT_ECHO);
    tr_send(dr, "echo-dontroute", 14, 0);
    quiet_wait_readable(dr, 2000);
    drain_texts(dr, "dontroute", 8);
    tr_setint(dr, SOL_SOCKET, SO_DONTROUTE, 0);
    tr_connect4(dr, REMOTE_ADDR, PORT_DISCARD);
    tr_close(dr);
    int md = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_sendto4(md, "m", 1, MSG_DONTROUTE, REMOTE_ADDR, PORT_DISCARD);
    tr_sendto4(md, "m", 1, MSG_DONTROUTE, PEER_ADDR, PORT_DISCARD);
    tr_sendto4(md, "m", 1, 0, REMOTE_ADDR, PORT_DISCARD);
    tr_close(md);
    return trace_end();
}
