//! The retransmission timeout's loss state and F-RTO (RFC 5682, the SACK-enhanced version
//! of section 3.1, as tcp_enter_loss and tcp_process_loss implement it): after a timeout
//! the head is retransmitted; if the next ACK advances SND.UNA, new data is sent instead of
//! more retransmissions, and if the ACK after that acknowledges (or SACKs) data that was
//! never retransmitted, the timeout was spurious and the reduction is undone.

use super::congestion::Phase;
use super::recovery::{AckFlags, Rexmit};
use super::tcb::Connection;
use crate::time::Instant;

impl Connection {
    /// tcp_timeout_mark_lost: everything outstanding is lost except what was sent too
    /// recently to be (the head always is); a SACKed head means the receiver reneged.
    fn timeout_mark_lost(&mut self, now: Instant) {
        let reneged = self.sent.head().is_some_and(|head| head.sacked);
        // "Mark SACK reneging until we recover from this loss event" (`reneging.rs`).
        self.recovery.sack_reneged |= reneged;
        if !self.sack {
            self.recovery.reno_sacked = 0;
        }
        let rack = self.recovery.rack.clone();
        let mut first = true;
        let mut newly_lost = 0;
        for record in self.sent.records_mut() {
            if reneged {
                record.sacked = false;
            } else if !first {
                // tcp_rack_skb_timeout(tp, skb, 0) > 0: not yet overdue.
                let elapsed = now.saturating_since(record.last_sent);
                if rack.sent_at.is_some() && elapsed < rack.rtt {
                    first = false;
                    continue;
                }
            }
            first = false;
            if record.sacked {
                continue;
            }
            if !record.lost {
                newly_lost += 1;
            }
            record.lost = true;
            record.retransmit_in_flight = false;
        }
        self.count_lost(newly_lost);
    }

    /// tcp_enter_loss, from the retransmission timer.
    pub fn enter_loss(&mut self, now: Instant) {
        let phase = self.congestion.phase;
        let new_recovery = matches!(phase, Phase::Open | Phase::Disorder | Phase::Cwr { .. });
        self.timeout_mark_lost(now);
        // "Reduce ssthresh if it has not yet been made inside this window."
        let below_recovery = matches!(phase, Phase::Open | Phase::Disorder);
        if below_recovery
            || !self.recovery.high_seq.gt(self.snd_una)
            || (matches!(phase, Phase::Loss { .. }) && self.timeouts == 0)
        {
            self.recovery.prior_ssthresh = self.current_ssthresh();
            self.recovery.prr.prior_cwnd = self.cwnd_segments();
            let mss = self.mss_unit();
            // (reduced_threshold also records tp->prior_cwnd for the algorithm's undo.)
            self.congestion.ssthresh = self.congestion.reduced_threshold(mss);
            self.congestion
                .ca_event(mss, super::congestion_ops::CaEvent::Loss);
            self.init_undo();
        }
        let cwnd = self.segments_in_flight() + 1;
        self.set_cwnd_segments(cwnd);
        self.restart_avoidance();
        // "Timeout in disordered state after receiving substantial DUPACKs suggests that
        // the degree of reordering is over-estimated."
        let sysctl_reordering = self.settings.tunables.reordering;
        if below_recovery && self.sacked_out() >= sysctl_reordering {
            self.recovery.reordering = self.recovery.reordering.min(sysctl_reordering);
        }
        self.set_phase(Phase::Loss {
            until: self.snd_nxt,
        });
        self.recovery.high_seq = self.snd_nxt;
        self.recovery.tlp_high_seq = None;
        self.ecn.queue_cwr();
        // "F-RTO RFC5682 sec 3.1 step 1: retransmit SND.UNA if no previous loss recovery
        // is underway except recurring timeout(s) on the same SND.UNA (sec 3.2)."
        self.recovery.frto = self.settings.tunables.frto && (new_recovery || self.timeouts > 0);
    }

    /// tcp_process_loss: an ACK in the Loss state.
    pub fn process_loss(&mut self, flags: &AckFlags, duplicates: u32) -> Rexmit {
        let recovered = !self.snd_una.lt(self.recovery.high_seq);
        if flags.una_advanced && self.try_undo_loss(false) {
            return Rexmit::None;
        }
        if self.recovery.frto {
            // Step 3.b: "A timeout is spurious if not all data are lost, i.e.,
            // never-retransmitted data are (s)acked."
            if flags.original_acked && self.try_undo_loss(true) {
                return Rexmit::None;
            }
            if self.snd_nxt.gt(self.recovery.high_seq) {
                if flags.data_sacked || duplicates > 0 {
                    // Step 3.a: the loss was real.
                    self.recovery.frto = false;
                }
            } else if flags.una_advanced && !recovered {
                self.recovery.high_seq = self.snd_nxt;
                // Step 2.b: send new data if the window allows (after tcp_ack updated
                // cwnd), otherwise fall back to the conventional recovery.
                let window_end = self.snd_una.add(self.snd_wnd);
                if self.send_end().gt(self.snd_nxt) && window_end.gt(self.snd_nxt) {
                    return Rexmit::New;
                }
                self.recovery.frto = false;
            }
        }
        if recovered {
            // Step 2.a and the first part of step 3.a.
            self.try_undo_recovery();
            return Rexmit::None;
        }
        if !self.sack {
            if self.snd_nxt.gt(self.recovery.high_seq) && duplicates > 0 {
                self.recovery.reno_sacked += duplicates;
            } else if flags.una_advanced {
                self.recovery.reno_sacked = 0;
            }
        }
        Rexmit::Lost
    }
}
