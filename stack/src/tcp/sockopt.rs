//! setsockopt / getsockopt on a TCP socket: SOL_TCP here (do_tcp_setsockopt,
//! do_tcp_getsockopt, tcp_get_info), SOL_SOCKET and SOL_IP through the shared option table,
//! after which the values TCP obeys are copied into the socket's and connection's `Settings`.

use core::cell::Cell;
use core::time::Duration;

use super::congestion::{Algorithm, Phase};
use super::layer::{user_socket_in, Network, TcpLayer};
use super::settings::Settings;
use super::socket::{Role, TcpSocket};
use super::sol_tcp;
use super::state::State;
use super::tcb::Connection;
use super::timers::Timer;
use crate::config::{Credentials, Sysctls};
use crate::errno::Errno;
use crate::socket::{sock_type, SocketId};
use crate::sockopt::multicast::Devices;
use crate::sockopt::values::ticks_to_duration;
use crate::sockopt::{self, OptionContext, SocketOptions};
use crate::stack::ip_proto;
use crate::time::Instant;

/// SOL_TCP.
pub const SOL_TCP: i32 = 6;

/// SOL_TCP option names (linux/tcp.h).
pub mod tcp_option {
    pub const TCP_NODELAY: i32 = 1;
    pub const TCP_MAXSEG: i32 = 2;
    pub const TCP_CORK: i32 = 3;
    pub const TCP_KEEPIDLE: i32 = 4;
    pub const TCP_KEEPINTVL: i32 = 5;
    pub const TCP_KEEPCNT: i32 = 6;
    pub const TCP_SYNCNT: i32 = 7;
    pub const TCP_INFO: i32 = 11;
    pub const TCP_QUICKACK: i32 = 12;
    pub const TCP_CONGESTION: i32 = 13;
    pub const TCP_USER_TIMEOUT: i32 = 18;
}
use tcp_option::*;

/// MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL (seconds), MAX_TCP_KEEPCNT, MAX_TCP_SYNCNT.
const MAX_KEEPALIVE_SECONDS: i32 = 32767;
const MAX_KEEPALIVE_COUNT: i32 = 127;
const MAX_SYN_COUNT: i32 = 127;
/// MAX_TCP_WINDOW: the largest TCP_MAXSEG accepted.
const MAX_USER_MSS: i32 = 32767;
/// TCP_CA_NAME_MAX.
const CONGESTION_NAME_MAX: usize = 16;
/// sizeof(struct tcp_info) on Linux 6.18 (measured: getsockopt returns 280 bytes).
pub const TCP_INFO_LEN: usize = 280;
/// TCP_MSS_DEFAULT: tp->mss_cache of a socket that never connected.
const DEFAULT_MSS_CACHE: u32 = 536;
/// sk_userlocks bits.
const SNDBUF_LOCK: u8 = 1;
const RCVBUF_LOCK: u8 = 2;

/// tcp_init_sock: a TCP socket starts with tcp_wmem[1] / tcp_rmem[1] as its buffers.
pub fn initial_options(sysctls: &crate::config::Sysctls) -> SocketOptions {
    let mut options = SocketOptions::new(sysctls);
    options.send_buffer = sysctls.tcp.wmem.1.min(i32::MAX as u32) as i32;
    options.receive_buffer = sysctls.tcp.rmem.1.min(i32::MAX as u32) as i32;
    options
}

/// Copies what TCP obeys out of the shared option values.
pub fn sync_settings(settings: &mut Settings, options: &SocketOptions) {
    settings.keepalive = options.keepalive;
    settings.linger = options
        .linger
        .then(|| ticks_to_duration(options.linger_ticks).unwrap_or(Duration::MAX));
    settings.receive_buffer = options.receive_buffer.max(0) as u32;
    settings.send_buffer = options.send_buffer.max(0) as u32;
    settings.receive_buffer_locked = options.buffer_locks & RCVBUF_LOCK != 0;
    settings.send_buffer_locked = options.buffer_locks & SNDBUF_LOCK != 0;
    settings.reuse_address = options.reuse_address;
    settings.reuse_port = options.reuse_port;
    settings.receive_lowat = options.receive_low_water.max(1) as u32;
    settings.ttl = (options.unicast_ttl >= 0).then_some(options.unicast_ttl as u8);
    settings.tos = options.tos;
    settings.urgent_inline = options.out_of_band_inline;
    settings.receive_errors = options.receive_errors;
    settings.max_pacing_rate = options.max_pacing_rate;
}

/// do_tcp_setsockopt reads an int: "if (optlen < sizeof(int)) return -EINVAL".
fn read_int(value: &[u8]) -> Result<i32, Errno> {
    match value {
        [a, b, c, d, ..] => Ok(i32::from_ne_bytes([*a, *b, *c, *d])),
        _ => Err(Errno::EINVAL),
    }
}

/// do_tcp_getsockopt: "len = min_t(unsigned int, len, sizeof(int))".
fn encode_int(value: i32, optlen: usize) -> Vec<u8> {
    value.to_ne_bytes()[..optlen.min(4)].to_vec()
}

fn seconds(duration: Duration) -> i32 {
    duration.as_secs().min(i32::MAX as u64) as i32
}

impl TcpLayer {
    pub fn setsockopt(
        &mut self,
        now: Instant,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        if level == SOL_TCP {
            return self.set_tcp_option(now, id, name, value);
        }
        if level == super::reuseport::SOL_SOCKET
            && name == super::reuseport::SO_DETACH_REUSEPORT_BPF
            && value.len() >= 4
        {
            // The group's program goes, whoever attached it (reuseport.rs).
            return self.detach_reuseport_program(id);
        }
        let sysctls = self.sysctls.clone();
        // The interfaces an option may name: `lo` and ours, by index or address, and the
        // one a route to a group leaves by.
        let route = |group| network.route(group).ok().map(|route| route.ifindex);
        let devices = Devices::new(self.interface_index, self.interface_address, &route);
        let socket = self.user_socket_mut(id)?;
        super::ecn::sync_tos_option(socket);
        let before = socket.options.clone();
        let pending_error = Cell::new(socket_error(socket));
        let context = OptionContext {
            value_len: value.len(),
            ..option_context(socket, &socket.creds, &sysctls, &pending_error, &devices)
        };
        let result = sockopt::set(&mut socket.options, &context, level, name, value);
        if level == crate::sockopt::names::level::SOL_SOCKET
            && name == crate::sockopt::names::socket::SO_REUSEADDR
            && result.is_ok()
        {
            // SO_REUSEADDR writes sk_reuse over TCP_REPAIR's SK_FORCE_REUSE (`repair.rs`).
            socket.repair.force_reuse = false;
        }
        let result = result.and_then(|()| {
            super::tx_timestamps::timestamping_changed(socket, before.timestamping_flags)
        });
        let options = socket.options.clone();
        sync_settings(&mut socket.settings, &options);
        if before.receive_errors && !options.receive_errors {
            // do_ip_setsockopt IP_RECVERR 0: "skb_queue_purge(&sk->sk_error_queue)".
            socket.error_queue.clear();
        }
        let keepalive_turned_on = options.keepalive && !before.keepalive;
        if let Some(connection) = socket.connection_mut() {
            sync_settings(&mut connection.settings, &options);
            // tcp_set_keepalive: SO_KEEPALIVE arms or stops the keepalive timer.
            if keepalive_turned_on {
                connection.arm_keepalive(now);
            } else if !(options.keepalive
                || connection.orphaned && connection.state == State::FinWait2)
            {
                connection.timers.clear(Timer::Keepalive);
            }
        }
        if (options.reuse_address, options.reuse_port) != (before.reuse_address, before.reuse_port)
        {
            if let Some(bound) = socket.bound {
                self.ports
                    .update(bound.port(), super::ports::Holder::Socket(id), |binding| {
                        binding.reuse_address = options.reuse_address;
                        binding.reuse_port = options.reuse_port;
                    });
            }
        }
        result
    }

    pub fn getsockopt(
        &mut self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.getsockopt_with_value(network, id, level, name, optlen, None)
    }

    /// getsockopt for the options that read the caller's buffer first (IP_MSFILTER,
    /// MCAST_MSFILTER: the group it names): `value` is what the buffer held, None if it could
    /// not be read (EFAULT after the length checks, as the kernel copies it).
    pub fn getsockopt_with_value(
        &mut self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
        value: Option<&[u8]>,
    ) -> Result<Vec<u8>, Errno> {
        if level == SOL_TCP {
            let result = self.get_tcp_option(id, name, optlen);
            if name == sol_tcp::names::TCP_SAVED_SYN && result.as_ref().is_ok_and(|b| !b.is_empty())
            {
                // tcp_saved_syn_free: the headers are handed out once.
                if let Some(connection) = self.user_socket_mut(id)?.connection_mut() {
                    connection.saved_syn = None;
                }
            }
            return result;
        }
        let sysctls = self.sysctls.clone();
        // The interfaces an option may name: `lo` and ours, by index or address, and the
        // one a route to a group leaves by.
        let route = |group| network.route(group).ok().map(|route| route.ifindex);
        let devices = Devices::new(self.interface_index, self.interface_address, &route);
        let socket = self.user_socket_mut(id)?;
        super::ecn::sync_tos_option(socket);
        let pending_error = Cell::new(socket_error(socket));
        let context = OptionContext {
            value_len: optlen,
            ..option_context(socket, &socket.creds, &sysctls, &pending_error, &devices)
        };
        if let Some(shown) = (level == crate::sockopt::names::level::SOL_SOCKET
            && name == crate::sockopt::names::socket::SO_REUSEADDR)
            .then(|| socket.repair.reuse_address_shown())
            .flatten()
        {
            // sk_reuse is SK_FORCE_REUSE in repair mode (`repair.rs`).
            return Ok(encode_int(shown, optlen));
        }
        let result = sockopt::get_with_value(&socket.options, &context, level, name, optlen, value);
        // SO_ERROR read (and cleared) the pending error.
        let remaining = pending_error.get();
        match socket.connection_mut() {
            Some(connection) => connection.error = remaining,
            None => socket.error = remaining,
        }
        result
    }

    /// do_tcp_setsockopt.
    fn set_tcp_option(
        &mut self,
        now: Instant,
        id: SocketId,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        if value.len() >= 4 {
            if let Some(result) = self.set_repair_option(now, id, name, value) {
                return result;
            }
        }
        let tcp_sysctls = self.sysctls.tcp.clone();
        let optmem_max = self.sysctls.optmem_max;
        let socket = user_socket_in(&mut self.sockets, id)?;
        if name == sol_tcp::names::TCP_MD5SIG || name == sol_tcp::names::TCP_MD5SIG_EXT {
            // tcp_v4_parse_md5_keys (`md5sig_layer.rs`).
            return super::md5sig_layer::set_keys(socket, name, value, optmem_max);
        }
        if name == sol_tcp::names::TCP_ULP {
            return sol_tcp::set_ulp(value);
        }
        if name == sol_tcp::names::TCP_FASTOPEN_KEY {
            sol_tcp::set_fastopen_key(&mut socket.settings.more, value)?;
            let more = socket.settings.more.clone();
            if let Some(connection) = socket.connection_mut() {
                connection.settings.more = more;
            }
            return Ok(());
        }
        if name == TCP_CONGESTION {
            // "if (optlen < 1) return -EINVAL"; the name is at most TCP_CA_NAME_MAX - 1 bytes.
            if value.is_empty() {
                return Err(Errno::EINVAL);
            }
            let bytes = &value[..value.len().min(CONGESTION_NAME_MAX - 1)];
            let name = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
            // tcp_set_congestion_control: an algorithm that is not built in is not found.
            let algorithm = Algorithm::from_name(name).ok_or(Errno::ENOENT)?;
            let current = socket
                .connection()
                .map_or(socket.settings.congestion, |c| c.settings.congestion);
            // tcp_set_congestion_control: the current algorithm is always fine ("No change
            // asking for existing value"); another one needs TCP_CONG_NON_RESTRICTED or
            // CAP_NET_ADMIN. tcp_allowed_congestion_control lists exactly the algorithms
            // with that flag (tcp_get_allowed_congestion_control; setting a default sets it).
            let allowed = tcp_sysctls
                .allowed_congestion_control
                .split_whitespace()
                .any(|allowed| allowed.as_bytes() == name);
            if algorithm == current {
                return Ok(());
            }
            if !allowed && !socket.creds.cap_net_admin {
                return Err(Errno::EPERM);
            }
            socket.settings.congestion = algorithm;
            if let Some(connection) = socket.connection_mut() {
                // tcp_reinit_congestion_control: the window, ssthresh and pacing stay; the
                // algorithm starts from zeroed state and its init runs on an open socket.
                connection.reinit_congestion_control(now, algorithm);
            }
            return Ok(());
        }
        let known = matches!(
            name,
            TCP_NODELAY
                | TCP_MAXSEG
                | TCP_CORK
                | TCP_KEEPIDLE
                | TCP_KEEPINTVL
                | TCP_KEEPCNT
                | TCP_SYNCNT
                | TCP_QUICKACK
                | TCP_USER_TIMEOUT
        );
        // "if (optlen < sizeof(int)) return -EINVAL" comes before the switch, so even an
        // unknown name with a short value is EINVAL.
        if value.len() < 4 {
            return Err(Errno::EINVAL);
        }
        if !known {
            let result = Self::set_more_option(socket, &tcp_sysctls, name, value);
            if name == sol_tcp::names::TCP_FASTOPEN && result.is_ok() {
                // TCP_FASTOPEN: fastopen_queue_tune, then tcp_fastopen_init_key_once.
                self.fastopen_enabled();
            }
            return result;
        }
        let value = read_int(value)?;
        let mut settings = socket.settings.clone();
        if name == TCP_QUICKACK {
            // __tcp_sock_set_quickack: 0 enters pingpong mode, anything else leaves it.
            settings.more.pingpong = value == 0;
        }
        match name {
            TCP_NODELAY => settings.nodelay = value != 0,
            TCP_CORK => settings.cork = value != 0,
            TCP_MAXSEG => {
                if value != 0 && !(super::options::MIN_MSS as i32..=MAX_USER_MSS).contains(&value) {
                    return Err(Errno::EINVAL);
                }
                settings.user_mss = (value != 0).then_some(value as u32);
            }
            TCP_KEEPIDLE => {
                if !(1..=MAX_KEEPALIVE_SECONDS).contains(&value) {
                    return Err(Errno::EINVAL);
                }
                settings.keep_idle = Some(Duration::from_secs(value as u64));
            }
            TCP_KEEPINTVL => {
                if !(1..=MAX_KEEPALIVE_SECONDS).contains(&value) {
                    return Err(Errno::EINVAL);
                }
                settings.keep_interval = Some(Duration::from_secs(value as u64));
            }
            TCP_KEEPCNT => {
                if !(1..=MAX_KEEPALIVE_COUNT).contains(&value) {
                    return Err(Errno::EINVAL);
                }
                settings.keep_count = Some(value as u32);
            }
            TCP_SYNCNT => {
                if !(1..=MAX_SYN_COUNT).contains(&value) {
                    return Err(Errno::EINVAL);
                }
                settings.syn_count = Some(value as u32);
            }
            TCP_USER_TIMEOUT => {
                if value < 0 {
                    return Err(Errno::EINVAL);
                }
                settings.user_timeout = (value != 0).then(|| Duration::from_millis(value as u64));
            }
            _ => {}
        }
        socket.settings = settings.clone();
        let Some(connection) = socket.connection_mut() else {
            return Ok(());
        };
        let cork_released = connection.settings.cork && !settings.cork;
        let nodelay_set = !connection.settings.nodelay && settings.nodelay;
        let keepidle_changed = connection.settings.keep_idle != settings.keep_idle;
        connection.settings = settings;
        match name {
            // TCP_CORK cleared / TCP_NODELAY set: tcp_push_pending_frames.
            TCP_CORK | TCP_NODELAY if cork_released || nodelay_set => {
                connection.transmit(now, false, &mut self.outbox);
            }
            TCP_MAXSEG => connection.update_mss(),
            // TCP_KEEPIDLE re-arms a running keepalive timer (keepalive_time_when).
            TCP_KEEPIDLE if keepidle_changed && connection.settings.keepalive => {
                connection.arm_keepalive(now);
            }
            // __tcp_sock_set_quickack (`delayed_ack.rs`).
            TCP_QUICKACK => connection.set_quickack(now, value, &mut self.outbox),
            _ => {}
        }
        Ok(())
    }

    /// The names of sol_tcp.rs, then their effect on a live connection.
    fn set_more_option(
        socket: &mut TcpSocket,
        tcp_sysctls: &super::TcpSysctls,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        let state = socket.state();
        let mut more = socket
            .connection()
            .map_or(&socket.settings.more, |c| &c.settings.more)
            .clone();
        let answer = sol_tcp::set(
            state,
            &mut more,
            tcp_sysctls.fastopen,
            tcp_sysctls.somaxconn,
            name,
            value,
        );
        match answer {
            sol_tcp::Answer::Unknown => Err(Errno::ENOPROTOOPT),
            sol_tcp::Answer::Done(Err(errno)) => Err(errno),
            sol_tcp::Answer::Done(Ok(())) => {
                socket.settings.more = more.clone();
                if let Some(connection) = socket.connection_mut() {
                    let old_clamp = connection.settings.more.window_clamp;
                    connection.settings.more = more;
                    connection.rtt.floor = connection.settings.more.rto_min();
                    connection.rtt.ceiling = connection.settings.more.rto_max();
                    let clamp = connection.settings.more.window_clamp;
                    if name == sol_tcp::names::TCP_WINDOW_CLAMP && clamp != 0 {
                        // tcp_set_window_clamp: shrinking lowers rcv_ssthresh; growing lets
                        // it reach min(rcv_wnd, clamp).
                        if old_clamp == 0 || clamp < old_clamp {
                            connection.rcv_ssthresh = connection.rcv_ssthresh.min(clamp);
                        } else {
                            let grown = connection.receive_window().min(clamp);
                            connection.rcv_ssthresh = connection.rcv_ssthresh.max(grown);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// do_tcp_getsockopt.
    fn get_tcp_option(&self, id: SocketId, name: i32, optlen: usize) -> Result<Vec<u8>, Errno> {
        let socket = self.user_socket(id)?;
        if optlen > i32::MAX as usize {
            return Err(Errno::EINVAL);
        }
        if let Some(result) = self.get_repair_option(id, name, optlen) {
            return result;
        }
        let settings = socket
            .connection()
            .map_or(&socket.settings, |connection| &connection.settings);
        let value = match name {
            TCP_NODELAY => i32::from(settings.nodelay),
            TCP_CORK => i32::from(settings.cork),
            TCP_MAXSEG => {
                // "val = tp->mss_cache; if (user_mss && (CLOSE | LISTEN)) val = user_mss".
                let closed = matches!(socket.state(), State::Closed | State::Listen);
                match (settings.user_mss, socket.connection()) {
                    (Some(user), _) if closed => user as i32,
                    (_, Some(connection)) => connection.mss as i32,
                    (Some(user), None) => user as i32,
                    (None, None) => DEFAULT_MSS_CACHE as i32,
                }
            }
            TCP_KEEPIDLE => seconds(settings.keepalive_idle()),
            TCP_KEEPINTVL => seconds(settings.keepalive_interval()),
            TCP_KEEPCNT => settings.keepalive_count() as i32,
            TCP_SYNCNT => settings.syn_retries() as i32,
            TCP_USER_TIMEOUT => settings.user_timeout.map_or(0, |timeout| {
                timeout.as_millis().min(i32::MAX as u128) as i32
            }),
            TCP_QUICKACK => i32::from(
                !socket
                    .connection()
                    .map_or(socket.settings.more.pingpong, |c| c.in_pingpong_mode()),
            ),
            TCP_CONGESTION => {
                let algorithm = settings.congestion.name();
                let mut name = [0u8; CONGESTION_NAME_MAX];
                name[..algorithm.len()].copy_from_slice(algorithm.as_bytes());
                return Ok(name[..optlen.min(CONGESTION_NAME_MAX)].to_vec());
            }
            sol_tcp::names::TCP_CC_INFO => {
                // do_tcp_getsockopt: "len = min_t(unsigned int, len, sz)" where sz is what
                // ca_ops->get_info filled (0 for CUBIC and Reno, which have none).
                let info = match socket.connection() {
                    Some(connection) => connection.congestion_info(),
                    None => super::congestion_hooks::unconnected_congestion_info(
                        socket.settings.congestion,
                    ),
                };
                return Ok(info[..optlen.min(info.len())].to_vec());
            }
            TCP_INFO => {
                let info = tcp_info(socket, self.clock);
                return Ok(info[..optlen.min(TCP_INFO_LEN)].to_vec());
            }
            _ => {
                let fin_timeout = self.sysctls.tcp.fin_timeout_secs;
                return sol_tcp::get(socket, fin_timeout, name, optlen)
                    .unwrap_or(Err(Errno::ENOPROTOOPT));
            }
        };
        Ok(encode_int(value, optlen))
    }

    /// SO_RCVTIMEO / SO_SNDTIMEO for the shim's blocking loop (None: wait forever).
    pub fn timeouts(&self, id: SocketId) -> Result<(Option<Duration>, Option<Duration>), Errno> {
        let socket = self.user_socket(id)?;
        Ok((
            socket.options.receive_timeout(),
            socket.options.send_timeout(),
        ))
    }
}

/// What the shared option handlers may consult about a TCP socket: a stream socket, listening
/// or not (SO_ACCEPTCONN), whose connection's path MTU IP_MTU reads (ENOTCONN once closed).
/// `creds` is the socket's own, borrowed apart so that the caller can still change its options.
fn option_context<'a>(
    socket: &TcpSocket,
    creds: &'a Credentials,
    sysctls: &'a Sysctls,
    pending_error: &'a Cell<Option<Errno>>,
    devices: &'a Devices<'a>,
) -> OptionContext<'a> {
    let protocol = i32::from(ip_proto::TCP);
    let local_port = socket.bound.map_or(0, |bound| bound.port());
    OptionContext {
        listening: matches!(socket.role, Role::Listener(_)),
        path_mtu: socket
            .connection()
            .filter(|c| c.state != State::Closed)
            .map(|c| c.path_mtu.min(65535)),
        ..OptionContext::new(
            sock_type::STREAM,
            protocol,
            creds,
            sysctls,
            pending_error,
            devices,
            local_port,
        )
    }
}

fn socket_error(socket: &TcpSocket) -> Option<Errno> {
    match socket.connection() {
        Some(connection) => connection.error,
        None => socket.error,
    }
}

/// Microseconds, saturating at u32::MAX.
fn micros(duration: Duration) -> u32 {
    duration.as_micros().min(u128::from(u32::MAX)) as u32
}

/// tcp_get_info, laid out as struct tcp_info (280 bytes on 6.18). Times since the last
/// event are measured from the connection's stamps ("now" is the latest timer or segment
/// time the connection saw).
pub fn tcp_info(socket: &TcpSocket, now: Instant) -> Vec<u8> {
    let mut info = vec![0u8; TCP_INFO_LEN];
    let mut put_u32 =
        |at: usize, value: u32| info[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    let state = socket.state();
    if let Role::Listener(listener) = &socket.role {
        // "listeners aliased fields": state, pacing rates, reordering, cwnd, then
        // tcpi_unacked = sk_ack_backlog and tcpi_sacked = sk_max_ack_backlog; the rest is 0.
        info[0] = state.linux_number();
        // sk_pacing_rate (~0, capped by SO_MAX_PACING_RATE) and sk_max_pacing_rate.
        let max_pacing_rate = socket.options.max_pacing_rate;
        info[104..112].copy_from_slice(&max_pacing_rate.to_ne_bytes());
        info[112..120].copy_from_slice(&max_pacing_rate.to_ne_bytes());
        info[88..92].copy_from_slice(&3u32.to_ne_bytes());
        info[80..84].copy_from_slice(&super::congestion::INITIAL_WINDOW_SEGMENTS.to_ne_bytes());
        info[24..28].copy_from_slice(&(listener.ready.len() as u32).to_ne_bytes());
        info[28..32].copy_from_slice(&listener.backlog.to_ne_bytes());
        return info;
    }
    let Some(connection) = socket.connection() else {
        // A socket that never connected: tcp_init_sock's values.
        put_u32(8, micros(super::timers::RTO_INITIAL));
        put_u32(16, DEFAULT_MSS_CACHE);
        put_u32(72, micros(super::timers::RTO_INITIAL) / 4);
        put_u32(76, super::congestion::INFINITE_SSTHRESH);
        put_u32(80, super::congestion::INITIAL_WINDOW_SEGMENTS);
        put_u32(88, 3);
        put_u32(148, u32::MAX);
        info[0] = state.linux_number();
        info[7] = 1;
        // sk_pacing_rate (~0, capped by SO_MAX_PACING_RATE) and sk_max_pacing_rate.
        let max_pacing_rate = socket.options.max_pacing_rate;
        info[104..112].copy_from_slice(&max_pacing_rate.to_ne_bytes());
        info[112..120].copy_from_slice(&max_pacing_rate.to_ne_bytes());
        return info;
    };
    fill_connection_info(&mut info, connection, state);
    fill_last_event_times(&mut info, connection, now);
    let (busy, rwnd_limited, sndbuf_limited) = connection.chrono.micros(now);
    info[168..176].copy_from_slice(&busy.to_ne_bytes());
    info[176..184].copy_from_slice(&rwnd_limited.to_ne_bytes());
    info[184..192].copy_from_slice(&sndbuf_limited.to_ne_bytes());
    info
}

/// tcpi_last_data_sent (lsndtime), tcpi_last_data_recv (icsk_ack.lrcvtime) and
/// tcpi_last_ack_recv (rcv_tstamp): "jiffies_to_msecs(now - stamp)", so whole ticks.
fn fill_last_event_times(info: &mut [u8], c: &Connection, now: Instant) {
    let tick_nanos = 1_000_000_000 / super::settings::TICKS_PER_SECOND as u64;
    let tick_millis = 1000 / super::settings::TICKS_PER_SECOND;
    let since = |stamp: Instant| {
        let ticks = (now.as_nanos() / tick_nanos).saturating_sub(stamp.as_nanos() / tick_nanos);
        (ticks as u32).wrapping_mul(tick_millis)
    };
    for (at, stamp) in [
        (44, c.stats.last_data_sent),
        (52, c.stats.last_data_received),
        (56, c.stats.last_ack_received),
    ] {
        info[at..at + 4].copy_from_slice(&since(stamp).to_ne_bytes());
    }
}

fn fill_connection_info(info: &mut [u8], c: &Connection, state: State) {
    let mss = c.mss.max(1);
    let put_u32 = |info: &mut [u8], at: usize, value: u32| {
        info[at..at + 4].copy_from_slice(&value.to_ne_bytes())
    };
    let put_u64 = |info: &mut [u8], at: usize, value: u64| {
        info[at..at + 8].copy_from_slice(&value.to_ne_bytes())
    };
    info[0] = state.linux_number();
    // tcpi_ca_state (`recovery.rs` moves it).
    info[1] = match c.congestion.phase {
        Phase::Open => 0,
        Phase::Disorder => 1,
        // TCP_CA_CWR (ECN, `ecn.rs`).
        Phase::Cwr { .. } => 2,
        Phase::Recovery { .. } => 3,
        Phase::Loss { .. } => 4,
    };
    info[2] = c.timeouts.min(255) as u8;
    info[3] = c.probes.min(255) as u8;
    info[4] = c.rtt.backoff.min(255) as u8;
    // TCPI_OPT_TIMESTAMPS 1, TCPI_OPT_SACK 2, TCPI_OPT_WSCALE 4.
    info[5] = u8::from(c.timestamps)
        | (u8::from(c.sack) << 1)
        | (u8::from(c.snd_wscale > 0 || c.rcv_wscale > 0) << 2)
        // TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN.
        | c.ecn.info_options()
        // TCPI_OPT_SYN_DATA and TCPI_OPT_TFO_CHILD (fastopen.rs).
        | (u8::from(c.syn_data_acked()) << 5)
        | (u8::from(c.fastopen.passive_child) << 7);
    info[6] = (c.snd_wscale & 0x0f) | (c.rcv_wscale << 4);
    put_u32(info, 8, micros(c.rtt.rto()));
    put_u32(info, 12, c.ack_timeout_info());
    put_u32(info, 16, c.mss);
    put_u32(info, 20, c.ack.rcv_mss);
    // tcpi_unacked (packets_out), tcpi_sacked, tcpi_lost, tcpi_retrans from the
    // scoreboard (`sent.rs`, `recovery.rs`).
    put_u32(info, 24, c.sent.len() as u32);
    put_u32(info, 28, c.sacked_out());
    put_u32(info, 32, c.sent.lost_out());
    put_u32(info, 36, c.sent.retrans_out());
    put_u32(info, 60, c.path_mtu);
    put_u32(info, 64, c.rcv_ssthresh);
    put_u32(info, 68, c.rtt.smoothed.map_or(0, micros));
    put_u32(
        info,
        72,
        if c.rtt.smoothed.is_some() {
            micros(c.rtt.variance)
        } else {
            micros(super::timers::RTO_INITIAL) / 4
        },
    );
    let ssthresh = c.congestion.ssthresh;
    let infinite = super::congestion::INFINITE_SSTHRESH;
    put_u32(
        info,
        76,
        if ssthresh >= infinite {
            infinite
        } else {
            ssthresh / mss
        },
    );
    put_u32(info, 80, c.congestion.cwnd / mss);
    put_u32(info, 84, c.advmss());
    // tcpi_reordering (tp->reordering).
    put_u32(info, 88, c.recovery.reordering);
    // tcpi_rcv_space: tp->rcvq_space.space, the autotuning's per-RTT estimate.
    put_u32(info, 96, c.receive_space.space);
    put_u32(info, 100, c.stats.total_retransmits);
    // sk_pacing_rate (BBR's, or tcp_update_pacing_rate's) and sk_max_pacing_rate.
    put_u64(info, 104, c.pacing_rate());
    put_u64(info, 112, c.settings.max_pacing_rate);
    put_u64(info, 120, c.stats.bytes_acked);
    put_u64(info, 128, c.stats.bytes_received);
    put_u32(info, 136, c.stats.segments_out);
    put_u32(info, 140, c.stats.segments_in);
    put_u32(info, 144, c.send_queue.end().since(c.snd_nxt));
    put_u32(info, 148, c.rtt.min.map_or(u32::MAX, micros));
    put_u32(info, 152, c.stats.data_segments_in);
    put_u32(info, 156, c.stats.data_segments_out);
    // tcpi_delivery_rate_app_limited (bit 0 of byte 7), tcpi_delivery_rate (only when
    // nonzero), tcpi_delivered.
    info[7] |= u8::from(c.rate.rate_app_limited);
    // tcpi_fastopen_client_fail: the two bits after tcpi_delivery_rate_app_limited.
    info[7] |= (c.fastopen.client_fail & 3) << 1;
    put_u64(info, 160, c.rate.bytes_per_second(c.mss));
    put_u32(info, 192, c.rate.delivered);
    put_u32(info, 196, c.ecn.delivered_ce);
    put_u64(info, 200, c.stats.bytes_sent);
    put_u64(info, 208, c.stats.bytes_retransmitted);
    // tcpi_dsack_dups, tcpi_reord_seen.
    put_u32(info, 216, c.recovery.dsack_dups);
    put_u32(info, 220, c.recovery.reord_seen);
    put_u32(info, 228, c.snd_wnd);
    put_u32(info, 232, c.receive_window());
}
