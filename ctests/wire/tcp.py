"""TCP for ctests/wire/normalize.py: one segment as a line with what legitimately differs
between two runs replaced by labels (see ctests/README.md, "Wire mode", "TCP"), and the
coarse view of the connections for cases whose segment-level capture is timing.

Legitimately different, and how it is printed:
  - initial sequence numbers (random: secure_tcp_seq): each direction of each connection gets
    a label ISN#n at its first segment (its SYN, or the first number seen for it), sequence and
    acknowledgment numbers print as ISN#n+offset; SACK blocks likewise.
  - timestamp values (random per address pair offset, secure_tcp_ts_off; and a clock): TSval
    prints as TS#n, the label of its direction's clock, with -BACKWARDS if it is below that
    direction's previous value; TSecr as 0, as the label of the other direction's clock when it
    echoes one of that direction's TSvals, or unseen.
  - ephemeral ports (inet_hash_connect): EPHEMERAL.
  - checksums: valid / BAD; the pseudo-header sum a CHECKSUM_PARTIAL sender leaves for the
    device (tcp_v4_send_check: the kernel's frames on veth) counts as valid.
Literal: flags, header length, window, urgent pointer, the options in their order (MSS, window
scale, SACK-permitted, NOPs, EOL, unknown kinds in hex), payload length and hash.

The TCP MD5 signature option (RFC 2385, kind 19) carries a digest of the addresses, ports,
sequence numbers and data, so its bytes differ per run. It prints as the verdict of checking
it (tcp_v4_md5_hash_skb) with the keys ctests/cases/tcp_md5sig.c uses (MD5_KEYS below):
md5=valid (the case's key), md5=valid:NAME (another known key), md5=BAD (none of them),
md5=unverifiable(truncated) for a frame the capture cut.
"""
import hashlib
import struct

from decode import ipv4_datagram, payload_str, transport_checksum_ok, walk_options

TCP_FLAGS = [(0x01, "FIN"), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG"),
             (0x40, "ECE"), (0x80, "CWR"), (0x100, "AE"), (0x200, "RES1"), (0x400, "RES2"), (0x800, "RES3")]
MOD = 1 << 32

# The keys ctests/cases/tcp_md5sig.c signs with: the one both ends share, and the wrong one its
# host uses to show a rejected signature.
MD5_KEYS = [(b"ipshim-md5-key", "valid"), (b"ipshim-wrong-md5-key", "valid:wrong-key")]


def md5_status(seg, src, dst, length):
    """RFC 2385's digest: pseudo-header (addresses, zero, protocol, segment length), the fixed
    20-byte header with its checksum zeroed, the data after the whole header, the key."""
    if length > len(seg):
        return "unverifiable(truncated)"
    doff = (seg[12] >> 4) * 4
    location = None
    for kind, size, data in walk_options(seg[20:doff]):
        if kind == 19 and size == 18:
            location = data
            break
    if location is None:
        return "absent"
    header = seg[:16] + b"\0\0" + seg[18:20]
    body = src + dst + struct.pack("!BBH", 0, 6, len(seg)) + header + seg[doff:]
    for key, name in MD5_KEYS:
        if hashlib.md5(body + key).digest() == location:
            return name
    return "BAD"


def flags_str(bits):
    names = [name for bit, name in TCP_FLAGS if bits & bit]
    return "+".join(names) or "-"


class Direction:
    """One direction of one connection: its sequence space, clock and stream."""

    def __init__(self):
        self.isn = None
        self.isn_label = None
        self.ts_label = None
        self.last_tsval = None
        self.tsvals = set()
        self.ranges = set()  # (start, end) offsets from the ISN of the data segments sent
        self.controls = []  # coarse view: control segments in order, repeats folded


class TcpDecoder:
    def __init__(self, port_name):
        self.port_name = port_name
        self.directions = {}  # ((src, sport), (dst, dport)) -> Direction
        self.connections = []  # first direction key of each connection, in order of appearance
        self.connection_of = {}  # direction key -> connection number (1-based) it belongs to now
        self.last_connection = None  # the connection of the segment decoded last
        self.isn_count = 0
        self.ts_count = 0

    # ---- per-direction state ---------------------------------------------------------------
    def direction(self, key):
        if key not in self.directions:
            self.directions[key] = Direction()
            if (key[1], key[0]) not in self.directions:
                self.connections.append(key)
                self.connection_of[key] = self.connection_of[(key[1], key[0])] = len(self.connections)
        return self.directions[key]

    def new_connection(self, key):
        """A SYN opening a new connection on a 4-tuple seen before (a port reused)."""
        for k in (key, (key[1], key[0])):
            self.directions.pop(k, None)
        return self.direction(key)

    def seq_text(self, d, value, first_segment_is_syn=True):
        """value in d's sequence space as ISN#n+offset; the first value seen names the base."""
        if d.isn is None:
            if not first_segment_is_syn and value == 0:
                # tcp_v4_send_reset answers a segment without ACK with sequence number 0.
                return "0"
            self.isn_count += 1
            d.isn, d.isn_label = value, f"ISN#{self.isn_count}"
        return f"{d.isn_label}+{(value - d.isn) % MOD}"

    def ts_text(self, mine, theirs, tsval, tsecr):
        if mine.ts_label is None:
            self.ts_count += 1
            mine.ts_label = f"TS#{self.ts_count}"
        val = mine.ts_label
        if tsval == 0:
            val = "0"
        elif mine.last_tsval is not None and (tsval - mine.last_tsval) % MOD >= MOD // 2:
            val += "-BACKWARDS"
        mine.last_tsval = tsval
        mine.tsvals.add(tsval)
        # Which of the other direction's TSvals is echoed is not printed: TS.Recent moves only
        # with segments at the left window edge (RFC 7323 4.3, tcp_store_ts_recent), and
        # whether two segments in a row carry the same millisecond is time.
        if tsecr == 0:
            ecr = "0"
        elif tsecr in theirs.tsvals:
            ecr = theirs.ts_label
        else:
            ecr = "unseen"
        return f"ts={val} ecr={ecr}"

    @staticmethod
    def quoted_ts_text(mine, theirs, tsval, tsecr):
        """A quoted segment's timestamps: which clock's values they are, nothing updated."""
        val = "0" if tsval == 0 else mine.ts_label if tsval in mine.tsvals else "unseen"
        ecr = "0" if tsecr == 0 else theirs.ts_label if tsecr in theirs.tsvals else "unseen"
        return f"ts={val} ecr={ecr}"

    def options(self, opts, mine, theirs, quoted=False, md5="quoted"):
        out = []
        for kind, length, data in walk_options(opts):
            if kind == 0:
                rest = data
                out.append("eol" + (f"+{rest.hex()}" if rest.strip(b"\0") else f"+{len(rest)}" if rest else ""))
                continue
            if kind == 1:
                out.append("nop")
                continue
            if length is None:
                out.append(f"malformed:{data.hex()}")
                continue
            if kind == 2 and length == 4:
                out.append(f"mss={struct.unpack('!H', data)[0]}")
            elif kind == 3 and length == 3:
                out.append(f"wscale={data[0]}")
            elif kind == 4 and length == 2:
                out.append("sackOK")
            elif kind == 5 and length >= 2 and (length - 2) % 8 == 0:
                blocks = []
                for j in range(0, len(data), 8):
                    left, right = struct.unpack("!II", data[j:j + 8])
                    blocks.append(f"{self.seq_text(theirs, left)}-{self.seq_text(theirs, right)}")
                out.append(f"sack=[{' '.join(blocks)}]")
            elif kind == 19 and length == 18:
                out.append(f"md5={md5}")
            elif kind == 8 and length == 10:
                tsval, tsecr = struct.unpack("!II", data)
                if quoted:
                    out.append(self.quoted_ts_text(mine, theirs, tsval, tsecr))
                else:
                    out.append(self.ts_text(mine, theirs, tsval, tsecr))
            else:
                out.append(f"opt{kind} len={length} {data.hex()}")
        return "[" + " ".join(out) + "]"

    def quoted(self, head, src, dst):
        """The TCP segment an ICMP error quotes (RFC 792: at least 8 bytes; Linux quotes up to
        576 bytes, icmp_send): decoded like a segment, in the numbering of the connection it
        belongs to, without moving that connection's state (its TSvals were seen already)."""
        sport, dport, seq = struct.unpack("!HHI", head[:8])
        mine = self.direction(((src, sport), (dst, dport)))
        theirs = self.direction(((dst, dport), (src, sport)))
        text = f"tcp {self.port_name(sport)} > {self.port_name(dport)} seq={self.seq_text(mine, seq)}"
        doff = (head[12] >> 4) * 4 if len(head) >= 20 else 0
        if doff < 20 or doff > len(head):
            return f"{text} rest={len(head) - 8} bytes"
        ack, off_flags, window, _csum, urg = struct.unpack("!IHHHH", head[8:20])
        bits = off_flags & 0x0FFF
        ack_t = self.seq_text(theirs, ack) if bits & 0x10 or ack else "0"
        text += f" ack={ack_t} doff={doff} flags={flags_str(bits)} win={window} urg={urg}"
        if doff > 20:
            text += f" opts={self.options(head[20:doff], mine, theirs, quoted=True)}"
        return f"{text} payload={payload_str(head[doff:])}"

    # ---- one segment -------------------------------------------------------------------------
    def segment(self, seg, src, dst, length=None):
        """seg: the TCP header and data as captured; length: the segment's length by the IP
        header, more than len(seg) when the capture cut the frame (snapshot length: the
        kernel's GSO frames on veth reach 64 KiB)."""
        length = len(seg) if length is None else length
        if len(seg) < 20:
            return f"tcp-short {payload_str(seg)}"
        sport, dport, seq, ack, off_flags, window, csum, urg = struct.unpack("!HHIIHHHH", seg[:20])
        doff = (off_flags >> 12) * 4
        bits = off_flags & 0x0FFF
        if doff < 20 or doff > len(seg):
            return f"tcp {self.port_name(sport)} > {self.port_name(dport)} bad-doff={doff} {payload_str(seg)}"
        key = ((src, sport), (dst, dport))
        syn = bool(bits & 0x02)
        mine = self.direction(key)
        if syn and not bits & 0x10 and mine.isn is not None and seq != mine.isn:
            mine = self.new_connection(key)
        theirs = self.direction((key[1], key[0]))
        self.last_connection = self.connection_of[key]
        seq_t = self.seq_text(mine, seq, first_segment_is_syn=syn or mine.isn is not None or seq != 0)
        if bits & 0x10 or ack:
            ack_t = self.seq_text(theirs, ack)
        else:
            ack_t = "0"
        if transport_checksum_ok(src, dst, 6, length, seg, csum):
            check = "valid"
        elif length > len(seg):
            check = "unverifiable(truncated)"
        else:
            check = "BAD"
        md5 = md5_status(seg, src, dst, length)
        opts = self.options(seg[20:doff], mine, theirs, md5=md5) if doff > 20 else ""
        data = seg[doff:]
        data_length = length - doff
        if mine.isn is not None and data_length > 0:
            start = (seq - mine.isn) % MOD + (1 if syn else 0)
            mine.ranges.add((start, start + data_length))
        text = (
            f"tcp {self.port_name(sport)} > {self.port_name(dport)} seq={seq_t} ack={ack_t} "
            f"doff={doff} flags={flags_str(bits)} win={window} csum={check}"
        )
        if urg or bits & 0x20:
            text += f" urg={urg}"
        if opts:
            text += f" opts={opts}"
        if data_length > len(data):
            text += f" payload={data_length}:captured={len(data)}"
        else:
            text += f" payload={payload_str(data)}"
        if bits & 0x07:
            control = f"{flags_str(bits & 0x07)} seq={seq_t}" + (f" opts={opts}" if syn else "")
            if bits & 0x01:
                # A FIN takes the number after the data it ends: where a segment's data stops
                # is segmentation (a GSO frame carries the FIN on its last segment).
                fin_at = self.seq_text(mine, seq + max(data_length, 0) + (1 if syn else 0))
                control = f"{flags_str(bits & 0x07)} at={fin_at}" + (f" opts={opts}" if syn else "")
            if not mine.controls or mine.controls[-1] != control:
                mine.controls.append(control)
        return text


def stream_summary(d):
    """(bytes, holes): how far a direction's data reached (from sequence number ISN+1) and
    how many gaps its segments left (the capture's snapshot length cuts the kernel's GSO
    frames, so the bytes are not all there to hash; the cases hash the streams themselves)."""
    end = 1
    holes = 0
    for start, stop in sorted(d.ranges):
        if start > end:
            holes += 1
        end = max(end, stop)
    return end - 1, holes


def tcp_summary(decoder, endpoint_name):
    """The coarse view: per connection and direction, the SYN/FIN/RST segments in order
    (with sequence numbers and SYN options; repeats folded), and how many data bytes it sent.
    Segmentation, windows, pure ACKs and retransmissions are left out."""
    out = []
    for n, key in enumerate(decoder.connections, 1):
        out.append(f"connection {n}: {endpoint_name(key[0])} <-> {endpoint_name(key[1])}")
        for k in (key, (key[1], key[0])):
            d = decoder.directions.get(k)
            if d is None:
                continue
            length, holes = stream_summary(d)
            out.append(
                f"  {endpoint_name(k[0])} sent: {', '.join(d.controls) or 'no SYN/FIN/RST'}; "
                f"data bytes={length}" + (f" holes={holes}" if holes else "")
            )
    return out


def superseded_acks(frames):
    """Indices of the pure ACKs (no data, no SYN/FIN/RST/URG, no SACK blocks) that the same
    sender's next segment on the same connection repeats (same acknowledgment number): whether
    such an ACK leaves on its own or rides on the next segment is the delayed-ACK timer
    (tcp_send_delayed_ack, ~40 ms) racing the application's next call, i.e. scheduling."""
    per_sender = {}
    for index, (frame, _) in enumerate(frames):
        ip = ipv4_datagram(frame, proto=6)
        if ip is None:
            continue
        ihl = (ip[0] & 0x0F) * 4
        tlen = struct.unpack("!H", ip[2:4])[0]
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF or len(ip) < ihl + 20 or tlen > len(ip):
            continue
        seg = ip[ihl:tlen]
        sport, dport, _seq, ack, off_flags = struct.unpack("!HHIIH", seg[:14])
        doff = (off_flags >> 12) * 4
        bits = off_flags & 0x0FFF
        if doff < 20 or doff > len(seg):
            continue
        sack = any(kind == 5 and length is not None for kind, length, _ in walk_options(seg[20:doff]))
        pure = bits & 0x3F == 0x10 and len(seg) == doff and not sack
        key = (ip[12:16], sport, ip[16:20], dport)
        per_sender.setdefault(key, []).append((index, pure, ack))
    dropped = set()
    for segments in per_sender.values():
        for (index, pure, ack), (_next_index, _next_pure, next_ack) in zip(segments, segments[1:]):
            if pure and ack == next_ack:
                dropped.add(index)
    return dropped
