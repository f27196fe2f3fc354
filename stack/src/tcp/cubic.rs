//! CUBIC (RFC 9438) as Linux's tcp_cubic.c computes it: windows in segments, time in jiffies
//! (HZ 250 here) and in units of 1/1024 s (BICTCP_HZ), beta 717/1024, C = 0.4 (bic_scale 41),
//! fast convergence and the TCP-friendly region on, and HyStart (`hystart.rs`) ending slow
//! start: hystart=1, hystart_detect=3, hystart_low_window=16, hystart_ack_delta_us=2000.

use super::congestion_ops::{
    congestion_avoidance_increase, in_slow_start, slow_start, AckSample, CaEvent, CaState,
    CongestionOps, SockView, Window,
};
use super::hystart::HyStart;
use crate::time::Instant;

/// BICTCP_BETA_SCALE and beta: the window keeps 717/1024 after a loss.
const BETA_SCALE: u64 = 1024;
const BETA: u64 = 717;
/// bic_scale 41 → cube_rtt_scale = bic_scale * 10 = 410 (C = 0.4 in 2^10 fixed point).
const CUBE_RTT_SCALE: u64 = 410;
/// BICTCP_HZ: time is counted in 2^-10 s.
const TIME_SHIFT: u32 = 10;
/// CONFIG_HZ of this machine's kernel.
pub const HZ: u32 = 250;

/// beta_scale = 8 * (1024 + 717) / 3 / (1024 - 717): the Reno-equivalent growth factor.
const fn beta_scale() -> u64 {
    8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA)
}

/// cube_factor = 2^(10 + 3 * BICTCP_HZ) / (bic_scale * 10).
const fn cube_factor() -> u64 {
    (1u64 << (10 + 3 * TIME_SHIFT)) / CUBE_RTT_SCALE
}

/// tcp_jiffies32.
pub fn jiffies(now: Instant) -> u32 {
    (now.as_nanos() / (1_000_000_000 / u64::from(HZ))) as u32
}

/// usecs_to_jiffies: rounded up.
fn usecs_to_jiffies(us: u32) -> u32 {
    let per_jiffy = 1_000_000 / HZ;
    us.div_ceil(per_jiffy)
}

/// cubic_root: the kernel's table lookup and one Newton-Raphson step, so K is the kernel's.
fn cubic_root(a: u64) -> u32 {
    const V: [u8; 64] = [
        0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164,
        168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209,
        211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
        242, 244, 245, 246, 248, 250, 251, 252, 254,
    ];
    // fls64
    let b = 64 - a.leading_zeros();
    if b < 7 {
        return (u32::from(V[a as usize]) + 35) >> 6;
    }
    let b = ((b * 84) >> 8) - 1;
    let shift = (a >> (b * 3)) as usize;
    let x = ((u32::from(V[shift.min(63)]) + 10) << b) >> 6;
    let divisor = u64::from(x) * u64::from(x.saturating_sub(1));
    let x = 2 * u64::from(x) + a.checked_div(divisor).unwrap_or(0);
    ((x * 341) >> 10) as u32
}

/// struct bictcp.
#[derive(Debug, Clone, Default)]
pub struct Cubic {
    /// Segments per one-segment increase (ca->cnt).
    pub cnt: u32,
    /// W_max before the last reduction.
    pub last_max_cwnd: u32,
    last_cwnd: u32,
    /// In jiffies.
    last_time: u32,
    origin_point: u32,
    /// K in 2^-10 s.
    k: u32,
    /// Minimum delay in µs.
    pub delay_min: u32,
    /// In jiffies; 0: no epoch.
    epoch_start: u32,
    ack_count: u32,
    /// The window a Reno flow would have (tcp_cwnd).
    reno_cwnd: u32,
}

impl Cubic {
    /// bictcp_reset.
    pub fn reset(&mut self) {
        *self = Cubic::default();
    }

    /// cubictcp_recalc_ssthresh: ends the epoch, remembers W_max (lowered further when the
    /// window had not regained the previous maximum: fast convergence), and returns the new
    /// threshold in segments.
    pub fn recalc_ssthresh(&mut self, cwnd: u32) -> u32 {
        self.epoch_start = 0;
        self.last_max_cwnd = if cwnd < self.last_max_cwnd {
            ((u64::from(cwnd) * (BETA_SCALE + BETA)) / (2 * BETA_SCALE)) as u32
        } else {
            cwnd
        };
        (((u64::from(cwnd) * BETA) / BETA_SCALE) as u32).max(2)
    }

    /// bictcp_update: how many ACKed segments buy one more segment of window (ca->cnt).
    pub fn update(&mut self, cwnd: u32, acked: u32, now: Instant) -> u32 {
        let now = jiffies(now);
        self.ack_count = self.ack_count.wrapping_add(acked);
        if self.last_cwnd == cwnd && (now.wrapping_sub(self.last_time) as i32) <= (HZ / 32) as i32 {
            return self.cnt;
        }
        // "The CUBIC function can update ca->cnt at most once per jiffy."
        if !(self.epoch_start != 0 && now == self.last_time) {
            self.last_cwnd = cwnd;
            self.last_time = now;
            if self.epoch_start == 0 {
                self.epoch_start = now;
                self.ack_count = acked;
                self.reno_cwnd = cwnd;
                if self.last_max_cwnd <= cwnd {
                    self.k = 0;
                    self.origin_point = cwnd;
                } else {
                    self.k = cubic_root(
                        cube_factor().wrapping_mul(u64::from(self.last_max_cwnd - cwnd)),
                    );
                    self.origin_point = self.last_max_cwnd;
                }
            }
            let mut t = u64::from(now.wrapping_sub(self.epoch_start) as i32 as u32);
            t += u64::from(usecs_to_jiffies(self.delay_min));
            t = (t << TIME_SHIFT) / u64::from(HZ);
            let k = u64::from(self.k);
            let offset = t.abs_diff(k);
            let delta = ((CUBE_RTT_SCALE as u128 * u128::from(offset).pow(3))
                >> (10 + 3 * TIME_SHIFT)) as u32;
            let target = if t < k {
                self.origin_point.wrapping_sub(delta)
            } else {
                self.origin_point.wrapping_add(delta)
            };
            self.cnt = if target > cwnd {
                cwnd / (target - cwnd)
            } else {
                100u32.wrapping_mul(cwnd)
            };
            // "The initial growth of cubic function may be too conservative when the
            // available bandwidth is still unknown": 5% per RTT.
            if self.last_max_cwnd == 0 && self.cnt > 20 {
                self.cnt = 20;
            }
        }
        // TCP friendliness: never slower than Reno would be.
        let reno_step = ((u64::from(cwnd) * beta_scale()) >> 3) as u32;
        if reno_step > 0 {
            while self.ack_count > reno_step {
                self.ack_count -= reno_step;
                self.reno_cwnd += 1;
            }
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

/// tcp_cubic's ops: bictcp plus the HyStart fields of struct bictcp.
#[derive(Debug, Clone, Default)]
pub struct CubicTcp {
    pub cubic: Cubic,
    pub hystart: HyStart,
}

impl CongestionOps for CubicTcp {
    fn name(&self) -> &'static str {
        "cubic"
    }

    /// cubictcp_init: with hystart on, initial_ssthresh is not applied.
    fn init(&mut self, sock: &SockView, _window: &mut Window) {
        self.cubic.reset();
        self.hystart = HyStart::default();
        self.hystart.reset(sock);
    }

    fn ssthresh(&mut self, _sock: &SockView, window: &mut Window) -> u32 {
        self.cubic.recalc_ssthresh(window.cwnd)
    }

    /// cubictcp_cong_avoid.
    fn cong_avoid(&mut self, sock: &SockView, window: &mut Window, acked: u32) {
        if !sock.cwnd_limited {
            return;
        }
        let mut acked = acked;
        if in_slow_start(window) {
            acked = slow_start(window, acked);
            if acked == 0 {
                return;
            }
        }
        let cnt = self.cubic.update(window.cwnd, acked, sock.now);
        congestion_avoidance_increase(window, cnt, acked);
    }

    /// cubictcp_state: a timeout forgets the curve and restarts HyStart's round.
    fn set_state(&mut self, sock: &SockView, _window: &mut Window, state: CaState) {
        if state == CaState::Loss {
            self.cubic.reset();
            self.hystart = HyStart::default();
            self.hystart.reset(sock);
        }
    }

    /// cubictcp_cwnd_event: after an idle period the epoch moves on by the idle time, so
    /// the window keeps following the curve.
    fn cwnd_event(&mut self, sock: &SockView, _window: &mut Window, event: CaEvent) {
        if event != CaEvent::TxStart {
            return;
        }
        let now = jiffies(sock.now);
        let delta = now.wrapping_sub(jiffies(sock.last_data_sent)) as i32;
        if self.cubic.epoch_start != 0 && delta > 0 {
            self.cubic.epoch_start = self.cubic.epoch_start.wrapping_add(delta as u32);
            if (now.wrapping_sub(self.cubic.epoch_start) as i32) < 0 {
                self.cubic.epoch_start = now;
            }
        }
    }

    /// cubictcp_acked: the delay samples HyStart and the curve's t use.
    fn pkts_acked(&mut self, sock: &SockView, window: &mut Window, sample: &AckSample) {
        if sample.rtt_us < 0 {
            return;
        }
        // "Discard delay samples right after fast recovery".
        let now = jiffies(sock.now);
        if self.cubic.epoch_start != 0
            && (now.wrapping_sub(self.cubic.epoch_start) as i32) < HZ as i32
        {
            return;
        }
        let delay = (sample.rtt_us.min(i64::from(u32::MAX)) as u32).max(1);
        if self.cubic.delay_min == 0 || self.cubic.delay_min > delay {
            self.cubic.delay_min = delay;
        }
        if !self.hystart.found && in_slow_start(window) && window.cwnd >= super::hystart::LOW_WINDOW
        {
            self.hystart
                .update(sock, window, self.cubic.delay_min, delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn constants_match_tcp_cubic() {
        assert_eq!(beta_scale(), 15);
        assert_eq!(cube_factor(), (1u64 << 40) / 410);
        // cubic_root's table gives the kernel's approximations.
        assert_eq!(cubic_root(0), 0);
        assert_eq!(cubic_root(27), 3);
        let k = cubic_root(cube_factor() * 30);
        assert!((4250..4350).contains(&k), "K {k}");
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
        cubic.delay_min = 10_000;
        let start = Instant::from_millis(1000);
        // The epoch starts on the curve (target ≈ cwnd): slow at first.
        let first = cubic.update(70, 1, start);
        assert!(first >= 20, "cnt {first}");
        // Two seconds in, the curve is well above a window that lagged: fast growth.
        let early = cubic.update(75, 1, start + Duration::from_secs(2));
        assert!(early < 10, "cnt {early}");
        // Near K (≈ 4.2 s for 30 segments) the curve is flat: slow growth.
        let plateau = cubic.update(99, 1, start + Duration::from_millis(4200));
        assert!(plateau > 50, "cnt {plateau}");
        // Well past K it accelerates again.
        let later = cubic.update(101, 1, start + Duration::from_secs(8));
        assert!(later < plateau, "cnt {later}");
    }
}
