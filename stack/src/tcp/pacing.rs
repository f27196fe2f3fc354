//! Pacing (tcp_output.c): sk_pacing_rate, and the internal pacing TCP does when no fq qdisc
//! paces for it (tcp_needs_internal_pacing; this stack has no qdisc). Each skb moves the
//! earliest departure time of the next one (tp->tcp_wstamp_ns) by its length at the pacing
//! rate (tcp_update_skb_after_send); tcp_write_xmit stops while that time is ahead
//! (tcp_pacing_check) and the pacing timer sends again then. Linux's skbs hold up to
//! tcp_tso_autosize segments (about 1 ms of data at the pacing rate, 64 KiB on a
//! low-RTT path), which leave together; this stack sends one segment at a time, so it checks
//! the departure time only where such an skb would start (`Burst`). Only a socket whose
//! sk_pacing_status is SK_PACING_NEEDED waits: BBR sets it (bbr_init), as does
//! SO_MAX_PACING_RATE below ~0; for CUBIC and Reno the rate is computed and reported
//! (tcp_update_pacing_rate) but never waited for.

use core::time::Duration;

use super::congestion_ops::PacingStatus;
use crate::time::Instant;

/// net.ipv4.tcp_pacing_ss_ratio / tcp_pacing_ca_ratio (percent), their defaults.
const PACING_SS_RATIO: u64 = 200;
const PACING_CA_RATIO: u64 = 120;
/// "Original sch_fq does not pace first 10 MSS".
const UNPACED_SEGMENTS: u32 = 10;

#[derive(Debug, Clone)]
pub struct Pacing {
    /// sk_pacing_rate (bytes/s) as an algorithm with cong_control set it; ~0 initially.
    pub rate: u64,
    /// sk_max_pacing_rate (SO_MAX_PACING_RATE).
    pub max_rate: u64,
    /// sk_pacing_status.
    pub status: PacingStatus,
    /// tp->tcp_wstamp_ns.
    pub next_departure: Instant,
    burst: Burst,
}

/// The skb being emulated: segments left in it, when it started, and the departure-time
/// credit (how late it left) still to deduct.
#[derive(Debug, Clone, Copy, Default)]
struct Burst {
    segments_left: u32,
    started: Instant,
    credit_ns: u64,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            rate: u64::MAX,
            max_rate: u64::MAX,
            status: PacingStatus::None,
            next_departure: Instant::ZERO,
            burst: Burst::default(),
        }
    }
}

impl Pacing {
    /// SO_MAX_PACING_RATE (sk_setsockopt): a finite limit turns internal pacing on and caps
    /// the current rate.
    pub fn set_max_rate(&mut self, max_rate: u64) {
        if max_rate < u64::MAX && self.status == PacingStatus::None {
            self.status = PacingStatus::Needed;
        }
        self.max_rate = max_rate;
        self.rate = self.rate.min(max_rate);
    }

    /// Whether the next segment continues the skb a write loop started at `now`.
    fn in_burst(&self, now: Instant) -> bool {
        self.burst.segments_left > 0 && self.burst.started == now
    }

    /// tcp_pacing_check, where an skb starts: the time the next one may leave, when it is
    /// still ahead.
    pub fn hold_until(&self, now: Instant) -> Option<Instant> {
        if self.in_burst(now) {
            return None;
        }
        (self.status == PacingStatus::Needed && self.next_departure > now)
            .then_some(self.next_departure)
    }

    /// A data segment of `len` bytes left at `now`, the `data_segments_out`th, at `rate`
    /// bytes/s; an skb holds `tso_segments`. At an skb's start __tcp_transmit_skb sets
    /// "tp->tcp_wstamp_ns = max(tp->tcp_wstamp_ns, tp->tcp_clock_cache)"; each segment then
    /// adds its length at the rate (tcp_update_skb_after_send), less the time the skb left
    /// late, at most half its length ("OS jitter").
    pub fn segment_sent(
        &mut self,
        now: Instant,
        len: u32,
        data_segments_out: u32,
        rate: u64,
        tso_segments: u32,
    ) {
        if !self.in_burst(now) {
            let prior = self.next_departure;
            self.next_departure = self.next_departure.max(now);
            self.burst = Burst {
                segments_left: tso_segments.max(1),
                started: now,
                credit_ns: self.next_departure.as_nanos() - prior.as_nanos(),
            };
        }
        self.burst.segments_left -= 1;
        if self.status == PacingStatus::None
            || rate == u64::MAX
            || rate == 0
            || data_segments_out < UNPACED_SEGMENTS
        {
            return;
        }
        let length_ns = (u128::from(len) * 1_000_000_000 / u128::from(rate)) as u64;
        let deduct = (length_ns / 2).min(self.burst.credit_ns);
        self.burst.credit_ns -= deduct;
        self.next_departure = self.next_departure + Duration::from_nanos(length_ns - deduct);
    }
}

/// tcp_tso_autosize: the segments of one skb: about 1 ms of data at the pacing rate
/// (sk_pacing_shift 10), plus gso_max_size >> (min_rtt_us >> tcp_tso_rtt_log 9) on short
/// paths, at most gso_max_size, at least the algorithm's min_tso_segs (else
/// net.ipv4.tcp_min_tso_segs, 2).
pub fn tso_segments(
    rate: u64,
    min_rtt_us: u32,
    gso_max_size: u32,
    mss: u32,
    min_segments: u32,
) -> u32 {
    let mut bytes = rate >> 10;
    let shift = min_rtt_us >> 9;
    if shift < 32 {
        bytes = bytes.saturating_add(u64::from(gso_max_size >> shift));
    }
    let bytes = bytes.min(u64::from(gso_max_size));
    ((bytes / u64::from(mss.max(1))) as u32).max(min_segments)
}

/// tcp_update_pacing_rate: 200% of cwnd × mss / srtt while cwnd < ssthresh / 2, else 120%,
/// capped by sk_max_pacing_rate; before the first RTT sample sk_pacing_rate's initial ~0
/// (capped the same way). Windows in segments.
pub fn window_pacing_rate(
    mss: u32,
    cwnd: u32,
    ssthresh: u32,
    packets_out: u32,
    srtt: Option<Duration>,
    max_rate: u64,
) -> u64 {
    let Some(srtt) = srtt else {
        // sk_setsockopt(SO_MAX_PACING_RATE) already capped the initial ~0.
        return max_rate;
    };
    let ratio = if cwnd < ssthresh / 2 {
        PACING_SS_RATIO
    } else {
        PACING_CA_RATIO
    };
    // "rate = mss_cache * ((USEC_PER_SEC / 100) << 3) * ratio * max(cwnd, packets_out)
    // / srtt_us", srtt_us being 8 times the smoothed RTT in µs.
    let srtt_us = (srtt.as_micros().max(1) as u64) << 3;
    let rate = u128::from(mss)
        * u128::from(10_000u64 << 3)
        * u128::from(ratio)
        * u128::from(cwnd.max(packets_out))
        / u128::from(srtt_us);
    (rate.min(u128::from(u64::MAX)) as u64).min(max_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_after_ten_segments_with_jitter_credit() {
        let mut pacing = Pacing {
            status: PacingStatus::Needed,
            ..Pacing::default()
        };
        let start = Instant::from_millis(1);
        // 1000 bytes at 1 MB/s: 1 ms each, but not before the tenth segment.
        pacing.segment_sent(start, 1000, 9, 1_000_000, 1);
        assert_eq!(pacing.hold_until(start), None);
        pacing.segment_sent(start, 1000, 10, 1_000_000, 1);
        assert_eq!(
            pacing.hold_until(start),
            Some(start + Duration::from_millis(1))
        );
        // Sent 0.4 ms late: 0.4 ms of the next length is credited.
        let late = start + Duration::from_micros(1400);
        pacing.segment_sent(late, 1000, 11, 1_000_000, 1);
        assert_eq!(pacing.next_departure, late + Duration::from_micros(600));
        // An skb of three segments leaves whole, then the next waits for all three.
        let later = late + Duration::from_millis(5);
        pacing.segment_sent(later, 1000, 12, 1_000_000, 3);
        assert_eq!(pacing.hold_until(later), None);
        pacing.segment_sent(later, 1000, 13, 1_000_000, 3);
        pacing.segment_sent(later, 1000, 14, 1_000_000, 3);
        // 3 ms of data, 1.5 ms of it credited (the skb left 4.4 ms late).
        assert_eq!(
            pacing.hold_until(later),
            Some(later + Duration::from_micros(1500))
        );
        // Without SK_PACING_NEEDED nothing waits.
        let mut unpaced = Pacing::default();
        unpaced.segment_sent(start, 1000, 20, 1_000_000, 1);
        assert_eq!(unpaced.hold_until(start), None);
    }

    #[test]
    fn tso_autosize() {
        // 60 MB/s over 1 ms of min_rtt: 58593 bytes + 65536 >> 1, capped at 64 KiB.
        assert_eq!(tso_segments(60_000_000, 1000, 65536, 1448, 2), 45);
        // A slow, long path: 10 KB/s → 9 bytes a ms, the floor.
        assert_eq!(tso_segments(10_000, 50_000, 65536, 1448, 2), 2);
        assert_eq!(tso_segments(10_000, 50_000, 65536, 1448, 1), 1);
    }

    #[test]
    fn window_rate_ratios() {
        let srtt = Some(Duration::from_millis(1));
        // cwnd 10 < ssthresh/2: 200% of 10 × 1000 B / 1 ms = 20 MB/s.
        assert_eq!(
            window_pacing_rate(1000, 10, u32::MAX, 0, srtt, u64::MAX),
            20_000_000
        );
        assert_eq!(
            window_pacing_rate(1000, 10, 10, 0, srtt, u64::MAX),
            12_000_000
        );
        assert_eq!(
            window_pacing_rate(1000, 10, 10, 0, None, u64::MAX),
            u64::MAX
        );
        assert_eq!(window_pacing_rate(1000, 10, 10, 0, srtt, 5), 5);
    }
}
