//! Where a connection calls its congestion-control algorithm (`congestion_ops.rs`), at the
//! points Linux does: tcp_init_congestion_control when the connection is established,
//! pkts_acked / cong_avoid from tcp_ack (`Congestion::on_ack`), cong_control after
//! tcp_rate_gen (tcp_cong_control, for BBR), CA_EVENT_TX_START when data leaves an empty
//! pipe (tcp_event_data_sent), and the pacing gate of tcp_write_xmit (`pacing.rs`).

use super::congestion::Phase;
use super::congestion_ops::{Algorithm, CaEvent, CaState, Controller, SockView};
use super::rate::RateSample;
use super::state::State;
use super::tcb::Connection;
use super::timers::Timer;
use crate::time::Instant;

/// sk_gso_max_size on the shim's device (veth: GSO_LEGACY_MAX_SIZE).
const GSO_MAX_SIZE: u32 = 65536;

impl Connection {
    /// icsk_ca_state from the recovery phase (tcpi_ca_state).
    pub fn ca_state(&self) -> CaState {
        match self.congestion.phase {
            Phase::Open => CaState::Open,
            Phase::Disorder => CaState::Disorder,
            Phase::Cwr { .. } => CaState::Cwr,
            Phase::Recovery { .. } => CaState::Recovery,
            Phase::Loss { .. } => CaState::Loss,
        }
    }

    /// tcp_packets_in_flight, in segments.
    pub fn packets_in_flight(&self) -> u32 {
        // The scoreboard's count (`recovery.rs`).
        self.segments_in_flight()
    }

    /// What the algorithm may read of this connection now.
    fn congestion_view(&self, now: Instant) -> SockView {
        SockView {
            now,
            mss: self.mss.max(1),
            snd_una: self.snd_una,
            snd_nxt: self.snd_nxt,
            packets_in_flight: self.packets_in_flight(),
            delivered: self.rate.delivered,
            delivered_stamp: self.rate.delivered_stamp().unwrap_or(now),
            lost: self.congestion.lost_packets,
            srtt: self.rtt.smoothed,
            min_rtt: self.rtt.min,
            last_data_sent: self.stats.last_data_sent,
            cwnd_limited: self.congestion.sock.cwnd_limited,
            ca_state: self.ca_state(),
            app_limited: self.rate.is_app_limited(),
            next_departure: self.congestion.pacing.next_departure,
            gso_max_size: GSO_MAX_SIZE,
        }
    }

    pub fn refresh_congestion_view(&mut self, now: Instant) {
        self.congestion.sock = self.congestion_view(now);
        // tcp_update_pacing_rate keeps sk_pacing_rate current for the algorithms without
        // cong_control (HyStart's ACK-train cushion reads it).
        if !self.congestion.control.has_cong_control() {
            self.congestion.pacing.rate = self.pacing_rate();
        }
        if self.congestion.pacing.max_rate != self.settings.max_pacing_rate {
            self.congestion
                .pacing
                .set_max_rate(self.settings.max_pacing_rate);
        }
    }

    /// tcp_init_congestion_control (tcp_init_transfer): when the handshake completes, after
    /// its RTT sample. CUBIC starts HyStart's first round; BBR its model and pacing.
    ///
    /// The ACK that completed the handshake went through tcp_ack first, so cong_control
    /// already ran once on the zeroed state. There BBR's min_rtt filter (stamp 0) has
    /// expired, so bbr_main chose PROBE_RTT: its gains (1.0, 1.0) and its tp->app_limited
    /// mark survive bbr_init (tcp_init_transfer sets the initial window again). Measured: a
    /// new BBR connection's TCP_CC_INFO shows pacing_gain 256 and cwnd_gain 256.
    pub fn init_congestion_control(&mut self, now: Instant) {
        self.refresh_congestion_view(now);
        let mss = self.mss;
        if self.congestion.control.has_cong_control() {
            let (cwnd, ssthresh) = (self.congestion.cwnd, self.congestion.ssthresh);
            let rate = super::congestion_ops::RateSample::default();
            let (_, app_limited) = self.congestion.with_window(mss, |ops, sock, window| {
                ops.cong_control(sock, window, &rate)
            });
            if let Some(mark) = app_limited {
                self.rate.set_app_limited(mark);
            }
            self.congestion.cwnd = cwnd;
            self.congestion.ssthresh = ssthresh;
        }
        self.run_congestion_init(now);
    }

    /// ca_ops->init.
    fn run_congestion_init(&mut self, now: Instant) {
        self.refresh_congestion_view(now);
        let mss = self.mss;
        self.congestion
            .with_window(mss, |ops, sock, window| ops.init(sock, window));
    }

    /// tcp_reinit_congestion_control (TCP_CONGESTION on an open socket): the new algorithm
    /// starts from zeroed state, and its init runs unless the socket is closed or
    /// listening; the window, ssthresh and pacing state stay.
    pub fn reinit_congestion_control(&mut self, now: Instant, algorithm: Algorithm) {
        self.settings.congestion = algorithm;
        self.congestion.algorithm = algorithm;
        self.congestion.control = Controller::new(algorithm);
        if !matches!(self.state, State::Closed | State::Listen | State::SynSent) {
            self.run_congestion_init(now);
        }
    }

    /// The start of tcp_ack: what cong_control needs from before the ACK.
    pub fn congestion_ack_start(&mut self, now: Instant) {
        self.refresh_congestion_view(now);
        self.congestion.ack_rtt = None;
        // The estimator's last sample is cleared so that the end of the ACK sees whether
        // this ACK gave one (RttEstimator::sample never records zero).
        self.congestion.prior_last_rtt = core::mem::take(&mut self.rtt.last_sample);
        self.congestion.ack_prior_in_flight = self.packets_in_flight();
        self.congestion.ack_prior_lost = self.congestion.lost_packets;
    }

    /// tcp_cong_control after tcp_rate_gen: an algorithm with cong_control (BBR) sets the
    /// window and pacing rate from the rate sample, on every ACK, in every state.
    pub fn congestion_ack_end(&mut self, now: Instant, sample: &RateSample) {
        // tcp_ack_update_rtt: "rs->rtt_us = ca_rtt_us", the RTT of this ACK if any.
        if self.rtt.last_sample.is_zero() {
            self.rtt.last_sample = self.congestion.prior_last_rtt;
        } else {
            self.congestion.ack_rtt = Some(self.rtt.last_sample);
        }
        let mss = self.mss;
        if !self.congestion.control.has_cong_control() {
            self.refresh_congestion_view(now);
            self.congestion.complete_ack(mss);
            return;
        }
        let mut rate = self.rate.congestion_sample(now, sample, self.rtt.min);
        rate.rtt_us = self
            .congestion
            .ack_rtt
            .map_or(-1, |rtt| rtt.as_micros().min(i64::MAX as u128) as i64);
        rate.losses = self
            .congestion
            .lost_packets
            .wrapping_sub(self.congestion.ack_prior_lost);
        rate.prior_in_flight = self.congestion.ack_prior_in_flight;
        self.refresh_congestion_view(now);
        let (_, app_limited) = self.congestion.with_window(mss, |ops, sock, window| {
            ops.cong_control(sock, window, &rate)
        });
        if let Some(mark) = app_limited {
            self.rate.set_app_limited(mark);
        }
    }

    /// tcp_event_data_sent, before a data segment leaves: CA_EVENT_TX_START when nothing
    /// was in flight (CUBIC shifts its epoch past the idle time, BBR restarts from idle).
    pub fn congestion_before_data_sent(&mut self, now: Instant) {
        if self.packets_in_flight() != 0 {
            return;
        }
        self.refresh_congestion_view(now);
        let mss = self.mss;
        if let Some(mark) = self.congestion.ca_event(mss, CaEvent::TxStart) {
            self.rate.set_app_limited(mark);
        }
    }

    /// The pacing rate this connection sends at: the algorithm's (BBR), else
    /// tcp_update_pacing_rate's.
    pub fn pacing_rate(&self) -> u64 {
        if self.congestion.control.has_cong_control() {
            // SO_MAX_PACING_RATE lowered sk_pacing_rate when it was set (sk_setsockopt).
            return self
                .congestion
                .pacing
                .rate
                .min(self.settings.max_pacing_rate);
        }
        let mss = self.mss.max(1);
        let window = self.congestion.window(mss);
        super::pacing::window_pacing_rate(
            mss,
            window.cwnd,
            window.ssthresh,
            self.in_flight().div_ceil(mss),
            self.rtt.smoothed,
            self.settings.max_pacing_rate,
        )
    }

    /// tcp_update_skb_after_send for a data segment of `len` bytes just sent.
    pub fn pacing_after_data_sent(&mut self, now: Instant, len: u32) {
        let rate = self.pacing_rate();
        let segments_out = self.stats.data_segments_out;
        let mss = self.mss.max(1);
        // tcp_tso_segs: the algorithm's min_tso_segs, else net.ipv4.tcp_min_tso_segs (2).
        let window = self.congestion.window(mss);
        let min_segments = self
            .congestion
            .control
            .ops_ref()
            .min_tso_segs(&window)
            .unwrap_or(2);
        let min_rtt_us = self.rtt.min.map_or(u32::MAX, |rtt| {
            rtt.as_micros().min(u128::from(u32::MAX)) as u32
        });
        let tso = super::pacing::tso_segments(rate, min_rtt_us, GSO_MAX_SIZE, mss, min_segments);
        self.congestion
            .pacing
            .segment_sent(now, len, segments_out, rate, tso);
    }

    /// tcp_pacing_check: whether tcp_write_xmit must stop for pacing; if so the pacing timer
    /// is armed for the departure time.
    pub fn pacing_holds(&mut self, now: Instant) -> bool {
        let Some(at) = self.congestion.pacing.hold_until(now) else {
            return false;
        };
        if !self.timers.is_set(Timer::Pacing) {
            self.timers.set(Timer::Pacing, at);
        }
        true
    }

    /// TCP_CC_INFO: the algorithm's get_info (BBR: struct tcp_bbr_info; CUBIC and Reno have
    /// none, so the length is 0).
    pub fn congestion_info(&self) -> Vec<u8> {
        let view = SockView {
            mss: self.mss,
            ..self.congestion.sock
        };
        self.congestion.control.ops_ref().get_info(&view)
    }

    /// sndbuf_expand: how many windows tcp_sndbuf_expand provisions (BBR: 3).
    pub fn send_buffer_windows(&self) -> u32 {
        self.congestion.control.ops_ref().sndbuf_expand()
    }
}

/// TCP_CC_INFO on a socket with no connection: icsk_ca_priv is still zeroed, so BBR's
/// get_info reports zeros (bw, min_rtt and gains all 0).
pub fn unconnected_congestion_info(algorithm: Algorithm) -> Vec<u8> {
    Controller::new(algorithm)
        .ops_ref()
        .get_info(&SockView::default())
}
