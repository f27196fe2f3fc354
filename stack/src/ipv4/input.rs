//! Frame and IPv4 input: eth_type_trans's frame classification, ip_rcv_core's validation,
//! ip_route_input_slow's address checks (we are a host: nothing is forwarded), ip_defrag, and
//! ip_local_deliver_finish's hand-off to ICMP or a transport.

use core::net::Ipv4Addr;

use super::fragment::Arrival;
use super::icmp::Trigger;
use super::layer::Ipv4Layer;
use super::options::{self, CompiledOptions, Receiving};
use super::route;
use super::InboundDatagram;
use crate::socket::RxMeta;
use crate::time::{Instant, WallTime};
use crate::transport::{Delivery, Transports};
use crate::wire::ethernet::{self, ethertype};
use crate::wire::icmp::{message, time_exceeded, unreachable};
use crate::wire::ipv4::{self, Packet};
use crate::wire::WireError;

/// How a datagram reached IPv4 input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ingress {
    /// The device it came in on (skb->dev): lo (1) for everything routed through loopback,
    /// the interface for frames and for our broadcasts' looped-back copies.
    pub ifindex: u32,
    /// inet_iif (rt_iif, else skb_iif): the interface transports report (IP_PKTINFO). A
    /// looped-back datagram keeps its output route, whose rt_iif is the device of the local
    /// route it matched (the interface for our own address, lo for 127/8) or the output
    /// interface the sender named.
    pub route_iif: u32,
    /// IPCB(skb)->frag_max_size: the largest fragment of a reassembled datagram, else 0.
    pub fragment_max_size: u16,
    /// The frame's destination MAC was broadcast/multicast (pkt_type != PACKET_HOST).
    pub link_broadcast: bool,
    /// Looped back by our own output (lo, or a broadcast copy).
    pub loopback: bool,
    pub meta: RxMeta,
    /// The datagram's compiled IP options (IPCB(skb)->opt), for echoing them in answers.
    pub options: CompiledOptions,
}

/// inet_current_timestamp: milliseconds since midnight UT, as IP and ICMP timestamps carry it.
pub(super) fn milliseconds_since_midnight(wall: WallTime) -> u32 {
    (wall.sec.rem_euclid(86_400) * 1000 + wall.nsec.clamp(0, 999_999_999) / 1_000_000) as u32
}

/// What the input route lookup made of the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// One of our unicast addresses (RTN_LOCAL).
    Local,
    /// 255.255.255.255 or our subnet broadcast (RTN_BROADCAST).
    Broadcast,
}

impl Ipv4Layer {
    pub(super) fn receive_frame(
        &mut self,
        now: Instant,
        frame: &[u8],
        meta: RxMeta,
        upper: &mut dyn Transports,
    ) -> bool {
        let Ok(packet) = ethernet::Packet::new_checked(frame) else {
            self.counters.link_truncated += 1;
            return false;
        };
        let destination = packet.destination();
        let link_broadcast = ethernet::is_group(&destination);
        // eth_type_trans: a unicast frame for another MAC is PACKET_OTHERHOST, which both
        // arp_rcv and ip_rcv drop.
        if !link_broadcast && destination != self.iface.mac {
            self.counters.link_other_host += 1;
            return false;
        }
        match packet.ethertype() {
            ethertype::ARP => {
                self.receive_arp(now, packet.source(), link_broadcast, packet.payload());
                false
            }
            ethertype::IPV4 => {
                let ingress = Ingress {
                    ifindex: self.iface.ifindex,
                    route_iif: self.iface.ifindex,
                    fragment_max_size: 0,
                    link_broadcast,
                    loopback: false,
                    meta,
                    options: CompiledOptions::default(),
                };
                self.incoming_link_source = Some(packet.source());
                let delivered = self.receive_ipv4(now, packet.payload(), ingress, upper);
                self.incoming_link_source = None;
                delivered
            }
            _ => {
                self.counters.link_unknown_ethertype += 1;
                false
            }
        }
    }

    /// One IPv4 datagram (possibly followed by link padding). Returns true if a transport got it.
    pub(super) fn receive_ipv4(
        &mut self,
        now: Instant,
        bytes: &[u8],
        ingress: Ingress,
        upper: &mut dyn Transports,
    ) -> bool {
        let packet = match Packet::new_checked(bytes) {
            Ok(packet) => packet,
            Err(_) => {
                // Shorter than 20 bytes or than the IHL: ip_rcv_core's inhdr_error.
                self.counters.ip_header_errors += 1;
                return false;
            }
        };
        let repr = match ipv4::Repr::parse(&packet) {
            Ok(repr) => repr,
            Err(WireError::Truncated) => {
                self.counters.ip_truncated += 1;
                return false;
            }
            Err(WireError::Checksum) => {
                self.counters.ip_bad_checksum += 1;
                return false;
            }
            Err(_) => {
                self.counters.ip_header_errors += 1;
                return false;
            }
        };
        // pskb_trim_rcsum: Ethernet padding past the total length is not data.
        let datagram = &bytes[..repr.buffer_len()];
        let Some(destination) = self.classify(repr.src, repr.dst, repr.protocol, ingress) else {
            return false;
        };

        // ip_rcv_options → ip_options_compile, on a copy since it writes into the header.
        let with_options;
        let mut ingress = ingress;
        let datagram = if repr.options.is_empty() {
            datagram
        } else {
            let mut copy = datagram.to_vec();
            match self.compile_options(
                &mut copy[..repr.header_len()],
                destination,
                repr.dst,
                ingress,
            ) {
                Ok(compiled) => ingress.options = compiled,
                Err(pointer) => {
                    // A malformed list is answered with a parameter problem pointing at the
                    // bad octet.
                    self.counters.ip_bad_options += 1;
                    let trigger = Trigger {
                        datagram: &copy,
                        ingress,
                        destination,
                    };
                    self.send_icmp_error(
                        now,
                        trigger,
                        message::PARAMETER_PROBLEM,
                        0,
                        u32::from(pointer) << 24,
                    );
                    return false;
                }
            }
            if ingress.options.source_route.is_some() {
                // accept_source_route is 0 for IPv4: source-routed datagrams are dropped.
                self.counters.ip_source_routed += 1;
                return false;
            }
            with_options = copy;
            &with_options[..]
        };

        if repr.more_fragments || repr.fragment_offset != 0 {
            let arrival = Arrival {
                ifindex: ingress.ifindex,
                link_broadcast: ingress.link_broadcast,
                meta: ingress.meta,
                options: ingress.options,
            };
            let Some(whole) = self
                .reassembly
                .add(now, datagram, arrival, &mut self.counters)
            else {
                return false;
            };
            let ingress = Ingress {
                ifindex: whole.arrival.ifindex,
                link_broadcast: whole.arrival.link_broadcast,
                meta: whole.arrival.meta,
                options: whole.arrival.options,
                fragment_max_size: whole.max_size.min(usize::from(u16::MAX)) as u16,
                ..ingress
            };
            return self.deliver_local(
                now,
                &whole.datagram,
                whole.truesize,
                ingress,
                destination,
                upper,
            );
        }
        let truesize = super::skb::truesize(datagram.len());
        self.deliver_local(now, datagram, truesize, ingress, destination, upper)
    }

    /// ip_expire for every reassembly queue past ipfrag_time: when its first fragment had
    /// arrived, the sender hears ICMP time exceeded (fragment reassembly), quoting that fragment
    /// (RFC 792: only the destination host sends it, and we are one).
    pub(super) fn reassembly_timeouts(&mut self, now: Instant) {
        for expired in self.reassembly.handle_timeout(now, &mut self.counters) {
            let Some((head, arrival)) = expired.head else {
                continue;
            };
            let destination_addr = Packet::new_unchecked(&head[..]).destination();
            let destination = if route::is_broadcast(&self.iface, destination_addr) {
                Destination::Broadcast
            } else {
                Destination::Local
            };
            let ingress = Ingress {
                ifindex: arrival.ifindex,
                route_iif: arrival.ifindex,
                fragment_max_size: 0,
                link_broadcast: arrival.link_broadcast,
                loopback: false,
                meta: arrival.meta,
                options: arrival.options,
            };
            let trigger = Trigger {
                datagram: &head,
                ingress,
                destination,
            };
            self.send_icmp_error(
                now,
                trigger,
                message::TIME_EXCEEDED,
                time_exceeded::FRAGMENT_REASSEMBLY,
                0,
            );
        }
    }

    /// __ip_options_compile for a received header (fib_compute_spec_dst: the address it
    /// reached, or ours for a broadcast, is what record-route and timestamp options get).
    fn compile_options(
        &self,
        header: &mut [u8],
        destination: Destination,
        dst: Ipv4Addr,
        ingress: Ingress,
    ) -> Result<CompiledOptions, u8> {
        let iface = &self.iface;
        let specific_destination = match destination {
            Destination::Local => dst,
            Destination::Broadcast => iface.addr,
        };
        let is_foreign_unicast = |addr| route::is_foreign_unicast(iface, addr);
        let context = Receiving {
            specific_destination,
            timestamp_ms: milliseconds_since_midnight(ingress.meta.timestamp),
            is_foreign_unicast: &is_foreign_unicast,
        };
        options::compile_received(header, &context)
    }

    /// ip_route_input_slow's checks for a host that does not forward. None: dropped (counted).
    fn classify(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        ingress: Ingress,
    ) -> Option<Destination> {
        let iface = &self.iface;
        if ingress.loopback {
            // Our own output: destinations were routed already.
            if route::is_local(iface, dst) {
                return Some(Destination::Local);
            }
            // ip_mc_output's copy of a multicast sent out of the interface: the output route
            // was RTCF_LOCAL, i.e. the host is a member (checked when it was looped back).
            // Multicast is RTCF_MULTICAST, which every broadcast rule treats alike.
            if ingress.ifindex != route::LOOPBACK_IFINDEX && dst.is_multicast() {
                return Some(Destination::Broadcast);
            }
            // ip_mc_output's copy of a broadcast we sent out of the interface.
            if ingress.ifindex != route::LOOPBACK_IFINDEX && route::is_broadcast(iface, dst) {
                return Some(Destination::Broadcast);
            }
            // Routed out of lo for an address that is not ours (an output interface of lo:
            // "assume on link"): __mkroute_output marks every route through lo RTCF_LOCAL,
            // so ip_local_deliver takes it whatever its destination; only the limited
            // broadcast is RTN_BROADCAST there.
            if ingress.ifindex == route::LOOPBACK_IFINDEX {
                return Some(if dst.is_broadcast() {
                    Destination::Broadcast
                } else {
                    Destination::Local
                });
            }
            self.counters.ip_not_for_us += 1;
            return None;
        }
        if src.is_multicast() || src.is_broadcast() {
            self.counters.ip_martian_source += 1;
            return None;
        }
        // Limited broadcast, and 0.0.0.0 → 0.0.0.0, go to brd_input before the zeronet
        // checks, so DHCP-style sources of 0.0.0.0 are accepted there.
        if dst.is_broadcast() || (src.is_unspecified() && dst.is_unspecified()) {
            // brd_input: fib_validate_source still refuses our own addresses as source.
            if !src.is_unspecified() && route::is_local(iface, src) {
                self.counters.ip_martian_source += 1;
                return None;
            }
            return Some(Destination::Broadcast);
        }
        if src.octets()[0] == 0 || src.is_loopback() {
            self.counters.ip_martian_source += 1;
            return None;
        }
        if dst.octets()[0] == 0 || dst.is_loopback() {
            self.counters.ip_martian_destination += 1;
            return None;
        }
        if dst.is_multicast() {
            // ip_route_input_rcu: only groups this host joined on the interface (and whose
            // interface-level source filter lets `src` through: ip_check_mc_rcu); then
            // ip_route_input_mc's source checks. Multicast routes are RTCF_MULTICAST, which
            // the ICMP and UDP rules treat as they treat broadcast (`Destination::Broadcast`).
            if !self.accepts_multicast(ingress.ifindex, dst, src, protocol) {
                self.counters.ip_multicast_dropped += 1;
                return None;
            }
            let zero_net = src.octets()[0] == 0;
            if src.is_loopback()
                || (zero_net && !is_local_multicast(dst) && protocol != super::igmp::PROTOCOL)
                || (!zero_net && route::is_local(iface, src))
            {
                self.counters.ip_martian_source += 1;
                return None;
            }
            return Some(Destination::Broadcast);
        }
        let destination = if dst == iface.addr {
            Destination::Local
        } else if route::is_broadcast(iface, dst) {
            Destination::Broadcast
        } else {
            // Not ours, and ip_forward is off: ip_error drops it silently.
            self.counters.ip_not_for_us += 1;
            return None;
        };
        // fib_validate_source: a packet from outside claiming one of our addresses as source.
        if src == iface.addr {
            self.counters.ip_martian_source += 1;
            return None;
        }
        Some(destination)
    }

    /// ip_local_deliver_finish: ICMP is ours; everything else goes to a transport, and a
    /// refusal becomes ICMP port or protocol unreachable.
    pub(super) fn deliver_local(
        &mut self,
        now: Instant,
        datagram: &[u8],
        truesize: usize,
        ingress: Ingress,
        destination: Destination,
        upper: &mut dyn Transports,
    ) -> bool {
        let packet = Packet::new_unchecked(datagram);
        let inbound = InboundDatagram {
            src: packet.source(),
            dst: packet.destination(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            options: packet.options(),
            compiled_options: ingress.options,
            fragment_max_size: ingress.fragment_max_size,
            header: packet.header(),
            payload: packet.payload(),
            ifindex: ingress.route_iif,
            truesize,
            link_broadcast: ingress.link_broadcast,
            ip_broadcast: destination == Destination::Broadcast
                && !packet.destination().is_multicast(),
            meta: ingress.meta,
            link_source: if ingress.loopback {
                None
            } else {
                self.incoming_link_source
            },
        };
        // ip_protocol_deliver_rcu: raw_local_deliver first, then the protocol's handler.
        let raw_taken = upper.raw_deliver(now, &inbound);
        if inbound.protocol == crate::ip_proto::ICMP {
            return self.receive_icmp(now, &inbound, ingress, destination, upper) || raw_taken;
        }
        if inbound.protocol == super::igmp::PROTOCOL {
            self.receive_igmp(now, &inbound, ingress.ifindex, ingress.loopback);
            return raw_taken;
        }
        let code = match upper.deliver(now, &inbound) {
            Delivery::Consumed => {
                self.counters.ip_delivered += 1;
                return true;
            }
            Delivery::PortUnreachable => {
                self.counters.ip_port_unreachable += 1;
                unreachable::PORT
            }
            // "if (!raw) { ... icmp_send(PROT_UNREACH) }": a raw socket took it.
            Delivery::ProtocolUnreachable if raw_taken => return true,
            Delivery::ProtocolUnreachable => {
                self.counters.ip_protocol_unreachable += 1;
                unreachable::PROTOCOL
            }
        };
        self.send_icmp_error(
            now,
            Trigger {
                datagram,
                ingress,
                destination,
            },
            message::DEST_UNREACHABLE,
            code,
            0,
        );
        false
    }
}

/// ipv4_is_local_multicast: 224.0.0.0/24.
fn is_local_multicast(address: Ipv4Addr) -> bool {
    u32::from(address) & 0xffff_ff00 == 0xe000_0000
}
