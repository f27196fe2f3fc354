//! STUB: to be written (see docs/stack-internals.md). Signatures are the contract.
use core::net::Ipv4Addr;

use super::{OutboundDatagram, Route};
use crate::config::StackConfig;
use crate::counters::CounterSet;
use crate::errno::Errno;
use crate::socket::RxMeta;
use crate::time::Instant;
use crate::transport::Transports;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv4Counters {}

impl CounterSet for Ipv4Counters {
    fn entries(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

pub struct Ipv4Layer {}

impl Ipv4Layer {
    pub fn new(_config: &StackConfig) -> Ipv4Layer {
        todo!()
    }
    /// Returns true if anything was delivered to a transport (readiness may have changed).
    pub fn handle_frame(&mut self, _now: Instant, _frame: &[u8], _meta: RxMeta, _upper: &mut dyn Transports) -> bool {
        todo!()
    }
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        todo!()
    }
    pub fn poll_at(&self) -> Option<Instant> {
        todo!()
    }
    pub fn handle_timeout(&mut self, _now: Instant, _upper: &mut dyn Transports) -> bool {
        todo!()
    }
    pub fn run_loopback(&mut self, _now: Instant, _upper: &mut dyn Transports) -> bool {
        todo!()
    }
    /// ip_route_output: where `dst` goes. `oif`: SO_BINDTODEVICE / IP_UNICAST_IF restriction.
    pub fn route(&self, _dst: Ipv4Addr, _oif: Option<u32>, _dont_route: bool) -> Result<Route, Errno> {
        todo!()
    }
    /// Is `addr` one of ours (inet_addr_type == RTN_LOCAL)? 127/8 counts.
    pub fn is_local_address(&self, _addr: Ipv4Addr) -> bool {
        todo!()
    }
    /// Is `addr` a broadcast address (255.255.255.255 or our subnet's)?
    pub fn is_broadcast_address(&self, _addr: Ipv4Addr) -> bool {
        todo!()
    }
    pub fn send(&mut self, _now: Instant, _datagram: &OutboundDatagram<'_>) -> Result<(), Errno> {
        todo!()
    }
    pub fn counters(&self) -> Ipv4Counters {
        todo!()
    }
}
