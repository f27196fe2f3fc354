//! tcp_pace_kick → tcp_tsq_handler → tcp_tsq_write: when the pacing timer lets the next
//! segment leave, lost segments go first ("if (tp->lost_out > tp->retrans_out &&
//! tcp_snd_cwnd(tp) > tcp_packets_in_flight(tp)) tcp_xmit_retransmit_queue(sk)"), then new
//! data (tcp_write_xmit). Without the first step a retransmission burst that pacing cut
//! short (BBR, SO_MAX_PACING_RATE) would wait for the next ACK or the RTO.

use super::tcb::{Connection, OutSegment};
use crate::time::Instant;

impl Connection {
    /// tcp_tsq_write, from the pacing timer.
    pub fn pacing_kick(&mut self, now: Instant, out: &mut Vec<OutSegment>) {
        if self.sent.lost_out() > self.sent.retrans_out()
            && self.cwnd_segments() > self.segments_in_flight()
        {
            self.retransmit_lost(now, out);
        }
        self.transmit(now, false, out);
    }
}
