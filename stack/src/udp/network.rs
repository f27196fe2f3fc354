//! What UDP needs from the network layer, as a trait so the socket logic can be tested against
//! a scripted network before (and besides) the real `Ipv4Layer`.

use core::net::Ipv4Addr;

use crate::errno::Errno;
use crate::ipv4::{Ipv4Layer, OutboundDatagram, Route};
use crate::socket::PacketTags;
use crate::time::{Instant, WallTime};
use crate::tx_timestamp::HandedFrame;

pub(crate) trait Network {
    /// ip_route_output for `dst` (see `Ipv4Layer::route`).
    fn route(&self, dst: Ipv4Addr, oif: Option<u32>, dont_route: bool) -> Result<Route, Errno>;
    /// inet_addr_type == RTN_LOCAL.
    fn is_local_address(&self, addr: Ipv4Addr) -> bool;
    /// inet_addr_type == RTN_BROADCAST.
    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool;
    /// dst_mtu of a route a socket cached earlier (see `Ipv4Layer::cached_route_mtu`).
    fn cached_route_mtu(&self, cached: &Route, dst: Ipv4Addr) -> u32 {
        self.route(dst, None, false)
            .map_or(cached.mtu, |route| route.mtu)
    }
}

pub(crate) trait NetworkOutput: Network {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno>;
    /// `send`, with the skb's mark and priority (kept only by looped-back copies).
    fn send_tagged(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        _tags: PacketTags,
    ) -> Result<(), Errno> {
        self.send(now, datagram)
    }
    /// `send_tagged` of a socket's datagram with its IP_MULTICAST_LOOP (whether a multicast
    /// is looped back to this host's members, ip_mc_output).
    fn send_looping(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        tags: PacketTags,
        _multicast_loop: bool,
    ) -> Result<(), Errno> {
        self.send_tagged(now, datagram, tags)
    }
    /// CLOCK_REALTIME at `now`, for what the stack stamps itself (a local error's skb gets its
    /// time when recvmsg reads it; the stack stamps it when queued). Zero when unknown.
    fn wall_time(&self, _now: Instant) -> WallTime {
        WallTime::default()
    }
    /// See `Ipv4Layer::output_mark` (a scripted network queues nothing).
    fn output_mark(&self) -> (usize, usize) {
        (0, 0)
    }
    /// See `Ipv4Layer::frame_handed_since`.
    fn frame_handed_since(&self, _mark: (usize, usize)) -> Option<HandedFrame> {
        None
    }
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

    fn cached_route_mtu(&self, cached: &Route, dst: Ipv4Addr) -> u32 {
        Ipv4Layer::cached_route_mtu(self, cached, dst)
    }
}

impl NetworkOutput for Ipv4Layer {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno> {
        Ipv4Layer::send(self, now, datagram)
    }

    fn send_tagged(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        tags: PacketTags,
    ) -> Result<(), Errno> {
        Ipv4Layer::send_tagged(self, now, datagram, tags)
    }

    fn wall_time(&self, now: Instant) -> WallTime {
        Ipv4Layer::wall_time_at(self, now)
    }

    fn output_mark(&self) -> (usize, usize) {
        Ipv4Layer::output_mark(self)
    }

    fn frame_handed_since(&self, mark: (usize, usize)) -> Option<HandedFrame> {
        Ipv4Layer::frame_handed_since(self, mark)
    }

    fn send_looping(
        &mut self,
        now: Instant,
        datagram: &OutboundDatagram<'_>,
        tags: PacketTags,
        multicast_loop: bool,
    ) -> Result<(), Errno> {
        Ipv4Layer::send_looping(self, now, datagram, tags, multicast_loop)
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
