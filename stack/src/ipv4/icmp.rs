//! ICMP as a host's network layer does it (net/ipv4/icmp.c): echo and timestamp replies
//! (icmp_echo, icmp_timestamp → icmp_reply), errors received (icmp_unreach →
//! icmp_socket_deliver → the transports' err handlers), and errors sent (__icmp_send) with
//! its refusals, its 576-byte quoting rule and its rate limits.

use core::net::Ipv4Addr;

use super::icmp_rate::{Outgoing, RateLimited};
use super::input::{milliseconds_since_midnight, Destination, Ingress};
use super::layer::Ipv4Layer;
use super::options;
use super::route::{self, route_output};
use super::{InboundDatagram, OutboundDatagram, PmtuMode};
use crate::errno::Errno;
use crate::time::Instant;
use crate::transport::{IcmpError, Transports};
use crate::wire::icmp::{self, message, unreachable};
use crate::wire::ipv4::{self, Options, Packet};
use crate::wire::WireError;

/// icmp_err_convert: destination-unreachable code → (errno, fatal). Fatal errors are reported
/// even to sockets without IP_RECVERR.
pub const UNREACHABLE_ERRORS: [(Errno, bool); 16] = [
    (Errno::ENETUNREACH, false),  // 0 ICMP_NET_UNREACH
    (Errno::EHOSTUNREACH, false), // 1 ICMP_HOST_UNREACH
    (Errno::ENOPROTOOPT, true),   // 2 ICMP_PROT_UNREACH
    (Errno::ECONNREFUSED, true),  // 3 ICMP_PORT_UNREACH
    (Errno::EMSGSIZE, false),     // 4 ICMP_FRAG_NEEDED
    (Errno::EOPNOTSUPP, false),   // 5 ICMP_SR_FAILED
    (Errno::ENETUNREACH, true),   // 6 ICMP_NET_UNKNOWN
    (Errno::EHOSTDOWN, true),     // 7 ICMP_HOST_UNKNOWN
    (Errno::ENONET, true),        // 8 ICMP_HOST_ISOLATED
    (Errno::ENETUNREACH, true),   // 9 ICMP_NET_ANO
    (Errno::EHOSTUNREACH, true),  // 10 ICMP_HOST_ANO
    (Errno::ENETUNREACH, false),  // 11 ICMP_NET_UNR_TOS
    (Errno::EHOSTUNREACH, false), // 12 ICMP_HOST_UNR_TOS
    (Errno::EHOSTUNREACH, true),  // 13 ICMP_PKT_FILTERED
    (Errno::EHOSTUNREACH, true),  // 14 ICMP_PREC_VIOLATION
    (Errno::EHOSTUNREACH, true),  // 15 ICMP_PREC_CUTOFF
];

/// The errno of the other two errors, as every transport's err handler picks it (udp_err,
/// tcp_v4_err, raw_err): time exceeded is a soft EHOSTUNREACH, parameter problem a hard EPROTO.
pub const TIME_EXCEEDED_ERROR: (Errno, bool) = (Errno::EHOSTUNREACH, false);
pub const PARAMETER_PROBLEM_ERROR: (Errno, bool) = (Errno::EPROTO, true);

/// RFC 1812 section 4.3.2.3 as icmp_send applies it: an error, IP header included, fits in
/// 576 bytes.
const ERROR_DATAGRAM_MAX: usize = 576;
/// IPTOS_TOS_MASK and IPTOS_PREC_INTERNETCONTROL: errors keep the TOS bits of the offending
/// datagram with precedence "internetwork control".
const TOS_MASK: u8 = 0x1e;
const PRECEDENCE_INTERNET_CONTROL: u8 = 0xc0;

/// The received datagram an ICMP error is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trigger<'a> {
    /// The whole datagram from its IP header, as received (reassembled if it was fragmented).
    pub datagram: &'a [u8],
    pub ingress: Ingress,
    pub destination: Destination,
}

impl Ipv4Layer {
    /// icmp_rcv. Returns true if a transport was told something (an error).
    pub(super) fn receive_icmp(
        &mut self,
        now: Instant,
        inbound: &InboundDatagram<'_>,
        ingress: Ingress,
        destination: Destination,
        upper: &mut dyn Transports,
    ) -> bool {
        let Ok(packet) = icmp::Packet::new_checked(inbound.payload) else {
            self.counters.icmp_truncated += 1;
            return false;
        };
        let repr = match icmp::Repr::parse(&packet) {
            Ok(repr) => repr,
            Err(WireError::Checksum) => {
                self.counters.icmp_bad_checksum += 1;
                return false;
            }
            Err(_) => {
                self.counters.icmp_truncated += 1;
                return false;
            }
        };
        let msg_type = packet.msg_type();
        if destination == Destination::Broadcast {
            // RFC 1122 3.2.2.6 / 3.2.2.8: broadcast echo and timestamp requests may be
            // ignored (icmp_echo_ignore_broadcasts); every other broadcast ICMP is dropped.
            if matches!(msg_type, message::ECHO_REQUEST | message::TIMESTAMP)
                && self.sysctls.icmp_echo_ignore_broadcasts
            {
                self.counters.icmp_echo_ignored += 1;
                return false;
            }
            if !matches!(
                msg_type,
                message::ECHO_REQUEST
                    | message::TIMESTAMP
                    | message::ADDRESS_MASK_REQUEST
                    | message::ADDRESS_MASK_REPLY
            ) {
                self.counters.icmp_broadcast_dropped += 1;
                return false;
            }
        }
        match repr {
            icmp::Repr::EchoRequest { data, .. } => {
                if self.sysctls.icmp_echo_ignore_all {
                    self.counters.icmp_echo_ignored += 1;
                    return false;
                }
                // icmp_echo copies the whole header and only changes the type: the code,
                // identifier and sequence number come back as they were.
                let reply = icmp::Repr::Other {
                    msg_type: message::ECHO_REPLY,
                    code: packet.msg_code(),
                    rest: packet.rest(),
                    data,
                };
                self.send_reply(now, inbound, ingress, destination, &reply.to_bytes());
                false
            }
            icmp::Repr::Other {
                msg_type: message::TIMESTAMP,
                data,
                rest,
                ..
            } => {
                self.answer_timestamp(now, inbound, ingress, destination, rest, data);
                false
            }
            icmp::Repr::DestinationUnreachable { quoted, .. }
            | icmp::Repr::TimeExceeded { quoted, .. }
            | icmp::Repr::ParameterProblem { quoted, .. } => self.receive_icmp_error(
                now,
                inbound,
                packet.msg_type(),
                packet.msg_code(),
                packet.rest(),
                quoted,
                upper,
            ),
            // ping_rcv: the ping socket holding the reply's identifier, if any.
            icmp::Repr::EchoReply { .. } => {
                let taken = upper.ping_reply(now, inbound);
                if !taken {
                    self.counters.icmp_unhandled += 1;
                }
                taken
            }
            _ => {
                // Redirects, source quench (RFC 6633
                // deprecated it; icmp_discard), address mask and unknown types.
                self.counters.icmp_unhandled += 1;
                false
            }
        }
    }

    /// icmp_timestamp: the originate time copied, receive and transmit time in milliseconds
    /// since midnight UT (inet_current_timestamp), from the frame's receive time.
    fn answer_timestamp(
        &mut self,
        now: Instant,
        inbound: &InboundDatagram<'_>,
        ingress: Ingress,
        destination: Destination,
        rest: [u8; 4],
        data: &[u8],
    ) {
        if data.len() < 4 {
            self.counters.icmp_truncated += 1;
            return;
        }
        let millis = milliseconds_since_midnight(inbound.meta.timestamp);
        let mut times = [0u8; 12];
        times[..4].copy_from_slice(&data[..4]);
        times[4..8].copy_from_slice(&millis.to_be_bytes());
        times[8..].copy_from_slice(&millis.to_be_bytes());
        let reply = icmp::Repr::Other {
            msg_type: message::TIMESTAMP_REPLY,
            code: 0,
            rest,
            data: &times,
        };
        self.send_reply(now, inbound, ingress, destination, &reply.to_bytes());
    }

    /// icmp_reply: back to the sender, from the address it reached (fib_compute_spec_dst: our
    /// interface address when it was a broadcast), with its TOS, our default TTL, no DF.
    fn send_reply(
        &mut self,
        now: Instant,
        inbound: &InboundDatagram<'_>,
        ingress: Ingress,
        destination: Destination,
        message: &[u8],
    ) {
        let src = match destination {
            Destination::Local => inbound.dst,
            Destination::Broadcast => self.iface.addr,
        };
        // ip_options_echo: the request's options come back, our address recorded again.
        let Some(options) = self.echo_options(inbound.header, ingress, src) else {
            self.counters.icmp_reply_options_unechoable += 1;
            return;
        };
        let Ok(route) = route_output(&self.iface, &self.pmtu, now, inbound.src, None, false) else {
            self.counters.icmp_error_unroutable += 1;
            return;
        };
        let outgoing = Outgoing {
            icmp_type: message[0],
            code: message[1],
            peer: inbound.src,
            ingress_loopback: false,
            egress_loopback: route.local,
        };
        if !self.icmp_rate_allows(now, outgoing) {
            return;
        }
        if self
            .send_icmp(now, src, inbound.src, inbound.tos, &options, message)
            .is_ok()
        {
            self.counters.icmp_replies_sent += 1;
        }
    }

    /// icmp_unreach + icmp_socket_deliver: validate the quoted header, work out errno and
    /// info, learn a path MTU, and tell the transports.
    #[allow(clippy::too_many_arguments)]
    fn receive_icmp_error(
        &mut self,
        now: Instant,
        inbound: &InboundDatagram<'_>,
        msg_type: u8,
        code: u8,
        rest: [u8; 4],
        quoted: &[u8],
        upper: &mut dyn Transports,
    ) -> bool {
        // "Mangled header, drop": the quoted header must be whole, IHL ≥ 5, and followed by
        // the first 8 bytes of the transport header.
        let Ok(quoted_packet) = Packet::new_checked(quoted) else {
            self.counters.icmp_error_malformed += 1;
            return false;
        };
        let quoted_header_len = quoted_packet.header_len();
        if quoted.len() < quoted_header_len + 8 {
            self.counters.icmp_error_malformed += 1;
            return false;
        }
        let quoted_protocol = quoted_packet.protocol();
        let (errno, fatal, info) = match msg_type {
            message::DEST_UNREACHABLE => {
                if code > unreachable::HIGHEST_KNOWN {
                    self.counters.icmp_error_ignored += 1;
                    return false;
                }
                let mut info = 0;
                if code == unreachable::FRAG_NEEDED {
                    let mtu = u32::from(u16::from_be_bytes([rest[2], rest[3]]));
                    // ip_no_pmtu_disc: 0 believes the MTU, 1 passes the error on without it,
                    // 2 ignores it, 3 believes it only for protocols that validate it (TCP).
                    match self.sysctls.ip_no_pmtu_disc {
                        0 => info = mtu,
                        2 => {
                            self.counters.icmp_error_ignored += 1;
                            return false;
                        }
                        3 if quoted_protocol != crate::ip_proto::TCP => {
                            self.counters.icmp_error_ignored += 1;
                            return false;
                        }
                        3 => info = mtu,
                        _ => {}
                    }
                }
                let (errno, fatal) = UNREACHABLE_ERRORS[usize::from(code)];
                (errno, fatal, info)
            }
            message::PARAMETER_PROBLEM => {
                let (errno, fatal) = PARAMETER_PROBLEM_ERROR;
                (errno, fatal, u32::from(rest[0]))
            }
            _ => {
                // icmp_unreach: "if (icmph->code == ICMP_EXC_FRAGTIME) goto out;" reassembly
                // timeouts reach no transport (measured: counted in IcmpInTimeExcds only).
                if code == crate::wire::icmp::time_exceeded::FRAGMENT_REASSEMBLY {
                    self.counters.icmp_error_ignored += 1;
                    return false;
                }
                let (errno, fatal) = TIME_EXCEEDED_ERROR;
                (errno, fatal, 0)
            }
        };
        let quoted_src = quoted_packet.source();
        let quoted_dst = quoted_packet.destination();
        let error = IcmpError {
            icmp_type: msg_type,
            icmp_code: code,
            errno,
            fatal,
            info,
            offender: inbound.src,
            // Errors we generated ourselves (ipv4_link_failure, or about our own loopback
            // traffic) come back from one of our addresses.
            local: self.is_local_address(inbound.src),
            quoted_src,
            quoted_dst,
            quoted_protocol,
            quoted_payload: &quoted[quoted_header_len..],
            datagram: Some(inbound),
        };
        if msg_type == message::DEST_UNREACHABLE
            && code == unreachable::FRAG_NEEDED
            && upper.accepts_path_mtu(&error)
        {
            // ipv4_sk_update_pmtu, which the err handler calls before it reports the error.
            // `info` may be 0 (ip_no_pmtu_disc=1, or a router that sent no MTU): the kernel
            // then locks the path MTU at min_pmtu, as ip-sysctl.rst documents for mode 1.
            let nexthop = route::Nexthop::for_destination(&self.iface, quoted_dst);
            self.pmtu
                .update(now, quoted_dst, nexthop, self.iface.mtu, info);
        }
        upper.icmp_error(now, &error);
        self.counters.icmp_errors_delivered += 1;
        true
    }

    /// __icmp_send: an error about `trigger`, unless a rule of RFC 1122 3.2.2 forbids it or a
    /// rate limit holds it back. `info` is the "rest of header" word (next-hop MTU, pointer).
    pub(super) fn send_icmp_error(
        &mut self,
        now: Instant,
        trigger: Trigger<'_>,
        icmp_type: u8,
        code: u8,
        info: u32,
    ) {
        let Ok(original) = Packet::new_checked(trigger.datagram) else {
            return;
        };
        // Never about a broadcast/multicast datagram or frame, nor a fragment other than the
        // first.
        if trigger.destination == Destination::Broadcast || trigger.ingress.link_broadcast {
            return;
        }
        if original.fragment_offset() != 0 {
            return;
        }
        // "If we send an ICMP error to an ICMP error, mayhem will result": never about an
        // ICMP error or an unknown ICMP type.
        if original.protocol() == crate::ip_proto::ICMP && message::is_error(icmp_type) {
            match original.payload().first() {
                Some(&inner) if inner <= message::HIGHEST_KNOWN && !message::is_error(inner) => {}
                _ => return,
            }
        }
        let offender = original.source();
        if offender.is_unspecified() {
            return;
        }
        // The source: the address the datagram was sent to, when it was ours; otherwise the
        // one routing picks.
        let src = if trigger.destination == Destination::Local
            && self.is_local_address(original.destination())
        {
            original.destination()
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        let route = match route_output(&self.iface, &self.pmtu, now, offender, None, false) {
            Ok(route) => route,
            Err(_) => {
                self.counters.icmp_error_unroutable += 1;
                return;
            }
        };
        let reply_src = if src.is_unspecified() { route.src } else { src };
        let Some(options) = self.echo_options(original.header(), trigger.ingress, reply_src) else {
            return;
        };
        let outgoing = Outgoing {
            icmp_type,
            code,
            peer: offender,
            ingress_loopback: trigger.ingress.loopback
                && trigger.ingress.ifindex == route::LOOPBACK_IFINDEX,
            egress_loopback: route.local,
        };
        if !self.icmp_rate_allows(now, outgoing) {
            return;
        }
        let room = (route.mtu as usize)
            .min(ERROR_DATAGRAM_MAX)
            .saturating_sub(ipv4::HEADER_LEN + options.len() + icmp::HEADER_LEN);
        let quoted = &trigger.datagram[..trigger.datagram.len().min(room)];
        let error = icmp::Repr::Other {
            msg_type: icmp_type,
            code,
            rest: info.to_be_bytes(),
            data: quoted,
        };
        let tos = if message::is_error(icmp_type) {
            (original.tos() & TOS_MASK) | PRECEDENCE_INTERNET_CONTROL
        } else {
            original.tos()
        };
        if self
            .send_icmp(now, src, offender, tos, &options, &error.to_bytes())
            .is_ok()
        {
            self.counters.icmp_errors_sent += 1;
        }
    }

    /// __ip_options_echo + ip_options_build for an answer from `src`. None: the received
    /// options cannot be echoed, and the kernel then sends no answer.
    fn echo_options(&self, header: &[u8], ingress: Ingress, src: Ipv4Addr) -> Option<Options> {
        if header.len() <= ipv4::HEADER_LEN {
            return Some(Options::EMPTY);
        }
        let iface = &self.iface;
        let (mut options, echoed) = options::echo(header, &ingress.options, &|addr| {
            route::is_foreign_unicast(iface, addr)
        })?;
        options::build(
            &mut options,
            &echoed,
            src,
            milliseconds_since_midnight(ingress.meta.timestamp),
        );
        Some(options)
    }

    fn icmp_rate_allows(&mut self, now: Instant, outgoing: Outgoing) -> bool {
        match self
            .icmp_limiter
            .allow(now, &mut self.rng, &self.sysctls, outgoing)
        {
            Ok(()) => true,
            Err(RateLimited::Global) => {
                self.counters.icmp_rate_limited_global += 1;
                false
            }
            Err(RateLimited::Host) => {
                self.counters.icmp_rate_limited_host += 1;
                false
            }
        }
    }

    /// The kernel's ICMP socket: default TTL, IP_PMTUDISC_DONT (no DF, hashed IP id).
    fn send_icmp(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        tos: u8,
        options: &Options,
        message: &[u8],
    ) -> Result<(), Errno> {
        let datagram = OutboundDatagram {
            src,
            dst,
            protocol: crate::ip_proto::ICMP,
            ttl: self.sysctls.ip_default_ttl,
            tos,
            pmtu_mode: PmtuMode::Dont,
            options: options.as_slice(),
            socket_options: None,
            payload: message,
            dont_route: false,
            socket_ident: None,
            oif: None,
        };
        self.output(now, &datagram)
    }
}
