//! Routing as seen through `send`: loopback, 0.0.0.0, broadcast, unreachable networks.

use super::harness::*;
use crate::errno::Errno;
use crate::ipv4::PmtuMode;
use crate::wire::ethernet;

#[test]
fn datagrams_to_our_addresses_loop_back() {
    let mut h = Harness::new();
    let segment = udp_segment(1, 2, b"self");
    h.send(&udp_out(OUR_IP, &segment, PmtuMode::Want)).unwrap();
    h.send(&udp_out([127, 0, 0, 9].into(), &segment, PmtuMode::Want))
        .unwrap();
    assert!(h.transmitted().is_empty());
    let first = &h.upper.delivered[0];
    assert_eq!((first.protocol, first.ttl, first.tos), (17, 64, 0));
    let got: Vec<_> = h
        .upper
        .delivered
        .iter()
        .map(|d| (d.src, d.dst, d.ifindex, d.payload.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            // inet_iif: the output route's rt_iif, the interface of "local 198.18.0.2 dev
            // eth0" (what IP_PKTINFO reports).
            (OUR_IP, OUR_IP, 2, segment.clone()),
            (
                [127, 0, 0, 1].into(),
                [127, 0, 0, 9].into(),
                1,
                segment.clone()
            ),
        ]
    );
}

#[test]
fn zero_destination_means_this_host() {
    let mut h = Harness::new();
    let segment = udp_segment(1, 2, b"zero");
    h.send(&udp_out([0, 0, 0, 0].into(), &segment, PmtuMode::Want))
        .unwrap();
    let bound = crate::ipv4::OutboundDatagram {
        src: OUR_IP,
        ..udp_out([0, 0, 0, 0].into(), &segment, PmtuMode::Want)
    };
    h.send(&bound).unwrap();
    let got: Vec<_> = h.upper.delivered.iter().map(|d| (d.src, d.dst)).collect();
    assert_eq!(
        got,
        vec![
            ([127, 0, 0, 1].into(), [127, 0, 0, 1].into()),
            (OUR_IP, OUR_IP)
        ]
    );
}

#[test]
fn broadcast_goes_to_the_wire_and_loops_back() {
    let mut h = Harness::new();
    let segment = udp_segment(1, 2, b"all");
    h.send(&udp_out(
        [255, 255, 255, 255].into(),
        &segment,
        PmtuMode::Want,
    ))
    .unwrap();
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1, "no ARP for a broadcast");
    let (eth, ip, _) = parse_ip(&frames[0]);
    assert_eq!((eth.destination, ip.src), (ethernet::BROADCAST, OUR_IP));
    assert_eq!(h.upper.delivered.len(), 1);
    let looped = &h.upper.delivered[0];
    assert!(looped.ip_broadcast && looped.ifindex == IFINDEX);
}

#[test]
fn multicast_uses_the_mapped_mac() {
    let mut h = Harness::new();
    h.send(&udp_out(
        [239, 1, 2, 3].into(),
        &udp_segment(1, 2, b"m"),
        PmtuMode::Want,
    ))
    .unwrap();
    let frames = h.transmitted();
    assert_eq!(
        parse_sent(&frames[0]).ethernet.destination,
        [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]
    );
}

#[test]
fn unreachable_networks() {
    let mut h = Harness::with(|c| c.interface.gateway = None);
    assert_eq!(
        h.send(&udp_out(REMOTE_IP, b"12345678", PmtuMode::Want)),
        Err(Errno::ENETUNREACH)
    );
    let mut h = Harness::new();
    let dont_route = crate::ipv4::OutboundDatagram {
        dont_route: true,
        ..udp_out(REMOTE_IP, b"12345678", PmtuMode::Want)
    };
    assert_eq!(h.send(&dont_route), Err(Errno::ENETUNREACH));
    assert!(h.ip.is_local_address([127, 1, 2, 3].into()) && h.ip.is_local_address(OUR_IP));
    assert!(
        h.ip.is_broadcast_address([198, 18, 0, 255].into())
            && !h.ip.is_broadcast_address([198, 18, 0, 0].into())
    );
}
