//! What the shim needs to signal a socket's owner: how many new urgent pointers arrived
//! (tcp_check_urg → sk_send_sigurg, SIGURG) and the sk_wake_async calls by reason (the
//! O_ASYNC signal). Both are counters the shim compares between engine passes.

use super::layer::TcpLayer;
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
    /// POLL_OUT), which signals only if SOCKWQ_ASYNC_NOSPACE was set and clears it. The
    /// kernel's tcp_poll sets that bit too when it reports the socket unwritable; here only
    /// a send that ran out of space does.
    pub(super) fn note_write_space(&mut self) {
        if self.async_nospace && self.writable() && !self.write_shut {
            self.async_nospace = false;
            self.async_notices.output += 1;
        }
    }
}
