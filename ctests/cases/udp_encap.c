/* udp_encap: UDP_ENCAP's effect on receive. An ESP-in-UDP socket (UDP_ENCAP_ESPINUDP)
 * gives NAT keepalives (one 0xff byte) and ESP packets (more than 8 bytes, non-zero SPI) to
 * IPsec, which has no SA and drops them; IKE (zero non-ESP marker) and short datagrams are
 * delivered. L2TPINUDP alone changes nothing, but after ESPINUDP (or 0) installed the xfrm
 * hook it behaves as ESPINUDP. Datagrams travel over 127.0.0.1. */
#include "trace.h"

static const struct {
    const char *label;
    const char *bytes;
    size_t len;
} payloads[] = {
    { "keepalive", "\xff", 1 },
    { "esp", "\x00\x00\x01\x00seq-data", 12 },
    { "ike", "\x00\x00\x00\x00ike-data", 12 },
    { "short", "\x01\x02\x03\x04\x05\x06\x07\x08", 8 },
    { "empty", "", 0 },
    { "ff-pair", "\xff\xff", 2 },
};

static void run(const char *what, const int *settings, int count, unsigned port)
{
    note("%s", what);
    int rx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < count; i++)
        tr_setint(rx, IPPROTO_UDP, 100 /* UDP_ENCAP */, settings[i]);
    tr_getint(rx, IPPROTO_UDP, 100);
    tr_bind4(rx, "127.0.0.1", port);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin4("127.0.0.1", port);
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++)
        sendto(tx, payloads[i].bytes, payloads[i].len, 0, SA(&to), sizeof to);
    usleep(100000);
    char buf[64];
    for (int k = 0; k < 8; k++) {
        ssize_t n = recv(rx, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0)
            break;
        printf("received %zd bytes, first %02x\n", n, n > 0 ? (unsigned char)buf[0] : 0);
    }
    int drops[9];
    socklen_t len = sizeof drops;
    getsockopt(rx, SOL_SOCKET, SO_MEMINFO, drops, &len);
    printf("socket drops %d\n", drops[8]);
    tr_close(tx);
    tr_close(rx);
}

int main(void)
{
    trace_start("udp_encap");
    run("no encapsulation", (const int[]){ 0 }, 0, 5400);
    run("ESPINUDP", (const int[]){ 2 }, 1, 5401);
    run("L2TPINUDP", (const int[]){ 3 }, 1, 5402);
    run("ESPINUDP then L2TPINUDP", (const int[]){ 2, 3 }, 2, 5403);
    run("0 then L2TPINUDP", (const int[]){ 0, 3 }, 2, 5404);
    run("ESPINUDP then 0", (const int[]){ 2, 0 }, 2, 5405);
    note("on UDP-Lite");
    int lite = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_setint(lite, IPPROTO_UDP, 100, 2);
    tr_bind4(lite, "127.0.0.1", 5406);
    int tx = tr_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    tr_sendto4(tx, "\x00\x00\x01\x00seq-data", 12, 0, "127.0.0.1", 5406);
    tr_sendto4(tx, "\x00\x00\x00\x00ike-data", 12, 0, "127.0.0.1", 5406);
    usleep(100000);
    char buf[64];
    tr_recv(lite, buf, sizeof buf, MSG_DONTWAIT);
    tr_recv(lite, buf, sizeof buf, MSG_DONTWAIT);
    tr_close(tx);
    tr_close(lite);
    return trace_end();
}
