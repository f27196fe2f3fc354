//! Receiving a segment on a connection: tcp_rcv_synsent_state_process for SYN_SENT, and for
//! the synchronized states tcp_validate_incoming (PAWS, sequence check, RST and SYN rules of
//! RFC 9293 3.10.7.4 hardened by RFC 5961), tcp_ack (window update, SACK, RTT, congestion,
//! FIN acknowledged) and tcp_data_queue / tcp_fin.

use core::time::Duration;

use super::congestion::Phase;
use super::options::negotiate;
use super::rate::RateSample;
use super::recovery::{AckFlags, Rexmit};
use super::seq::Seq;
use super::state::State;
use super::tcb::{Connection, OutSegment};
use super::timers::Timer;
use crate::errno::Errno;
use crate::time::Instant;
use crate::wire::tcp::{flags, Repr};

/// net.ipv4.tcp_invalid_ratelimit: at most one challenge ACK per 500 ms per connection.
const CHALLENGE_ACK_INTERVAL: Duration = Duration::from_millis(500);

/// What the layer must do once the connection has seen a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Nothing,
    /// The handshake completed (SYN_SENT or SYN_RECV → ESTABLISHED).
    Established,
    /// Answer this segment with a reset built from it (tcp_v4_send_reset), as for a closed
    /// port: an unacceptable ACK in SYN_SENT or SYN_RECV, or data after close.
    ResetReply,
    /// The connection entered TIME_WAIT.
    TimeWait,
    /// An orphan's FIN was acked: it becomes a TIME_WAIT record in substate FIN_WAIT2 for
    /// this long (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo), `timewait.rs`).
    FinWait2Record(Duration),
    /// The connection is over (reset, last ACK of LAST_ACK).
    Closed,
}

impl Connection {
    pub fn handle_segment(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        out: &mut Vec<OutSegment>,
    ) -> Reaction {
        self.stats.segments_in += 1;
        let reaction = match self.state {
            State::SynSent => self.synsent_input(now, segment, out),
            State::Closed | State::Listen | State::TimeWait => Reaction::Nothing,
            _ => self.synchronized_input(now, segment, out),
        };
        if matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            self.transmit(now, false, out);
        }
        // tcp_rcv_established / tcp_rcv_state_process end with tcp_data_snd_check, then
        // tcp_ack_snd_check: a segment sent just now carried the owed ACK.
        if self.ack.take_check_due() && !matches!(self.state, State::Closed | State::TimeWait) {
            self.ack_check(now, out);
        }
        reaction
    }

    /// tcp_rcv_synsent_state_process.
    fn synsent_input(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        out: &mut Vec<OutSegment>,
    ) -> Reaction {
        let ack = Seq(segment.ack);
        let has_ack = segment.has(flags::ACK);
        if has_ack && (ack.le(self.iss) || ack.gt(self.snd_nxt)) {
            // "reset_and_undo": an ACK for something we never sent gets a reset, unless it
            // is itself a reset.
            return if segment.has(flags::RST) {
                Reaction::Nothing
            } else {
                Reaction::ResetReply
            };
        }
        if segment.has(flags::RST) {
            if has_ack {
                // tcp_reset in SYN_SENT: connection refused.
                self.report_error(Errno::ECONNREFUSED);
                self.finish();
                return Reaction::Closed;
            }
            return Reaction::Nothing;
        }
        if !segment.has(flags::SYN) {
            return Reaction::Nothing;
        }
        let negotiated = negotiate(&self.syn_options, &segment.options);
        self.irs = Seq(segment.seq);
        self.rcv_nxt = self.irs.add(1);
        let initial_window = self.rcv_adv.since(Seq(0));
        self.rcv_wup = self.rcv_nxt;
        self.rcv_adv = self.rcv_nxt.add(initial_window);
        self.rcv_ssthresh = initial_window;
        self.apply_negotiated(negotiated);
        // tcp_ecn_rcv_synack, or tcp_ecn_rcv_syn for a simultaneous open.
        if has_ack {
            self.ecn.on_synack(segment.flags);
        } else {
            self.ecn.on_syn(segment.flags);
        }
        if let Some((value, _)) = segment.options.timestamps.filter(|_| self.timestamps) {
            self.ts_recent = value;
        }
        self.snd_wnd = u32::from(segment.window);
        self.snd_wl1 = Seq(segment.seq);
        self.max_window = 0;
        self.note_peer_window(self.snd_wnd);
        if !has_ack {
            // Simultaneous open (RFC 9293 3.5 figure 8): SYN_RECV, and the SYN is sent again
            // with an ACK.
            self.state = State::SynReceived;
            self.send_syn(now, out);
            return Reaction::Nothing;
        }
        self.acknowledge_handshake(now, ack, segment);
        self.state = State::Established;
        self.init_congestion_control(now);
        self.init_receive_space();
        self.ack_on_established(now);
        self.wakeups.other += 1;
        self.wakeups.writable += 1;
        // tcp_finish_connect / tcp_rcv_state_process: sk_wake_async(SOCK_WAKE_IO, POLL_OUT).
        self.async_notices.output += 1;
        self.arm_keepalive(now);
        // tcp_rcv_fastopen_synack: the cookie, data of the SYN sent again (fastopen.rs).
        let fast_open = self.fastopen_synack(now, segment);
        if !segment.payload.is_empty() || segment.has(flags::FIN) {
            self.queue_data(now, segment, out);
        }
        if fast_open == super::fastopen::SynAckAnswer::DataRetransmitted {
            // tcp_non_congestion_loss_retransmit's tcp_xmit_retransmit_queue.
            self.retransmit_lost(now, out);
        }
        if fast_open != super::fastopen::SynAckAnswer::Acknowledge {
            return Reaction::Established;
        }
        // tcp_rcv_synsent_state_process answers the SYN-ACK, at once unless pingpong mode or
        // TCP_DEFER_ACCEPT lets it wait for data (`delayed_ack.rs`).
        self.acknowledge_syn_ack(now, out);
        Reaction::Established
    }

    /// The ACK of our SYN: SND.UNA moves, the SYN's RTT is sampled, the timer stops.
    fn acknowledge_handshake(&mut self, now: Instant, ack: Seq, segment: &Repr<'_>) {
        // tcp_snd_una_update counts the SYN in tcpi_bytes_acked (measured: 10001 after
        // 10000 bytes).
        self.stats.bytes_acked += u64::from(ack.since(self.snd_una));
        self.snd_una = ack;
        self.snd_wl2 = ack;
        self.send_queue.acknowledge(ack);
        let mut sample = RateSample::default();
        let _ = self.take_rtt_sample(now, ack, segment, &mut sample);
        self.rate.generate(now, &sample, self.rtt.min);
        self.timeouts = 0;
        self.retransmit_since = None;
        self.rtt.backoff = 0;
        self.timers.clear(Timer::Retransmit);
        self.last_received = now;
    }

    /// tcp_clean_rtx_queue's sample from the newly acknowledged segments, else the
    /// timestamp echo (tcp_ack_update_rtt).
    fn take_rtt_sample(
        &mut self,
        now: Instant,
        ack: Seq,
        segment: &Repr<'_>,
        sample: &mut RateSample,
    ) -> super::sent::Acked {
        // The recovery point decides FLAG_ORIG_SACK_ACKED (`sent.rs`).
        let high_seq = self.recovery.high_seq;
        let acked = self
            .sent
            .acknowledge(ack, now, high_seq, &mut self.rate, sample);
        match acked.rtt {
            Some(rtt) => self.rtt.sample(rtt),
            None => {
                if let Some((_, echo)) = segment.options.timestamps.filter(|_| self.timestamps) {
                    self.sample_from_echo(now, echo);
                }
            }
        }
        acked
    }

    fn sample_from_echo(&mut self, now: Instant, echo: u32) {
        if echo == 0 {
            return;
        }
        let elapsed = self.timestamp_now(now).wrapping_sub(echo);
        if elapsed < 0x8000_0000 {
            self.rtt
                .sample(Duration::from_millis(u64::from(elapsed.max(1))));
        }
    }

    /// tcp_send_challenge_ack, and the out-of-window ACKs tcp_oow_rate_limited allows: at
    /// most one per tcp_invalid_ratelimit (500 ms) per connection.
    fn challenge_ack(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if self
            .last_challenge_ack
            .is_some_and(|last| now.saturating_since(last) < CHALLENGE_ACK_INTERVAL)
        {
            return;
        }
        self.last_challenge_ack = Some(now);
        self.send_ack(now, out);
    }

    /// tcp_reset: the error the application sees depends on the state.
    fn reset_by_peer(&mut self) {
        let errno = match self.state {
            State::SynSent => Errno::ECONNREFUSED,
            State::CloseWait => Errno::EPIPE,
            _ => Errno::ECONNRESET,
        };
        self.report_error(errno);
        self.finish();
    }

    fn synchronized_input(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        out: &mut Vec<OutSegment>,
    ) -> Reaction {
        let seq = Seq(segment.seq);
        let end_seq = seq.add(segment.sequence_len());
        let rst = segment.has(flags::RST);
        if !segment.has(flags::ACK) && !rst && !segment.has(flags::SYN) {
            return Reaction::Nothing;
        }
        // PAWS (RFC 7323 5.3): an older timestamp than the last one accepted is a duplicate
        // from an earlier incarnation of the sequence space.
        if let Some((value, _)) = segment.options.timestamps.filter(|_| self.timestamps) {
            // tcp_paws_check: "if (!rx_opt->ts_recent) return true" — nothing recorded yet
            // (a repaired connection before its first segment) rejects nothing.
            if self.ts_recent != 0 && (value.wrapping_sub(self.ts_recent) as i32) < 0 && !rst {
                self.send_duplicate_ack(now, seq, end_seq, out);
                return Reaction::Nothing;
            }
        }
        // tcp_sequence: some part of the segment must be inside the window.
        let window_end = self.rcv_nxt.add(self.receive_window());
        let acceptable = !end_seq.lt(self.rcv_wup)
            && !seq.gt(window_end)
            && (!end_seq.gt(window_end) || self.receive.ready.is_empty());
        // tcp_reset_check: once the peer's FIN was taken (CLOSE_WAIT, LAST_ACK, CLOSING) a
        // reset at RCV.NXT − 1 is accepted too.
        let reset_check = seq == self.rcv_nxt.sub(1)
            && matches!(
                self.state,
                State::CloseWait | State::LastAck | State::Closing
            );
        if !acceptable {
            if rst {
                if reset_check {
                    self.reset_by_peer();
                    return Reaction::Closed;
                }
            } else if segment.has(flags::SYN) {
                self.challenge_ack(now, out);
            } else if !segment.payload.is_empty() {
                // tcp_send_dupack; data segments are never rate limited (tcp_oow_rate_limited).
                self.send_duplicate_ack(now, seq, end_seq, out);
            } else {
                self.challenge_ack(now, out);
            }
            return Reaction::Nothing;
        }
        if rst {
            // RFC 5961 3.2: only an exact match resets; anything else in the window gets a
            // challenge ACK.
            if seq == self.rcv_nxt || reset_check {
                self.reset_by_peer();
                return Reaction::Closed;
            }
            self.challenge_ack(now, out);
            return Reaction::Nothing;
        }
        let mut segment_start = seq;
        if segment.has(flags::SYN) {
            // A retransmitted SYN-ACK during simultaneous open is let through.
            let simultaneous_retransmit = self.state == State::SynReceived
                && segment.has(flags::ACK)
                && seq.add(1) == self.rcv_nxt
                && Seq(segment.ack) == self.snd_nxt;
            if !simultaneous_retransmit {
                // RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK.
                self.challenge_ack(now, out);
                return Reaction::Nothing;
            }
            segment_start = seq.add(1);
        }
        self.last_received = now;
        self.probes = 0;
        // tcp_replace_ts_recent: only segments at or before the last window update move it.
        if let Some((value, _)) = segment.options.timestamps.filter(|_| self.timestamps) {
            if seq.le(self.rcv_wup) {
                self.ts_recent = value;
            }
        }
        let mut reaction = Reaction::Nothing;
        let ack = Seq(segment.ack);
        if self.state == State::SynReceived {
            if !(ack.gt(self.snd_una) && ack.le(self.snd_nxt)) {
                return Reaction::ResetReply;
            }
            self.acknowledge_handshake(now, ack, segment);
            self.state = State::Established;
            self.init_congestion_control(now);
            self.init_receive_space();
            self.snd_wnd = u32::from(segment.window) << self.snd_wscale;
            self.snd_wl1 = seq;
            self.note_peer_window(self.snd_wnd);
            self.ack_on_established(now);
            self.wakeups.other += 1;
            self.wakeups.writable += 1;
            // tcp_finish_connect / tcp_rcv_state_process: sk_wake_async(SOCK_WAKE_IO, POLL_OUT).
            self.async_notices.output += 1;
            self.arm_keepalive(now);
            reaction = Reaction::Established;
        } else {
            let was_fin_wait1 = self.state == State::FinWait1;
            match self.process_ack(now, segment, out) {
                AckOutcome::Accepted => {}
                AckOutcome::Discard => return Reaction::Nothing,
                AckOutcome::Finished(finished) => return finished,
            }
            if was_fin_wait1 {
                if let Some(timeout) = self.fin_wait2_record_timeout(segment) {
                    return Reaction::FinWait2Record(timeout);
                }
            }
        }
        // The segment passed validation and tcp_ack: tcp_ack_snd_check follows its data.
        self.ack.mark_check_due();
        // Sixth step: the URG bit (tcp_urg), before the data.
        if self.state.receives_data() {
            self.receive_urgent(segment);
        }
        // Data and FIN (RFC 9293 3.10.7.4, seventh and eighth steps).
        let carries_data = !segment.payload.is_empty() || segment.has(flags::FIN);
        if carries_data {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    let new_data = end_seq
                        .sub(u32::from(segment.has(flags::FIN)))
                        .gt(self.rcv_nxt)
                        && !segment.payload.is_empty();
                    if self.read_shut && self.state != State::Established && new_data {
                        // tcp_rcv_state_process, FIN_WAIT1/2 with RCV_SHUTDOWN (closed, or
                        // shut down for reading): new data aborts the connection
                        // (LINUX_MIB_TCPABORTONDATA) with a reset.
                        self.reset_by_peer();
                        return Reaction::ResetReply;
                    }
                    if let Some(entered) = self.queue_data_from(now, segment, segment_start, out) {
                        if entered != Reaction::Nothing {
                            reaction = entered;
                        }
                    }
                }
                // After the peer's FIN only retransmissions can come; tcp_data_queue answers
                // them from quick-ACK mode.
                State::CloseWait | State::Closing | State::LastAck if seq.lt(self.rcv_nxt) => {
                    self.ack_out_of_window();
                }
                _ => {}
            }
        }
        reaction
    }

    /// tcp_ack. Returns whether the rest of the segment is processed.
    fn process_ack(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        out: &mut Vec<OutSegment>,
    ) -> AckOutcome {
        let ack = Seq(segment.ack);
        let seq = Seq(segment.seq);
        if ack.gt(self.snd_nxt) {
            // An ACK for data not sent: dropped; outside ESTABLISHED a challenge ACK
            // answers it (tcp_rcv_state_process).
            if self.state != State::Established {
                self.challenge_ack(now, out);
            }
            return AckOutcome::Discard;
        }
        let prior_snd_una = self.snd_una;
        let was_sack_reneged = self.recovery.sack_reneged;
        let mut flags = AckFlags::default();
        self.recovery.echo = segment
            .options
            .timestamps
            .filter(|_| self.timestamps)
            .map_or(0, |(_, echo)| echo);
        if ack.lt(self.snd_una) {
            // RFC 5961 5.2: older than the window the peer could have seen.
            if ack.lt(self.snd_una.sub(self.max_window)) {
                self.challenge_ack(now, out);
                return AckOutcome::Discard;
            }
            // old_ack: its SACK blocks still count (tcp_sacktag_write_queue, then
            // tcp_fastretrans_alert and tcp_xmit_recovery).
            let blocks = segment.options.sacks();
            if self.sack && !blocks.is_empty() {
                let mut sample = RateSample::default();
                self.sack_tag(now, blocks, ack, prior_snd_una, &mut flags, &mut sample);
                let rexmit = self.fast_retransmit_alert(now, prior_snd_una, 0, &mut flags);
                self.xmit_recovery(now, rexmit, out);
            }
            return AckOutcome::Accepted;
        }
        flags.una_advanced = ack.gt(self.snd_una);
        // FLAG_DATA: "ack_seq != TCP_SKB_CB(skb)->end_seq".
        flags.data = segment.sequence_len() > 0;
        let window = u32::from(segment.window) << self.snd_wscale;
        // tcp_may_update_window
        if ack.gt(self.snd_una)
            || seq.gt(self.snd_wl1)
            || (seq == self.snd_wl1 && (window > self.snd_wnd || window == 0))
        {
            flags.window_update = true;
            let opened = window > self.snd_wnd;
            self.snd_wnd = window;
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            self.note_peer_window(window);
            if opened && self.snd_wnd > 0 {
                self.timers.clear(Timer::Persist);
                self.probes = 0;
            }
        }
        self.congestion_ack_start(now);
        let prior_fack = if self.sack {
            self.sent.highest_sacked_end(self.snd_una)
        } else {
            self.snd_una
        };
        let prior_packets = self.sent.len();
        let prior_lost = self.congestion.lost_packets;
        let delivered_before = self.rate.delivered;
        let mut sample = RateSample::default();
        self.sack_tag(
            now,
            segment.options.sacks(),
            ack,
            prior_snd_una,
            &mut flags,
            &mut sample,
        );
        let ecn_echo = self.ecn_on_ack(segment.flags, !segment.payload.is_empty(), ack);
        flags.ece = ecn_echo;
        let acked = ack.since(self.snd_una);
        let flight_before = self.in_flight();
        if acked > 0 {
            self.stats.last_ack_received = now;
            let data_acked = ack.min(self.send_queue.end()).since(self.send_queue.start);
            self.send_queue.acknowledge(ack);
            self.snd_una = ack;
            // tcp_snd_una_update: "tp->bytes_acked += delta" (a FIN's byte included).
            self.stats.bytes_acked += u64::from(acked);
            self.timeouts = 0;
            self.retransmit_since = None;
            self.rtt.backoff = 0;
            if data_acked > 0 {
                self.wakeups.writable += 1;
                self.note_write_space();
            }
        }
        if prior_packets == 0 {
            // no_queue: nothing was outstanding; only a D-SACK can still undo.
            if flags.dsacking {
                let _ = self.fast_retransmit_alert(now, prior_snd_una, 0, &mut flags);
            }
            self.process_tlp_ack(ack, &flags);
            return AckOutcome::Accepted;
        }
        if acked > 0 {
            self.clean_sent_log(now, ack, segment, prior_fack, &mut flags, &mut sample);
            self.note_sack_reneging(&mut flags);
            if self.snd_una == self.snd_nxt {
                // tcp_clean_rtx_queue: "if (!skb) tcp_chrono_stop(sk, TCP_CHRONO_BUSY)".
                let queues_empty = self.send_queue.end() == self.snd_nxt;
                self.chrono
                    .stop(now, super::chrono::ChronoKind::Busy, queues_empty);
            }
        }
        self.recovery
            .rack
            .update_reorder_window(sample.prior_delivered(), self.rate.delivered);
        self.process_tlp_ack(ack, &flags);
        let mut rexmit = Rexmit::None;
        // tcp_ack_is_dubious.
        if !flags.not_duplicate() || flags.alert() || self.congestion.phase != Phase::Open {
            let duplicates =
                u32::from(!(flags.una_advanced || flags.not_duplicate() || flags.dsacking));
            rexmit = self.fast_retransmit_alert(now, prior_snd_una, duplicates, &mut flags);
        }
        // "If needed, reset TLP/RTO timer when RACK doesn't set."
        if flags.set_xmit_timer {
            self.set_transmit_timer(now);
        }
        // tcp_ack ends with tcp_rate_gen, tcp_cong_control and tcp_xmit_recovery.
        super::reneging::discard_rate_sample_after_reneging(was_sack_reneged, &mut sample);
        self.rate.generate(now, &sample, self.rtt.min);
        let delivered = self.rate.delivered.wrapping_sub(delivered_before);
        // tcp_count_delivered: what an ECE-marked ACK delivered counts in delivered_ce.
        if ecn_echo {
            self.ecn.delivered_ce = self.ecn.delivered_ce.wrapping_add(delivered);
        }
        let newly_lost = self.congestion.lost_packets.wrapping_sub(prior_lost);
        self.ack_congestion_control(now, acked, delivered, newly_lost, &flags, flight_before);
        // tcp_cong_control: an algorithm with cong_control (BBR) acts on every ACK.
        self.congestion_ack_end(now, &sample);
        self.xmit_recovery(now, rexmit, out);
        if acked > 0 {
            if let Some(finished) = self.after_fin_acked(now) {
                return AckOutcome::Finished(finished);
            }
        }
        AckOutcome::Accepted
    }

    /// tcp_clean_rtx_queue: the acknowledged segments leave the log, giving the RTT sample,
    /// RACK's newest delivery, reordering evidence and the FLAG_* bits recovery needs.
    fn clean_sent_log(
        &mut self,
        now: Instant,
        ack: Seq,
        segment: &Repr<'_>,
        prior_fack: Seq,
        flags: &mut AckFlags,
        sample: &mut RateSample,
    ) {
        let acked = self.take_rtt_sample(now, ack, segment, sample);
        if acked.packets == 0 {
            return;
        }
        flags.data_acked = true;
        flags.set_xmit_timer = true;
        flags.retrans_data_acked |= acked.retransmitted_data;
        flags.original_acked |= acked.original_acked;
        if self.sack {
            for &(retransmitted, end, sent_at) in &acked.delivered {
                self.recovery
                    .rack
                    .advance(now, retransmitted, end, sent_at, self.rtt.min);
            }
            // "Non-retransmitted hole got filled? That's reordering".
            if let Some(low) = acked.lowest_original {
                if low.lt(prior_fack) {
                    let fack = self.sent.highest_sacked_end(self.snd_una).max(prior_fack);
                    self.check_sack_reordering(low, fack);
                }
            }
        } else {
            self.remove_reno_sacks(acked.packets);
            // Without SACK an ACK that covers any retransmission cannot prove the
            // originals arrived.
            if acked.retransmitted_data {
                flags.original_acked = false;
            }
        }
    }

    /// tcp_cong_control for the built-in algorithms: the window shrinks by PRR in
    /// recovery, CWR follows `ecn.rs`, otherwise the algorithm may grow it. The window
    /// grows only when it was what limited sending (tcp_is_cwnd_limited: in slow start
    /// while the flight reached half the window, afterwards while it filled the window).
    fn ack_congestion_control(
        &mut self,
        now: Instant,
        acked: u32,
        delivered: u32,
        newly_lost: u32,
        flags: &AckFlags,
        flight_before: u32,
    ) {
        let mss = self.mss_unit();
        let min_rtt = self.rtt.min;
        // tcp_cong_control: an algorithm with cong_control (BBR) replaces PRR, CWR's
        // reduction and cong_avoid; it runs at the end of the ACK (congestion_hooks.rs).
        if self.congestion.control.has_cong_control() {
            return;
        }
        let cwnd_limited = if self.congestion.in_slow_start() {
            flight_before.saturating_mul(2) >= self.congestion.cwnd
        } else {
            flight_before + mss >= self.congestion.cwnd
        };
        if let Phase::Cwr { until } = self.congestion.phase {
            if acked > 0 {
                self.ecn_cwr_ack(until, acked);
                // Once CWR is over, tcp_cong_control grows the window from this ACK on.
                if self.congestion.phase == Phase::Open {
                    self.congestion
                        .on_ack(acked, mss, now, min_rtt, cwnd_limited);
                }
            }
            return;
        }
        let may_raise = self.recovery_cong_control(delivered, newly_lost, flags);
        if may_raise {
            // tcp_cong_avoid(sk, ack, acked_sacked): segments delivered, SACKed ones too.
            let grown = delivered.saturating_mul(mss);
            self.congestion
                .on_ack(grown, mss, now, min_rtt, cwnd_limited);
        } else if acked > 0 {
            // pkts_acked only (tcp_clean_rtx_queue); the window stays as recovery set it.
            self.congestion.on_ack(acked, mss, now, min_rtt, false);
        }
    }

    /// FIN_WAIT1 → FIN_WAIT2, CLOSING → TIME_WAIT, LAST_ACK → CLOSED when our FIN is acked.
    fn after_fin_acked(&mut self, now: Instant) -> Option<Reaction> {
        if !self.fin_acked() {
            return None;
        }
        match self.state {
            State::FinWait1 => {
                self.state = State::FinWait2;
                self.timers.clear(Timer::Retransmit);
                self.wakeups.other += 1;
                if self.orphaned {
                    // tcp_rcv_state_process: an orphan with TCP_LINGER2 < 0 is done at once
                    // (tcp_done, nothing sent); otherwise it waits tcp_fin_time for the
                    // peer's FIN.
                    let fin_timeout = self.settings.tunables.fin_timeout;
                    match self
                        .settings
                        .more
                        .fin_wait2_timeout(fin_timeout, self.rtt.rto())
                    {
                        Some(wait) => self.timers.set(
                            Timer::Keepalive,
                            now + super::timewait::fin_wait2_timer_delay(wait),
                        ),
                        None => {
                            self.finish();
                            return Some(Reaction::Closed);
                        }
                    }
                }
                None
            }
            State::Closing => Some(Reaction::TimeWait),
            State::LastAck => {
                self.finish();
                Some(Reaction::Closed)
            }
            _ => None,
        }
    }

    /// Payload and FIN of a segment whose sequence space starts at `start` (past a SYN).
    fn queue_data_from(
        &mut self,
        now: Instant,
        segment: &Repr<'_>,
        start: Seq,
        out: &mut Vec<OutSegment>,
    ) -> Option<Reaction> {
        let fin = segment.has(flags::FIN);
        let payload = segment.payload;
        let ahead = start.distance(self.rcv_nxt);
        let end = start.add(payload.len() as u32);
        if !payload.is_empty() && self.receive_window() == 0 && ahead >= 0 {
            // tcp_data_queue: nothing fits in a zero window ("out_of_window"); the ACK check
            // answers from quick-ACK mode so the peer probes again.
            self.ack_out_of_window();
            return None;
        }
        let reaches_new = end.gt(self.rcv_nxt) || (fin && end == self.rcv_nxt);
        if !reaches_new {
            // Entirely old: a retransmission ("A retransmit, 2nd most common case. Force an
            // immediate ack."), with its D-SACK (`dsack.rs`).
            self.dsack_set(start, end.add(u32::from(fin)));
            self.ack_out_of_window();
            return None;
        }
        if ahead <= 0 && self.receive_memory_exhausted(payload.len()) {
            // tcp_data_queue → tcp_try_rmem_schedule failed: "inet_csk(sk)->icsk_ack.pending
            // |= (ICSK_ACK_NOMEM | ICSK_ACK_NOW)", and with something queued already the data
            // is dropped; the ACK (its window) goes at once.
            self.schedule_ack();
            self.request_immediate_ack();
            return None;
        }
        // The D-SACK blocks tcp_data_queue, tcp_data_queue_ofo and tcp_ofo_queue set for
        // data received twice.
        self.dsack_for_arrival(start, end);
        // Never keep more than the window offered.
        let room = self.rcv_adv.distance(start);
        let (payload, fin) = if room < payload.len() as i32 {
            (&payload[..room.max(0) as usize], false)
        } else {
            (payload, fin)
        };
        let had_out_of_order = self.receive.has_out_of_order();
        let inserted = self.receive.insert(i64::from(ahead), payload, fin);
        if inserted.out_of_order && inserted.advanced == 0 {
            // tcp_data_queue_ofo begins with tcp_data_ecn_check.
            self.ecn_check_arrival();
        }
        if inserted.advanced > 0 {
            self.rcv_nxt = self.rcv_nxt.add(inserted.advanced as u32);
            self.stats.bytes_received += inserted.advanced as u64;
            self.stats.data_segments_in += 1;
            self.stats.last_data_received = now;
            self.wakeups.readable += 1;
            // tcp_data_ready → sock_def_readable: sk_wake_async(SOCK_WAKE_WAITD, POLL_IN).
            self.async_notices.input += 1;
            // tcp_event_data_recv: an ACK is owed; rcv_mss, ato, window growth.
            let header = segment.header_len() as u32;
            self.ack_on_data_received(now, payload.len(), header, segment.has(flags::PSH));
            // tcp_event_data_recv ends with tcp_data_ecn_check (`ecn.rs`).
            self.ecn_check_arrival();
        }
        if inserted.fin_reached && !self.done {
            if inserted.advanced == 0 {
                // tcp_data_queue ends with tcp_data_ready for a bare FIN too (POLL_IN).
                self.async_notices.input += 1;
            }
            return Some(self.receive_fin(now, out));
        }
        if inserted.out_of_order {
            // tcp_data_queue_ofo: a (SACK) ACK is owed; __tcp_ack_snd_check may compress it.
            self.schedule_ack();
        }
        if had_out_of_order && !self.receive.has_out_of_order() {
            // "RFC5681. 4.2. SHOULD send immediate ACK, when gap in queue is filled."
            self.request_immediate_ack();
        }
        None
    }

    fn queue_data(&mut self, now: Instant, segment: &Repr<'_>, out: &mut Vec<OutSegment>) {
        let start = Seq(segment.seq).add(1);
        let _ = self.queue_data_from(now, segment, start, out);
    }

    /// tcp_fin.
    fn receive_fin(&mut self, now: Instant, out: &mut Vec<OutSegment>) -> Reaction {
        self.rcv_nxt = self.rcv_nxt.add(1);
        self.done = true;
        self.read_shut = true;
        self.wakeups.readable += 1;
        self.wakeups.other += 1;
        // tcp_fin: POLL_HUP once both directions are shut, else POLL_IN.
        if self.write_shut {
            self.async_notices.hangup += 1;
        } else {
            self.async_notices.input += 1;
        }
        match self.state {
            State::Established | State::SynReceived => {
                self.state = State::CloseWait;
                // tcp_fin: inet_csk_enter_pingpong_mode, so the FIN's ACK waits for the
                // delayed-ACK timer and usually leaves with our own FIN (measured: a client
                // that closes within 5 ms sends only FIN+ACK; TCP_QUICKACK reads 0 then).
                self.ack_on_fin();
                Reaction::Nothing
            }
            State::FinWait1 => {
                self.send_ack(now, out);
                if self.fin_acked() {
                    Reaction::TimeWait
                } else {
                    self.state = State::Closing;
                    Reaction::Nothing
                }
            }
            State::FinWait2 => {
                self.send_ack(now, out);
                Reaction::TimeWait
            }
            _ => Reaction::Nothing,
        }
    }

    /// Keepalive timer (inet_csk_reset_keepalive_timer) when SO_KEEPALIVE is on.
    pub fn arm_keepalive(&mut self, now: Instant) {
        if self.settings.keepalive && matches!(self.state, State::Established | State::CloseWait) {
            self.timers
                .set(Timer::Keepalive, now + self.settings.keepalive_idle());
        }
    }
}

enum AckOutcome {
    Accepted,
    Discard,
    Finished(Reaction),
}
