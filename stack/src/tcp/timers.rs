//! Timer constants (include/net/tcp.h), the retransmission-timeout estimator (RFC 6298 with
//! Linux's floor) and the per-connection timer table (quinn's shape: one deadline per kind,
//! the next wake-up is the minimum).

use core::time::Duration;

use crate::time::Instant;

/// TCP_TIMEOUT_INIT: RFC 6298 2.1's one second.
pub const RTO_INITIAL: Duration = Duration::from_secs(1);
/// TCP_RTO_MIN: Linux floors the variance term at 200 ms (RFC 6298 2.4 allows it).
pub const RTO_MIN: Duration = Duration::from_millis(200);
/// TCP_RTO_MAX: the backed-off timeout never exceeds 120 s (RFC 6298 2.5).
pub const RTO_MAX: Duration = Duration::from_secs(120);
/// TCP_TIMEWAIT_LEN: Linux keeps TIME_WAIT for 60 s (not 2*MSL = 4 minutes).
pub const TIME_WAIT_LEN: Duration = Duration::from_secs(60);
/// One jiffy of this machine's kernel (CONFIG_HZ=250): a timer due "now" fires at the next
/// tick, at most this much later.
pub const JIFFY: Duration = Duration::from_millis(4);
/// net.ipv4.tcp_retries2's default, for the budget test below (the live value comes from the
/// host: `sysctls.rs`).
#[cfg(test)]
const RETRIES2: u32 = 15;

/// tcp_model_timeout: the time `boundary` back-offs take from RTO_MIN, doubling up to RTO_MAX
/// (what retransmits_timed_out compares the elapsed time against).
pub fn retransmission_budget(boundary: u32, rto_base: Duration) -> Duration {
    let base = rto_base.as_millis() as u64;
    let max = RTO_MAX.as_millis() as u64;
    // ilog2(TCP_RTO_MAX / rto_base)
    let linear_threshold = 63 - (max / base.max(1)).max(1).leading_zeros();
    let millis = if boundary <= linear_threshold {
        ((2u64 << boundary) - 1) * base
    } else {
        ((2u64 << linear_threshold) - 1) * base + u64::from(boundary - linear_threshold) * max
    };
    Duration::from_millis(millis)
}

/// The RFC 6298 estimator. `rto()` includes the exponential back-off.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    pub smoothed: Option<Duration>,
    pub variance: Duration,
    base: Duration,
    pub backoff: u32,
    /// Smallest sample seen (tcpi_min_rtt).
    pub min: Option<Duration>,
    pub last_sample: Duration,
    /// TCP_RTO_MIN_US / TCP_RTO_MAX_MS of the socket (tcp_rto_min, tcp_rto_max).
    pub floor: Duration,
    pub ceiling: Duration,
}

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator {
            smoothed: None,
            variance: Duration::ZERO,
            base: RTO_INITIAL,
            backoff: 0,
            min: None,
            last_sample: Duration::ZERO,
            floor: RTO_MIN,
            ceiling: RTO_MAX,
        }
    }
}

impl RttEstimator {
    /// An estimator for a socket with TCP_RTO_MIN_US / TCP_RTO_MAX_MS set.
    pub fn with_bounds(floor: Duration, ceiling: Duration) -> RttEstimator {
        RttEstimator {
            floor,
            ceiling,
            ..RttEstimator::default()
        }
    }

    /// RFC 6298 2.2 and 2.3 (alpha 1/8, beta 1/4); the variance term is floored at RTO_MIN as
    /// tcp_set_rto does (rttvar >= tcp_rto_min), so RTO >= SRTT + 200 ms.
    pub fn sample(&mut self, rtt: Duration) {
        let rtt = rtt.max(Duration::from_micros(1));
        self.last_sample = rtt;
        self.min = Some(self.min.map_or(rtt, |min| min.min(rtt)));
        match self.smoothed {
            None => {
                self.smoothed = Some(rtt);
                self.variance = rtt / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt);
                self.variance = (self.variance * 3 + delta) / 4;
                self.smoothed = Some((srtt * 7 + rtt) / 8);
            }
        }
        let srtt = self.smoothed.unwrap_or(rtt);
        self.base = (srtt + (self.variance * 4).max(self.floor)).min(self.ceiling);
        self.backoff = 0;
    }

    /// The current timeout, doubled per back-off (RFC 6298 5.5), capped at RTO_MAX.
    pub fn rto(&self) -> Duration {
        let shift = self.backoff.min(16);
        (self.base * (1u32 << shift)).min(self.ceiling)
    }

    pub fn base(&self) -> Duration {
        self.base
    }
}

/// The kinds of per-connection timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// SYN, SYN-ACK and data retransmission (ICSK_TIME_RETRANS).
    Retransmit,
    /// Zero-window probe (ICSK_TIME_PROBE0).
    Persist,
    /// ICSK_TIME_DACK.
    DelayedAck,
    /// Keepalive, and the orphaned FIN_WAIT2 timeout that shares sk_timer in Linux.
    Keepalive,
    /// TIME_WAIT's 60 s.
    TimeWait,
    /// The tail loss probe (ICSK_TIME_LOSS_PROBE, `loss_probe.rs`). Linux keeps it, the
    /// REO timer and the retransmission timer in one slot: arming one clears the others
    /// (`Connection::arm_transmit_timer`).
    LossProbe,
    /// RACK's reordering timer (ICSK_TIME_REO_TIMEOUT, `rack.rs`).
    ReorderTimeout,
    /// Internal pacing's hrtimer (tp->pacing_timer, `pacing.rs`): the next segment's
    /// earliest departure time.
    Pacing,
}

const TIMER_COUNT: usize = 8;

impl Timer {
    fn index(self) -> usize {
        match self {
            Timer::Retransmit => 0,
            Timer::Persist => 1,
            Timer::DelayedAck => 2,
            Timer::Keepalive => 3,
            Timer::TimeWait => 4,
            Timer::LossProbe => 5,
            Timer::ReorderTimeout => 6,
            Timer::Pacing => 7,
        }
    }

    pub const ALL: [Timer; TIMER_COUNT] = [
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::Keepalive,
        Timer::TimeWait,
        Timer::LossProbe,
        Timer::ReorderTimeout,
        Timer::Pacing,
    ];
}

#[derive(Debug, Clone, Default)]
pub struct Timers {
    deadlines: [Option<Instant>; TIMER_COUNT],
}

impl Timers {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub fn clear(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    pub fn clear_all(&mut self) {
        self.deadlines = [None; TIMER_COUNT];
    }

    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Takes every timer due at `now`, in table order.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut expired = Vec::new();
        for timer in Timer::ALL {
            if self.get(timer).is_some_and(|at| at <= now) {
                self.clear(timer);
                expired.push(timer);
            }
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6298_first_sample_and_floor() {
        let mut rtt = RttEstimator::default();
        assert_eq!(rtt.rto(), RTO_INITIAL);
        rtt.sample(Duration::from_millis(10));
        // SRTT 10 ms, RTTVAR 5 ms: 4*RTTVAR is below the 200 ms floor.
        assert_eq!(rtt.rto(), Duration::from_millis(210));
        rtt.backoff = 3;
        assert_eq!(rtt.rto(), Duration::from_millis(1680));
        rtt.backoff = 20;
        assert_eq!(rtt.rto(), RTO_MAX);
    }

    #[test]
    fn large_samples_use_the_variance() {
        let mut rtt = RttEstimator::default();
        rtt.sample(Duration::from_millis(400));
        assert_eq!(rtt.rto(), Duration::from_millis(400 + 800));
    }

    #[test]
    fn retries2_budget_matches_tcp_model_timeout() {
        // 15 retries from 200 ms: 1023 * 200 ms + 6 * 120 s = 924.6 s.
        assert_eq!(
            retransmission_budget(RETRIES2, RTO_MIN),
            Duration::from_millis(924_600)
        );
        assert_eq!(
            retransmission_budget(3, RTO_MIN),
            Duration::from_millis(3000)
        );
    }
}
