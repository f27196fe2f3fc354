//! ARP scripts: answering, resolving with retries at the kernel's times, failing, flushing.

use super::harness::*;
use crate::errno::Errno;
use crate::ipv4::arp_cache::NeighbourState;
use crate::ipv4::PmtuMode;
use crate::wire::arp::operation;
use crate::wire::ethernet::{self, ethertype};

#[test]
fn request_for_our_address_is_answered_and_teaches_us_the_sender() {
    let mut h = Harness::new();
    // At 0 the peer broadcasts "who has 198.18.0.2? tell 198.18.0.1".
    h.peer_asks_who_has(OUR_IP);
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1);
    // We answer to the requester's MAC: "198.18.0.2 is at 02:00:00:00:00:02".
    let sent = parse_sent(&frames[0]);
    assert_eq!(
        sent.ethernet,
        ethernet::Repr {
            source: OUR_MAC,
            destination: PEER_MAC,
            ethertype: ethertype::ARP
        }
    );
    let reply = parse_arp(&frames[0]);
    assert_eq!(reply.operation, operation::REPLY);
    assert_eq!(
        (reply.source_hardware_addr, reply.source_protocol_addr),
        (OUR_MAC, OUR_IP)
    );
    assert_eq!(
        (reply.target_hardware_addr, reply.target_protocol_addr),
        (PEER_MAC, PEER_IP)
    );
    // neigh_event_ns: the sender is now known (STALE), so sending to it needs no request.
    assert_eq!(
        h.ip.neighbours.lookup(PEER_IP),
        Some((NeighbourState::Stale, PEER_MAC))
    );
    h.send(&udp_out(PEER_IP, &udp_segment(1, 2, b"x"), PmtuMode::Want))
        .unwrap();
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1);
    let (eth, ip, _) = parse_ip(&frames[0]);
    assert_eq!((eth.destination, ip.dst), (PEER_MAC, PEER_IP));
    // Using a stale entry starts the 5 s delay before a unicast re-probe.
    assert_eq!(
        h.ip.neighbours.lookup(PEER_IP).unwrap().0,
        NeighbourState::Delay
    );
    assert_eq!(h.counters().arp_requests_answered, 1);
}

#[test]
fn requests_for_other_addresses_are_ignored() {
    let mut h = Harness::new();
    h.peer_asks_who_has(NEIGHBOUR_IP);
    assert!(h.transmitted().is_empty());
    // arp_accept=0: nothing learned from a request that is not for us.
    assert_eq!(h.ip.neighbours.lookup(PEER_IP), None);
}

#[test]
fn duplicate_address_probe_is_answered_without_learning() {
    let mut h = Harness::new();
    let probe = arp_frame(
        NEIGHBOUR_MAC,
        ethernet::BROADCAST,
        operation::REQUEST,
        [0, 0, 0, 0].into(),
        [0; 6],
        OUR_IP,
    );
    h.receive(&probe);
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1);
    let reply = parse_arp(&frames[0]);
    assert_eq!(
        (reply.target_hardware_addr, reply.target_protocol_addr),
        (NEIGHBOUR_MAC, [0, 0, 0, 0].into())
    );
    assert_eq!(h.ip.neighbours.lookup([0, 0, 0, 0].into()), None);
}

#[test]
fn unresolved_neighbour_is_probed_three_times_then_fails_with_host_unreachable() {
    let mut h = Harness::new();
    let segment = udp_segment(40000, 9, b"hello");
    // At 0 a datagram for 198.18.0.7 (on-link, unknown) is sent: it waits, a request goes out.
    h.send(&udp_out(NEIGHBOUR_IP, &segment, PmtuMode::Want))
        .unwrap();
    let mut requests: Vec<(u64, Vec<u8>)> = h.transmitted().into_iter().map(|f| (0, f)).collect();
    // The kernel retries every retrans_time (1 s) until mcast_solicit (3) requests went out,
    // and gives up one retrans_time after the last.
    requests.extend(h.run_until(2_999));
    assert!(h.upper.errors.is_empty(), "not failed before 3 s");
    let times: Vec<u64> = requests.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![0, 1000, 2000]);
    for (_, frame) in &requests {
        let sent = parse_sent(frame);
        assert_eq!(sent.ethernet.destination, ethernet::BROADCAST);
        let request = parse_arp(frame);
        assert_eq!(request.operation, operation::REQUEST);
        assert_eq!(
            (request.source_hardware_addr, request.source_protocol_addr),
            (OUR_MAC, OUR_IP)
        );
        assert_eq!(
            (request.target_hardware_addr, request.target_protocol_addr),
            ([0; 6], NEIGHBOUR_IP)
        );
    }
    let after = h.run_until(3_000);
    assert!(
        after.is_empty(),
        "no fourth request, and the datagram is never sent: {after:?}"
    );
    // ipv4_link_failure: host unreachable about our datagram, from our own address.
    assert_eq!(h.upper.errors.len(), 1);
    let error = &h.upper.errors[0];
    assert_eq!(
        (error.icmp_type, error.icmp_code, error.errno, error.fatal),
        (3, 1, Errno::EHOSTUNREACH, false)
    );
    assert!(error.local);
    assert_eq!(
        (
            error.offender,
            error.quoted_src,
            error.quoted_dst,
            error.quoted_protocol
        ),
        (OUR_IP, OUR_IP, NEIGHBOUR_IP, 17)
    );
    assert_eq!(error.quoted_payload, segment);
    assert_eq!(h.counters().arp_resolution_failed, 1);
    assert_eq!(
        h.ip.neighbours.lookup(NEIGHBOUR_IP).unwrap().0,
        NeighbourState::Failed
    );
    assert_eq!(h.ip.poll_at(), None);
    // The next datagram starts a new resolution.
    h.send(&udp_out(NEIGHBOUR_IP, &segment, PmtuMode::Want))
        .unwrap();
    assert_eq!(
        parse_arp(&h.transmitted()[0]).target_protocol_addr,
        NEIGHBOUR_IP
    );
}

#[test]
fn queued_datagrams_are_flushed_in_order_when_the_reply_comes() {
    let mut h = Harness::new();
    for i in 0..3u8 {
        h.send(&udp_out(
            NEIGHBOUR_IP,
            &udp_segment(40000, 9, &[i]),
            PmtuMode::Want,
        ))
        .unwrap();
    }
    assert_eq!(h.transmitted().len(), 1, "one request for three datagrams");
    // At 300 ms the neighbour replies to us (unicast): the queue drains to its MAC.
    h.at(300);
    h.neighbour_replies();
    let frames = h.transmitted();
    assert_eq!(frames.len(), 3);
    for (i, frame) in frames.iter().enumerate() {
        let (eth, ip, payload) = parse_ip(frame);
        assert_eq!((eth.destination, ip.dst), (NEIGHBOUR_MAC, NEIGHBOUR_IP));
        assert_eq!(payload[8], i as u8);
    }
    assert_eq!(
        h.ip.neighbours.lookup(NEIGHBOUR_IP),
        Some((NeighbourState::Reachable, NEIGHBOUR_MAC))
    );
    // The retry timer was cancelled: no more requests, no failure.
    assert!(h.run_until(10_000).is_empty());
    assert!(h.upper.errors.is_empty());
    h.send(&udp_out(
        NEIGHBOUR_IP,
        &udp_segment(40000, 9, b"now"),
        PmtuMode::Want,
    ))
    .unwrap();
    assert_eq!(h.transmitted().len(), 1);
}

#[test]
fn queue_is_bounded_by_unres_qlen_bytes_dropping_the_oldest() {
    // Room for two 1000-byte datagrams (each costs its length plus the skb overhead).
    let mut h = Harness::with(|c| c.sysctls.arp_unres_qlen_bytes = 2 * (1028 + 576));
    for i in 0..5u8 {
        h.send(&udp_out(
            NEIGHBOUR_IP,
            &udp_segment(40000, 9, &[i; 1000]),
            PmtuMode::Want,
        ))
        .unwrap();
    }
    assert_eq!(h.counters().arp_queue_overflow, 3);
    h.transmitted();
    h.neighbour_replies();
    let markers: Vec<u8> = h.transmitted().iter().map(|f| parse_ip(f).2[8]).collect();
    assert_eq!(markers, vec![3, 4]);
}

#[test]
fn reachable_entry_goes_stale_then_is_reprobed_by_unicast() {
    let mut h = Harness::new();
    h.send(&udp_out(
        NEIGHBOUR_IP,
        &udp_segment(1, 2, b"a"),
        PmtuMode::Want,
    ))
    .unwrap();
    h.transmitted();
    h.neighbour_replies();
    h.transmitted();
    // Reachable time is random in [15 s, 45 s); by 46 s the unused entry is stale, silently.
    assert!(h.run_until(46_000).is_empty());
    assert_eq!(
        h.ip.neighbours.lookup(NEIGHBOUR_IP).unwrap().0,
        NeighbourState::Stale
    );
    // Used while stale: sent at once, then after delay_first_probe_time (5 s) three unicast
    // probes one second apart, then failure.
    h.send(&udp_out(
        NEIGHBOUR_IP,
        &udp_segment(1, 2, b"b"),
        PmtuMode::Want,
    ))
    .unwrap();
    assert_eq!(h.transmitted().len(), 1);
    let probes = h.run_until(60_000);
    let times: Vec<u64> = probes.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![51_000, 52_000, 53_000]);
    for (_, frame) in &probes {
        assert_eq!(parse_sent(frame).ethernet.destination, NEIGHBOUR_MAC);
        assert_eq!(parse_arp(frame).target_protocol_addr, NEIGHBOUR_IP);
    }
    assert_eq!(
        h.ip.neighbours.lookup(NEIGHBOUR_IP).unwrap().0,
        NeighbourState::Failed
    );
}

#[test]
fn a_host_claiming_our_address_is_not_answered() {
    let mut h = Harness::new();
    h.receive(&arp_frame(
        PEER_MAC,
        ethernet::BROADCAST,
        operation::REQUEST,
        OUR_IP,
        [0; 6],
        OUR_IP,
    ));
    assert!(h.transmitted().is_empty());
    assert_eq!(h.counters().arp_bogus_address, 1);
}
