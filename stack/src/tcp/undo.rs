//! Undoing a window reduction that proved unnecessary (tcp_input.c): every retransmission
//! of the episode was D-SACKed (tcp_try_undo_dsack, tcp_try_undo_recovery), or the echoed
//! timestamp shows the original arrived before the first retransmission was sent (the
//! Eifel check of RFC 3522, tcp_packet_delayed; tcp_try_undo_partial, tcp_try_undo_loss).

use super::congestion::Phase;
use super::rack::RECOVERY_THRESHOLD;
use super::tcb::Connection;

impl Connection {
    /// tcp_init_undo: the episode starts at SND.UNA; undo needs every retransmission so far
    /// (and a loss probe's) to be D-SACKed.
    pub fn init_undo(&mut self) {
        self.recovery.undo_marker = Some(self.snd_una);
        let mut retrans = self.sent.retrans_out() as i32;
        if self.recovery.tlp_high_seq.is_some() && self.recovery.tlp_retrans {
            retrans += 1;
        }
        self.recovery.undo_retrans = if retrans == 0 { -1 } else { retrans };
    }

    /// tcp_packet_delayed: the ACK echoes a timestamp older than the first retransmission
    /// (tcp_tsopt_ecr_before), or nothing was retransmitted yet.
    pub fn packet_delayed(&self) -> bool {
        match self.recovery.retrans_stamp {
            Some(stamp) => {
                let echo = self.recovery.echo;
                self.timestamps && echo != 0 && (echo.wrapping_sub(stamp) as i32) < 0
            }
            None => {
                // A non-SACK connection clears retrans_stamp when SND.UNA reaches high_seq.
                self.sack || self.snd_una.lt(self.recovery.high_seq)
            }
        }
    }

    /// tcp_may_undo.
    fn may_undo(&self) -> bool {
        self.recovery.undo_marker.is_some()
            && (self.recovery.undo_retrans == 0 || self.packet_delayed())
    }

    /// tcp_undo_cwnd_reduction: the window before the reduction comes back
    /// (tcp_reno_undo_cwnd: the larger of cwnd and prior_cwnd), and ssthresh if it was
    /// higher. `unmark_loss` forgets every loss mark.
    pub fn undo_cwnd_reduction(&mut self, unmark_loss: bool) {
        if unmark_loss {
            for record in self.sent.records_mut() {
                record.lost = false;
            }
        }
        if self.recovery.prior_ssthresh > 0 {
            // ca_ops->undo_cwnd (tcp_reno_undo_cwnd: max(cwnd, prior_cwnd)).
            let mss = self.mss_unit();
            self.congestion.cwnd = self.congestion.undo_window(mss);
            if self.recovery.prior_ssthresh > self.congestion.ssthresh {
                self.congestion.ssthresh = self.recovery.prior_ssthresh;
                self.ecn.withdraw_cwr();
            }
        }
        self.recovery.undo_marker = None;
        // "Force RACK to re-exam losses".
        self.recovery.rack.advanced = true;
    }

    /// tcp_try_undo_recovery, when SND.UNA passes high_seq in Recovery (or Loss): returns
    /// true when the state must stay (a non-SACK connection waits for more).
    pub fn try_undo_recovery(&mut self) -> bool {
        if self.may_undo() {
            self.undo_cwnd_reduction(false);
        } else if self.recovery.rack.reo_wnd_persist > 0 {
            self.recovery.rack.reo_wnd_persist -= 1;
        }
        if self.non_sack_preventing_reopen() {
            return true;
        }
        self.set_phase(Phase::Open);
        self.recovery.sack_reneged = false;
        false
    }

    /// tcp_is_non_sack_preventing_reopen: "Hold old state until something *above*
    /// high_seq is ACKed to prevent false fast retransmits" (RFC 6582 3.2 step 5).
    fn non_sack_preventing_reopen(&mut self) -> bool {
        if !self.sack && self.snd_una == self.recovery.high_seq {
            if !self.any_retransmission_done() {
                self.recovery.retrans_stamp = None;
            }
            return true;
        }
        false
    }

    /// tcp_try_undo_dsack: every retransmission of the episode was D-SACKed.
    pub fn try_undo_dsack(&mut self) -> bool {
        if self.recovery.undo_marker.is_some() && self.recovery.undo_retrans == 0 {
            self.recovery.rack.reo_wnd_persist =
                (self.recovery.rack.reo_wnd_persist + 1).min(RECOVERY_THRESHOLD);
            self.undo_cwnd_reduction(false);
            return true;
        }
        false
    }

    /// tcp_try_undo_partial: a partial ACK in Recovery that the timestamps show was the
    /// original, not the retransmission. Returns true when nothing more is to be done.
    pub fn try_undo_partial(&mut self, prior_snd_una: super::seq::Seq, do_lost: &mut bool) -> bool {
        if self.recovery.undo_marker.is_some() && self.packet_delayed() {
            // "Plain luck! Hole if filled with delayed packet, rather than with a
            // retransmit. Check reordering."
            let fack = self.sent.highest_sacked_end(self.snd_una);
            self.check_sack_reordering(prior_snd_una, fack);
            if self.sent.retrans_out() > 0 {
                return true;
            }
            if !self.any_retransmission_done() {
                self.recovery.retrans_stamp = None;
            }
            self.undo_cwnd_reduction(true);
            self.try_keep_open();
        } else {
            // "Partial ACK arrived. Force fast retransmit." (tcp_force_fast_retransmit is
            // for the non-RACK path only.)
            *do_lost = false;
        }
        false
    }

    /// tcp_try_undo_loss: after a timeout, the ACK shows the retransmissions were not
    /// needed (`frto_undo`: F-RTO proved the timeout spurious).
    pub fn try_undo_loss(&mut self, frto_undo: bool) -> bool {
        if frto_undo || self.may_undo() {
            self.undo_cwnd_reduction(true);
            self.timeouts = 0;
            if self.non_sack_preventing_reopen() {
                return true;
            }
            if frto_undo || self.sack {
                self.set_phase(Phase::Open);
                self.recovery.sack_reneged = false;
            }
            return true;
        }
        false
    }
}
