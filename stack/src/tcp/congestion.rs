//! Congestion control and loss recovery: slow start, congestion avoidance by CUBIC (the
//! default, `cubic.rs`) or Reno (RFC 5681 3.1), fast retransmit and recovery driven by a SACK scoreboard (RFC 6675, in the
//! simplified form described on `Congestion::pipe`), and the RTO's loss state (RFC 5681 3.1
//! eq. 4, Linux's tcp_enter_loss). Without SACK every duplicate ACK counts as one segment
//! received beyond the hole, as Linux's tcp_add_reno_sack does, so the same machinery serves
//! NewReno (RFC 6582).
//!
//! Windows are in bytes; TCP_INFO reports them in segments of the current MSS.

use core::time::Duration;

use super::cubic::Cubic;
use super::seq::Seq;
use crate::time::Instant;

/// RFC 6928 / TCP_INIT_CWND: the initial window is ten segments.
pub const INITIAL_WINDOW_SEGMENTS: u32 = 10;
/// TCP_INFINITE_SSTHRESH.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;
/// RFC 5681's DupThresh.
pub const DUPLICATE_THRESHOLD: u32 = 3;
/// The congestion-avoidance algorithms implemented, by their TCP_CONGESTION names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Cubic,
    Reno,
}

impl Algorithm {
    /// Linux's built-in default (net.ipv4.tcp_congestion_control = cubic).
    pub const DEFAULT: Algorithm = Algorithm::Cubic;

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Cubic => "cubic",
            Algorithm::Reno => "reno",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Algorithm> {
        match name {
            b"cubic" => Some(Algorithm::Cubic),
            b"reno" => Some(Algorithm::Reno),
            _ => None,
        }
    }
}

/// SACKed ranges above SND.UNA, sorted and merged.
#[derive(Debug, Clone, Default)]
pub struct Scoreboard {
    ranges: Vec<(Seq, Seq)>,
}

impl Scoreboard {
    /// Records a SACK block if it lies within (SND.UNA, SND.MAX] (RFC 2018 section 8 and
    /// tcp_is_sackblock_valid: blocks outside what was sent are ignored, D-SACKs too).
    pub fn add(&mut self, left: Seq, right: Seq, snd_una: Seq, snd_max: Seq) -> bool {
        if !left.lt(right) || !left.gt(snd_una) || right.gt(snd_max) {
            return false;
        }
        self.ranges.push((left, right));
        self.ranges.sort_by(|a, b| a.0.distance(b.0).cmp(&0));
        let mut merged: Vec<(Seq, Seq)> = Vec::with_capacity(self.ranges.len());
        for &(start, end) in &self.ranges {
            match merged.last_mut() {
                Some(last) if start.le(last.1) => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.ranges = merged;
        true
    }

    /// Forgets what the cumulative ACK now covers.
    pub fn acknowledge(&mut self, snd_una: Seq) {
        self.ranges.retain(|&(_, end)| end.gt(snd_una));
        for range in &mut self.ranges {
            range.0 = range.0.max(snd_una);
        }
    }

    pub fn clear(&mut self) {
        self.ranges.clear();
    }

    pub fn sacked_bytes(&self) -> u32 {
        self.ranges.iter().map(|&(s, e)| e.since(s)).sum()
    }

    pub fn highest(&self) -> Option<Seq> {
        self.ranges.last().map(|&(_, end)| end)
    }

    /// SACKed bytes inside [from, to).
    pub fn sacked_within(&self, from: Seq, to: Seq) -> u32 {
        self.ranges
            .iter()
            .map(|&(s, e)| e.min(to).since(s.max(from)))
            .sum()
    }

    /// The first un-SACKed run inside [from, to), at most `limit` bytes.
    pub fn next_hole(&self, from: Seq, to: Seq, limit: u32) -> Option<(Seq, u32)> {
        let mut cursor = from;
        for &(start, end) in &self.ranges {
            if end.le(cursor) {
                continue;
            }
            if start.gt(cursor) {
                break;
            }
            cursor = end;
        }
        if !cursor.lt(to) {
            return None;
        }
        let next_sacked = self
            .ranges
            .iter()
            .map(|&(start, _)| start)
            .find(|start| start.gt(cursor))
            .unwrap_or(to)
            .min(to);
        Some((cursor, next_sacked.since(cursor).min(limit)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No loss detected (TCP_CA_Open, or Disorder while duplicate ACKs accumulate).
    Open,
    /// Fast recovery until `until` (the highest sequence sent when it began) is acknowledged.
    Recovery { until: Seq },
    /// After a retransmission timeout, until `until` is acknowledged (TCP_CA_Loss).
    Loss { until: Seq },
}

#[derive(Debug, Clone)]
pub struct Congestion {
    pub algorithm: Algorithm,
    pub cubic: Cubic,
    /// Segments acknowledged towards the next CUBIC increase (tp->snd_cwnd_cnt), and the
    /// bytes short of a whole segment.
    segment_credit: u32,
    byte_remainder: u32,
    pub cwnd: u32,
    pub ssthresh: u32,
    pub phase: Phase,
    pub duplicate_acks: u32,
    /// Without SACK: bytes assumed received beyond the hole (one MSS per duplicate ACK).
    pub reno_sacked: u32,
    pub scoreboard: Scoreboard,
    /// Retransmission cursor: holes below it were retransmitted in this episode.
    pub retransmit_next: Seq,
    /// End of the range considered lost in this episode.
    pub lost_end: Seq,
    /// Bytes acknowledged towards the next congestion-avoidance increase.
    avoidance_credit: u32,
    /// Counters for TCP_INFO.
    pub recoveries: u32,
    /// RFC 6675 5 step 4 / RFC 6582 3.2 step 2: the first lost segment is retransmitted on
    /// entering recovery whatever the pipe says.
    pub retransmit_now: bool,
}

impl Congestion {
    pub fn new(mss: u32, algorithm: Algorithm) -> Congestion {
        Congestion {
            algorithm,
            cubic: Cubic::default(),
            segment_credit: 0,
            byte_remainder: 0,
            cwnd: INITIAL_WINDOW_SEGMENTS * mss,
            ssthresh: INFINITE_SSTHRESH,
            phase: Phase::Open,
            duplicate_acks: 0,
            reno_sacked: 0,
            scoreboard: Scoreboard::default(),
            retransmit_next: Seq(0),
            lost_end: Seq(0),
            avoidance_credit: 0,
            recoveries: 0,
            retransmit_now: false,
        }
    }

    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// Slow start grows by the bytes acknowledged (tcp_slow_start), congestion avoidance by
    /// the algorithm: Reno one MSS per window, CUBIC along its curve (cubictcp_cong_avoid).
    /// Nothing grows during fast recovery, nor when the window was not the limit
    /// (tcp_is_cwnd_limited).
    pub fn on_ack(
        &mut self,
        acked: u32,
        mss: u32,
        now: Instant,
        min_rtt: Option<Duration>,
        cwnd_limited: bool,
    ) {
        if acked == 0 || matches!(self.phase, Phase::Recovery { .. }) || !cwnd_limited {
            return;
        }
        let mss = mss.max(1);
        let mut acked = acked;
        if self.in_slow_start() {
            let room = self.ssthresh - self.cwnd;
            let grow = acked.min(room);
            self.cwnd += grow;
            acked -= grow;
        }
        if acked == 0 || self.in_slow_start() {
            return;
        }
        match self.algorithm {
            Algorithm::Reno => {
                self.avoidance_credit += acked;
                while self.avoidance_credit >= self.cwnd {
                    self.avoidance_credit -= self.cwnd;
                    self.cwnd += mss;
                }
            }
            Algorithm::Cubic => {
                self.byte_remainder += acked;
                let segments = self.byte_remainder / mss;
                self.byte_remainder %= mss;
                if segments == 0 {
                    return;
                }
                let cwnd_segments = (self.cwnd / mss).max(1);
                let per_segment = self
                    .cubic
                    .update(cwnd_segments, segments, now, min_rtt)
                    .max(1);
                // tcp_cong_avoid_ai.
                if self.segment_credit >= per_segment {
                    self.segment_credit = 0;
                    self.cwnd += mss;
                }
                self.segment_credit += segments;
                if self.segment_credit >= per_segment {
                    let delta = self.segment_credit / per_segment;
                    self.segment_credit -= delta * per_segment;
                    self.cwnd += delta * mss;
                }
            }
        }
        self.cwnd = self.cwnd.min(INFINITE_SSTHRESH);
    }

    /// The ssthresh after a loss (ca_ops->ssthresh): Reno halves the window
    /// (tcp_reno_ssthresh), CUBIC keeps 717/1024 of it; never below two segments.
    fn reduced_threshold(&mut self, mss: u32) -> u32 {
        let mss = mss.max(1);
        let segments = self.cwnd / mss;
        let threshold = match self.algorithm {
            Algorithm::Reno => (segments / 2).max(2),
            Algorithm::Cubic => self.cubic.recalc_ssthresh(segments),
        };
        threshold * mss
    }

    /// Fast retransmit (RFC 6675 5 step 4): the hole at SND.UNA is retransmitted first.
    pub fn enter_recovery(&mut self, snd_una: Seq, snd_max: Seq, mss: u32) {
        self.ssthresh = self.reduced_threshold(mss);
        self.cwnd = self.ssthresh;
        self.phase = Phase::Recovery { until: snd_max };
        self.retransmit_next = snd_una;
        self.lost_end = snd_una.add(mss);
        self.recoveries += 1;
        self.retransmit_now = true;
    }

    /// tcp_enter_loss: one segment of window, everything outstanding not SACKed is lost. The
    /// threshold is reduced only on the first timeout of an episode.
    pub fn enter_loss(&mut self, snd_una: Seq, snd_max: Seq, mss: u32, first_timeout: bool) {
        if first_timeout {
            self.ssthresh = self.reduced_threshold(mss);
        }
        // cubictcp_state(TCP_CA_Loss): bictcp_reset.
        self.cubic.reset();
        self.segment_credit = 0;
        self.cwnd = mss;
        self.avoidance_credit = 0;
        self.phase = Phase::Loss { until: snd_max };
        self.retransmit_next = snd_una;
        self.lost_end = snd_max;
        self.duplicate_acks = 0;
        self.reno_sacked = 0;
    }

    /// Bytes SACKed (or assumed received, without SACK) inside the outstanding range.
    pub fn sacked(&self, snd_una: Seq, snd_max: Seq, sack: bool) -> u32 {
        let outstanding = snd_max.since(snd_una);
        if sack {
            self.scoreboard.sacked_within(snd_una, snd_max)
        } else {
            self.reno_sacked.min(outstanding)
        }
    }

    /// The end of the lost range: in SACK recovery every un-SACKed byte below the highest
    /// SACKed one (a simplification of RFC 6675's IsLost with DupThresh segments).
    pub fn loss_boundary(&self, snd_una: Seq, sack: bool) -> Seq {
        match self.phase {
            Phase::Open => snd_una,
            Phase::Recovery { .. } if sack => self
                .scoreboard
                .highest()
                .unwrap_or(snd_una)
                .max(self.lost_end),
            Phase::Recovery { .. } | Phase::Loss { .. } => self.lost_end,
        }
    }

    /// RFC 6675's pipe in bytes: outstanding, minus SACKed, minus lost and not yet
    /// retransmitted (Linux's packets_in_flight = packets_out - (sacked_out + lost_out) +
    /// retrans_out, counted in bytes).
    pub fn pipe(&self, snd_una: Seq, snd_max: Seq, sack: bool) -> u32 {
        let outstanding = snd_max.since(snd_una);
        let sacked = self.sacked(snd_una, snd_max, sack);
        let lost_from = self.retransmit_next.max(snd_una);
        let lost_to = self.loss_boundary(snd_una, sack).min(snd_max);
        let lost_pending = if lost_from.lt(lost_to) {
            let span = lost_to.since(lost_from);
            span - if sack {
                self.scoreboard.sacked_within(lost_from, lost_to)
            } else {
                0
            }
        } else {
            0
        };
        outstanding
            .saturating_sub(sacked)
            .saturating_sub(lost_pending)
    }

    /// The next lost range to retransmit, at most `mss` bytes.
    pub fn next_retransmission(
        &self,
        snd_una: Seq,
        snd_max: Seq,
        sack: bool,
        mss: u32,
    ) -> Option<(Seq, u32)> {
        if self.phase == Phase::Open {
            return None;
        }
        let from = self.retransmit_next.max(snd_una);
        let to = self.loss_boundary(snd_una, sack).min(snd_max);
        if !from.lt(to) {
            return None;
        }
        if sack {
            self.scoreboard.next_hole(from, to, mss)
        } else {
            Some((from, to.since(from).min(mss)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoreboard_merges_and_finds_holes() {
        let mut board = Scoreboard::default();
        assert!(board.add(Seq(300), Seq(400), Seq(100), Seq(1000)));
        assert!(board.add(Seq(200), Seq(300), Seq(100), Seq(1000)));
        assert!(board.add(Seq(600), Seq(700), Seq(100), Seq(1000)));
        // Outside (SND.UNA, SND.MAX]: ignored.
        assert!(!board.add(Seq(50), Seq(150), Seq(100), Seq(1000)));
        assert!(!board.add(Seq(900), Seq(1100), Seq(100), Seq(1000)));
        assert_eq!(board.sacked_bytes(), 300);
        assert_eq!(
            board.next_hole(Seq(100), Seq(700), 1000),
            Some((Seq(100), 100))
        );
        assert_eq!(
            board.next_hole(Seq(200), Seq(700), 50),
            Some((Seq(400), 50))
        );
        assert_eq!(board.next_hole(Seq(600), Seq(700), 1000), None);
        board.acknowledge(Seq(350));
        assert_eq!(board.sacked_bytes(), 150);
    }

    #[test]
    fn reno_slow_start_then_avoidance() {
        let now = Instant::from_millis(1);
        let mut cc = Congestion::new(1000, Algorithm::Reno);
        assert_eq!(cc.cwnd, 10_000);
        cc.ssthresh = 12_000;
        cc.on_ack(5000, 1000, now, None, true);
        // 2000 bytes of slow start reach ssthresh; 3000 credit is not yet a window.
        assert_eq!(cc.cwnd, 12_000);
        cc.on_ack(9000, 1000, now, None, true);
        assert_eq!(cc.cwnd, 13_000);
        // Not limited by the window: no growth.
        cc.on_ack(50_000, 1000, now, None, false);
        assert_eq!(cc.cwnd, 13_000);
    }

    #[test]
    fn loss_thresholds_per_algorithm() {
        let (una, max) = (Seq(0), Seq(100_000));
        let mut reno = Congestion::new(1000, Algorithm::Reno);
        reno.cwnd = 40_000;
        reno.enter_recovery(una, max, 1000);
        assert_eq!(reno.ssthresh, 20_000);
        let mut cubic = Congestion::new(1000, Algorithm::Cubic);
        cubic.cwnd = 40_000;
        cubic.enter_recovery(una, max, 1000);
        // 40 * 717 / 1024 = 28 segments.
        assert_eq!(cubic.ssthresh, 28_000);
        assert_eq!(cubic.cwnd, 28_000);
    }

    #[test]
    fn cubic_grows_in_avoidance() {
        let mut cc = Congestion::new(1000, Algorithm::Cubic);
        cc.cwnd = 20_000;
        cc.ssthresh = 20_000;
        let mut now = Instant::from_millis(1);
        for _ in 0..200 {
            now = now + Duration::from_millis(10);
            cc.on_ack(2000, 1000, now, Some(Duration::from_millis(10)), true);
        }
        assert!(cc.cwnd > 20_000, "cwnd {}", cc.cwnd);
    }

    #[test]
    fn recovery_pipe_counts_sacked_and_lost() {
        let mut cc = Congestion::new(1000, Algorithm::Reno);
        cc.cwnd = 10_000;
        let (una, max) = (Seq(0), Seq(10_000));
        for block in 1..5u32 {
            cc.scoreboard
                .add(Seq(block * 1000), Seq(block * 1000 + 1000), una, max);
        }
        cc.enter_recovery(una, max, 1000);
        assert_eq!(cc.ssthresh, 5000);
        // 10000 outstanding, 4000 SACKed, 1000 lost below the highest SACK.
        assert_eq!(cc.pipe(una, max, true), 5000);
        assert_eq!(
            cc.next_retransmission(una, max, true, 1000),
            Some((Seq(0), 1000))
        );
        cc.retransmit_next = Seq(1000);
        assert_eq!(cc.pipe(una, max, true), 6000);
        assert_eq!(cc.next_retransmission(una, max, true, 1000), None);
    }
}
