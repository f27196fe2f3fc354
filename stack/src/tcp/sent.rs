//! What was sent and is not yet acknowledged, one record per segment: Linux's retransmit
//! queue with each skb's scoreboard bits (TCP_SKB_CB(skb)->sacked: TCPCB_SACKED_ACKED,
//! TCPCB_LOST, TCPCB_SACKED_RETRANS, TCPCB_EVER_RETRANS) and its send times. It gives
//! tcp_clean_rtx_queue's RTT samples (Karn's rule: nothing retransmitted, nothing already
//! SACKed), the counts behind tcp_packets_in_flight (packets_out, sacked_out, lost_out,
//! retrans_out), and what RACK (`rack.rs`) and the retransmission queue walk.

use core::cell::Cell;
use core::time::Duration;
use std::collections::VecDeque;

use super::rate::{DeliveryRate, RateSample, RateSnapshot};
use super::seq::Seq;
use crate::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct SentRecord {
    pub start: Seq,
    pub end: Seq,
    pub first_sent: Instant,
    /// The latest transmission (tcp_skb_timestamp_us) and the delivery state then.
    pub last_sent: Instant,
    rate: RateSnapshot,
    /// TCPCB_EVER_RETRANS: sent more than once (a TLP retransmission included).
    pub retransmitted: bool,
    /// TCPCB_SACKED_RETRANS: a retransmission of it is in flight (counted in retrans_out).
    pub retransmit_in_flight: bool,
    /// TCPCB_SACKED_ACKED.
    pub sacked: bool,
    /// TCPCB_LOST.
    pub lost: bool,
    /// TCPHDR_PSH in the skb's flags: it left with PSH, and so does its retransmission.
    pub pushed: bool,
}

impl SentRecord {
    pub fn len(&self) -> u32 {
        self.end.since(self.start)
    }
}

/// What newly SACKing one record found (tcp_sacktag_one's inputs to the caller).
#[derive(Debug, Clone, Copy)]
pub struct Sacked {
    pub start: Seq,
    pub end: Seq,
    pub last_sent: Instant,
    pub retransmitted: bool,
}

/// What tcp_clean_rtx_queue found while removing the acknowledged records.
#[derive(Debug, Clone, Default)]
pub struct Acked {
    /// The RTT sample (none when retransmitted data was covered: FLAG_RETRANS_DATA_ACKED).
    pub rtt: Option<Duration>,
    pub packets: u32,
    /// Of those, already SACKed before.
    pub sacked_packets: u32,
    /// FLAG_RETRANS_DATA_ACKED.
    pub retransmitted_data: bool,
    /// The lowest start of a never-retransmitted, never-SACKed record acked (`reord`).
    pub lowest_original: Option<Seq>,
    /// FLAG_ORIG_SACK_ACKED: an original transmission at or below `high_seq` was acked.
    pub original_acked: bool,
    /// (retransmitted, end, last_sent) of each acked record not SACKed before, for
    /// tcp_rack_advance.
    pub delivered: Vec<(bool, Seq, Instant)>,
}

/// sacked_out, lost_out and retrans_out, counted once after each change: the recovery
/// code asks for them many times per ACK.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    sacked: u32,
    lost: u32,
    retrans: u32,
}

#[derive(Debug, Default)]
pub struct SentLog {
    records: VecDeque<SentRecord>,
    /// None after any change to the marks (the `&mut self` methods that can change one
    /// clear it).
    counts: Cell<Option<Counts>>,
}

impl SentLog {
    /// A first transmission of [start, end), with tcp_rate_skb_sent's snapshot.
    pub fn record(&mut self, start: Seq, end: Seq, now: Instant, rate: RateSnapshot) {
        // A new record carries no mark: the counts stand.
        self.records.push_back(SentRecord {
            start,
            end,
            first_sent: now,
            last_sent: now,
            rate,
            retransmitted: false,
            retransmit_in_flight: false,
            sacked: false,
            lost: false,
            pushed: false,
        });
    }

    /// The record ending at `end` was sent with PSH.
    pub fn mark_pushed(&mut self, end: Seq) {
        if let Some(record) = self.records.iter_mut().rev().find(|r| r.end == end) {
            record.pushed = true;
        }
    }

    /// Whether the last record inside [start, end) carries PSH.
    pub fn pushed_within(&self, start: Seq, end: Seq) -> bool {
        self.records
            .iter()
            .rev()
            .find(|r| r.start.ge(start) && r.end.le(end) && r.start.lt(end))
            .is_some_and(|r| r.pushed)
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// packets_out.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn records(&self) -> impl DoubleEndedIterator<Item = &SentRecord> {
        self.records.iter()
    }

    pub fn records_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut SentRecord> {
        self.counts.set(None);
        self.records.iter_mut()
    }

    pub fn head(&self) -> Option<&SentRecord> {
        self.records.front()
    }

    pub fn last(&self) -> Option<&SentRecord> {
        self.records.back()
    }

    fn counts(&self) -> Counts {
        if let Some(counts) = self.counts.get() {
            return counts;
        }
        let mut counts = Counts::default();
        for record in &self.records {
            counts.sacked += u32::from(record.sacked);
            counts.lost += u32::from(record.lost);
            counts.retrans += u32::from(record.retransmit_in_flight);
        }
        self.counts.set(Some(counts));
        counts
    }

    /// sacked_out.
    pub fn sacked_out(&self) -> u32 {
        self.counts().sacked
    }

    /// lost_out.
    pub fn lost_out(&self) -> u32 {
        self.counts().lost
    }

    /// retrans_out.
    pub fn retrans_out(&self) -> u32 {
        self.counts().retrans
    }

    /// tcp_highest_sack_seq: the end of the highest SACKed record, SND.UNA without any.
    pub fn highest_sacked_end(&self, snd_una: Seq) -> Seq {
        self.records
            .iter()
            .rev()
            .find(|r| r.sacked)
            .map_or(snd_una, |r| r.end)
    }

    /// Every record overlapping [start, end) was sent again (TCPCB_EVER_RETRANS), now, with
    /// a new tcp_rate_skb_sent snapshot; `in_flight` marks TCPCB_SACKED_RETRANS
    /// (tcp_retransmit_skb; a loss probe's __tcp_retransmit_skb leaves it clear).
    pub fn mark_retransmitted(
        &mut self,
        start: Seq,
        end: Seq,
        now: Instant,
        rate: RateSnapshot,
        in_flight: bool,
    ) {
        self.counts.set(None);
        for record in &mut self.records {
            if record.start.lt(end) && record.end.gt(start) {
                record.retransmitted = true;
                record.last_sent = now;
                record.rate = rate;
                if in_flight && !record.sacked {
                    record.retransmit_in_flight = true;
                }
            }
        }
    }

    /// Splits the record holding `at` so that a record starts there (tcp_fragment), keeping
    /// the marks on both halves.
    pub fn split_at(&mut self, at: Seq) {
        self.counts.set(None);
        let Some(index) = self
            .records
            .iter()
            .position(|r| r.start.lt(at) && r.end.gt(at))
        else {
            return;
        };
        let mut tail = self.records[index];
        tail.start = at;
        self.records[index].end = at;
        // tcp_fragment: "flags & ~(TCPHDR_FIN | TCPHDR_PSH)" for the first part.
        self.records[index].pushed = false;
        self.records.insert(index + 1, tail);
    }

    /// Records wholly inside a SACK block (TCPCB_SACKED_ACKED): each newly SACKed one is
    /// delivered (tcp_sacktag_one → tcp_rate_skb_delivered) and returned; a SACKed record
    /// is no longer lost nor in flight as a retransmission.
    pub fn mark_sacked(
        &mut self,
        left: Seq,
        right: Seq,
        delivery: &mut DeliveryRate,
        sample: &mut RateSample,
    ) -> Vec<Sacked> {
        self.counts.set(None);
        let mut newly = Vec::new();
        for record in &mut self.records {
            if record.start.ge(left) && record.end.le(right) && !record.sacked {
                record.sacked = true;
                record.lost = false;
                record.retransmit_in_flight = false;
                let sent_at = record.last_sent;
                delivery.segment_delivered(&mut record.rate, sent_at, true, true, sample);
                newly.push(Sacked {
                    start: record.start,
                    end: record.end,
                    last_sent: record.last_sent,
                    retransmitted: record.retransmitted,
                });
            }
        }
        newly
    }

    /// A D-SACK for [left, right): how many retransmitted records it covers (they were
    /// received twice), clearing their TCPCB_SACKED_RETRANS (tcp_sacktag_one's dup_sack).
    pub fn mark_duplicate(&mut self, left: Seq, right: Seq) -> u32 {
        self.counts.set(None);
        let mut retransmitted = 0;
        for record in &mut self.records {
            if record.start.ge(left) && record.end.le(right) && record.retransmitted {
                retransmitted += 1;
                record.retransmit_in_flight = false;
            }
        }
        retransmitted
    }

    /// When the oldest unacknowledged segment was first sent.
    pub fn head_sent_at(&self) -> Option<Instant> {
        self.records.front().map(|record| record.first_sent)
    }

    /// When the oldest unacknowledged segment was last sent (tcp_rto_delta_us's base).
    pub fn head_last_sent(&self) -> Option<Instant> {
        self.records.front().map(|record| record.last_sent)
    }

    /// Forgets what `ack` covers and returns what tcp_clean_rtx_queue learns: the RTT
    /// sample from the oldest newly acknowledged segment that was neither retransmitted nor
    /// SACKed — none at all when any retransmitted data is covered
    /// (FLAG_RETRANS_DATA_ACKED) — and the flags recovery needs. `high_seq`: the recovery
    /// point, for FLAG_ORIG_SACK_ACKED.
    /// Each newly acknowledged record is delivered (tcp_clean_rtx_queue →
    /// tcp_rate_skb_delivered), counted unless it was SACKed before.
    pub fn acknowledge(
        &mut self,
        ack: Seq,
        now: Instant,
        high_seq: Seq,
        delivery: &mut DeliveryRate,
        sample: &mut RateSample,
    ) -> Acked {
        self.counts.set(None);
        let mut acked = Acked::default();
        let mut first_acked: Option<Instant> = None;
        while let Some(mut record) = self.records.front().copied() {
            if !record.end.le(ack) {
                break;
            }
            self.records.pop_front();
            delivery.segment_delivered(
                &mut record.rate,
                record.last_sent,
                !record.sacked,
                false,
                sample,
            );
            acked.packets += 1;
            if record.sacked {
                acked.sacked_packets += 1;
            } else {
                acked
                    .delivered
                    .push((record.retransmitted, record.end, record.last_sent));
            }
            if record.retransmitted {
                acked.retransmitted_data = true;
            } else if !record.sacked {
                if first_acked.is_none() {
                    first_acked = Some(record.first_sent);
                }
                if acked.lowest_original.is_none() {
                    acked.lowest_original = Some(record.start);
                }
                if record.end.le(high_seq) {
                    acked.original_acked = true;
                }
            }
        }
        if !acked.retransmitted_data {
            acked.rtt = first_acked.map(|sent| now.saturating_since(sent));
        }
        acked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karn_and_sacked_segments_give_no_sample() {
        let mut log = SentLog::default();
        let mut rate = DeliveryRate::default();
        let mut sample = RateSample::default();
        let at = |ms| Instant::from_millis(ms);
        let high = Seq(1000);
        let snap = rate.segment_sent(at(0), true);
        log.record(Seq(0), Seq(100), at(0), snap);
        log.record(Seq(100), Seq(200), at(10), snap);
        log.record(Seq(200), Seq(300), at(20), snap);
        log.record(Seq(300), Seq(400), at(30), snap);
        assert_eq!(
            log.acknowledge(Seq(100), at(50), high, &mut rate, &mut sample)
                .rtt,
            Some(Duration::from_millis(50))
        );
        log.mark_retransmitted(Seq(150), Seq(160), at(55), snap, true);
        assert_eq!(log.retrans_out(), 1);
        let acked = log.acknowledge(Seq(200), at(60), high, &mut rate, &mut sample);
        assert_eq!(acked.rtt, None);
        assert!(acked.retransmitted_data);
        let sacked = log.mark_sacked(Seq(300), Seq(400), &mut rate, &mut sample);
        assert_eq!(sacked.len(), 1);
        assert_eq!(log.sacked_out(), 1);
        assert_eq!(log.highest_sacked_end(Seq(200)), Seq(400));
        // The SACKed record gives nothing; the other one does.
        assert_eq!(
            log.acknowledge(Seq(400), at(70), high, &mut rate, &mut sample)
                .rtt,
            Some(Duration::from_millis(50))
        );
        // Four segments, each delivered once.
        assert_eq!(rate.delivered, 4);
        assert!(log.is_empty());
        assert_eq!(log.head_sent_at(), None);
    }

    #[test]
    fn split_keeps_marks() {
        let mut log = SentLog::default();
        let mut rate = DeliveryRate::default();
        let snap = rate.segment_sent(Instant::from_millis(0), true);
        log.record(Seq(0), Seq(3000), Instant::from_millis(0), snap);
        log.records_mut().for_each(|r| r.lost = true);
        log.split_at(Seq(1000));
        assert_eq!(log.len(), 2);
        assert_eq!(log.lost_out(), 2);
        assert_eq!(log.head().map(|r| r.end), Some(Seq(1000)));
    }
}
