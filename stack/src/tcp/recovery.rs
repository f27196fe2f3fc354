//! Loss recovery as Linux 6.18 runs it by default (tcp_recovery = 1, tcp_early_retrans = 3,
//! tcp_frto = 2, tcp_dsack = 1): the per-ACK state machine tcp_fastretrans_alert over the
//! congestion states Open, Disorder, Recovery and Loss, with RACK marking losses
//! (`rack.rs`; NewReno's tcp_newreno_mark_lost without SACK), PRR pacing the retransmissions
//! of fast recovery (`prr.rs`), undo of spurious reductions (`undo.rs`), F-RTO after a
//! timeout (`frto.rs`), tail loss probes (`loss_probe.rs`) and D-SACK (`dsack.rs`).
//! The scoreboard itself is the per-segment marks in `sent.rs`; windows are counted in
//! segments here, as tp->snd_cwnd is, and kept in bytes (segments × MSS) in `Congestion`.

use super::congestion::Phase;
use super::prr::Prr;
use super::rack::{Rack, WindowInputs};
use super::seq::Seq;
use super::tcb::{Connection, OutSegment};
use crate::time::Instant;

/// net.ipv4.tcp_reordering's default (the connection's start value comes from the host's
/// sysctl, `Recovery::new`).
pub const DEFAULT_REORDERING: u32 = 3;

/// The sender's recovery state beyond cwnd/ssthresh (the tcp_sock fields of the same
/// names).
#[derive(Debug, Clone)]
pub struct Recovery {
    /// tp->high_seq: SND.NXT when the current state began.
    pub high_seq: Seq,
    pub rack: Rack,
    /// tp->tlp_high_seq (None: no probe outstanding) and tp->tlp_retrans.
    pub tlp_high_seq: Option<Seq>,
    pub tlp_retrans: bool,
    pub prr: Prr,
    /// tp->undo_marker (None: 0), tp->undo_retrans, tp->prior_ssthresh (bytes, 0: none),
    /// and tp->retrans_stamp as a timestamp value (tcp_packet_delayed compares echoes).
    pub undo_marker: Option<Seq>,
    pub undo_retrans: i32,
    pub prior_ssthresh: u32,
    pub retrans_stamp: Option<u32>,
    /// tp->frto: the current timeout may still prove spurious (RFC 5682).
    pub frto: bool,
    /// tp->reordering, tp->reord_seen, tp->dsack_dups.
    pub reordering: u32,
    pub reord_seen: u32,
    pub dsack_dups: u32,
    /// Without SACK: duplicate ACKs counted as segments received (tcp_add_reno_sack).
    pub reno_sacked: u32,
    /// The echoed timestamp of the ACK being processed (tp->rx_opt.rcv_tsecr, 0: none).
    pub echo: u32,
    /// tp->is_sack_reneg: a timeout found the receiver reneged (`reneging.rs`).
    pub sack_reneged: bool,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery::new(DEFAULT_REORDERING)
    }
}

impl Recovery {
    /// A connection's start: tp->reordering = net.ipv4.tcp_reordering (tcp_init_sock).
    pub fn new(reordering: u32) -> Recovery {
        Recovery {
            high_seq: Seq(0),
            rack: Rack::default(),
            tlp_high_seq: None,
            tlp_retrans: false,
            prr: Prr::default(),
            undo_marker: None,
            undo_retrans: 0,
            prior_ssthresh: 0,
            retrans_stamp: None,
            frto: false,
            reordering,
            reord_seen: 0,
            dsack_dups: 0,
            reno_sacked: 0,
            echo: 0,
            sack_reneged: false,
        }
    }
}

/// The FLAG_* bits tcp_ack gathers about one ACK.
#[derive(Debug, Clone, Copy, Default)]
pub struct AckFlags {
    pub data: bool,
    pub window_update: bool,
    pub data_acked: bool,
    pub retrans_data_acked: bool,
    pub data_sacked: bool,
    pub una_advanced: bool,
    pub dsacking: bool,
    pub dsack_tlp: bool,
    pub original_acked: bool,
    pub set_xmit_timer: bool,
    pub lost_retrans: bool,
    pub ece: bool,
    /// FLAG_SACK_RENEGING: the head left after the cumulative ACK is SACKed.
    pub sack_reneging: bool,
}

impl AckFlags {
    /// FLAG_NOT_DUP.
    pub fn not_duplicate(&self) -> bool {
        self.data || self.window_update || self.data_acked
    }

    /// FLAG_CA_ALERT.
    pub fn alert(&self) -> bool {
        self.data_sacked || self.ece || self.dsacking
    }

    /// FLAG_FORWARD_PROGRESS.
    pub fn forward_progress(&self) -> bool {
        self.data_acked || self.data_sacked
    }
}

/// What tcp_xmit_recovery sends after the ACK (REXMIT_NONE / LOST / NEW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rexmit {
    None,
    Lost,
    New,
}

impl Connection {
    /// tcp_set_ca_state: the phase, and the algorithm told of the new state.
    pub fn set_phase(&mut self, phase: Phase) {
        self.congestion.phase = phase;
        let state = self.ca_state();
        let mss = self.mss_unit();
        self.congestion.set_ca_state(mss, state);
    }

    /// tp->snd_cwnd_cnt = 0: the congestion-avoidance credit starts again.
    pub fn restart_avoidance(&mut self) {
        let mss = self.mss_unit();
        self.congestion
            .with_window(mss, |_, _, window| window.cwnd_count = 0);
    }

    /// tcp_mark_skb_lost's tp->lost count, which the algorithms read.
    pub fn count_lost(&mut self, segments: u32) {
        self.congestion.lost_packets = self.congestion.lost_packets.wrapping_add(segments);
    }

    pub fn mss_unit(&self) -> u32 {
        self.mss.max(1)
    }

    /// tp->snd_cwnd in segments.
    pub fn cwnd_segments(&self) -> u32 {
        (self.congestion.cwnd / self.mss_unit()).max(1)
    }

    pub fn set_cwnd_segments(&mut self, segments: u32) {
        self.congestion.cwnd = segments.max(1).saturating_mul(self.mss_unit());
    }

    /// tp->sacked_out: SACKed segments, or duplicate ACKs without SACK.
    pub fn sacked_out(&self) -> u32 {
        if self.sack {
            self.sent.sacked_out()
        } else {
            self.recovery.reno_sacked
        }
    }

    /// tcp_packets_in_flight: packets_out - (sacked_out + lost_out) + retrans_out.
    pub fn segments_in_flight(&self) -> u32 {
        let out = self.sent.len() as u32;
        (out + self.sent.retrans_out()).saturating_sub(self.sacked_out() + self.sent.lost_out())
    }

    /// The congestion window is full (tcp_cwnd_test).
    pub fn congestion_window_full(&self) -> bool {
        self.segments_in_flight() >= self.cwnd_segments()
    }

    pub fn in_cwnd_reduction(&self) -> bool {
        matches!(
            self.congestion.phase,
            Phase::Recovery { .. } | Phase::Cwr { .. }
        )
    }

    fn in_recovery_or_loss(&self) -> bool {
        matches!(
            self.congestion.phase,
            Phase::Recovery { .. } | Phase::Loss { .. }
        )
    }

    /// tcp_any_retrans_done.
    pub fn any_retransmission_done(&self) -> bool {
        self.sent.retrans_out() > 0 || self.sent.head().is_some_and(|r| r.retransmitted)
    }

    /// tcp_rack_mark_lost: a scan when something newer was delivered, with the REO timer
    /// for what is not yet overdue. Returns whether the timer was armed.
    pub fn rack_mark_lost(&mut self, now: Instant) -> bool {
        if !self.recovery.rack.advanced {
            return false;
        }
        self.recovery.rack.advanced = false;
        let wait = self.rack_detect_loss(now);
        match wait {
            Some(wait) => {
                let delay = super::rack::reorder_timer_delay(wait);
                self.arm_transmit_timer(super::timers::Timer::ReorderTimeout, now + delay);
                true
            }
            None => false,
        }
    }

    fn rack_detect_loss(&mut self, now: Instant) -> Option<core::time::Duration> {
        let inputs = WindowInputs {
            reord_seen: self.recovery.reord_seen > 0,
            in_recovery_or_loss: self.in_recovery_or_loss(),
            sacked_out: self.sacked_out(),
            reordering: self.recovery.reordering,
            min_rtt: self.rtt.min,
            srtt: self.rtt.smoothed,
        };
        let reo_wnd = self.recovery.rack.reorder_window(inputs);
        let (lost, wait) = self.recovery.rack.detect_loss(now, &mut self.sent, reo_wnd);
        self.count_lost(lost);
        wait
    }

    /// tcp_rack_reo_timeout: the reordering window passed; what is now overdue is lost and
    /// retransmitted, entering recovery if needed.
    pub fn rack_reorder_timeout(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let prior_in_flight = self.segments_in_flight();
        let prior_lost = self.congestion.lost_packets;
        let _ = self.rack_detect_loss(now);
        let newly_lost = self.congestion.lost_packets.wrapping_sub(prior_lost);
        if prior_in_flight != self.segments_in_flight() {
            if !matches!(self.congestion.phase, Phase::Recovery { .. }) {
                self.enter_recovery();
                // "if (!inet_csk(sk)->icsk_ca_ops->cong_control) tcp_cwnd_reduction(...)".
                let reduced = if self.congestion.control.has_cong_control() {
                    None
                } else {
                    self.recovery.prr.reduce(
                        self.congestion.ssthresh / self.mss_unit(),
                        self.segments_in_flight(),
                        1,
                        newly_lost,
                        false,
                    )
                };
                if let Some(cwnd) = reduced {
                    self.set_cwnd_segments(cwnd);
                }
            }
            self.retransmit_lost(now, out);
        }
        if self.transmit_timer_pending() != Some(super::timers::Timer::Retransmit) {
            self.rearm_rto(now);
        }
    }

    /// tcp_newreno_mark_lost: without SACK, the head is lost after DupThresh duplicate
    /// ACKs, and again after each partial ACK in recovery.
    fn newreno_mark_lost(&mut self, una_advanced: bool) {
        let recovery = matches!(self.congestion.phase, Phase::Recovery { .. });
        let below = !recovery && !matches!(self.congestion.phase, Phase::Loss { .. });
        if (below && self.recovery.reno_sacked >= self.recovery.reordering)
            || (recovery && una_advanced)
        {
            let mss = self.mss_unit();
            let Some(head) = self.sent.head().copied() else {
                return;
            };
            if head.lost {
                return;
            }
            if head.len() > mss {
                self.sent.split_at(head.start.add(mss));
            }
            if let Some(head) = self.sent.records_mut().next() {
                head.lost = true;
                head.retransmit_in_flight = false;
            }
            self.count_lost(1);
        }
    }

    /// tcp_identify_packet_loss.
    fn identify_packet_loss(&mut self, now: Instant, flags: &mut AckFlags) {
        if self.sent.is_empty() {
            return;
        }
        if !self.sack {
            self.newreno_mark_lost(flags.una_advanced);
        } else {
            let prior_retrans = self.sent.retrans_out();
            if self.rack_mark_lost(now) {
                flags.set_xmit_timer = false;
            }
            if prior_retrans > self.sent.retrans_out() {
                flags.lost_retrans = true;
            }
        }
    }

    /// tcp_time_to_recover with RACK: only a proven loss starts recovery.
    fn time_to_recover(&self) -> bool {
        self.sent.lost_out() > 0
    }

    /// tcp_add_reno_sack / tcp_check_reno_reordering.
    fn add_reno_sack(&mut self, duplicates: u32) {
        if duplicates == 0 {
            return;
        }
        let prior = self.recovery.reno_sacked;
        self.recovery.reno_sacked += duplicates;
        self.check_reno_reordering(0);
        // tcp_count_delivered: each duplicate ACK stands for a segment delivered.
        let delivered = self.recovery.reno_sacked.saturating_sub(prior);
        self.rate.delivered = self.rate.delivered.wrapping_add(delivered);
    }

    /// tcp_remove_reno_sacks: a cumulative ACK of `acked` segments consumed the duplicate
    /// ACKs that stood for them (all but the one filling the hole).
    pub fn remove_reno_sacks(&mut self, acked: u32) {
        if acked > 0 {
            // "One ACK acked hole. The rest eat duplicate ACKs": Linux counts
            // max(acked - sacked_out, 1) delivered where `sent.rs` counted every acked
            // segment, the duplicate ACKs having counted the rest already.
            let already = self.recovery.reno_sacked.min(acked - 1);
            self.rate.delivered = self.rate.delivered.wrapping_sub(already);
            let consumed = acked - 1;
            self.recovery.reno_sacked = self.recovery.reno_sacked.saturating_sub(consumed);
        }
        self.check_reno_reordering(acked);
    }

    /// tcp_limit_reno_sacked + tcp_check_reno_reordering: more duplicate ACKs than could
    /// be segments beyond the holes means reordering.
    fn check_reno_reordering(&mut self, addend: u32) {
        let packets_out = self.sent.len() as u32;
        let holes = self.sent.lost_out().max(1).min(packets_out);
        if self.recovery.reno_sacked + holes > packets_out {
            self.recovery.reno_sacked = packets_out - holes;
            self.recovery.reordering =
                (packets_out + addend).min(self.settings.tunables.max_reordering);
            self.recovery.reord_seen += 1;
        }
    }

    /// tcp_check_sack_reordering: a segment below the highest SACKed one was delivered
    /// without a retransmission.
    pub fn check_sack_reordering(&mut self, low_seq: Seq, fack: Seq) {
        if !low_seq.lt(fack) {
            return;
        }
        let mss = self.mss_unit();
        let metric = fack.since(low_seq);
        if metric > self.recovery.reordering * mss {
            self.recovery.reordering = metric
                .div_ceil(mss)
                .min(self.settings.tunables.max_reordering);
        }
        self.recovery.reord_seen += 1;
    }

    /// tcp_init_cwnd_reduction.
    pub fn init_cwnd_reduction(&mut self) {
        self.recovery.high_seq = self.snd_nxt;
        self.recovery.tlp_high_seq = None;
        self.restart_avoidance();
        let cwnd = self.cwnd_segments();
        self.recovery.prr.start(cwnd);
        let mss = self.mss_unit();
        self.congestion.ssthresh = self.congestion.reduced_threshold(mss);
        self.ecn.queue_cwr();
    }

    /// tcp_end_cwnd_reduction: cwnd is ssthresh when recovery ends (unless undone).
    fn end_cwnd_reduction(&mut self) {
        // "if (inet_csk(sk)->icsk_ca_ops->cong_control) return;" (BBR keeps its window).
        if self.congestion.control.has_cong_control() {
            return;
        }
        if self.congestion.ssthresh < super::congestion::INFINITE_SSTHRESH
            && self.recovery.undo_marker.is_some()
        {
            self.congestion.cwnd = self.congestion.ssthresh;
        }
    }

    /// tcp_enter_recovery.
    fn enter_recovery(&mut self) {
        self.recovery.prior_ssthresh = 0;
        self.init_undo();
        if !self.in_cwnd_reduction() {
            self.recovery.prior_ssthresh = self.current_ssthresh();
            self.init_cwnd_reduction();
        } else {
            // From CWR, whose reduction `ecn.rs` ran with its own counts: PRR goes on from
            // the window it reached.
            let cwnd = self.cwnd_segments();
            self.recovery.prr.start(cwnd);
        }
        self.set_phase(Phase::Recovery {
            until: self.recovery.high_seq,
        });
    }

    /// tcp_current_ssthresh: in a reduction, the larger of ssthresh and 3/4 of cwnd.
    pub fn current_ssthresh(&self) -> u32 {
        if self.in_cwnd_reduction() {
            self.congestion.ssthresh
        } else {
            self.congestion
                .ssthresh
                .max((self.congestion.cwnd >> 1) + (self.congestion.cwnd >> 2))
        }
    }

    /// tcp_try_keep_open: Disorder while anything is SACKed, lost or retransmitted.
    pub fn try_keep_open(&mut self) {
        let disorder =
            self.sacked_out() + self.sent.lost_out() > 0 || self.any_retransmission_done();
        let target = if disorder {
            Phase::Disorder
        } else {
            Phase::Open
        };
        if self.congestion.phase != target {
            self.set_phase(target);
            self.recovery.high_seq = self.snd_nxt;
        }
    }

    /// tcp_try_to_open.
    fn try_to_open(&mut self) {
        if !self.any_retransmission_done() {
            self.recovery.retrans_stamp = None;
        }
        if !matches!(self.congestion.phase, Phase::Cwr { .. }) {
            self.try_keep_open();
        }
    }

    /// tcp_fastretrans_alert: the state machine run for every ACK that is a duplicate,
    /// carries SACK or D-SACK information, or arrives outside the Open state.
    pub fn fast_retransmit_alert(
        &mut self,
        now: Instant,
        prior_snd_una: Seq,
        duplicates: u32,
        flags: &mut AckFlags,
    ) -> Rexmit {
        // B. "In all the states check for reneging SACKs" (`reneging.rs`).
        if self.check_sack_reneging(now, flags) {
            return Rexmit::None;
        }
        // do_lost only feeds tcp_update_scoreboard, which RACK replaces.
        let mut do_lost = duplicates > 0;
        // D. State exit conditions.
        match self.congestion.phase {
            Phase::Open => self.recovery.retrans_stamp = None,
            Phase::Recovery { .. } if !self.snd_una.lt(self.recovery.high_seq) => {
                if !self.sack {
                    self.recovery.reno_sacked = 0;
                }
                if self.try_undo_recovery() {
                    return Rexmit::None;
                }
                self.end_cwnd_reduction();
            }
            _ => {}
        }
        // E. Process the state.
        match self.congestion.phase {
            Phase::Recovery { .. } => {
                if !flags.una_advanced {
                    if !self.sack {
                        self.add_reno_sack(duplicates);
                    }
                } else if self.try_undo_partial(prior_snd_una, &mut do_lost) {
                    return Rexmit::None;
                }
                if self.try_undo_dsack() {
                    self.try_to_open();
                }
                self.identify_packet_loss(now, flags);
                if !matches!(self.congestion.phase, Phase::Recovery { .. }) {
                    if !self.time_to_recover() {
                        return Rexmit::None;
                    }
                    self.enter_recovery();
                }
            }
            Phase::Loss { .. } => {
                let rexmit = self.process_loss(flags, duplicates);
                self.identify_packet_loss(now, flags);
                // "Change state if cwnd is undone or retransmits are lost".
                if !(self.congestion.phase == Phase::Open || flags.lost_retrans) {
                    return rexmit;
                }
                if !self.default_alert(now, duplicates, flags) {
                    return rexmit;
                }
            }
            _ => {
                if !self.default_alert(now, duplicates, flags) {
                    return Rexmit::None;
                }
            }
        }
        let _ = do_lost;
        Rexmit::Lost
    }

    /// The "default" arm of tcp_fastretrans_alert (Open, Disorder, CWR, or a Loss state
    /// that was undone): returns whether recovery was entered.
    fn default_alert(&mut self, now: Instant, duplicates: u32, flags: &mut AckFlags) -> bool {
        if !self.sack {
            if flags.una_advanced {
                self.recovery.reno_sacked = 0;
            }
            self.add_reno_sack(duplicates);
        }
        if matches!(self.congestion.phase, Phase::Open | Phase::Disorder) {
            let _ = self.try_undo_dsack();
        }
        self.identify_packet_loss(now, flags);
        if !self.time_to_recover() {
            self.try_to_open();
            return false;
        }
        self.enter_recovery();
        true
    }

    /// tcp_cong_control for the built-in algorithms: PRR while reducing, otherwise the
    /// algorithm grows the window when the ACK allows (tcp_may_raise_cwnd).
    pub fn recovery_cong_control(
        &mut self,
        acked_sacked: u32,
        newly_lost: u32,
        flags: &AckFlags,
    ) -> bool {
        if matches!(self.congestion.phase, Phase::Recovery { .. }) {
            let ssthresh = self.congestion.ssthresh / self.mss_unit();
            if let Some(cwnd) = self.recovery.prr.reduce(
                ssthresh,
                self.segments_in_flight(),
                acked_sacked,
                newly_lost,
                flags.una_advanced,
            ) {
                self.set_cwnd_segments(cwnd);
            }
            return false;
        }
        // tcp_may_raise_cwnd: with high reordering any forward progress, else data acked.
        if self.recovery.reordering > self.settings.tunables.reordering {
            flags.forward_progress()
        } else {
            flags.data_acked
        }
    }

    /// tcp_xmit_recovery.
    pub fn xmit_recovery(&mut self, now: Instant, rexmit: Rexmit, out: &mut Vec<OutSegment>) {
        if rexmit == Rexmit::None {
            return;
        }
        if rexmit == Rexmit::New {
            self.transmit(now, false, out);
            if self.snd_nxt.gt(self.recovery.high_seq) {
                return;
            }
            self.recovery.frto = false;
        }
        self.retransmit_lost(now, out);
    }

    /// tcp_xmit_retransmit_queue: lost segments, oldest first, while the window allows.
    pub fn retransmit_lost(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let mss = self.current_mss().max(1);
        let mut rearm = false;
        let head_start = self.sent.head().map(|r| r.start);
        let mut cursor: Option<Seq> = None;
        for _ in 0..100_000 {
            if self.pacing_holds(now) || self.segments_in_flight() >= self.cwnd_segments() {
                break;
            }
            if self.sent.retrans_out() >= self.sent.lost_out() {
                break;
            }
            let next = self
                .sent
                .records()
                .find(|r| {
                    cursor.is_none_or(|c| r.start.ge(c))
                        && r.lost
                        && !r.sacked
                        && !r.retransmit_in_flight
                })
                .map(|r| (r.start, r.end));
            let Some((start, end)) = next else {
                break;
            };
            if end.since(start) > mss {
                self.sent.split_at(start.add(mss));
            }
            let end = end.min(start.add(mss)).max(start);
            let end = if end.since(start) == 0 {
                start.add(1)
            } else {
                end
            };
            self.retransmit_range(now, start, end, true, out);
            if self.in_cwnd_reduction() {
                self.recovery.prr.sent += 1;
            }
            if Some(start) == head_start
                && self.transmit_timer_pending() != Some(super::timers::Timer::ReorderTimeout)
            {
                rearm = true;
            }
            cursor = Some(end);
        }
        if rearm {
            self.arm_transmit_timer(super::timers::Timer::Retransmit, now + self.rtt.rto());
        }
    }

    /// tcp_simple_retransmit, after a path MTU drop: segments larger than the new MSS are
    /// lost (sent again in smaller pieces) without touching the window.
    pub fn simple_retransmit(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let mss = self.current_mss().max(1);
        let mut newly_lost = 0;
        for record in self.sent.records_mut() {
            if record.len() > mss && !record.sacked {
                if !record.lost {
                    newly_lost += 1;
                }
                record.lost = true;
                record.retransmit_in_flight = false;
            }
        }
        self.count_lost(newly_lost);
        if self.sent.lost_out() == 0 {
            return;
        }
        if !self.sack {
            self.check_reno_reordering(0);
        }
        self.enter_non_congestion_loss();
        self.retransmit_lost(now, out);
    }

    /// tcp_mark_skb_lost on everything unacknowledged, then
    /// tcp_non_congestion_loss_retransmit's state change (the retransmission is the
    /// caller's `retransmit_lost`): Fast Open data the SYN-ACK did not cover.
    pub fn mark_all_lost_without_reduction(&mut self) {
        let mut newly_lost = 0;
        for record in self.sent.records_mut() {
            if !record.sacked && !record.lost {
                record.lost = true;
                record.retransmit_in_flight = false;
                newly_lost += 1;
            }
        }
        self.count_lost(newly_lost);
        self.enter_non_congestion_loss();
    }

    /// tcp_non_congestion_loss_retransmit / tcp_simple_retransmit: the Loss state without
    /// a window reduction.
    fn enter_non_congestion_loss(&mut self) {
        if !matches!(self.congestion.phase, Phase::Loss { .. }) {
            self.recovery.high_seq = self.snd_nxt;
            self.congestion.ssthresh = self.current_ssthresh();
            self.recovery.prior_ssthresh = 0;
            self.recovery.undo_marker = None;
            self.set_phase(Phase::Loss {
                until: self.snd_nxt,
            });
        }
    }

    /// tcp_retransmit_timer's tcp_retransmit_skb(sk, tcp_rtx_queue_head(sk), 1).
    pub fn retransmit_head(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let mss = self.current_mss().max(1);
        let Some(head) = self.sent.head().copied() else {
            return;
        };
        if head.len() > mss {
            self.sent.split_at(head.start.add(mss));
        }
        let end = if head.len() > mss {
            head.start.add(mss)
        } else {
            head.end
        };
        self.retransmit_range(now, head.start, end, true, out);
        if self.in_cwnd_reduction() {
            self.recovery.prr.sent += 1;
        }
    }

    /// One retransmission (tcp_retransmit_skb, or the loss probe's __tcp_retransmit_skb
    /// when `counted` is false): it starts tp->retrans_stamp.
    pub fn retransmit_range(
        &mut self,
        now: Instant,
        start: Seq,
        end: Seq,
        counted: bool,
        out: &mut Vec<OutSegment>,
    ) {
        self.send_range(now, start, end.since(start), out);
        if counted {
            // tcp_retransmit_skb: "Save stamp of the first (attempted) retransmit", and
            // one more retransmission that undo needs D-SACKed.
            if self.recovery.retrans_stamp.is_none() {
                self.recovery.retrans_stamp = Some(self.timestamp_now(now));
            }
            self.recovery.undo_retrans = self.recovery.undo_retrans.max(0) + 1;
        } else {
            for record in self.sent.records_mut() {
                if record.start.lt(end) && record.end.gt(start) {
                    record.retransmit_in_flight = false;
                }
            }
        }
    }
}
