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
    /// tw_rcv_wnd in bytes: the FIN_WAIT2 substate's tcp_in_window bound.
    pub rcv_wnd: u32,
    /// tw_substate TCP_FIN_WAIT2: an orphan whose FIN was acked, waiting for the peer's FIN
    /// (tcp_rcv_state_process / tcp_close → tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)).
    pub fin_wait2: bool,
    pub expires: Instant,
    pub ttl: Option<u8>,
    pub tos: u8,
    /// tcp_time_wait_init: a copy of the MD5 key the connection used (tw_md5_key), which
    /// signs the record's ACKs (`md5sig.rs`).
    pub md5_secret: Option<Vec<u8>>,
}

/// What tcp_timewait_state_process decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWaitAction {
    /// Nothing to send (TCP_TW_SUCCESS).
    Nothing,
    /// Answer with an ACK (TCP_TW_ACK).
    Ack,
    /// Answer with a reset built from the segment and forget the record (TCP_TW_RST: new
    /// data or a SYN in the FIN_WAIT2 substate).
    Reset,
    /// A reset at RCV.NXT ends TIME_WAIT early (net.ipv4.tcp_rfc1337 = 0).
    Kill,
    /// A new SYN may open a new connection; its ISN must be past ours (TCP_TW_SYN).
    NewSyn { isn: Seq },
}

/// tcp_in_window: the segment starts at RCV.NXT, or overlaps the window, or is an empty
/// segment at its right edge.
fn in_window(seq: Seq, end_seq: Seq, start: Seq, end: Seq) -> bool {
    if seq == start {
        return true;
    }
    if end_seq.gt(start) && seq.lt(end) {
        return true;
    }
    seq == end && seq == end_seq
}

impl Connection {
    /// tcp_rcv_state_process, FIN_WAIT1 → FIN_WAIT2 for an orphan: unless the segment carries
    /// a FIN (or new data, which aborts), and tcp_fin_time is at most TCP_TIMEWAIT_LEN, the
    /// socket becomes a TIME_WAIT record in substate FIN_WAIT2 at once, for tcp_fin_time.
    pub fn fin_wait2_record_timeout(&self, segment: &Repr<'_>) -> Option<core::time::Duration> {
        if self.state != super::state::State::FinWait2 || !self.orphaned || segment.has(flags::FIN)
        {
            return None;
        }
        let seq = Seq(segment.seq);
        let end_seq = seq.add(segment.sequence_len());
        if end_seq != seq && end_seq.gt(self.rcv_nxt) {
            return None;
        }
        self.fin_wait2_close_timeout()
    }

    /// tcp_close with the connection already in FIN_WAIT2 (and tcp_rcv_state_process): the
    /// record's lifetime tcp_fin_time when it is at most TCP_TIMEWAIT_LEN; longer waits stay
    /// on the socket's keepalive timer.
    pub fn fin_wait2_close_timeout(&self) -> Option<core::time::Duration> {
        let fin_timeout = self.settings.tunables.fin_timeout;
        let wait = self
            .settings
            .more
            .fin_wait2_timeout(fin_timeout, self.rtt.rto())?;
        (wait <= TIME_WAIT_LEN).then_some(wait)
    }
}

/// When an orphan's FIN_WAIT2 timer (sk_timer, shared with keepalive) fires, for a
/// tcp_fin_time of `wait`: tcp_close and tcp_rcv_state_process arm it for "tmo -
/// TCP_TIMEWAIT_LEN" when the wait is longer than TIME_WAIT (the rest is spent in a record,
/// `Connection::fin_wait2_handoff`), else for the whole wait.
pub fn fin_wait2_timer_delay(wait: core::time::Duration) -> core::time::Duration {
    if wait > TIME_WAIT_LEN {
        wait - TIME_WAIT_LEN
    } else {
        wait
    }
}

impl Connection {
    /// tcp_keepalive_timer for an orphan in FIN_WAIT2: "tmo = tcp_fin_time(sk) -
    /// TCP_TIMEWAIT_LEN; if (tmo > 0) tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)". The answer is
    /// the record's lifetime, which tcp_time_wait raises to at least 3.5 RTO ("if (timeo <
    /// rto) timeo = rto"); None (TCP_LINGER2 < 0, or no time left): reset and die.
    pub fn fin_wait2_handoff(&self) -> Option<core::time::Duration> {
        let fin_timeout = self.settings.tunables.fin_timeout;
        let rto = self.rtt.rto();
        let wait = self.settings.more.fin_wait2_timeout(fin_timeout, rto)?;
        let rest = wait
            .checked_sub(TIME_WAIT_LEN)
            .filter(|rest| !rest.is_zero())?;
        Some(rest.max(rto * 4 - rto / 2))
    }
}

impl TimeWaitEntry {
    /// The record becomes the FIN_WAIT2 substate, expiring after `timeout` (tcp_fin_time).
    pub fn enter_fin_wait2(&mut self, now: Instant, timeout: core::time::Duration) {
        self.fin_wait2 = true;
        self.expires = now + timeout;
    }

    pub fn from_connection(connection: &Connection, now: Instant) -> TimeWaitEntry {
        TimeWaitEntry {
            local: connection.local,
            remote: connection.remote,
            rcv_nxt: connection.rcv_nxt,
            snd_nxt: connection.snd_nxt,
            timestamps: connection.timestamps,
            ts_recent: connection.ts_recent,
            ts_offset: connection.ts_offset,
            // tcp_time_wait: "tw_rcv_wnd = tcp_receive_window(tp)", what is left of the
            // window last offered; tcp_v4_timewait_ack sends it >> tw_rcv_wscale.
            window: (connection.receive_window() >> connection.rcv_wscale).min(65535) as u16,
            rcv_wnd: connection.receive_window(),
            fin_wait2: false,
            expires: now + TIME_WAIT_LEN,
            ttl: connection.settings.ttl,
            tos: connection.settings.tos,
            md5_secret: connection.md5_secret(),
        }
    }

    pub fn input(&mut self, now: Instant, segment: &Repr<'_>) -> TimeWaitAction {
        let seq = Seq(segment.seq);
        let end_seq = seq.add(segment.sequence_len());
        let rst = segment.has(flags::RST);
        let timestamp = segment.options.timestamps.filter(|_| self.timestamps);
        let paws_reject = timestamp
            .is_some_and(|(value, _)| (value.wrapping_sub(self.ts_recent) as i32) < 0 && !rst);
        if self.fin_wait2 {
            return self.fin_wait2_input(now, segment, paws_reject);
        }
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

    /// tcp_timewait_state_process for tw_substate TCP_FIN_WAIT2: "just repeat all the checks
    /// of tcp_rcv_state_process()".
    fn fin_wait2_input(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        paws_reject: bool,
    ) -> TimeWaitAction {
        let seq = Seq(segment.seq);
        let end_seq = seq.add(segment.sequence_len());
        let window_end = self.rcv_nxt.add(self.rcv_wnd);
        // Out of window: ACK (tcp_timewait_check_oow_rate_limit).
        if paws_reject || !in_window(seq, end_seq, self.rcv_nxt, window_end) {
            return TimeWaitAction::Ack;
        }
        if segment.has(flags::RST) {
            return TimeWaitAction::Kill;
        }
        if segment.has(flags::SYN) && !seq.lt(self.rcv_nxt) {
            return TimeWaitAction::Reset;
        }
        // A duplicate ACK, or a segment without ACK: nothing.
        if !segment.has(flags::ACK) || !end_seq.gt(self.rcv_nxt) || end_seq == seq {
            return TimeWaitAction::Nothing;
        }
        // New data after the half-duplex close, or a FIN not at RCV.NXT: reset.
        if !segment.has(flags::FIN) || end_seq != self.rcv_nxt.add(1) {
            return TimeWaitAction::Reset;
        }
        // "FIN arrived, enter true time-wait state."
        self.fin_wait2 = false;
        self.rcv_nxt = end_seq;
        if let Some((value, _)) = segment.options.timestamps.filter(|_| self.timestamps) {
            self.ts_recent = value;
        }
        self.expires = now + TIME_WAIT_LEN;
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
            md5: self.md5_secret.as_ref().map(|_| [0; 16]),
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
            bytes: super::md5sig::signed(
                repr.emit(*self.local.ip(), *self.remote.ip()),
                *self.local.ip(),
                *self.remote.ip(),
                self.md5_secret.as_deref(),
            ),
        }
    }
}
