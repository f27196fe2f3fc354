//! What the stack is told at creation: its interface, address, gateway, and the host's
//! /proc/sys defaults. The driver (the shim) reads the files; the stack only holds values,
//! so tests can build any configuration without a filesystem.

use core::net::Ipv4Addr;

/// The interface the stack owns (the one the packet socket is bound to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Kernel interface name, e.g. "eth0" (IFNAMSIZ-1 bytes at most).
    pub name: String,
    /// Kernel ifindex; reported in IP_PKTINFO and the netdevice ioctls.
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// The address the stack owns on this interface.
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
}

/// The /proc/sys/net values Linux consults. Field defaults are Linux's defaults, used when the
/// driver cannot read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctls {
    /// net.ipv4.ip_default_ttl
    pub ip_default_ttl: u8,
    /// net.ipv4.ip_local_port_range (inclusive)
    pub ip_local_port_range: (u16, u16),
    /// net.ipv4.ip_local_reserved_ports: skipped by every automatic port choice.
    pub ip_local_reserved_ports: crate::reserved_ports::ReservedPorts,
    /// net.ipv4.ip_autobind_reuse: a TCP bind(0)/listen() that found every port taken tries
    /// again sharing a port with SO_REUSEADDR holders (inet_csk_find_open_port's relax pass).
    pub ip_autobind_reuse: bool,
    /// net.ipv4.ip_no_pmtu_disc
    pub ip_no_pmtu_disc: u32,
    /// net.ipv4.ip_nonlocal_bind
    pub ip_nonlocal_bind: bool,
    /// net.ipv4.ip_unprivileged_port_start
    pub ip_unprivileged_port_start: u32,
    /// net.ipv4.ping_group_range (inclusive gids)
    pub ping_group_range: (u32, u32),
    /// net.ipv4.icmp_ratelimit (ms) and icmp_ratemask
    pub icmp_ratelimit_ms: u32,
    pub icmp_ratemask: u32,
    /// net.ipv4.icmp_msgs_per_sec / icmp_msgs_burst (global limiter, icmp_global_allow)
    pub icmp_msgs_per_sec: u32,
    pub icmp_msgs_burst: u32,
    /// net.ipv4.icmp_echo_ignore_all / icmp_echo_ignore_broadcasts
    pub icmp_echo_ignore_all: bool,
    pub icmp_echo_ignore_broadcasts: bool,
    /// net.core.rmem_default / rmem_max / wmem_default / wmem_max
    pub rmem_default: u32,
    pub rmem_max: u32,
    pub wmem_default: u32,
    pub wmem_max: u32,
    /// net.ipv4.udp_rmem_min / udp_wmem_min
    pub udp_rmem_min: u32,
    pub udp_wmem_min: u32,
    /// net.ipv4.neigh.<if>.* ARP timing, in milliseconds
    pub arp_retrans_time_ms: u32,
    pub arp_mcast_solicit: u32,
    pub arp_ucast_solicit: u32,
    pub arp_base_reachable_time_ms: u32,
    pub arp_unres_qlen_bytes: u32,
    /// net.ipv4.igmp_max_memberships / igmp_max_msf: groups per socket, sources per group.
    pub igmp_max_memberships: u32,
    pub igmp_max_msf: u32,
    /// net.ipv4.igmp_qrv: IGMPv3 robustness (how often a state change is reported).
    pub igmp_qrv: u32,
    /// net.ipv4.igmp_link_local_mcast_reports: report 224.0.0.0/24 groups too.
    pub igmp_link_local_mcast_reports: bool,
    /// net.ipv4.conf.<if>.igmpv2_unsolicited_report_interval / igmpv3_... (ms).
    pub igmpv2_unsolicited_report_interval_ms: u32,
    pub igmpv3_unsolicited_report_interval_ms: u32,
    /// net.ipv4.conf.{all,<if>}.force_igmp_version: 1 if either forces v1, else 2 if either
    /// forces v2, else 0 (IGMP_V1_SEEN / IGMP_V2_SEEN test both).
    pub force_igmp_version: u32,
    /// net.core.optmem_max: the longest IP_MSFILTER / MCAST_MSFILTER value.
    pub optmem_max: u32,
    /// net.ipv4.ipfrag_time (seconds): how long a reassembly queue lives (ip_expire).
    pub ipfrag_time_secs: u32,
    /// net.ipv4.ipfrag_high_thresh (bytes): above it, new fragments are dropped (inet_frag_find).
    pub ipfrag_high_thresh: u64,
    /// net.ipv4.ipfrag_low_thresh (bytes): obsolete since Linux 4.17 (no eviction worker reads
    /// it any more); kept because the kernel keeps it, and high_thresh may not go below it.
    pub ipfrag_low_thresh: u64,
    /// net.ipv4.ipfrag_max_dist: how many fragments from one source may arrive between two
    /// fragments of one queue before that queue is restarted (ip_frag_too_far); 0 disables it.
    pub ipfrag_max_dist: u32,
    /// net.ipv4.route.min_pmtu: the smallest path MTU learned; below it the MTU is locked.
    pub route_min_pmtu: u32,
    /// net.ipv4.route.mtu_expires (seconds): how long a learned path MTU lasts.
    pub route_mtu_expires_secs: u32,
    /// net.core.busy_read: the SO_BUSY_POLL a new socket starts with (sock_init_data).
    pub busy_read: u32,
    /// Not a /proc file: the network namespace's cookie (net->net_cookie), which
    /// SO_NETNS_COOKIE answers. The driver learns it from a kernel socket of the program's
    /// namespace (getsockopt SO_NETNS_COOKIE on its packet socket); 0 until it does.
    pub netns_cookie: u64,
    /// kernel.random.boot_id (/proc/sys/kernel/random/boot_id, 128 bits), or None when the
    /// driver could not read it. TCP keys its initial sequence numbers and timestamp offsets
    /// with it (`tcp::secure_seq`) so that every shim process on the host draws them from one
    /// secret, as the kernel's per-boot net_secret / ts_secret are one for all sockets.
    pub boot_id: Option<u128>,
    /// The net.ipv4.tcp_* values and net.core.somaxconn (see `tcp::TcpSysctls`).
    pub tcp: crate::tcp::TcpSysctls,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls {
            ip_default_ttl: 64,
            ip_local_port_range: (32768, 60999),
            ip_local_reserved_ports: crate::reserved_ports::ReservedPorts::default(),
            ip_autobind_reuse: false,
            ip_no_pmtu_disc: 0,
            ip_nonlocal_bind: false,
            ip_unprivileged_port_start: 1024,
            ping_group_range: (1, 0),
            icmp_ratelimit_ms: 1000,
            icmp_ratemask: 6168,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            icmp_echo_ignore_all: false,
            icmp_echo_ignore_broadcasts: true,
            rmem_default: 212_992,
            rmem_max: 212_992,
            wmem_default: 212_992,
            wmem_max: 212_992,
            udp_rmem_min: 4096,
            udp_wmem_min: 4096,
            arp_retrans_time_ms: 1000,
            arp_mcast_solicit: 3,
            arp_ucast_solicit: 3,
            arp_base_reachable_time_ms: 30_000,
            arp_unres_qlen_bytes: 212_992,
            igmp_max_memberships: 20,
            igmp_max_msf: 10,
            igmp_qrv: 2,
            igmp_link_local_mcast_reports: true,
            igmpv2_unsolicited_report_interval_ms: 10_000,
            igmpv3_unsolicited_report_interval_ms: 1_000,
            force_igmp_version: 0,
            optmem_max: 131_072,
            ipfrag_time_secs: 30,
            ipfrag_high_thresh: 4 * 1024 * 1024,
            ipfrag_low_thresh: 3 * 1024 * 1024,
            ipfrag_max_dist: 64,
            route_min_pmtu: 552,
            route_mtu_expires_secs: 600,
            busy_read: 0,
            netns_cookie: 0,
            boot_id: None,
            tcp: crate::tcp::TcpSysctls::default(),
        }
    }
}

/// Everything `Stack::new` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackConfig {
    pub interface: InterfaceConfig,
    pub sysctls: Sysctls,
    /// Seed for everything random (IP ids, ephemeral port choice, ARP jitter), so a test is
    /// reproducible; the shim seeds it from getrandom.
    pub random_seed: u64,
}

/// The program's privileges, checked by the stack on its behalf (DESIGN.md, Permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Credentials {
    pub cap_net_raw: bool,
    pub cap_net_bind_service: bool,
    pub cap_net_admin: bool,
    /// The effective gid; with `in_ping_group` decided by the driver from getgroups.
    pub in_ping_group: bool,
}
