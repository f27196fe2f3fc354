//! Segment arrival (tcp_v4_rcv): validation, demultiplexing (established 4-tuple, then
//! TIME_WAIT, then listeners, most specific address first), the listener's SYN handling
//! (tcp_conn_request), and resets for segments nobody wants (tcp_v4_send_reset).

use core::net::SocketAddrV4;

use super::input::Reaction;
use super::layer::{FourTuple, TcpLayer};
use super::options::{initial_window, negotiate};
use super::ports::Binding;
use super::seq::Seq;
use super::socket::{Role, SocketPhase, TcpSocket};
use super::state::State;
use super::tcb::{Connection, Opening, OutSegment};
use super::timewait::TimeWaitAction;
use crate::ipv4::InboundDatagram;
use crate::socket::SocketId;
use crate::time::Instant;
use crate::transport::{Delivery, IcmpError};
use crate::wire::tcp::{flags, Options, Repr};
use crate::wire::WireError;

/// The MTU of the loopback device (routes to our own addresses).
const LOOPBACK_MTU: u32 = 65536;

impl TcpLayer {
    /// A datagram for protocol 6. TCP never asks for ICMP port unreachable: a segment no
    /// socket wants is answered with a reset.
    pub fn deliver(&mut self, now: Instant, datagram: &InboundDatagram<'_>) -> Delivery {
        self.clock = self.clock.max(now);
        self.counters.segments_received += 1;
        if datagram.link_broadcast || datagram.ip_broadcast || datagram.dst.is_multicast() {
            self.counters.not_unicast += 1;
            return Delivery::Consumed;
        }
        let trusted = datagram.meta.checksum_trusted || datagram.ifindex == 1;
        let segment = match Repr::parse(datagram.payload, datagram.src, datagram.dst, trusted) {
            Ok(segment) => segment,
            Err(WireError::Checksum) => {
                self.counters.bad_checksum += 1;
                return Delivery::Consumed;
            }
            Err(_) => {
                self.counters.malformed += 1;
                return Delivery::Consumed;
            }
        };
        let local = SocketAddrV4::new(datagram.dst, segment.destination_port);
        let remote = SocketAddrV4::new(datagram.src, segment.source_port);
        let tuple = (local, remote);
        if let Some(&id) = self.connections.get(&tuple) {
            self.connection_input(now, id, &segment, datagram);
            return Delivery::Consumed;
        }
        if self.time_wait.contains_key(&tuple) {
            if let Some(isn) = self.time_wait_input(now, tuple, &segment) {
                self.listen_input(now, tuple, &segment, datagram, Some(isn));
            }
            return Delivery::Consumed;
        }
        self.listen_input(now, tuple, &segment, datagram, None);
        Delivery::Consumed
    }

    fn connection_input(
        &mut self,
        now: Instant,
        id: SocketId,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
    ) {
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let parent = socket.parent;
        // The final ACK of a handshake whose listener's accept queue is full is dropped
        // (tcp_check_req → listen_overflow with tcp_abort_on_overflow = 0); the SYN-ACK will
        // be sent again.
        if let (Some(parent), Some(State::SynReceived)) =
            (parent, socket.connection().map(|c| c.state))
        {
            if segment.has(flags::ACK) && !segment.has(flags::RST) && !segment.has(flags::SYN) {
                let full = self
                    .sockets
                    .get(parent)
                    .ok()
                    .and_then(|listener| match &listener.role {
                        Role::Listener(listener) => Some(listener.accept_queue_full()),
                        _ => None,
                    })
                    .unwrap_or(true);
                if full {
                    self.counters.listen_overflows += 1;
                    if let Ok(listener) = self.sockets.get_mut(parent) {
                        if let Some(listener) = listener.listener_mut() {
                            listener.overflows += 1;
                        }
                    }
                    return;
                }
            }
        }
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let Some(connection) = socket.connection_mut() else {
            return;
        };
        if parent.is_some() && connection.defers_bare_ack(segment) {
            // tcp_check_req: "While TCP_DEFER_ACCEPT is active, drop bare ACK"
            // (LINUX_MIB_TCPDEFERACCEPTDROP); the request remembers it was acked.
            connection.deferred_ack_seen = true;
            return;
        }
        let reaction = connection.handle_segment(now, segment, &mut self.outbox);
        match reaction {
            Reaction::Nothing => {}
            Reaction::Established => {
                if let Some(parent) = parent {
                    if let Some(listener) = self
                        .sockets
                        .get_mut(parent)
                        .ok()
                        .and_then(TcpSocket::listener_mut)
                    {
                        listener.handshaking.retain(|child| *child != id);
                        listener.ready.push_back(id);
                    }
                    if let Ok(listener) = self.sockets.get_mut(parent) {
                        listener.wakeups.readable += 1;
                    }
                }
            }
            Reaction::ResetReply => {
                self.send_reset_reply(segment, datagram);
                let closed = self
                    .sockets
                    .get(id)
                    .ok()
                    .and_then(TcpSocket::connection)
                    .is_some_and(|c| c.state == State::Closed);
                if closed {
                    self.connection_closed(id);
                }
            }
            Reaction::TimeWait => self.enter_time_wait(now, id),
            Reaction::Closed => self.connection_closed(id),
        }
    }

    /// tcp_timewait_state_process's answer; Some(isn) lets a new SYN through.
    fn time_wait_input(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        segment: &Repr<'_>,
    ) -> Option<Seq> {
        let entry = self.time_wait.get_mut(&tuple)?;
        match entry.input(now, segment) {
            TimeWaitAction::Nothing => None,
            TimeWaitAction::Ack => {
                let ack = entry.ack(now);
                self.outbox.push(ack);
                None
            }
            TimeWaitAction::Kill => {
                self.remove_time_wait(tuple);
                None
            }
            TimeWaitAction::NewSyn { isn } => {
                let has_listener = self.find_listener(tuple.0).is_some();
                if has_listener {
                    self.remove_time_wait(tuple);
                    Some(isn)
                } else {
                    None
                }
            }
        }
    }

    /// __inet_lookup_listener: a listener bound to the exact address beats a wildcard one.
    fn find_listener(&self, local: SocketAddrV4) -> Option<SocketId> {
        let ids = self.listeners.get(&local.port())?;
        let mut wildcard = None;
        for &id in ids {
            let Ok(socket) = self.sockets.get(id) else {
                continue;
            };
            match socket.bound {
                Some(bound) if bound.ip() == local.ip() => return Some(id),
                Some(bound) if bound.ip().is_unspecified() => {
                    wildcard = wildcard.or(Some(id));
                }
                _ => {}
            }
        }
        wildcard
    }

    /// tcp_rcv_state_process for LISTEN, or the reset for a port nobody listens on.
    fn listen_input(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
        isn: Option<Seq>,
    ) {
        let Some(listener_id) = self.find_listener(tuple.0) else {
            self.send_reset_reply(segment, datagram);
            return;
        };
        if segment.has(flags::RST) {
            return;
        }
        if segment.has(flags::ACK) {
            // "if (th->ack) return 1": an ACK for no connection is answered with a reset.
            self.send_reset_reply(segment, datagram);
            return;
        }
        if !segment.has(flags::SYN) || segment.has(flags::FIN) {
            return;
        }
        let Ok(listener_socket) = self.sockets.get(listener_id) else {
            return;
        };
        let Role::Listener(listener) = &listener_socket.role else {
            return;
        };
        // tcp_conn_request: "if (sk_acceptq_is_full(sk)) goto drop"; the SYN queue is
        // bounded by the backlog as well (no SYN cookies here).
        if listener.accept_queue_full()
            || listener.handshaking.len() as u32 > listener.backlog.max(1) * 2
        {
            self.counters.listen_overflows += 1;
            return;
        }
        let settings = listener_socket.settings.clone();
        let options = listener_socket.options.clone();
        let creds = listener_socket.creds;
        // A SYN that came through lo, or from our own address (the kernel routes it over
        // lo: RTN_LOCAL), is answered with lo's MTU.
        let path_mtu = if datagram.ifindex == 1 || datagram.src == datagram.dst {
            LOOPBACK_MTU
        } else {
            self.interface_mtu
        };
        // tcp_conn_request: init_ts_off and init_seq (secure_tcp_ts_off, secure_tcp_seq on
        // the SYN's addresses), unless TIME_WAIT handed over an ISN.
        let (local, remote) = tuple;
        let iss = isn.unwrap_or_else(|| self.secrets.initial_sequence(now, local, remote));
        let ts_offset = self.secrets.timestamp_offset(*local.ip(), *remote.ip());
        let ip_ident = self.random.next_u16();
        let mut connection = Connection::new(
            Opening {
                local,
                remote,
                iss,
                path_mtu,
                ts_offset,
                settings: settings.clone(),
                now,
                ip_ident,
            },
            State::SynReceived,
        );
        // The SYN-ACK offers only what the SYN offered (tcp_openreq_init + tcp_synack_options).
        let ours = connection.syn_options;
        let offer = Options {
            mss: ours.mss,
            window_scale: segment.options.window_scale.and(ours.window_scale),
            sack_permitted: segment.options.sack_permitted && ours.sack_permitted,
            timestamps: segment
                .options
                .timestamps
                .filter(|_| ours.timestamps.is_some())
                .map(|(value, _)| (0, value)),
            ..Options::default()
        };
        connection.syn_options = offer;
        connection.apply_negotiated(negotiate(&offer, &segment.options));
        connection.irs = Seq(segment.seq);
        connection.rcv_nxt = connection.irs.add(1);
        connection.rcv_wup = connection.rcv_nxt;
        if let Some((value, _)) = segment.options.timestamps {
            connection.ts_recent = value;
        }
        // tcp_openreq_init_rwin: the MSS less the timestamp option sizes the first window.
        let window_mss =
            u32::from(connection.advertised_mss) - if connection.timestamps { 12 } else { 0 };
        let window = initial_window(
            settings.more.clamp_window(settings.receive_buffer / 2),
            window_mss,
        );
        connection.rcv_adv = connection.rcv_nxt.add(window);
        connection.rcv_ssthresh = window;
        connection.snd_wnd = u32::from(segment.window);
        connection.snd_wl1 = Seq(segment.seq);
        connection.note_peer_window(connection.snd_wnd);
        connection.send_syn(now, &mut self.outbox);
        if settings.more.save_syn != 0 {
            // tcp_reqsk_record_syn: the network header and the TCP header, options included
            // (save_syn 2 would add the link header, which the stack does not keep).
            let tcp_header = datagram
                .payload
                .get(12)
                .map_or(0, |offset| usize::from(offset >> 4) * 4)
                .min(datagram.payload.len());
            let mut saved = datagram.header.to_vec();
            saved.extend_from_slice(&datagram.payload[..tcp_header]);
            connection.saved_syn = Some(saved);
        }
        let mut child = TcpSocket::new(creds, options, settings);
        child.bound = Some(local);
        child.parent = Some(listener_id);
        child.phase = SocketPhase::Connected;
        child.role = Role::Connection(Box::new(connection));
        let child_id = self.sockets.insert(child);
        // The child shares the listener's port (inet_csk_clone_lock + __inet_inherit_port).
        self.ports.hold(
            local.port(),
            Binding {
                holder: super::ports::Holder::Socket(child_id),
                address: *local.ip(),
                reuse_address: false,
                reuse_port: false,
                listening: false,
            },
        );
        if let Ok(child) = self.sockets.get_mut(child_id) {
            child.bind_locked = false;
        }
        self.connections.insert(tuple, child_id);
        if let Some(listener) = self
            .sockets
            .get_mut(listener_id)
            .ok()
            .and_then(TcpSocket::listener_mut)
        {
            listener.handshaking.push(child_id);
        }
        self.counters.passive_opens += 1;
    }

    /// tcp_v4_send_reset: never for a reset; with ACK the reset takes the ACK's number,
    /// otherwise it acknowledges the segment (RFC 9293 3.10.7.1).
    pub(super) fn send_reset_reply(&mut self, segment: &Repr<'_>, datagram: &InboundDatagram<'_>) {
        if segment.has(flags::RST) {
            return;
        }
        let (seq, ack, reset_flags) = if segment.has(flags::ACK) {
            (segment.ack, 0, flags::RST)
        } else {
            (
                0,
                segment.seq.wrapping_add(segment.sequence_len()),
                flags::RST | flags::ACK,
            )
        };
        let repr = Repr {
            source_port: segment.destination_port,
            destination_port: segment.source_port,
            seq,
            ack,
            flags: reset_flags,
            window: 0,
            urgent_pointer: 0,
            options: Options::default(),
            payload: &[],
        };
        self.counters.resets_sent += 1;
        self.outbox.push(OutSegment {
            src: datagram.dst,
            dst: datagram.src,
            ttl: None,
            tos: 0,
            ident: None,
            bytes: repr.emit(datagram.dst, datagram.src),
        });
    }

    /// tcp_v4_err: an ICMP error about a segment we sent. Fragmentation needed lowers the
    /// MSS (tcp_v4_mtu_reduced). During our own handshake (SYN_SENT, or SYN_RECV of a
    /// simultaneous open) every error ends the connection with its errno; a child still in
    /// the handshake (a request socket) is dropped on a fatal one only (tcp_req_err);
    /// otherwise the error is remembered as the soft error a later timeout reports (there is
    /// no IP_RECVERR error queue for TCP yet). Source quench is ignored.
    pub fn icmp_error(&mut self, now: Instant, error: &IcmpError<'_>) {
        const SOURCE_QUENCH: u8 = 4;
        let quoted = error.quoted_payload;
        if quoted.len() < 8 || error.icmp_type == SOURCE_QUENCH {
            return;
        }
        let local_port = u16::from_be_bytes([quoted[0], quoted[1]]);
        let remote_port = u16::from_be_bytes([quoted[2], quoted[3]]);
        let seq = Seq(u32::from_be_bytes([
            quoted[4], quoted[5], quoted[6], quoted[7],
        ]));
        let tuple = (
            SocketAddrV4::new(error.quoted_src, local_port),
            SocketAddrV4::new(error.quoted_dst, remote_port),
        );
        let Some(&id) = self.connections.get(&tuple) else {
            return;
        };
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let embryonic_child = socket.parent.is_some();
        let Some(connection) = socket.connection_mut() else {
            return;
        };
        // "if (!between(seq, tp->snd_una, tp->snd_nxt))": stale or forged.
        if !seq.within(connection.snd_una, connection.snd_nxt) {
            return;
        }
        // ICMP_DEST_UNREACH / ICMP_FRAG_NEEDED: tcp_v4_mtu_reduced.
        if error.icmp_type == 3 && error.icmp_code == 4 {
            if error.info >= 68 && error.info < connection.path_mtu {
                connection.path_mtu = error.info;
                connection.update_mss();
                // tcp_simple_retransmit: what no longer fits is sent again at the new size.
                connection.congestion.enter_loss(
                    connection.snd_una,
                    connection.snd_nxt,
                    connection.mss,
                    false,
                );
                connection.congestion.cwnd = connection.congestion.ssthresh.max(connection.mss);
                connection.transmit(now, false, &mut self.outbox);
            }
            return;
        }
        match connection.state {
            State::SynReceived if embryonic_child => {
                if error.fatal {
                    connection.finish();
                    self.connection_closed(id);
                }
            }
            State::SynSent | State::SynReceived => {
                // ip_icmp_error: queued only with IP_RECVERR (and room in the buffer).
                if connection.settings.receive_errors {
                    if let Some(entry) = super::error_queue::QueuedTcpError::from_icmp(error) {
                        socket.error_queue.push_back(entry);
                    }
                }
                let Some(connection) = socket.connection_mut() else {
                    return;
                };
                connection.report_error(error.errno);
                connection.finish();
                self.connection_closed(id);
            }
            // tcp_v4_err on a synchronized connection: with IP_RECVERR the error is made
            // hard at once (sk_err + sk_error_report; the connection goes on), otherwise it
            // is kept as sk_err_soft for a later timeout to report.
            _ if connection.settings.receive_errors => connection.report_error(error.errno),
            _ => connection.soft_error = Some(error.errno),
        }
    }
}
