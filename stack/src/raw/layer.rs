//! `RawLayer`: the raw and ping sockets and their socket calls (raw.c's raw_bind,
//! ip4_datagram_connect, __udp_disconnect, do_raw_setsockopt; ping.c's ping_bind,
//! ping_get_port, ping_check_bind_addr), with datagram_poll's readiness.

use core::cell::Cell;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;

use crate::config::{Credentials, StackConfig, Sysctls};
use crate::errno::Errno;
use crate::ipv4::Ipv4Layer;
use crate::random::Random;
use crate::sockaddr::{self, AF_INET, AF_UNSPEC};
use crate::socket::poll_bits::*;
use crate::socket::{sock_type, Shutdown, SocketId, WakeupCounts};
use crate::sockopt::multicast::Devices;
use crate::sockopt::names::level;
use crate::sockopt::{self, OptionContext, SocketOptions};

use super::socket::{Kind, RawSocket};
use super::INDEX_BASE;

/// SOL_RAW and its one option (linux/icmp.h: ICMP_FILTER).
const SOL_RAW: i32 = 255;
const ICMP_FILTER: i32 = 1;
/// IP_ROUTER_ALERT (SOL_IP).
const IP_ROUTER_ALERT: i32 = 5;
/// IPPROTO_RAW: such a socket always has IP_HDRINCL (inet_create: "if (IPPROTO_RAW ==
/// protocol) inet_set_bit(HDRINCL, sk)").
pub(super) const IPPROTO_RAW: u8 = 255;
const IPPROTO_ICMP: u8 = 1;
/// SIOCINQ (FIONREAD) and SIOCOUTQ (TIOCOUTQ).
const SIOCINQ: u64 = 0x541B;
const SIOCOUTQ: u64 = 0x5411;

pub struct RawLayer {
    slots: Vec<(u32, Option<RawSocket>)>,
    free: Vec<usize>,
    pub(super) sysctls: Sysctls,
    pub(super) random: Random,
    /// ping_port_rover: the last identifier ping_get_port handed out. The kernel's is global
    /// and starts at 0 at boot; this stack starts at a random value so two programs under the
    /// shim on one host rarely pick the same identifier (replies reach every stack).
    rover: u16,
    /// Counts ping hash insertions (`RawSocket::hash_sequence`).
    hash_count: u64,
}

impl RawLayer {
    pub fn new(config: &StackConfig) -> RawLayer {
        let mut random = Random::new(config.random_seed ^ 0x7261_775f_7069_6e67);
        let rover = random.next_u16();
        RawLayer {
            slots: Vec::new(),
            free: Vec::new(),
            sysctls: config.sysctls.clone(),
            random,
            rover,
            hash_count: 0,
        }
    }

    // ----- the table ----------------------------------------------------------------------

    pub(super) fn get(&self, id: SocketId) -> Result<&RawSocket, Errno> {
        let index = id.index.checked_sub(INDEX_BASE).ok_or(Errno::EBADF)? as usize;
        match self.slots.get(index) {
            Some((generation, Some(socket))) if *generation == id.generation => Ok(socket),
            _ => Err(Errno::EBADF),
        }
    }

    pub(super) fn get_mut(&mut self, id: SocketId) -> Result<&mut RawSocket, Errno> {
        let index = id.index.checked_sub(INDEX_BASE).ok_or(Errno::EBADF)? as usize;
        match self.slots.get_mut(index) {
            Some((generation, Some(socket))) if *generation == id.generation => Ok(socket),
            _ => Err(Errno::EBADF),
        }
    }

    /// The live sockets, in slot order (the kernel walks its hash chain; delivery order
    /// among several matching raw sockets is not observable by one program's calls).
    pub(super) fn sockets_mut(&mut self) -> impl Iterator<Item = &mut RawSocket> {
        self.slots.iter_mut().filter_map(|(_, slot)| slot.as_mut())
    }

    /// The hashed ping sockets, most recently hashed first.
    pub(super) fn ping_sockets_newest_first(&mut self) -> impl Iterator<Item = &mut RawSocket> {
        let mut sockets: Vec<&mut RawSocket> = self
            .sockets_mut()
            .filter(|socket| socket.kind == Kind::Ping && socket.hashed)
            .collect();
        sockets.sort_by_key(|socket| core::cmp::Reverse(socket.hash_sequence));
        sockets.into_iter()
    }

    pub(super) fn sockets(&self) -> impl Iterator<Item = &RawSocket> {
        self.slots.iter().filter_map(|(_, slot)| slot.as_ref())
    }

    fn insert(&mut self, socket: RawSocket) -> SocketId {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index];
            slot.0 = slot.0.wrapping_add(1);
            slot.1 = Some(socket);
            return SocketId {
                index: INDEX_BASE + index as u32,
                generation: slot.0,
            };
        }
        self.slots.push((0, Some(socket)));
        SocketId {
            index: INDEX_BASE + (self.slots.len() - 1) as u32,
            generation: 0,
        }
    }

    pub fn check(&self, id: SocketId) -> Result<(), Errno> {
        self.get(id).map(|_| ())
    }

    // ----- socket calls -------------------------------------------------------------------

    /// inet_create for a raw socket (`protocol` 1..=255, already checked) or a ping socket.
    pub fn socket(&mut self, ping: bool, protocol: u8, creds: Credentials) -> SocketId {
        let mut options = SocketOptions::new(&self.sysctls);
        options.header_included = !ping && protocol == IPPROTO_RAW;
        // inetsw_array gives both entries INET_PROTOSW_REUSE: sk_reuse starts at
        // SK_CAN_REUSE, so two ping sockets may name the same identifier until one clears
        // SO_REUSEADDR (measured: both binds succeed, the later one gets the replies).
        options.reuse_address = true;
        let socket = RawSocket {
            kind: if ping { Kind::Ping } else { Kind::Raw },
            protocol: if ping { IPPROTO_ICMP } else { protocol },
            ident: 0,
            ident_locked: false,
            address_locked: false,
            // raw: inet_create hashes it at once (inet_num = protocol); ping: at bind.
            hashed: !ping,
            hash_sequence: 0,
            creds,
            options,
            receive_address: Ipv4Addr::UNSPECIFIED,
            source_address: Ipv4Addr::UNSPECIFIED,
            peer: None,
            icmp_filter: 0,
            inet_id: 0,
            receive_queue: VecDeque::new(),
            receive_memory: 0,
            error_queue: VecDeque::new(),
            error: Cell::new(None),
            read_shut: false,
            write_shut: false,
            wakeups: WakeupCounts::default(),
        };
        self.insert(socket)
    }

    pub fn close(&mut self, id: SocketId) {
        let Some(index) = id.index.checked_sub(INDEX_BASE).map(|i| i as usize) else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(index) {
            if slot.0 == id.generation && slot.1.take().is_some() {
                self.free.push(index);
            }
        }
    }

    /// raw_bind / ping_bind.
    pub fn bind(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        sockaddr::check_user_length(addr.len())?;
        let kind = self.get(id)?.kind;
        match kind {
            Kind::Raw => self.raw_bind(ip, id, addr),
            Kind::Ping => self.ping_bind(ip, id, addr),
        }
    }

    fn can_bind_nonlocal(&self, socket: &RawSocket) -> bool {
        self.sysctls.ip_nonlocal_bind || socket.options.freebind || socket.options.transparent
    }

    fn raw_bind(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        let socket = self.get(id)?;
        // "if (sk->sk_state != TCP_CLOSE || addr_len < sizeof(struct sockaddr_in))": the
        // family is not looked at.
        if socket.peer.is_some() || addr.len() < sockaddr::SOCKADDR_IN_LEN {
            return Err(Errno::EINVAL);
        }
        let requested = sockaddr::parse_in(addr)?.addr;
        let multicast_or_broadcast = requested.is_multicast() || ip.is_broadcast_address(requested);
        // inet_addr_valid_or_nonlocal.
        let valid = self.can_bind_nonlocal(socket)
            || requested.is_unspecified()
            || ip.is_local_address(requested)
            || multicast_or_broadcast;
        if !valid {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let socket = self.get_mut(id)?;
        socket.receive_address = requested;
        // "Use device": a multicast or broadcast bind leaves the source to the route.
        socket.source_address = if multicast_or_broadcast {
            Ipv4Addr::UNSPECIFIED
        } else {
            requested
        };
        Ok(())
    }

    fn ping_bind(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        // ping_check_bind_addr.
        let requested = sockaddr::parse_in(addr)?;
        if requested.family != AF_INET
            && !(requested.family == AF_UNSPEC && requested.addr.is_unspecified())
        {
            return Err(Errno::EAFNOSUPPORT);
        }
        let socket = self.get(id)?;
        if !requested.addr.is_unspecified() {
            let local = ip.is_local_address(requested.addr);
            if requested.addr.is_multicast()
                || ip.is_broadcast_address(requested.addr)
                || (!local && !self.can_bind_nonlocal(socket))
            {
                return Err(Errno::EADDRNOTAVAIL);
            }
        }
        if socket.ident != 0 {
            return Err(Errno::EINVAL);
        }
        let ident = self.ping_get_port(id, requested.port)?;
        self.hash_count += 1;
        let sequence = self.hash_count;
        let socket = self.get_mut(id)?;
        socket.ident = ident;
        socket.hashed = true;
        socket.hash_sequence = sequence;
        socket.receive_address = requested.addr;
        socket.source_address = requested.addr;
        socket.address_locked = !requested.addr.is_unspecified();
        socket.ident_locked = requested.port != 0;
        socket.peer = None;
        Ok(())
    }

    /// ping_get_port: `ident` 0 takes the next free identifier after the rover (never 0);
    /// a named one is EADDRINUSE when another socket holds it, unless both set
    /// SO_REUSEADDR.
    pub(super) fn ping_get_port(&mut self, id: SocketId, ident: u16) -> Result<u16, Errno> {
        let reuse = self.get(id)?.options.reuse_address;
        let holders = |layer: &RawLayer, wanted: u16| -> Vec<bool> {
            layer
                .slots
                .iter()
                .enumerate()
                .filter_map(|(index, (generation, slot))| {
                    let socket = slot.as_ref()?;
                    let this =
                        INDEX_BASE + index as u32 == id.index && *generation == id.generation;
                    (socket.kind == Kind::Ping && socket.hashed && socket.ident == wanted && !this)
                        .then_some(socket.options.reuse_address)
                })
                .collect()
        };
        if ident != 0 {
            if holders(self, ident).iter().any(|&other| !other || !reuse) {
                return Err(Errno::EADDRINUSE);
            }
            return Ok(ident);
        }
        let mut candidate = self.rover.wrapping_add(1);
        for _ in 0..=u16::MAX as u32 {
            if candidate == 0 {
                candidate = 1;
            }
            if holders(self, candidate).is_empty() {
                self.rover = candidate;
                return Ok(candidate);
            }
            candidate = candidate.wrapping_add(1);
        }
        Err(Errno::EADDRINUSE)
    }

    /// inet_autobind for a ping socket (inet_dgram_connect, inet_sendmsg): EAGAIN when no
    /// identifier is free.
    pub(super) fn autobind(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.get(id)?;
        if socket.kind != Kind::Ping || socket.ident != 0 {
            return Ok(());
        }
        let ident = self.ping_get_port(id, 0).map_err(|_| Errno::EAGAIN)?;
        self.hash_count += 1;
        let sequence = self.hash_count;
        let socket = self.get_mut(id)?;
        socket.ident = ident;
        socket.hashed = true;
        socket.hash_sequence = sequence;
        Ok(())
    }

    /// inet_dgram_connect → ip4_datagram_connect (ping: ping_pre_connect first).
    pub fn connect(&mut self, ip: &Ipv4Layer, id: SocketId, addr: &[u8]) -> Result<(), Errno> {
        sockaddr::check_user_length(addr.len())?;
        let kind = self.get(id)?.kind;
        let family = sockaddr::family(addr).ok_or(Errno::EINVAL)?;
        if family == AF_UNSPEC {
            self.disconnect(id)?;
            return Ok(());
        }
        if kind == Kind::Ping && addr.len() < sockaddr::SOCKADDR_IN_LEN {
            return Err(Errno::EINVAL);
        }
        self.autobind(id)?;
        let requested = sockaddr::parse_in(addr)?;
        if requested.family != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        let socket = self.get(id)?;
        let source = socket.source_address;
        let destination = if requested.addr.is_unspecified() {
            // ip_route_connect: 0.0.0.0 means this host.
            if source.is_unspecified() {
                Ipv4Addr::LOCALHOST
            } else {
                source
            }
        } else {
            requested.addr
        };
        let oif = socket
            .options
            .output_interface(socket.options.bound_device_oif(), destination);
        let route = ip.route(destination, oif, socket.options.dont_route)?;
        if route.broadcast && !socket.options.broadcast {
            return Err(Errno::EACCES);
        }
        let ident = self.random.next_u16();
        let socket = self.get_mut(id)?;
        if socket.source_address.is_unspecified() {
            socket.source_address = route.src;
        }
        if socket.receive_address.is_unspecified() {
            socket.receive_address = route.src;
        }
        socket.peer = Some(SocketAddrV4::new(destination, requested.port));
        socket.inet_id = ident;
        Ok(())
    }

    /// __udp_disconnect (raw_prot and ping_prot both use it): the peer goes; the address
    /// goes unless bind locked it; the socket is unhashed unless bind locked its "port" —
    /// raw_bind never does, so a disconnected raw socket receives nothing more.
    fn disconnect(&mut self, id: SocketId) -> Result<(), Errno> {
        let socket = self.get_mut(id)?;
        socket.peer = None;
        if !socket.address_locked {
            socket.receive_address = Ipv4Addr::UNSPECIFIED;
            socket.source_address = Ipv4Addr::UNSPECIFIED;
        }
        if !socket.ident_locked {
            socket.hashed = false;
            socket.ident = 0;
        }
        Ok(())
    }

    /// inet_shutdown on a datagram socket: ENOTCONN when not connected, but the directions
    /// are shut all the same.
    pub fn shutdown(&mut self, id: SocketId, how: Shutdown) -> Result<(), Errno> {
        let socket = self.get_mut(id)?;
        match how {
            Shutdown::Read => socket.read_shut = true,
            Shutdown::Write => socket.write_shut = true,
            Shutdown::Both => {
                socket.read_shut = true;
                socket.write_shut = true;
            }
        }
        socket.wakeups.other = socket.wakeups.other.wrapping_add(1);
        if socket.peer.is_none() {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    /// inet_getname: the bound (or connected) address and inet_sport.
    pub fn local_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let socket = self.get(id)?;
        let address = if socket.receive_address.is_unspecified() {
            socket.source_address
        } else {
            socket.receive_address
        };
        Ok(SocketAddrV4::new(address, socket.local_port()))
    }

    /// inet_getname(peer): ENOTCONN unless connected with a non-zero inet_dport (raw
    /// connects keep the port the caller gave; ping ones too).
    pub fn peer_addr(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        match self.get(id)?.peer {
            Some(peer) if peer.port() != 0 => Ok(peer),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// datagram_poll.
    pub fn poll(&self, id: SocketId) -> u32 {
        let Ok(socket) = self.get(id) else {
            return POLLNVAL;
        };
        let mut mask = 0;
        if socket.error.get().is_some() || !socket.error_queue.is_empty() {
            mask |= POLLERR;
            if socket.options.select_error_queue {
                mask |= POLLPRI;
            }
        }
        if socket.read_shut {
            mask |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if socket.read_shut && socket.write_shut {
            mask |= POLLHUP;
        }
        if !socket.receive_queue.is_empty() {
            mask |= POLLIN | POLLRDNORM;
        }
        // sock_writeable: nothing stays in the send buffer here.
        mask | POLLOUT | POLLWRNORM | POLLWRBAND
    }

    pub fn wakeups(&self, id: SocketId) -> WakeupCounts {
        self.get(id)
            .map(|socket| socket.wakeups)
            .unwrap_or_default()
    }

    pub fn set_pending_error(&mut self, id: SocketId, errno: Errno) -> Result<(), Errno> {
        self.get(id)?.error.set(Some(errno));
        Ok(())
    }

    pub fn timeouts(
        &self,
        id: SocketId,
    ) -> Result<(Option<core::time::Duration>, Option<core::time::Duration>), Errno> {
        let socket = self.get(id)?;
        Ok((
            socket.options.receive_timeout(),
            socket.options.send_timeout(),
        ))
    }

    /// raw_ioctl: SIOCINQ is the length of the first queued packet, SIOCOUTQ what the send
    /// buffer holds (always 0 here). ping_prot has no ioctl: ENOIOCTLCMD, which
    /// sock_ioctl turns into ENOTTY.
    pub fn ioctl(&self, id: SocketId, request: u64) -> Result<Vec<u8>, Errno> {
        let socket = self.get(id)?;
        if socket.kind == Kind::Ping {
            return Err(Errno::ENOTTY);
        }
        match request {
            SIOCINQ => {
                let length = socket.receive_queue.front().map_or(0, |r| r.bytes.len());
                Ok((length as i32).to_ne_bytes().to_vec())
            }
            SIOCOUTQ => Ok(0i32.to_ne_bytes().to_vec()),
            _ => Err(Errno::ENOTTY),
        }
    }

    fn option_context<'a>(
        socket: &'a RawSocket,
        sysctls: &'a Sysctls,
        devices: &'a Devices<'a>,
        value_len: usize,
    ) -> OptionContext<'a> {
        let socket_type = match socket.kind {
            Kind::Raw => sock_type::RAW,
            Kind::Ping => sock_type::DGRAM,
        };
        OptionContext {
            value_len,
            ..OptionContext::new(
                socket_type,
                i32::from(socket.protocol),
                &socket.creds,
                sysctls,
                &socket.error,
                devices,
                socket.local_port(),
            )
        }
    }

    /// raw_setsockopt (SOL_RAW: ICMP_FILTER) or ip_setsockopt / sock_setsockopt.
    pub fn setsockopt(
        &mut self,
        ip: &Ipv4Layer,
        id: SocketId,
        level_: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        let sysctls = self.sysctls.clone();
        let socket = self.get_mut(id)?;
        if level_ == SOL_RAW && socket.kind == Kind::Raw {
            // do_raw_setsockopt.
            if name != ICMP_FILTER {
                return Err(Errno::ENOPROTOOPT);
            }
            if socket.protocol != IPPROTO_ICMP {
                return Err(Errno::EOPNOTSUPP);
            }
            // raw_seticmpfilter: at most 4 bytes copied over the filter's first bytes.
            let mut bytes = socket.icmp_filter.to_ne_bytes();
            let length = value.len().min(4);
            bytes[..length].copy_from_slice(&value[..length]);
            socket.icmp_filter = u32::from_ne_bytes(bytes);
            return Ok(());
        }
        // ip_ra_control: "if (sk->sk_type != SOCK_RAW || inet_sk(sk)->inet_num ==
        // IPPROTO_RAW) return -EINVAL" (the table refuses the other socket types).
        if (level_, name) == (level::SOL_IP, IP_ROUTER_ALERT)
            && socket.kind == Kind::Raw
            && socket.protocol == IPPROTO_RAW
        {
            return Err(Errno::EINVAL);
        }
        let interface = ip.interface();
        let route_interface = |group| ip.route(group, None, false).ok().map(|r| r.ifindex);
        let devices = Devices::new(interface.ifindex, interface.addr, &route_interface);
        let mut options = socket.options.clone();
        let context = Self::option_context(socket, &sysctls, &devices, value.len());
        let result = sockopt::set(&mut options, &context, level_, name, value);
        let socket = self.get_mut(id)?;
        socket.options = options;
        if !socket.options.receive_errors {
            // IP_RECVERR off: skb_queue_purge(&sk->sk_error_queue).
            for error in socket.error_queue.drain(..) {
                socket.receive_memory = socket.receive_memory.saturating_sub(error.truesize);
            }
        }
        result
    }

    /// raw_getsockopt (SOL_RAW: ICMP_FILTER) or ip_getsockopt / sock_getsockopt.
    pub fn getsockopt(
        &self,
        ip: &Ipv4Layer,
        id: SocketId,
        level_: i32,
        name: i32,
        optlen: usize,
        value: Option<&[u8]>,
    ) -> Result<Vec<u8>, Errno> {
        let socket = self.get(id)?;
        if level_ == SOL_RAW && socket.kind == Kind::Raw {
            if name != ICMP_FILTER {
                return Err(Errno::ENOPROTOOPT);
            }
            if socket.protocol != IPPROTO_ICMP {
                return Err(Errno::EOPNOTSUPP);
            }
            // raw_geticmpfilter: "if (len < 0) return -EINVAL"; at most 4 bytes.
            if optlen > i32::MAX as usize {
                return Err(Errno::EINVAL);
            }
            let bytes = socket.icmp_filter.to_ne_bytes();
            return Ok(bytes[..optlen.min(4)].to_vec());
        }
        let interface = ip.interface();
        let route_interface = |group| ip.route(group, None, false).ok().map(|r| r.ifindex);
        let devices = Devices::new(interface.ifindex, interface.addr, &route_interface);
        let context = Self::option_context(socket, &self.sysctls, &devices, 0);
        let path_mtu = socket.peer.and_then(|peer| {
            ip.route(*peer.ip(), socket.options.bound_device_oif(), false)
                .ok()
                .map(|route| route.mtu)
        });
        let context = OptionContext {
            path_mtu,
            ..context
        };
        if level_ == level::SOL_SOCKET || level_ == level::SOL_IP {
            return sockopt::get_with_value(&socket.options, &context, level_, name, optlen, value);
        }
        // ip_getsockopt: "if (level != SOL_IP) return -EOPNOTSUPP" (ping; raw's SOL_RAW was
        // served above).
        Err(Errno::EOPNOTSUPP)
    }
}
