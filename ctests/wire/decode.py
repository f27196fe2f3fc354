"""What every decoder of ctests/wire/ shares (normalize.py, tcp.py): the hash and the short
form of payloads, the Internet checksum, and finding the IPv4 datagram in an Ethernet frame.
"""
import struct

ETHERTYPE_IPV4 = b"\x08\x00"
ETHERNET_HEADER_LEN = 14


def fnv1a(data):
    """The hash ctests/lib/trace.c prints for long buffers (FNV-1a, 32 bit)."""
    h = 0x811C9DC5
    for x in data:
        h ^= x
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def payload_str(data):
    """Bytes as the traces print them: up to 16 in hex, longer ones as length and hash."""
    if len(data) <= 16:
        return f"{len(data)}:{data.hex()}" if data else "0"
    return f"{len(data)}:fnv={fnv1a(data):08x}"


def ones_sum(data):
    """The folded 16-bit one's complement sum of RFC 1071 (0xFFFF over data holding a
    correct checksum)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def transport_checksum_ok(src, dst, proto, length, segment, field):
    """A UDP or TCP checksum over the pseudo-header (RFC 768, RFC 9293 3.1) verifies, or the
    field holds the folded pseudo-header sum that a CHECKSUM_PARTIAL sender leaves for the
    device to finish (udp4_hwcsum, tcp_v4_send_check); on veth nobody finishes it. That is how
    the kernel (the host in the kernel world, and the peer) sends, so it counts as valid."""
    pseudo = src + dst + struct.pack("!BBH", 0, proto, length)
    return ones_sum(pseudo + segment) == 0xFFFF or field == ones_sum(pseudo)


def ipv4_datagram(frame, proto=None):
    """The IPv4 datagram an Ethernet frame carries (from its header on, as captured), or None
    for other frames and ones too short for an IPv4 header; with proto, only datagrams of that
    protocol."""
    if len(frame) < ETHERNET_HEADER_LEN + 20 or frame[12:14] != ETHERTYPE_IPV4:
        return None
    ip = frame[ETHERNET_HEADER_LEN:]
    if proto is not None and ip[9] != proto:
        return None
    return ip


def walk_options(opts):
    """The options of an IP or TCP header in order (RFC 791 3.1, RFC 9293 3.1), as
    (kind, length, data): EOL as (0, 1, the bytes after it) and NOP as (1, 1, b""); an option
    whose length byte is missing, below 2 or past the end as (kind, None, the bytes from it
    on). EOL and a malformed option end the walk."""
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            yield 0, 1, opts[i + 1:]
            return
        if kind == 1:
            yield 1, 1, b""
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2 or i + opts[i + 1] > len(opts):
            yield kind, None, opts[i:]
            return
        length = opts[i + 1]
        yield kind, length, opts[i + 2:i + length]
        i += length
