//! Congestion control: slow start, congestion avoidance by CUBIC (the default, `cubic.rs`)
//! or Reno (RFC 5681 3.1), the congestion state (`Phase`) and the window the loss-recovery
//! modules set (`recovery.rs`: RACK, TLP, PRR, undo, F-RTO, D-SACK, with the per-segment
//! scoreboard in `sent.rs`).
//!
//! Windows are in bytes; TCP_INFO reports them in segments of the current MSS.

use core::time::Duration;

use super::congestion_ops::{AckSample, CaEvent, CaState, Controller, SockView, Window};
use super::pacing::Pacing;
use super::seq::Seq;
use crate::time::Instant;

/// RFC 6928 / TCP_INIT_CWND: the initial window is ten segments.
pub const INITIAL_WINDOW_SEGMENTS: u32 = 10;
/// TCP_INFINITE_SSTHRESH.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// The algorithms, by their TCP_CONGESTION names (`congestion_ops.rs`).
pub use super::congestion_ops::Algorithm;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No loss detected (TCP_CA_Open, or Disorder while duplicate ACKs accumulate).
    Open,
    /// Fast recovery until `until` (the highest sequence sent when it began) is acknowledged.
    Recovery { until: Seq },
    /// After a retransmission timeout, until `until` is acknowledged (TCP_CA_Loss).
    Loss { until: Seq },
    /// TCP_CA_CWR: an ECN echo reduces the window until `until` (SND.NXT when it began) is
    /// passed; nothing is lost (`ecn.rs`).
    Cwr { until: Seq },
    /// TCP_CA_Disorder: SACKed, lost or retransmitted segments are outstanding but no
    /// recovery is under way (tcp_try_keep_open, `recovery.rs`).
    Disorder,
}

#[derive(Debug, Clone)]
pub struct Congestion {
    pub algorithm: Algorithm,
    /// icsk_ca_ops and its private state (`congestion_ops.rs`); `algorithm` names it.
    pub control: Controller,
    /// What the algorithm last saw of the connection (refreshed by `congestion_hooks.rs`).
    pub sock: SockView,
    /// tp->snd_cwnd_cnt, tp->snd_cwnd_clamp, tp->prior_cwnd.
    cwnd_count: u32,
    pub cwnd_clamp: u32,
    pub prior_cwnd: u32,
    /// Bytes acknowledged short of a whole segment, carried to the next ACK.
    acked_remainder: u32,
    /// The RTT sample this ACK gave (ca_rtt_us), for pkts_acked and the rate sample, and
    /// the estimator's previous last sample (`congestion_hooks.rs`).
    pub ack_rtt: Option<Duration>,
    pub prior_last_rtt: Duration,
    /// tp->lost: segments marked lost so far (recovery's first hole, a timeout's flight).
    pub lost_packets: u32,
    /// tcp_packets_in_flight and tp->lost when the current ACK arrived.
    pub ack_prior_in_flight: u32,
    pub ack_prior_lost: u32,
    /// Bytes this ACK lets the window grow by, and whether the window was the limit.
    pending_acked: u32,
    pending_cwnd_limited: bool,
    /// sk_pacing_rate / sk_max_pacing_rate / sk_pacing_status / tcp_wstamp_ns.
    pub pacing: Pacing,
    pub cwnd: u32,
    pub ssthresh: u32,
    pub phase: Phase,
}

impl Congestion {
    pub fn new(mss: u32, algorithm: Algorithm) -> Congestion {
        Congestion {
            algorithm,
            control: Controller::new(algorithm),
            sock: SockView::default(),
            cwnd_count: 0,
            cwnd_clamp: u32::MAX,
            prior_cwnd: 0,
            acked_remainder: 0,
            ack_rtt: None,
            prior_last_rtt: Duration::ZERO,
            lost_packets: 0,
            ack_prior_in_flight: 0,
            ack_prior_lost: 0,
            pending_acked: 0,
            pending_cwnd_limited: false,
            pacing: Pacing::default(),
            cwnd: INITIAL_WINDOW_SEGMENTS * mss,
            ssthresh: INFINITE_SSTHRESH,
            phase: Phase::Open,
        }
    }

    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// An ACK moved SND.UNA by `acked` bytes while the window may grow. The growth itself
    /// (tcp_cong_avoid) happens in `complete_ack`, at tcp_cong_control's place: after loss
    /// detection, which may have entered recovery instead.
    pub fn on_ack(
        &mut self,
        acked: u32,
        mss: u32,
        now: Instant,
        min_rtt: Option<Duration>,
        cwnd_limited: bool,
    ) {
        self.sock.now = now;
        self.sock.mss = mss.max(1);
        self.sock.min_rtt = min_rtt;
        self.pending_acked = self.pending_acked.saturating_add(acked);
        self.pending_cwnd_limited = cwnd_limited;
    }

    /// The end of tcp_ack for an algorithm without cong_control: pkts_acked with the ACK's
    /// RTT sample (tcp_clean_rtx_queue; CUBIC's HyStart), then the algorithm's cong_avoid
    /// for what `on_ack` recorded (slow start, then Reno one segment per window or CUBIC
    /// along its curve), unless the window is being reduced (tcp_in_cwnd_reduction) or was
    /// not the limit (tcp_is_cwnd_limited).
    pub fn complete_ack(&mut self, mss: u32) {
        let mss = mss.max(1);
        let acked = core::mem::take(&mut self.pending_acked);
        let total = self.acked_remainder.saturating_add(acked);
        let packets = total / mss;
        self.acked_remainder = total % mss;
        let sample = AckSample {
            packets_acked: packets,
            rtt_us: self
                .ack_rtt
                .map_or(-1, |rtt| rtt.as_micros().min(i64::MAX as u128) as i64),
        };
        self.sock.cwnd_limited = self.pending_cwnd_limited;
        self.with_window(mss, |ops, sock, window| {
            ops.pkts_acked(sock, window, &sample)
        });
        if packets == 0
            || !self.pending_cwnd_limited
            || self.control.has_cong_control()
            || matches!(self.phase, Phase::Recovery { .. } | Phase::Cwr { .. })
        {
            return;
        }
        self.with_window(mss, |ops, sock, window| {
            ops.cong_avoid(sock, window, packets)
        });
    }

    /// The algorithm's Window (segments) from the byte counters.
    pub fn window(&self, mss: u32) -> Window {
        let mss = mss.max(1);
        Window {
            cwnd: self.cwnd / mss,
            ssthresh: if self.ssthresh >= INFINITE_SSTHRESH {
                INFINITE_SSTHRESH
            } else {
                self.ssthresh / mss
            },
            cwnd_count: self.cwnd_count,
            cwnd_clamp: self.cwnd_clamp,
            prior_cwnd: self.prior_cwnd,
            app_limited_mark: None,
            pacing_rate: self.pacing.rate,
            max_pacing_rate: self.pacing.max_rate,
            pacing_status: self.pacing.status,
        }
    }

    /// Writes back what the algorithm changed; returns the mark it set on tp->app_limited.
    fn apply_window(&mut self, before: &Window, after: &Window, mss: u32) -> Option<u32> {
        let mss = mss.max(1);
        if after.cwnd != before.cwnd {
            self.cwnd = after.cwnd.saturating_mul(mss).min(INFINITE_SSTHRESH);
        }
        if after.ssthresh != before.ssthresh {
            self.ssthresh = if after.ssthresh >= INFINITE_SSTHRESH {
                INFINITE_SSTHRESH
            } else {
                after.ssthresh.saturating_mul(mss).min(INFINITE_SSTHRESH)
            };
        }
        self.cwnd_count = after.cwnd_count;
        self.pacing.rate = after.pacing_rate;
        self.pacing.status = after.pacing_status;
        after.app_limited_mark
    }

    /// Runs one hook of the algorithm on the current window.
    pub fn with_window<R>(
        &mut self,
        mss: u32,
        hook: impl FnOnce(&mut dyn super::congestion_ops::CongestionOps, &SockView, &mut Window) -> R,
    ) -> (R, Option<u32>) {
        let before = self.window(mss);
        let mut window = before;
        let sock = self.sock;
        let result = hook(self.control.ops(), &sock, &mut window);
        let mark = self.apply_window(&before, &window, mss);
        (result, mark)
    }

    /// tcp_set_ca_state: the algorithm's set_state hook.
    pub fn set_ca_state(&mut self, mss: u32, state: CaState) {
        self.sock.ca_state = state;
        // tp->lost as loss marking left it (bbr_set_state samples it on a timeout).
        self.sock.lost = self.lost_packets;
        self.with_window(mss, |ops, sock, window| ops.set_state(sock, window, state));
    }

    /// tcp_ca_event.
    pub fn ca_event(&mut self, mss: u32, event: CaEvent) -> Option<u32> {
        self.with_window(mss, |ops, sock, window| ops.cwnd_event(sock, window, event))
            .1
    }

    /// The ssthresh after a loss (ca_ops->ssthresh, called as tcp_init_cwnd_reduction and
    /// tcp_enter_loss do): Reno halves the window (tcp_reno_ssthresh), CUBIC keeps 717/1024
    /// of it, never below two segments; BBR saves the window and keeps the threshold.
    pub(super) fn reduced_threshold(&mut self, mss: u32) -> u32 {
        let mss = mss.max(1);
        self.prior_cwnd = self.cwnd / mss;
        let (threshold, _) = self.with_window(mss, |ops, sock, window| ops.ssthresh(sock, window));
        if threshold >= INFINITE_SSTHRESH {
            INFINITE_SSTHRESH
        } else {
            threshold.saturating_mul(mss).min(INFINITE_SSTHRESH)
        }
    }

    /// tcp_end_cwnd_reduction: the window settles at ssthresh, except under an algorithm
    /// with its own cong_control (BBR restores its saved window itself).
    pub fn end_cwnd_reduction(&mut self) {
        if !self.control.has_cong_control() && self.ssthresh < INFINITE_SSTHRESH {
            self.cwnd = self.ssthresh;
        }
    }

    /// undo_cwnd: the window after a reduction found spurious (tcp_undo_cwnd_reduction),
    /// in bytes.
    pub fn undo_window(&mut self, mss: u32) -> u32 {
        let mss = mss.max(1);
        let (cwnd, _) = self.with_window(mss, |ops, sock, window| ops.undo_cwnd(sock, window));
        cwnd.saturating_mul(mss).min(INFINITE_SSTHRESH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reno_slow_start_then_avoidance() {
        let now = Instant::from_millis(1);
        let mut cc = Congestion::new(1000, Algorithm::Reno);
        assert_eq!(cc.cwnd, 10_000);
        cc.ssthresh = 12_000;
        cc.on_ack(5000, 1000, now, None, true);
        cc.complete_ack(1000);
        // 2000 bytes of slow start reach ssthresh; 3000 credit is not yet a window.
        assert_eq!(cc.cwnd, 12_000);
        cc.on_ack(9000, 1000, now, None, true);
        cc.complete_ack(1000);
        assert_eq!(cc.cwnd, 13_000);
        // Not limited by the window: no growth.
        cc.on_ack(50_000, 1000, now, None, false);
        cc.complete_ack(1000);
        assert_eq!(cc.cwnd, 13_000);
    }

    #[test]
    fn cubic_grows_in_avoidance() {
        let mut cc = Congestion::new(1000, Algorithm::Cubic);
        cc.cwnd = 20_000;
        cc.ssthresh = 20_000;
        let mut now = Instant::from_millis(1);
        for _ in 0..200 {
            now = now + Duration::from_millis(10);
            cc.on_ack(2000, 1000, now, Some(Duration::from_millis(10)), true);
            cc.complete_ack(1000);
        }
        assert!(cc.cwnd > 20_000, "cwnd {}", cc.cwnd);
    }
}
