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
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls {
            ip_default_ttl: 64,
            ip_local_port_range: (32768, 60999),
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
