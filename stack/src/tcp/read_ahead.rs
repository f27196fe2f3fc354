//! What a read may still take once it has copied something: the shim copies a large read
//! in pieces (its buffer between the stack and the program's memory is bounded), and
//! tcp_recvmsg_locked's loop decides after every skb whether to go on. These answer the
//! same questions without changing the connection, so a piece is taken only when the
//! kernel's loop would copy it, and a pending error or the FIN stays for the next call.

use super::layer::TcpLayer;
use super::state::State;
use crate::socket::SocketId;

/// The receive queue as a read that already copied bytes sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadAhead {
    /// Bytes an ordinary read could copy now (up to the urgent mark).
    pub queued: usize,
    /// Bytes a MSG_PEEK would show now (after an urgent byte kept apart at the read
    /// position, up to the mark).
    pub peekable: usize,
    /// The next byte is at the urgent mark: tcp_recvmsg_locked's "if (unlikely(tp->urg_data)
    /// && tp->urg_seq == *seq) { if (copied) break; ...}" ends a read that copied bytes.
    pub at_mark: bool,
    /// Nothing more will come without an error or the end being reported: "if (copied) {
    /// if (!timeo || sk->sk_err || sk->sk_state == TCP_CLOSE || (sk->sk_shutdown &
    /// RCV_SHUTDOWN) || signal_pending(current)) break;" (also true for a socket that is no
    /// connection any more).
    pub ended: bool,
}

impl TcpLayer {
    /// The queue for a read that has copied bytes already (see `ReadAhead`).
    pub fn read_ahead(&self, id: SocketId) -> ReadAhead {
        if self.peeks_send_queue(id) {
            return ReadAhead::default(); // TCP_REPAIR's send-queue peek (`repair.rs`).
        }
        let Some(connection) = self
            .user_socket(id)
            .ok()
            .and_then(|socket| socket.connection())
        else {
            return ReadAhead {
                ended: true,
                ..ReadAhead::default()
            };
        };
        let at_mark = connection.at_urgent_mark();
        let (limit, skip) = connection.read_limit_at_mark();
        let ready = connection.receive.ready.len();
        let queued = match limit {
            _ if at_mark => 0,
            Some(limit) => ready.min(limit),
            None => ready,
        };
        let mut peekable = ready.saturating_sub(usize::from(skip));
        if let Some(limit) = limit {
            peekable = peekable.min(limit);
        }
        ReadAhead {
            queued,
            peekable,
            at_mark,
            ended: connection.done
                || connection.error.is_some()
                || connection.read_shut
                || connection.state == State::Closed,
        }
    }

    /// The bytes a MSG_PEEK shows from `offset` on (offset 0 is what recv(MSG_PEEK) copies
    /// first: after an urgent byte kept apart, and no further than the mark), copied into
    /// `buf`; returns the count. Changes nothing: the peek's side effects belong to the
    /// recv that copied the first piece (tcp_recvmsg_locked copies skb after skb under one
    /// socket lock, and so does the shim under the stack's).
    pub fn peek_from(&self, id: SocketId, offset: usize, buf: &mut [u8]) -> usize {
        if let Some(count) = self.peek_send_queue_from(id, offset, buf) {
            return count; // TCP_REPAIR's send-queue peek (`repair.rs`).
        }
        let Some(connection) = self
            .user_socket(id)
            .ok()
            .and_then(|socket| socket.connection())
        else {
            return 0;
        };
        let (limit, skip) = connection.read_limit_at_mark();
        let skipped = usize::from(skip);
        let ready = &connection.receive.ready;
        let mut end = ready.len();
        if let Some(limit) = limit {
            end = end.min(skipped + limit);
        }
        let from = skipped + offset;
        if from >= end {
            return 0;
        }
        let count = (end - from).min(buf.len());
        let (head, tail) = ready.as_slices();
        let to = from + count;
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
        count
    }
}
