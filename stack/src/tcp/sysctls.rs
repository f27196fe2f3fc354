//! The /proc/sys/net values TCP reads (net.ipv4.tcp_* and net.core.somaxconn), with Linux's
//! defaults. The driver fills them from the host (shim/src/config.rs), so windows, retries and
//! timeouts are the host's: on this machine tcp_rmem[2] is 32 MiB, which makes the window
//! scale 10 where the default 6 MiB gives 7.

use core::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSysctls {
    /// net.ipv4.tcp_rmem / tcp_wmem: (min, default, max) bytes.
    pub rmem: (u32, u32, u32),
    pub wmem: (u32, u32, u32),
    pub syn_retries: u32,
    /// net.ipv4.tcp_syn_linear_timeouts (4 since Linux 6.5): the first SYN retransmissions
    /// keep the initial RTO instead of doubling it, and add to the SYN retry budget.
    pub syn_linear_timeouts: u32,
    pub synack_retries: u32,
    pub retries2: u32,
    /// net.ipv4.tcp_orphan_retries; 0 means 8 (tcp_orphan_retries()).
    pub orphan_retries: u32,
    pub fin_timeout_secs: u32,
    pub keepalive_time_secs: u32,
    pub keepalive_intvl_secs: u32,
    pub keepalive_probes: u32,
    pub window_scaling: bool,
    pub timestamps: bool,
    pub sack: bool,
    /// net.ipv4.tcp_congestion_control: the algorithm of a new socket when it is one this
    /// stack implements (bbr, cubic, reno); any other name falls back to cubic, Linux's
    /// built-in default.
    pub congestion_control: String,
    /// net.core.somaxconn: listen()'s backlog ceiling.
    pub somaxconn: u32,
    /// net.ipv4.tcp_allowed_congestion_control: what an unprivileged TCP_CONGESTION may
    /// choose: exactly the algorithms flagged TCP_CONG_NON_RESTRICTED (making one the
    /// default flags it, so the default is listed).
    pub allowed_congestion_control: String,
    /// net.ipv4.tcp_notsent_lowat: TCP_NOTSENT_LOWAT of a socket that never set it.
    pub notsent_lowat: u32,
    /// net.ipv4.tcp_fastopen: TFO_CLIENT_ENABLE (1) lets TCP_FASTOPEN_CONNECT be set.
    pub fastopen: u32,
    /// net.ipv4.tcp_fastopen_blackhole_timeout_sec: how long active Fast Open pauses after
    /// a suspected blackhole; 0 (the default since Linux 5.14) turns detection off
    /// (`fastopen_blackhole.rs`).
    pub fastopen_blackhole_timeout_secs: u32,
    /// net.ipv4.tcp_pingpong_thresh: replies within the ACK timeout before a connection
    /// counts as interactive and delays its ACKs (`delayed_ack.rs`).
    pub pingpong_thresh: u8,
    /// net.ipv4.tcp_comp_sack_nr and tcp_comp_sack_delay_ns: how many SACKs for
    /// out-of-order data may be held back, and for how long at most.
    pub comp_sack_nr: u32,
    pub comp_sack_delay_ns: u64,
    /// net.ipv4.tcp_ecn (0..=5, enum tcp_ecn_mode; 2: accept ECN, never ask) and
    /// net.ipv4.tcp_ecn_fallback (a retransmitted SYN stops asking), see `ecn.rs`.
    pub ecn: u8,
    pub ecn_fallback: bool,
    /// net.ipv4.tcp_fastopen_key: the namespace's Fast Open key bytes (16, or 32 with a
    /// backup key); empty when none was set (the stack draws one, as
    /// tcp_fastopen_init_key_once does).
    pub fastopen_key: Vec<u8>,
    /// net.ipv4.tcp_syncookies: 0 never, 1 when a listener's SYN queue is full, 2 always
    /// (tcp_conn_request, `listen_queue.rs`).
    pub syncookies: u32,
    /// net.ipv4.tcp_abort_on_overflow: a final ACK that finds the accept queue full is
    /// answered with a reset instead of being dropped (tcp_check_req).
    pub abort_on_overflow: bool,
    /// net.ipv4.tcp_max_syn_backlog: without SYN cookies, the last quarter of it is kept
    /// for peers already proven alive (tcp_conn_request).
    pub max_syn_backlog: u32,
    /// Loss recovery (`recovery.rs`): net.ipv4.tcp_reordering (the initial
    /// tp->reordering, DupThresh), tcp_max_reordering, tcp_early_retrans (3 or 4: tail loss
    /// probes), tcp_frto (nonzero: F-RTO), tcp_dsack (D-SACK blocks sent and used).
    pub reordering: u32,
    pub max_reordering: u32,
    pub early_retrans: u32,
    pub frto: u32,
    pub dsack: bool,
}

impl Default for TcpSysctls {
    fn default() -> Self {
        TcpSysctls {
            rmem: (4096, 131_072, 6_291_456),
            wmem: (4096, 16_384, 4_194_304),
            syn_retries: 6,
            syn_linear_timeouts: 4,
            synack_retries: 5,
            retries2: 15,
            orphan_retries: 0,
            fin_timeout_secs: 60,
            keepalive_time_secs: 7200,
            keepalive_intvl_secs: 75,
            keepalive_probes: 9,
            window_scaling: true,
            timestamps: true,
            sack: true,
            congestion_control: "cubic".into(),
            somaxconn: 4096,
            allowed_congestion_control: "reno cubic".into(),
            notsent_lowat: u32::MAX,
            fastopen: 1,
            fastopen_blackhole_timeout_secs: 0,
            pingpong_thresh: 1,
            comp_sack_nr: 44,
            comp_sack_delay_ns: 1_000_000,
            ecn: 2,
            ecn_fallback: true,
            fastopen_key: Vec::new(),
            syncookies: 1,
            abort_on_overflow: false,
            max_syn_backlog: 128,
            reordering: 3,
            max_reordering: 300,
            early_retrans: 3,
            frto: 2,
            dsack: true,
        }
    }
}

/// What a connection needs of the sysctls, copied into its settings at socket creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunables {
    pub syn_retries: u32,
    pub syn_linear_timeouts: u32,
    pub synack_retries: u32,
    pub retries2: u32,
    pub orphan_retries: u32,
    pub fin_timeout: Duration,
    pub keepalive_time: Duration,
    pub keepalive_intvl: Duration,
    pub keepalive_probes: u32,
    pub window_scaling: bool,
    pub timestamps: bool,
    pub sack: bool,
    /// max(tcp_rmem[2], net.core.rmem_max): what tcp_select_initial_window sizes the window
    /// scale for.
    pub window_space: u32,
    /// tcp_wmem[2]: the send buffer's autotuning ceiling.
    pub send_buffer_max: u32,
    /// tcp_rmem[2]: the receive buffer's autotuning ceiling.
    pub receive_buffer_max: u32,
    /// net.ipv4.tcp_notsent_lowat.
    pub notsent_lowat: u32,
    /// net.ipv4.tcp_pingpong_thresh, tcp_comp_sack_nr, tcp_comp_sack_delay_ns.
    pub pingpong_thresh: u8,
    pub comp_sack_nr: u32,
    pub comp_sack_delay: Duration,
    /// net.ipv4.tcp_ecn and tcp_ecn_fallback.
    pub ecn: u8,
    pub ecn_fallback: bool,
    /// Loss recovery's sysctls (see TcpSysctls).
    pub reordering: u32,
    pub max_reordering: u32,
    pub early_retrans: u32,
    pub frto: bool,
    pub dsack: bool,
}

impl Tunables {
    pub fn from_sysctls(tcp: &TcpSysctls, rmem_max: u32) -> Tunables {
        Tunables {
            syn_retries: tcp.syn_retries,
            syn_linear_timeouts: tcp.syn_linear_timeouts,
            synack_retries: tcp.synack_retries,
            retries2: tcp.retries2,
            // tcp_orphan_retries: "if (retries == 0 && alive) retries = 8".
            orphan_retries: if tcp.orphan_retries == 0 {
                8
            } else {
                tcp.orphan_retries
            },
            fin_timeout: Duration::from_secs(u64::from(tcp.fin_timeout_secs)),
            keepalive_time: Duration::from_secs(u64::from(tcp.keepalive_time_secs)),
            keepalive_intvl: Duration::from_secs(u64::from(tcp.keepalive_intvl_secs)),
            keepalive_probes: tcp.keepalive_probes,
            window_scaling: tcp.window_scaling,
            timestamps: tcp.timestamps,
            sack: tcp.sack,
            window_space: tcp.rmem.2.max(rmem_max),
            send_buffer_max: tcp.wmem.2,
            receive_buffer_max: tcp.rmem.2,
            notsent_lowat: tcp.notsent_lowat,
            pingpong_thresh: tcp.pingpong_thresh,
            comp_sack_nr: tcp.comp_sack_nr,
            comp_sack_delay: Duration::from_nanos(tcp.comp_sack_delay_ns),
            ecn: tcp.ecn,
            ecn_fallback: tcp.ecn_fallback,
            reordering: tcp.reordering,
            max_reordering: tcp.max_reordering,
            early_retrans: tcp.early_retrans,
            frto: tcp.frto != 0,
            dsack: tcp.dsack,
        }
    }
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables::from_sysctls(&TcpSysctls::default(), 212_992)
    }
}
