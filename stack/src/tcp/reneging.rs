//! SACK reneging (RFC 2018 section 8: a receiver may discard data it SACKed): Linux notices
//! it when a cumulative ACK stops at a segment it had SACKed (tcp_clean_rtx_queue's
//! FLAG_SACK_RENEGING). tcp_check_sack_reneging then gives the receiver max(SRTT/2, 10 ms)
//! to repair the scoreboard with more ACKs before the retransmission timer fires; if the
//! head is still SACKed at the timeout, tcp_timeout_mark_lost (`frto.rs`) forgets every
//! SACK mark, marks everything lost and sets tp->is_sack_reneg, which makes tcp_rate_gen
//! give no delivery-rate sample until the loss episode ends (tcp_try_undo_recovery /
//! tcp_try_undo_loss clear it, `undo.rs`).

use core::time::Duration;

use super::loss_probe::round_up_to_jiffies;
use super::rate::RateSample;
use super::recovery::AckFlags;
use super::tcb::Connection;
use super::timers::Timer;
use crate::time::Instant;

/// msecs_to_jiffies(10) at HZ 250: three jiffies (12 ms).
const RENEGING_MIN_DELAY: Duration = Duration::from_millis(10);

/// tcp_check_sack_reneging's delay: max(usecs_to_jiffies(tp->srtt_us >> 4),
/// msecs_to_jiffies(10)). srtt_us holds eight times the smoothed RTT, so ">> 4" is half of
/// it, rounded down to a microsecond; both conversions round up to whole jiffies.
pub fn reneging_delay(smoothed: Option<Duration>) -> Duration {
    let srtt_us = smoothed.map_or(0, |srtt| srtt.as_micros().saturating_mul(8));
    let half = Duration::from_micros((srtt_us >> 4).min(u128::from(u64::MAX)) as u64);
    round_up_to_jiffies(half).max(round_up_to_jiffies(RENEGING_MIN_DELAY))
}

impl Connection {
    /// tcp_clean_rtx_queue: "if (TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_ACKED) flag |=
    /// FLAG_SACK_RENEGING", for the first segment the cumulative ACK did not cover.
    pub fn note_sack_reneging(&self, flags: &mut AckFlags) {
        if self.sack && self.sent.head().is_some_and(|head| head.sacked) {
            flags.sack_reneging = true;
        }
    }

    /// tcp_check_sack_reneging, step B of tcp_fastretrans_alert: an ACK that advanced
    /// SND.UNA up to a SACKed segment re-arms the retransmission timer for the short delay
    /// and keeps tcp_ack from re-arming it ("*ack_flag &= ~FLAG_SET_XMIT_TIMER"). Returns
    /// true when the rest of the state machine is skipped for this ACK.
    pub fn check_sack_reneging(&mut self, now: Instant, flags: &mut AckFlags) -> bool {
        if !(flags.sack_reneging && flags.una_advanced) {
            return false;
        }
        let delay = reneging_delay(self.rtt.smoothed);
        self.arm_transmit_timer(Timer::Retransmit, now + delay);
        flags.set_xmit_timer = false;
        true
    }
}

/// tcp_rate_gen: "Return an invalid sample if ... in recovery from loss with SACK
/// reneging" (`was_reneged`: tp->is_sack_reneg when the ACK arrived, as tcp_ack reads it).
pub fn discard_rate_sample_after_reneging(was_reneged: bool, sample: &mut RateSample) {
    if was_reneged {
        sample.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_is_half_the_srtt_in_jiffies_at_least_three_jiffies() {
        // No RTT yet: msecs_to_jiffies(10) = 3 jiffies.
        assert_eq!(reneging_delay(None), Duration::from_millis(12));
        assert_eq!(
            reneging_delay(Some(Duration::from_millis(8))),
            Duration::from_millis(12)
        );
        // 100 ms: 50 000 us = 12.5 jiffies, rounded up to 13.
        assert_eq!(
            reneging_delay(Some(Duration::from_millis(100))),
            Duration::from_millis(52)
        );
        assert_eq!(
            reneging_delay(Some(Duration::from_millis(200))),
            Duration::from_millis(100)
        );
    }
}
