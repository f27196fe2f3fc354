//! The kernel counts the timers this layer copies (rate limiters, IP id buckets) in jiffies.
//! This machine's kernel is built with CONFIG_HZ=250, so one jiffy is 4 ms; converting `now`
//! the same way keeps the limiters' rounding identical to the kernel's.

use crate::time::Instant;

pub(super) const HZ: u64 = 250;
const NANOS_PER_JIFFY: u64 = 1_000_000_000 / HZ;

pub(super) fn jiffies(now: Instant) -> u64 {
    now.as_nanos() / NANOS_PER_JIFFY
}

/// msecs_to_jiffies: rounds up.
pub(super) fn msecs_to_jiffies(ms: u64) -> u64 {
    (ms * HZ).div_ceil(1000)
}
