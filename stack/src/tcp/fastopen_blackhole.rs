//! Fast Open's blackhole detection (net/ipv4/tcp_fastopen.c): a middlebox that drops
//! Fast Open SYNs or the data after them makes connections time out. After such a timeout
//! (tcp_fastopen_active_detect_blackhole) or a FIN seen without any data
//! (tcp_fastopen_active_disable_ofo_check), active Fast Open is paused for the whole
//! namespace: net.ipv4.tcp_fastopen_blackhole_timeout_sec seconds, doubled for every
//! further detection up to 64 times. A connection that then receives data over a
//! non-loopback route clears the count. The sysctl is 0 (detection off) by default since
//! Linux 5.14; the driver reads it with the other tcp_fastopen values.

use super::layer::TcpLayer;
use super::tcb::Connection;
use crate::socket::SocketId;
use crate::time::Instant;
use core::time::Duration;

/// net->ipv4.tfo_active_disable_times and tfo_active_disable_stamp.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ActiveDisable {
    times: u32,
    stamp: Option<Instant>,
}

/// What tcp_fastopen_active_should_disable answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveVerdict {
    /// Still within the pause: no Fast Open option in the SYN.
    Paused,
    /// Fast Open may be used; `after_pause`: a pause ran out, so this connection's success
    /// should clear the count (tp->syn_fastopen_ch).
    Allowed { after_pause: bool },
}

impl ActiveDisable {
    /// tcp_fastopen_active_disable: "if (!READ_ONCE(...sysctl_tcp_fastopen_blackhole_timeout))
    /// return;" then the stamp and one more detection.
    pub fn disable(&mut self, now: Instant, timeout_secs: u32) {
        if timeout_secs == 0 {
            return;
        }
        self.stamp = Some(now);
        self.times = self.times.saturating_add(1);
    }

    /// tcp_fastopen_active_should_disable: "multiplier = 1 << min(tfo_da_times - 1, 6);
    /// timeout = stamp + multiplier * tfo_bh_timeout * HZ; if (time_before(jiffies,
    /// timeout)) return true;".
    pub fn verdict(&self, now: Instant, timeout_secs: u32) -> ActiveVerdict {
        if timeout_secs == 0 || self.times == 0 {
            return ActiveVerdict::Allowed { after_pause: false };
        }
        let multiplier = 1u64 << (self.times - 1).min(6);
        let pause = Duration::from_secs(multiplier * u64::from(timeout_secs));
        match self.stamp {
            Some(stamp) if now < stamp + pause => ActiveVerdict::Paused,
            _ => ActiveVerdict::Allowed { after_pause: true },
        }
    }

    /// The connection that used Fast Open after a pause received data:
    /// "atomic_set(&...tfo_active_disable_times, 0)".
    pub fn clear(&mut self) {
        self.times = 0;
    }

    pub fn times(&self) -> u32 {
        self.times
    }
}

impl Connection {
    /// tcp_fastopen_active_detect_blackhole, from tcp_write_timeout with `expired` (the
    /// retransmission budget is spent) and icsk_retransmits (`timeouts` before this one
    /// counts): "if ((tp->syn_fastopen || tp->syn_data || tp->syn_data_acked) && (timeouts
    /// == 2 || (timeouts < 2 && expired)))" Fast Open is paused (by the layer, which holds
    /// the namespace's state: `fastopen_after_timers`).
    pub fn detect_fastopen_blackhole(&mut self, expired: bool) {
        let fast_open = &self.fastopen;
        let used = fast_open.syn_fastopen || fast_open.syn_data || fast_open.syn_data_acked;
        if used && (self.timeouts == 2 || (self.timeouts < 2 && expired)) {
            self.fastopen.blackhole_suspected = true;
        }
    }
}

impl TcpLayer {
    /// tcp_fastopen_active_should_disable for a connection about to send its SYN (from
    /// tcp_fastopen_cookie_check and tcp_fastopen_defer_connect): true while paused.
    pub(super) fn fastopen_paused(&self, now: Instant, connection: &mut Connection) -> bool {
        let timeout = self.sysctls.tcp.fastopen_blackhole_timeout_secs;
        match self.fastopen.active.verdict(now, timeout) {
            ActiveVerdict::Paused => true,
            ActiveVerdict::Allowed { after_pause } => {
                // "tcp_sk(sk)->syn_fastopen_ch = 1".
                connection.fastopen.check_after_pause |= after_pause;
                false
            }
        }
    }

    /// After a connection's timers ran: a blackhole its retransmission timer suspected
    /// pauses Fast Open (tcp_fastopen_active_disable).
    pub(super) fn fastopen_after_timers(&mut self, now: Instant, id: SocketId) {
        let suspected = self
            .sockets
            .get_mut(id)
            .ok()
            .and_then(|socket| socket.connection_mut())
            .is_some_and(|connection| {
                core::mem::take(&mut connection.fastopen.blackhole_suspected)
            });
        if suspected {
            let timeout = self.sysctls.tcp.fastopen_blackhole_timeout_secs;
            self.fastopen.active.disable(now, timeout);
        }
    }

    /// tcp_fastopen_active_disable_ofo_check, when the socket is destroyed
    /// (tcp_v4_destroy_sock): a connection whose SYN carried Fast Open and that received
    /// no data but has the peer's FIN alone out of order pauses Fast Open; one that
    /// received data after a pause, over a route that is not loopback, clears the count.
    pub(super) fn fastopen_destroy_check(&mut self, id: SocketId) {
        let Some(connection) = self
            .sockets
            .get(id)
            .ok()
            .and_then(|socket| socket.connection())
        else {
            return;
        };
        if !connection.fastopen.syn_fastopen {
            return;
        }
        if connection.stats.data_segments_in == 0 {
            if connection.receive.only_fin_out_of_order() {
                let timeout = self.sysctls.tcp.fastopen_blackhole_timeout_secs;
                let now = self.clock;
                self.fastopen.active.disable(now, timeout);
            }
            return;
        }
        // "dst->dev->flags & IFF_LOOPBACK": 127/8, or our own address (routed through lo).
        let remote = *connection.remote.ip();
        let loopback = remote.is_loopback() || remote == *connection.local.ip();
        if connection.fastopen.check_after_pause && self.fastopen.active.times() > 0 && !loopback {
            self.fastopen.active.clear();
        }
    }

    /// How many blackhole detections the namespace has counted (tfo_active_disable_times).
    pub fn fastopen_blackhole_detections(&self) -> u32 {
        self.fastopen.active.times()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_64_times_the_timeout() {
        let start = Instant::from_millis(10_000);
        let mut active = ActiveDisable::default();
        assert_eq!(
            active.verdict(start, 60),
            ActiveVerdict::Allowed { after_pause: false }
        );
        active.disable(start, 0);
        assert_eq!(active.times(), 0, "timeout 0: detection is off");
        for times in 1..=9u32 {
            active.disable(start, 60);
            let pause = 60_000 * (1u64 << (times - 1).min(6));
            assert_eq!(
                active.verdict(start + Duration::from_millis(pause - 1), 60),
                ActiveVerdict::Paused
            );
            assert_eq!(
                active.verdict(start + Duration::from_millis(pause), 60),
                ActiveVerdict::Allowed { after_pause: true }
            );
        }
        // The sysctl set to 0 later: no pause whatever was counted.
        assert_eq!(
            active.verdict(start, 0),
            ActiveVerdict::Allowed { after_pause: false }
        );
        active.clear();
        assert_eq!(
            active.verdict(start, 60),
            ActiveVerdict::Allowed { after_pause: false }
        );
    }
}
