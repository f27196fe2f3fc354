//! `Ipv4Layer`: the network layer's state and its public entry points. The work is done in
//! the sibling modules (input, output, icmp, neighbour, loopback, fragment, route); this file
//! only wires them together, so the contract with the stack reads in one screen.

use core::net::Ipv4Addr;
use std::collections::VecDeque;

use super::arp_cache::NeighbourTable;
pub use super::counters::Ipv4Counters;
use super::fragment::Reassembly;
use super::icmp_rate::IcmpRateLimiter;
use super::ident::IdentGenerator;
use super::loopback::LoopbackDatagram;
use super::route::{self, PmtuCache};
use super::{OutboundDatagram, Route};
use crate::config::{InterfaceConfig, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::random::Random;
use crate::socket::RxMeta;
use crate::time::Instant;
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
            pmtu: PmtuCache::default(),
            idents,
            reassembly: Reassembly::default(),
            icmp_limiter: IcmpRateLimiter::default(),
            loopback: VecDeque::new(),
            transmit: VecDeque::new(),
            counters: Ipv4Counters::default(),
            clock: Instant::ZERO,
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

    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.tick(now);
        self.transmit.pop_front()
    }

    /// The earliest timer: an ARP retry or expiry, or a reassembly timeout.
    pub fn poll_at(&self) -> Option<Instant> {
        [self.neighbours.poll_at(), self.reassembly.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, upper: &mut dyn Transports) -> bool {
        self.tick(now);
        self.neighbour_timeouts(now);
        self.reassembly_timeouts(now);
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
