//! STUB: to be written (see docs/stack-internals.md). Signatures are the contract.
use core::net::SocketAddrV4;
use core::time::Duration;

use crate::config::{Credentials, StackConfig};
use crate::counters::CounterSet;
use crate::errno::Errno;
use crate::ipv4::{InboundDatagram, Ipv4Layer};
use crate::socket::{RecvArgs, RecvResult, SendArgs, Shutdown, SocketId};
use crate::time::Instant;
use crate::transport::{Delivery, IcmpError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdpCounters {}

impl CounterSet for UdpCounters {
    fn entries(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

pub struct UdpLayer {}

#[allow(unused_variables)]
impl UdpLayer {
    pub fn new(config: &StackConfig) -> UdpLayer { todo!() }
    pub fn counters(&self) -> UdpCounters { todo!() }
    pub fn socket(&mut self, protocol: u8, creds: Credentials) -> Result<SocketId, Errno> { todo!() }
    /// EBADF for an id that is not (or no longer) a socket of this layer.
    pub fn check(&self, id: SocketId) -> Result<(), Errno> { todo!() }
    pub fn close(&mut self, now: Instant, id: SocketId) { todo!() }
    pub fn bind(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> { todo!() }
    pub fn connect(&mut self, now: Instant, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> { todo!() }
    pub fn send(&mut self, now: Instant, ip: &mut Ipv4Layer, id: SocketId, args: SendArgs<'_>) -> Result<usize, Errno> { todo!() }
    pub fn recv(&mut self, now: Instant, id: SocketId, args: RecvArgs, buf: &mut [u8]) -> Result<RecvResult, Errno> { todo!() }
    pub fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> { todo!() }
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> { todo!() }
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> { todo!() }
    pub fn poll(&self, id: SocketId) -> u32 { todo!() }
    /// Bumped on every wakeup-worthy event of this socket (data queued, error queued, state
    /// change), for edge-triggered epoll: an edge is reported when this moved.
    pub fn activity(&self, id: SocketId) -> u64 { todo!() }
    pub fn setsockopt(&mut self, ip: &Ipv4Layer, id: SocketId, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> { todo!() }
    pub fn getsockopt(&self, ip: &Ipv4Layer, id: SocketId, level: i32, name: i32, optlen: usize) -> Result<Vec<u8>, Errno> { todo!() }
    pub fn ioctl(&mut self, id: SocketId, request: u64) -> Result<Vec<u8>, Errno> { todo!() }
    pub fn timeouts(&self, id: SocketId) -> Result<(Option<Duration>, Option<Duration>), Errno> { todo!() }
    pub fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery { todo!() }
    pub fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) { todo!() }
}
