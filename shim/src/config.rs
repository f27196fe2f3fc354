//! The shim's configuration: the IPSHIM_* environment variables (DESIGN.md, Configuration),
//! the host's /proc/sys/net defaults, the interface's facts, and the program's credentials.
//!
//! Everything is read with raw system calls (`sys`), because inside the library the libc
//! wrappers are our own hooks.

use std::ffi::CString;
use std::fmt;
use std::net::Ipv4Addr;
use std::os::fd::RawFd;

use stack::{Credentials, Errno, InterfaceConfig, StackConfig, Sysctls};

use crate::sys;
use crate::sys::raw_syscall;

/// Everything the engine needs to start.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    pub stack: StackConfig,
    /// The interface's own MAC; when `stack.interface.mac` differs the device listens
    /// promiscuously (IPSHIM_MAC).
    pub interface_mac: [u8; 6],
    /// IPSHIM_PCAP: write every frame sent and received here.
    pub pcap_path: Option<String>,
}

/// Why the configuration could not be built; printed once, as is, in the error log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// The environment variable, if set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

impl ShimConfig {
    /// Read the environment, the interface and /proc/sys.
    pub fn from_environment() -> Result<ShimConfig, ConfigError> {
        let name = env("IPSHIM_IFACE").ok_or_else(|| {
            error("IPSHIM_IFACE is not set: name the interface the shim should use (e.g. IPSHIM_IFACE=eth0)")
        })?;
        let name = name.trim().to_string();
        let (addr, prefix_len) = match env("IPSHIM_ADDR") {
            Some(text) => parse_cidr(&text).map_err(|why| error(format!("IPSHIM_ADDR={text:?}: {why}")))?,
            None => return Err(error("IPSHIM_ADDR is not set: give the address the shim owns, e.g. IPSHIM_ADDR=198.18.0.2/24")),
        };
        let gateway = match env("IPSHIM_GATEWAY") {
            Some(text) => {
                let gateway = text
                    .trim()
                    .parse::<Ipv4Addr>()
                    .map_err(|_| error(format!("IPSHIM_GATEWAY={text:?}: not an IPv4 address")))?;
                // As `ip route add default via G` answers "Nexthop has invalid gateway" when G
                // is not on a connected subnet (fib_check_nh), refuse an unreachable gateway.
                if !same_subnet(gateway, addr, prefix_len) || gateway == addr {
                    return Err(error(format!(
                        "IPSHIM_GATEWAY={gateway} is not a neighbour on {addr}/{prefix_len}"
                    )));
                }
                Some(gateway)
            }
            None => None,
        };
        let facts = InterfaceFacts::query(&name)
            .map_err(|why| error(format!("IPSHIM_IFACE={name:?}: {why}")))?;
        let mac = match env("IPSHIM_MAC") {
            Some(text) => {
                parse_mac(&text).map_err(|why| error(format!("IPSHIM_MAC={text:?}: {why}")))?
            }
            None => facts.mac,
        };
        let mut sysctls = read_sysctls(&name);
        sysctls.netns_cookie = network_namespace_cookie().unwrap_or(0);
        let interface = InterfaceConfig {
            name,
            ifindex: facts.ifindex,
            mac,
            mtu: facts.mtu,
            addr,
            prefix_len,
            gateway,
        };
        Ok(ShimConfig {
            stack: StackConfig {
                interface,
                sysctls,
                random_seed: sys::random_u64(),
            },
            interface_mac: facts.mac,
            pcap_path: env("IPSHIM_PCAP"),
        })
    }
}

/// "a.b.c.d/len" (a bare address means /32, as `ip addr add` reads it).
pub fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let text = text.trim();
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (text, None),
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let prefix_len = match len {
        Some(len) => match len.parse::<u8>() {
            Ok(len) if len <= 32 => len,
            _ => return Err(format!("prefix length {len:?} is not 0..=32")),
        },
        None => 32,
    };
    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() {
        return Err(format!("{addr} cannot be an interface address"));
    }
    Ok((addr, prefix_len))
}

/// "02:00:00:00:00:02" (or with '-'); a multicast MAC cannot be a station address.
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return Err("expected six hex bytes like 02:00:00:00:00:02".into());
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(&parts) {
        if part.is_empty() || part.len() > 2 {
            return Err(format!("{part:?} is not a hex byte"));
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| format!("{part:?} is not a hex byte"))?;
    }
    if mac[0] & 1 != 0 || mac == [0; 6] {
        return Err("a multicast or all-zero MAC cannot be a station address".into());
    }
    Ok(mac)
}

fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len))
    };
    u32::from(a) & mask == u32::from(b) & mask
}

/// What the kernel knows about the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceFacts {
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
}

/// struct ifreq (linux/if.h): a 16-byte name and a 24-byte union.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    data: [u8; 24],
}

impl InterfaceFacts {
    /// SIOCGIFINDEX, SIOCGIFHWADDR and SIOCGIFMTU on a throwaway socket (netdevice(7): any
    /// socket reaches dev_ioctl; an AF_UNIX one touches no network protocol state).
    pub fn query(name: &str) -> Result<InterfaceFacts, String> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', '\0']) {
            return Err("not a valid interface name".into());
        }
        let fd = sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
            .map_err(|errno| format!("cannot open a socket for interface ioctls: {errno}"))?;
        let result = Self::query_on(fd, name);
        let _ = sys::close(fd);
        result
    }

    fn query_on(fd: RawFd, name: &str) -> Result<InterfaceFacts, String> {
        let request = |code: libc::c_ulong| -> Result<[u8; 24], Errno> {
            let mut req = IfReq {
                name: [0; libc::IFNAMSIZ],
                data: [0; 24],
            };
            req.name[..name.len()].copy_from_slice(name.as_bytes());
            sys::ioctl(fd, code, &mut req)?;
            Ok(req.data)
        };
        let index = request(libc::SIOCGIFINDEX).map_err(|errno| match errno {
            Errno::ENODEV => "no such interface in this network namespace".to_string(),
            other => format!("SIOCGIFINDEX failed: {other}"),
        })?;
        let ifindex = i32::from_ne_bytes([index[0], index[1], index[2], index[3]]) as u32;
        // ifr_hwaddr is a struct sockaddr: sa_family (ARPHRD_*) then the address bytes.
        let hwaddr = request(libc::SIOCGIFHWADDR)
            .map_err(|errno| format!("SIOCGIFHWADDR failed: {errno}"))?;
        let hardware_type = u16::from_ne_bytes([hwaddr[0], hwaddr[1]]);
        if hardware_type != libc::ARPHRD_ETHER {
            return Err(format!(
                "not an Ethernet interface (ARPHRD type {hardware_type})"
            ));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&hwaddr[2..8]);
        let mtu =
            request(libc::SIOCGIFMTU).map_err(|errno| format!("SIOCGIFMTU failed: {errno}"))?;
        let mtu = i32::from_ne_bytes([mtu[0], mtu[1], mtu[2], mtu[3]]).max(0) as u32;
        Ok(InterfaceFacts { ifindex, mac, mtu })
    }
}

/// A /proc/sys file's whitespace-separated numbers; None when missing or unparsable.
fn read_numbers(path: &str) -> Option<Vec<u64>> {
    let path = CString::new(path).ok()?;
    let content = sys::read_small_file(&path).ok()?;
    let text = std::str::from_utf8(&content).ok()?;
    let numbers: Option<Vec<u64>> = text
        .split_whitespace()
        .map(|word| word.parse().ok())
        .collect();
    numbers.filter(|numbers| !numbers.is_empty())
}

/// Overwrite `field` with the file's first number when it can be read and fits.
fn read_into<T: TryFrom<u64>>(path: &str, field: &mut T) {
    if let Some(value) = read_numbers(path).and_then(|numbers| T::try_from(numbers[0]).ok()) {
        *field = value;
    }
}

fn read_bool(path: &str, field: &mut bool) {
    if let Some(numbers) = read_numbers(path) {
        *field = numbers[0] != 0;
    }
}

fn read_pair<T: TryFrom<u64> + Copy>(path: &str, field: &mut (T, T)) {
    if let Some(numbers) = read_numbers(path) {
        if let (Some(&low), Some(&high)) = (numbers.first(), numbers.get(1)) {
            if let (Ok(low), Ok(high)) = (T::try_from(low), T::try_from(high)) {
                *field = (low, high);
            }
        }
    }
}

/// ip_local_reserved_ports is a list ("8080,40001-40003"), not numbers separated by blanks.
/// A list the shim cannot take (longer than read_small_file's 64 KiB, or not in the kernel's
/// form) is reported, and no port is reserved.
fn read_reserved_ports(path: &str, field: &mut stack::reserved_ports::ReservedPorts) {
    let Ok(c_path) = CString::new(path) else {
        return;
    };
    let content = match sys::read_small_file(&c_path) {
        Ok(content) => content,
        Err(Errno::ENOENT) => return,
        Err(errno) => {
            tracing::warn!("{path}: {errno}: no port is reserved from the automatic choice");
            return;
        }
    };
    match std::str::from_utf8(&content)
        .ok()
        .and_then(stack::reserved_ports::ReservedPorts::parse)
    {
        Some(reserved) => *field = reserved,
        None => tracing::warn!("{path}: unreadable list: no port is reserved"),
    }
}

/// The host's /proc/sys/net values, each falling back to Linux's default (Sysctls::default)
/// when its file is missing, so the shim behaves like the host it runs on. /proc/sys/net
/// shows the reader's network namespace, so these are the values of the namespace the
/// program runs in, as the kernel would use them. Every Sysctls field that has a file is
/// read here; `netns_cookie` has none (`network_namespace_cookie` asks a socket).
pub fn read_sysctls(interface: &str) -> Sysctls {
    let mut s = Sysctls::default();
    let ipv4 = |name: &str| format!("/proc/sys/net/ipv4/{name}");
    let core = |name: &str| format!("/proc/sys/net/core/{name}");
    let neigh = |name: &str| format!("/proc/sys/net/ipv4/neigh/{interface}/{name}");
    read_into(&ipv4("ip_default_ttl"), &mut s.ip_default_ttl);
    read_pair(&ipv4("ip_local_port_range"), &mut s.ip_local_port_range);
    read_reserved_ports(
        &ipv4("ip_local_reserved_ports"),
        &mut s.ip_local_reserved_ports,
    );
    read_bool(&ipv4("ip_autobind_reuse"), &mut s.ip_autobind_reuse);
    read_into(&ipv4("ip_no_pmtu_disc"), &mut s.ip_no_pmtu_disc);
    read_bool(&ipv4("ip_nonlocal_bind"), &mut s.ip_nonlocal_bind);
    read_into(
        &ipv4("ip_unprivileged_port_start"),
        &mut s.ip_unprivileged_port_start,
    );
    read_pair(&ipv4("ping_group_range"), &mut s.ping_group_range);
    read_into(&ipv4("icmp_ratelimit"), &mut s.icmp_ratelimit_ms);
    read_into(&ipv4("icmp_ratemask"), &mut s.icmp_ratemask);
    read_into(&ipv4("icmp_msgs_per_sec"), &mut s.icmp_msgs_per_sec);
    read_into(&ipv4("icmp_msgs_burst"), &mut s.icmp_msgs_burst);
    read_bool(&ipv4("icmp_echo_ignore_all"), &mut s.icmp_echo_ignore_all);
    read_bool(
        &ipv4("icmp_echo_ignore_broadcasts"),
        &mut s.icmp_echo_ignore_broadcasts,
    );
    read_into(&core("rmem_default"), &mut s.rmem_default);
    read_into(&core("rmem_max"), &mut s.rmem_max);
    read_into(&core("wmem_default"), &mut s.wmem_default);
    read_into(&core("wmem_max"), &mut s.wmem_max);
    read_into(&ipv4("udp_rmem_min"), &mut s.udp_rmem_min);
    read_into(&ipv4("udp_wmem_min"), &mut s.udp_wmem_min);
    read_into(&neigh("retrans_time_ms"), &mut s.arp_retrans_time_ms);
    read_into(&neigh("mcast_solicit"), &mut s.arp_mcast_solicit);
    read_into(&neigh("ucast_solicit"), &mut s.arp_ucast_solicit);
    read_into(
        &neigh("base_reachable_time_ms"),
        &mut s.arp_base_reachable_time_ms,
    );
    read_into(&neigh("unres_qlen_bytes"), &mut s.arp_unres_qlen_bytes);
    read_into(&ipv4("igmp_max_memberships"), &mut s.igmp_max_memberships);
    read_into(&ipv4("igmp_max_msf"), &mut s.igmp_max_msf);
    read_into(&ipv4("igmp_qrv"), &mut s.igmp_qrv);
    read_bool(
        &ipv4("igmp_link_local_mcast_reports"),
        &mut s.igmp_link_local_mcast_reports,
    );
    let conf = |name: &str| format!("/proc/sys/net/ipv4/conf/{interface}/{name}");
    read_into(
        &conf("igmpv2_unsolicited_report_interval"),
        &mut s.igmpv2_unsolicited_report_interval_ms,
    );
    read_into(
        &conf("igmpv3_unsolicited_report_interval"),
        &mut s.igmpv3_unsolicited_report_interval_ms,
    );
    // IGMP_V1_SEEN / IGMP_V2_SEEN: conf/all or the device forcing a version.
    let (mut forced_all, mut forced_device) = (0u32, 0u32);
    read_into(&ipv4("conf/all/force_igmp_version"), &mut forced_all);
    read_into(&conf("force_igmp_version"), &mut forced_device);
    s.force_igmp_version = if forced_all == 1 || forced_device == 1 {
        1
    } else if forced_all == 2 || forced_device == 2 {
        2
    } else {
        0
    };
    read_into(&core("optmem_max"), &mut s.optmem_max);
    read_into(&ipv4("ipfrag_time"), &mut s.ipfrag_time_secs);
    read_into(&ipv4("ipfrag_high_thresh"), &mut s.ipfrag_high_thresh);
    read_into(&ipv4("ipfrag_low_thresh"), &mut s.ipfrag_low_thresh);
    read_into(&ipv4("ipfrag_max_dist"), &mut s.ipfrag_max_dist);
    read_into(&ipv4("route/min_pmtu"), &mut s.route_min_pmtu);
    read_into(&ipv4("route/mtu_expires"), &mut s.route_mtu_expires_secs);
    // net.core.busy_read is host-wide and the kernel shows it only in the initial network
    // namespace: elsewhere the file is absent and the default (0) stands, which is the
    // kernel's value unless the host changed it.
    read_into(&core("busy_read"), &mut s.busy_read);
    read_tcp_sysctls(&mut s.tcp);
    s.boot_id = read_boot_id();
    s
}

/// kernel.random.boot_id, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as 128 bits. TCP keys its
/// ISNs and timestamp offsets with it (stack/src/tcp/secure_seq.rs): the kernel's keys are one
/// per boot, shared by every socket, and only a value every shim process on the host reads
/// alike gives consecutive processes non-colliding ISNs and increasing TSvals towards a peer
/// that still holds their old connections in TIME_WAIT. Local users can read it too, so they
/// could predict our ISNs; remote (off-path) ones, whom RFC 6528 is about, cannot.
fn read_boot_id() -> Option<u128> {
    let path = CString::new("/proc/sys/kernel/random/boot_id").ok()?;
    let content = sys::read_small_file(&path).ok()?;
    let hex: String = std::str::from_utf8(&content)
        .ok()?
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// net.ipv4.tcp_* and net.core.somaxconn (stack::tcp::TcpSysctls).
fn read_tcp_sysctls(tcp: &mut stack::tcp::TcpSysctls) {
    let ipv4 = |name: &str| format!("/proc/sys/net/ipv4/{name}");
    let read_triple = |name: &str, field: &mut (u32, u32, u32)| {
        if let Some(numbers) = read_numbers(&ipv4(name)) {
            let value = |index: usize| numbers.get(index).and_then(|&n| u32::try_from(n).ok());
            if let (Some(min), Some(default), Some(max)) = (value(0), value(1), value(2)) {
                *field = (min, default, max);
            }
        }
    };
    read_triple("tcp_rmem", &mut tcp.rmem);
    read_triple("tcp_wmem", &mut tcp.wmem);
    read_into(&ipv4("tcp_syn_retries"), &mut tcp.syn_retries);
    read_into(
        &ipv4("tcp_syn_linear_timeouts"),
        &mut tcp.syn_linear_timeouts,
    );
    read_into(&ipv4("tcp_synack_retries"), &mut tcp.synack_retries);
    read_into(&ipv4("tcp_retries2"), &mut tcp.retries2);
    read_into(&ipv4("tcp_orphan_retries"), &mut tcp.orphan_retries);
    read_into(&ipv4("tcp_fin_timeout"), &mut tcp.fin_timeout_secs);
    read_into(&ipv4("tcp_keepalive_time"), &mut tcp.keepalive_time_secs);
    read_into(&ipv4("tcp_keepalive_intvl"), &mut tcp.keepalive_intvl_secs);
    read_into(&ipv4("tcp_keepalive_probes"), &mut tcp.keepalive_probes);
    read_bool(&ipv4("tcp_window_scaling"), &mut tcp.window_scaling);
    read_bool(&ipv4("tcp_timestamps"), &mut tcp.timestamps);
    read_bool(&ipv4("tcp_sack"), &mut tcp.sack);
    // Read like the numbers: through the shim's raw file helper, never a hooked libc call.
    if let Some(name) = CString::new(ipv4("tcp_congestion_control"))
        .ok()
        .and_then(|path| sys::read_small_file(&path).ok())
    {
        tcp.congestion_control = String::from_utf8_lossy(&name).trim().to_string();
    }
    // TCP_CONGESTION's permission list, TCP_NOTSENT_LOWAT's default and
    // TCP_FASTOPEN_CONNECT's switch.
    if let Some(names) = CString::new(ipv4("tcp_allowed_congestion_control"))
        .ok()
        .and_then(|path| sys::read_small_file(&path).ok())
    {
        tcp.allowed_congestion_control = String::from_utf8_lossy(&names).trim().to_string();
    }
    read_into(&ipv4("tcp_notsent_lowat"), &mut tcp.notsent_lowat);
    read_into(&ipv4("tcp_fastopen"), &mut tcp.fastopen);
    read_into(
        &ipv4("tcp_fastopen_blackhole_timeout_sec"),
        &mut tcp.fastopen_blackhole_timeout_secs,
    );
    // The namespace's Fast Open key (root-only; unreadable: none).
    if let Some(text) = CString::new(ipv4("tcp_fastopen_key"))
        .ok()
        .and_then(|path| sys::read_small_file(&path).ok())
    {
        tcp.fastopen_key = parse_fastopen_key(&String::from_utf8_lossy(&text));
    }
    read_into("/proc/sys/net/core/somaxconn", &mut tcp.somaxconn);
    // The listener's queues (SYN cookies, overflow).
    read_into(&ipv4("tcp_syncookies"), &mut tcp.syncookies);
    read_bool(&ipv4("tcp_abort_on_overflow"), &mut tcp.abort_on_overflow);
    read_into(&ipv4("tcp_max_syn_backlog"), &mut tcp.max_syn_backlog);
    // ECN (stack/src/tcp/ecn.rs).
    read_into(&ipv4("tcp_ecn"), &mut tcp.ecn);
    // Loss recovery (stack/src/tcp/recovery.rs).
    read_into(&ipv4("tcp_reordering"), &mut tcp.reordering);
    read_into(&ipv4("tcp_max_reordering"), &mut tcp.max_reordering);
    read_into(&ipv4("tcp_early_retrans"), &mut tcp.early_retrans);
    read_into(&ipv4("tcp_frto"), &mut tcp.frto);
    read_bool(&ipv4("tcp_dsack"), &mut tcp.dsack);
    read_bool(&ipv4("tcp_ecn_fallback"), &mut tcp.ecn_fallback);
    // The delayed-ACK engine (stack/src/tcp/delayed_ack.rs).
    read_into(&ipv4("tcp_pingpong_thresh"), &mut tcp.pingpong_thresh);
    read_into(&ipv4("tcp_comp_sack_nr"), &mut tcp.comp_sack_nr);
    read_into(&ipv4("tcp_comp_sack_delay_ns"), &mut tcp.comp_sack_delay_ns);
}

/// proc_tcp_fastopen_key's text: "%08x-%08x-%08x-%08x", a comma and a backup key; each word
/// is stored little-endian (cpu_to_le32). All zeros means no key was ever set.
fn parse_fastopen_key(text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for key in text.trim().split(',').take(2) {
        let words: Vec<u32> = key
            .split('-')
            .filter_map(|word| u32::from_str_radix(word.trim(), 16).ok())
            .collect();
        if words.len() != 4 {
            return Vec::new();
        }
        for word in words {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
    }
    if bytes.iter().all(|&byte| byte == 0) {
        return Vec::new();
    }
    bytes
}

/// SO_NETNS_COOKIE (asm-generic/socket.h): the cookie of the socket's network namespace.
const SO_NETNS_COOKIE: i32 = 71;

/// The program's network namespace cookie (net->net_cookie), as SO_NETNS_COOKIE answers it
/// on any socket of the namespace: a throwaway AF_UNIX socket touches no network state.
fn network_namespace_cookie() -> Option<u64> {
    let fd = sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0).ok()?;
    let mut cookie: u64 = 0;
    let answer = sys::getsockopt(fd, libc::SOL_SOCKET, SO_NETNS_COOKIE, &mut cookie);
    let _ = sys::close(fd);
    match answer {
        Ok(len) if len == std::mem::size_of::<u64>() => Some(cookie),
        _ => None,
    }
}

/// Capability numbers (linux/capability.h).
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's effective capability set (capget(2)); empty if capget fails.
fn effective_capabilities() -> u64 {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are valid for the v3 layout (two CapData entries).
    let ret = unsafe {
        raw_syscall!(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if ret != 0 {
        return 0;
    }
    u64::from(data[0].effective) | (u64::from(data[1].effective) << 32)
}

/// The program's privileges right now, as the kernel would judge them: capabilities from the
/// effective set (capable()), and ping_group_range membership as ping_init_sock decides it:
/// the effective gid, then every supplementary group.
pub fn current_credentials(ping_group_range: (u32, u32)) -> Credentials {
    let caps = effective_capabilities();
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    Credentials {
        cap_net_raw: has(CAP_NET_RAW),
        cap_net_bind_service: has(CAP_NET_BIND_SERVICE),
        cap_net_admin: has(CAP_NET_ADMIN),
        in_ping_group: in_ping_group(ping_group_range),
    }
}

fn in_ping_group((low, high): (u32, u32)) -> bool {
    if low > high {
        return false;
    }
    let in_range = |gid: u32| low <= gid && gid <= high;
    // SAFETY: getegid cannot fail.
    let egid = unsafe { raw_syscall!(libc::SYS_getegid) } as u32;
    if in_range(egid) {
        return true;
    }
    // getgroups(0, NULL) answers the count; a group added in between only shortens the list.
    // SAFETY: size 0 means the list pointer is not touched.
    let count =
        unsafe { raw_syscall!(libc::SYS_getgroups, 0, std::ptr::null_mut::<libc::gid_t>()) };
    if count <= 0 {
        return false;
    }
    let mut groups = vec![0 as libc::gid_t; count as usize];
    // SAFETY: the buffer holds `count` gids.
    let count = unsafe {
        raw_syscall!(
            libc::SYS_getgroups,
            groups.len() as i32,
            groups.as_mut_ptr(),
        )
    };
    if count <= 0 {
        return false;
    }
    groups.truncate(count as usize);
    groups.into_iter().any(in_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// proc_tcp_fastopen_key's text: words stored little-endian; zeros mean no key.
    #[test]
    fn fastopen_key_text() {
        let key = parse_fastopen_key("00112233-44556677-8899aabb-ccddeeff\n");
        assert_eq!(&key[..8], &[0x33, 0x22, 0x11, 0x00, 0x77, 0x66, 0x55, 0x44]);
        assert_eq!(key.len(), 16);
        let both = parse_fastopen_key("00000001-0-0-0,00000002-0-0-0");
        assert_eq!((both.len(), both[0], both[16]), (32, 1, 2));
        assert!(parse_fastopen_key("00000000-00000000-00000000-00000000").is_empty());
        assert!(parse_fastopen_key("garbage").is_empty());
    }

    #[test]
    fn boot_id_is_the_hosts_and_stable() {
        let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        let expected = u128::from_str_radix(&text.trim().replace('-', ""), 16).unwrap();
        assert_eq!(read_boot_id(), Some(expected));
        assert_eq!(read_sysctls("lo").boot_id, Some(expected));
    }

    #[test]
    fn cidr_and_mac_parsing() {
        assert_eq!(
            parse_cidr("198.18.0.2/24"),
            Ok((Ipv4Addr::new(198, 18, 0, 2), 24))
        );
        assert_eq!(
            parse_cidr(" 10.0.0.1 "),
            Ok((Ipv4Addr::new(10, 0, 0, 1), 32))
        );
        assert!(parse_cidr("198.18.0.2/33").is_err());
        assert!(parse_cidr("224.0.0.1/4").is_err());
        assert!(parse_cidr("nope/24").is_err());
        assert_eq!(parse_mac("02:00:00:00:00:02"), Ok([2, 0, 0, 0, 0, 2]));
        assert_eq!(
            parse_mac("02-aa-bb-cc-dd-ee"),
            Ok([2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee])
        );
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("02:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:002").is_err());
    }

    #[test]
    fn subnet_membership() {
        let a = Ipv4Addr::new(198, 18, 0, 2);
        assert!(same_subnet(Ipv4Addr::new(198, 18, 0, 1), a, 24));
        assert!(!same_subnet(Ipv4Addr::new(198, 18, 1, 1), a, 24));
        assert!(same_subnet(Ipv4Addr::new(1, 2, 3, 4), a, 0));
    }

    #[test]
    fn network_namespace_cookie_is_known() {
        // SO_NETNS_COOKIE exists since Linux 5.14; the cookie of a namespace is never 0.
        assert!(network_namespace_cookie().is_some_and(|cookie| cookie != 0));
    }

    #[test]
    fn sysctls_fall_back_to_defaults_for_unknown_interface() {
        let sysctls = read_sysctls("ipshim-no-such-interface");
        assert_eq!(
            sysctls.arp_retrans_time_ms,
            Sysctls::default().arp_retrans_time_ms
        );
    }
}
