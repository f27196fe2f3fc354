//! Proportional Rate Reduction (RFC 6937) as Linux applies it during fast recovery and CWR
//! (tcp_init_cwnd_reduction, tcp_cwnd_reduction, tcp_end_cwnd_reduction): while the
//! pipe is above ssthresh, send in proportion to what was delivered; below it, slow start
//! back up to ssthresh (the "PRR-SSRB" bound). Counts are in segments, like tp->snd_cwnd.

/// tp->prior_cwnd, prr_delivered, prr_out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Prr {
    pub prior_cwnd: u32,
    pub delivered: u32,
    pub sent: u32,
}

impl Prr {
    /// tcp_init_cwnd_reduction's PRR part.
    pub fn start(&mut self, cwnd: u32) {
        self.prior_cwnd = cwnd;
        self.delivered = 0;
        self.sent = 0;
    }

    /// tcp_cwnd_reduction: the new congestion window, in segments, after an ACK that
    /// delivered `newly_acked_sacked` segments and marked `newly_lost` lost, with
    /// `in_flight` segments in the pipe; None when the ACK delivered nothing.
    pub fn reduce(
        &mut self,
        ssthresh: u32,
        in_flight: u32,
        newly_acked_sacked: u32,
        newly_lost: u32,
        una_advanced: bool,
    ) -> Option<u32> {
        if newly_acked_sacked == 0 || self.prior_cwnd == 0 {
            return None;
        }
        self.delivered += newly_acked_sacked;
        let delta = i64::from(ssthresh) - i64::from(in_flight);
        let mut send_count: i64 = if delta < 0 {
            let dividend =
                u64::from(ssthresh) * u64::from(self.delivered) + u64::from(self.prior_cwnd) - 1;
            (dividend / u64::from(self.prior_cwnd)) as i64 - i64::from(self.sent)
        } else {
            let mut count = (i64::from(self.delivered) - i64::from(self.sent))
                .max(i64::from(newly_acked_sacked));
            if una_advanced && newly_lost == 0 {
                count += 1;
            }
            count.min(delta)
        };
        // "Force a fast retransmit upon entering fast recovery".
        send_count = send_count.max(if self.sent > 0 { 0 } else { 1 });
        Some((i64::from(in_flight) + send_count).max(0) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_then_slow_start_reduction() {
        // RFC 6937 appendix example shape: cwnd 20, ssthresh 10, one loss.
        let mut prr = Prr::default();
        prr.start(20);
        // The first ACK: 19 in flight, one delivered: 10*1/20 rounds up to 1 to send.
        assert_eq!(prr.reduce(10, 18, 1, 1, false), Some(19));
        prr.sent = 1;
        // Next: 2 delivered, ceil(10*2/20) - 1 = 0.
        assert_eq!(prr.reduce(10, 18, 1, 0, false), Some(18));
        // Pipe below ssthresh: grow by what was delivered (+1 when SND.UNA moved).
        let mut low = Prr::default();
        low.start(20);
        low.sent = 1;
        assert_eq!(low.reduce(10, 5, 2, 0, true), Some(8));
    }

    #[test]
    fn nothing_delivered_changes_nothing() {
        let mut prr = Prr::default();
        prr.start(10);
        assert_eq!(prr.reduce(5, 9, 0, 0, false), None);
    }
}
