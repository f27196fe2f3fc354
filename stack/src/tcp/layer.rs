//! `TcpLayer`: the socket table, the demultiplexing tables (connections by 4-tuple, listeners
//! by port, TIME_WAIT entries), port reservations, and the driver-side entry points (timers,
//! handing queued segments to IPv4). The socket calls are in `calls.rs` and `io.rs`, segment
//! arrival in `demux.rs`, options in `sockopt.rs`.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::{BTreeMap, HashMap};

use super::counters::TcpCounters;
use super::ports::{Holder, PortTable};
use super::secure_seq::SequenceSecrets;
use super::socket::TcpSocket;
use super::table::SocketTable;
use super::tcb::OutSegment;
use super::timeout::Expiry;
use super::timewait::TimeWaitEntry;
use crate::config::{StackConfig, Sysctls};
use crate::errno::Errno;
use crate::ipv4::{Ipv4Layer, OutboundDatagram, PmtuMode, Route};
use crate::random::Random;
use crate::socket::SocketId;
use crate::stack::ip_proto;
use crate::time::Instant;

/// What TCP needs from the network layer, as a trait so packet-script tests can stand in a
/// scripted network (implemented by `Ipv4Layer`).
pub trait Network {
    /// ip_route_output for `dst`.
    fn route(&self, dst: Ipv4Addr) -> Result<Route, Errno>;
    /// inet_addr_type == RTN_LOCAL.
    fn is_local_address(&self, addr: Ipv4Addr) -> bool;
    /// inet_addr_type == RTN_BROADCAST.
    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool;
}

/// Where finished segments go (ip_queue_xmit).
pub trait SegmentOutput {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno>;
    /// See `Ipv4Layer::output_mark` (transmit timestamps, `tx_timestamps.rs`).
    fn output_mark(&self) -> (usize, usize) {
        (0, 0)
    }
    /// See `Ipv4Layer::frame_handed_since`.
    fn frame_handed_since(
        &self,
        _mark: (usize, usize),
    ) -> Option<crate::tx_timestamp::HandedFrame> {
        None
    }
    /// CLOCK_REALTIME at `now` (zero when unknown).
    fn wall_time(&self, _now: Instant) -> crate::time::WallTime {
        crate::time::WallTime::default()
    }
}

impl Network for Ipv4Layer {
    fn route(&self, dst: Ipv4Addr) -> Result<Route, Errno> {
        Ipv4Layer::route(self, dst, None, false)
    }

    fn is_local_address(&self, addr: Ipv4Addr) -> bool {
        Ipv4Layer::is_local_address(self, addr)
    }

    fn is_broadcast_address(&self, addr: Ipv4Addr) -> bool {
        Ipv4Layer::is_broadcast_address(self, addr)
    }
}

impl SegmentOutput for Ipv4Layer {
    fn send(&mut self, now: Instant, datagram: &OutboundDatagram<'_>) -> Result<(), Errno> {
        Ipv4Layer::send(self, now, datagram)
    }
    fn output_mark(&self) -> (usize, usize) {
        Ipv4Layer::output_mark(self)
    }
    fn frame_handed_since(&self, mark: (usize, usize)) -> Option<crate::tx_timestamp::HandedFrame> {
        Ipv4Layer::frame_handed_since(self, mark)
    }
    fn wall_time(&self, now: Instant) -> crate::time::WallTime {
        Ipv4Layer::wall_time_at(self, now)
    }
}

/// (local, remote): the demultiplexing key of a connection.
pub type FourTuple = (SocketAddrV4, SocketAddrV4);

/// net.core.somaxconn default: listen()'s backlog ceiling.
pub const SOMAXCONN: u32 = 4096;

pub struct TcpLayer {
    pub(super) sockets: SocketTable<TcpSocket>,
    pub(super) connections: HashMap<FourTuple, SocketId>,
    pub(super) listeners: BTreeMap<u16, Vec<SocketId>>,
    pub(super) time_wait: HashMap<FourTuple, TimeWaitEntry>,
    pub(super) ports: PortTable,
    /// Segments waiting for `transmit_queued`.
    pub(super) outbox: Vec<OutSegment>,
    pub(super) sysctls: Sysctls,
    pub(super) interface_mtu: u32,
    /// The stack's interface besides `lo`: the options that name one (IP_MULTICAST_IF, the
    /// memberships) accept its index and its address.
    pub(super) interface_index: u32,
    pub(super) interface_address: Ipv4Addr,
    /// The interface's MAC: the link header a SO_ATTACH_REUSEPORT_CBPF program sees.
    pub(super) interface_mac: [u8; 6],
    pub(super) random: Random,
    /// The keys of initial sequence numbers and timestamp offsets (secure_seq.rs).
    pub(super) secrets: SequenceSecrets,
    pub(super) counters: TcpCounters,
    /// TCP Fast Open: the namespace key and the client's cookie cache (`fastopen.rs`).
    pub(super) fastopen: super::fastopen::FastOpenHost,
    /// syncookie_secret: the keys of SYN cookies (syncookies.rs).
    pub(super) cookies: super::syncookies::CookieSecrets,
    /// The latest `now` an entry point brought (getsockopt takes none): TCP_INFO's
    /// "ms since the last ..." fields and TCP_TIMESTAMP are read against it.
    pub(super) clock: Instant,
}

impl TcpLayer {
    pub fn new(config: &StackConfig) -> TcpLayer {
        TcpLayer {
            sockets: SocketTable::default(),
            connections: HashMap::new(),
            listeners: BTreeMap::new(),
            time_wait: HashMap::new(),
            ports: PortTable::new(config.random_seed, &config.sysctls),
            outbox: Vec::new(),
            sysctls: config.sysctls.clone(),
            interface_mtu: config.interface.mtu,
            interface_index: config.interface.ifindex,
            interface_address: config.interface.addr,
            interface_mac: config.interface.mac,
            // Mixed with a constant of its own so TCP's draws differ from other layers'.
            random: Random::new(config.random_seed ^ 0x7463_7020_7365_6564),
            secrets: SequenceSecrets::new(config.sysctls.boot_id, config.random_seed),
            cookies: super::syncookies::CookieSecrets::new(
                config.sysctls.boot_id,
                config.random_seed,
            ),
            counters: TcpCounters::default(),
            fastopen: super::fastopen::FastOpenHost::new(&config.sysctls.tcp.fastopen_key),
            clock: Instant::ZERO,
        }
    }

    pub fn counters(&self) -> TcpCounters {
        self.counters.clone()
    }

    /// Hands every queued segment to the network layer (ip_queue_xmit). A connected socket's
    /// segments carry its own IP id counter (ip_select_ident_segs for a connected socket).
    pub fn transmit_queued(&mut self, now: Instant, network: &mut dyn SegmentOutput) {
        self.clock = self.clock.max(now);
        let default_ttl = self.sysctls.ip_default_ttl;
        for segment in core::mem::take(&mut self.outbox) {
            let datagram = OutboundDatagram {
                src: segment.src,
                dst: segment.dst,
                protocol: ip_proto::TCP,
                ttl: segment.ttl.unwrap_or(default_ttl),
                tos: segment.tos,
                // The control socket's replies (ident None) are IP_PMTUDISC_DO: DF, id 0.
                pmtu_mode: if segment.ident.is_some() {
                    PmtuMode::Want
                } else {
                    PmtuMode::Do
                },
                options: &[],
                socket_options: None,
                payload: &segment.bytes,
                dont_route: false,
                socket_ident: segment.ident,
                oif: None,
            };
            if self.send_segment_stamped(now, network, &datagram).is_err() {
                self.counters.output_errors += 1;
            }
        }
    }

    /// Segments queued and not yet handed over (for tests that inspect them).
    pub fn take_queued(&mut self) -> Vec<OutSegment> {
        core::mem::take(&mut self.outbox)
    }

    /// The earliest timer of any connection or TIME_WAIT entry.
    pub fn poll_at(&self) -> Option<Instant> {
        let connections = self
            .sockets
            .iter()
            .filter_map(|socket| socket.connection())
            .filter_map(|connection| connection.timers.next());
        let time_waits = self.time_wait.values().map(|entry| entry.expires);
        connections.chain(time_waits).min()
    }

    /// Runs every timer due at `now`.
    /// The latest time the driver read (see `clock`).
    pub fn observe_time(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        // Requests due together run newest first, as the kernel's timer wheel runs one
        // bucket (listen_queue.rs).
        for id in self.timer_order(self.sockets.ids()) {
            let due = self
                .sockets
                .get(id)
                .ok()
                .and_then(TcpSocket::connection)
                .and_then(|connection| connection.timers.next())
                .is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            // A request's SYN-ACK retries depend on its listener's queue (listen_queue.rs).
            self.refresh_request_retry_limit(id);
            let Ok(socket) = self.sockets.get_mut(id) else {
                continue;
            };
            let Some(connection) = socket.connection_mut() else {
                continue;
            };
            let expiry = connection.handle_timers(now, &mut self.outbox);
            self.fastopen_after_timers(now, id);
            if expiry == Expiry::Closed {
                self.connection_closed(id);
            }
            if let Expiry::FinWait2Record(timeout) = expiry {
                self.enter_fin_wait2_record(now, id, timeout);
            }
        }
        let expired: Vec<FourTuple> = self
            .time_wait
            .iter()
            .filter(|(_, entry)| entry.expires <= now)
            .map(|(tuple, _)| *tuple)
            .collect();
        for tuple in expired {
            self.remove_time_wait(tuple);
        }
    }

    pub(super) fn remove_time_wait(&mut self, tuple: FourTuple) {
        if self.time_wait.remove(&tuple).is_some() {
            self.ports
                .release(tuple.0.port(), Holder::TimeWait(tuple.0, tuple.1));
        }
    }

    /// A connection reached CLOSED (reset, timeout, last ACK, abort): tcp_done. It leaves the
    /// demultiplexing table; its port is released unless bind() fixed it; an orphan or a
    /// child nobody accepted disappears entirely.
    pub(super) fn connection_closed(&mut self, id: SocketId) {
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let Some(connection) = socket.connection() else {
            return;
        };
        let tuple = (connection.local, connection.remote);
        let orphaned = socket.orphaned;
        let parent = socket.parent;
        let bind_locked = socket.bind_locked;
        let port = socket.bound.map(|bound| bound.port());
        if self.connections.get(&tuple) == Some(&id) {
            self.connections.remove(&tuple);
        }
        if !bind_locked {
            if let Some(port) = port {
                self.ports.release(port, Holder::Socket(id));
            }
            socket.bound = None;
        }
        // A child that completed the handshake stays in the accept queue (accept() returns
        // it and its reads report the reset); one still in SYN_RECV vanishes, as a request
        // socket does.
        let mut vanish = orphaned;
        if let Some(parent) = parent {
            if let Some(listener) = self
                .sockets
                .get_mut(parent)
                .ok()
                .and_then(TcpSocket::listener_mut)
            {
                if !listener.ready.contains(&id) {
                    listener.handshaking.retain(|child| *child != id);
                    vanish = true;
                }
            } else {
                vanish = true;
            }
        }
        if vanish {
            if let Some(port) = port {
                self.ports.release(port, Holder::Socket(id));
            }
            self.fastopen_destroy_check(id);
            self.sockets.remove(id);
        }
    }

    /// Looks up a socket the application still holds (an orphan is EBADF to it).
    pub(super) fn user_socket(&self, id: SocketId) -> Result<&TcpSocket, Errno> {
        let socket = self.sockets.get(id)?;
        if socket.orphaned || socket.parent.is_some() {
            return Err(Errno::EBADF);
        }
        Ok(socket)
    }

    pub(super) fn user_socket_mut(&mut self, id: SocketId) -> Result<&mut TcpSocket, Errno> {
        user_socket_in(&mut self.sockets, id)
    }

    /// EBADF for an id that is not (or no longer) a TCP socket of the application.
    pub fn check(&self, id: SocketId) -> Result<(), Errno> {
        self.user_socket(id).map(|_| ())
    }
}

/// `TcpLayer::user_socket_mut` borrowing only the table, so the output queue stays usable.
pub(super) fn user_socket_in(
    sockets: &mut SocketTable<TcpSocket>,
    id: SocketId,
) -> Result<&mut TcpSocket, Errno> {
    let socket = sockets.get_mut(id)?;
    if socket.orphaned || socket.parent.is_some() {
        return Err(Errno::EBADF);
    }
    Ok(socket)
}
