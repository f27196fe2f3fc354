//! Tail loss probes (RFC 8985 section 7; tcp_output.c tcp_schedule_loss_probe and
//! tcp_send_loss_probe, tcp_input.c tcp_process_tlp_ack) and the one transmit timer Linux
//! shares between the retransmission timeout, the loss probe and RACK's reordering timer
//! (icsk_pending: arming one kind replaces the others; tcp_rearm_rto, tcp_set_xmit_timer).
//!
//! The probe timeout is 2·SRTT plus 2 ms (TCP_TIMEOUT_MIN_US), or plus the minimum RTO when
//! a single segment is out (the peer may be delaying its ACK), never later than the
//! retransmission timeout would fire; without an RTT sample it is the initial RTO.

use core::time::Duration;

use super::congestion::Phase;
use super::recovery::AckFlags;
use super::tcb::{Connection, OutSegment};
use super::timers::{Timer, JIFFY, RTO_INITIAL};
use crate::time::Instant;

/// TCP_TIMEOUT_MIN_US.
const PROBE_SLACK: Duration = Duration::from_millis(2);

/// usecs_to_jiffies: timers run on jiffies, rounded up.
pub fn round_up_to_jiffies(value: Duration) -> Duration {
    let jiffy = JIFFY.as_nanos();
    let ticks = value.as_nanos().div_ceil(jiffy);
    Duration::from_nanos((ticks * jiffy) as u64)
}

const TRANSMIT_TIMERS: [Timer; 3] = [Timer::Retransmit, Timer::LossProbe, Timer::ReorderTimeout];

impl Connection {
    /// icsk_pending: which kind the shared transmit timer is armed as.
    pub fn transmit_timer_pending(&self) -> Option<Timer> {
        TRANSMIT_TIMERS
            .into_iter()
            .find(|&timer| self.timers.is_set(timer))
    }

    /// inet_csk_reset_xmit_timer for one of the three kinds sharing the slot.
    pub fn arm_transmit_timer(&mut self, kind: Timer, at: Instant) {
        for timer in TRANSMIT_TIMERS {
            self.timers.clear(timer);
        }
        self.timers.set(kind, at);
    }

    pub fn clear_transmit_timer(&mut self) {
        for timer in TRANSMIT_TIMERS {
            self.timers.clear(timer);
        }
    }

    /// tcp_rto_delta_us: how long until the RTO measured from the head's last
    /// transmission would fire (negative: overdue).
    fn rto_delta(&self, now: Instant) -> i128 {
        let Some(sent) = self.sent.head_last_sent() else {
            return self.rtt.rto().as_nanos() as i128;
        };
        let fires = sent + self.rtt.rto();
        fires.as_nanos() as i128 - now.as_nanos() as i128
    }

    /// tcp_rearm_rto.
    pub fn rearm_rto(&mut self, now: Instant) {
        if self.sent.is_empty() {
            self.clear_transmit_timer();
            return;
        }
        let mut rto = self.rtt.rto();
        if matches!(
            self.transmit_timer_pending(),
            Some(Timer::ReorderTimeout | Timer::LossProbe)
        ) {
            // "Offset the time elapsed after installing regular RTO".
            let delta = self.rto_delta(now).max(1000);
            rto = round_up_to_jiffies(Duration::from_nanos(delta as u64));
        }
        self.arm_transmit_timer(Timer::Retransmit, now + rto);
    }

    /// tcp_set_xmit_timer: a loss probe if one may be scheduled, else the RTO.
    pub fn set_transmit_timer(&mut self, now: Instant) {
        if !self.schedule_loss_probe(now, true) {
            self.rearm_rto(now);
        }
    }

    /// tcp_schedule_loss_probe. `advancing_rto`: the RTO is being restarted now, so it
    /// bounds the probe by a whole RTO rather than by what is left of the current one.
    pub fn schedule_loss_probe(&mut self, now: Instant, advancing_rto: bool) -> bool {
        // "(early_retrans != 3 && early_retrans != 4)": net.ipv4.tcp_early_retrans.
        let early_retrans = self.settings.tunables.early_retrans;
        if !(early_retrans == 3 || early_retrans == 4)
            || self.sent.is_empty()
            || !self.sack
            || !matches!(self.congestion.phase, Phase::Open | Phase::Cwr { .. })
        {
            return false;
        }
        let mut timeout = match self.rtt.smoothed {
            Some(srtt) => {
                let extra = if self.sent.len() == 1 {
                    self.rtt.floor
                } else {
                    PROBE_SLACK
                };
                round_up_to_jiffies(micros(srtt) * 2 + extra)
            }
            None => RTO_INITIAL,
        };
        let rto_delta = if advancing_rto {
            self.rtt.rto().as_nanos() as i128
        } else {
            self.rto_delta(now)
        };
        if rto_delta > 0 {
            timeout = timeout.min(round_up_to_jiffies(Duration::from_nanos(rto_delta as u64)));
        }
        self.arm_transmit_timer(Timer::LossProbe, now + timeout);
        true
    }

    /// tcp_send_loss_probe: new data if the peer's window takes it, otherwise the last
    /// segment again; at most one probe outstanding.
    pub fn send_loss_probe(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if self.recovery.tlp_high_seq.is_none() {
            self.recovery.tlp_retrans = false;
            let mut sent = false;
            if self.next_segment_fits_window() {
                let before = self.sent.len();
                self.transmit_one_probe(now, out);
                sent = self.sent.len() > before;
            } else if let Some(last) = self.sent.last().copied() {
                let mss = self.current_mss().max(1);
                // tcp_fragment: only the last MSS of a larger segment is sent again.
                let start = if last.len() > mss {
                    let at = last.end.sub(mss);
                    self.sent.split_at(at);
                    at
                } else {
                    last.start
                };
                self.retransmit_range(now, start, last.end, false, out);
                self.recovery.tlp_retrans = true;
                sent = true;
            }
            if sent {
                // "Record snd_nxt for loss detection."
                self.recovery.tlp_high_seq = Some(self.snd_nxt);
                // "Reset s.t. tcp_rearm_rto will restart timer from now".
                self.clear_transmit_timer();
            }
        }
        self.rearm_rto(now);
    }

    /// tcp_send_head(sk) && tcp_snd_wnd_test(): there is unsent data and its next segment
    /// (an MSS of it, or all of it when less) fits inside the peer's window.
    fn next_segment_fits_window(&self) -> bool {
        if !self.send_end().gt(self.snd_nxt) {
            return false;
        }
        let mss = self.current_mss().max(1);
        let available = self.send_end().since(self.snd_nxt);
        let segment_end = self.snd_nxt.add(available.min(mss));
        !segment_end.gt(self.snd_una.add(self.snd_wnd))
    }

    /// tcp_write_xmit(..., push_one = 2): one new segment whatever the congestion window
    /// says, Nagle off.
    fn transmit_one_probe(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let mss = self.current_mss().max(1);
        let data_end = self.send_queue.end();
        let available = data_end.since(self.snd_nxt);
        let window_room = self.snd_una.add(self.snd_wnd).since(self.snd_nxt);
        let len = available.min(mss).min(window_room);
        let fin = self.fin_queued && len == available;
        if len == 0 && !fin {
            return;
        }
        self.send_range(now, self.snd_nxt, len + u32::from(fin), out);
    }

    /// tcp_process_tlp_ack: the probe's ACK tells whether there was a loss; if the probe
    /// repaired one, the window is reduced once (CWR entered and left at once).
    pub fn process_tlp_ack(&mut self, ack: super::seq::Seq, flags: &AckFlags) {
        let Some(high) = self.recovery.tlp_high_seq else {
            return;
        };
        if ack.lt(high) {
            return;
        }
        if !self.recovery.tlp_retrans || flags.dsack_tlp {
            // New data was the probe, or the D-SACK says original and probe both arrived.
            self.recovery.tlp_high_seq = None;
        } else if ack.gt(high) {
            // "ACK advances: there was a loss, so reduce cwnd."
            self.init_cwnd_reduction();
            // tcp_end_cwnd_reduction: nothing for an algorithm with cong_control (BBR).
            if self.congestion.ssthresh < super::congestion::INFINITE_SSTHRESH
                && !self.congestion.control.has_cong_control()
            {
                self.congestion.cwnd = self.congestion.ssthresh;
            }
            self.try_keep_open();
        } else if !(flags.una_advanced || flags.not_duplicate() || flags.data_sacked) {
            // "Pure dupack: original and TLP probe arrived; no loss".
            self.recovery.tlp_high_seq = None;
        }
    }
}

fn micros(value: Duration) -> Duration {
    Duration::from_micros(value.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jiffies_round_up() {
        assert_eq!(round_up_to_jiffies(Duration::from_micros(1)), JIFFY);
        assert_eq!(round_up_to_jiffies(JIFFY), JIFFY);
        assert_eq!(
            round_up_to_jiffies(Duration::from_millis(9)),
            Duration::from_millis(12)
        );
        assert_eq!(round_up_to_jiffies(Duration::ZERO), Duration::ZERO);
    }
}
