//! The busy / receive-window-limited / send-buffer-limited clocks of TCP_INFO
//! (tcp_chrono_start, tcp_chrono_stop, tcp_chrono_set, tcp_get_info_chrono_stats): one
//! state at a time, the higher one winning, counted in ticks as the kernel counts jiffies.

use super::settings::TICKS_PER_SECOND;
use crate::time::Instant;

/// enum tcp_chrono, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChronoKind {
    Unspecified = 0,
    Busy = 1,
    ReceiveWindowLimited = 2,
    SendBufferLimited = 3,
}

#[derive(Debug, Clone)]
pub struct Chrono {
    kind: ChronoKind,
    start: Instant,
    /// tp->chrono_stat[]: ticks spent busy, rwnd-limited, sndbuf-limited.
    ticks: [u64; 3],
}

impl Default for Chrono {
    fn default() -> Self {
        Chrono {
            kind: ChronoKind::Unspecified,
            start: Instant::ZERO,
            ticks: [0; 3],
        }
    }
}

fn jiffies(at: Instant) -> u64 {
    at.as_nanos() / (1_000_000_000 / u64::from(TICKS_PER_SECOND))
}

impl Chrono {
    /// tcp_chrono_set: the running state's time is banked, the new one starts now.
    fn set(&mut self, now: Instant, kind: ChronoKind) {
        if self.kind != ChronoKind::Unspecified {
            let index = self.kind as usize - 1;
            self.ticks[index] += jiffies(now).saturating_sub(jiffies(self.start));
        }
        self.start = now;
        self.kind = kind;
    }

    /// tcp_chrono_start: "if (type > tp->chrono_type) tcp_chrono_set(tp, type)".
    pub fn start(&mut self, now: Instant, kind: ChronoKind) {
        if kind > self.kind {
            self.set(now, kind);
        }
    }

    /// tcp_chrono_stop: nothing queued or in flight stops every clock; otherwise leaving
    /// the running limited state falls back to busy.
    pub fn stop(&mut self, now: Instant, kind: ChronoKind, queues_empty: bool) {
        if queues_empty {
            self.set(now, ChronoKind::Unspecified);
        } else if kind == self.kind {
            self.set(now, ChronoKind::Busy);
        }
    }

    /// tcp_get_info_chrono_stats: (busy_time, rwnd_limited, sndbuf_limited) in µs, the
    /// running state counted up to `now`; busy_time is the sum of the three.
    pub fn micros(&self, now: Instant) -> (u64, u64, u64) {
        let per_tick = 1_000_000 / u64::from(TICKS_PER_SECOND);
        let mut stats = self.ticks;
        if self.kind != ChronoKind::Unspecified {
            stats[self.kind as usize - 1] += jiffies(now).saturating_sub(jiffies(self.start));
        }
        let [busy, rwnd, sndbuf] = stats.map(|ticks| ticks * per_tick);
        (busy + rwnd + sndbuf, rwnd, sndbuf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_then_window_limited_then_idle() {
        let mut chrono = Chrono::default();
        let at = Instant::from_millis;
        chrono.start(at(0), ChronoKind::Busy);
        chrono.start(at(40), ChronoKind::ReceiveWindowLimited);
        chrono.stop(at(100), ChronoKind::ReceiveWindowLimited, false);
        chrono.stop(at(120), ChronoKind::Busy, true);
        assert_eq!(chrono.micros(at(500)), (120_000, 60_000, 0));
    }
}
