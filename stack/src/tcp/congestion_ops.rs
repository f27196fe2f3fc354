//! The congestion-control interface (struct tcp_congestion_ops, include/net/tcp.h) and the
//! algorithms behind it, chosen by their TCP_CONGESTION names: Reno (tcp_cong.c), CUBIC with
//! HyStart (tcp_cubic.c, `cubic.rs`, `hystart.rs`) and BBR (tcp_bbr.c, `bbr.rs`).
//!
//! As in Linux the algorithms work in packets: `Window` holds tp->snd_cwnd, snd_ssthresh and
//! snd_cwnd_cnt in segments of the current MSS; `Congestion` (bytes) converts at its edge.
//! What an algorithm may read of the connection is a `SockView`, refreshed by the connection
//! before every call (`congestion_hooks.rs`).

use core::time::Duration;

use super::bbr::Bbr;
use super::cubic::CubicTcp;
use super::seq::Seq;
use crate::time::Instant;

/// TCP_INFINITE_SSTHRESH.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// The algorithms implemented, by their TCP_CONGESTION names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Cubic,
    Reno,
    Bbr,
}

impl Algorithm {
    /// Linux's built-in default (CONFIG_DEFAULT_TCP_CONG = "cubic"), used only when the
    /// host's net.ipv4.tcp_congestion_control names nothing this stack implements.
    pub const DEFAULT: Algorithm = Algorithm::Cubic;

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Cubic => "cubic",
            Algorithm::Reno => "reno",
            Algorithm::Bbr => "bbr",
        }
    }

    /// tcp_ca_find: an exact, case-sensitive match of the whole name.
    pub fn from_name(name: &[u8]) -> Option<Algorithm> {
        match name {
            b"cubic" => Some(Algorithm::Cubic),
            b"reno" => Some(Algorithm::Reno),
            b"bbr" => Some(Algorithm::Bbr),
            _ => None,
        }
    }
}

/// enum tcp_ca_state (icsk_ca_state), the value TCP_INFO reports as tcpi_ca_state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CaState {
    #[default]
    Open = 0,
    Disorder = 1,
    Cwr = 2,
    Recovery = 3,
    Loss = 4,
}

/// enum tcp_ca_event: the ones this stack raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaEvent {
    /// CA_EVENT_TX_START: first transmission while nothing is in flight (tcp_event_data_sent).
    TxStart,
    /// CA_EVENT_LOSS: tcp_enter_loss.
    Loss,
}

/// sk_pacing_status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacingStatus {
    /// SK_PACING_NONE: sk_pacing_rate is computed but nothing waits for it.
    #[default]
    None,
    /// SK_PACING_NEEDED: TCP paces itself (no fq qdisc here: tcp_needs_internal_pacing).
    Needed,
}

/// The tcp_sock values an algorithm reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct SockView {
    /// tp->tcp_mstamp / tcp_clock_cache.
    pub now: Instant,
    /// tp->mss_cache.
    pub mss: u32,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    /// tcp_packets_in_flight.
    pub packets_in_flight: u32,
    /// tp->delivered and tp->delivered_mstamp.
    pub delivered: u32,
    pub delivered_stamp: Instant,
    /// tp->lost.
    pub lost: u32,
    /// tp->srtt_us (None: no sample yet) and tcp_min_rtt.
    pub srtt: Option<Duration>,
    pub min_rtt: Option<Duration>,
    /// tp->lsndtime before the current transmission.
    pub last_data_sent: Instant,
    /// tcp_is_cwnd_limited.
    pub cwnd_limited: bool,
    /// icsk_ca_state.
    pub ca_state: CaState,
    /// tp->app_limited != 0.
    pub app_limited: bool,
    /// tp->tcp_wstamp_ns: the earliest departure time of the next segment.
    pub next_departure: Instant,
    /// sk->sk_gso_max_size (hystart_ack_delay).
    pub gso_max_size: u32,
}

/// The tcp_sock values an algorithm writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// tp->snd_cwnd, in segments.
    pub cwnd: u32,
    /// tp->snd_ssthresh, in segments (INFINITE_SSTHRESH: none).
    pub ssthresh: u32,
    /// tp->snd_cwnd_cnt.
    pub cwnd_count: u32,
    /// tp->snd_cwnd_clamp.
    pub cwnd_clamp: u32,
    /// tp->prior_cwnd: the window before the last reduction (tcp_reno_undo_cwnd).
    pub prior_cwnd: u32,
    /// A new tp->app_limited mark (BBR's PROBE_RTT ignores its low-rate samples).
    pub app_limited_mark: Option<u32>,
    /// sk->sk_pacing_rate (bytes/s), sk->sk_max_pacing_rate, sk->sk_pacing_status.
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub pacing_status: PacingStatus,
}

#[cfg(test)]
impl Window {
    /// A window of `cwnd` segments and `ssthresh`, with no clamp, no pacing rate chosen yet
    /// and nothing else set: where the algorithms' unit tests start.
    pub(crate) fn for_test(cwnd: u32, ssthresh: u32) -> Window {
        Window {
            cwnd,
            ssthresh,
            cwnd_count: 0,
            cwnd_clamp: u32::MAX,
            prior_cwnd: 0,
            app_limited_mark: None,
            pacing_rate: u64::MAX,
            max_pacing_rate: u64::MAX,
            pacing_status: PacingStatus::None,
        }
    }
}

/// struct rate_sample, as tcp_ack hands it to cong_control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSample {
    /// tx.delivered of the most recently delivered packet.
    pub prior_delivered: u32,
    /// Packets delivered over the interval (-1: no valid sample).
    pub delivered: i32,
    /// The interval in µs (-1: no valid sample).
    pub interval_us: i64,
    /// RTT of the last (S)ACKed packet (-1: none).
    pub rtt_us: i64,
    /// Packets marked lost by this ACK.
    pub losses: u32,
    /// Packets newly (S)ACKed by this ACK.
    pub acked_sacked: u32,
    /// tcp_packets_in_flight before this ACK.
    pub prior_in_flight: u32,
    pub is_app_limited: bool,
    /// FLAG_ACK_MAYBE_DELAYED.
    pub is_ack_delayed: bool,
}

impl Default for RateSample {
    fn default() -> Self {
        RateSample {
            prior_delivered: 0,
            delivered: -1,
            interval_us: -1,
            rtt_us: -1,
            losses: 0,
            acked_sacked: 0,
            prior_in_flight: 0,
            is_app_limited: false,
            is_ack_delayed: false,
        }
    }
}

/// struct ack_sample (pkts_acked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckSample {
    pub packets_acked: u32,
    /// -1: no RTT from this ACK.
    pub rtt_us: i64,
}

/// struct tcp_congestion_ops. Defaults are what tcp_cong.c does for an algorithm that leaves
/// the hook NULL.
pub trait CongestionOps {
    fn name(&self) -> &'static str;
    /// init: when the connection is established, or when TCP_CONGESTION changes the
    /// algorithm of a connected socket (tcp_init_congestion_control).
    fn init(&mut self, _sock: &SockView, _window: &mut Window) {}
    /// ssthresh: the threshold after a loss (mandatory in Linux).
    fn ssthresh(&mut self, sock: &SockView, window: &mut Window) -> u32;
    /// cong_avoid: grow the window on an ACK (algorithms without cong_control).
    fn cong_avoid(&mut self, _sock: &SockView, _window: &mut Window, _acked: u32) {}
    /// cong_control: whether the algorithm replaces tcp_cong_avoid, tcp_cwnd_reduction and
    /// tcp_update_pacing_rate with its own control (BBR).
    fn has_cong_control(&self) -> bool {
        false
    }
    fn cong_control(&mut self, _sock: &SockView, _window: &mut Window, _rate: &RateSample) {}
    fn set_state(&mut self, _sock: &SockView, _window: &mut Window, _state: CaState) {}
    fn cwnd_event(&mut self, _sock: &SockView, _window: &mut Window, _event: CaEvent) {}
    fn pkts_acked(&mut self, _sock: &SockView, _window: &mut Window, _sample: &AckSample) {}
    /// undo_cwnd: the window after a spurious reduction is undone (tcp_reno_undo_cwnd).
    fn undo_cwnd(&mut self, _sock: &SockView, window: &mut Window) -> u32 {
        window.cwnd.max(window.prior_cwnd)
    }
    /// sndbuf_expand: how many windows the send buffer holds (tcp_sndbuf_expand: 2).
    fn sndbuf_expand(&self) -> u32 {
        2
    }
    /// min_tso_segs (None: net.ipv4.tcp_min_tso_segs).
    fn min_tso_segs(&self, _window: &Window) -> Option<u32> {
        None
    }
    /// get_info for TCP_CC_INFO: the bytes of union tcp_cc_info it fills (none: length 0).
    fn get_info(&self, _sock: &SockView) -> Vec<u8> {
        Vec::new()
    }
}

/// tcp_slow_start: grow by the packets acked up to ssthresh; returns what is left over.
pub fn slow_start(window: &mut Window, acked: u32) -> u32 {
    let cwnd = window.cwnd.saturating_add(acked).min(window.ssthresh);
    let used = cwnd.saturating_sub(window.cwnd);
    window.cwnd = cwnd.min(window.cwnd_clamp);
    acked - used.min(acked)
}

/// tcp_cong_avoid_ai: one segment more per `w` packets acked.
pub fn congestion_avoidance_increase(window: &mut Window, w: u32, acked: u32) {
    let w = w.max(1);
    if window.cwnd_count >= w {
        window.cwnd_count = 0;
        window.cwnd = window.cwnd.saturating_add(1);
    }
    window.cwnd_count = window.cwnd_count.saturating_add(acked);
    if window.cwnd_count >= w {
        let delta = window.cwnd_count / w;
        window.cwnd_count -= delta * w;
        window.cwnd = window.cwnd.saturating_add(delta);
    }
    window.cwnd = window.cwnd.min(window.cwnd_clamp);
}

/// tcp_in_slow_start.
pub fn in_slow_start(window: &Window) -> bool {
    window.cwnd < window.ssthresh
}

/// tcp_reno: tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd.
#[derive(Debug, Clone, Default)]
pub struct Reno;

impl CongestionOps for Reno {
    fn name(&self) -> &'static str {
        "reno"
    }

    /// tcp_reno_ssthresh: half the window, at least two segments.
    fn ssthresh(&mut self, _sock: &SockView, window: &mut Window) -> u32 {
        (window.cwnd >> 1).max(2)
    }

    /// tcp_reno_cong_avoid.
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
        let w = window.cwnd;
        congestion_avoidance_increase(window, w, acked);
    }
}

/// icsk_ca_ops plus icsk_ca_priv: the algorithm a connection runs and its private state.
#[derive(Debug, Clone)]
pub enum Controller {
    Reno(Reno),
    Cubic(Box<CubicTcp>),
    Bbr(Box<Bbr>),
}

impl Controller {
    /// tcp_assign_congestion_control / tcp_reinit_congestion_control: fresh, zeroed state.
    pub fn new(algorithm: Algorithm) -> Controller {
        match algorithm {
            Algorithm::Reno => Controller::Reno(Reno),
            Algorithm::Cubic => Controller::Cubic(Box::default()),
            Algorithm::Bbr => Controller::Bbr(Box::default()),
        }
    }

    pub fn ops(&mut self) -> &mut dyn CongestionOps {
        match self {
            Controller::Reno(reno) => reno,
            Controller::Cubic(cubic) => cubic.as_mut(),
            Controller::Bbr(bbr) => bbr.as_mut(),
        }
    }

    pub fn ops_ref(&self) -> &dyn CongestionOps {
        match self {
            Controller::Reno(reno) => reno,
            Controller::Cubic(cubic) => cubic.as_ref(),
            Controller::Bbr(bbr) => bbr.as_ref(),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Controller::Reno(_) => Algorithm::Reno,
            Controller::Cubic(_) => Algorithm::Cubic,
            Controller::Bbr(_) => Algorithm::Bbr,
        }
    }

    pub fn has_cong_control(&self) -> bool {
        self.ops_ref().has_cong_control()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(cwnd: u32, ssthresh: u32) -> Window {
        Window::for_test(cwnd, ssthresh)
    }

    #[test]
    fn names_round_trip() {
        for algorithm in [Algorithm::Reno, Algorithm::Cubic, Algorithm::Bbr] {
            assert_eq!(
                Algorithm::from_name(algorithm.name().as_bytes()),
                Some(algorithm)
            );
            assert_eq!(Controller::new(algorithm).ops().name(), algorithm.name());
        }
        assert_eq!(Algorithm::from_name(b"BBR"), None);
        assert_eq!(Algorithm::from_name(b""), None);
    }

    #[test]
    fn slow_start_stops_at_ssthresh() {
        let mut w = window(10, 12);
        assert_eq!(slow_start(&mut w, 5), 3);
        assert_eq!(w.cwnd, 12);
        congestion_avoidance_increase(&mut w, 12, 3);
        congestion_avoidance_increase(&mut w, 12, 9);
        assert_eq!(w.cwnd, 13);
    }
}
