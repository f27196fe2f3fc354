//! Segment arrival (tcp_v4_rcv): validation, demultiplexing (established 4-tuple, then
//! TIME_WAIT, then listeners, most specific address first), the listener's SYN handling
//! (tcp_conn_request), and resets for segments nobody wants (tcp_v4_send_reset).

use core::net::SocketAddrV4;

use super::input::Reaction;
use super::layer::{FourTuple, TcpLayer};
use super::listen_queue::CookieVerdict;
use super::seq::Seq;
use super::socket::TcpSocket;
use super::state::State;
use super::tcb::OutSegment;
use super::timewait::TimeWaitAction;
use crate::ipv4::InboundDatagram;
use crate::socket::SocketId;
use crate::time::Instant;
use crate::transport::{Delivery, IcmpError};
use crate::wire::tcp::{flags, Options, Repr};
use crate::wire::WireError;

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
            // tcp_inbound_hash (`md5sig_layer.rs`).
            if self.md5_inbound_dropped(id, datagram) {
                return Delivery::Consumed;
            }
            self.connection_input(now, id, &segment, datagram);
            self.acknowledge_transmit_stamps(now, id);
            return Delivery::Consumed;
        }
        if self.time_wait.contains_key(&tuple) {
            if let Some(isn) = self.time_wait_input(now, tuple, &segment, datagram) {
                self.listen_input(now, tuple, &segment, datagram, Some(isn));
            }
            return Delivery::Consumed;
        }
        self.listen_input(now, tuple, &segment, datagram, None);
        Delivery::Consumed
    }

    pub(super) fn connection_input(
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
        // tcp_check_req after the TCP_DEFER_ACCEPT check: a final ACK that finds the
        // accept queue full (listen_queue.rs).
        // A Fast Open child is a full socket already in the accept queue (fastopen.rs).
        let handshake_ack = connection.state == State::SynReceived
            && !connection.fastopen.passive_child
            && segment.has(flags::ACK)
            && !segment.has(flags::RST)
            && !segment.has(flags::SYN);
        if let (Some(parent), true) = (parent, handshake_ack) {
            if self.request_overflow(id, parent, segment, datagram) {
                return;
            }
        }
        let Ok(socket) = self.sockets.get_mut(id) else {
            return;
        };
        let Some(connection) = socket.connection_mut() else {
            return;
        };
        // TCP_SKB_CB(skb)->ip_dsfield: the ECN field the segment arrived with (`ecn.rs`).
        connection.ecn.arrival_dsfield = datagram.tos;
        let reaction = connection.handle_segment(now, segment, &mut self.outbox);
        self.fastopen_learn(id);
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
                        // A Fast Open child joined the accept queue with its SYN.
                        if !listener.ready.contains(&id) {
                            listener.ready.push_back(id);
                        }
                    }
                    if let Ok(listener) = self.sockets.get_mut(parent) {
                        listener.wakeups.readable += 1;
                        // tcp_child_process: the listener's sk_data_ready → POLL_IN.
                        listener.async_notices.input += 1;
                    }
                }
            }
            Reaction::ResetReply => {
                self.send_reset_reply_for(Some(id), segment, datagram);
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
            Reaction::FinWait2Record(timeout) => self.enter_fin_wait2_record(now, id, timeout),
            Reaction::Closed => self.connection_closed(id),
        }
    }

    /// tcp_timewait_state_process's answer; Some(isn) lets a new SYN through.
    fn time_wait_input(
        &mut self,
        now: Instant,
        tuple: FourTuple,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
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
            TimeWaitAction::Reset => {
                self.send_reset_reply(segment, datagram);
                self.remove_time_wait(tuple);
                None
            }
            TimeWaitAction::NewSyn { isn } => {
                let has_listener = self.find_listener(tuple, None).is_some();
                if has_listener {
                    self.remove_time_wait(tuple);
                    Some(isn)
                } else {
                    None
                }
            }
        }
    }

    /// __inet_lookup_listener: a listener bound to the exact address beats a wildcard one;
    /// a SO_REUSEPORT group picks its member by the 4-tuple's hash (reuseport.rs).
    fn find_listener(
        &self,
        tuple: FourTuple,
        datagram: Option<&InboundDatagram<'_>>,
    ) -> Option<SocketId> {
        self.select_listener(tuple, datagram)
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
        let Some(listener_id) = self.find_listener(tuple, Some(datagram)) else {
            self.send_reset_reply(segment, datagram);
            return;
        };
        // tcp_inbound_hash against the listener's keys (`md5sig_layer.rs`).
        if self.md5_inbound_dropped(listener_id, datagram) {
            return;
        }
        if segment.has(flags::RST) {
            return;
        }
        if segment.has(flags::ACK) {
            // tcp_v4_cookie_check: an ACK may bring a SYN cookie back (listen_queue.rs).
            if !segment.has(flags::SYN) {
                match self.cookie_check(now, listener_id, tuple, segment, datagram) {
                    CookieVerdict::Accepted | CookieVerdict::Dropped => return,
                    CookieVerdict::NotACookie => {}
                }
            }
            // "if (th->ack) return 1": an ACK for no connection is answered with a reset.
            self.send_reset_reply_for(Some(listener_id), segment, datagram);
            return;
        }
        if !segment.has(flags::SYN) || segment.has(flags::FIN) {
            return;
        }
        // tcp_conn_request (listen_queue.rs): the queues, SYN cookies, the SYN-ACK.
        self.conn_request(now, listener_id, tuple, segment, datagram, isn);
    }

    /// tcp_v4_send_reset: never for a reset; with ACK the reset takes the ACK's number,
    /// otherwise it acknowledges the segment (RFC 9293 3.10.7.1).
    pub(super) fn send_reset_reply(&mut self, segment: &Repr<'_>, datagram: &InboundDatagram<'_>) {
        self.send_reset_reply_for(None, segment, datagram);
    }

    /// tcp_v4_send_reset for `socket` (a full socket: its MD5 key signs the reset), or for
    /// none (a TIME_WAIT record or no socket: `md5sig_layer.rs` decides).
    pub(super) fn send_reset_reply_for(
        &mut self,
        socket: Option<SocketId>,
        segment: &Repr<'_>,
        datagram: &InboundDatagram<'_>,
    ) {
        if segment.has(flags::RST) {
            return;
        }
        let Some(md5_secret) = self.reset_signing(socket, segment, datagram) else {
            return;
        };
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
            options: Options {
                md5: md5_secret.as_ref().map(|_| [0; 16]),
                ..Options::default()
            },
            payload: &[],
        };
        self.counters.resets_sent += 1;
        self.outbox.push(OutSegment {
            src: datagram.dst,
            dst: datagram.src,
            ttl: None,
            tos: 0,
            ident: None,
            bytes: super::md5sig::signed(
                repr.emit(datagram.dst, datagram.src),
                datagram.dst,
                datagram.src,
                md5_secret.as_deref(),
            ),
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
                connection.simple_retransmit(now, &mut self.outbox);
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
