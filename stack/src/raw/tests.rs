//! The delivery rules of raw and ping sockets through a whole `Stack`, in virtual time:
//! frames from the peer go in, recv shows what each socket was given.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::config::{Credentials, InterfaceConfig, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::sockaddr::encode_in;
use crate::socket::{sock_type, RecvArgs, RxMeta, SocketId};
use crate::time::Instant;
use crate::wire::checksum;
use crate::Stack;

const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const ROOT: Credentials = Credentials {
    cap_net_raw: true,
    cap_net_bind_service: true,
    cap_net_admin: true,
    in_ping_group: true,
};
const SOL_RAW: i32 = 255;
const ICMP_FILTER: i32 = 1;

fn host() -> Stack {
    Stack::new(StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: OUR_MAC,
            mtu: 1500,
            addr: OURS,
            prefix_len: 24,
            gateway: Some(PEER),
        },
        sysctls: Sysctls::default(),
        random_seed: 7,
    })
}

/// An Ethernet frame from the peer carrying `payload` as IP protocol `protocol`.
fn frame_from_peer(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        9,
        0x40,
        0,
        64,
        protocol,
        0,
        0,
    ];
    ip.extend_from_slice(&PEER.octets());
    ip.extend_from_slice(&OURS.octets());
    let sum = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(payload);
    let mut frame = OUR_MAC.to_vec();
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame
}

fn icmp(icmp_type: u8, ident: u16, sequence: u16, data: &[u8]) -> Vec<u8> {
    let mut message = vec![icmp_type, 0, 0, 0];
    message.extend_from_slice(&ident.to_be_bytes());
    message.extend_from_slice(&sequence.to_be_bytes());
    message.extend_from_slice(data);
    let sum = checksum::checksum(&message);
    message[2..4].copy_from_slice(&sum.to_be_bytes());
    message
}

fn receive(stack: &mut Stack, id: SocketId) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 2048];
    let args = RecvArgs {
        capacity: buf.len(),
        control_capacity: 0,
        flags: 0,
    };
    let result = stack.recv(Instant::ZERO, id, args, &mut buf)?;
    buf.truncate(result.len);
    Ok(buf)
}

fn drain_transmit(stack: &mut Stack) -> Vec<Vec<u8>> {
    core::iter::from_fn(|| stack.poll_transmit(Instant::ZERO))
        .take(64)
        .collect()
}

#[test]
fn raw_sockets_get_copies_by_protocol_and_address() {
    let mut stack = host();
    let icmp_socket = stack.socket(sock_type::RAW, 1, ROOT).unwrap();
    let udp_socket = stack.socket(sock_type::RAW, 17, ROOT).unwrap();
    let elsewhere = stack.socket(sock_type::RAW, 1, ROOT).unwrap();
    let other_peer = encode_in(SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 7), 0));
    stack
        .connect(Instant::ZERO, elsewhere, &other_peer)
        .unwrap();
    let request = icmp(8, 0x1234, 1, b"hello");
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(1, &request),
        RxMeta::default(),
    );
    let copy = receive(&mut stack, icmp_socket).unwrap();
    // The whole packet: the IP header as received, then the ICMP message.
    assert_eq!(copy.len(), 20 + request.len());
    assert_eq!(&copy[12..16], &PEER.octets());
    assert_eq!(&copy[20..], &request[..]);
    assert_eq!(receive(&mut stack, udp_socket), Err(Errno::EAGAIN));
    assert_eq!(receive(&mut stack, elsewhere), Err(Errno::EAGAIN));
}

#[test]
fn icmp_filter_drops_the_types_it_names() {
    let mut stack = host();
    let id = stack.socket(sock_type::RAW, 1, ROOT).unwrap();
    let echo_request_bit = (1u32 << 8).to_ne_bytes();
    stack
        .setsockopt(Instant::ZERO, id, SOL_RAW, ICMP_FILTER, &echo_request_bit)
        .unwrap();
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(1, &icmp(8, 1, 1, b"x")),
        RxMeta::default(),
    );
    assert_eq!(receive(&mut stack, id), Err(Errno::EAGAIN));
    // Types of 32 and above are never filtered.
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(1, &icmp(40, 1, 1, b"x")),
        RxMeta::default(),
    );
    assert!(receive(&mut stack, id).is_ok());
}

#[test]
fn a_raw_socket_of_an_unknown_protocol_silences_protocol_unreachable() {
    let mut stack = host();
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(253, b"12345678"),
        RxMeta::default(),
    );
    assert!(
        !drain_transmit(&mut stack).is_empty(),
        "protocol unreachable (or its ARP)"
    );
    let mut stack = host();
    let id = stack.socket(sock_type::RAW, 253, ROOT).unwrap();
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(253, b"12345678"),
        RxMeta::default(),
    );
    assert!(drain_transmit(&mut stack).is_empty());
    assert_eq!(receive(&mut stack, id).unwrap().len(), 28);
}

#[test]
fn echo_replies_go_to_the_ping_socket_of_their_identifier() {
    let mut stack = host();
    let first = stack.socket(sock_type::DGRAM, 1, ROOT).unwrap();
    let other = stack.socket(sock_type::DGRAM, 1, ROOT).unwrap();
    stack
        .bind(
            first,
            &encode_in(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 4242)),
        )
        .unwrap();
    stack
        .bind(other, &encode_in(SocketAddrV4::new(OURS, 4243)))
        .unwrap();
    assert_eq!(stack.local_addr(first).unwrap().port(), 4242);
    let reply = icmp(0, 4242, 7, b"pong");
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(1, &reply),
        RxMeta::default(),
    );
    // The ICMP header and data, without the IP header.
    assert_eq!(receive(&mut stack, first).unwrap(), reply);
    assert_eq!(receive(&mut stack, other), Err(Errno::EAGAIN));
    // Sockets share an identifier while sk_reuse holds; the one bound last is found first.
    let last = stack.socket(sock_type::DGRAM, 1, ROOT).unwrap();
    stack
        .bind(
            last,
            &encode_in(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 4242)),
        )
        .unwrap();
    stack.handle_frame(
        Instant::ZERO,
        &frame_from_peer(1, &reply),
        RxMeta::default(),
    );
    assert_eq!(receive(&mut stack, first), Err(Errno::EAGAIN));
    assert_eq!(receive(&mut stack, last).unwrap(), reply);
}

#[test]
fn ping_send_checks_the_users_header() {
    let mut stack = host();
    let id = stack.socket(sock_type::DGRAM, 1, ROOT).unwrap();
    let peer = encode_in(SocketAddrV4::new(PEER, 0));
    let send = |stack: &mut Stack, data: &[u8]| {
        let args = crate::SendArgs {
            data,
            dest: Some(&peer),
            control: &[],
            flags: 0,
        };
        stack.send(Instant::ZERO, id, args)
    };
    assert_eq!(send(&mut stack, &[8, 0, 0, 0]), Err(Errno::EINVAL));
    assert_eq!(send(&mut stack, &icmp(0, 1, 1, b"")), Err(Errno::EINVAL));
    let mut wrong_code = icmp(8, 1, 1, b"");
    wrong_code[1] = 1;
    assert_eq!(send(&mut stack, &wrong_code), Err(Errno::EINVAL));
    // inet_sendmsg bound the socket before the checks refused.
    assert_ne!(stack.local_addr(id).unwrap().port(), 0);
    assert_eq!(send(&mut stack, &icmp(8, 1, 1, b"ok")), Ok(10));
}

#[test]
fn raw_bind_takes_the_address_only() {
    let mut stack = host();
    let id = stack.socket(sock_type::RAW, 1, ROOT).unwrap();
    let nobody = encode_in(SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 99), 0));
    assert_eq!(stack.bind(id, &nobody), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(
        stack.bind(id, &encode_in(SocketAddrV4::new(OURS, 0))[..8]),
        Err(Errno::EINVAL)
    );
    stack
        .bind(id, &encode_in(SocketAddrV4::new(OURS, 999)))
        .unwrap();
    // inet_sport is the protocol.
    assert_eq!(stack.local_addr(id).unwrap(), SocketAddrV4::new(OURS, 1));
}
