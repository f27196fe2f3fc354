//! tcp_sacktag_write_queue: the SACK blocks of an ACK mark the sent segments they cover
//! (`sent.rs`), feed RACK with the newest delivery, detect reordering (a never-retransmitted
//! segment SACKed below the highest SACKed one), and account D-SACKed retransmissions for
//! undo (`dsack.rs`).

use super::congestion::Phase;
use super::rate::RateSample;
use super::recovery::AckFlags;
use super::seq::Seq;
use super::tcb::Connection;
use crate::time::Instant;
use crate::wire::tcp::SackBlock;

impl Connection {
    pub fn sack_tag(
        &mut self,
        now: Instant,
        blocks: &[SackBlock],
        ack: Seq,
        prior_snd_una: Seq,
        flags: &mut AckFlags,
        sample: &mut RateSample,
    ) {
        if blocks.is_empty() || !self.sack {
            return;
        }
        let duplicate_first = self.check_dsack(blocks, ack, prior_snd_una, flags);
        let snd_una = if ack.gt(self.snd_una) {
            ack
        } else {
            self.snd_una
        };
        let mut reord: Option<Seq> = None;
        for (index, block) in blocks.iter().enumerate() {
            let (left, right) = (Seq(block.left), Seq(block.right));
            if duplicate_first && index == 0 {
                // tcp_sacktag_one with dup_sack: a D-SACKed retransmission no longer
                // counts towards undo_retrans nor as in flight.
                let marker = self.recovery.undo_marker;
                let mut counted = 0i32;
                for record in self.sent.records_mut() {
                    if record.start.ge(left) && record.end.le(right) && record.retransmitted {
                        if marker.is_some_and(|m| record.end.gt(m)) {
                            counted += 1;
                        }
                        if record.sacked && reord.is_none_or(|r| record.start.lt(r)) {
                            reord = Some(record.start);
                        }
                        record.retransmit_in_flight = false;
                    }
                }
                if self.recovery.undo_retrans > 0 {
                    self.recovery.undo_retrans = (self.recovery.undo_retrans - counted).max(0);
                }
                if !right.gt(snd_una) {
                    continue;
                }
            }
            // tcp_is_sackblock_valid: inside what was sent and not yet acknowledged.
            if !left.lt(right) || right.gt(self.snd_nxt) || !right.gt(snd_una) {
                continue;
            }
            let fack = self.sent.highest_sacked_end(snd_una);
            let newly = self.sent.mark_sacked(left, right, &mut self.rate, sample);
            for sacked in newly {
                flags.data_sacked = true;
                self.recovery.rack.advance(
                    now,
                    sacked.retransmitted,
                    sacked.end,
                    sacked.last_sent,
                    self.rtt.min,
                );
                if !sacked.retransmitted {
                    // "New sack for not retransmitted frame, which was in hole. It is
                    // reordering."
                    if sacked.start.lt(fack) && reord.is_none_or(|r| sacked.start.lt(r)) {
                        reord = Some(sacked.start);
                    }
                    if !sacked.end.gt(self.recovery.high_seq) {
                        flags.original_acked = true;
                    }
                }
            }
        }
        let in_loss = matches!(self.congestion.phase, Phase::Loss { .. });
        if let Some(low) = reord {
            if !in_loss || self.recovery.undo_marker.is_some() {
                let fack = self.sent.highest_sacked_end(snd_una);
                self.check_sack_reordering(low, fack);
            }
        }
    }
}
