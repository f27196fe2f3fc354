//! `Ipv4Layer`: the network layer's state and its public entry points. The work is done in
//! the sibling modules (input, output, icmp, neighbour, loopback, fragment, route); this file
//! only wires them together, so the contract with the stack reads in one screen.

use core::net::Ipv4Addr;
use std::collections::VecDeque;

use super::arp_cache::NeighbourTable;
pub use super::counters::Ipv4Counters;
use super::fragment::{Limits, Reassembly};
use super::icmp_rate::IcmpRateLimiter;
use super::ident::IdentGenerator;
use super::loopback::LoopbackDatagram;
use super::route::{self, PmtuCache};
use super::{OutboundDatagram, Route};
use crate::config::{InterfaceConfig, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::random::Random;
use crate::socket::{PacketTags, RxMeta};
use crate::time::{Instant, WallTime};
use crate::transport::Transports;

pub struct Ipv4Layer {
    pub(super) iface: InterfaceConfig,
    pub(super) sysctls: Sysctls,
    pub(super) rng: Random,
    pub(super) neighbours: NeighbourTable,
    pub(super) pmtu: PmtuCache,
    pub(super) idents: IdentGenerator,
    pub(super) reassembly: Reassembly,
    pub(super) icmp_limiter: IcmpRateLimiter,
    /// Datagrams for our own addresses, delivered by `run_loopback`.
    pub(super) loopback: VecDeque<LoopbackDatagram>,
    /// Ethernet frames waiting for `poll_transmit`.
    pub(super) transmit: VecDeque<Vec<u8>>,
    pub(super) counters: Ipv4Counters,
    /// The latest `now` any entry point was given: `route()` takes no time but must not use a
    /// path MTU that has expired.
    pub(super) clock: Instant,
    /// A CLOCK_REALTIME reading and the `Instant` it was taken at (`set_wall_clock`): the
    /// receive time of looped-back datagrams, which no driver stamps (the kernel stamps them
    /// in netif_rx).
    pub(super) wall_reference: Option<(Instant, WallTime)>,
    /// skb->mark and skb->priority of the datagram being output (`send_tagged`), which a
    /// looped-back copy keeps; zero otherwise (our own ICMP answers).
    pub(super) outgoing_tags: PacketTags,
    /// IP_MULTICAST_LOOP of the socket whose datagram is being output (`send_looping`):
    /// ip_mc_output loops a multicast back to local members only when it is set.
    pub(super) outgoing_multicast_loop: bool,
    /// Group memberships of the interfaces and IGMP (`igmp.rs`).
    pub(super) igmp: super::igmp::IgmpState,
    /// The source MAC of the frame being received (`receive_frame`), for the link-layer
    /// header a socket filter may read (InboundDatagram::link_source); None otherwise.
    pub(super) incoming_link_source: Option<[u8; 6]>,
}

impl Ipv4Layer {
    pub fn new(config: &StackConfig) -> Ipv4Layer {
        let mut rng = Random::new(config.random_seed ^ 0x6970_7634_6c61_7972);
        let neighbours = NeighbourTable::new(&config.sysctls, &mut rng);
        let idents = IdentGenerator::new(&mut rng);
        Ipv4Layer {
            iface: config.interface.clone(),
            sysctls: config.sysctls.clone(),
            rng,
            neighbours,
            pmtu: PmtuCache::new(
                config.sysctls.route_min_pmtu,
                core::time::Duration::from_secs(u64::from(config.sysctls.route_mtu_expires_secs)),
            ),
            idents,
            reassembly: Reassembly::new(Limits::from_sysctls(&config.sysctls)),
            icmp_limiter: IcmpRateLimiter::default(),
            loopback: VecDeque::new(),
            transmit: VecDeque::new(),
            counters: Ipv4Counters::default(),
            clock: Instant::ZERO,
            wall_reference: None,
            outgoing_tags: PacketTags::default(),
            outgoing_multicast_loop: true,
            igmp: super::igmp::IgmpState::new(
                &config.sysctls,
                config.interface.ifindex,
                config.interface.mtu,
                config.random_seed,
            ),
            incoming_link_source: None,
        }
    }

    /// Records what CLOCK_REALTIME read at `now` (see `wall_reference`).
    pub fn set_wall_clock(&mut self, now: Instant, wall: WallTime) {
        self.wall_reference = Some((now, wall));
    }

    /// CLOCK_REALTIME at `now`, from the reference (zero without one).
    pub(crate) fn wall_time_at(&self, now: Instant) -> WallTime {
        match self.wall_reference {
            Some((at, wall)) => wall.after(now.saturating_since(at)),
            None => WallTime::default(),
        }
    }

    pub(super) fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    /// Returns true if anything was delivered to a transport (readiness may have changed).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        frame: &[u8],
        meta: RxMeta,
        upper: &mut dyn Transports,
    ) -> bool {
        self.tick(now);
        let delivered = self.receive_frame(now, frame, meta, upper);
        // ICMP errors about our own datagrams (e.g. for a looped-back broadcast) land here.
        self.run_loopback(now, upper) || delivered
    }

    /// How many frames and loopback datagrams are queued: taken before a send, so that
    /// `frame_handed_since` can find the frame that send gave the device.
    pub(crate) fn output_mark(&self) -> (usize, usize) {
        (self.transmit.len(), self.loopback.len())
    }

    /// The first IPv4 frame queued since `mark` (a transmit timestamp's looped copy): an
    /// Ethernet frame for our interface (not the ARP request a send may queue first), else a
    /// loopback datagram with lo's header. None while the datagram waits for ARP.
    pub(crate) fn frame_handed_since(
        &self,
        mark: (usize, usize),
    ) -> Option<crate::tx_timestamp::HandedFrame> {
        let is_ipv4 = |frame: &&Vec<u8>| frame.get(12..14) == Some(&[0x08, 0x00][..]);
        if let Some(frame) = self.transmit.iter().skip(mark.0).find(is_ipv4) {
            return Some(crate::tx_timestamp::HandedFrame {
                bytes: frame.clone(),
                ifindex: self.iface.ifindex,
            });
        }
        let looped = self.loopback.get(mark.1)?;
        Some(crate::tx_timestamp::HandedFrame::loopback(&looped.datagram))
    }

    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.tick(now);
        self.transmit.pop_front()
    }

    /// The earliest timer: an ARP retry or expiry, or a reassembly timeout.
    pub fn poll_at(&self) -> Option<Instant> {
        [
            self.neighbours.poll_at(),
            self.reassembly.poll_at(),
            self.igmp_poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, upper: &mut dyn Transports) -> bool {
        self.tick(now);
        self.neighbour_timeouts(now);
        self.reassembly_timeouts(now);
        self.igmp_timeouts(now);
        // A failed resolution reports through an ICMP error to ourselves (ipv4_link_failure),
        // which the loopback queue delivers.
        self.run_loopback(now, upper)
    }

    pub fn run_loopback(&mut self, now: Instant, upper: &mut dyn Transports) -> bool {
        self.tick(now);
        self.drain_loopback(now, upper)
    }

    /// ip_route_output: where `dst` goes. `oif`: SO_BINDTODEVICE / IP_UNICAST_IF restriction.
    pub fn route(&self, dst: Ipv4Addr, oif: Option<u32>, dont_route: bool) -> Result<Route, Errno> {
        route::route_output(&self.iface, &self.pmtu, self.clock, dst, oif, dont_route)
    }

    /// IP_MTU of a socket whose cached route (sk_dst_cache) is `cached`, a route to `dst`:
    /// dst_mtu of that route. A route made from a path MTU exception follows it; one cached
    /// before an exception was created on its nexthop is obsolete and keeps the MTU it had
    /// until a send revalidates it; any other reads what a lookup would.
    pub fn cached_route_mtu(&self, cached: &Route, dst: Ipv4Addr) -> u32 {
        let current = self
            .route(dst, None, false)
            .map_or(cached.mtu, |route| route.mtu);
        if cached.local || cached.from_exception {
            return current;
        }
        let nexthop = route::Nexthop::for_destination(&self.iface, dst);
        if self.pmtu.generation(nexthop) != cached.nexthop_generation {
            cached.mtu
        } else {
            current
        }
    }

    /// Is `addr` one of ours (inet_addr_type == RTN_LOCAL)? 127/8 counts.
    pub fn is_local_address(&self, addr: Ipv4Addr) -> bool {
        route::is_local(&self.iface, addr)
    }

    /// Is `addr` a broadcast address (255.255.255.255 or our subnet's)?
    pub fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool {
        route::is_broadcast(&self.iface, addr)
    }

    pub fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno> {
        self.tick(now);
        self.output(now, datagram)
    }

    /// `send` of a datagram whose skb carries the sending socket's mark and priority: only a
    /// looped-back copy shows them (to SO_RCVMARK / SO_RCVPRIORITY receivers).
    pub fn send_tagged(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        tags: PacketTags,
    ) -> Result<(), Errno> {
        self.outgoing_tags = tags;
        let result = self.send(now, datagram);
        self.outgoing_tags = PacketTags::default();
        result
    }

    /// `send_tagged` with the sending socket's IP_MULTICAST_LOOP.
    pub fn send_looping(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        tags: PacketTags,
        multicast_loop: bool,
    ) -> Result<(), Errno> {
        self.outgoing_multicast_loop = multicast_loop;
        let result = self.send_tagged(now, datagram, tags);
        self.outgoing_multicast_loop = true;
        result
    }

    pub fn counters(&self) -> Ipv4Counters {
        self.counters.clone()
    }

    /// The interface this layer serves.
    pub fn interface(&self) -> &InterfaceConfig {
        &self.iface
    }

    /// The sysctls the layer was configured with.
    pub fn sysctls(&self) -> &Sysctls {
        &self.sysctls
    }
}
