//! The option values a socket carries (the fields of struct sock / struct inet_sock that
//! setsockopt writes), with the defaults sock_init_data and inet_create give them.

use core::time::Duration;

use crate::config::Sysctls;

/// The kernel's clock tick (CONFIG_HZ). Timeouts and SO_LINGER are kept in ticks ("jiffies")
/// because the kernel rounds them to ticks and getsockopt shows the rounded value; this
/// machine's kernel runs at 250 Hz (measured: SO_RCVTIMEO of 1 µs reads back as 4000 µs).
pub const TICKS_PER_SECOND: i64 = 250;
/// MAX_SCHEDULE_TIMEOUT: "no timeout".
pub const FOREVER: i64 = i64::MAX;

/// SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF: 2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)), and
/// twice that (measured on this kernel: 2304 and 4608).
pub const MIN_RECEIVE_BUFFER: i32 = 2304;
pub const MIN_SEND_BUFFER: i32 = 4608;

/// IP_MTU_DISCOVER values.
pub mod pmtu {
    pub const DONT: u8 = 0;
    pub const WANT: u8 = 1;
    pub const DO: u8 = 2;
    pub const PROBE: u8 = 3;
    pub const INTERFACE: u8 = 4;
    pub const OMIT: u8 = 5;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOptions {
    // ----- SOL_SOCKET (struct sock) -----
    /// SO_REUSEADDR (sk_reuse).
    pub reuse_address: bool,
    /// SO_REUSEPORT (sk_reuseport).
    pub reuse_port: bool,
    /// SO_BROADCAST (SOCK_BROADCAST).
    pub broadcast: bool,
    /// SO_DONTROUTE (SOCK_LOCALROUTE).
    pub dont_route: bool,
    /// SO_KEEPALIVE (SOCK_KEEPOPEN); no effect on datagram sockets, but remembered.
    pub keepalive: bool,
    /// SO_OOBINLINE (SOCK_URGINLINE): urgent data inline; only TCP has urgent data, but every
    /// socket remembers the flag.
    pub out_of_band_inline: bool,
    /// SO_DEBUG (SOCK_DBG): protocol debugging output, which only TCP ever printed; stored.
    pub debug: bool,
    /// SO_WIFI_STATUS and SO_NOFCS: stored; they concern 802.11 acknowledgements and packet
    /// sockets, nothing an inet socket over our interface produces.
    pub wifi_status: bool,
    pub no_frame_check_sequence: bool,
    /// SO_SELECT_ERR_QUEUE: a pending error also raises POLLPRI (datagram_poll).
    pub select_error_queue: bool,
    /// SO_NO_CHECK (sk_no_check_tx): UDP sends datagrams with checksum 0 (udp_send_skb).
    pub no_check_tx: bool,
    /// SO_MARK (sk_mark). The kernel uses it for policy routing (fib rules matching fwmark),
    /// netfilter and tc; the stack has a single routing table and none of those, so the mark
    /// is stored and read back but selects nothing.
    pub mark: u32,
    /// SO_PRIORITY (sk_priority); IP_TOS also sets it.
    pub priority: u32,
    /// SO_RCVBUF / SO_SNDBUF as stored (already doubled).
    pub receive_buffer: i32,
    pub send_buffer: i32,
    /// SO_LINGER: l_onoff and sk_lingertime in ticks.
    pub linger: bool,
    pub linger_ticks: i64,
    /// SO_RCVTIMEO / SO_SNDTIMEO in ticks; FOREVER when unset; 0 means "do not wait".
    pub receive_timeout_ticks: i64,
    pub send_timeout_ticks: i64,
    /// SO_RCVLOWAT (sk_rcvlowat).
    pub receive_low_water: i32,
    /// SO_TIMESTAMP(NS)(_NEW): SOCK_RCVTSTAMP, SOCK_RCVTSTAMPNS, SOCK_TSTAMP_NEW.
    pub timestamp: bool,
    pub timestamp_ns: bool,
    pub timestamp_new: bool,
    /// SOCK_TIMESTAMP: receives record the datagram's time in sk_stamp for SIOCGSTAMP. Set by
    /// SO_TIMESTAMP(NS) on and by SIOCGSTAMP itself (sock_enable_timestamp); never cleared.
    pub record_receive_stamps: bool,

    // ----- SOL_IP (struct inet_sock) -----
    /// IP_TTL (uc_ttl); -1 means net.ipv4.ip_default_ttl.
    pub unicast_ttl: i32,
    /// IP_TOS.
    pub tos: u8,
    /// IP_RECVTTL, IP_RECVTOS, IP_PKTINFO (inet->cmsg_flags bits).
    pub receive_ttl: bool,
    pub receive_tos: bool,
    pub packet_info: bool,
    /// IP_RECVERR.
    pub receive_errors: bool,
    /// IP_MTU_DISCOVER (inet->pmtudisc).
    pub pmtu_discovery: u8,
    /// IP_MULTICAST_TTL / IP_MULTICAST_LOOP.
    pub multicast_ttl: u8,
    pub multicast_loop: bool,
    /// IP_FREEBIND / IP_TRANSPARENT: bind may use an address that is not ours.
    pub freebind: bool,
    pub transparent: bool,
}

impl SocketOptions {
    /// sock_init_data (buffers from net.core.[rw]mem_default, no timeouts, low water 1) and
    /// inet_create (uc_ttl -1, mc_ttl 1, mc_loop on, pmtudisc from ip_no_pmtu_disc).
    pub fn new(sysctls: &Sysctls) -> SocketOptions {
        SocketOptions {
            reuse_address: false,
            reuse_port: false,
            broadcast: false,
            dont_route: false,
            keepalive: false,
            out_of_band_inline: false,
            debug: false,
            wifi_status: false,
            no_frame_check_sequence: false,
            select_error_queue: false,
            no_check_tx: false,
            mark: 0,
            priority: 0,
            receive_buffer: clamp_to_int(sysctls.rmem_default),
            send_buffer: clamp_to_int(sysctls.wmem_default),
            linger: false,
            linger_ticks: 0,
            receive_timeout_ticks: FOREVER,
            send_timeout_ticks: FOREVER,
            receive_low_water: 1,
            timestamp: false,
            timestamp_ns: false,
            timestamp_new: false,
            record_receive_stamps: false,
            unicast_ttl: -1,
            tos: 0,
            receive_ttl: false,
            receive_tos: false,
            packet_info: false,
            receive_errors: false,
            pmtu_discovery: if sysctls.ip_no_pmtu_disc != 0 {
                pmtu::DONT
            } else {
                pmtu::WANT
            },
            multicast_ttl: 1,
            multicast_loop: true,
            freebind: false,
            transparent: false,
        }
    }

    /// The TTL of unicast datagrams (ip_select_ttl).
    pub fn effective_ttl(&self, sysctls: &Sysctls) -> u8 {
        if self.unicast_ttl < 0 {
            sysctls.ip_default_ttl
        } else {
            self.unicast_ttl as u8
        }
    }

    /// SO_RCVTIMEO as the shim's blocking loop wants it (None: wait forever).
    pub fn receive_timeout(&self) -> Option<Duration> {
        ticks_to_duration(self.receive_timeout_ticks)
    }

    pub fn send_timeout(&self) -> Option<Duration> {
        ticks_to_duration(self.send_timeout_ticks)
    }
}

fn clamp_to_int(value: u32) -> i32 {
    value.min(i32::MAX as u32) as i32
}

/// Ticks to a Duration; FOREVER is None; 0 is Duration::ZERO (the kernel then never waits).
pub fn ticks_to_duration(ticks: i64) -> Option<Duration> {
    if ticks == FOREVER {
        return None;
    }
    let ticks = ticks.max(0) as u64;
    let per_tick_nanos = 1_000_000_000 / TICKS_PER_SECOND as u64;
    Some(Duration::from_nanos(ticks.saturating_mul(per_tick_nanos)))
}
