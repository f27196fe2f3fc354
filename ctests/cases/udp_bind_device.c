/* udp_bind_device: port sharing by device. Sockets bound (SO_BINDTODEVICE /
 * SO_BINDTOIFINDEX) to different devices may bind the same port and address
 * (udp_lib_lport_inuse compares sk_bound_dev_if); an unbound socket conflicts with every
 * device; the same device conflicts; a device set after bind counts for later binds; the
 * ephemeral search follows the same rule. Then each socket gets the datagrams of its
 * device: the peer's and local ones to 198.18.0.2 through eth0, 127.0.0.1 through lo. */
#include "trace.h"
#include "queue_drain.h"
#include "peer.h"

#define PORT 5100

static int on_device(const char *name)
{
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    if (name)
        tr_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name));
    return fd;
}

static void send_local(int from, const char *addr, unsigned port, const char *text)
{
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, addr, &dst.sin_addr);
    tr_sendto(from, text, strlen(text), 0, (struct sockaddr *)&dst, sizeof dst);
}

int main(void)
{
    trace_start("udp_bind_device");
    trace_fixed_port(PORT);

    note("eth0 and lo share a port; unbound and same-device sockets conflict");
    int eth = on_device("eth0");
    tr_bind4(eth, "0.0.0.0", PORT);
    int lo = on_device("lo");
    tr_bind4(lo, "0.0.0.0", PORT);
    int unbound = on_device(NULL);
    tr_bind4(unbound, "0.0.0.0", PORT);
    tr_bind4(unbound, "127.0.0.1", PORT);
    int eth2 = on_device("eth0");
    tr_bind4(eth2, "0.0.0.0", PORT);
    tr_bind4(eth2, HOST_ADDR, PORT);
    int by_index = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(by_index, SOL_SOCKET, SO_BINDTOIFINDEX, 1);
    tr_bind4(by_index, "127.0.0.1", PORT);
    tr_close(by_index);
    tr_close(eth2);

    note("an unbound holder conflicts with any device; SO_BINDTODEVICE after bind counts");
    int first = on_device(NULL);
    tr_bind4(first, "0.0.0.0", PORT + 1);
    int second = on_device("lo");
    tr_bind4(second, "0.0.0.0", PORT + 1);
    tr_setsockopt(first, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 4);
    tr_bind4(second, "0.0.0.0", PORT + 1);
    int third = on_device("eth0");
    tr_bind4(third, "0.0.0.0", PORT + 1);
    tr_setsockopt(first, SOL_SOCKET, SO_BINDTODEVICE, "", 0);
    int fourth = on_device("eth0");
    tr_bind4(fourth, "0.0.0.0", PORT + 1);
    tr_close(fourth);
    tr_close(third);
    tr_close(second);
    tr_close(first);

    note("SO_REUSEADDR still needs both sides; SO_REUSEPORT across devices");
    int a = on_device("eth0");
    tr_setint(a, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(a, "0.0.0.0", PORT + 2);
    int b = on_device("lo");
    tr_setint(b, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(b, "0.0.0.0", PORT + 2);
    int c = on_device(NULL);
    tr_setint(c, SOL_SOCKET, SO_REUSEPORT, 1);
    tr_bind4(c, "0.0.0.0", PORT + 2);
    note("reuseport groups are per device; the newest bound one that matches takes everything");
    int local = tr_socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 4; i++) {
        send_local(local, "127.0.0.1", PORT + 2, "lo");
        send_local(local, HOST_ADDR, PORT + 2, "eth0");
    }
    tr_close(local);
    peer_run(PEER_NS, "python3 -c (send 4 x \"peer\" to 198.18.0.2:5102)",
             (char *const[]){ "python3", "-c",
                              "import socket, time\n"
                              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                              "for port in range(40010, 40014):\n"
                              "    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                              "    t.bind(('0.0.0.0', port))\n"
                              "    t.sendto(b'peer', ('198.18.0.2', 5102))\n"
                              "    t.close()\n"
                              "    time.sleep(0.01)\n"
                              "print('sent')",
                              NULL },
             5000);
    usleep(150 * 1000);
    drain_texts(a, "eth0 reuseport socket", 16);
    drain_texts(b, "lo reuseport socket", 16);
    drain_texts(c, "unbound reuseport socket", 16);
    tr_close(c);
    tr_close(b);
    tr_close(a);

    note("each socket receives what came in through its device");
    int sender = tr_socket(AF_INET, SOCK_DGRAM, 0);
    send_local(sender, "127.0.0.1", PORT, "to 127.0.0.1");
    send_local(sender, HOST_ADDR, PORT, "to 198.18.0.2");
    peer_run(PEER_NS, "python3 -c (send \"from the peer\" to 198.18.0.2:5100)",
             (char *const[]){ "python3", "-c",
                              "import socket; s = socket.socket(socket.AF_INET, "
                              "socket.SOCK_DGRAM); s.sendto(b'from the peer', "
                              "('198.18.0.2', 5100)); print('sent')",
                              NULL },
             5000);
    quiet_wait_readable(eth, 2000);
    usleep(100 * 1000);
    drain_texts(eth, "eth0 socket", 16);
    drain_texts(lo, "lo socket", 16);
    drain_texts(unbound, "unbound socket", 16);
    tr_close(sender);
    tr_close(unbound);
    tr_close(lo);
    tr_close(eth);

    note("ephemeral ports: a device-bound socket may take a port held on another device");
    int range_holder = on_device("lo");
    tr_bind4(range_holder, "0.0.0.0", 0);
    struct sockaddr_in name;
    socklen_t len = sizeof name;
    getsockname(range_holder, (struct sockaddr *)&name, &len);
    int other = on_device("eth0");
    tr_bind4(other, "0.0.0.0", ntohs(name.sin_port));
    tr_close(other);
    tr_close(range_holder);
    return trace_end();
}
