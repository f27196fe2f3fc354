//! HyStart (tcp_cubic.c's hystart_update): CUBIC leaves slow start before the first loss when
//! the ACKs of one round arrive spread over more than half the minimum delay (ACK train) or
//! when the round's minimum RTT grew past delay_min + clamp(delay_min / 8, 4 ms, 16 ms)
//! (delay increase). Either sets ssthresh to the current window. Parameters are the module's
//! defaults: hystart=1, hystart_detect=3 (both), hystart_low_window=16,
//! hystart_ack_delta_us=2000.

use super::congestion_ops::{PacingStatus, SockView, Window};
use super::seq::Seq;
use crate::time::Instant;

/// hystart_low_window: HyStart watches only windows of at least 16 segments.
pub const LOW_WINDOW: u32 = 16;
/// hystart_ack_delta_us: ACKs closer than this belong to one train.
const ACK_DELTA_US: u32 = 2000;
/// HYSTART_MIN_SAMPLES: RTT samples per round before the delay test.
const MIN_SAMPLES: u8 = 8;
/// HYSTART_DELAY_MIN / HYSTART_DELAY_MAX (µs).
const DELAY_MIN_US: u32 = 4000;
const DELAY_MAX_US: u32 = 16000;
/// hystart_detect's bits.
const DETECT_ACK_TRAIN: bool = true;
const DETECT_DELAY: bool = true;

/// How HyStart ended slow start (LINUX_MIB_TCPHYSTARTTRAINDETECT / DELAYDETECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    AckTrain,
    Delay,
}

/// The HyStart fields of struct bictcp.
#[derive(Debug, Clone, Default)]
pub struct HyStart {
    /// The exit point was found; HyStart rests until a timeout resets CUBIC.
    pub found: bool,
    pub exit: Option<Exit>,
    sample_count: u8,
    /// µs clock (tp->tcp_mstamp, truncated to 32 bits as bictcp_clock_us does).
    round_start: u32,
    last_ack: u32,
    end_seq: Seq,
    /// The minimum RTT of the current round (µs).
    current_rtt: u32,
}

/// bictcp_clock_us.
fn clock_us(now: Instant) -> u32 {
    (now.as_nanos() / 1000) as u32
}

/// HYSTART_DELAY_THRESH.
fn delay_threshold(x: u32) -> u32 {
    x.clamp(DELAY_MIN_US, DELAY_MAX_US)
}

impl HyStart {
    /// bictcp_hystart_reset: a new round starts at SND.NXT.
    pub fn reset(&mut self, sock: &SockView) {
        let now = clock_us(sock.now);
        self.round_start = now;
        self.last_ack = now;
        self.end_seq = sock.snd_nxt;
        self.current_rtt = u32::MAX;
        self.sample_count = 0;
    }

    /// hystart_ack_delay: a cushion for TSO/GRO aggregation, at most 1 ms.
    fn ack_delay(sock: &SockView, window: &Window) -> u32 {
        let rate = window.pacing_rate;
        if rate == 0 {
            return 0;
        }
        let cushion = u64::from(sock.gso_max_size) * 4 * 1_000_000 / rate;
        cushion.min(1000) as u32
    }

    /// hystart_update, for one RTT sample `delay` (µs) while in slow start.
    pub fn update(&mut self, sock: &SockView, window: &mut Window, delay_min: u32, delay: u32) {
        if sock.snd_una.gt(self.end_seq) {
            self.reset(sock);
        }
        if DETECT_ACK_TRAIN {
            let now = clock_us(sock.now);
            if (now.wrapping_sub(self.last_ack) as i32) <= ACK_DELTA_US as i32 {
                self.last_ack = now;
                let mut threshold = delay_min.wrapping_add(Self::ack_delay(sock, window));
                // "Pacing might have delayed packets up to RTT/2 during slow start."
                if window.pacing_status == PacingStatus::None {
                    threshold >>= 1;
                }
                if (now.wrapping_sub(self.round_start) as i32) > threshold as i32 {
                    self.found = true;
                    self.exit = Some(Exit::AckTrain);
                    window.ssthresh = window.cwnd;
                }
            }
        }
        if DETECT_DELAY {
            self.current_rtt = self.current_rtt.min(delay);
            if self.sample_count < MIN_SAMPLES {
                self.sample_count += 1;
            } else if self.current_rtt > delay_min.saturating_add(delay_threshold(delay_min >> 3)) {
                self.found = true;
                self.exit = Some(Exit::Delay);
                window.ssthresh = window.cwnd;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::congestion_ops::{CaState, INFINITE_SSTHRESH};
    use super::*;
    use core::time::Duration;

    fn sock(now: Instant, snd_una: u32, snd_nxt: u32) -> SockView {
        SockView {
            now,
            mss: 1000,
            snd_una: Seq(snd_una),
            snd_nxt: Seq(snd_nxt),
            packets_in_flight: 0,
            delivered: 0,
            delivered_stamp: now,
            lost: 0,
            srtt: None,
            min_rtt: None,
            last_data_sent: now,
            cwnd_limited: true,
            ca_state: CaState::Open,
            app_limited: false,
            next_departure: now,
            gso_max_size: 65536,
        }
    }

    fn window(cwnd: u32) -> Window {
        Window {
            pacing_rate: 0,
            ..Window::for_test(cwnd, INFINITE_SSTHRESH)
        }
    }

    #[test]
    fn delay_increase_ends_slow_start() {
        let start = Instant::from_millis(10);
        let mut hystart = HyStart::default();
        hystart.reset(&sock(start, 0, 0));
        let mut w = window(20);
        // A new round; eight samples at 20 ms, then the round's minimum is 30 ms:
        // 30 > 20 + clamp(2.5 ms, 4, 16) → exit. ACKs 3 ms apart: no ACK train.
        for i in 1..=9u64 {
            let now = start + Duration::from_millis(3 * i);
            let delay = if i == 1 { 20_000 } else { 30_000 };
            hystart.update(&sock(now, 100, 1000), &mut w, 20_000, delay);
            if i < 9 {
                assert!(!hystart.found);
            }
        }
        assert!(!hystart.found, "the first sample of the round was 20 ms");
        let mut hystart = HyStart::default();
        hystart.reset(&sock(start, 0, 0));
        for i in 1..=9u64 {
            let now = start + Duration::from_millis(3 * i);
            hystart.update(&sock(now, 100, 1000), &mut w, 20_000, 30_000);
        }
        assert_eq!(hystart.exit, Some(Exit::Delay));
        assert_eq!(w.ssthresh, 20);
    }

    #[test]
    fn ack_train_ends_slow_start() {
        let start = Instant::from_millis(10);
        let mut hystart = HyStart::default();
        hystart.reset(&sock(start, 0, 0));
        let mut w = window(32);
        // delay_min 4 ms: the train must span more than 2 ms (no pacing).
        let mut now = start;
        for _ in 0..5 {
            now = now + Duration::from_micros(900);
            hystart.update(&sock(now, 1, 1), &mut w, 4000, 4000);
        }
        assert!(hystart.found);
        assert_eq!(hystart.exit, Some(Exit::AckTrain));
        assert_eq!(w.ssthresh, 32);
    }
}
