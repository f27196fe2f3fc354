//! Input: __udp4_lib_rcv, its socket lookup (__udp4_lib_lookup / udp4_lib_lookup2 /
//! compute_score, SO_REUSEPORT group selection) and __udp4_lib_mcast_deliver for broadcast and
//! multicast, then queueing with the receive-buffer rule of __udp_enqueue_schedule_skb.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::ipv4::InboundDatagram;
use crate::socket::SocketId;
use crate::sockopt::socket_structured;
use crate::stack::ip_proto;
use crate::time::Instant;
use crate::transport::Delivery;
use crate::wire::udp::{Flavor, ParseError, Repr};

use super::layer::UdpLayer;
use super::ports::PortBinding;
use super::socket::{QueuedDatagram, UdpSocket};
use crate::random::scale;

/// The 4-tuple a lookup matches, from the receiver's point of view.
#[derive(Debug, Clone, Copy)]
pub(super) struct FourTuple {
    pub remote: SocketAddrV4,
    pub local: SocketAddrV4,
}

impl UdpLayer {
    pub(super) fn deliver_datagram(
        &mut self,
        _now: Instant,
        datagram: &InboundDatagram<'_>,
    ) -> Delivery {
        let flavor = if datagram.protocol == ip_proto::UDPLITE {
            Flavor::Lite
        } else {
            Flavor::Udp
        };
        // The checksum is verified here, before lookup, rather than lazily at recvmsg as the
        // kernel does; the outcome a program sees is the same (a bad datagram is dropped and
        // counted, never read, and draws no ICMP error), except that the kernel briefly charges
        // it to the receive buffer.
        let verify = !datagram.meta.checksum_trusted;
        let repr = match Repr::parse(datagram.payload, flavor, datagram.src, datagram.dst, verify) {
            Ok(repr) => repr,
            Err(ParseError::Truncated) => {
                self.counters.malformed += 1;
                return Delivery::Consumed;
            }
            Err(ParseError::BadCoverage) => {
                self.counters.bad_coverage += 1;
                return Delivery::Consumed;
            }
            Err(ParseError::Checksum) => {
                self.counters.bad_checksum += 1;
                return Delivery::Consumed;
            }
        };
        let tuple = FourTuple {
            remote: SocketAddrV4::new(datagram.src, repr.source_port),
            local: SocketAddrV4::new(datagram.dst, repr.destination_port),
        };
        if datagram.ip_broadcast || datagram.dst.is_multicast() {
            // Every matching socket gets a copy; nobody wanting it is not an error.
            let device = input_device(datagram, self.interface_index);
            let receivers = self.broadcast_receivers(flavor, &tuple, device);
            if receivers.is_empty() {
                self.counters.ignored_broadcast += 1;
            }
            for id in receivers {
                self.enqueue(id, datagram, &tuple, &repr);
            }
            return Delivery::Consumed;
        }
        let device = input_device(datagram, self.interface_index);
        let udp_len = (8 + repr.payload.len()).min(datagram.payload.len());
        let input = ReuseportInput {
            datagram,
            udp: &datagram.payload[..udp_len],
        };
        match self.lookup_with(flavor, &tuple, Some(device), Some(&input)) {
            Some(id) => {
                self.enqueue(id, datagram, &tuple, &repr);
                Delivery::Consumed
            }
            None => {
                self.counters.no_socket += 1;
                Delivery::PortUnreachable
            }
        }
    }

    /// udp_queue_rcv_one_skb + __udp_enqueue_schedule_skb: a datagram that would take the
    /// charged memory past SO_RCVBUF is dropped, unless the queue is empty ("accept the packet
    /// if queue is empty", so even a tiny buffer takes one datagram). Measured on this kernel.
    fn enqueue(
        &mut self,
        id: SocketId,
        datagram: &InboundDatagram<'_>,
        tuple: &FourTuple,
        repr: &Repr<'_>,
    ) {
        let mut payload = repr.payload;
        let (interface_address, interface_index) = (self.interface_address, self.interface_index);
        let filter_device = self.filter_device();
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        // UDP_ENCAP: an ESP-in-UDP socket hands ESP and keepalives to IPsec.
        if super::options::encapsulation_consumes(&socket.udp, repr.payload) {
            self.counters.encapsulation_consumed += 1;
            return;
        }
        // RFC 3828 3.3 (UDPLITE_RECV_CSCOV): a partially covered datagram is refused when the
        // receiver asked for full coverage or for more than the sender covered.
        let partial = repr.flavor == Flavor::Lite && repr.coverage < datagram.payload.len();
        if let (true, Some(minimum)) = (partial, socket.udp.lite_receive_coverage) {
            if minimum == 0 || repr.coverage < usize::from(minimum) {
                socket.drops += 1;
                self.counters.bad_coverage += 1;
                return;
            }
        }
        // sk_filter_trim_cap(sk, skb, sizeof(struct udphdr)) (udp/filter.rs): 0
        // drops (udp_drops_inc), a shorter length trims, never below the header.
        if let Some(program) = socket.options.filter.clone() {
            let udp_len = 8 + payload.len();
            let udp = datagram.payload.get(..udp_len).unwrap_or(datagram.payload);
            match super::filter::run_receive_filter(
                &program,
                datagram,
                udp,
                &filter_device,
                &mut self.random,
            ) {
                Some(kept) => payload = &payload[..kept.saturating_sub(8).min(payload.len())],
                None => {
                    socket.drops += 1;
                    self.counters.filter_dropped += 1;
                    return;
                }
            }
        }
        let size = datagram.truesize;
        let buffer = socket.options.receive_buffer.max(0) as usize;
        if socket.receive_memory + size > buffer
            && (buffer > (i32::MAX >> 1) as usize || socket.receive_memory != 0)
        {
            socket.drops += 1;
            self.counters.receive_buffer_full += 1;
            return;
        }
        let packet_info = socket.options.packet_info.then(|| {
            (
                packet_info_index(datagram, interface_index),
                spec_destination(datagram, interface_address),
            )
        });
        // udp4_csum_init: a checksum left to software (not offloaded, not loopback) of a
        // datagram of at most CHECKSUM_BREAK (76) bytes is verified at once, which makes the
        // skb CHECKSUM_COMPLETE; longer ones wait (see QueuedDatagram::checksum_complete).
        // UDP-Lite's partial coverage is verified its own way.
        const CHECKSUM_BREAK: usize = 76;
        let software_checksum =
            !datagram.meta.checksum_trusted && repr.flavor == Flavor::Udp && repr.checksum != 0;
        // With a filter, udp_lib_checksum_complete runs before it, whatever the length.
        let checksum_complete = software_checksum
            && (datagram.payload.len() <= CHECKSUM_BREAK || socket.options.filter.is_some());
        socket.receive_queue.push_back(QueuedDatagram {
            payload: payload.to_vec(),
            source: tuple.remote,
            destination: datagram.dst,
            ttl: datagram.ttl,
            tos: datagram.tos,
            packet_info,
            timestamp: datagram.meta.timestamp,
            truesize: size,
            ip_options: datagram.options.to_vec(),
            compiled_options: datagram.compiled_options,
            fragment_max_size: datagram.fragment_max_size,
            software_checksum,
            checksum_complete: core::cell::Cell::new(checksum_complete),
            checksum_before_trim: (checksum_complete && payload.len() < repr.payload.len())
                .then(|| crate::cmsg::payload_checksum(repr.payload)),
            // sock_skb_set_dropcount in __udp_enqueue_schedule_skb.
            drops_when_queued: if socket.options.receive_queue_overflow {
                socket.drops as u32
            } else {
                0
            },
            peeked: false,
            original_destination_port: Some(tuple.local.port()),
            tags: datagram.meta.tags,
        });
        socket.receive_memory += size;
        socket.wake_readers();
        self.counters.delivered += 1;
    }

    /// __udp4_lib_lookup: the sockets bound to the destination address first; only if none of
    /// them matches, the wildcard-bound ones. So a socket bound to the address beats every
    /// wildcard socket, even a connected one.
    pub(super) fn lookup(&self, flavor: Flavor, tuple: &FourTuple) -> Option<SocketId> {
        self.lookup_from(flavor, tuple, None)
    }

    /// `lookup` for a datagram that came in through `device` (its inet_iif): a socket bound
    /// to another device does not match (compute_score). None matches every device (the
    /// ICMP error path does not check it yet).
    pub(super) fn lookup_from(
        &self,
        flavor: Flavor,
        tuple: &FourTuple,
        device: Option<u32>,
    ) -> Option<SocketId> {
        self.lookup_with(flavor, tuple, device, None)
    }

    /// `lookup_from` with the datagram a reuseport group's program may look at (None for
    /// the ICMP error path, which passes no skb to reuseport_select_sock).
    fn lookup_with(
        &self,
        flavor: Flavor,
        tuple: &FourTuple,
        device: Option<u32>,
        input: Option<&ReuseportInput<'_>>,
    ) -> Option<SocketId> {
        let chain = self.ports(flavor).bindings_for_lookup(tuple.local.port());
        let local = *tuple.local.ip();
        if let Some(found) = self.lookup_by_address(&chain, tuple, local, device, input) {
            return Some(found);
        }
        if tuple.local.ip().is_unspecified() {
            return None;
        }
        self.lookup_by_address(&chain, tuple, Ipv4Addr::UNSPECIFIED, device, input)
    }

    /// udp4_lib_lookup2 over the sockets bound to (`address`, port): the highest score wins,
    /// ties go to the first in chain order; a SO_REUSEPORT socket hands the choice to its group
    /// unless the group has connected members, in which case scoring continues.
    fn lookup_by_address(
        &self,
        chain: &[PortBinding],
        tuple: &FourTuple,
        address: Ipv4Addr,
        device: Option<u32>,
        input: Option<&ReuseportInput<'_>>,
    ) -> Option<SocketId> {
        let mut best: Option<SocketId> = None;
        let mut best_score = 0;
        for binding in chain.iter().filter(|b| b.address == address) {
            let Ok(socket) = self.sockets.get(binding.owner) else {
                continue;
            };
            let Some(score) = compute_score(socket, tuple, device) else {
                continue;
            };
            if score <= best_score {
                continue;
            }
            let group_choice = if socket.options.reuse_port && socket.peer.is_none() {
                self.reuseport_select(chain, binding, tuple, input)
            } else {
                None
            };
            if let Some((choice, group_has_connections)) = group_choice {
                if !group_has_connections {
                    return Some(choice);
                }
                best = Some(choice);
            } else {
                best = Some(binding.owner);
            }
            best_score = score;
        }
        best
    }

    /// reuseport_select_sock_by_hash: the group is every SO_REUSEPORT socket bound to the same
    /// address, port and device (udp_reuseport_add_sock), in the order they joined; the flow
    /// hash picks a member, skipping connected ones. Also reports whether the group has
    /// connected members (reuseport_has_conns). A group program (SO_ATTACH_REUSEPORT_CBPF)
    /// picks first: run_bpf_filter's index, when it names a member.
    fn reuseport_select(
        &self,
        chain: &[PortBinding],
        member: &PortBinding,
        tuple: &FourTuple,
        input: Option<&ReuseportInput<'_>>,
    ) -> Option<(SocketId, bool)> {
        let mut group: Vec<&PortBinding> = chain
            .iter()
            .filter(|b| {
                b.address == member.address
                    && b.device == member.device
                    && self
                        .sockets
                        .get(b.owner)
                        .is_ok_and(|s| s.options.reuse_port)
            })
            .collect();
        group.sort_by_key(|b| b.bind_order);
        if group.is_empty() {
            return None;
        }
        let connected = |b: &PortBinding| self.sockets.get(b.owner).is_ok_and(|s| s.peer.is_some());
        let has_connections = group.iter().any(|b| connected(b));
        if let Some(chosen) = input.and_then(|input| self.reuseport_program_choice(&group, input)) {
            return Some((chosen, has_connections));
        }
        let count = group.len() as u32;
        let start = scale(self.flow_hash(tuple), count) as usize;
        let chosen = (0..group.len())
            .map(|step| group[(start + step) % group.len()])
            .find(|b| !connected(b))?;
        Some((chosen.owner, has_connections))
    }

    /// udp_ehashfn: a keyed hash of the 4-tuple (the kernel uses jhash with a boot secret; any
    /// well-mixed keyed hash gives the same spread).
    fn flow_hash(&self, tuple: &FourTuple) -> u32 {
        let mut value = u64::from(self.hash_secret);
        for word in [
            u32::from(*tuple.local.ip()),
            u32::from(tuple.local.port()),
            u32::from(*tuple.remote.ip()),
            u32::from(tuple.remote.port()),
        ] {
            value = (value ^ u64::from(word)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            value ^= value >> 29;
        }
        (value >> 32) as u32
    }

    /// __udp4_lib_mcast_deliver / __udp_is_mcast_sock: every socket on the port whose bound
    /// address, peer address and peer port (where set) match, and, for multicast, whose
    /// memberships let the datagram in (ip_mc_sf_allow: its filter for the group on the
    /// device it came in by; IP_MULTICAST_ALL for a group it did not join).
    fn broadcast_receivers(&self, flavor: Flavor, tuple: &FourTuple, device: u32) -> Vec<SocketId> {
        self.ports(flavor)
            .bindings(tuple.local.port())
            .iter()
            .filter(|binding| {
                let Ok(socket) = self.sockets.get(binding.owner) else {
                    return false;
                };
                let address_matches =
                    binding.address.is_unspecified() || binding.address == *tuple.local.ip();
                let peer_matches = socket.peer.is_none_or(|peer| {
                    (peer.ip().is_unspecified() || peer.ip() == tuple.remote.ip())
                        && (peer.port() == 0 || peer.port() == tuple.remote.port())
                });
                let group = *tuple.local.ip();
                let filter_allows = !group.is_multicast()
                    || socket.options.memberships.accepts(
                        group,
                        *tuple.remote.ip(),
                        device,
                        socket.options.multicast_all,
                    );
                address_matches
                    && peer_matches
                    && bound_device_matches(socket, Some(device))
                    && filter_allows
            })
            .map(|binding| binding.owner)
            .collect()
    }
}

/// The datagram as a reuseport group's program sees it.
pub(super) struct ReuseportInput<'a> {
    pub datagram: &'a InboundDatagram<'a>,
    /// The UDP header and data.
    pub udp: &'a [u8],
}

impl UdpLayer {
    /// run_bpf_filter: the latest program attached by a member runs over the datagram with
    /// the UDP header pulled; its value indexes the group (reuse->socks), else None (the hash
    /// decides).
    fn reuseport_program_choice(
        &self,
        group: &[&PortBinding],
        input: &ReuseportInput<'_>,
    ) -> Option<SocketId> {
        let program = socket_structured::latest_reuseport_program(
            group
                .iter()
                .filter_map(|b| Some(&self.sockets.get(b.owner).ok()?.options)),
        )?;
        let device = self.filter_device();
        // bpf_user_rnd_u32 draws from its own per-CPU state: a fixed draw here keeps
        // lookups free of side effects.
        let index =
            super::filter::run_reuseport_program(&program, input.datagram, input.udp, &device);
        group.get(index as usize).map(|b| b.owner)
    }
}

/// compute_score: -1 (None) unless the bound address equals the destination and any peer
/// address/port equals the source; 2 for an AF_INET socket, +4 for each peer field, +4 for a
/// matching (or absent) device binding.
fn compute_score(socket: &UdpSocket, tuple: &FourTuple, device: Option<u32>) -> Option<u32> {
    let mut score = 2;
    if let Some(peer) = socket.peer {
        if !peer.ip().is_unspecified() {
            if peer.ip() != tuple.remote.ip() {
                return None;
            }
            score += 4;
        }
        if peer.port() != 0 {
            if peer.port() != tuple.remote.port() {
                return None;
            }
            score += 4;
        }
    }
    if !bound_device_matches(socket, device) {
        return None;
    }
    if socket.options.bound_device != 0 {
        score += 4;
    }
    Some(score)
}

/// udp_sk_bound_dev_eq (inet_bound_dev_eq without an L3 master device): a socket bound with
/// SO_BINDTODEVICE / SO_BINDTOIFINDEX only takes datagrams that came in through that device.
fn bound_device_matches(socket: &UdpSocket, device: Option<u32>) -> bool {
    let bound = socket.options.bound_device;
    bound == 0 || device.is_none_or(|device| device == bound)
}

/// The device a datagram came in by, as the lookup sees it (inet_iif): what IP_PKTINFO
/// reports as ipi_ifindex.
fn input_device(datagram: &InboundDatagram<'_>, interface_index: u32) -> u32 {
    packet_info_index(datagram, interface_index)
}

/// ipi_ifindex (ipv4_pktinfo_prepare): inet_iif, which the network layer hands up as the
/// datagram's ifindex (for looped-back datagrams the output route's rt_iif: measured, a
/// datagram to 198.18.0.2 from the same host shows the veth's ifindex, one to 127.0.0.1, or
/// sent with an IP_PKTINFO ifindex of lo, shows 1).
fn packet_info_index(datagram: &InboundDatagram<'_>, _interface_index: u32) -> u32 {
    datagram.ifindex
}

/// ipi_spec_dst (fib_compute_spec_dst): the destination itself for a datagram to one of our
/// addresses; for broadcast or multicast, the address we would answer from, which is the
/// interface's (or 127.0.0.1 for loopback traffic).
fn spec_destination(datagram: &InboundDatagram<'_>, interface_address: Ipv4Addr) -> Ipv4Addr {
    if !(datagram.ip_broadcast || datagram.dst.is_multicast()) {
        datagram.dst
    } else if datagram.src.is_loopback() {
        Ipv4Addr::LOCALHOST
    } else {
        interface_address
    }
}
