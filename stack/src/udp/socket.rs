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
    /// The IP options as received (after ip_options_compile wrote into them), for the
    /// IP_RECVOPTS control message; empty when the header had none.
    pub ip_options: Vec<u8>,
    /// What compiling them found, for IP_RETOPTS (ip_options_echo).
    pub compiled_options: crate::ipv4::options::CompiledOptions,
    /// IPCB(skb)->frag_max_size (IP_RECVFRAGSIZE): 0 unless reassembled.
    pub fragment_max_size: u16,
    /// The datagram arrived CHECKSUM_NONE: its UDP checksum is for software to verify (not
    /// offloaded, not looped back), and it has one (not 0).
    pub software_checksum: bool,
    /// skb->ip_summed == CHECKSUM_COMPLETE, which IP_CHECKSUM reports (with the sum of the
    /// payload): the kernel verifies a software checksum at once for datagrams of up to 76
    /// bytes (CHECKSUM_BREAK), and lazily for the others, which become COMPLETE when verified
    /// before the copy: udp_poll or SIOCINQ finding it first in the queue
    /// (first_packet_length), or a recvmsg that peeks or truncates it. A Cell because poll
    /// only borrows the socket. (The stack itself verified every checksum on arrival.)
    pub checksum_complete: Cell<bool>,
    /// IP_CHECKSUM's value for a datagram a socket filter trimmed: udp_lib_checksum_complete
    /// summed the whole payload before sk_filter_trim_cap, and pskb_trim keeps skb->csum
    /// (measured: the value covers the bytes cut off). None: the payload's own sum.
    pub checksum_before_trim: Option<u32>,
    /// SOCK_SKB_CB(skb)->dropcount (SO_RXQ_OVFL): sk_drops when the datagram was queued, 0 if
    /// the socket did not ask for it then (sock_skb_set_dropcount).
    pub drops_when_queued: u32,
    /// skb->mark and skb->priority (SO_RCVMARK, SO_RCVPRIORITY).
    pub tags: crate::socket::PacketTags,
    /// skb->peeked for an empty datagram: once MSG_PEEK has returned it, a peek with
    /// SO_PEEK_OFF skips it (__skb_try_recv_from_queue).
    pub peeked: bool,
    /// The port IP_ORIGDSTADDR reports (ip_cmsg_recv_dstaddr reads it at the transport
    /// header + 2): the UDP destination port; for an error-queue entry, whose transport
    /// header is its data, bytes 2..4 of the quoted payload, and None (no control message)
    /// when fewer than 4 bytes were quoted.
    pub original_destination_port: Option<u16>,
}

impl Default for QueuedDatagram {
    /// An empty datagram from and to 0.0.0.0:0, with no metadata; for building entries field
    /// by field (the error queue's copies of received ICMP errors).
    fn default() -> QueuedDatagram {
        QueuedDatagram {
            payload: Vec::new(),
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            destination: Ipv4Addr::UNSPECIFIED,
            ttl: 0,
            tos: 0,
            packet_info: None,
            timestamp: WallTime::default(),
            truesize: 0,
            ip_options: Vec::new(),
            compiled_options: Default::default(),
            fragment_max_size: 0,
            software_checksum: false,
            checksum_complete: Cell::new(false),
            checksum_before_trim: None,
            drops_when_queued: 0,
            tags: Default::default(),
            peeked: false,
            original_destination_port: None,
        }
    }
}

impl QueuedDatagram {
    /// __skb_checksum_complete on a datagram still CHECKSUM_NONE (it passed: the stack only
    /// queues good ones).
    pub fn complete_checksum(&self) {
        if self.software_checksum {
            self.checksum_complete.set(true);
        }
    }
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
    /// cork->opt and cork->addr (ip_setup_cork): the IP options of the first call and the
    /// final destination a source route in them ends at.
    pub ip_options: crate::ipv4::socket_options::SocketIpOptions,
    pub final_destination: Ipv4Addr,
    /// The skb's mark and priority (SO_MARK, SO_PRIORITY or their control messages).
    pub tags: crate::socket::PacketTags,
    pub data: Vec<u8>,
    /// cork->tx_flags and the tskey of the first call (transmit timestamps).
    pub transmit_request: crate::tx_timestamp::TransmitRequest,
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
    /// The cached route itself (sk_dst_cache), as connect or the last connected send looked
    /// it up: IP_MTU reads its MTU (`Network::cached_route_mtu`).
    pub route_snapshot: Option<crate::ipv4::Route>,
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
    /// sk_error_queue (IP_RECVERR): ICMP and local errors waiting for MSG_ERRQUEUE
    /// (`error_queue.rs`); each entry is charged to `receive_memory` while queued.
    pub error_queue: VecDeque<super::error_queue::QueuedError>,
    /// sk_zckey and the ids of a corked datagram's MSG_ZEROCOPY sends (zerocopy.rs).
    pub zerocopy_ids: crate::zerocopy::ZerocopyIds,
    /// Wakeups raised, by kind (sk_data_ready, sk_write_space, sk_error_report and
    /// sk_state_change).
    pub wakeups: WakeupCounts,
    /// sk_error_report calls (POLL_ERR for O_ASYNC); sk_data_ready's are wakeups.readable.
    pub async_errors: u64,
    /// SOCKWQ_ASYNC_NOSPACE: a poll found the socket unwritable; the next write space is
    /// one POLL_OUT (`notify.rs`), counted in `async_space`.
    pub async_nospace: bool,
    pub async_space: u64,
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
    /// UDP_ENCAP (encap_type): 0, UDP_ENCAP_ESPINUDP (2) or UDP_ENCAP_L2TPINUDP (3).
    pub encapsulation: u16,
    /// encap_rcv = xfrm4_udp_encap_rcv: installed by setting UDP_ENCAP to 0 or ESPINUDP
    /// (and never removed), it hands ESP-in-UDP datagrams to IPsec once encap_type != 0.
    pub esp_receive_hook: bool,
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
            route_snapshot: None,
            ident: 0,
            receive_queue: VecDeque::new(),
            receive_memory: 0,
            read_shut: false,
            write_shut: false,
            error: Cell::new(None),
            error_queue: VecDeque::new(),
            zerocopy_ids: Default::default(),
            wakeups: WakeupCounts::default(),
            async_errors: 0,
            async_nospace: false,
            async_space: 0,
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

    /// sk_error_report (an error was set): every waiter, and sock_def_error_report's
    /// sk_wake_async(SOCK_WAKE_IO, POLL_ERR).
    pub fn wake_all(&mut self) {
        self.wakeups.other = self.wakeups.other.wrapping_add(1);
        self.async_errors = self.async_errors.wrapping_add(1);
    }

    /// sk_state_change (shutdown): every waiter, no O_ASYNC signal (sock_def_wakeup).
    pub fn wake_state_change(&mut self) {
        self.wakeups.other = self.wakeups.other.wrapping_add(1);
    }
}

/// The memory corked data charges to the send buffer (sk_wmem_alloc, as SIOCOUTQ reads it).
/// Calibrated on this machine's loopback path: corked datagrams of 2, 1000, 2000, 3000, 3500
/// and 6000 bytes read 832, 2304, 4352, 4352, 4352 and 8448. Model: headers + payload +
/// about 200 bytes of reserved headroom (hh_len, MAX_HEADER, alignment slack), rounded to a
/// cache line (SKB_DATA_ALIGN), plus struct skb_shared_info (320): that head is allocated
/// by kmalloc_reserve from the small-head cache (576 bytes) or a kmalloc bucket (a power of
/// two), and truesize counts the whole allocation plus struct sk_buff (256). Received
/// datagrams carry their own truesize (`ipv4::skb`).
pub(crate) fn corked_truesize(ip_header_len: usize, payload_len: usize) -> usize {
    const HEADROOM: usize = 200;
    const SHARED_INFO: usize = 320;
    const SK_BUFF: usize = 256;
    /// SKB_SMALL_HEAD_CACHE_SIZE.
    const SMALL_HEAD: usize = 576;
    let data = ip_header_len + crate::wire::udp::HEADER_LEN + payload_len + HEADROOM;
    let head = data.div_ceil(64) * 64 + SHARED_INFO;
    let allocated = if head <= SMALL_HEAD {
        SMALL_HEAD
    } else {
        head.next_power_of_two()
    };
    allocated + SK_BUFF
}
