//! ICMP port/protocol unreachable scripts: what is quoted, when nothing is sent, rate limits.

use super::harness::*;
use crate::errno::Errno;
use crate::ipv4::PmtuMode;
use crate::transport::Delivery;
use crate::wire::ethernet;
use crate::wire::icmp::{message, unreachable};

fn closed_port_harness() -> Harness {
    let mut h = Harness::new();
    h.upper.answer = Delivery::PortUnreachable;
    h.peer_resolves_us();
    h
}

#[test]
fn closed_port_answers_port_unreachable_quoting_the_datagram() {
    let mut h = closed_port_harness();
    let mut header = ip_header(PEER_IP, OUR_IP, 17);
    header.tos = 0x2e; // ECN bits set: errors keep only the TOS bits (0x1e) plus precedence 6.
    let segment = udp_segment(5555, 1, b"knock");
    let frame = ip_frame(&header, &segment);
    h.receive(&frame);
    let (ip, payload) = h.one_datagram_to_peer();
    assert_eq!(
        (ip.src, ip.dst, ip.protocol, ip.ttl, ip.tos),
        (OUR_IP, PEER_IP, 1, 64, 0xce)
    );
    assert!(!ip.dont_fragment);
    let (msg_type, code, rest, data) = parse_icmp(&payload);
    assert_eq!(
        (msg_type, code, rest),
        (message::DEST_UNREACHABLE, unreachable::PORT, [0; 4])
    );
    // The whole offending datagram, header first (it is far below 548 bytes).
    assert_eq!(data, frame[14..].to_vec());
    assert_eq!(h.counters().ip_port_unreachable, 1);
}

#[test]
fn quote_is_cut_to_fit_576_bytes() {
    let mut h = closed_port_harness();
    let frame = ip_frame(
        &ip_header(PEER_IP, OUR_IP, 17),
        &udp_segment(5555, 1, &[7; 1000]),
    );
    h.receive(&frame);
    let (_, ip, payload) = parse_ip(&h.transmitted()[0]);
    assert_eq!(ip.buffer_len(), 576);
    assert_eq!(parse_icmp(&payload).3, frame[14..14 + 548].to_vec());
}

#[test]
fn protocol_unreachable() {
    let mut h = closed_port_harness();
    h.upper.answer = Delivery::ProtocolUnreachable;
    h.receive(&ip_frame(&ip_header(PEER_IP, OUR_IP, 99), &[0; 8]));
    let (_, _, payload) = parse_ip(&h.transmitted()[0]);
    let (msg_type, code, _, _) = parse_icmp(&payload);
    assert_eq!((msg_type, code), (3, unreachable::PROTOCOL));
}

#[test]
fn no_error_for_broadcasts() {
    let mut h = closed_port_harness();
    // To the subnet broadcast, and to our address inside a link-layer broadcast frame.
    h.receive(&ip_frame(
        &ip_header(PEER_IP, [198, 18, 0, 255].into(), 17),
        &udp_segment(1, 1, b""),
    ));
    let mut frame = ip_frame(&ip_header(PEER_IP, OUR_IP, 17), &udp_segment(1, 1, b""));
    frame[..6].copy_from_slice(&ethernet::BROADCAST);
    h.receive(&frame);
    assert!(h.transmitted().is_empty());
    assert_eq!(h.upper.delivered.len(), 2);
    assert!(h.upper.delivered[0].ip_broadcast && !h.upper.delivered[0].link_broadcast);
    assert!(!h.upper.delivered[1].ip_broadcast && h.upper.delivered[1].link_broadcast);
}

#[test]
fn port_unreachable_is_rate_limited_per_peer_and_refills() {
    let mut h = closed_port_harness();
    let frame = ip_frame(&ip_header(PEER_IP, OUR_IP, 17), &udp_segment(5555, 1, b"x"));
    // At 0, ten datagrams to a closed port: the peer's bucket holds six (XRLIM_BURST_FACTOR
    // × icmp_ratelimit), so six errors go out.
    for _ in 0..10 {
        h.receive(&frame);
    }
    assert_eq!(h.transmitted().len(), 6);
    assert_eq!(h.counters().icmp_rate_limited_host, 4);
    // At 500 ms: still empty (one token per icmp_ratelimit = 1 s).
    h.at(500);
    h.receive(&frame);
    assert!(h.transmitted().is_empty());
    // At 1000 ms: one token.
    h.at(1000);
    h.receive(&frame);
    h.receive(&frame);
    assert_eq!(h.transmitted().len(), 1);
}

#[test]
fn closed_loopback_port_reports_connection_refused_without_limits() {
    let mut h = Harness::new();
    h.upper.answer = Delivery::PortUnreachable;
    let segment = udp_segment(40000, 1, b"x");
    for _ in 0..50 {
        h.send(&udp_out([127, 0, 0, 1].into(), &segment, PmtuMode::Want))
            .unwrap();
    }
    assert!(h.transmitted().is_empty());
    // Each datagram came back as an ICMP port unreachable through loopback.
    assert_eq!(h.upper.errors.len(), 50);
    let error = &h.upper.errors[0];
    assert_eq!(
        (error.errno, error.fatal, error.offender),
        (Errno::ECONNREFUSED, true, [127, 0, 0, 1].into())
    );
    assert_eq!(
        (error.quoted_src, error.quoted_dst),
        ([127, 0, 0, 1].into(), [127, 0, 0, 1].into())
    );
    assert_eq!(error.quoted_payload, segment);
    assert_eq!(
        h.counters().icmp_rate_limited_host + h.counters().icmp_rate_limited_global,
        0
    );
}
