//! The narrow interface between the network layer and the transports (UDP now; TCP, raw and
//! ping sockets later): what IPv4 input hands up, and what a transport answers.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::ipv4::InboundDatagram;
use crate::time::Instant;

/// What became of a datagram handed to a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued to at least one socket (or dropped by a socket's own rule; no ICMP).
    Consumed,
    /// No socket wants it: the network layer answers ICMP port unreachable (RFC 1122 3.2.2.1),
    /// rate-limited as icmp_send does.
    PortUnreachable,
    /// No transport for this protocol: ICMP protocol unreachable.
    ProtocolUnreachable,
}

/// An ICMP error (or a local link failure) concerning a datagram we sent, already matched to
/// the quoted header so transports can find the socket (icmp_unreach → udp_err).
#[derive(Debug, Clone, Copy)]
pub struct IcmpError<'a> {
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// The errno the kernel maps this type/code to (icmp_err_convert) and whether it is fatal
    /// (hard: reported even without IP_RECVERR on a connected socket).
    pub errno: Errno,
    pub fatal: bool,
    /// ee_info: the next-hop MTU for fragmentation needed, else 0.
    pub info: u32,
    /// Who sent the error (SO_EE_OFFENDER).
    pub offender: Ipv4Addr,
    /// The error was generated locally (ARP failure → ipv4_link_failure), not received.
    pub local: bool,
    /// Fields of the quoted (offending) IP header.
    pub quoted_src: Ipv4Addr,
    pub quoted_dst: Ipv4Addr,
    pub quoted_protocol: u8,
    /// The quoted transport bytes (at least 8 when the ICMP message carried them).
    pub quoted_payload: &'a [u8],
    /// The ICMP error as received (for raw sockets and the error queue's payload).
    pub datagram: Option<&'a InboundDatagram<'a>>,
}

/// Implemented by the stack over its transports; the network layer calls it.
pub trait Transports {
    fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery;
    fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>);

    /// Whether a "fragmentation needed" `error` may teach the routing cache its MTU: the
    /// transports' err handlers call ipv4_sk_update_pmtu only for a socket they found, and
    /// ip_sk_accept_pmtu refuses sockets in IP_PMTUDISC_INTERFACE / OMIT mode.
    /// The socket found gets a fresh route, made from the exception (ipv4_sk_update_pmtu's
    /// sk_dst_set), so its IP_MTU shows the new value at once.
    fn accepts_path_mtu(&mut self, _error: &IcmpError<'_>) -> bool {
        true
    }

    /// raw_local_deliver: a copy of `datagram` to every raw socket that matches it, before
    /// the protocol's own handler runs. True when at least one socket took a copy (then no
    /// ICMP protocol unreachable is sent for an unknown protocol). (Added by R.)
    fn raw_deliver(&mut self, _now: Instant, _datagram: &InboundDatagram<'_>) -> bool {
        false
    }

    /// ping_rcv: an ICMP echo reply for the ping socket whose identifier it carries. True
    /// when a socket queued it. (Added by R.)
    fn ping_reply(&mut self, _now: Instant, _datagram: &InboundDatagram<'_>) -> bool {
        false
    }
}
