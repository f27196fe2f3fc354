//! Delivery-rate sampling (net/ipv4/tcp_rate.c): each transmission remembers how much had
//! been delivered and when; each ACK that delivers segments turns the newest of them into a
//! sample "delivered / max(send phase, ACK phase)", which TCP_INFO reports as
//! tcpi_delivery_rate (with tcpi_delivered and tcpi_delivery_rate_app_limited).

use core::time::Duration;

use crate::time::Instant;

/// TCP_SKB_CB(skb)->tx: the connection's delivery state when a segment was (re)sent.
#[derive(Debug, Clone, Copy)]
pub struct RateSnapshot {
    /// tx.first_tx_mstamp
    first_sent: Option<Instant>,
    /// tx.delivered_mstamp (None: 0, no timing; also cleared once the segment is SACKed).
    delivered_stamp: Option<Instant>,
    /// tx.delivered
    delivered: u32,
    /// tx.is_app_limited
    app_limited: bool,
}

/// struct rate_sample, for one ACK.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateSample {
    prior_delivered: u32,
    prior_stamp: Option<Instant>,
    app_limited: bool,
    send_interval: Duration,
    /// Segments this ACK newly delivered (acked or SACKed).
    pub newly_delivered: u32,
}

impl RateSample {
    /// rs->prior_delivered: tp->delivered when the newest delivered segment was sent
    /// (RACK's reordering-window rounds, `rack.rs`).
    pub fn prior_delivered(&self) -> u32 {
        self.prior_delivered
    }

    /// No delivery-rate sample from this ACK (tcp_rate_gen's invalid sample while
    /// tp->is_sack_reneg, `reneging.rs`).
    pub fn invalidate(&mut self) {
        self.prior_stamp = None;
    }
}

/// The tcp_sock fields of tcp_rate.c.
#[derive(Debug, Clone)]
pub struct DeliveryRate {
    /// tp->delivered: segments delivered (acked or SACKed), the SYN included.
    pub delivered: u32,
    delivered_stamp: Option<Instant>,
    first_sent: Option<Instant>,
    /// tp->app_limited: the `delivered` count after which sending is no longer limited by
    /// the application (0: not limited). tcp_init_sock starts it at ~0U.
    app_limited: u32,
    /// tp->rate_delivered / rate_interval_us / rate_app_limited: the sample TCP_INFO shows.
    pub rate_delivered: u32,
    pub rate_interval: Duration,
    pub rate_app_limited: bool,
}

impl Default for DeliveryRate {
    fn default() -> Self {
        DeliveryRate {
            delivered: 0,
            delivered_stamp: None,
            first_sent: None,
            app_limited: u32::MAX,
            rate_delivered: 0,
            rate_interval: Duration::ZERO,
            // tcp_init_sock: "There's a bubble in the pipe until at least the first ACK."
            rate_app_limited: true,
        }
    }
}

/// after(a, b) on 32-bit counters.
fn after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

impl DeliveryRate {
    /// tcp_rate_skb_sent, called as each segment leaves. `nothing_in_flight`: packets_out
    /// was 0 before this segment (the kernel counts it after transmitting data, but a SYN is
    /// already counted when it goes, so a SYN never starts the clock).
    pub fn segment_sent(&mut self, now: Instant, nothing_in_flight: bool) -> RateSnapshot {
        if nothing_in_flight {
            self.first_sent = Some(now);
            self.delivered_stamp = Some(now);
        }
        RateSnapshot {
            first_sent: self.first_sent,
            delivered_stamp: self.delivered_stamp,
            delivered: self.delivered,
            app_limited: self.app_limited != 0,
        }
    }

    /// tcp_rate_skb_delivered for a segment last sent at `sent_at`, plus the count of
    /// tcp_count_delivered (each segment once: when SACKed, or when acked if never SACKed).
    pub fn segment_delivered(
        &mut self,
        snapshot: &mut RateSnapshot,
        sent_at: Instant,
        newly: bool,
        sacked: bool,
        sample: &mut RateSample,
    ) {
        if newly {
            self.delivered = self.delivered.wrapping_add(1);
            sample.newly_delivered += 1;
        }
        let Some(delivered_stamp) = snapshot.delivered_stamp else {
            return;
        };
        if sample.prior_delivered == 0 || after(snapshot.delivered, sample.prior_delivered) {
            sample.prior_delivered = snapshot.delivered;
            sample.prior_stamp = Some(delivered_stamp);
            sample.app_limited = snapshot.app_limited;
            // "Record send time of most recently ACKed packet", and the send phase.
            self.first_sent = Some(sent_at);
            sample.send_interval = sent_at.saturating_since(snapshot.first_sent.unwrap_or(sent_at));
        }
        if sacked {
            snapshot.delivered_stamp = None;
        }
    }

    /// tcp_rate_gen at the end of an ACK.
    pub fn generate(&mut self, now: Instant, sample: &RateSample, min_rtt: Option<Duration>) {
        if self.app_limited != 0 && after(self.delivered, self.app_limited) {
            self.app_limited = 0;
        }
        if sample.newly_delivered > 0 {
            self.delivered_stamp = Some(now);
        }
        let Some(prior_stamp) = sample.prior_stamp else {
            return;
        };
        let delivered = self.delivered.wrapping_sub(sample.prior_delivered);
        let ack_interval = now.saturating_since(prior_stamp);
        let interval = sample.send_interval.max(ack_interval);
        // "Normally we expect interval_us >= min-rtt" (tcp_min_rtt is ~0U before a sample).
        if min_rtt.is_none_or(|min| interval < min) {
            return;
        }
        // "Record the last non-app-limited or the highest app-limited bw".
        if !sample.app_limited
            || u128::from(delivered) * self.rate_interval.as_micros()
                >= u128::from(self.rate_delivered) * interval.as_micros()
        {
            self.rate_delivered = delivered;
            self.rate_interval = interval;
            self.rate_app_limited = sample.app_limited;
        }
    }

    /// tp->delivered_mstamp.
    pub fn delivered_stamp(&self) -> Option<Instant> {
        self.delivered_stamp
    }

    /// tp->app_limited != 0.
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// A new tp->app_limited mark (BBR's PROBE_RTT: "ignore low rate samples").
    pub fn set_app_limited(&mut self, mark: u32) {
        self.app_limited = mark;
    }

    /// The struct rate_sample fields tcp_rate_gen fills for cong_control (call after
    /// `generate`): delivered and interval_us, -1 without a valid sample (no timed segment
    /// delivered, or an interval shorter than min_rtt).
    pub fn congestion_sample(
        &self,
        now: Instant,
        sample: &RateSample,
        min_rtt: Option<Duration>,
    ) -> super::congestion_ops::RateSample {
        let mut rs = super::congestion_ops::RateSample {
            prior_delivered: sample.prior_delivered,
            acked_sacked: sample.newly_delivered,
            is_app_limited: sample.app_limited,
            ..Default::default()
        };
        let Some(prior_stamp) = sample.prior_stamp else {
            return rs;
        };
        rs.delivered = self.delivered.wrapping_sub(sample.prior_delivered) as i32;
        let interval = sample.send_interval.max(now.saturating_since(prior_stamp));
        if min_rtt.is_none_or(|min| interval < min) {
            return rs;
        }
        rs.interval_us = interval.as_micros().min(i64::MAX as u128) as i64;
        rs
    }

    /// tcp_rate_check_app_limited, from tcp_sendmsg: less than a segment waiting, the
    /// window not full and no loss left to repair means the application is the limit.
    pub fn check_app_limited(
        &mut self,
        unsent: u32,
        mss: u32,
        in_flight: u32,
        cwnd: u32,
        repaired: bool,
    ) {
        let packets_in_flight = in_flight.div_ceil(mss.max(1));
        if unsent < mss && packets_in_flight < cwnd / mss.max(1) && repaired {
            self.app_limited = match self.delivered.wrapping_add(packets_in_flight) {
                0 => 1,
                limit => limit,
            };
        }
    }

    /// tcp_compute_delivery_rate: bytes per second, "rate * mss_cache * USEC_PER_SEC /
    /// interval_us".
    pub fn bytes_per_second(&self, mss: u32) -> u64 {
        let interval = self.rate_interval.as_micros();
        if self.rate_delivered == 0 || interval == 0 {
            return 0;
        }
        (u128::from(self.rate_delivered) * u128::from(mss) * 1_000_000 / interval)
            .min(u128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_segment_one_rtt() {
        // The measured first sample: 1448 bytes acked 72 µs after they left → 20111111 B/s.
        let mut rate = DeliveryRate {
            delivered: 1,
            app_limited: 1,
            ..DeliveryRate::default()
        };
        let sent = Instant::from_nanos(1_000_000);
        let mut snapshot = rate.segment_sent(sent, true);
        let mut sample = RateSample::default();
        let acked = Instant::from_nanos(1_072_000);
        rate.segment_delivered(&mut snapshot, sent, true, false, &mut sample);
        rate.generate(acked, &sample, Some(Duration::from_micros(72)));
        assert_eq!(rate.delivered, 2);
        assert_eq!(rate.bytes_per_second(1448), 20_111_111);
        assert!(rate.rate_app_limited);
    }

    #[test]
    fn a_syn_gives_no_sample() {
        let mut rate = DeliveryRate::default();
        let mut snapshot = rate.segment_sent(Instant::from_millis(1), false);
        let mut sample = RateSample::default();
        rate.segment_delivered(
            &mut snapshot,
            Instant::from_millis(1),
            true,
            false,
            &mut sample,
        );
        rate.generate(
            Instant::from_millis(2),
            &sample,
            Some(Duration::from_millis(1)),
        );
        assert_eq!(rate.delivered, 1);
        assert_eq!(rate.bytes_per_second(1448), 0);
        // The initial ~0U app-limited mark is gone once anything is delivered.
        assert_eq!(rate.app_limited, 0);
    }
}
