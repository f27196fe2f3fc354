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
//! - `route.rs`: ip_route_output for our interface + lo, and learned path MTUs.
//! - `neighbour.rs` (ARP packets, link output) over `arp_cache.rs` (the neighbour state machine).
//! - `fragment.rs`: reassembly. `icmp.rs`: echo/timestamp replies, errors in and out;
//!   `icmp_rate.rs`: the global and per-peer limiters. `ident.rs`: IP ids.
//! - `loopback.rs`: the queue `run_loopback` delivers. `counters.rs`: every drop reason.
//! - `options.rs`: IP options on receive (compile), in answers (echo) and when sent (build).
//! - `jiffies.rs`: the kernel's time unit (HZ=250); randomness comes from `crate::random`.
//!
//! Not yet: multicast group membership (multicast input is counted and dropped, multicast
//! output is not looped back), ICMP redirects, ipfrag_max_dist, CIPSO (refused as by a kernel
//! with no CIPSO DOI configured). `OutboundDatagram::options` are sent as given: a transport
//! implementing IP_OPTIONS fills record-route/timestamp slots itself (`options::build`).
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
    /// Raw IP options to put in the header (already validated, ≤ 40 bytes, padded to 4).
    pub options: &'a [u8],
    /// The complete transport segment (header + data, checksum filled in).
    pub payload: &'a [u8],
    /// SO_DONTROUTE / MSG_DONTROUTE: only on-link destinations.
    pub dont_route: bool,
    /// ip_select_ident_segs: a DF datagram from a *connected* socket carries the socket's own
    /// counter (inet_id, which the transport advances); a DF datagram from an unconnected
    /// socket carries 0; a fragmentable one gets the per-destination hashed counter. The
    /// transport passes `Some(inet_id)` when connected, `None` otherwise.
    pub socket_ident: Option<u16>,
    /// SO_BINDTODEVICE / IP_UNICAST_IF / IP_PKTINFO ifindex restriction (None: any).
    pub oif: Option<u32>,
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
}

pub(crate) mod arp_cache;
mod counters;
mod fragment;
pub mod icmp;
mod icmp_rate;
mod ident;
mod input;
mod jiffies;
mod layer;
mod loopback;
mod neighbour;
pub mod options;
mod output;
pub mod route;
pub mod skb;
#[cfg(test)]
mod tests;

pub use counters::Ipv4Counters;
pub use layer::Ipv4Layer;
