//! Reassembly scripts: in order, out of order, duplicates, overlaps, timeouts.

use super::harness::*;
use crate::wire::icmp::{message, time_exceeded};
use crate::wire::ipv4;

/// The fragments a 3000-byte payload makes at 1500 bytes (1480 per fragment), as frames.
fn fragments(ident: u16, payload: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut offset = 0;
    while offset < payload.len() {
        let end = (offset + 1480).min(payload.len());
        let mut header = ip_header(PEER_IP, OUR_IP, 17);
        header.ident = ident;
        header.fragment_offset = offset;
        header.more_fragments = end < payload.len();
        frames.push(ip_frame(&header, &payload[offset..end]));
        offset = end;
    }
    frames
}

fn payload() -> Vec<u8> {
    let data: Vec<u8> = (0..2992u32).map(|i| i as u8).collect();
    udp_segment(5555, 7, &data)
}

#[test]
fn in_order_fragments_are_delivered_once_whole() {
    let mut h = Harness::new();
    let frames = fragments(1, &payload());
    assert_eq!(frames.len(), 3);
    assert!(!h.receive(&frames[0]));
    assert!(!h.receive(&frames[1]));
    assert!(h.receive(&frames[2]));
    assert_eq!(h.upper.delivered.len(), 1);
    let d = &h.upper.delivered[0];
    assert_eq!((d.payload.clone(), d.ident), (payload(), 1));
    // The header handed up is the first fragment's, made whole.
    let packet = ipv4::Packet::new_unchecked(&d.header[..]);
    assert_eq!(
        (
            packet.total_len() as usize,
            packet.more_fragments(),
            packet.fragment_offset()
        ),
        (20 + 3000, false, 0)
    );
    assert!(packet.verify_checksum());
    assert_eq!(h.counters().reasm_ok, 1);
    assert_eq!(h.ip.poll_at(), None, "no queue left");
}

#[test]
fn out_of_order_fragments_and_exact_duplicates() {
    let mut h = Harness::new();
    let frames = fragments(2, &payload());
    h.receive(&frames[2]);
    h.receive(&frames[0]);
    h.receive(&frames[0]); // a duplicate is dropped alone
    assert_eq!(h.counters().reasm_duplicate, 1);
    h.receive(&frames[1]);
    assert_eq!(h.upper.delivered.len(), 1);
    assert_eq!(h.upper.delivered[0].payload, payload());
}

#[test]
fn overlapping_fragment_drops_the_whole_queue() {
    let mut h = Harness::new();
    let data = payload();
    let frames = fragments(3, &data);
    h.receive(&frames[0]);
    // A fragment at offset 1472 overlapping the first one's last 8 bytes (RFC 5722).
    let mut header = ip_header(PEER_IP, OUR_IP, 17);
    header.ident = 3;
    header.fragment_offset = 1472;
    header.more_fragments = true;
    h.receive(&ip_frame(&header, &data[1472..1472 + 16]));
    assert_eq!(h.counters().reasm_overlap, 1);
    // The rest no longer completes anything: the queue started over with them.
    h.receive(&frames[1]);
    h.receive(&frames[2]);
    assert!(h.upper.delivered.is_empty());
}

#[test]
fn timeout_after_30_s_sends_time_exceeded_when_the_first_fragment_came() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let frames = fragments(4, &payload());
    h.receive(&frames[0]);
    h.at(10_000);
    h.receive(&frames[2]);
    // The lifetime counts from the first fragment: still waiting at 29.999 s...
    assert!(h.run_until(29_999).is_empty());
    // ...gone at 30 s, with ICMP time exceeded (reassembly) quoting the first fragment.
    let sent = h.run_until(30_000);
    assert_eq!(sent.len(), 1);
    let (_, ip, icmp_payload) = parse_ip(&sent[0].1);
    assert_eq!((ip.src, ip.dst), (OUR_IP, PEER_IP));
    let (msg_type, code, _, quoted) = parse_icmp(&icmp_payload);
    assert_eq!(
        (msg_type, code),
        (message::TIME_EXCEEDED, time_exceeded::FRAGMENT_REASSEMBLY)
    );
    assert_eq!(quoted, frames[0][14..14 + 548].to_vec());
    assert_eq!(h.counters().reasm_timeout, 1);
    // Late fragments start a new queue that never completes.
    h.receive(&frames[1]);
    assert!(h.upper.delivered.is_empty());
}

#[test]
fn timeout_without_the_first_fragment_is_silent() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let frames = fragments(5, &payload());
    h.receive(&frames[1]);
    h.receive(&frames[2]);
    assert!(h.run_until(31_000).is_empty());
    assert_eq!(h.counters().reasm_timeout, 1);
}

#[test]
fn conflicting_last_fragments_kill_the_queue() {
    let mut h = Harness::new();
    let data = payload();
    let frames = fragments(6, &data);
    h.receive(&frames[2]);
    // Another "last" fragment ending elsewhere.
    let mut header = ip_header(PEER_IP, OUR_IP, 17);
    header.ident = 6;
    header.fragment_offset = 1480;
    h.receive(&ip_frame(&header, &data[1480..1480 + 8]));
    assert_eq!(h.counters().reasm_invalid, 1);
}

#[test]
fn reassembled_datagram_to_a_closed_port_quotes_the_whole_header() {
    let mut h = Harness::new();
    h.upper.answer = crate::transport::Delivery::PortUnreachable;
    h.peer_resolves_us();
    for frame in fragments(7, &payload()) {
        h.receive(&frame);
    }
    let sent = h.transmitted();
    assert_eq!(sent.len(), 1);
    let (_, _, icmp_payload) = parse_ip(&sent[0]);
    let quoted = parse_icmp(&icmp_payload).3;
    let packet = ipv4::Packet::new_unchecked(&quoted[..]);
    assert_eq!(
        (
            packet.total_len(),
            packet.fragment_offset(),
            packet.more_fragments()
        ),
        (3020, 0, false)
    );
}

/// A 2952-byte UDP payload in two full fragments (1500 bytes each on the wire), with the
/// TOS of each.
fn two_fragments(ident: u16, tos: [u8; 2]) -> Vec<Vec<u8>> {
    let data: Vec<u8> = (0..2952u32).map(|i| (i * 7) as u8).collect();
    let segment = udp_segment(5555, 7, &data);
    (0..2)
        .map(|i| {
            let mut header = ip_header(PEER_IP, OUR_IP, 17);
            header.ident = ident;
            header.tos = tos[i];
            header.fragment_offset = i * 1480;
            header.more_fragments = i == 0;
            ip_frame(&header, &segment[i * 1480..(i + 1) * 1480])
        })
        .collect()
}

fn delivered_idents(h: &Harness) -> Vec<u16> {
    h.upper.delivered.iter().map(|d| d.ident).collect()
}

#[test]
fn ipfrag_time_comes_from_the_sysctl() {
    let mut h = Harness::with(|c| c.sysctls.ipfrag_time_secs = 2);
    h.peer_resolves_us();
    h.receive(&two_fragments(40, [0, 0])[0]);
    assert!(h.run_until(1_999).is_empty());
    assert_eq!(h.run_until(2_000).len(), 1, "time exceeded after 2 s");
}

#[test]
fn fragments_too_far_apart_restart_their_queue() {
    // ip_frag_too_far with ipfrag_max_dist 3: P's two fragments have four of the same source
    // between them, X's and Y's only one.
    let mut h = Harness::with(|c| c.sysctls.ipfrag_max_dist = 3);
    let (p, x, y) = (
        two_fragments(50, [0, 0]),
        two_fragments(51, [0, 0]),
        two_fragments(52, [0, 0]),
    );
    for frame in [&p[0], &x[0], &y[0], &x[1], &y[1], &p[1]] {
        h.receive(frame);
    }
    assert_eq!(delivered_idents(&h), vec![51, 52]);
    assert_eq!(h.counters().reasm_too_far, 1);
    // The restarted queue holds only P's second fragment.
    h.receive(&p[0]);
    assert_eq!(delivered_idents(&h), vec![51, 52, 50]);
    // 0 turns the check off.
    let mut h = Harness::with(|c| c.sysctls.ipfrag_max_dist = 0);
    for frame in [&p[0], &x[0], &y[0], &x[1], &y[1], &p[1]] {
        h.receive(frame);
    }
    assert_eq!(delivered_idents(&h), vec![51, 52, 50]);
}

#[test]
fn memory_limit_counts_fragments_and_queues() {
    // Each fragment costs 2304 bytes, each queue 200: at 8000 a fragment is refused once the
    // total is above the limit (the same sequence as ctests frag_reassembly_limits).
    let mut h = Harness::with(|c| c.sysctls.ipfrag_high_thresh = 8000);
    let d: Vec<_> = (0..6).map(|i| two_fragments(60 + i, [0, 0])).collect();
    h.receive(&d[1][0]);
    assert_eq!(h.ip.reassembly.memory(), 2504);
    for frame in [&d[2][1], &d[3][1], &d[1][1], &d[4][1], &d[5][1], &d[5][0]] {
        h.receive(frame);
    }
    assert_eq!(delivered_idents(&h), vec![61]);
    assert_eq!(h.counters().reasm_memory_exceeded, 1);
    assert_eq!(h.ip.reassembly.memory(), 4 * 2504);
    // 0 refuses everything.
    let mut h = Harness::with(|c| c.sysctls.ipfrag_high_thresh = 0);
    h.receive(&d[0][0]);
    assert_eq!(h.counters().reasm_memory_exceeded, 1);
}

#[test]
fn ecn_codepoints_combine_as_rfc_3168_asks() {
    let mut h = Harness::new();
    // ECT(0) then CE: CE; ECT(1) then ECT(0): the first fragment's; Not-ECT with CE: dropped.
    for frame in two_fragments(70, [0x02, 0x03]) {
        h.receive(&frame);
    }
    for frame in two_fragments(71, [0x01, 0x02]) {
        h.receive(&frame);
    }
    for frame in two_fragments(72, [0x00, 0x03]) {
        h.receive(&frame);
    }
    let tos: Vec<(u16, u8)> = h.upper.delivered.iter().map(|d| (d.ident, d.tos)).collect();
    assert_eq!(tos, vec![(70, 0x03), (71, 0x01)]);
    assert_eq!(h.counters().reasm_invalid, 1);
}

#[test]
fn reassembled_datagram_carries_its_latest_fragments_time() {
    let mut h = Harness::new();
    let frames = two_fragments(80, [0, 0]);
    for (i, frame) in frames.iter().enumerate() {
        let meta = crate::socket::RxMeta {
            timestamp: crate::time::WallTime {
                sec: 100 + i as i64,
                nsec: 0,
            },
            ..Default::default()
        };
        h.ip.handle_frame(h.now, frame, meta, &mut h.upper);
    }
    assert_eq!(h.upper.delivered[0].timestamp.sec, 101);
}
