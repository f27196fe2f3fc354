//! TCP segmentation offload through the packet socket: a run of consecutive TCP/IPv4 frames of
//! one flow that the stack emitted in one batch is handed to the kernel as ONE frame with a
//! `struct virtio_net_hdr` in front (packet(7) PACKET_VNET_HDR), the way the kernel's own TCP
//! hands veth one 64 KiB GSO skb instead of 45 segments. Pure byte logic, no I/O: `device.rs`
//! does the sending.
//!
//! A run is coalesced only when the kernel's segmentation of the GSO frame gives back exactly
//! the frames of the run, byte for byte (checksums completed): inet_gso_segment copies the
//! Ethernet and IP headers to every segment and gives segment k the IP id `id + k` (no
//! SKB_GSO_TCP_FIXEDID from virtio_net_hdr_to_skb), then fixes tot_len and the header
//! checksum; tcp_gso_segment copies the TCP header (ack, window, options: the timestamps
//! too), advances seq by gso_size per segment, clears FIN and PSH on all but the last segment
//! and CWR on all but the first (`th->cwr &= ecn_cwr_mask`, no SKB_GSO_TCP_ACCECN here).
//! Hence the rules in `joins`. On veth the frame is not even cut: veth has TSO, the DODGY
//! frame from the packet socket is validated (tcp_gso_segment's NETIF_F_GSO_ROBUST branch
//! sets gso_segs) and the peer receives it whole, as it receives the kernel's own GSO skbs.

/// sizeof(struct virtio_net_hdr): the prefix of every frame on a PACKET_VNET_HDR socket.
pub const VNET_HDR_LEN: usize = 10;
/// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum from csum_start is left to the device
/// (CHECKSUM_PARTIAL), the field holding the pseudo-header sum.
const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
/// VIRTIO_NET_HDR_GSO_TCPV4 and the VIRTIO_NET_HDR_GSO_ECN bit (SKB_GSO_TCP_ECN: the frame's
/// first segment carries CWR, as tcp_ecn_send marks the kernel's own GSO skbs).
const VIRTIO_NET_HDR_GSO_TCPV4: u8 = 1;
const VIRTIO_NET_HDR_GSO_ECN: u8 = 0x80;

/// The largest IPv4 total length of a GSO frame: tot_len is 16 bits (no BIG TCP here) and
/// veth's gso_max_size is 64 KiB.
const MAX_GSO_IP_LEN: usize = 65_535;
/// Segments per GSO frame at most: bounds the iovecs of one message (one per segment's
/// payload, far below UIO_MAXIOV) however small the segments are.
pub const MAX_SEGMENTS: usize = 64;

const ETH_HEADER_LEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_TCP: u8 = 6;
const TCP_CHECK_OFFSET: usize = 16;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const URG: u8 = 0x20;
const CWR: u8 = 0x80;

/// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), without num_buffers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VnetHeader {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHeader {
    /// The header of a frame sent as it is: no checksum left to do, no segmentation.
    pub const PLAIN: VnetHeader = VnetHeader {
        flags: 0,
        gso_type: 0,
        hdr_len: 0,
        gso_size: 0,
        csum_start: 0,
        csum_offset: 0,
    };

    /// The wire form. packet_snd reads the fields with __virtio16_to_cpu(vio_le(), ..): the
    /// legacy virtio byte order, which is the host's.
    pub fn to_bytes(self) -> [u8; VNET_HDR_LEN] {
        let mut bytes = [0u8; VNET_HDR_LEN];
        bytes[0] = self.flags;
        bytes[1] = self.gso_type;
        bytes[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        bytes[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        bytes[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        bytes[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        bytes
    }
}

/// Where the parts of one TCP/IPv4 Ethernet frame are.
#[derive(Debug, Clone, Copy)]
struct TcpFrame {
    ip_header_len: usize,
    /// Ethernet + IP + TCP headers: where the payload starts.
    headers_len: usize,
    payload_len: usize,
    id: u16,
    seq: u32,
    flags: u8,
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// A frame that may take part in a GSO frame: Ethernet II (no VLAN tag), IPv4 without
/// fragmentation, TCP with data and none of SYN/RST/URG, no Ethernet padding (the kernel's
/// segments are not padded either).
fn parse(frame: &[u8]) -> Option<TcpFrame> {
    if frame.len() < ETH_HEADER_LEN + 20 + 20 || be16(frame, 12) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &frame[ETH_HEADER_LEN..];
    let ip_header_len = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip_header_len < 20 || ip[9] != IPPROTO_TCP {
        return None;
    }
    // MF or a fragment offset: not a whole segment.
    if be16(ip, 6) & 0x3fff != 0 {
        return None;
    }
    let total_len = usize::from(be16(ip, 2));
    if ETH_HEADER_LEN + total_len != frame.len() || total_len < ip_header_len + 20 {
        return None;
    }
    let tcp = &ip[ip_header_len..total_len];
    let tcp_header_len = usize::from(tcp[12] >> 4) * 4;
    if tcp_header_len < 20 || tcp_header_len >= tcp.len() {
        // A bad data offset, or no payload.
        return None;
    }
    let flags = tcp[13];
    if flags & (SYN | RST | URG) != 0 {
        return None;
    }
    Some(TcpFrame {
        ip_header_len,
        headers_len: ETH_HEADER_LEN + ip_header_len + tcp_header_len,
        payload_len: tcp.len() - tcp_header_len,
        id: be16(ip, 4),
        seq: be32(tcp, 4),
        flags,
    })
}

/// Whether `next` can be segment `index` (≥ 1) of the GSO frame headed by `first`, whose
/// segment `index - 1` is `previous`.
fn joins(
    first_bytes: &[u8],
    first: &TcpFrame,
    previous: &TcpFrame,
    next_bytes: &[u8],
    next: &TcpFrame,
    index: usize,
) -> bool {
    let ip = ETH_HEADER_LEN;
    let tcp = ip + first.ip_header_len;
    // Every segment is cut at gso_size = the first's payload: only the last may be shorter.
    previous.payload_len == first.payload_len
        && next.payload_len <= first.payload_len
        && next.headers_len == first.headers_len
        && next.ip_header_len == first.ip_header_len
        // inet_gso_segment: id + k.
        && next.id == first.id.wrapping_add(index as u16)
        // tcp_gso_segment: seq advances by gso_size.
        && next.seq == previous.seq.wrapping_add(previous.payload_len as u32)
        // FIN and PSH only on the last segment: the previous one is no longer last.
        && previous.flags & (FIN | PSH) == 0
        // CWR only on the first segment.
        && next.flags & CWR == 0
        && next.flags & !(FIN | PSH) == first.flags & !(FIN | PSH | CWR)
        // Copied bytes: Ethernet header; IP version/IHL, TOS, flags+fragment offset, TTL,
        // protocol, addresses, options; TCP ports, ack, data offset + the 4 reserved/AE bits,
        // window, urgent pointer, options.
        && next_bytes[..ip + 2] == first_bytes[..ip + 2]
        && next_bytes[ip + 6..ip + 10] == first_bytes[ip + 6..ip + 10]
        && next_bytes[ip + 12..tcp] == first_bytes[ip + 12..tcp]
        && next_bytes[tcp..tcp + 4] == first_bytes[tcp..tcp + 4]
        && next_bytes[tcp + 8..tcp + 13] == first_bytes[tcp + 8..tcp + 13]
        && next_bytes[tcp + 14..tcp + 16] == first_bytes[tcp + 14..tcp + 16]
        && next_bytes[tcp + 18..first.headers_len] == first_bytes[tcp + 18..first.headers_len]
}

/// How many frames from `frames[0]` on make one GSO frame (at most MAX_SEGMENTS, and at most
/// MAX_GSO_IP_LEN of IP). 1: the first frame goes alone.
pub fn run_length(frames: &[Vec<u8>]) -> usize {
    let Some(first_bytes) = frames.first() else {
        return 0;
    };
    let Some(first) = parse(first_bytes) else {
        return 1;
    };
    let ip_headers = first.headers_len - ETH_HEADER_LEN;
    let mut ip_len = ip_headers + first.payload_len;
    let mut previous = first;
    let mut count = 1;
    while count < frames.len().min(MAX_SEGMENTS) {
        let next_bytes = &frames[count];
        let Some(next) = parse(next_bytes) else { break };
        if ip_len + next.payload_len > MAX_GSO_IP_LEN
            || !joins(first_bytes, &first, &previous, next_bytes, &next, count)
        {
            break;
        }
        ip_len += next.payload_len;
        previous = next;
        count += 1;
    }
    count
}

/// RFC 1071 sum of 16-bit big-endian words, not folded.
fn ones_sum(bytes: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut chunks = bytes.chunks_exact(2);
    for word in &mut chunks {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One GSO frame: the vnet header and the frame's headers (those of the run's first frame,
/// fixed up); its payload is the payloads of the run's frames, `frame[payload_offset..]`
/// each, in order (the device gathers them without copying).
#[derive(Debug, Clone)]
pub struct GsoFrame {
    pub vnet: VnetHeader,
    pub headers: Vec<u8>,
    pub payload_offset: usize,
}

/// The GSO frame for `run` (a prefix of frames that `run_length` accepted, ≥ 2 frames).
/// None if `run` is not such a run.
pub fn build(run: &[Vec<u8>]) -> Option<GsoFrame> {
    if run.len() < 2 || run_length(run) != run.len() {
        return None;
    }
    let first = parse(&run[0])?;
    let last = parse(run.last()?)?;
    let payload_len: usize = run
        .iter()
        .map(|frame| frame.len() - first.headers_len)
        .sum();
    let ip_len = first.headers_len - ETH_HEADER_LEN + payload_len;
    let mut headers = run[0][..first.headers_len].to_vec();
    let ip = ETH_HEADER_LEN;
    let tcp = ip + first.ip_header_len;
    headers[ip + 2..ip + 4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    // The IP header checksum must be right: on veth the peer receives this header as it is.
    headers[ip + 10..ip + 12].fill(0);
    let ip_check = !fold(ones_sum(&headers[ip..tcp]));
    headers[ip + 10..ip + 12].copy_from_slice(&ip_check.to_be_bytes());
    // The first segment's CWR stays; the last one's FIN and PSH go on the frame (segmentation
    // clears them on all segments but the last).
    headers[tcp + 13] = first.flags | (last.flags & (FIN | PSH));
    // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum over the whole TCP
    // length, as __tcp_v4_send_check leaves it; tcp_gso_segment adjusts it per segment.
    let tcp_len = ip_len - first.ip_header_len;
    let mut pseudo = ones_sum(&headers[ip + 12..ip + 20]);
    pseudo += u32::from(IPPROTO_TCP) + tcp_len as u32;
    headers[tcp + TCP_CHECK_OFFSET..tcp + TCP_CHECK_OFFSET + 2]
        .copy_from_slice(&fold(pseudo).to_be_bytes());
    let mut gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    if first.flags & CWR != 0 {
        gso_type |= VIRTIO_NET_HDR_GSO_ECN;
    }
    Some(GsoFrame {
        vnet: VnetHeader {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            gso_type,
            hdr_len: first.headers_len as u16,
            gso_size: first.payload_len as u16,
            csum_start: tcp as u16,
            csum_offset: TCP_CHECK_OFFSET as u16,
        },
        headers,
        payload_offset: first.headers_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's segmentation of a GSO frame (inet_gso_segment + tcp_gso_segment +
    /// skb_segment), then the device finishing each CHECKSUM_PARTIAL checksum
    /// (skb_checksum_help): what a peer would receive if the frame were cut.
    fn kernel_segment(vnet: &VnetHeader, frame: &[u8]) -> Vec<Vec<u8>> {
        assert_eq!(vnet.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_eq!(
            vnet.gso_type & !VIRTIO_NET_HDR_GSO_ECN,
            VIRTIO_NET_HDR_GSO_TCPV4
        );
        let ip = ETH_HEADER_LEN;
        let tcp = usize::from(vnet.csum_start);
        assert_eq!(usize::from(vnet.csum_offset), TCP_CHECK_OFFSET);
        let headers_len = tcp + usize::from(frame[tcp + 12] >> 4) * 4;
        assert!(usize::from(vnet.hdr_len) >= headers_len);
        let mss = usize::from(vnet.gso_size);
        let payload = &frame[headers_len..];
        assert!(
            payload.len() > mss,
            "tcp_gso_segment: skb->len <= mss is not GSO"
        );
        // The IP header checksum of the frame itself must verify (ip_rcv_core on the peer).
        assert_eq!(fold(ones_sum(&frame[ip..tcp])), 0xffff);
        let old_tcp_len = frame.len() - tcp;
        let id = be16(frame, ip + 4);
        let seq = be32(frame, tcp + 4);
        let check = be16(frame, tcp + TCP_CHECK_OFFSET);
        let count = payload.len().div_ceil(mss);
        (0..count)
            .map(|k| {
                let chunk = &payload[k * mss..((k + 1) * mss).min(payload.len())];
                let mut segment = frame[..headers_len].to_vec();
                segment.extend_from_slice(chunk);
                let tot_len = segment.len() - ip;
                segment[ip + 2..ip + 4].copy_from_slice(&(tot_len as u16).to_be_bytes());
                segment[ip + 4..ip + 6].copy_from_slice(&id.wrapping_add(k as u16).to_be_bytes());
                segment[ip + 10..ip + 12].fill(0);
                let ip_check = !fold(ones_sum(&segment[ip..tcp]));
                segment[ip + 10..ip + 12].copy_from_slice(&ip_check.to_be_bytes());
                segment[tcp + 4..tcp + 8]
                    .copy_from_slice(&seq.wrapping_add((k * mss) as u32).to_be_bytes());
                if k + 1 < count {
                    segment[tcp + 13] &= !(FIN | PSH);
                }
                if k > 0 {
                    segment[tcp + 13] &= !CWR;
                }
                // newcheck = ~csum_fold(csum_add(csum_unfold(check), htonl(~oldlen + newlen))):
                // the pseudo-header sum moved from the frame's TCP length to the segment's.
                let new_tcp_len = segment.len() - tcp;
                let partial =
                    fold(u32::from(check) + u32::from(!(old_tcp_len as u16)) + new_tcp_len as u32);
                segment[tcp + 16..tcp + 18].copy_from_slice(&partial.to_be_bytes());
                // skb_checksum_help: sum from csum_start over the field's partial value.
                let full = !fold(ones_sum(&segment[tcp..]));
                segment[tcp + 16..tcp + 18].copy_from_slice(&full.to_be_bytes());
                segment
            })
            .collect()
    }

    struct Segment {
        id: u16,
        seq: u32,
        flags: u8,
        payload: Vec<u8>,
    }

    /// A TCP/IPv4 frame as the stack writes it: full checksums, DF, timestamps option.
    fn frame(segment: &Segment) -> Vec<u8> {
        let options: [u8; 12] = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0xab, 0xcd, 0xef, 0x01];
        let mut bytes = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let tot_len = 20 + 32 + segment.payload.len();
        bytes.extend_from_slice(&[0x45, 0x02]);
        bytes.extend_from_slice(&(tot_len as u16).to_be_bytes());
        bytes.extend_from_slice(&segment.id.to_be_bytes());
        bytes.extend_from_slice(&[0x40, 0, 64, IPPROTO_TCP, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
        let ip_check = !fold(ones_sum(&bytes[14..34]));
        bytes[24..26].copy_from_slice(&ip_check.to_be_bytes());
        bytes.extend_from_slice(&[0x9c, 0x40, 0x14, 0x51]);
        bytes.extend_from_slice(&segment.seq.to_be_bytes());
        bytes.extend_from_slice(&0x0102_0304u32.to_be_bytes());
        bytes.extend_from_slice(&[0x80, segment.flags, 0x01, 0xf6, 0, 0, 0, 0]);
        bytes.extend_from_slice(&options);
        bytes.extend_from_slice(&segment.payload);
        let tcp_len = bytes.len() - 34;
        let pseudo = ones_sum(&bytes[26..34]) + u32::from(IPPROTO_TCP) + tcp_len as u32;
        let check = !fold(pseudo + ones_sum(&bytes[34..]));
        bytes[50..52].copy_from_slice(&check.to_be_bytes());
        bytes
    }

    const ACK: u8 = 0x10;

    /// `count` segments of `mss` bytes, the last `last_len`, ids from `id`, seqs from `seq`.
    fn stream(count: usize, mss: usize, last_len: usize, id: u16, seq: u32) -> Vec<Vec<u8>> {
        (0..count)
            .map(|k| {
                let len = if k + 1 == count { last_len } else { mss };
                frame(&Segment {
                    id: id.wrapping_add(k as u16),
                    seq: seq.wrapping_add((k * mss) as u32),
                    flags: ACK,
                    payload: (0..len).map(|i| (i * 7 + k * 13) as u8).collect(),
                })
            })
            .collect()
    }

    fn set_flags(frame: &mut [u8], flags: u8) {
        frame[34 + 13] = flags;
        frame[50..52].fill(0);
        let tcp_len = frame.len() - 34;
        let pseudo = ones_sum(&frame[26..34]) + u32::from(IPPROTO_TCP) + tcp_len as u32;
        let check = !fold(pseudo + ones_sum(&frame[34..]));
        frame[50..52].copy_from_slice(&check.to_be_bytes());
    }

    /// The whole GSO frame, as packet_snd gathers it.
    fn gathered(gso: &GsoFrame, run: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = gso.headers.clone();
        for frame in run {
            bytes.extend_from_slice(&frame[gso.payload_offset..]);
        }
        bytes
    }

    fn assert_round_trip(frames: &[Vec<u8>]) {
        assert_eq!(run_length(frames), frames.len());
        let gso = build(frames).expect("a run");
        assert_eq!(kernel_segment(&gso.vnet, &gathered(&gso, frames)), frames);
    }

    #[test]
    fn a_full_run_segments_back_to_the_same_frames() {
        assert_round_trip(&stream(45, 1448, 1448, 7, 1000));
        assert_round_trip(&stream(3, 1448, 100, 7, 1000));
        assert_round_trip(&stream(2, 536, 1, 0xffff, u32::MAX - 600));
    }

    #[test]
    fn psh_and_fin_ride_on_the_last_segment_only() {
        let mut frames = stream(4, 1000, 500, 1, 1);
        set_flags(&mut frames[3], ACK | PSH | FIN);
        assert_round_trip(&frames);
        let mut early_psh = stream(4, 1000, 1000, 1, 1);
        set_flags(&mut early_psh[1], ACK | PSH);
        assert_eq!(run_length(&early_psh), 2);
        assert_round_trip(&early_psh[..2]);
    }

    #[test]
    fn cwr_rides_on_the_first_segment_only() {
        let mut frames = stream(3, 1000, 1000, 1, 1);
        set_flags(&mut frames[0], ACK | CWR);
        assert_round_trip(&frames);
        let gso = build(&frames).unwrap();
        assert_eq!(
            gso.vnet.gso_type,
            VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN
        );
        let mut late_cwr = stream(3, 1000, 1000, 1, 1);
        set_flags(&mut late_cwr[1], ACK | CWR);
        assert_eq!(run_length(&late_cwr), 1);
    }

    #[test]
    fn runs_stop_where_segmentation_would_differ() {
        let base = stream(4, 1000, 1000, 1, 1);
        // A short segment in the middle.
        let mut short = base.clone();
        short[1] = stream(1, 1000, 999, 2, 1001)[0].clone();
        assert_eq!(run_length(&short), 2);
        // A gap in the sequence space.
        let mut gap = base.clone();
        gap[2] = stream(1, 1000, 1000, 3, 5000)[0].clone();
        assert_eq!(run_length(&gap), 2);
        // Ids that do not increment (another flow's or a fixed id).
        let mut same_id = base.clone();
        same_id[1] = stream(1, 1000, 1000, 1, 1001)[0].clone();
        assert_eq!(run_length(&same_id), 1);
        // A different timestamp option, ack, window or TTL.
        for at in [34 + 8, 34 + 14, 34 + 28, 14 + 8] {
            let mut changed = base.clone();
            changed[3][at] ^= 1;
            assert_eq!(run_length(&changed), 3, "byte {at}");
        }
        // Pure ACKs, SYN, URG and padded frames never join.
        let mut pure_ack = stream(2, 1000, 0, 1, 1);
        assert_eq!(run_length(&pure_ack), 1);
        pure_ack[0] = base[0].clone();
        assert_eq!(run_length(&pure_ack), 1);
        let mut urgent = base.clone();
        set_flags(&mut urgent[0], ACK | URG);
        assert_eq!(run_length(&urgent), 1);
        let mut padded = base.clone();
        padded[1].push(0);
        assert_eq!(run_length(&padded), 1);
        assert!(build(&padded[..2]).is_none());
    }

    #[test]
    fn runs_are_bounded_by_the_ip_length_and_segment_count() {
        let big = stream(60, 1448, 1448, 1, 1);
        let count = run_length(&big);
        assert_eq!(count, (MAX_GSO_IP_LEN - 52) / 1448);
        assert_round_trip(&big[..count]);
        let small = stream(100, 10, 10, 1, 1);
        assert_eq!(run_length(&small), MAX_SEGMENTS);
        assert_round_trip(&small[..MAX_SEGMENTS]);
    }

    #[test]
    fn malformed_frames_are_sent_alone() {
        let base = stream(2, 1000, 1000, 1, 1);
        for cut in [0, 13, 20, 33, 40, 53, 60] {
            let mut frames = base.clone();
            frames[0].truncate(cut);
            assert_eq!(run_length(&frames), 1, "cut at {cut}");
        }
        let mut bad_offset = base.clone();
        bad_offset[0][34 + 12] = 0xf0;
        assert_eq!(run_length(&bad_offset), 1);
        assert_eq!(run_length(&[]), 0);
    }

    #[test]
    fn vnet_header_is_in_host_order() {
        let bytes = VnetHeader {
            flags: 1,
            gso_type: 1,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        }
        .to_bytes();
        assert_eq!(bytes[..2], [1, 1]);
        assert_eq!(bytes[4..6], 1448u16.to_ne_bytes());
        assert_eq!(VnetHeader::PLAIN.to_bytes(), [0; VNET_HDR_LEN]);
    }
}
