//! setsockopt / getsockopt on a UDP socket (udp_setsockopt / udp_getsockopt): SOL_UDP here,
//! everything else through the shared option table, then the side effects the kernel ties to
//! some options (route reset, port-table flags, write-space wakeup).

use core::cell::Cell;

use crate::config::{Credentials, Sysctls};
use crate::errno::Errno;
use crate::socket::{sock_type, SocketId};
use crate::sockopt::multicast::Devices;
use crate::sockopt::names::{ip, level, socket as so, socket_more as so_more};
use crate::sockopt::socket_structured::{self, Device};
use crate::sockopt::{self, OptionContext};
use crate::wire::udp::Flavor;

use super::layer::UdpLayer;
use super::network::Network;
use super::socket::{UdpOptions, UdpSocket};

/// dst_mtu never exceeds IP_MAX_MTU (ipv4_mtu), though loopback's device MTU is 65536.
const IP_MAX_MTU: u32 = 0xFFFF;

/// SOL_UDP option names (linux/udp.h).
pub(super) mod udp_option {
    pub const UDP_CORK: i32 = 1;
    pub const UDPLITE_SEND_CSCOV: i32 = 10;
    pub const UDPLITE_RECV_CSCOV: i32 = 11;
    pub const UDP_ENCAP: i32 = 100;
    pub const UDP_NO_CHECK6_TX: i32 = 101;
    pub const UDP_NO_CHECK6_RX: i32 = 102;
    pub const UDP_SEGMENT: i32 = 103;
    pub const UDP_GRO: i32 = 104;
}

impl UdpLayer {
    pub(super) fn setsockopt_with(
        &mut self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        // The interfaces an option may name: `lo` and ours, by index or address, and the
        // one a route to a group leaves by.
        let route = |group| network.route(group, None, false).ok().map(|r| r.ifindex);
        let devices = Devices::new(self.interface_index, self.interface_address, &route);
        let socket = self.sockets.get_mut(id)?;
        if is_udp_level(level) {
            return set_udp_option(socket.flavor, &mut socket.udp, name, value);
        }
        // The group's program, whichever member attached it (udp/filter.rs);
        // sk_setsockopt reads an int first.
        if level == level::SOL_SOCKET && name == so_more::SO_DETACH_REUSEPORT_BPF {
            if value.len() < 4 {
                return Err(Errno::EINVAL);
            }
            return self.detach_reuseport_program(id);
        }
        if level == level::SOL_SOCKET && name == so::SO_BINDTODEVICE {
            let devices = bindable_devices(self.interface_index, &self.interface_name);
            let result = set_bound_device_by_name(socket, &self.sysctls, &devices, value);
            // The port table compares the bound device (udp_lib_lport_inuse).
            self.sync_port_device(id);
            return result;
        }
        let before = socket.options.clone();
        let pending_error = Cell::new(socket.error.get());
        let context = OptionContext {
            value_len: value.len(),
            ..udp_option_context(
                socket.flavor,
                &socket.creds,
                socket.local_port,
                &self.sysctls,
                &pending_error,
                &devices,
            )
        };
        let result = sockopt::set(&mut socket.options, &context, level, name, value);
        let after = socket.options.clone();
        // sk_dst_reset: a new TOS, SO_DONTROUTE or SO_MARK drops the cached route (IP_MTU then
        // reads ENOTCONN until the next connected send).
        if after.tos != before.tos
            || after.dont_route != before.dont_route
            || after.mark != before.mark
            || after.bound_device != before.bound_device
            || cnx_advice_resets_route(level, name, value, &result)
        {
            socket.route_cached = false;
        }
        // IP_RECVERR set to 0 purges the error queue (do_ip_setsockopt: "if (!val)
        // skb_queue_purge(&sk->sk_error_queue)"); the pending sk_err stays.
        if level == level::SOL_IP
            && name == ip::IP_RECVERR
            && result.is_ok()
            && !after.receive_errors
        {
            socket.purge_errors();
        }
        // SO_SNDBUF calls sk_write_space, which wakes writers.
        if level == level::SOL_SOCKET
            && matches!(name, so::SO_SNDBUF | so::SO_SNDBUFFORCE)
            && result.is_ok()
        {
            socket.wake_writers();
        }
        let device_changed = after.bound_device != before.bound_device;
        let reuse_changed =
            after.reuse_address != before.reuse_address || after.reuse_port != before.reuse_port;
        let (flavor, port, reuse_address, reuse_port) = (
            socket.flavor,
            socket.local_port,
            after.reuse_address,
            after.reuse_port,
        );
        if reuse_changed && port != 0 {
            self.ports_mut(flavor)
                .set_reuse(port, id, reuse_address, reuse_port);
        }
        if device_changed {
            self.sync_port_device(id);
        }
        result
    }

    /// setsockopt whose `optlen` bytes of value cannot be read (the shim's copy faulted): the
    /// errno of the kernel's checks that come before its copy, else EFAULT at the copy; an
    /// option the kernel reads nothing of proceeds as with an empty value.
    pub(super) fn setsockopt_unreadable_with(
        &mut self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<(), Errno> {
        self.sockets.get(id)?;
        if is_udp_level(level) {
            // udp_lib_setsockopt: "if (optlen < sizeof(int)) return -EINVAL", then the copy.
            return Err(if optlen < 4 {
                Errno::EINVAL
            } else {
                Errno::EFAULT
            });
        }
        sockopt::check_unreadable_value(level, name, optlen, self.sysctls.optmem_max)?;
        self.setsockopt_with(network, id, level, name, &[])
    }

    pub(super) fn getsockopt_with(
        &self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.getsockopt_reading(network, id, level, name, optlen, None)
    }

    /// getsockopt for the options that read the caller's buffer first (IP_MSFILTER,
    /// MCAST_MSFILTER): `value` is what it held, None if it could not be read.
    pub(super) fn getsockopt_reading(
        &self,
        network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        optlen: usize,
        value: Option<&[u8]>,
    ) -> Result<Vec<u8>, Errno> {
        let socket = self.sockets.get(id)?;
        if is_udp_level(level) {
            return get_udp_option(&socket.udp, name, optlen);
        }
        if level == level::SOL_SOCKET {
            if let Some(answer) = self.get_socket_state_option(id, socket, name, optlen) {
                return answer;
            }
        }
        // IP_MTU: dst_mtu of the cached route (sk_dst_get), looked up afresh so a PMTU learned
        // since connect shows.
        let path_mtu = if level == level::SOL_IP && name == ip::IP_MTU && socket.route_cached {
            socket
                .peer
                .and_then(|peer| match socket.route_snapshot {
                    Some(cached) => Some(network.cached_route_mtu(&cached, *peer.ip())),
                    None => network
                        .route(*peer.ip(), None, socket.options.dont_route)
                        .ok()
                        .map(|route| route.mtu),
                })
                .map(|mtu| mtu.min(IP_MAX_MTU))
        } else {
            None
        };
        // The interfaces an option may name: `lo` and ours, by index or address, and the
        // one a route to a group leaves by.
        let route = |group| network.route(group, None, false).ok().map(|r| r.ifindex);
        let devices = Devices::new(self.interface_index, self.interface_address, &route);
        let context = OptionContext {
            path_mtu,
            ..udp_option_context(
                socket.flavor,
                &socket.creds,
                socket.local_port,
                &self.sysctls,
                &socket.error,
                &devices,
            )
        };
        sockopt::get_with_value(&socket.options, &context, level, name, optlen, value)
    }
}

/// What the shared option handlers may consult about a UDP or UDP-Lite socket (a datagram
/// socket, never listening); `path_mtu` None and `value_len` 0 until a caller that knows them
/// sets them.
fn udp_option_context<'a>(
    flavor: Flavor,
    creds: &'a Credentials,
    local_port: u16,
    sysctls: &'a Sysctls,
    pending_error: &'a Cell<Option<Errno>>,
    devices: &'a Devices<'a>,
) -> OptionContext<'a> {
    let protocol = i32::from(flavor.protocol());
    OptionContext::new(
        sock_type::DGRAM,
        protocol,
        creds,
        sysctls,
        pending_error,
        devices,
        local_port,
    )
}

/// udp_setsockopt / udp_getsockopt: "if (level == SOL_UDP || level == SOL_UDPLITE ...)", for
/// UDP and UDP-Lite sockets alike (measured: UDP_CORK at level 136 works on a UDP socket).
pub(super) fn is_udp_level(level: i32) -> bool {
    level == level::SOL_UDP || level == level::SOL_UDPLITE
}

/// udp_lib_setsockopt: an int is required first, then each option's rule.
fn set_udp_option(
    flavor: Flavor,
    options: &mut UdpOptions,
    name: i32,
    value: &[u8],
) -> Result<(), Errno> {
    if value.len() < 4 {
        return Err(Errno::EINVAL);
    }
    let value = sockopt::read_int(value);
    match name {
        // Clearing it also sends what is pending: `UdpLayer::setsockopt` does that once the
        // option is stored (udp_push_pending_frames).
        udp_option::UDP_CORK => {
            options.cork = value != 0;
            Ok(())
        }
        // udp_lib_setsockopt: 0 and ESPINUDP install the xfrm receive hook, then 0, ESPINUDP
        // and L2TPINUDP become encap_type; anything else (the removed ESPINUDP_NON_IKE 1
        // included) is ENOPROTOOPT.
        udp_option::UDP_ENCAP => match value {
            0 | UDP_ENCAP_ESPINUDP | UDP_ENCAP_L2TPINUDP => {
                if value != UDP_ENCAP_L2TPINUDP {
                    options.esp_receive_hook = true;
                }
                options.encapsulation = value as u16;
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        },
        udp_option::UDP_NO_CHECK6_TX => {
            options.no_check6_tx = value != 0;
            Ok(())
        }
        udp_option::UDP_NO_CHECK6_RX => {
            options.no_check6_rx = value != 0;
            Ok(())
        }
        udp_option::UDP_SEGMENT => {
            if !(0..=i32::from(u16::MAX)).contains(&value) {
                return Err(Errno::EINVAL);
            }
            options.segment_size = value as u16;
            Ok(())
        }
        udp_option::UDP_GRO => {
            options.gro = value != 0;
            Ok(())
        }
        // RFC 3828 coverage: refused on plain UDP; values 1..=7 (and negatives) become 8,
        // values above 0xffff become 0xffff.
        udp_option::UDPLITE_SEND_CSCOV | udp_option::UDPLITE_RECV_CSCOV => {
            if flavor == Flavor::Udp {
                return Err(Errno::ENOPROTOOPT);
            }
            let coverage = if value != 0 && value < 8 {
                8
            } else {
                value.min(i32::from(u16::MAX)) as u16
            };
            if name == udp_option::UDPLITE_SEND_CSCOV {
                options.lite_send_coverage = Some(coverage);
            } else {
                options.lite_receive_coverage = Some(coverage);
            }
            Ok(())
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// udp_lib_getsockopt: `len = min(len, sizeof(int))` (as unsigned, so a negative length reads
/// 4 bytes); unknown names are ENOPROTOOPT.
fn get_udp_option(options: &UdpOptions, name: i32, optlen: usize) -> Result<Vec<u8>, Errno> {
    let value = match name {
        udp_option::UDP_CORK => i32::from(options.cork),
        udp_option::UDP_ENCAP => i32::from(options.encapsulation),
        udp_option::UDP_NO_CHECK6_TX => i32::from(options.no_check6_tx),
        udp_option::UDP_NO_CHECK6_RX => i32::from(options.no_check6_rx),
        udp_option::UDP_SEGMENT => i32::from(options.segment_size),
        udp_option::UDP_GRO => i32::from(options.gro),
        udp_option::UDPLITE_SEND_CSCOV => i32::from(options.lite_send_coverage.unwrap_or(0)),
        udp_option::UDPLITE_RECV_CSCOV => i32::from(options.lite_receive_coverage.unwrap_or(0)),
        _ => return Err(Errno::ENOPROTOOPT),
    };
    Ok(value.to_ne_bytes()[..optlen.min(4)].to_vec())
}

// ----- SOL_SOCKET options that need the socket's own state -----

/// The devices a socket can be bound to: loopback and the stack's interface. (A function of
/// the two fields, not of the layer, so that it can be called while a socket is borrowed.)
fn bindable_devices(interface_index: u32, interface_name: &str) -> [Device<'_>; 2] {
    [(LOOPBACK_INDEX, "lo"), (interface_index, interface_name)]
}

impl UdpLayer {
    /// SO_BINDTODEVICE's name, SO_COOKIE, SO_MEMINFO and SO_PEERNAME; None for the others.
    fn get_socket_state_option(
        &self,
        id: SocketId,
        socket: &UdpSocket,
        name: i32,
        optlen: usize,
    ) -> Option<Result<Vec<u8>, Errno>> {
        let answer = match name {
            so::SO_BINDTODEVICE => socket_structured::get_bound_device_name(
                &socket.options,
                &bindable_devices(self.interface_index, &self.interface_name),
                optlen,
            ),
            so_more::SO_COOKIE => socket_structured::get_cookie(socket_cookie(id), optlen),
            so_more::SO_MEMINFO => Ok(socket_structured::get_meminfo(&memory_info(socket), optlen)),
            so_more::SO_PEERNAME => socket_structured::get_peer_name(socket.peer, optlen),
            _ => return None,
        };
        Some(answer)
    }
}

/// dev->ifindex of the loopback device.
const LOOPBACK_INDEX: u32 = 1;

/// SO_BINDTODEVICE: sock_setbindtodevice then sock_bindtoindex_locked; a change drops the
/// cached route (sk_dst_reset). The UDP rehash the kernel also does changes nothing here:
/// lookups read the device from the socket (deliver.rs compute_score).
fn set_bound_device_by_name(
    socket: &mut UdpSocket,
    sysctls: &crate::config::Sysctls,
    devices: &[Device<'_>],
    value: &[u8],
) -> Result<(), Errno> {
    let index = socket_structured::device_index_for_name(devices, value)?;
    let pending_error = Cell::new(None);
    // bind_to_index consults no interface of the context: it was given the index.
    let no_devices = |_| None;
    let multicast_devices = Devices::new(0, core::net::Ipv4Addr::UNSPECIFIED, &no_devices);
    let context = OptionContext {
        value_len: value.len(),
        ..udp_option_context(
            socket.flavor,
            &socket.creds,
            socket.local_port,
            sysctls,
            &pending_error,
            &multicast_devices,
        )
    };
    let before = socket.options.bound_device;
    socket_structured::bind_to_index(&mut socket.options, &context, i64::from(index))?;
    if socket.options.bound_device != before {
        socket.route_cached = false;
    }
    Ok(())
}

/// SO_CNX_ADVICE: "if (val == 1) dst_negative_advice(sk)", which for UDP drops the cached
/// route.
fn cnx_advice_resets_route(
    level: i32,
    name: i32,
    value: &[u8],
    result: &Result<(), Errno>,
) -> bool {
    level == level::SOL_SOCKET
        && name == so_more::SO_CNX_ADVICE
        && result.is_ok()
        && value.len() >= 4
        && sockopt::read_int(value) == 1
}

/// sock_gen_cookie: a 64-bit number no other socket of the namespace has had or will have.
/// The kernel draws it from a global counter; a socket id (slot and generation, never
/// reused) gives the same guarantee within the process. Never 0.
fn socket_cookie(id: SocketId) -> u64 {
    ((u64::from(id.generation) << 32) | u64::from(id.index)) + 1
}

/// sk_get_meminfo for a UDP socket: the receive memory charged, the buffer sizes, the
/// corked datagram's memory (sk_wmem_alloc), the attached filter's charge (sk_omem_alloc)
/// and the drops. sk_forward_alloc, the write queue and the backlog read 0 (UDP queues no
/// backlog here, and the forward allocation is the kernel's page-sized reserve of its
/// memory accounting); option memory other than the filter (memberships, IP options) is not
/// counted.
fn memory_info(socket: &UdpSocket) -> socket_structured::MemoryInfo {
    let send_allocated = socket.cork.as_ref().map_or(0, |cork| {
        super::socket::corked_truesize(IP_HEADER_LEN, cork.data.len())
    });
    socket_structured::MemoryInfo {
        receive_allocated: socket.receive_memory as u32,
        receive_buffer: socket.options.receive_buffer as u32,
        send_allocated: send_allocated as u32,
        send_buffer: socket.options.send_buffer as u32,
        drops: socket.drops as u32,
        // sk_omem_alloc: the attached filter's bpf_prog_size.
        option_memory: socket_structured::filter_memory(&socket.options),
        ..Default::default()
    }
}

/// sizeof(struct iphdr).
const IP_HEADER_LEN: usize = 20;

/// Where a receive starts (SO_PEEK_OFF): (index in the receive queue, offset in that
/// datagram). Without MSG_PEEK, or with the offset off (-1), the first datagram from its
/// start. With MSG_PEEK and an offset, __skb_try_recv_from_queue skips whole datagrams the
/// offset goes past ("_off >= skb->len && (_off || skb->peeked)"; the peeked mark of empty
/// datagrams lets an offset of 0 skip one already peeked).
pub(super) fn peek_position(socket: &UdpSocket, flags: i32) -> (usize, usize) {
    let offset = socket.options.peek_offset;
    if flags & crate::socket::msg_flags::MSG_PEEK == 0 || offset < 0 {
        return (0, 0);
    }
    let mut left = offset as usize;
    for (index, datagram) in socket.receive_queue.iter().enumerate() {
        let length = datagram.payload.len();
        if left >= length && (left > 0 || datagram.peeked) {
            left -= length;
            continue;
        }
        return (index, left);
    }
    (socket.receive_queue.len(), 0)
}

/// skb_consume_udp → sk_peek_offset_bwd: once an offset is set, a peek moves it forward by
/// what the call returned, and a read moves it back by as much (never below 0).
pub(super) fn advance_peek_offset(socket: &mut UdpSocket, flags: i32, returned: usize) {
    let offset = socket.options.peek_offset;
    if offset < 0 {
        return;
    }
    let returned = returned.min(i32::MAX as usize) as i32;
    socket.options.peek_offset = if flags & crate::socket::msg_flags::MSG_PEEK != 0 {
        offset.saturating_add(returned)
    } else {
        (offset - returned).max(0)
    };
}

/// skb_set_peeked: an empty datagram returned by MSG_PEEK is marked.
pub(super) fn mark_peeked(socket: &mut UdpSocket, flags: i32, position: usize) {
    if flags & crate::socket::msg_flags::MSG_PEEK == 0 {
        return;
    }
    if let Some(datagram) = socket.receive_queue.get_mut(position) {
        if datagram.payload.is_empty() {
            datagram.peeked = true;
        }
    }
}

/// UDP_ENCAP values (linux/udp.h).
const UDP_ENCAP_ESPINUDP: i32 = 2;
const UDP_ENCAP_L2TPINUDP: i32 = 3;
/// sizeof(struct ip_esp_hdr): SPI and sequence number.
const ESP_HEADER_LEN: usize = 8;

/// udp_queue_rcv_one_skb → xfrm4_udp_encap_rcv (__xfrm4_udp_encap_rcv) on a socket with
/// the ESP hook and a non-zero encap_type: a one-byte 0xff NAT keepalive is eaten; a payload
/// longer than an ESP header whose first word (the SPI) is not zero is ESP and goes to IPsec,
/// which drops it (the stack has no security associations, as the host here has none);
/// anything else (IKE behind its zero non-ESP marker, short datagrams) is delivered as usual.
/// True when the datagram is consumed.
pub(super) fn encapsulation_consumes(options: &UdpOptions, payload: &[u8]) -> bool {
    if options.encapsulation == 0 || !options.esp_receive_hook {
        return false;
    }
    if payload == [0xff] {
        return true;
    }
    payload.len() > ESP_HEADER_LEN && payload[..4] != [0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Credentials, Sysctls};
    use crate::socket::msg_flags::MSG_PEEK;

    fn socket_with(payloads: &[&[u8]]) -> UdpSocket {
        let mut socket = UdpSocket::new(Flavor::Udp, Credentials::default(), &Sysctls::default());
        for payload in payloads {
            socket
                .receive_queue
                .push_back(super::super::socket::QueuedDatagram {
                    payload: payload.to_vec(),
                    ..Default::default()
                });
        }
        socket
    }

    // Measured natively (ctests sockopt_socket_peek_off): "abcdef", "ghij", "", "klmnopq".
    #[test]
    fn peek_offset_walks_the_queue() {
        let mut socket = socket_with(&[b"abcdef", b"ghij", b"", b"klmnopq"]);
        assert_eq!(peek_position(&socket, MSG_PEEK), (0, 0));
        socket.options.peek_offset = 7;
        assert_eq!(peek_position(&socket, MSG_PEEK), (1, 1));
        assert_eq!(peek_position(&socket, 0), (0, 0));
        socket.options.peek_offset = 10;
        assert_eq!(peek_position(&socket, MSG_PEEK), (2, 0));
        mark_peeked(&mut socket, MSG_PEEK, 2);
        assert_eq!(peek_position(&socket, MSG_PEEK), (3, 0));
        socket.options.peek_offset = 100;
        assert_eq!(peek_position(&socket, MSG_PEEK), (4, 0));

        socket.options.peek_offset = 8;
        advance_peek_offset(&mut socket, MSG_PEEK, 2);
        assert_eq!(socket.options.peek_offset, 10);
        advance_peek_offset(&mut socket, 0, 6);
        assert_eq!(socket.options.peek_offset, 4);
        advance_peek_offset(&mut socket, 0, 6);
        assert_eq!(socket.options.peek_offset, 0);
        socket.options.peek_offset = -1;
        advance_peek_offset(&mut socket, MSG_PEEK, 6);
        assert_eq!(socket.options.peek_offset, -1);
    }

    fn set_encap(flavor: Flavor, options: &mut UdpOptions, value: i32) -> Result<(), Errno> {
        set_udp_option(flavor, options, udp_option::UDP_ENCAP, &value.to_ne_bytes())
    }

    #[test]
    fn esp_in_udp_takes_esp_and_keepalives_only() {
        let mut options = UdpOptions::default();
        let esp = [0, 0, 1, 0, 1, 2, 3, 4, 5];
        assert!(!encapsulation_consumes(&options, &esp));
        set_encap(Flavor::Udp, &mut options, 2).unwrap();
        assert!(encapsulation_consumes(&options, &esp));
        assert!(encapsulation_consumes(&options, &[0xff]));
        assert!(!encapsulation_consumes(&options, &[0xff, 0xff]));
        assert!(!encapsulation_consumes(&options, &esp[..8]));
        assert!(!encapsulation_consumes(
            &options,
            &[0, 0, 0, 0, 1, 2, 3, 4, 5]
        ));
        // L2TP keeps the hook ESPINUDP installed; 0 turns the encapsulation off.
        set_encap(Flavor::Udp, &mut options, 3).unwrap();
        assert!(encapsulation_consumes(&options, &esp));
        set_encap(Flavor::Udp, &mut options, 0).unwrap();
        assert!(!encapsulation_consumes(&options, &esp));
        let mut fresh = UdpOptions::default();
        set_encap(Flavor::Lite, &mut fresh, 3).unwrap();
        assert!(!encapsulation_consumes(&fresh, &esp));
        assert_eq!(
            set_encap(Flavor::Udp, &mut fresh, 1),
            Err(Errno::ENOPROTOOPT)
        );
    }
}
