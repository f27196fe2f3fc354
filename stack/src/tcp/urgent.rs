//! Urgent data (RFC 9293 3.8.5; RFC 6093 on how stacks really use it), as Linux does it with
//! net.ipv4.tcp_stdurg = 0 (BSD semantics: the urgent pointer points one past the urgent
//! byte). Sending: send(MSG_OOB) marks the end of that write (tcp_mark_urg), and every
//! segment before the mark carries URG and the pointer. Receiving (tcp_check_urg, tcp_urg):
//! the byte the pointer designates is kept apart — read with recv(MSG_OOB), skipped by
//! ordinary reads, which stop at the mark (SIOCATMARK) — unless SO_OOBINLINE is set.

use super::seq::Seq;
use super::tcb::Connection;
use crate::wire::tcp::{flags, Repr};

/// tp->urg_data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrgentData {
    #[default]
    None,
    /// A pointer arrived; the byte has not (TCP_URG_NOTYET).
    NotYet,
    /// The byte is here (TCP_URG_VALID | byte).
    Valid(u8),
    /// recv(MSG_OOB) took it (TCP_URG_READ).
    Read,
}

/// Receive-side urgent state.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrgentReceive {
    pub data: UrgentData,
    /// tp->urg_seq: the sequence number of the urgent byte.
    pub seq: Seq,
}

impl Connection {
    /// tp->copied_seq: the sequence number of the next byte the application reads.
    pub fn copied_seq(&self) -> Seq {
        self.rcv_nxt
            .sub(self.receive.ready.len() as u32)
            .sub(u32::from(self.done))
    }

    /// tcp_urg_mode: urgent data sent and not yet acknowledged.
    pub fn urgent_mode(&self) -> bool {
        self.snd_up.is_some_and(|up| up.gt(self.snd_una))
    }

    /// The URG flag and pointer for a segment starting at `seq` (tcp_transmit_skb).
    pub fn urgent_field(&self, seq: Seq) -> Option<u16> {
        let up = self.snd_up.filter(|_| self.urgent_mode())?;
        if !seq.lt(up) {
            return None;
        }
        if up.lt(seq.add(0x10000)) {
            Some(up.since(seq) as u16)
        } else if seq.add(0xFFFF).gt(self.snd_nxt) {
            Some(0xFFFF)
        } else {
            None
        }
    }

    /// tcp_urg: a segment's URG pointer, then whether it carries the urgent byte.
    pub fn receive_urgent(&mut self, segment: &Repr<'_>) {
        if segment.has(flags::URG) {
            self.check_urgent_pointer(segment);
        }
        if self.urgent.data == UrgentData::NotYet {
            let start = Seq(segment.seq).add(u32::from(segment.has(flags::SYN)));
            let offset = self.urgent.seq.distance(start);
            if offset >= 0 && (offset as usize) < segment.payload.len() {
                self.urgent.data = UrgentData::Valid(segment.payload[offset as usize]);
                self.wakeups.readable += 1;
                // tcp_urg: sk_data_ready → POLL_IN.
                self.async_notices.input += 1;
            }
        }
    }

    /// tcp_check_urg.
    fn check_urgent_pointer(&mut self, segment: &Repr<'_>) {
        // BSD semantics (tcp_stdurg = 0): the pointer is one past the urgent byte.
        let pointer = u32::from(segment.urgent_pointer).saturating_sub(1);
        let urgent = Seq(segment.seq).add(pointer);
        let copied = self.copied_seq();
        // Already read past it, or already received as ordinary data: ignored.
        if copied.gt(urgent) || urgent.lt(self.rcv_nxt) {
            return;
        }
        // Not newer than the pointer we have.
        if self.urgent.data != UrgentData::None && !urgent.gt(self.urgent.seq) {
            return;
        }
        // The previous urgent byte sits where the application reads next: it would be read
        // again as data once a new pointer replaces it, so it is dropped now.
        if self.urgent.seq == copied
            && self.urgent.data != UrgentData::None
            && !self.settings.urgent_inline
            && copied != self.rcv_nxt
        {
            self.receive.ready.pop_front();
        }
        self.urgent = UrgentReceive {
            data: UrgentData::NotYet,
            seq: urgent,
        };
        self.urgent_signals += 1;
    }

    /// SIOCATMARK: the next byte read is the urgent one.
    pub fn at_urgent_mark(&self) -> bool {
        self.urgent.data != UrgentData::None && self.urgent.seq == self.copied_seq()
    }

    /// How many bytes an ordinary read may take before the mark (tcp_recvmsg stops there),
    /// and whether the byte at the read position is the urgent one to skip.
    pub fn read_limit_at_mark(&self) -> (Option<usize>, bool) {
        if self.urgent.data == UrgentData::None {
            return (None, false);
        }
        let offset = self.urgent.seq.distance(self.copied_seq());
        if offset < 0 {
            return (None, false);
        }
        if offset == 0 {
            (None, !self.settings.urgent_inline)
        } else {
            (Some(offset as usize), false)
        }
    }

    /// "if (tp->urg_data && after(tp->copied_seq, tp->urg_seq)) tp->urg_data = 0".
    pub fn forget_urgent_once_read(&mut self) {
        if self.urgent.data != UrgentData::None && self.copied_seq().gt(self.urgent.seq) {
            self.urgent.data = UrgentData::None;
        }
    }
}
