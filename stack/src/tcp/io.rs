//! send, recv and readiness: tcp_sendmsg_locked, tcp_recvmsg_locked and tcp_poll. The stack
//! never blocks: EAGAIN tells the shim to wait (for POLLOUT or POLLIN) unless the call was
//! non-blocking; MSG_WAITALL and SO_RCVLOWAT's blocking target are the shim's loop.

use super::layer::{user_socket_in, TcpLayer};
use super::socket::{Role, SocketPhase};
use super::state::State;
use super::tcb::Connection;
use crate::errno::Errno;
use crate::socket::{msg_flags, poll_bits, RecvArgs, RecvResult, SendArgs, SocketId, WakeupCounts};
use crate::time::Instant;

impl TcpLayer {
    /// tcp_sendmsg. Err(EPIPE) means what sk_stream_error does: the shim raises SIGPIPE
    /// unless MSG_NOSIGNAL was given. A partial write returns the bytes taken.
    pub fn send(&mut self, now: Instant, id: SocketId, args: SendArgs<'_>) -> Result<usize, Errno> {
        let socket = user_socket_in(&mut self.sockets, id)?;
        let Role::Connection(connection) = &mut socket.role else {
            // sk_stream_wait_connect on a socket that is not connecting: EPIPE, or the
            // pending error first.
            return Err(socket.error.take().unwrap_or(Errno::EPIPE));
        };
        // tcp_sendmsg_locked: "tcp_rate_check_app_limited(sk); /* is sending
        // application-limited? */" (no loss left unrepaired: "tp->lost_out <= tp->retrans_out").
        let unsent = connection.send_queue.end().since(connection.snd_nxt);
        let repaired = connection.sent.lost_out() <= connection.sent.retrans_out();
        let (mss, in_flight, cwnd) = (
            connection.mss,
            connection.in_flight(),
            connection.congestion.cwnd,
        );
        connection
            .rate
            .check_app_limited(unsent, mss, in_flight, cwnd, repaired);
        // "One exception is TCP Fast Open (passive side) where data is allowed to be sent
        // before a connection is fully established" (tcp_passive_fastopen).
        if !matches!(connection.state, State::Established | State::CloseWait)
            && !connection.passive_fastopen()
        {
            if let Some(error) = connection.take_error() {
                return Err(error);
            }
            if matches!(connection.state, State::SynSent | State::SynReceived) {
                return Err(Errno::EAGAIN);
            }
            return Err(Errno::EPIPE);
        }
        if let Some(result) = Self::send_in_repair(&socket.repair, connection, args.data) {
            return result;
        }
        let message_flags =
            super::tx_timestamps::send_control(&socket.creds, &socket.options, &args)?;
        if connection.error.is_some() || connection.write_shut {
            return Err(connection.take_error().unwrap_or(Errno::EPIPE));
        }
        let space = connection.send_space();
        if space == 0 {
            // sk_stream_wait_memory: sk_set_bit(SOCKWQ_ASYNC_NOSPACE) (notify.rs).
            connection.async_nospace = true;
            return Err(Errno::EAGAIN);
        }
        let taken = space.min(args.data.len());
        connection.async_nospace |= taken < args.data.len();
        if taken > 0 && connection.send_queue.end() == connection.snd_nxt {
            // tcp_add_write_queue_tail: the first unsent skb starts the busy clock.
            connection
                .chrono
                .start(now, super::chrono::ChronoKind::Busy);
        }
        connection.send_queue.push(&args.data[..taken]);
        let flags = message_flags.unwrap_or(socket.options.timestamping_flags);
        let (zerocopy, write_end) = (socket.options.zerocopy, connection.send_queue.end());
        socket
            .transmit_stamps
            .record_send(flags, zerocopy, args.flags, taken, write_end);
        if args.flags & msg_flags::MSG_OOB != 0 {
            // tcp_mark_urg: the urgent pointer is the end of this write.
            connection.snd_up = Some(connection.send_queue.end());
        }
        let more = args.flags & msg_flags::MSG_MORE != 0;
        if socket.repair.on {
            // TCP_SEND_QUEUE in repair mode: queued as sent, nothing on the wire (`repair.rs`).
            connection.mark_sent_in_repair(now);
            return Ok(taken);
        }
        connection.transmit(now, more, &mut self.outbox);
        Ok(taken)
    }

    /// tcp_recvmsg. MSG_PEEK leaves the bytes queued; MSG_TRUNC discards them without
    /// copying (the return value still counts them). TCP fills no source address. With
    /// TCP_INQ, every successful read carries a TCP_CM_INQ control message.
    pub fn recv(
        &mut self,
        now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let mut result = self.recv_data(now, id, args, buf)?;
        let socket = user_socket_in(&mut self.sockets, id)?;
        if let Some(hint) = Self::receive_queue_hint(socket) {
            // tcp_recvmsg: "if (cmsg_flags & TCP_CMSG_INQ) put_cmsg(msg, SOL_TCP, TCP_CM_INQ,
            // sizeof(inq), &inq)" after a read that did not fail.
            let mut control = crate::cmsg::ControlWriter::new(args.control_capacity);
            control.put(
                super::sockopt::SOL_TCP,
                super::sol_tcp::TCP_CM_INQ,
                &hint.to_ne_bytes(),
            );
            let (bytes, truncated) = control.finish();
            result.control = bytes;
            if truncated {
                result.flags |= msg_flags::MSG_CTRUNC;
            }
        }
        Ok(result)
    }

    /// tcp_inq_hint when TCP_INQ is on: the bytes not yet read, or 1 after the peer's FIN
    /// so that a reader keeps reading to the end. None: TCP_INQ off (or a listener, which
    /// fails before the flag is looked at).
    fn receive_queue_hint(socket: &super::socket::TcpSocket) -> Option<i32> {
        match &socket.role {
            Role::Listener(_) => None,
            Role::Plain => socket.settings.more.receive_queue_hint.then_some(0),
            Role::Connection(connection) => {
                if !connection.settings.more.receive_queue_hint {
                    return None;
                }
                let unread = connection.receive.ready.len().min(i32::MAX as usize) as i32;
                Some(if unread == 0 && connection.done {
                    1
                } else {
                    unread
                })
            }
        }
    }

    fn recv_data(
        &mut self,
        now: Instant,
        id: SocketId,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let socket = user_socket_in(&mut self.sockets, id)?;
        if let Some(result) = Self::receive_in_repair(socket, &args, buf) {
            return result;
        }
        let oob = args.flags & msg_flags::MSG_OOB != 0;
        let connection = match &mut socket.role {
            Role::Listener(_) => return Err(Errno::ENOTCONN),
            // tcp_recv_urg on a socket that never connected: no urgent data, EINVAL.
            Role::Plain if oob => return Err(Errno::EINVAL),
            Role::Plain => {
                if let Some(error) = socket.error.take() {
                    return Err(error);
                }
                if socket.read_shut {
                    return Ok(RecvResult::default());
                }
                return Err(Errno::ENOTCONN);
            }
            Role::Connection(connection) => connection,
        };
        if oob {
            return Self::receive_urgent_byte(connection, args, buf);
        }
        let peek = args.flags & msg_flags::MSG_PEEK != 0;
        // Urgent data kept apart: its byte is skipped (consumed unless peeking), and a read
        // stops at the mark (tcp_recvmsg_locked's urg_offset handling).
        let (limit, skip) = connection.read_limit_at_mark();
        if skip && !peek {
            connection.receive.ready.pop_front();
            connection.forget_urgent_once_read();
        }
        let skipped = usize::from(skip && peek);
        let mut available = connection.receive.ready.len().saturating_sub(skipped);
        if let Some(limit) = limit {
            available = available.min(limit);
        }
        if available == 0 || args.capacity == 0 {
            if args.capacity == 0 && available > 0 {
                return Ok(RecvResult::default());
            }
            // The order of tcp_recvmsg_locked's checks when nothing was copied.
            if connection.done {
                return Ok(RecvResult::default());
            }
            if let Some(error) = connection.take_error() {
                return Err(error);
            }
            if connection.read_shut {
                return Ok(RecvResult::default());
            }
            if connection.state == State::Closed {
                return Err(Errno::ENOTCONN);
            }
            return Err(Errno::EAGAIN);
        }
        let discard = args.flags & msg_flags::MSG_TRUNC != 0;
        let mut count = available.min(args.capacity);
        if !discard {
            count = count.min(buf.len());
        }
        if !discard {
            let (head, tail) = connection.receive.ready.as_slices();
            let (from, to) = (skipped, skipped + count);
            let mut written = 0;
            if from < head.len() {
                let part = &head[from..to.min(head.len())];
                buf[..part.len()].copy_from_slice(part);
                written = part.len();
            }
            if to > head.len() {
                let part = &tail[from.saturating_sub(head.len())..to - head.len()];
                buf[written..written + part.len()].copy_from_slice(part);
            }
        }
        if !peek {
            connection.receive.ready.drain(..count);
            connection.forget_urgent_once_read();
            let grew = connection.adjust_receive_space(now, count);
            let receive_buffer = connection.settings.receive_buffer;
            // tcp_cleanup_rbuf: the owed ACK, or a window update, may go now (`delayed_ack.rs`).
            connection.cleanup_after_read(now, count, &mut self.outbox);
            // getsockopt(SO_RCVBUF) shows the autotuned size, as sk_rcvbuf does.
            if grew {
                socket.options.receive_buffer = receive_buffer.min(i32::MAX as u32) as i32;
            }
        } else {
            // tcp_recvmsg_locked ends with tcp_cleanup_rbuf(sk, copied) after a peek too:
            // more than one segment unacknowledged still sends the owed ACK.
            connection.cleanup_after_read(now, count, &mut self.outbox);
        }
        Ok(RecvResult {
            len: count,
            ..RecvResult::default()
        })
    }

    /// tcp_recv_urg: the urgent byte, once. EINVAL with SO_OOBINLINE, without urgent data,
    /// or once it was read; EAGAIN while the pointer arrived but the byte has not.
    fn receive_urgent_byte(
        connection: &mut Connection,
        args: RecvArgs,
        buf: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        use super::urgent::UrgentData;
        if connection.settings.urgent_inline
            || matches!(connection.urgent.data, UrgentData::None | UrgentData::Read)
        {
            return Err(Errno::EINVAL);
        }
        if connection.state == State::Closed && !connection.done {
            return Err(Errno::ENOTCONN);
        }
        if let UrgentData::Valid(byte) = connection.urgent.data {
            if args.flags & msg_flags::MSG_PEEK == 0 {
                connection.urgent.data = UrgentData::Read;
            }
            let mut result = RecvResult {
                flags: msg_flags::MSG_OOB,
                ..RecvResult::default()
            };
            if args.capacity > 0 {
                if args.flags & msg_flags::MSG_TRUNC == 0 {
                    if let Some(slot) = buf.first_mut() {
                        *slot = byte;
                    }
                }
                result.len = 1;
            } else {
                result.flags |= msg_flags::MSG_TRUNC;
            }
            return Ok(result);
        }
        if connection.state == State::Closed || connection.read_shut {
            return Ok(RecvResult::default());
        }
        Err(Errno::EAGAIN)
    }

    /// tcp_poll.
    pub fn poll(&self, id: SocketId) -> u32 {
        let mask = self.poll_state(id);
        // tcp_poll: "if (sk->sk_err || !skb_queue_empty_lockless(&sk->sk_error_queue))
        // mask |= EPOLLERR".
        match self.user_socket(id) {
            Ok(socket) if !socket.error_queue.is_empty() => mask | poll_bits::POLLERR,
            _ => mask,
        }
    }

    fn poll_state(&self, id: SocketId) -> u32 {
        use poll_bits::*;
        let Ok(socket) = self.user_socket(id) else {
            return POLLNVAL;
        };
        let connection = match &socket.role {
            Role::Listener(listener) => {
                return if listener.ready.is_empty() {
                    0
                } else {
                    POLLIN | POLLRDNORM
                };
            }
            Role::Plain => {
                // State CLOSE: hung up, writable (nothing queued), readable once shut.
                let mut mask = POLLHUP | POLLOUT | POLLWRNORM;
                if socket.read_shut {
                    mask |= POLLIN | POLLRDNORM | POLLRDHUP;
                }
                if socket.error.is_some() {
                    mask |= POLLERR;
                }
                return mask;
            }
            Role::Connection(connection) => connection,
        };
        let state = connection.state;
        let mut mask = 0;
        let both_shut = connection.read_shut && connection.write_shut;
        if both_shut || state == State::Closed {
            mask |= POLLHUP;
        }
        if connection.read_shut {
            mask |= POLLIN | POLLRDNORM | POLLRDHUP;
        }
        // tcp_poll: "state != TCP_SYN_RECV || rcu_access_pointer(tp->fastopen_rsk)".
        if state != State::SynSent && (state != State::SynReceived || connection.passive_fastopen())
        {
            let mut target = (connection.settings.receive_lowat.max(1)) as usize;
            // The urgent byte at the read position does not count as readable data.
            if connection.at_urgent_mark() && !connection.settings.urgent_inline {
                target += 1;
            }
            if connection.receive.ready.len() >= target {
                mask |= POLLIN | POLLRDNORM;
            }
            if connection.write_shut
                || connection.writable() && connection.notsent_below_lowat(true)
            {
                mask |= POLLOUT | POLLWRNORM;
            }
        } else if state == State::SynSent && connection.fastopen.deferred {
            // "Active TCP fastopen socket with defer_connect: return EPOLLOUT so application
            // can call write() in order for kernel to generate SYN+data".
            mask |= POLLOUT | POLLWRNORM;
        }
        if matches!(connection.urgent.data, super::urgent::UrgentData::Valid(_)) {
            mask |= POLLPRI;
        }
        if connection.error.is_some() {
            mask |= POLLERR;
        }
        mask
    }

    /// Wakeups by kind, for edge-triggered epoll; zero for a stale id.
    pub fn wakeups(&self, id: SocketId) -> WakeupCounts {
        self.user_socket(id)
            .map_or(WakeupCounts::default(), |socket| socket.all_wakeups())
    }

    /// Whether connect() is still in progress (sock->state SS_CONNECTING and SYN_SENT or
    /// SYN_RECV): a blocking connect in the shim waits while this holds.
    pub fn connecting(&self, id: SocketId) -> bool {
        self.user_socket(id).is_ok_and(|socket| {
            socket.phase == SocketPhase::Connecting
                && matches!(socket.state(), State::SynSent | State::SynReceived)
        })
    }

    /// sk_err without a wakeup (see `Stack::set_pending_error`).
    pub fn set_pending_error(&mut self, id: SocketId, errno: Errno) -> Result<(), Errno> {
        let socket = self.user_socket_mut(id)?;
        match socket.connection_mut() {
            Some(connection) => connection.error = Some(errno),
            None => socket.error = Some(errno),
        }
        Ok(())
    }
}
