//! Sending (tcp_output.c): SYN and SYN-ACK, pure ACKs, resets, and tcp_write_xmit — the loop
//! that sends lost ranges first and then new data within the peer's window and the congestion
//! window, obeying Nagle (with Minshall's variant, tcp_nagle_check), TCP_CORK and MSG_MORE.

use super::seq::Seq;
use super::state::State;
use super::tcb::{Connection, OutSegment};
use super::timers::Timer;
use crate::time::Instant;
use crate::wire::tcp::flags;

impl Connection {
    /// tcp_connect / tcp_make_synack: the SYN (SYN_SENT) or SYN-ACK (SYN_RECV), sent from ISS.
    pub fn send_syn(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let synack = self.state == State::SynReceived;
        let segment_flags = if synack {
            flags::SYN | flags::ACK
        } else {
            flags::SYN
        };
        let tunables = &self.settings.tunables;
        let (ecn_sysctl, ecn_fallback) = (tunables.ecn, tunables.ecn_fallback);
        let segment_flags = segment_flags
            | self
                .ecn
                .syn_flags(synack, self.sent.is_empty(), ecn_sysctl, ecn_fallback);
        let segment = self.build_segment(now, self.iss, segment_flags, &[]);
        out.push(segment);
        // tcp_connect counts the SYN in packets_out before it goes: it never starts the
        // delivery-rate clock.
        let snapshot = self.rate.segment_sent(now, false);
        if self.sent.is_empty() {
            self.sent.record(self.iss, self.iss.add(1), now, snapshot);
        } else {
            self.sent
                .mark_retransmitted(self.iss, self.iss.add(1), now, snapshot, false);
        }
        self.snd_nxt = self.snd_nxt.max(self.iss.add(1));
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
    }

    /// tcp_send_ack: an ACK at SND.NXT with the current window (and SACK blocks).
    pub fn send_ack(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let segment = self.build_segment(now, self.snd_nxt, flags::ACK, &[]);
        out.push(segment);
    }

    /// tcp_send_active_reset: RST|ACK at SND.NXT.
    pub fn send_reset(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let segment = self.build_segment(now, self.snd_nxt, flags::RST | flags::ACK, &[]);
        out.push(segment);
    }

    /// tcp_xmit_probe_skb: an ACK carrying SND.UNA − 1, which the peer must answer with an
    /// ACK (zero-window probes and keepalives).
    pub fn send_probe(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let segment = self.build_segment(now, self.snd_una.sub(1), flags::ACK, &[]);
        out.push(segment);
    }

    /// The range [seq, seq + len) of sequence space, with FIN if it covers our FIN.
    pub(super) fn send_range(
        &mut self,
        now: Instant,
        seq: Seq,
        len: u32,
        out: &mut Vec<OutSegment>,
    ) {
        self.congestion_before_data_sent(now);
        let was_empty = self.sent.is_empty();
        let data_end = self.send_queue.end();
        let data_len = data_end.since(seq).min(len);
        let fin = self.fin_queued && len > data_len && seq.add(data_len) == self.fin_seq();
        let payload = self.send_queue.read(seq, data_len as usize);
        let mut segment_flags = flags::ACK;
        let retransmission = seq.lt(self.snd_nxt);
        // A retransmission carries the PSH its skb got when first sent (tcp_mark_push
        // marks the skb; `sent.rs` keeps the mark).
        let pushed = if retransmission {
            self.sent
                .pushed_within(seq, seq.add(data_len + u32::from(fin)))
        } else {
            data_len > 0 && seq.add(data_len) == data_end
        };
        if data_len > 0 && pushed {
            segment_flags |= flags::PSH;
        }
        if fin {
            segment_flags |= flags::FIN;
        }
        let segment = self.build_segment(now, seq, segment_flags, &payload);
        out.push(segment);
        let end = seq.add(data_len + u32::from(fin));
        // tcp_rate_skb_sent after the transmission, before packets_out counts it.
        let snapshot = self.rate.segment_sent(now, self.sent.is_empty());
        if retransmission {
            self.stats.total_retransmits += 1;
            self.stats.bytes_retransmitted += u64::from(data_len);
            self.sent.mark_retransmitted(seq, end, now, snapshot, true);
        } else {
            self.sent.record(seq, end, now, snapshot);
            if pushed {
                self.sent.mark_pushed(end);
            }
            self.stats.bytes_sent += u64::from(data_len);
            if data_len < self.mss {
                self.small_segment_end = Some(end);
            }
        }
        self.snd_nxt = self.snd_nxt.max(end);
        self.pacing_after_data_sent(now, data_len);
        // The transmit timer (`loss_probe.rs`): tcp_event_new_data_sent rearms the RTO when
        // the pipe was empty or a loss probe was pending; retransmissions arm their own.
        let pending = self.transmit_timer_pending();
        if (!retransmission && (was_empty || pending == Some(Timer::LossProbe)))
            || pending.is_none()
        {
            self.rearm_rto(now);
        }
        self.timers.clear(Timer::Persist);
    }

    /// tcp_minshall_check: a small segment sent earlier is still unacknowledged.
    fn small_segment_outstanding(&self) -> bool {
        self.small_segment_end
            .is_some_and(|end| end.gt(self.snd_una) && end.le(self.snd_nxt))
    }

    /// tcp_write_xmit. `more`: the caller has more to write at once (MSG_MORE), which holds
    /// a partial segment like TCP_CORK.
    pub fn transmit(&mut self, now: Instant, more: bool, out: &mut Vec<OutSegment>) {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) && !self.passive_fastopen()
        {
            return;
        }
        let mss = self.current_mss();
        // Lost segments are sent by tcp_xmit_retransmit_queue after an ACK or a timer
        // (`recovery.rs`); tcp_write_xmit sends new data only.
        let mut sent_segments = 0u32;
        // New data. tcp_write_xmit notes whether the peer's window stopped it
        // (is_rwnd_limited → TCP_CHRONO_RWND_LIMITED).
        let mut window_limited = false;
        loop {
            let end = self.send_end();
            if !self.snd_nxt.lt(end) {
                break;
            }
            // tcp_write_xmit: "if (tcp_pacing_check(sk)) break;".
            if self.pacing_holds(now) {
                break;
            }
            let data_end = self.send_queue.end();
            let available = data_end.since(self.snd_nxt);
            let window_end = self.snd_una.add(self.snd_wnd);
            let window_room = window_end.since(self.snd_nxt);
            // tcp_cwnd_test, in segments.
            if self.congestion_window_full() {
                break;
            }
            let len = available.min(mss).min(window_room);
            window_limited = window_room < available.min(mss);
            let takes_all = len == available;
            let fin_now = self.fin_queued && takes_all;
            if len == 0 && !fin_now {
                if window_room == 0 && self.in_flight() == 0 && !self.timers.is_set(Timer::Persist)
                {
                    self.timers.set(Timer::Persist, now + self.rtt.rto());
                }
                break;
            }
            // tcp_nagle_test: neither Nagle nor cork holds urgent data back.
            if len < mss && takes_all && !fin_now && !self.urgent_mode() {
                let corked = self.settings.cork || more;
                let nagle = !self.settings.nodelay && self.small_segment_outstanding();
                if corked || nagle {
                    break;
                }
            }
            self.send_range(now, self.snd_nxt, len + u32::from(fin_now), out);
            sent_segments += 1;
        }
        if sent_segments > 0 {
            if self.in_cwnd_reduction() {
                self.recovery.prr.sent += sent_segments;
            }
            // "Send one loss probe per tail loss episode."
            self.schedule_loss_probe(now, false);
        }
        let rwnd = super::chrono::ChronoKind::ReceiveWindowLimited;
        if window_limited {
            self.chrono.start(now, rwnd);
        } else {
            let queues_empty = self.send_queue.end() == self.snd_una;
            self.chrono.stop(now, rwnd, queues_empty);
        }
    }
}
