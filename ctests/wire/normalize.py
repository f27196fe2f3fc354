#!/usr/bin/env python3
"""Decode a pcap into one normalised line per frame, so that two captures of the same case
(kernel world, shim world) compare with diff.

    normalize.py FILE.pcap                      print the normalised frames
    normalize.py --compare KERNEL.pcap SHIM.pcap
                                                print a unified diff; exit 0 if equal, 1 if not

Options: --port-range LOW HIGH (default: /proc/sys/net/ipv4/ip_local_port_range), --out-dir DIR
(with --compare: also write the normalised lines of X.pcap to DIR/X.wire), --tcp-mode
exact|fold-acks|coarse (how TCP segments compare; default exact).

Every header field is printed (Ethernet, ARP, IPv4 with flags, fragment offset, TTL, TOS and
options, ICMP with the quoted header, UDP, TCP (ctests/wire/tcp.py: sequence numbers relative
to labelled ISNs, timestamps as labelled clocks with their echo relation, options in order;
--tcp-mode exact|fold-acks|coarse, see ctests/wire/tcp-modes.txt), and a generic line for
other protocols) except
what legitimately differs between two runs (see ctests/README.md, "Wire mode"):
  - IP identification: a label per flow (src, dst, protocol; for TCP, UDP and UDP-Lite also
    the ports) in order of first appearance,
    id#1, id#2, ...; fragments of one datagram and an ICMP error's quoted header get the label
    of the datagram they belong to; 0 stays 0 in a flow whose ids are all 0 (an id of 0 is a
    deliberate choice of a stack: ip_select_ident_segs for unconnected DF datagrams), and is
    labelled like any other id in a flow with a counter, which may pass through 0 by chance.
  - ports inside the ephemeral range: EPHEMERAL.
  - checksums: valid / BAD (the IP header checksum depends on the id). A UDP checksum the sender
    left to offload (CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, as the
    kernel peer's and the kernel host's frames do on veth) counts as valid; 0 prints as none.
  - timestamps: not printed, nor those inside an IP timestamp option or an ICMP timestamp
    message (T).
  - ICMP echo identifier and data (the requester's choice; ping(8) puts the time in the data):
    labels E#n and D#n per distinct value, so a reply shows whether it echoes its request.
  - the interleaving of the two directions: the frames are printed per sender (host, peer,
    other), each in capture order.
  - the peer's unicast ARP probes of the host and the host's replies to them: moved out of
    the frame order into a last section saying whether each was answered (their existence
    depends on the peer's neighbour timers racing the case's duration).
  - the host's IGMP membership reports: moved into a section that gives their header forms
    and, per group, the records announced in order with repetitions folded (RFC 3376
    retransmits each change robustness-variable times at random intervals of up to 1 s, and
    packs the records of changes that fall in one interval into one report: how many reports,
    when, and which records share one, is timing).
Self-contained: a classic-pcap reader, no scapy.
"""
import difflib
import os
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decode import ipv4_datagram, ones_sum, payload_str, transport_checksum_ok, walk_options  # noqa: E402
from tcp import TcpDecoder, superseded_acks, tcp_summary  # noqa: E402

BROADCAST = "ff:ff:ff:ff:ff:ff"
# Protocols whose IP ids are keyed per port pair (Normaliser.flow_key): TCP, UDP, UDP-Lite.
PORTED_PROTOCOLS = (6, 17, 136)
# Topology names (scripts/lib/topology.sh): the same in both worlds, printed by role so a diff
# reads easily.
MAC_NAMES = {
    "02:00:00:00:00:02": "host",
    "02:00:00:00:00:01": "peer",
    BROADCAST: "broadcast",
    "00:00:00:00:00:00": "zero",
}
HOST_MAC = "02:00:00:00:00:02"
PEER_MAC = "02:00:00:00:00:01"
HOST_ADDR = bytes([198, 18, 0, 2])
PEER_ADDR = bytes([198, 18, 0, 1])

IPPROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp"}
ICMP_TYPES = {
    0: "echo-reply",
    3: "dest-unreach",
    4: "source-quench",
    5: "redirect",
    8: "echo-request",
    11: "time-exceeded",
    12: "param-problem",
    13: "timestamp",
    14: "timestamp-reply",
}
ICMP_ERRORS = {3, 4, 5, 11, 12}
IP_OPTION_NAMES = {
    0: "EOL",
    1: "NOP",
    7: "RR",
    68: "TS",
    130: "SEC",
    131: "LSRR",
    137: "SSRR",
    136: "SID",
    148: "RA",
}

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1


class PcapError(Exception):
    pass


def read_pcap(path):
    """Frames of a classic libpcap file, in capture order (timestamps dropped: timing is not
    compared). A truncated last record (tcpdump killed mid-write) ends the list."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise PcapError(f"{path}: not a pcap file (only {len(data)} bytes)")
    for endian in ("<", ">"):
        (magic,) = struct.unpack(endian + "I", data[:4])
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            break
    else:
        raise PcapError(f"{path}: not a classic pcap file (pcapng is not supported)")
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != LINKTYPE_ETHERNET:
        raise PcapError(f"{path}: link type {linktype}, expected Ethernet (1)")
    frames = []
    pos = 24
    while pos + 16 <= len(data):
        _sec, _frac, incl_len, orig_len = struct.unpack(endian + "IIII", data[pos : pos + 16])
        pos += 16
        if pos + incl_len > len(data):
            break
        frame = data[pos : pos + incl_len]
        pos += incl_len
        frames.append((frame, orig_len))
    return frames


def mac_str(b):
    return ":".join(f"{x:02x}" for x in b)


def mac_name(b):
    s = mac_str(b)
    return MAC_NAMES.get(s, s)


def ip_str(b):
    return ".".join(str(x) for x in b)


class Normaliser:
    def __init__(self, port_low, port_high, tcp_coarse=False):
        self.tcp_coarse = tcp_coarse
        self.port_low = port_low
        self.port_high = port_high
        # (src, dst, proto) -> {raw id: label number}
        self.id_labels = {}
        # flows (flow_key) with at least one non-zero id (found in pass 1)
        self.counting_flows = set()
        # (src, dst, proto, id) of a fragmented datagram -> the ports its first fragment carries
        self.fragment_ports = {}
        # (src, dst, proto, id) -> {offset: bytes, "total": length once the last fragment is seen}
        self.fragments = {}
        # ICMP echo identifiers and payloads -> label number, in order of first appearance.
        self.echo_ids = {}
        self.echo_data = {}
        # TCP: sequence spaces, timestamps and connections (ctests/wire/tcp.py).
        self.tcp = TcpDecoder(self.port)

    # ---- normalisation helpers -------------------------------------------------------
    def port(self, p):
        return "EPHEMERAL" if self.port_low <= p <= self.port_high else str(p)

    def ident(self, key, ident):
        if ident == 0 and key not in self.counting_flows:
            return "0"
        flow = self.id_labels.setdefault(key, {})
        if ident not in flow:
            flow[ident] = len(flow) + 1
        return f"id#{flow[ident]}"

    def flow_key(self, ip):
        """The flow an IP header's id belongs to, as ident() keys it: (src, dst, protocol), and
        for TCP, UDP and UDP-Lite also the ports. ip_select_ident_segs gives a connected socket
        its own counter with a random start (inet_id: tcp_v4_connect, ip4_datagram_connect), so
        two sockets' ids are independent: keyed without ports, two traceroute probe sockets whose
        random starts happened to meet printed as one id seen twice in one world only. With the
        ports, a socket's labels do not depend on another socket's ids or on how their datagrams
        interleave. A fragment after the first carries no ports: it takes its datagram's, noted
        in pass 1 (collect_fragments)."""
        ihl = (ip[0] & 0x0F) * 4
        proto = ip[9]
        base = (ip[12:16], ip[16:20], proto)
        if proto not in PORTED_PROTOCOLS:
            return base
        ident, frag = struct.unpack("!HH", ip[4:8])
        if frag & 0x1FFF == 0:
            if len(ip) < ihl + 4:
                return base
            return base + (ip[ihl:ihl + 4],)
        return base + (self.fragment_ports.get(base + (ident,)),)

    @staticmethod
    def label(table, key, prefix):
        if key not in table:
            table[key] = len(table) + 1
        return f"{prefix}#{table[key]}"

    def echo_payload(self, data):
        """An echo request's data is the requester's choice (ping(8) puts the time in it): a
        label per distinct payload, so a reply shows whether it carries the request's bytes."""
        return f"{len(data)}:{self.label(self.echo_data, data, 'D')}"

    def note_fragment_ports(self, frames):
        """Pass 1a: the ports of each fragmented datagram, from its first fragment, so the
        fragments after it (which carry no transport header) get the same flow_key."""
        for frame, _ in frames:
            ip = ipv4_datagram(frame)
            if ip is None or len(ip) < 20 or ip[9] not in PORTED_PROTOCOLS:
                continue
            ihl = (ip[0] & 0x0F) * 4
            ident, frag = struct.unpack("!HH", ip[4:8])
            if frag & 0x3FFF == 0x2000 and len(ip) >= ihl + 4:
                self.fragment_ports[(ip[12:16], ip[16:20], ip[9], ident)] = ip[ihl:ihl + 4]

    # ---- pass 1: reassembly, so a fragmented datagram's checksum can be verified ----
    def collect_fragments(self, frames):
        self.note_fragment_ports(frames)
        for frame, _ in frames:
            ip = ipv4_datagram(frame)
            if ip is None:
                continue
            ihl = (ip[0] & 0x0F) * 4
            if ip[0] >> 4 != 4 or ihl < 20 or len(ip) < ihl:
                continue
            tlen, ident, frag = struct.unpack("!HHH", ip[2:8])
            if ident != 0:
                self.counting_flows.add(self.flow_key(ip))
            offset = (frag & 0x1FFF) * 8
            more = bool(frag & 0x2000)
            if offset == 0 and not more:
                continue
            key = (ip[12:16], ip[16:20], ip[9], ident)
            entry = self.fragments.setdefault(key, {"parts": {}})
            entry["parts"][offset] = ip[ihl:tlen]
            if not more:
                entry["total"] = offset + max(0, tlen - ihl)

    def reassembled(self, key):
        entry = self.fragments.get(key)
        if not entry or "total" not in entry:
            return None
        data = bytearray()
        for offset in sorted(entry["parts"]):
            if offset != len(data):
                return None
            data += entry["parts"][offset]
        return bytes(data) if len(data) == entry["total"] else None

    # ---- decoders ----------------------------------------------------------------------
    def frame_line(self, frame, orig_len):
        if len(frame) < 14:
            return f"runt len={len(frame)} {frame.hex()}"
        dst, src = frame[0:6], frame[6:12]
        (ethertype,) = struct.unpack("!H", frame[12:14])
        head = f"{mac_name(src)} > {mac_name(dst)} len={orig_len}"
        if len(frame) < orig_len:
            # Beyond scripts/capture's snapshot length: what is decoded is only a prefix.
            head += f" captured={len(frame)}"
        body = frame[14:]
        if ethertype == 0x0806:
            return f"{head} arp {self.arp(body)}"
        if ethertype == 0x0800:
            return f"{head} {self.ipv4(body)}"
        return f"{head} ethertype=0x{ethertype:04x} {payload_str(body)}"

    @staticmethod
    def arp(b):
        if len(b) < 28:
            return f"short {b.hex()}"
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", b[:8])
        fields = f"htype={htype} ptype=0x{ptype:04x} hlen={hlen} plen={plen}"
        if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
            return f"{fields} op={op} {b[8:].hex()}"
        sha, spa, tha, tpa = b[8:14], b[14:18], b[18:24], b[24:28]
        opname = {1: "request", 2: "reply"}.get(op, f"op={op}")
        pad = len(b) - 28
        return (
            f"{opname} {fields} sha={mac_name(sha)} spa={ip_str(spa)} "
            f"tha={mac_name(tha)} tpa={ip_str(tpa)}" + (f" pad={pad}" if pad else "")
        )

    def ip_options(self, opts):
        out = []
        for kind, length, data in walk_options(opts):
            name = IP_OPTION_NAMES.get(kind, f"opt{kind}")
            if kind == 0:
                out.append("EOL" + (f"+{len(data)}:{data.hex()}" if data else ""))
            elif kind == 1:
                out.append("NOP")
            elif length is None:
                out.append(f"{name}-malformed:{data.hex()}")
            elif kind == 68 and len(data) >= 2:
                out.append(f"TS len={length} {self.ts_option(data)}")
            else:
                out.append(f"{name} len={length} {data.hex()}")
        return "[" + " ".join(out) + "]"

    @staticmethod
    def ts_option(data):
        """RFC 791 timestamp option: pointer, overflow/flag, then entries. The timestamps are
        milliseconds since midnight UT: printed as T (or 0 while the slot is still empty)."""
        pointer, ovfl_flag = data[0], data[1]
        flag = ovfl_flag & 0x0F
        entries = data[2:]
        step = 4 if flag == 0 else 8
        shown = []
        for j in range(0, len(entries) - step + 1, step):
            entry = entries[j : j + step]
            stamp = entry[-4:]
            stamp_str = "0" if stamp == b"\0\0\0\0" else "T"
            shown.append(stamp_str if flag == 0 else f"{ip_str(entry[:4])}@{stamp_str}")
        tail = entries[len(entries) - len(entries) % step :]
        return (
            f"ptr={pointer} oflw={ovfl_flag >> 4} flag={flag} "
            + ",".join(shown)
            + (f" +{tail.hex()}" if tail else "")
        )

    def ip_header_fields(self, ip):
        """(text, header length, src, dst, proto, total length, fragment offset, MF, raw id) of
        an IPv4 header, the frame's own or the one an ICMP error quotes (quoted as received, so
        its checksum is checked too and its id maps to the label of the datagram it quotes)."""
        ver, ihl = ip[0] >> 4, (ip[0] & 0x0F) * 4
        tos = ip[1]
        tlen, ident, frag = struct.unpack("!HHH", ip[2:8])
        ttl, proto = ip[8], ip[9]
        src, dst = ip[12:16], ip[16:20]
        flags = []
        if frag & 0x8000:
            flags.append("RES")
        if frag & 0x4000:
            flags.append("DF")
        if frag & 0x2000:
            flags.append("MF")
        offset = (frag & 0x1FFF) * 8
        csum_ok = len(ip) >= ihl and ones_sum(ip[:ihl]) == 0xFFFF
        text = (
            f"ip v{ver} ihl={ihl} tos=0x{tos:02x} tlen={tlen} "
            f"id={self.ident(self.flow_key(ip), ident)} flags={'+'.join(flags) or '-'} off={offset} "
            f"ttl={ttl} proto={IPPROTO_NAMES.get(proto, proto)} csum={'valid' if csum_ok else 'BAD'} "
            f"{ip_str(src)} > {ip_str(dst)}"
        )
        if ihl > 20:
            text += " opts=" + self.ip_options(ip[20:ihl])
        return text, ihl, src, dst, proto, tlen, offset, bool(frag & 0x2000), ident

    def ipv4(self, ip):
        if len(ip) < 20 or ip[0] >> 4 != 4 or (ip[0] & 0x0F) < 5 or len(ip) < (ip[0] & 0x0F) * 4:
            return f"ipv4-malformed {ip.hex()}"
        text, ihl, src, dst, proto, tlen, offset, more, ident = self.ip_header_fields(ip)
        if proto == 6 and offset == 0 and not more and ihl <= len(ip) < tlen:
            # Cut by the snapshot length: the TCP header is there, the data only in part.
            return f"{text} captured={len(ip)} | {self.tcp.segment(ip[ihl:], src, dst, tlen - ihl)}"
        if tlen < ihl or tlen > len(ip):
            return f"{text} tlen-mismatch captured={len(ip)}"
        pad = len(ip) - tlen
        if pad:
            text += f" ethpad={pad}"
        payload = ip[ihl:tlen]
        if offset != 0:
            return f"{text} | fragment {payload_str(payload)}"
        full = payload
        if more:
            full = self.reassembled((src, dst, proto, ident))
        if proto == 17:
            return f"{text} | {self.udp(payload, src, dst, full)}"
        if proto == 1:
            return f"{text} | {self.icmp(payload, full)}"
        if proto == 2:
            return f"{text} | {igmp_text(payload)}"
        if proto == 6:
            return f"{text} | {self.tcp.segment(payload, src, dst)}"
        return f"{text} | {payload_str(payload)}"

    @staticmethod
    def udp_checksum(field, datagram, src, dst):
        if field == 0:
            return "none"
        if datagram is None:
            return "unverifiable(fragments missing)"
        # A CHECKSUM_PARTIAL sender's folded pseudo-header sum counts as valid (decode.py).
        return "valid" if transport_checksum_ok(src, dst, 17, len(datagram), datagram, field) else "BAD"

    def udp(self, seg, src, dst, full):
        if len(seg) < 8:
            return f"udp-short {seg.hex()}"
        sport, dport, length, csum = struct.unpack("!HHHH", seg[:8])
        datagram = full if full is not None else None
        if datagram is not None and length != len(datagram):
            check = "length-mismatch"
        else:
            check = self.udp_checksum(csum, datagram, src, dst)
        body = (datagram if datagram is not None else seg)[8:length] if length >= 8 else b""
        return (
            f"udp {self.port(sport)} > {self.port(dport)} len={length} csum={check} "
            f"payload={payload_str(body)}"
        )

    def icmp(self, seg, full):
        if len(seg) < 8:
            return f"icmp-short {seg.hex()}"
        typ, code, _csum = struct.unpack("!BBH", seg[:4])
        whole = full if full is not None else seg
        csum = "valid" if full is not None and ones_sum(whole) == 0xFFFF else "BAD"
        if full is None:
            csum = "unverifiable(fragments missing)"
        name = ICMP_TYPES.get(typ, f"type{typ}")
        text = f"icmp {name} code={code} csum={csum}"
        rest = seg[4:8]
        if typ in (0, 8):
            ident, seq = struct.unpack("!HH", rest)
            # The identifier is the requester's choice too (ping(8): its pid; a ping socket:
            # its port): labelled like the payload.
            return (
                f"{text} echo-id={self.label(self.echo_ids, ident, 'E')} seq={seq} "
                f"data={self.echo_payload(whole[8:])}"
            )
        if typ in (13, 14) and len(whole) >= 20:
            return f"{text} rest={rest.hex()} {self.icmp_timestamps(whole[8:])}"
        if typ not in ICMP_ERRORS:
            return f"{text} rest={rest.hex()} data={payload_str(whole[8:])}"
        if typ == 3 and code == 4:
            text += f" unused={rest[:2].hex()} mtu={struct.unpack('!H', rest[2:])[0]}"
        elif typ == 5:
            text += f" gateway={ip_str(rest)}"
        elif typ == 12:
            text += f" pointer={rest[0]} unused={rest[1:].hex()}"
        else:
            text += f" unused={rest.hex()}"
        return f"{text} quote=[{self.quoted(whole[8:])}]"

    @staticmethod
    def icmp_timestamps(data):
        """RFC 792 timestamp message: originate (the requester's, echoed in the reply), receive
        and transmit (milliseconds since midnight UT, icmp_timestamp: printed as T if in range,
        and whether transmit equals receive), then any extra bytes."""

        def stamp(raw):
            (value,) = struct.unpack("!I", raw)
            if value == 0:
                return "0"
            # RFC 792: the high-order bit marks a non-standard time value.
            return "T" if value < 86_400_000 else "T-nonstandard"

        originate, receive, transmit = data[0:4], data[4:8], data[8:12]
        xmit = "receive" if transmit == receive else stamp(transmit)
        extra = data[12:]
        return f"originate={originate.hex()} receive={stamp(receive)} transmit={xmit}" + (
            f" extra={payload_str(extra)}" if extra else ""
        )

    def quoted(self, q):
        """The offending datagram's header and first bytes, as an ICMP error quotes them (RFC
        792; Linux quotes as much as fits in 576 bytes, icmp_send)."""
        if len(q) < 20 or q[0] >> 4 != 4 or len(q) < (q[0] & 0x0F) * 4:
            return f"malformed {payload_str(q)}"
        text, ihl, src, dst, proto, tlen, offset, _more, _ident = self.ip_header_fields(q)
        inner = q[ihl:]
        text += f" quoted-bytes={len(q)}"
        if offset == 0 and proto == 17 and len(inner) >= 8:
            sport, dport, length, csum = struct.unpack("!HHHH", inner[:8])
            if csum == 0:
                check = "none"
            elif len(inner) >= length == tlen - ihl:
                check = self.udp_checksum(csum, inner[:length], src, dst)
            else:
                check = "unverifiable(truncated)"
            text += (
                f" | udp {self.port(sport)} > {self.port(dport)} len={length} csum={check} "
                f"data={payload_str(inner[8:])}"
            )
        elif offset == 0 and proto == 6 and len(inner) >= 8:
            text += f" | {self.tcp.quoted(inner, src, dst)}"
        elif offset == 0 and proto == 1 and len(inner) >= 8:
            typ, code = inner[0], inner[1]
            if typ in (0, 8):
                # An echo's identifier is the requester's choice (a ping socket's port): the
                # label of the request's, so the quote shows which echo it was.
                ident, seq = struct.unpack("!HH", inner[4:8])
                rest = f"echo-id={self.label(self.echo_ids, ident, 'E')} seq={seq}"
            else:
                rest = f"rest={inner[4:8].hex()}"
            text += f" | icmp type={typ} code={code} {rest} data={payload_str(inner[8:])}"
        else:
            text += f" | {payload_str(inner)}"
        return text

    # ---- the whole capture -----------------------------------------------------------------
    def lines(self, frames):
        """The frames each sender sent, in capture order, one section per sender (host, peer,
        anything else): the interleaving of the two directions is timing (whether the peer's
        reply to one datagram leaves before the host's next datagram), the order within one
        direction is the sender's behaviour. The peer's neighbour probes of the host and the
        host's answers to them go to a last section (probe_pairs)."""
        self.collect_fragments(frames)
        probes = self.probe_pairs(frames)
        sections = {"host": [], "peer": []}
        tcp_sections = {}
        reports = IgmpReports()
        for index, (frame, orig_len) in enumerate(frames):
            if index in probes:
                continue
            if reports.take(self, frame, orig_len):
                continue
            sender = mac_name(frame[6:12]) if len(frame) >= 12 else "runt"
            if sender not in ("host", "peer"):
                sender = "other"
            self.tcp.last_connection = None
            line = self.frame_line(frame, orig_len)
            connection = self.tcp.last_connection
            if connection is None:
                sections.setdefault(sender, []).append(line)
            elif not self.tcp_coarse:
                # Per connection: which of two connections' segments leaves first is the
                # case's threads and the peer's timing, not a stack's behaviour.
                tcp_sections.setdefault((connection, sender), []).append(line)
        out = []
        for sender, lines in sections.items():
            out.append(f"== sent by {sender}: {len(lines)} frames, in order")
            out.extend(lines)
        for (connection, sender), lines in sorted(tcp_sections.items(), key=lambda item: item[0][0]):
            out.append(f"== TCP connection {connection}, sent by {sender}: {len(lines)} segments, in order")
            out.extend(lines)
        out.extend(reports.lines())
        if self.tcp_coarse and self.tcp.connections:
            out.append("== TCP, coarse view (ctests/wire/tcp-modes.txt): per connection and direction the SYN/FIN/RST segments and the data bytes")
            out.extend(tcp_summary(self.tcp, self.endpoint_name))
        outcomes = sorted(set(probes.values()) - {"reply"})
        if outcomes:
            out.append("== the peer's unicast ARP probes of the host (how many, and when, is the peer's timers)")
            out.extend(outcomes)
        return out

    def endpoint_name(self, endpoint):
        addr, port = endpoint
        return f"{ip_str(addr)}:{self.port(port)}"

    @staticmethod
    def probe_pairs(frames):
        """{frame index: outcome} for the peer's unicast probes of the host and the host's reply
        to each. The peer holds a STALE entry for the host; sending through it starts the
        5-second NUD_DELAY timer (delay_first_probe_time), then unicast probes (NUD_PROBE,
        neigh_timer_handler, arp_solicit). Whether that happens inside a case depends on how
        long the case runs, not on the host; that the host answers does not, so each probe is
        paired with the host's next ARP reply to the peer and reported as answered or not."""
        def arp_fields(frame):
            if len(frame) < 42 or frame[12:14] != b"\x08\x06" or frame[14:20] != b"\x00\x01\x08\x00\x06\x04":
                return None
            return struct.unpack("!H", frame[20:22])[0], frame[28:32], frame[38:42]

        pairs = {}
        waiting = []
        for index, (frame, _) in enumerate(frames):
            fields = arp_fields(frame)
            if fields is None:
                continue
            op, spa, tpa = fields
            src, dst = mac_str(frame[6:12]), mac_str(frame[0:6])
            if op == 1 and src == PEER_MAC and dst == HOST_MAC and spa == PEER_ADDR and tpa == HOST_ADDR:
                pairs[index] = "probe unanswered"
                waiting.append(index)
            elif op == 2 and src == HOST_MAC and tpa == PEER_ADDR and waiting:
                probe = waiting.pop(0)
                pairs[probe] = "probe answered: " + Normaliser.arp_text(frame)
                pairs[index] = "reply"
        return pairs

    @staticmethod
    def arp_text(frame):
        return f"{mac_name(frame[6:12])} > {mac_name(frame[0:6])} len={len(frame)} arp {Normaliser.arp(frame[14:])}"


IGMP_TYPES = {0x11: "query", 0x12: "v1-report", 0x16: "v2-report", 0x17: "v2-leave", 0x22: "v3-report"}
IGMP_RECORDS = {1: "is_in", 2: "is_ex", 3: "to_in", 4: "to_ex", 5: "allow", 6: "block"}


def igmp_records(data):
    """The group records of a v3 report: [(type name, group, [sources])], or None if malformed."""
    if len(data) < 8:
        return None
    count = struct.unpack("!H", data[6:8])[0]
    at, records = 8, []
    for _ in range(count):
        if at + 8 > len(data):
            return None
        rtype, aux, nsrcs = data[at], data[at + 1], struct.unpack("!H", data[at + 2:at + 4])[0]
        group = ip_str(data[at + 4:at + 8])
        end = at + 8 + 4 * nsrcs + 4 * aux
        if end > len(data):
            return None
        sources = [ip_str(data[at + 8 + 4 * i:at + 12 + 4 * i]) for i in range(nsrcs)]
        records.append((IGMP_RECORDS.get(rtype, f"type{rtype}"), group, sources))
        at = end
    return records


def igmp_text(data):
    """One IGMP message: type, code, checksum, then the group (v1/v2, queries) or the records."""
    if len(data) < 8:
        return f"igmp truncated {payload_str(data)}"
    mtype, code = data[0], data[1]
    csum = "valid" if ones_sum(data) == 0xFFFF else "BAD"
    name = IGMP_TYPES.get(mtype, f"type{mtype}")
    text = f"igmp {name} code={code} csum={csum}"
    if mtype == 0x22:
        records = igmp_records(data)
        if records is None:
            return f"{text} malformed {payload_str(data)}"
        return text + " " + " ".join(f"[{t} {g} {{{' '.join(s)}}}]" for t, g, s in records)
    text += f" group={ip_str(data[4:8])}"
    if mtype == 0x11 and len(data) >= 12:
        nsrcs = struct.unpack("!H", data[10:12])[0]
        srcs = [ip_str(data[12 + 4 * i:16 + 4 * i]) for i in range(nsrcs) if 16 + 4 * i <= len(data)]
        text += f" s={data[8] >> 3 & 1} qrv={data[8] & 7} qqic={data[9]} srcs={{{' '.join(srcs)}}}"
    if len(data) > 8 and mtype != 0x11:
        text += f" extra={len(data) - 8}"
    return text


class IgmpReports:
    """The host's membership reports (v3 reports, v1/v2 reports and leaves). RFC 3376 5.1:
    a state change is reported robustness-variable times at random intervals (up to
    igmpv3_unsolicited_report_interval, 1 s), and changes falling in one interval share a
    report; the kernel keeps running these timers after a case's process exits, the shim
    sends the pending report as the process exits. So the count, timing and packing of the
    reports are timing; what is announced per group is behaviour. Printed: each distinct
    header form (lengths left out), then per group the records in order of first appearance,
    a record repeated right after itself folded into one."""

    def __init__(self):
        self.headers = []
        self.groups = {}

    def take(self, normaliser, frame, orig_len):
        ip = ipv4_datagram(frame)
        if ip is None or mac_name(frame[6:12]) != "host":
            return False
        ihl = (ip[0] & 0x0F) * 4
        if ip[0] >> 4 != 4 or ip[9] != 2 or len(ip) < ihl + 8 or ip[ihl] not in (0x12, 0x16, 0x17, 0x22):
            return False
        tlen = struct.unpack("!H", ip[2:4])[0]
        data = ip[ihl:tlen]
        line = normaliser.frame_line(frame, orig_len)
        head, _, _ = line.partition(" | ")
        words = head.split()
        # The frame and IP total lengths depend on how many records share the report.
        words = [w for i, w in enumerate(words) if not (w.startswith("tlen=") or (i == 3 and w.startswith("len=")))]
        mtype = data[0]
        form = " ".join(words) + f" | igmp {IGMP_TYPES[mtype]} csum={'valid' if ones_sum(data) == 0xFFFF else 'BAD'}"
        if form not in self.headers:
            self.headers.append(form)
        if mtype == 0x22:
            records = igmp_records(data)
            if records is None:
                records = [("malformed", "-", [payload_str(data)])]
        else:
            records = [(IGMP_TYPES[mtype], ip_str(data[4:8]), [])]
        for rtype, group, sources in records:
            entry = f"{rtype} {{{' '.join(sources)}}}"
            seen = self.groups.setdefault(group, [])
            if not seen or seen[-1] != entry:
                seen.append(entry)
        return True

    def lines(self):
        if not self.headers:
            return []
        out = ["== the host's IGMP reports (header forms; per group the records in order, repeats folded)"]
        out.extend(self.headers)
        for group, entries in self.groups.items():
            out.append(f"group {group}: " + ", ".join(entries))
        return out


def port_range_default():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = f.read().split()
            return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


TCP_MODES = ("exact", "fold-acks", "coarse")


def normalise_file(path, port_range, tcp_mode="exact"):
    """The normalised lines of a capture. tcp_mode (ctests/wire/tcp-modes.txt): exact, every
    segment; fold-acks, without the pure ACKs the sender's next segment repeats (they are
    left out before decoding, so labels number what is printed); coarse, a summary per
    connection instead of the segments."""
    frames = read_pcap(path)
    if tcp_mode == "fold-acks":
        dropped = superseded_acks(frames)
        frames = [f for i, f in enumerate(frames) if i not in dropped]
    return Normaliser(*port_range, tcp_coarse=tcp_mode == "coarse").lines(frames)


def main(argv):
    port_range = port_range_default()
    out_dir = None
    args = []
    compare = False
    tcp_mode = "exact"
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--port-range" and i + 2 < len(argv):
            port_range = (int(argv[i + 1]), int(argv[i + 2]))
            i += 3
            continue
        if a == "--out-dir" and i + 1 < len(argv):
            out_dir = argv[i + 1]
            i += 2
            continue
        if a == "--compare":
            compare = True
        elif a == "--tcp-mode" and i + 1 < len(argv) and argv[i + 1] in TCP_MODES:
            tcp_mode = argv[i + 1]
            i += 2
            continue
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            args.append(a)
        i += 1
    try:
        if not compare:
            if len(args) != 1:
                print(__doc__, file=sys.stderr)
                return 2
            for line in normalise_file(args[0], port_range, tcp_mode):
                print(line)
            return 0
        if len(args) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        kernel = normalise_file(args[0], port_range, tcp_mode)
        shim = normalise_file(args[1], port_range, tcp_mode)
    except (OSError, PcapError) as e:
        print(f"normalize.py: {e}", file=sys.stderr)
        return 2
    if out_dir:
        for path, lines in ((args[0], kernel), (args[1], shim)):
            base = os.path.basename(path)
            if base.endswith(".pcap"):
                base = base[: -len(".pcap")]
            with open(os.path.join(out_dir, base + ".wire"), "w") as f:
                f.write("".join(line + "\n" for line in lines))
    diff = list(
        difflib.unified_diff(
            [line + "\n" for line in kernel],
            [line + "\n" for line in shim],
            fromfile=f"{args[0]} (kernel world)",
            tofile=f"{args[1]} (shim world)",
        )
    )
    sys.stdout.write("".join(diff))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
