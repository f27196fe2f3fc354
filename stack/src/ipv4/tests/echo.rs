//! ICMP echo and timestamp scripts.

use super::harness::*;

use crate::wire::icmp::{self, message};

fn echo_request(id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    icmp_bytes(&icmp::Repr::EchoRequest {
        ident: id,
        seq_no: seq,
        data,
    })
}

#[test]
fn echo_request_is_answered_with_the_same_id_sequence_and_data() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    // The peer pings us with TOS 0x10 and TTL 63.
    let header = ipv4_header_with(|r| {
        r.tos = 0x10;
        r.ttl = 63;
    });
    h.receive(&ip_frame(
        &header,
        &echo_request(0x1234, 7, b"ping payload"),
    ));
    let (ip, payload) = h.one_datagram_to_peer();
    // icmp_reply: from the address pinged, our default TTL, the request's TOS, no DF.
    assert_eq!(
        (ip.src, ip.dst, ip.protocol, ip.ttl, ip.tos),
        (OUR_IP, PEER_IP, 1, 64, 0x10)
    );
    assert!(!ip.dont_fragment && !ip.more_fragments);
    let (msg_type, code, rest, data) = parse_icmp(&payload);
    assert_eq!(
        (msg_type, code, rest),
        (message::ECHO_REPLY, 0, [0x12, 0x34, 0, 7])
    );
    assert_eq!(data, b"ping payload");
    assert_eq!(h.counters().icmp_replies_sent, 1);
    // Echo is the network layer's: nothing reached the transports.
    assert!(h.upper.delivered.is_empty());
}

fn ipv4_header_with(adjust: impl FnOnce(&mut crate::wire::ipv4::Repr)) -> crate::wire::ipv4::Repr {
    let mut header = ip_header(PEER_IP, OUR_IP, 1);
    adjust(&mut header);
    header
}

#[test]
fn echo_replies_are_not_rate_limited() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    for seq in 0..100 {
        h.receive(&ip_frame(
            &ip_header(PEER_IP, OUR_IP, 1),
            &echo_request(1, seq, b""),
        ));
    }
    assert_eq!(h.transmitted().len(), 100);
}

#[test]
fn echo_ignore_all_and_broadcast_pings() {
    let mut h = Harness::with(|c| c.sysctls.icmp_echo_ignore_all = true);
    h.peer_resolves_us();
    h.receive(&ip_frame(
        &ip_header(PEER_IP, OUR_IP, 1),
        &echo_request(1, 1, b""),
    ));
    assert!(h.transmitted().is_empty());
    assert_eq!(h.counters().icmp_echo_ignored, 1);

    // icmp_echo_ignore_broadcasts (default 1): a ping to the subnet broadcast is ignored...
    let mut h = Harness::new();
    h.peer_resolves_us();
    let to_broadcast = ip_header(PEER_IP, [198, 18, 0, 255].into(), 1);
    h.receive(&ip_frame(&to_broadcast, &echo_request(1, 1, b"")));
    assert!(h.transmitted().is_empty());
    // ...and answered from our own address when the sysctl is 0.
    let mut h = Harness::with(|c| c.sysctls.icmp_echo_ignore_broadcasts = false);
    h.peer_resolves_us();
    h.receive(&ip_frame(&to_broadcast, &echo_request(1, 1, b"")));
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1);
    assert_eq!(parse_ip(&frames[0]).1.src, OUR_IP);
}

#[test]
fn bad_icmp_checksum_is_counted_not_answered() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let mut request = echo_request(1, 1, b"abc");
    request[2] ^= 0xff;
    h.receive(&ip_frame(&ip_header(PEER_IP, OUR_IP, 1), &request));
    assert!(h.transmitted().is_empty());
    assert_eq!(h.counters().icmp_bad_checksum, 1);
}

#[test]
fn ping_to_loopback_is_answered_inside_the_stack() {
    let mut h = Harness::new();
    let request = echo_request(9, 9, b"lo");
    let out = crate::ipv4::OutboundDatagram {
        protocol: 1,
        ..udp_out([127, 0, 0, 1].into(), &request, crate::ipv4::PmtuMode::Dont)
    };
    h.send(&out).unwrap();
    // The request looped back, was answered, and the reply looped back too; no frame left.
    assert!(h.transmitted().is_empty());
    assert_eq!(h.counters().icmp_replies_sent, 1);
    assert_eq!(h.counters().loopback_datagrams, 2);
}

#[test]
fn timestamp_request_is_answered() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let request = icmp_bytes(&icmp::Repr::Other {
        msg_type: message::TIMESTAMP,
        code: 0,
        rest: [0, 1, 0, 2],
        data: &[0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    let meta = crate::socket::RxMeta {
        checksum_trusted: false,
        timestamp: crate::time::WallTime {
            sec: 86_400 * 3 + 10,
            nsec: 250_000_000,
        },
        ..Default::default()
    };
    h.ip.handle_frame(
        h.now,
        &ip_frame(&ip_header(PEER_IP, OUR_IP, 1), &request),
        meta,
        &mut h.upper,
    );
    let frames = h.transmitted();
    let (msg_type, code, rest, data) = parse_icmp(&parse_ip(&frames[0]).2);
    assert_eq!(
        (msg_type, code, rest),
        (message::TIMESTAMP_REPLY, 0, [0, 1, 0, 2])
    );
    assert_eq!(data, vec![0, 0, 0, 5, 0, 0, 0x28, 0x0a, 0, 0, 0x28, 0x0a]); // 10250 ms
}

#[test]
fn ping_record_route_is_echoed_with_our_address_twice() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    // ping -R: a 39-byte record-route option, the peer's own address already in slot 1.
    let mut raw = vec![7, 39, 8, 198, 18, 0, 1];
    raw.resize(39, 0);
    raw.push(0);
    let mut header = ip_header(PEER_IP, OUR_IP, 1);
    header.options = crate::wire::ipv4::Options::new(&raw).unwrap();
    h.receive(&ip_frame(&header, &echo_request(3, 1, b"rr")));
    let frames = h.transmitted();
    assert_eq!(frames.len(), 1);
    let (_, ip, payload) = parse_ip(&frames[0]);
    // Recorded on the way in (ip_options_compile) and again on the way out (ip_options_build).
    let mut expected = vec![7, 39, 16, 198, 18, 0, 1, 198, 18, 0, 2, 198, 18, 0, 2];
    expected.resize(39, 0);
    expected.push(0);
    assert_eq!(ip.options.as_slice(), &expected[..]);
    assert_eq!(parse_icmp(&payload).0, message::ECHO_REPLY);
}

#[test]
fn source_routed_datagrams_are_dropped() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let mut header = ip_header(PEER_IP, OUR_IP, 1);
    header.options = crate::wire::ipv4::Options::new(&[131, 7, 4, 198, 19, 0, 2, 0]).unwrap();
    h.receive(&ip_frame(&header, &echo_request(3, 1, b"")));
    assert!(h.transmitted().is_empty());
    assert_eq!(h.counters().ip_source_routed, 1);
}
