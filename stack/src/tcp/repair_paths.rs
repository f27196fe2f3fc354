//! TCP_REPAIR's special paths (Linux 6.18): connect without a handshake (tcp_connect's
//! repair branch after tcp_connect_init), close without a FIN or a reset (__tcp_close →
//! tcp_disconnect), send into either queue without transmitting (tcp_send_rcvq, and
//! tcp_write_xmit's repair branch), and MSG_PEEK of the send queue (tcp_peek_sndq). The
//! state and the socket options are in `repair.rs`.

use core::net::SocketAddrV4;

use super::layer::TcpLayer;
use super::options;
use super::repair::{Repair, TCP_NO_QUEUE, TCP_RECV_QUEUE, TCP_SEND_QUEUE};
use super::seq::Seq;
use super::socket::{Role, SocketPhase, TcpSocket};
use super::state::State;
use super::tcb::{Connection, Opening};
use crate::errno::Errno;
use crate::socket::{msg_flags, RecvArgs, RecvResult, SocketId};
use crate::time::Instant;

impl TcpLayer {
    /// tcp_v4_connect in repair mode: the port as usual (the caller chose it), no new
    /// sequence numbers or timestamp offset ("if (likely(!tp->repair))"), then tcp_connect's
    /// "if (unlikely(tp->repair)) { tcp_finish_connect(sk, NULL); return 0; }" after
    /// tcp_connect_init: ESTABLISHED at once, nothing sent.
    pub(super) fn connect_repaired(
        &mut self,
        now: Instant,
        id: SocketId,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        path_mtu: u32,
    ) -> Result<(), Errno> {
        let ip_ident = self.random.next_u16();
        let socket = self.user_socket(id)?;
        let repair = socket.repair;
        let mut connection = Connection::new(
            Opening {
                local,
                remote,
                iss: Seq(repair.write_seq).sub(1),
                path_mtu,
                ts_offset: repair.ts_offset,
                settings: socket.settings.clone(),
                now,
                ip_ident,
            },
            State::Established,
        );
        init_repaired(&mut connection, Seq(repair.write_seq), Seq(repair.rcv_nxt));
        connection.read_shut = socket.read_shut;
        connection.write_shut = socket.write_shut;
        connection.init_congestion_control(now);
        connection.init_receive_space();
        connection.ack_on_established(now);
        connection.arm_keepalive(now);
        self.connections.insert((local, remote), id);
        let socket = self.user_socket_mut(id)?;
        socket.role = Role::Connection(Box::new(connection));
        socket.phase = SocketPhase::Connected;
        socket.error = None;
        Ok(())
    }

    /// close() in repair mode: __tcp_close calls tcp_disconnect, which in repair mode sends
    /// nothing ("sk->sk_err = ECONNABORTED"): the connection just ends. false: not in repair
    /// mode (or no live connection), the ordinary close runs.
    pub(super) fn close_repaired(&mut self, id: SocketId) -> bool {
        let Ok(socket) = self.user_socket_mut(id) else {
            return false;
        };
        if !socket.repair.on {
            return false;
        }
        let Some(connection) = socket.connection_mut() else {
            return false;
        };
        if connection.state == State::Closed {
            return false;
        }
        connection.finish();
        self.connection_closed(id);
        true
    }

    /// tcp_sendmsg_locked in repair mode, after the state check: TCP_RECV_QUEUE puts the
    /// bytes straight into the receive queue (tcp_send_rcvq), TCP_NO_QUEUE is EINVAL. None:
    /// not in repair mode, or TCP_SEND_QUEUE (the ordinary path queues, then
    /// `mark_sent_in_repair` instead of transmitting).
    pub(super) fn send_in_repair(
        repair: &Repair,
        connection: &mut Connection,
        data: &[u8],
    ) -> Option<Result<usize, Errno>> {
        if !repair.on {
            return None;
        }
        match repair.queue {
            TCP_RECV_QUEUE => Some(send_to_receive_queue(connection, data)),
            TCP_NO_QUEUE => Some(Err(Errno::EINVAL)),
            _ => None,
        }
    }

    /// tcp_recvmsg_locked's repair check (after the listener and MSG_OOB ones): EPERM
    /// without MSG_PEEK, the send queue for TCP_SEND_QUEUE (tcp_peek_sndq), EINVAL for
    /// TCP_NO_QUEUE. None: the ordinary receive runs (not in repair mode, or peeking at
    /// the receive queue).
    pub(super) fn receive_in_repair(
        socket: &TcpSocket,
        args: &RecvArgs,
        buf: &mut [u8],
    ) -> Option<Result<RecvResult, Errno>> {
        if !socket.repair.on
            || matches!(socket.role, Role::Listener(_))
            || args.flags & msg_flags::MSG_OOB != 0
        {
            return None;
        }
        if args.flags & msg_flags::MSG_PEEK == 0 {
            return Some(Err(Errno::EPERM));
        }
        match socket.repair.queue {
            TCP_SEND_QUEUE => Some(peek_send_queue(socket.connection(), args, buf)),
            TCP_NO_QUEUE => Some(Err(Errno::EINVAL)),
            _ => None,
        }
    }
}

impl TcpLayer {
    /// Whether the socket is in repair mode (TCP_REPAIR on).
    pub fn in_repair(&self, id: SocketId) -> bool {
        self.user_socket(id).is_ok_and(|socket| socket.repair.on)
    }

    /// Whether a MSG_PEEK reads the send queue (repair mode, TCP_SEND_QUEUE): the shim's
    /// piecewise peek (`read_ahead.rs`) then neither waits for receive-queue bytes
    /// (tcp_peek_sndq never waits) nor reads them.
    pub(super) fn peeks_send_queue(&self, id: SocketId) -> bool {
        self.user_socket(id)
            .is_ok_and(|socket| socket.repair.on && socket.repair.queue == TCP_SEND_QUEUE)
    }

    /// The send queue from `offset` on, for the pieces of a peek after its first; None: the
    /// peek reads the receive queue.
    pub(super) fn peek_send_queue_from(
        &self,
        id: SocketId,
        offset: usize,
        buf: &mut [u8],
    ) -> Option<usize> {
        if !self.peeks_send_queue(id) {
            return None;
        }
        let Some(connection) = self.user_socket(id).ok()?.connection() else {
            return Some(0);
        };
        let queue = &connection.send_queue;
        let count = queue.len().saturating_sub(offset).min(buf.len());
        let bytes = queue.read(queue.start.add(offset as u32), count);
        buf[..bytes.len()].copy_from_slice(&bytes);
        Some(bytes.len())
    }
}

/// What tcp_connect_init leaves in a repaired connection: SND.UNA = SND.NXT = write_seq,
/// RCV.NXT as set ("if (likely(!tp->repair)) tp->rcv_nxt = 0"), no peer window yet
/// (snd_wnd 0, tcp_init_wl(tp, 0), max_window 0), the initial receive window; the peer's
/// MSS is rx_opt.mss_clamp's TCP_MSS_DEFAULT until TCP_REPAIR_OPTIONS, and the segment size
/// is tcp_sync_mss's with tcp_header_len counting the timestamp option when
/// net.ipv4.tcp_timestamps is on (tstamp_ok itself waits for TCP_REPAIR_OPTIONS).
fn init_repaired(connection: &mut Connection, write_seq: Seq, rcv_nxt: Seq) {
    connection.snd_una = write_seq;
    connection.snd_nxt = write_seq;
    connection.snd_wl2 = write_seq;
    connection.send_queue = super::buffers::SendQueue::new(write_seq);
    connection.snd_wnd = 0;
    connection.snd_wl1 = Seq(0);
    connection.max_window = 0;
    connection.irs = rcv_nxt.sub(1);
    connection.rcv_nxt = rcv_nxt;
    connection.rcv_wup = rcv_nxt;
    let window = options::initial_window(
        connection
            .settings
            .more
            .clamp_window(connection.settings.receive_buffer / 2),
        u32::from(connection.advertised_mss),
    );
    connection.rcv_adv = rcv_nxt.add(window);
    connection.rcv_ssthresh = window;
    connection.peer_mss = options::DEFAULT_PEER_MSS;
    // Window scaling waits for TCP_REPAIR_OPTIONS (rx_opt.wscale_ok is 0: TCP_INFO shows
    // neither scale). The kernel already shifts the windows it sends by the scale
    // tcp_select_initial_window chose, but nothing is sent before the options come.
    connection.rcv_wscale = 0;
    connection.snd_wscale = 0;
    connection.timestamps = connection.settings.tunables.timestamps;
    connection.update_mss();
    connection.timestamps = false;
    connection.sack = false;
    connection.congestion =
        super::congestion::Congestion::new(connection.mss, connection.settings.congestion);
}

/// tcp_send_rcvq: the bytes join the receive queue at RCV.NXT, which moves on.
fn send_to_receive_queue(connection: &mut Connection, data: &[u8]) -> Result<usize, Errno> {
    if data.is_empty() {
        return Ok(0);
    }
    // tcp_try_rmem_schedule: the receive buffer must hold it (else ENOMEM, counted as
    // LINUX_MIB_TCPRCVQDROP).
    let queued = connection.receive.ready.len() + connection.receive.out_of_order_bytes();
    if queued + data.len() > connection.settings.receive_buffer as usize {
        return Err(Errno::ENOMEM);
    }
    connection.receive.ready.extend(data);
    connection.rcv_nxt = connection.rcv_nxt.add(data.len() as u32);
    connection.wakeups.readable += 1;
    Ok(data.len())
}

/// tcp_peek_sndq: the retransmit queue and then the write queue, every byte from SND.UNA
/// to write_seq (a plain socket's queues are empty).
fn peek_send_queue(
    connection: Option<&Connection>,
    args: &RecvArgs,
    buf: &mut [u8],
) -> Result<RecvResult, Errno> {
    let Some(connection) = connection else {
        return Ok(RecvResult::default());
    };
    let queue = &connection.send_queue;
    let count = queue.len().min(args.capacity).min(buf.len());
    let bytes = queue.read(queue.start, count);
    buf[..bytes.len()].copy_from_slice(&bytes);
    Ok(RecvResult {
        len: bytes.len(),
        ..RecvResult::default()
    })
}

impl Connection {
    /// tcp_write_xmit in repair mode with TCP_SEND_QUEUE: "All packets are restored as if
    /// they have already been sent" — each queued segment moves to the retransmit queue
    /// (TCPCB_REPAIRED, which counts as retransmitted for Karn's rule), SND.NXT advances and
    /// tcp_event_new_data_sent arms the retransmission timer; nothing goes on the wire.
    pub(super) fn mark_sent_in_repair(&mut self, now: Instant) {
        let end = self.send_queue.end();
        let mss = self.mss.max(1);
        // Bounded: every pass advances SND.NXT by at least one byte towards `end`.
        while self.snd_nxt.lt(end) {
            let len = end.since(self.snd_nxt).min(mss);
            let was_empty = self.sent.is_empty();
            let snapshot = self.rate.segment_sent(now, was_empty);
            let next = self.snd_nxt.add(len);
            self.sent.record(self.snd_nxt, next, now, snapshot);
            if let Some(record) = self.sent.records_mut().next_back() {
                record.retransmitted = true;
            }
            self.snd_nxt = next;
            if was_empty {
                self.rearm_rto(now);
            }
        }
        // tcp_push's tcp_mark_push: the write's last skb carries PSH, as its retransmission
        // will.
        if self.sent.last().is_some_and(|record| record.end == end) {
            self.sent.mark_pushed(end);
        }
    }
}
