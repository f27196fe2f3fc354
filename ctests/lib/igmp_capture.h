/* igmp_capture.h: a python3 program for the peer (peer_start_python) that prints the IGMP
 * reports the host sends, as the peer sees them: argv[1] is how long to listen (seconds),
 * argv[2:] the group prefixes to print (e.g. "239.77."). It prints "ready" once listening
 * (peer_wait_ready), then at the end each distinct header form (destination MAC, TOS, TTL,
 * DF, IP options, destination, message type) and, per group, the records in order of
 * arrival with a record repeated right after itself folded: RFC 3376 retransmits each change
 * at random intervals and packs changes that fall together into one report, so the count,
 * timing and packing of reports are timers, and what each group announced is behaviour.
 * It reads an AF_PACKET socket on the peer's eth0: the peer is not a member of 224.0.0.22,
 * so its kernel would not hand the reports to an IGMP raw socket. */
#ifndef IPSHIM_CTESTS_IGMP_CAPTURE_H
#define IPSHIM_CTESTS_IGMP_CAPTURE_H

static const char igmp_capture_py[] =
    "import socket, struct, sys, time\n"
    "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"
    "s.bind(('eth0', 0))\n"
    "s.settimeout(0.2)\n"
    "print('ready', flush=True)\n"
    "names = {1: 'is_in', 2: 'is_ex', 3: 'to_in', 4: 'to_ex', 5: 'allow', 6: 'block'}\n"
    "groups, headers = {}, []\n"
    "end = time.time() + float(sys.argv[1])\n"
    "while time.time() < end:\n"
    "    try:\n"
    "        f = s.recv(2048)\n"
    "    except socket.timeout:\n"
    "        continue\n"
    "    if f[6:12] != bytes([2, 0, 0, 0, 0, 2]) or f[12:14] != b'\\x08\\x00' or f[23] != 2:\n"
    "        continue\n"
    "    ip = f[14:]\n"
    "    ihl = (ip[0] & 15) * 4\n"
    "    tlen = struct.unpack('!H', ip[2:4])[0]\n"
    "    m = ip[ihl:tlen]\n"
    "    h = 'mac=%s tos=%#x ttl=%d df=%d opts=%s dst=%s type=%#x' % (f[0:6].hex(':'), ip[1],\n"
    "        ip[8], ip[6] >> 6 & 1, ip[20:ihl].hex(), socket.inet_ntoa(ip[16:20]), m[0])\n"
    "    if h not in headers:\n"
    "        headers.append(h)\n"
    "    if m[0] != 0x22:\n"
    "        continue\n"
    "    at = 8\n"
    "    for _ in range(struct.unpack('!H', m[6:8])[0]):\n"
    "        n = struct.unpack('!H', m[at + 2:at + 4])[0]\n"
    "        g = socket.inet_ntoa(m[at + 4:at + 8])\n"
    "        if not g.startswith(tuple(sys.argv[2:])):\n"
    "            at += 8 + 4 * n\n"
    "            continue\n"
    "        srcs = ' '.join(socket.inet_ntoa(m[at + 8 + 4 * i:at + 12 + 4 * i]) for i in range(n))\n"
    "        r = '%s {%s}' % (names.get(m[at], m[at]), srcs)\n"
    "        seen = groups.setdefault(g, [])\n"
    "        if not seen or seen[-1] != r:\n"
    "            seen.append(r)\n"
    "        at += 8 + 4 * n\n"
    "for h in headers:\n"
    "    print('report', h)\n"
    "for g in sorted(groups):\n"
    "    print('group', g + ':', ', '.join(groups[g]))\n";

#endif
