//! The network layer: routing, IPv4 input and output, ICMP, loopback.
//!
//! Transports meet it at two narrow types: `InboundDatagram` (handed up after validation and
//! reassembly) and `OutboundDatagram` (handed down for routing, header building, fragmentation
//! and link output). Neither side sees Ethernet or ARP.
//!
//! Map (each file names the kernel functions it copies):
//! - `layer.rs`: `Ipv4Layer`, its state and public entry points.
//! - `input.rs`: frame classification, ip_rcv_core validation, input address checks, delivery.
//! - `output.rs`: EMSGSIZE rules, DF, IP id choice, fragmentation, loopback/broadcast/unicast.
//!   `header_included.rs`: raw_send_hdrinc, a raw socket's own header with the kernel's fixups.
//! - `route.rs`: ip_route_output for our interface + lo, and learned path MTUs (the
//!   exceptions __ip_rt_update_pmtu creates, with min_pmtu, mtu_expires and the lock, and the
//!   staleness of routes sockets cached before an exception existed).
//! - `neighbour.rs` (ARP packets, link output) over `arp_cache.rs` (the neighbour state machine).
//! - `fragment.rs`: reassembly (ipfrag_time, ipfrag_high_thresh, ipfrag_max_dist, RFC 5722
//!   overlaps, ECN). `icmp.rs`: echo/timestamp replies, errors in and out;
//!   `icmp_rate.rs`: the global and per-peer limiters. `ident.rs`: IP ids.
//! - `loopback.rs`: the queue `run_loopback` delivers. `counters.rs`: every drop reason.
//! - `options.rs`: IP options on receive (compile), in answers (echo) and when sent (build);
//!   `socket_options.rs`: the options a socket sets (IP_OPTIONS, IP_RETOPTS as a control
//!   message): compiled without a packet, undone for getsockopt, built into each datagram.
//! - `jiffies.rs`: the kernel's time unit (HZ=250); randomness comes from `crate::random`.
//! - `igmp.rs`: the interfaces' multicast groups (the union of the sockets' memberships and
//!   filters), IGMPv3 reports and query answers, and ip_check_mc_rcu for multicast input
//!   (and for ip_mc_output's loopback copy of a multicast sent with IP_MULTICAST_LOOP).
//!
//! A "fragmentation needed" error teaches a path MTU only when the transport found the socket
//! it quotes and that socket accepts path MTUs (`Transports::accepts_path_mtu`, as udp_err's
//! lookup and ip_sk_accept_pmtu decide).
//!
//! Not yet: ICMP redirects, CIPSO (refused as by a kernel with no CIPSO DOI
//! configured), accepting source-routed datagrams (accept_source_route is 0 by default, and
//! such datagrams are dropped as the kernel then drops them).
//!
//! Everything here is sans-IO: time is the `now` each entry point is given.

use core::net::Ipv4Addr;

use crate::socket::RxMeta;

/// A validated IPv4 datagram addressed to us, handed to a transport (UDP, later TCP, raw).
/// Carries every header field, because ip(7) control messages expose them.
#[derive(Debug, Clone, Copy)]
pub struct InboundDatagram<'a> {
    pub src: Ipv4Addr,
    /// The destination in the IP header (IP_PKTINFO's ipi_addr).
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    /// Raw IP options (0..=40 bytes), as received.
    pub options: &'a [u8],
    /// What compiling them found (IPCB(skb)->opt), for IP_RETOPTS (ip_options_echo).
    pub compiled_options: options::CompiledOptions,
    /// IPCB(skb)->frag_max_size: the largest fragment (IP header included) of a reassembled
    /// datagram, 0 for one that was not fragmented (IP_RECVFRAGSIZE).
    pub fragment_max_size: u16,
    /// The whole IP header (for ICMP errors that quote it, and raw sockets).
    pub header: &'a [u8],
    /// The transport payload (after reassembly).
    pub payload: &'a [u8],
    /// Interface it arrived on (loopback: 1).
    pub ifindex: u32,
    /// skb->truesize: the memory the datagram charges to a receive buffer (`skb::truesize`,
    /// summed over the fragments of a reassembled datagram, as ip_frag_reasm sums them).
    pub truesize: usize,
    /// Link-layer broadcast/multicast destination (sk_buff pkt_type), for UDP's rules.
    pub link_broadcast: bool,
    /// Destination is a broadcast address of ours (255.255.255.255 or the subnet broadcast).
    pub ip_broadcast: bool,
    pub meta: RxMeta,
    /// The source MAC of the frame it came in (the last fragment's for a reassembled
    /// datagram); None for looped-back datagrams. Socket filters read it (SKF_LL_OFF).
    pub link_source: Option<[u8; 6]>,
}

/// Path MTU discovery mode of the sending socket (IP_MTU_DISCOVER values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmtuMode {
    Dont = 0,
    Want = 1,
    Do = 2,
    Probe = 3,
    Interface = 4,
    Omit = 5,
}

/// A datagram a transport wants sent.
#[derive(Debug, Clone, Copy)]
pub struct OutboundDatagram<'a> {
    /// Source address: the one from `route()` unless the socket is bound to a specific one.
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub pmtu_mode: PmtuMode,
    /// Raw IP options to put in the header as they are (already validated, ≤ 40 bytes,
    /// padded to 4): the network layer's own answers (echoed options). Ignored when
    /// `socket_options` is set.
    pub options: &'a [u8],
    /// A socket's compiled options (IP_OPTIONS, or IP_RETOPTS as a control message), which
    /// ip_options_build turns into the header's options for this datagram.
    pub socket_options: Option<SocketOptionsToBuild<'a>>,
    /// The complete transport segment (header + data, checksum filled in).
    pub payload: &'a [u8],
    /// SO_DONTROUTE / MSG_DONTROUTE: only on-link destinations.
    pub dont_route: bool,
    /// ip_select_ident_segs: every datagram of a *connected* socket (inet_daddr set) carries
    /// the socket's own counter (inet_id, which the transport advances per datagram); a DF
    /// datagram from an unconnected socket that may not be fragmented carries 0; the rest get
    /// the per-destination hashed counter. The transport passes `Some(inet_id)` when
    /// connected, `None` otherwise.
    pub socket_ident: Option<u16>,
    /// SO_BINDTODEVICE / IP_UNICAST_IF / IP_PKTINFO ifindex restriction (None: any).
    pub oif: Option<u32>,
}

/// The socket options of a datagram and the destination ip_options_build writes into a source
/// route's last slot (cork->addr: the final destination; the header carries the first hop).
#[derive(Debug, Clone, Copy)]
pub struct SocketOptionsToBuild<'a> {
    pub options: &'a socket_options::SocketIpOptions,
    pub final_destination: Ipv4Addr,
}

/// Where a destination is reached, as `ip_route_output` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Preferred source address for this destination.
    pub src: Ipv4Addr,
    /// The address to resolve on the link (the gateway, or the destination itself).
    pub next_hop: Ipv4Addr,
    pub ifindex: u32,
    /// MTU of the path (link MTU, or the cached PMTU, or 65536, the lo MTU, for local routes).
    pub mtu: u32,
    /// The destination is one of our own addresses or 127/8: delivered inside the stack.
    pub local: bool,
    /// The destination is a broadcast address (limited or subnet-directed).
    pub broadcast: bool,
    pub multicast: bool,
    /// The generation of the nexthop's cached routes this lookup belongs to. Creating a path
    /// MTU exception on a nexthop makes the routes cached from it before obsolete
    /// (update_or_create_fnhe marks them DST_OBSOLETE_KILL): until a send revalidates such a
    /// route (sk_dst_check), IP_MTU reads the MTU it had (`Ipv4Layer::cached_route_mtu`).
    pub nexthop_generation: u64,
    /// The route was made from a path MTU exception (rt_bind_exception), so it follows the
    /// exception's later updates (fill_route_from_fnhe).
    pub from_exception: bool,
}

pub(crate) mod arp_cache;
mod counters;
mod fragment;
mod header_included;
pub use header_included::HeaderIncludedError;
pub mod icmp;
mod icmp_rate;
mod ident;
pub mod igmp;
mod input;
mod jiffies;
mod layer;
mod loopback;
mod neighbour;
pub mod options;
mod output;
pub mod route;
pub mod skb;
pub mod socket_options;
#[cfg(test)]
mod tests;

pub use counters::Ipv4Counters;
pub(crate) use ident::keyed_hash;
pub use layer::Ipv4Layer;
