//! The option values a socket carries (the fields of struct sock / struct inet_sock that
//! setsockopt writes), with the defaults sock_init_data and inet_create give them.

use core::net::Ipv4Addr;
use core::time::Duration;

use crate::config::Sysctls;

use super::multicast::Memberships;

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
    /// SO_RXQ_OVFL (SOCK_RXQ_OVFL): recvmsg adds the socket's drop count (sk_drops).
    pub receive_queue_overflow: bool,
    /// SO_TIMESTAMPING (sk_tsflags, SOF_TIMESTAMPING_*): the software receive report bits
    /// decide the SO_TIMESTAMPING control message (udp/recv.rs).
    pub timestamping_flags: u32,

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
    /// IP_RECVERR_RFC4884: ICMP errors queued with IP_RECVERR report the RFC 4884 original
    /// datagram length in ee_rfc4884 (ipv4_icmp_error_rfc4884).
    pub receive_errors_rfc4884: bool,
    /// IP_RECVOPTS, IP_RETOPTS, IP_RECVORIGDSTADDR, IP_CHECKSUM, IP_RECVFRAGSIZE (more
    /// inet->cmsg_flags bits): which control messages recvmsg adds (udp/recv.rs).
    pub receive_options: bool,
    pub return_options: bool,
    pub receive_original_destination: bool,
    pub receive_checksum: bool,
    pub receive_fragment_size: bool,
    /// IP_OPTIONS (inet->inet_opt): the compiled header options every datagram carries.
    pub ip_options: crate::ipv4::socket_options::SocketIpOptions,
    /// IP_MTU_DISCOVER (inet->pmtudisc).
    pub pmtu_discovery: u8,
    /// IP_MULTICAST_TTL / IP_MULTICAST_LOOP.
    pub multicast_ttl: u8,
    pub multicast_loop: bool,
    /// IP_FREEBIND / IP_TRANSPARENT: bind may use an address that is not ours.
    pub freebind: bool,
    pub transparent: bool,
    /// IP_PASSSEC (IP_CMSG_PASSSEC): an SCM_SECURITY control message on receive. Without a
    /// security module labelling packets the kernel never has a context to send, so the flag
    /// is stored and read back only.
    pub pass_security: bool,
    /// IP_MINTTL (inet->min_ttl): only TCP drops segments that arrive with a lower TTL
    /// (tcp_v4_rcv); UDP stores it and delivers regardless (measured on this kernel: a
    /// datagram with TTL 64 reaches a socket with IP_MINTTL 65).
    pub minimum_ttl: u8,
    /// IP_BIND_ADDRESS_NO_PORT: bind() to an address with port 0 defers the port choice to
    /// connect (udp/bind.rs).
    pub bind_address_no_port: bool,
    /// IP_MULTICAST_ALL (inet->mc_all, on by default): a socket bound to a group's port
    /// receives every group's datagrams, not only the groups it joined.
    pub multicast_all: bool,
    /// IP_UNICAST_IF (inet->uc_index): the output interface of unicast sends when no other
    /// one is given; 0: none.
    pub unicast_interface: u32,
    /// IP_MULTICAST_IF (inet->mc_index, inet->mc_addr): interface and source address of
    /// multicast sends; 0 / 0.0.0.0: chosen by the route.
    pub multicast_interface: u32,
    pub multicast_source: Ipv4Addr,
    /// IP_LOCAL_PORT_RANGE (inet->local_port_range): low 16 bits the lowest port, high 16
    /// bits the highest; 0 in either half means the sysctl's bound (inet_sk_get_local_port_range).
    pub local_port_range: u32,
    /// IP_HDRINCL, IP_NODEFRAG, IP_ROUTER_ALERT: raw-socket flags; datagram sockets refuse to
    /// set them and read them as 0.
    pub header_included: bool,
    pub no_defragment: bool,
    pub router_alert: bool,
    /// The multicast groups joined and their source filters (inet->mc_list).
    pub memberships: Memberships,

    // ----- more SOL_SOCKET (struct sock) -----
    /// SO_BINDTODEVICE / SO_BINDTOIFINDEX (sk_bound_dev_if): 0 = any device. Receive only
    /// what arrives through it (compute_score), send through it (flowi4_oif).
    pub bound_device: u32,
    /// SO_PEEK_OFF (sk_peek_off): -1 = off; else where MSG_PEEK starts (udp/recv.rs).
    pub peek_offset: i32,
    /// SO_BUSY_POLL (sk_ll_usec, default net.core.busy_read), SO_PREFER_BUSY_POLL,
    /// SO_BUSY_POLL_BUDGET: stored; the stack has no NAPI context to poll.
    pub busy_poll_usec: i32,
    pub prefer_busy_poll: bool,
    pub busy_poll_budget: u16,
    /// SO_MAX_PACING_RATE (sk_max_pacing_rate, bytes/s): ~0 = unlimited. Only the fq qdisc
    /// and TCP pace; the stack sends immediately, as the kernel does on this veth (noqueue).
    pub max_pacing_rate: u64,
    /// SO_INCOMING_CPU (sk_incoming_cpu): -1 until set.
    pub incoming_cpu: i32,
    /// SO_TXTIME (SOCK_TXTIME, sk_clockid, deadline / report-errors flags): stored; the
    /// launch time matters only to the etf/fq qdiscs, which this link does not have.
    pub txtime_enabled: bool,
    pub txtime_clock: i32,
    pub txtime_flags: u32,
    /// SO_TIMESTAMPING's sk_bind_phc (only with SOF_TIMESTAMPING_BIND_PHC).
    pub bind_phc: i32,
    /// sk_userlocks' buffer bits (SOCK_SNDBUF_LOCK 1, SOCK_RCVBUF_LOCK 2): set by SO_SNDBUF /
    /// SO_RCVBUF and SO_BUF_LOCK; they only stop TCP's buffer autotuning.
    pub buffer_locks: u8,
    /// SO_RCVMARK / SO_RCVPRIORITY: an SO_MARK / SO_PRIORITY control message on receive.
    pub receive_mark: bool,
    pub receive_priority: bool,
    /// SO_ZEROCOPY (SOCK_ZEROCOPY): MSG_ZEROCOPY sends are allowed to pin pages.
    pub zerocopy: bool,
    /// sk_tskey of a datagram socket: SOF_TIMESTAMPING_OPT_ID's counter (tx_timestamp.rs).
    pub timestamp_key: crate::tx_timestamp::TimestampKey,
    /// SO_LOCK_FILTER (SOCK_FILTER_LOCKED): the socket filter may not change any more.
    pub filter_locked: bool,
    /// SO_ATTACH_FILTER (sk->sk_filter): the classic program run over every datagram before
    /// it is queued (sk_filter_trim_cap).
    pub filter: Option<std::sync::Arc<crate::bpf::Program>>,
    /// SO_ATTACH_REUSEPORT_CBPF: the program this socket gave its SO_REUSEPORT group
    /// (reuse->prog), with the order of attachment: the group runs the latest one.
    pub reuseport_program: Option<(u64, std::sync::Arc<crate::bpf::Program>)>,
    /// SO_ATTACH_REUSEPORT_CBPF before bind made the socket a reuseport group of its own
    /// (reuseport_alloc sets sk_reuseport_cb); udp_lib_lport_inuse then refuses to let its
    /// bind join another group ("!rcu_access_pointer(sk->sk_reuseport_cb)"). Never cleared.
    pub reuseport_group_before_bind: bool,
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
            receive_queue_overflow: false,
            timestamping_flags: 0,
            unicast_ttl: -1,
            tos: 0,
            receive_ttl: false,
            receive_tos: false,
            packet_info: false,
            receive_errors: false,
            receive_errors_rfc4884: false,
            receive_options: false,
            return_options: false,
            receive_original_destination: false,
            receive_checksum: false,
            receive_fragment_size: false,
            ip_options: Default::default(),
            pmtu_discovery: if sysctls.ip_no_pmtu_disc != 0 {
                pmtu::DONT
            } else {
                pmtu::WANT
            },
            multicast_ttl: 1,
            multicast_loop: true,
            freebind: false,
            transparent: false,
            pass_security: false,
            minimum_ttl: 0,
            bind_address_no_port: false,
            multicast_all: true,
            unicast_interface: 0,
            multicast_interface: 0,
            multicast_source: Ipv4Addr::UNSPECIFIED,
            local_port_range: 0,
            header_included: false,
            no_defragment: false,
            router_alert: false,
            memberships: Memberships::default(),
            bound_device: 0,
            peek_offset: -1,
            busy_poll_usec: clamp_to_int(sysctls.busy_read),
            prefer_busy_poll: false,
            busy_poll_budget: 0,
            max_pacing_rate: u64::MAX,
            incoming_cpu: -1,
            txtime_enabled: false,
            txtime_clock: 0,
            txtime_flags: 0,
            bind_phc: 0,
            buffer_locks: 0,
            receive_mark: false,
            receive_priority: false,
            zerocopy: false,
            timestamp_key: Default::default(),
            filter_locked: false,
            filter: None,
            reuseport_program: None,
            reuseport_group_before_bind: false,
        }
    }

    /// The output device SO_BINDTODEVICE / SO_BINDTOIFINDEX imposes, if any.
    pub fn bound_device_oif(&self) -> Option<u32> {
        (self.bound_device != 0).then_some(self.bound_device)
    }

    /// The output interface of a send or connect to `destination`, given the one the caller
    /// or the bound device imposes (`oif`): otherwise IP_MULTICAST_IF's for a multicast
    /// destination, IP_UNICAST_IF's for the others (udp_sendmsg, __ip4_datagram_connect).
    pub fn output_interface(&self, oif: Option<u32>, destination: Ipv4Addr) -> Option<u32> {
        let preferred = if destination.is_multicast() {
            self.multicast_interface
        } else {
            self.unicast_interface
        };
        oif.or((preferred != 0).then_some(preferred))
    }

    /// The ephemeral port range of this socket (inet_sk_get_local_port_range): the sysctl's
    /// range, narrowed by IP_LOCAL_PORT_RANGE's bounds that fall inside it.
    pub fn ephemeral_port_range(&self, sysctl_range: (u16, u16)) -> (u16, u16) {
        let (mut low, mut high) = sysctl_range;
        if self.local_port_range != 0 {
            let socket_low = (self.local_port_range & 0xffff) as u16;
            let socket_high = (self.local_port_range >> 16) as u16;
            // The second test compares with the low bound the first may have raised.
            if low <= socket_low && socket_low <= high {
                low = socket_low;
            }
            if low <= socket_high && socket_high <= high {
                high = socket_high;
            }
        }
        (low, high)
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
