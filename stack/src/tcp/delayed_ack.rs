//! When a connection acknowledges: Linux's delayed-ACK engine, the `icsk_ack` part of
//! inet_connection_sock and the rules of tcp_input.c, tcp_output.c, tcp_timer.c and tcp.c that
//! drive it.
//!
//! - Arriving data schedules an ACK (tcp_event_data_recv) and updates the ACK timeout `ato`
//!   from the spacing of arrivals; the first data starts quick-ACK mode (`quick` ACKs sent at
//!   once, tcp_incr_quickack).
//! - After each segment __tcp_ack_snd_check decides: at once when more than one receive MSS
//!   is unacknowledged (and the window does not shrink), in quick-ACK mode outside pingpong
//!   mode, or when an event asked for it (ICSK_ACK_NOW: a filled hole, ECN CWR); a SACK for
//!   out-of-order data after three immediate ones is compressed (tcp_comp_sack_nr /
//!   tcp_comp_sack_delay_ns); otherwise tcp_send_delayed_ack arms the timer.
//! - Every segment that carries an ACK settles what was owed (tcp_event_ack_sent), so a reply
//!   sent within `ato` of the last arrival carries the ACK; such a reply also counts towards
//!   pingpong (interactive) mode (tcp_event_data_sent, net.ipv4.tcp_pingpong_thresh), where
//!   ACKs wait for the timer.
//! - The timer (tcp_delack_timer_handler) sends the ACK, inflating `ato`, or leaving pingpong
//!   mode when it was in it. A read may send the owed ACK first (tcp_cleanup_rbuf), and so may
//!   TCP_QUICKACK (__tcp_sock_set_quickack).
//!
//! Times are kept in jiffies as the kernel keeps them (CONFIG_HZ=250 here), so a timer armed
//! for `ato` fires on the same tick boundary the kernel's would.

use core::time::Duration;

use super::seq::Seq;
use super::state::State;
use super::tcb::{Connection, OutSegment};
use super::timers::{Timer, JIFFY};
use crate::time::Instant;

/// icsk_ack.pending bits (enum inet_csk_ack_state_t).
const ACK_SCHED: u8 = 1;
const ACK_TIMER: u8 = 2;
pub const ACK_PUSHED: u8 = 4;
pub const ACK_PUSHED2: u8 = 8;
const ACK_NOW: u8 = 16;

/// TCP_MAX_QUICKACKS.
pub const MAX_QUICK_ACKS: u8 = 16;
/// HZ, TCP_ATO_MIN (HZ/25), TCP_DELACK_MIN (HZ/25) and TCP_DELACK_MAX (HZ/5), in jiffies.
const HZ: u32 = 250;
const ATO_MIN: u32 = HZ / 25;
const DELACK_MIN: u32 = HZ / 25;
const DELACK_MAX: u32 = HZ / 5;
/// TCP_FASTRETRANS_THRESH: SACKs sent at once before compression starts.
const FAST_RETRANSMIT_THRESHOLD: u8 = 3;
/// tcp_event_data_recv grows the window only for segments of at least this many bytes.
const GROW_WINDOW_MIN_LEN: usize = 128;

/// inet_connection_sock's icsk_ack, plus tcp_sock's SACK compression state.
#[derive(Debug, Clone, Default)]
pub struct AckState {
    /// icsk_ack.pending: ICSK_ACK_SCHED, _TIMER, _PUSHED, _PUSHED2, _NOW.
    pending: u8,
    /// icsk_ack.quick: ACKs still to be sent at once.
    quick: u8,
    /// icsk_ack.pingpong: interactive-session count, in pingpong mode at
    /// net.ipv4.tcp_pingpong_thresh.
    pingpong: u8,
    /// icsk_ack.ato in jiffies; 0 until the first data arrives.
    ato: u32,
    /// icsk_ack.timeout: the jiffy the delayed-ACK timer is due.
    timeout: u64,
    /// icsk_ack.lrcvtime: the jiffy the last data arrived.
    last_receive: u64,
    /// icsk_ack.rcv_mss and icsk_ack.last_seg_size (tcp_measure_rcv_mss).
    pub rcv_mss: u32,
    last_segment_size: u32,
    /// tp->compressed_ack, tp->compressed_ack_rcv_nxt, tp->dup_ack_counter and the
    /// compressed_ack_timer's expiry.
    compressed: u32,
    compressed_rcv_nxt: Seq,
    duplicate_acks: u8,
    compressed_until: Option<Instant>,
    /// The segment being processed passed validation: tcp_ack_snd_check runs after it.
    check_due: bool,
    /// The connection began in SYN_RECV, a passive open: until it is established the
    /// kernel holds it as a request socket, whose ACKs go through the control socket.
    request_socket: bool,
}

impl AckState {
    /// A new connection: pingpong when TCP_QUICKACK 0 was set on the socket (or its
    /// listener, which the child copies).
    pub fn new(pingpong: bool, pingpong_threshold: u8, request_socket: bool) -> AckState {
        AckState {
            pingpong: if pingpong { pingpong_threshold } else { 0 },
            request_socket,
            rcv_mss: u32::from(super::options::DEFAULT_PEER_MSS),
            ..AckState::default()
        }
    }

    /// A passive open not yet established (tcp_v4_reqsk_send_ack answers for it).
    pub fn is_request_socket(&self) -> bool {
        self.request_socket
    }

    pub fn mark_check_due(&mut self) {
        self.check_due = true;
    }

    pub fn take_check_due(&mut self) -> bool {
        core::mem::take(&mut self.check_due)
    }

    /// tcpi_ato's source, in jiffies.
    pub fn ato_jiffies(&self) -> u32 {
        self.ato
    }
}

fn jiffies(now: Instant) -> u64 {
    now.as_nanos() / JIFFY.as_nanos() as u64
}

fn jiffy_instant(jiffy: u64) -> Instant {
    Instant::from_nanos(jiffy.saturating_mul(JIFFY.as_nanos() as u64))
}

/// usecs_to_jiffies / msecs_to_jiffies: rounded up.
fn duration_to_jiffies(duration: Duration) -> u32 {
    let jiffy = JIFFY.as_nanos();
    duration
        .as_nanos()
        .div_ceil(jiffy)
        .min(u128::from(u32::MAX)) as u32
}

impl Connection {
    fn pingpong_threshold(&self) -> u8 {
        self.settings.tunables.pingpong_thresh
    }

    /// inet_csk_in_pingpong_mode.
    pub fn in_pingpong_mode(&self) -> bool {
        self.ack.pingpong >= self.pingpong_threshold()
    }

    /// inet_csk_enter_pingpong_mode.
    fn enter_pingpong_mode(&mut self) {
        self.ack.pingpong = self.pingpong_threshold();
    }

    /// inet_csk_ack_scheduled.
    pub fn ack_scheduled(&self) -> bool {
        self.ack.pending & ACK_SCHED != 0
    }

    /// inet_csk_schedule_ack.
    pub fn schedule_ack(&mut self) {
        self.ack.pending |= ACK_SCHED;
    }

    /// tcp_try_rmem_schedule's test for in-order data of `len` bytes: the receive queue
    /// already holds more than SO_RCVBUF allows ("atomic_read(&sk->sk_rmem_alloc) >
    /// sk->sk_rcvbuf"; bytes queued stand for the skbs' truesize, and tcp_prune_queue's
    /// collapsing is not modelled) and the segment would add to a non-empty queue.
    pub fn receive_memory_exhausted(&self, len: usize) -> bool {
        let queued = self.receive.ready.len() + self.receive.out_of_order_bytes();
        len > 0 && queued > 0 && queued > self.settings.receive_buffer as usize
    }

    /// ICSK_ACK_NOW: the next ACK check sends at once (a filled hole, RFC 5681 4.2).
    pub fn request_immediate_ack(&mut self) {
        self.ack.pending |= ACK_NOW;
    }

    /// tp->rcv_wnd: the window last advertised.
    fn advertised_window(&self) -> u32 {
        self.rcv_adv.since(self.rcv_wup)
    }

    /// tcp_incr_quickack: enough quick ACKs to cover half the window, at least 2.
    fn increase_quick_acks(&mut self, max: u8) {
        let per_ack = 2 * self.ack.rcv_mss.max(1);
        let mut quick = self.advertised_window() / per_ack;
        if quick == 0 {
            quick = 2;
        }
        let quick = quick.min(u32::from(max)) as u8;
        if quick > self.ack.quick {
            self.ack.quick = quick;
        }
    }

    /// tcp_enter_quickack_mode: ACK the next segments at once, out of pingpong mode.
    pub fn enter_quickack_mode(&mut self, max: u8) {
        self.increase_quick_acks(max);
        self.ack.pingpong = 0;
        self.ack.ato = ATO_MIN;
    }

    /// tcp_in_quickack_mode (no RTAX_QUICKACK route metric here).
    fn in_quickack_mode(&self) -> bool {
        self.ack.quick > 0 && !self.in_pingpong_mode()
    }

    /// The connection became established (tcp_finish_connect, tcp_create_openreq_child):
    /// lrcvtime starts now.
    pub fn ack_on_established(&mut self, now: Instant) {
        self.ack.last_receive = jiffies(now);
    }

    /// tcp_event_data_recv for in-order data of `payload` bytes (TCP header `header` bytes,
    /// PSH or not).
    pub fn ack_on_data_received(&mut self, now: Instant, payload: usize, header: u32, push: bool) {
        self.schedule_ack();
        self.measure_rcv_mss(payload as u32, header, push);
        let now_jiffies = jiffies(now);
        let rto = duration_to_jiffies(self.rtt.rto());
        if self.ack.ato == 0 {
            // "The _first_ data packet received, initialize delayed ACK engine."
            self.increase_quick_acks(MAX_QUICK_ACKS);
            self.ack.ato = ATO_MIN;
        } else {
            let gap = now_jiffies.saturating_sub(self.ack.last_receive);
            if gap <= u64::from(ATO_MIN / 2) {
                self.ack.ato = (self.ack.ato >> 1) + ATO_MIN / 2;
            } else if gap < u64::from(self.ack.ato) {
                self.ack.ato = ((self.ack.ato >> 1) + gap as u32).min(rto);
            } else if gap > u64::from(rto) {
                // "Too long gap. Apparently sender failed to restart window."
                self.increase_quick_acks(MAX_QUICK_ACKS);
            }
        }
        self.ack.last_receive = now_jiffies;
        if payload >= GROW_WINDOW_MIN_LEN {
            // tcp_grow_window: a window that grows is announced at once
            // ("inet_csk(sk)->icsk_ack.quick |= 1").
            let before = self.rcv_ssthresh;
            self.grow_window();
            if self.rcv_ssthresh > before {
                self.ack.quick |= 1;
            }
        }
    }

    /// tcp_measure_rcv_mss: the receiver's guess of the sender's MSS from the segments
    /// that arrive; a delayed ACK waits for more than one such segment.
    fn measure_rcv_mss(&mut self, payload: u32, header: u32, push: bool) {
        let last = core::mem::take(&mut self.ack.last_segment_size);
        if payload >= self.ack.rcv_mss {
            self.ack.rcv_mss = payload.min(self.advmss());
            // "If the skb has a len of exactly 1*MSS and has the PSH bit set then it is
            // likely the end of an application write": ICSK_ACK_PUSHED.
            if push {
                self.ack.pending |= ACK_PUSHED;
            }
            return;
        }
        // "len" with the TCP header: a full-looking segment (or, without PSH, one of at
        // least TCP_MIN_MSS) sets the estimate when two in a row have the same size.
        let with_header = payload + header;
        let full = u32::from(super::options::DEFAULT_PEER_MSS) + 20;
        if with_header >= full || (with_header >= super::options::MIN_MSS + 20 && !push) {
            let size = with_header.saturating_sub(self.header_len());
            self.ack.last_segment_size = size;
            if size == last {
                self.ack.rcv_mss = size;
                return;
            }
        }
        if self.ack.pending & ACK_PUSHED != 0 {
            self.ack.pending |= ACK_PUSHED2;
        }
        self.ack.pending |= ACK_PUSHED;
    }

    /// tcp_event_data_sent: a data segment within `ato` of the last arrival is a reply, one
    /// step towards pingpong mode (inet_csk_inc_pingpong_cnt).
    pub fn ack_on_data_sent(&mut self, now: Instant) {
        let since = jiffies(now).saturating_sub(self.ack.last_receive);
        if since < u64::from(self.ack.ato) {
            self.ack.pingpong = self.ack.pingpong.saturating_add(1);
        }
    }

    /// tcp_event_ack_sent: the segment carries everything owed. tcp_dec_quickack_mode counts
    /// only ACKs of new data; inet_csk_clear_xmit_timer(ICSK_TIME_DACK) clears all of
    /// icsk_ack.pending.
    pub fn ack_on_ack_sent(&mut self) {
        // __tcp_transmit_skb chose the segment's window first (tcp_select_window).
        self.note_window_pressure();
        self.ack.compressed = 0;
        self.ack.compressed_until = None;
        if self.ack.quick > 0 {
            let acks = u8::from(self.ack_scheduled());
            if acks >= self.ack.quick {
                self.ack.quick = 0;
                // "Leaving quickack mode we deflate ATO."
                self.ack.ato = ATO_MIN;
            } else {
                self.ack.quick -= acks;
            }
        }
        self.ack.pending = 0;
        self.ecn.ack_now = false;
        self.timers.clear(Timer::DelayedAck);
    }

    /// __tcp_select_window's side effect: with less than half the space free, quick-ACK
    /// mode ends ("icsk->icsk_ack.quick = 0").
    fn note_window_pressure(&mut self) {
        let full = self.settings.more.clamp_window(self.receive_space());
        let used = self.receive.ready.len() + self.receive.out_of_order_bytes();
        let free = self.receive_space().saturating_sub(used as u32);
        if free < full / 2 {
            self.ack.quick = 0;
        }
    }

    /// tcp_ack_snd_check, after a segment was processed and whatever it let us send was sent.
    pub fn ack_check(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if self.ecn.ack_now {
            self.ack.pending |= ACK_NOW;
        }
        if !self.ack_scheduled() {
            // "We sent a data segment already."
            return;
        }
        let unacked = self.rcv_nxt.since(self.rcv_wup);
        let unread = self.receive.ready.len() as u64;
        let lowat = u64::from(self.settings.receive_lowat.max(1));
        // "More than one full frame received... and right edge of window advances far
        // enough" (the window check is __tcp_select_window's, with its side effect).
        let beyond_one_segment = unacked > self.ack.rcv_mss && {
            self.note_window_pressure();
            unread < lowat || self.window_to_offer() >= self.advertised_window()
        };
        if beyond_one_segment || self.in_quickack_mode() || self.ack.pending & ACK_NOW != 0 {
            self.send_ack(now, out);
            return;
        }
        if !self.receive.has_out_of_order() {
            self.send_delayed_ack(now, out);
            return;
        }
        self.compress_sack(now, out);
    }

    /// The out-of-order half of __tcp_ack_snd_check: the first three SACKs for a given
    /// RCV.NXT go at once (fast retransmit needs them), later ones wait up to 5% of the RTT
    /// (at most tcp_comp_sack_delay_ns) unless tcp_comp_sack_nr are already held back.
    fn compress_sack(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let limit = self.settings.tunables.comp_sack_nr;
        if !self.sack || self.ack.compressed >= limit {
            self.send_ack(now, out);
            return;
        }
        if self.ack.compressed_rcv_nxt != self.rcv_nxt {
            self.ack.compressed_rcv_nxt = self.rcv_nxt;
            self.ack.duplicate_acks = 0;
        }
        if self.ack.duplicate_acks < FAST_RETRANSMIT_THRESHOLD {
            self.ack.duplicate_acks += 1;
            self.send_ack(now, out);
            return;
        }
        self.ack.compressed += 1;
        if self.ack.compressed_until.is_some() {
            return;
        }
        // "compress ack timer : 5 % of rtt, but no more than tcp_comp_sack_delay_ns". The
        // receiver's own RTT estimate (rcv_rtt_est) is not kept here: the smoothed RTT
        // stands for min(rcv_rtt, srtt).
        let rtt = self.rtt.smoothed.unwrap_or(Duration::ZERO);
        let delay = (rtt / 20).min(self.settings.tunables.comp_sack_delay);
        self.ack.compressed_until = Some(now + delay);
        self.arm_ack_timer(now);
    }

    /// tcp_send_delayed_ack: the timer is armed for `ato` (bounded by the RTT, by 200 ms in
    /// pingpong mode or after a pushed segment, by TCP_DELACK_MAX_US); an ACK whose timer
    /// would fire within a quarter of that goes now.
    fn send_delayed_ack(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        let mut ato = self.ack.ato;
        if ato > DELACK_MIN {
            let mut max_ato = HZ / 2;
            if self.in_pingpong_mode() || self.ack.pending & ACK_PUSHED != 0 {
                max_ato = DELACK_MAX;
            }
            // "If some rtt estimate is known, use it to bound delayed ack."
            if let Some(srtt) = self.rtt.smoothed {
                let rtt = duration_to_jiffies(srtt).max(DELACK_MIN);
                max_ato = max_ato.min(rtt);
            }
            ato = ato.min(max_ato);
        }
        ato = ato.min(duration_to_jiffies(self.settings.more.delayed_ack_max()));
        let now_jiffies = jiffies(now);
        let mut timeout = now_jiffies + u64::from(ato);
        if self.ack.pending & ACK_TIMER != 0 {
            // "If delack timer is about to expire, send ACK now."
            if self.ack.timeout <= now_jiffies + u64::from(ato >> 2) {
                self.send_ack(now, out);
                return;
            }
            // "Use new timeout only if there wasn't a older one earlier."
            timeout = timeout.min(self.ack.timeout);
        }
        self.ack.pending |= ACK_SCHED | ACK_TIMER;
        self.ack.timeout = timeout;
        self.arm_ack_timer(now);
    }

    /// The timer slot serves both the delayed-ACK timer (due at a jiffy; a timer due now
    /// fires at the next tick) and the SACK compression timer.
    fn arm_ack_timer(&mut self, now: Instant) {
        let delayed = (self.ack.pending & ACK_TIMER != 0)
            .then(|| jiffy_instant(self.ack.timeout.max(jiffies(now) + 1)));
        match [delayed, self.ack.compressed_until]
            .into_iter()
            .flatten()
            .min()
        {
            Some(at) => self.timers.set(Timer::DelayedAck, at),
            None => self.timers.clear(Timer::DelayedAck),
        }
    }

    /// tcp_delack_timer_handler (and tcp_compressed_ack_kick for the compression timer).
    pub fn delayed_ack_timeout(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if matches!(self.state, State::Closed | State::Listen) {
            return;
        }
        if self.ack.compressed > 0 {
            let compression_due = self.ack.compressed_until.is_some_and(|at| at <= now);
            let delack_due = self.ack.pending & ACK_TIMER != 0 && jiffies(now) >= self.ack.timeout;
            if compression_due || delack_due {
                self.send_ack(now, out);
                return;
            }
        }
        if self.ack.pending & ACK_TIMER == 0 || jiffies(now) < self.ack.timeout {
            self.arm_ack_timer(now);
            return;
        }
        self.ack.pending &= !ACK_TIMER;
        if self.ack_scheduled() {
            if !self.in_pingpong_mode() {
                // "Delayed ACK missed: inflate ATO."
                let rto = duration_to_jiffies(self.rtt.rto());
                self.ack.ato = (self.ack.ato << 1).min(rto);
            } else {
                // "Delayed ACK missed: leave pingpong mode and deflate ATO."
                self.ack.pingpong = 0;
                self.ack.ato = ATO_MIN;
            }
            self.send_ack(now, out);
        } else {
            self.arm_ack_timer(now);
        }
    }

    /// tcp_rcv_synsent_state_process: the ACK of the SYN-ACK waits (up to TCP_DELACK_MAX)
    /// when TCP_DEFER_ACCEPT is set or the socket is in pingpong mode ("Save one ACK. Data
    /// will be ready after several ticks"), entering quick-ACK mode; otherwise it goes now.
    pub fn acknowledge_syn_ack(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if self.settings.more.defer_accept_retries > 0 || self.in_pingpong_mode() {
            self.delay_ack_of_syn_ack(now);
            return;
        }
        self.send_ack(now, out);
    }

    /// The waiting branch of tcp_rcv_synsent_state_process (also taken with
    /// sk_write_pending): "inet_csk_schedule_ack; tcp_enter_quickack_mode;
    /// inet_csk_reset_xmit_timer(sk, ICSK_TIME_DACK, TCP_DELACK_MAX, TCP_RTO_MAX)".
    pub fn delay_ack_of_syn_ack(&mut self, now: Instant) {
        self.schedule_ack();
        self.enter_quickack_mode(MAX_QUICK_ACKS);
        self.ack.pending |= ACK_TIMER;
        self.ack.timeout = jiffies(now) + u64::from(DELACK_MAX);
        self.arm_ack_timer(now);
    }

    /// tcp_send_dupack: an old or out-of-window segment is answered at once; one that
    /// carried data before RCV.NXT means our ACK was lost, so quick-ACK mode starts.
    pub fn send_duplicate_ack(
        &mut self,
        now: Instant,
        seq: Seq,
        end_seq: Seq,
        out: &mut Vec<OutSegment>,
    ) {
        if end_seq != seq && seq.lt(self.rcv_nxt) {
            self.enter_quickack_mode(MAX_QUICK_ACKS);
            // The D-SACK for the repeated part (`dsack.rs`).
            self.dsack_for_dupack(seq, end_seq);
        }
        self.send_ack(now, out);
    }

    /// tcp_data_queue's "out_of_window" (an old retransmission, data for a zero window):
    /// quick-ACK mode and an ACK scheduled, sent by the ACK check that follows.
    pub fn ack_out_of_window(&mut self) {
        self.enter_quickack_mode(MAX_QUICK_ACKS);
        self.schedule_ack();
    }

    /// tcp_fin in ESTABLISHED (or SYN_RECV): the FIN's ACK is owed and the connection enters
    /// pingpong mode, so it waits for our own FIN or the timer.
    pub fn ack_on_fin(&mut self) {
        self.schedule_ack();
        self.enter_pingpong_mode();
    }

    /// tcp_cleanup_rbuf's first test, after a read that copied `copied` bytes: the owed ACK
    /// goes now when more than one segment is unacknowledged, or when the read emptied the
    /// queues after a segment that ended a write (PUSHED2, or PUSHED outside pingpong mode).
    pub fn ack_due_after_read(&self, copied: usize) -> bool {
        if !self.ack_scheduled() {
            return false;
        }
        let pending = self.ack.pending;
        let pushed =
            pending & ACK_PUSHED2 != 0 || (pending & ACK_PUSHED != 0 && !self.in_pingpong_mode());
        let drained = self.receive.ready.is_empty() && !self.receive.has_out_of_order();
        self.rcv_nxt.since(self.rcv_wup) > self.ack.rcv_mss || (copied > 0 && pushed && drained)
    }

    /// __tcp_sock_set_quickack. 0 enters pingpong mode; any other value leaves it and, on a
    /// connection that owes an ACK, runs tcp_cleanup_rbuf as after a read with the segment
    /// marked pushed; an even value enters pingpong mode again afterwards.
    pub fn set_quickack(&mut self, now: Instant, value: i32, out: &mut Vec<OutSegment>) {
        if value == 0 {
            self.enter_pingpong_mode();
            return;
        }
        self.ack.pingpong = 0;
        if matches!(self.state, State::Established | State::CloseWait) && self.ack_scheduled() {
            self.ack.pending |= ACK_PUSHED;
            if self.ack_due_after_read(1) || self.window_update_due(1) {
                self.send_ack(now, out);
            }
            if value & 1 == 0 {
                self.enter_pingpong_mode();
            }
        }
    }

    /// tcp_cleanup_rbuf's second test: after a read, a window that at least doubled is
    /// announced now (not in states where nothing more can arrive).
    pub fn window_update_due(&self, copied: usize) -> bool {
        if copied == 0 || self.read_shut {
            return false;
        }
        let advertised = self.receive_window();
        if advertised.saturating_mul(2) > self.receive_space() {
            return false;
        }
        let offered = self.window_to_offer();
        offered > 0 && offered >= advertised.saturating_mul(2)
    }

    /// tcpi_ato: "jiffies_to_usecs(min_t(u32, icsk->icsk_ack.ato, tcp_delack_max(sk)))".
    pub fn ack_timeout_info(&self) -> u32 {
        let delack_max = duration_to_jiffies(self.settings.more.delayed_ack_max());
        let jiffy_micros = JIFFY.as_micros() as u32;
        self.ack.ato.min(delack_max).saturating_mul(jiffy_micros)
    }

    /// tcp_cleanup_rbuf after a read of `copied` bytes.
    pub fn cleanup_after_read(&mut self, now: Instant, copied: usize, out: &mut Vec<OutSegment>) {
        if self.state == State::Closed {
            return;
        }
        if self.ack_due_after_read(copied) || self.window_update_due(copied) {
            self.send_ack(now, out);
        }
    }
}
