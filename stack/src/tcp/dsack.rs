//! D-SACK (RFC 2883). Receiving: a segment that repeats data already received is answered
//! at once with an ACK whose first SACK block names the duplicate range (tcp_dsack_set /
//! tcp_dsack_extend from tcp_data_queue, tcp_data_queue_ofo, tcp_ofo_queue and
//! tcp_send_dupack); the block goes out once (tcp_options_write clears it). Sending: a
//! first block below the ACK, or inside the second block, reports a duplicate
//! (tcp_check_dsack, tcp_dsack_seen): it counts in tcpi_dsack_dups, lets an undo happen
//! when every retransmission of an episode turns out duplicated, and widens RACK's
//! reordering window.

use super::recovery::AckFlags;
use super::seq::Seq;
use super::tcb::Connection;
use crate::wire::tcp::SackBlock;

/// tp->rx_opt.dsack and tp->duplicate_sack[0].
#[derive(Debug, Clone, Copy, Default)]
pub struct DuplicateSack {
    pub block: Option<(Seq, Seq)>,
}

impl Connection {
    /// tcp_dsack_set.
    pub fn dsack_set(&mut self, start: Seq, end: Seq) {
        // "if (tcp_is_sack(tp) && READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_dsack))".
        if self.sack && self.settings.tunables.dsack && start.lt(end) {
            self.dsack.block = Some((start, end));
        }
    }

    /// tcp_dsack_extend: set, or grow the pending block by an adjacent or overlapping
    /// range (tcp_sack_extend).
    pub fn dsack_extend(&mut self, start: Seq, end: Seq) {
        match self.dsack.block {
            None => self.dsack_set(start, end),
            Some((left, right)) => {
                // tcp_sack_extend: only when the ranges touch.
                if !start.gt(right) && !left.gt(end) {
                    let left = if start.lt(left) { start } else { left };
                    let right = if end.gt(right) { end } else { right };
                    self.dsack.block = Some((left, right));
                }
            }
        }
    }

    /// The D-SACK block for the next segment, taken (tcp_options_write).
    pub fn take_dsack_block(&mut self) -> Option<SackBlock> {
        self.dsack.block.take().map(|(left, right)| SackBlock {
            left: left.0,
            right: right.0,
        })
    }

    /// tcp_send_dupack's D-SACK: an out-of-window segment that repeats old data.
    pub fn dsack_for_dupack(&mut self, start: Seq, end: Seq) {
        if end != start && start.lt(self.rcv_nxt) {
            let end = if end.gt(self.rcv_nxt) {
                self.rcv_nxt
            } else {
                end
            };
            self.dsack_set(start, end);
        }
    }

    /// tcp_data_queue_ofo's overlap rules for a segment [start, end) that lands ahead of
    /// RCV.NXT, given the out-of-order ranges held (sequence numbers, lowest first):
    /// wholly held → the segment is the duplicate; partly → the overlap; held ranges the
    /// segment covers → extended over them.
    pub fn dsack_for_out_of_order(&mut self, start: Seq, end: Seq, held: &[(Seq, Seq)]) {
        let mut covering_from = None;
        for &(left, right) in held {
            if left.le(start) && start.lt(right) {
                if !end.gt(right) {
                    self.dsack_set(start, end);
                    return;
                }
                if start.gt(left) {
                    self.dsack_set(start, right);
                } else {
                    self.dsack_extend(left, right);
                }
                covering_from = Some(right);
                break;
            }
        }
        // merge_right: later held ranges the segment reaches.
        for &(left, right) in held {
            if !left.gt(start) || covering_from.is_some_and(|from| left.lt(from)) {
                continue;
            }
            if !end.gt(left) {
                break;
            }
            if end.lt(right) {
                self.dsack_extend(left, end);
                break;
            }
            self.dsack_extend(left, right);
        }
    }

    /// A segment [start, end) that reaches new data: its part below RCV.NXT (tcp_data_queue's
    /// "Partial packet, seq < rcv_next < end_seq"), its overlap with held out-of-order data
    /// (tcp_data_queue_ofo), or, in order, the held data it repeats (tcp_ofo_queue).
    pub fn dsack_for_arrival(&mut self, start: Seq, end: Seq) {
        if start.lt(self.rcv_nxt) {
            self.dsack_set(start, self.rcv_nxt);
        }
        if !self.receive.has_out_of_order() {
            return;
        }
        let delivered = self.receive.delivered;
        let rcv_nxt = self.rcv_nxt;
        let held: Vec<(Seq, Seq)> = self
            .receive
            .ranges()
            .into_iter()
            .map(|(left, right)| {
                (
                    rcv_nxt.add((left - delivered) as u32),
                    rcv_nxt.add((right - delivered) as u32),
                )
            })
            .collect();
        if start.gt(rcv_nxt) {
            self.dsack_for_out_of_order(start, end, &held);
            return;
        }
        for (left, right) in held {
            if !left.lt(end) {
                break;
            }
            let right = if right.lt(end) { right } else { end };
            self.dsack_extend(left, right);
        }
    }

    /// tcp_check_dsack / tcp_dsack_seen on the sending side. Returns whether the first
    /// block is a D-SACK.
    pub fn check_dsack(
        &mut self,
        blocks: &[SackBlock],
        ack: Seq,
        prior_snd_una: Seq,
        flags: &mut AckFlags,
    ) -> bool {
        let Some(first) = blocks.first() else {
            return false;
        };
        let (start, end) = (Seq(first.left), Seq(first.right));
        if !start.lt(ack) {
            let Some(second) = blocks.get(1) else {
                return false;
            };
            if end.gt(Seq(second.right)) || start.lt(Seq(second.left)) {
                return false;
            }
        }
        // tcp_dsack_seen.
        if !start.lt(end) {
            return false;
        }
        let length = end.since(start);
        // "Dubious DSACK: DSACKed range greater than maximum advertised rwnd".
        if length > self.max_window {
            return false;
        }
        let mss = self.mss_unit();
        let mut duplicates = 1;
        if length > mss {
            duplicates = length.div_ceil(mss);
        } else if self.recovery.tlp_high_seq == Some(end) {
            flags.dsack_tlp = true;
        }
        self.recovery.dsack_dups += duplicates;
        // "Skip the DSACK if dup segs weren't retransmitted by sender".
        if self.recovery.dsack_dups > self.stats.total_retransmits {
            return false;
        }
        if self.recovery.reord_seen > 0 && !flags.dsack_tlp {
            self.recovery.rack.dsack_seen = true;
        }
        flags.dsacking = true;
        // "A spurious retransmission is delivered".
        self.rate.delivered = self.rate.delivered.wrapping_add(duplicates);
        // "D-SACK for already forgotten data... Do dumb counting."
        if let Some(marker) = self.recovery.undo_marker {
            if self.recovery.undo_retrans > 0 && !end.gt(prior_snd_una) && end.gt(marker) {
                self.recovery.undo_retrans =
                    (self.recovery.undo_retrans - duplicates as i32).max(0);
            }
        }
        true
    }
}
