/* tcp_md5sig: TCP MD5 signatures (RFC 2385, TCP_MD5SIG / TCP_MD5SIG_EXT) with the peer's
 * kernel at the other end.
 *   - the setsockopt rules of tcp_v4_parse_md5_keys (length, family, key length, prefix,
 *     ifindex, deleting a key that is not there, EFAULT, ENOMEM past optmem_max), and
 *     getsockopt refusing the names;
 *   - a client with the key the peer's listener holds for the host: its segments are signed
 *     (the peer checks every one), data goes both ways; TCP_INFO shows no timestamps (a
 *     signed SYN carries none) and the signature's 20 bytes come off each segment;
 *   - a client with the wrong key, and one without a key: the peer drops their SYNs
 *     (TCPMD5Failure, TCPMD5NotFound on the peer), connect times out (TCP_SYNCNT 1);
 *   - a listener with a /24 key: a keyed peer client connects (the child inherits the key and
 *     signs), an unkeyed one is dropped and times out;
 *   - a SYN with a malformed option layout is dropped by an unkeyed listener too.
 * The keys are the ones ctests/wire/tcp.py checks signatures with (md5=valid). */
#define _GNU_SOURCE
#include "peer.h"
#include "tcp_lib.h"

#include <netinet/tcp.h>

#define MD5_PORT 7171
#define MD5_LISTEN_PORT 7272
#define MD5_KEY "ipshim-md5-key"
#define MD5_WRONG_KEY "ipshim-wrong-md5-key"

/* linux/tcp.h's struct md5sig (glibc's copy still calls tcpm_ifindex padding). */
struct md5sig {
    struct sockaddr_storage tcpm_addr;
    unsigned char tcpm_flags;
    unsigned char tcpm_prefixlen;
    unsigned short tcpm_keylen;
    int tcpm_ifindex;
    unsigned char tcpm_key[80];
};
#ifndef TCP_MD5SIG_FLAG_IFINDEX
#define TCP_MD5SIG_FLAG_IFINDEX 2
#endif

/* The peer's listener: a key for the host's address. Of each connection it echoes the first
 * chunk and reads the rest until the FIN, printing its length and FNV-1a hash (echoing bulk
 * data would make the host's window growth, which depends on the kernel's per-buffer
 * accounting the shim does not model, show on the wire). It serves N connections, then prints
 * how many segments its kernel dropped for each reason meanwhile (TcpExt counters of the peer
 * namespace, as differences). */
static const char *server_py =
    "import socket, struct, sys\n"
    "def md5sig(addr, key):\n"
    "    sa = struct.pack('=H', socket.AF_INET) + b'\\0\\0' + socket.inet_aton(addr)\n"
    "    return sa.ljust(128, b'\\0') + struct.pack('=BBHi', 0, 0, len(key), 0) + key.ljust(80, b'\\0')\n"
    "def counters():\n"
    "    lines = open('/proc/net/netstat').read().split('\\n')\n"
    "    for i in range(0, len(lines) - 1, 2):\n"
    "        if lines[i].startswith('TcpExt:'):\n"
    "            table = dict(zip(lines[i].split()[1:], map(int, lines[i + 1].split()[1:])))\n"
    "            return [table[n] for n in ('TCPMD5NotFound', 'TCPMD5Unexpected', 'TCPMD5Failure')]\n"
    "before = counters()\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.setsockopt(socket.IPPROTO_TCP, 14, md5sig(sys.argv[1], b'" MD5_KEY "'))\n"
    "s.bind(('0.0.0.0', 7171))\n"
    "s.listen(8)\n"
    "s.settimeout(15)\n"
    "print('ready', flush=True)\n"
    "for n in range(int(sys.argv[2])):\n"
    "    c, _ = s.accept()\n"
    "    c.settimeout(5)\n"
    "    received = b''\n"
    "    while True:\n"
    "        data = c.recv(65536)\n"
    "        if not data:\n"
    "            break\n"
    "        if not received:\n"
    "            c.sendall(data)\n"
    "        received += data\n"
    "    c.close()\n"
    "    digest = 2166136261\n"
    "    for byte in received:\n"
    "        digest = ((digest ^ byte) * 16777619) & 0xffffffff\n"
    "    print('connection %d: received %d bytes fnv=%08x' % (n + 1, len(received), digest))\n"
    "after = counters()\n"
    "print('dropped: md5 not found %d, unexpected %d, failure %d' % tuple(a - b for a, b in zip(after, before)))\n";

/* The peer as a client of the host's listener: first with the key, then without (TCP_SYNCNT
 * 1: the unanswered SYN gives up after about 3 s). */
static const char *client_py =
    "import errno, socket, struct, sys\n"
    "def md5sig(addr, key):\n"
    "    sa = struct.pack('=H', socket.AF_INET) + b'\\0\\0' + socket.inet_aton(addr)\n"
    "    return sa.ljust(128, b'\\0') + struct.pack('=BBHi', 0, 0, len(key), 0) + key.ljust(80, b'\\0')\n"
    "c = socket.socket()\n"
    "c.setsockopt(socket.IPPROTO_TCP, 14, md5sig(sys.argv[1], b'" MD5_KEY "'))\n"
    "c.settimeout(5)\n"
    "c.connect((sys.argv[1], 7272))\n"
    "c.sendall(b'from the peer')\n"
    "print('keyed client got', c.recv(100))\n"
    "c.close()\n"
    "c = socket.socket()\n"
    "c.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)\n"
    "try:\n"
    "    c.connect((sys.argv[1], 7272))\n"
    "    print('unkeyed client connected')\n"
    "except OSError as e:\n"
    "    print('unkeyed client:', errno.errorcode.get(e.errno, e.errno))\n"
    "c.close()\n";

/* The peer sends two SYNs from a raw socket to the host's unkeyed listener: one whose options
 * are an MSS and NOPs, one that starts with an option of length 1 while 18 or more option
 * bytes remain. tcp_inbound_hash runs tcp_parse_auth_options on every segment (the kernel is
 * built with CONFIG_TCP_MD5SIG) and drops the second (SKB_DROP_REASON_TCP_AUTH_HDR), key or
 * no key. It prints whether a SYN-ACK came back. */
static const char *raw_syn_py =
    "import socket, struct, sys, time\n"
    "def csum(data):\n"
    "    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))\n"
    "    while s >> 16:\n"
    "        s = (s & 0xffff) + (s >> 16)\n"
    "    return (~s) & 0xffff\n"
    "host, port = sys.argv[1], 7373\n"
    "r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)\n"
    "r.settimeout(0.3)\n"
    "for name, sport, opts in (('mss and nops', 40123, bytes([2, 4, 5, 180]) + bytes([1] * 16)),\n"
    "                          ('option of length 1 first', 40124, bytes([30, 1]) + bytes([1] * 18))):\n"
    "    hdr = struct.pack('!HHIIBBHHH', sport, port, 12345, 0, (5 + len(opts) // 4) << 4, 2, 64240, 0, 0) + opts\n"
    "    pseudo = socket.inet_aton('" PEER_ADDR "') + socket.inet_aton(host) + struct.pack('!BBH', 0, 6, len(hdr))\n"
    "    hdr = hdr[:16] + struct.pack('!H', csum(pseudo + hdr)) + hdr[18:]\n"
    "    r.sendto(hdr, (host, 0))\n"
    "    answer = 'no answer'\n"
    "    end = time.time() + 1.0\n"
    "    while time.time() < end:\n"
    "        try:\n"
    "            pkt = r.recv(2000)\n"
    "        except socket.timeout:\n"
    "            continue\n"
    "        ihl = (pkt[0] & 15) * 4\n"
    "        if struct.unpack('!HH', pkt[ihl:ihl + 4]) == (port, sport):\n"
    "            answer = 'answered, flags 0x%02x' % pkt[ihl + 13]\n"
    "            break\n"
    "    print('SYN with %s: %s' % (name, answer))\n";

/* struct md5sig for ADDRESS with KEY (NULL: key length 0, a deletion). */
static struct md5sig md5_request(const char *address, const char *key)
{
    struct md5sig request;
    memset(&request, 0, sizeof request);
    struct sockaddr_in *sin = (struct sockaddr_in *)&request.tcpm_addr;
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, address, &sin->sin_addr);
    if (key) {
        request.tcpm_keylen = (unsigned short)strlen(key);
        memcpy(request.tcpm_key, key, strlen(key));
    }
    return request;
}

static void set_md5(int fd, int name, const struct md5sig *request)
{
    tr_setsockopt(fd, IPPROTO_TCP, name, request, sizeof *request);
}

static void errno_sweep(void)
{
    note("setsockopt rules (tcp_v4_parse_md5_keys)");
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    struct md5sig request = md5_request(PEER_ADDR, MD5_KEY);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &request, sizeof request - 1);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &request, 0);
    tr_setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, trace_bad_ptr(), sizeof request);
    struct md5sig bad = request;
    bad.tcpm_addr.ss_family = AF_INET6;
    set_md5(fd, TCP_MD5SIG, &bad);
    bad = request;
    bad.tcpm_keylen = 81;
    set_md5(fd, TCP_MD5SIG, &bad);
    bad.tcpm_keylen = 80;
    set_md5(fd, TCP_MD5SIG, &bad);
    note("deleting: the exact address, prefix and ifindex flag");
    struct md5sig remove = md5_request(PEER_ADDR, NULL);
    set_md5(fd, TCP_MD5SIG, &remove);
    set_md5(fd, TCP_MD5SIG, &remove);
    set_md5(fd, TCP_MD5SIG, &request);
    set_md5(fd, TCP_MD5SIG, &request);
    set_md5(fd, TCP_MD5SIG, &remove);
    set_md5(fd, TCP_MD5SIG, &remove);
    note("TCP_MD5SIG_EXT: prefixes and ifindex");
    struct md5sig prefix = md5_request("198.18.0.0", MD5_KEY);
    prefix.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    prefix.tcpm_prefixlen = 33;
    set_md5(fd, TCP_MD5SIG_EXT, &prefix);
    note("TCP_MD5SIG ignores the prefix: a /32 key for 198.18.0.0, deleted as such");
    set_md5(fd, TCP_MD5SIG, &prefix);
    struct md5sig prefix_remove = md5_request("198.18.0.0", NULL);
    set_md5(fd, TCP_MD5SIG, &prefix_remove);
    prefix.tcpm_prefixlen = 24;
    set_md5(fd, TCP_MD5SIG_EXT, &prefix);
    struct md5sig other = md5_request("198.18.0.9", NULL);
    other.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    other.tcpm_prefixlen = 24;
    set_md5(fd, TCP_MD5SIG_EXT, &other);
    prefix_remove.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    prefix_remove.tcpm_prefixlen = 24;
    set_md5(fd, TCP_MD5SIG_EXT, &prefix_remove);
    set_md5(fd, TCP_MD5SIG_EXT, &prefix_remove);
    struct md5sig ifindex = md5_request(PEER_ADDR, MD5_KEY);
    ifindex.tcpm_flags = TCP_MD5SIG_FLAG_IFINDEX;
    ifindex.tcpm_ifindex = 1;
    set_md5(fd, TCP_MD5SIG_EXT, &ifindex);
    ifindex.tcpm_ifindex = 0;
    set_md5(fd, TCP_MD5SIG_EXT, &ifindex);
    set_md5(fd, TCP_MD5SIG_EXT, &remove);
    struct md5sig ifindex_remove = md5_request(PEER_ADDR, NULL);
    ifindex_remove.tcpm_flags = TCP_MD5SIG_FLAG_IFINDEX;
    set_md5(fd, TCP_MD5SIG_EXT, &ifindex_remove);
    note("getsockopt does not serve the names; TCP-AO is not built into this kernel");
    char buffer[sizeof request];
    socklen_t len = sizeof buffer;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, buffer, &len);
    len = sizeof buffer;
    tr_getsockopt(fd, IPPROTO_TCP, TCP_MD5SIG_EXT, buffer, &len);
    memset(buffer, 0, sizeof buffer);
    for (int name = 38; name <= 42; name++) {
        tr_setsockopt(fd, IPPROTO_TCP, name, buffer, sizeof buffer);
        len = sizeof buffer;
        tr_getsockopt(fd, IPPROTO_TCP, name, buffer, &len);
    }
    tr_close(fd);

    note("each key is charged to net.core.optmem_max (sock_kmalloc): keys until ENOMEM");
    fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    int added = 0, err = 0;
    for (int i = 0; i < 2000; i++) {
        char address[32];
        snprintf(address, sizeof address, "10.%d.%d.1", i / 256, i % 256);
        struct md5sig key = md5_request(address, "k");
        if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &key, sizeof key) != 0) {
            err = errno;
            break;
        }
        added++;
    }
    printf("keys added: %d, then %s\n", added, err ? trace_errno_name(err) : "no error");
    struct md5sig first = md5_request("10.0.0.1", NULL);
    set_md5(fd, TCP_MD5SIG, &first);
    struct md5sig again = md5_request("10.99.99.1", "k");
    set_md5(fd, TCP_MD5SIG, &again);
    tr_close(fd);
}

static void print_info(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        printf("TCP_INFO: %s\n", trace_errno_name(errno));
        return;
    }
    printf("TCP_INFO: state=%u options=%s%s%s snd_mss=%u rcv_mss=%u advmss=%u\n",
           info.tcpi_state, info.tcpi_options & TCPI_OPT_TIMESTAMPS ? "ts " : "",
           info.tcpi_options & TCPI_OPT_SACK ? "sack " : "",
           info.tcpi_options & TCPI_OPT_WSCALE ? "wscale" : "", info.tcpi_snd_mss,
           info.tcpi_rcv_mss, info.tcpi_advmss);
    tr_getint(fd, IPPROTO_TCP, TCP_MAXSEG);
}

/* FNV-1a, 32 bits, continued from HASH (the peer's python computes the same). */
static unsigned fnv32(unsigned hash, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)data[i]) * 16777619u;
    return hash;
}

/* Sends LEN pattern bytes and reads the echo back (blocking, bounded by SO_RCVTIMEO). */
static void echo_round(int fd, size_t len, unsigned seed)
{
    static char sent[4096], got[4096];
    trace_fill(sent, len, seed);
    tr_send(fd, sent, len, 0);
    size_t have = 0;
    for (int tries = 0; have < len && tries < 50; tries++) {
        ssize_t n = recv(fd, got + have, len - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    printf("echo of %zu bytes: %zu back, %s\n", len, have,
           have == len && !memcmp(sent, got, len) ? "same bytes" : "DIFFERENT");
}

static void client_with(const char *key, int expect_connected)
{
    int fd = tr_socket(AF_INET, SOCK_STREAM, 0);
    if (key) {
        struct md5sig request = md5_request(PEER_ADDR, key);
        set_md5(fd, TCP_MD5SIG, &request);
    }
    struct timeval timeout = { .tv_sec = 3 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    tr_setint(fd, IPPROTO_TCP, TCP_SYNCNT, 1);
    if (tr_connect4(fd, PEER_ADDR, MD5_PORT) == 0 && expect_connected) {
        print_info(fd);
        char buffer[sizeof(struct md5sig)];
        socklen_t len = sizeof buffer;
        tr_getsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, buffer, &len);
        echo_round(fd, 11, 1);
        static char bulk[3000];
        trace_fill(bulk, sizeof bulk, 2);
        note("3000 bytes the peer only counts: signed segments carry 20 bytes less (1440)");
        tr_send(fd, bulk, sizeof bulk, 0);
        char first[11];
        trace_fill(first, sizeof first, 1);
        printf("sent in all: 3011 bytes fnv=%08x\n",
               fnv32(fnv32(2166136261u, first, sizeof first), bulk, sizeof bulk));
        tr_shutdown(fd, SHUT_WR);
        char end[16];
        quiet_wait_readable(fd, 3000);
        tr_recv(fd, end, sizeof end, 0);
    }
    tr_close(fd);
}

static void listener_with_prefix_key(void)
{
    note("a listener with a key for 198.18.0.0/24: the keyed peer connects, the unkeyed one not");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    struct md5sig request = md5_request("198.18.0.0", MD5_KEY);
    request.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    request.tcpm_prefixlen = 24;
    set_md5(listener, TCP_MD5SIG_EXT, &request);
    tr_bind4(listener, HOST_ADDR, MD5_LISTEN_PORT);
    tr_listen(listener, 4);
    struct peer_job client;
    peer_start_python(&client, PEER_NS, "python3 md5 clients", client_py,
                      (const char *const[]){ HOST_ADDR, NULL });
    if (quiet_wait_readable(listener, 5000) > 0) {
        int child = accept(listener, NULL, NULL);
        printf("accept: %s\n", child >= 0 ? "a connection" : trace_errno_name(errno));
        if (child >= 0) {
            note("the child inherited the key as a /32 for the peer");
            struct md5sig remove = md5_request("198.18.0.0", NULL);
            remove.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
            remove.tcpm_prefixlen = 24;
            print_info(child);
            char buffer[64];
            quiet_wait_readable(child, 3000);
            ssize_t n = tr_recv(child, buffer, sizeof buffer, 0);
            if (n > 0)
                tr_send(child, buffer, (size_t)n, 0);
            quiet_wait_readable(child, 3000);
            tr_recv(child, buffer, sizeof buffer, 0);
            set_md5(child, TCP_MD5SIG_EXT, &remove);
            tr_close(child);
        }
    }
    trace_watchdog();
    peer_finish(&client, 6000);
    tr_close(listener);
}

static void malformed_auth_option(void)
{
    note("an unkeyed listener: a SYN with a malformed option layout is dropped");
    int listener = tr_socket(AF_INET, SOCK_STREAM, 0);
    tr_setint(listener, SOL_SOCKET, SO_REUSEADDR, 1);
    tr_bind4(listener, HOST_ADDR, 7373);
    tr_listen(listener, 4);
    trace_watchdog();
    peer_run(PEER_NS, "python3 raw SYNs", (char *const[]){ "python3", "-c", (char *)raw_syn_py,
             HOST_ADDR, NULL }, 5000);
    tr_close(listener);
}

int main(void)
{
    trace_start("tcp_md5sig");
    errno_sweep();

    struct peer_job server;
    peer_start_python(&server, PEER_NS, "python3 md5 echo server", server_py,
                      (const char *const[]){ HOST_ADDR, "2", NULL });
    peer_wait_ready(&server, 4000);

    note("the peer's key: connected, data signed both ways");
    client_with(MD5_KEY, 1);
    trace_watchdog();
    note("a wrong key: the peer drops every SYN (TCPMD5Failure), connect times out");
    client_with(MD5_WRONG_KEY, 0);
    trace_watchdog();
    note("no key: the peer drops every SYN (TCPMD5NotFound), connect times out");
    client_with(NULL, 0);
    trace_watchdog();
    note("the peer's key again, so the server ends and counts its drops");
    client_with(MD5_KEY, 0);
    peer_finish(&server, 4000);

    trace_watchdog();
    listener_with_prefix_key();
    malformed_auth_option();
    return trace_end();
}
