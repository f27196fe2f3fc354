//! Output scripts: DF, ident, EMSGSIZE and the fragments of the largest UDP datagram.

use super::harness::*;
use crate::errno::Errno;
use crate::ipv4::PmtuMode;

fn resolved() -> Harness {
    let mut h = Harness::new();
    h.peer_resolves_us();
    h
}

#[test]
fn largest_udp_datagram_is_cut_into_the_kernels_fragments() {
    let mut h = resolved();
    // 65507 bytes of UDP data: the IP payload is 65515 bytes.
    let segment = udp_segment(40000, 9, &vec![0xab; 65507]);
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Want)).unwrap();
    let frames = h.transmitted();
    // MTU 1500: 1480 bytes per fragment (a multiple of 8), 44 full ones and 395 bytes left.
    assert_eq!(frames.len(), 45);
    let mut reassembled = Vec::new();
    let mut idents = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let (_, ip, payload) = parse_ip(frame);
        let last = i == 44;
        assert_eq!(ip.fragment_offset, i * 1480);
        assert_eq!(ip.more_fragments, !last);
        assert!(
            !ip.dont_fragment,
            "WANT falls back to no DF when the datagram exceeds the MTU"
        );
        assert_eq!(ip.buffer_len(), if last { 20 + 395 } else { 1500 });
        idents.push(ip.ident);
        reassembled.extend_from_slice(&payload);
    }
    assert!(idents.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(reassembled, segment);
    assert_eq!(h.counters().ip_fragments_created, 45);
}

#[test]
fn dont_mode_fragments_too_and_do_probe_interface_refuse() {
    let mut h = resolved();
    let segment = udp_segment(40000, 9, &[1; 2000]);
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Dont)).unwrap();
    assert_eq!(h.transmitted().len(), 2);
    for mode in [PmtuMode::Do, PmtuMode::Probe, PmtuMode::Interface] {
        assert_eq!(
            h.send(&udp_out(PEER_IP, &segment, mode)),
            Err(Errno::EMSGSIZE)
        );
    }
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Omit)).unwrap();
    assert_eq!(h.transmitted().len(), 2);
    // Exactly the MTU is fine with DF.
    h.send(&udp_out(PEER_IP, &vec![0; 1480], PmtuMode::Do))
        .unwrap();
    assert_eq!(h.transmitted().len(), 1);
}

#[test]
fn over_65535_bytes_is_emsgsize_in_every_mode() {
    let mut h = resolved();
    let too_big = vec![0; 65516];
    for mode in [PmtuMode::Dont, PmtuMode::Want, PmtuMode::Do] {
        assert_eq!(
            h.send(&udp_out(PEER_IP, &too_big, mode)),
            Err(Errno::EMSGSIZE)
        );
    }
    assert!(h.transmitted().is_empty());
}

#[test]
fn df_and_ident_follow_ip_select_ident_segs() {
    let mut h = resolved();
    let segment = udp_segment(40000, 9, b"id");
    // WANT: DF, but the datagram may still be fragmented locally, so the hashed counter;
    // consecutive datagrams of one flow in one jiffy count up by one.
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Want)).unwrap();
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Want)).unwrap();
    let frames = h.transmitted();
    let (first, second) = (parse_ip(&frames[0]).1, parse_ip(&frames[1]).1);
    assert!(first.dont_fragment && second.dont_fragment);
    assert_eq!(second.ident, first.ident.wrapping_add(1));
    // DO from an unconnected socket: id 0. From a connected one: the socket's counter.
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Do)).unwrap();
    let connected = crate::ipv4::OutboundDatagram {
        socket_ident: Some(0x7777),
        ..udp_out(PEER_IP, &segment, PmtuMode::Do)
    };
    h.send(&connected).unwrap();
    let frames = h.transmitted();
    assert_eq!(
        (
            parse_ip(&frames[0]).1.ident,
            parse_ip(&frames[0]).1.dont_fragment
        ),
        (0, true)
    );
    assert_eq!(parse_ip(&frames[1]).1.ident, 0x7777);
    // DONT: no DF.
    h.send(&udp_out(PEER_IP, &segment, PmtuMode::Dont)).unwrap();
    assert!(!parse_ip(&h.transmitted()[0]).1.dont_fragment);
}

#[test]
fn header_fields_and_options_are_emitted() {
    let mut h = resolved();
    // Record route (not copied) then a copied option.
    let options = [0x07, 0x07, 0x04, 0, 0, 0, 0, 0x94, 0x04, 0, 0, 0];
    let segment = udp_segment(40000, 9, &[5; 3000]);
    let out = crate::ipv4::OutboundDatagram {
        ttl: 3,
        tos: 0xb8,
        options: &options,
        socket_options: None,
        ..udp_out(REMOTE_IP, &segment, PmtuMode::Dont)
    };
    h.send(&out).unwrap();
    let frames = h.transmitted();
    assert_eq!(frames.len(), 3);
    // (1500 - 32) & !7 = 1464 bytes per fragment.
    let (eth, first, _) = parse_ip(&frames[0]);
    assert_eq!(eth.destination, PEER_MAC, "to the gateway");
    assert_eq!(
        (first.ttl, first.tos, first.dst, first.buffer_len()),
        (3, 0xb8, REMOTE_IP, 32 + 1464)
    );
    assert_eq!(first.options.as_slice(), &options);
    let second = parse_ip(&frames[1]).1;
    assert_eq!(second.fragment_offset, 1464);
    assert_eq!(
        second.options.as_slice(),
        &[1, 1, 1, 1, 1, 1, 1, 0x94, 0x04, 0, 0, 0]
    );
}
