//! Received ICMP errors: errno mapping, path MTU learning, malformed quotes.

use super::harness::*;
use crate::errno::Errno;
use crate::ipv4::icmp::UNREACHABLE_ERRORS;
use crate::ipv4::PmtuMode;
use crate::wire::icmp;

/// What we sent to the remote host, as a router would quote it.
fn our_datagram() -> Vec<u8> {
    let mut header = ip_header(OUR_IP, REMOTE_IP, 17);
    header.dont_fragment = true;
    header.datagram(&udp_segment(40000, 9, &[0; 1472]))
}

fn error_frame(repr: &icmp::Repr<'_>) -> Vec<u8> {
    ip_frame(&ip_header(PEER_IP, OUR_IP, 1), &icmp_bytes(repr))
}

#[test]
fn fragmentation_needed_reports_emsgsize_and_lowers_the_path_mtu() {
    let mut h = Harness::new();
    let quoted = our_datagram();
    assert_eq!(h.ip.route(REMOTE_IP, None, false).unwrap().mtu, 1500);
    h.receive(&error_frame(&icmp::Repr::DestinationUnreachable {
        code: 4,
        next_hop_mtu: 1400,
        quoted: &quoted[..28],
    }));
    let error = &h.upper.errors[0];
    assert_eq!(
        (error.errno, error.fatal, error.info),
        (Errno::EMSGSIZE, false, 1400)
    );
    assert_eq!((error.offender, error.local), (PEER_IP, false));
    assert_eq!(
        (error.quoted_src, error.quoted_dst, error.quoted_protocol),
        (OUR_IP, REMOTE_IP, 17)
    );
    assert_eq!(error.quoted_payload, quoted[20..28].to_vec());
    assert_eq!(h.ip.route(REMOTE_IP, None, false).unwrap().mtu, 1400);
    // Now a DO datagram of 1500 bytes is refused, and WANT ones are cut at 1400.
    h.peer_resolves_us();
    let segment = udp_segment(40000, 9, &[0; 1472]);
    assert_eq!(
        h.send(&udp_out(REMOTE_IP, &segment, PmtuMode::Do)),
        Err(Errno::EMSGSIZE)
    );
    h.send(&udp_out(REMOTE_IP, &segment, PmtuMode::Want))
        .unwrap();
    let frames = h.transmitted();
    assert_eq!(parse_ip(&frames[0]).1.buffer_len(), 1396);
    // The learned MTU expires after 10 minutes.
    h.at(600_000);
    h.ip.handle_timeout(h.now, &mut h.upper);
    assert_eq!(h.ip.route(REMOTE_IP, None, false).unwrap().mtu, 1500);
}

#[test]
fn every_unreachable_code_maps_as_icmp_err_convert() {
    let mut h = Harness::new();
    let quoted = our_datagram();
    for code in 0..16u8 {
        h.receive(&error_frame(&icmp::Repr::DestinationUnreachable {
            code,
            next_hop_mtu: 0,
            quoted: &quoted[..28],
        }));
    }
    let got: Vec<(Errno, bool)> = h.upper.errors.iter().map(|e| (e.errno, e.fatal)).collect();
    assert_eq!(got, UNREACHABLE_ERRORS.to_vec());
    assert_eq!(got[3], (Errno::ECONNREFUSED, true));
    // Code 16 is beyond NR_ICMP_UNREACH: ignored.
    h.receive(&error_frame(&icmp::Repr::DestinationUnreachable {
        code: 16,
        next_hop_mtu: 0,
        quoted: &quoted[..28],
    }));
    assert_eq!(h.upper.errors.len(), 16);
}

#[test]
fn time_exceeded_and_parameter_problem() {
    let mut h = Harness::new();
    let quoted = our_datagram();
    h.receive(&error_frame(&icmp::Repr::TimeExceeded {
        code: 0,
        quoted: &quoted[..28],
    }));
    h.receive(&error_frame(&icmp::Repr::ParameterProblem {
        code: 0,
        pointer: 9,
        quoted: &quoted[..28],
    }));
    let got: Vec<_> = h
        .upper
        .errors
        .iter()
        .map(|e| (e.icmp_type, e.errno, e.fatal, e.info))
        .collect();
    assert_eq!(
        got,
        vec![
            (11, Errno::EHOSTUNREACH, false, 0),
            (12, Errno::EPROTO, true, 9)
        ]
    );
}

#[test]
fn quotes_without_eight_transport_bytes_are_dropped() {
    let mut h = Harness::new();
    let quoted = our_datagram();
    h.receive(&error_frame(&icmp::Repr::DestinationUnreachable {
        code: 3,
        next_hop_mtu: 0,
        quoted: &quoted[..27],
    }));
    let mut bad_ihl = quoted[..28].to_vec();
    bad_ihl[0] = 0x44;
    h.receive(&error_frame(&icmp::Repr::DestinationUnreachable {
        code: 3,
        next_hop_mtu: 0,
        quoted: &bad_ihl,
    }));
    assert!(h.upper.errors.is_empty());
    assert_eq!(h.counters().icmp_error_malformed, 2);
}

#[test]
fn ip_no_pmtu_disc_modes() {
    let quoted = our_datagram();
    let frag_needed = icmp::Repr::DestinationUnreachable {
        code: 4,
        next_hop_mtu: 1400,
        quoted: &quoted[..28],
    };
    // 1: passed on without the MTU, which locks the path at min_pmtu (ip-sysctl.rst); 2:
    // ignored; 3: ignored for UDP.
    for (mode, expected, mtu) in [(1, Some(0), 552), (2, None, 1500), (3, None, 1500)] {
        let mut h = Harness::with(|c| c.sysctls.ip_no_pmtu_disc = mode);
        h.receive(&error_frame(&frag_needed));
        assert_eq!(
            h.upper.errors.first().map(|e| e.info),
            expected,
            "ip_no_pmtu_disc={mode}"
        );
        assert_eq!(h.ip.route(REMOTE_IP, None, false).unwrap().mtu, mtu);
    }
}

#[test]
fn errors_to_broadcast_are_dropped() {
    let mut h = Harness::new();
    let quoted = our_datagram();
    let repr = icmp::Repr::DestinationUnreachable {
        code: 3,
        next_hop_mtu: 0,
        quoted: &quoted[..28],
    };
    h.receive(&ip_frame(
        &ip_header(PEER_IP, [255, 255, 255, 255].into(), 1),
        &icmp_bytes(&repr),
    ));
    assert!(h.upper.errors.is_empty());
    assert_eq!(h.counters().icmp_broadcast_dropped, 1);
}
