//! The test bench: one `Ipv4Layer` configured like the shim world of DESIGN.md (198.18.0.2/24,
//! gateway 198.18.0.1), a fake transport layer that records what it is handed, and builders
//! for the frames the peer sends.

use core::net::Ipv4Addr;

use crate::config::{InterfaceConfig, StackConfig, Sysctls};
use crate::ipv4::{InboundDatagram, Ipv4Layer, OutboundDatagram, PmtuMode};
use crate::time::Instant;
use crate::transport::{Delivery, IcmpError, Transports};
use crate::wire::arp;
use crate::wire::ethernet::{self, ethertype, MacAddress};
use crate::wire::icmp;
use crate::wire::ipv4;

pub const OUR_MAC: MacAddress = [2, 0, 0, 0, 0, 2];
pub const OUR_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const PEER_MAC: MacAddress = [2, 0, 0, 0, 0, 1];
/// The peer is also the gateway.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const NEIGHBOUR_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 7);
pub const NEIGHBOUR_MAC: MacAddress = [2, 0, 0, 0, 0, 7];
pub const REMOTE_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 2);
pub const IFINDEX: u32 = 2;

/// A datagram handed to the fake transports, copied out.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub ifindex: u32,
    pub link_broadcast: bool,
    pub ip_broadcast: bool,
    /// The receive time the datagram carries (a reassembled one: its latest fragment's).
    pub timestamp: crate::time::WallTime,
}

/// An ICMP error handed to the fake transports, copied out.
#[derive(Debug, Clone)]
pub struct Reported {
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub errno: crate::errno::Errno,
    pub fatal: bool,
    pub info: u32,
    pub offender: Ipv4Addr,
    pub local: bool,
    pub quoted_src: Ipv4Addr,
    pub quoted_dst: Ipv4Addr,
    pub quoted_protocol: u8,
    pub quoted_payload: Vec<u8>,
}

/// Records everything; answers deliveries with `answer`.
pub struct FakeTransports {
    pub answer: Delivery,
    /// What `accepts_path_mtu` answers (a socket found, not in INTERFACE/OMIT mode).
    pub accept_path_mtu: bool,
    pub delivered: Vec<Delivered>,
    pub errors: Vec<Reported>,
}

impl Transports for FakeTransports {
    fn deliver(&mut self, _now: Instant, d: &InboundDatagram<'_>) -> Delivery {
        self.delivered.push(Delivered {
            src: d.src,
            dst: d.dst,
            protocol: d.protocol,
            ttl: d.ttl,
            tos: d.tos,
            ident: d.ident,
            header: d.header.to_vec(),
            payload: d.payload.to_vec(),
            ifindex: d.ifindex,
            link_broadcast: d.link_broadcast,
            ip_broadcast: d.ip_broadcast,
            timestamp: d.meta.timestamp,
        });
        self.answer
    }

    fn accepts_path_mtu(&mut self, _error: &IcmpError<'_>) -> bool {
        self.accept_path_mtu
    }

    fn icmp_error(&mut self, _now: Instant, e: &IcmpError<'_>) {
        self.errors.push(Reported {
            icmp_type: e.icmp_type,
            icmp_code: e.icmp_code,
            errno: e.errno,
            fatal: e.fatal,
            info: e.info,
            offender: e.offender,
            local: e.local,
            quoted_src: e.quoted_src,
            quoted_dst: e.quoted_dst,
            quoted_protocol: e.quoted_protocol,
            quoted_payload: e.quoted_payload.to_vec(),
        });
    }
}

pub fn config() -> StackConfig {
    StackConfig {
        interface: InterfaceConfig {
            name: "eth0".into(),
            ifindex: IFINDEX,
            mac: OUR_MAC,
            mtu: 1500,
            addr: OUR_IP,
            prefix_len: 24,
            gateway: Some(PEER_IP),
        },
        sysctls: Sysctls::default(),
        random_seed: 42,
    }
}

pub struct Harness {
    pub ip: Ipv4Layer,
    pub upper: FakeTransports,
    pub now: Instant,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut StackConfig)) -> Harness {
        let mut config = config();
        adjust(&mut config);
        Harness {
            ip: Ipv4Layer::new(&config),
            upper: FakeTransports {
                answer: Delivery::Consumed,
                accept_path_mtu: true,
                delivered: Vec::new(),
                errors: Vec::new(),
            },
            // Start well past zero, as jiffies do, so "60 s ago" exists.
            now: Instant::from_millis(1_000_000),
        }
    }

    /// Virtual time, in milliseconds since the start of the script.
    pub fn at(&mut self, ms: u64) -> &mut Harness {
        let t = Instant::from_millis(1_000_000 + ms);
        assert!(t >= self.now, "time goes forward");
        self.now = t;
        self
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.now.as_millis() - 1_000_000
    }

    pub fn receive(&mut self, frame: &[u8]) -> bool {
        self.ip
            .handle_frame(self.now, frame, Default::default(), &mut self.upper)
    }

    pub fn send(&mut self, datagram: &OutboundDatagram<'_>) -> Result<(), crate::errno::Errno> {
        let result = self.ip.send(self.now, datagram);
        self.ip.run_loopback(self.now, &mut self.upper);
        result
    }

    /// Every frame waiting to go out.
    pub fn transmitted(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Some(frame) = self.ip.poll_transmit(self.now) {
            frames.push(frame);
        }
        frames
    }

    /// Exactly one frame went out, an IPv4 datagram from our MAC to the peer's: its header
    /// and payload.
    pub fn one_datagram_to_peer(&mut self) -> (ipv4::Repr, Vec<u8>) {
        let frames = self.transmitted();
        assert_eq!(frames.len(), 1);
        let (eth, ip, payload) = parse_ip(&frames[0]);
        assert_eq!(
            eth,
            ethernet::Repr {
                source: OUR_MAC,
                destination: PEER_MAC,
                ethertype: ethertype::IPV4
            }
        );
        (ip, payload)
    }

    /// Jumps to each timer up to `ms` (inclusive), firing it; returns the frames sent, with
    /// the time (ms since start) each was sent at.
    pub fn run_until(&mut self, ms: u64) -> Vec<(u64, Vec<u8>)> {
        let limit = Instant::from_millis(1_000_000 + ms);
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.ip.poll_at() {
                Some(deadline) if deadline <= limit => {
                    self.now = self.now.max(deadline);
                    self.ip.handle_timeout(self.now, &mut self.upper);
                    let at = self.elapsed_ms();
                    out.extend(self.transmitted().into_iter().map(|f| (at, f)));
                }
                _ => break,
            }
        }
        self.now = self.now.max(limit);
        out
    }

    /// The peer asks for our address; we answer and learn it (as STALE).
    pub fn peer_resolves_us(&mut self) {
        self.peer_asks_who_has(OUR_IP);
        let frames = self.transmitted();
        assert_eq!(frames.len(), 1, "one ARP reply");
    }

    /// The peer broadcasts "who has `target`? tell 198.18.0.1".
    pub fn peer_asks_who_has(&mut self, target: Ipv4Addr) -> bool {
        self.receive(&arp_frame(
            PEER_MAC,
            ethernet::BROADCAST,
            arp::operation::REQUEST,
            PEER_IP,
            [0; 6],
            target,
        ))
    }

    /// The neighbour answers our request, unicast: "NEIGHBOUR_IP is at NEIGHBOUR_MAC".
    pub fn neighbour_replies(&mut self) -> bool {
        self.receive(&arp_frame(
            NEIGHBOUR_MAC,
            OUR_MAC,
            arp::operation::REPLY,
            NEIGHBOUR_IP,
            OUR_MAC,
            OUR_IP,
        ))
    }
}

pub fn udp_out<'a>(dst: Ipv4Addr, payload: &'a [u8], mode: PmtuMode) -> OutboundDatagram<'a> {
    OutboundDatagram {
        src: Ipv4Addr::UNSPECIFIED,
        dst,
        protocol: 17,
        ttl: 64,
        tos: 0,
        pmtu_mode: mode,
        options: &[],
        socket_options: None,
        payload,
        dont_route: false,
        socket_ident: None,
        oif: None,
    }
}

/// A UDP segment with checksum 0 (none), enough for the network layer.
pub fn udp_segment(src_port: u16, dst_port: u16, data: &[u8]) -> Vec<u8> {
    let mut segment = Vec::with_capacity(8 + data.len());
    segment.extend_from_slice(&src_port.to_be_bytes());
    segment.extend_from_slice(&dst_port.to_be_bytes());
    segment.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    segment.extend_from_slice(&[0, 0]);
    segment.extend_from_slice(data);
    segment
}

pub fn arp_frame(
    from_mac: MacAddress,
    to_mac: MacAddress,
    op: u16,
    sender_ip: Ipv4Addr,
    target_mac: MacAddress,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let repr = arp::Repr {
        hardware_type: arp::hardware::ETHERNET,
        operation: op,
        source_hardware_addr: from_mac,
        source_protocol_addr: sender_ip,
        target_hardware_addr: target_mac,
        target_protocol_addr: target_ip,
    };
    ethernet::Repr {
        source: from_mac,
        destination: to_mac,
        ethertype: ethertype::ARP,
    }
    .frame(&repr.to_bytes())
}

pub fn ip_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> ipv4::Repr {
    ipv4::Repr {
        src,
        dst,
        protocol,
        tos: 0,
        ident: 0x4242,
        reserved_flag: false,
        dont_fragment: false,
        more_fragments: false,
        fragment_offset: 0,
        ttl: 64,
        options: ipv4::Options::EMPTY,
        payload_len: 0,
    }
}

/// An IPv4 frame from the peer's MAC to ours.
pub fn ip_frame(header: &ipv4::Repr, payload: &[u8]) -> Vec<u8> {
    ethernet::Repr {
        source: PEER_MAC,
        destination: OUR_MAC,
        ethertype: ethertype::IPV4,
    }
    .frame(&header.datagram(payload))
}

pub fn icmp_bytes(repr: &icmp::Repr<'_>) -> Vec<u8> {
    repr.to_bytes()
}

/// A frame the layer sent, taken apart.
#[derive(Debug)]
pub struct Sent {
    pub ethernet: ethernet::Repr,
    pub payload: Vec<u8>,
}

pub fn parse_sent(frame: &[u8]) -> Sent {
    let packet = ethernet::Packet::new_checked(frame).expect("a whole Ethernet header");
    Sent {
        ethernet: ethernet::Repr::parse(&packet).unwrap(),
        payload: packet.payload().to_vec(),
    }
}

pub fn parse_arp(frame: &[u8]) -> arp::Repr {
    let sent = parse_sent(frame);
    assert_eq!(sent.ethernet.ethertype, ethertype::ARP);
    assert_eq!(
        sent.payload.len(),
        arp::ETHERNET_IPV4_LEN,
        "no padding on output"
    );
    arp::Repr::parse(&arp::Packet::new_checked(&sent.payload[..]).unwrap()).unwrap()
}

/// The IPv4 header of a sent frame, and its payload.
pub fn parse_ip(frame: &[u8]) -> (ethernet::Repr, ipv4::Repr, Vec<u8>) {
    let sent = parse_sent(frame);
    assert_eq!(sent.ethernet.ethertype, ethertype::IPV4);
    let packet = ipv4::Packet::new_checked(&sent.payload[..]).unwrap();
    let repr = ipv4::Repr::parse(&packet).expect("valid IPv4 with a correct checksum");
    assert_eq!(
        sent.payload.len(),
        repr.buffer_len(),
        "no padding on output"
    );
    (sent.ethernet, repr, packet.payload().to_vec())
}

/// The ICMP message of a sent frame (checksum verified), with its type, code and rest word.
pub fn parse_icmp(payload: &[u8]) -> (u8, u8, [u8; 4], Vec<u8>) {
    let packet = icmp::Packet::new_checked(payload).unwrap();
    assert!(packet.verify_checksum());
    (
        packet.msg_type(),
        packet.msg_code(),
        packet.rest(),
        packet.data().to_vec(),
    )
}

impl Harness {
    pub fn counters(&self) -> crate::ipv4::Ipv4Counters {
        self.ip.counters()
    }
}
