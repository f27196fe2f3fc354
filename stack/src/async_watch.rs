//! The order in which watched sockets' owners must be signalled. The kernel sends SIGURG and
//! the O_ASYNC signal from inside the event (tcp_check_urg, sk_data_ready, ...), so the
//! signals of one pass queue in event order, across sockets: over loopback a connect() makes
//! the client's POLL_OUT (SYN-ACK) before the listener's POLL_IN (the ACK). The sockets count
//! their events (`Stack::urgent_signals`, `Stack::async_notices`); for the sockets the shim
//! watches, the counters are compared after every datagram delivered and the differences
//! logged in order. Within one datagram a socket's events are logged in the kernel's order:
//! SIGURG (tcp_check_urg comes first), POLL_OUT (tcp_finish_connect), POLL_HUP (tcp_fin),
//! POLL_IN (sk_data_ready after tcp_fin or tcp_urg), POLL_ERR.

use crate::socket::{AsyncNotices, SocketId};

/// One signal owed to a watched socket's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncEvent {
    pub id: SocketId,
    pub kind: AsyncKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncKind {
    /// A new urgent pointer (SIGURG, then POLL_PRI for O_ASYNC with F_SETSIG).
    Urgent,
    Output,
    Hangup,
    Input,
    Error,
}

#[derive(Debug)]
struct Watched {
    id: SocketId,
    urgent: u64,
    notices: AsyncNotices,
}

/// The watched sockets and the events logged since the shim last took them.
#[derive(Debug, Default)]
pub(crate) struct AsyncWatch {
    watched: Vec<Watched>,
    log: Vec<AsyncEvent>,
}

/// At most this many events are kept between two takes: a flood of datagrams to a socket
/// nobody reads must not grow the log without bound (standard signals merge anyway).
const MAX_LOGGED: usize = 4096;

impl AsyncWatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// Starts watching `id` from its current counters (earlier events are not signalled).
    pub(crate) fn watch(&mut self, id: SocketId, urgent: u64, notices: AsyncNotices) {
        if self.watched.iter().any(|entry| entry.id == id) {
            return;
        }
        self.watched.push(Watched {
            id,
            urgent,
            notices,
        });
    }

    pub(crate) fn unwatch(&mut self, id: SocketId) {
        self.watched.retain(|entry| entry.id != id);
        self.log.retain(|event| event.id != id);
    }

    /// Compares every watched socket's counters (`read`: urgent pointers, notices) with the
    /// last ones and logs the new events.
    pub(crate) fn observe(&mut self, read: impl Fn(SocketId) -> (u64, AsyncNotices)) {
        for entry in &mut self.watched {
            let (urgent, notices) = read(entry.id);
            let before = entry.notices;
            let counts = [
                (AsyncKind::Urgent, new_events(entry.urgent, urgent)),
                (AsyncKind::Output, new_events(before.output, notices.output)),
                (AsyncKind::Hangup, new_events(before.hangup, notices.hangup)),
                (AsyncKind::Input, new_events(before.input, notices.input)),
                (AsyncKind::Error, new_events(before.error, notices.error)),
            ];
            entry.urgent = urgent;
            entry.notices = notices;
            for (kind, count) in counts {
                for _ in 0..count {
                    if self.log.len() >= MAX_LOGGED {
                        break;
                    }
                    self.log.push(AsyncEvent { id: entry.id, kind });
                }
            }
        }
    }

    pub(crate) fn take(&mut self) -> Vec<AsyncEvent> {
        std::mem::take(&mut self.log)
    }
}

/// Events between two readings of a counter; a counter that went back belongs to a new
/// connection of the same socket and counts from zero.
fn new_events(seen: u64, now: u64) -> u64 {
    if now >= seen {
        now - seen
    } else {
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(index: u32) -> SocketId {
        SocketId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn events_are_logged_in_observation_order_and_kernel_order_within_one() {
        let mut watch = AsyncWatch::default();
        watch.watch(id(1), 0, AsyncNotices::default());
        watch.watch(id(2), 0, AsyncNotices::default());
        // First datagram: socket 2 connects; second: socket 1 gets a FIN after shutdown.
        let connected = AsyncNotices {
            output: 1,
            ..Default::default()
        };
        let fin = AsyncNotices {
            input: 1,
            hangup: 1,
            ..Default::default()
        };
        let nothing = AsyncNotices::default();
        watch.observe(|socket| (0, if socket == id(2) { connected } else { nothing }));
        watch.observe(|socket| (0, if socket == id(2) { connected } else { fin }));
        let kinds: Vec<_> = watch.take().iter().map(|e| (e.id.index, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                (2, AsyncKind::Output),
                (1, AsyncKind::Hangup),
                (1, AsyncKind::Input)
            ]
        );
        assert!(watch.take().is_empty());
    }
}
