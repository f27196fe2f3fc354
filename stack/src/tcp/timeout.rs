//! A connection's timers firing (tcp_timer.c): retransmission with back-off and the
//! tcp_syn_retries / tcp_retries2 / TCP_USER_TIMEOUT budgets, zero-window probes, delayed
//! ACKs, keepalive, and the orphaned FIN_WAIT2 timeout.

use super::state::State;
use super::tcb::{Connection, OutSegment};
use super::timers::{retransmission_budget, Timer, RTO_INITIAL, RTO_MAX, RTO_MIN};
use crate::errno::Errno;
use crate::time::Instant;

/// What a timer did to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Nothing,
    /// The connection died (timed out, or an orphan's wait ended); the layer unhashes it.
    Closed,
    /// TIME_WAIT ended.
    TimeWaitOver,
    /// An orphan's FIN_WAIT2 timer fired with time left: the layer hands the connection to
    /// a TIME_WAIT record in substate FIN_WAIT2 lasting this long (`timewait.rs`).
    FinWait2Record(core::time::Duration),
}

impl Connection {
    pub fn handle_timers(&mut self, now: Instant, out: &mut Vec<OutSegment>) -> Expiry {
        for timer in self.timers.take_expired(now) {
            let expiry = match timer {
                Timer::Retransmit => self.retransmit_timeout(now, out),
                Timer::Persist => self.probe_timeout(now, out),
                Timer::DelayedAck => {
                    // tcp_delack_timer_handler (`delayed_ack.rs`); measured: TCP_QUICKACK
                    // reads 1 again once the timer sent the ACK of a FIN.
                    self.delayed_ack_timeout(now, out);
                    Expiry::Nothing
                }
                Timer::Keepalive => self.keepalive_timeout(now, out),
                Timer::TimeWait => Expiry::TimeWaitOver,
                Timer::LossProbe => {
                    self.send_loss_probe(now, out);
                    Expiry::Nothing
                }
                Timer::ReorderTimeout => {
                    self.rack_reorder_timeout(now, out);
                    Expiry::Nothing
                }
                // tcp_pace_kick → tcp_tsq_handler: the paced segment may leave now.
                Timer::Pacing => {
                    self.pacing_kick(now, out);
                    Expiry::Nothing
                }
            };
            if expiry != Expiry::Nothing {
                return expiry;
            }
        }
        Expiry::Nothing
    }

    /// tcp_write_err: the error is the last soft error (an ICMP) or ETIMEDOUT.
    fn give_up(&mut self) -> Expiry {
        let errno = self.soft_error.unwrap_or(Errno::ETIMEDOUT);
        self.report_error(errno);
        self.finish();
        Expiry::Closed
    }

    /// retransmits_timed_out: TCP_USER_TIMEOUT when set, else the time `boundary` back-offs
    /// from 200 ms would take, measured from the first retransmission.
    fn budget_exhausted(&self, now: Instant, boundary: u32) -> bool {
        let Some(since) = self.retransmit_since else {
            return false;
        };
        let elapsed = now.saturating_since(since);
        match self.settings.user_timeout {
            Some(limit) => elapsed >= limit,
            None => elapsed >= retransmission_budget(boundary, RTO_MIN),
        }
    }

    /// tcp_retransmit_timer.
    fn retransmit_timeout(&mut self, now: Instant, out: &mut Vec<OutSegment>) -> Expiry {
        match self.state {
            State::SynSent => {
                // tcp_write_timeout: a SYN is retransmitted tcp_syn_retries +
                // tcp_syn_linear_timeouts times, unless the time tcp_model_timeout gives
                // tcp_syn_retries back-offs from the initial RTO (or TCP_USER_TIMEOUT) runs out
                // first, counted from the first SYN (retransmits_timed_out).
                let retries = self.settings.syn_retries();
                let linear = self.settings.tunables.syn_linear_timeouts;
                let expired =
                    self.timeouts >= retries + linear || self.syn_budget_exhausted(now, retries);
                // tcp_write_timeout → tcp_fastopen_active_detect_blackhole.
                self.detect_fastopen_blackhole(expired);
                if expired {
                    return self.give_up();
                }
                // tcp_retransmit_timer: while total_rto <= tcp_syn_linear_timeouts the RTO is
                // not doubled (SYNs 1 s apart, then 2, 4, 8 ... s).
                let doubles = self.timeouts + 1 > linear;
                self.resend_syn(now, doubles, out);
                return Expiry::Nothing;
            }
            State::SynReceived => {
                // reqsk_timer_handler: the SYN-ACK is resent tcp_synack_retries times, then the
                // half-open connection is dropped without a reset. With TCP_DEFER_ACCEPT
                // (syn_ack_recalc) a request whose bare ACK was dropped waits for data
                // without resending until the last deferred period, and lives at least
                // rskq_defer_accept timeouts.
                let defer = u32::from(self.settings.more.defer_accept_retries);
                let retries = self.settings.tunables.synack_retries.max(defer);
                let acked = self.deferred_ack_seen;
                let (expire, resend) = if defer == 0 {
                    (self.timeouts >= retries, true)
                } else {
                    (
                        self.timeouts >= retries && (!acked || self.timeouts >= defer),
                        !acked || self.timeouts + 1 >= defer,
                    )
                };
                if expire {
                    self.finish();
                    return Expiry::Closed;
                }
                if resend {
                    self.resend_syn(now, true, out);
                } else {
                    self.timeouts += 1;
                    self.rtt.backoff += 1;
                    self.timers.set(Timer::Retransmit, now + self.rtt.rto());
                }
                return Expiry::Nothing;
            }
            _ => {}
        }
        if self.snd_una == self.snd_nxt {
            return Expiry::Nothing;
        }
        // tcp_write_timeout: an orphan gets tcp_orphan_retries (0 means 8 while the RTO is
        // below its ceiling), a connection the application holds tcp_retries2.
        let boundary = if self.orphaned && self.rtt.rto() < RTO_MAX {
            self.settings.tunables.orphan_retries
        } else {
            self.settings.tunables.retries2
        };
        let expired = self.budget_exhausted(now, boundary);
        // tcp_write_timeout → tcp_fastopen_active_detect_blackhole.
        self.detect_fastopen_blackhole(expired);
        if expired {
            return self.give_up();
        }
        let head_sent_at = self.head_sent_at(now);
        self.retransmit_since.get_or_insert(head_sent_at);
        // tcp_retransmit_timer: tcp_enter_loss (`frto.rs`), then the head alone is sent
        // again; later ACKs clock out the rest (tcp_xmit_recovery).
        self.enter_loss(now);
        self.timeouts += 1;
        self.retransmit_head(now, out);
        self.rtt.backoff += 1;
        self.arm_transmit_timer(Timer::Retransmit, now + self.rtt.rto());
        Expiry::Nothing
    }

    /// retransmits_timed_out for a SYN: TCP_USER_TIMEOUT when set, else tcp_model_timeout
    /// with the initial RTO as base (tcp_timeout_init), from the first SYN's send time.
    fn syn_budget_exhausted(&self, now: Instant, boundary: u32) -> bool {
        let Some(since) = self.retransmit_since else {
            return false;
        };
        let elapsed = now.saturating_since(since);
        match self.settings.user_timeout {
            Some(limit) => elapsed >= limit,
            None => elapsed >= retransmission_budget(boundary, RTO_INITIAL),
        }
    }

    /// Retransmit the SYN (or SYN-ACK), doubling the RTO unless `doubles` is false.
    fn resend_syn(&mut self, now: Instant, doubles: bool, out: &mut Vec<OutSegment>) {
        let head_sent_at = self.head_sent_at(now);
        self.retransmit_since.get_or_insert(head_sent_at);
        self.timeouts += 1;
        if doubles {
            self.rtt.backoff += 1;
        }
        self.stats.total_retransmits += 1;
        self.send_syn(now, out);
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// tcp_probe_timer / tcp_send_probe0: probe a zero window with backing-off intervals;
    /// give up after tcp_retries2 unanswered probes (or TCP_USER_TIMEOUT).
    fn probe_timeout(&mut self, now: Instant, out: &mut Vec<OutSegment>) -> Expiry {
        if self.snd_wnd > 0 || self.snd_nxt != self.snd_una || self.send_queue.is_empty() {
            self.probes = 0;
            self.transmit(now, false, out);
            return Expiry::Nothing;
        }
        let over_user_timeout = self.settings.user_timeout.is_some_and(|limit| {
            now.saturating_since(self.stats.last_ack_received.max(self.stats.last_data_sent))
                >= limit
        });
        if self.probes >= self.settings.tunables.retries2 || over_user_timeout {
            return self.give_up();
        }
        self.probes += 1;
        self.rtt.backoff += 1;
        self.send_probe(now, out);
        self.timers.set(Timer::Persist, now + self.rtt.rto());
        Expiry::Nothing
    }

    /// tcp_keepalive_timer; for an orphan in FIN_WAIT2 the same timer ends the wait.
    fn keepalive_timeout(&mut self, now: Instant, out: &mut Vec<OutSegment>) -> Expiry {
        if self.state == State::FinWait2 && self.orphaned {
            if let Some(record) = self.fin_wait2_handoff() {
                return Expiry::FinWait2Record(record);
            }
            // "tcp_send_active_reset(sk, GFP_ATOMIC); goto death".
            self.send_reset(now, out);
            self.finish();
            return Expiry::Closed;
        }
        if !self.settings.keepalive
            || !matches!(
                self.state,
                State::Established | State::CloseWait | State::FinWait1 | State::FinWait2
            )
        {
            return Expiry::Nothing;
        }
        let interval = self.settings.keepalive_interval();
        // Data in flight or queued: the retransmission timer watches the connection.
        if self.in_flight() > 0 || !self.send_queue.is_empty() {
            self.timers
                .set(Timer::Keepalive, now + self.settings.keepalive_idle());
            return Expiry::Nothing;
        }
        let idle = self.idle_since(now);
        let keep_idle = self.settings.keepalive_idle();
        if idle < keep_idle {
            self.timers
                .set(Timer::Keepalive, self.last_received + keep_idle);
            return Expiry::Nothing;
        }
        let over_user_timeout = self
            .settings
            .user_timeout
            .is_some_and(|limit| idle >= limit && self.probes > 0);
        if self.probes >= self.settings.keepalive_count() || over_user_timeout {
            // The peer is gone: reset it in case it comes back, then report ETIMEDOUT.
            self.send_reset(now, out);
            return self.give_up();
        }
        self.send_probe(now, out);
        self.probes += 1;
        self.timers.set(Timer::Keepalive, now + interval);
        Expiry::Nothing
    }
}
