//! RACK loss detection (RFC 8985 section 6, net/ipv4/tcp_recovery.c as of Linux 6.18): a
//! segment is lost once a segment sent after it has been delivered and more than the
//! recent RTT plus a reordering window has passed since it was sent. The reordering
//! window is min_rtt/4 times `reo_wnd_steps`, at most SRTT; it is zero before any
//! reordering was seen once DupThresh segments are SACKed or recovery began (Linux keeps
//! the DupThresh rule that way, tcp_rack_reo_wnd). D-SACKs widen it (tcp_rack_update_reo_wnd).

use core::time::Duration;

use super::sent::SentLog;
use super::seq::Seq;
use crate::time::Instant;

/// TCP_RACK_RECOVERY_THRESH: a widened window persists for this many recoveries.
pub const RECOVERY_THRESHOLD: u32 = 16;

#[derive(Debug, Clone)]
pub struct Rack {
    /// tp->rack.mstamp / end_seq: the most recently sent of the delivered segments.
    pub sent_at: Option<Instant>,
    pub end_seq: Seq,
    /// tp->rack.rtt_us: the RTT of that delivery.
    pub rtt: Duration,
    /// tp->rack.advanced: something newer was delivered since the last scan.
    pub advanced: bool,
    pub reo_wnd_steps: u32,
    pub reo_wnd_persist: u32,
    pub dsack_seen: bool,
    /// tp->rack.last_delivered: tp->delivered when the window was last widened.
    pub last_delivered: u32,
}

impl Default for Rack {
    fn default() -> Self {
        Rack {
            sent_at: None,
            end_seq: Seq(0),
            rtt: Duration::ZERO,
            advanced: false,
            // tcp_init_sock: "tp->rack.reo_wnd_steps = 1".
            reo_wnd_steps: 1,
            reo_wnd_persist: 0,
            dsack_seen: false,
            last_delivered: 0,
        }
    }
}

/// tcp_skb_sent_after: sent later, or at the same time and ending later in sequence space.
fn sent_after(t1: Instant, t2: Instant, seq1: Seq, seq2: Seq) -> bool {
    t1 > t2 || (t1 == t2 && seq1.gt(seq2))
}

/// What tcp_rack_reo_wnd needs to know of the connection.
#[derive(Debug, Clone, Copy)]
pub struct WindowInputs {
    pub reord_seen: bool,
    pub in_recovery_or_loss: bool,
    pub sacked_out: u32,
    pub reordering: u32,
    pub min_rtt: Option<Duration>,
    pub srtt: Option<Duration>,
}

impl Rack {
    /// tcp_rack_advance: a segment (re)sent at `sent_at` and ending at `end` was delivered.
    /// A retransmitted one delivered sooner than min_rtt after its retransmission was
    /// probably the original: it does not count.
    pub fn advance(
        &mut self,
        now: Instant,
        retransmitted: bool,
        end: Seq,
        sent_at: Instant,
        min_rtt: Option<Duration>,
    ) {
        if let Some(current) = self.sent_at {
            if !sent_after(sent_at, current, end, self.end_seq) {
                return;
            }
        }
        let rtt = now.saturating_since(sent_at);
        // tcp_min_rtt is ~0U before any sample, so then every retransmitted one is skipped.
        if retransmitted && min_rtt.is_none_or(|min| rtt < min) {
            return;
        }
        self.rtt = rtt;
        self.sent_at = Some(sent_at);
        self.end_seq = end;
        self.advanced = true;
    }

    /// tcp_rack_reo_wnd.
    pub fn reorder_window(&self, inputs: WindowInputs) -> Duration {
        if !inputs.reord_seen {
            // "If reordering has not been observed, be aggressive during the recovery or
            // starting the recovery by DUPACK threshold."
            if inputs.in_recovery_or_loss || inputs.sacked_out >= inputs.reordering {
                return Duration::ZERO;
            }
        }
        let Some(min_rtt) = inputs.min_rtt else {
            // tcp_min_rtt is ~0U without a sample; min() with srtt (0 without one) gives 0.
            return inputs.srtt.unwrap_or(Duration::ZERO);
        };
        let window = micros_floor(min_rtt / 4) * self.reo_wnd_steps;
        window.min(inputs.srtt.unwrap_or(Duration::ZERO))
    }

    /// tcp_rack_detect_loss: marks lost every segment sent before the newest delivered one
    /// whose time is up; returns how many were newly marked and the longest wait left
    /// (for the REO timer). Segments marked lost and not yet retransmitted, and SACKed
    /// ones, are not in Linux's time-sorted list and are skipped.
    pub fn detect_loss(
        &self,
        now: Instant,
        log: &mut SentLog,
        reo_wnd: Duration,
    ) -> (u32, Option<Duration>) {
        let Some(rack_sent_at) = self.sent_at else {
            return (0, None);
        };
        let mut newly_lost = 0;
        let mut wait: Option<Duration> = None;
        for record in log.records_mut() {
            if record.sacked || (record.lost && !record.retransmit_in_flight) {
                continue;
            }
            if !sent_after(rack_sent_at, record.last_sent, self.end_seq, record.end) {
                continue;
            }
            // tcp_rack_skb_timeout: rack.rtt + reo_wnd - (now - sent).
            let elapsed = now.saturating_since(record.last_sent);
            let deadline = self.rtt + reo_wnd;
            if elapsed >= deadline {
                // tcp_mark_skb_lost: a lost retransmission is no longer in flight.
                if !record.lost {
                    newly_lost += 1;
                }
                record.lost = true;
                record.retransmit_in_flight = false;
            } else {
                let remaining = deadline - elapsed;
                wait = Some(wait.map_or(remaining, |w: Duration| w.max(remaining)));
            }
        }
        (newly_lost, wait)
    }

    /// tcp_rack_update_reo_wnd, once per ACK: a D-SACK seen in a round after the last
    /// widening adds a step; after RECOVERY_THRESHOLD recoveries without one the window
    /// returns to one step.
    pub fn update_reorder_window(&mut self, prior_delivered: u32, delivered: u32) {
        if prior_delivered == 0 {
            return;
        }
        // "Disregard DSACK if a rtt has not passed since we adjusted reo_wnd".
        if (prior_delivered.wrapping_sub(self.last_delivered) as i32) < 0 {
            self.dsack_seen = false;
        }
        if self.dsack_seen {
            self.reo_wnd_steps = (self.reo_wnd_steps + 1).min(0xff);
            self.dsack_seen = false;
            self.last_delivered = delivered;
            self.reo_wnd_persist = RECOVERY_THRESHOLD;
        } else if self.reo_wnd_persist == 0 {
            self.reo_wnd_steps = 1;
        }
    }
}

/// Linux keeps these times in whole microseconds.
fn micros_floor(value: Duration) -> Duration {
    Duration::from_micros(value.as_micros() as u64)
}

/// usecs_to_jiffies + TCP_TIMEOUT_MIN (two jiffies): when the REO timer fires.
pub fn reorder_timer_delay(wait: Duration) -> Duration {
    super::loss_probe::round_up_to_jiffies(wait) + 2 * super::timers::JIFFY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::rate::DeliveryRate;

    fn log_of(times: &[u64]) -> SentLog {
        let mut log = SentLog::default();
        let mut rate = DeliveryRate::default();
        for (index, &ms) in times.iter().enumerate() {
            let at = Instant::from_millis(ms);
            let snap = rate.segment_sent(at, index == 0);
            let start = Seq(index as u32 * 1000);
            log.record(start, start.add(1000), at, snap);
        }
        log
    }

    #[test]
    fn window_is_zero_at_dupthresh_without_reordering() {
        let rack = Rack::default();
        let mut inputs = WindowInputs {
            reord_seen: false,
            in_recovery_or_loss: false,
            sacked_out: 1,
            reordering: 3,
            min_rtt: Some(Duration::from_millis(40)),
            srtt: Some(Duration::from_millis(50)),
        };
        assert_eq!(rack.reorder_window(inputs), Duration::from_millis(10));
        inputs.sacked_out = 3;
        assert_eq!(rack.reorder_window(inputs), Duration::ZERO);
        inputs.reord_seen = true;
        assert_eq!(rack.reorder_window(inputs), Duration::from_millis(10));
    }

    #[test]
    fn later_delivery_marks_earlier_segments_after_the_window() {
        let mut log = log_of(&[0, 0, 1, 2]);
        let mut rack = Rack::default();
        let now = Instant::from_millis(52);
        // The fourth segment (sent at 2 ms) was SACKed 50 ms later.
        rack.advance(now, false, Seq(4000), Instant::from_millis(2), None);
        assert_eq!(rack.rtt, Duration::from_millis(50));
        log.mark_sacked(
            Seq(3000),
            Seq(4000),
            &mut DeliveryRate::default(),
            &mut Default::default(),
        );
        let (lost, wait) = rack.detect_loss(now, &mut log, Duration::from_millis(10));
        // Sent 52 and 51 ms ago: not yet past 60 ms; the youngest has 9 ms left.
        assert_eq!(lost, 0);
        assert_eq!(wait, Some(Duration::from_millis(9)));
        let (lost, wait) = rack.detect_loss(
            Instant::from_millis(62),
            &mut log,
            Duration::from_millis(10),
        );
        assert_eq!((lost, wait), (3, None));
        assert_eq!(log.lost_out(), 3);
    }

    #[test]
    fn dsack_widens_the_window_once_per_round() {
        let mut rack = Rack {
            dsack_seen: true,
            ..Rack::default()
        };
        rack.update_reorder_window(10, 20);
        assert_eq!(rack.reo_wnd_steps, 2);
        rack.dsack_seen = true;
        // Sent before the widening: disregarded.
        rack.update_reorder_window(15, 25);
        assert_eq!(rack.reo_wnd_steps, 2);
        rack.reo_wnd_persist = 0;
        rack.update_reorder_window(30, 40);
        assert_eq!(rack.reo_wnd_steps, 1);
    }
}
