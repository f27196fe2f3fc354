//! Receive-buffer autotuning (tcp_rcv_space_adjust, "dynamic right-sizing"): once per RTT,
//! if the application read more than the last measurement, the receive buffer grows so the
//! window can cover about twice what is read per RTT, up to tcp_rmem[2]. A buffer the user
//! set with SO_RCVBUF stays as set (SOCK_RCVBUF_LOCK).

use super::tcb::Connection;
use crate::time::Instant;

/// TCP_INIT_CWND: the first measurement assumes ten segments per RTT.
const INITIAL_SEGMENTS: u32 = 10;

/// tp->rcvq_space.
#[derive(Debug, Clone, Default)]
pub struct ReceiveSpace {
    /// Bytes read per RTT at the last measurement.
    pub space: u32,
    /// Bytes the application has read in all (copied_seq).
    pub copied: u64,
    /// `copied` and the time when the current measurement began.
    epoch_copied: u64,
    epoch_start: Option<Instant>,
}

impl Connection {
    /// tcp_init_buffer_space: min(rcv_ssthresh, rcv_wnd, 10 * advmss).
    pub fn init_receive_space(&mut self) {
        let window = self.receive_window();
        // tcp_init_buffer_space: "min3(rcv_ssthresh, rcv_wnd, TCP_INIT_CWND * advmss)",
        // advmss being less the timestamp option once it was negotiated (measured: 14480).
        self.receive_space.space = self
            .rcv_ssthresh
            .min(window)
            .min(INITIAL_SEGMENTS * self.advmss());
        // tcp_initialize_rcv_mss: "min(advmss, mss_cache, rcv_wnd / 2, TCP_MSS_DEFAULT)",
        // at least TCP_MIN_MSS.
        self.ack.rcv_mss = self
            .advmss()
            .min(self.mss)
            .min(window / 2)
            .min(u32::from(super::options::DEFAULT_PEER_MSS))
            .max(super::options::MIN_MSS);
    }

    /// The application read `count` bytes at `now` (tcp_rcv_space_adjust). Returns true when
    /// the receive buffer grew.
    pub fn adjust_receive_space(&mut self, now: Instant, count: usize) -> bool {
        self.receive_space.copied += count as u64;
        // The receiver's RTT estimate; the handshake always gave one sample.
        let Some(rtt) = self.rtt.smoothed else {
            return false;
        };
        let start = *self.receive_space.epoch_start.get_or_insert(now);
        if now.saturating_since(start) < rtt {
            return false;
        }
        let copied = self.receive_space.copied - self.receive_space.epoch_copied;
        let space = u64::from(self.receive_space.space.max(1));
        let mut grew = false;
        if copied > space {
            if !self.settings.receive_buffer_locked {
                // "rcvwin = (copied << 1) + 16 * advmss; grow = rcvwin * (copied - space) /
                // space; rcvwin += grow << 1", then tcp_space_from_win (twice the window at
                // the default scaling ratio), capped by tcp_rmem[2].
                let advmss = u64::from(self.advertised_mss);
                let mut window = (copied << 1) + 16 * advmss;
                let grow = window * (copied - space) / space;
                window += grow << 1;
                let buffer = (window * 2).min(u64::from(self.settings.tunables.receive_buffer_max));
                if buffer > u64::from(self.settings.receive_buffer) {
                    self.settings.receive_buffer = buffer as u32;
                    grew = true;
                }
            }
            self.receive_space.space = copied.min(u64::from(u32::MAX)) as u32;
        }
        self.receive_space.epoch_copied = self.receive_space.copied;
        self.receive_space.epoch_start = Some(now);
        grew
    }
}
