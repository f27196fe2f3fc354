//! What the shim needs to signal a socket's owner: how many new urgent pointers arrived
//! (tcp_check_urg → sk_send_sigurg, SIGURG) and the sk_wake_async calls by reason (the
//! O_ASYNC signal). Both are counters the shim compares between engine passes.

use super::layer::TcpLayer;
use super::state::State;
use super::tcb::Connection;
use crate::socket::{AsyncNotices, SocketId};

impl TcpLayer {
    /// tcp_check_urg's "Tell the world about our new urgent pointer" count of the
    /// socket's connection (0 without one).
    pub fn urgent_signals(&self, id: SocketId) -> u64 {
        self.sockets
            .get(id)
            .ok()
            .and_then(|socket| socket.connection())
            .map_or(0, |connection| connection.urgent_signals)
    }

    /// tcp_poll as poll, select and epoll call it: the readiness, and when the socket is
    /// found unwritable "send SIGIO later": sk_set_bit(SOCKWQ_ASYNC_NOSPACE), so the next
    /// sk_stream_write_space that finds it writable signals POLL_OUT. Like tcp_poll this
    /// ignores the events asked for, and arms only where it reports writability at all
    /// (past SYN_SENT, not a plain SYN_RECV, not shut for writing).
    pub fn poll_from_user(&mut self, id: SocketId) -> u32 {
        let mask = self.poll(id);
        let Some(connection) = self
            .user_socket_mut(id)
            .ok()
            .and_then(|socket| socket.connection_mut())
        else {
            return mask;
        };
        let reports_writability = connection.state != State::SynSent
            && (connection.state != State::SynReceived || connection.passive_fastopen());
        if reports_writability && !connection.write_shut && !connection.stream_writeable() {
            connection.async_nospace = true;
        }
        mask
    }

    /// The socket's own notices (a listener's) plus its connection's.
    pub fn async_notices(&self, id: SocketId) -> AsyncNotices {
        let Ok(socket) = self.sockets.get(id) else {
            return AsyncNotices::default();
        };
        let own = socket.async_notices;
        let Some(connection) = socket.connection() else {
            return own;
        };
        let theirs = connection.async_notices;
        AsyncNotices {
            input: own.input.wrapping_add(theirs.input),
            output: own.output.wrapping_add(theirs.output),
            error: own.error.wrapping_add(theirs.error),
            hangup: own.hangup.wrapping_add(theirs.hangup),
        }
    }
}

impl Connection {
    /// tcp_check_space → sk_stream_write_space after an ACK freed send buffer: when the
    /// socket is writable again (and not shut for writing), sock_wake_async(SOCK_WAKE_SPACE,
    /// POLL_OUT), which signals only if SOCKWQ_ASYNC_NOSPACE was set and clears it. The bit
    /// is set by a send that ran out of space (sk_stream_wait_memory) and by a poll that
    /// found the socket unwritable (`poll_from_user`).
    pub(super) fn note_write_space(&mut self) {
        if self.async_nospace && self.stream_writeable() && !self.write_shut {
            self.async_nospace = false;
            self.async_notices.output += 1;
        }
    }

    /// __sk_stream_is_writeable(sk, 1): room in the send buffer and, as tcp_poll and
    /// sk_stream_write_space ask it, unsent bytes under TCP_NOTSENT_LOWAT (doubled).
    fn stream_writeable(&self) -> bool {
        self.writable() && self.notsent_below_lowat(true)
    }
}
