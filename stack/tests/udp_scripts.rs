//! Packet scripts for UDP through a whole `Stack` in virtual time: frames in, frames out,
//! socket calls in between ("the peer sends …, we answer …"). Values follow the kernel (see
//! the udp/ modules for the functions copied).

mod common;
use common::{ethernet, host_stack, ipv4_header, udp_frame, OURS, OUR_MAC, PEER, PEER_MAC};
use core::net::{Ipv4Addr, SocketAddrV4};

use stack::cmsg::ControlMessages;
use stack::sockaddr::encode_in;
use stack::socket::msg_flags::MSG_DONTWAIT;
use stack::wire::checksum;
use stack::{Credentials, Errno, Instant, RecvArgs, RxMeta, SendArgs, SocketId, Stack};

fn sin(addr: Ipv4Addr, port: u16) -> Vec<u8> {
    encode_in(SocketAddrV4::new(addr, port)).to_vec()
}

fn arp_reply() -> Vec<u8> {
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 2];
    arp.extend_from_slice(&PEER_MAC);
    arp.extend_from_slice(&PEER.octets());
    arp.extend_from_slice(&OUR_MAC);
    arp.extend_from_slice(&OURS.octets());
    ethernet(0x0806, &arp)
}

fn meta() -> RxMeta {
    RxMeta::default()
}

/// Frames the stack puts on the wire, answering its ARP requests for the peer on the way.
fn transmitted(stack: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for _ in 0..16 {
        let Some(frame) = stack.poll_transmit(now) else {
            break;
        };
        if frame[12..14] == [0x08, 0x06] {
            stack.handle_frame(now, &arp_reply(), meta());
        } else {
            frames.push(frame);
        }
    }
    frames
}

fn recv(
    stack: &mut Stack,
    id: SocketId,
    control: usize,
) -> Result<(Vec<u8>, stack::RecvResult), Errno> {
    let mut buf = vec![0u8; 2048];
    let result = stack.recv(
        Instant::ZERO,
        id,
        RecvArgs {
            capacity: 2048,
            control_capacity: control,
            flags: MSG_DONTWAIT,
        },
        &mut buf,
    )?;
    buf.truncate(result.len);
    Ok((buf, result))
}

fn send(stack: &mut Stack, id: SocketId, data: &[u8], dest: Option<&[u8]>) -> Result<usize, Errno> {
    stack.send(
        Instant::ZERO,
        id,
        SendArgs {
            data,
            dest,
            control: &[],
            flags: 0,
        },
    )
}

#[test]
fn peer_datagram_is_received_with_its_metadata() {
    let mut stack = host_stack(42);
    let id = stack.socket(2, 0, Credentials::default()).unwrap();
    stack.bind(id, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    stack
        .setsockopt(Instant::ZERO, id, 0, 12, &1i32.to_ne_bytes())
        .unwrap(); // IP_RECVTTL
    let before = stack.activity(id);
    stack.handle_frame(
        Instant::ZERO,
        &udp_frame(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(OURS, 5000),
            64,
            b"ping",
        ),
        meta(),
    );
    assert_ne!(stack.activity(id), before);
    let (data, result) = recv(&mut stack, id, 64).unwrap();
    assert_eq!(data, b"ping");
    assert_eq!(result.from, Some(SocketAddrV4::new(PEER, 7)));
    let ttl: Vec<_> = ControlMessages::new(&result.control)
        .map(|m| m.unwrap().data.to_vec())
        .collect();
    assert_eq!(ttl, vec![64i32.to_ne_bytes().to_vec()]);
    assert_eq!(recv(&mut stack, id, 0).unwrap_err(), Errno::EAGAIN);
}

#[test]
fn sent_datagram_leaves_after_arp_with_kernel_headers() {
    let mut stack = host_stack(42);
    let id = stack.socket(2, 17, Credentials::default()).unwrap();
    assert_eq!(send(&mut stack, id, b"pong", Some(&sin(PEER, 7))), Ok(4));
    let frames = transmitted(&mut stack, Instant::ZERO);
    assert_eq!(frames.len(), 1);
    let frame = &frames[0];
    assert_eq!(&frame[0..6], &PEER_MAC);
    let ip = &frame[14..];
    assert_eq!(ip[8], 64, "ip_default_ttl");
    assert_eq!(ip[9], 17);
    assert_eq!(ip[6] & 0x40, 0x40, "IP_PMTUDISC_WANT sets DF");
    let segment = &ip[20..];
    let local = stack.local_addr(id).unwrap();
    assert_eq!(u16::from_be_bytes([segment[0], segment[1]]), local.port());
    assert_eq!(u16::from_be_bytes([segment[2], segment[3]]), 7);
    let acc = checksum::pseudo_header(OURS, PEER, 17, segment.len() as u32);
    assert_eq!(checksum::fold(checksum::accumulate(acc, segment)), 0xffff);
    assert_eq!(&segment[8..], b"pong");
}

#[test]
fn closed_port_draws_port_unreachable() {
    let mut stack = host_stack(42);
    stack.handle_frame(
        Instant::ZERO,
        &udp_frame(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(OURS, 9999),
            64,
            b"x",
        ),
        meta(),
    );
    let frames = transmitted(&mut stack, Instant::ZERO);
    assert_eq!(frames.len(), 1);
    let ip = &frames[0][14..];
    assert_eq!(ip[9], 1);
    assert_eq!((ip[20], ip[21]), (3, 3));
}

#[test]
fn loopback_between_two_sockets() {
    let mut stack = host_stack(42);
    let server = stack.socket(2, 0, Credentials::default()).unwrap();
    stack.bind(server, &sin(Ipv4Addr::LOCALHOST, 6000)).unwrap();
    stack
        .setsockopt(Instant::ZERO, server, 0, 8, &1i32.to_ne_bytes())
        .unwrap(); // IP_PKTINFO
    let client = stack.socket(2, 0, Credentials::default()).unwrap();
    stack
        .connect(Instant::ZERO, client, &sin(Ipv4Addr::LOCALHOST, 6000))
        .unwrap();
    assert_eq!(send(&mut stack, client, b"hello", None), Ok(5));
    let (data, result) = recv(&mut stack, server, 64).unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(result.from, Some(stack.local_addr(client).unwrap()));
    let info = ControlMessages::new(&result.control)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(info.data, &[1, 0, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    // The reply goes back the same way.
    let peer = sin(
        Ipv4Addr::LOCALHOST,
        stack.local_addr(client).unwrap().port(),
    );
    assert_eq!(send(&mut stack, server, b"back", Some(&peer)), Ok(4));
    assert_eq!(recv(&mut stack, client, 0).unwrap().0, b"back");
    assert!(transmitted(&mut stack, Instant::ZERO).is_empty());
}

#[test]
fn own_address_reports_the_interface_in_pktinfo() {
    let mut stack = host_stack(42);
    let server = stack.socket(2, 0, Credentials::default()).unwrap();
    stack
        .bind(server, &sin(Ipv4Addr::UNSPECIFIED, 6001))
        .unwrap();
    stack
        .setsockopt(Instant::ZERO, server, 0, 8, &1i32.to_ne_bytes())
        .unwrap();
    let client = stack.socket(2, 0, Credentials::default()).unwrap();
    assert_eq!(
        send(&mut stack, client, b"x", Some(&sin(OURS, 6001))),
        Ok(1)
    );
    let (_, result) = recv(&mut stack, server, 64).unwrap();
    let info = ControlMessages::new(&result.control)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(info.data, &[2, 0, 0, 0, 198, 18, 0, 2, 198, 18, 0, 2]);
}

#[test]
fn connected_socket_learns_port_unreachable() {
    let mut stack = host_stack(42);
    let id = stack.socket(2, 0, Credentials::default()).unwrap();
    stack.connect(Instant::ZERO, id, &sin(PEER, 1)).unwrap();
    send(&mut stack, id, b"x", None).unwrap();
    let sent = transmitted(&mut stack, Instant::ZERO).remove(0);
    // The peer answers port unreachable quoting our IP header and 8 bytes.
    let quoted = &sent[14..14 + 28];
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(quoted);
    let sum = checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut packet = ipv4_header(PEER, OURS, 1, 64, icmp.len());
    packet.extend_from_slice(&icmp);
    stack.handle_frame(Instant::ZERO, &ethernet(0x0800, &packet), meta());
    assert_ne!(stack.poll(id) & stack::socket::poll_bits::POLLERR, 0);
    assert_eq!(recv(&mut stack, id, 0).unwrap_err(), Errno::ECONNREFUSED);
    assert_eq!(recv(&mut stack, id, 0).unwrap_err(), Errno::EAGAIN);
}

#[test]
fn broadcast_send_needs_so_broadcast_and_uses_the_broadcast_mac() {
    let mut stack = host_stack(42);
    let id = stack.socket(2, 0, Credentials::default()).unwrap();
    assert_eq!(
        send(&mut stack, id, b"x", Some(&sin(Ipv4Addr::BROADCAST, 9))),
        Err(Errno::EACCES)
    );
    stack
        .setsockopt(Instant::ZERO, id, 1, 6, &1i32.to_ne_bytes())
        .unwrap();
    assert_eq!(
        send(
            &mut stack,
            id,
            b"x",
            Some(&sin(Ipv4Addr::new(198, 18, 0, 255), 9))
        ),
        Ok(1)
    );
    let frames = transmitted(&mut stack, Instant::ZERO);
    assert_eq!(&frames[0][0..6], &[0xff; 6]);
}

#[test]
fn udplite_has_its_own_port_space() {
    let mut stack = host_stack(42);
    let lite_server = stack.socket(2, 136, Credentials::default()).unwrap();
    let udp_server = stack.socket(2, 17, Credentials::default()).unwrap();
    // Same port, different protocol tables: no EADDRINUSE.
    stack
        .bind(lite_server, &sin(Ipv4Addr::LOCALHOST, 7000))
        .unwrap();
    stack
        .bind(udp_server, &sin(Ipv4Addr::LOCALHOST, 7000))
        .unwrap();
    let so_protocol = stack.getsockopt(lite_server, 1, 38, 4).unwrap();
    assert_eq!(so_protocol, 136i32.to_ne_bytes().to_vec());
    let client = stack.socket(2, 136, Credentials::default()).unwrap();
    assert_eq!(
        send(
            &mut stack,
            client,
            b"lite",
            Some(&sin(Ipv4Addr::LOCALHOST, 7000))
        ),
        Ok(4)
    );
    assert_eq!(recv(&mut stack, lite_server, 0).unwrap().0, b"lite");
    assert_eq!(recv(&mut stack, udp_server, 0).unwrap_err(), Errno::EAGAIN);
    // The 65507-byte limit holds for UDP-Lite too.
    assert_eq!(
        send(
            &mut stack,
            client,
            &vec![0; 65508],
            Some(&sin(Ipv4Addr::LOCALHOST, 7000))
        ),
        Err(Errno::EMSGSIZE)
    );
}

#[test]
fn datagram_above_the_mtu_leaves_in_fragments() {
    let mut stack = host_stack(42);
    let id = stack.socket(2, 0, Credentials::default()).unwrap();
    assert_eq!(
        send(&mut stack, id, &vec![7u8; 3000], Some(&sin(PEER, 9))),
        Ok(3000)
    );
    let frames = transmitted(&mut stack, Instant::ZERO);
    // IP_PMTUDISC_WANT lets a datagram above the MTU go out in fragments.
    assert_eq!(frames.len(), 3);
    assert!(frames.iter().all(|frame| frame.len() <= 1514));
}

#[test]
fn udplite_partial_coverage_and_receiver_minimum() {
    // Measured on Linux 6.18: a sender covering 8 bytes reaches a receiver with no minimum or
    // a minimum of 8, but not one asking for full coverage (0) or 20 bytes; fully covered
    // datagrams always arrive.
    for (minimum, expected) in [
        (None, vec![16, 4]),
        (Some(0), vec![4]),
        (Some(8), vec![16, 4]),
        (Some(20), vec![4]),
    ] {
        let mut stack = host_stack(42);
        let server = stack.socket(2, 136, Credentials::default()).unwrap();
        stack.bind(server, &sin(Ipv4Addr::LOCALHOST, 7100)).unwrap();
        if let Some(minimum) = minimum {
            stack
                .setsockopt(Instant::ZERO, server, 17, 11, &i32::to_ne_bytes(minimum))
                .unwrap();
        }
        let partial = stack.socket(2, 136, Credentials::default()).unwrap();
        stack
            .setsockopt(Instant::ZERO, partial, 17, 10, &8i32.to_ne_bytes())
            .unwrap();
        send(
            &mut stack,
            partial,
            b"0123456789abcdef",
            Some(&sin(Ipv4Addr::LOCALHOST, 7100)),
        )
        .unwrap();
        let full = stack.socket(2, 136, Credentials::default()).unwrap();
        send(
            &mut stack,
            full,
            b"full",
            Some(&sin(Ipv4Addr::LOCALHOST, 7100)),
        )
        .unwrap();
        let mut lengths = Vec::new();
        while let Ok((data, _)) = recv(&mut stack, server, 0) {
            lengths.push(data.len());
        }
        assert_eq!(lengths, expected, "minimum {minimum:?}");
    }
}

/// UDP_CORK through the whole stack: a corked send to 127.0.0.1 waits; clearing the option
/// sends it, and the loopback delivers it before setsockopt returns (ctests sockopt_copy).
#[test]
fn udp_cork_cleared_delivers_over_loopback_at_once() {
    const SOL_UDP: i32 = 17;
    const UDP_CORK: i32 = 1;
    let mut stack = host_stack(42);
    let now = Instant::from_millis(5);
    let receiver = stack.socket(2, 0, Credentials::default()).unwrap();
    stack
        .bind(receiver, &sin(Ipv4Addr::LOCALHOST, 9300))
        .unwrap();
    let sender = stack.socket(2, 0, Credentials::default()).unwrap();
    stack
        .setsockopt(now, sender, SOL_UDP, UDP_CORK, &1i32.to_ne_bytes())
        .unwrap();
    let dest = sin(Ipv4Addr::LOCALHOST, 9300);
    let args = SendArgs {
        data: b"held",
        dest: Some(&dest),
        control: &[],
        flags: 0,
    };
    assert_eq!(stack.send(now, sender, args), Ok(4));
    let recv_args = RecvArgs {
        capacity: 16,
        control_capacity: 0,
        flags: MSG_DONTWAIT,
    };
    let mut buf = [0u8; 16];
    assert_eq!(
        stack.recv(now, receiver, recv_args, &mut buf),
        Err(Errno::EAGAIN)
    );
    stack
        .setsockopt(now, sender, SOL_UDP, UDP_CORK, &0i32.to_ne_bytes())
        .unwrap();
    let received = stack.recv(now, receiver, recv_args, &mut buf).unwrap();
    assert_eq!(&buf[..received.len], b"held");
}
