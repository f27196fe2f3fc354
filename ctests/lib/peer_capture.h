/* peer_capture.h: the start of a python3 program for the peer (peer_start_python) that
 * captures the host's datagrams on the peer's eth0, as they are on the wire. A case appends
 * its own code, which decides what to print of each frame:
 *
 *     static const char sniffer[] = PEER_CAPTURE_PY
 *         "host, port = socket.inet_aton(sys.argv[1]), int(sys.argv[2])\n"
 *         "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
 *         "sink.bind(('0.0.0.0', port))\n"
 *         "for f in host_frames(host, 6):\n"
 *         "    print(...)\n";
 *
 * host_frames(host, seconds, protocols=(17,)) opens an AF_PACKET socket, prints "ready" (for
 * peer_wait_ready), then yields each Ethernet frame carrying an IPv4 packet from `host` (its
 * address as 4 bytes) of one of `protocols`, until the first fragment of a datagram whose
 * payload starts with "end" (yielded too) or `seconds` pass. The case's closing datagram is
 * tagged "end", so the capture ends as soon as the case is done. A case that binds a sink to
 * its port first keeps the peer from answering with ICMP port unreachable.
 * csum(b) is the Internet checksum (RFC 1071) of b: 0 over a valid header. */
#ifndef IPSHIM_CTESTS_PEER_CAPTURE_H
#define IPSHIM_CTESTS_PEER_CAPTURE_H

#include <string.h>

#define PEER_CAPTURE_PY                                                                       \
    "import socket, struct, sys, time\n"                                                     \
    "def csum(b):\n"                                                                          \
    "    if len(b) % 2: b += b'\\0'\n"                                                        \
    "    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))\n"                                 \
    "    while t >> 16: t = (t & 0xffff) + (t >> 16)\n"                                       \
    "    return ~t & 0xffff\n"                                                                \
    "def host_frames(host, seconds, protocols=(17,)):\n"                                      \
    "    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))\n"        \
    "    s.bind(('eth0', 0))\n"                                                               \
    "    s.settimeout(0.5)\n"                                                                 \
    "    print('ready', flush=True)\n"                                                        \
    "    deadline = time.monotonic() + seconds\n"                                             \
    "    while time.monotonic() < deadline:\n"                                                \
    "        try: f = s.recv(70000)\n"                                                        \
    "        except socket.timeout: continue\n"                                               \
    "        ip = f[14:]\n"                                                                   \
    "        if len(ip) < 20 or ip[9] not in protocols or ip[12:16] != host: continue\n"      \
    "        yield f\n"                                                                       \
    "        ihl = (ip[0] & 15) * 4\n"                                                        \
    "        if struct.unpack('!H', ip[6:8])[0] & 0x1fff == 0 and ip[ihl + 8:ihl + 11] == b'end': return\n"

/* The payload of a datagram such a capture names: `size` bytes (at most 65536), the tag, ':'
 * and dots, cut to `size`. The buffer is static: valid until the next call. */
static inline const char *tagged_payload(const char *tag, size_t size)
{
    static char buf[65536];
    if (size > sizeof buf)
        size = sizeof buf;
    memset(buf, '.', size);
    size_t n = strlen(tag);
    memcpy(buf, tag, n < size ? n : size);
    if (n < size)
        buf[n] = ':';
    return buf;
}

#endif
