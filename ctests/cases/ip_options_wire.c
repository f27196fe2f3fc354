/* ip_options_wire: IP_OPTIONS as the peer captures them (AF_PACKET on its eth0): the header
 * ip_options_build writes for each datagram (our address in reserved record-route and
 * timestamp slots, the time of day, the final destination in a source route's last slot with
 * the first hop as the header's destination and in the UDP pseudo-header), the options of
 * later fragments (only the copied ones, the rest NOPs: ip_options_fragment), and the
 * datagram sizes the options cost (EMSGSIZE with IP_PMTUDISC_DO). Times print as T. */
#include "trace.h"
#include "peer.h"
#include "peer_capture.h"

#ifndef IP_OPTIONS
#define IP_OPTIONS 4
#endif

#define PEER_PORT 5031

/* Runs in the peer. argv: host address, port. */
static const char sniffer[] =
    PEER_CAPTURE_PY
    "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
    "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "sink.bind(('0.0.0.0', port))\n"
    "def fold(t):\n"
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"
    "    return t\n"
    "def total(b):\n"
    "    if len(b) % 2: b += b'\\0'\n"
    "    return sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"
    "def addr(b): return socket.inet_ntoa(bytes(b))\n"
    "def options(o):\n"
    "    out, i = [], 0\n"
    "    while i < len(o):\n"
    "        t = o[i]\n"
    "        if t == 0: out.append('end'); i += 1; continue\n"
    "        if t == 1: out.append('nop'); i += 1; continue\n"
    "        if i + 1 >= len(o) or o[i + 1] < 2: out.append('bad:' + o[i:].hex()); break\n"
    "        l = o[i + 1]; b = o[i:i + l]\n"
    "        if t in (7, 131, 137):\n"
    "            name = {7: 'rr', 131: 'lsrr', 137: 'ssrr'}[t]\n"
    "            out.append('%s(ptr=%d %s)' % (name, b[2], ' '.join(addr(b[j:j + 4]) for j in range(3, l - 3, 4))))\n"
    "        elif t == 68:\n"
    "            flag, words = b[3] & 15, []\n"
    "            for j in range(4, l - 3, 4):\n"
    "                w = b[j:j + 4]\n"
    "                is_time = flag == 0 or (j - 4) % 8 == 4\n"
    "                words.append(('T' if w != bytes(4) else '0') if is_time else addr(w))\n"
    "            out.append('ts(ptr=%d oflw=%d flag=%d %s)' % (b[2], b[3] >> 4, flag, ' '.join(words)))\n"
    "        else: out.append('opt%d:%s' % (t, b.hex()))\n"
    "        i += l\n"
    "    return ' '.join(out)\n"
    "frames = list(host_frames(host, 6))\n"
    "tags, whole = {}, {}\n"
    "for f in frames:\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    tot, ident, frag = struct.unpack('!HHH', ip[2:8])\n"
    "    off, mf, df = (frag & 0x1fff) * 8, (frag >> 13) & 1, (frag >> 14) & 1\n"
    "    line = 'ihl=%d len=%d df=%d mf=%d off=%d dst=%s ip_csum=%s opts=[%s]' % (ihl, tot, df, mf, off,\n"
    "        addr(ip[16:20]), 'ok' if fold(total(ip[:ihl])) == 0xffff else 'BAD', options(ip[20:ihl]))\n"
    "    if off == 0:\n"
    "        tag = ip[ihl + 8:ihl + 20].split(b':')[0].decode(errors='replace')\n"
    "        tags[ident] = tag\n"
    "        print('tag=%s %s' % (tag, line))\n"
    "    else:\n"
    "        print('  fragment of %s: %s' % (tags.get(ident, '?'), line))\n"
    "    whole.setdefault(ident, {})[off] = ip[ihl:tot]\n"
    "    if mf == 0: whole[ident]['end'] = ip[:20]\n"
    "# The UDP checksum of each whole datagram: complete (the shim) or the pseudo-header sum a\n"
    "# CHECKSUM_PARTIAL sender leaves (the kernel over veth); which destination address it uses.\n"
    "for ident, parts in whole.items():\n"
    "    if 0 not in parts or 'end' not in parts: continue\n"
    "    hdr = parts.pop('end')\n"
    "    data = b''.join(parts[k] for k in sorted(parts))\n"
    "    pseudo = hdr[12:16] + hdr[16:20] + struct.pack('!BBH', 0, 17, len(data))\n"
    "    ok = fold(total(pseudo + data)) == 0xffff or struct.unpack('!H', data[6:8])[0] == fold(total(pseudo))\n"
    "    print('udp checksum of %s: %s' % (tags.get(ident, '?'), 'over the header destination' if ok else 'other'))\n"
    "print('%d frames' % len(frames))\n";

static int fd;

static void with_options(const char *what, const unsigned char *bytes, socklen_t len)
{
    note("%s", what);
    tr_setsockopt(fd, IPPROTO_IP, IP_OPTIONS, bytes, len);
}

static void send_tagged(const char *tag, size_t size, const char *to)
{
    tr_sendto4(fd, tagged_payload(tag, size), size, 0, to, PEER_PORT);
}

int main(void)
{
    trace_start("ip_options_wire");
    struct peer_job job;
    peer_start_python(&job, PEER_NS, "python3 sniffer.py 198.18.0.2 5031", sniffer,
                      (const char *const[]){ HOST_ADDR, "5031", NULL });
    peer_wait_ready(&job, 4000);
    trace_watchdog();

    fd = tr_socket(AF_INET, SOCK_DGRAM, 0);
    static const unsigned char rr[11] = { 7, 11, 4 };
    with_options("record route with two slots", rr, 11);
    send_tagged("rr", 20, PEER_ADDR);
    static const unsigned char rr_full[] = { 7, 7, 8, 1, 2, 3, 4 };
    with_options("record route already full", rr_full, sizeof rr_full);
    send_tagged("rr-full", 20, PEER_ADDR);
    static const unsigned char ts[12] = { 68, 12, 5, 0 };
    with_options("timestamp only", ts, 12);
    send_tagged("ts", 20, PEER_ADDR);
    static const unsigned char ts_addr[20] = { 68, 20, 5, 1 };
    with_options("timestamp and address", ts_addr, 20);
    send_tagged("ts-addr", 20, PEER_ADDR);
    static const unsigned char ts_ours[20] = { 68, 20, 5, 3, 198, 18, 0, 2, 0, 0, 0, 0, 198, 18, 0, 1 };
    with_options("prespecified timestamp, ours first", ts_ours, 20);
    send_tagged("ts-pre-ours", 20, PEER_ADDR);
    static const unsigned char ts_peer[] = { 68, 12, 5, 3, 198, 18, 0, 1 };
    with_options("prespecified timestamp, the peer's", ts_peer, 12);
    send_tagged("ts-pre-peer", 20, PEER_ADDR);
    static const unsigned char ra[] = { 148, 4, 0, 0 };
    with_options("router alert", ra, sizeof ra);
    send_tagged("ra", 20, PEER_ADDR);
    static const unsigned char lsrr[] = { 131, 7, 4, 198, 18, 0, 1 };
    with_options("loose source route through the peer", lsrr, sizeof lsrr);
    send_tagged("lsrr", 20, REMOTE_ADDR);
    static const unsigned char ssrr[] = { 1, 137, 11, 4, 198, 18, 0, 1, 198, 19, 0, 1 };
    with_options("strict source route through the peer and 198.19.0.1", ssrr, sizeof ssrr);
    send_tagged("ssrr", 20, REMOTE_ADDR);
    note("a source route needs a destination");
    send_tagged("lsrr-zero", 20, "0.0.0.0");

    static const unsigned char mixed[] = { 7, 7, 4, 0, 0, 0, 0, 148, 4, 0, 0, 68, 8, 5, 0, 0, 0, 0, 0, 1 };
    with_options("record route, router alert, timestamp: fragmented", mixed, sizeof mixed);
    send_tagged("mixed-frag", 3000, PEER_ADDR);
    static const unsigned char lsrr_rr[] = { 131, 7, 4, 198, 18, 0, 1, 7, 7, 4, 0, 0, 0, 0 };
    with_options("loose source route and record route: fragmented", lsrr_rr, sizeof lsrr_rr);
    send_tagged("lsrr-frag", 3000, "198.18.0.9");

    note("options shrink what IP_PMTUDISC_DO sends in one piece");
    static unsigned char forty[40] = { 148, 4, 0, 0, 7, 35, 4 };
    with_options("40 bytes of options", forty, sizeof forty);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    send_tagged("do-1432", 1432, PEER_ADDR);
    send_tagged("do-1433", 1433, PEER_ADDR);
    tr_setint(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    send_tagged("dont-1433", 1433, PEER_ADDR);

    with_options("no options", NULL, 0);
    send_tagged("end", 20, PEER_ADDR);
    peer_finish(&job, 8000);
    tr_close(fd);
    return trace_end();
}
