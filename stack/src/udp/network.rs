//! What UDP needs from the network layer, as a trait so the socket logic can be tested against
//! a scripted network before (and besides) the real `Ipv4Layer`.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::ipv4::{Ipv4Layer, OutboundDatagram, Route};
use crate::time::Instant;

pub(crate) trait Network {
    /// ip_route_output for `dst` (see `Ipv4Layer::route`).
    fn route(&self, dst: Ipv4Addr, oif: Option<u32>, dont_route: bool) -> Result<Route, Errno>;
    /// inet_addr_type == RTN_LOCAL.
    fn is_local_address(&self, addr: Ipv4Addr) -> bool;
    /// inet_addr_type == RTN_BROADCAST.
    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool;
}

pub(crate) trait NetworkOutput: Network {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno>;
}

impl Network for Ipv4Layer {
    fn route(&self, dst: Ipv4Addr, oif: Option<u32>, dont_route: bool) -> Result<Route, Errno> {
        Ipv4Layer::route(self, dst, oif, dont_route)
    }

    fn is_local_address(&self, addr: Ipv4Addr) -> bool {
        Ipv4Layer::is_local_address(self, addr)
    }

    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool {
        Ipv4Layer::is_broadcast_address(self, addr)
    }
}

impl NetworkOutput for Ipv4Layer {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno> {
        Ipv4Layer::send(self, now, datagram)
    }
}

/// inet_addr_type, as far as bind and the source-address rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressType {
    Local,
    Broadcast,
    Multicast,
    Unicast,
}

pub(crate) fn address_type(network: &dyn Network, addr: Ipv4Addr) -> AddressType {
    if addr.is_multicast() {
        AddressType::Multicast
    } else if addr.is_broadcast() || network.is_broadcast_address(addr) {
        AddressType::Broadcast
    } else if network.is_local_address(addr) {
        AddressType::Local
    } else {
        AddressType::Unicast
    }
}
