//! Packet-script harness for TCP: a `TcpLayer` in virtual time, a scripted network that
//! routes everything through eth0 (198.18.0.2/24), a peer whose segments are built here
//! byte by byte (not with the stack's own wire code), and the stack's output parsed back.
#![allow(dead_code)] // each test binary uses its own subset

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use stack::ipv4::{InboundDatagram, Ipv4Layer, Route};
use stack::socket::{RecvArgs, SendArgs, SocketId};
use stack::tcp::{Network, OutSegment, TcpLayer};
use stack::transport::{Delivery, IcmpError, Transports};
use stack::wire::checksum;
use stack::wire::tcp::{flags, Repr};
use stack::{Credentials, Instant, InterfaceConfig, RxMeta, StackConfig, Sysctls};

pub mod fastopen;
pub mod link;
pub mod packetdrill;

pub const OURS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const PEER_PORT: u16 = 5555;

pub const ACK: u8 = flags::ACK;
pub const FIN: u8 = flags::FIN;
pub const PSH: u8 = flags::PSH;
pub const RST: u8 = flags::RST;
pub const SYN: u8 = flags::SYN;

/// The network side of a script: a real `Ipv4Layer` answers routing questions and
/// validates the peer's frames before TCP sees them; what TCP sends is taken from its queue
/// directly (no ARP in the way).
pub struct ScriptNetwork {
    pub ip: Ipv4Layer,
}

impl Network for ScriptNetwork {
    fn route(&self, dst: Ipv4Addr) -> Result<Route, stack::Errno> {
        Network::route(&self.ip, dst)
    }

    fn is_local_address(&self, addr: Ipv4Addr) -> bool {
        Network::is_local_address(&self.ip, addr)
    }

    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool {
        Network::is_broadcast_address(&self.ip, addr)
    }
}

struct TcpOnly<'a> {
    tcp: &'a mut TcpLayer,
}

impl Transports for TcpOnly<'_> {
    fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery {
        if datagram.protocol == 6 {
            self.tcp.deliver(now, datagram)
        } else {
            Delivery::ProtocolUnreachable
        }
    }

    fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) {
        if error.quoted_protocol == 6 {
            self.tcp.icmp_error(now, error);
        }
    }
}

/// Ethernet + IPv4 (20-byte header, DF, TTL 64) around a transport segment, built here.
pub fn frame(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
    out.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + segment.len()) as u16;
    let mut header = vec![0x45, 0];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, 6, 0, 0]);
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let sum = checksum::checksum(&header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(segment);
    out
}

pub fn config(seed: u64) -> StackConfig {
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
        random_seed: seed,
    }
}

/// A segment the stack sent, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub source_port: u16,
    pub destination_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
    pub sacks: Vec<(u32, u32)>,
    pub urgent_pointer: u16,
    pub payload: Vec<u8>,
}

impl Sent {
    pub fn parse(segment: &OutSegment) -> Sent {
        let repr = Repr::parse(&segment.bytes, segment.src, segment.dst, false)
            .expect("the stack sent a segment whose checksum does not verify");
        Sent {
            src: segment.src,
            dst: segment.dst,
            source_port: repr.source_port,
            destination_port: repr.destination_port,
            seq: repr.seq,
            ack: repr.ack,
            flags: repr.flags,
            window: repr.window,
            mss: repr.options.mss,
            window_scale: repr.options.window_scale,
            sack_permitted: repr.options.sack_permitted,
            timestamps: repr.options.timestamps,
            sacks: repr
                .options
                .sacks()
                .iter()
                .map(|block| (block.left, block.right))
                .collect(),
            urgent_pointer: repr.urgent_pointer,
            payload: repr.payload.to_vec(),
        }
    }

    pub fn is(&self, wanted: u8) -> bool {
        self.flags == wanted
    }
}

/// A segment from the peer, built without the stack's wire code.
#[derive(Debug, Clone)]
pub struct PeerSegment {
    pub source_port: u16,
    pub destination_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub urgent_pointer: u16,
    pub options: Vec<u8>,
    pub payload: Vec<u8>,
}

impl PeerSegment {
    pub fn new(flags: u8, seq: u32, ack: u32) -> PeerSegment {
        PeerSegment {
            source_port: PEER_PORT,
            destination_port: 0,
            seq,
            ack,
            flags,
            window: 65535,
            urgent_pointer: 0,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    pub fn addressed_to(mut self, port: u16) -> Self {
        self.destination_port = port;
        self
    }

    pub fn coming_from(mut self, port: u16) -> Self {
        self.source_port = port;
        self
    }

    pub fn window(mut self, window: u16) -> Self {
        self.window = window;
        self
    }

    pub fn data(mut self, payload: &[u8]) -> Self {
        self.payload = payload.to_vec();
        self
    }

    /// MSS 1460, SACK_PERM, TS, NOP, WS 7: a Linux SYN's options.
    pub fn linux_syn_options(mut self, tsval: u32, tsecr: u32) -> Self {
        self.options = vec![2, 4, 0x05, 0xb4, 4, 2, 8, 10];
        self.options.extend_from_slice(&tsval.to_be_bytes());
        self.options.extend_from_slice(&tsecr.to_be_bytes());
        self.options.extend_from_slice(&[1, 3, 3, 7]);
        self
    }

    /// Only MSS 1460: an old-fashioned SYN (no scaling, timestamps or SACK).
    pub fn mss_only(mut self) -> Self {
        self.options = vec![2, 4, 0x05, 0xb4];
        self
    }

    pub fn timestamps(mut self, tsval: u32, tsecr: u32) -> Self {
        self.options = vec![1, 1, 8, 10];
        self.options.extend_from_slice(&tsval.to_be_bytes());
        self.options.extend_from_slice(&tsecr.to_be_bytes());
        self
    }

    pub fn sack(mut self, blocks: &[(u32, u32)]) -> Self {
        self.options
            .extend_from_slice(&[1, 1, 5, (2 + 8 * blocks.len()) as u8]);
        for (left, right) in blocks {
            self.options.extend_from_slice(&left.to_be_bytes());
            self.options.extend_from_slice(&right.to_be_bytes());
        }
        self
    }

    pub fn bytes(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut options = self.options.clone();
        while !options.len().is_multiple_of(4) {
            options.push(0);
        }
        let header_len = 20 + options.len();
        let mut out = Vec::with_capacity(header_len + self.payload.len());
        out.extend_from_slice(&self.source_port.to_be_bytes());
        out.extend_from_slice(&self.destination_port.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        out.push(((header_len / 4) as u8) << 4);
        out.push(self.flags);
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.urgent_pointer.to_be_bytes());
        out.extend_from_slice(&options);
        out.extend_from_slice(&self.payload);
        let acc = checksum::pseudo_header(src, dst, 6, out.len() as u32);
        let sum = !checksum::fold(checksum::accumulate(acc, &out));
        out[16..18].copy_from_slice(&sum.to_be_bytes());
        out
    }
}

pub struct Script {
    pub tcp: TcpLayer,
    pub now: Instant,
    pub net: ScriptNetwork,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    pub fn new() -> Script {
        Script::with_sysctls(Sysctls::default())
    }

    /// A script on a host whose /proc/sys values are `sysctls`.
    pub fn with_sysctls(sysctls: Sysctls) -> Script {
        let mut config = config(7);
        config.sysctls = sysctls;
        Script {
            tcp: TcpLayer::new(&config),
            now: Instant::from_millis(1_000),
            net: ScriptNetwork {
                ip: Ipv4Layer::new(&config),
            },
        }
    }

    /// Moves virtual time on by `millis`, running every timer due on the way.
    pub fn advance(&mut self, millis: u64) {
        let target = self.now + Duration::from_millis(millis);
        for _ in 0..100_000 {
            match self.tcp.poll_at() {
                Some(at) if at <= target => {
                    self.now = self.now.max(at);
                    self.tcp.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = target;
    }

    pub fn deliver(&mut self, segment: &PeerSegment) {
        self.deliver_from(PEER, segment);
    }

    pub fn deliver_from(&mut self, src: Ipv4Addr, segment: &PeerSegment) {
        self.deliver_frame(&frame(src, OURS, &segment.bytes(src, OURS)));
    }

    /// Raw TCP bytes (any content, checksum as given) from `src`, inside a valid IPv4 frame.
    pub fn deliver_segment_bytes(&mut self, src: Ipv4Addr, segment: &[u8]) {
        self.deliver_frame(&frame(src, OURS, segment));
    }

    /// A whole Ethernet frame, built by the test (a TOS of its own, say), through IPv4.
    pub fn deliver_frame(&mut self, bytes: &[u8]) {
        let mut upper = TcpOnly { tcp: &mut self.tcp };
        self.net
            .ip
            .handle_frame(self.now, bytes, RxMeta::default(), &mut upper);
    }

    /// An ICMP error from the peer quoting `about` (IP header + the first 8 TCP bytes).
    /// `rest`: the 4 bytes after the checksum (next-hop MTU for fragmentation needed).
    pub fn deliver_icmp(&mut self, icmp_type: u8, code: u8, rest: [u8; 4], about: &Sent) {
        let mut quoted = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
        let total = (40 + about.payload.len()) as u16;
        quoted[2..4].copy_from_slice(&total.to_be_bytes());
        quoted.extend_from_slice(&about.src.octets());
        quoted.extend_from_slice(&about.dst.octets());
        let sum = checksum::checksum(&quoted);
        quoted[10..12].copy_from_slice(&sum.to_be_bytes());
        quoted.extend_from_slice(&about.source_port.to_be_bytes());
        quoted.extend_from_slice(&about.destination_port.to_be_bytes());
        quoted.extend_from_slice(&about.seq.to_be_bytes());
        let mut message = vec![icmp_type, code, 0, 0];
        message.extend_from_slice(&rest);
        message.extend_from_slice(&quoted);
        let sum = checksum::checksum(&message);
        message[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut bytes = frame(PEER, OURS, &message);
        bytes[14 + 9] = 1;
        bytes[14 + 10] = 0;
        bytes[14 + 11] = 0;
        let sum = checksum::checksum(&bytes[14..34]);
        bytes[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
        self.deliver_frame(&bytes);
    }

    /// Everything the stack queued since the last call, parsed.
    pub fn sent(&mut self) -> Vec<Sent> {
        self.tcp.take_queued().iter().map(Sent::parse).collect()
    }

    /// Exactly one segment was sent; returns it.
    pub fn sent_one(&mut self) -> Sent {
        let sent = self.sent();
        assert_eq!(sent.len(), 1, "expected one segment, got {sent:#?}");
        sent.into_iter().next().unwrap()
    }

    pub fn socket(&mut self) -> SocketId {
        self.tcp.socket(Credentials::default())
    }

    pub fn connect(&mut self, id: SocketId, port: u16) -> Result<(), stack::Errno> {
        let addr = sockaddr(SocketAddrV4::new(PEER, port));
        self.tcp.connect(self.now, &self.net, id, &addr)
    }

    pub fn bind(&mut self, id: SocketId, port: u16) -> Result<(), stack::Errno> {
        let addr = sockaddr(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port));
        self.tcp.bind(&self.net, id, &addr)
    }

    pub fn send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, stack::Errno> {
        self.tcp.send(
            self.now,
            id,
            SendArgs {
                data,
                dest: None,
                control: &[],
                flags: 0,
            },
        )
    }

    pub fn recv(&mut self, id: SocketId, capacity: usize) -> Result<Vec<u8>, stack::Errno> {
        self.recv_flags(id, capacity, 0)
    }

    pub fn recv_flags(
        &mut self,
        id: SocketId,
        capacity: usize,
        flags: i32,
    ) -> Result<Vec<u8>, stack::Errno> {
        let mut buf = vec![0u8; capacity];
        let result = self.tcp.recv(
            self.now,
            id,
            RecvArgs {
                capacity,
                control_capacity: 0,
                flags,
            },
            &mut buf,
        )?;
        buf.truncate(result.len);
        Ok(buf)
    }

    pub fn setsockopt_int(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
        value: i32,
    ) -> Result<(), stack::Errno> {
        self.tcp
            .setsockopt(self.now, &self.net, id, level, name, &value.to_ne_bytes())
    }

    pub fn getsockopt_int(
        &mut self,
        id: SocketId,
        level: i32,
        name: i32,
    ) -> Result<i32, stack::Errno> {
        let bytes = self.tcp.getsockopt(&self.net, id, level, name, 4)?;
        let mut raw = [0u8; 4];
        raw[..bytes.len()].copy_from_slice(&bytes);
        Ok(i32::from_ne_bytes(raw))
    }
}

pub fn sockaddr(addr: SocketAddrV4) -> Vec<u8> {
    let mut out = vec![0u8; 16];
    out[0..2].copy_from_slice(&2u16.to_ne_bytes());
    out[2..4].copy_from_slice(&addr.port().to_be_bytes());
    out[4..8].copy_from_slice(&addr.ip().octets());
    out
}

/// An established connection from our socket to PEER:PEER_PORT, driven by the script:
/// returns (socket, our ISS + 1, the peer's ISS + 1, our local port).
pub fn established(script: &mut Script) -> (SocketId, u32, u32, u16) {
    let id = script.socket();
    assert_eq!(
        script.connect(id, PEER_PORT),
        Err(stack::Errno::EINPROGRESS)
    );
    let syn = script.sent_one();
    let peer_iss = 1_000_000u32;
    script.deliver(
        &PeerSegment::new(SYN | ACK, peer_iss, syn.seq.wrapping_add(1))
            .addressed_to(syn.source_port)
            .mss_only(),
    );
    let ack = script.sent_one();
    assert!(ack.is(ACK));
    assert_eq!(script.connect(id, PEER_PORT), Ok(()));
    (
        id,
        syn.seq.wrapping_add(1),
        peer_iss.wrapping_add(1),
        syn.source_port,
    )
}

// ----- Handshakes and teardowns the scripts share -----

/// The peer's initial sequence number when it opens a connection (`Script::peer_handshake`).
pub const PEER_CLIENT_ISS: u32 = 100;

impl Script {
    /// A socket bound to 0.0.0.0:`port`, listening with `backlog`.
    pub fn listening_on(&mut self, port: u16, backlog: i32) -> SocketId {
        let listener = self.socket();
        self.bind(listener, port).unwrap();
        self.tcp.listen(listener, backlog).unwrap();
        listener
    }

    /// The peer (PEER_PORT, ISS `PEER_CLIENT_ISS`, an MSS-only SYN) opens a connection to our
    /// `port`: returns the one segment we answered with (a SYN-ACK, or a reset).
    pub fn peer_sends_syn(&mut self, port: u16) -> Sent {
        let syn = PeerSegment::new(SYN, PEER_CLIENT_ISS, 0)
            .addressed_to(port)
            .mss_only();
        self.deliver(&syn);
        self.sent_one()
    }

    /// The peer's ACK of our `syn_ack` on `port`, the third segment of its handshake.
    pub fn peer_acks_syn_ack(&mut self, port: u16, syn_ack: &Sent) {
        let ack = PEER_CLIENT_ISS.wrapping_add(1);
        self.deliver(&PeerSegment::new(ACK, ack, syn_ack.seq.wrapping_add(1)).addressed_to(port));
    }

    /// The peer's whole handshake with our listener on `port`: returns our SYN-ACK.
    pub fn peer_handshake(&mut self, port: u16) -> Sent {
        let syn_ack = self.peer_sends_syn(port);
        assert!(syn_ack.is(SYN | ACK), "{syn_ack:?}");
        self.peer_acks_syn_ack(port, &syn_ack);
        syn_ack
    }

    /// A new socket connects to PEER:`port`: EINPROGRESS, and the SYN it sent.
    pub fn connect_sending_syn(&mut self, port: u16) -> (SocketId, Sent) {
        let id = self.socket();
        assert_eq!(self.connect(id, port), Err(stack::Errno::EINPROGRESS));
        let syn = self.sent_one();
        assert!(syn.is(SYN), "{syn:?}");
        (id, syn)
    }

    /// close() sends exactly one segment: returns it (a FIN, or a reset).
    pub fn close_sending(&mut self, id: SocketId) -> Sent {
        self.tcp.close(self.now, id);
        self.sent_one()
    }

    /// close() sends our FIN (with ACK): returns it.
    pub fn close_sending_fin(&mut self, id: SocketId) -> Sent {
        let fin = self.close_sending(id);
        assert!(fin.is(FIN | ACK), "{fin:?}");
        fin
    }

    /// shutdown(SHUT_WR) sends our FIN (with ACK): returns it.
    pub fn shutdown_sending_fin(&mut self, id: SocketId) -> Sent {
        let now = self.now;
        self.tcp
            .shutdown(now, id, stack::socket::Shutdown::Write)
            .unwrap();
        let fin = self.sent_one();
        assert!(fin.is(FIN | ACK), "{fin:?}");
        fin
    }

    /// getsockopt(SOL_TCP, TCP_INFO) with a buffer of `len` bytes.
    pub fn tcp_info(&mut self, id: SocketId, len: usize) -> Vec<u8> {
        const SOL_TCP: i32 = 6;
        const TCP_INFO: i32 = 11;
        self.tcp
            .getsockopt(&self.net, id, SOL_TCP, TCP_INFO, len)
            .unwrap()
    }
}

/// The native-endian u32 at byte `at` (a field of struct tcp_info).
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The native-endian u64 at byte `at`.
pub fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Like `established`, with a Linux SYN-ACK (MSS, SACK-permitted, timestamps, window scale 7)
/// from peer ISS 500000: a connection that negotiated SACK, timestamps and window scaling.
pub fn established_with_sack(script: &mut Script) -> (SocketId, u32, u32, u16) {
    let (id, syn) = script.connect_sending_syn(PEER_PORT);
    let peer_iss = 500_000u32;
    script.deliver(
        &PeerSegment::new(SYN | ACK, peer_iss, syn.seq.wrapping_add(1))
            .addressed_to(syn.source_port)
            .linux_syn_options(1, syn.timestamps.unwrap().0),
    );
    assert!(script.sent_one().is(ACK));
    assert_eq!(script.connect(id, PEER_PORT), Ok(()));
    (
        id,
        syn.seq.wrapping_add(1),
        peer_iss.wrapping_add(1),
        syn.source_port,
    )
}
