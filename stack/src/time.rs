//! The stack's own notion of time. It never reads a clock: every entry point takes `now`,
//! so tests run in virtual time (a 60 s timer fires in a microsecond of real time).

use core::ops::{Add, Sub};
use core::time::Duration;

/// A monotonic instant, in nanoseconds since an arbitrary origin chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis * 1_000_000)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(rhs.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        Instant(
            self.0
                .saturating_sub(rhs.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

/// Wall-clock time of a received frame (CLOCK_REALTIME), supplied by the driver for
/// SO_TIMESTAMP / SO_TIMESTAMPNS / SIOCGSTAMP. The stack only carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WallTime {
    pub sec: i64,
    pub nsec: i64,
}

impl WallTime {
    /// This time plus `elapsed` (normalised: 0 <= nsec < 1e9).
    pub fn after(self, elapsed: Duration) -> WallTime {
        let total = i128::from(self.sec) * 1_000_000_000
            + i128::from(self.nsec)
            + elapsed.as_nanos() as i128;
        WallTime {
            sec: total.div_euclid(1_000_000_000) as i64,
            nsec: total.rem_euclid(1_000_000_000) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!((t + Duration::from_millis(3)).as_millis(), 8);
        assert_eq!((t - Duration::from_secs(1)), Instant::ZERO);
        assert_eq!(Instant::ZERO.saturating_since(t), Duration::ZERO);
    }
}
