//! What the application set on a socket (SOL_SOCKET and SOL_TCP values the protocol obeys).
//! A connection copies them from its socket at connect time and from its listener at accept
//! time (inet_csk_clone_lock copies the listener's socket).

use core::time::Duration;

use super::congestion::Algorithm;
use super::sysctls::Tunables;
use crate::config::Sysctls;

/// tcp_wmem[1] and tcp_rmem[1]: a new TCP socket's SO_SNDBUF and SO_RCVBUF.
pub const DEFAULT_SEND_BUFFER: u32 = 16 * 1024;
pub const DEFAULT_RECEIVE_BUFFER: u32 = 128 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// TCP_NODELAY
    pub nodelay: bool,
    /// TCP_CORK
    pub cork: bool,
    /// TCP_MAXSEG (tp->rx_opt.user_mss; None: unset)
    pub user_mss: Option<u32>,
    /// SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (None: the sysctl default)
    pub keepalive: bool,
    pub keep_idle: Option<Duration>,
    pub keep_interval: Option<Duration>,
    pub keep_count: Option<u32>,
    /// TCP_USER_TIMEOUT (None: 0, unset)
    pub user_timeout: Option<Duration>,
    /// TCP_SYNCNT (None: tcp_syn_retries)
    pub syn_count: Option<u32>,
    /// SO_LINGER: Some(timeout) when l_onoff is set.
    pub linger: Option<Duration>,
    /// SO_RCVBUF / SO_SNDBUF as the kernel stores them (doubled), and whether the user set
    /// them (SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK stop autotuning).
    pub receive_buffer: u32,
    pub receive_buffer_locked: bool,
    pub send_buffer: u32,
    pub send_buffer_locked: bool,
    pub reuse_address: bool,
    pub reuse_port: bool,
    /// SO_RCVLOWAT
    pub receive_lowat: u32,
    /// IP_TTL (None: ip_default_ttl) and IP_TOS.
    pub ttl: Option<u8>,
    pub tos: u8,
    /// TCP_CONGESTION.
    pub congestion: Algorithm,
    /// SO_MAX_PACING_RATE (sk_max_pacing_rate, bytes/s; ~0: none), for `pacing.rs`.
    pub max_pacing_rate: u64,
    /// SO_OOBINLINE: urgent data stays in the stream.
    pub urgent_inline: bool,
    /// IP_RECVERR: ICMP errors on a synchronized connection become hard errors at once.
    pub receive_errors: bool,
    /// The host's sysctls that size windows and bound retries.
    pub tunables: Tunables,
    /// The SOL_TCP values beyond the basic ones (sol_tcp.rs).
    pub more: MoreSettings,
}

/// TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_NOTSENT_LOWAT, ... as the kernel keeps
/// them in struct tcp_sock / inet_connection_sock (times in ticks, as getsockopt rounds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoreSettings {
    /// tp->linger2 in ticks: 0 means tcp_fin_timeout, negative means "reset at once".
    pub linger2_ticks: i32,
    /// icsk_accept_queue.rskq_defer_accept: SYN-ACK retransmissions a bare ACK is dropped for.
    pub defer_accept_retries: u8,
    /// tp->window_clamp as set by TCP_WINDOW_CLAMP (0: none).
    pub window_clamp: u32,
    /// tp->notsent_lowat (0: net.ipv4.tcp_notsent_lowat).
    pub notsent_lowat: u32,
    /// tp->thin_lto
    pub thin_linear_timeouts: bool,
    /// fastopenq.max_qlen, tp->fastopen_no_cookie.
    pub fastopen_queue: u32,
    pub fastopen_no_cookie: bool,
    /// tp->fastopen_connect (TCP_FASTOPEN_CONNECT).
    pub fastopen_connect: bool,
    /// The listener's own TCP_FASTOPEN_KEY (primary and optional backup, 16 bytes each).
    pub fastopen_key: Option<Vec<u8>>,
    /// tp->save_syn (0, 1, 2).
    pub save_syn: u8,
    /// tp->recvmsg_inq (TCP_INQ): recvmsg adds a TCP_CM_INQ control message.
    pub receive_queue_hint: bool,
    /// tp->tcp_tx_delay (µs).
    pub tx_delay_us: u32,
    /// icsk_rto_max, icsk_rto_min, icsk_delack_max in ticks.
    pub rto_max_ticks: u32,
    pub rto_min_ticks: u32,
    pub delack_max_ticks: u32,
    /// TCP_QUICKACK 0 on a socket not yet connected (inet_csk_enter_pingpong_mode): the
    /// connection starts in delayed-ACK mode.
    pub pingpong: bool,
    /// TCP_MD5SIG keys (tp->md5sig_info, `md5sig.rs`).
    pub md5_keys: super::md5sig::Md5Keys,
}

impl Default for MoreSettings {
    fn default() -> Self {
        MoreSettings {
            linger2_ticks: 0,
            defer_accept_retries: 0,
            window_clamp: 0,
            notsent_lowat: 0,
            thin_linear_timeouts: false,
            fastopen_queue: 0,
            fastopen_no_cookie: false,
            fastopen_connect: false,
            fastopen_key: None,
            save_syn: 0,
            receive_queue_hint: false,
            tx_delay_us: 0,
            // tcp_init_sock: TCP_RTO_MAX (120 s), TCP_RTO_MIN and TCP_DELACK_MAX (HZ / 5).
            rto_max_ticks: 120 * TICKS_PER_SECOND,
            rto_min_ticks: TICKS_PER_SECOND / 5,
            delack_max_ticks: TICKS_PER_SECOND / 5,
            pingpong: false,
            md5_keys: super::md5sig::Md5Keys::default(),
        }
    }
}

impl MoreSettings {
    /// A window bounded by TCP_WINDOW_CLAMP when one is set.
    pub fn clamp_window(&self, space: u32) -> u32 {
        if self.window_clamp == 0 {
            space
        } else {
            space.min(self.window_clamp)
        }
    }

    /// tcp_fin_time: how long an orphan waits in FIN_WAIT2 — TCP_LINGER2 or tcp_fin_timeout,
    /// but at least 3.5 RTOs ("(rto << 2) - (rto >> 1)"). None: TCP_LINGER2 < 0, reset.
    pub fn fin_wait2_timeout(&self, fin_timeout: Duration, rto: Duration) -> Option<Duration> {
        if self.linger2_ticks < 0 {
            return None;
        }
        let linger = if self.linger2_ticks == 0 {
            fin_timeout
        } else {
            ticks(self.linger2_ticks as u32)
        };
        Some(linger.max(rto * 4 - rto / 2))
    }

    pub fn delayed_ack_max(&self) -> Duration {
        ticks(self.delack_max_ticks)
    }

    pub fn rto_min(&self) -> Duration {
        ticks(self.rto_min_ticks)
    }

    pub fn rto_max(&self) -> Duration {
        ticks(self.rto_max_ticks)
    }
}

/// CONFIG_HZ of this machine's kernel (sockopt::values::TICKS_PER_SECOND).
pub const TICKS_PER_SECOND: u32 = crate::sockopt::values::TICKS_PER_SECOND as u32;

/// A tick count as a duration.
pub fn ticks(count: u32) -> Duration {
    Duration::from_nanos(u64::from(count) * (1_000_000_000 / u64::from(TICKS_PER_SECOND)))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            nodelay: false,
            cork: false,
            user_mss: None,
            keepalive: false,
            keep_idle: None,
            keep_interval: None,
            keep_count: None,
            user_timeout: None,
            syn_count: None,
            linger: None,
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            receive_buffer_locked: false,
            send_buffer: DEFAULT_SEND_BUFFER,
            send_buffer_locked: false,
            reuse_address: false,
            reuse_port: false,
            receive_lowat: 1,
            ttl: None,
            tos: 0,
            congestion: Algorithm::DEFAULT,
            max_pacing_rate: u64::MAX,
            urgent_inline: false,
            receive_errors: false,
            tunables: Tunables::default(),
            more: MoreSettings::default(),
        }
    }
}

impl Settings {
    /// A new socket's settings on a host with these sysctls (tcp_init_sock).
    pub fn for_sysctls(sysctls: &Sysctls) -> Settings {
        Settings {
            receive_buffer: sysctls.tcp.rmem.1,
            send_buffer: sysctls.tcp.wmem.1,
            congestion: Algorithm::from_name(sysctls.tcp.congestion_control.as_bytes())
                .unwrap_or(Algorithm::DEFAULT),
            tunables: Tunables::from_sysctls(&sysctls.tcp, sysctls.rmem_max),
            ..Settings::default()
        }
    }

    pub fn keepalive_idle(&self) -> Duration {
        self.keep_idle.unwrap_or(self.tunables.keepalive_time)
    }

    pub fn keepalive_interval(&self) -> Duration {
        self.keep_interval.unwrap_or(self.tunables.keepalive_intvl)
    }

    pub fn keepalive_count(&self) -> u32 {
        self.keep_count.unwrap_or(self.tunables.keepalive_probes)
    }

    pub fn syn_retries(&self) -> u32 {
        self.syn_count.unwrap_or(self.tunables.syn_retries)
    }
}
