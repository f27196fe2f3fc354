//! Multicast through a whole `Stack` in virtual time: a join puts an IGMPv3 report on the wire
//! (and its retransmission), a datagram to the group is delivered by membership and filter,
//! a group not joined is dropped, IP_MULTICAST_LOOP loops our own sends back to members, and
//! closing the socket reports the leave. Values as this kernel behaves (ctests
//! peer_multicast, peer_multicast_filters).

mod common;
use common::{host_stack, udp_segment, OURS, OUR_MAC, PEER, PEER_MAC};
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use stack::sockaddr::encode_in;
use stack::socket::msg_flags::MSG_DONTWAIT;
use stack::wire::checksum;
use stack::{Credentials, Errno, Instant, RecvArgs, RxMeta, SendArgs, SocketId, Stack};

const SOL_IP: i32 = 0;
const IP_ADD_MEMBERSHIP: i32 = 35;
const IP_BLOCK_SOURCE: i32 = 38;
const IP_MULTICAST_LOOP: i32 = 34;
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 77, 2, 3);
const PORT: u16 = 5021;

fn at_ms(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn udp_socket(stack: &mut Stack, port: u16) -> SocketId {
    let id = stack.socket(2, 17, Credentials::default()).unwrap();
    stack
        .bind(
            id,
            &encode_in(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
        )
        .unwrap();
    id
}

fn mreq(group: Ipv4Addr) -> Vec<u8> {
    [group.octets(), [0; 4]].concat()
}

/// A datagram from the peer to `group`, as a multicast frame.
fn multicast_frame(group: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let segment = udp_segment(
        SocketAddrV4::new(PEER, 40000),
        SocketAddrV4::new(group, PORT),
        payload,
    );
    let total = 20 + segment.len();
    let mut packet = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        1,
        17,
        0,
        0,
    ];
    packet.extend_from_slice(&PEER.octets());
    packet.extend_from_slice(&group.octets());
    let sum = checksum::checksum(&packet);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    packet.extend_from_slice(&segment);
    let o = group.octets();
    let mut frame = vec![0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]];
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&packet);
    frame
}

fn receive(stack: &mut Stack, id: SocketId) -> Result<usize, Errno> {
    let mut buf = [0u8; 64];
    let args = RecvArgs {
        capacity: buf.len(),
        control_capacity: 0,
        flags: MSG_DONTWAIT,
    };
    stack.recv(at_ms(0), id, args, &mut buf).map(|r| r.len)
}

/// The IGMPv3 reports sent until `until`: each as its records (type, group, sources).
fn reports_until(
    stack: &mut Stack,
    now: &mut Instant,
    until: Instant,
) -> Vec<Vec<(u8, Ipv4Addr, usize)>> {
    let mut reports = Vec::new();
    for _ in 0..50 {
        while let Some(frame) = stack.poll_transmit(*now) {
            // 01:00:5e:00:00:16, our MAC, IPv4; IP header with the router alert option.
            assert_eq!(frame[..6], [0x01, 0x00, 0x5e, 0, 0, 0x16]);
            assert_eq!(frame[6..12], OUR_MAC);
            let ip = &frame[14..];
            assert_eq!((ip[0], ip[1], ip[8], ip[9]), (0x46, 0xc0, 1, 2));
            assert_eq!(ip[6] & 0x40, 0x40, "DF");
            assert_eq!(ip[12..16], OURS.octets());
            assert_eq!(ip[20..24], [0x94, 4, 0, 0]);
            let report = &ip[24..];
            assert_eq!(report[0], 0x22);
            let count = u16::from_be_bytes([report[6], report[7]]);
            let mut records = Vec::new();
            let mut offset = 8;
            for _ in 0..count {
                let sources =
                    usize::from(u16::from_be_bytes([report[offset + 2], report[offset + 3]]));
                let group = Ipv4Addr::new(
                    report[offset + 4],
                    report[offset + 5],
                    report[offset + 6],
                    report[offset + 7],
                );
                records.push((report[offset], group, sources));
                offset += 8 + 4 * sources;
            }
            reports.push(records);
        }
        match stack.poll_at() {
            Some(next) if next <= until => {
                *now = next;
                stack.handle_timeout(next);
            }
            _ => break,
        }
    }
    reports
}

#[test]
fn join_deliver_loop_and_leave() {
    let mut stack = host_stack(11);
    let mut now = at_ms(0);
    let member = udp_socket(&mut stack, PORT);
    let bystander = udp_socket(&mut stack, 5022);
    stack
        .setsockopt(now, member, SOL_IP, IP_ADD_MEMBERSHIP, &mreq(GROUP))
        .unwrap();
    // TO_EX {} twice: the report 2 jiffies later, its retransmission within a second.
    let reports = reports_until(&mut stack, &mut now, at_ms(3000));
    assert_eq!(reports, vec![vec![(4, GROUP, 0)], vec![(4, GROUP, 0)]]);

    // The group is delivered; another group is not (ip_check_mc_rcu).
    now = at_ms(4000);
    stack.handle_frame(now, &multicast_frame(GROUP, b"joined"), RxMeta::default());
    stack.handle_frame(
        now,
        &multicast_frame(Ipv4Addr::new(239, 77, 9, 9), b"other"),
        RxMeta::default(),
    );
    assert_eq!(receive(&mut stack, member), Ok(6));
    assert_eq!(receive(&mut stack, member), Err(Errno::EAGAIN));
    assert_eq!(stack.counters().ip.ip_multicast_dropped, 1);

    // Blocking the peer: the host refuses it too (the only member excludes it).
    stack
        .setsockopt(
            now,
            member,
            SOL_IP,
            IP_BLOCK_SOURCE,
            &[GROUP.octets(), [0; 4], PEER.octets()].concat(),
        )
        .unwrap();
    let reports = reports_until(&mut stack, &mut now, at_ms(7000));
    assert_eq!(reports, vec![vec![(6, GROUP, 1)], vec![(6, GROUP, 1)]]);
    stack.handle_frame(now, &multicast_frame(GROUP, b"blocked"), RxMeta::default());
    assert_eq!(receive(&mut stack, member), Err(Errno::EAGAIN));

    // Our own send to the group: looped back to the member (IP_MULTICAST_LOOP on), and not
    // when it is off; both go out on the wire.
    let destination = encode_in(SocketAddrV4::new(GROUP, PORT));
    let send = |data: &'static [u8]| SendArgs {
        data,
        dest: None,
        control: &[],
        flags: 0,
    };
    let args = SendArgs {
        dest: Some(&destination),
        ..send(b"loop-on")
    };
    assert_eq!(stack.send(now, bystander, args), Ok(7));
    assert_eq!(receive(&mut stack, member), Ok(7));
    stack
        .setsockopt(
            now,
            bystander,
            SOL_IP,
            IP_MULTICAST_LOOP,
            &0i32.to_ne_bytes(),
        )
        .unwrap();
    let args = SendArgs {
        dest: Some(&destination),
        ..send(b"loop-off")
    };
    assert_eq!(stack.send(now, bystander, args), Ok(8));
    assert_eq!(receive(&mut stack, member), Err(Errno::EAGAIN));
    let sent: Vec<Vec<u8>> = core::iter::from_fn(|| stack.poll_transmit(now)).collect();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|frame| frame[..6] == [0x01, 0x00, 0x5e, 0x4d, 2, 3]));

    // Closing leaves the group: TO_IN {}.
    stack.close(now, member);
    let reports = reports_until(&mut stack, &mut now, at_ms(12000));
    assert_eq!(reports, vec![vec![(3, GROUP, 0)], vec![(3, GROUP, 0)]]);
}

#[test]
fn process_exit_sends_the_pending_leave_at_once() {
    let mut stack = host_stack(12);
    let mut now = at_ms(0);
    let member = udp_socket(&mut stack, PORT);
    stack
        .setsockopt(now, member, SOL_IP, IP_ADD_MEMBERSHIP, &mreq(GROUP))
        .unwrap();
    reports_until(&mut stack, &mut now, at_ms(3000));
    stack.process_exit(now);
    let until = now;
    let reports = reports_until(&mut stack, &mut now, until);
    assert_eq!(reports, vec![vec![(3, GROUP, 0)]]);
}

#[test]
fn multicast_through_lo_reaches_members_on_lo_only() {
    const IP_MULTICAST_IF: i32 = 32;
    let mut stack = host_stack(13);
    let now = at_ms(0);
    let member = udp_socket(&mut stack, PORT);
    let sender = udp_socket(&mut stack, 5022);
    let on_lo = [GROUP.octets(), [0; 4], 1u32.to_ne_bytes()].concat();
    stack
        .setsockopt(now, member, SOL_IP, IP_ADD_MEMBERSHIP, &on_lo)
        .unwrap();
    let lo = [[0; 4], [0; 4], 1u32.to_ne_bytes()].concat();
    stack
        .setsockopt(now, sender, SOL_IP, IP_MULTICAST_IF, &lo)
        .unwrap();
    let to_group = encode_in(SocketAddrV4::new(GROUP, PORT));
    let to_other = encode_in(SocketAddrV4::new(Ipv4Addr::new(239, 77, 9, 9), PORT));
    for destination in [&to_group, &to_other] {
        let args = SendArgs {
            data: b"via-lo",
            dest: Some(destination),
            control: &[],
            flags: 0,
        };
        assert_eq!(stack.send(now, sender, args), Ok(6));
    }
    // Only the member on lo gets it, once; nothing reaches the wire (no report for lo either).
    assert_eq!(receive(&mut stack, member), Ok(6));
    assert_eq!(receive(&mut stack, member), Err(Errno::EAGAIN));
    assert_eq!(stack.poll_transmit(now), None);
}
