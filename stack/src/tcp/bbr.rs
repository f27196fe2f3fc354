//! BBR (v1) as Linux's net/ipv4/tcp_bbr.c: a model of the path (the windowed maximum of the
//! delivery rate over 10 rounds, the minimum RTT over 10 s) sets the pacing rate
//! (pacing_gain × bw) and the window (cwnd_gain × bw × min_rtt plus room for ACK
//! aggregation), through STARTUP, DRAIN, PROBE_BW's eight-phase gain cycle and PROBE_RTT.
//! Losses do not shrink the model: the window follows packet conservation in the first
//! round of recovery, and a token-bucket policer is detected from two lossy intervals of
//! consistent throughput (the long-term bw). Fixed-point units are the kernel's: bandwidth
//! in packets per µs << 24, gains in 1/256.

use super::congestion_ops::{
    CaEvent, CaState, CongestionOps, PacingStatus, RateSample, SockView, Window, INFINITE_SSTHRESH,
};
use super::cubic::{jiffies, HZ};
use super::minmax::MinMax;

const BW_SCALE: u32 = 24;
const BW_UNIT: u64 = 1 << BW_SCALE;
const BBR_SCALE: u32 = 8;
const BBR_UNIT: u32 = 1 << BBR_SCALE;

/// enum bbr_mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}

const CYCLE_LEN: u32 = 8;
/// bbr_bw_rtts: the max-bw filter's window, in rounds.
const BW_RTTS: u32 = CYCLE_LEN + 2;
/// bbr_min_rtt_win_sec.
const MIN_RTT_WIN_SEC: u32 = 10;
/// bbr_probe_rtt_mode_ms.
const PROBE_RTT_MODE_MS: u32 = 200;
/// bbr_min_tso_rate (bits/s).
const MIN_TSO_RATE: u64 = 1_200_000;
/// bbr_pacing_margin_percent.
const PACING_MARGIN_PERCENT: u64 = 1;
/// bbr_high_gain = 2/ln(2), bbr_drain_gain its inverse, bbr_cwnd_gain 2.
pub const HIGH_GAIN: u32 = BBR_UNIT * 2885 / 1000 + 1;
pub const DRAIN_GAIN: u32 = BBR_UNIT * 1000 / 2885;
pub const CWND_GAIN: u32 = BBR_UNIT * 2;
/// bbr_pacing_gain: PROBE_BW's cycle.
pub const PACING_GAIN: [u32; CYCLE_LEN as usize] = [
    BBR_UNIT * 5 / 4,
    BBR_UNIT * 3 / 4,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
];
/// bbr_cycle_rand.
const CYCLE_RAND: u32 = 7;
/// bbr_cwnd_min_target.
pub const CWND_MIN_TARGET: u32 = 4;
/// bbr_full_bw_thresh, bbr_full_bw_cnt.
const FULL_BW_THRESH: u32 = BBR_UNIT * 5 / 4;
const FULL_BW_COUNT: u32 = 3;
/// The long-term (policer) estimator: bbr_lt_intvl_min_rtts, bbr_lt_loss_thresh,
/// bbr_lt_bw_ratio, bbr_lt_bw_diff, bbr_lt_bw_max_rtts.
const LT_INTERVAL_MIN_RTTS: u32 = 4;
const LT_LOSS_THRESH: u32 = 50;
const LT_BW_RATIO: u32 = BBR_UNIT / 8;
const LT_BW_DIFF: u64 = 4000 / 8;
const LT_BW_MAX_RTTS: u32 = 48;
/// bbr_extra_acked_gain, bbr_extra_acked_win_rtts, bbr_ack_epoch_acked_reset_thresh,
/// bbr_extra_acked_max_us.
const EXTRA_ACKED_GAIN: u32 = BBR_UNIT;
const EXTRA_ACKED_WIN_RTTS: u32 = 5;
const ACK_EPOCH_ACKED_RESET_THRESH: u32 = 1 << 20;
const EXTRA_ACKED_MAX_US: u64 = 100 * 1000;
/// TCP_INIT_CWND.
const INIT_CWND: u32 = 10;
/// GSO_LEGACY_MAX_SIZE - 1 - MAX_TCP_HEADER (320 on x86-64).
const TSO_BYTES_MAX: u64 = 65536 - 1 - 320;
/// sk_pacing_shift's default.
const PACING_SHIFT: u32 = 10;
/// sizeof(struct tcp_bbr_info).
pub const INFO_LEN: usize = 20;

/// struct bbr.
#[derive(Debug, Clone)]
pub struct Bbr {
    pub min_rtt_us: u32,
    /// In jiffies.
    min_rtt_stamp: u32,
    probe_rtt_done_stamp: u32,
    bw: MinMax,
    pub rtt_count: u32,
    next_rtt_delivered: u32,
    /// µs (tp->delivered_mstamp of the phase's start).
    cycle_stamp: u64,
    pub mode: Mode,
    prev_ca_state: CaState,
    packet_conservation: bool,
    pub round_start: bool,
    idle_restart: bool,
    probe_rtt_round_done: bool,
    lt_is_sampling: bool,
    lt_rtt_count: u32,
    pub lt_use_bw: bool,
    pub lt_bw: u32,
    lt_last_delivered: u32,
    /// ms.
    lt_last_stamp: u32,
    lt_last_lost: u32,
    pub pacing_gain: u32,
    pub cwnd_gain: u32,
    pub full_bw_reached: bool,
    full_bw_count: u32,
    pub cycle_index: u32,
    has_seen_rtt: bool,
    prior_cwnd: u32,
    full_bw: u32,
    /// µs.
    ack_epoch_stamp: u64,
    extra_acked: [u16; 2],
    ack_epoch_acked: u32,
    extra_acked_win_rtts: u32,
    extra_acked_win_index: usize,
    /// prandom state for the starting phase of the gain cycle.
    random: u32,
}

impl Default for Bbr {
    /// icsk_ca_priv is zeroed when the algorithm is assigned; bbr_init fills it later.
    fn default() -> Self {
        Bbr {
            min_rtt_us: 0,
            min_rtt_stamp: 0,
            probe_rtt_done_stamp: 0,
            bw: MinMax::default(),
            rtt_count: 0,
            next_rtt_delivered: 0,
            cycle_stamp: 0,
            mode: Mode::Startup,
            prev_ca_state: CaState::Open,
            packet_conservation: false,
            round_start: false,
            idle_restart: false,
            probe_rtt_round_done: false,
            lt_is_sampling: false,
            lt_rtt_count: 0,
            lt_use_bw: false,
            lt_bw: 0,
            lt_last_delivered: 0,
            lt_last_stamp: 0,
            lt_last_lost: 0,
            pacing_gain: 0,
            cwnd_gain: 0,
            full_bw_reached: false,
            full_bw_count: 0,
            cycle_index: 0,
            has_seen_rtt: false,
            prior_cwnd: 0,
            full_bw: 0,
            ack_epoch_stamp: 0,
            extra_acked: [0; 2],
            ack_epoch_acked: 0,
            extra_acked_win_rtts: 0,
            extra_acked_win_index: 0,
            random: 0x9e37_79b9,
        }
    }
}

fn micros(sock_stamp: crate::time::Instant) -> u64 {
    sock_stamp.as_nanos() / 1000
}

/// before(a, b) on 32-bit counters.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// after(a, b).
fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

impl Bbr {
    /// bbr_max_bw.
    pub fn max_bw(&self) -> u32 {
        self.bw.get()
    }

    /// bbr_bw: the policed rate when one was detected, else the max filter.
    pub fn bw(&self) -> u32 {
        if self.lt_use_bw {
            self.lt_bw
        } else {
            self.max_bw()
        }
    }

    /// bbr_extra_acked.
    fn extra_acked(&self) -> u32 {
        u32::from(self.extra_acked[0].max(self.extra_acked[1]))
    }

    /// bbr_rate_bytes_per_sec: bytes per second for a bw and gain, with the 1% margin.
    fn rate_bytes_per_sec(sock: &SockView, rate: u64, gain: u32) -> u64 {
        let mut rate = rate.wrapping_mul(u64::from(sock.mss));
        rate = rate.wrapping_mul(u64::from(gain));
        rate >>= BBR_SCALE;
        rate = rate.wrapping_mul(1_000_000 / 100 * (100 - PACING_MARGIN_PERCENT));
        rate >> BW_SCALE
    }

    /// bbr_bw_to_pacing_rate.
    fn bw_to_pacing_rate(sock: &SockView, window: &Window, bw: u32, gain: u32) -> u64 {
        Self::rate_bytes_per_sec(sock, u64::from(bw), gain).min(window.max_pacing_rate)
    }

    /// bbr_init_pacing_rate_from_rtt: high_gain × init_cwnd / RTT (1 ms before a sample).
    fn init_pacing_rate_from_rtt(&mut self, sock: &SockView, window: &mut Window) {
        let rtt_us = match sock.srtt {
            Some(srtt) => {
                self.has_seen_rtt = true;
                (srtt.as_micros() as u64).max(1)
            }
            None => 1000,
        };
        let bw = u64::from(window.cwnd) * BW_UNIT / rtt_us;
        window.pacing_rate = Self::bw_to_pacing_rate(sock, window, bw as u32, HIGH_GAIN);
    }

    /// bbr_set_pacing_rate: never below the current rate until the pipe was filled.
    fn set_pacing_rate(&mut self, sock: &SockView, window: &mut Window, bw: u32, gain: u32) {
        let rate = Self::bw_to_pacing_rate(sock, window, bw, gain);
        if !self.has_seen_rtt && sock.srtt.is_some() {
            self.init_pacing_rate_from_rtt(sock, window);
        }
        if self.full_bw_reached || rate > window.pacing_rate {
            window.pacing_rate = rate;
        }
    }

    /// bbr_min_tso_segs.
    fn min_tso_segments(window: &Window) -> u32 {
        if window.pacing_rate < (MIN_TSO_RATE >> 3) {
            1
        } else {
            2
        }
    }

    /// bbr_tso_segs_goal.
    fn tso_segs_goal(sock: &SockView, window: &Window) -> u32 {
        let bytes = (window.pacing_rate >> PACING_SHIFT).min(TSO_BYTES_MAX);
        let segments = (bytes / u64::from(sock.mss.max(1))) as u32;
        segments.max(Self::min_tso_segments(window)).min(0x7f)
    }

    /// bbr_save_cwnd: the last good window, restored after recovery or PROBE_RTT.
    fn save_cwnd(&mut self, window: &Window) {
        if self.prev_ca_state < CaState::Recovery && self.mode != Mode::ProbeRtt {
            self.prior_cwnd = window.cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(window.cwnd);
        }
    }

    /// bbr_bdp: ceil(bw × min_rtt × gain), TCP_INIT_CWND without an RTT sample.
    fn bdp(&self, bw: u32, gain: u32) -> u32 {
        if self.min_rtt_us == u32::MAX {
            return INIT_CWND;
        }
        let w = u64::from(bw) * u64::from(self.min_rtt_us);
        let scaled = (u128::from(w) * u128::from(gain)) >> BBR_SCALE;
        scaled.div_ceil(u128::from(BW_UNIT)) as u32
    }

    /// bbr_quantization_budget.
    fn quantization_budget(&self, sock: &SockView, window: &Window, cwnd: u32) -> u32 {
        let mut cwnd = cwnd.saturating_add(3 * Self::tso_segs_goal(sock, window));
        cwnd = (cwnd.saturating_add(1)) & !1u32;
        if self.mode == Mode::ProbeBw && self.cycle_index == 0 {
            cwnd = cwnd.saturating_add(2);
        }
        cwnd
    }

    /// bbr_inflight.
    fn inflight(&self, sock: &SockView, window: &Window, bw: u32, gain: u32) -> u32 {
        let bdp = self.bdp(bw, gain);
        self.quantization_budget(sock, window, bdp)
    }

    /// bbr_packets_in_net_at_edt: what will still be in the network when the next paced
    /// segment leaves.
    fn packets_in_net_at_edt(&self, sock: &SockView, window: &Window, inflight_now: u32) -> u32 {
        let now_ns = sock.now.as_nanos();
        let edt_ns = sock.next_departure.as_nanos().max(now_ns);
        let interval_us = (edt_ns - now_ns) / 1000;
        let interval_delivered = ((u64::from(self.bw()) * interval_us) >> BW_SCALE) as u32;
        let mut inflight_at_edt = inflight_now;
        if self.pacing_gain > BBR_UNIT {
            inflight_at_edt += Self::tso_segs_goal(sock, window);
        }
        inflight_at_edt.saturating_sub(interval_delivered)
    }

    /// bbr_ack_aggregation_cwnd.
    fn ack_aggregation_cwnd(&self) -> u32 {
        if EXTRA_ACKED_GAIN == 0 || !self.full_bw_reached {
            return 0;
        }
        let max_aggregation = (u64::from(self.bw()) * EXTRA_ACKED_MAX_US / BW_UNIT) as u32;
        let aggregation = (EXTRA_ACKED_GAIN * self.extra_acked()) >> BBR_SCALE;
        aggregation.min(max_aggregation)
    }

    /// bbr_set_cwnd_to_recover_or_restore: packet conservation in the first round of
    /// recovery, the saved window back when it ends.
    fn set_cwnd_to_recover_or_restore(
        &mut self,
        sock: &SockView,
        window: &Window,
        rate: &RateSample,
        acked: u32,
    ) -> (bool, u32) {
        let prev_state = self.prev_ca_state;
        let state = sock.ca_state;
        let mut cwnd = window.cwnd;
        if rate.losses > 0 {
            cwnd = (cwnd as i32 - rate.losses as i32).max(1) as u32;
        }
        if state == CaState::Recovery && prev_state != CaState::Recovery {
            self.packet_conservation = true;
            self.next_rtt_delivered = sock.delivered;
            cwnd = sock.packets_in_flight + acked;
        } else if prev_state >= CaState::Recovery && state < CaState::Recovery {
            cwnd = cwnd.max(self.prior_cwnd);
            self.packet_conservation = false;
        }
        self.prev_ca_state = state;
        if self.packet_conservation {
            return (true, cwnd.max(sock.packets_in_flight + acked));
        }
        (false, cwnd)
    }

    /// bbr_set_cwnd.
    fn set_cwnd(
        &mut self,
        sock: &SockView,
        window: &mut Window,
        rate: &RateSample,
        acked: u32,
        bw: u32,
        gain: u32,
    ) {
        let mut cwnd = window.cwnd;
        if acked > 0 {
            let (conserving, recovered) =
                self.set_cwnd_to_recover_or_restore(sock, window, rate, acked);
            cwnd = recovered;
            if !conserving {
                let mut target = self.bdp(bw, gain);
                target = target.saturating_add(self.ack_aggregation_cwnd());
                target = self.quantization_budget(sock, window, target);
                if self.full_bw_reached {
                    cwnd = cwnd.saturating_add(acked).min(target);
                } else if cwnd < target || sock.delivered < INIT_CWND {
                    cwnd = cwnd.saturating_add(acked);
                }
                cwnd = cwnd.max(CWND_MIN_TARGET);
            }
        }
        window.cwnd = cwnd.min(window.cwnd_clamp);
        if self.mode == Mode::ProbeRtt {
            window.cwnd = window.cwnd.min(CWND_MIN_TARGET);
        }
    }

    /// bbr_is_next_cycle_phase.
    fn is_next_cycle_phase(&self, sock: &SockView, window: &Window, rate: &RateSample) -> bool {
        let is_full_length = micros(sock.delivered_stamp).saturating_sub(self.cycle_stamp)
            > u64::from(self.min_rtt_us);
        if self.pacing_gain == BBR_UNIT {
            return is_full_length;
        }
        let inflight = self.packets_in_net_at_edt(sock, window, rate.prior_in_flight);
        let bw = self.max_bw();
        if self.pacing_gain > BBR_UNIT {
            return is_full_length
                && (rate.losses > 0
                    || inflight >= self.inflight(sock, window, bw, self.pacing_gain));
        }
        is_full_length || inflight <= self.inflight(sock, window, bw, BBR_UNIT)
    }

    /// bbr_advance_cycle_phase.
    fn advance_cycle_phase(&mut self, sock: &SockView) {
        self.cycle_index = (self.cycle_index + 1) & (CYCLE_LEN - 1);
        self.cycle_stamp = micros(sock.delivered_stamp);
    }

    /// bbr_update_cycle_phase.
    fn update_cycle_phase(&mut self, sock: &SockView, window: &Window, rate: &RateSample) {
        if self.mode == Mode::ProbeBw && self.is_next_cycle_phase(sock, window, rate) {
            self.advance_cycle_phase(sock);
        }
    }

    /// prandom_u32_max(CYCLE_RAND).
    fn random_phase(&mut self) -> u32 {
        // xorshift32: any uniform source will do; the kernel's is not reproducible either.
        let mut x = self.random.max(1);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.random = x;
        ((u64::from(x) * u64::from(CYCLE_RAND)) >> 32) as u32
    }

    /// bbr_reset_probe_bw_mode: a random starting phase other than the 0.75 one, then
    /// the next phase.
    fn reset_probe_bw_mode(&mut self, sock: &SockView) {
        self.mode = Mode::ProbeBw;
        self.cycle_index = CYCLE_LEN - 1 - self.random_phase();
        self.advance_cycle_phase(sock);
    }

    /// bbr_reset_mode.
    fn reset_mode(&mut self, sock: &SockView) {
        if !self.full_bw_reached {
            self.mode = Mode::Startup;
        } else {
            self.reset_probe_bw_mode(sock);
        }
    }

    /// bbr_reset_lt_bw_sampling_interval.
    fn reset_lt_interval(&mut self, sock: &SockView) {
        self.lt_last_stamp = (micros(sock.delivered_stamp) / 1000) as u32;
        self.lt_last_delivered = sock.delivered;
        self.lt_last_lost = sock.lost;
        self.lt_rtt_count = 0;
    }

    /// bbr_reset_lt_bw_sampling.
    fn reset_lt_sampling(&mut self, sock: &SockView) {
        self.lt_bw = 0;
        self.lt_use_bw = false;
        self.lt_is_sampling = false;
        self.reset_lt_interval(sock);
    }

    /// bbr_lt_bw_interval_done: two intervals of consistent bw mean a policer.
    fn lt_interval_done(&mut self, sock: &SockView, bw: u32) {
        if self.lt_bw != 0 {
            let diff = bw.abs_diff(self.lt_bw);
            if u64::from(diff) * u64::from(BBR_UNIT)
                <= u64::from(LT_BW_RATIO) * u64::from(self.lt_bw)
                || Self::rate_bytes_per_sec(sock, u64::from(diff), BBR_UNIT) <= LT_BW_DIFF
            {
                self.lt_bw = ((u64::from(bw) + u64::from(self.lt_bw)) >> 1) as u32;
                self.lt_use_bw = true;
                self.pacing_gain = BBR_UNIT;
                self.lt_rtt_count = 0;
                return;
            }
        }
        self.lt_bw = bw;
        self.reset_lt_interval(sock);
    }

    /// bbr_lt_bw_sampling.
    fn lt_bw_sampling(&mut self, sock: &SockView, rate: &RateSample) {
        if self.lt_use_bw {
            if self.mode == Mode::ProbeBw && self.round_start {
                self.lt_rtt_count += 1;
                if self.lt_rtt_count >= LT_BW_MAX_RTTS {
                    self.reset_lt_sampling(sock);
                    self.reset_probe_bw_mode(sock);
                }
            }
            return;
        }
        // "Wait for the first loss before sampling".
        if !self.lt_is_sampling {
            if rate.losses == 0 {
                return;
            }
            self.reset_lt_interval(sock);
            self.lt_is_sampling = true;
        }
        if rate.is_app_limited {
            self.reset_lt_sampling(sock);
            return;
        }
        if self.round_start {
            self.lt_rtt_count = (self.lt_rtt_count + 1) & 0x7f;
        }
        if self.lt_rtt_count < LT_INTERVAL_MIN_RTTS {
            return;
        }
        if self.lt_rtt_count > 4 * LT_INTERVAL_MIN_RTTS {
            self.reset_lt_sampling(sock);
            return;
        }
        if rate.losses == 0 {
            return;
        }
        let lost = sock.lost.wrapping_sub(self.lt_last_lost);
        let delivered = sock.delivered.wrapping_sub(self.lt_last_delivered);
        if delivered == 0
            || u64::from(lost) << BBR_SCALE < u64::from(LT_LOSS_THRESH) * u64::from(delivered)
        {
            return;
        }
        let t = ((micros(sock.delivered_stamp) / 1000) as u32).wrapping_sub(self.lt_last_stamp);
        if (t as i32) < 1 {
            return;
        }
        if t >= u32::MAX / 1000 {
            self.reset_lt_sampling(sock);
            return;
        }
        let t = u64::from(t) * 1000;
        let bw = u64::from(delivered) * BW_UNIT / t;
        self.lt_interval_done(sock, bw.min(u64::from(u32::MAX)) as u32);
    }

    /// bbr_update_bw: rounds counted by delivery, the max filter fed.
    fn update_bw(&mut self, sock: &SockView, rate: &RateSample) {
        self.round_start = false;
        if rate.delivered < 0 || rate.interval_us <= 0 {
            return;
        }
        if !before(rate.prior_delivered, self.next_rtt_delivered) {
            self.next_rtt_delivered = sock.delivered;
            self.rtt_count = self.rtt_count.wrapping_add(1);
            self.round_start = true;
            self.packet_conservation = false;
        }
        self.lt_bw_sampling(sock, rate);
        let bw = (rate.delivered as u64 * BW_UNIT / rate.interval_us as u64)
            .min(u64::from(u32::MAX)) as u32;
        if !rate.is_app_limited || bw >= self.max_bw() {
            self.bw.running_max(BW_RTTS, self.rtt_count, bw);
        }
    }

    /// bbr_update_ack_aggregation.
    fn update_ack_aggregation(&mut self, sock: &SockView, window: &Window, rate: &RateSample) {
        if EXTRA_ACKED_GAIN == 0
            || rate.acked_sacked == 0
            || rate.delivered < 0
            || rate.interval_us <= 0
        {
            return;
        }
        if self.round_start {
            self.extra_acked_win_rtts = (self.extra_acked_win_rtts + 1).min(0x1f);
            if self.extra_acked_win_rtts >= EXTRA_ACKED_WIN_RTTS {
                self.extra_acked_win_rtts = 0;
                self.extra_acked_win_index = 1 - self.extra_acked_win_index;
                self.extra_acked[self.extra_acked_win_index] = 0;
            }
        }
        let epoch_us = micros(sock.delivered_stamp).saturating_sub(self.ack_epoch_stamp) as u32;
        let mut expected_acked = ((u64::from(self.bw()) * u64::from(epoch_us)) / BW_UNIT) as u32;
        if self.ack_epoch_acked <= expected_acked
            || self.ack_epoch_acked + rate.acked_sacked >= ACK_EPOCH_ACKED_RESET_THRESH
        {
            self.ack_epoch_acked = 0;
            self.ack_epoch_stamp = micros(sock.delivered_stamp);
            expected_acked = 0;
        }
        self.ack_epoch_acked = (self.ack_epoch_acked + rate.acked_sacked).min(0xfffff);
        let extra = (self.ack_epoch_acked - expected_acked).min(window.cwnd);
        let slot = &mut self.extra_acked[self.extra_acked_win_index];
        if extra > u32::from(*slot) {
            *slot = extra.min(u32::from(u16::MAX)) as u16;
        }
    }

    /// bbr_check_full_bw_reached: three rounds without 25% growth fill the pipe.
    fn check_full_bw_reached(&mut self, rate: &RateSample) {
        if self.full_bw_reached || !self.round_start || rate.is_app_limited {
            return;
        }
        let threshold = (u64::from(self.full_bw) * u64::from(FULL_BW_THRESH)) >> BBR_SCALE;
        if u64::from(self.max_bw()) >= threshold {
            self.full_bw = self.max_bw();
            self.full_bw_count = 0;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_reached = self.full_bw_count >= FULL_BW_COUNT;
    }

    /// bbr_check_drain.
    fn check_drain(&mut self, sock: &SockView, window: &mut Window) {
        if self.mode == Mode::Startup && self.full_bw_reached {
            self.mode = Mode::Drain;
            window.ssthresh = self.inflight(sock, window, self.max_bw(), BBR_UNIT);
        }
        if self.mode == Mode::Drain
            && self.packets_in_net_at_edt(sock, window, sock.packets_in_flight)
                <= self.inflight(sock, window, self.max_bw(), BBR_UNIT)
        {
            self.reset_probe_bw_mode(sock);
        }
    }

    /// bbr_check_probe_rtt_done.
    fn check_probe_rtt_done(&mut self, sock: &SockView, window: &mut Window) {
        let now = jiffies(sock.now);
        if !(self.probe_rtt_done_stamp != 0 && after(now, self.probe_rtt_done_stamp)) {
            return;
        }
        self.min_rtt_stamp = now;
        window.cwnd = window.cwnd.max(self.prior_cwnd);
        self.reset_mode(sock);
    }

    /// bbr_update_min_rtt: the 10 s min filter and PROBE_RTT.
    fn update_min_rtt(&mut self, sock: &SockView, window: &mut Window, rate: &RateSample) {
        let now = jiffies(sock.now);
        let filter_expired = after(now, self.min_rtt_stamp.wrapping_add(MIN_RTT_WIN_SEC * HZ));
        if rate.rtt_us >= 0
            && (rate.rtt_us <= i64::from(self.min_rtt_us)
                || (filter_expired && !rate.is_ack_delayed))
        {
            self.min_rtt_us = rate.rtt_us.min(i64::from(u32::MAX)) as u32;
            self.min_rtt_stamp = now;
        }
        if PROBE_RTT_MODE_MS > 0
            && filter_expired
            && !self.idle_restart
            && self.mode != Mode::ProbeRtt
        {
            self.mode = Mode::ProbeRtt;
            self.save_cwnd(window);
            self.probe_rtt_done_stamp = 0;
        }
        if self.mode == Mode::ProbeRtt {
            // "Ignore low rate samples during this mode."
            let mark = sock.delivered.wrapping_add(sock.packets_in_flight);
            window.app_limited_mark = Some(if mark == 0 { 1 } else { mark });
            if self.probe_rtt_done_stamp == 0 && sock.packets_in_flight <= CWND_MIN_TARGET {
                // msecs_to_jiffies(200) at HZ 250.
                let stamp = now.wrapping_add((PROBE_RTT_MODE_MS * HZ).div_ceil(1000));
                self.probe_rtt_done_stamp = stamp.max(1);
                self.probe_rtt_round_done = false;
                self.next_rtt_delivered = sock.delivered;
            } else if self.probe_rtt_done_stamp != 0 {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done {
                    self.check_probe_rtt_done(sock, window);
                }
            }
        }
        if rate.delivered > 0 {
            self.idle_restart = false;
        }
    }

    /// bbr_update_gains.
    fn update_gains(&mut self) {
        let (pacing, cwnd) = match self.mode {
            Mode::Startup => (HIGH_GAIN, HIGH_GAIN),
            Mode::Drain => (DRAIN_GAIN, HIGH_GAIN),
            Mode::ProbeBw => (
                if self.lt_use_bw {
                    BBR_UNIT
                } else {
                    PACING_GAIN[self.cycle_index as usize]
                },
                CWND_GAIN,
            ),
            Mode::ProbeRtt => (BBR_UNIT, BBR_UNIT),
        };
        self.pacing_gain = pacing;
        self.cwnd_gain = cwnd;
    }

    /// bbr_update_model.
    fn update_model(&mut self, sock: &SockView, window: &mut Window, rate: &RateSample) {
        self.update_bw(sock, rate);
        self.update_ack_aggregation(sock, window, rate);
        self.update_cycle_phase(sock, window, rate);
        self.check_full_bw_reached(rate);
        self.check_drain(sock, window);
        self.update_min_rtt(sock, window, rate);
        self.update_gains();
    }
}

impl CongestionOps for Bbr {
    fn name(&self) -> &'static str {
        "bbr"
    }

    /// bbr_init.
    fn init(&mut self, sock: &SockView, window: &mut Window) {
        // Everything but the gains is set below, as bbr_init does.
        let random = self.random ^ sock.snd_nxt.0.rotate_left(7) ^ sock.now.as_nanos() as u32;
        *self = Bbr {
            random,
            pacing_gain: self.pacing_gain,
            cwnd_gain: self.cwnd_gain,
            ..Bbr::default()
        };
        self.prior_cwnd = 0;
        window.ssthresh = INFINITE_SSTHRESH;
        self.rtt_count = 0;
        self.next_rtt_delivered = sock.delivered;
        self.prev_ca_state = CaState::Open;
        self.packet_conservation = false;
        self.probe_rtt_done_stamp = 0;
        self.probe_rtt_round_done = false;
        self.min_rtt_us = sock.min_rtt.map_or(u32::MAX, |rtt| {
            rtt.as_micros().min(u128::from(u32::MAX)) as u32
        });
        self.min_rtt_stamp = jiffies(sock.now);
        self.bw.reset(self.rtt_count, 0);
        self.has_seen_rtt = false;
        self.init_pacing_rate_from_rtt(sock, window);
        self.round_start = false;
        self.idle_restart = false;
        self.full_bw_reached = false;
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.cycle_stamp = 0;
        self.cycle_index = 0;
        self.reset_lt_sampling(sock);
        self.mode = Mode::Startup;
        self.ack_epoch_stamp = micros(sock.now);
        self.ack_epoch_acked = 0;
        self.extra_acked_win_rtts = 0;
        self.extra_acked_win_index = 0;
        self.extra_acked = [0; 2];
        // cmpxchg(&sk->sk_pacing_status, SK_PACING_NONE, SK_PACING_NEEDED).
        window.pacing_status = PacingStatus::Needed;
    }

    /// bbr_ssthresh: the window is saved, the threshold unchanged.
    fn ssthresh(&mut self, _sock: &SockView, window: &mut Window) -> u32 {
        self.save_cwnd(window);
        window.ssthresh
    }

    fn has_cong_control(&self) -> bool {
        true
    }

    /// bbr_main.
    fn cong_control(&mut self, sock: &SockView, window: &mut Window, rate: &RateSample) {
        self.update_model(sock, window, rate);
        let bw = self.bw();
        self.set_pacing_rate(sock, window, bw, self.pacing_gain);
        self.set_cwnd(sock, window, rate, rate.acked_sacked, bw, self.cwnd_gain);
    }

    /// bbr_set_state: a timeout ends the round and counts as a loss for the policer test.
    fn set_state(&mut self, sock: &SockView, _window: &mut Window, state: CaState) {
        if state == CaState::Loss {
            let rate = RateSample {
                losses: 1,
                ..RateSample::default()
            };
            self.prev_ca_state = CaState::Loss;
            self.full_bw = 0;
            self.round_start = true;
            self.lt_bw_sampling(sock, &rate);
        }
    }

    /// bbr_cwnd_event: restarting from idle while app-limited paces at the estimate.
    fn cwnd_event(&mut self, sock: &SockView, window: &mut Window, event: CaEvent) {
        if event == CaEvent::TxStart && sock.app_limited {
            self.idle_restart = true;
            self.ack_epoch_stamp = micros(sock.now);
            self.ack_epoch_acked = 0;
            if self.mode == Mode::ProbeBw {
                let bw = self.bw();
                self.set_pacing_rate(sock, window, bw, BBR_UNIT);
            } else if self.mode == Mode::ProbeRtt {
                self.check_probe_rtt_done(sock, window);
            }
        }
    }

    /// bbr_undo_cwnd: a spurious slow-down resets full-pipe detection and the policer.
    fn undo_cwnd(&mut self, sock: &SockView, window: &mut Window) -> u32 {
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.reset_lt_sampling(sock);
        window.cwnd
    }

    /// bbr_sndbuf_expand.
    fn sndbuf_expand(&self) -> u32 {
        3
    }

    fn min_tso_segs(&self, window: &Window) -> Option<u32> {
        Some(Self::min_tso_segments(window))
    }

    /// bbr_get_info: struct tcp_bbr_info (bw in bytes/s split in two halves, min_rtt,
    /// pacing_gain, cwnd_gain).
    fn get_info(&self, sock: &SockView) -> Vec<u8> {
        let bw = (u128::from(self.bw()) * u128::from(sock.mss) * 1_000_000) >> BW_SCALE;
        let bw = bw.min(u128::from(u64::MAX)) as u64;
        let mut info = Vec::with_capacity(INFO_LEN);
        info.extend_from_slice(&(bw as u32).to_ne_bytes());
        info.extend_from_slice(&((bw >> 32) as u32).to_ne_bytes());
        info.extend_from_slice(&self.min_rtt_us.to_ne_bytes());
        info.extend_from_slice(&self.pacing_gain.to_ne_bytes());
        info.extend_from_slice(&self.cwnd_gain.to_ne_bytes());
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::seq::Seq;
    use crate::time::Instant;
    use core::time::Duration;

    fn sock(now: Instant) -> SockView {
        SockView {
            now,
            mss: 1448,
            snd_una: Seq(0),
            snd_nxt: Seq(0),
            packets_in_flight: 0,
            delivered: 1,
            delivered_stamp: now,
            lost: 0,
            srtt: Some(Duration::from_millis(10)),
            min_rtt: Some(Duration::from_millis(10)),
            last_data_sent: now,
            cwnd_limited: true,
            ca_state: CaState::Open,
            app_limited: false,
            next_departure: now,
            gso_max_size: 65536,
        }
    }

    fn window() -> Window {
        Window::for_test(10, INFINITE_SSTHRESH)
    }

    #[test]
    fn gains_and_initial_pacing_rate() {
        assert_eq!(HIGH_GAIN, 739);
        assert_eq!(DRAIN_GAIN, 88);
        let mut bbr = Bbr::default();
        let mut w = window();
        bbr.init(&sock(Instant::from_millis(5)), &mut w);
        assert_eq!(w.pacing_status, PacingStatus::Needed);
        // bw = 10 << 24 / 10000 µs; × 1448 × 739 >> 8 × 990000 >> 24.
        let bw = (10u64 << 24) / 10_000;
        let expected = (((bw * 1448 * 739) >> 8) * 990_000) >> 24;
        assert_eq!(w.pacing_rate, expected);
        assert_eq!(bbr.min_rtt_us, 10_000);
        let info = bbr.get_info(&sock(Instant::from_millis(5)));
        assert_eq!(info.len(), INFO_LEN);
    }

    /// One ACK per round delivering `per_round` packets over `interval_us`.
    fn round(
        bbr: &mut Bbr,
        w: &mut Window,
        now: Instant,
        delivered: &mut u32,
        per_round: u32,
        interval_us: i64,
        rtt_us: i64,
    ) {
        let prior = *delivered;
        *delivered += per_round;
        let view = SockView {
            delivered: *delivered,
            delivered_stamp: now,
            packets_in_flight: per_round,
            ..sock(now)
        };
        let rate = RateSample {
            prior_delivered: prior,
            delivered: per_round as i32,
            interval_us,
            rtt_us,
            acked_sacked: per_round,
            prior_in_flight: per_round,
            ..RateSample::default()
        };
        bbr.cong_control(&view, w, &rate);
    }

    #[test]
    fn startup_ends_after_three_rounds_without_growth() {
        let start = Instant::from_millis(100);
        let mut bbr = Bbr::default();
        let mut w = window();
        bbr.init(&sock(start), &mut w);
        let mut delivered = 1;
        // Growing by more than 25% per round: still STARTUP.
        for (i, per_round) in [10, 20, 40, 80].into_iter().enumerate() {
            let now = start + Duration::from_millis(10 * (i as u64 + 1));
            round(
                &mut bbr,
                &mut w,
                now,
                &mut delivered,
                per_round,
                10_000,
                10_000,
            );
            assert_eq!(bbr.mode, Mode::Startup);
            assert_eq!(bbr.pacing_gain, HIGH_GAIN);
        }
        // Flat: the first flat round sets no record, the third one fills the pipe.
        for i in 0..3u64 {
            let now = start + Duration::from_millis(50 + 10 * i);
            assert!(!bbr.full_bw_reached, "round {i}");
            round(&mut bbr, &mut w, now, &mut delivered, 90, 10_000, 10_000);
        }
        assert!(bbr.full_bw_reached);
        assert_ne!(bbr.mode, Mode::Startup);
        // DRAIN set ssthresh to one BDP plus the quantization budget.
        assert!(w.ssthresh < INFINITE_SSTHRESH);
    }

    #[test]
    fn probe_rtt_after_ten_seconds_without_a_lower_rtt() {
        let start = Instant::from_millis(100);
        let mut bbr = Bbr::default();
        let mut w = window();
        bbr.init(&sock(start), &mut w);
        let mut delivered = 1;
        let mut now = start;
        // RTT samples stay above the 10 ms minimum from the handshake.
        while now < start + Duration::from_millis(10_000) {
            now = now + Duration::from_millis(20);
            round(&mut bbr, &mut w, now, &mut delivered, 20, 20_000, 20_000);
            assert_ne!(bbr.mode, Mode::ProbeRtt, "at {:?}", now);
        }
        now = now + Duration::from_millis(20);
        round(&mut bbr, &mut w, now, &mut delivered, 20, 20_000, 20_000);
        assert_eq!(bbr.mode, Mode::ProbeRtt);
        assert_eq!((bbr.pacing_gain, bbr.cwnd_gain), (BBR_UNIT, BBR_UNIT));
        assert!(w.cwnd <= CWND_MIN_TARGET);
        // The expired filter took the new sample.
        assert_eq!(bbr.min_rtt_us, 20_000);
        // 200 ms with at most four packets in flight and a round, then back.
        for _ in 0..15 {
            now = now + Duration::from_millis(20);
            let prior = delivered;
            delivered += 4;
            let view = SockView {
                delivered,
                delivered_stamp: now,
                packets_in_flight: 4,
                ..sock(now)
            };
            let rate = RateSample {
                prior_delivered: prior,
                delivered: 4,
                interval_us: 20_000,
                rtt_us: 20_000,
                acked_sacked: 4,
                prior_in_flight: 4,
                ..RateSample::default()
            };
            bbr.cong_control(&view, &mut w, &rate);
        }
        assert_ne!(bbr.mode, Mode::ProbeRtt);
    }

    #[test]
    fn bdp_rounds_up() {
        let mut bbr = Bbr {
            min_rtt_us: 1000,
            ..Bbr::default()
        };
        // 1 packet per 100 µs over 1 ms with gain 1: 10 packets.
        let bw = (BW_UNIT / 100) as u32;
        assert_eq!(bbr.bdp(bw, BBR_UNIT), 10);
        bbr.min_rtt_us = u32::MAX;
        assert_eq!(bbr.bdp(bw, BBR_UNIT), INIT_CWND);
    }
}
