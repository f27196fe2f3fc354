/* ip_options_recv: IP options on datagrams the peer crafts, as a receiving socket sees them:
 * IP_RECVOPTS (the options after ip_options_compile wrote our address and the time into
 * them) and IP_RETOPTS (__ip_options_echo then ip_options_undo: what a reply should carry),
 * for record route (room left, full), timestamps (only, with addresses, prespecified ours or
 * someone else's), router alert and NOP padding; what is never delivered (a source route:
 * accept_source_route is 0; a malformed list: parameter problem back, pointing at the bad
 * octet); and replies sent with the IP_RETOPTS data as a control message, as the peer
 * captures them. Times print as T. */
#include "trace.h"
#include "ip_options_cmsg.h"
#include "peer.h"

#define CASE_PORT 5091

static const char crafter[] =
    "import select, socket, struct, sys, time\n"
    "src, dst, port = '198.18.0.1', sys.argv[1], int(sys.argv[2])\n"
    "raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n"
    "icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n"
    "sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "sniff.bind(('eth0', 0))\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', 40002))\n"
    "def csum(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "    while s >> 16: s = (s & 0xffff) + (s >> 16)\n"
    "    return ~s & 0xffff\n"
    "def datagram(tag, opts):\n"
    "    payload = (tag + ':').encode()\n"
    "    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, 8 + len(payload))\n"
    "    c = csum(pseudo + struct.pack('!HHHH', 40002, port, 8 + len(payload), 0) + payload) or 0xffff\n"
    "    u = struct.pack('!HHHH', 40002, port, 8 + len(payload), c) + payload\n"
    "    ihl = 5 + len(opts) // 4\n"
    "    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, ihl * 4 + len(u), 0x1234, 0, 64, 17, 0,\n"
    "                    socket.inet_aton(src), socket.inet_aton(dst)) + opts\n"
    "    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + u\n"
    "ip = socket.inet_aton\n"
    "cases = [\n"
    "    ('rr', bytes([7, 15, 8]) + ip('198.18.0.1') + bytes(8) + bytes([0])),\n"
    "    ('rr-full', bytes([7, 7, 8]) + ip('198.18.0.1') + bytes([0])),\n"
    "    ('ts-only', bytes([68, 12, 5, 0]) + bytes(8)),\n"
    "    ('ts-addr', bytes([68, 20, 5, 1]) + bytes(16)),\n"
    "    ('ts-pre-ours', bytes([68, 12, 5, 3]) + ip('198.18.0.2') + bytes(4)),\n"
    "    ('ts-pre-peer', bytes([68, 12, 5, 3]) + ip('198.18.0.1') + bytes(4)),\n"
    "    ('ra', bytes([148, 4, 0, 0])),\n"
    "    ('nop-end', bytes([1, 1, 0, 0])),\n"
    "    ('last', b''),\n"
    "]\n"
    "# Never delivered: sent first, so the host's parameter problems leave before its replies.\n"
    "dropped = [\n"
    "    ('lsrr', bytes([131, 7, 4]) + ip('198.18.0.2') + bytes([0])),\n"
    "    ('bad-rr-pointer', bytes([7, 7, 3]) + bytes(4) + bytes([0])),\n"
    "    ('bad-length', bytes([1, 7, 9, 4, 0, 0, 0, 0])),\n"
    "    ('rr-truncated', bytes([7, 7, 8]) + ip('198.18.0.1')),\n"
    "]\n"
    "# A first datagram, then a pause: sent while the peer still resolves the host's address,\n"
    "# the next ones could overtake the ones queued behind the resolution (neigh_update\n"
    "# flushes its queue on one CPU while this program sends on another).\n"
    "raw.sendto(datagram('warm-up', b''), (dst, 0))\n"
    "time.sleep(0.3)\n"
    "for tag, opts in dropped:\n"
    "    raw.sendto(datagram(tag, opts), (dst, 0))\n"
    "    print('sent %s with %d bytes of options' % (tag, len(opts)))\n"
    "time.sleep(0.3)\n"
    "for tag, opts in cases:\n"
    "    raw.sendto(datagram(tag, opts), (dst, 0))\n"
    "    print('sent %s with %d bytes of options' % (tag, len(opts)))\n"
    "def show(o):\n"
    "    out, i = [], 0\n"
    "    while i < len(o):\n"
    "        t = o[i]\n"
    "        if t in (0, 1): out.append(['end', 'nop'][t]); i += 1; continue\n"
    "        l = o[i + 1]; b = o[i:i + l]\n"
    "        if t == 68:\n"
    "            words = [('T' if b[j:j + 4] != bytes(4) else '0') if ((b[3] & 15) == 0 or (j - 4) % 8 == 4)\n"
    "                     else socket.inet_ntoa(b[j:j + 4]) for j in range(4, l - 3, 4)]\n"
    "            out.append('ts(ptr=%d flag=%d %s)' % (b[2], b[3] & 15, ' '.join(words)))\n"
    "        elif t == 7: out.append('rr(ptr=%d %s)' % (b[2], ' '.join(socket.inet_ntoa(b[j:j + 4]) for j in range(3, l - 3, 4))))\n"
    "        else: out.append(b.hex())\n"
    "        i += l\n"
    "    return ' '.join(out)\n"
    "errors, replies = [], []\n"
    "deadline = time.monotonic() + 3\n"
    "while time.monotonic() < deadline:\n"
    "    r, _, _ = select.select([icmp, sniff], [], [], 0.2)\n"
    "    if icmp in r:\n"
    "        m = icmp.recv(2000)\n"
    "        h = (m[0] & 15) * 4\n"
    "        if m[12:16] == ip(dst) and m[h] == 12:\n"
    "            q = m[h + 8:]\n"
    "            errors.append('parameter problem code %d pointer %d quoting %d bytes, options %s' % (m[h + 1], m[h + 4], len(q), q[20:(q[0] & 15) * 4].hex()))\n"
    "    if sniff in r:\n"
    "        f = sniff.recv(70000)[14:]\n"
    "        if len(f) > 20 and f[9] == 17 and f[12:16] == ip(dst):\n"
    "            h = (f[0] & 15) * 4\n"
    "            if struct.unpack('!H', f[h + 2:h + 4])[0] == 40002:\n"
    "                replies.append('reply %s ihl=%d options [%s]' % (f[h + 8:h + 24].split(b':')[0].decode(), h, show(f[20:h])))\n"
    "# ICMP errors and replies race each other: each kind in its own order.\n"
    "for line in errors + replies: print(line)\n";

int main(void)
{
    trace_start("ip_options_recv");
    trace_fixed_port(40002);
    int fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    tr_setint(fd, IPPROTO_IP, IP_RECVOPTS, 1);
    tr_setint(fd, IPPROTO_IP, IP_RETOPTS, 1);
    tr_bind4(fd, "0.0.0.0", CASE_PORT);
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 crafter.py 198.18.0.2 5091", crafter,
                      (const char *const[]){ HOST_ADDR, "5091", NULL });

    note("what arrived, in order; each is answered with its IP_RETOPTS as a control message");
    for (int i = 0; i < 16; i++) {
        if (quiet_wait_readable(fd, 2000) <= 0)
            break;
        char data[64];
        union {
            char buf[256];
            struct cmsghdr align;
        } control;
        struct sockaddr_in from;
        struct iovec iov = { data, sizeof data };
        struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof control.buf };
        ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
        note("recvmsg = %zd %s%.*s flags=%#x controllen=%zu", n, n < 0 ? trace_errno_name(errno) : "",
             n > 0 ? (int)n : 0, data, m.msg_flags, (size_t)m.msg_controllen);
        if (n <= 0)
            break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            print_options_message(c);
        if (n >= 5 && memcmp(data, "last:", 5) == 0)
            break;
        /* The reply: the same data back, with the IP_RETOPTS message (if any) as control. */
        union {
            char buf[256];
            struct cmsghdr align;
        } reply_control;
        size_t reply_len = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RETOPTS) {
                memcpy(reply_control.buf, c, c->cmsg_len);
                reply_len = CMSG_SPACE(c->cmsg_len - CMSG_LEN(0));
            }
        }
        struct iovec riov = { data, (size_t)n };
        struct msghdr reply = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &riov,
                                .msg_iovlen = 1, .msg_control = reply_len ? reply_control.buf : NULL,
                                .msg_controllen = reply_len };
        ssize_t sent = sendmsg(fd, &reply, 0);
        note("sendmsg with that control (controllen=%zu) = %zd %s", reply_len, sent,
             sent < 0 ? trace_errno_name(errno) : "");
    }
    trace_watchdog();
    peer_finish(&job, 6000);
    tr_close(fd);
    return trace_end();
}
