//! setsockopt / getsockopt on a UDP socket (udp_setsockopt / udp_getsockopt): SOL_UDP here,
//! everything else through the shared option table, then the side effects the kernel ties to
//! some options (route reset, port-table flags, write-space wakeup).

use core::cell::Cell;

use crate::errno::Errno;
use crate::socket::{sock_type, SocketId};
use crate::sockopt::names::{ip, level, socket as so};
use crate::sockopt::{self, OptionContext};
use crate::wire::udp::Flavor;

use super::layer::UdpLayer;
use super::network::Network;
use super::socket::UdpOptions;

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
        _network: &dyn Network,
        id: SocketId,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> Result<(), Errno> {
        let socket = self.sockets.get_mut(id)?;
        if is_udp_level(level) {
            return set_udp_option(socket.flavor, &mut socket.udp, name, value);
        }
        let before = socket.options.clone();
        let pending_error = Cell::new(socket.error.get());
        let context = OptionContext {
            socket_type: sock_type::DGRAM,
            protocol: i32::from(socket.flavor.protocol()),
            creds: &socket.creds,
            sysctls: &self.sysctls,
            pending_error: &pending_error,
            listening: false,
            path_mtu: None,
            value_len: value.len(),
        };
        let result = sockopt::set(&mut socket.options, &context, level, name, value);
        let after = socket.options.clone();
        // sk_dst_reset: a new TOS, SO_DONTROUTE or SO_MARK drops the cached route (IP_MTU then
        // reads ENOTCONN until the next connected send).
        if after.tos != before.tos
            || after.dont_route != before.dont_route
            || after.mark != before.mark
        {
            socket.route_cached = false;
        }
        // SO_SNDBUF calls sk_write_space, which wakes writers.
        if level == level::SOL_SOCKET
            && matches!(name, so::SO_SNDBUF | so::SO_SNDBUFFORCE)
            && result.is_ok()
        {
            socket.wake_writers();
        }
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
        sockopt::check_unreadable_value(level, name, optlen)?;
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
        let socket = self.sockets.get(id)?;
        if is_udp_level(level) {
            return get_udp_option(&socket.udp, name, optlen);
        }
        // IP_MTU: dst_mtu of the cached route (sk_dst_get), looked up afresh so a PMTU learned
        // since connect shows.
        let path_mtu = if level == level::SOL_IP && name == ip::IP_MTU && socket.route_cached {
            socket
                .peer
                .and_then(|peer| {
                    network
                        .route(*peer.ip(), None, socket.options.dont_route)
                        .ok()
                })
                .map(|route| route.mtu.min(IP_MAX_MTU))
        } else {
            None
        };
        let context = OptionContext {
            socket_type: sock_type::DGRAM,
            protocol: i32::from(socket.flavor.protocol()),
            creds: &socket.creds,
            sysctls: &self.sysctls,
            pending_error: &socket.error,
            listening: false,
            path_mtu,
            value_len: 0,
        };
        sockopt::get(&socket.options, &context, level, name, optlen)
    }
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
    let value = i32::from_ne_bytes([value[0], value[1], value[2], value[3]]);
    match name {
        // Clearing it also sends what is pending: `UdpLayer::setsockopt` does that once the
        // option is stored (udp_push_pending_frames).
        udp_option::UDP_CORK => {
            options.cork = value != 0;
            Ok(())
        }
        // 0 (no encapsulation) is the state the socket is in; ESP-in-UDP and L2TP need the
        // xfrm / l2tp receive hooks, which the stack does not have.
        udp_option::UDP_ENCAP if value == 0 => Ok(()),
        udp_option::UDP_ENCAP => Err(Errno::ENOPROTOOPT),
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
        udp_option::UDP_ENCAP => 0,
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
