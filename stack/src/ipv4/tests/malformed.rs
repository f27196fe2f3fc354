//! Malformed input is counted, never a panic; and a fixed-seed fuzz loop over random and
//! half-valid frames.

use super::harness::*;
use crate::counters::CounterSet;
use crate::transport::Delivery;
use crate::wire::ethernet::{self, ethertype};
use crate::wire::ipv4;

fn ipv4_in_frame(bytes: &[u8]) -> Vec<u8> {
    ethernet::Repr {
        source: PEER_MAC,
        destination: OUR_MAC,
        ethertype: ethertype::IPV4,
    }
    .frame(bytes)
}

#[test]
fn each_kind_of_damage_has_its_counter() {
    let mut h = Harness::new();
    let good = ip_header(PEER_IP, OUR_IP, 17).datagram(&udp_segment(1, 2, b"ok"));

    h.receive(&[0u8; 13]);
    assert_eq!(h.counters().link_truncated, 1);

    let mut other_host = ipv4_in_frame(&good);
    other_host[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
    h.receive(&other_host);
    assert_eq!(h.counters().link_other_host, 1);

    h.receive(
        &ethernet::Repr {
            source: PEER_MAC,
            destination: OUR_MAC,
            ethertype: 0x86dd,
        }
        .frame(&good),
    );
    assert_eq!(h.counters().link_unknown_ethertype, 1);

    h.receive(&ipv4_in_frame(&good[..19]));
    let mut bad_version = good.clone();
    bad_version[0] = 0x65;
    h.receive(&ipv4_in_frame(&bad_version));
    assert_eq!(h.counters().ip_header_errors, 2);

    let mut bad_checksum = good.clone();
    bad_checksum[10] ^= 1;
    h.receive(&ipv4_in_frame(&bad_checksum));
    assert_eq!(h.counters().ip_bad_checksum, 1);

    h.receive(&ipv4_in_frame(&good[..good.len() - 1]));
    assert_eq!(h.counters().ip_truncated, 1);

    h.receive(&ipv4_in_frame(
        &ip_header(PEER_IP, REMOTE_IP, 17).datagram(b""),
    ));
    assert_eq!(h.counters().ip_not_for_us, 1);

    h.receive(&ipv4_in_frame(&ip_header(OUR_IP, OUR_IP, 17).datagram(b"")));
    h.receive(&ipv4_in_frame(
        &ip_header([224, 0, 0, 1].into(), OUR_IP, 17).datagram(b""),
    ));
    assert_eq!(h.counters().ip_martian_source, 2);

    h.receive(&ipv4_in_frame(
        &ip_header(PEER_IP, [127, 0, 0, 1].into(), 17).datagram(b""),
    ));
    assert_eq!(h.counters().ip_martian_destination, 1);

    // A group the host did not join (224.0.0.1, all-hosts, is always joined).
    h.receive(&ipv4_in_frame(
        &ip_header(PEER_IP, [239, 1, 2, 3].into(), 17).datagram(b""),
    ));
    assert_eq!(h.counters().ip_multicast_dropped, 1);

    let mut with_options = ip_header(PEER_IP, OUR_IP, 17);
    with_options.options = ipv4::Options::new(&[0x07, 0x09, 0, 0]).unwrap();
    h.receive(&ipv4_in_frame(&with_options.datagram(b"12345678")));
    assert_eq!(h.counters().ip_bad_options, 1);

    let mut arp = arp_frame(PEER_MAC, ethernet::BROADCAST, 1, PEER_IP, [0; 6], OUR_IP);
    arp.truncate(14 + 20);
    h.receive(&arp);
    assert_eq!(h.counters().arp_malformed, 1);

    // Trailing Ethernet padding is trimmed, not an error.
    let mut padded = ipv4_in_frame(&good);
    padded.extend_from_slice(&[0; 20]);
    h.receive(&padded);
    assert_eq!(
        h.upper.delivered.last().unwrap().payload,
        udp_segment(1, 2, b"ok")
    );
    assert_eq!(h.counters().ip_delivered, 1);
}

#[test]
fn bad_options_answer_parameter_problem_pointing_at_the_octet() {
    let mut h = Harness::new();
    h.peer_resolves_us();
    let mut header = ip_header(PEER_IP, OUR_IP, 17);
    header.options = ipv4::Options::new(&[0x01, 0x07, 0x09, 0]).unwrap();
    h.receive(&ipv4_in_frame(&header.datagram(b"12345678")));
    let (_, _, payload) = parse_ip(&h.transmitted()[0]);
    let (msg_type, code, rest, _) = parse_icmp(&payload);
    // __ip_options_compile points at the option whose length overruns the list.
    assert_eq!((msg_type, code, rest[0]), (12, 0, 21));
}

/// xorshift64*: the fuzz loop's own generator, fixed seed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn fuzz_random_and_half_valid_frames() {
    let mut rng = Xorshift(0x1234_5678_9abc_def1);
    let mut h = Harness::with(|c| c.sysctls.icmp_echo_ignore_broadcasts = false);
    h.upper.answer = Delivery::PortUnreachable;
    h.peer_resolves_us();
    let templates: Vec<Vec<u8>> = vec![
        ipv4_in_frame(&ip_header(PEER_IP, OUR_IP, 17).datagram(&udp_segment(1, 2, &[9; 40]))),
        ipv4_in_frame(&ip_header(PEER_IP, OUR_IP, 1).datagram(&[8, 0, 0xf7, 0xff, 0, 0, 0, 0])),
        ipv4_in_frame(
            &ip_header(PEER_IP, OUR_IP, 1).datagram(&[3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28]),
        ),
        arp_frame(PEER_MAC, ethernet::BROADCAST, 1, PEER_IP, [0; 6], OUR_IP),
    ];
    for round in 0..20_000u64 {
        let mut frame = if rng.below(4) == 0 {
            let len = rng.below(120) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut frame = templates[rng.below(templates.len() as u64) as usize].clone();
            // Flip a few bytes after the Ethernet header, maybe cut or extend the frame.
            for _ in 0..1 + rng.below(4) {
                let at = 14 + rng.below((frame.len() - 14) as u64) as usize;
                frame[at] = rng.next() as u8;
            }
            match rng.below(4) {
                0 => frame.truncate(rng.below(frame.len() as u64 + 1) as usize),
                1 => frame.extend((0..rng.below(30)).map(|_| rng.next() as u8)),
                _ => {}
            }
            frame
        };
        if round % 3 == 0 && frame.len() >= 6 {
            frame[..6].copy_from_slice(&OUR_MAC);
        }
        h.receive(&frame);
        if round % 500 == 0 {
            h.at(round);
            h.ip.handle_timeout(h.now, &mut h.upper);
        }
        h.transmitted();
    }
    // Every counter is reachable through entries(), and something was counted.
    let total: u64 = h.counters().entries().iter().map(|(_, v)| v).sum();
    assert!(total > 20_000);
    // Timers still run to completion.
    h.run_until(1_000_000);
    assert_eq!(h.ip.poll_at(), None);
}
