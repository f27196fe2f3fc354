//! TIME_WAIT as Linux keeps it: a small record (inet_timewait_sock) instead of the socket,
//! for TCP_TIMEWAIT_LEN (60 s), answering as tcp_timewait_state_process does.

use super::seq::Seq;
use super::tcb::{Connection, OutSegment};
use super::timers::TIME_WAIT_LEN;
use crate::time::Instant;
use crate::wire::tcp::{flags, Options, Repr};

#[derive(Debug, Clone)]
pub struct TimeWaitEntry {
    pub local: core::net::SocketAddrV4,
    pub remote: core::net::SocketAddrV4,
    pub rcv_nxt: Seq,
    pub snd_nxt: Seq,
    pub timestamps: bool,
    pub ts_recent: u32,
    pub ts_offset: u32,
    /// The last window advertised, already scaled down (tw_rcv_wnd >> tw_rcv_wscale).
    pub window: u16,
    pub expires: Instant,
    pub ttl: Option<u8>,
    pub tos: u8,
}

/// What tcp_timewait_state_process decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWaitAction {
    /// Nothing to send (TCP_TW_SUCCESS).
    Nothing,
    /// Answer with an ACK (TCP_TW_ACK).
    Ack,
    /// A reset at RCV.NXT ends TIME_WAIT early (net.ipv4.tcp_rfc1337 = 0).
    Kill,
    /// A new SYN may open a new connection; its ISN must be past ours (TCP_TW_SYN).
    NewSyn { isn: Seq },
}

impl TimeWaitEntry {
    pub fn from_connection(connection: &Connection, now: Instant) -> TimeWaitEntry {
        TimeWaitEntry {
            local: connection.local,
            remote: connection.remote,
            rcv_nxt: connection.rcv_nxt,
            snd_nxt: connection.snd_nxt,
            timestamps: connection.timestamps,
            ts_recent: connection.ts_recent,
            ts_offset: connection.ts_offset,
            window: (connection.receive_window() >> connection.rcv_wscale).min(65535) as u16,
            expires: now + TIME_WAIT_LEN,
            ttl: connection.settings.ttl,
            tos: connection.settings.tos,
        }
    }

    pub fn input(&mut self, now: Instant, segment: &Repr<'_>) -> TimeWaitAction {
        let seq = Seq(segment.seq);
        let end_seq = seq.add(segment.sequence_len());
        let rst = segment.has(flags::RST);
        let timestamp = segment.options.timestamps.filter(|_| self.timestamps);
        let paws_reject = timestamp
            .is_some_and(|(value, _)| (value.wrapping_sub(self.ts_recent) as i32) < 0 && !rst);
        if !paws_reject && seq == self.rcv_nxt && (seq == end_seq || rst) {
            // In window: only a reset or a bare ACK can be here.
            if rst {
                return TimeWaitAction::Kill;
            }
            self.expires = now + TIME_WAIT_LEN;
            if let Some((value, _)) = timestamp {
                self.ts_recent = value;
            }
            return TimeWaitAction::Nothing;
        }
        let newer_timestamp =
            timestamp.is_some_and(|(value, _)| (self.ts_recent.wrapping_sub(value) as i32) < 0);
        if segment.has(flags::SYN)
            && !rst
            && !segment.has(flags::ACK)
            && !paws_reject
            && (seq.gt(self.rcv_nxt) || newer_timestamp)
        {
            let mut isn = self.snd_nxt.add(65535 + 2);
            if isn == Seq(0) {
                isn = Seq(1);
            }
            return TimeWaitAction::NewSyn { isn };
        }
        if rst {
            return TimeWaitAction::Nothing;
        }
        if paws_reject || segment.has(flags::ACK) {
            self.expires = now + TIME_WAIT_LEN;
        }
        TimeWaitAction::Ack
    }

    /// tcp_v4_timewait_ack.
    pub fn ack(&mut self, now: Instant) -> OutSegment {
        let options = Options {
            timestamps: self.timestamps.then(|| {
                (
                    (now.as_millis() as u32).wrapping_add(self.ts_offset),
                    self.ts_recent,
                )
            }),
            ..Options::default()
        };
        let repr = Repr {
            source_port: self.local.port(),
            destination_port: self.remote.port(),
            seq: self.snd_nxt.0,
            ack: self.rcv_nxt.0,
            flags: flags::ACK,
            window: self.window,
            urgent_pointer: 0,
            options,
            payload: &[],
        };
        OutSegment {
            src: *self.local.ip(),
            dst: *self.remote.ip(),
            ttl: self.ttl,
            tos: self.tos,
            // tcp_v4_timewait_ack → tcp_v4_send_ack: the control socket's reply, id 0.
            ident: None,
            bytes: repr.emit(*self.local.ip(), *self.remote.ip()),
        }
    }
}
