//! One UDP socket: the fields of struct sock / inet_sock / udp_sock the layer uses.

use core::cell::Cell;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;

use crate::config::{Credentials, Sysctls};
use crate::errno::Errno;
use crate::socket::WakeupCounts;
use crate::sockopt::SocketOptions;
use crate::time::WallTime;
use crate::wire::udp::Flavor;

/// A received datagram waiting in the receive queue, with the metadata recvmsg's control
/// messages need later (gVisor keeps it the same way).
#[derive(Debug, Clone)]
pub(crate) struct QueuedDatagram {
    pub payload: Vec<u8>,
    pub source: SocketAddrV4,
    /// The IP destination (IP_PKTINFO ipi_addr).
    pub destination: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    /// ipi_ifindex and ipi_spec_dst as ipv4_pktinfo_prepare filled them when the datagram was
    /// queued; both 0 if IP_PKTINFO was off at that moment (the kernel only prepares them then).
    pub packet_info: Option<(u32, Ipv4Addr)>,
    pub timestamp: WallTime,
    /// What the datagram charges to the receive buffer (skb->truesize, see `truesize`).
    pub truesize: usize,
}

/// sk_stamp (include/net/sock.h): what SIOCGSTAMP reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReceiveStamp {
    /// SK_DEFAULT_STAMP (-1 s): nothing received yet; SIOCGSTAMP answers ENOENT.
    Unset,
    /// 0: a datagram was read while the socket did not record stamps; SIOCGSTAMP then answers
    /// the current time and keeps it.
    Zero,
    At(WallTime),
}

/// Data corked by MSG_MORE (udp_sock.pending + inet->cork): destination and parameters are
/// fixed by the first call; later calls only append.
#[derive(Debug, Clone)]
pub(crate) struct Cork {
    pub destination: SocketAddrV4,
    pub source: Ipv4Addr,
    pub ttl: u8,
    pub tos: u8,
    pub oif: Option<u32>,
    pub dont_route: bool,
    /// cork->fragsize: the MTU the length limit uses.
    pub mtu: u32,
    pub data: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct UdpSocket {
    pub flavor: Flavor,
    pub creds: Credentials,
    pub options: SocketOptions,
    /// inet_num: the local port, 0 while unbound.
    pub local_port: u16,
    /// inet_rcv_saddr: the address the socket receives on (0: any).
    pub receive_address: Ipv4Addr,
    /// inet_saddr: the source address it sends from (0: chosen by the route).
    pub source_address: Ipv4Addr,
    /// inet_daddr/inet_dport with sk_state == TCP_ESTABLISHED.
    pub peer: Option<SocketAddrV4>,
    /// SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK: set by an explicit bind, kept by disconnect.
    pub address_locked: bool,
    pub port_locked: bool,
    /// sk_dst_cache is set: connect and connected sends cache the route; IP_TOS, SO_DONTROUTE
    /// and disconnect reset it. IP_MTU answers ENOTCONN without it.
    pub route_cached: bool,
    /// inet_id: the IP ident counter of a connected socket (random at connect).
    pub ident: u16,
    pub receive_queue: VecDeque<QueuedDatagram>,
    /// sk_rmem_alloc.
    pub receive_memory: usize,
    pub read_shut: bool,
    pub write_shut: bool,
    /// sk_err: reported once by the next recv, send or SO_ERROR. A Cell because SO_ERROR
    /// clears it from getsockopt, which only borrows the socket.
    pub error: Cell<Option<Errno>>,
    /// Wakeups raised, by kind (sk_data_ready, sk_write_space, sk_error_report and
    /// sk_state_change).
    pub wakeups: WakeupCounts,
    /// sk_stamp, for SIOCGSTAMP.
    pub stamp: ReceiveStamp,
    pub cork: Option<Cork>,
    /// sk_drops.
    pub drops: u64,
    /// SOL_UDP options (udp_sock).
    pub udp: UdpOptions,
}

/// The SOL_UDP options that exist so far (udp_sock fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct UdpOptions {
    /// UDP_SEGMENT: the GSO size of every send (a UDP_SEGMENT cmsg overrides it).
    pub segment_size: u16,
    /// UDP_CORK (the CORK bit of udp_sock): every send is held as with MSG_MORE until the
    /// option is cleared, which sends what is pending.
    pub cork: bool,
    /// UDP_GRO: recorded; the stack never coalesces datagrams, so there is never a UDP_GRO
    /// control message to deliver (the kernel only sends one for a coalesced skb).
    pub gro: bool,
    /// UDP_NO_CHECK6_TX / UDP_NO_CHECK6_RX: IPv6-only switches, recorded.
    pub no_check6_tx: bool,
    pub no_check6_rx: bool,
    /// UDPLITE_SEND_CSCOV (pcslen) once set (UDPLITE_SEND_CC).
    pub lite_send_coverage: Option<u16>,
    /// UDPLITE_RECV_CSCOV (pcrlen) once set (UDPLITE_RECV_CC).
    pub lite_receive_coverage: Option<u16>,
}

impl UdpSocket {
    pub fn new(flavor: Flavor, creds: Credentials, sysctls: &Sysctls) -> UdpSocket {
        UdpSocket {
            flavor,
            creds,
            options: SocketOptions::new(sysctls),
            local_port: 0,
            receive_address: Ipv4Addr::UNSPECIFIED,
            source_address: Ipv4Addr::UNSPECIFIED,
            peer: None,
            address_locked: false,
            port_locked: false,
            route_cached: false,
            ident: 0,
            receive_queue: VecDeque::new(),
            receive_memory: 0,
            read_shut: false,
            write_shut: false,
            error: Cell::new(None),
            wakeups: WakeupCounts::default(),
            stamp: ReceiveStamp::Unset,
            cork: None,
            drops: 0,
            udp: UdpOptions::default(),
        }
    }

    pub fn is_bound(&self) -> bool {
        self.local_port != 0
    }

    /// sock_error: takes the pending error, if any.
    pub fn take_error(&self) -> Option<Errno> {
        self.error.take()
    }

    /// sk_data_ready: a datagram was queued.
    pub fn wake_readers(&mut self) {
        self.wakeups.readable = self.wakeups.readable.wrapping_add(1);
    }

    /// sk_write_space: send buffer space was freed (or SO_SNDBUF changed).
    pub fn wake_writers(&mut self) {
        self.wakeups.writable = self.wakeups.writable.wrapping_add(1);
    }

    /// sk_error_report (an error was set) or sk_state_change (shutdown).
    pub fn wake_all(&mut self) {
        self.wakeups.other = self.wakeups.other.wrapping_add(1);
    }
}

/// The memory corked data charges to the send buffer (sk_wmem_alloc, as SIOCOUTQ reads it).
/// Calibrated on this machine's loopback path: a corked 2-byte datagram reads 832. Model:
/// headers + payload + about 200 bytes of reserved headroom (hh_len, MAX_HEADER, alignment
/// slack), rounded to a cache line (SKB_DATA_ALIGN), plus struct skb_shared_info (320) and
/// struct sk_buff (256). Received datagrams carry their own truesize (`ipv4::skb`).
pub(crate) fn corked_truesize(ip_header_len: usize, payload_len: usize) -> usize {
    const HEADROOM: usize = 200;
    const SHARED_INFO: usize = 320;
    const SK_BUFF: usize = 256;
    let data = ip_header_len + crate::wire::udp::HEADER_LEN + payload_len + HEADROOM;
    data.div_ceil(64) * 64 + SHARED_INFO + SK_BUFF
}
