//! One TCP socket as the application holds it: its settings, its binding, and its role — a
//! plain socket, a listener with its queues, or a connection.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use super::settings::Settings;
use super::tcb::Connection;
use crate::config::Credentials;
use crate::errno::Errno;
use crate::socket::{SocketId, WakeupCounts};
use crate::sockopt::SocketOptions;

/// sock->state (SS_*), which connect() and shutdown() consult besides the TCP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketPhase {
    Unconnected,
    Connecting,
    Connected,
    Disconnecting,
}

#[derive(Debug, Default)]
pub struct Listener {
    /// sk_max_ack_backlog (the listen() argument after the somaxconn clamp).
    pub backlog: u32,
    /// Children still in SYN_RECV (the request sockets).
    pub handshaking: Vec<SocketId>,
    /// Established children waiting for accept().
    pub ready: VecDeque<SocketId>,
    /// LINUX_MIB_LISTENOVERFLOWS / LISTENDROPS for this listener.
    pub overflows: u64,
    /// When a SYN cookie was last sent (tp->rx_opt.ts_recent_stamp of a listener,
    /// tcp_synq_overflow): cookies are accepted only within two minutes of it.
    pub last_overflow: Option<crate::time::Instant>,
}

impl Listener {
    /// sk_acceptq_is_full: "sk_ack_backlog > sk_max_ack_backlog", so backlog 0 still takes one.
    pub fn accept_queue_full(&self) -> bool {
        self.ready.len() as u32 > self.backlog
    }
}

#[derive(Debug)]
pub enum Role {
    Plain,
    Listener(Listener),
    Connection(Box<Connection>),
}

#[derive(Debug)]
pub struct TcpSocket {
    /// SOL_SOCKET and SOL_IP values, kept by the shared option table.
    pub options: SocketOptions,
    /// What TCP obeys, copied from `options` plus the SOL_TCP values.
    pub settings: Settings,
    pub creds: Credentials,
    /// inet_rcv_saddr and inet_num once bound.
    pub bound: Option<SocketAddrV4>,
    /// SOCK_BINDPORT_LOCK: bound by bind() (kept when the connection ends), not by connect.
    pub bind_locked: bool,
    pub role: Role,
    pub phase: SocketPhase,
    /// A child not yet accepted: the listener that owns it.
    pub parent: Option<SocketId>,
    /// The application closed it; it lives on only to finish the connection.
    pub orphaned: bool,
    /// sk_err of a socket that has no connection (or whose connection was replaced).
    pub error: Option<Errno>,
    pub read_shut: bool,
    pub write_shut: bool,
    pub wakeups: WakeupCounts,
    /// sk_wake_async calls on the socket itself (a listener's connections to accept).
    pub async_notices: crate::socket::AsyncNotices,
    /// sk_error_queue (IP_RECVERR): ICMP errors about the handshake.
    pub error_queue: std::collections::VecDeque<super::error_queue::QueuedTcpError>,
    /// TCP_REPAIR's state (`repair.rs`).
    pub repair: super::repair::Repair,
    /// Transmit timestamps and MSG_ZEROCOPY sends in flight (`tx_timestamps.rs`).
    pub transmit_stamps: super::tx_timestamps::TcpTransmitStamps,
}

impl TcpSocket {
    pub fn new(creds: Credentials, options: SocketOptions, mut settings: Settings) -> TcpSocket {
        super::sockopt::sync_settings(&mut settings, &options);
        TcpSocket {
            options,
            settings,
            creds,
            bound: None,
            bind_locked: false,
            role: Role::Plain,
            phase: SocketPhase::Unconnected,
            parent: None,
            orphaned: false,
            error: None,
            read_shut: false,
            write_shut: false,
            wakeups: WakeupCounts::default(),
            async_notices: Default::default(),
            error_queue: std::collections::VecDeque::new(),
            repair: super::repair::Repair::default(),
            transmit_stamps: Default::default(),
        }
    }

    pub fn connection(&self) -> Option<&Connection> {
        match &self.role {
            Role::Connection(connection) => Some(connection),
            _ => None,
        }
    }

    pub fn connection_mut(&mut self) -> Option<&mut Connection> {
        match &mut self.role {
            Role::Connection(connection) => Some(connection),
            _ => None,
        }
    }

    pub fn listener_mut(&mut self) -> Option<&mut Listener> {
        match &mut self.role {
            Role::Listener(listener) => Some(listener),
            _ => None,
        }
    }

    /// The TCP state the kernel would report (a plain socket is CLOSE).
    pub fn state(&self) -> super::state::State {
        match &self.role {
            Role::Plain => super::state::State::Closed,
            Role::Listener(_) => super::state::State::Listen,
            Role::Connection(connection) => connection.state,
        }
    }

    /// All wakeups of the socket and its connection.
    pub fn all_wakeups(&self) -> WakeupCounts {
        let own = self.wakeups;
        match self.connection() {
            Some(connection) => WakeupCounts {
                readable: own.readable.wrapping_add(connection.wakeups.readable),
                writable: own.writable.wrapping_add(connection.wakeups.writable),
                other: own.other.wrapping_add(connection.wakeups.other),
            },
            None => own,
        }
    }
}
