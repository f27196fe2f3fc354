//! socket, bind, listen, connect, accept, shutdown, close: inet_stream_ops over tcp_prot,
//! with the kernel's check order (so the errno precedence matches).

use core::net::{Ipv4Addr, SocketAddrV4};

use super::ephemeral::ConnectPort;
use super::layer::{user_socket_in, Network, TcpLayer};
use super::options::initial_window;
use super::ports::{Binding, Holder};
use super::seq::Seq;
use super::settings::Settings;
use super::socket::{Listener, Role, SocketPhase, TcpSocket};
use super::state::State;
use super::tcb::{Connection, Opening};
use super::timers::Timer;
use super::timewait::TimeWaitEntry;
use crate::config::Credentials;
use crate::errno::Errno;
use crate::sockaddr::{self, AF_INET, AF_UNSPEC};
use crate::socket::{Shutdown, SocketId};
use crate::time::Instant;

impl TcpLayer {
    /// socket(AF_INET, SOCK_STREAM, 0 or IPPROTO_TCP) (inet_create has checked the rest).
    pub fn socket(&mut self, creds: Credentials) -> SocketId {
        let options = super::sockopt::initial_options(&self.sysctls);
        self.sockets.insert(TcpSocket::new(
            creds,
            options,
            Settings::for_sysctls(&self.sysctls),
        ))
    }

    fn binding_of(socket: &TcpSocket, id: SocketId, address: Ipv4Addr, listening: bool) -> Binding {
        Binding {
            holder: Holder::Socket(id),
            address,
            reuse_address: socket.settings.reuse_address,
            reuse_port: socket.settings.reuse_port,
            listening,
        }
    }

    /// __inet_bind: length, family, address, privileged port, already bound, port in use.
    pub fn bind(&mut self, network: &dyn Network, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        let socket = self.user_socket(id)?;
        let requested = sockaddr::parse_in(addr)?;
        if requested.family != AF_INET
            && (requested.family != AF_UNSPEC || !requested.addr.is_unspecified())
        {
            return Err(Errno::EAFNOSUPPORT);
        }
        let address = requested.addr;
        let acceptable = address.is_unspecified()
            || address.is_multicast()
            || address.is_broadcast()
            || network.is_local_address(address)
            || network.is_broadcast_address(address)
            || self.sysctls.ip_nonlocal_bind;
        if !acceptable {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if requested.port != 0
            && u32::from(requested.port) < self.sysctls.ip_unprivileged_port_start
            && !socket.creds.cap_net_bind_service
        {
            return Err(Errno::EACCES);
        }
        // "if (sk->sk_state != TCP_CLOSE || inet->inet_num)": an address recorded by an
        // IP_BIND_ADDRESS_NO_PORT bind holds no port, and a second bind may replace it.
        if socket.state() != State::Closed || socket.bound.is_some_and(|b| b.port() != 0) {
            return Err(Errno::EINVAL);
        }
        let binding = Self::binding_of(socket, id, address, false);
        let port = if requested.port == 0 && socket.options.bind_address_no_port {
            // inet_bind: "if (snum || !(inet->bind_address_no_port || ...)) get_port";
            // connect() chooses the port later.
            let socket = self.user_socket_mut(id)?;
            socket.bound = (!address.is_unspecified()).then(|| SocketAddrV4::new(address, 0));
            socket.bind_locked = false;
            return Ok(());
        } else if requested.port == 0 {
            let range = socket
                .options
                .ephemeral_port_range(self.sysctls.ip_local_port_range);
            self.ports
                .claim_for_bind(range, binding, &mut self.random)?
        } else if socket.repair.forces_port() {
            // SK_FORCE_REUSE (`repair.rs`): no conflict check.
            self.ports.hold(requested.port, binding);
            requested.port
        } else {
            self.ports.claim(requested.port, binding)?;
            requested.port
        };
        let socket = self.user_socket_mut(id)?;
        socket.bound = Some(SocketAddrV4::new(address, port));
        socket.bind_locked = requested.port != 0;
        Ok(())
    }

    /// inet_listen / inet_csk_listen_start.
    pub fn listen(&mut self, id: SocketId, backlog: i32) -> Result<(), Errno> {
        let socket = self.user_socket(id)?;
        if socket.phase != SocketPhase::Unconnected {
            return Err(Errno::EINVAL);
        }
        // __sys_listen: "if ((unsigned int)backlog > somaxconn) backlog = somaxconn".
        let backlog = (backlog as u32).min(self.sysctls.tcp.somaxconn);
        match socket.state() {
            State::Listen => {
                let socket = self.user_socket_mut(id)?;
                if let Some(listener) = socket.listener_mut() {
                    listener.backlog = backlog;
                }
                return Ok(());
            }
            State::Closed => {}
            _ => return Err(Errno::EINVAL),
        }
        let port = match socket.bound.filter(|bound| bound.port() != 0) {
            Some(bound) => {
                let binding = Self::binding_of(socket, id, *bound.ip(), true);
                if !self.ports.is_free_for(bound.port(), &binding) {
                    return Err(Errno::EADDRINUSE);
                }
                self.ports
                    .update(bound.port(), Holder::Socket(id), |b| b.listening = true);
                bound.port()
            }
            None => {
                // inet_csk_get_port(sk, 0) on the address an IP_BIND_ADDRESS_NO_PORT bind
                // recorded, or the wildcard.
                let address = socket.bound.map_or(Ipv4Addr::UNSPECIFIED, |b| *b.ip());
                let binding = Self::binding_of(socket, id, address, true);
                let range = socket
                    .options
                    .ephemeral_port_range(self.sysctls.ip_local_port_range);
                let port = self
                    .ports
                    .claim_for_bind(range, binding, &mut self.random)?;
                self.user_socket_mut(id)?.bound = Some(SocketAddrV4::new(address, port));
                port
            }
        };
        let socket = self.user_socket_mut(id)?;
        socket.role = Role::Listener(Listener {
            backlog,
            ..Listener::default()
        });
        socket.read_shut = false;
        socket.write_shut = false;
        self.listeners.entry(port).or_default().push(id);
        self.fastopen_on_listen(id, backlog);
        Ok(())
    }

    /// inet_csk_accept: EINVAL unless listening, EAGAIN when nothing is ready (the shim
    /// blocks). Returns the new socket and the peer's address.
    pub fn accept(&mut self, id: SocketId) -> Result<(SocketId, SocketAddrV4), Errno> {
        let socket = self.user_socket_mut(id)?;
        let Role::Listener(listener) = &mut socket.role else {
            return Err(Errno::EINVAL);
        };
        let child = listener.ready.pop_front().ok_or(Errno::EAGAIN)?;
        let child_socket = self.sockets.get_mut(child)?;
        child_socket.parent = None;
        child_socket.phase = SocketPhase::Connected;
        let remote = child_socket
            .connection()
            .map_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0), |c| c.remote);
        Ok((child, remote))
    }

    /// __inet_stream_connect + tcp_v4_connect. A new connection answers EINPROGRESS (the
    /// SYN is queued); calling again reports EALREADY while the handshake runs, then 0 once
    /// it completed, or the error that ended it. A blocking connect() in the shim waits for
    /// POLLOUT | POLLERR | POLLHUP after EINPROGRESS and calls again for its result.
    pub fn connect(
        &mut self,
        now: Instant,
        network: &dyn Network,
        id: SocketId,
        addr: &[u8],
    ) -> Result<(), Errno> {
        let socket = self.user_socket(id)?;
        sockaddr::check_user_length(addr.len())?;
        let family = sockaddr::family(addr).ok_or(Errno::EINVAL)?;
        if family == AF_UNSPEC {
            return self.disconnect(now, id);
        }
        match socket.phase {
            SocketPhase::Connected => return Err(Errno::EISCONN),
            SocketPhase::Disconnecting => return Err(Errno::EINVAL),
            SocketPhase::Connecting => return self.connect_progress(id),
            SocketPhase::Unconnected => {}
        }
        if socket.state() != State::Closed {
            return Err(Errno::EISCONN);
        }
        let requested = sockaddr::parse_in(addr)?;
        if requested.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let remote = requested.socket_addr();
        let route = network.route(*remote.ip())?;
        if route.broadcast || route.multicast {
            return Err(Errno::ENETUNREACH);
        }
        let bound = socket.bound;
        let source = match bound {
            Some(bound) if !bound.ip().is_unspecified() => *bound.ip(),
            _ => route.src,
        };
        let port = match bound.filter(|bound| bound.port() != 0) {
            Some(bound) => bound.port(),
            None => {
                // inet_hash_connect (ephemeral.rs): a port may be shared with other
                // connect()s whose 4-tuples differ.
                let binding = Self::binding_of(socket, id, source, false);
                let request = ConnectPort {
                    range: socket
                        .options
                        .ephemeral_port_range(self.sysctls.ip_local_port_range),
                    socket_range: socket.options.local_port_range != 0,
                    source,
                    remote,
                };
                let (connections, time_wait) = (&self.connections, &self.time_wait);
                let port =
                    self.ports
                        .claim_for_connect(&request, binding, &mut self.random, |port| {
                            let tuple = (SocketAddrV4::new(source, port), remote);
                            connections.contains_key(&tuple) || time_wait.contains_key(&tuple)
                        })?;
                self.user_socket_mut(id)?.bound = Some(SocketAddrV4::new(source, port));
                port
            }
        };
        let local = SocketAddrV4::new(source, port);
        let tuple = (local, remote);
        if self.connections.contains_key(&tuple) || self.time_wait.contains_key(&tuple) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if self.user_socket(id)?.repair.on {
            return self.connect_repaired(now, id, local, remote, route.mtu);
        }
        // tcp_v4_connect: secure_tcp_seq and secure_tcp_ts_off, so that a peer still holding
        // this 4-tuple in TIME_WAIT accepts the SYN (see secure_seq.rs).
        let iss = self.secrets.initial_sequence(now, local, remote);
        let ts_offset = self.secrets.timestamp_offset(*local.ip(), *remote.ip());
        let ip_ident = self.random.next_u16();
        let settings = self.user_socket(id)?.settings.clone();
        let mut connection = Connection::new(
            Opening {
                local,
                remote,
                iss,
                path_mtu: route.mtu,
                ts_offset,
                settings,
                now,
                ip_ident,
            },
            State::SynSent,
        );
        // tcp_connect_init: the SYN's window, from an MSS without the timestamp option.
        let window = initial_window(
            connection
                .settings
                .more
                .clamp_window(connection.settings.receive_buffer / 2),
            u32::from(connection.advertised_mss),
        );
        connection.rcv_adv = Seq(window);
        connection.rcv_ssthresh = window;
        // tcp_v4_connect leaves sk_shutdown alone: a shutdown() made before connect (which
        // answered ENOTCONN) still holds afterwards (only tcp_disconnect clears it).
        let socket = self.user_socket(id)?;
        connection.read_shut = socket.read_shut;
        connection.write_shut = socket.write_shut;
        // The SYN, with Fast Open's data or cookie request, or deferred (fastopen.rs).
        let opened = self.fastopen_open(now, &mut connection);
        self.counters.active_opens += 1;
        self.connections.insert(tuple, id);
        let socket = self.user_socket_mut(id)?;
        socket.role = Role::Connection(Box::new(connection));
        socket.phase = SocketPhase::Connecting;
        socket.error = None;
        match opened {
            super::fastopen::FastOpenOpen::Deferred => Ok(()),
            super::fastopen::FastOpenOpen::Sent { .. } => Err(Errno::EINPROGRESS),
        }
    }

    /// A connect() call while SS_CONNECTING.
    pub(super) fn connect_progress(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.user_socket_mut(id)?;
        match socket.state() {
            // A connect deferred by TCP_FASTOPEN_CONNECT: "is_sendmsg ? -EINPROGRESS : -EISCONN".
            State::SynSent if socket.connection().is_some_and(|c| c.fastopen.deferred) => {
                Err(Errno::EISCONN)
            }
            State::SynSent | State::SynReceived => Err(Errno::EALREADY),
            State::Closed => {
                // "sock_error: err = sock_error(sk) ? : -ECONNABORTED".
                let error = socket
                    .connection_mut()
                    .and_then(Connection::take_error)
                    .or(socket.error.take())
                    .unwrap_or(Errno::ECONNABORTED);
                socket.phase = SocketPhase::Unconnected;
                socket.role = Role::Plain;
                Err(error)
            }
            _ => {
                socket.phase = SocketPhase::Connected;
                Ok(())
            }
        }
    }

    /// tcp_disconnect (connect with AF_UNSPEC, shutdown of a listener or a connecting
    /// socket, close with SO_LINGER 0): a reset where tcp_need_reset says so, ECONNRESET as
    /// the pending error, and the socket is CLOSE again, ready for a new connect or listen.
    pub(super) fn disconnect(&mut self, now: Instant, id: SocketId) -> Result<(), Errno> {
        self.stop_listening(now, id);
        let socket = self.sockets.get_mut(id)?;
        let mut error = None;
        let repairing = socket.repair.on;
        if let Some(connection) = socket.connection_mut() {
            let state = connection.state;
            let unsent_fin = connection.snd_nxt != connection.send_end()
                && matches!(state, State::Closing | State::LastAck);
            if repairing {
                // tcp_disconnect: "else if (unlikely(tp->repair)) sk->sk_err = ECONNABORTED".
                error = Some(Errno::ECONNABORTED);
            } else if state.abort_sends_reset() || unsent_fin {
                connection.send_reset(now, &mut self.outbox);
                error = Some(Errno::ECONNRESET);
            } else if state == State::SynSent {
                error = Some(Errno::ECONNRESET);
            }
            if state != State::Closed {
                connection.finish();
                self.connection_closed(id);
            }
        }
        if let Ok(socket) = self.sockets.get_mut(id) {
            if let Some(error) = error {
                socket.error = Some(error);
            }
            socket.role = Role::Plain;
            socket.phase = SocketPhase::Unconnected;
            socket.read_shut = false;
            socket.write_shut = false;
            socket.wakeups.other += 1;
        }
        Ok(())
    }

    /// inet_csk_listen_stop: children still in the handshake vanish; established ones that
    /// nobody accepted are reset (tcp_disconnect on each).
    fn stop_listening(&mut self, now: Instant, id: SocketId) {
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        if !matches!(socket.role, Role::Listener(_)) {
            return;
        }
        let Role::Listener(listener) = core::mem::replace(&mut socket.role, Role::Plain) else {
            return;
        };
        if let Some(port) = socket.bound.map(|bound| bound.port()) {
            self.leave_listeners(port, id);
            self.ports
                .update(port, Holder::Socket(id), |b| b.listening = false);
        }
        for child in listener.handshaking.into_iter().chain(listener.ready) {
            let Ok(child_socket) = self.sockets.get_mut(child) else {
                continue;
            };
            child_socket.orphaned = true;
            if let Some(connection) = child_socket.connection_mut() {
                if connection.state.abort_sends_reset() && connection.state != State::SynReceived {
                    connection.send_reset(now, &mut self.outbox);
                }
                connection.finish();
            }
            self.connection_closed(child);
        }
    }

    /// inet_shutdown + tcp_shutdown.
    pub fn shutdown(&mut self, now: Instant, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        let read = matches!(how, Shutdown::Read | Shutdown::Both);
        let write = matches!(how, Shutdown::Write | Shutdown::Both);
        let socket = user_socket_in(&mut self.sockets, id)?;
        let state = socket.state();
        if socket.phase == SocketPhase::Connecting {
            socket.phase = if matches!(state, State::SynSent | State::SynReceived | State::Closed) {
                SocketPhase::Disconnecting
            } else {
                SocketPhase::Connected
            };
        }
        match state {
            State::Listen => {
                if read {
                    self.disconnect(now, id)?;
                }
                Ok(())
            }
            State::SynSent => {
                self.disconnect(now, id)?;
                Ok(())
            }
            State::Closed => {
                // "Hack to wake up other listeners, who can poll for EPOLLHUP".
                match socket.connection_mut() {
                    Some(connection) => {
                        connection.read_shut |= read;
                        connection.write_shut |= write;
                    }
                    None => {
                        socket.read_shut |= read;
                        socket.write_shut |= write;
                    }
                }
                socket.wakeups.other += 1;
                Err(Errno::ENOTCONN)
            }
            _ => {
                let Some(connection) = socket.connection_mut() else {
                    return Ok(());
                };
                connection.read_shut |= read;
                connection.wakeups.other += 1;
                if write {
                    connection.write_shut = true;
                    if matches!(
                        connection.state,
                        State::Established | State::SynReceived | State::CloseWait
                    ) {
                        Self::close_state_and_send_fin(connection, now, &mut self.outbox);
                    }
                }
                Ok(())
            }
        }
    }

    /// tcp_close_state + tcp_send_fin.
    fn close_state_and_send_fin(
        connection: &mut Connection,
        now: Instant,
        out: &mut Vec<super::tcb::OutSegment>,
    ) {
        let next = match connection.state {
            State::Established | State::SynReceived => State::FinWait1,
            State::CloseWait => State::LastAck,
            other => other,
        };
        if next == connection.state {
            return;
        }
        connection.state = next;
        connection.fin_queued = true;
        connection.transmit(now, false, out);
    }

    /// close(2) on the last descriptor: tcp_close.
    pub fn close(&mut self, now: Instant, id: SocketId) {
        let Ok(socket) = self.user_socket(id) else {
            return;
        };
        let linger_zero = socket.settings.linger.is_some_and(|time| time.is_zero());
        let (state, unread) = match &socket.role {
            Role::Plain => {
                self.release_and_remove(id);
                return;
            }
            Role::Listener(_) => {
                self.stop_listening(now, id);
                self.release_and_remove(id);
                return;
            }
            Role::Connection(connection) => {
                (connection.state, !connection.receive.ready.is_empty())
            }
        };
        if state == State::Closed || self.close_repaired(id) {
            self.release_and_remove(id);
            return;
        }
        if linger_zero && !unread {
            // "Check zero linger _after_ checking for unread data": tcp_disconnect.
            let _ = self.disconnect(now, id);
            self.release_and_remove(id);
            return;
        }
        let Some(connection) = self
            .sockets
            .get_mut(id)
            .ok()
            .and_then(TcpSocket::connection_mut)
        else {
            return;
        };
        if unread || state == State::SynSent {
            // "data_was_unread": RFC 2525 2.17, a reset instead of a FIN. A SYN_SENT
            // connection just ends (tcp_set_state(TCP_CLOSE), nothing sent).
            if unread && state != State::SynSent {
                connection.send_reset(now, &mut self.outbox);
            }
            connection.finish();
            self.connection_closed(id);
            self.release_and_remove(id);
            return;
        }
        connection.orphaned = true;
        connection.read_shut = true;
        connection.write_shut = true;
        Self::close_state_and_send_fin(connection, now, &mut self.outbox);
        if connection.state == State::FinWait2 {
            // tcp_close: "if (READ_ONCE(tp->linger2) < 0)" the connection is reset at once
            // (LINUX_MIB_TCPABORTONLINGER); otherwise it waits tcp_fin_time.
            let fin_timeout = connection.settings.tunables.fin_timeout;
            match connection
                .settings
                .more
                .fin_wait2_timeout(fin_timeout, connection.rtt.rto())
            {
                Some(wait) => connection.timers.set(
                    Timer::Keepalive,
                    now + super::timewait::fin_wait2_timer_delay(wait),
                ),
                None => {
                    connection.send_reset(now, &mut self.outbox);
                    connection.finish();
                    self.connection_closed(id);
                    self.release_and_remove(id);
                    return;
                }
            }
        }
        // tcp_close: a FIN_WAIT2 whose tcp_fin_time fits TCP_TIMEWAIT_LEN becomes a record.
        let record = (connection.state == State::FinWait2)
            .then(|| connection.fin_wait2_close_timeout())
            .flatten();
        if let Ok(socket) = self.sockets.get_mut(id) {
            socket.orphaned = true;
        }
        if let Some(timeout) = record {
            self.enter_fin_wait2_record(now, id, timeout);
        }
    }

    fn release_and_remove(&mut self, id: SocketId) {
        // tcp_v4_destroy_sock's Fast Open check (`fastopen_blackhole.rs`).
        self.fastopen_destroy_check(id);
        if let Some(socket) = self.sockets.remove(id) {
            if let Some(bound) = socket.bound {
                self.ports
                    .release(bound.port(), super::ports::Holder::Socket(id));
            }
        }
    }

    /// tcp_time_wait: the connection's 4-tuple and port pass to a TIME_WAIT record; the
    /// socket itself is done (CLOSE), and gone if the application closed it.
    pub(super) fn enter_time_wait(&mut self, now: Instant, id: SocketId) {
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let reuse_address = socket.settings.reuse_address;
        let reuse_port = socket.settings.reuse_port;
        let Some(connection) = socket.connection_mut() else {
            return;
        };
        let mut entry = TimeWaitEntry::from_connection(connection, now);
        entry.expires = now + super::timers::TIME_WAIT_LEN;
        let tuple = (connection.local, connection.remote);
        connection.state = State::TimeWait;
        connection.finish();
        // inet_twsk_hashdance: the record joins the port's bind bucket unconditionally.
        self.ports.hold(
            tuple.0.port(),
            Binding {
                holder: Holder::TimeWait(tuple.0, tuple.1),
                address: *tuple.0.ip(),
                reuse_address,
                reuse_port,
                listening: false,
            },
        );
        self.time_wait.insert(tuple, entry);
        self.connection_closed(id);
    }

    /// tcp_time_wait(sk, TCP_FIN_WAIT2, tmo): the orphan's record waits `timeout` for the
    /// peer's FIN (`timewait.rs`).
    pub(super) fn enter_fin_wait2_record(
        &mut self,
        now: Instant,
        id: SocketId,
        timeout: core::time::Duration,
    ) {
        let Some(tuple) = self
            .sockets
            .get(id)
            .ok()
            .and_then(TcpSocket::connection)
            .map(|connection| (connection.local, connection.remote))
        else {
            return;
        };
        self.enter_time_wait(now, id);
        if let Some(entry) = self.time_wait.get_mut(&tuple) {
            entry.enter_fin_wait2(now, timeout);
        }
    }

    /// inet_getname(peer = 0).
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let socket = self.user_socket(id)?;
        if let Some(connection) = socket.connection() {
            if connection.state != State::Closed {
                return Ok(connection.local);
            }
        }
        Ok(socket
            .bound
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)))
    }

    /// inet_getname(peer = 1): ENOTCONN unless connected (or connecting and past SYN_SENT).
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let socket = self.user_socket(id)?;
        match socket.connection() {
            Some(connection) if !matches!(connection.state, State::Closed | State::SynSent) => {
                Ok(connection.remote)
            }
            _ => Err(Errno::ENOTCONN),
        }
    }
}

impl TcpLayer {
    /// For SO_LINGER with a timeout: tcp_close waits (sk_wait_event) while the connection is
    /// still in FIN_WAIT1, CLOSING or LAST_ACK — its data and FIN not yet acknowledged. The
    /// stack never blocks: after `close` the shim polls this with the id it closed (an
    /// orphan's id stays answerable here) until it is false or the linger time has passed.
    pub fn lingering(&self, id: SocketId) -> bool {
        self.sockets
            .get(id)
            .ok()
            .and_then(TcpSocket::connection)
            .is_some_and(|c| matches!(c.state, State::FinWait1 | State::Closing | State::LastAck))
    }
}
