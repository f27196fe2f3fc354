//! Packet scripts for the IP_RECVERR error queue through a whole `Stack`: the peer sends ICMP
//! errors quoting our datagrams, local EMSGSIZE errors are queued on send, and recvmsg with
//! MSG_ERRQUEUE returns what ip_recv_error returns. Expected values were measured natively
//! (ctests recverr_local, peer_icmp_errors, recverr_router).

mod common;
use common::{host_stack, udp_segment, OURS, OUR_MAC, PEER, PEER_MAC};
use core::net::{Ipv4Addr, SocketAddrV4};

use stack::sockaddr::encode_in;
use stack::socket::msg_flags::{MSG_CTRUNC, MSG_ERRQUEUE, MSG_TRUNC};
use stack::socket::poll_bits::{POLLERR, POLLPRI};
use stack::wire::checksum;
use stack::{Credentials, Errno, Instant, RecvArgs, RecvResult, RxMeta, SendArgs, SocketId, Stack};

const SOL_SOCKET: i32 = 1;
const SOL_IP: i32 = 0;
const SO_ERROR: i32 = 4;
const SO_RCVBUF: i32 = 8;
const SO_SELECT_ERR_QUEUE: i32 = 45;
const IP_MTU_DISCOVER: i32 = 10;
const IP_RECVERR: i32 = 11;
const IP_RECVERR_RFC4884: i32 = 26;
const IP_PMTUDISC_DO: i32 = 2;
const NOBODY: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 77);

fn sin(addr: Ipv4Addr, port: u16) -> Vec<u8> {
    encode_in(SocketAddrV4::new(addr, port)).to_vec()
}

fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut header = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x42,
        0x42,
        0x40,
        0,
        63,
        protocol,
        0,
        0,
    ];
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum::checksum(&header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header.extend_from_slice(payload);
    header
}

/// An ICMP error from the peer quoting a UDP datagram from `port` of ours to `quoted_dst`.
fn icmp_error_frame(
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    port: u16,
    quoted_dst: SocketAddrV4,
    payload: &[u8],
    trailer: &[u8],
) -> Vec<u8> {
    let segment = udp_segment(SocketAddrV4::new(OURS, port), quoted_dst, payload);
    let mut message = vec![icmp_type, code, 0, 0];
    message.extend_from_slice(&rest);
    message.extend_from_slice(&ipv4_packet(OURS, *quoted_dst.ip(), 17, &segment));
    message.extend_from_slice(trailer);
    let sum = checksum::checksum(&message);
    message[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut frame = OUR_MAC.to_vec();
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&ipv4_packet(PEER, OURS, 1, &message));
    frame
}

fn udp_socket(stack: &mut Stack, port: u16) -> SocketId {
    let id = stack.socket(2, 0, Credentials::default()).unwrap();
    stack.bind(id, &sin(OURS, port)).unwrap();
    set(stack, id, SOL_IP, IP_RECVERR, 1);
    id
}

fn set(stack: &mut Stack, id: SocketId, level: i32, name: i32, value: i32) {
    stack
        .setsockopt(Instant::ZERO, id, level, name, &value.to_ne_bytes())
        .unwrap();
}

fn so_error(stack: &mut Stack, id: SocketId) -> i32 {
    let bytes = stack.getsockopt(id, SOL_SOCKET, SO_ERROR, 4).unwrap();
    i32::from_ne_bytes(bytes[..4].try_into().unwrap())
}

fn read_error(
    stack: &mut Stack,
    id: SocketId,
    capacity: usize,
    control: usize,
) -> Result<(Vec<u8>, RecvResult), Errno> {
    let mut buf = vec![0u8; capacity];
    let result = stack.recv(
        Instant::ZERO,
        id,
        RecvArgs {
            capacity,
            control_capacity: control,
            flags: MSG_ERRQUEUE,
        },
        &mut buf,
    )?;
    buf.truncate(result.len);
    Ok((buf, result))
}

/// ip_recv_error on an empty queue: EAGAIN.
fn assert_queue_empty(stack: &mut Stack, id: SocketId) {
    assert_eq!(read_error(stack, id, 64, 256).unwrap_err(), Errno::EAGAIN);
}

/// The IP_RECVERR message's payload (sock_extended_err + offender), checked to be the last
/// control message.
fn extended_error(control: &[u8]) -> [u8; 32] {
    let start = control.len() - 48;
    assert_eq!(
        u64::from_ne_bytes(control[start..start + 8].try_into().unwrap()),
        48
    );
    assert_eq!(
        i32::from_ne_bytes(control[start + 8..start + 12].try_into().unwrap()),
        SOL_IP
    );
    assert_eq!(
        i32::from_ne_bytes(control[start + 12..start + 16].try_into().unwrap()),
        IP_RECVERR
    );
    control[start + 16..].try_into().unwrap()
}

/// (errno, origin, type, code, info, data, offender address).
fn fields(ee: &[u8; 32]) -> (u32, u8, u8, u8, u32, u32, [u8; 8]) {
    (
        u32::from_ne_bytes(ee[0..4].try_into().unwrap()),
        ee[4],
        ee[5],
        ee[6],
        u32::from_ne_bytes(ee[8..12].try_into().unwrap()),
        u32::from_ne_bytes(ee[12..16].try_into().unwrap()),
        ee[16..24].try_into().unwrap(),
    )
}

fn sockaddr_in(addr: Ipv4Addr) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[0..2].copy_from_slice(&2u16.to_ne_bytes());
    out[4..8].copy_from_slice(&addr.octets());
    out
}

#[test]
fn port_unreachable_is_queued_with_the_quoted_payload() {
    let mut stack = host_stack(1);
    let id = udp_socket(&mut stack, 5031);
    let frame = icmp_error_frame(3, 3, [0; 4], 5031, SocketAddrV4::new(PEER, 9), b"abcd", &[]);
    stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    assert_ne!(stack.poll(id) & POLLERR, 0);
    let (data, result) = read_error(&mut stack, id, 64, 256).unwrap();
    assert_eq!(data, b"abcd");
    assert_eq!(result.from, Some(SocketAddrV4::new(PEER, 9)));
    assert_eq!(result.flags, MSG_ERRQUEUE);
    assert_eq!(
        fields(&extended_error(&result.control)),
        (111, 2, 3, 3, 0, 0, sockaddr_in(PEER))
    );
    // Reading the only ICMP entry cleared sk_err too (sock_dequeue_err_skb).
    assert_eq!(so_error(&mut stack, id), 0);
    assert_eq!(stack.poll(id) & POLLERR, 0);
    assert_queue_empty(&mut stack, id);
}

#[test]
fn dequeue_sets_sk_err_from_the_next_icmp_entry() {
    let mut stack = host_stack(2);
    let id = udp_socket(&mut stack, 5040);
    let peer = SocketAddrV4::new(PEER, 9);
    for (icmp_type, code, payload) in [(3, 3, &b"one"[..]), (3, 0, b"two"), (11, 0, b"three")] {
        let frame = icmp_error_frame(icmp_type, code, [0; 4], 5040, peer, payload, &[]);
        stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    }
    // The last error is pending; the next call reports it once.
    assert_eq!(so_error(&mut stack, id), 113);
    assert_eq!(so_error(&mut stack, id), 0);
    // A short buffer: MSG_TRUNC and the copied length; sk_err := the next entry's errno.
    let (data, result) = read_error(&mut stack, id, 2, 256).unwrap();
    assert_eq!(
        (data.as_slice(), result.flags),
        (&b"on"[..], MSG_ERRQUEUE | MSG_TRUNC)
    );
    assert_eq!(so_error(&mut stack, id), 101);
    read_error(&mut stack, id, 64, 256).unwrap();
    let sent = stack.send(
        Instant::ZERO,
        id,
        SendArgs {
            data: b"x",
            dest: Some(&sin(PEER, 9)),
            control: &[],
            flags: 0,
        },
    );
    assert_eq!(sent, Err(Errno::EHOSTUNREACH));
    read_error(&mut stack, id, 64, 256).unwrap();
    assert_eq!(so_error(&mut stack, id), 0);
}

#[test]
fn local_emsgsize_is_queued_and_limited_by_the_receive_buffer() {
    let mut stack = host_stack(3);
    let id = udp_socket(&mut stack, 5050);
    set(&mut stack, id, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
    set(&mut stack, id, SOL_SOCKET, SO_RCVBUF, 0);
    let big = [7u8; 1473];
    for _ in 0..4 {
        let sent = stack.send(
            Instant::ZERO,
            id,
            SendArgs {
                data: &big,
                dest: Some(&sin(PEER, 9)),
                control: &[],
                flags: 0,
            },
        );
        assert_eq!(sent, Err(Errno::EMSGSIZE));
    }
    // Local errors leave sk_err alone but raise POLLERR, and POLLPRI on request.
    assert_eq!(so_error(&mut stack, id), 0);
    assert_ne!(stack.poll(id) & POLLERR, 0);
    assert_eq!(stack.poll(id) & POLLPRI, 0);
    set(&mut stack, id, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1);
    assert_ne!(stack.poll(id) & POLLPRI, 0);
    // 2304 bytes of SO_RCVBUF take two 896-byte entries (measured).
    for _ in 0..2 {
        let (data, result) = read_error(&mut stack, id, 64, 256).unwrap();
        assert!(data.is_empty());
        // Unconnected: the port is inet_dport, 0.
        assert_eq!(result.from, Some(SocketAddrV4::new(PEER, 0)));
        assert_eq!(
            fields(&extended_error(&result.control)),
            (90, 1, 0, 0, 1500, 0, [0; 8])
        );
    }
    assert_queue_empty(&mut stack, id);
    // A control buffer too short for the whole message: cut, MSG_CTRUNC.
    let _ = stack.send(
        Instant::ZERO,
        id,
        SendArgs {
            data: &big,
            dest: Some(&sin(PEER, 9)),
            control: &[],
            flags: 0,
        },
    );
    let (_, result) = read_error(&mut stack, id, 64, 40).unwrap();
    assert_eq!(result.flags, MSG_ERRQUEUE | MSG_CTRUNC);
    assert_eq!(result.control.len(), 40);
}

#[test]
fn turning_recverr_off_purges_the_queue() {
    let mut stack = host_stack(4);
    let id = udp_socket(&mut stack, 5060);
    let frame = icmp_error_frame(3, 0, [0; 4], 5060, SocketAddrV4::new(PEER, 9), b"ab", &[]);
    stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    set(&mut stack, id, SOL_IP, IP_RECVERR, 0);
    set(&mut stack, id, SOL_IP, IP_RECVERR, 1);
    assert_queue_empty(&mut stack, id);
    // sk_err survives the purge.
    assert_eq!(so_error(&mut stack, id), 101);
}

#[test]
fn frag_needed_and_unknown_codes() {
    let mut stack = host_stack(5);
    let id = udp_socket(&mut stack, 5070);
    let nobody = SocketAddrV4::new(NOBODY, 9);
    let mtu = [0, 0, 0x05, 0x78]; // 1400
    for (code, rest) in [(4, mtu), (16, [0; 4]), (255, [0; 4])] {
        let frame = icmp_error_frame(3, code, rest, 5070, nobody, b"", &[]);
        stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    }
    // Time exceeded in reassembly reaches no socket either (icmp_unreach, measured).
    let frame = icmp_error_frame(11, 1, [0; 4], 5070, nobody, b"", &[]);
    stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    let (data, result) = read_error(&mut stack, id, 64, 256).unwrap();
    assert!(data.is_empty());
    assert_eq!(result.from, Some(nobody));
    assert_eq!(
        fields(&extended_error(&result.control)),
        (90, 2, 3, 4, 1400, 0, sockaddr_in(PEER))
    );
    assert_queue_empty(&mut stack, id);
}

#[test]
fn rfc4884_length_and_extension_validity() {
    let mut stack = host_stack(6);
    let id = udp_socket(&mut stack, 5080);
    set(&mut stack, id, SOL_IP, IP_RECVERR_RFC4884, 1);
    let peer = SocketAddrV4::new(PEER, 9);
    // A 128-byte original datagram (32 words) followed by a version 2 extension with one
    // 8-byte object and a correct checksum; then the same with a wrong checksum.
    let mut extension = vec![0x20, 0, 0, 0, 0, 8, 1, 1, 1, 2, 3, 4];
    let sum = checksum::checksum(&extension);
    extension[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut bad = extension.clone();
    bad[3] ^= 0x0f;
    let length = [0, 32, 0, 0];
    for trailer in [&extension, &bad] {
        let frame = icmp_error_frame(11, 0, length, 5080, peer, &[0; 100], trailer);
        stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    }
    let (data, result) = read_error(&mut stack, id, 256, 256).unwrap();
    assert_eq!(data.len(), 112);
    assert_eq!(fields(&extended_error(&result.control)).5, 100);
    let (_, result) = read_error(&mut stack, id, 256, 256).unwrap();
    assert_eq!(fields(&extended_error(&result.control)).5, 100 | 1 << 16);
}

#[test]
fn errors_reach_a_bound_socket_only_through_its_device() {
    const SO_BINDTODEVICE: i32 = 25;
    let mut stack = host_stack(7);
    let bound = udp_socket(&mut stack, 5090);
    stack
        .setsockopt(Instant::ZERO, bound, SOL_SOCKET, SO_BINDTODEVICE, b"eth0")
        .unwrap();
    let unbound = udp_socket(&mut stack, 5091);
    // A closed port of our own address: the port unreachable comes back through lo, which
    // the socket bound to eth0 does not hear (measured: sockopt_socket_device).
    for id in [bound, unbound] {
        let sent = stack.send(
            Instant::ZERO,
            id,
            SendArgs {
                data: b"closed",
                dest: Some(&sin(OURS, 5197)),
                control: &[],
                flags: 0,
            },
        );
        assert_eq!(sent, Ok(6));
    }
    assert_queue_empty(&mut stack, bound);
    let (data, result) = read_error(&mut stack, unbound, 64, 256).unwrap();
    assert_eq!(data, b"closed");
    assert_eq!(
        fields(&extended_error(&result.control)),
        (111, 2, 3, 3, 0, 0, sockaddr_in(OURS))
    );
    // The peer's errors come in through eth0.
    let peer = SocketAddrV4::new(PEER, 1);
    let frame = icmp_error_frame(3, 3, [0; 4], 5090, peer, b"x", &[]);
    stack.handle_frame(Instant::ZERO, &frame, RxMeta::default());
    let (_, result) = read_error(&mut stack, bound, 64, 256).unwrap();
    assert_eq!(result.from, Some(peer));
}
