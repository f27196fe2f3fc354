//! The UDP layer in isolation, against a scripted network (the whole-stack packet scripts live
//! in stack/tests once the network layer is in). Expected values come from the kernel
//! functions cited in each module, several checked natively on this machine.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::network::{Network, NetworkOutput};
use super::send::Payload;
use super::UdpLayer;
use crate::config::{Credentials, InterfaceConfig, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::ipv4::{InboundDatagram, OutboundDatagram, Route};
use crate::sockaddr::{encode_in, AF_INET6, AF_UNSPEC};
use crate::socket::msg_flags::*;
use crate::socket::poll_bits::*;
use crate::socket::{RecvArgs, RecvResult, RxMeta, SendArgs, Shutdown, SocketId};
use crate::sockopt::names::{ip, level, socket as so};
use crate::time::{Instant, WallTime};
use crate::transport::{Delivery, IcmpError};
use crate::wire::udp::{Flavor, Repr};

const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const REMOTE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 2);
const SUBNET_BROADCAST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 255);
/// The wall clock the tests' ioctls see (datagrams arrive stamped 1_700_000_000.123456789).
const WALL_NOW: WallTime = WallTime {
    sec: 1_800_000_000,
    nsec: 987_654_321,
};

/// What the fake network was asked to send: (src, dst, ttl, tos, socket_ident, segment).
type SentDatagram = (Ipv4Addr, Ipv4Addr, u8, u8, Option<u16>, Vec<u8>);

#[derive(Default)]
struct FakeNetwork {
    sent: Vec<SentDatagram>,
}

impl Network for FakeNetwork {
    fn route(&self, dst: Ipv4Addr, _oif: Option<u32>, dont_route: bool) -> Result<Route, Errno> {
        let local = dst == OURS || dst.is_loopback();
        let on_link =
            dst.octets()[..3] == OURS.octets()[..3] || dst.is_broadcast() || dst.is_multicast();
        if !local && !on_link && dont_route {
            return Err(Errno::ENETUNREACH);
        }
        Ok(Route {
            src: if dst.is_loopback() {
                Ipv4Addr::LOCALHOST
            } else {
                OURS
            },
            next_hop: if on_link || local { dst } else { PEER },
            ifindex: if local { 1 } else { 2 },
            mtu: if local { 65535 } else { 1500 },
            local,
            broadcast: dst.is_broadcast() || dst == SUBNET_BROADCAST,
            multicast: dst.is_multicast(),
            nexthop_generation: 0,
            from_exception: false,
        })
    }
    fn is_local_address(&self, addr: Ipv4Addr) -> bool {
        addr == OURS || addr.is_loopback()
    }
    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool {
        addr.is_broadcast() || addr == SUBNET_BROADCAST
    }
}

impl NetworkOutput for FakeNetwork {
    fn send(&mut self, _now: Instant, d: &OutboundDatagram<'_>) -> Result<(), Errno> {
        self.sent.push((
            d.src,
            d.dst,
            d.ttl,
            d.tos,
            d.socket_ident,
            d.payload.to_vec(),
        ));
        Ok(())
    }
}

struct Harness {
    udp: UdpLayer,
    net: FakeNetwork,
}

fn config() -> StackConfig {
    StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 2],
            mtu: 1500,
            addr: OURS,
            prefix_len: 24,
            gateway: Some(PEER),
        },
        sysctls: Sysctls::default(),
        random_seed: 7,
    }
}

fn sin(addr: Ipv4Addr, port: u16) -> Vec<u8> {
    encode_in(SocketAddrV4::new(addr, port)).to_vec()
}

fn with_family(family: u16, addr: Ipv4Addr, port: u16) -> Vec<u8> {
    let mut bytes = sin(addr, port);
    bytes[0..2].copy_from_slice(&family.to_ne_bytes());
    bytes
}

impl Harness {
    fn new() -> Harness {
        Harness {
            udp: UdpLayer::new(&config()),
            net: FakeNetwork::default(),
        }
    }

    fn socket(&mut self) -> SocketId {
        self.udp.socket(17, Credentials::default()).unwrap()
    }

    fn bind(&mut self, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        self.udp.bind_with(&self.net, id, addr)
    }

    fn connect(&mut self, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        self.udp.connect_with(Instant::ZERO, &self.net, id, addr)
    }

    fn send(
        &mut self,
        id: SocketId,
        data: &[u8],
        dest: Option<&[u8]>,
        flags: i32,
    ) -> Result<usize, Errno> {
        self.send_control(id, data, dest, &[], flags)
    }

    fn send_control(
        &mut self,
        id: SocketId,
        data: &[u8],
        dest: Option<&[u8]>,
        control: &[u8],
        flags: i32,
    ) -> Result<usize, Errno> {
        self.udp.send_with(
            Instant::ZERO,
            &mut self.net,
            id,
            SendArgs {
                data,
                dest,
                control,
                flags,
            },
            Payload::Readable,
        )
    }

    fn recv(
        &mut self,
        id: SocketId,
        capacity: usize,
        control_capacity: usize,
        flags: i32,
    ) -> Result<(RecvResult, Vec<u8>), Errno> {
        let mut buf = vec![0u8; capacity];
        let result = self.udp.recv(
            Instant::ZERO,
            id,
            RecvArgs {
                capacity,
                control_capacity,
                flags,
            },
            &mut buf,
        )?;
        buf.truncate(result.len.min(capacity));
        Ok((result, buf))
    }

    fn setopt(&mut self, id: SocketId, level: i32, name: i32, value: i32) {
        self.udp
            .setsockopt_with(&self.net, id, level, name, &value.to_ne_bytes())
            .unwrap();
    }

    /// A datagram from `from` to `to` arrives from the wire.
    fn arrive(
        &mut self,
        from: SocketAddrV4,
        to: SocketAddrV4,
        payload: &[u8],
        broadcast: bool,
    ) -> Delivery {
        let repr = Repr {
            flavor: Flavor::Udp,
            source_port: from.port(),
            destination_port: to.port(),
            checksum: 0,
            coverage: 8 + payload.len(),
            payload,
        };
        let mut segment = vec![0u8; repr.buffer_len()];
        repr.emit(&mut segment, *from.ip(), *to.ip());
        self.arrive_raw(*from.ip(), *to.ip(), &segment, broadcast)
    }

    fn arrive_raw(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        segment: &[u8],
        broadcast: bool,
    ) -> Delivery {
        let header = [0x45u8; 20];
        let datagram = InboundDatagram {
            src,
            dst,
            protocol: 17,
            ttl: 63,
            tos: 0x10,
            ident: 1,
            options: &[],
            compiled_options: Default::default(),
            fragment_max_size: 0,
            header: &header,
            payload: segment,
            ifindex: 2,
            truesize: crate::ipv4::skb::truesize(header.len() + segment.len()),
            link_broadcast: broadcast,
            ip_broadcast: broadcast,
            link_source: None,
            meta: RxMeta {
                checksum_trusted: false,
                timestamp: WallTime {
                    sec: 1_700_000_000,
                    nsec: 123_456_789,
                },
                ..RxMeta::default()
            },
        };
        self.udp.deliver(Instant::ZERO, &datagram)
    }

    fn local(&self, id: SocketId) -> SocketAddrV4 {
        self.udp.local_addr(id).unwrap()
    }
}

#[test]
fn bind_errno_precedence() {
    let mut h = Harness::new();
    let s = h.socket();
    // Short address before anything else.
    assert_eq!(h.bind(s, &sin(OURS, 80)[..15]), Err(Errno::EINVAL));
    // Family before address.
    assert_eq!(
        h.bind(s, &with_family(AF_INET6, Ipv4Addr::new(10, 9, 9, 9), 80)),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        h.bind(s, &with_family(AF_UNSPEC, OURS, 0)),
        Err(Errno::EAFNOSUPPORT)
    );
    // Address before privilege.
    assert_eq!(
        h.bind(s, &sin(Ipv4Addr::new(10, 9, 9, 9), 80)),
        Err(Errno::EADDRNOTAVAIL)
    );
    // 0.x.x.x is not ours either (measured on this kernel).
    assert_eq!(
        h.bind(s, &sin(Ipv4Addr::new(0, 1, 2, 3), 0)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(h.bind(s, &sin(OURS, 80)), Err(Errno::EACCES));
    // AF_UNSPEC with INADDR_ANY is bind to the wildcard.
    h.bind(s, &with_family(AF_UNSPEC, Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    assert_eq!(h.local(s), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000));
    // Already bound.
    assert_eq!(h.bind(s, &sin(OURS, 5001)), Err(Errno::EINVAL));
    // Port in use, also through a specific address.
    let t = h.socket();
    assert_eq!(h.bind(t, &sin(OURS, 5000)), Err(Errno::EADDRINUSE));
    // A failed bind leaves the socket unbound.
    h.bind(t, &sin(OURS, 5002)).unwrap();
    assert_eq!(h.local(t), SocketAddrV4::new(OURS, 5002));
    // Broadcast binds receive on the address, send from the route's.
    let b = h.socket();
    h.bind(b, &sin(Ipv4Addr::BROADCAST, 5003)).unwrap();
    assert_eq!(h.local(b), SocketAddrV4::new(Ipv4Addr::BROADCAST, 5003));
}

#[test]
fn privileged_port_with_capability_and_freebind() {
    let mut h = Harness::new();
    let s = h
        .udp
        .socket(
            17,
            Credentials {
                cap_net_bind_service: true,
                ..Credentials::default()
            },
        )
        .unwrap();
    h.bind(s, &sin(OURS, 80)).unwrap();
    let t = h.socket();
    h.setopt(t, level::SOL_IP, ip::IP_FREEBIND, 1);
    h.bind(t, &sin(Ipv4Addr::new(10, 9, 9, 9), 5000)).unwrap();
}

#[test]
fn reuse_rules() {
    let mut h = Harness::new();
    let a = h.socket();
    let b = h.socket();
    h.setopt(a, level::SOL_SOCKET, so::SO_REUSEADDR, 1);
    h.setopt(b, level::SOL_SOCKET, so::SO_REUSEADDR, 1);
    h.bind(a, &sin(Ipv4Addr::UNSPECIFIED, 6000)).unwrap();
    h.bind(b, &sin(OURS, 6000)).unwrap();
    let c = h.socket();
    assert_eq!(h.bind(c, &sin(OURS, 6000)), Err(Errno::EADDRINUSE));
    // SO_REUSEPORT on both sides.
    let d = h.socket();
    let e = h.socket();
    h.setopt(d, level::SOL_SOCKET, so::SO_REUSEPORT, 1);
    h.setopt(e, level::SOL_SOCKET, so::SO_REUSEPORT, 1);
    h.bind(d, &sin(Ipv4Addr::UNSPECIFIED, 6001)).unwrap();
    h.bind(e, &sin(Ipv4Addr::UNSPECIFIED, 6001)).unwrap();
}

#[test]
fn ephemeral_ports_come_from_the_range() {
    let mut h = Harness::new();
    for _ in 0..50 {
        let s = h.socket();
        h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let port = h.local(s).port();
        assert!((32768..=60999).contains(&port), "{port}");
    }
}

#[test]
fn connect_autobinds_before_judging_the_address() {
    let mut h = Harness::new();
    let s = h.socket();
    let mut v6 = vec![0u8; 28];
    v6[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
    assert_eq!(h.connect(s, &v6), Err(Errno::EAFNOSUPPORT));
    assert_ne!(h.local(s).port(), 0);
    assert_eq!(h.connect(s, &[2]), Err(Errno::EINVAL));
    // connect to 0.0.0.0 reaches 127.0.0.1.
    h.connect(s, &sin(Ipv4Addr::UNSPECIFIED, 9)).unwrap();
    assert_eq!(
        h.udp.peer_addr(s),
        Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9))
    );
    assert_eq!(*h.local(s).ip(), Ipv4Addr::LOCALHOST);
}

#[test]
fn disconnect_releases_what_bind_did_not_fix() {
    let mut h = Harness::new();
    let s = h.socket();
    assert_eq!(h.send(s, b"x", None, 0), Err(Errno::EDESTADDRREQ));
    assert_ne!(h.local(s).port(), 0, "send autobinds even when it fails");
    h.connect(s, &with_family(AF_UNSPEC, Ipv4Addr::UNSPECIFIED, 0))
        .unwrap();
    assert_eq!(h.local(s), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
    let t = h.socket();
    h.bind(t, &sin(Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
    h.connect(t, &sin(PEER, 7)).unwrap();
    assert_eq!(h.local(t), SocketAddrV4::new(OURS, 7000));
    assert_eq!(h.udp.peer_addr(t), Ok(SocketAddrV4::new(PEER, 7)));
    h.connect(t, &[0, 0]).unwrap();
    assert_eq!(h.local(t), SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7000));
    assert_eq!(h.udp.peer_addr(t), Err(Errno::ENOTCONN));
}

#[test]
fn broadcast_needs_so_broadcast() {
    let mut h = Harness::new();
    let s = h.socket();
    assert_eq!(
        h.connect(s, &sin(Ipv4Addr::BROADCAST, 9)),
        Err(Errno::EACCES)
    );
    assert_eq!(
        h.send(s, b"x", Some(&sin(SUBNET_BROADCAST, 9)), 0),
        Err(Errno::EACCES)
    );
    h.setopt(s, level::SOL_SOCKET, so::SO_BROADCAST, 1);
    assert_eq!(h.send(s, b"x", Some(&sin(SUBNET_BROADCAST, 9)), 0), Ok(1));
    h.connect(s, &sin(Ipv4Addr::BROADCAST, 9)).unwrap();
    // The cached route of a connected socket is not re-checked.
    h.setopt(s, level::SOL_SOCKET, so::SO_BROADCAST, 0);
    assert_eq!(h.send(s, b"x", None, 0), Ok(1));
}

#[test]
fn send_sizes_and_wire_format() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 4000)).unwrap();
    let dest = sin(PEER, 7);
    assert_eq!(
        h.send(s, &vec![0; 65536], Some(&dest), 0),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        h.send(s, &vec![0; 65508], Some(&dest), 0),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(h.send(s, &vec![0; 65507], Some(&dest), 0), Ok(65507));
    assert_eq!(h.send(s, b"", Some(&dest), 0), Ok(0));
    assert_eq!(h.send(s, b"x", Some(&sin(PEER, 0)), 0), Err(Errno::EINVAL));
    assert_eq!(h.send(s, b"x", Some(&dest[..15]), 0), Err(Errno::EINVAL));
    assert_eq!(
        h.send(s, b"x", Some(&with_family(AF_INET6, PEER, 7)), 0),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        h.send(s, b"x", Some(&with_family(AF_UNSPEC, PEER, 7)), 0),
        Ok(1)
    );
    assert_eq!(
        h.send(s, b"x", Some(&dest), MSG_OOB),
        Err(Errno::EOPNOTSUPP)
    );
    let (src, dst, ttl, tos, ident, segment) = h.net.sent.last().unwrap().clone();
    assert_eq!((src, dst, ttl, tos, ident), (OURS, PEER, 64, 0, None));
    let parsed = Repr::parse(&segment, Flavor::Udp, src, dst, true).unwrap();
    assert_eq!(
        (parsed.source_port, parsed.destination_port, parsed.payload),
        (4000, 7, &b"x"[..])
    );
    // The empty datagram is 8 bytes on the wire.
    assert_eq!(h.net.sent[1].5.len(), 8);
    // IP_PMTUDISC_DO limits datagrams to the path MTU.
    h.setopt(s, level::SOL_IP, ip::IP_MTU_DISCOVER, 2);
    assert_eq!(h.send(s, &[0; 1473], Some(&dest), 0), Err(Errno::EMSGSIZE));
    assert_eq!(h.send(s, &[0; 1472], Some(&dest), 0), Ok(1472));
}

#[test]
fn ttl_tos_and_control_messages_on_send() {
    let mut h = Harness::new();
    let s = h.socket();
    h.setopt(s, level::SOL_IP, ip::IP_TTL, 9);
    h.setopt(s, level::SOL_IP, ip::IP_TOS, 0x28);
    h.send(s, b"x", Some(&sin(PEER, 7)), 0).unwrap();
    assert_eq!((h.net.sent[0].2, h.net.sent[0].3), (9, 0x28));
    let mut control = Vec::new();
    control.extend_from_slice(&20u64.to_ne_bytes());
    control.extend_from_slice(&0i32.to_ne_bytes());
    control.extend_from_slice(&2i32.to_ne_bytes());
    control.extend_from_slice(&3i32.to_ne_bytes());
    control.extend_from_slice(&[0; 4]);
    h.send_control(s, b"x", Some(&sin(PEER, 7)), &control, 0)
        .unwrap();
    assert_eq!(h.net.sent[1].2, 3);
    control[16..20].copy_from_slice(&0i32.to_ne_bytes());
    assert_eq!(
        h.send_control(s, b"x", Some(&sin(PEER, 7)), &control, 0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn connected_sockets_carry_their_ident_in_every_mode() {
    let mut h = Harness::new();
    let s = h.socket();
    h.connect(s, &sin(PEER, 7)).unwrap();
    h.send(s, b"a", None, 0).unwrap();
    let first = h.net.sent[0].4.unwrap();
    // ip_select_ident_segs: +1 per datagram, IP_PMTUDISC_WANT (the default) or DO alike.
    h.send(s, b"b", None, 0).unwrap();
    assert_eq!(h.net.sent[1].4, Some(first.wrapping_add(1)));
    h.setopt(s, level::SOL_IP, ip::IP_MTU_DISCOVER, 2);
    h.send(s, b"c", None, 0).unwrap();
    assert_eq!(h.net.sent[2].4, Some(first.wrapping_add(2)));
}

#[test]
fn shutdown_write_is_epipe_and_pending_error_comes_first() {
    let mut h = Harness::new();
    let s = h.socket();
    assert_eq!(h.udp.shutdown(s, Shutdown::Write), Err(Errno::ENOTCONN));
    assert_eq!(h.send(s, b"x", Some(&sin(PEER, 7)), 0), Err(Errno::EPIPE));
    // Route errors come before EPIPE.
    assert_eq!(
        h.send(s, b"x", Some(&sin(REMOTE, 7)), MSG_DONTROUTE),
        Err(Errno::ENETUNREACH)
    );
    h.udp
        .sockets
        .get(s)
        .unwrap()
        .error
        .set(Some(Errno::ECONNREFUSED));
    assert_eq!(
        h.send(s, b"x", Some(&sin(PEER, 7)), 0),
        Err(Errno::ECONNREFUSED)
    );
    assert_eq!(h.send(s, b"x", Some(&sin(PEER, 7)), 0), Err(Errno::EPIPE));
}

#[test]
fn msg_more_corks_into_one_datagram() {
    let mut h = Harness::new();
    let s = h.socket();
    assert_eq!(h.send(s, b"ab", Some(&sin(PEER, 7)), MSG_MORE), Ok(2));
    // Later destinations are ignored while corked.
    assert_eq!(h.send(s, b"cd", Some(&sin(PEER, 9)), MSG_MORE), Ok(2));
    assert!(h.net.sent.is_empty());
    // Corked bytes are charged to the send buffer (measured: 832 for 2 bytes).
    assert_eq!(
        h.udp.ioctl(s, 0x5411, WALL_NOW).unwrap(),
        832i32.to_ne_bytes().to_vec()
    );
    assert_eq!(h.send(s, b"e", None, 0), Ok(1));
    let segment = &h.net.sent[0].5;
    assert_eq!(&segment[2..4], &7u16.to_be_bytes());
    assert_eq!(&segment[8..], b"abcde");
    assert_eq!(
        h.udp.ioctl(s, 0x5411, WALL_NOW).unwrap(),
        0i32.to_ne_bytes().to_vec()
    );
}

#[test]
fn receive_peek_trunc_and_addresses() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EAGAIN);
    let from = SocketAddrV4::new(PEER, 7);
    assert_eq!(
        h.arrive(from, SocketAddrV4::new(OURS, 5000), b"hello", false),
        Delivery::Consumed
    );
    assert_eq!(
        h.udp.ioctl(s, 0x541B, WALL_NOW).unwrap(),
        5i32.to_ne_bytes().to_vec()
    );
    assert_eq!(h.udp.ioctl(s, 0x8906, WALL_NOW), Err(Errno::ENOENT));
    assert_ne!(h.udp.poll(s) & POLLIN, 0);
    let (result, data) = h.recv(s, 3, 0, MSG_PEEK).unwrap();
    assert_eq!(
        (result.len, result.flags, data.as_slice()),
        (3, MSG_TRUNC, &b"hel"[..])
    );
    assert_eq!(result.from, Some(from));
    let (result, _) = h.recv(s, 3, 0, MSG_TRUNC).unwrap();
    assert_eq!((result.len, result.flags), (5, MSG_TRUNC));
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EAGAIN);
    assert_eq!(h.udp.poll(s) & POLLIN, 0);
    let mut stamp = 1_700_000_000i64.to_ne_bytes().to_vec();
    stamp.extend_from_slice(&123_456i64.to_ne_bytes());
    assert_eq!(h.udp.ioctl(s, 0x8906, WALL_NOW).unwrap(), stamp);
    // Zero-length datagrams are datagrams.
    h.arrive(from, SocketAddrV4::new(OURS, 5000), b"", false);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap().0.len, 0);
    assert_eq!(h.udp.ioctl(s, 12345, WALL_NOW), Err(Errno::ENOTTY));
}

#[test]
fn ip_checksum_reports_verified_checksums_only() {
    // ip_cmsg_recv_checksum: CHECKSUM_COMPLETE datagrams only (measured: ctests
    // cmsg_recv_checksum). These arrive with checksums left to software.
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.setopt(s, level::SOL_IP, ip::IP_CHECKSUM, 1);
    let (from, to) = (SocketAddrV4::new(PEER, 7), SocketAddrV4::new(OURS, 5000));
    h.arrive(from, to, &[7; 68], false); // 76 bytes: verified on arrival
    for _ in 0..3 {
        h.arrive(from, to, &[7; 100], false); // verified lazily
    }
    let kinds = |result: &RecvResult| -> Vec<i32> {
        crate::cmsg::ControlMessages::new(&result.control)
            .map(|m| m.unwrap().kind)
            .collect()
    };
    let (first, _) = h.recv(s, 200, 64, 0).unwrap();
    assert_eq!(kinds(&first), vec![ip::IP_CHECKSUM]);
    let sum = crate::cmsg::payload_checksum(&[7; 68]);
    assert_eq!(&first.control[16..20], &sum.to_ne_bytes());
    // A peek holds a reference, so the checksum stays unverified; the whole read after it
    // checks while copying, which does not count.
    let (peeked, _) = h.recv(s, 200, 64, MSG_PEEK).unwrap();
    assert!(kinds(&peeked).is_empty());
    let (read, _) = h.recv(s, 200, 64, 0).unwrap();
    assert!(kinds(&read).is_empty());
    // udp_poll verifies the datagram first in the queue.
    h.udp.poll(s);
    let (polled, _) = h.recv(s, 200, 64, 0).unwrap();
    assert_eq!(kinds(&polled), vec![ip::IP_CHECKSUM]);
    // A truncating read verifies before copying.
    let (truncated, _) = h.recv(s, 10, 64, 0).unwrap();
    assert_eq!(kinds(&truncated), vec![ip::IP_CHECKSUM]);
    assert_eq!(truncated.flags, MSG_TRUNC);
}

#[test]
fn rxq_ovfl_reports_drops_before_each_datagram() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    const SO_RXQ_OVFL: i32 = 40;
    h.setopt(s, level::SOL_SOCKET, SO_RXQ_OVFL, 1);
    h.setopt(s, level::SOL_SOCKET, so::SO_RCVBUF, 1);
    let (from, to) = (SocketAddrV4::new(PEER, 7), SocketAddrV4::new(OURS, 5000));
    for _ in 0..6 {
        h.arrive(from, to, &[1; 1000], false);
    }
    let (first, _) = h.recv(s, 2000, 64, 0).unwrap();
    assert!(first.control.is_empty(), "no drops yet when it was queued");
    h.arrive(from, to, &[1; 10], false);
    let (after, _) = h.recv(s, 2000, 64, 0).unwrap();
    assert_eq!(&after.control[8..16], &[1, 0, 0, 0, 40, 0, 0, 0]);
    assert_ne!(&after.control[16..20], &[0, 0, 0, 0]);
}

#[test]
fn control_messages_in_kernel_order() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    for name in [ip::IP_RECVTOS, ip::IP_RECVTTL, ip::IP_PKTINFO] {
        h.setopt(s, level::SOL_IP, name, 1);
    }
    h.setopt(s, level::SOL_SOCKET, so::SO_TIMESTAMP_OLD, 1);
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"x",
        false,
    );
    let (result, _) = h.recv(s, 10, 256, 0).unwrap();
    let types: Vec<(i32, i32, u64)> = crate::cmsg::ControlMessages::new(&result.control)
        .map(|m| m.unwrap())
        .map(|m| (m.level, m.kind, m.length as u64))
        .collect();
    assert_eq!(types, vec![(1, 29, 32), (0, 8, 28), (0, 2, 20), (0, 1, 17)]);
    assert_eq!(result.control.len(), 32 + 32 + 24 + 24);
    assert_eq!(result.flags, 0);
    // pktinfo: ifindex 2, spec_dst and addr the destination.
    assert_eq!(
        &result.control[48..60],
        &[2, 0, 0, 0, 198, 18, 0, 2, 198, 18, 0, 2]
    );
    // A short control buffer truncates exactly like put_cmsg: after the 32-byte timestamp only
    // 8 bytes remain, less than a header, so the rest is dropped and MSG_CTRUNC set.
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"x",
        false,
    );
    let (result, _) = h.recv(s, 10, 40, 0).unwrap();
    assert_eq!(result.flags, MSG_CTRUNC);
    assert_eq!(result.control.len(), 32);
    // With 50 bytes the pktinfo message is cut to 18 bytes.
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"x",
        false,
    );
    let (result, _) = h.recv(s, 10, 50, 0).unwrap();
    assert_eq!(result.flags, MSG_CTRUNC);
    assert_eq!(result.control.len(), 50);
    assert_eq!(&result.control[32..40], &18u64.to_ne_bytes());
}

#[test]
fn demux_prefers_specific_then_connected() {
    let mut h = Harness::new();
    let wildcard = h.socket();
    let specific = h.socket();
    let connected = h.socket();
    for id in [wildcard, specific, connected] {
        h.setopt(id, level::SOL_SOCKET, so::SO_REUSEADDR, 1);
    }
    h.bind(wildcard, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.bind(connected, &sin(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    h.connect(connected, &sin(PEER, 7)).unwrap();
    // Connected (rehashed to 198.18.0.2) beats the wildcard.
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"1",
        false,
    );
    assert_eq!(h.udp.sockets.get(connected).unwrap().receive_queue.len(), 1);
    // From another port the connected socket does not match.
    h.arrive(
        SocketAddrV4::new(PEER, 8),
        SocketAddrV4::new(OURS, 5000),
        b"2",
        false,
    );
    assert_eq!(h.udp.sockets.get(wildcard).unwrap().receive_queue.len(), 1);
    // A specific bind takes what the connected socket does not match, before the wildcard.
    h.bind(specific, &sin(OURS, 5000)).unwrap();
    h.arrive(
        SocketAddrV4::new(PEER, 8),
        SocketAddrV4::new(OURS, 5000),
        b"3",
        false,
    );
    assert_eq!(h.udp.sockets.get(specific).unwrap().receive_queue.len(), 1);
    // No socket: port unreachable; bad checksum: silently dropped, no ICMP.
    assert_eq!(
        h.arrive(
            SocketAddrV4::new(PEER, 8),
            SocketAddrV4::new(OURS, 5999),
            b"4",
            false
        ),
        Delivery::PortUnreachable
    );
    let repr = Repr {
        flavor: Flavor::Udp,
        source_port: 8,
        destination_port: 5999,
        checksum: 0,
        coverage: 9,
        payload: b"5",
    };
    let mut segment = vec![0u8; 9];
    repr.emit(&mut segment, PEER, OURS);
    segment[8] ^= 0xff;
    assert_eq!(
        h.arrive_raw(PEER, OURS, &segment, false),
        Delivery::Consumed
    );
    assert_eq!(h.udp.counters().bad_checksum, 1);
    assert_eq!(h.udp.counters().no_socket, 1);
}

#[test]
fn broadcast_reaches_every_matching_socket() {
    let mut h = Harness::new();
    let a = h.socket();
    let b = h.socket();
    let c = h.socket();
    for id in [a, b, c] {
        h.setopt(id, level::SOL_SOCKET, so::SO_REUSEADDR, 1);
    }
    h.bind(a, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.bind(b, &sin(Ipv4Addr::BROADCAST, 5000)).unwrap();
    h.bind(c, &sin(OURS, 5000)).unwrap();
    assert_eq!(
        h.arrive(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(Ipv4Addr::BROADCAST, 5000),
            b"x",
            true
        ),
        Delivery::Consumed
    );
    let lengths: Vec<usize> = [a, b, c]
        .iter()
        .map(|&id| h.udp.sockets.get(id).unwrap().receive_queue.len())
        .collect();
    assert_eq!(lengths, vec![1, 1, 0]);
    // Nobody on the port: no ICMP for broadcasts.
    assert_eq!(
        h.arrive(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(Ipv4Addr::BROADCAST, 6000),
            b"x",
            true
        ),
        Delivery::Consumed
    );
    assert_eq!(h.udp.counters().ignored_broadcast, 1);
}

#[test]
fn reuseport_group_spreads_flows() {
    let mut h = Harness::new();
    let members: Vec<SocketId> = (0..4).map(|_| h.socket()).collect();
    for &id in &members {
        h.setopt(id, level::SOL_SOCKET, so::SO_REUSEPORT, 1);
        h.bind(id, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    }
    for port in 1000..1100 {
        h.arrive(
            SocketAddrV4::new(PEER, port),
            SocketAddrV4::new(OURS, 5000),
            b"x",
            false,
        );
        // The same flow always lands on the same member.
        h.arrive(
            SocketAddrV4::new(PEER, port),
            SocketAddrV4::new(OURS, 5000),
            b"x",
            false,
        );
    }
    let lengths: Vec<usize> = members
        .iter()
        .map(|&id| h.udp.sockets.get(id).unwrap().receive_queue.len())
        .collect();
    assert!(lengths.iter().all(|&n| n > 0 && n % 2 == 0), "{lengths:?}");
    assert_eq!(lengths.iter().sum::<usize>(), 200);
}

#[test]
fn receive_buffer_allows_one_overshoot() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.setopt(s, level::SOL_SOCKET, so::SO_RCVBUF, 0); // 2304 bytes
    for _ in 0..10 {
        h.arrive(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(OURS, 5000),
            &[0; 1000],
            false,
        );
    }
    // Measured: one 1000-byte datagram fits in 2304 bytes (an empty queue always takes one),
    // two 10-byte ones do, and nine 10-byte ones fit in 8192.
    assert_eq!(h.udp.sockets.get(s).unwrap().receive_queue.len(), 1);
    assert_eq!(h.udp.counters().receive_buffer_full, 9);
    let t = h.socket();
    h.bind(t, &sin(Ipv4Addr::UNSPECIFIED, 5001)).unwrap();
    h.setopt(t, level::SOL_SOCKET, so::SO_RCVBUF, 0);
    for _ in 0..10 {
        h.arrive(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(OURS, 5001),
            &[0; 10],
            false,
        );
    }
    assert_eq!(h.udp.sockets.get(t).unwrap().receive_queue.len(), 2);
    let u = h.socket();
    h.bind(u, &sin(Ipv4Addr::UNSPECIFIED, 5002)).unwrap();
    h.setopt(u, level::SOL_SOCKET, so::SO_RCVBUF, 4096);
    for _ in 0..100 {
        h.arrive(
            SocketAddrV4::new(PEER, 7),
            SocketAddrV4::new(OURS, 5002),
            &[0; 10],
            false,
        );
    }
    assert_eq!(h.udp.sockets.get(u).unwrap().receive_queue.len(), 9);
}

#[test]
fn icmp_errors_reach_connected_sockets_or_recverr() {
    let mut h = Harness::new();
    let s = h.socket();
    h.connect(s, &sin(PEER, 1)).unwrap();
    let port = h.local(s).port();
    let mut quoted = port.to_be_bytes().to_vec();
    quoted.extend_from_slice(&1u16.to_be_bytes());
    quoted.extend_from_slice(&[0, 8, 0, 0]);
    let error = IcmpError {
        icmp_type: 3,
        icmp_code: 3,
        errno: Errno::ECONNREFUSED,
        fatal: true,
        info: 0,
        offender: PEER,
        local: false,
        quoted_src: OURS,
        quoted_dst: PEER,
        quoted_protocol: 17,
        quoted_payload: &quoted,
        datagram: None,
    };
    let before = h.udp.activity(s);
    h.udp.icmp_error(Instant::ZERO, &error);
    assert_ne!(h.udp.activity(s), before);
    assert_ne!(h.udp.poll(s) & POLLERR, 0);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::ECONNREFUSED);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EAGAIN);
    // Time exceeded is soft: ignored without IP_RECVERR, reported with it.
    let soft = IcmpError {
        icmp_type: 11,
        icmp_code: 0,
        errno: Errno::EHOSTUNREACH,
        fatal: false,
        ..error
    };
    h.udp.icmp_error(Instant::ZERO, &soft);
    assert_eq!(h.udp.poll(s) & POLLERR, 0);
    h.setopt(s, level::SOL_IP, ip::IP_RECVERR, 1);
    h.udp.icmp_error(Instant::ZERO, &soft);
    let so_error = h
        .udp
        .getsockopt_with(&h.net, s, level::SOL_SOCKET, so::SO_ERROR, 4)
        .unwrap();
    assert_eq!(so_error, 113i32.to_ne_bytes().to_vec());
}

#[test]
fn shutdown_read_semantics() {
    let mut h = Harness::new();
    let s = h.socket();
    assert_eq!(h.udp.poll(s), POLLOUT | POLLWRNORM | POLLWRBAND);
    assert_eq!(h.udp.shutdown(s, Shutdown::Read), Err(Errno::ENOTCONN));
    assert_eq!(
        h.udp.poll(s),
        POLLOUT | POLLWRNORM | POLLWRBAND | POLLIN | POLLRDNORM | POLLRDHUP
    );
    // Measured: recv(MSG_DONTWAIT) is EAGAIN, a blocking recv returns 0.
    assert_eq!(h.recv(s, 10, 0, MSG_DONTWAIT).unwrap_err(), Errno::EAGAIN);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap().0.len, 0);
    h.udp.shutdown(s, Shutdown::Write).unwrap_err();
    assert_ne!(h.udp.poll(s) & POLLHUP, 0);
    // Measured: data queued before or after SHUT_RD is still read; with a negative
    // SO_RCVTIMEO (never wait) an empty queue is EAGAIN even for a blocking call.
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"abc",
        false,
    );
    assert_eq!(h.recv(s, 10, 0, 0).unwrap().0.len, 3);
    let mut never = (-1i64).to_ne_bytes().to_vec();
    never.extend_from_slice(&0i64.to_ne_bytes());
    h.udp
        .setsockopt_with(&h.net, s, level::SOL_SOCKET, so::SO_RCVTIMEO_OLD, &never)
        .unwrap();
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EAGAIN);
}

#[test]
fn ip_mtu_follows_the_cached_route() {
    let mut h = Harness::new();
    let s = h.socket();
    let get = |h: &Harness| {
        h.udp
            .getsockopt_with(&h.net, s, level::SOL_IP, ip::IP_MTU, 4)
    };
    assert_eq!(get(&h), Err(Errno::ENOTCONN));
    h.connect(s, &sin(PEER, 7)).unwrap();
    assert_eq!(get(&h), Ok(1500i32.to_ne_bytes().to_vec()));
    h.setopt(s, level::SOL_IP, ip::IP_TOS, 0x10);
    assert_eq!(get(&h), Err(Errno::ENOTCONN));
    h.send(s, b"x", None, 0).unwrap();
    assert_eq!(get(&h), Ok(1500i32.to_ne_bytes().to_vec()));
}

#[test]
fn stale_ids_are_ebadf() {
    let mut h = Harness::new();
    let s = h.socket();
    h.udp.close(Instant::ZERO, s);
    assert_eq!(h.udp.check(s), Err(Errno::EBADF));
    assert_eq!(h.udp.poll(s), POLLNVAL);
    assert_eq!(h.send(s, b"x", None, 0), Err(Errno::EBADF));
}

#[test]
fn udp_segment_splits_one_send_into_datagrams() {
    let mut h = Harness::new();
    let s = h.socket();
    let mut control = Vec::new();
    control.extend_from_slice(&18u64.to_ne_bytes());
    control.extend_from_slice(&17i32.to_ne_bytes());
    control.extend_from_slice(&103i32.to_ne_bytes());
    control.extend_from_slice(&1000u16.to_ne_bytes());
    control.resize(24, 0);
    assert_eq!(
        h.send_control(s, &[1; 2500], Some(&sin(PEER, 7)), &control, 0),
        Ok(2500)
    );
    let sizes: Vec<usize> = h.net.sent.iter().map(|d| d.5.len() - 8).collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    // A segment that cannot fit the MTU is EMSGSIZE (udp_send_skb, measured).
    control[16..18].copy_from_slice(&1473u16.to_ne_bytes());
    assert_eq!(
        h.send_control(s, &[1; 2500], Some(&sin(PEER, 7)), &control, 0),
        Err(Errno::EMSGSIZE)
    );
    // More than UDP_MAX_SEGMENTS segments is EINVAL too.
    control[16..18].copy_from_slice(&100u16.to_ne_bytes());
    assert_eq!(
        h.send_control(s, &[1; 20000], Some(&sin(PEER, 7)), &control, 0),
        Err(Errno::EINVAL)
    );
}

/// The SIOCGSTAMP bytes (struct timeval, two 64-bit fields) for a time.
fn timeval(stamp: WallTime) -> Vec<u8> {
    let mut bytes = stamp.sec.to_ne_bytes().to_vec();
    bytes.extend_from_slice(&(stamp.nsec / 1000).to_ne_bytes());
    bytes
}

const ARRIVAL: WallTime = WallTime {
    sec: 1_700_000_000,
    nsec: 123_456_789,
};

/// sock_recv_cmsgs + sock_gettstamp: ctests udp_echo (SO_TIMESTAMP on: ENOENT after a read)
/// and the kernel's own rules (include/net/sock.h, net/core/sock.c).
#[test]
fn siocgstamp_follows_sk_stamp() {
    const SIOCGSTAMP: u64 = 0x8906;
    const SIOCGSTAMPNS: u64 = 0x8907;
    const SIOCGSTAMP_NEW: u64 = 0x8010_8906;
    let mut h = Harness::new();
    let from = SocketAddrV4::new(PEER, 7);
    let to = SocketAddrV4::new(OURS, 5000);

    // A plain read writes 0: SIOCGSTAMP answers the current time, keeps it, and from then on
    // receives record their own time.
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.arrive(from, to, b"one", false);
    h.recv(s, 10, 0, 0).unwrap();
    assert_eq!(
        h.udp.ioctl(s, SIOCGSTAMP, WALL_NOW).unwrap(),
        timeval(WALL_NOW)
    );
    let later = WallTime {
        sec: WALL_NOW.sec + 5,
        nsec: 0,
    };
    assert_eq!(
        h.udp.ioctl(s, SIOCGSTAMP_NEW, later).unwrap(),
        timeval(WALL_NOW)
    );
    h.arrive(from, to, b"two", false);
    h.recv(s, 10, 0, MSG_PEEK).unwrap();
    let mut nanoseconds = ARRIVAL.sec.to_ne_bytes().to_vec();
    nanoseconds.extend_from_slice(&ARRIVAL.nsec.to_ne_bytes());
    assert_eq!(h.udp.ioctl(s, SIOCGSTAMPNS, later).unwrap(), nanoseconds);
    h.udp.close(Instant::ZERO, s);

    // SO_TIMESTAMP on: the time goes into the control message, sk_stamp stays unset.
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.setopt(s, level::SOL_SOCKET, so::SO_TIMESTAMP_OLD, 1);
    h.arrive(from, to, b"three", false);
    h.recv(s, 10, 64, 0).unwrap();
    assert_eq!(h.udp.ioctl(s, SIOCGSTAMP, WALL_NOW), Err(Errno::ENOENT));
    // Turned off again, SOCK_TIMESTAMP stays: the next read records the datagram's time.
    h.setopt(s, level::SOL_SOCKET, so::SO_TIMESTAMP_OLD, 0);
    h.arrive(from, to, b"four", false);
    h.recv(s, 10, 0, 0).unwrap();
    assert_eq!(
        h.udp.ioctl(s, SIOCGSTAMP, WALL_NOW).unwrap(),
        timeval(ARRIVAL)
    );
}

/// inet_getname: a socket connected to port 0 is connected (it sends) but has no peer name;
/// ctests udp_connect.
#[test]
fn getpeername_of_a_socket_connected_to_port_zero() {
    let mut h = Harness::new();
    let s = h.socket();
    h.connect(s, &sin(PEER, 0)).unwrap();
    assert_eq!(h.udp.peer_addr(s), Err(Errno::ENOTCONN));
    assert_eq!(h.send(s, b"x", None, 0), Ok(1));
    h.connect(s, &sin(PEER, 9)).unwrap();
    assert_eq!(h.udp.peer_addr(s), Ok(SocketAddrV4::new(PEER, 9)));
}

/// udp_send_skb: SO_NO_CHECK sends UDP with checksum 0; UDP-Lite keeps its checksum.
#[test]
fn so_no_check_sends_checksum_zero() {
    let mut h = Harness::new();
    let s = h.socket();
    let dest = sin(PEER, 9);
    h.send(s, b"sum", Some(&dest), 0).unwrap();
    let with_sum = h.net.sent.last().unwrap().5.clone();
    assert_ne!(&with_sum[6..8], &[0, 0]);
    h.setopt(s, level::SOL_SOCKET, so::SO_NO_CHECK, 1);
    h.send(s, b"sum", Some(&dest), 0).unwrap();
    let without = h.net.sent.last().unwrap().5.clone();
    assert_eq!(&without[6..8], &[0, 0]);
    assert_eq!(
        (&without[..6], &without[8..]),
        (&with_sum[..6], &with_sum[8..])
    );

    let lite = h.udp.socket(136, Credentials::default()).unwrap();
    h.setopt(lite, level::SOL_SOCKET, so::SO_NO_CHECK, 1);
    h.send(lite, b"sum", Some(&dest), 0).unwrap();
    assert_ne!(&h.net.sent.last().unwrap().5[6..8], &[0, 0]);
}

/// __sock_set_mark → sk_dst_reset: a new mark drops the cached route, as IP_TOS does.
#[test]
fn so_mark_needs_privilege_and_resets_the_route() {
    let mut h = Harness::new();
    let s = h.socket();
    h.connect(s, &sin(PEER, 9)).unwrap();
    assert!(h
        .udp
        .getsockopt_with(&h.net, s, level::SOL_IP, ip::IP_MTU, 4)
        .is_ok());
    assert_eq!(
        h.udp.setsockopt_with(
            &h.net,
            s,
            level::SOL_SOCKET,
            so::SO_MARK,
            &0i32.to_ne_bytes()
        ),
        Err(Errno::EPERM)
    );
    let admin = h
        .udp
        .socket(
            17,
            Credentials {
                cap_net_admin: true,
                ..Credentials::default()
            },
        )
        .unwrap();
    h.connect(admin, &sin(PEER, 9)).unwrap();
    h.setopt(admin, level::SOL_SOCKET, so::SO_MARK, 7);
    assert_eq!(
        h.udp
            .getsockopt_with(&h.net, admin, level::SOL_SOCKET, so::SO_MARK, 4),
        Ok(7i32.to_ne_bytes().to_vec())
    );
    assert_eq!(
        h.udp
            .getsockopt_with(&h.net, admin, level::SOL_IP, ip::IP_MTU, 4),
        Err(Errno::ENOTCONN)
    );
}

/// Each wakeup carries the key of the kernel callback that raises it (ctests
/// readiness_epoll_edge_kinds: an EPOLLIN|EPOLLET item is not re-queued by a send, an
/// EPOLLOUT|EPOLLET one not by an arrival).
#[test]
fn wakeups_are_counted_by_kind() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    let start = h.udp.wakeups(s);
    h.send(s, b"x", Some(&sin(PEER, 9)), 0).unwrap();
    let after_send = h.udp.wakeups(s);
    assert_eq!(
        (after_send.readable, after_send.other),
        (start.readable, start.other)
    );
    assert_ne!(after_send.writable, start.writable);
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"in",
        false,
    );
    let after_arrival = h.udp.wakeups(s);
    assert_eq!(
        (after_arrival.writable, after_arrival.other),
        (after_send.writable, after_send.other)
    );
    assert_ne!(after_arrival.readable, after_send.readable);
    assert_eq!(h.udp.shutdown(s, Shutdown::Read), Err(Errno::ENOTCONN));
    let after_shutdown = h.udp.wakeups(s);
    assert_ne!(after_shutdown.other, after_arrival.other);
    assert_eq!(h.udp.activity(s), after_shutdown.total());
}

/// do_recvmmsg's kept error: reported once by the next receive (before queued data) or by
/// SO_ERROR (ctests mmsg).
#[test]
fn pending_error_set_by_the_caller_is_reported_once() {
    let mut h = Harness::new();
    let s = h.socket();
    h.bind(s, &sin(Ipv4Addr::UNSPECIFIED, 5000)).unwrap();
    h.arrive(
        SocketAddrV4::new(PEER, 7),
        SocketAddrV4::new(OURS, 5000),
        b"in",
        false,
    );
    h.udp.set_pending_error(s, Errno::EFAULT).unwrap();
    assert_ne!(h.udp.poll(s) & POLLERR, 0);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EFAULT);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap().0.len, 2);
    h.udp.set_pending_error(s, Errno::EFAULT).unwrap();
    assert_eq!(
        h.udp
            .getsockopt_with(&h.net, s, level::SOL_SOCKET, so::SO_ERROR, 4),
        Ok(14i32.to_ne_bytes().to_vec())
    );
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::EAGAIN);
}

/// setsockopt with a value at a bad address: the kernel's checks before its copy, EFAULT at
/// the copy (measured natively; ctests sockopt_copy).
#[test]
fn setsockopt_of_an_unreadable_value() {
    let mut h = Harness::new();
    let s = h.socket();
    let mut unreadable = |level, name, optlen| {
        h.udp
            .setsockopt_unreadable_with(&h.net, s, level, name, optlen)
    };
    assert_eq!(
        unreadable(level::SOL_SOCKET, so::SO_RCVBUF, 1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        unreadable(level::SOL_SOCKET, so::SO_RCVBUF, 4),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        unreadable(level::SOL_SOCKET, so::SO_LINGER, 4),
        Err(Errno::EFAULT)
    );
    assert_eq!(unreadable(level::SOL_SOCKET, 9999, 4), Err(Errno::EFAULT));
    assert_eq!(unreadable(level::SOL_IP, 200, 4), Err(Errno::EOPNOTSUPP));
    assert_eq!(unreadable(level::SOL_IP, ip::IP_TTL, 1), Err(Errno::EFAULT));
    assert_eq!(unreadable(level::SOL_IP, ip::IP_TTL, 0), Err(Errno::EINVAL));
    assert_eq!(unreadable(level::SOL_IP, ip::IP_TOS, 0), Ok(()));
    assert_eq!(unreadable(level::SOL_IP, 999, 4), Err(Errno::ENOPROTOOPT));
    assert_eq!(
        unreadable(level::SOL_IP, ip::IP_MTU, 4),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(unreadable(level::SOL_UDP, 1, 1), Err(Errno::EINVAL));
    assert_eq!(unreadable(level::SOL_UDP, 999, 4), Err(Errno::EFAULT));
    assert_eq!(unreadable(1234, 1, 4), Err(Errno::ENOPROTOOPT));
}

/// udp_setsockopt / udp_getsockopt take SOL_UDPLITE (136) like SOL_UDP on a UDP socket;
/// the UDP-Lite coverage options stay refused there (measured).
#[test]
fn sol_udplite_level_on_a_udp_socket() {
    let mut h = Harness::new();
    let s = h.socket();
    h.setopt(s, level::SOL_UDPLITE, 104, 1);
    assert_eq!(
        h.udp.getsockopt_with(&h.net, s, level::SOL_UDP, 104, 4),
        Ok(1i32.to_ne_bytes().to_vec())
    );
    assert_eq!(
        h.udp
            .setsockopt_with(&h.net, s, level::SOL_UDPLITE, 10, &8i32.to_ne_bytes()),
        Err(Errno::ENOPROTOOPT)
    );
}

/// A payload the shim could not read fails at the kernel's copy, after every other check
/// (ctests send_errno_order): the pending error first, then EFAULT; EMSGSIZE and EPIPE before
/// it; a corked send with an unreadable part drops the whole pending datagram.
#[test]
fn unreadable_payload_is_efault_after_the_other_checks() {
    let mut h = Harness::new();
    let s = h.socket();
    h.connect(s, &sin(PEER, 9)).unwrap();
    let unreadable = |h: &mut Harness, len: usize, flags: i32| {
        let placeholder = vec![0u8; len];
        h.udp.send_with(
            Instant::ZERO,
            &mut h.net,
            s,
            SendArgs {
                data: &placeholder,
                dest: None,
                control: &[],
                flags,
            },
            Payload::Unreadable,
        )
    };
    h.udp.set_pending_error(s, Errno::ECONNREFUSED).unwrap();
    assert_eq!(unreadable(&mut h, 5, 0), Err(Errno::ECONNREFUSED));
    assert_eq!(unreadable(&mut h, 5, 0), Err(Errno::EFAULT));
    assert_eq!(unreadable(&mut h, 70000, 0), Err(Errno::EMSGSIZE));
    assert!(h.net.sent.is_empty());
    h.send(s, b"a", None, MSG_MORE).unwrap();
    assert_eq!(unreadable(&mut h, 5, 0), Err(Errno::EFAULT));
    h.send(s, b"b", None, 0).unwrap();
    assert_eq!(h.net.sent.len(), 1);
    assert_eq!(&h.net.sent[0].5[8..], b"b");
    assert_eq!(h.udp.shutdown(s, Shutdown::Write), Ok(()));
    assert_eq!(unreadable(&mut h, 5, 0), Err(Errno::EPIPE));
}

/// UDP_CORK: sends are held as with MSG_MORE until the option is cleared, which sends the
/// pending datagram (udp_lib_setsockopt → udp_push_pending_frames); any non-zero value reads
/// back as 1 (ctests sockopt_copy).
#[test]
fn udp_cork_holds_sends_until_cleared() {
    const UDP_CORK: i32 = 1;
    let mut h = Harness::new();
    let s = h.socket();
    let cork = |h: &mut Harness, value: i32| {
        h.udp
            .setsockopt_with(&h.net, s, level::SOL_UDP, UDP_CORK, &value.to_ne_bytes())
            .unwrap();
        h.udp
            .uncork_if_cleared(Instant::ZERO, &mut h.net, s, level::SOL_UDP, UDP_CORK)
            .unwrap();
    };
    cork(&mut h, 7);
    assert_eq!(
        h.udp
            .getsockopt_with(&h.net, s, level::SOL_UDP, UDP_CORK, 4),
        Ok(1i32.to_ne_bytes().to_vec())
    );
    let dest = sin(PEER, 9);
    h.send(s, b"ab", Some(&dest), 0).unwrap();
    h.send(s, b"cd", None, 0).unwrap();
    assert!(h.net.sent.is_empty());
    // Clearing an already clear cork with nothing pending sends nothing.
    cork(&mut h, 0);
    assert_eq!(h.net.sent.len(), 1);
    assert_eq!(&h.net.sent[0].5[8..], b"abcd");
    assert_eq!(
        h.udp
            .getsockopt_with(&h.net, s, level::SOL_UDP, UDP_CORK, 4),
        Ok(0i32.to_ne_bytes().to_vec())
    );
    cork(&mut h, 0);
    assert_eq!(h.net.sent.len(), 1);
    h.send(s, b"e", Some(&dest), 0).unwrap();
    assert_eq!(h.net.sent.len(), 2);
}

/// datagram_poll: with SO_SELECT_ERR_QUEUE a pending error raises POLLPRI with POLLERR
/// (measured natively: revents 0xa instead of 0x8).
#[test]
fn select_err_queue_adds_pollpri_to_a_pending_error() {
    let mut h = Harness::new();
    let s = h.socket();
    h.udp.set_pending_error(s, Errno::ECONNREFUSED).unwrap();
    assert_eq!(h.udp.poll(s) & (POLLERR | POLLPRI), POLLERR);
    h.setopt(s, level::SOL_SOCKET, so::SO_SELECT_ERR_QUEUE, 1);
    assert_eq!(h.udp.poll(s) & (POLLERR | POLLPRI), POLLERR | POLLPRI);
    assert_eq!(h.recv(s, 10, 0, 0).unwrap_err(), Errno::ECONNREFUSED);
    assert_eq!(h.udp.poll(s) & (POLLERR | POLLPRI), 0);
}
