//! CUBIC (RFC 9438) as Linux's tcp_cubic.c computes it: windows in segments, time in units
//! of 1/1024 s (BICTCP_HZ), beta 717/1024, C = 0.4 (bic_scale 41), fast convergence and the
//! TCP-friendly region on. HyStart (the delay/ACK-train slow-start exit) is not implemented:
//! slow start ends at ssthresh or on loss, as in Reno.

use core::time::Duration;

use crate::time::Instant;

/// BICTCP_BETA_SCALE and beta: the window keeps 717/1024 after a loss.
const BETA_SCALE: u64 = 1024;
const BETA: u64 = 717;
/// bic_scale 41 → cube_rtt_scale = 410 (C = 0.4 in 2^10 fixed point).
const CUBE_RTT_SCALE: u64 = 410;
/// BICTCP_HZ: time is counted in 2^-10 s.
const TIME_SHIFT: u32 = 10;

/// beta_scale = 8 * (1024 + 717) / 3 / (1024 - 717): the Reno-equivalent growth factor.
const fn beta_scale() -> u64 {
    8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA)
}

/// cube_factor = 2^(10 + 3 * BICTCP_HZ) / (bic_scale * 10).
const fn cube_factor() -> u64 {
    (1u64 << (10 + 3 * TIME_SHIFT)) / CUBE_RTT_SCALE
}

/// struct bictcp.
#[derive(Debug, Clone, Default)]
pub struct Cubic {
    /// Segments per one-segment increase (ca->cnt).
    pub cnt: u32,
    /// W_max before the last reduction.
    pub last_max_cwnd: u32,
    last_cwnd: u32,
    last_time: Option<Instant>,
    origin_point: u32,
    /// K in 2^-10 s.
    k: u64,
    epoch_start: Option<Instant>,
    ack_count: u32,
    /// The window a Reno flow would have (tcp_cwnd).
    reno_cwnd: u32,
}

impl Cubic {
    /// bictcp_reset (on entering the loss state).
    pub fn reset(&mut self) {
        *self = Cubic::default();
    }

    /// cubictcp_recalc_ssthresh: ends the epoch, remembers W_max (lowered further when the
    /// window had not regained the previous maximum: fast convergence), and returns the new
    /// threshold in segments.
    pub fn recalc_ssthresh(&mut self, cwnd: u32) -> u32 {
        self.epoch_start = None;
        self.last_max_cwnd = if cwnd < self.last_max_cwnd {
            ((u64::from(cwnd) * (BETA_SCALE + BETA)) / (2 * BETA_SCALE)) as u32
        } else {
            cwnd
        };
        (((u64::from(cwnd) * BETA) / BETA_SCALE) as u32).max(2)
    }

    /// bictcp_update: how many ACKed segments buy one more segment of window.
    pub fn update(
        &mut self,
        cwnd: u32,
        acked: u32,
        now: Instant,
        min_rtt: Option<Duration>,
    ) -> u32 {
        self.ack_count = self.ack_count.saturating_add(acked);
        // At most once per 1/32 s for an unchanged window (HZ / 32).
        if self.last_cwnd == cwnd
            && self
                .last_time
                .is_some_and(|last| now.saturating_since(last) <= Duration::from_millis(31))
        {
            return self.cnt.max(2);
        }
        self.last_cwnd = cwnd;
        self.last_time = Some(now);
        let epoch_start = match self.epoch_start {
            Some(start) => start,
            None => {
                self.epoch_start = Some(now);
                self.ack_count = acked;
                self.reno_cwnd = cwnd;
                if self.last_max_cwnd <= cwnd {
                    self.k = 0;
                    self.origin_point = cwnd;
                } else {
                    let distance = u64::from(self.last_max_cwnd - cwnd);
                    self.k = ((cube_factor() as f64) * distance as f64).cbrt() as u64;
                    self.origin_point = self.last_max_cwnd;
                }
                now
            }
        };
        // t = time since the epoch plus the minimum RTT, in 2^-10 s.
        let elapsed = now.saturating_since(epoch_start) + min_rtt.unwrap_or_default();
        let t = (elapsed.as_micros() as u64).saturating_mul(1 << TIME_SHIFT) / 1_000_000;
        let offset = t.abs_diff(self.k);
        let delta = (CUBE_RTT_SCALE as u128 * u128::from(offset).pow(3)) >> (10 + 3 * TIME_SHIFT);
        let delta = delta.min(u128::from(u32::MAX)) as u64;
        let target = if t < self.k {
            u64::from(self.origin_point).saturating_sub(delta)
        } else {
            u64::from(self.origin_point) + delta
        };
        let cwnd64 = u64::from(cwnd);
        self.cnt = if target > cwnd64 {
            (cwnd64 / (target - cwnd64)).min(u64::from(u32::MAX)) as u32
        } else {
            100 * cwnd
        };
        // Before any loss the curve is flat: grow at least 5% per RTT.
        if self.last_max_cwnd == 0 && self.cnt > 20 {
            self.cnt = 20;
        }
        // TCP friendliness: never slower than Reno would be.
        let reno_step = ((cwnd64 * beta_scale()) >> 3).max(1) as u32;
        while self.ack_count > reno_step {
            self.ack_count -= reno_step;
            self.reno_cwnd += 1;
        }
        if self.reno_cwnd > cwnd {
            let max_cnt = cwnd / (self.reno_cwnd - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
        // At most 1.5x per RTT: one segment per two ACKed.
        self.cnt = self.cnt.max(2);
        self.cnt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_tcp_cubic() {
        assert_eq!(beta_scale(), 15);
        assert_eq!(cube_factor(), (1u64 << 40) / 410);
    }

    #[test]
    fn reduction_and_fast_convergence() {
        let mut cubic = Cubic::default();
        assert_eq!(cubic.recalc_ssthresh(100), 70);
        assert_eq!(cubic.last_max_cwnd, 100);
        // A second loss below the previous maximum lowers W_max further.
        assert_eq!(cubic.recalc_ssthresh(70), 49);
        assert_eq!(cubic.last_max_cwnd, 59);
        assert_eq!(cubic.recalc_ssthresh(1), 2);
    }

    #[test]
    fn concave_then_convex_growth() {
        let mut cubic = Cubic::default();
        cubic.recalc_ssthresh(100);
        let start = Instant::from_millis(1000);
        let rtt = Some(Duration::from_millis(10));
        // The epoch starts on the curve (target ≈ cwnd): slow at first.
        let first = cubic.update(70, 1, start, rtt);
        assert_eq!(first, 70);
        // Two seconds in, the curve is well above a window that lagged: fast growth.
        let early = cubic.update(75, 1, start + Duration::from_secs(2), rtt);
        assert!(early < 10, "cnt {early}");
        // Near K (≈ 4.2 s for 30 segments) the curve is flat: slow growth.
        let k_time = start + Duration::from_millis(4200);
        let plateau = cubic.update(99, 1, k_time, rtt);
        assert!(plateau > 50, "cnt {plateau}");
        // Well past K it accelerates again.
        let later = cubic.update(101, 1, start + Duration::from_secs(8), rtt);
        assert!(later < plateau, "cnt {later}");
    }
}
