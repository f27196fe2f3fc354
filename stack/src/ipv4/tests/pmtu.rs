//! Path MTU scripts: what __ip_rt_update_pmtu learns, for whom, how long, and what sockets'
//! cached routes and the output path make of it.

use super::harness::*;
use crate::ipv4::socket_options::{Compiling, SocketIpOptions};
use crate::ipv4::{PmtuMode, SocketOptionsToBuild};
use crate::wire::icmp;
use crate::wire::ipv4;

fn frag_needed(h: &mut Harness, dst: core::net::Ipv4Addr, mtu: u16) {
    let mut header = ip_header(OUR_IP, dst, 17);
    header.dont_fragment = true;
    let quoted = header.datagram(&udp_segment(40000, 9, &[0; 1472]));
    let repr = icmp::Repr::DestinationUnreachable {
        code: 4,
        next_hop_mtu: mtu,
        quoted: &quoted[..28],
    };
    h.receive(&ip_frame(
        &ip_header(PEER_IP, OUR_IP, 1),
        &icmp_bytes(&repr),
    ));
}

fn mtu(h: &Harness, dst: core::net::Ipv4Addr) -> u32 {
    h.ip.route(dst, None, false).unwrap().mtu
}

#[test]
fn a_refusing_socket_teaches_nothing() {
    // No socket on the quoted port, or one in IP_PMTUDISC_INTERFACE / OMIT mode: the error
    // still reaches the transports, the route keeps its MTU.
    let mut h = Harness::new();
    h.upper.accept_path_mtu = false;
    frag_needed(&mut h, REMOTE_IP, 1400);
    assert_eq!(h.upper.errors.len(), 1);
    assert_eq!(mtu(&h, REMOTE_IP), 1500);
}

#[test]
fn min_pmtu_and_mtu_expires_come_from_the_sysctls() {
    let mut h = Harness::with(|c| {
        c.sysctls.route_min_pmtu = 1000;
        c.sysctls.route_mtu_expires_secs = 10;
    });
    frag_needed(&mut h, REMOTE_IP, 900);
    assert_eq!(mtu(&h, REMOTE_IP), 1000);
    // Locked: a lower value no longer applies.
    frag_needed(&mut h, REMOTE_IP, 800);
    assert_eq!(mtu(&h, REMOTE_IP), 1000);
    // route() uses the latest time the layer was given.
    h.at(9_999);
    h.ip.handle_timeout(h.now, &mut h.upper);
    assert_eq!(mtu(&h, REMOTE_IP), 1000);
    h.at(10_000);
    h.ip.handle_timeout(h.now, &mut h.upper);
    assert_eq!(mtu(&h, REMOTE_IP), 1500);
}

#[test]
fn an_mtu_of_zero_locks_the_minimum() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    frag_needed(&mut h, REMOTE_IP, 0);
    assert_eq!(mtu(&h, REMOTE_IP), 552);
    // Locked: WANT no longer sets DF, and fragments at 552.
    let segment = udp_segment(40000, 9, &[0; 1000]);
    h.send(&udp_out(REMOTE_IP, &segment, PmtuMode::Want))
        .unwrap();
    let frames = h.transmitted();
    let sizes: Vec<(usize, bool)> = frames
        .iter()
        .map(|f| {
            let p = ipv4::Packet::new_unchecked(&f[14..]);
            (usize::from(p.total_len()), p.dont_fragment())
        })
        .collect();
    assert_eq!(sizes, vec![(548, false), (500, false)]);
}

#[test]
fn cached_routes_from_before_an_exception_keep_their_mtu() {
    // update_or_create_fnhe marks the nexthop's cached routes obsolete when it creates an
    // exception; such a route reads its old MTU until a send looks it up again. A route made
    // from the exception follows its later updates.
    let mut h = Harness::new();
    let before = h.ip.route(REMOTE_IP, None, false).unwrap();
    frag_needed(&mut h, REMOTE_IP, 1400);
    assert_eq!(h.ip.cached_route_mtu(&before, REMOTE_IP), 1500);
    let after = h.ip.route(REMOTE_IP, None, false).unwrap();
    assert!(after.from_exception);
    assert_eq!(h.ip.cached_route_mtu(&after, REMOTE_IP), 1400);
    frag_needed(&mut h, REMOTE_IP, 1300);
    assert_eq!(h.ip.cached_route_mtu(&after, REMOTE_IP), 1300);
    assert_eq!(h.ip.cached_route_mtu(&before, REMOTE_IP), 1500);
    // Another destination behind the same gateway: obsolete too, with the link MTU anyway.
    let other = core::net::Ipv4Addr::new(198, 19, 0, 9);
    assert_eq!(mtu(&h, other), 1500);
}

#[test]
fn socket_options_are_built_into_every_fragment_as_copied() {
    // IP_OPTIONS: loose source route through the peer to the remote, and record route. The
    // header goes to the first hop, the route's last slot gets the final destination, the
    // record route our address; later fragments keep only the source route (copied flag).
    let mut h = Harness::new();
    h.peer_resolves_us();
    let options = SocketIpOptions::compile(
        &[131, 7, 4, 198, 18, 0, 1, 7, 7, 4, 0, 0, 0, 0],
        &Compiling {
            cap_net_raw: false,
            is_foreign_unicast: &|_| true,
        },
    )
    .unwrap();
    assert_eq!(options.first_hop, Some(PEER_IP));
    let segment = udp_segment(40000, 9, &[7; 3000]);
    let datagram = crate::ipv4::OutboundDatagram {
        socket_options: Some(SocketOptionsToBuild {
            options: &options,
            final_destination: REMOTE_IP,
        }),
        ..udp_out(PEER_IP, &segment, PmtuMode::Want)
    };
    h.send(&datagram).unwrap();
    let frames: Vec<_> = h
        .transmitted()
        .into_iter()
        .filter(|f| f[12..14] == [0x08, 0x00])
        .collect();
    assert_eq!(frames.len(), 3);
    let first = ipv4::Packet::new_unchecked(&frames[0][14..]);
    assert_eq!(first.destination(), PEER_IP);
    assert_eq!(
        first.options(),
        &[131, 7, 4, 198, 19, 0, 2, 7, 7, 8, 198, 18, 0, 2, 0, 0]
    );
    // (1500 - 36) & !7 bytes per fragment.
    assert_eq!(first.total_len(), 36 + 1464);
    let second = ipv4::Packet::new_unchecked(&frames[1][14..]);
    assert_eq!(
        second.options(),
        &[131, 7, 4, 198, 19, 0, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    );
    assert_eq!(second.fragment_offset(), 1464);
}
