//! What was sent and is not yet acknowledged, one record per segment with its first
//! transmission time and whether it was retransmitted or SACKed: what tcp_clean_rtx_queue
//! reads from each skb to take RTT samples (Karn's rule: nothing retransmitted, nothing
//! already SACKed) and what tp->retrans_stamp starts from.

use core::time::Duration;
use std::collections::VecDeque;

use super::rate::{DeliveryRate, RateSample, RateSnapshot};
use super::seq::Seq;
use crate::time::Instant;

#[derive(Debug, Clone, Copy)]
struct SentRecord {
    start: Seq,
    end: Seq,
    first_sent: Instant,
    /// The latest transmission (tcp_skb_timestamp_us) and the delivery state then.
    last_sent: Instant,
    rate: RateSnapshot,
    retransmitted: bool,
    sacked: bool,
}

#[derive(Debug, Default)]
pub struct SentLog {
    records: VecDeque<SentRecord>,
}

impl SentLog {
    /// A first transmission of [start, end), with tcp_rate_skb_sent's snapshot.
    pub fn record(&mut self, start: Seq, end: Seq, now: Instant, rate: RateSnapshot) {
        self.records.push_back(SentRecord {
            start,
            end,
            first_sent: now,
            last_sent: now,
            rate,
            retransmitted: false,
            sacked: false,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record overlapping [start, end) was sent again (TCPCB_RETRANS), now, with a
    /// new tcp_rate_skb_sent snapshot.
    pub fn mark_retransmitted(&mut self, start: Seq, end: Seq, now: Instant, rate: RateSnapshot) {
        for record in &mut self.records {
            if record.start.lt(end) && record.end.gt(start) {
                record.retransmitted = true;
                record.last_sent = now;
                record.rate = rate;
            }
        }
    }

    /// Records wholly inside a SACK block (TCPCB_SACKED_ACKED): each newly SACKed one is
    /// delivered (tcp_sacktag_one → tcp_rate_skb_delivered).
    pub fn mark_sacked(
        &mut self,
        left: Seq,
        right: Seq,
        delivery: &mut DeliveryRate,
        sample: &mut RateSample,
    ) {
        for record in &mut self.records {
            if record.start.ge(left) && record.end.le(right) && !record.sacked {
                record.sacked = true;
                let sent_at = record.last_sent;
                delivery.segment_delivered(&mut record.rate, sent_at, true, true, sample);
            }
        }
    }

    /// When the oldest unacknowledged segment was first sent.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn head_sent_at(&self) -> Option<Instant> {
        self.records.front().map(|record| record.first_sent)
    }

    /// Forgets what `ack` covers and returns the RTT sample tcp_clean_rtx_queue would take:
    /// the time since the oldest newly acknowledged segment that was neither retransmitted
    /// nor SACKed — none at all when any retransmitted data is covered
    /// (FLAG_RETRANS_DATA_ACKED).
    /// Each newly acknowledged record is delivered (tcp_clean_rtx_queue →
    /// tcp_rate_skb_delivered), counted unless it was SACKed before.
    pub fn acknowledge(
        &mut self,
        ack: Seq,
        now: Instant,
        delivery: &mut DeliveryRate,
        sample: &mut RateSample,
    ) -> Option<Duration> {
        let mut retransmitted_acked = false;
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
            if record.retransmitted {
                retransmitted_acked = true;
            } else if !record.sacked && first_acked.is_none() {
                first_acked = Some(record.first_sent);
            }
        }
        if retransmitted_acked {
            return None;
        }
        first_acked.map(|sent| now.saturating_since(sent))
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
        let snap = rate.segment_sent(at(0), true);
        log.record(Seq(0), Seq(100), at(0), snap);
        log.record(Seq(100), Seq(200), at(10), snap);
        log.record(Seq(200), Seq(300), at(20), snap);
        log.record(Seq(300), Seq(400), at(30), snap);
        assert_eq!(
            log.acknowledge(Seq(100), at(50), &mut rate, &mut sample),
            Some(Duration::from_millis(50))
        );
        log.mark_retransmitted(Seq(150), Seq(160), at(55), snap);
        assert_eq!(
            log.acknowledge(Seq(200), at(60), &mut rate, &mut sample),
            None
        );
        log.mark_sacked(Seq(300), Seq(400), &mut rate, &mut sample);
        // The SACKed record gives nothing; the other one does.
        assert_eq!(
            log.acknowledge(Seq(400), at(70), &mut rate, &mut sample),
            Some(Duration::from_millis(50))
        );
        // Four segments, each delivered once.
        assert_eq!(rate.delivered, 4);
        assert!(log.is_empty());
        assert_eq!(log.head_sent_at(), None);
    }
}
