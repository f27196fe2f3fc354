//! ARP on the wire (net/ipv4/arp.c: arp_process, arp_solicit, arp_error_report) around the
//! neighbour table of `arp_cache.rs`, and the link output every IPv4 packet leaves through.

use core::net::Ipv4Addr;

use super::arp_cache::{Learned, NeighbourEvent};
use super::icmp::Trigger;
use super::input::{Destination, Ingress};
use super::layer::Ipv4Layer;
use super::options::CompiledOptions;
use crate::socket::RxMeta;
use crate::time::Instant;
use crate::wire::arp::{self, hardware, operation};
use crate::wire::ethernet::{self, ethertype, MacAddress};
use crate::wire::icmp::{message, unreachable};

/// Frames the driver has not collected yet. The kernel's qdisc holds txqueuelen (1000) packets;
/// a larger bound here only matters if the driver stops draining.
const TRANSMIT_QUEUE_MAX: usize = 16_384;

impl Ipv4Layer {
    /// arp_rcv + arp_process for one ARP packet from `frame_source`.
    pub(super) fn receive_arp(
        &mut self,
        now: Instant,
        frame_source: MacAddress,
        link_broadcast: bool,
        payload: &[u8],
    ) {
        let parsed = arp::Packet::new_checked(payload).and_then(|packet| arp::Repr::parse(&packet));
        let Ok(repr) = parsed else {
            self.counters.arp_malformed += 1;
            return;
        };
        if !matches!(repr.operation, operation::REQUEST | operation::REPLY) {
            self.counters.arp_malformed += 1;
            return;
        }
        let (sender, target) = (repr.source_protocol_addr, repr.target_protocol_addr);
        if target.is_multicast()
            || target.is_loopback()
            || sender.is_multicast()
            || sender.is_broadcast()
        {
            self.counters.arp_bogus_address += 1;
            return;
        }
        let _ = frame_source; // ARP trusts the sender hardware address field, not the frame's.
        let for_us = repr.operation == operation::REQUEST && target == self.iface.addr;
        if sender.is_unspecified() {
            // RFC 2131/5227 duplicate address detection: answer a probe for our address
            // (to 0.0.0.0), learn nothing.
            if for_us {
                self.send_arp_reply(&repr);
            }
            return;
        }
        // ip_route_input_noref(tip, sip) refuses martian senders (0/8, 127/8, our own
        // address: someone else claiming it), so they get no answer and teach us nothing.
        if sender.octets()[0] == 0 || sender.is_loopback() || sender == self.iface.addr {
            self.counters.arp_bogus_address += 1;
            return;
        }
        let how = if for_us {
            Learned::RequestForUs
        } else if repr.operation == operation::REPLY && !link_broadcast {
            Learned::UnicastReply
        } else {
            // "Broadcast replies and request packets do not assert neighbour reachability."
            Learned::Other
        };
        let mut events = Vec::new();
        self.neighbours.learn(
            now,
            &mut self.rng,
            sender,
            repr.source_hardware_addr,
            how,
            &mut events,
        );
        if for_us {
            self.send_arp_reply(&repr);
        }
        self.handle_neighbour_events(now, events);
    }

    fn send_arp_reply(&mut self, request: &arp::Repr) {
        let reply = arp::Repr {
            hardware_type: hardware::ETHERNET,
            operation: operation::REPLY,
            source_hardware_addr: self.iface.mac,
            source_protocol_addr: request.target_protocol_addr,
            target_hardware_addr: request.source_hardware_addr,
            target_protocol_addr: request.source_protocol_addr,
        };
        self.counters.arp_requests_answered += 1;
        self.push_frame(
            request.source_hardware_addr,
            ethertype::ARP,
            &reply.to_bytes(),
        );
    }

    /// arp_solicit: "who has `target`", broadcast while resolving, unicast while re-probing;
    /// the target hardware address is left zero either way.
    fn send_arp_request(&mut self, target: Ipv4Addr, unicast_to: Option<MacAddress>) {
        let request = arp::Repr {
            hardware_type: hardware::ETHERNET,
            operation: operation::REQUEST,
            source_hardware_addr: self.iface.mac,
            source_protocol_addr: self.iface.addr,
            target_hardware_addr: [0; 6],
            target_protocol_addr: target,
        };
        self.counters.arp_requests_sent += 1;
        self.push_frame(
            unicast_to.unwrap_or(ethernet::BROADCAST),
            ethertype::ARP,
            &request.to_bytes(),
        );
    }

    pub(super) fn neighbour_timeouts(&mut self, now: Instant) {
        let mut events = Vec::new();
        self.neighbours
            .handle_timeout(now, &mut self.rng, &mut events);
        self.handle_neighbour_events(now, events);
    }

    pub(super) fn handle_neighbour_events(&mut self, now: Instant, events: Vec<NeighbourEvent>) {
        for event in events {
            match event {
                NeighbourEvent::Probe { target, unicast_to } => {
                    self.send_arp_request(target, unicast_to)
                }
                NeighbourEvent::Flush { mac, packets } => {
                    for packet in packets {
                        self.push_frame(mac, ethertype::IPV4, &packet);
                    }
                }
                NeighbourEvent::Failed { packets, .. } => {
                    for packet in packets {
                        self.counters.arp_resolution_failed += 1;
                        self.report_link_failure(now, &packet);
                    }
                }
                NeighbourEvent::Overflow { dropped } => {
                    self.counters.arp_queue_overflow += dropped as u64
                }
            }
        }
    }

    /// arp_error_report → ipv4_link_failure → icmp_send(HOST_UNREACH): the kernel sends an
    /// ICMP error about our own datagram to its (our) source address; it comes back through
    /// loopback and the transports see it like any other error. icmp_send's rules apply, so
    /// only a first fragment is reported.
    fn report_link_failure(&mut self, now: Instant, packet: &[u8]) {
        let ingress = Ingress {
            ifindex: self.iface.ifindex,
            route_iif: self.iface.ifindex,
            fragment_max_size: 0,
            link_broadcast: false,
            loopback: false,
            meta: RxMeta::default(),
            options: CompiledOptions::default(),
        };
        let trigger = Trigger {
            datagram: packet,
            ingress,
            destination: Destination::Local,
        };
        self.send_icmp_error(
            now,
            trigger,
            message::DEST_UNREACHABLE,
            unreachable::HOST,
            0,
        );
    }

    /// An IPv4 packet for a unicast next hop: sent now if its address is known, else queued
    /// behind an ARP resolution.
    pub(super) fn transmit_unicast(&mut self, now: Instant, next_hop: Ipv4Addr, packet: Vec<u8>) {
        let mut events = Vec::new();
        if let Some((mac, packet)) = self.neighbours.output(now, next_hop, packet, &mut events) {
            self.push_frame(mac, ethertype::IPV4, &packet);
        }
        self.handle_neighbour_events(now, events);
    }

    pub(super) fn push_frame(&mut self, destination: MacAddress, ethertype: u16, payload: &[u8]) {
        if self.transmit.len() >= TRANSMIT_QUEUE_MAX {
            self.counters.link_transmit_queue_full += 1;
            return;
        }
        let header = ethernet::Repr {
            source: self.iface.mac,
            destination,
            ethertype,
        };
        self.transmit.push_back(header.frame(payload));
    }
}
